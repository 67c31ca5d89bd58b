/*
 * Unit tests of the IPC channel: real socketpairs, a real event loop, and
 * for what an honest sender never does, a raw sender that writes headers
 * and descriptors by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "ipc.h"
#include "log.h"

#define FLAG_FD 0x1
#define MAX_GOT 512
#define MAX_PAYLOAD (256 * 1024)

struct got {
	uint16_t type;
	uint32_t id;
	size_t len;
	char tag[32];    /* the payload's first octets, as a string */
	char fd_tag[32]; /* what the descriptor's file holds, or "" */
	int had_fd;
};

struct rx {
	uv_loop_t loop;
	uv_timer_t watchdog;
	int timed_out;
	struct ipc *send; /* NULL when the test writes raw */
	struct ipc *recv;
	int raw; /* the other end, when written raw */
	struct got got[MAX_GOT];
	size_t ngot;
	int closed;
	int broken; /* ipc_broken() when it closed */
	int fds_before;
};

/* Open descriptors of this process. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A file holding tag: which message a descriptor belongs to. */
static int
tagged_fd(const char *tag)
{
	int fd = memfd_create("ipc_test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, tag, strlen(tag)), (ssize_t)strlen(tag));
	return fd;
}

static void
on_msg(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct rx *rx = arg;
	struct got *g;
	size_t n;
	ssize_t r;

	(void)ipc;
	assert_true(rx->ngot < MAX_GOT);
	g = &rx->got[rx->ngot++];
	memset(g, 0, sizeof(*g));
	g->type = m->type;
	g->id = m->id;
	g->len = m->len;
	n = m->len < sizeof(g->tag) - 1 ? m->len : sizeof(g->tag) - 1;
	memcpy(g->tag, m->data, n);
	g->tag[strcspn(g->tag, "|")] = '\0';
	if (m->fd >= 0) {
		g->had_fd = 1;
		r = pread(m->fd, g->fd_tag, sizeof(g->fd_tag) - 1, 0);
		assert_true(r >= 0);
		g->fd_tag[r] = '\0';
		close(m->fd);
	}
}

static void
on_close(void *arg, struct ipc *ipc)
{
	struct rx *rx = arg;

	if (ipc == rx->recv) {
		rx->closed = 1;
		rx->broken = ipc_broken(ipc);
		rx->recv = NULL;
	} else if (ipc == rx->send) {
		rx->send = NULL;
	}
}

static void
sender_msg(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	(void)arg;
	(void)ipc;
	fail_msg("the receiver sent message %u back", m->type);
}

static void
watchdog(uv_timer_t *t)
{
	struct rx *rx = t->data;

	rx->timed_out = 1;
}

/* raw: the test writes to rx->raw itself instead of through ipc_send. */
static struct rx *
rx_new(int raw)
{
	struct rx *rx = calloc(1, sizeof(*rx));
	int sv[2];

	assert_non_null(rx);
	rx->fds_before = count_fds();
	assert_int_equal(uv_loop_init(&rx->loop), 0);
	uv_timer_init(&rx->loop, &rx->watchdog);
	rx->watchdog.data = rx;
	assert_int_equal(ipc_socketpair(sv), 0);
	rx->recv = ipc_new(&rx->loop, sv[0], MAX_PAYLOAD, on_msg, on_close, rx);
	if (raw) {
		rx->raw = sv[1];
		/* Raw writes block: they are small and the socket is empty. */
		fcntl(rx->raw, F_SETFL, 0);
	} else {
		rx->raw = -1;
		rx->send = ipc_new(
		    &rx->loop, sv[1], MAX_PAYLOAD, sender_msg, on_close, rx);
	}
	return rx;
}

/* Run the loop until want messages came or the channel closed (5 s at
 * most). */
static void
rx_run(struct rx *rx, size_t want)
{
	rx->timed_out = 0;
	uv_timer_start(&rx->watchdog, watchdog, 5000, 0);
	while (!rx->timed_out && !rx->closed && rx->ngot < want)
		uv_run(&rx->loop, UV_RUN_ONCE);
	uv_timer_stop(&rx->watchdog);
}

/* Close everything; no descriptor may be left behind. */
static void
rx_free(struct rx *rx)
{
	if (rx->recv)
		ipc_close(rx->recv);
	if (rx->send)
		ipc_close(rx->send);
	if (rx->raw >= 0)
		close(rx->raw);
	uv_close((uv_handle_t *)&rx->watchdog, NULL);
	uv_run(&rx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&rx->loop), 0);
	if (count_fds() != rx->fds_before)
		fail_msg("expected %d open descriptors after the channel "
		         "closed, as before it was made; %d are open",
		    rx->fds_before, count_fds());
	free(rx);
}

