/*
 * direct - the services of svc.h answered by calling the lookup and
 * queue modules in the same process (ternd -1), with the same verdicts
 * as over IPC.
 */
#include "direct.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xmem.h"
#include "openmsgs.h"

struct direct {
	struct lookup *lk;
	struct sessions *ss;
	struct queue *q;
	struct local_agent *la;
	struct openmsgs *open; /* opened, not yet committed or aborted */
};

struct direct *
direct_new(const struct conf *c, struct lookup *lk, struct sessions *ss,
    struct queue *q, struct local_agent *la)
{
	struct direct *d = xcalloc(1, sizeof(*d));

	d->lk = lk;
	d->ss = ss;
	d->q = q;
	d->la = la;
	sessions_configure(ss, c);
	d->open = openmsgs_new();
	return d;
}

void
direct_free(struct direct *d)
{
	if (d == NULL)
		return;
	openmsgs_free(d->open);
	free(d);
}

void
direct_reload(struct direct *d, const struct conf *c, struct lookup *lk)
{
	d->lk = lk;
	sessions_configure(d->ss, c);
}

/* ------------------------------------------------------------ smtp side */

/* Seconds on the clock the rate windows use. */
static uint64_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void
d_admit(void *ctx, const struct netaddr *client, svc_admit_cb cb, void *arg)
{
	struct direct *d = ctx;
	struct svc_admission a;

	memset(&a, 0, sizeof(a));
	lookup_client(d->lk, client, &a.client);
	a.verdict = sessions_open(d->ss, d, client, now_s());
	cb(arg, &a);
}

static void
d_release(void *ctx, const struct netaddr *client)
{
	struct direct *d = ctx;

	sessions_close(d->ss, d, client);
}

static void
d_rcpt(void *ctx, const struct netaddr *client, const char *local,
    const char *domain, int new_message, svc_lookup_cb cb, void *arg)
{
	struct direct *d = ctx;
	struct lookup_reply r;

	sessions_rcpt(
	    d->ss, d->lk, client, local, domain, new_message, now_s(), &r);
	cb(arg, &r);
	lookup_reply_free(&r);
}

static void
d_vrfy(void *ctx, const char *local, const char *domain, svc_lookup_cb cb,
    void *arg)
{
	struct direct *d = ctx;
	struct lookup_reply r;

	lookup_vrfy(d->lk, local, domain, &r);
	cb(arg, &r);
	lookup_reply_free(&r);
}

static void
d_room(void *ctx, uint64_t size, svc_status_cb cb, void *arg)
{
	struct direct *d = ctx;

	cb(arg, queue_has_room(d->q, size) ? 0 : -1);
}

static void
d_open(void *ctx, svc_open_cb cb, void *arg)
{
	struct direct *d = ctx;
	struct queue_msg *m = queue_msg_open(d->q);

	openmsgs_add(d->open, m, d);
	cb(arg, queue_msg_id(m));
}

static int
d_write(void *ctx, const char *id, const void *p, size_t n)
{
	struct direct *d = ctx;
	struct queue_msg *m = openmsgs_get(d->open, id, d);

	return m != NULL ? queue_msg_write(m, p, n) : -1;
}

static int
d_throttle(void *ctx, void (*resume)(void *arg), void *arg)
{
	/* The text is in the queue's hands as soon as it is written. */
	(void)ctx;
	(void)resume;
	(void)arg;
	return 0;
}

struct commit_wait {
	svc_status_cb cb;
	void *arg;
};

static void
d_committed(void *arg, int status)
{
	struct commit_wait *w = arg;

	w->cb(w->arg,
	    status == 0             ? 0
	        : status == -ENOSPC ? SVC_NO_ROOM
	                            : SVC_FAILED);
	free(w);
}

static void
d_commit(void *ctx, const char *id, const struct envelope *env,
    uint64_t data_len, svc_status_cb cb, void *arg)
{
	struct direct *d = ctx;
	struct queue_msg *m = openmsgs_take(d->open, id, d);
	struct commit_wait *w;
	struct envelope copy;
	struct buf b;
	char err[128];

	if (m == NULL) {
		log_warnx("queue: commit of unknown message %s", id);
		cb(arg, SVC_FAILED);
		return;
	}
	/* Through the record codec, as over IPC: the queue stores only what
	 * it could decode. */
	buf_init(&b, ENV_MAX_ENCODED);
	if (queue_msg_len(m) != data_len || envelope_encode(env, &b) < 0 ||
	    envelope_decode(b.data, b.len, &copy, err, sizeof(err)) < 0) {
		buf_free(&b);
		queue_msg_abort(m);
		cb(arg, SVC_FAILED);
		return;
	}
	buf_free(&b);
	w = xmalloc(sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	queue_msg_commit(m, &copy, d_committed, w);
	envelope_free(&copy);
}

static void
d_abort(void *ctx, const char *id)
{
	struct direct *d = ctx;
	struct queue_msg *m = openmsgs_take(d->open, id, d);

	if (m != NULL)
		queue_msg_abort(m);
}

static void
d_queued(void *ctx, svc_count_cb cb, void *arg)
{
	struct direct *d = ctx;

	cb(arg, queue_length(d->q));
}

static const struct smtp_services_ops smtp_ops = {
    .admit = d_admit,
    .release = d_release,
    .rcpt = d_rcpt,
    .vrfy = d_vrfy,
    .room = d_room,
    .open = d_open,
    .write = d_write,
    .throttle = d_throttle,
    .commit = d_commit,
    .abort = d_abort,
    .queued = d_queued,
};

void
direct_smtp_services(struct direct *d, struct smtp_services *out)
{
	out->ops = &smtp_ops;
	out->ctx = d;
}

/* ----------------------------------------------------------- queue side */

static void
d_resolve(void *ctx, const char *addr, sched_resolve_cb cb, void *arg)
{
	struct direct *d = ctx;
	struct lookup_dest dest;

	lookup_resolve(d->lk, addr, &dest);
	cb(arg, &dest);
}

static void
d_deliver(void *ctx, const struct local_req *req, local_cb cb, void *arg)
{
	struct direct *d = ctx;

	local_deliver(d->la, req, cb, arg);
}

static int
d_ready(void *ctx)
{
	(void)ctx;
	return 1;
}

static const struct sched_services_ops sched_ops = {
    .resolve = d_resolve,
    .deliver = d_deliver,
    .ready = d_ready,
};

void
direct_sched_services(struct direct *d, struct sched_services *out)
{
	out->ops = &sched_ops;
	out->ctx = d;
}
