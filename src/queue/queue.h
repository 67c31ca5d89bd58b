/*
 * NAME
 *	queue - accepted messages, from commit to the last delivery
 * PURPOSE
 *	The receiving side opens a message, hands over its text as it
 *	arrives, and commits it (durable before the callback says so) or
 *	aborts it.  The delivery side
 *	claims due messages with a lease, records each recipient's outcome
 *	and releases them; a message whose recipients are all final is
 *	removed.  A per-destination index counts the messages waiting for
 *	each recipient domain (for ETRN and ATRN).  Storage is a backend
 *	(store.h); scheduling state lives here, in memory.
 *
 *	On-disk states (local spool, see spool.h) and what recovery at boot
 *	does:
 *	  tmp/<anything>                         a file that never got a name
 *	                                         in queue/ (no 250): removed
 *	  queue/<id>, header, index and          loaded; pending recipients
 *	  envelopes valid                        are delivered
 *	  queue/<id>, header or index torn or    moved to corrupt/ and logged
 *	  invalid (a file is named only once
 *	  synced: a media error)
 *	  one message's envelope invalid         the others are loaded; a copy
 *	                                         of the file goes to corrupt/
 *	  status records after the index         recipients marked delivered
 *	                                         or failed are skipped, and
 *	                                         messages marked done; records
 *	                                         stop at the first torn one (a
 *	                                         delivery may be tried again,
 *	                                         never skipped)
 *	  queue/<id>, every message done         removed
 *	  queue/f<digits> (earlier format's      removed: never a message
 *	  spare files)
 * TRUST
 *	queue process.  Envelopes from the smtp side are re-validated by the
 *	record codec before they are stored.
 * INVARIANTS
 *	A commit callback with status 0 means the message is durable.  An
 *	item is claimed by at most one deliverer at a time.
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.h"
#include "store.h"

struct queue;
struct queue_msg;

struct queue_params {
	uint64_t minfree; /* bytes kept free in the store */
};

struct queue_item {
	char id[STORE_ID_LEN + 1];
	struct envelope env;
	uint64_t data_len;
	uint64_t nonce; /* with id, names this message's Maildir copies */
	int recovered;  /* loaded at boot: a delivery may have happened */
	int64_t due;    /* unix seconds: the next attempt */
	int leased;
	void *ref; /* the store's */
	/* private to queue.c */
	size_t heap_idx;
	int in_ready;
	struct queue_item *ready_next;
	struct queue_item *prev, *next;
	struct dest_link *links;
};

typedef void (*queue_commit_cb)(void *arg, int status);

/* The queue owns the store from here on. */
struct queue *queue_new(uv_loop_t *loop, struct queue_store *store,
    const struct queue_params *params);
void queue_free(struct queue *q);
void queue_set_params(struct queue *q, const struct queue_params *params);
/* Load every committed message (boot). */
int queue_recover(struct queue *q);

/* ------------------------------------------------------ receiving side */

/* A new message, with a fresh queue ID. */
struct queue_msg *queue_msg_open(struct queue *q);
const char *queue_msg_id(const struct queue_msg *m);
/* Add text.  0, or -1 with errno set; the commit then fails. */
int queue_msg_write(struct queue_msg *m, const void *p, size_t n);
/* Octets of text so far. */
uint64_t queue_msg_len(const struct queue_msg *m);
/*
 * Commit the text with env (its contents move into the queue; env is left
 * empty).  cb(arg, 0) once durable; cb(arg, -ENOSPC) when the spool is
 * full, cb(arg, -errno) on another failure.  The message handle is gone
 * either way.
 */
void queue_msg_commit(
    struct queue_msg *m, struct envelope *env, queue_commit_cb cb, void *arg);
void queue_msg_abort(struct queue_msg *m);
/* Is there room for a message of size octets (0: unknown)? */
int queue_has_room(struct queue *q, uint64_t size);
/*
 * Room for new messages: 0 when the store is below its reserve, else one
 * more than the octets that fit (UINT64_MAX: unknown).  A message of size
 * octets fits when size < room.
 */
uint64_t queue_room(struct queue *q);
/* Messages in the queue, and commits still in flight. */
size_t queue_length(const struct queue *q);
unsigned queue_commits_in_flight(const struct queue *q);

/* ------------------------------------------------------- delivery side */

/* Called when messages become due (after a commit or a retry timer). */
void queue_set_ready_cb(struct queue *q, void (*cb)(void *arg), void *arg);
/* The next due message, leased to the caller; NULL if none. */
struct queue_item *queue_claim(struct queue *q);
void queue_rcpt_delivered(struct queue *q, struct queue_item *it, size_t i);
void queue_rcpt_failed(struct queue *q, struct queue_item *it, size_t i);
void queue_rcpt_deferred(
    struct queue *q, struct queue_item *it, size_t i, int64_t next_try);
/* End the lease: removed if every recipient is final, else rescheduled. */
void queue_release(struct queue *q, struct queue_item *it);
/* Read-only fd of the text; *off is where it starts. */
int
queue_open_data(struct queue *q, const struct queue_item *it, uint64_t *off);
/* Messages with pending recipients in domain (case-insensitive). */
size_t queue_dest_count(const struct queue *q, const char *domain);

#endif