/* A message as an honest peer's ipc_send writes it. */
static void
raw_send(struct rx *rx, uint16_t type, int flags, const char *payload,
    const int *fds, size_t nfds)
{
	unsigned char buf[IPC_HEADER + 256];
	size_t len = strlen(payload);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
	struct iovec iov;

	assert_true(len <= 256 && nfds <= 64);
	memset(buf, 0, sizeof(buf));
	buf[0] = (unsigned char)len;
	buf[4] = (unsigned char)type;
	buf[6] = (unsigned char)flags;
	memcpy(buf + IPC_HEADER, payload, len);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = IPC_HEADER + len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(rx->raw, &mh, 0), (ssize_t)(IPC_HEADER + len));
}

static void
expect_msg(const struct rx *rx, size_t i, uint16_t type, const char *tag,
    const char *fd_tag)
{
	const struct got *g = &rx->got[i];

	if (i >= rx->ngot)
		fail_msg("expected message %zu (type %u), only %zu came", i,
		    type, rx->ngot);
	if (g->type != type || strcmp(g->tag, tag) != 0)
		fail_msg("message %zu: expected type %u \"%s\", got type %u "
		         "\"%s\"",
		    i, type, tag, g->type, g->tag);
	if (fd_tag == NULL && g->had_fd)
		fail_msg("message %zu (\"%s\") should come without a "
		         "descriptor; it came with the one of \"%s\"",
		    i, tag, g->fd_tag);
	if (fd_tag != NULL && !g->had_fd)
		fail_msg("message %zu (\"%s\") should come with the "
		         "descriptor of \"%s\"; it came without one",
		    i, tag, fd_tag);
	if (fd_tag != NULL && strcmp(g->fd_tag, fd_tag) != 0)
		fail_msg("message %zu (\"%s\") got the descriptor of \"%s\", "
		         "expected that of \"%s\"",
		    i, tag, g->fd_tag, fd_tag);
}

/* The channel is open and exactly n messages came. */
static void
expect_open_with(const struct rx *rx, size_t n)
{
	if (rx->closed)
		fail_msg("expected the channel to stay open; it closed after "
		         "%zu messages",
		    rx->ngot);
	if (rx->ngot != n)
		fail_msg("expected %zu messages, %zu came", n, rx->ngot);
}

/* ------------------------------------------------------------- honest */

static void
descriptors_go_to_their_messages(void **state)
{
	struct rx *rx = rx_new(0);

	(void)state;
	ipc_send(rx->send, 1, 1, "a", 1, tagged_fd("a"));
	ipc_send(rx->send, 2, 2, "b", 1, -1);
	ipc_send(rx->send, 3, 3, "c", 1, tagged_fd("c"));
	ipc_send(rx->send, 4, 4, "d", 1, tagged_fd("d"));
	ipc_send(rx->send, 5, 5, "e", 1, -1);
	rx_run(rx, 5);
	expect_open_with(rx, 5);
	expect_msg(rx, 0, 1, "a", "a");
	expect_msg(rx, 1, 2, "b", NULL);
	expect_msg(rx, 2, 3, "c", "c");
	expect_msg(rx, 3, 4, "d", "d");
	expect_msg(rx, 4, 5, "e", NULL);
	if (rx->got[2].id != 3)
		fail_msg("expected id 3, got %u", rx->got[2].id);
	rx_free(rx);
}

/*
 * Hundreds of messages queued at once leave in few system calls, and
 * many of them are large: a call's octets arrive in several reads.
 * Every descriptor must still reach its own message.
 */
