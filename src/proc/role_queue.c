/*
 * role_queue - the queue process: the only one that writes the spool.
 * It opens messages for the smtp processes, takes their text as it comes
 * (an smtp process never holds a spool descriptor), commits them, and
 * runs the scheduler, asking the lookup process where mail goes and the
 * local process to deliver it.
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
#include "openmsgs.h"
#include "qparams.h"
#include "svc_ipc.h"

#define STOP_GRACE_MS 30000

/* An smtp process; it lives while its channel is open or commits of its
 * messages are in flight. */
struct q_peer {
	struct q_state *st;
	struct ipc *ipc;
	int refs;
	struct q_peer *next;
};

struct q_state {
	struct child *ch;
	struct queue *q;
	struct sched *sched;
	struct svc_ipc *svc;
	struct q_peer *peers;
	struct openmsgs *open; /* messages being received, by their peer */
	uint64_t text_max;     /* octets one message may send, at most */
	unsigned max_open;     /* messages one smtp process may have open */
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
	openmsgs_drop(p->st->open, p);
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

	send_u8(c->p, MSG_COMMIT_ANS, c->id,
	    status == 0             ? MSG_COMMIT_OK
	        : status == -ENOSPC ? MSG_COMMIT_NO_ROOM
	                            : MSG_COMMIT_FAILED);
	peer_unref(c->p);
	free(c);
}

static void
do_open(struct q_peer *p, uint32_t id)
{
	struct q_state *st = p->st;
	struct queue_msg *m;
	struct buf b;

	buf_init(&b, 256);
	/* One message per session: more is not a working smtp process. */
	if (openmsgs_count(st->open, p) >= st->max_open) {
		log_warnx("queue: an smtp process has %u messages open; "
		          "refusing more",
		    st->max_open);
		msg_enc_id(&b, 0, "");
	} else {
		m = queue_msg_open(st->q);
		openmsgs_add(st->open, m, p);
		msg_enc_id(&b, 1, queue_msg_id(m));
	}
	ipc_send(p->ipc, MSG_OPEN_ANS, id, b.data, b.len, -1);
	buf_free(&b);
}

/* Text of an open message.  -1: the peer broke the protocol. */
static int
do_data(struct q_peer *p, struct ipc_msg *msg)
{
	char id[SPOOL_ID_LEN + 1];
	struct queue_msg *m;
	const void *data;
	size_t len;

	if (msg_dec_data(msg->data, msg->len, id, &data, &len) < 0)
		return -1;
	/* Text for a message just aborted (the session ended while its
	 * text was on the way) is dropped; text for one that is not this
	 * peer's is a broken protocol. */
	if ((m = openmsgs_get(p->st->open, id, p)) == NULL)
		return 0;
	if (queue_msg_len(m) + len > p->st->text_max) {
		log_warnx("queue: %s: more text than any message may have; "
		          "closing the channel",
		    id);
		return -1;
	}
	/* A failure is remembered by the message: its commit fails. */
	if (queue_msg_write(m, data, len) < 0)
		log_warn("queue: %s: cannot keep the text", id);
	return 0;
}

static int
do_commit(struct q_peer *p, struct ipc_msg *msg)
{
	struct msg_commit mc;
	struct queue_msg *m;
	struct q_commit *c;

	if (msg_dec_commit(msg->data, msg->len, &mc) < 0)
		return -1;
	if ((m = openmsgs_take(p->st->open, mc.id, p)) == NULL) {
		/* Not one of this process's messages. */
		envelope_free(&mc.env);
		return -1;
	}
	/* The text is what was sent, octet for octet. */
	if (queue_msg_len(m) != mc.data_len) {
		log_warnx("queue: %s: commit claims %llu octets, %llu came",
		    mc.id, (unsigned long long)mc.data_len,
		    (unsigned long long)queue_msg_len(m));
		queue_msg_abort(m);
		envelope_free(&mc.env);
		send_u8(p, MSG_COMMIT_ANS, msg->id, MSG_COMMIT_FAILED);
		return 0;
	}
	c = xmalloc(sizeof(*c));
	c->p = p;
	c->id = msg->id;
	p->refs++;
	queue_msg_commit(m, &mc.env, committed, c);
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
	case MSG_DATA:
		bad = do_data(p, m);
		break;
	case MSG_COMMIT:
		bad = do_commit(p, m);
		break;
	case MSG_ABORT:
		if ((bad = msg_dec_id(m->data, m->len, NULL, id)) == 0 &&
		    (qm = openmsgs_take(st->open, id, p)) != NULL)
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
	return (unsigned)c->max_sessions;
}

/* The size limit, and our Received: header. */
static uint64_t
text_max(const struct conf *c)
{
	return c->message_size_limit + 64 * 1024;
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
	st->text_max = text_max(c);
	st->open = openmsgs_new();
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
	st->text_max = text_max(c);
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
	openmsgs_free(st->open);
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
