#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../common/dirsync.h"
#include "../common/log.h"
#include "../common/xmem.h"
#include "spool.h"

/*
 * Commit = spool_commit (write envelope and header, fdatasync, rename a
 * spare file of queue/ to its queue ID) on a worker thread, then a shared
 * fsync of queue/ (dirsync): concurrent sessions sync their files in
 * parallel and their renames together, so they do not queue up behind each
 * other on the disk.
 */
struct spool_store {
	uv_loop_t *loop;
	struct spool *sp;
	struct dirsync *ds;
	char *queue_dir;
	unsigned busy;
};

struct commit_job {
	uv_work_t work;
	struct spool_store *ss;
	char id[SPOOL_ID_LEN + 1];
	unsigned slot;
	int fd;
	uint64_t len;
	const struct envelope *env;
	store_commit_cb cb;
	void *arg;
	int err;
};

static int
ss_create(void *ctx, char id[STORE_ID_LEN + 1], uint64_t *handle)
{
	struct spool_store *ss = ctx;
	unsigned slot = 0;
	int fd = spool_create(ss->sp, id, &slot);

	*handle = slot;
	return fd;
}

static void
commit_work(uv_work_t *w)
{
	struct commit_job *j = w->data;

	j->err =
	    spool_commit(j->ss->sp, j->id, j->slot, j->fd, j->len, j->env) < 0
	    ? errno
	    : 0;
}

static void
commit_synced(void *arg, int status)
{
	struct commit_job *j = arg;

	j->ss->busy--;
	j->cb(j->arg, status);
	free(j);
}

static void
commit_written(uv_work_t *w, int status)
{
	struct commit_job *j = w->data;

	if (status < 0 || j->err) {
		log_warnx("spool: commit %s: %s", j->id,
		    strerror(j->err ? j->err : -status));
		/* The file is still a spare: it serves the next message. */
		spool_discard(j->ss->sp, j->slot, -1);
		j->ss->busy--;
		j->cb(j->arg, -1);
		free(j);
		return;
	}
	dirsync_request(j->ss->ds, j->ss->queue_dir, commit_synced, j);
}

static void
ss_commit(void *ctx, const char *id, uint64_t handle, int fd, uint64_t data_len,
    const struct envelope *env, store_commit_cb cb, void *arg)
{
	struct spool_store *ss = ctx;
	struct commit_job *j = xcalloc(1, sizeof(*j));

	j->ss = ss;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->slot = (unsigned)handle;
	j->fd = fd;
	j->len = data_len;
	j->env = env;
	j->cb = cb;
	j->arg = arg;
	j->work.data = j;
	ss->busy++;
	if (uv_queue_work(ss->loop, &j->work, commit_work, commit_written) != 0)
		panic("spool: uv_queue_work failed");
}

static void
ss_discard(void *ctx, const char *id, uint64_t handle, int fd)
{
	struct spool_store *ss = ctx;

	(void)id;
	spool_discard(ss->sp, (unsigned)handle, fd);
}

struct recover_ctx {
	struct spool_store *ss;
	store_found_fn fn;
	void *arg;
	int loaded, bad;
};

static void
recover_one(void *arg, const char *id)
{
	struct recover_ctx *rc = arg;
	struct envelope env;
	uint64_t len;
	char err[256];

	if (spool_load(rc->ss->sp, id, &env, &len, err, sizeof(err)) < 0) {
		log_warnx("spool: %s: %s; moved to corrupt/", id, err);
		if (spool_quarantine(rc->ss->sp, id) < 0)
			log_warn("spool: %s: move to corrupt/", id);
		rc->bad++;
		return;
	}
	rc->loaded++;
	rc->fn(rc->arg, id, &env, len);
}

static int
ss_recover(void *ctx, store_found_fn fn, void *arg)
{
	struct spool_store *ss = ctx;
	struct recover_ctx rc = {ss, fn, arg, 0, 0};
	int cleaned = spool_clean_tmp(ss->sp);

	if (cleaned > 0)
		log_info("spool: %d file%s left in tmp/ made spare", cleaned,
		    cleaned == 1 ? "" : "s");
	if (spool_scan(ss->sp, recover_one, &rc) < 0)
		return -1;
	log_info("spool: recovered %d message%s%s", rc.loaded,
	    rc.loaded == 1 ? "" : "s",
	    rc.bad ? ", some moved to corrupt/" : "");
	return 0;
}

static int
ss_mark(
    void *ctx, const char *id, enum spool_status_type type, const char *value)
{
	struct spool_store *ss = ctx;

	return spool_append_status(ss->sp, id, type, value);
}

static int
ss_remove(void *ctx, const char *id)
{
	struct spool_store *ss = ctx;

	return spool_remove(ss->sp, id);
}

static int
ss_open_data(void *ctx, const char *id, uint64_t *off)
{
	struct spool_store *ss = ctx;

	*off = SPOOL_DATA_OFFSET;
	return spool_open_data(ss->sp, id);
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

	return ss->busy;
}

static void
ss_free(void *ctx)
{
	struct spool_store *ss = ctx;

	dirsync_free(ss->ds);
	spool_close(ss->sp);
	free(ss->queue_dir);
	free(ss);
}

static const struct queue_store_ops spool_ops = {
    .create = ss_create,
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
	ss->ds = dirsync_new(loop);
	ss->queue_dir = xasprintf("%s/queue", dir);
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