static void
many_messages_in_one_batch(void **state)
{
	enum { N = 300 };
	struct rx *rx = rx_new(0);
	char *payload = malloc(64 * 1024);
	size_t i;

	(void)state;
	assert_non_null(payload);
	for (i = 0; i < N; i++) {
		char tag[32];
		size_t len = i % 7 == 3 ? 40 * 1024 + i : 20 + i % 13;
		int n = snprintf(tag, sizeof(tag), "m%zu|", i);

		memset(payload, 'x', len);
		memcpy(payload, tag, (size_t)n);
		ipc_send(rx->send, (uint16_t)(100 + i % 50), (uint32_t)i,
		    payload, len,
		    i % 3 == 0 || i % 11 == 5 ? tagged_fd(tag) : -1);
	}
	free(payload);
	rx_run(rx, N);
	expect_open_with(rx, N);
	for (i = 0; i < N; i++) {
		char tag[32], fd_tag[32];

		snprintf(tag, sizeof(tag), "m%zu", i);
		snprintf(fd_tag, sizeof(fd_tag), "m%zu|", i);
		expect_msg(rx, i, (uint16_t)(100 + i % 50), tag,
		    i % 3 == 0 || i % 11 == 5 ? fd_tag : NULL);
		if (rx->got[i].id != i)
			fail_msg("message %zu: expected id %zu, got %u", i, i,
			    rx->got[i].id);
	}
	rx_free(rx);
}

/*
 * A read of a stream socket may bring earlier octets together with the
 * segment that carries a descriptor: the descriptor still goes to the
 * message that announces it, not to the first one of the read.
 */
static void
descriptor_read_with_earlier_messages(void **state)
{
	struct rx *rx = rx_new(1);
	int fd = tagged_fd("late");

	(void)state;
	raw_send(rx, 1, 0, "early", NULL, 0);
	raw_send(rx, 2, 0, "early2", NULL, 0);
	raw_send(rx, 3, FLAG_FD, "late", &fd, 1);
	close(fd);
	rx_run(rx, 3);
	expect_open_with(rx, 3);
	expect_msg(rx, 0, 1, "early", NULL);
	expect_msg(rx, 1, 2, "early2", NULL);
	expect_msg(rx, 2, 3, "late", "late");
	rx_free(rx);
}

/* An end of file is no fault of the peer's. */
static void
end_of_stream_is_not_broken(void **state)
{
	struct rx *rx = rx_new(1);

	(void)state;
	raw_send(rx, 1, 0, "last", NULL, 0);
	close(rx->raw);
	rx->raw = -1;
	rx_run(rx, 99);
	if (!rx->closed || rx->broken)
		fail_msg("expected the channel to close, not broken, at the "
		         "end of the stream; closed=%d broken=%d",
		    rx->closed, rx->broken);
	expect_msg(rx, 0, 1, "last", NULL);
	rx_free(rx);
}

/* ---------------------------------------------------------- dishonest */

/*
 * A descriptor sent with a message that does not announce one is not
 * kept for the next message that does: the channel closes.
 */
static void
unannounced_descriptor_closes_the_channel(void **state)
{
	struct rx *rx = rx_new(1);
	int x = tagged_fd("stray"), y = tagged_fd("own");
	size_t i;

	(void)state;
	raw_send(rx, 1, 0, "plain", &x, 1);
	raw_send(rx, 2, FLAG_FD, "wants", &y, 1);
	close(x);
	close(y);
	rx_run(rx, 2);
	if (!rx->closed || !rx->broken)
		fail_msg("expected the channel to close, broken by the peer, "
		         "after a descriptor that no message announced; "
		         "closed=%d broken=%d, %zu messages came",
		    rx->closed, rx->broken, rx->ngot);
	for (i = 0; i < rx->ngot; i++)
		if (rx->got[i].had_fd)
			fail_msg("message \"%s\" got the descriptor of \"%s\"",
			    rx->got[i].tag, rx->got[i].fd_tag);
	rx_free(rx);
}

/* The stray descriptor's message is the last one: nobody comes later. */
static void
unannounced_descriptor_alone_closes_the_channel(void **state)
{
	struct rx *rx = rx_new(1);
	int x = tagged_fd("stray");

	(void)state;
	raw_send(rx, 1, 0, "plain", &x, 1);
	close(x);
	rx_run(rx, 99);
	if (!rx->closed)
		fail_msg("expected the channel to close; it stayed open");
	if (rx->ngot > 1)
		fail_msg(
		    "expected at most the one message, %zu came", rx->ngot);
	rx_free(rx);
}

