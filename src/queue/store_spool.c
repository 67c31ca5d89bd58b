/*
 * store_spool - the local spool as the queue's store (store.h): group
 * commits on the thread pool, done records flushed every second.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../common/log.h"
#include "../common/xmem.h"
#include "spool.h"

/*
 * Group commit.  Commits that arrive while groups are being written wait,
 * and all of them go together in the next group, on a worker thread:
 * however many sessions commit at once, the disk sees one data sync per
 * group (plus one per message too large to be kept in memory) and one
 * sync of queue/.  Two groups may be in flight, so that a commit does not
 * wait for a whole group's two syncs before its own begin.
 */
#define GROUP_MAX 1024
#define GROUPS_IN_FLIGHT 2
/* How often messages done in files still in use are recorded. */
#define FLUSH_MS 1000

struct waiting {
	struct spool_draft *draft;
	const struct envelope *env;
	uint64_t nonce;
	store_commit_cb cb;
	void *arg;
	struct waiting *next;
};

struct group {
	uv_work_t work;
	struct spool_store *ss;
	struct spool_commit *c;
	struct waiting **who;
	size_t n;
};

struct spool_store {
	uv_loop_t *loop;
	struct spool *sp;
	struct waiting *wait_head, **wait_tail;
	unsigned nwaiting;
	unsigned in_group; /* commits being written */
	unsigned groups;   /* groups being written */
	uv_timer_t flush;
	int closed;
};

static void start_group(struct spool_store *ss);

static void
group_work(uv_work_t *w)
{
	struct group *g = w->data;

	spool_commit_group(g->ss->sp, g->c, g->n);
}

static void
group_done(uv_work_t *w, int status)
{
	struct group *g = w->data;
	struct spool_store *ss = g->ss;
	size_t i;

	if (status < 0)
		panic("spool: a commit group was cancelled");
	spool_commit_done(ss->sp, g->c, g->n);
	ss->in_group -= (unsigned)g->n;
	ss->groups--;
	/* The next group starts before the callbacks add to the queue. */
	start_group(ss);
	for (i = 0; i < g->n; i++) {
		struct waiting *wt = g->who[i];

		wt->cb(wt->arg, g->c[i].err ? -g->c[i].err : 0, g->c[i].msg);
		free(wt);
	}
	free(g->c);
	free(g->who);
	free(g);
}

static void
start_group(struct spool_store *ss)
{
	struct group *g;
	size_t i;

	if (ss->groups >= GROUPS_IN_FLIGHT || ss->wait_head == NULL)
		return;
	g = xcalloc(1, sizeof(*g));
	g->ss = ss;
	g->n = ss->nwaiting < GROUP_MAX ? ss->nwaiting : GROUP_MAX;
	g->c = xcalloc(g->n, sizeof(*g->c));
	g->who = xcalloc(g->n, sizeof(*g->who));
	for (i = 0; i < g->n; i++) {
		struct waiting *wt = ss->wait_head;

		ss->wait_head = wt->next;
		g->who[i] = wt;
		g->c[i].draft = wt->draft;
		g->c[i].env = wt->env;
		g->c[i].nonce = wt->nonce;
	}
	if (ss->wait_head == NULL)
		ss->wait_tail = &ss->wait_head;
	ss->nwaiting -= (unsigned)g->n;
	ss->in_group += (unsigned)g->n;
	ss->groups++;
	g->work.data = g;
	if (uv_queue_work(ss->loop, &g->work, group_work, group_done) != 0)
		panic("spool: uv_queue_work failed");
}

static void *
ss_begin(void *ctx, char id[STORE_ID_LEN + 1])
{
	struct spool_store *ss = ctx;

	spool_new_id(id);
	return spool_draft_new(ss->sp, id);
}

static int
ss_append(void *ctx, void *draft, const void *p, size_t n)
{
	struct spool_store *ss = ctx;

	return spool_draft_append(ss->sp, draft, p, n);
}

static uint64_t
ss_length(void *ctx, void *draft)
{
	(void)ctx;
	return spool_draft_len(draft);
}

