/*
 * Unit tests of the SMTP server state machine: dialogues fed as bytes,
 * requests answered from a small script, every reply checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../common/buf.h"
#include "../common/strutil.h"
#include "../common/xmem.h"
#include "smtp_proto.h"

#define HOST "mx.example.org"
#define MSG_ID "4QF7K2M9XJ0001"
#define MSG_DATE "Mon, 1 Jan 2024 00:00:00 +0000"
#define HELO_LINE "EHLO client.example\r\n"
#define FROM_LINE "MAIL FROM:<alice@example.net>\r\n"
#define RCPT_LINE "RCPT TO:<bob@example.org>\r\n"

/* ------------------------------------------------------------ harness */

/* An answer the glue gives to the next request of its type. */
struct scripted {
	enum smtp_req_type type;
	enum smtp_status status;     /* MAIL, OPEN, COMMIT */
	enum lookup_verdict verdict; /* RCPT, VRFY */
	enum lookup_table table;
	const char *arg;
	const char *final; /* accepted: the expansion (default: the address) */
	int no_final;      /* accepted with no expansion at all */
	uint64_t queued;   /* STATUS */
	int show_queued;
};

struct seen_req {
	enum smtp_req_type type;
	char addr[ADDR_PATH_MAX + 1];
	uint64_t size;
	int new_message;
};

struct sess {
	struct smtp_proto_conf conf;
	struct smtp_client client;
	struct smtp_proto *p;
	int manual; /* leave requests pending for the test to answer */

	struct scripted script[16];
	size_t nscript, next_script;

	struct buf replies; /* every reply octet, in order */
	size_t rpos;        /* replies read by the test so far */
	struct buf body;    /* every message octet, in order */
	struct buf log;
	int aborts; /* times abort_msg was raised */
	int closed;
	size_t unconsumed; /* input octets the machine did not take */

	struct seen_req req[64];
	size_t nreq;

	char input[160]; /* the last input, escaped, for failure messages */
};

/* Every catalog reply some test made the machine send (see the end). */
static unsigned char provoked[SMTP_R_COUNT];

static const char *const req_names[] = {
    "NONE", "MAIL", "RCPT", "VRFY", "OPEN", "COMMIT", "STATUS"};

static int
setup(void **state)
{
	struct sess *s = xcalloc(1, sizeof(*s));

	s->conf.hostname = HOST;
	s->conf.size_limit = 100000;
	s->conf.rcpt_limit = 100;
	s->conf.error_limit = 10;
	s->conf.line_limit = 512;
	s->conf.text_line_limit = 1000;
	s->conf.strict_eol = 1;
	s->conf.reject_unsync_data = 1;
	s->conf.vrfy = SMTP_VRFY_CANNOT;
	snprintf(s->client.addr, sizeof(s->client.addr), "192.0.2.1");
	snprintf(s->client.name, sizeof(s->client.name), "client.example.net");
	buf_init(&s->replies, 1 << 22);
	buf_init(&s->body, 1 << 22);
	buf_init(&s->log, 1 << 22);
	snprintf(s->input, sizeof(s->input), "(start)");
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct sess *s = *state;
	int id;

	for (id = 0; s->p != NULL && id < SMTP_R_COUNT; id++)
		if (smtp_proto_sent(s->p, (enum smtp_reply_id)id))
			provoked[id] = 1;
	smtp_proto_free(s->p);
	buf_free(&s->replies);
	buf_free(&s->body);
	buf_free(&s->log);
	free(s);
	return 0;
}

/* Move everything the machine produced into the session's records. */
static void
collect(struct sess *s)
{
	struct smtp_out *o = smtp_proto_out(s->p);

	assert_int_equal(
	    buf_append(&s->replies, o->reply.data, o->reply.len), 0);
	o->reply.len = 0;
	assert_int_equal(buf_append(&s->body, o->body.data, o->body.len), 0);
	o->body.len = 0;
	assert_int_equal(buf_append(&s->log, o->log.data, o->log.len), 0);
	o->log.len = 0;
	if (o->abort_msg) {
		s->aborts++;
		o->abort_msg = 0;
	}
	if (o->close)
		s->closed = 1;
}

static void
start_with(struct sess *s, enum smtp_greet how, const char *text)
{
	s->p = smtp_proto_new(&s->conf, &s->client);
	smtp_proto_greet(s->p, how, text);
	collect(s);
}

static void
start(struct sess *s)
{
	start_with(s, SMTP_GREET_OK, NULL);
}

/* The glue's next answer to a request of this type. */
static struct scripted *
script(struct sess *s, enum smtp_req_type type)
{
	struct scripted *sc = &s->script[s->nscript++];

	assert_true(s->nscript <= sizeof(s->script) / sizeof(s->script[0]));
	memset(sc, 0, sizeof(*sc));
	sc->type = type;
	return sc;
}

/* The queue's answer to MAIL, OPEN or COMMIT. */
static void
script_status(struct sess *s, enum smtp_req_type type, enum smtp_status st)
{
	script(s, type)->status = st;
}

/* The lookup's verdict on RCPT or VRFY; arg as lookup.h says. */
static struct scripted *script_verdict(struct sess *s, enum smtp_req_type type,
    enum lookup_verdict v, const char *arg);

/* The next RCPT's address is not in the local recipient table. */
static void
unknown_user(struct sess *s)
{
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_UNKNOWN_USER, NULL)->table =
	    LOOKUP_T_LOCAL;
}

static struct scripted *
script_verdict(struct sess *s, enum smtp_req_type type, enum lookup_verdict v,
    const char *arg)
{
	struct scripted *sc = script(s, type);

	sc->verdict = v;
	sc->arg = arg;
	return sc;
}

static char **
one_final(const char *addr, size_t *n)
{
	char **v = xcalloc(1, sizeof(*v));

	v[0] = xstrdup(addr);
	*n = 1;
	return v;
}

/* Answer the pending request: the scripted answer if one is due, else yes. */
static void
answer(struct sess *s)
{
	const struct smtp_req *rq = smtp_proto_request(s->p);
	struct scripted *sc = NULL;
	struct smtp_answer a;
	struct seen_req *r;

	assert_non_null(rq);
	assert_true(s->nreq < sizeof(s->req) / sizeof(s->req[0]));
	r = &s->req[s->nreq++];
	r->type = rq->type;
	r->size = rq->size;
	r->new_message = rq->new_message;
	r->addr[0] = '\0';
	if (rq->addr)
		addr_format(rq->addr, r->addr, sizeof(r->addr));
	if (s->next_script < s->nscript &&
	    s->script[s->next_script].type == rq->type)
		sc = &s->script[s->next_script++];
	memset(&a, 0, sizeof(a));
	if (sc) {
		a.status = sc->status;
		a.lookup.verdict = sc->verdict;
		a.lookup.table = sc->table;
		snprintf(a.lookup.arg, sizeof(a.lookup.arg), "%s",
		    sc->arg ? sc->arg : "");
		a.queued = sc->queued;
		a.show_queued = sc->show_queued;
	}
	switch (rq->type) {
	case SMTP_REQ_RCPT:
	case SMTP_REQ_VRFY:
		/* As the lookup does: an accepted address comes with where
		 * it goes, a forward with its target. */
		if ((a.lookup.verdict == LOOKUP_V_ACCEPT ||
		        a.lookup.verdict == LOOKUP_V_FORWARD) &&
		    !(sc && sc->no_final))
			a.lookup.final =
			    one_final(sc && sc->final ? sc->final : r->addr,
			        &a.lookup.nfinal);
		break;
	case SMTP_REQ_OPEN:
		snprintf(a.id, sizeof(a.id), "%s", MSG_ID);
		snprintf(a.date, sizeof(a.date), "%s", MSG_DATE);
		break;
	default:
		break;
	}
	smtp_proto_answer(s->p, &a);
	collect(s);
}

/*
 * Feed n octets in pieces of at most piece octets, answering requests as
 * they come (an answer may itself lead to the next request).
 */
static void
feed_pieces(struct sess *s, const char *in, size_t n, size_t piece)
{
	size_t off = 0;

	str_escape(s->input, sizeof(s->input), in, n);
	for (;;) {
		size_t len, used;

		if (smtp_proto_request(s->p) != NULL) {
			if (s->manual)
				break;
			answer(s);
			continue;
		}
		if (off >= n || s->closed)
			break;
		len = n - off < piece ? n - off : piece;
		used = smtp_proto_feed(s->p, in + off, len);
		off += used;
		collect(s);
		if (used == 0 && smtp_proto_request(s->p) == NULL && !s->closed)
			fail_msg("after \"%s\": machine took no input and "
			         "asked nothing",
			    s->input);
	}
	s->unconsumed = n - off;
}

static void
feed_n(struct sess *s, const char *in, size_t n)
{
	feed_pieces(s, in, n, n ? n : 1);
}

static void
feed(struct sess *s, const char *in)
{
	feed_n(s, in, strlen(in));
}

/*
 * The next reply line, without CRLF.  Every line is checked against the
 * rules all replies share: three digits and a space or hyphen; an
 * enhanced code, if any, of the reply's class; none on a 3xx reply.
 */
static int
next_reply(struct sess *s, char *dst, size_t dstsz)
{
	const char *p, *crlf;
	size_t left = s->replies.len - s->rpos, n;

	if (left == 0)
		return 0;
	p = s->replies.data + s->rpos;
	crlf = NULL;
	for (n = 0; n + 1 < left; n++)
		if (p[n] == '\r' && p[n + 1] == '\n') {
			crlf = p + n;
			break;
		}
	if (crlf == NULL)
		fail_msg("after \"%s\": reply without CRLF", s->input);
	n = (size_t)(crlf - p);
	if (n + 1 > dstsz || memchr(p, '\n', n) || memchr(p, '\r', n))
		fail_msg("after \"%s\": bad reply line", s->input);
	memcpy(dst, p, n);
	dst[n] = '\0';
	s->rpos += n + 2;
	if (n < 4 || dst[0] < '2' || dst[0] > '5' || dst[1] < '0' ||
	    dst[1] > '9' || dst[2] < '0' || dst[2] > '9' ||
	    (dst[3] != ' ' && dst[3] != '-'))
		fail_msg("after \"%s\": malformed reply \"%s\"", s->input, dst);
	/* An enhanced code looks like "d.d" followed by more. */
	if (n >= 7 && dst[4] >= '2' && dst[4] <= '5' && dst[5] == '.' &&
	    dst[6] >= '0' && dst[6] <= '9') {
		if (dst[0] == '3')
			fail_msg("after \"%s\": 3xx reply with an enhanced "
			         "code: \"%s\"",
			    s->input, dst);
		if (dst[4] != dst[0])
			fail_msg("after \"%s\": enhanced code of another "
			         "class: \"%s\"",
			    s->input, dst);
	}
	return 1;
}

static void
expect_reply_at(struct sess *s, const char *want, const char *file, int line)
{
	char got[1024];

	if (!next_reply(s, got, sizeof(got))) {
		print_error("after \"%s\": expected reply \"%s\", got none\n",
		    s->input, want);
		_fail(file, line);
	}
	if (strcmp(got, want) != 0) {
		print_error("after \"%s\": expected reply \"%s\", got \"%s\"\n",
		    s->input, want, got);
		_fail(file, line);
	}
}

/* code_esc: "550 5.1.1" (the reply starts with it and a space). */
static void
expect_code_at(struct sess *s, const char *code_esc, const char *file, int line)
{
	char got[1024];
	size_t n = strlen(code_esc);

	if (!next_reply(s, got, sizeof(got))) {
		print_error("after \"%s\": expected reply \"%s ...\", got "
		            "none\n",
		    s->input, code_esc);
		_fail(file, line);
	}
	if (strncmp(got, code_esc, n) != 0 || got[n] != ' ') {
		print_error("after \"%s\": expected reply \"%s ...\", got "
		            "\"%s\"\n",
		    s->input, code_esc, got);
		_fail(file, line);
	}
}

static void
expect_no_reply_at(struct sess *s, const char *file, int line)
{
	char got[1024];

	if (next_reply(s, got, sizeof(got))) {
		print_error("after \"%s\": expected no more replies, got "
		            "\"%s\"\n",
		    s->input, got);
		_fail(file, line);
	}
}

#define expect_reply(s, want) expect_reply_at(s, want, __FILE__, __LINE__)
#define expect_code(s, ce) expect_code_at(s, ce, __FILE__, __LINE__)
#define expect_no_reply(s) expect_no_reply_at(s, __FILE__, __LINE__)

static void
expect_closed(struct sess *s)
{
	if (!s->closed)
		fail_msg(
		    "after \"%s\": expected the session to close", s->input);
}

static void
expect_open(struct sess *s)
{
	if (s->closed)
		fail_msg(
		    "after \"%s\": the session closed unexpectedly", s->input);
}

