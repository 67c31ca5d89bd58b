/*
 * NAME
 *	sched - runs deliveries for the messages the queue hands out
 * PURPOSE
 *	Claims due messages, resolves each pending recipient (lookup) and
 *	hands local ones to the local delivery agent, at most a configured
 *	number at a time.  Records each outcome in the queue: delivered,
 *	failed (permanent, or lifetime over) or deferred with a backoff that
 *	grows with the message's age.  Logs one line per recipient outcome.
 * TRUST
 *	queue process.
 * INVARIANTS
 *	A message is released only after every delivery started for it has
 *	reported.  A deferred recipient's next attempt lies in the future.
 */
#ifndef TERN_SCHED_H
#define TERN_SCHED_H

#include <stdint.h>
#include <uv.h>

#include "../deliver/local.h"
#include "../lookup/lookup.h"
#include "queue.h"

typedef void (*sched_resolve_cb)(void *arg, const struct lookup_dest *d);

/*
 * Where addresses are resolved and local deliveries run: the lookup and
 * local modules in this process, or the lookup and local processes.
 * Callbacks run exactly once, possibly before the call returns.
 */
struct sched_services_ops {
	void (*resolve)(
	    void *ctx, const char *addr, sched_resolve_cb cb, void *arg);
	/* req->src_fd is borrowed for the duration of the call. */
	void (*deliver)(
	    void *ctx, const struct local_req *req, local_cb cb, void *arg);
	/* Can requests be answered now (are the processes there)? */
	int (*ready)(void *ctx);
};

struct sched_services {
	const struct sched_services_ops *ops;
	void *ctx;
};

struct sched_params {
	unsigned concurrency;     /* deliveries at once, in all */
	unsigned box_concurrency; /* deliveries at once into one Maildir */
	uint64_t lifetime_ms;
	uint64_t min_backoff_ms;
	uint64_t max_backoff_ms;
};

struct sched;

struct sched *sched_new(struct queue *q, const struct sched_services *svc,
    const struct sched_params *params);
void sched_free(struct sched *s);
/* New parameters (SIGHUP). */
void sched_set_params(struct sched *s, const struct sched_params *params);
/* Start what is due, if the services are ready (e.g. once a process
 * the scheduler depends on is back). */
void sched_kick(struct sched *s);
/* Stop starting deliveries; those running finish. */
void sched_stop(struct sched *s);
/* Deliveries running and destinations being resolved: while non-zero,
 * answers will still call back into the scheduler. */
unsigned sched_active(const struct sched *s);

#endif
