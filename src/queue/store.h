/*
 * NAME
 *	store - where committed messages live: the queue's backend seam
 * PURPOSE
 *	The queue (queue.h) keeps scheduling state in memory and asks a store
 *	to receive, commit, mark, remove and reload messages.  The local spool
 *	(store_spool.c) is the embedded backend; a shared backend (PostgreSQL
 *	rows with leases, bodies in object storage) implements the same
 *	operations so that several hosts can share one queue.  The store
 *	receives a message's text itself: nothing outside the queue process
 *	ever holds a descriptor it could write through.
 * TRUST
 *	queue process.
 * INVARIANTS
 *	commit calls back exactly once, and only after the message is durable
 *	(status 0) or certainly not going to be delivered (status < 0).  A
 *	ref stays valid until remove.  Every other operation is synchronous
 *	and cheap.
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.h"
#include "spool.h"

#define STORE_ID_LEN SPOOL_ID_LEN

/* status: 0, or -errno (-ENOSPC: no room).  ref: the message, if 0. */
typedef void (*store_commit_cb)(void *arg, int status, void *ref);
typedef void (*store_found_fn)(void *arg, const char *id, void *ref,
    struct envelope *env, uint64_t data_len, uint64_t nonce);

struct queue_store_ops {
	/* A message to receive: its ID is chosen here (IDs made later sort
	 * later); returns the draft. */
	void *(*begin)(void *ctx, char id[STORE_ID_LEN + 1]);
	/* Add text.  0, or -1 with errno set (the commit will fail). */
	int (*append)(void *ctx, void *draft, const void *p, size_t n);
	uint64_t (*length)(void *ctx, void *draft);
	/* Make it durable; the draft is consumed.  env must live until
	 * cb.  The nonce is stored and given back by recover. */
	void (*commit)(void *ctx, void *draft, const struct envelope *env,
	    uint64_t nonce, store_commit_cb cb, void *arg);
	/* Forget a message that was never committed. */
	void (*discard)(void *ctx, void *draft);
	/* Boot: report every committed message (env ownership passes). */
	int (*recover)(void *ctx, store_found_fn fn, void *arg);
	/* Record a recipient's state (spool.h status types). */
	int (*mark)(void *ctx, void *ref, enum spool_status_type type,
	    const char *value);
	/* Every recipient is final; ref is gone afterwards. */
	int (*remove)(void *ctx, void *ref);
	/* Read-only fd of the text, which starts at *off. */
	int (*open_data)(void *ctx, void *ref, uint64_t *off);
	/* Bytes free for new messages. */
	int (*free_space)(void *ctx, uint64_t *bytes);
	/* Commits still in flight. */
	unsigned (*busy)(void *ctx);
	void (*free)(void *ctx);
};

struct queue_store {
	const struct queue_store_ops *ops;
	void *ctx;
};

/* The local spool under dir.  NULL with err on failure. */
struct queue_store *
store_spool_new(uv_loop_t *loop, const char *dir, char *err, size_t errsz);
void store_free(struct queue_store *st);

#endif
