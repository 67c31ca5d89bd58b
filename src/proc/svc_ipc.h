/*
 * NAME
 *	svc_ipc - the services, asked of other processes over IPC
 * PURPOSE
 *	Implements the smtp service interface (towards the lookup and queue
 *	processes) and the scheduler service interface (towards the lookup
 *	and local processes) with the messages of msg.h.  Requests carry an
 *	id; answers are matched by id and by their expected type.  When a
 *	peer's channel closes (the process died and is being restarted, or
 *	one side dropped the other for breaking the protocol), its
 *	outstanding requests fail with a temporary error, new requests fail
 *	the same way until the parent hands over a new channel, and the
 *	lost callback asks the parent for one.
 * TRUST
 *	smtp or queue process.  Answers are decoded and validated (msg.h);
 *	a peer that sends something invalid or unexpected is disconnected.
 * INVARIANTS
 *	Every request's callback runs exactly once.
 */
#ifndef TERN_SVC_IPC_H
#define TERN_SVC_IPC_H

#include <uv.h>

#include "../queue/sched.h"
#include "../smtp/smtp_services.h"
#include "msg.h"

struct svc_ipc;

struct svc_ipc *svc_ipc_new(uv_loop_t *loop, enum proc_role self);
/* Fail what is outstanding and close every channel. */
void svc_ipc_free(struct svc_ipc *sv);
/* A (new) channel to the process of that role; takes fd. */
void svc_ipc_set_peer(struct svc_ipc *sv, enum proc_role role, int fd);
/* Called when a peer's channel closes, other than by svc_ipc_set_peer or
 * svc_ipc_free (child_report_lost). */
void svc_ipc_on_lost(struct svc_ipc *sv,
    void (*lost)(void *arg, enum proc_role role), void *arg);
void svc_ipc_smtp_services(struct svc_ipc *sv, struct smtp_services *out);
void svc_ipc_sched_services(struct svc_ipc *sv, struct sched_services *out);
/* Requests still waiting for an answer. */
unsigned svc_ipc_outstanding(const struct svc_ipc *sv);

#endif
