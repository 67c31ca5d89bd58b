/*
 * fuzz_smtp_session - the whole SMTP server state machine (smtp_proto.h),
 * driven the way the session glue drives it.
 *
 * Input:
 *   0      bit 0: lenient line endings; bit 1: accept text glued to DATA;
 *          bits 2-3: VRFY mode; bits 4-6: greeting (index into greets);
 *          bit 7: verified client name and custom greeting text
 *   1      bits 0-2: size limit (index into size_limits); bit 3: the
 *          client reads no replies (they pile up until the machine stops
 *          taking its input)
 *   2      recipient limit (0: 1000)
 *   3      error limit (0: 10)
 *   4      command line limit (index into line_limits)
 *   5      message line limit (index into text_limits)
 *   6      F: length of the feed control bytes
 *   7      A: length of the answer control bytes
 *   8      F feed control bytes: how many octets arrive each time
 *          (0: all the rest), or an event (timeout, shutdown, EOF)
 *   8+F    A answer control bytes: the glue's answer to each request (a
 *          status, or a lookup verdict, odd ones included)
 *   8+F+A  what the client sends
 * Control bytes run out into defaults: everything arrives at once, every
 * request is granted.  So a seed is 8 zero octets and an SMTP dialogue.
 *
 * Checked: the reply syntax (code, continuation, enhanced codes: none on
 * 3xx and on the 220/554 greetings, class-matching on the others), that
 * replies are printable (UTF-8 only where an address is named) and logs
 * have no control octets, that a close follows a reply telling
 * why (221, 421, 521, 552), that message octets appear only between a
 * granted OPEN and the COMMIT or abort and match the size in COMMIT, that
 * a committed DATA text is what fuzz_ref.h makes of the input and ends at
 * its first CRLF "." CRLF, that a committed BDAT message is its chunks
 * and ends with the LAST one, that a DATA message never just stays open,
 * that feed uses no more than it got and nothing while a request is
 * pending or after close, and that a timeout, EOF or shutdown (once the
 * pending request is answered) closes the session.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/buf.h"
#include "../../src/common/strutil.h"
#include "../../src/common/xmem.h"
#include "../../src/smtp/addr.h"
#include "../../src/smtp/smtp_proto.h"
#include "fuzz_ref.h"
#include "fuzz_util.h"

#define HOST "mx.example.org"
#define HDR 8
#define REPLY_LINE_MAX 512

static const uint64_t size_limits[8] = {
    1u << 20, 16, 100, 1000, 1024, 4096, 65536, 50u << 20};
static const size_t line_limits[8] = {2048, 512, 16, 64, 1000, 4096, 65536, 8};
static const uint64_t text_limits[8] = {
    1000, 78, 998, 10, 1001, 2000, 64, 1u << 20};
static const enum smtp_greet greets[8] = {SMTP_GREET_OK, SMTP_GREET_OK,
    SMTP_GREET_BUSY, SMTP_GREET_REJECT, SMTP_GREET_NOMAIL, SMTP_GREET_SHUTDOWN,
    SMTP_GREET_TEMPFAIL, SMTP_GREET_BUSY_CLIENT};

struct sess {
	struct smtp_proto *p;
	struct smtp_out *out;
	struct smtp_proto_conf conf;
	struct fuzz_ctl feed_ctl, ans_ctl;

	int closed;       /* out->close seen */
	int eof_called;   /* we closed it from outside */
	int shutdown;     /* smtp_proto_shutdown was called */
	int slow;         /* the client reads no replies: never drain them */
	size_t reply_off; /* replies checked so far (slow client) */
	int stalled;      /* replies unread: the machine took no more */
	int last_code;    /* of the last reply line */
	int nlines;       /* reply lines seen */
	int cont;         /* the last line was "NNN-" */
	int cont_code;    /* its code */
	int cont_plain;   /* a multi-line EHLO reply (no enhanced codes) */
	int saw_354;      /* a 354 went out since the flag was cleared */

	const char *in; /* what the client sends */
	size_t n;
	size_t pos;      /* octets of it consumed */
	size_t open_pos; /* where the text of the open message starts */

	int msg_open;   /* between a granted OPEN and COMMIT/abort */
	int msg_data;   /* the open message came through DATA */
	int expect_hdr; /* the Received: header is due */
	char *msg;      /* octets of the open message, header included */
	size_t msglen, msgcap, hdrlen;
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does text start with an enhanced status code "c.s.d" (RFC 3463)? */
static int
has_esc(const char *t, size_t n)
{
	size_t i = 0, k;

	for (int part = 0; part < 3; part++) {
		k = i;
		while (i < n && is_digit(t[i]) && i - k < 3)
			i++;
		if (i == k)
			return 0;
		if (part < 2) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	return i == n || t[i] == ' ';
}

static int
has_control(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

static void
check_reply_line(struct sess *s, const char *l, size_t n)
{
	const char *t = l + 4;
	size_t tn;
	int code;

	FUZZ_CHECK(n >= 6 && n <= REPLY_LINE_MAX, "reply line of %zu", n);
	tn = n - 6;
	FUZZ_CHECK(l[n - 2] == '\r' && l[n - 1] == '\n', "reply without CRLF");
	/* Addresses the machine names may be UTF-8 (RFC 6531), never
	 * anything else. */
	FUZZ_CHECK(fuzz_printable(l, n - 2) ||
	        (utf8_valid(l, n - 2, NULL) && !has_control(l, n - 2)),
	    "unprintable reply \"%.*s\"", (int)n - 2, l);
	FUZZ_CHECK(l[0] >= '2' && l[0] <= '5' && is_digit(l[1]) &&
	        is_digit(l[2]) && (l[3] == ' ' || l[3] == '-'),
	    "bad reply \"%.*s\"", (int)n - 2, l);
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (s->cont)
		FUZZ_CHECK(code == s->cont_code, "multi-line reply %d then %d",
		    s->cont_code, code);
	else
		s->cont_plain = code == 250 && tn >= strlen(HOST) &&
		    memcmp(t, HOST, strlen(HOST)) == 0;

	if (code / 100 == 3 || (s->nlines == 0 && (code == 220 || code == 554)))
		FUZZ_CHECK(!has_esc(t, tn),
		    "enhanced code in \"%.*s\" (3xx or greeting)", (int)n - 2,
		    l);
	else if (!s->cont_plain)
		FUZZ_CHECK(has_esc(t, tn) && t[0] == l[0],
		    "missing or wrong enhanced code in \"%.*s\"", (int)n - 2,
		    l);
	if (code == 354)
		s->saw_354 = 1;
	s->cont = l[3] == '-';
	s->cont_code = code;
	s->last_code = code;
	s->nlines++;
}

static void
check_log(const char *p, size_t n)
{
	size_t i;

	FUZZ_CHECK(p[n - 1] == '\n', "log line without LF");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		FUZZ_CHECK(c == '\n' || (c >= 0x20 && c != 0x7f),
		    "control octet 0x%02x in the log", c);
	}
}

static void
msg_append(struct sess *s, const char *p, size_t n)
{
	if (s->msglen + n > s->msgcap) {
		s->msgcap = (s->msglen + n) * 2;
		s->msg = xreallocarray(s->msg, s->msgcap, 1);
	}
	memcpy(s->msg + s->msglen, p, n);
	s->msglen += n;
}

static void
msg_close(struct sess *s)
{
	s->msg_open = 0;
	s->msglen = 0;
	s->hdrlen = 0;
}

static void
check_header(const char *h, size_t n)
{
	size_t i;

	FUZZ_CHECK(n > 15 && memcmp(h, "Received: from ", 15) == 0,
	    "message does not start with Received:");
	FUZZ_CHECK(h[n - 2] == '\r' && h[n - 1] == '\n',
	    "Received: not ended by CRLF");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '\r')
			FUZZ_CHECK(i + 1 < n && h[i + 1] == '\n' &&
			        (i + 2 == n || h[i + 2] == '\t'),
			    "Received: line not folded with CRLF TAB");
		else if (c == '\n')
			FUZZ_CHECK(
			    i > 0 && h[i - 1] == '\r', "bare LF in Received:");
		else
			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f),
			    "control octet 0x%02x in Received:", c);
	}
}

