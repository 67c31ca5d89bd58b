/*
 * NAME
 *	dirsync - shared fsync of directories (group commit)
 * PURPOSE
 *	A rename is durable only once its directory is synced.  Many
 *	messages renamed into the same directory at about the same time share
 *	one fsync: requests that arrive while a sync of that directory is
 *	running wait for the next one, which then covers all of them.
 * TRUST
 *	queue and local processes; paths come from configuration and queue
 *	IDs, never from the network.
 * INVARIANTS
 *	A callback runs only after an fsync that started after its request.
 *	At most one fsync per directory is in flight.
 */
#ifndef TERN_DIRSYNC_H
#define TERN_DIRSYNC_H

#include <uv.h>

struct dirsync;

typedef void (*dirsync_cb)(void *arg, int status); /* 0 or -errno */

struct dirsync *dirsync_new(uv_loop_t *loop);
/* Free; requests still pending are completed first (it runs the loop). */
void dirsync_free(struct dirsync *ds);
void
dirsync_request(struct dirsync *ds, const char *dir, dirsync_cb cb, void *arg);
/* Requests not yet completed. */
size_t dirsync_pending(const struct dirsync *ds);

#endif
