/*
 * repair - which pairs of processes need a new channel when one of
 * them is restarted.
 */
#include "repair.h"

#include <string.h>

/* REPAIR_FIRST_MS << this is past REPAIR_MAX_MS already. */
#define MAX_STRIKES 16

int64_t
repair_report(struct repair *r, uint64_t now)
{
	uint64_t wait;

	if (r->pending)
		return -1;
	r->pending = 1;
	/* Broken again soon after the last re-pair: wait longer. */
	if (r->last != 0 && now < r->last + REPAIR_STABLE_MS) {
		if (r->strikes < MAX_STRIKES)
			r->strikes++;
	} else {
		r->strikes = 0;
	}
	wait = (uint64_t)REPAIR_FIRST_MS << r->strikes;
	return (int64_t)(wait < REPAIR_MAX_MS ? wait : REPAIR_MAX_MS);
}

void
repair_done(struct repair *r, uint64_t now, int paired)
{
	r->pending = 0;
	if (paired)
		r->last = now != 0 ? now : 1;
}

void
repair_reset(struct repair *r)
{
	memset(r, 0, sizeof(*r));
}
