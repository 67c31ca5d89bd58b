/*
 * ipc - framed messages over a socketpair: a length and type header,
 * descriptors passed alongside (SCM_RIGHTS), writes queued and flushed
 * once per loop turn.  What a receiver may trust is in ipc.h.
 */
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "xmem.h"

#define FLAG_FD 0x1
#define MAX_FDS_QUEUED 64
/* Room for descriptors in one read: an honest peer sends one at a time. */
#define MAX_FDS_READ 16
#define READ_CHUNK (64 * 1024)
/* Output to a peer that does not read is dropped with the channel. */
#define MAX_OUTPUT (256u * 1024 * 1024)

struct out {
	struct out *next;
	unsigned char *data;
	size_t len, off;
	int fd; /* sent with the first octet */
};

/*
 * A received descriptor and the stream octets [from, to) of the read that
 * brought it: the message that announces it starts in that range.
 */
struct rfd {
	int fd;
	uint64_t from, to;
};

struct ipc {
	uv_poll_t poll;
	uv_prepare_t flush; /* sends what was queued, before the loop blocks */
	int handles;        /* still open; freed when both are closed */
	int flush_armed;
	int fd;
	size_t max_msg;
	ipc_msg_cb on_msg;
	ipc_close_cb on_close;
	void *arg;
	unsigned char *in;
	size_t in_len, in_cap;
	uint64_t in_base;               /* stream offset of in[0] */
	struct rfd fds[MAX_FDS_QUEUED]; /* received, not yet claimed */
	size_t nfds;
	struct out *out_head, **out_tail;
	size_t out_bytes;
	int events;
	int closed;
	int broken; /* closed by fail() for what the peer did */
	int dispatching;
	size_t drain_low;
	void (*drain_cb)(void *arg);
	void *drain_arg;
};

static void poll_cb(uv_poll_t *h, int status, int events);

