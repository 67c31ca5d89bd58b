/*
 * NAME
 *	xmem - allocation that never returns NULL
 * PURPOSE
 *	Out of memory is not a condition the daemon can reply to sensibly;
 *	these helpers abort instead of returning NULL.  Sizes that come from
 *	the network must be checked against their limit before they get here.
 * TRUST
 *	Any process.
 * INVARIANTS
 *	xreallocarray and xcalloc check nmemb * size for overflow.
 */
#ifndef TERN_XMEM_H
#define TERN_XMEM_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Like asprintf, aborting on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
