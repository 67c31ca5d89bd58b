/*
 * fuzz_ipc - what one process receives over IPC (msg.h), through the real
 * framing layer (ipc.h).  Built once per receiving role: fuzz_ipc_parent,
 * fuzz_ipc_smtp, fuzz_ipc_lookup, fuzz_ipc_queue, fuzz_ipc_local
 * (FUZZ_ROLE).
 *
 * The input's first byte picks the sender (parent or a peer role); the
 * rest is written as is into one end of a socketpair, and the other end is
 * read by an ipc channel on an event loop, as the process would.  Every
 * whole message that comes out is checked by msg_check for the receiving
 * role; a decoded message must encode back to the same payload.  The
 * channel must never hand out more than it was given, nor a payload over
 * its limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../src/common/ipc.h"
#include "../../src/common/log.h"
#include "../../src/proc/msg.h"
#include "fuzz_util.h"

#ifndef FUZZ_ROLE
#error "FUZZ_ROLE must name the receiving role"
#endif

#define MAX_PAYLOAD (256 * 1024)

struct run {
	enum proc_role from;
	size_t given, seen;
	int closed;
};

/* Encode a decoded message again: the decoders accept only what the
 * encoders produce (and msg_check frees what it decodes). */
static void
round_trip(uint16_t type, const void *p, size_t n)
{
	struct lookup_reply lr;
	struct msg_deliver md;
	struct buf b;

	buf_init(&b, 2 * MAX_PAYLOAD);
	if (type == MSG_LOOKUP_ANS && msg_dec_lookup_ans(p, n, &lr) == 0) {
		msg_enc_lookup_ans(&b, &lr);
		FUZZ_CHECK(b.len == n && memcmp(b.data, p, n) == 0,
		    "lookup answer re-encodes to %zu octets, not %zu", b.len,
		    n);
		lookup_reply_free(&lr);
	}
	if (type == MSG_DELIVER && msg_dec_deliver(p, n, &md) == 0) {
		FUZZ_CHECK(msg_path_ok(md.maildir), "unsafe Maildir path %s",
		    md.maildir);
		msg_enc_deliver(&b, &md);
		FUZZ_CHECK(b.len == n && memcmp(b.data, p, n) == 0,
		    "delivery request re-encodes to %zu octets, not %zu", b.len,
		    n);
	}
	buf_free(&b);
}

static void
on_msg(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct run *r = arg;

	(void)ipc;
	FUZZ_CHECK(m->len <= MAX_PAYLOAD, "payload of %zu octets", m->len);
	r->seen += IPC_HEADER + m->len;
	FUZZ_CHECK(
	    r->seen <= r->given, "%zu octets out of %zu in", r->seen, r->given);
	FUZZ_CHECK(m->fd < 0, "a descriptor that nobody sent");
	if (msg_check(FUZZ_ROLE, r->from, m->type, m->data, m->len) == 0)
		round_trip(m->type, m->data, m->len);
}

static void
on_close(void *arg, struct ipc *ipc)
{
	struct run *r = arg;

	(void)ipc;
	r->closed = 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Rejected input is logged: run.sh runs this target "quiet". */
	log_init("fuzz", 0, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum proc_role senders[] = {
	    ROLE_PARENT, ROLE_SMTP, ROLE_LOOKUP, ROLE_QUEUE, ROLE_LOCAL};
	uv_loop_t loop;
	struct ipc *ipc;
	struct run r;
	int sv[2];

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.from = senders[data[0] % 5];
	data++;
	size--;
	r.given = size;
	if (uv_loop_init(&loop) != 0 || ipc_socketpair(sv) < 0)
		abort();
	ipc = ipc_new(&loop, sv[0], MAX_PAYLOAD, on_msg, on_close, &r);
	/* The socket buffer holds far more than the longest input. */
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	close(sv[1]);
	/* Runs until the channel sees the end of the input and closes. */
	while (!r.closed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	FUZZ_CHECK(r.closed, "the channel did not close at the end of input");
	uv_run(&loop, UV_RUN_DEFAULT);
	FUZZ_CHECK(uv_loop_close(&loop) == 0, "handles left open");
	(void)ipc;
	return 0;
}