/* What the glue does after each call: send, store, log, abort. */
static void
drain(struct sess *s)
{
	struct smtp_out *o = s->out;
	size_t i, start;

	if (s->closed)
		FUZZ_CHECK(o->reply.len == s->reply_off && o->body.len == 0,
		    "output after close");
	for (start = i = s->reply_off; i < o->reply.len; i++) {
		if (o->reply.data[i] != '\n')
			continue;
		check_reply_line(s, o->reply.data + start, i + 1 - start);
		start = i + 1;
	}
	FUZZ_CHECK(start == o->reply.len, "partial reply line");
	/* The machine stops taking input while replies wait, long before
	 * its buffer is full: however many commands come at once, no
	 * client is dropped for it. */
	FUZZ_CHECK(o->reply.len <= o->reply.max / 2,
	    "%zu octets of replies piled up (buffer %zu)", o->reply.len,
	    o->reply.max);
	if (s->slow)
		s->reply_off = o->reply.len;
	else
		o->reply.len = 0;

	if (o->body.len > 0) {
		FUZZ_CHECK(s->msg_open, "%zu message octets, no message open",
		    o->body.len);
		msg_append(s, o->body.data, o->body.len);
		o->body.len = 0;
	}
	if (s->expect_hdr) {
		s->expect_hdr = 0;
		s->hdrlen = s->msglen;
		check_header(s->msg, s->msglen);
	}
	if (o->log.len > 0) {
		check_log(o->log.data, o->log.len);
		o->log.len = 0;
	}
	if (o->abort_msg) {
		FUZZ_CHECK(s->msg_open, "abort without an open message");
		o->abort_msg = 0;
		msg_close(s);
	}
	if (o->close && !s->closed) {
		s->closed = 1;
		/* The client is told why, unless it stopped reading. */
		FUZZ_CHECK(!s->cont, "closed inside a multi-line reply");
		if (!s->eof_called)
			FUZZ_CHECK(s->last_code == 221 || s->last_code == 421 ||
			        s->last_code == 521 || s->last_code == 552,
			    "closed after a %d reply", s->last_code);
	}
}

