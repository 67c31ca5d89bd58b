/*
 * strset - an open-addressing hash set of strings, ASCII case folded,
 * so that checking n recipients for duplicates costs O(n), not O(n^2).
 */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>

#include "strutil.h"
#include "xmem.h"

void
strset_init(struct strset *s)
{
	s->slot = NULL;
	s->cap = s->n = 0;
}

void
strset_free(struct strset *s)
{
	free(s->slot);
	strset_init(s);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, folded to lower case */

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

/* Where s is, or the empty slot where it would go (open addressing). */
static size_t
find(const struct strset *set, const char *s)
{
	size_t i = (size_t)hash(s) & (set->cap - 1);

	while (set->slot[i] != NULL && !str_caseeq(set->slot[i], s))
		i = (i + 1) & (set->cap - 1);
	return i;
}

static void
grow(struct strset *set)
{
	struct strset bigger;
	size_t i;

	bigger.cap = set->cap ? set->cap * 2 : 16;
	bigger.n = set->n;
	bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
	for (i = 0; i < set->cap; i++)
		if (set->slot[i] != NULL)
			bigger.slot[find(&bigger, set->slot[i])] = set->slot[i];
	free(set->slot);
	*set = bigger;
}

int
strset_add(struct strset *set, const char *s)
{
	size_t i;

	/* At most half full: probes stay short. */
	if (2 * (set->n + 1) > set->cap)
		grow(set);
	i = find(set, s);
	if (set->slot[i] != NULL)
		return 0;
	set->slot[i] = s;
	set->n++;
	return 1;
}

int
strset_has(const struct strset *set, const char *s)
{
	return set->cap > 0 && set->slot[find(set, s)] != NULL;
}
