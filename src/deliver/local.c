/*
 * local - runs each Maildir delivery on libuv's thread pool (the fsyncs
 * block) and sweeps stale tmp/ files once per Maildir; the Maildir
 * rules themselves are in maildir.c.
 */
#include "local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/dirsync.h"
#include "../common/log.h"
#include "../common/xmem.h"

/* When each Maildir's tmp/ was last swept. */
#define SWEPT_BUCKETS 1024
#define SWEPT_MAX 8192
#define SWEEP_EVERY_S 3600

struct swept {
	char *path;
	time_t when;
	struct swept *next;
};

struct local_agent {
	uv_loop_t *loop;
	char *hostname;
	struct dirsync *ds;
	unsigned busy;
	struct swept *swept[SWEPT_BUCKETS];
	size_t nswept;
};

struct job {
	uv_work_t work;
	struct local_agent *la;
	struct maildir_delivery d;
	char *maildir, *return_path, *rcpt, *unique;
	local_cb cb;
	void *arg;
};

struct local_agent *
local_new(uv_loop_t *loop, const char *hostname)
{
	struct local_agent *la = xcalloc(1, sizeof(*la));

	la->loop = loop;
	la->hostname = xstrdup(hostname);
	la->ds = dirsync_new(loop);
	return la;
}

static void
forget_swept(struct local_agent *la)
{
	size_t i;

	for (i = 0; i < SWEPT_BUCKETS; i++)
		while (la->swept[i]) {
			struct swept *w = la->swept[i];

			la->swept[i] = w->next;
			free(w->path);
			free(w);
		}
	la->nswept = 0;
}

/* Is it time to sweep this Maildir's tmp/?  Notes that it will be. */
static int
sweep_due(struct local_agent *la, const char *path)
{
	unsigned h = 5381;
	const char *p;
	struct swept *w;
	time_t now = time(NULL);

	for (p = path; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (w = la->swept[h % SWEPT_BUCKETS]; w; w = w->next)
		if (strcmp(w->path, path) == 0) {
			if (now - w->when < SWEEP_EVERY_S)
				return 0;
			w->when = now;
			return 1;
		}
	if (la->nswept >= SWEPT_MAX)
		forget_swept(la); /* a sweep too many is harmless */
	w = xmalloc(sizeof(*w));
	w->path = xstrdup(path);
	w->when = now;
	w->next = la->swept[h % SWEPT_BUCKETS];
	la->swept[h % SWEPT_BUCKETS] = w;
	la->nswept++;
	return 1;
}

void
local_free(struct local_agent *la)
{
	if (la == NULL)
		return;
	forget_swept(la);
	dirsync_free(la->ds);
	free(la->hostname);
	free(la);
}

unsigned
local_busy(const struct local_agent *la)
{
	return la->busy;
}

static void
finish(struct job *j)
{
	j->la->busy--;
	if (j->d.cleaned > 0)
		log_info("maildir: %s/tmp: removed %u stale file%s (older than "
		         "36 hours)",
		    j->maildir, j->d.cleaned, j->d.cleaned == 1 ? "" : "s");
	j->cb(j->arg, &j->d);
	free(j->maildir);
	free(j->return_path);
	free(j->rcpt);
	free(j->unique);
	free(j);
}

static void
deliver_work(uv_work_t *w)
{
	struct job *j = w->data;

	maildir_deliver(&j->d);
}

static void
new_synced(void *arg, int status)
{
	struct job *j = arg;

	if (status < 0) {
		/* The file is in new/ but may not survive a crash: say so,
		 * and let the queue try again (a duplicate at worst). */
		j->d.status = MAILDIR_TEMPFAIL;
		snprintf(j->d.dsn, sizeof(j->d.dsn), "4.3.0");
		snprintf(j->d.error, sizeof(j->d.error), "fsync %s: %s",
		    j->d.newdir, strerror(-status));
	}
	finish(j);
}

static void
deliver_done(uv_work_t *w, int status)
{
	struct job *j = w->data;

	if (status < 0) {
		j->d.status = MAILDIR_TEMPFAIL;
		snprintf(j->d.dsn, sizeof(j->d.dsn), "4.3.0");
		snprintf(j->d.error, sizeof(j->d.error), "delivery cancelled");
	}
	if (j->d.status != MAILDIR_OK) {
		finish(j);
		return;
	}
	dirsync_request(j->la->ds, j->d.newdir, new_synced, j);
}

void
local_deliver(
    struct local_agent *la, const struct local_req *req, local_cb cb, void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->la = la;
	j->maildir = xstrdup(req->maildir);
	j->return_path = xstrdup(req->return_path);
	j->rcpt = xstrdup(req->rcpt);
	j->unique = xstrdup(req->unique);
	j->d.src_fd = req->src_fd;
	j->d.src_off = req->src_off;
	j->d.src_len = req->src_len;
	j->d.dir = j->maildir;
	j->d.return_path = j->return_path;
	j->d.delivered_to = j->rcpt;
	j->d.hostname = la->hostname;
	j->d.unique = j->unique;
	j->d.look_for_copy = req->look_for_copy;
	j->d.clean_tmp = sweep_due(la, j->maildir);
	j->cb = cb;
	j->arg = arg;
	j->work.data = j;
	la->busy++;
	if (uv_queue_work(la->loop, &j->work, deliver_work, deliver_done) != 0)
		panic("local: uv_queue_work failed");
}
