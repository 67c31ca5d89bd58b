/*
 * dirsync - one fsync of a directory shared by every request that came
 * while the previous one ran (dirsync.h); fsyncs run in the thread pool.
 */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmem.h"

struct waiter {
	dirsync_cb cb;
	void *arg;
	struct waiter *next;
};

struct dir {
	char *path;
	struct dirsync *ds;
	uv_work_t work;
	int running;
	int status;
	struct waiter *run, *wait, **wait_tail;
	struct dir *next;
};

struct dirsync {
	uv_loop_t *loop;
	struct dir *dirs; /* few: the queue directory and busy Maildirs */
	size_t pending;
};

struct dirsync *
dirsync_new(uv_loop_t *loop)
{
	struct dirsync *ds = xcalloc(1, sizeof(*ds));

	ds->loop = loop;
	return ds;
}

size_t
dirsync_pending(const struct dirsync *ds)
{
	return ds->pending;
}

static void
sync_work(uv_work_t *w)
{
	struct dir *d = w->data;
	int fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	d->status = 0;
	if (fd < 0 || fsync(fd) < 0)
		d->status = -errno;
	if (fd >= 0)
		close(fd);
}

static void start(struct dir *d);

static void
unlink_dir(struct dirsync *ds, struct dir *d)
{
	struct dir **pp;

	for (pp = &ds->dirs; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	free(d->path);
	free(d);
}

static void
sync_done(uv_work_t *w, int status)
{
	struct dir *d = w->data;
	struct dirsync *ds = d->ds;
	struct waiter *wt = d->run, *next;
	int st = status < 0 ? status : d->status;

	if (st < 0)
		log_warnx("dirsync: fsync %s: %s", d->path, strerror(-st));
	d->run = NULL;
	d->running = 0;
	/* Start the next round before the callbacks add to it. */
	if (d->wait)
		start(d);
	for (; wt; wt = next) {
		next = wt->next;
		ds->pending--;
		wt->cb(wt->arg, st);
		free(wt);
	}
	if (!d->running && d->wait == NULL)
		unlink_dir(ds, d);
}

static void
start(struct dir *d)
{
	d->run = d->wait;
	d->wait = NULL;
	d->wait_tail = &d->wait;
	d->running = 1;
	d->work.data = d;
	if (uv_queue_work(d->ds->loop, &d->work, sync_work, sync_done) != 0)
		panic("dirsync: uv_queue_work failed");
}

void
dirsync_request(struct dirsync *ds, const char *path, dirsync_cb cb, void *arg)
{
	struct dir *d;
	struct waiter *w = xmalloc(sizeof(*w));

	for (d = ds->dirs; d; d = d->next)
		if (strcmp(d->path, path) == 0)
			break;
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->path = xstrdup(path);
		d->ds = ds;
		d->wait_tail = &d->wait;
		d->next = ds->dirs;
		ds->dirs = d;
	}
	w->cb = cb;
	w->arg = arg;
	w->next = NULL;
	*d->wait_tail = w;
	d->wait_tail = &w->next;
	ds->pending++;
	if (!d->running)
		start(d);
}

void
dirsync_free(struct dirsync *ds)
{
	if (ds == NULL)
		return;
	while (ds->pending > 0)
		uv_run(ds->loop, UV_RUN_ONCE);
	free(ds);
}