/* The glue learns of a timeout, a shutdown or the client's EOF. */
static void
event(struct sess *s, unsigned ev)
{
	int was_closed = s->closed;

	if (ev == 0xff) {
		smtp_proto_timeout(s->p);
		drain(s);
		FUZZ_CHECK(s->closed, "still open after a timeout");
	} else if (ev == 0xfe) {
		s->shutdown = 1;
		smtp_proto_shutdown(s->p);
		drain(s);
		FUZZ_CHECK(s->closed || smtp_proto_request(s->p) != NULL,
		    "still open after a shutdown");
	} else if (ev == 0xfd) {
		s->eof_called = !was_closed;
		smtp_proto_eof(s->p);
		drain(s);
		FUZZ_CHECK(s->closed, "still open after EOF");
	}
}

/*
 * A command line the machine takes as "BDAT size [LAST]": l[0..len) is
 * the line with its LF, as command_line sees it.
 */
static int
bdat_line(
    const struct sess *s, const char *l, size_t len, uint64_t *size, int *last)
{
	struct smtp_cmd c;

	if (len > s->conf.line_limit)
		return 0;
	len--;
	if (len > 0 && l[len - 1] == '\r')
		len--;
	if (memchr(l, '\r', len) != NULL || memchr(l, '\0', len) != NULL)
		return 0;
	smtp_cmd_parse(l, len, &c);
	return c.verb == SMTP_V_BDAT &&
	    smtp_parse_bdat(c.arg, c.arglen, size, last) == 0;
}

/*
 * A BDAT message is its chunks, in order, whatever other commands come
 * between them, and the COMMIT comes right after the LAST chunk.
 */
