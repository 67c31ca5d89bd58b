/*
 * NAME
 *	local - the local delivery agent: Maildir deliveries, off the loop
 * PURPOSE
 *	Runs maildir_deliver on a worker thread, then makes the link
 *	durable with a shared fsync of new/ (dirsync), and reports.  Each
 *	Maildir's tmp/ is swept of stale files at its first delivery after
 *	start and then at most once an hour.  The
 *	scheduler talks to it through this request/answer interface; it is
 *	what the local process serves once processes are separated.
 * TRUST
 *	local process, as the mailbox owner.  Requests come from the queue.
 * INVARIANTS
 *	The callback runs exactly once per request, after the message is
 *	durable in new/ (MAILDIR_OK) or after the failure is known.
 */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include <stdint.h>
#include <uv.h>

#include "maildir.h"

struct local_agent;

struct local_req {
	int src_fd; /* borrowed: stays open until the callback */
	uint64_t src_off, src_len;
	const char *maildir;
	const char *return_path;
	const char *rcpt;
	const char *unique; /* see maildir.h */
	int look_for_copy;  /* an earlier attempt may have delivered it */
};

typedef void (*local_cb)(void *arg, const struct maildir_delivery *result);

struct local_agent *local_new(uv_loop_t *loop, const char *hostname);
void local_free(struct local_agent *la);
void local_deliver(struct local_agent *la, const struct local_req *req,
    local_cb cb, void *arg);
unsigned local_busy(const struct local_agent *la);

#endif
