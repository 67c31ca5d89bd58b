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

struct sched_params {
	unsigned concurrency;
	uint64_t lifetime_ms;
	uint64_t min_backoff_ms;
	uint64_t max_backoff_ms;
};

struct sched;

struct sched *sched_new(struct queue *q, struct local_agent *la,
    const struct lookup *lk, const struct sched_params *params);
void sched_free(struct sched *s);
/* New tables or parameters (SIGHUP). */
void sched_set_lookup(struct sched *s, const struct lookup *lk);
void sched_set_params(struct sched *s, const struct sched_params *params);
/* Stop starting deliveries; those running finish. */
void sched_stop(struct sched *s);
/* Deliveries running. */
unsigned sched_active(const struct sched *s);

#endif
