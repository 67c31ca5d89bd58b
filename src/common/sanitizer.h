/*
 * NAME
 *	sanitizer - is this an AddressSanitizer build?
 * PURPOSE
 *	A few process-level settings get in the way of the sanitizers'
 *	checks (LeakSanitizer reads /proc/self/task, which a non-dumpable or
 *	chrooted process cannot).  Test builds relax exactly those.
 * TRUST
 *	Compile time only.
 * INVARIANTS
 *	SANITIZER_BUILD is 0 in every release build.
 */
#ifndef TERN_SANITIZER_H
#define TERN_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
#ifndef SANITIZER_BUILD
#define SANITIZER_BUILD 0
#endif

#endif