int
ipc_socketpair(int sv[2])
{
	return socketpair(
	    AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
}

static void
update_events(struct ipc *ipc)
{
	int ev = UV_READABLE | (ipc->out_head ? UV_WRITABLE : 0);

	if (ev != ipc->events) {
		ipc->events = ev;
		uv_poll_start(&ipc->poll, ev, poll_cb);
	}
}

struct ipc *
ipc_new(uv_loop_t *loop, int fd, size_t max_msg, ipc_msg_cb on_msg,
    ipc_close_cb on_close, void *arg)
{
	struct ipc *ipc = xcalloc(1, sizeof(*ipc));
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ipc->fd = fd;
	ipc->max_msg = max_msg;
	ipc->on_msg = on_msg;
	ipc->on_close = on_close;
	ipc->arg = arg;
	ipc->out_tail = &ipc->out_head;
	if (uv_poll_init(loop, &ipc->poll, fd) != 0)
		panic("ipc: uv_poll_init failed");
	ipc->poll.data = ipc;
	uv_prepare_init(loop, &ipc->flush);
	ipc->flush.data = ipc;
	ipc->handles = 2;
	update_events(ipc);
	return ipc;
}

void *
ipc_arg(const struct ipc *ipc)
{
	return ipc->arg;
}

void
ipc_set_arg(struct ipc *ipc, void *arg)
{
	ipc->arg = arg;
}

int
ipc_broken(const struct ipc *ipc)
{
	return ipc->broken;
}

size_t
ipc_pending(const struct ipc *ipc)
{
	return ipc->out_bytes;
}

static void
check_drain(struct ipc *ipc)
{
	void (*cb)(void *) = ipc->drain_cb;

	if (cb == NULL || ipc->closed || ipc->out_bytes > ipc->drain_low)
		return;
	ipc->drain_cb = NULL;
	cb(ipc->drain_arg);
}

void
ipc_on_drain(struct ipc *ipc, size_t low, void (*cb)(void *arg), void *arg)
{
	ipc->drain_low = low;
	ipc->drain_cb = cb;
	ipc->drain_arg = arg;
	check_drain(ipc);
}

static void
free_out(struct out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	free(o->data);
	free(o);
}

static void
poll_closed(uv_handle_t *h)
{
	struct ipc *ipc = h->data;
	struct out *o, *next;
	size_t i;

	if (--ipc->handles > 0)
		return;
	for (o = ipc->out_head; o; o = next) {
		next = o->next;
		free_out(o);
	}
	for (i = 0; i < ipc->nfds; i++)
		close(ipc->fds[i].fd);
	close(ipc->fd);
	free(ipc->in);
	free(ipc);
}

void
ipc_close(struct ipc *ipc)
{
	if (ipc == NULL || ipc->closed)
		return;
	ipc->closed = 1;
	uv_poll_stop(&ipc->poll);
	uv_close((uv_handle_t *)&ipc->poll, poll_closed);
	uv_close((uv_handle_t *)&ipc->flush, poll_closed);
}

/* The peer broke the channel: tell the owner, then close. */
static void
fail(struct ipc *ipc, const char *why)
{
	if (ipc->closed)
		return;
	if (why) {
		log_warnx("ipc: %s; closing the channel", why);
		ipc->broken = 1;
	}
	if (ipc->on_close)
		ipc->on_close(ipc->arg, ipc);
	ipc_close(ipc);
}

static int write_some(struct ipc *ipc);

static void
flush_cb(uv_prepare_t *h)
{
	struct ipc *ipc = h->data;

	ipc->flush_armed = 0;
	uv_prepare_stop(h);
	if (ipc->closed)
		return;
	if (write_some(ipc) < 0) {
		fail(ipc, NULL);
		return;
	}
	update_events(ipc);
	check_drain(ipc);
}

/*
 * Send as much as the socket takes, many messages per call; -1 on a
 * broken channel.  A descriptor goes with the first octet of the message
 * that announces it: such a message starts a call of its own, and no other
 * descriptor goes with that call.  The receiver then knows the message by
 * where its octets lie in the stream (see dispatch).
 */
static int
write_some(struct ipc *ipc)
{
	enum { MAX_IOV = 64 };

	while (ipc->out_head) {
		struct iovec iov[MAX_IOV];
		struct out *fdo = NULL, *o;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct msghdr mh;
		size_t niov = 0;
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		for (o = ipc->out_head; o && niov < MAX_IOV; o = o->next) {
			if (o->fd >= 0 && o->off == 0) {
				if (niov > 0)
					break;
				fdo = o;
			}
			iov[niov].iov_base = o->data + o->off;
			iov[niov++].iov_len = o->len - o->off;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = niov;
		if (fdo != NULL) {
			struct cmsghdr *c;

			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fdo->fd, sizeof(int));
		}
		n = sendmsg(ipc->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (fdo != NULL) {
			close(fdo->fd); /* the peer has its own copy now */
			fdo->fd = -1;
		}
		ipc->out_bytes -= (size_t)n;
		while (n > 0) {
			o = ipc->out_head;
			if ((size_t)n < o->len - o->off) {
				o->off += (size_t)n;
				break;
			}
			n -= (ssize_t)(o->len - o->off);
			ipc->out_head = o->next;
			if (ipc->out_head == NULL)
				ipc->out_tail = &ipc->out_head;
			free_out(o);
		}
	}
	return 0;
}

void
ipc_send(struct ipc *ipc, uint16_t type, uint32_t id, const void *data,
    size_t len, int fd)
{
	struct out *o;
	unsigned char *h;

	if (ipc->closed) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (len > ipc->max_msg || ipc->out_bytes > MAX_OUTPUT) {
		if (fd >= 0)
			close(fd);
		fail(ipc,
		    len > ipc->max_msg ? "message too large to send"
		                       : "peer does not read its messages");
		return;
	}
	o = xcalloc(1, sizeof(*o));
	o->data = xmalloc(IPC_HEADER + len);
	o->len = IPC_HEADER + len;
	o->fd = fd;
	h = o->data;
	h[0] = (unsigned char)len;
	h[1] = (unsigned char)(len >> 8);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 24);
	h[4] = (unsigned char)type;
	h[5] = (unsigned char)(type >> 8);
	h[6] = fd >= 0 ? FLAG_FD : 0;
	h[7] = 0;
	h[8] = (unsigned char)id;
	h[9] = (unsigned char)(id >> 8);
	h[10] = (unsigned char)(id >> 16);
	h[11] = (unsigned char)(id >> 24);
	if (len)
		memcpy(h + IPC_HEADER, data, len);
	*ipc->out_tail = o;
	ipc->out_tail = &o->next;
	ipc->out_bytes += o->len;
	/* Everything queued until the loop would block leaves together:
	 * one system call for many messages under load. */
	if (!ipc->dispatching && !ipc->flush_armed) {
		ipc->flush_armed = 1;
		uv_prepare_start(&ipc->flush, flush_cb);
	}
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * Has the descriptor first in line been passed by?  A message starting at
 * stream offset at or later cannot be the one that announces it.
 */
static int
unclaimed(const struct ipc *ipc, uint64_t at)
{
	return ipc->nfds > 0 && ipc->fds[0].to <= at;
}

/*
 * Deliver every complete message in the input buffer.  A descriptor is
 * sent with the first octet of its message, but a read on a stream socket
 * may bring earlier octets along with it: all we know is that its message
 * starts within the octets of that read.  The first message announcing a
 * descriptor takes the oldest one if it starts in that descriptor's range;
 * otherwise, or when a descriptor's range is passed with nobody claiming
 * it, the peer is not following the protocol.
 */
static void
dispatch(struct ipc *ipc)
{
	size_t off = 0;
	const char *bad = NULL;

	ipc->dispatching = 1;
	while (!ipc->closed && ipc->in_len - off >= IPC_HEADER) {
		const unsigned char *h = ipc->in + off;
		uint64_t at = ipc->in_base + off;
		size_t len = get32(h);
		struct ipc_msg m;

		if (unclaimed(ipc, at)) {
			bad = "a descriptor that no message announces";
			break;
		}
		if (len > ipc->max_msg) {
			bad = "message over the size limit";
			break;
		}
		if (ipc->in_len - off - IPC_HEADER < len)
			break;
		if (h[7] != 0 || (h[6] & ~FLAG_FD) != 0) {
			bad = "bad message flags";
			break;
		}
		m.type = (uint16_t)(h[4] | h[5] << 8);
		m.id = get32(h + 8);
		m.data = h + IPC_HEADER;
		m.len = len;
		m.fd = -1;
		if (h[6] & FLAG_FD) {
			/* Its first octet is here: so would its descriptor be. */
			if (ipc->nfds == 0 || ipc->fds[0].from > at) {
				bad = "announced descriptor missing";
				break;
			}
			m.fd = ipc->fds[0].fd;
			memmove(ipc->fds, ipc->fds + 1,
			    --ipc->nfds * sizeof(ipc->fds[0]));
		}
		off += IPC_HEADER + len;
		ipc->on_msg(ipc->arg, ipc, &m);
	}
	ipc->dispatching = 0;
	if (ipc->closed)
		return;
	if (bad == NULL && unclaimed(ipc, ipc->in_base + off))
		bad = "a descriptor that no message announces";
	if (bad != NULL) {
		fail(ipc, bad);
		return;
	}
	memmove(ipc->in, ipc->in + off, ipc->in_len - off);
	ipc->in_len -= off;
	ipc->in_base += off;
	/* Replies queued by handlers go out now, in one batch. */
	if (write_some(ipc) < 0) {
		fail(ipc, NULL);
		return;
	}
	update_events(ipc);
}

/*
 * 1 when octets came, 0 when none could be read now, -1 at the end of the
 * stream or on an error, -2 when more descriptors came than the channel
 * keeps: every descriptor received is queued or closed, never dropped.
 */
static int
read_some(struct ipc *ipc)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_READ)];
		struct cmsghdr align;
	} cm;
	struct cmsghdr *c;
	uint64_t from = ipc->in_base + ipc->in_len;
	int over = 0;
	ssize_t n;

	if (ipc->in_cap - ipc->in_len < READ_CHUNK) {
		size_t need = ipc->in_len + READ_CHUNK;

		if (need > ipc->max_msg + IPC_HEADER + READ_CHUNK)
			return -1;
		ipc->in = xreallocarray(ipc->in, need, 1);
		ipc->in_cap = need;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = ipc->in + ipc->in_len;
	iov.iov_len = ipc->in_cap - ipc->in_len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(ipc->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK ||
		           errno == EINTR)
		    ? 0
		    : -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			struct rfd r;

			memcpy(
			    &r.fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (ipc->nfds == MAX_FDS_QUEUED) {
				close(r.fd);
				over = 1;
				continue;
			}
			r.from = from;
			r.to = from + (uint64_t)n;
			ipc->fds[ipc->nfds++] = r;
		}
	}
	/* What was queued is closed with the channel. */
	if (over || (mh.msg_flags & MSG_CTRUNC))
		return -2;
	if (n == 0)
		return -1;
	ipc->in_len += (size_t)n;
	return 1;
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct ipc *ipc = h->data;
	int r;

	if (status < 0) {
		fail(ipc, NULL);
		return;
	}
	if (events & UV_WRITABLE) {
		if (write_some(ipc) < 0) {
			fail(ipc, NULL);
			return;
		}
		update_events(ipc);
		check_drain(ipc);
		if (ipc->closed)
			return;
	}
	if (events & UV_READABLE) {
		r = read_some(ipc);
		if (r < 0) {
			fail(ipc, r == -2 ? "too many descriptors" : NULL);
			return;
		}
		if (r > 0)
			dispatch(ipc);
	}
}
