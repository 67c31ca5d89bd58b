/*
 * NAME
 *	strset - a set of strings, compared without regard to ASCII case
 * PURPOSE
 *	For telling, in constant time on average, whether a string was seen
 *	before: two recipients that lead to one address get one copy, however
 *	many there are.
 * TRUST
 *	Any process; strings may come from the network (bounded by the
 *	caller).
 * INVARIANTS
 *	The set keeps pointers to the strings added, not copies: they must
 *	outlive it.  It grows as needed.
 */
#ifndef TERN_STRSET_H
#define TERN_STRSET_H

#include <stddef.h>

struct strset {
	const char **slot;
	size_t cap, n;
};

void strset_init(struct strset *s);
void strset_free(struct strset *s);
/* 1 if s was added, 0 if an equal string was there already. */
int strset_add(struct strset *set, const char *s);
int strset_has(const struct strset *set, const char *s);

#endif
