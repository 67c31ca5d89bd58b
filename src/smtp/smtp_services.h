/*
 * NAME
 *	smtp_services - what an SMTP session asks of the rest of tern
 * PURPOSE
 *	Admission of a new client (session limits and the access table),
 *	recipient and VRFY lookups, queue space, and the message file's life
 *	(open, commit, abort).  Each request names a callback that receives
 *	the answer.  One implementation calls the lookup and queue modules in
 *	the same process; the other sends IPC messages to the lookup and
 *	queue processes.  Sessions cannot tell them apart.
 * TRUST
 *	smtp process.
 * INVARIANTS
 *	Every request's callback runs exactly once, possibly before the
 *	request function returns.  A descriptor handed to an open callback
 *	belongs to the session, which closes it after commit or abort.
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
/* fd < 0: the queue could not create a message. */
typedef void (*svc_open_cb)(void *arg, int fd, const char *id);
typedef void (*svc_count_cb)(void *arg, uint64_t n);

struct smtp_services_ops {
	void (*admit)(void *ctx, const struct netaddr *client, svc_admit_cb cb,
	    void *arg);
	void (*release)(void *ctx, const struct netaddr *client);
	void (*rcpt)(void *ctx, const struct netaddr *client, const char *local,
	    const char *domain, svc_lookup_cb cb, void *arg);
	void (*vrfy)(void *ctx, const char *local, const char *domain,
	    svc_lookup_cb cb, void *arg);
	/* Room for size octets?  0 yes, -1 no, -2 cannot tell now. */
	void (*room)(void *ctx, uint64_t size, svc_status_cb cb, void *arg);
	void (*open)(void *ctx, svc_open_cb cb, void *arg);
	/* status 0: durable.  env is encoded before this returns. */
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