static void
check_bdat_framing(const struct sess *s, const char *m, size_t mlen)
{
	const char *in = s->in, *lf;
	size_t ls = s->open_pos - 1, q, off = 0;
	uint64_t size;
	int last;

	/* The line that opened the message ends just before open_pos. */
	while (ls > 0 && in[ls - 1] != '\n')
		ls--;
	if (!bdat_line(s, in + ls, s->open_pos - ls, &size, &last))
		return; /* a chunk glued to it: that line starts elsewhere */
	q = s->open_pos;
	for (;;) {
		FUZZ_CHECK(size <= s->n - q && size <= mlen - off &&
		        memcmp(m + off, in + q, (size_t)size) == 0,
		    "BDAT chunk of %llu at %zu is not what was committed",
		    (unsigned long long)size, q);
		off += (size_t)size;
		q += (size_t)size;
		if (last)
			break;
		do {
			lf = memchr(in + q, '\n', s->n - q);
			FUZZ_CHECK(lf != NULL, "COMMIT without BDAT LAST");
			ls = q;
			q = (size_t)(lf - in) + 1;
		} while (!bdat_line(s, in + ls, q - ls, &size, &last));
	}
	FUZZ_CHECK(
	    off == mlen, "committed %zu octets, chunks hold %zu", mlen, off);
	FUZZ_CHECK(
	    q == s->pos, "COMMIT at %zu, LAST chunk ends at %zu", s->pos, q);
}

/* DATA text is what the reference reader makes of the input. */
static void
check_data_text(const struct sess *s, const char *m, size_t mlen)
{
	struct ref r;

	ref_data(
	    s->in + s->open_pos, s->n - s->open_pos, s->conf.strict_eol, &r);
	FUZZ_CHECK(r.st == SMTP_DATA_END, "COMMIT, but the text has no end");
	FUZZ_CHECK(s->open_pos + r.used == s->pos,
	    "COMMIT at %zu, the text ends at %zu", s->pos,
	    s->open_pos + r.used);
	FUZZ_CHECK(r.outlen == mlen && memcmp(r.out, m, mlen) == 0,
	    "committed text (%zu octets) differs from the reference (%zu)",
	    mlen, r.outlen);
	free(r.out);
}

