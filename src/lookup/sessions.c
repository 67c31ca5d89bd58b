/*
 * sessions - counts of open SMTP sessions, in total and per client
 * address, for admission (sessions.h).
 */
#include "sessions.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xmem.h"

#define BUCKETS 4096

/* One (owner, client address) pair with its count. */
struct entry {
	const void *owner;
	struct netaddr addr;
	unsigned n;
	struct entry *next;
};

struct sessions {
	struct entry *b[BUCKETS];
	unsigned total;
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

		for (e = s->b[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s);
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
    unsigned max_total, unsigned max_client)
{
	struct entry **bp = &s->b[hash(addr)], *e;

	if (s->total >= max_total)
		return SESSIONS_BUSY_TOTAL;
	if (sessions_client(s, addr) >= max_client)
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