static void
missing_descriptor_closes_the_channel(void **state)
{
	struct rx *rx = rx_new(1);

	(void)state;
	raw_send(rx, 1, FLAG_FD, "wants", NULL, 0);
	rx_run(rx, 1);
	if (!rx->closed || rx->ngot != 0)
		fail_msg("expected the channel to close without delivering "
		         "a message that announces a descriptor it lacks; "
		         "closed=%d, %zu messages came",
		    rx->closed, rx->ngot);
	rx_free(rx);
}

/*
 * The descriptor comes with the first octets of its message, the rest of
 * the message later: it waits for its message.
 */
static void
descriptor_with_the_first_part_of_its_message(void **state)
{
	struct rx *rx = rx_new(1);
	unsigned char h[IPC_HEADER + 4] = {4, 0, 0, 0, 7, 0, FLAG_FD};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	int x = tagged_fd("split"), i;

	(void)state;
	memcpy(h + IPC_HEADER, "abcd", 4);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = h;
	iov.iov_len = 6;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &x, sizeof(int));
	assert_int_equal(sendmsg(rx->raw, &mh, 0), 6);
	close(x);
	for (i = 0; i < 20; i++)
		uv_run(&rx->loop, UV_RUN_NOWAIT);
	expect_open_with(rx, 0);
	assert_int_equal(
	    write(rx->raw, h + 6, sizeof(h) - 6), (ssize_t)sizeof(h) - 6);
	rx_run(rx, 1);
	expect_open_with(rx, 1);
	expect_msg(rx, 0, 7, "abcd", "split");
	rx_free(rx);
}

/* More descriptors in one message than a read takes: the kernel cuts
 * them short; those that came are closed with the channel. */
static void
too_many_descriptors_in_one_message(void **state)
{
	struct rx *rx = rx_new(1);
	int fds[40];
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++)
		fds[i] = tagged_fd("many");
	raw_send(rx, 1, FLAG_FD, "many", fds, 40);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	rx_run(rx, 99);
	if (!rx->closed)
		fail_msg("expected the channel to close after 40 descriptors "
		         "in one message; it stayed open");
	rx_free(rx); /* fails if one of them is still open */
}

/*
 * Descriptors that fill the channel's queue while a header is still
 * incomplete, then more: every one of them is closed, none leaks.
 */
static void
too_many_descriptors_queued(void **state)
{
	struct rx *rx = rx_new(1);
	unsigned char one = 0;
	int fds[16];
	size_t i, k;

	(void)state;
	for (k = 0; k < 6 && !rx->closed; k++) {
		union {
			char buf[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr align;
		} cm;
		struct msghdr mh;
		struct iovec iov;
		struct cmsghdr *c;

		for (i = 0; i < 16; i++)
			fds[i] = tagged_fd("queued");
		memset(&mh, 0, sizeof(mh));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = &one;
		iov.iov_len = 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
		assert_int_equal(sendmsg(rx->raw, &mh, 0), 1);
		for (i = 0; i < 16; i++)
			close(fds[i]);
		/* One read per descriptor-carrying segment. */
		rx_run(rx, 0);
		for (i = 0; i < 20 && !rx->closed; i++)
			uv_run(&rx->loop, UV_RUN_NOWAIT);
	}
	if (!rx->closed)
		fail_msg("expected the channel to close once 96 descriptors "
		         "came with an unfinished header; it stayed open");
	rx_free(rx); /* fails if one of them is still open */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(descriptors_go_to_their_messages),
	    cmocka_unit_test(many_messages_in_one_batch),
	    cmocka_unit_test(descriptor_read_with_earlier_messages),
	    cmocka_unit_test(end_of_stream_is_not_broken),
	    cmocka_unit_test(unannounced_descriptor_closes_the_channel),
	    cmocka_unit_test(unannounced_descriptor_alone_closes_the_channel),
	    cmocka_unit_test(missing_descriptor_closes_the_channel),
	    cmocka_unit_test(descriptor_with_the_first_part_of_its_message),
	    cmocka_unit_test(too_many_descriptors_in_one_message),
	    cmocka_unit_test(too_many_descriptors_queued),
	};

	uv_loop_t warm;

	log_init("ipc_test", 0, 0);
	/* libuv opens descriptors of its own once per process: before the
	 * tests count theirs. */
	uv_loop_init(&warm);
	uv_loop_close(&warm);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
