/*
 * queue - the messages the spool holds: a heap ordered by next
 * attempt, destinations with their own limits, and the outcomes that
 * end a recipient or a message.
 */
#include "queue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/random.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"

/* Per-destination index: domain -> messages with pending recipients. */
struct dest {
	char *name;
	size_t count;
	struct dest *next; /* hash chain */
};

struct dest_link {
	struct dest *dest;
	struct dest_link *next; /* the item's links */
};

#define DEST_BUCKETS 1024

struct queue {
	uv_loop_t *loop;
	struct queue_store *store;
	struct queue_params params;
	struct queue_item *all;
	size_t length;
	struct queue_item *ready_head, **ready_tail;
	struct queue_item **heap; /* min-heap on due */
	size_t heap_len, heap_cap;
	uv_timer_t timer;
	void (*ready_cb)(void *);
	void *ready_arg;
	uint64_t nonce_state;
	struct dest *dests[DEST_BUCKETS];
};

struct queue_msg {
	struct queue *q;
	char id[STORE_ID_LEN + 1];
	void *draft; /* the store's */
	struct envelope env;
	uint64_t data_len;
	uint64_t nonce;
	queue_commit_cb cb;
	void *arg;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* ----------------------------------------------------- destination index */

static unsigned
dest_hash(const char *s)
{
	unsigned h = 5381;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = h * 33 + c;
	}
	return h % DEST_BUCKETS;
}

static struct dest **
dest_find(struct queue *q, const char *name)
{
	struct dest **dp = &q->dests[dest_hash(name)];

	while (*dp && !str_caseeq((*dp)->name, name))
		dp = &(*dp)->next;
	return dp;
}

static const char *
rcpt_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

static void
index_item(struct queue *q, struct queue_item *it)
{
	size_t i;

	for (i = 0; i < it->env.nrcpt; i++) {
		const char *dom = rcpt_domain(it->env.rcpt[i].addr);
		struct dest_link *l;
		struct dest **dp;

		if (it->env.rcpt[i].state != ENV_RCPT_PENDING)
			continue;
		for (l = it->links; l; l = l->next)
			if (str_caseeq(l->dest->name, dom))
				break;
		if (l)
			continue;
		dp = dest_find(q, dom);
		if (*dp == NULL) {
			*dp = xcalloc(1, sizeof(**dp));
			(*dp)->name = xstrdup(dom);
		}
		(*dp)->count++;
		l = xmalloc(sizeof(*l));
		l->dest = *dp;
		l->next = it->links;
		it->links = l;
	}
}

static void
unindex_item(struct queue *q, struct queue_item *it)
{
	struct dest_link *l, *next;

	for (l = it->links; l; l = next) {
		next = l->next;
		if (--l->dest->count == 0) {
			struct dest **dp = dest_find(q, l->dest->name);
			struct dest *d = *dp;

			*dp = d->next;
			free(d->name);
			free(d);
		}
		free(l);
	}
	it->links = NULL;
}

size_t
queue_dest_count(const struct queue *q, const char *domain)
{
	struct dest *d;

	for (d = q->dests[dest_hash(domain)]; d; d = d->next)
		if (str_caseeq(d->name, domain))
			return d->count;
	return 0;
}

/* ------------------------------------------------------------ scheduling */