/* The message the machine asks to commit. */
static void
check_message(struct sess *s, const struct smtp_req *rq)
{
	const char *m = s->msg + s->hdrlen;
	size_t n = s->msglen - s->hdrlen, i, ls = 0, len;

	FUZZ_CHECK(rq->size == n, "COMMIT of %llu octets, %zu produced",
	    (unsigned long long)rq->size, n);
	FUZZ_CHECK(smtp_proto_txn(s->p)->size == n, "txn size %llu, %zu",
	    (unsigned long long)smtp_proto_txn(s->p)->size, n);
	FUZZ_CHECK(n <= s->conf.size_limit, "message over the size limit");
	FUZZ_CHECK(memchr(m, '\0', n) == NULL, "NUL in a committed message");
	FUZZ_CHECK(smtp_proto_txn(s->p)->nrcpt > 0, "commit without rcpts");
	for (i = 0; i < n; i++) {
		if (s->msg_data) {
			if (m[i] == '\n')
				FUZZ_CHECK(i > 0 && m[i - 1] == '\r',
				    "bare LF in DATA text");
			if (m[i] == '\r' && s->conf.strict_eol)
				FUZZ_CHECK(i + 1 < n && m[i + 1] == '\n',
				    "bare CR in strict DATA text");
		}
		if (m[i] != '\n' && i + 1 < n)
			continue;
		/*
		 * Line length as the reader counts it, line end included;
		 * lenient DATA may have turned a bare LF (not counted) into
		 * CRLF, so only the content is sure to have been counted.
		 */
		len = i + 1 - ls;
		if (m[i] == '\n' && s->msg_data && !s->conf.strict_eol)
			len -= 2;
		FUZZ_CHECK(len <= s->conf.text_line_limit,
		    "line of %zu octets committed", len);
		ls = i + 1;
	}
	if (s->msg_data)
		FUZZ_CHECK(
		    n == 0 || (n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n'),
		    "DATA text not ended by CRLF");
	if (s->msg_data)
		check_data_text(s, m, n);
	else
		check_bdat_framing(s, m, n);
}

static void
add_final(struct smtp_answer *a, const char *addr)
{
	struct lookup_reply *lr = &a->lookup;

	lr->final =
	    xreallocarray(lr->final, lr->nfinal + 1, sizeof(*lr->final));
	lr->final[lr->nfinal++] = xstrdup(addr);
}

static void
verdict(struct smtp_answer *a, enum lookup_verdict v, const char *arg)
{
	a->lookup.verdict = v;
	snprintf(a->lookup.arg, sizeof(a->lookup.arg), "%s", arg ? arg : "");
}

static void
answer(struct sess *s, const struct smtp_req *rq)
{
	struct smtp_answer a;
	char addr[ADDR_PATH_MAX + 1];
	unsigned ev = fuzz_ctl_byte(&s->ans_ctl);
	unsigned c = fuzz_ctl_byte(&s->ans_ctl);
	enum smtp_req_type type = rq->type;
	int was_closed = s->closed;

	/* Once closed the request is stale; the glue may still answer. */
	memset(&a, 0, sizeof(a));
	switch (type) {
	case SMTP_REQ_MAIL:
		FUZZ_CHECK(rq->addr != NULL, "MAIL request without sender");
		FUZZ_CHECK(rq->size <= s->conf.size_limit, "SIZE over limit");
		switch (c % 4) {
		case 1:
			a.status = SMTP_S_QUEUE_FULL;
			break;
		case 2:
			a.status = SMTP_S_QUEUE_UNAVAILABLE;
			break;
		case 3:
			a.status = SMTP_S_QUEUE_FAILED; /* no answer to MAIL */
			break;
		}
		break;
	case SMTP_REQ_RCPT:
	case SMTP_REQ_VRFY:
		FUZZ_CHECK(rq->addr != NULL && rq->addr->local[0] != '\0',
		    "RCPT or VRFY request without an address");
		FUZZ_CHECK(type == SMTP_REQ_VRFY || rq->rcpt_params != NULL,
		    "RCPT request without parameters");
		addr_format(rq->addr, addr, sizeof(addr));
		/* Every verdict in either context, the odd ones included (a
		 * peer is not trusted to send only what fits). */
		switch (c % 16) {
		case 0:
			add_final(&a, addr);
			break;
		case 1:
			add_final(&a, addr);
			add_final(&a, "alias@example.org");
			break;
		case 2:
			verdict(&a, LOOKUP_V_FORWARD, "b@new.example");
			add_final(&a, "b@new.example");
			break;
		case 3:
			break; /* accepted for nowhere */
		case 4:
			verdict(&a, LOOKUP_V_RELOCATED, "b@new.example");
			break;
		case 5:
			verdict(&a, LOOKUP_V_RELOCATED, NULL);
			break;
		case 6:
			verdict(&a, LOOKUP_V_UNKNOWN_USER, NULL);
			a.lookup.table =
			    c & 16 ? LOOKUP_T_VIRTUAL : LOOKUP_T_LOCAL;
			break;
		case 7:
			verdict(&a, LOOKUP_V_BAD_MAILBOX, NULL);
			break;
		case 8:
			verdict(&a, LOOKUP_V_RELAY_DENIED, NULL);
			break;
		case 9:
			verdict(&a, LOOKUP_V_ACCESS_REJECT,
			    c & 16 ? "Not from you" : NULL);
			break;
		case 10:
			verdict(&a, LOOKUP_V_ACCESS_DEFER,
			    c & 16 ? "Greylisted" : NULL);
			break;
		case 11:
			verdict(&a, LOOKUP_V_ALIAS_FAILED, NULL);
			add_final(
			    &a, addr); /* not taken: freed by the machine */
			break;
		case 12:
			verdict(&a, LOOKUP_V_TABLE_ERROR, NULL);
			break;
		case 13:
			verdict(&a, LOOKUP_V_TEMPFAIL, NULL);
			break;
		case 14:
			verdict(&a, LOOKUP_V_NOT_LOCAL, NULL);
			break;
		case 15:
			verdict(
			    &a, (enum lookup_verdict)(LOOKUP_V_LAST + 1), NULL);
			break;
		}
		break;
	case SMTP_REQ_OPEN:
		s->open_pos = s->pos;
		FUZZ_CHECK(
		    was_closed || !s->msg_open, "OPEN while a message is open");
		FUZZ_CHECK(was_closed || smtp_proto_txn(s->p)->nrcpt > 0,
		    "OPEN without rcpt");
		if (c % 4 == 1)
			a.status = SMTP_S_QUEUE_FAILED;
		else if (c % 4 == 2)
			a.status = SMTP_S_QUEUE_FULL;
		snprintf(a.id, sizeof(a.id), "%s", "7QKR2B00000042");
		snprintf(a.date, sizeof(a.date), "%s",
		    "Thu, 01 Jan 2026 00:00:00 +0000");
		break;
	case SMTP_REQ_COMMIT:
		FUZZ_CHECK(was_closed || s->msg_open,
		    "COMMIT without an open message");
		if (!was_closed)
			check_message(s, rq);
		if (c % 3 == 1)
			a.status = SMTP_S_QUEUE_FAILED;
		else if (c % 3 == 2)
			a.status = SMTP_S_QUEUE_UNAVAILABLE;
		break;
	case SMTP_REQ_STATUS:
		a.queued = c;
		a.show_queued = c & 1;
		break;
	case SMTP_REQ_NONE:
		FUZZ_CHECK(0, "request of type NONE");
	}

	/* The glue may learn of a timeout, shutdown or EOF meanwhile. */
	event(s, ev);

	/* rq points into the machine: it is cleared by the answer. */
	was_closed = s->closed;
	s->saw_354 = 0;
	smtp_proto_answer(s->p, &a);
	FUZZ_CHECK(a.lookup.final == NULL && a.lookup.nfinal == 0,
	    "final[] not taken or freed by the machine");
	if (type == SMTP_REQ_OPEN && a.status == SMTP_S_OK && !was_closed) {
		s->msg_open = 1;
		s->expect_hdr = 1;
	}
	/* Once asked to commit, the glue owns the message, closed or not. */
	if (type == SMTP_REQ_COMMIT)
		msg_close(s);
	drain(s);
	if (type == SMTP_REQ_OPEN && s->msg_open)
		s->msg_data = s->saw_354;
}

/* Feed as much as is pending; returns the octets used. */
static size_t
feed(struct sess *s, const char *in, size_t n)
{
	size_t used, used2;

	used = smtp_proto_feed(s->p, in, n);
	FUZZ_CHECK(used <= n, "feed used %zu of %zu", used, n);
	if (s->closed)
		FUZZ_CHECK(used == 0, "input consumed after close");
	/* A machine that takes nothing must say why, or the glue spins:
	 * a request, a close, message octets, or replies to send first. */
	if (used == 0 && n > 0)
		FUZZ_CHECK(smtp_proto_request(s->p) != NULL || s->out->close ||
		        s->out->body.len > 0 || s->out->reply.len > 0,
		    "no progress");
	if (smtp_proto_request(s->p) != NULL && used < n) {
		size_t before = s->out->reply.len;

		used2 = smtp_proto_feed(s->p, in + used, n - used);
		FUZZ_CHECK(used2 == 0 && s->out->reply.len == before,
		    "input consumed while a request is pending");
	}
	drain(s);
	return used;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sess s;
	struct smtp_client client;
	const struct smtp_req *rq;
	const char *in;
	char stats[512];
	size_t n, avail = 0, fl, al;
	unsigned flags, greet;
	enum smtp_greet how;

	if (size < HDR)
		return 0;
	memset(&s, 0, sizeof(s));
	flags = data[0];
	s.conf.hostname = HOST;
	s.conf.strict_eol = !(flags & 1);
	s.conf.reject_unsync_data = !(flags & 2);
	s.conf.vrfy = (enum smtp_vrfy_mode)(((flags >> 2) & 3) % 3);
	s.conf.size_limit = size_limits[data[1] & 7];
	s.conf.rcpt_limit = data[2] == 0 ? 1000 : data[2];
	s.conf.error_limit = data[3] == 0 ? 10 : data[3];
	s.conf.line_limit = line_limits[data[4] & 7];
	s.conf.text_line_limit = text_limits[data[5] & 7];
	fl = data[6] < size - HDR ? data[6] : size - HDR;
	al = data[7] < size - HDR - fl ? data[7] : size - HDR - fl;
	fuzz_ctl_init(&s.feed_ctl, data + HDR, fl);
	fuzz_ctl_init(&s.ans_ctl, data + HDR + fl, al);
	n = size - HDR - fl - al;
	/* A private copy, so that reading past the end is caught. */
	in = memcpy(xmalloc(n), data + HDR + fl + al, n);
	s.in = in;
	s.n = n;

	memset(&client, 0, sizeof(client));
	snprintf(client.addr, sizeof(client.addr), "192.0.2.1");
	snprintf(client.name, sizeof(client.name), "%s",
	    flags & 0x80 ? "client.example.net" : "unknown");
	s.p = smtp_proto_new(&s.conf, &client);
	s.out = smtp_proto_out(s.p);

	greet = (flags >> 4) & 7;
	how = greets[greet];
	s.slow = (data[1] & 8) != 0;
	smtp_proto_greet(s.p, how, flags & 0x80 ? "Go away" : NULL);
	drain(&s);

	while (!s.closed) {
		unsigned f;

		if ((rq = smtp_proto_request(s.p)) != NULL) {
			answer(&s, rq);
			continue;
		}
		FUZZ_CHECK(!s.shutdown, "a shutdown did not close the session");
		/* A DATA message ends in COMMIT or abort, never just stops. */
		FUZZ_CHECK(
		    !s.msg_open || !s.msg_data || smtp_proto_in_data(s.p),
		    "DATA message neither committed nor aborted");
		if (s.pos < avail) {
			size_t used = feed(&s, in + s.pos, avail - s.pos);

			s.pos += used;
			/* Replies nobody reads: the glue stops reading too,
			 * until a timeout ends the session. */
			if (used == 0 && s.slow &&
			    smtp_proto_request(s.p) == NULL && !s.closed) {
				s.stalled = 1;
				break;
			}
			continue;
		}
		if (s.pos == n)
			break;
		/* More octets arrive, or something happens. */
		f = fuzz_ctl_byte(&s.feed_ctl);
		if (f >= 0xfd) {
			event(&s, f);
		} else if (f == 0) {
			avail = n;
		} else {
			size_t k = f < 0x80 ? f : (size_t)(f - 0x7f) * 64;

			avail = s.pos + (k < n - s.pos ? k : n - s.pos);
		}
	}

	/* The client goes away (or lingers until a timeout). */
	if (!s.closed)
		event(&s, fuzz_ctl_byte(&s.feed_ctl) & 1 ? 0xff : 0xfd);
	FUZZ_CHECK(s.closed, "not closed after EOF or timeout");
	/* Nothing more happens once closed. */
	if (s.pos < n)
		feed(&s, in + s.pos, n - s.pos);
	smtp_proto_timeout(s.p);
	smtp_proto_shutdown(s.p);
	if ((rq = smtp_proto_request(s.p)) != NULL)
		answer(&s, rq);
	drain(&s);
	FUZZ_CHECK(!s.msg_open, "message left open after close");

	(void)smtp_proto_in_data(s.p);
	(void)smtp_proto_refusing(s.p);
	FUZZ_CHECK(smtp_proto_protocol(s.p) != NULL, "no protocol name");
	FUZZ_CHECK(memchr(smtp_proto_helo(s.p), '\0', 256) != NULL,
	    "HELO name not terminated");
	smtp_proto_stats(s.p, stats, sizeof(stats));
	FUZZ_CHECK(
	    memchr(stats, '\0', sizeof(stats)) != NULL, "stats not terminated");

	smtp_proto_free(s.p);
	free(s.msg);
	free((void *)(uintptr_t)in);
	return 0;
}
