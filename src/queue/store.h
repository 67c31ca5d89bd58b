/*
 * NAME
 *	store - where committed messages live: the queue's backend seam
 * PURPOSE
 *	The queue (queue.h) keeps scheduling state in memory and asks a store
 *	to create, commit, mark, remove and reload messages.  The local spool
 *	(store_spool.c) is the embedded backend; a shared backend (PostgreSQL
 *	rows with leases, bodies in object storage) implements the same
 *	operations so that several hosts can share one queue.
 * TRUST
 *	queue process.
 * INVARIANTS
 *	commit calls back exactly once, and only after the message is durable
 *	(status 0) or gone (status < 0).  Every other operation is
 *	synchronous and cheap.
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stdint.h>
#include <uv.h>

#include "envelope.h"
#include "spool.h"

#define STORE_ID_LEN SPOOL_ID_LEN

typedef void (*store_commit_cb)(void *arg, int status);
typedef void (*store_found_fn)(
    void *arg, const char *id, struct envelope *env, uint64_t data_len);

struct queue_store_ops {
	/* A new message: a writable fd for its text (or -1), and a handle
	 * the store uses to find it again. */
	int (*create)(void *ctx, char id[STORE_ID_LEN + 1], uint64_t *handle);
	/* Make it durable; fd is consumed.  env must live until cb. */
	void (*commit)(void *ctx, const char *id, uint64_t handle, int fd,
	    uint64_t data_len, const struct envelope *env, store_commit_cb cb,
	    void *arg);
	/* Forget a message that was never committed; fd is consumed. */
	void (*discard)(void *ctx, const char *id, uint64_t handle, int fd);
	/* Boot: report every committed message (env ownership passes). */
	int (*recover)(void *ctx, store_found_fn fn, void *arg);
	/* Record a recipient's state (spool.h status types). */
	int (*mark)(void *ctx, const char *id, enum spool_status_type type,
	    const char *value);
	/* Every recipient is final. */
	int (*remove)(void *ctx, const char *id);
	/* Read-only fd of the message text, at *off for data_len octets. */
	int (*open_data)(void *ctx, const char *id, uint64_t *off);
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
