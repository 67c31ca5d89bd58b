/*
 * NAME
 *	sessions - counts of open SMTP sessions, in total and per client
 * PURPOSE
 *	max_sessions and max_sessions_per_client hold across every smtp
 *	process, so one place counts: each new connection is admitted (or
 *	not) here and released when it ends.  Counts are kept per owner (an
 *	smtp process) so that a process that dies gives back its sessions.
 * TRUST
 *	lookup process; owners are its IPC peers, addresses come from them.
 * INVARIANTS
 *	The total equals the sum of all counts; a release never takes a
 *	count below zero (an unknown release is ignored).
 */
#ifndef TERN_SESSIONS_H
#define TERN_SESSIONS_H

#include "../common/netaddr.h"

enum sessions_verdict {
	SESSIONS_OK,
	SESSIONS_BUSY_TOTAL,  /* max_sessions reached */
	SESSIONS_BUSY_CLIENT, /* max_sessions_per_client reached */
	SESSIONS_UNAVAILABLE, /* nobody to ask: not counted, try later */
};

struct sessions;

struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);
/* Admit a session from addr for owner; counted only when SESSIONS_OK. */
enum sessions_verdict sessions_open(struct sessions *s, const void *owner,
    const struct netaddr *addr, unsigned max_total, unsigned max_client);
void sessions_close(
    struct sessions *s, const void *owner, const struct netaddr *addr);
/* Forget every session of owner. */
void sessions_drop_owner(struct sessions *s, const void *owner);
unsigned sessions_total(const struct sessions *s);
unsigned sessions_client(const struct sessions *s, const struct netaddr *a);

#endif