static void
expect_body(struct sess *s, const char *want, size_t n)
{
	if (s->body.len != n || (n > 0 && memcmp(s->body.data, want, n) != 0)) {
		char w[400], g[400];

		str_escape(w, sizeof(w), want, n);
		str_escape(g, sizeof(g), s->body.data, s->body.len);
		fail_msg("after \"%s\": expected body \"%s\", got \"%s\"",
		    s->input, w, g);
	}
}

static size_t
count_req(const struct sess *s, enum smtp_req_type type)
{
	size_t i, n = 0;

	for (i = 0; i < s->nreq; i++)
		if (s->req[i].type == type)
			n++;
	return n;
}

static void
expect_req_count(struct sess *s, enum smtp_req_type type, size_t want)
{
	size_t got = count_req(s, type);

	if (got != want)
		fail_msg("after \"%s\": expected %zu %s requests, got %zu",
		    s->input, want, req_names[type], got);
}

/* The Received: header the machine puts before a message. */
static void
received(char *dst, size_t dstsz, const char *helo, const char *proto,
    const char *one_rcpt)
{
	if (one_rcpt)
		snprintf(dst, dstsz,
		    "Received: from %s (client.example.net [192.0.2.1])\r\n"
		    "\tby " HOST " (tern) with %s id " MSG_ID "\r\n"
		    "\tfor <%s>; " MSG_DATE "\r\n",
		    helo, proto, one_rcpt);
	else
		snprintf(dst, dstsz,
		    "Received: from %s (client.example.net [192.0.2.1])\r\n"
		    "\tby " HOST " (tern) with %s id " MSG_ID "; " MSG_DATE
		    "\r\n",
		    helo, proto);
}

/* Forget the body so far (the Received: header, typically). */
static void
drop_body(struct sess *s)
{
	s->body.len = 0;
}

static void
expect_ehlo_reply(struct sess *s)
{
	char got[1024];

	do {
		if (!next_reply(s, got, sizeof(got)))
			fail_msg(
			    "after \"%s\": EHLO reply incomplete", s->input);
		if (strncmp(got, "250", 3) != 0)
			fail_msg("after \"%s\": expected 250 lines, got "
			         "\"%s\"",
			    s->input, got);
	} while (got[3] == '-');
}

static void
ehlo(struct sess *s)
{
	feed(s, HELO_LINE);
	expect_ehlo_reply(s);
}

/* EHLO, MAIL and one RCPT, all accepted. */
static void
envelope(struct sess *s)
{
	ehlo(s);
	feed(s, FROM_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
}

/* Up to and including the 354. */
static void
open_data(struct sess *s)
{
	envelope(s);
	feed(s, "DATA\r\n");
	expect_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	drop_body(s);
}

#define SESS struct sess *s = *state

/* ----------------------------------------------------------- greeting */

static void
greeting_ok_is_220_without_enhanced_code(void **state)
{
	SESS;

	start(s);
	expect_reply(s, "220 " HOST " ESMTP tern");
	expect_no_reply(s);
	expect_open(s);
	assert_int_equal(smtp_proto_refusing(s->p), 0);
}

static void
input_before_greeting_is_not_consumed(void **state)
{
	SESS;

	s->p = smtp_proto_new(&s->conf, &s->client);
	assert_int_equal(smtp_proto_feed(s->p, "NOOP\r\n", 6), 0);
	collect(s);
	expect_no_reply(s);
}

static void
greeting_busy_is_421_470_and_closes(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_BUSY, NULL);
	expect_reply(s, "421 4.7.0 " HOST " Error: too many connections");
	expect_closed(s);
	feed(s, "NOOP\r\n");
	expect_no_reply(s);
	assert_int_equal(s->unconsumed, 6);
}

static void
greeting_busy_for_one_client_says_so(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_BUSY_CLIENT, NULL);
	expect_reply(s,
	    "421 4.7.0 " HOST " Error: too many connections from your "
	    "address");
	expect_closed(s);
}

static void
greeting_shutdown_is_421_432_and_closes(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_SHUTDOWN, NULL);
	expect_reply(s,
	    "421 4.3.2 " HOST
	    " Service shutting down, closing transmission channel");
	expect_closed(s);
}

/* Without the lookup process, neither the session limits nor the client
 * access table can be applied: "system not accepting network messages". */
static void
greeting_tempfail_is_421_432_and_closes(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_TEMPFAIL, NULL);
	expect_reply(s,
	    "421 4.3.2 " HOST
	    " Service not available, closing transmission channel");
	expect_no_reply(s);
	expect_closed(s);
	feed(s, "EHLO x\r\n");
	expect_no_reply(s);
	assert_int_equal(s->unconsumed, 8);
}

static void
greeting_rate_is_421_470_and_closes(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_RATE, NULL);
	expect_reply(s,
	    "421 4.7.0 " HOST " Error: too many connections from "
	    "your address; try again later");
	expect_no_reply(s);
	expect_closed(s);
}

static void
early_talker_is_554_550_and_closes(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_EARLY, NULL);
	expect_reply(s,
	    "554 5.5.0 " HOST " Error: SMTP protocol "
	    "synchronization: talk before the greeting");
	expect_no_reply(s);
	expect_closed(s);
	feed(s, "EHLO x\r\n");
	expect_no_reply(s);
}

/* The request says whether the transaction has a recipient yet, so that
 * the client's message rate is counted once per message. */
static void
rcpt_request_says_whether_it_starts_a_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_UNKNOWN_USER, NULL)->table =
	    LOOKUP_T_LOCAL;
	feed(s, FROM_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_code(s, "550");
	assert_int_equal(s->req[s->nreq - 1].new_message, 1);
	feed(s, RCPT_LINE);
	expect_reply(s, "250 2.1.5 Ok");
	assert_int_equal(s->req[s->nreq - 1].new_message, 1);
	feed(s, RCPT_LINE);
	expect_reply(s, "250 2.1.5 Ok");
	assert_int_equal(s->req[s->nreq - 1].new_message, 0);
}

static void
greeting_reject_is_554_then_503_until_quit(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_REJECT, NULL);
	expect_reply(s, "554 " HOST " Error: access denied");
	assert_int_equal(smtp_proto_refusing(s->p), 1);
	feed(s, HELO_LINE FROM_LINE "NOOP\r\n");
	expect_reply(s, "503 5.5.1 Error: access denied, send QUIT");
	expect_reply(s, "503 5.5.1 Error: access denied, send QUIT");
	expect_reply(s, "503 5.5.1 Error: access denied, send QUIT");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
	expect_open(s);
	feed(s, "QUIT\r\n");
	expect_reply(s, "221 2.0.0 " HOST " closing connection");
	expect_closed(s);
}

static void
greeting_reject_uses_the_given_text(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_REJECT, "Go away, spammer");
	expect_reply(s, "554 " HOST " Go away, spammer");
}

static void
greeting_nomail_is_521_532_then_521_until_quit(void **state)
{
	SESS;

	start_with(s, SMTP_GREET_NOMAIL, NULL);
	expect_reply(s, "521 5.3.2 " HOST " does not accept mail");
	assert_int_equal(smtp_proto_refusing(s->p), 1);
	feed(s, HELO_LINE FROM_LINE);
	expect_reply(s, "521 5.3.2 " HOST " does not accept mail");
	expect_reply(s, "521 5.3.2 " HOST " does not accept mail");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
	feed(s, "quit\r\n");
	expect_reply(s, "221 2.0.0 " HOST " closing connection");
	expect_closed(s);
}

/* --------------------------------------------------------- HELO, EHLO */

static void
ehlo_lists_every_keyword_without_enhanced_codes(void **state)
{
	SESS;
	char size_line[64];

	start(s);
	expect_code(s, "220");
	feed(s, HELO_LINE);
	snprintf(size_line, sizeof(size_line), "250-SIZE %llu",
	    (unsigned long long)s->conf.size_limit);
	expect_reply(s, "250-" HOST);
	expect_reply(s, "250-PIPELINING");
	expect_reply(s, size_line);
	expect_reply(s, "250-8BITMIME");
	expect_reply(s, "250-SMTPUTF8");
	expect_reply(s, "250-ENHANCEDSTATUSCODES");
	expect_reply(s, "250-CHUNKING");
	expect_reply(s, "250-DSN");
	expect_reply(s, "250-VRFY");
	expect_reply(s, "250 HELP");
	expect_no_reply(s);
	assert_string_equal(smtp_proto_helo(s->p), "client.example");
	assert_string_equal(smtp_proto_protocol(s->p), "ESMTP");
}

static void
ehlo_size_follows_the_limit(void **state)
{
	SESS;

	s->conf.size_limit = 52428800;
	start(s);
	expect_code(s, "220");
	feed(s, HELO_LINE);
	expect_reply(s, "250-" HOST);
	expect_reply(s, "250-PIPELINING");
	expect_reply(s, "250-SIZE 52428800");
}

static void
ehlo_omits_vrfy_when_disabled(void **state)
{
	SESS;
	char got[1024];

	s->conf.vrfy = SMTP_VRFY_DISABLED;
	start(s);
	expect_code(s, "220");
	feed(s, HELO_LINE);
	while (next_reply(s, got, sizeof(got)))
		if (strcmp(got + 4, "VRFY") == 0)
			fail_msg("VRFY advertised while disabled");
	assert_string_equal(got, "250 HELP");
}

static void
helo_is_250_hostname_without_enhanced_code(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELO client.example\r\n");
	expect_reply(s, "250 " HOST);
	expect_no_reply(s);
	assert_string_equal(smtp_proto_protocol(s->p), "SMTP");
}

static void
helo_without_argument_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELO\r\nEHLO   \r\n");
	expect_reply(s, "501 5.5.4 Syntax: HELO hostname");
	expect_reply(s, "501 5.5.4 Syntax: EHLO hostname");
	assert_string_equal(smtp_proto_helo(s->p), "");
}

static void
helo_with_blank_inside_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "EHLO two words\r\n");
	expect_reply(s, "501 5.5.4 Syntax: EHLO hostname");
}

static void
helo_trailing_blanks_are_ignored(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELO client.example  \r\n");
	expect_reply(s, "250 " HOST);
	assert_string_equal(smtp_proto_helo(s->p), "client.example");
}

/* --------------------------------------------------------------- MAIL */

static void
mail_before_helo_is_503_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, FROM_LINE);
	expect_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_asks_the_glue_and_answers_250_210(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<Alice@Example.NET> SIZE=1234\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_req_count(s, SMTP_REQ_MAIL, 1);
	assert_string_equal(s->req[0].addr, "Alice@example.net");
	assert_int_equal(s->req[0].size, 1234);
	assert_string_equal(smtp_proto_txn(s->p)->from.local, "Alice");
	assert_int_equal(smtp_proto_txn(s->p)->params.size, 1234);
}

static void
mail_null_sender_is_accepted(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	assert_string_equal(s->req[0].addr, "");
}

static void
mail_twice_is_503_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "503 5.5.1 Error: nested MAIL command");
	expect_req_count(s, SMTP_REQ_MAIL, 1);
}

static void
mail_without_brackets_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:alice@example.net\r\nMAIL TO:<a@b.example>\r\n");
	expect_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
	expect_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_bad_sender_syntax_is_553_517(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<alice..x@example.net>\r\n");
	expect_reply(s, "553 5.1.7 Bad sender address syntax");
	feed(s, "MAIL FROM:<alice@-example.net>\r\n");
	expect_reply(s, "553 5.1.7 Bad sender address syntax");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_size_over_the_limit_is_552_534(void **state)
{
	SESS;
	char line[128];

	start(s);
	expect_code(s, "220");
	ehlo(s);
	snprintf(line, sizeof(line), "MAIL FROM:<a@example.net> SIZE=%llu\r\n",
	    (unsigned long long)s->conf.size_limit + 1);
	feed(s, line);
	expect_reply(
	    s, "552 5.3.4 Message size exceeds fixed maximum message size");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
	snprintf(line, sizeof(line), "MAIL FROM:<a@example.net> SIZE=%llu\r\n",
	    (unsigned long long)s->conf.size_limit);
	feed(s, line);
	expect_reply(s, "250 2.1.0 Ok");
}

static void
mail_unknown_parameter_is_555_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<a@example.net> TRANSID=<x@y>\r\n");
	expect_reply(s, "555 5.5.4 Unsupported option: TRANSID");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_duplicate_parameter_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<a@example.net> BODY=7BIT body=8BITMIME\r\n");
	expect_reply(s, "501 5.5.4 Duplicate parameter body");
}

static void
mail_binarymime_is_504_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<a@example.net> BODY=BINARYMIME\r\n");
	expect_reply(s, "504 5.5.4 BODY=BINARYMIME is not supported");
}

