/*
 * NAME
 *	smtp_services - what an SMTP session asks of the rest of tern
 * PURPOSE
 *	Admission of a new client (session limits and the access table),
 *	recipient and VRFY lookups, queue space, and a message's life (open,
 *	its text, commit, abort): the text goes to the queue, which alone
 *	writes the spool.  Each request names a callback that receives
 *	the answer.  One implementation calls the lookup and queue modules in
 *	the same process; the other sends IPC messages to the lookup and
 *	queue processes.  Sessions cannot tell them apart.
 * TRUST
 *	smtp process.
 * INVARIANTS
 *	Every request's callback runs exactly once, possibly before the
 *	request function returns.  A session never holds a descriptor of the
 *	spool.
 */
#ifndef TERN_SMTP_SERVICES_H
#define TERN_SMTP_SERVICES_H

#include <stdint.h>

#include "../common/netaddr.h"
#include "../lookup/lookup.h"
#include "../lookup/sessions.h"
#include "../queue/envelope.h"

struct svc_admission {
	enum sessions_verdict verdict; /* SESSIONS_OK: counted, release later */
	struct lookup_client client;
};

typedef void (*svc_admit_cb)(void *arg, const struct svc_admission *a);
typedef void (*svc_lookup_cb)(void *arg, struct lookup_reply *r);
typedef void (*svc_status_cb)(void *arg, int status);
/* id NULL: the queue could not create a message. */
typedef void (*svc_open_cb)(void *arg, const char *id);
/* What a commit's status says, besides 0 (durable). */
#define SVC_FAILED (-1)
#define SVC_NO_ROOM (-2)
typedef void (*svc_count_cb)(void *arg, uint64_t n);

struct smtp_services_ops {
	void (*admit)(void *ctx, const struct netaddr *client, svc_admit_cb cb,
	    void *arg);
	void (*release)(void *ctx, const struct netaddr *client);
	/* new_message: the transaction has no recipient yet and the
	 * client's message rate applies: asked of the lookup, never of a
	 * cache. */
	void (*rcpt)(void *ctx, const struct netaddr *client, const char *local,
	    const char *domain, int new_message, svc_lookup_cb cb, void *arg);
	void (*vrfy)(void *ctx, const char *local, const char *domain,
	    svc_lookup_cb cb, void *arg);
	/* Room for size octets?  0 yes, -1 no, -2 cannot tell now. */
	void (*room)(void *ctx, uint64_t size, svc_status_cb cb, void *arg);
	void (*open)(void *ctx, svc_open_cb cb, void *arg);
	/* The open message's text, in order.  0, or -1 when it cannot be
	 * passed on (the commit will then fail). */
	int (*write)(void *ctx, const char *id, const void *p, size_t n);
	/* Is the way to the queue backed up?  Then 1, and resume(arg) runs
	 * exactly once when it is not; else 0. */
	int (*throttle)(void *ctx, void (*resume)(void *arg), void *arg);
	/* status 0: durable; SVC_NO_ROOM, SVC_FAILED.  env is encoded before
	 * this returns. */
	void (*commit)(void *ctx, const char *id, const struct envelope *env,
	    uint64_t data_len, svc_status_cb cb, void *arg);
	void (*abort)(void *ctx, const char *id);
	/* Messages in the queue. */
	void (*queued)(void *ctx, svc_count_cb cb, void *arg);
};

struct smtp_services {
	const struct smtp_services_ops *ops;
	void *ctx;
};

#endif
