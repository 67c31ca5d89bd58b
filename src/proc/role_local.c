/*
 * role_local - the local delivery process: writes into Maildirs, as the
 * mail user, what the queue asks it to deliver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/xmem.h"
#include "../deliver/local.h"
#include "child.h"

#define STOP_GRACE_MS 30000

struct l_state {
	struct child *ch;
	struct local_agent *la;
	struct ipc *queue;
	uv_timer_t stop_timer;
	uint64_t stop_started;
};

struct l_job {
	struct l_state *st;
	struct ipc *from; /* the channel the request came on */
	uint32_t id;
	int fd;
	struct msg_deliver m;
};

static const char *
mail_user(const struct conf *c)
{
	return c->mail_user;
}

static void
delivered(void *arg, const struct maildir_delivery *d)
{
	struct l_job *j = arg;
	struct msg_deliver_ans a;
	struct buf b;

	close(j->fd);
	/* A reply to a queue process that has since gone is dropped. */
	if (j->st->queue != NULL && j->st->queue == j->from) {
		memset(&a, 0, sizeof(a));
		a.status = d->status;
		a.found_copy = d->found_copy ? 1 : 0;
		snprintf(a.dsn, sizeof(a.dsn), "%s", d->dsn);
		snprintf(a.error, sizeof(a.error), "%s", d->error);
		buf_init(&b, MSG_MAX_LOCAL);
		msg_enc_deliver_ans(&b, &a);
		ipc_send(
		    j->st->queue, MSG_DELIVER_ANS, j->id, b.data, b.len, -1);
		buf_free(&b);
	}
	free(j);
}

static void
queue_closed(void *arg, struct ipc *ipc)
{
	struct l_state *st = arg;

	if (st->queue == ipc)
		st->queue = NULL;
}

static void
on_request(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct l_state *st = arg;
	struct l_job *j;
	struct local_req req;

	if (!msg_allowed(ROLE_LOCAL, ROLE_QUEUE, m->type) || m->fd < 0) {
		if (m->fd >= 0)
			close(m->fd);
		goto bad;
	}
	j = xcalloc(1, sizeof(*j));
	if (msg_dec_deliver(m->data, m->len, &j->m) < 0) {
		close(m->fd);
		free(j);
		goto bad;
	}
	j->st = st;
	j->from = ipc;
	j->id = m->id;
	j->fd = m->fd;
	req.src_fd = j->fd;
	req.src_off = j->m.off;
	req.src_len = j->m.len;
	req.maildir = j->m.maildir;
	req.return_path = j->m.return_path;
	req.rcpt = j->m.rcpt;
	req.unique = j->m.unique;
	req.look_for_copy = j->m.look_for_copy;
	local_deliver(st->la, &req, delivered, j);
	return;
bad:
	log_warnx("local: invalid message %u from the queue; closing the "
	          "channel",
	    m->type);
	if (st->queue == ipc)
		st->queue = NULL;
	ipc_close(ipc);
}

static int
start(struct child *ch, const struct conf *c)
{
	struct l_state *st = xcalloc(1, sizeof(*st));

	st->ch = ch;
	st->la = local_new(child_loop(ch), c->myhostname);
	uv_timer_init(child_loop(ch), &st->stop_timer);
	st->stop_timer.data = st;
	child_set_data(ch, st);
	return 0;
}

static void
reload(struct child *ch, const struct conf *c)
{
	(void)ch;
	(void)c;
}

static void
peer(struct child *ch, enum proc_role role, uint32_t index, int fd)
{
	struct l_state *st = child_data(ch);

	if (role != ROLE_QUEUE) {
		close(fd);
		return;
	}
	if (st->queue)
		ipc_close(st->queue);
	st->queue = ipc_new(
	    child_loop(ch), fd, MSG_MAX_LOCAL, on_request, queue_closed, st);
	(void)index;
}

static void
stop_poll(uv_timer_t *t)
{
	struct l_state *st = t->data;
	unsigned busy = local_busy(st->la);

	if (busy > 0 &&
	    uv_now(child_loop(st->ch)) - st->stop_started < STOP_GRACE_MS)
		return;
	uv_timer_stop(t);
	if (st->queue) {
		ipc_close(st->queue);
		st->queue = NULL;
	}
	/* What is left (deliveries that did not finish) goes with exit. */
	child_exit(st->ch, 0);
}

static void
stop(struct child *ch)
{
	struct l_state *st = child_data(ch);

	st->stop_started = uv_now(child_loop(ch));
	uv_timer_start(&st->stop_timer, stop_poll, 0, 20);
}

const struct role_ops role_local_ops = {
    .role = ROLE_LOCAL,
    .user = mail_user,
    .chroot = 0,
    .start = start,
    .reload = reload,
    .peer = peer,
    .listen = NULL,
    .stop = stop,
};