static void
mail_non_ascii_sender_needs_smtputf8_553_567(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "MAIL FROM:<j\xc3\xb6rg@example.net>\r\n");
	expect_reply(s, "553 5.6.7 Non-ASCII sender address requires SMTPUTF8");
	feed(s, "MAIL FROM:<j\xc3\xb6rg@example.net> SMTPUTF8\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	assert_string_equal(smtp_proto_protocol(s->p), "UTF8SMTP");
}

static void
mail_refused_by_the_glue_452_431_leaves_no_transaction(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_status(s, SMTP_REQ_MAIL, SMTP_S_QUEUE_FULL);
	feed(s, FROM_LINE RCPT_LINE);
	expect_reply(s, "452 4.3.1 Error: insufficient system storage");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	expect_req_count(s, SMTP_REQ_RCPT, 0);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
}

static void
mail_parameter_syntax_and_values_are_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s,
	    "MAIL FROM:<a@example.net> =7BIT\r\n"
	    "MAIL FROM:<a@example.net> BO_DY=7BIT\r\n"
	    "MAIL FROM:<a@example.net> SIZE=lots\r\n"
	    "MAIL FROM:<a@example.net> RET=ALL\r\n");
	expect_reply(s, "501 5.5.4 Bad parameter syntax");
	expect_reply(s, "501 5.5.4 Bad parameter syntax");
	expect_reply(s, "501 5.5.4 Bad value for parameter SIZE");
	expect_reply(s, "501 5.5.4 Bad value for parameter RET");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_sender_too_long_is_553_517(void **state)
{
	SESS;
	char line[200], local[70];

	memset(local, 'l', 65);
	local[65] = '\0';
	start(s);
	expect_code(s, "220");
	ehlo(s);
	snprintf(line, sizeof(line), "MAIL FROM:<%s@example.net>\r\n", local);
	feed(s, line);
	expect_reply(s, "553 5.1.7 Sender address too long");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
mail_when_the_queue_cannot_tell_is_451_430(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_status(s, SMTP_REQ_MAIL, SMTP_S_QUEUE_UNAVAILABLE);
	feed(s, FROM_LINE FROM_LINE);
	expect_reply(s, "451 4.3.0 Error: queue unavailable");
	expect_reply(s, "250 2.1.0 Ok");
}

/* --------------------------------------------------------------- RCPT */

static void
rcpt_before_mail_is_503_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, RCPT_LINE);
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	expect_req_count(s, SMTP_REQ_RCPT, 0);
}

static void
rcpt_asks_the_glue_and_answers_250_215(void **state)
{
	SESS;
	const struct smtp_txn *t;

	start(s);
	expect_code(s, "220");
	envelope(s);
	expect_req_count(s, SMTP_REQ_RCPT, 1);
	assert_string_equal(s->req[1].addr, "bob@example.org");
	t = smtp_proto_txn(s->p);
	assert_int_equal(t->nrcpt, 1);
	assert_int_equal(t->rcpt[0].nfinal, 1);
	assert_string_equal(t->rcpt[0].final[0], "bob@example.org");
}

static void
rcpt_passes_parameters_to_the_glue(void **state)
{
	SESS;
	const struct smtp_txn *t;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s,
	    FROM_LINE "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,DELAY "
	              "ORCPT=rfc822;bob+2Bx@example.org\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	t = smtp_proto_txn(s->p);
	assert_int_equal(
	    t->rcpt[0].params.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
	assert_string_equal(
	    t->rcpt[0].params.orcpt, "rfc822;bob+2Bx@example.org");
}

static void
rcpt_bad_syntax_is_553_513(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s,
	    FROM_LINE "RCPT TO:<bob@@example.org>\r\nRCPT TO:<>\r\n"
	              "RCPT TO:bob@example.org\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "553 5.1.3 Bad recipient address syntax");
	expect_reply(s, "553 5.1.3 Null recipient address");
	expect_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
	expect_req_count(s, SMTP_REQ_RCPT, 0);
}

static void
rcpt_too_long_is_553_513(void **state)
{
	SESS;
	char local[66], line[400];

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>\r\n", local);
	feed(s, line);
	expect_reply(s, "553 5.1.3 Recipient address too long");
}

static void
rcpt_non_ascii_needs_smtputf8_553_567(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE "RCPT TO:<j\xc3\xb6rg@example.org>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(
	    s, "553 5.6.7 Non-ASCII recipient address requires SMTPUTF8");
	feed(s,
	    "RSET\r\nMAIL FROM:<a@example.net> SMTPUTF8\r\n"
	    "RCPT TO:<j\xc3\xb6rg@example.org>\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
}

static void
rcpt_unknown_parameter_is_555_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE "RCPT TO:<bob@example.org> SIZE=10\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "555 5.5.4 Unsupported option: SIZE");
}

static void
rcpt_duplicate_parameter_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s,
	    FROM_LINE
	    "RCPT TO:<bob@example.org> NOTIFY=NEVER NOTIFY=NEVER\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "501 5.5.4 Duplicate parameter NOTIFY");
}

static void
rcpt_550_511_from_the_glue_keeps_the_transaction(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_UNKNOWN_USER, NULL)->table =
	    LOOKUP_T_LOCAL;
	feed(s,
	    FROM_LINE "RCPT TO:<nobody@example.org>\r\n" RCPT_LINE "DATA\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s,
	    "550 5.1.1 <nobody@example.org>: Recipient address "
	    "rejected: User unknown in local recipient table");
	expect_reply(s, "250 2.1.5 Ok");
	expect_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 1);
	assert_string_equal(smtp_proto_txn(s->p)->rcpt[0].addr.local, "bob");
}

static void
rcpt_relocated_is_551_516_with_the_new_address(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_RELOCATED, "bob@new.example");
	feed(s, FROM_LINE RCPT_LINE "DATA\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(
	    s, "551 5.1.6 User not local; please try <bob@new.example>");
	expect_reply(s, "554 5.5.1 Error: no valid recipients");
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
}

static void
rcpt_251_215_from_the_glue_accepts_with_its_expansion(void **state)
{
	SESS;
	const struct smtp_txn *t;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_FORWARD, "bob@new.example")
	    ->final = "bob@new.example";
	feed(s, FROM_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(
	    s, "251 2.1.5 User not local; will forward to <bob@new.example>");
	t = smtp_proto_txn(s->p);
	assert_int_equal(t->nrcpt, 1);
	assert_int_equal(t->rcpt[0].nfinal, 1);
	assert_string_equal(t->rcpt[0].final[0], "bob@new.example");
	feed(s, "DATA\r\n");
	expect_code(s, "354");
}

static void
rcpt_450_471_from_the_glue_is_not_a_client_error(void **state)
{
	SESS;

	s->conf.error_limit = 2;
	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_ACCESS_DEFER, NULL);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_ACCESS_DEFER, NULL);
	feed(s, FROM_LINE RCPT_LINE RCPT_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s,
	    "450 4.7.1 <bob@example.org>: Recipient address "
	    "rejected: Try again later");
	expect_reply(s,
	    "450 4.7.1 <bob@example.org>: Recipient address "
	    "rejected: Try again later");
	expect_reply(s, "250 2.1.5 Ok");
	expect_open(s);
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 1);
}

static void
rcpt_relay_denied_is_554_571(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_RELAY_DENIED, NULL);
	feed(s, FROM_LINE "RCPT TO:<x@elsewhere.example>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "554 5.7.1 <x@elsewhere.example>: Relay access denied");
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
}

/* Each verdict of the lookup, and the reply it becomes. */
static void
rcpt_verdicts_become_their_replies(void **state)
{
	static const struct {
		enum lookup_verdict v;
		enum lookup_table table;
		const char *arg;
		const char *want;
	} cases[] = {
	    {LOOKUP_V_RELOCATED, LOOKUP_T_NONE, NULL,
	        "551 5.1.6 User not local"},
	    {LOOKUP_V_UNKNOWN_USER, LOOKUP_T_VIRTUAL, NULL,
	        "550 5.1.1 <bob@example.org>: Recipient address rejected: "
	        "User unknown in virtual mailbox table"},
	    {LOOKUP_V_BAD_MAILBOX, LOOKUP_T_NONE, NULL,
	        "553 5.1.3 <bob@example.org>: Recipient address rejected: "
	        "mailbox name not allowed"},
	    {LOOKUP_V_ACCESS_REJECT, LOOKUP_T_NONE, NULL,
	        "554 5.7.1 <bob@example.org>: Recipient address rejected: "
	        "Access denied"},
	    {LOOKUP_V_ACCESS_REJECT, LOOKUP_T_NONE, "Not from you",
	        "554 5.7.1 <bob@example.org>: Recipient address rejected: "
	        "Not from you"},
	    {LOOKUP_V_ACCESS_DEFER, LOOKUP_T_NONE, "Greylisted",
	        "450 4.7.1 <bob@example.org>: Recipient address rejected: "
	        "Greylisted"},
	    {LOOKUP_V_ALIAS_FAILED, LOOKUP_T_NONE, NULL,
	        "451 4.3.0 <bob@example.org>: alias expansion failed "
	        "(loop?)"},
	    {LOOKUP_V_TABLE_ERROR, LOOKUP_T_NONE, NULL,
	        "451 4.3.5 <bob@example.org>: Recipient address rejected: "
	        "local configuration error"},
	    {LOOKUP_V_TEMPFAIL, LOOKUP_T_NONE, NULL,
	        "451 4.3.0 Temporary lookup failure, try again later"},
	    {LOOKUP_V_RATE_LIMITED, LOOKUP_T_NONE, NULL,
	        "450 4.7.1 <bob@example.org>: Recipient address rejected: "
	        "Error: too much mail from your address; try again later"},
	    /* No answer to RCPT: not a verdict to act on. */
	    {LOOKUP_V_NOT_LOCAL, LOOKUP_T_NONE, NULL,
	        "451 4.3.0 Temporary lookup failure, try again later"},
	};
	SESS;
	size_t i;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		script_verdict(s, SMTP_REQ_RCPT, cases[i].v, cases[i].arg)
		    ->table = cases[i].table;
		feed(s, RCPT_LINE);
		expect_reply(s, cases[i].want);
		assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
	}
	/* Accepted with nowhere to go: nothing to deliver, so not now. */
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_ACCEPT, NULL)->no_final = 1;
	feed(s, RCPT_LINE);
	expect_reply(s, "451 4.3.0 Temporary lookup failure, try again later");
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
	expect_open(s);
}

static void
postmaster_is_named_with_our_host_name(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	script_verdict(s, SMTP_REQ_RCPT, LOOKUP_V_ACCESS_DEFER, NULL);
	feed(s, FROM_LINE "RCPT TO:<Postmaster>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s,
	    "450 4.7.1 <postmaster@" HOST ">: Recipient address rejected: "
	    "Try again later");
}

/*
 * The catalog decides what counts towards error_limit: client errors do;
 * our temporary failures and policy verdicts do not, wherever they come.
 */
static void
error_limit_counts_client_errors_only(void **state)
{
	static const enum lookup_verdict not_counted[] = {LOOKUP_V_FORWARD,
	    LOOKUP_V_RELOCATED, LOOKUP_V_RELAY_DENIED, LOOKUP_V_ACCESS_REJECT,
	    LOOKUP_V_ACCESS_DEFER, LOOKUP_V_ALIAS_FAILED, LOOKUP_V_TABLE_ERROR,
	    LOOKUP_V_TEMPFAIL};
	SESS;
	char line[128];
	size_t i;

	s->conf.error_limit = 2;
	start(s);
	expect_code(s, "220");
	ehlo(s);
	snprintf(line, sizeof(line), "MAIL FROM:<a@example.net> SIZE=%llu\r\n",
	    (unsigned long long)s->conf.size_limit + 1);
	feed(s, line);
	feed(s, line);
	expect_reply(
	    s, "552 5.3.4 Message size exceeds fixed maximum message size");
	expect_reply(
	    s, "552 5.3.4 Message size exceeds fixed maximum message size");
	script_status(s, SMTP_REQ_MAIL, SMTP_S_QUEUE_FULL);
	feed(s, FROM_LINE FROM_LINE);
	expect_code(s, "452 4.3.1");
	expect_reply(s, "250 2.1.0 Ok");
	for (i = 0; i < sizeof(not_counted) / sizeof(not_counted[0]); i++) {
		script_verdict(s, SMTP_REQ_RCPT, not_counted[i],
		    not_counted[i] == LOOKUP_V_FORWARD ? "b@new.example"
		                                       : NULL);
		feed(s, RCPT_LINE);
		expect_open(s);
	}
	s->rpos = s->replies.len;
	/* Open fails at DATA and at BDAT alike: ours, not the client's. */
	script_status(s, SMTP_REQ_OPEN, SMTP_S_QUEUE_FAILED);
	script_status(s, SMTP_REQ_OPEN, SMTP_S_QUEUE_FAILED);
	feed(s, "DATA\r\n");
	feed(s, "BDAT 1\r\nx");
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	expect_open(s);
	/* Two client errors end it. */
	unknown_user(s);
	feed(s, "RSET\r\n" FROM_LINE RCPT_LINE "DATA x\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	expect_reply(s, "250 2.1.0 Ok");
	expect_code(s, "550 5.1.1");
	expect_reply(s, "501 5.5.4 Syntax: DATA");
	expect_reply(s, "421 4.7.0 " HOST " Error: too many errors");
	expect_closed(s);
}

static void
rcpt_over_the_limit_is_452_453(void **state)
{
	SESS;

	s->conf.rcpt_limit = 2;
	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s,
	    FROM_LINE "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
	              "RCPT TO:<c@example.org>\r\nDATA\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	expect_reply(s, "452 4.5.3 Error: too many recipients");
	expect_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	expect_req_count(s, SMTP_REQ_RCPT, 2);
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 2);
}

