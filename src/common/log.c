/*
 * log - log lines to stderr or syslog, with the role and pid; fatal and
 * panic (log.h).
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_role[32] = "ternd";
static char log_ident[48] = "tern/ternd";
static int log_syslog;
static int log_verbose;
static long log_pid; /* set by log_init: a process's id does not change */

void
log_init(const char *role, int use_syslog, int verbose)
{
	log_verbose = verbose;
	log_pid = (long)getpid();
	if (log_syslog)
		closelog();
	log_syslog = use_syslog;
	log_set_role(role);
}

void
log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	snprintf(log_ident, sizeof(log_ident), "tern/%s", role);
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (suffix)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
	} else {
		struct timeval tv;
		struct tm tm;
		char ts[32];

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%ld]: %s%s%s\n", ts,
		    (long)(tv.tv_usec / 1000), log_ident, log_pid, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	}
	errno = saved;
}

#define LOGFN(name, pri, with_errno) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		const char *e = with_errno ? strerror(errno) : NULL; \
		va_start(ap, fmt); \
		vlog(pri, fmt, ap, e); \
		va_end(ap); \
	}

LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, "panic");
	va_end(ap);
	abort();
}
