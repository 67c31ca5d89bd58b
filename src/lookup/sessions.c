/*
 * sessions - counts of open SMTP sessions, in total and per client
 * address, and per-client event rates, for admission (sessions.h).
 */
#include "sessions.h"

#include <stdlib.h>
#include <string.h>

#include "../conf/conf.h"
#include "../common/xmem.h"
#include "lookup.h"

#define BUCKETS 4096

/* One (owner, client address) pair with its count. */
struct entry {
	const void *owner;
	struct netaddr addr;
	unsigned n;
	struct entry *next;
};

/* One client's events in its current window. */
struct rate {
	struct netaddr addr;
	uint64_t start; /* of the window, in seconds */
	unsigned conns, msgs;
	struct rate *next;
};

struct sessions {
	struct entry *b[BUCKETS];
	unsigned total;
	unsigned max_total, max_client;
	unsigned conn_rate, msg_rate; /* per window; 0: none */
	uint64_t unit;                /* the window, in seconds */
	struct netlist exempt;
	struct rate *rb[BUCKETS];
	size_t nrates;
	uint64_t swept; /* when expired windows were last dropped */
};

static unsigned
hash(const struct netaddr *a)
{
	unsigned h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ a->addr[i]) * 16777619u;
	return (h ^ (unsigned)a->family) % BUCKETS;
}

static int
same(const struct netaddr *x, const struct netaddr *y)
{
	return x->family == y->family && memcmp(x->addr, y->addr, 16) == 0;
}

struct sessions *
sessions_new(void)
{
	return xcalloc(1, sizeof(struct sessions));
}

void
sessions_free(struct sessions *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < BUCKETS; i++) {
		struct entry *e, *next;
		struct rate *r, *rnext;

		for (e = s->b[i]; e; e = next) {
			next = e->next;
			free(e);
		}
		for (r = s->rb[i]; r; r = rnext) {
			rnext = r->next;
			free(r);
		}
	}
	netlist_free(&s->exempt);
	free(s);
}

void
sessions_configure(struct sessions *s, const struct conf *c)
{
	char err[256];

	s->max_total = (unsigned)c->max_sessions;
	s->max_client = (unsigned)c->max_sessions_per_client;
	s->conn_rate = (unsigned)c->client_connection_rate_limit;
	s->msg_rate = (unsigned)c->client_message_rate_limit;
	s->unit = c->client_rate_time_unit / 1000;
	netlist_free(&s->exempt);
	/* conf_load parsed this very text: it cannot fail here. */
	if (netlist_parse(c->raw[CONF_P_client_rate_exceptions], &s->exempt,
	        err, sizeof(err)) < 0)
		memset(&s->exempt, 0, sizeof(s->exempt));
}

/* Drop the windows that have ended, at most once per window. */
static void
sweep_rates(struct sessions *s, uint64_t now)
{
	size_t i;

	if (now - s->swept < s->unit)
		return;
	s->swept = now;
	for (i = 0; i < BUCKETS; i++) {
		struct rate **rp = &s->rb[i], *r;

		while ((r = *rp) != NULL) {
			if (now - r->start >= s->unit) {
				*rp = r->next;
				free(r);
				s->nrates--;
			} else {
				rp = &r->next;
			}
		}
	}
}

/* addr's current window; NULL when the client is not counted. */
static struct rate *
rate_of(struct sessions *s, const struct netaddr *addr, uint64_t now)
{
	struct rate **bp = &s->rb[hash(addr)], *r;

	if (netlist_match(&s->exempt, addr))
		return NULL;
	for (r = *bp; r; r = r->next)
		if (same(&r->addr, addr))
			break;
	if (r == NULL) {
		if (s->nrates >= SESSIONS_RATE_CLIENTS)
			sweep_rates(s, now);
		if (s->nrates >= SESSIONS_RATE_CLIENTS)
			return NULL;
		r = xcalloc(1, sizeof(*r));
		r->addr = *addr;
		r->start = now;
		r->next = *bp;
		*bp = r;
		s->nrates++;
	}
	if (now - r->start >= s->unit) {
		r->start = now;
		r->conns = r->msgs = 0;
	}
	return r;
}

void
sessions_rcpt(struct sessions *s, const struct lookup *lk,
    const struct netaddr *client, const char *local, const char *domain,
    int new_message, uint64_t now, struct lookup_reply *r)
{
	struct rate *rt = NULL;

	if (new_message && s->msg_rate > 0 &&
	    (rt = rate_of(s, client, now)) != NULL && rt->msgs >= s->msg_rate) {
		memset(r, 0, sizeof(*r));
		r->verdict = LOOKUP_V_RATE_LIMITED;
		return;
	}
	lookup_rcpt(lk, client, local, domain, r);
	/* A message counts once it has a recipient. */
	if (rt != NULL &&
	    (r->verdict == LOOKUP_V_ACCEPT || r->verdict == LOOKUP_V_FORWARD))
		rt->msgs++;
}

unsigned
sessions_client(const struct sessions *s, const struct netaddr *a)
{
	const struct entry *e;
	unsigned n = 0;

	for (e = s->b[hash(a)]; e; e = e->next)
		if (same(&e->addr, a))
			n += e->n;
	return n;
}

unsigned
sessions_total(const struct sessions *s)
{
	return s->total;
}

enum sessions_verdict
sessions_open(struct sessions *s, const void *owner, const struct netaddr *addr,
    uint64_t now)
{
	struct entry **bp = &s->b[hash(addr)], *e;
	struct rate *r;

	if (s->conn_rate > 0 && (r = rate_of(s, addr, now)) != NULL) {
		if (r->conns >= s->conn_rate)
			return SESSIONS_RATE;
		r->conns++;
	}
	if (s->total >= s->max_total)
		return SESSIONS_BUSY_TOTAL;
	if (sessions_client(s, addr) >= s->max_client)
		return SESSIONS_BUSY_CLIENT;
	for (e = *bp; e; e = e->next)
		if (e->owner == owner && same(&e->addr, addr))
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->owner = owner;
		e->addr = *addr;
		e->next = *bp;
		*bp = e;
	}
	e->n++;
	s->total++;
	return SESSIONS_OK;
}

void
sessions_close(
    struct sessions *s, const void *owner, const struct netaddr *addr)
{
	struct entry **ep = &s->b[hash(addr)], *e;

	for (; (e = *ep) != NULL; ep = &e->next)
		if (e->owner == owner && same(&e->addr, addr))
			break;
	if (e == NULL)
		return;
	s->total--;
	if (--e->n == 0) {
		*ep = e->next;
		free(e);
	}
}

void
sessions_drop_owner(struct sessions *s, const void *owner)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		struct entry **ep = &s->b[i], *e;

		while ((e = *ep) != NULL) {
			if (e->owner == owner) {
				s->total -= e->n;
				*ep = e->next;
				free(e);
			} else {
				ep = &e->next;
			}
		}
	}
}