/* --------------------------------------------------------------- DATA */

static void
data_before_mail_is_503_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "DATA\r\n");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
data_without_recipients_is_554_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE "DATA\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "554 5.5.1 Error: no valid recipients");
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
data_with_argument_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "DATA now\r\n");
	expect_reply(s, "501 5.5.4 Syntax: DATA");
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
data_message_gets_received_header_and_exact_octets(void **state)
{
	SESS;
	static const char text[] = "Subject: hi\r\n"
	                           "\r\n"
	                           "line one\r\n"
	                           "\tindented\r\n";
	static const char want[] =
	    "Received: from client.example (client.example.net [192.0.2.1])\r\n"
	    "\tby " HOST " (tern) with ESMTP id " MSG_ID "\r\n"
	    "\tfor <bob@example.org>; " MSG_DATE "\r\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "line one\r\n"
	    "\tindented\r\n";

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "DATA\r\n");
	expect_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	assert_int_equal(smtp_proto_in_data(s->p), 1);
	assert_string_equal(smtp_proto_txn(s->p)->id, MSG_ID);
	feed(s, text);
	expect_no_reply(s);
	feed(s, ".\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, want, sizeof(want) - 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 1);
	/* the Received: header is not counted */
	assert_int_equal(s->req[s->nreq - 1].size, sizeof(text) - 1);
	assert_int_equal(smtp_proto_in_data(s->p), 0);
	assert_int_equal(s->aborts, 0);
}

static void
data_received_header_names_no_recipient_when_several(void **state)
{
	SESS;
	char want[512];

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	expect_reply(s, "250 2.1.5 Ok");
	expect_code(s, "354");
	received(want, sizeof(want), "client.example", "ESMTP", NULL);
	expect_body(s, want, strlen(want));
}

static void
data_received_header_says_smtp_after_helo(void **state)
{
	SESS;
	char want[512];

	start(s);
	expect_code(s, "220");
	feed(s, "HELO old.example\r\n" FROM_LINE RCPT_LINE "DATA\r\n");
	expect_reply(s, "250 " HOST);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	expect_code(s, "354");
	received(want, sizeof(want), "old.example", "SMTP", "bob@example.org");
	expect_body(s, want, strlen(want));
}

static void
data_dot_stuffing_is_undone(void **state)
{
	SESS;
	static const char want[] = ".leading dot\r\n"
	                           "..two\r\n"
	                           ".\r\n"
	                           "a . in the middle.\r\n";

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "..leading dot\r\n...two\r\n..\r\na . in the middle.\r\n.\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, want, sizeof(want) - 1);
	assert_int_equal(s->req[s->nreq - 1].size, sizeof(want) - 1);
}

static void
data_empty_message_is_committed(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, ".\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, "", 0);
	assert_int_equal(s->req[s->nreq - 1].size, 0);
}

static void
data_terminator_split_in_single_octets(void **state)
{
	SESS;
	static const char msg[] = "a\r\n..b\r\n.\r\nNOOP\r\n";
	static const char want[] = "a\r\n.b\r\n";

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed_pieces(s, msg, sizeof(msg) - 1, 1);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_reply(s, "250 2.0.0 Ok");
	expect_body(s, want, sizeof(want) - 1);
}

static void
data_then_next_transaction_in_same_session(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "x\r\n.\r\n" FROM_LINE RCPT_LINE "DATA\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	expect_code(s, "354");
	expect_req_count(s, SMTP_REQ_OPEN, 2);
}

/* RFC 2920 3.1: text glued to DATA was meant as a message.  Were it read
 * as commands, a MAIL/RCPT/DATA in it would be a second transaction
 * smuggled in under this client's rights. */
#define STUFFED \
	"MAIL FROM:<evil@x.y>\r\nRCPT TO:<u2@localhost>\r\nDATA\r\n" \
	"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"

static void
data_glued_to_text_is_554_then_421_and_close(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "DATA\r\n" STUFFED);
	expect_reply(s,
	    "554 5.5.0 Error: improper use of SMTP command "
	    "pipelining");
	expect_reply(
	    s, "421 4.7.0 " HOST " Error: closing after improper pipelining");
	expect_no_reply(s);
	expect_closed(s);
	/* Nothing after the DATA line was read, let alone run. */
	assert_int_equal(s->unconsumed, sizeof(STUFFED) - 1);
	expect_req_count(s, SMTP_REQ_MAIL, 1);
	expect_req_count(s, SMTP_REQ_RCPT, 1);
	expect_req_count(s, SMTP_REQ_OPEN, 0);
	expect_body(s, "", 0);
}

static void
data_glued_to_text_is_accepted_when_allowed(void **state)
{
	SESS;

	s->conf.reject_unsync_data = 0;
	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n");
	expect_code(s, "354");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
}

static void
data_over_the_size_limit_is_552_534_after_the_dot(void **state)
{
	SESS;
	char line[101];
	int i;

	s->conf.size_limit = 2000;
	start(s);
	expect_code(s, "220");
	open_data(s);
	memset(line, 'x', 98);
	line[98] = '\r';
	line[99] = '\n';
	line[100] = '\0';
	for (i = 0; i < 30; i++) /* 3000 octets */
		feed(s, line);
	expect_no_reply(s);
	expect_open(s);
	assert_true(s->body.len <= s->conf.size_limit);
	assert_int_equal(s->aborts, 0);
	feed(s, ".\r\nNOOP\r\n");
	expect_reply(
	    s, "552 5.3.4 Message size exceeds fixed maximum message size");
	expect_reply(s, "250 2.0.0 Ok");
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
	feed(s, RCPT_LINE);
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
}

static void
data_exactly_at_the_size_limit_is_accepted(void **state)
{
	SESS;
	char text[1024];

	s->conf.size_limit = 1024;
	start(s);
	expect_code(s, "220");
	open_data(s);
	memset(text, 'y', sizeof(text));
	text[1022] = '\r';
	text[1023] = '\n';
	/* a line of 1024 octets is too long: use two */
	text[500] = '\r';
	text[501] = '\n';
	feed_n(s, text, sizeof(text));
	feed(s, ".\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	assert_int_equal(s->req[s->nreq - 1].size, 1024);
}

static void
data_line_over_the_text_limit_is_554_560(void **state)
{
	SESS;
	char line[1002];

	start(s);
	expect_code(s, "220");
	open_data(s);
	/* 999 octets + CRLF = 1001 > 1000 */
	memset(line, 'z', 999);
	line[999] = '\r';
	line[1000] = '\n';
	line[1001] = '\0';
	feed(s, line);
	feed(s, "short\r\n.\r\n");
	expect_reply(
	    s, "554 5.6.0 Error: message line longer than 1000 octets");
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
data_line_at_the_text_limit_is_accepted(void **state)
{
	SESS;
	char line[1001];

	start(s);
	expect_code(s, "220");
	open_data(s);
	/* 998 octets + CRLF = 1000 */
	memset(line, 'z', 998);
	line[998] = '\r';
	line[999] = '\n';
	line[1000] = '\0';
	feed(s, line);
	feed(s, ".\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
}

static void
data_stuffing_dot_does_not_count_towards_the_line_limit(void **state)
{
	SESS;
	char line[1002];

	start(s);
	expect_code(s, "220");
	open_data(s);
	/* "." + 998 octets + CRLF: 1000 octets once the dot is removed */
	line[0] = '.';
	memset(line + 1, '.', 998);
	line[999] = '\r';
	line[1000] = '\n';
	line[1001] = '\0';
	feed(s, line);
	feed(s, ".\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, line + 1, 1000);
}

static void
bdat_line_limit_counts_the_line_end(void **state)
{
	SESS;
	char chunk[1001];
	char line[64];

	start(s);
	expect_code(s, "220");
	envelope(s);
	/* 998 octets + CRLF is at the limit */
	memset(chunk, 'w', sizeof(chunk));
	chunk[998] = '\r';
	chunk[999] = '\n';
	snprintf(line, sizeof(line), "BDAT %d LAST\r\n", 1000);
	feed(s, line);
	feed_n(s, chunk, 1000);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	/* 999 octets + LF is one over */
	feed(s, FROM_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	chunk[998] = 'w';
	chunk[999] = 'w';
	chunk[1000] = '\n';
	snprintf(line, sizeof(line), "BDAT %d LAST\r\n", 1001);
	feed(s, line);
	feed_n(s, chunk, 1001);
	expect_reply(
	    s, "554 5.6.0 Error: message line longer than 1000 octets");
}

static void
data_with_nul_is_554_560(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed_n(s, "a\0b\r\n.\r\n", 8);
	expect_reply(s, "554 5.6.0 Error: message contains NUL octets");
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
data_open_refused_by_the_queue_is_451_430(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	script_status(s, SMTP_REQ_OPEN, SMTP_S_QUEUE_FAILED);
	feed(s, "DATA\r\n");
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	assert_int_equal(smtp_proto_in_data(s->p), 0);
	expect_body(s, "", 0);
	feed(s, "NOOP\r\n");
	expect_reply(s, "250 2.0.0 Ok");
}

static void
data_commit_451_430_resets_the_transaction(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	script_status(s, SMTP_REQ_COMMIT, SMTP_S_QUEUE_FAILED);
	feed(s, "hi\r\n.\r\n" RCPT_LINE);
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	/* The file is the queue's: the machine does not abort it. */
	assert_int_equal(s->aborts, 0);
}

/* The spool's file system filled up before the commit: 452, not 451. */
static void
data_commit_452_431_when_the_spool_is_full(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	script_status(s, SMTP_REQ_COMMIT, SMTP_S_QUEUE_FULL);
	feed(s, "hi\r\n.\r\n" RCPT_LINE);
	expect_reply(s, "452 4.3.1 Error: insufficient system storage");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	assert_int_equal(s->aborts, 0);
}

/* ------------------------------------------------------ SMTP smuggling */

/*
 * Text, a non-canonical "end", then a second transaction that must never
 * run.  In strict mode the session ends at the bad line ending.
 */
static void
smuggling_strict(struct sess *s, const char *bad)
{
	char in[512];

	snprintf(in, sizeof(in),
	    "Subject: x\r\n\r\nhi%sMAIL FROM:<evil@example.com>\r\n"
	    "RCPT TO:<victim@example.org>\r\nDATA\r\n",
	    bad);
	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, in);
	expect_reply(
	    s, "521 5.5.2 Error: bare CR or LF received, closing connection");
	expect_no_reply(s);
	expect_closed(s);
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_MAIL, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
smuggling_lf_dot_lf_is_521_552(void **state)
{
	smuggling_strict(*state, "\n.\n");
}

static void
smuggling_crlf_dot_lf_is_521_552(void **state)
{
	smuggling_strict(*state, "\r\n.\n");
}

static void
smuggling_lf_dot_crlf_is_521_552(void **state)
{
	smuggling_strict(*state, "\n.\r\n");
}

static void
smuggling_cr_dot_crlf_is_521_552(void **state)
{
	smuggling_strict(*state, "\r.\r\n");
}

/*
 * Lenient mode: the sequence is text; the message ends at the real
 * terminator and holds the would-be second transaction.
 */
static void
smuggling_lenient(struct sess *s, const char *bad, const char *want_bad)
{
	char in[512], want[512];

	snprintf(
	    in, sizeof(in), "hi%sMAIL FROM:<evil@example.com>\r\n.\r\n", bad);
	snprintf(want, sizeof(want), "hi%sMAIL FROM:<evil@example.com>\r\n",
	    want_bad);
	s->conf.strict_eol = 0;
	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, in);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_no_reply(s);
	expect_open(s);
	expect_req_count(s, SMTP_REQ_MAIL, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 1);
	expect_body(s, want, strlen(want));
}

static void
smuggling_lf_dot_lf_is_text_when_lenient(void **state)
{
	/* bare LF is a line end; a "." after it is text, not stuffing */
	smuggling_lenient(*state, "\n.\n", "\r\n.\r\n");
}

static void
smuggling_crlf_dot_lf_is_text_when_lenient(void **state)
{
	/* the "." after CRLF is a stuffing dot; its LF ends the line */
	smuggling_lenient(*state, "\r\n.\n", "\r\n\r\n");
}

static void
smuggling_lf_dot_crlf_is_text_when_lenient(void **state)
{
	smuggling_lenient(*state, "\n.\r\n", "\r\n.\r\n");
}

static void
smuggling_cr_dot_crlf_is_text_when_lenient(void **state)
{
	smuggling_lenient(*state, "\r.\r\n", "\r.\r\n");
}

static void
data_bare_lf_is_a_line_end_when_lenient(void **state)
{
	SESS;
	static const char want[] = "a\r\nb\r\n";

	s->conf.strict_eol = 0;
	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "a\nb\r\n.\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, want, sizeof(want) - 1);
}

static void
data_bare_cr_is_521_552_when_strict(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "a\rb\r\n.\r\n");
	expect_reply(
	    s, "521 5.5.2 Error: bare CR or LF received, closing connection");
	expect_closed(s);
	assert_int_equal(s->aborts, 1);
}

/* -------------------------------------------------- commands, in general */

static void
rset_is_250_200_and_ends_the_transaction(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "RSET\r\nDATA\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	assert_int_equal(s->aborts, 0);
}

static void
rset_with_argument_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "RSET x\r\nDATA\r\n");
	expect_reply(s, "501 5.5.4 Syntax: RSET");
	expect_code(s, "354");
}

static void
rset_aborts_an_open_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 3\r\nabc");
	expect_reply(s, "250 2.0.0 3 octets received");
	assert_int_equal(s->aborts, 0);
	feed(s, "RSET\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	assert_int_equal(s->aborts, 1);
	feed(s, "BDAT 0 LAST\r\n");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
ehlo_in_a_transaction_resets_it(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "EHLO again.example\r\n");
	expect_ehlo_reply(s);
	feed(s, "DATA\r\n");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	assert_string_equal(smtp_proto_helo(s->p), "again.example");
}

static void
ehlo_aborts_an_open_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 2\r\nab");
	expect_code(s, "250 2.0.0");
	feed(s, "HELO again.example\r\n");
	expect_reply(s, "250 " HOST);
	assert_int_equal(s->aborts, 1);
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
}

static void
noop_is_250_200(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "NOOP\r\nnoop anything\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	expect_reply(s, "250 2.0.0 Ok");
}

static void
quit_is_221_200_and_ignores_what_follows(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "QUIT\r\nNOOP\r\n");
	expect_reply(s, "221 2.0.0 " HOST " closing connection");
	expect_no_reply(s);
	expect_closed(s);
	assert_int_equal(s->unconsumed, 6);
}

