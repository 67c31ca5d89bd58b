/*
 * NAME
 *	fuzz_peer - play the processes at the other end of a handler's IPC
 *	channels
 * PURPOSE
 *	The fuzz targets of the IPC handlers (fuzz_svc_ipc: the smtp and
 *	queue processes' answer handler; fuzz_role_lookup: the lookup
 *	process's request handler) give the code under test one end of a
 *	socketpair per peer, exactly as the parent does, and keep the other
 *	end as a struct fuzz_peer: a real ipc channel (ipc.h) through which
 *	they send what the input says (valid messages built with msg.h's
 *	encoders, arbitrary ones, descriptors where none belong, raw octets,
 *	an end of file), and through which every message the handler sends
 *	back reaches the target's callback.  A target for another handler
 *	(the queue's requests, say) needs only a way to hand its handler one
 *	end of a socketpair, and its own script of operations.
 * TRUST
 *	Test code; inputs are arbitrary bytes from the fuzzer.
 * INVARIANTS
 *	Every descriptor a peer receives is closed after the target's
 *	callback.  fuzz_open_fds lets a target check that the handler closed
 *	every descriptor it was sent.  The loop is only ever run without
 *	blocking.
 */
#ifndef TERN_FUZZ_PEER_H
#define TERN_FUZZ_PEER_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../src/common/ipc.h"
#include "fuzz_util.h"

struct fuzz_peer;

/* A message the handler under test sent to this peer. */
typedef void (*fuzz_peer_cb)(void *arg, struct fuzz_peer *p, struct ipc_msg *m);

struct fuzz_peer {
	struct ipc *ipc; /* the target's end; NULL once closed */
	int fd;          /* the same descriptor, for raw octets */
	fuzz_peer_cb got;
	void *arg;
	int dropped; /* the handler closed the channel (or broke it) */
};

static void
fuzz_peer_msg(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct fuzz_peer *p = arg;

	(void)ipc;
	p->got(p->arg, p, m);
	if (m->fd >= 0)
		close(m->fd);
}

static void
fuzz_peer_closed(void *arg, struct ipc *ipc)
{
	struct fuzz_peer *p = arg;

	(void)ipc;
	p->ipc = NULL;
	p->fd = -1;
	p->dropped = 1;
}

/*
 * A new channel: p is this end, the returned descriptor the end to give
 * the handler.  max bounds what this end sends and takes.
 */
static inline int
fuzz_peer_open(struct fuzz_peer *p, uv_loop_t *loop, size_t max,
    fuzz_peer_cb got, void *arg)
{
	int sv[2];

	if (ipc_socketpair(sv) < 0)
		abort();
	p->ipc = ipc_new(loop, sv[1], max, fuzz_peer_msg, fuzz_peer_closed, p);
	p->fd = sv[1];
	p->got = got;
	p->arg = arg;
	p->dropped = 0;
	return sv[0];
}

/* Close this end: the handler sees the end of the stream. */
static inline void
fuzz_peer_close(struct fuzz_peer *p)
{
	if (p->ipc)
		ipc_close(p->ipc);
	p->ipc = NULL;
	p->fd = -1;
}

/* A message, with a descriptor (of /dev/null) when with_fd is set. */
static inline void
fuzz_peer_send(struct fuzz_peer *p, uint16_t type, uint32_t id,
    const void *data, size_t len, int with_fd)
{
	int fd = -1;

	if (p->ipc == NULL)
		return;
	if (with_fd && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		abort();
	ipc_send(p->ipc, type, id, data, len, fd);
}

/* Octets straight into the socket: a torn or lying header, say. */
static inline void
fuzz_peer_raw(struct fuzz_peer *p, const void *data, size_t len)
{
	/* A full socket drops them, as if the peer stalled; a closed one
	 * raises no SIGPIPE. */
	if (p->ipc != NULL && len > 0 &&
	    send(p->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return;
}

/* Let the loop move what is ready, rounds times, never waiting. */
static inline void
fuzz_run(uv_loop_t *loop, unsigned rounds)
{
	while (rounds-- > 0)
		uv_run(loop, UV_RUN_NOWAIT);
}

/* libuv opens descriptors of its own once per process: open them before
 * the first count (from LLVMFuzzerInitialize). */
static inline void
fuzz_peer_init(void)
{
	uv_loop_t warm;

	if (uv_loop_init(&warm) != 0 || uv_loop_close(&warm) != 0)
		abort();
}

/* Open descriptors of this process. */
static inline int
fuzz_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A string of up to max octets from the input, of characters an address
 * or a reply text may hold (what the callers have checked already). */
static inline size_t
fuzz_ctl_word(struct fuzz_ctl *c, char *dst, size_t max)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz0123456789.-+_";
	size_t n = fuzz_ctl_byte(c) % (max + 1), i;

	for (i = 0; i < n; i++)
		dst[i] = ok[fuzz_ctl_byte(c) % (sizeof(ok) - 1)];
	dst[n] = '\0';
	return n;
}

static inline uint32_t
fuzz_ctl_u32(struct fuzz_ctl *c)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | fuzz_ctl_byte(c);
	return v;
}

#endif
