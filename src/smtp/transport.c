/*
 * transport - one connection over libuv: reads into the loop's shared
 * buffer, a write queue with its backlog, and the lingering close that
 * keeps the last replies from being reset away.
 */
#include "transport.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/xmem.h"

/* How long a closing connection waits for the peer to take what is
 * queued, and then keeps reading and dropping what it still sends. */
#define DRAIN_MS 10000
#define LINGER_MS 2000

/* A write libuv holds: the socket took only part of what was written. */
struct wreq {
	uv_write_t req;
	struct transport *t;
	size_t len;
	char data[];
};

/* What only a closing connection needs (an idle one costs nothing). */
struct closer {
	uv_timer_t linger;
	uv_shutdown_t sreq;
};

struct transport {
	uv_tcp_t tcp;
	struct closer *cl; /* once closing */
	struct transport_readbuf *rb;
	const struct transport_events *ev;
	void *arg;
	struct wreq *wr; /* the write in flight */
	char *out;       /* queued behind it */
	size_t outlen, outcap;
	int handles; /* open; freed when none is */
	int reading;
	int closing;  /* transport_close: sending what is queued, then linger */
	int shutdown; /* the write side is shut down: lingering */
	int broken;
};

static void start_write(struct transport *t);
static void finish_close(struct transport *t);

static void
handle_closed(uv_handle_t *h)
{
	struct transport *t = h->data;

	if (--t->handles > 0)
		return;
	free(t->cl);
	free(t->out);
	if (t->ev->closed)
		t->ev->closed(t->arg);
	free(t);
}

static void
finish_close(struct transport *t)
{
	if (uv_is_closing((uv_handle_t *)&t->tcp))
		return;
	if (t->cl != NULL) {
		uv_timer_stop(&t->cl->linger);
		uv_close((uv_handle_t *)&t->cl->linger, handle_closed);
	}
	uv_close((uv_handle_t *)&t->tcp, handle_closed);
}

/* A failure of the connection itself: tell the owner once. */
static void
broke(struct transport *t)
{
	if (t->broken)
		return;
	t->broken = 1;
	if (t->closing) {
		finish_close(t);
		return;
	}
	t->ev->error(t->arg);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct transport *t = h->data;

	(void)suggested;
	/* Shared by every connection: read_cb hands the bytes on (and the
	 * owner copies what it keeps) before it returns. */
	if (t->rb->busy) {
		b->base = NULL;
		b->len = 0;
		return;
	}
	t->rb->busy = 1;
	b->base = t->rb->data;
	b->len = t->rb->size;
}

static void
read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
	struct transport *t = stream->data;

	if (b->base == t->rb->data)
		t->rb->busy = 0;
	if (nread == 0 || uv_is_closing((uv_handle_t *)&t->tcp))
		return;
	if (t->shutdown) {
		/* Lingering: input is dropped; its end ends the wait. */
		if (nread < 0)
			finish_close(t);
		return;
	}
	if (nread == UV_EOF) {
		transport_read_stop(t);
		t->ev->eof(t->arg);
		return;
	}
	if (nread < 0) {
		transport_read_stop(t);
		broke(t);
		return;
	}
	t->ev->read(t->arg, b->base, (size_t)nread);
}

struct transport *
transport_accept(uv_stream_t *listener, struct transport_readbuf *rb,
    const struct transport_events *ev, void *arg)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	uv_tcp_init(listener->loop, &t->tcp);
	t->tcp.data = t;
	t->handles = 1;
	t->rb = rb;
	t->ev = ev;
	t->arg = arg;
	if (uv_accept(listener, (uv_stream_t *)&t->tcp) < 0) {
		/* Nobody knows of it yet: close without telling. */
		t->ev = &(const struct transport_events){0};
		finish_close(t);
		return NULL;
	}
	uv_tcp_nodelay(&t->tcp, 1);
	return t;
}