static void
quit_during_a_transaction_aborts_the_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 1\r\nx");
	expect_code(s, "250 2.0.0");
	feed(s, "QUIT\r\n");
	expect_code(s, "221 2.0.0");
	assert_int_equal(s->aborts, 1);
}

static void
unknown_command_is_500_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "FOO bar\r\n\r\nMAILFROM:<a@b.example>\r\n");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
}

static void
verbs_are_case_insensitive(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "ehlo client.example\r\n");
	expect_ehlo_reply(s);
	feed(s, "mail from:<a@example.net>\r\nrCpT tO:<b@example.org>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
}

static void
expn_is_502_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "EXPN staff\r\n");
	expect_reply(s, "502 5.5.1 EXPN command is not available");
}

static void
unimplemented_commands_are_502_551(void **state)
{
	SESS;
	static const char *const cmds[] = {"STARTTLS\r\n", "AUTH PLAIN\r\n",
	    "ETRN example.org\r\n", "ATRN\r\n", "TURN\r\n",
	    "SOML FROM:<a@b.example>\r\n"};
	size_t i;

	s->conf.error_limit = 100;
	start(s);
	expect_code(s, "220");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		feed(s, cmds[i]);
		expect_reply(s, "502 5.5.1 Error: command not implemented");
	}
}

static void
http_request_is_421_470_and_closes(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_reply(s, "421 4.7.0 " HOST " Error: non-SMTP command, closing");
	expect_no_reply(s);
	expect_closed(s);
}

/* --------------------------------------------------------- HELP, VRFY */

static void
help_is_214_200(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELP\r\n");
	expect_reply(s,
	    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT "
	    "RSET NOOP QUIT VRFY HELP; HELP command for its "
	    "syntax, HELP STATUS for the server's state");
}

static void
help_topic_is_214_200_with_its_syntax(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELP rset\r\nHELP BDAT \r\n");
	expect_reply(s, "214 2.0.0 Syntax: RSET");
	expect_reply(s,
	    "214 2.0.0 Syntax: BDAT size [LAST], then exactly "
	    "size octets");
}

static void
help_unknown_topic_is_504_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "HELP FOO\r\nHELP EXPN\r\nHELP MAIL FROM\r\n");
	expect_reply(s, "504 5.5.4 HELP topic not recognized");
	expect_reply(s, "504 5.5.4 HELP topic not recognized");
	expect_reply(s, "504 5.5.4 HELP topic not recognized");
}

static void
help_status_is_211_200(void **state)
{
	SESS;
	struct scripted *sc;

	start(s);
	expect_code(s, "220");
	feed(s, "HELP status\r\n");
	expect_reply(s, "211 2.0.0 " HOST " accepting mail, TLS not available");
	expect_req_count(s, SMTP_REQ_STATUS, 1);
	/* A client that may relay also learns the queue's length. */
	sc = script(s, SMTP_REQ_STATUS);
	sc->show_queued = 1;
	sc->queued = 1;
	sc = script(s, SMTP_REQ_STATUS);
	sc->show_queued = 1;
	sc->queued = 12;
	feed(s, "HELP STATUS\r\nHELP STATUS\r\n");
	expect_reply(s,
	    "211 2.0.0 " HOST " accepting mail, TLS not available, 1 message "
	    "queued");
	expect_reply(s,
	    "211 2.0.0 " HOST " accepting mail, TLS not available, 12 "
	    "messages queued");
}

static void
vrfy_cannot_verify_is_252_200(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "VRFY bob\r\n");
	expect_reply(s,
	    "252 2.0.0 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
	expect_req_count(s, SMTP_REQ_VRFY, 0);
}

static void
vrfy_without_argument_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "VRFY\r\n");
	expect_reply(s, "501 5.5.4 Syntax: VRFY address");
}

static void
vrfy_disabled_is_502_551(void **state)
{
	SESS;

	s->conf.vrfy = SMTP_VRFY_DISABLED;
	start(s);
	expect_code(s, "220");
	feed(s, "VRFY bob@example.org\r\n");
	expect_reply(s, "502 5.5.1 VRFY command is disabled");
}

static void
vrfy_verify_asks_the_glue(void **state)
{
	SESS;

	s->conf.vrfy = SMTP_VRFY_VERIFY;
	start(s);
	expect_code(s, "220");
	script_verdict(s, SMTP_REQ_VRFY, LOOKUP_V_UNKNOWN_USER, NULL)->table =
	    LOOKUP_T_VIRTUAL;
	feed(s, "VRFY <nobody@example.org>\r\nVRFY bob@example.org\r\n");
	expect_reply(s,
	    "550 5.1.1 <nobody@example.org>: Recipient address "
	    "rejected: User unknown in virtual mailbox table");
	expect_reply(s, "250 2.0.0 <bob@example.org>");
	expect_req_count(s, SMTP_REQ_VRFY, 2);
}

static void
vrfy_verify_verdicts_become_their_replies(void **state)
{
	SESS;

	s->conf.vrfy = SMTP_VRFY_VERIFY;
	start(s);
	expect_code(s, "220");
	script_verdict(s, SMTP_REQ_VRFY, LOOKUP_V_NOT_LOCAL, NULL);
	script_verdict(s, SMTP_REQ_VRFY, LOOKUP_V_FORWARD, "bob@new.example");
	script_verdict(s, SMTP_REQ_VRFY, LOOKUP_V_RELOCATED, "bob@new.example");
	script_verdict(s, SMTP_REQ_VRFY, LOOKUP_V_TEMPFAIL, NULL);
	feed(s,
	    "VRFY <x@remote.example>\r\nVRFY bob@example.org\r\n"
	    "VRFY bob@example.org\r\nVRFY bob\r\nVRFY postmaster\r\n");
	expect_reply(s,
	    "252 2.0.0 <x@remote.example>: not local, cannot verify; will "
	    "attempt delivery");
	expect_reply(
	    s, "251 2.1.5 User not local; will forward to <bob@new.example>");
	expect_reply(
	    s, "551 5.1.6 User not local; please try <bob@new.example>");
	expect_reply(s, "451 4.3.0 Temporary lookup failure, try again later");
	/* A user name alone is one of ours. */
	expect_reply(s, "250 2.0.0 <postmaster@" HOST ">");
	/* VRFY never joins a transaction. */
	assert_int_equal(smtp_proto_txn(s->p)->nrcpt, 0);
}

static void
vrfy_non_ascii_needs_the_smtputf8_parameter_553_567(void **state)
{
	SESS;

	s->conf.vrfy = SMTP_VRFY_VERIFY;
	start(s);
	expect_code(s, "220");
	feed(s,
	    "VRFY <j\xc3\xb6rg@example.org>\r\n"
	    "VRFY <j\xc3\xb6rg@example.org> SMTPUTF8\r\n");
	expect_reply(
	    s, "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter");
	expect_reply(s, "250 2.0.0 <j\xc3\xb6rg@example.org>");
	expect_req_count(s, SMTP_REQ_VRFY, 1);
}

static void
vrfy_verify_bad_address_is_501_513(void **state)
{
	SESS;

	s->conf.vrfy = SMTP_VRFY_VERIFY;
	start(s);
	expect_code(s, "220");
	feed(s,
	    "VRFY <bob@example.org> x\r\nVRFY <>\r\nVRFY a..b@x.example\r\n");
	expect_reply(s, "501 5.1.3 Bad address syntax");
	expect_reply(s, "501 5.1.3 Bad address syntax");
	expect_reply(s, "501 5.1.3 Bad address syntax");
	expect_req_count(s, SMTP_REQ_VRFY, 0);
}

/* ------------------------------------------------------ command lines */

static void
long_command_line_is_500_552_and_skipped_whole(void **state)
{
	SESS;
	char in[1024];

	start(s);
	expect_code(s, "220");
	ehlo(s);
	/* a MAIL line of 600 octets: no part of it may run */
	snprintf(in, sizeof(in),
	    "MAIL FROM:<a@example.net> ENVID=%0*d\r\nNOOP\r\n", 560, 0);
	feed(s, in);
	expect_reply(s, "500 5.5.2 Error: line too long");
	expect_reply(s, "250 2.0.0 Ok");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
	expect_open(s);
}

static void
long_command_line_split_across_reads_is_500_552(void **state)
{
	SESS;
	char in[2048];
	size_t pieces[] = {1, 7, 100, 511, 512, 513};
	size_t i;

	snprintf(in, sizeof(in),
	    "MAIL FROM:<a@example.net> ENVID=%0*d\r\nNOOP\r\n", 1500, 0);
	start(s);
	expect_code(s, "220");
	ehlo(s);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		feed_pieces(s, in, strlen(in), pieces[i]);
		expect_reply(s, "500 5.5.2 Error: line too long");
		expect_reply(s, "250 2.0.0 Ok");
	}
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
command_line_at_the_limit_is_accepted(void **state)
{
	SESS;
	char in[600];
	size_t n;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	/* "NOOP " + filler + CRLF = exactly line_limit octets */
	n = s->conf.line_limit - 7;
	snprintf(in, sizeof(in), "NOOP %0*d\r\n", (int)n, 0);
	assert_int_equal(strlen(in), s->conf.line_limit);
	feed(s, in);
	expect_reply(s, "250 2.0.0 Ok");
	feed_pieces(s, in, strlen(in), 100);
	expect_reply(s, "250 2.0.0 Ok");
	/* one octet more is too long */
	snprintf(in, sizeof(in), "NOOP %0*d\r\n", (int)n + 1, 0);
	feed(s, in);
	expect_reply(s, "500 5.5.2 Error: line too long");
	feed_pieces(s, in, strlen(in), 100);
	expect_reply(s, "500 5.5.2 Error: line too long");
}

