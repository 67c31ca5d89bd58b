/*
 * qparams - the queue's and the scheduler's parameters from tern.conf,
 * in one place for both process shapes (qparams.h).
 */
#include "qparams.h"

void
queue_params_from(const struct conf *c, struct queue_params *qp)
{
	qp->minfree = c->queue_minfree;
}

void
sched_params_from(const struct conf *c, struct sched_params *sp)
{
	sp->concurrency = (unsigned)c->delivery_concurrency;
	sp->box_concurrency = (unsigned)c->mailbox_concurrency;
	sp->lifetime_ms = c->maximal_queue_lifetime;
	sp->min_backoff_ms = c->minimal_backoff_time;
	sp->max_backoff_ms = c->maximal_backoff_time;
}