static void
ss_commit(void *ctx, void *draft, const struct envelope *env, uint64_t nonce,
    store_commit_cb cb, void *arg)
{
	struct spool_store *ss = ctx;
	struct waiting *wt = xcalloc(1, sizeof(*wt));

	wt->draft = draft;
	wt->env = env;
	wt->nonce = nonce;
	wt->cb = cb;
	wt->arg = arg;
	*ss->wait_tail = wt;
	ss->wait_tail = &wt->next;
	ss->nwaiting++;
	start_group(ss);
}

static void
ss_discard(void *ctx, void *draft)
{
	struct spool_store *ss = ctx;

	spool_draft_free(ss->sp, draft);
}

struct recover_ctx {
	store_found_fn fn;
	void *arg;
};

static void
found(void *arg, struct spool_msg *m, struct envelope *env, uint64_t len,
    uint64_t nonce)
{
	struct recover_ctx *rc = arg;

	rc->fn(rc->arg, spool_msg_id(m), m, env, len, nonce);
}

static int
ss_recover(void *ctx, store_found_fn fn, void *arg)
{
	struct spool_store *ss = ctx;
	struct recover_ctx rc = {fn, arg};

	return spool_recover(ss->sp, found, &rc);
}

static int
ss_mark(void *ctx, void *ref, enum spool_status_type type, const char *value)
{
	struct spool_store *ss = ctx;

	return spool_msg_status(ss->sp, ref, type, value);
}

static int
ss_remove(void *ctx, void *ref)
{
	struct spool_store *ss = ctx;

	return spool_msg_done(ss->sp, ref);
}

static int
ss_open_data(void *ctx, void *ref, uint64_t *off)
{
	struct spool_store *ss = ctx;
	uint64_t len;

	return spool_msg_open(ss->sp, ref, off, &len);
}

static int
ss_free_space(void *ctx, uint64_t *bytes)
{
	struct spool_store *ss = ctx;

	return spool_free_space(ss->sp, bytes);
}

static unsigned
ss_busy(void *ctx)
{
	struct spool_store *ss = ctx;

	return ss->nwaiting + ss->in_group;
}

static void
flush_due(uv_timer_t *t)
{
	struct spool_store *ss = t->data;

	spool_flush(ss->sp);
}

static void
flush_closed(uv_handle_t *h)
{
	struct spool_store *ss = h->data;

	ss->closed = 1;
}

static void
ss_free(void *ctx)
{
	struct spool_store *ss = ctx;

	/* A group being written calls back into us: let it finish. */
	while (ss->in_group || ss->wait_head)
		uv_run(ss->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&ss->flush, flush_closed);
	while (!ss->closed)
		uv_run(ss->loop, UV_RUN_ONCE);
	spool_close(ss->sp); /* records what is done */
	free(ss);
}

static const struct queue_store_ops spool_ops = {
    .begin = ss_begin,
    .append = ss_append,
    .length = ss_length,
    .commit = ss_commit,
    .discard = ss_discard,
    .recover = ss_recover,
    .mark = ss_mark,
    .remove = ss_remove,
    .open_data = ss_open_data,
    .free_space = ss_free_space,
    .busy = ss_busy,
    .free = ss_free,
};

struct queue_store *
store_spool_new(uv_loop_t *loop, const char *dir, char *err, size_t errsz)
{
	struct queue_store *st;
	struct spool_store *ss;
	struct spool *sp;

	if ((sp = spool_open(dir, err, errsz)) == NULL)
		return NULL;
	ss = xcalloc(1, sizeof(*ss));
	ss->loop = loop;
	ss->sp = sp;
	ss->wait_tail = &ss->wait_head;
	uv_timer_init(loop, &ss->flush);
	ss->flush.data = ss;
	uv_timer_start(&ss->flush, flush_due, FLUSH_MS, FLUSH_MS);
	uv_unref((uv_handle_t *)&ss->flush);
	st = xcalloc(1, sizeof(*st));
	st->ops = &spool_ops;
	st->ctx = ss;
	return st;
}

void
store_free(struct queue_store *st)
{
	if (st == NULL)
		return;
	st->ops->free(st->ctx);
	free(st);
}