static void
nul_in_command_is_500_552(void **state)
{
	SESS;
	static const char in[] = "MAIL FROM:<a@example.net>\0\r\nNOOP\r\n";

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed_n(s, in, sizeof(in) - 1);
	expect_reply(s, "500 5.5.2 Error: NUL character received");
	expect_reply(s, "250 2.0.0 Ok");
	expect_req_count(s, SMTP_REQ_MAIL, 0);
}

static void
bare_lf_command_is_521_552_when_strict(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "NOOP\nNOOP\r\n");
	expect_reply(
	    s, "521 5.5.2 Error: bare CR or LF received, closing connection");
	expect_no_reply(s);
	expect_closed(s);
}

static void
bare_cr_in_command_is_521_552_when_strict(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	feed(s, "NOOP\rx\r\n");
	expect_reply(
	    s, "521 5.5.2 Error: bare CR or LF received, closing connection");
	expect_closed(s);
}

static void
bare_lf_command_is_accepted_when_lenient(void **state)
{
	SESS;

	s->conf.strict_eol = 0;
	start(s);
	expect_code(s, "220");
	feed(s, "NOOP\nRSET\r\n");
	expect_reply(s, "250 2.0.0 Ok");
	expect_reply(s, "250 2.0.0 Ok");
}

static void
bare_cr_in_command_is_500_552_when_lenient(void **state)
{
	SESS;

	s->conf.strict_eol = 0;
	start(s);
	expect_code(s, "220");
	feed(s, "NOOP\rx\r\nNOOP\r\n");
	expect_reply(s, "500 5.5.2 Error: bare CR received");
	expect_reply(s, "250 2.0.0 Ok");
	expect_open(s);
}

/* --------------------------------------------------------- pipelining */

static const char pipelined[] = "EHLO client.example\r\n"
                                "MAIL FROM:<alice@example.net> SIZE=100\r\n"
                                "RCPT TO:<bob@example.org>\r\n"
                                "RCPT TO:<nobody@example.org>\r\n"
                                "RCPT TO:<bad@@example.org>\r\n"
                                "RCPT TO:<carol@example.org>\r\n"
                                "DATA\r\n";

static void
run_pipelined(struct sess *s, size_t piece, char *replies, size_t sz)
{
	script(s, SMTP_REQ_RCPT);
	unknown_user(s);
	start(s);
	expect_code(s, "220");
	feed_pieces(s, pipelined, sizeof(pipelined) - 1, piece);
	feed_pieces(s, "hi\r\n.\r\nQUIT\r\n", 13, piece);
	assert_true(s->replies.len - s->rpos < sz);
	memcpy(replies, s->replies.data + s->rpos, s->replies.len - s->rpos);
	replies[s->replies.len - s->rpos] = '\0';
	/* order check */
	expect_ehlo_reply(s);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "250 2.1.5 Ok");
	expect_reply(s,
	    "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
	    "User unknown in local recipient table");
	expect_reply(s, "553 5.1.3 Bad recipient address syntax");
	expect_reply(s, "250 2.1.5 Ok");
	expect_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_reply(s, "221 2.0.0 " HOST " closing connection");
	expect_no_reply(s);
}

static void
pipelined_batch_is_answered_in_order(void **state)
{
	SESS;
	char whole[2048];
	struct sess *t;
	void *tstate;
	char bytewise[2048];

	run_pipelined(s, sizeof(pipelined), whole, sizeof(whole));
	setup(&tstate);
	t = tstate;
	run_pipelined(t, 1, bytewise, sizeof(bytewise));
	if (strcmp(whole, bytewise) != 0) {
		teardown(&tstate);
		fail_msg("replies differ between one read and 1-octet reads:\n"
		         "%s\n---\n%s",
		    whole, bytewise);
	}
	teardown(&tstate);
}

/* ------------------------------------------------------- error limits */

static void
error_limit_is_421_470_and_closes(void **state)
{
	SESS;

	s->conf.error_limit = 3;
	start(s);
	expect_code(s, "220");
	feed(s, "FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
	expect_reply(s, "500 5.5.1 Error: command not recognized");
	expect_reply(s, "421 4.7.0 " HOST " Error: too many errors");
	expect_no_reply(s);
	expect_closed(s);
	assert_int_equal(s->unconsumed, 6);
}

static void
error_limit_counts_rejected_recipients(void **state)
{
	SESS;

	s->conf.error_limit = 2;
	start(s);
	expect_code(s, "220");
	ehlo(s);
	unknown_user(s);
	unknown_user(s);
	feed(s, FROM_LINE RCPT_LINE RCPT_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s,
	    "550 5.1.1 <bob@example.org>: Recipient address rejected: User "
	    "unknown in local recipient table");
	expect_reply(s,
	    "550 5.1.1 <bob@example.org>: Recipient address rejected: User "
	    "unknown in local recipient table");
	expect_reply(s, "421 4.7.0 " HOST " Error: too many errors");
	expect_closed(s);
}

/* ------------------------------------------------------------- events */

static void
timeout_is_421_442_and_closes(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	smtp_proto_timeout(s->p);
	collect(s);
	expect_reply(s, "421 4.4.2 " HOST " Error: timeout exceeded");
	expect_closed(s);
	smtp_proto_timeout(s->p);
	collect(s);
	expect_no_reply(s);
}

static void
timeout_in_data_aborts_the_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "partial line");
	smtp_proto_timeout(s->p);
	collect(s);
	expect_reply(s, "421 4.4.2 " HOST " Error: timeout exceeded");
	assert_int_equal(s->aborts, 1);
}

static void
shutdown_is_421_432_and_closes(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	smtp_proto_shutdown(s->p);
	collect(s);
	expect_reply(s,
	    "421 4.3.2 " HOST
	    " Service shutting down, closing transmission channel");
	expect_closed(s);
}

static void
shutdown_in_data_aborts_the_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "half a message\r\n");
	smtp_proto_shutdown(s->p);
	collect(s);
	expect_reply(s,
	    "421 4.3.2 " HOST
	    " Service shutting down, closing transmission channel");
	expect_closed(s);
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
timeout_while_a_request_is_pending_drops_the_answer(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	s->manual = 1;
	feed(s, RCPT_LINE);
	assert_non_null(smtp_proto_request(s->p));
	smtp_proto_timeout(s->p);
	collect(s);
	expect_reply(s, "421 4.4.2 " HOST " Error: timeout exceeded");
	answer(s); /* the final[] handed over must not leak */
	expect_no_reply(s);
	expect_closed(s);
}

static void
shutdown_while_commit_pending_sends_250_then_421(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	s->manual = 1;
	feed(s, "hi\r\n.\r\nNOOP\r\n");
	assert_non_null(smtp_proto_request(s->p));
	assert_int_equal(smtp_proto_request(s->p)->type, SMTP_REQ_COMMIT);
	assert_int_equal(s->unconsumed, 6);
	smtp_proto_shutdown(s->p);
	collect(s);
	expect_no_reply(s);
	expect_open(s);
	answer(s);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_reply(s,
	    "421 4.3.2 " HOST
	    " Service shutting down, closing transmission channel");
	expect_no_reply(s);
	expect_closed(s);
	assert_int_equal(s->aborts, 0);
}

static void
no_input_is_consumed_while_a_request_is_pending(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	s->manual = 1;
	feed(s, FROM_LINE "NOOP\r\n");
	assert_int_equal(s->unconsumed, 6);
	assert_int_equal(smtp_proto_feed(s->p, "NOOP\r\n", 6), 0);
	collect(s);
	expect_no_reply(s);
	answer(s);
	expect_reply(s, "250 2.1.0 Ok");
	feed(s, "NOOP\r\n");
	expect_reply(s, "250 2.0.0 Ok");
}

static void
eof_with_an_open_message_aborts_it(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	feed(s, "half a message\r\n");
	smtp_proto_eof(s->p);
	collect(s);
	assert_int_equal(s->aborts, 1);
	expect_no_reply(s);
	expect_closed(s);
}

static void
eof_without_a_message_aborts_nothing(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	smtp_proto_eof(s->p);
	collect(s);
	assert_int_equal(s->aborts, 0);
	expect_closed(s);
}

static void
eof_while_a_request_is_pending_drops_the_answer(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	s->manual = 1;
	feed(s, RCPT_LINE);
	assert_non_null(smtp_proto_request(s->p));
	smtp_proto_shutdown(s->p);
	smtp_proto_eof(s->p);
	collect(s);
	answer(s); /* the final[] handed over must not leak */
	expect_no_reply(s);
	expect_closed(s);
}

static void
eof_while_commit_pending_leaves_the_message_to_the_queue(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	open_data(s);
	s->manual = 1;
	feed(s, "hi\r\n.\r\n");
	assert_non_null(smtp_proto_request(s->p));
	assert_int_equal(smtp_proto_request(s->p)->type, SMTP_REQ_COMMIT);
	smtp_proto_eof(s->p);
	collect(s);
	/* the message was handed over with COMMIT: it is not ours to drop */
	assert_int_equal(s->aborts, 0);
	answer(s);
	expect_no_reply(s);
	expect_closed(s);
	assert_int_equal(s->aborts, 0);
}

/* Octets in one read, far more than the machine's body buffer holds. */
static void
big_text(struct buf *b, size_t lines)
{
	size_t i;

	for (i = 0; i < lines; i++)
		assert_int_equal(buf_printf(b, "%06zu %s\r\n", i,
		                     "abcdefghijklmnopqrstuvwxyz0123456789"),
		    0);
}

static void
data_larger_than_the_body_buffer_arrives_whole(void **state)
{
	SESS;
	struct buf in;

	buf_init(&in, 1 << 22);
	big_text(&in, 20000); /* 900 kB */
	assert_int_equal(buf_append(&in, ".\r\n", 3), 0);
	s->conf.size_limit = 1 << 22;
	start(s);
	expect_code(s, "220");
	open_data(s);
	feed_n(s, in.data, in.len);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, in.data, in.len - 3);
	buf_free(&in);
}

static void
bdat_chunk_larger_than_the_body_buffer_arrives_whole(void **state)
{
	SESS;
	struct buf in;
	char line[64];
	size_t n;

	buf_init(&in, 1 << 22);
	big_text(&in, 20000);
	n = in.len;
	s->conf.size_limit = 1 << 22;
	start(s);
	expect_code(s, "220");
	envelope(s);
	snprintf(line, sizeof(line), "BDAT %zu LAST\r\n", n);
	feed(s, line);
	drop_body(s);
	feed_n(s, in.data, in.len);
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_body(s, in.data, n);
	buf_free(&in);
}

/* --------------------------------------------------------------- BDAT */

static void
bdat_chunks_are_taken_verbatim(void **state)
{
	SESS;
	char want[512];
	size_t n;

	start(s);
	expect_code(s, "220");
	envelope(s);
	/* no unstuffing, no terminator, bare line ends kept */
	feed(s, "BDAT 8\r\n..x\r\n.\r\n");
	expect_reply(s, "250 2.0.0 8 octets received");
	assert_int_equal(smtp_proto_in_data(s->p), 0);
	feed(s, "BDAT 5 LAST\r\nb\nc\rd");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_req_count(s, SMTP_REQ_OPEN, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 1);
	assert_int_equal(s->req[s->nreq - 1].size, 13);
	received(
	    want, sizeof(want), "client.example", "ESMTP", "bob@example.org");
	n = strlen(want);
	memcpy(want + n, "..x\r\n.\r\nb\nc\rd", 13);
	expect_body(s, want, n + 13);
	expect_open(s);
}

static void
bdat_with_nul_is_554_560(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed_n(s, "BDAT 3 LAST\r\na\0b", 16);
	expect_reply(s, "554 5.6.0 Error: message contains NUL octets");
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
bdat_in_single_octets_gives_the_same_message(void **state)
{
	SESS;
	static const char in[] = "BDAT 4\r\nab\r\nBDAT 3 LAST\r\ncd.QUIT\r\n";
	char want[512];
	size_t n;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed_pieces(s, in, sizeof(in) - 1, 1);
	expect_reply(s, "250 2.0.0 4 octets received");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_code(s, "221 2.0.0");
	received(
	    want, sizeof(want), "client.example", "ESMTP", "bob@example.org");
	n = strlen(want);
	memcpy(want + n, "ab\r\ncd.", 7);
	expect_body(s, want, n + 7);
}

static void
bdat_zero_last_commits_the_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 2\r\nhiBDAT 0 LAST\r\n");
	expect_reply(s, "250 2.0.0 2 octets received");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	assert_int_equal(s->req[s->nreq - 1].size, 2);
}

static void
bdat_zero_last_alone_commits_an_empty_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 0 LAST\r\n");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	expect_req_count(s, SMTP_REQ_OPEN, 1);
	assert_int_equal(s->req[s->nreq - 1].size, 0);
}

