/*
 * NAME
 *	role_lookup - the lookup process: tables, session accounting and
 *	address resolution, serving the smtp processes and the queue
 * PURPOSE
 *	role_lookup_ops runs it as a child of the parent (child.h); the
 *	functions below are the same service on any event loop, given the
 *	configuration and one end of a socketpair per peer, so that the
 *	request handler can be driven without a parent (the fuzz targets).
 *	Each peer's requests are answered on its own channel; the sessions
 *	an smtp process opened are forgotten when its channel closes.
 * TRUST
 *	lookup process.  Every request comes from a peer that may be
 *	compromised: a message its role may not send, or one that does not
 *	decode, closes that peer's channel (and forgets its sessions).
 * INVARIANTS
 *	Each request with an id gets exactly one answer, with that id, unless
 *	the channel closes first.  Session counts hold across all peers.
 */
#ifndef TERN_ROLE_LOOKUP_H
#define TERN_ROLE_LOOKUP_H

#include <stddef.h>
#include <uv.h>

#include "../conf/conf.h"
#include "msg.h"

struct lk_state;

/* Load the tables named by c.  NULL with the reason in err. */
struct lk_state *
role_lookup_new(uv_loop_t *loop, const struct conf *c, char *err, size_t errsz);
/* Load the tables again; on error keep the old ones.  Peers are told
 * (MSG_TABLES). */
void role_lookup_reload(struct lk_state *st, const struct conf *c);
/* Serve a peer of that role (smtp or queue) on fd, which it takes. */
void role_lookup_peer(struct lk_state *st, enum proc_role role, int fd);
/* Close every channel and free everything. */
void role_lookup_free(struct lk_state *st);

#endif
