/*
 * NAME
 *	repair - when the parent gives two processes a new channel
 * PURPOSE
 *	A channel between two running processes can close while both go on:
 *	one of them dropped it because the other sent something invalid.
 *	The process on the client side of the channel (smtp towards lookup
 *	and queue, the queue towards lookup and local) reports it to the
 *	parent, which waits a moment (the other process may be dying, and
 *	its restart brings a new channel anyway), then pairs them again if
 *	both are still the same live processes.  This module decides when:
 *	the first re-pair of an edge waits REPAIR_FIRST_MS; each report that
 *	comes within REPAIR_STABLE_MS of the edge's last re-pair doubles the
 *	wait, up to REPAIR_MAX_MS, so a process that keeps breaking its
 *	channels (a compromised one, say) cannot make the parent spin.  It
 *	holds no clock and does no I/O: the parent passes the time.
 * TRUST
 *	parent process.  Reports come from children and may be hostile:
 *	they can only make the next re-pair of their own edge slower.
 * INVARIANTS
 *	At most one re-pair of an edge is pending; while it is, further
 *	reports are ignored.  Every wait lies in [REPAIR_FIRST_MS,
 *	REPAIR_MAX_MS].
 */
#ifndef TERN_REPAIR_H
#define TERN_REPAIR_H

#include <stdint.h>

#define REPAIR_FIRST_MS 200
#define REPAIR_MAX_MS 60000
#define REPAIR_STABLE_MS 60000

/* One edge (a client process and the role it lost); zero it to start. */
struct repair {
	uint64_t last;    /* when it was last paired again; 0: never */
	unsigned strikes; /* re-pairs that broke again soon, in a row */
	int pending;
};

/*
 * The edge's channel closed at now (ms, any monotonic clock).  Returns
 * how long to wait before pairing again, or -1 when a re-pair is already
 * pending (the report is ignored).
 */
int64_t repair_report(struct repair *r, uint64_t now);
/* The pending re-pair ran at now: paired is 0 when it was given up (one
 * of the processes was gone or replaced). */
void repair_done(struct repair *r, uint64_t now, int paired);
/* One of the edge's processes was started anew: its history is void. */
void repair_reset(struct repair *r);

#endif
