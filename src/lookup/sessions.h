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

#include <stdint.h>

#include "../common/netaddr.h"

struct conf;
struct lookup;
struct lookup_reply;

#define SESSIONS_RATE_CLIENTS 65536

enum sessions_verdict {
	SESSIONS_OK,
	SESSIONS_BUSY_TOTAL,  /* max_sessions reached */
	SESSIONS_BUSY_CLIENT, /* max_sessions_per_client reached */
	SESSIONS_UNAVAILABLE, /* nobody to ask: not counted, try later */
	SESSIONS_RATE,        /* client_connection_rate_limit reached */
};
#define SESSIONS_VERDICT_LAST SESSIONS_RATE

struct sessions;

struct sessions *sessions_new(void);
void sessions_free(struct sessions *s);
/* Take the limits of c (checked by conf: cannot fail). */
void sessions_configure(struct sessions *s, const struct conf *c);
/*
 * Admit a session from addr for owner at now (seconds, any monotonic
 * clock); counted only when SESSIONS_OK.  Every attempt counts toward the
 * client's connection rate, those refused for the session limits too.
 */
enum sessions_verdict sessions_open(struct sessions *s, const void *owner,
    const struct netaddr *addr, uint64_t now);
/*
 * RCPT from client: lookup_rcpt's verdict, or LOOKUP_V_RATE_LIMITED when
 * the transaction has no recipient yet (new_message) and the client has
 * started client_message_rate_limit messages in this window.  A message
 * counts when its first recipient is accepted.
 */
void sessions_rcpt(struct sessions *s, const struct lookup *lk,
    const struct netaddr *client, const char *local, const char *domain,
    int new_message, uint64_t now, struct lookup_reply *r);
void sessions_close(
    struct sessions *s, const void *owner, const struct netaddr *addr);
/* Forget every session of owner. */
void sessions_drop_owner(struct sessions *s, const void *owner);
unsigned sessions_total(const struct sessions *s);
unsigned sessions_client(const struct sessions *s, const struct netaddr *a);

#endif