static void
heap_swap(struct queue *q, size_t a, size_t b)
{
	struct queue_item *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void
heap_up(struct queue *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->due > q->heap[i]->due) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct queue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->heap_len && q->heap[l]->due < q->heap[m]->due)
			m = l;
		if (r < q->heap_len && q->heap[r]->due < q->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void
heap_push(struct queue *q, struct queue_item *it)
{
	if (q->heap_len == q->heap_cap) {
		q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 64;
		q->heap = xreallocarray(q->heap, q->heap_cap, sizeof(*q->heap));
	}
	it->heap_idx = q->heap_len;
	q->heap[q->heap_len++] = it;
	heap_up(q, it->heap_idx);
}

static struct queue_item *
heap_pop(struct queue *q)
{
	struct queue_item *top = q->heap[0];

	heap_swap(q, 0, --q->heap_len);
	if (q->heap_len > 0)
		heap_down(q, 0);
	top->heap_idx = SIZE_MAX;
	return top;
}

static void arm_timer(struct queue *q);

static void
make_ready(struct queue *q, struct queue_item *it)
{
	it->in_ready = 1;
	it->ready_next = NULL;
	*q->ready_tail = it;
	q->ready_tail = &it->ready_next;
}

static void
notify(struct queue *q)
{
	if (q->ready_head && q->ready_cb)
		q->ready_cb(q->ready_arg);
}

static void
move_due(struct queue *q)
{
	int64_t now = now_s();

	while (q->heap_len > 0 && q->heap[0]->due <= now)
		make_ready(q, heap_pop(q));
}

static void
timer_fired(uv_timer_t *t)
{
	struct queue *q = t->data;

	move_due(q);
	arm_timer(q);
	notify(q);
}

static void
arm_timer(struct queue *q)
{
	int64_t delay;

	if (q->heap_len == 0) {
		uv_timer_stop(&q->timer);
		return;
	}
	delay = q->heap[0]->due - now_s();
	if (delay < 0)
		delay = 0;
	uv_timer_start(&q->timer, timer_fired, (uint64_t)delay * 1000 + 10, 0);
}

/* Put an unleased item where it belongs: ready, waiting, or gone. */
static void
schedule(struct queue *q, struct queue_item *it)
{
	int64_t due = INT64_MAX;
	size_t i;

	for (i = 0; i < it->env.nrcpt; i++)
		if (it->env.rcpt[i].state == ENV_RCPT_PENDING &&
		    it->env.rcpt[i].next_try < due)
			due = it->env.rcpt[i].next_try;
	it->due = due;
	if (due <= now_s()) {
		make_ready(q, it);
	} else {
		heap_push(q, it);
		if (it->heap_idx == 0)
			arm_timer(q);
	}
}

static void
item_free(struct queue *q, struct queue_item *it)
{
	unindex_item(q, it);
	if (it->prev)
		it->prev->next = it->next;
	else
		q->all = it->next;
	if (it->next)
		it->next->prev = it->prev;
	q->length--;
	envelope_free(&it->env);
	free(it);
}

static int
all_final(const struct queue_item *it)
{
	size_t i;

	for (i = 0; i < it->env.nrcpt; i++)
		if (it->env.rcpt[i].state == ENV_RCPT_PENDING)
			return 0;
	return 1;
}

/* Adds an item; env's contents move into it. */
static struct queue_item *
item_add(struct queue *q, const char *id, void *ref, struct envelope *env,
    uint64_t data_len, uint64_t nonce)
{
	struct queue_item *it = xcalloc(1, sizeof(*it));

	snprintf(it->id, sizeof(it->id), "%s", id);
	it->ref = ref;
	it->nonce = nonce;
	it->env = *env;
	envelope_init(env);
	it->data_len = data_len;
	it->heap_idx = SIZE_MAX;
	it->next = q->all;
	if (q->all)
		q->all->prev = it;
	q->all = it;
	q->length++;
	index_item(q, it);
	return it;
}

/* -------------------------------------------------------------- lifecycle */

struct queue *
queue_new(uv_loop_t *loop, struct queue_store *store,
    const struct queue_params *params)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	q->loop = loop;
	q->store = store;
	q->params = *params;
	q->ready_tail = &q->ready_head;
	if (getrandom(&q->nonce_state, sizeof(q->nonce_state), 0) !=
	    sizeof(q->nonce_state))
		q->nonce_state =
		    (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	q->nonce_state |= 1;
	uv_timer_init(loop, &q->timer);
	q->timer.data = q;
	return q;
}

void
queue_set_params(struct queue *q, const struct queue_params *params)
{
	q->params = *params;
}

static void
timer_closed(uv_handle_t *h)
{
	struct queue *q = h->data;

	free(q);
}

void
queue_free(struct queue *q)
{
	struct queue_item *it, *next;
	size_t i;

	if (q == NULL)
		return;
	for (it = q->all; it; it = next) {
		next = it->next;
		item_free(q, it);
	}
	for (i = 0; i < DEST_BUCKETS; i++)
		if (q->dests[i])
			panic("queue_free: destination index not empty");
	free(q->heap);
	store_free(q->store);
	uv_close((uv_handle_t *)&q->timer, timer_closed);
}

struct recover_ctx {
	struct queue *q;
	int removed;
};

static void
recovered(void *arg, const char *id, void *ref, struct envelope *env,
    uint64_t len, uint64_t nonce)
{
	struct recover_ctx *rc = arg;
	struct queue *q = rc->q;
	struct queue_item *it = item_add(q, id, ref, env, len, nonce);

	it->recovered = 1;
	if (all_final(it)) {
		/* Delivered before the crash, not yet removed. */
		if (q->store->ops->remove(q->store->ctx, ref) < 0)
			log_warn("queue: %s: remove", id);
		rc->removed++;
		item_free(q, it);
		return;
	}
	schedule(q, it);
}

int
queue_recover(struct queue *q)
{
	struct recover_ctx rc = {q, 0};

	if (q->store->ops->recover(q->store->ctx, recovered, &rc) < 0)
		return -1;
	if (rc.removed)
		log_info("queue: removed %d finished message%s", rc.removed,
		    rc.removed == 1 ? "" : "s");
	notify(q);
	return 0;
}

/* -------------------------------------------------------- receiving side */

/* Unique enough to tell two messages' Maildir copies apart (xorshift64*). */
static uint64_t
next_nonce(struct queue *q)
{
	uint64_t x = q->nonce_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	q->nonce_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

struct queue_msg *
queue_msg_open(struct queue *q)
{
	struct queue_msg *m = xcalloc(1, sizeof(*m));

	m->q = q;
	m->draft = q->store->ops->begin(q->store->ctx, m->id);
	envelope_init(&m->env);
	return m;
}

const char *
queue_msg_id(const struct queue_msg *m)
{
	return m->id;
}

int
queue_msg_write(struct queue_msg *m, const void *p, size_t n)
{
	struct queue *q = m->q;

	return q->store->ops->append(q->store->ctx, m->draft, p, n);
}

uint64_t
queue_msg_len(const struct queue_msg *m)
{
	struct queue *q = m->q;

	return q->store->ops->length(q->store->ctx, m->draft);
}

static void
committed(void *arg, int status, void *ref)
{
	struct queue_msg *m = arg;
	struct queue *q = m->q;
	struct queue_item *it;

	if (status < 0) {
		log_warnx("%s: commit failed: %s", m->id, strerror(-status));
		m->cb(m->arg, status);
		envelope_free(&m->env);
		free(m);
		return;
	}
	log_info("%s: from=<%s>, size=%" PRIu64 ", nrcpt=%zu (queue active)",
	    m->id, m->env.sender, m->data_len, m->env.nrcpt);
	it = item_add(q, m->id, ref, &m->env, m->data_len, m->nonce);
	m->cb(m->arg, 0);
	free(m);
	schedule(q, it);
	notify(q);
}

void
queue_msg_commit(
    struct queue_msg *m, struct envelope *env, queue_commit_cb cb, void *arg)
{
	struct queue *q = m->q;

	m->env = *env;
	envelope_init(env);
	m->data_len = queue_msg_len(m);
	m->nonce = next_nonce(q);
	m->cb = cb;
	m->arg = arg;
	q->store->ops->commit(
	    q->store->ctx, m->draft, &m->env, m->nonce, committed, m);
}

void
queue_msg_abort(struct queue_msg *m)
{
	m->q->store->ops->discard(m->q->store->ctx, m->draft);
	envelope_free(&m->env);
	free(m);
}

uint64_t
queue_room(struct queue *q)
{
	uint64_t free_bytes;

	if (q->store->ops->free_space(q->store->ctx, &free_bytes) < 0)
		return UINT64_MAX; /* unknown: let a write fail if it must */
	if (free_bytes < q->params.minfree)
		return 0;
	/* One octet more: "room for 0 octets" means above the reserve. */
	return free_bytes - q->params.minfree + 1;
}

int
queue_has_room(struct queue *q, uint64_t size)
{
	uint64_t room = queue_room(q);

	return room > 0 && (room == UINT64_MAX || size < room);
}

size_t
queue_length(const struct queue *q)
{
	return q->length;
}

unsigned
queue_commits_in_flight(const struct queue *q)
{
	return q->store->ops->busy(q->store->ctx);
}

/* --------------------------------------------------------- delivery side */

void
queue_set_ready_cb(struct queue *q, void (*cb)(void *arg), void *arg)
{
	q->ready_cb = cb;
	q->ready_arg = arg;
}

struct queue_item *
queue_claim(struct queue *q)
{
	struct queue_item *it;

	move_due(q);
	if ((it = q->ready_head) == NULL)
		return NULL;
	q->ready_head = it->ready_next;
	if (q->ready_head == NULL)
		q->ready_tail = &q->ready_head;
	it->in_ready = 0;
	it->leased = 1;
	return it;
}

static void
mark(struct queue *q, struct queue_item *it, enum spool_status_type type,
    const char *value)
{
	if (q->store->ops->mark(q->store->ctx, it->ref, type, value) < 0)
		log_warn("queue: %s: cannot record delivery status", it->id);
}

/*
 * Outcomes are written as status records when the lease ends, and only if
 * the message stays: most messages are removed then, and a record nobody
 * reads again is a wasted write.  A crash before that delivers again
 * (at least once, never zero times).
 */
void
queue_rcpt_delivered(struct queue *q, struct queue_item *it, size_t i)
{
	(void)q;
	it->env.rcpt[i].state = ENV_RCPT_DONE;
	it->env.rcpt[i].unsaved = 1;
}

void
queue_rcpt_failed(struct queue *q, struct queue_item *it, size_t i)
{
	(void)q;
	it->env.rcpt[i].state = ENV_RCPT_FAILED;
	it->env.rcpt[i].unsaved = 1;
}

void
queue_rcpt_deferred(
    struct queue *q, struct queue_item *it, size_t i, int64_t next_try)
{
	struct env_rcpt *r = &it->env.rcpt[i];

	(void)q;
	r->attempts++;
	r->next_try = next_try;
	r->unsaved = 1;
}

static void
save_outcomes(struct queue *q, struct queue_item *it)
{
	size_t i;

	for (i = 0; i < it->env.nrcpt; i++) {
		struct env_rcpt *r = &it->env.rcpt[i];
		char v[80];

		if (!r->unsaved)
			continue;
		r->unsaved = 0;
		switch (r->state) {
		case ENV_RCPT_DONE:
			snprintf(v, sizeof(v), "%zu", i);
			mark(q, it, SPOOL_ST_DELIVERED, v);
			break;
		case ENV_RCPT_FAILED:
			snprintf(v, sizeof(v), "%zu", i);
			mark(q, it, SPOOL_ST_FAILED, v);
			break;
		case ENV_RCPT_PENDING:
			snprintf(v, sizeof(v), "%zu %" PRId64 " %" PRIu32, i,
			    r->next_try, r->attempts);
			mark(q, it, SPOOL_ST_DEFERRED, v);
			break;
		}
	}
}

void
queue_release(struct queue *q, struct queue_item *it)
{
	it->leased = 0;
	if (all_final(it)) {
		if (q->store->ops->remove(q->store->ctx, it->ref) < 0)
			log_warn("queue: %s: remove", it->id);
		else
			log_info("%s: removed", it->id);
		item_free(q, it);
		return;
	}
	save_outcomes(q, it);
	/* Recipients may have become final: rebuild the item's index. */
	unindex_item(q, it);
	index_item(q, it);
	schedule(q, it);
	notify(q);
}

int
queue_open_data(struct queue *q, const struct queue_item *it, uint64_t *off)
{
	return q->store->ops->open_data(q->store->ctx, it->ref, off);
}
