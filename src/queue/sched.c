/*
 * sched - takes ready messages from the queue, resolves each recipient,
 * runs the deliveries within the per-destination limits, and records
 * each outcome (delivered, deferred, failed).
 */
#include "sched.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xmem.h"

struct run {
	struct sched *s;
	struct queue_item *it;
	int fd; /* the message text, shared by its deliveries */
	uint64_t off;
	unsigned pending; /* resolutions and deliveries not yet reported */
};

struct resolving {
	struct run *run;
	size_t rcpt;
};

struct job {
	struct run *run;
	size_t rcpt;
	char maildir[PATH_MAX];
	struct box *box;
	struct job *next;
};

/*
 * A Maildir with deliveries running.  Each of them creates a file in the
 * same directory; past a few at once they only queue on its lock.
 */
struct box {
	char *path;
	unsigned active;
	struct box *next;
};

#define BOX_BUCKETS 256

struct sched {
	struct queue *q;
	struct sched_services svc;
	struct sched_params params;
	unsigned active;    /* deliveries running */
	unsigned resolving; /* resolutions outstanding */
	unsigned waiting;   /* jobs resolved, waiting for a slot */
	int stopped;
	struct job *pending, **pending_tail;
	struct box *boxes[BOX_BUCKETS];
};

/* Where the box for path is, or would be linked. */
static struct box **
box_slot(struct sched *s, const char *path)
{
	unsigned h = 5381;
	const char *p;
	struct box **bp;

	for (p = path; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (bp = &s->boxes[h % BOX_BUCKETS]; *bp; bp = &(*bp)->next)
		if (strcmp((*bp)->path, path) == 0)
			break;
	return bp;
}

static struct box *
box_get(struct sched *s, const char *path)
{
	struct box **bp = box_slot(s, path);

	if (*bp == NULL) {
		*bp = xcalloc(1, sizeof(**bp));
		(*bp)->path = xstrdup(path);
	}
	return *bp;
}

/* One delivery less; a Maildir nothing is delivered to is forgotten. */
static void
box_put(struct sched *s, struct box *b)
{
	struct box **bp;

	if (--b->active > 0)
		return;
	bp = box_slot(s, b->path);
	*bp = b->next;
	free(b->path);
	free(b);
}

static int
box_room(struct sched *s, const char *path)
{
	struct box *b = *box_slot(s, path);

	return b == NULL || b->active < s->params.box_concurrency;
}

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
log_outcome(const struct run *r, size_t i, const char *relay, const char *dsn,
    const char *status, const char *text)
{
	const struct envelope *env = &r->it->env;
	const struct env_rcpt *rc = &env->rcpt[i];
	double delay = (double)(now_us() - env->arrival) / 1e6;
	char orig[600] = "";

	if (strcmp(rc->orig, rc->addr) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%s>", rc->orig);
	log_info("%s: to=<%s>%s, relay=%s, delay=%.2f, dsn=%s, status=%s "
	         "(%s)",
	    r->it->id, rc->addr, orig, relay, delay < 0 ? 0 : delay, dsn,
	    status, text);
}

/* A service was away: nothing was tried, so try again in a moment. */
#define RETRY_SOON_MS 2000

/*
 * A temporary failure: retry later (after delay_ms, or a backoff that
 * grows with the message's age when 0), or fail if the message is too old.
 */
static void
defer_after(struct sched *s, struct run *r, size_t i, const char *relay,
    const char *dsn, const char *text, uint64_t delay_ms)
{
	struct envelope *env = &r->it->env;
	int64_t now = now_us(), age_ms = (now - env->arrival) / 1000;

	if (age_ms < 0)
		age_ms = 0;
	if ((uint64_t)age_ms >= s->params.lifetime_ms) {
		char why[300];

		snprintf(why, sizeof(why), "message expired: %s", text);
		log_outcome(r, i, relay, dsn, "expired", why);
		queue_rcpt_failed(s->q, r->it, i);
		return;
	}
	if (delay_ms == 0) {
		/* Back off by the message's age, within bounds, with jitter
		 * so that messages deferred together do not all come back
		 * together. */
		delay_ms = (uint64_t)age_ms;
		if (delay_ms < s->params.min_backoff_ms)
			delay_ms = s->params.min_backoff_ms;
		if (delay_ms > s->params.max_backoff_ms)
			delay_ms = s->params.max_backoff_ms;
		delay_ms += (uint64_t)random() % (delay_ms / 10 + 1);
	}
	log_outcome(r, i, relay, dsn, "deferred", text);
	queue_rcpt_deferred(
	    s->q, r->it, i, (now / 1000 + (int64_t)delay_ms + 999) / 1000);
}

static void
defer(struct sched *s, struct run *r, size_t i, const char *relay,
    const char *dsn, const char *text)
{
	defer_after(s, r, i, relay, dsn, text, 0);
}

static void kick(void *arg);

static void
run_finish(struct run *r)
{
	struct sched *s = r->s;

	if (r->fd >= 0)
		close(r->fd);
	queue_release(s->q, r->it);
	free(r);
}

static void
job_done(void *arg, const struct maildir_delivery *d)
{
	struct job *j = arg;
	struct run *r = j->run;
	struct sched *s = r->s;
	char text[400];

	switch (d->status) {
	case MAILDIR_OK:
		log_outcome(r, j->rcpt, "local", d->dsn, "sent",
		    d->found_copy ? "delivered to maildir by an earlier attempt"
		                  : "delivered to maildir");
		queue_rcpt_delivered(s->q, r->it, j->rcpt);
		break;
	case MAILDIR_TEMPFAIL:
		snprintf(text, sizeof(text), "maildir delivery failed: %s",
		    d->error);
		defer(s, r, j->rcpt, "local", d->dsn, text);
		break;
	case MAILDIR_NOT_TRIED:
		/* The agent went away: it may have delivered all the same. */
		r->it->env.rcpt[j->rcpt].uncertain = 1;
		defer_after(
		    s, r, j->rcpt, "local", d->dsn, d->error, RETRY_SOON_MS);
		break;
	case MAILDIR_PERMFAIL:
		snprintf(text, sizeof(text), "maildir delivery failed: %s",
		    d->error);
		log_outcome(r, j->rcpt, "local", d->dsn, "bounced", text);
		queue_rcpt_failed(s->q, r->it, j->rcpt);
		break;
	}
	box_put(s, j->box);
	free(j);
	s->active--;
	if (--r->pending == 0)
		run_finish(r);
	kick(s);
}

static void
start_job(struct sched *s, struct job *j)
{
	struct run *r = j->run;
	struct env_rcpt *rc = &r->it->env.rcpt[j->rcpt];
	struct local_req req;
	char unique[80];

	/* Fixed for this message and recipient: see maildir.h. */
	snprintf(unique, sizeof(unique), "%lld.Q%sN%016llxR%zu",
	    (long long)(r->it->env.arrival / 1000000), r->it->id,
	    (unsigned long long)r->it->nonce, j->rcpt);
	req.unique = unique;
	req.look_for_copy = r->it->recovered || rc->uncertain;
	req.src_fd = r->fd;
	req.src_off = r->off;
	req.src_len = r->it->data_len;
	req.maildir = j->maildir;
	req.return_path = r->it->env.sender;
	req.rcpt = r->it->env.rcpt[j->rcpt].addr;
	j->box = box_get(s, j->maildir);
	j->box->active++;
	s->active++;
	s->svc.ops->deliver(s->svc.ctx, &req, job_done, j);
}

/* A recipient's destination is known: queue a delivery, or settle it. */
static void
resolved(void *arg, const struct lookup_dest *dest)
{
	struct resolving *rv = arg;
	struct run *r = rv->run;
	struct sched *s = r->s;
	size_t i = rv->rcpt;
	struct job *j;

	free(rv);
	s->resolving--;
	switch (dest->type) {
	case LOOKUP_DEST_UNKNOWN:
		log_outcome(r, i, "local", "5.1.1", "bounced", dest->error);
		queue_rcpt_failed(s->q, r->it, i);
		break;
	case LOOKUP_DEST_REMOTE:
		defer(s, r, i, "none", "4.4.1",
		    "remote delivery is not available");
		break;
	case LOOKUP_DEST_TEMPFAIL:
		defer_after(
		    s, r, i, "none", "4.3.0", dest->error, RETRY_SOON_MS);
		break;
	case LOOKUP_DEST_MAILDIR:
		j = xcalloc(1, sizeof(*j));
		j->run = r;
		j->rcpt = i;
		snprintf(j->maildir, sizeof(j->maildir), "%s", dest->path);
		r->pending++;
		s->waiting++;
		*s->pending_tail = j;
		s->pending_tail = &j->next;
		break;
	}
	if (--r->pending == 0)
		run_finish(r);
	kick(s);
}

/* Resolve every due recipient; local ones become jobs. */
static void
start_run(struct sched *s, struct queue_item *it)
{
	struct run *r = xcalloc(1, sizeof(*r));
	int64_t now_s = now_us() / 1000000;
	size_t i;

	r->s = s;
	r->it = it;
	r->fd = queue_open_data(s->q, it, &r->off);
	r->pending = 1; /* held until every resolution is asked for */
	for (i = 0; i < it->env.nrcpt; i++) {
		struct env_rcpt *rc = &it->env.rcpt[i];
		struct resolving *rv;

		if (rc->state != ENV_RCPT_PENDING || rc->next_try > now_s)
			continue;
		if (r->fd < 0) {
			defer(s, r, i, "none", "4.3.0",
			    "cannot open the queue file");
			continue;
		}
		rv = xmalloc(sizeof(*rv));
		rv->run = r;
		rv->rcpt = i;
		r->pending++;
		s->resolving++;
		s->svc.ops->resolve(s->svc.ctx, rc->addr, resolved, rv);
	}
	if (--r->pending == 0)
		run_finish(r);
}

static void
kick(void *arg)
{
	struct sched *s = arg;
	struct queue_item *it;

	/* Nothing is claimed while nobody could resolve or deliver it: it
	 * would only be deferred. */
	if (!s->svc.ops->ready(s->svc.ctx))
		return;
	while (!s->stopped && s->active < s->params.concurrency) {
		struct job **jp, *j;

		/* The oldest job whose Maildir has room. */
		for (jp = &s->pending; (j = *jp) != NULL; jp = &j->next)
			if (box_room(s, j->maildir))
				break;
		if (j != NULL) {
			*jp = j->next;
			if (s->pending_tail == &j->next)
				s->pending_tail = jp;
			s->waiting--;
			start_job(s, j);
			continue;
		}
		/* Claim more while the work in hand cannot fill the free
		 * slots; jobs waiting for a busy Maildir count, up to twice
		 * the slots, so that other Maildirs' mail is found. */
		if (s->waiting + s->resolving >= 2 * s->params.concurrency ||
		    s->active + s->resolving >= s->params.concurrency)
			break;
		if ((it = queue_claim(s->q)) == NULL)
			break;
		start_run(s, it);
	}
}

struct sched *
sched_new(struct queue *q, const struct sched_services *svc,
    const struct sched_params *params)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->q = q;
	s->svc = *svc;
	s->params = *params;
	s->pending_tail = &s->pending;
	srandom((unsigned)(now_us() ^ getpid()));
	queue_set_ready_cb(q, kick, s);
	return s;
}

void
sched_free(struct sched *s)
{
	struct job *j, *next;
	struct box *b, *bnext;
	size_t i;

	if (s == NULL)
		return;
	queue_set_ready_cb(s->q, NULL, NULL);
	for (j = s->pending; j; j = next) {
		struct run *r = j->run;

		next = j->next;
		free(j);
		if (--r->pending == 0)
			run_finish(r);
	}
	for (i = 0; i < BOX_BUCKETS; i++)
		for (b = s->boxes[i]; b; b = bnext) {
			bnext = b->next;
			free(b->path);
			free(b);
		}
	free(s);
}

void
sched_set_params(struct sched *s, const struct sched_params *params)
{
	s->params = *params;
	kick(s);
}

void
sched_kick(struct sched *s)
{
	kick(s);
}

void
sched_stop(struct sched *s)
{
	s->stopped = 1;
}

unsigned
sched_active(const struct sched *s)
{
	/* A resolution still to be answered calls back into the scheduler:
	 * it counts, or the scheduler could be freed under it. */
	return s->active + s->resolving;
}
