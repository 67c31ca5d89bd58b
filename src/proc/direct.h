/*
 * NAME
 *	direct - the services, answered inside one process
 * PURPOSE
 *	Implements the smtp and scheduler service interfaces by calling the
 *	lookup, queue and local modules directly.  Used by the lookup and
 *	queue processes for the requests they serve themselves, and by
 *	"ternd -1", which runs every role in one process (no privilege
 *	separation; for comparison and debugging).
 * TRUST
 *	Whatever process hosts it.
 * INVARIANTS
 *	Behaves exactly as the IPC implementation does, as seen from a
 *	session or the scheduler.
 */
#ifndef TERN_DIRECT_H
#define TERN_DIRECT_H

#include "../conf/conf.h"
#include "../deliver/local.h"
#include "../lookup/lookup.h"
#include "../lookup/sessions.h"
#include "../queue/queue.h"
#include "../queue/sched.h"
#include "../smtp/smtp_services.h"

struct direct;

struct direct *direct_new(const struct conf *c, struct lookup *lk,
    struct sessions *ss, struct queue *q, struct local_agent *la);
void direct_free(struct direct *d);
/* New configuration and tables (SIGHUP). */
void direct_reload(struct direct *d, const struct conf *c, struct lookup *lk);
void direct_smtp_services(struct direct *d, struct smtp_services *out);
void direct_sched_services(struct direct *d, struct sched_services *out);

#endif
