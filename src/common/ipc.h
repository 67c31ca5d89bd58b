/*
 * NAME
 *	ipc - typed messages between tern's processes, with file descriptors
 * PURPOSE
 *	One end of a socketpair driven by the event loop.  A message is a
 *	12-octet header (payload length u32, type u16, flags u16, request id
 *	u32, little endian) and a payload; one file descriptor may travel with
 *	it (the queue hands out message files this way).  A descriptor is sent
 *	with the first octet of the message that announces it, and each
 *	received descriptor goes to the message that announces one and
 *	starts within the octets of the read that brought it.
 * TRUST
 *	Any process.  The peer may be compromised: a length over the limit, a
 *	descriptor that no message announces (or an announced one that did
 *	not come with its message), more descriptors than the channel holds,
 *	or a read error closes the channel; nothing here calls fatal.
 *	Payloads are decoded and checked by each message's own decoder
 *	(wire.h).
 * INVARIANTS
 *	Messages are delivered whole and in order.  A received descriptor
 *	belongs to the handler of the message that announced it; one that is
 *	not handed out is closed, never kept nor given to another message.  A
 *	descriptor given to ipc_send is closed by ipc once sent (or when the
 *	channel closes).  After ipc_close, no callback runs.
 */
#ifndef TERN_IPC_H
#define TERN_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define IPC_HEADER 12

struct ipc;

struct ipc_msg {
	uint16_t type;
	uint32_t id;
	const void *data; /* valid during the callback only */
	size_t len;
	int fd; /* -1, or a descriptor the handler now owns */
};

typedef void (*ipc_msg_cb)(void *arg, struct ipc *ipc, struct ipc_msg *m);
/* The peer went away or broke the protocol; the channel is closed after. */
typedef void (*ipc_close_cb)(void *arg, struct ipc *ipc);

/* Take over fd (one end of a socketpair).  max_msg bounds payloads. */
struct ipc *ipc_new(uv_loop_t *loop, int fd, size_t max_msg, ipc_msg_cb on_msg,
    ipc_close_cb on_close, void *arg);
/* Queue a message; fd (or -1) is passed along and closed here after. */
void ipc_send(struct ipc *ipc, uint16_t type, uint32_t id, const void *data,
    size_t len, int fd);
/* Close now: pending output is dropped, no callback runs afterwards. */
void ipc_close(struct ipc *ipc);
/* Octets queued for sending. */
size_t ipc_pending(const struct ipc *ipc);
/*
 * In the close callback: 1 when the channel is closed because of what
 * the peer sent (or did not read), 0 for an end of file or an I/O error.
 */
int ipc_broken(const struct ipc *ipc);
/*
 * Call cb(arg) once, when the octets queued for sending have fallen to
 * low or fewer (at once if they already have).  Replaces an earlier
 * request; never called after ipc_close.
 */
void
ipc_on_drain(struct ipc *ipc, size_t low, void (*cb)(void *arg), void *arg);
void *ipc_arg(const struct ipc *ipc);
void ipc_set_arg(struct ipc *ipc, void *arg);

/* Make a connected pair of stream sockets (close-on-exec, nonblocking). */
int ipc_socketpair(int sv[2]);

#endif