static void
bdat_zero_without_last_is_501_554(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 0\r\nNOOP\r\n");
	expect_reply(s, "501 5.5.4 Error: BDAT 0 without LAST");
	expect_reply(s, "250 2.0.0 Ok");
}

static void
bdat_without_mail_is_503_551_after_the_chunk(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, "BDAT 12\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
	/* the chunk's octets were not commands: only the last NOOP runs */
	expect_reply(s, "250 2.0.0 Ok");
	expect_no_reply(s);
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
bdat_without_recipients_is_554_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE "BDAT 4 LAST\r\nQUITNOOP\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s, "554 5.5.1 Error: no valid recipients");
	expect_reply(s, "250 2.0.0 Ok");
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
data_after_bdat_is_503_551(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 1\r\nxDATA\r\n");
	expect_reply(s, "250 2.0.0 1 octets received");
	expect_reply(s, "503 5.5.1 Error: DATA after BDAT");
	expect_req_count(s, SMTP_REQ_OPEN, 1);
}

static void
bdat_malformed_is_521_554_and_closes(void **state)
{
	static const char *const bad[] = {"BDAT\r\n", "BDAT x\r\n",
	    "BDAT -1\r\n", "BDAT 10 LASTX\r\n", "BDAT 10  LAST\r\n",
	    "BDAT 99999999999999999999999\r\n", "BDAT 1 last more\r\n"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *st;
		struct sess *s;

		setup(&st);
		s = st;
		start(s);
		expect_code(s, "220");
		envelope(s);
		feed(s, bad[i]);
		if (!s->closed) {
			teardown(&st);
			fail_msg("\"%s\" did not close the session", bad[i]);
		}
		expect_reply(s, "521 5.5.4 Syntax: BDAT count [LAST]");
		teardown(&st);
	}
}

static void
bdat_last_keyword_is_case_insensitive(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 1 last\r\nx");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
}

static void
bdat_chunk_over_the_size_limit_is_552_534_and_closes(void **state)
{
	SESS;
	char line[64];

	s->conf.size_limit = 1000;
	start(s);
	expect_code(s, "220");
	envelope(s);
	snprintf(line, sizeof(line), "BDAT %llu\r\n",
	    (unsigned long long)s->conf.size_limit + 1);
	feed(s, line);
	expect_reply(s,
	    "552 5.3.4 Message size exceeds fixed maximum message "
	    "size, closing");
	expect_closed(s);
	expect_req_count(s, SMTP_REQ_OPEN, 0);
}

static void
bdat_chunk_over_the_remaining_budget_is_552_534(void **state)
{
	SESS;
	char chunk[700];

	s->conf.size_limit = 1000;
	start(s);
	expect_code(s, "220");
	envelope(s);
	memset(chunk, 'q', sizeof(chunk));
	feed(s, "BDAT 600\r\n");
	feed_n(s, chunk, 600);
	expect_reply(s, "250 2.0.0 600 octets received");
	/* 600 + 401 > 1000: the chunk is read and thrown away */
	feed(s, "BDAT 401\r\n");
	feed_n(s, chunk, 401);
	expect_reply(
	    s, "552 5.3.4 Message size exceeds fixed maximum message size");
	assert_int_equal(s->aborts, 1);
	expect_open(s);
	feed(s, "BDAT 2 LAST\r\nzz");
	expect_reply(
	    s, "554 5.5.1 Error: message discarded after an earlier error");
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
	/* and the transaction is over */
	feed(s, RCPT_LINE);
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
}

static void
bdat_up_to_the_size_limit_is_accepted(void **state)
{
	SESS;
	char chunk[1000];

	s->conf.size_limit = 1000;
	start(s);
	expect_code(s, "220");
	envelope(s);
	memset(chunk, 'q', sizeof(chunk));
	feed(s, "BDAT 400\r\n");
	feed_n(s, chunk, 400);
	feed(s, "BDAT 600 LAST\r\n");
	feed_n(s, chunk, 600);
	expect_reply(s, "250 2.0.0 400 octets received");
	expect_reply(s, "250 2.0.0 Ok: queued as " MSG_ID);
	assert_int_equal(s->req[s->nreq - 1].size, 1000);
}

static void
bdat_open_refused_fails_the_chunk_and_message(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	script_status(s, SMTP_REQ_OPEN, SMTP_S_QUEUE_FAILED);
	feed(s, "BDAT 3\r\nabcBDAT 1 LAST\r\nd");
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	expect_reply(
	    s, "554 5.5.1 Error: message discarded after an earlier error");
	expect_req_count(s, SMTP_REQ_OPEN, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

static void
bdat_last_commit_451_430_resets_the_transaction(void **state)
{
	SESS;

	start(s);
	expect_code(s, "220");
	envelope(s);
	script_status(s, SMTP_REQ_COMMIT, SMTP_S_QUEUE_FAILED);
	feed(s, "BDAT 1 LAST\r\nx" RCPT_LINE);
	expect_reply(s, "451 4.3.0 Error: queue file write error");
	expect_reply(s, "503 5.5.1 Error: need MAIL command");
}

static void
bdat_over_long_line_is_554_560(void **state)
{
	SESS;
	char chunk[1100];
	char line[64];

	start(s);
	expect_code(s, "220");
	envelope(s);
	memset(chunk, 'w', sizeof(chunk));
	snprintf(line, sizeof(line), "BDAT %zu LAST\r\n", sizeof(chunk));
	feed(s, line);
	feed_n(s, chunk, sizeof(chunk));
	expect_reply(
	    s, "554 5.6.0 Error: message line longer than 1000 octets");
	assert_int_equal(s->aborts, 1);
	expect_req_count(s, SMTP_REQ_COMMIT, 0);
}

/* ---------------------------------------------------------- log, stats */

static void
pipelined_burst_waits_for_its_replies_to_be_sent(void **state)
{
	SESS;
	struct smtp_out *o;
	struct buf in;
	size_t i, used, total = 0;

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "BDAT 1\r\nx");
	expect_reply(s, "250 2.0.0 1 octets received");
	/* far more reply text than the machine holds, in one read */
	buf_init(&in, 1 << 20);
	for (i = 0; i < 20000; i++)
		assert_int_equal(buf_append(&in, "HELP\r\n", 6), 0);
	/* Nobody sends the replies: the machine stops taking input. */
	used = smtp_proto_feed(s->p, in.data, in.len);
	o = smtp_proto_out(s->p);
	assert_true(used > 0 && used < in.len);
	assert_false(o->close);
	assert_int_equal(
	    smtp_proto_feed(s->p, in.data + used, in.len - used), 0);
	collect(s);
	total = used;
	/* Once they are sent, it goes on, to the last command. */
	feed_n(s, in.data + total, in.len - total);
	buf_free(&in);
	assert_false(s->closed);
	assert_int_equal(s->unconsumed, 0);
	for (i = 0; i < 20000; i++)
		expect_code(s, "214");
	assert_int_equal(s->aborts, 0);
}

static void
rejections_are_logged_with_the_envelope(void **state)
{
	SESS;
	char *nl;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	unknown_user(s);
	feed(s, FROM_LINE "RCPT TO:<nobody@example.org>\r\n");
	expect_reply(s, "250 2.1.0 Ok");
	expect_reply(s,
	    "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
	    "User unknown in local recipient table");
	assert_int_equal(buf_append(&s->log, "", 1), 0);
	nl = strchr(s->log.data, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_string_equal(s->log.data,
	    "NOQUEUE: reject: RCPT from client.example.net[192.0.2.1]: "
	    "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
	    "User unknown in local recipient table; from=<alice@example.net> "
	    "to=<nobody@example.org> proto=ESMTP helo=<client.example>");
}

/* The log, NUL-terminated, as one string. */
static const char *
log_text(struct sess *s)
{
	assert_int_equal(buf_append(&s->log, "", 1), 0);
	s->log.len--;
	return s->log.data;
}

static void
timeout_is_logged_as_an_event(void **state)
{
	SESS;
	const char *log;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	feed(s, FROM_LINE);
	expect_reply(s, "250 2.1.0 Ok");
	smtp_proto_timeout(s->p);
	collect(s);
	expect_code(s, "421");
	log = log_text(s);
	if (strstr(log,
	        "NOQUEUE: timeout after MAIL from "
	        "client.example.net[192.0.2.1]\n") == NULL ||
	    strstr(log, "reject") != NULL)
		fail_msg(
		    "expected a timeout event and no reject, got:\n%s", log);
}

static void
shutdown_is_logged_as_an_event(void **state)
{
	SESS;
	const char *log;

	start(s);
	expect_code(s, "220");
	ehlo(s);
	smtp_proto_shutdown(s->p);
	collect(s);
	expect_code(s, "421");
	log = log_text(s);
	if (strstr(log,
	        "NOQUEUE: shutdown after EHLO from "
	        "client.example.net[192.0.2.1]\n") == NULL ||
	    strstr(log, "reject") != NULL)
		fail_msg(
		    "expected a shutdown event and no reject, got:\n%s", log);
}

static void
stats_count_commands_and_failures(void **state)
{
	SESS;
	char st[256];

	start(s);
	expect_code(s, "220");
	envelope(s);
	feed(s, "RCPT TO:<x@@y>\r\nFOO\r\nDATA\r\n");
	feed(s, "hi\r\n.\r\nQUIT\r\n");
	smtp_proto_stats(s->p, st, sizeof(st));
	assert_string_equal(st,
	    "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 "
	    "unknown=0/1 commands=5/7");
}

/* ------------------------------------------------------------ catalog */

/* %s conversions of a text, or -1 if it has any other conversion. */
static int
count_conversions(const char *t)
{
	int n = 0;

	for (; *t; t++) {
		if (*t != '%')
			continue;
		if (t[1] == 's')
			n++;
		else if (t[1] != '%')
			return -1;
		t++;
	}
	return n;
}

static int
count_words(const char *s)
{
	int n = 0, in = 0;

	for (; *s; s++) {
		if (*s == ' ') {
			in = 0;
		} else if (!in) {
			in = 1;
			n++;
		}
	}
	return n;
}

/* Greetings and the EHLO/HELO replies carry no enhanced code (RFC 2034). */
static int
no_esc_by_rule(enum smtp_reply_id id)
{
	return id == SMTP_R_GREETING || id == SMTP_R_GREET_REJECT ||
	    id == SMTP_R_GREET_REJECT_TEXT || id == SMTP_R_HELO ||
	    id == SMTP_R_EHLO;
}

static void
catalog_entries_are_well_formed(void **state)
{
	char line[600];
	int id;

	(void)state;
	for (id = 0; id < SMTP_R_COUNT; id++) {
		const struct smtp_reply_def *r = &smtp_replies[id];
		int conv = count_conversions(r->text);

		if (r->name == NULL || strncmp(r->name, "SMTP_R_", 7) != 0)
			fail_msg("catalog entry %d has no SMTP_R_ name", id);
		if (r->code < 200 || r->code > 599)
			fail_msg("%s: code %d", r->name, r->code);
		if (conv != count_words(r->args))
			fail_msg("%s: expected one %%s for each of the "
			         "arguments \"%s\", text \"%s\" has %d",
			    r->name, r->args, r->text, conv);
		if (r->esc == NULL && r->code / 100 != 3 &&
		    !no_esc_by_rule((enum smtp_reply_id)id))
			fail_msg("%s: expected an enhanced code for %d",
			    r->name, r->code);
		if (r->esc != NULL &&
		    (r->code / 100 == 3 ||
		        no_esc_by_rule((enum smtp_reply_id)id)))
			fail_msg("%s: expected no enhanced code, got %s",
			    r->name, r->esc);
		if (r->esc != NULL && r->esc[0] != '0' + r->code / 100)
			fail_msg("%s: enhanced code %s of another class than "
			         "%d",
			    r->name, r->esc, r->code);
		if (r->counts && r->code < 400)
			fail_msg("%s: a %d reply cannot be a client error",
			    r->name, r->code);
		smtp_reply_format(
		    (enum smtp_reply_id)id, line, sizeof(line), "A", "B");
		if (strchr(line, '%') != NULL)
			fail_msg("%s: \"%s\" keeps a %%", r->name, line);
	}
	/* Arguments fill in order; text is cut to fit, never overrun. */
	smtp_reply_format(
	    SMTP_R_RCPT_UNKNOWN_USER, line, sizeof(line), "a@b", "some table");
	assert_string_equal(line,
	    "550 5.1.1 <a@b>: Recipient address rejected: User unknown in "
	    "some table");
	smtp_reply_format(SMTP_R_GREETING, line, 8, "mx.example.org", NULL);
	assert_string_equal(line, "220 mx.");
	smtp_reply_format(SMTP_R_QUEUED, line, sizeof(line), NULL, NULL);
	assert_string_equal(line, "250 2.0.0 Ok: queued as ");
}

/*
 * Codes of the reply table that belong to features not built yet: the
 * test names what is still to come.  A code here that a test provokes
 * has come: take it off the list.
 */
static const struct {
	int code;
	const char *feature;
} to_come[] = {
    {253, "ETRN (RFC 1985): messages pending for the node"},
    {355, "CHECKPOINT (RFC 1845): the transaction offset"},
    {432, "AUTH (RFC 4954): password transition needed"},
    {453, "ATRN (RFC 2645): no mail for the node"},
    {454, "STARTTLS and AUTH: TLS or authentication unavailable for now"},
    {458, "ETRN (RFC 1985): unable to queue messages for the node"},
    {459, "ETRN (RFC 1985): node not allowed"},
    {530, "STARTTLS and AUTH: must issue STARTTLS / authenticate first"},
    {534, "AUTH (RFC 4954): mechanism too weak"},
    {538, "AUTH (RFC 4954): encryption required for the mechanism"},
};

/* The codes of doc/reply-codes.md ("| 250 | ... |" rows). */
static size_t
table_codes(int *codes, size_t max)
{
	char path[4096], row[1024];
	size_t n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/doc/reply-codes.md", TERN_SOURCE_ROOT);
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot read the reply table %s", path);
	while (fgets(row, sizeof(row), fp) != NULL) {
		int code;
		char bar;

		if (sscanf(row, "| %3d %c", &code, &bar) == 2 && bar == '|' &&
		    code >= 200 && code <= 599) {
			assert_true(n < max);
			codes[n++] = code;
		}
	}
	fclose(fp);
	if (n < 30)
		fail_msg(
		    "%s: expected the reply table, found %zu codes", path, n);
	return n;
}

/*
 * Runs after every other test: each catalog entry was sent by the machine
 * in some test, and each code of the reply table is sent by one of them,
 * or is listed above as still to come.
 */
static void
every_reply_is_provoked_by_a_test(void **state)
{
	char missing[4096] = "";
	int codes[64], id, ok = 1;
	size_t n, i, k, o = 0;

	(void)state;
	for (id = 0; id < SMTP_R_COUNT; id++)
		if (!provoked[id]) {
			o += (size_t)snprintf(missing + o, sizeof(missing) - o,
			    " %s", smtp_replies[id].name);
			if (o >= sizeof(missing))
				o = sizeof(missing) - 1;
		}
	if (missing[0] != '\0')
		fail_msg("catalog entries no test made the machine send "
		         "(each must be used and tested):%s",
		    missing);
	n = table_codes(codes, sizeof(codes) / sizeof(codes[0]));
	for (i = 0; i < n; i++) {
		int sent = 0, later = 0;

		for (id = 0; id < SMTP_R_COUNT; id++)
			if (smtp_replies[id].code == codes[i] && provoked[id])
				sent = 1;
		for (k = 0; k < sizeof(to_come) / sizeof(to_come[0]); k++)
			if (to_come[k].code == codes[i])
				later = 1;
		if (!sent && !later) {
			print_error("reply code %d of the reply table: "
			            "expected a catalog entry that a test "
			            "provokes, or a feature to come; found "
			            "neither\n",
			    codes[i]);
			ok = 0;
		}
		if (sent && later) {
			print_error(
			    "reply code %d is sent now: expected it off "
			    "the list of codes still to come\n",
			    codes[i]);
			ok = 0;
		}
	}
	for (k = 0; k < sizeof(to_come) / sizeof(to_come[0]); k++) {
		for (i = 0; i < n && codes[i] != to_come[k].code; i++)
			;
		if (i == n) {
			print_error("code %d (%s) is to come but is not in "
			            "the reply table\n",
			    to_come[k].code, to_come[k].feature);
			ok = 0;
		}
	}
	if (!ok)
		fail();
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(greeting_ok_is_220_without_enhanced_code),
	    T(input_before_greeting_is_not_consumed),
	    T(greeting_busy_is_421_470_and_closes),
	    T(greeting_busy_for_one_client_says_so),
	    T(greeting_shutdown_is_421_432_and_closes),
	    T(greeting_tempfail_is_421_432_and_closes),
	    T(greeting_rate_is_421_470_and_closes),
	    T(early_talker_is_554_550_and_closes),
	    T(rcpt_request_says_whether_it_starts_a_message),
	    T(greeting_reject_is_554_then_503_until_quit),
	    T(greeting_reject_uses_the_given_text),
	    T(greeting_nomail_is_521_532_then_521_until_quit),
	    T(ehlo_lists_every_keyword_without_enhanced_codes),
	    T(ehlo_size_follows_the_limit),
	    T(ehlo_omits_vrfy_when_disabled),
	    T(helo_is_250_hostname_without_enhanced_code),
	    T(helo_without_argument_is_501_554),
	    T(helo_with_blank_inside_is_501_554),
	    T(helo_trailing_blanks_are_ignored),
	    T(mail_before_helo_is_503_551),
	    T(mail_asks_the_glue_and_answers_250_210),
	    T(mail_null_sender_is_accepted),
	    T(mail_twice_is_503_551),
	    T(mail_without_brackets_is_501_554),
	    T(mail_bad_sender_syntax_is_553_517),
	    T(mail_size_over_the_limit_is_552_534),
	    T(mail_unknown_parameter_is_555_554),
	    T(mail_duplicate_parameter_is_501_554),
	    T(mail_binarymime_is_504_554),
	    T(mail_non_ascii_sender_needs_smtputf8_553_567),
	    T(mail_refused_by_the_glue_452_431_leaves_no_transaction),
	    T(mail_parameter_syntax_and_values_are_501_554),
	    T(mail_sender_too_long_is_553_517),
	    T(mail_when_the_queue_cannot_tell_is_451_430),
	    T(rcpt_before_mail_is_503_551),
	    T(rcpt_asks_the_glue_and_answers_250_215),
	    T(rcpt_passes_parameters_to_the_glue),
	    T(rcpt_bad_syntax_is_553_513),
	    T(rcpt_too_long_is_553_513),
	    T(rcpt_non_ascii_needs_smtputf8_553_567),
	    T(rcpt_unknown_parameter_is_555_554),
	    T(rcpt_duplicate_parameter_is_501_554),
	    T(rcpt_550_511_from_the_glue_keeps_the_transaction),
	    T(rcpt_relocated_is_551_516_with_the_new_address),
	    T(rcpt_251_215_from_the_glue_accepts_with_its_expansion),
	    T(rcpt_450_471_from_the_glue_is_not_a_client_error),
	    T(rcpt_relay_denied_is_554_571),
	    T(rcpt_verdicts_become_their_replies),
	    T(postmaster_is_named_with_our_host_name),
	    T(error_limit_counts_client_errors_only),
	    T(rcpt_over_the_limit_is_452_453),
	    T(data_before_mail_is_503_551),
	    T(data_without_recipients_is_554_551),
	    T(data_with_argument_is_501_554),
	    T(data_message_gets_received_header_and_exact_octets),
	    T(data_received_header_names_no_recipient_when_several),
	    T(data_received_header_says_smtp_after_helo),
	    T(data_dot_stuffing_is_undone),
	    T(data_empty_message_is_committed),
	    T(data_terminator_split_in_single_octets),
	    T(data_then_next_transaction_in_same_session),
	    T(data_glued_to_text_is_554_then_421_and_close),
	    T(data_glued_to_text_is_accepted_when_allowed),
	    T(data_over_the_size_limit_is_552_534_after_the_dot),
	    T(data_exactly_at_the_size_limit_is_accepted),
	    T(data_line_over_the_text_limit_is_554_560),
	    T(data_line_at_the_text_limit_is_accepted),
	    T(data_stuffing_dot_does_not_count_towards_the_line_limit),
	    T(bdat_line_limit_counts_the_line_end),
	    T(data_with_nul_is_554_560),
	    T(data_open_refused_by_the_queue_is_451_430),
	    T(data_commit_451_430_resets_the_transaction),
	    T(data_commit_452_431_when_the_spool_is_full),
	    T(smuggling_lf_dot_lf_is_521_552),
	    T(smuggling_crlf_dot_lf_is_521_552),
	    T(smuggling_lf_dot_crlf_is_521_552),
	    T(smuggling_cr_dot_crlf_is_521_552),
	    T(smuggling_lf_dot_lf_is_text_when_lenient),
	    T(smuggling_crlf_dot_lf_is_text_when_lenient),
	    T(smuggling_lf_dot_crlf_is_text_when_lenient),
	    T(smuggling_cr_dot_crlf_is_text_when_lenient),
	    T(data_bare_lf_is_a_line_end_when_lenient),
	    T(data_bare_cr_is_521_552_when_strict),
	    T(rset_is_250_200_and_ends_the_transaction),
	    T(rset_with_argument_is_501_554),
	    T(rset_aborts_an_open_message),
	    T(ehlo_in_a_transaction_resets_it),
	    T(ehlo_aborts_an_open_message),
	    T(noop_is_250_200),
	    T(quit_is_221_200_and_ignores_what_follows),
	    T(quit_during_a_transaction_aborts_the_message),
	    T(unknown_command_is_500_551),
	    T(verbs_are_case_insensitive),
	    T(expn_is_502_551),
	    T(unimplemented_commands_are_502_551),
	    T(http_request_is_421_470_and_closes),
	    T(help_is_214_200),
	    T(help_topic_is_214_200_with_its_syntax),
	    T(help_unknown_topic_is_504_554),
	    T(help_status_is_211_200),
	    T(vrfy_cannot_verify_is_252_200),
	    T(vrfy_without_argument_is_501_554),
	    T(vrfy_disabled_is_502_551),
	    T(vrfy_verify_asks_the_glue),
	    T(vrfy_verify_verdicts_become_their_replies),
	    T(vrfy_non_ascii_needs_the_smtputf8_parameter_553_567),
	    T(vrfy_verify_bad_address_is_501_513),
	    T(long_command_line_is_500_552_and_skipped_whole),
	    T(long_command_line_split_across_reads_is_500_552),
	    T(command_line_at_the_limit_is_accepted),
	    T(nul_in_command_is_500_552),
	    T(bare_lf_command_is_521_552_when_strict),
	    T(bare_cr_in_command_is_521_552_when_strict),
	    T(bare_lf_command_is_accepted_when_lenient),
	    T(bare_cr_in_command_is_500_552_when_lenient),
	    T(pipelined_batch_is_answered_in_order),
	    T(error_limit_is_421_470_and_closes),
	    T(error_limit_counts_rejected_recipients),
	    T(timeout_is_421_442_and_closes),
	    T(timeout_in_data_aborts_the_message),
	    T(shutdown_is_421_432_and_closes),
	    T(shutdown_in_data_aborts_the_message),
	    T(timeout_while_a_request_is_pending_drops_the_answer),
	    T(shutdown_while_commit_pending_sends_250_then_421),
	    T(no_input_is_consumed_while_a_request_is_pending),
	    T(eof_with_an_open_message_aborts_it),
	    T(eof_without_a_message_aborts_nothing),
	    T(eof_while_a_request_is_pending_drops_the_answer),
	    T(eof_while_commit_pending_leaves_the_message_to_the_queue),
	    T(data_larger_than_the_body_buffer_arrives_whole),
	    T(bdat_chunk_larger_than_the_body_buffer_arrives_whole),
	    T(bdat_chunks_are_taken_verbatim),
	    T(bdat_with_nul_is_554_560),
	    T(bdat_in_single_octets_gives_the_same_message),
	    T(bdat_zero_last_commits_the_message),
	    T(bdat_zero_last_alone_commits_an_empty_message),
	    T(bdat_zero_without_last_is_501_554),
	    T(bdat_without_mail_is_503_551_after_the_chunk),
	    T(bdat_without_recipients_is_554_551),
	    T(data_after_bdat_is_503_551),
	    T(bdat_malformed_is_521_554_and_closes),
	    T(bdat_last_keyword_is_case_insensitive),
	    T(bdat_chunk_over_the_size_limit_is_552_534_and_closes),
	    T(bdat_chunk_over_the_remaining_budget_is_552_534),
	    T(bdat_up_to_the_size_limit_is_accepted),
	    T(bdat_open_refused_fails_the_chunk_and_message),
	    T(bdat_last_commit_451_430_resets_the_transaction),
	    T(bdat_over_long_line_is_554_560),
	    T(pipelined_burst_waits_for_its_replies_to_be_sent),
	    T(rejections_are_logged_with_the_envelope),
	    T(timeout_is_logged_as_an_event),
	    T(shutdown_is_logged_as_an_event),
	    T(stats_count_commands_and_failures),
	    cmocka_unit_test(catalog_entries_are_well_formed),
	    /* Last: it checks what all the others provoked. */
	    cmocka_unit_test(every_reply_is_provoked_by_a_test),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
