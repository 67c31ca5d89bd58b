/*
 * NAME
 *	log - one logging API for every process
 * PURPOSE
 *	Lines look like "<time> tern/<role>[pid]: text" on stderr, or go to
 *	syslog with ident "tern/<role>" in daemon mode.  Mail events are keyed
 *	by queue ID so that mail-log tools can follow a message.
 * TRUST
 *	Any process.  Callers must never pass secrets (AUTH data, passwords,
 *	key material); network text must be escaped first (str_escape).
 * INVARIANTS
 *	fatal/fatalx exit(1): the environment is broken, a supervisor may
 *	restart us.  panic aborts with a core dump: an invariant is broken.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Selects the destination and the role shown in every line. */
void log_init(const char *role, int use_syslog, int verbose);
void log_set_role(const char *role);

/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Log and exit(1).  fatal adds strerror(errno). */
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* Log and abort(): a broken invariant, never an environmental failure. */
void panic(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
