/*
 * role_queue - the queue process: the only one that writes the spool.
 * It creates message files for the smtp processes (handing them a
 * descriptor), commits them, and runs the scheduler, asking the lookup
 * process where mail goes and the local process to deliver it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/xmem.h"
#include "../queue/queue.h"
#include "../queue/sched.h"
#include "../queue/store.h"
#include "child.h"
#include "qparams.h"
#include "svc_ipc.h"

#define STOP_GRACE_MS 30000

struct q_open {
	struct queue_msg *m;
	struct q_open *next;
};

/* An smtp process; it lives while its channel is open or commits of its
 * messages are in flight. */
struct q_peer {
	struct q_state *st;
	struct ipc *ipc;
	struct q_open *open;
	unsigned nopen;
	int refs;
	struct q_peer *next;
};

struct q_state {
	struct child *ch;
	struct queue *q;
	struct sched *sched;
	struct svc_ipc *svc;
	struct q_peer *peers;
	unsigned max_open; /* messages one smtp process may have open */
	uv_timer_t stop_timer;
	uv_timer_t space_timer;
	uint64_t stop_started;
};

struct q_commit {
	struct q_peer *p;
	uint32_t id;
};

static const char *
queue_user(const struct conf *c)
{
	return c->queue_user;
}

static void
peer_unref(struct q_peer *p)
{
	struct q_state *st = p->st;
	struct q_peer **pp;

	if (--p->refs > 0)
		return;
	for (pp = &st->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

/* The smtp process is gone: its unfinished messages go with it. */
static void
peer_gone(struct q_peer *p)
{
	struct q_open *o, *next;

	for (o = p->open; o; o = next) {
		next = o->next;
		queue_msg_abort(o->m);
		free(o);
	}
	p->open = NULL;
	p->nopen = 0;
	if (p->ipc) {
		ipc_close(p->ipc);
		p->ipc = NULL;
	}
	peer_unref(p);
}

static void
peer_closed(void *arg, struct ipc *ipc)
{
	struct q_peer *p = arg;

	p->ipc = NULL;
	(void)ipc;
	peer_gone(p);
}

static struct queue_msg *
take_open(struct q_peer *p, const char *id)
{
	struct q_open **op, *o;
	struct queue_msg *m;

	for (op = &p->open; (o = *op) != NULL; op = &o->next)
		if (strcmp(queue_msg_id(o->m), id) == 0) {
			*op = o->next;
			p->nopen--;
			m = o->m;
			free(o);
			return m;
		}
	return NULL;
}

static void
send_u8(struct q_peer *p, uint16_t type, uint32_t id, uint8_t v)
{
	if (p->ipc)
		ipc_send(p->ipc, type, id, &v, 1, -1);
}

static void
committed(void *arg, int status)
{
	struct q_commit *c = arg;

	send_u8(c->p, MSG_COMMIT_ANS, c->id, status == 0);
	peer_unref(c->p);
	free(c);
}

static void
do_open(struct q_peer *p, uint32_t id)
{
	struct queue_msg *m = NULL;
	struct q_open *o;
	struct buf b;
	int fd = -1;

	/* One message per session, and a few opened ahead: more is not a
	 * working smtp process, and would run the queue out of files. */
	if (p->nopen < p->st->max_open)
		m = queue_msg_open(p->st->q);
	else
		log_warnx("queue: an smtp process has %u messages open; "
		          "refusing more",
		    p->nopen);
	buf_init(&b, 256);
	if (m != NULL && (fd = dup(queue_msg_fd(m))) < 0) {
		log_warn("queue: dup");
		queue_msg_abort(m);
		m = NULL;
	}
	if (m == NULL) {
		msg_enc_id(&b, 0, "");
		ipc_send(p->ipc, MSG_OPEN_ANS, id, b.data, b.len, -1);
		buf_free(&b);
		return;
	}
	o = xmalloc(sizeof(*o));
	o->m = m;
	o->next = p->open;
	p->open = o;
	p->nopen++;
	msg_enc_id(&b, 1, queue_msg_id(m));
	ipc_send(p->ipc, MSG_OPEN_ANS, id, b.data, b.len, fd);
	buf_free(&b);
}

static int
do_commit(struct q_peer *p, struct ipc_msg *msg)
{
	struct msg_commit mc;
	struct queue_msg *m;
	struct q_commit *c;
	struct stat sb;

	if (msg_dec_commit(msg->data, msg->len, &mc) < 0)
		return -1;
	if ((m = take_open(p, mc.id)) == NULL) {
		/* Not one of this process's messages. */
		envelope_free(&mc.env);
		return -1;
	}
	/* The text must be in the file it claims to be in. */
	if (fstat(queue_msg_fd(m), &sb) < 0 ||
	    (uint64_t)sb.st_size < SPOOL_DATA_OFFSET + mc.data_len) {
		log_warnx("queue: %s: commit claims %llu octets the file does "
		          "not hold",
		    mc.id, (unsigned long long)mc.data_len);
		queue_msg_abort(m);
		envelope_free(&mc.env);
		send_u8(p, MSG_COMMIT_ANS, msg->id, 0);
		return 0;
	}
	c = xmalloc(sizeof(*c));
	c->p = p;
	c->id = msg->id;
	p->refs++;
	queue_msg_commit(m, &mc.env, mc.data_len, committed, c);
	envelope_free(&mc.env);
	return 0;
}

static void
on_request(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct q_peer *p = arg;
	struct q_state *st = p->st;
	struct queue_msg *qm;
	char id[SPOOL_ID_LEN + 1];
	uint64_t v64;
	int bad = 0;

	if (!msg_allowed(ROLE_QUEUE, ROLE_SMTP, m->type) || m->fd >= 0) {
		bad = 1;
		goto out;
	}
	switch (m->type) {
	case MSG_ROOM:
		if ((bad = msg_dec_u64(m->data, m->len, &v64)) == 0)
			send_u8(p, MSG_ROOM_ANS, m->id,
			    queue_has_room(st->q, v64) ? 1 : 0);
		break;
	case MSG_OPEN:
		if ((bad = m->len != 0) == 0)
			do_open(p, m->id);
		break;
	case MSG_COMMIT:
		bad = do_commit(p, m);
		break;
	case MSG_ABORT:
		if ((bad = msg_dec_id(m->data, m->len, NULL, id)) == 0 &&
		    (qm = take_open(p, id)) != NULL)
			queue_msg_abort(qm);
		break;
	case MSG_QUEUED:
		if ((bad = m->len != 0) == 0) {
			struct buf b;

			buf_init(&b, 16);
			msg_enc_u64(&b, queue_length(st->q));
			ipc_send(
			    p->ipc, MSG_QUEUED_ANS, m->id, b.data, b.len, -1);
			buf_free(&b);
		}
		break;
	default:
		bad = 1;
	}
out:
	if (bad) {
		if (m->fd >= 0)
			close(m->fd);
		log_warnx("queue: invalid message %u from an smtp process; "
		          "closing the channel",
		    m->type);
		p->ipc = NULL;
		ipc_close(ipc);
		peer_gone(p);
	}
}

#define SPACE_REPORT_MS 1000

/* Tell an smtp process how much room there is (it answers MAIL with it). */
static void
send_space(struct q_state *st, struct q_peer *p)
{
	struct buf b;

	if (p->ipc == NULL)
		return;
	buf_init(&b, 16);
	msg_enc_u64(&b, queue_room(st->q));
	ipc_send(p->ipc, MSG_SPACE, 0, b.data, b.len, -1);
	buf_free(&b);
}

static void
space_due(uv_timer_t *t)
{
	struct q_state *st = t->data;
	struct q_peer *p;

	for (p = st->peers; p; p = p->next)
		send_space(st, p);
}

static unsigned
max_open(const struct conf *c)
{
	return (unsigned)c->max_sessions + SVC_OPEN_AHEAD;
}

static int
start(struct child *ch, const struct conf *c)
{
	struct q_state *st = xcalloc(1, sizeof(*st));
	struct queue_store *store;
	struct queue_params qp;
	struct sched_params sp;
	struct sched_services svc;
	char err[512];

	st->ch = ch;
	if ((store = store_spool_new(child_loop(ch), c->spool_directory, err,
	         sizeof(err))) == NULL) {
		log_warnx("queue: %s", err);
		free(st);
		return -1;
	}
	queue_params_from(c, &qp);
	st->max_open = max_open(c);
	st->q = queue_new(child_loop(ch), store, &qp);
	st->svc = svc_ipc_new(child_loop(ch), ROLE_QUEUE);
	svc_ipc_on_lost(st->svc, child_report_lost, ch);
	svc_ipc_sched_services(st->svc, &svc);
	sched_params_from(c, &sp);
	st->sched = sched_new(st->q, &svc, &sp);
	uv_timer_init(child_loop(ch), &st->stop_timer);
	st->stop_timer.data = st;
	uv_timer_init(child_loop(ch), &st->space_timer);
	st->space_timer.data = st;
	uv_timer_start(
	    &st->space_timer, space_due, SPACE_REPORT_MS, SPACE_REPORT_MS);
	child_set_data(ch, st);
	if (queue_recover(st->q) < 0) {
		log_warnx("queue: recovery failed");
		return -1;
	}
	return 0;
}

static void
reload(struct child *ch, const struct conf *c)
{
	struct q_state *st = child_data(ch);
	struct queue_params qp;
	struct sched_params sp;

	queue_params_from(c, &qp);
	st->max_open = max_open(c);
	queue_set_params(st->q, &qp);
	sched_params_from(c, &sp);
	sched_set_params(st->sched, &sp);
}

static void
peer(struct child *ch, enum proc_role role, uint32_t index, int fd)
{
	struct q_state *st = child_data(ch);
	struct q_peer *p;

	if (role == ROLE_LOOKUP || role == ROLE_LOCAL) {
		svc_ipc_set_peer(st->svc, role, fd);
		/* What waited for it may go now. */
		sched_kick(st->sched);
		return;
	}
	if (role != ROLE_SMTP) {
		close(fd);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->st = st;
	p->refs = 1;
	p->ipc = ipc_new(
	    child_loop(ch), fd, MSG_MAX_QUEUE, on_request, peer_closed, p);
	p->next = st->peers;
	st->peers = p;
	send_space(st, p);
	(void)index;
}

static void
stop_poll(uv_timer_t *t)
{
	struct q_state *st = t->data;
	unsigned busy =
	    sched_active(st->sched) + queue_commits_in_flight(st->q);

	if (busy > 0 &&
	    uv_now(child_loop(st->ch)) - st->stop_started < STOP_GRACE_MS)
		return;
	uv_timer_stop(t);
	if (busy) {
		/* Leave it all to exit: callbacks may still be queued. */
		log_warnx("queue: stopping with %u deliveries or commits "
		          "unfinished; they will be retried",
		    busy);
		child_exit(st->ch, 0);
		return;
	}
	while (st->peers) {
		struct q_peer *p = st->peers;

		p->refs = 1;
		peer_gone(p);
	}
	sched_free(st->sched);
	svc_ipc_free(st->svc);
	queue_free(st->q);
	child_exit(st->ch, 0);
}

static void
stop(struct child *ch)
{
	struct q_state *st = child_data(ch);

	sched_stop(st->sched);
	uv_timer_stop(&st->space_timer);
	st->stop_started = uv_now(child_loop(ch));
	uv_timer_start(&st->stop_timer, stop_poll, 0, 20);
}

const struct role_ops role_queue_ops = {
    .role = ROLE_QUEUE,
    .user = queue_user,
    .chroot = 0,
    .start = start,
    .reload = reload,
    .peer = peer,
    .listen = NULL,
    .stop = stop,
};
