/*
 * NAME
 *	qparams - the queue's and the scheduler's parameters from tern.conf
 * PURPOSE
 *	One place that maps configuration to queue_params and sched_params,
 *	for the queue process and for ternd -1 alike.
 * TRUST
 *	queue process, or the single process.
 */
#ifndef TERN_QPARAMS_H
#define TERN_QPARAMS_H

#include "../conf/conf.h"
#include "../queue/queue.h"
#include "../queue/sched.h"

void queue_params_from(const struct conf *c, struct queue_params *qp);
void sched_params_from(const struct conf *c, struct sched_params *sp);

#endif