int
transport_peer(const struct transport *t, struct netaddr *a, int *port)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getpeername(&t->tcp, (struct sockaddr *)&ss, &len) < 0 ||
	    netaddr_from_sockaddr((struct sockaddr *)&ss, a) < 0)
		return -1;
	*port = ntohs(ss.ss_family == AF_INET
	        ? ((struct sockaddr_in *)&ss)->sin_port
	        : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void
transport_set_owner(
    struct transport *t, const struct transport_events *ev, void *arg)
{
	t->ev = ev;
	t->arg = arg;
}

void
transport_read_start(struct transport *t)
{
	if (t->reading || t->closing || t->broken)
		return;
	t->reading = 1;
	uv_read_start((uv_stream_t *)&t->tcp, alloc_cb, read_cb);
}

void
transport_read_stop(struct transport *t)
{
	if (!t->reading)
		return;
	t->reading = 0;
	uv_read_stop((uv_stream_t *)&t->tcp);
}

int
transport_reading(const struct transport *t)
{
	return t->reading;
}

static void
linger_fired(uv_timer_t *h)
{
	finish_close(h->data);
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	struct transport *t = req->data;

	if (status < 0 || uv_is_closing((uv_handle_t *)&t->tcp)) {
		finish_close(t);
		return;
	}
	/* Read and drop what the peer still sends, for a moment. */
	t->shutdown = 1;
	uv_read_start((uv_stream_t *)&t->tcp, alloc_cb, read_cb);
	uv_timer_start(&t->cl->linger, linger_fired, LINGER_MS, 0);
}

/* Everything queued is out: shut the write side down and linger. */
static void
begin_linger(struct transport *t)
{
	t->cl->sreq.data = t;
	if (t->reading) {
		t->reading = 0;
		uv_read_stop((uv_stream_t *)&t->tcp);
	}
	if (uv_shutdown(&t->cl->sreq, (uv_stream_t *)&t->tcp, shutdown_cb) < 0)
		finish_close(t);
}

static void
write_done(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct transport *t = w->t;

	free(w);
	t->wr = NULL;
	if (uv_is_closing((uv_handle_t *)&t->tcp))
		return;
	if (status < 0) {
		broke(t);
		return;
	}
	if (t->outlen > 0) {
		start_write(t);
		return;
	}
	if (t->closing) {
		begin_linger(t);
		return;
	}
	if (t->ev->drained)
		t->ev->drained(t->arg);
}

/* Hand what is queued to libuv, as one write. */
static void
start_write(struct transport *t)
{
	struct wreq *w = xmalloc(sizeof(*w) + t->outlen);
	uv_buf_t b;

	w->t = t;
	w->len = t->outlen;
	memcpy(w->data, t->out, t->outlen);
	/* A connection that waits keeps no buffer. */
	free(t->out);
	t->out = NULL;
	t->outlen = t->outcap = 0;
	t->wr = w;
	b = uv_buf_init(w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&t->tcp, &b, 1, write_done) < 0) {
		free(w);
		t->wr = NULL;
		t->broken = 1;
		finish_close(t);
	}
}

static void
queue_out(struct transport *t, const char *p, size_t n)
{
	if (t->outlen + n > t->outcap) {
		size_t cap = t->outcap ? t->outcap : 4096;

		while (cap < t->outlen + n)
			cap *= 2;
		t->out = xreallocarray(t->out, cap, 1);
		t->outcap = cap;
	}
	memcpy(t->out + t->outlen, p, n);
	t->outlen += n;
}

int
transport_write(struct transport *t, const void *p, size_t n)
{
	uv_buf_t b;
	int w;

	if (t->broken || t->closing || uv_is_closing((uv_handle_t *)&t->tcp))
		return -1;
	if (n == 0)
		return 0;
	if (t->wr != NULL) {
		queue_out(t, p, n);
		return 0;
	}
	/* Straight to the kernel when it takes it (the usual case). */
	b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
	w = uv_try_write((uv_stream_t *)&t->tcp, &b, 1);
	if (w == UV_EAGAIN)
		w = 0;
	if (w < 0) {
		t->broken = 1;
		return -1;
	}
	if ((size_t)w < n) {
		queue_out(t, (const char *)p + w, n - (size_t)w);
		start_write(t);
	}
	return 0;
}

size_t
transport_pending(const struct transport *t)
{
	return (t->wr ? t->wr->len : 0) + t->outlen;
}

void
transport_close(struct transport *t)
{
	if (t->closing || uv_is_closing((uv_handle_t *)&t->tcp))
		return;
	t->closing = 1;
	if (t->broken) {
		finish_close(t);
		return;
	}
	/* A peer that reads nothing more is not waited for long. */
	t->cl = xcalloc(1, sizeof(*t->cl));
	uv_timer_init(t->tcp.loop, &t->cl->linger);
	t->cl->linger.data = t;
	t->handles++;
	uv_timer_start(&t->cl->linger, linger_fired, DRAIN_MS, 0);
	if (t->wr == NULL)
		begin_linger(t);
}

void
transport_abort(struct transport *t)
{
	t->closing = 1;
	finish_close(t);
}
