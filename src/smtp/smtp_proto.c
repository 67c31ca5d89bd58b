/*
 * smtp_proto - the server state machine: one command or end of data in,
 * replies and at most one request for the glue out.  No I/O, clock or
 * globals, so that it is unit tested and fuzzed alone.
 */
#include "smtp_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"
#include "smtp_data.h"

/* Message octets are handed to the glue in pieces of at most this size. */
#define BODY_CHUNK (64 * 1024)
#define REPLY_MAX (256 * 1024)
/* Input waits while this much reply text is unsent: a client that sends
 * thousands of commands at once is answered in turn, not dropped. */
#define REPLY_HIGH (32 * 1024)
#define LOG_MAX (64 * 1024)

enum state {
	ST_NEW,    /* before the greeting */
	ST_CMD,    /* reading command lines */
	ST_DATA,   /* message text after 354 */
	ST_CHUNK,  /* BDAT chunk octets */
	ST_REFUSE, /* after a 554 greeting: only QUIT */
	ST_NOMAIL, /* after a 521 greeting: only QUIT */
	ST_CLOSED,
};

enum open_for { OPEN_DATA, OPEN_BDAT };

struct smtp_proto {
	struct smtp_proto_conf conf;
	struct smtp_client client;
	struct smtp_out out;
	enum state st;

	char helo[256];
	int esmtp;
	int has_mail;
	struct smtp_txn txn;
	int msg_open;

	struct smtp_req req;
	enum open_for open_for;
	struct mailbox pend_addr;
	struct smtp_mail_params pend_mp;
	struct smtp_rcpt_params pend_rp;
	int shutdown_pending;
	int closing_logged; /* the closing 421 is logged as an event */

	struct smtp_data data;
	int out_full;

	struct buf line; /* a command line split across reads */
	int discarding;  /* skipping the rest of an over-long line */

	uint64_t chunk_left;
	int chunk_last;
	int chunk_discard;
	int bdat_used;
	int bdat_failed;
	struct smtp_err chunk_err;

	unsigned errors;
	unsigned char sent[(SMTP_R_COUNT + 7) / 8];
	const char *cur_name; /* the command being answered, for the log */
	enum smtp_verb cur_verb;
	int cur_counted;
	unsigned cnt_ok[SMTP_V_COUNT];
	unsigned cnt_all[SMTP_V_COUNT];
};

static void reset_txn(struct smtp_proto *p);

struct smtp_proto *
smtp_proto_new(
    const struct smtp_proto_conf *conf, const struct smtp_client *client)
{
	struct smtp_proto *p = xcalloc(1, sizeof(*p));

	p->conf = *conf;
	p->client = *client;
	buf_init(&p->out.reply, REPLY_MAX);
	/* Room for a full chunk plus our Received: header. */
	buf_init(&p->out.body, BODY_CHUNK + 4096);
	buf_init(&p->out.log, LOG_MAX);
	buf_init(&p->line, conf->line_limit);
	p->st = ST_NEW;
	p->cur_verb = SMTP_V_UNKNOWN;
	p->cur_name = "CONNECT";
	return p;
}

void
smtp_proto_free(struct smtp_proto *p)
{
	if (p == NULL)
		return;
	reset_txn(p);
	buf_free(&p->out.reply);
	buf_free(&p->out.body);
	buf_free(&p->out.log);
	buf_free(&p->line);
	free(p);
}

struct smtp_out *
smtp_proto_out(struct smtp_proto *p)
{
	return &p->out;
}

/* ------------------------------------------------------------ replies */

static void logline(struct smtp_proto *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logline(struct smtp_proto *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A full log buffer drops lines rather than growing without bound. */
	buf_printf(&p->out.log, "%s\n", line);
}

static void
log_reject(struct smtp_proto *p, const char *text)
{
	char from[ADDR_PATH_MAX + 1] = "", to[ADDR_PATH_MAX + 1] = "";

	if (p->cur_verb == SMTP_V_MAIL && !p->has_mail)
		addr_format(&p->pend_addr, from, sizeof(from));
	else if (p->has_mail)
		addr_format(&p->txn.from, from, sizeof(from));
	if (p->cur_verb == SMTP_V_RCPT)
		addr_format(&p->pend_addr, to, sizeof(to));
	logline(p,
	    "%s: reject: %s from %s[%s]: %s; from=<%s>%s%s%s "
	    "proto=%s helo=<%s>",
	    p->txn.id[0] ? p->txn.id : "NOQUEUE", p->cur_name, p->client.name,
	    p->client.addr, text, from, to[0] ? " to=<" : "", to,
	    to[0] ? ">" : "", smtp_proto_protocol(p), p->helo);
}

static void close_session(struct smtp_proto *p);

/*
 * Send a reply of the catalog; a1 and a2 fill its text.  A reply that
 * counts (the client erred) may be the one that reaches error_limit: then
 * 421 follows and the session ends.
 */
static void
reply(
    struct smtp_proto *p, enum smtp_reply_id id, const char *a1, const char *a2)
{
	const struct smtp_reply_def *def = &smtp_replies[id];
	char line[600];

	smtp_reply_format(id, line, sizeof(line), a1, a2);
	if (buf_printf(&p->out.reply, "%s\r\n", line) < 0) {
		/* The client does not read its replies: give up on it. */
		close_session(p);
		return;
	}
	p->sent[id / 8] |= (unsigned char)(1u << (id % 8));
	if (!p->cur_counted) {
		p->cur_counted = 1;
		if (def->code < 400)
			p->cnt_ok[p->cur_verb]++;
	}
	if (def->code >= 400 && !p->closing_logged)
		log_reject(p, line);
	if (def->counts && ++p->errors >= p->conf.error_limit &&
	    p->st != ST_CLOSED) {
		reply(p, SMTP_R_TOO_MANY_ERRORS, p->conf.hostname, NULL);
		close_session(p);
	}
}

static void
close_session(struct smtp_proto *p)
{
	/* Once COMMIT is asked for, the message is the queue's to keep. */
	if (p->req.type == SMTP_REQ_COMMIT)
		p->msg_open = 0;
	if (p->msg_open) {
		p->out.abort_msg = 1;
		p->msg_open = 0;
	}
	p->out.close = 1;
	p->st = ST_CLOSED;
}

static void
reply_smtp_err(struct smtp_proto *p, const struct smtp_err *e)
{
	reply(p, e->id, e->arg, NULL);
}

/* --------------------------------------------------------- transactions */

static void
free_rcpts(struct smtp_txn *t)
{
	size_t i, k;

	for (i = 0; i < t->nrcpt; i++) {
		for (k = 0; k < t->rcpt[i].nfinal; k++)
			free(t->rcpt[i].final[k]);
		free(t->rcpt[i].final);
	}
	free(t->rcpt);
	t->rcpt = NULL;
	t->nrcpt = 0;
}

static void
reset_txn(struct smtp_proto *p)
{
	if (p->msg_open) {
		p->out.abort_msg = 1;
		p->msg_open = 0;
	}
	free_rcpts(&p->txn);
	memset(&p->txn, 0, sizeof(p->txn));
	p->has_mail = 0;
	p->bdat_used = 0;
	p->bdat_failed = 0;
}

static void
free_final(struct smtp_answer *a)
{
	size_t k;

	for (k = 0; k < a->lookup.nfinal; k++)
		free(a->lookup.final[k]);
	free(a->lookup.final);
	a->lookup.final = NULL;
	a->lookup.nfinal = 0;
}

static void
request(struct smtp_proto *p, enum smtp_req_type type,
    const struct mailbox *addr, uint64_t size)
{
	memset(&p->req, 0, sizeof(p->req));
	p->req.type = type;
	p->req.addr = addr;
	p->req.size = size;
	if (type == SMTP_REQ_RCPT || type == SMTP_REQ_VRFY)
		p->req.rcpt_params = &p->pend_rp;
}

/* ----------------------------------------------------------- commands */

static void
ehlo_reply(struct smtp_proto *p)
{
	struct buf *r = &p->out.reply;
	size_t start = r->len;
	char first[300];
	int full = 0;

	/* The catalog's line, continued by one line per keyword. */
	smtp_reply_format(
	    SMTP_R_EHLO, first, sizeof(first), p->conf.hostname, NULL);
	first[3] = '-';
	full |= buf_printf(r, "%s\r\n", first) < 0;
	full |= buf_printf(r, "250-PIPELINING\r\n") < 0;
	full |= buf_printf(r, "250-SIZE %llu\r\n",
	            (unsigned long long)p->conf.size_limit) < 0;
	full |= buf_printf(r, "250-8BITMIME\r\n") < 0;
	full |= buf_printf(r, "250-SMTPUTF8\r\n") < 0;
	full |= buf_printf(r, "250-ENHANCEDSTATUSCODES\r\n") < 0;
	full |= buf_printf(r, "250-CHUNKING\r\n") < 0;
	full |= buf_printf(r, "250-DSN\r\n") < 0;
	if (p->conf.vrfy != SMTP_VRFY_DISABLED)
		full |= buf_printf(r, "250-VRFY\r\n") < 0;
	full |= buf_printf(r, "250 HELP\r\n") < 0;
	if (full) {
		/* The client does not read its replies (see reply): give up
		 * on it, and never leave part of a reply behind. */
		r->len = start;
		close_session(p);
		return;
	}
	p->sent[SMTP_R_EHLO / 8] |= (unsigned char)(1u << (SMTP_R_EHLO % 8));
	p->cur_counted = 1;
	p->cnt_ok[p->cur_verb]++;
}

static int
helo_arg_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 255 || !utf8_valid(s, n, NULL))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static void
do_helo(struct smtp_proto *p, const struct smtp_cmd *c, int esmtp)
{
	const char *a = c->arg;
	size_t n = c->arglen;

	while (n > 0 && a[n - 1] == ' ')
		n--;
	if (!c->has_arg || !helo_arg_valid(a, n)) {
		reply(p, SMTP_R_SYNTAX,
		    esmtp ? "EHLO hostname" : "HELO hostname", NULL);
		return;
	}
	reset_txn(p); /* RFC 5321 4.1.4: a new EHLO resets the state */
	memcpy(p->helo, a, n);
	p->helo[n] = '\0';
	p->esmtp = esmtp;
	if (esmtp)
		ehlo_reply(p);
	else
		reply(p, SMTP_R_HELO, p->conf.hostname, NULL);
}

static void
do_mail(struct smtp_proto *p, const struct smtp_cmd *c)
{
	struct smtp_err err;

	if (p->helo[0] == '\0') {
		reply(p, SMTP_R_NEED_HELO, NULL, NULL);
		return;
	}
	if (p->has_mail) {
		reply(p, SMTP_R_NESTED_MAIL, NULL, NULL);
		return;
	}
	if (smtp_parse_mail(
	        c->arg, c->arglen, &p->pend_addr, &p->pend_mp, &err) < 0) {
		reply_smtp_err(p, &err);
		return;
	}
	if (p->pend_mp.size > p->conf.size_limit) {
		reply(p, SMTP_R_SIZE_EXCEEDED, NULL, NULL);
		return;
	}
	request(p, SMTP_REQ_MAIL, &p->pend_addr, p->pend_mp.size);
}

static void
do_rcpt(struct smtp_proto *p, const struct smtp_cmd *c)
{
	struct smtp_err err;

	if (!p->has_mail) {
		reply(p, SMTP_R_NEED_MAIL, NULL, NULL);
		return;
	}
	if (p->txn.nrcpt >= p->conf.rcpt_limit) {
		reply(p, SMTP_R_TOO_MANY_RCPTS, NULL, NULL);
		return;
	}
	if (smtp_parse_rcpt(c->arg, c->arglen, p->txn.params.smtputf8,
	        &p->pend_addr, &p->pend_rp, &err) < 0) {
		reply_smtp_err(p, &err);
		return;
	}
	request(p, SMTP_REQ_RCPT, &p->pend_addr, 0);
	p->req.new_message = p->txn.nrcpt == 0;
}

static void
do_data(struct smtp_proto *p, const struct smtp_cmd *c, int more_input)
{
	if (c->has_arg) {
		reply(p, SMTP_R_SYNTAX, "DATA", NULL);
		return;
	}
	if (!p->has_mail) {
		reply(p, SMTP_R_NEED_MAIL, NULL, NULL);
		return;
	}
	if (p->bdat_used) {
		reply(p, SMTP_R_DATA_AFTER_BDAT, NULL, NULL);
		return;
	}
	if (p->txn.nrcpt == 0) {
		reply(p, SMTP_R_NO_VALID_RCPTS, NULL, NULL);
		return;
	}
	if (more_input && p->conf.reject_unsync_data) {
		/* The client sent its text before our 354 (RFC 2920 3.1):
		 * a transaction-stuffing pattern, not a pipelining client.
		 * That text was meant as a message: read as commands, a
		 * MAIL/RCPT/DATA in it would be a transaction smuggled in
		 * under this client's rights.  Nothing after DATA is read. */
		reply(p, SMTP_R_UNSYNC_DATA, NULL, NULL);
		reply(p, SMTP_R_UNSYNC_CLOSE, p->conf.hostname, NULL);
		close_session(p);
		return;
	}
	p->open_for = OPEN_DATA;
	request(p, SMTP_REQ_OPEN, NULL, 0);
}

static void chunk_done(struct smtp_proto *p);

static void
start_chunk(struct smtp_proto *p, int discard)
{
	p->chunk_discard = discard;
	p->st = ST_CHUNK;
	if (p->chunk_left == 0)
		chunk_done(p); /* BDAT 0 LAST: no octets to wait for */
}

/* The chunk is read and discarded, then refused with this reply. */
static void
chunk_error(struct smtp_proto *p, enum smtp_reply_id id)
{
	p->chunk_err.id = id;
	p->chunk_err.arg[0] = '\0';
	start_chunk(p, 1);
}

static void
do_bdat(struct smtp_proto *p, const struct smtp_cmd *c)
{
	uint64_t size;
	int last;

	if (smtp_parse_bdat(c->arg, c->arglen, &size, &last) < 0) {
		/* Without a size the stream cannot be followed any more. */
		reply(p, SMTP_R_BDAT_SYNTAX, NULL, NULL);
		close_session(p);
		return;
	}
	p->chunk_left = size;
	p->chunk_last = last;
	if (!p->has_mail) {
		chunk_error(p, SMTP_R_NEED_MAIL);
		return;
	}
	p->bdat_used = 1;
	if (p->bdat_failed) {
		chunk_error(p, SMTP_R_BDAT_DISCARDED);
		return;
	}
	if (p->txn.nrcpt == 0) {
		chunk_error(p, SMTP_R_NO_VALID_RCPTS);
		return;
	}
	if (size == 0 && !last) {
		chunk_error(p, SMTP_R_BDAT_ZERO);
		return;
	}
	if (size > p->conf.size_limit - (p->msg_open ? p->data.size : 0)) {
		if (size > p->conf.size_limit) {
			/* Reading that much only to discard it is abuse. */
			reply(p, SMTP_R_BDAT_TOO_BIG, NULL, NULL);
			close_session(p);
			return;
		}
		if (p->msg_open) {
			p->out.abort_msg = 1;
			p->msg_open = 0;
		}
		p->bdat_failed = 1;
		chunk_error(p, SMTP_R_SIZE_EXCEEDED);
		return;
	}
	if (!p->msg_open) {
		p->open_for = OPEN_BDAT;
		request(p, SMTP_REQ_OPEN, NULL, 0);
		return;
	}
	start_chunk(p, 0);
}

static void
do_rset(struct smtp_proto *p, const struct smtp_cmd *c)
{
	if (c->has_arg) {
		reply(p, SMTP_R_SYNTAX, "RSET", NULL);
		return;
	}
	reset_txn(p);
	reply(p, SMTP_R_OK, NULL, NULL);
}

static void
do_quit(struct smtp_proto *p)
{
	reply(p, SMTP_R_QUIT, p->conf.hostname, NULL);
	close_session(p);
}

static void
do_vrfy(struct smtp_proto *p, const struct smtp_cmd *c)
{
	size_t used, n;
	enum addr_status st;
	int utf8 = 0;

	if (p->conf.vrfy == SMTP_VRFY_DISABLED) {
		reply(p, SMTP_R_VRFY_DISABLED, NULL, NULL);
		return;
	}
	if (!c->has_arg) {
		reply(p, SMTP_R_SYNTAX, "VRFY address", NULL);
		return;
	}
	if (p->conf.vrfy == SMTP_VRFY_CANNOT) {
		reply(p, SMTP_R_VRFY_CANNOT, NULL, NULL);
		return;
	}
	/* "VRFY address [SMTPUTF8]" (RFC 6531 3.7.4.2). */
	n = c->arglen;
	if (n > 9 && str_ncaseeq(c->arg + n - 9, " SMTPUTF8", 9)) {
		utf8 = 1;
		n -= 9;
		while (n > 0 && c->arg[n - 1] == ' ')
			n--;
	}
	if (c->arg[0] == '<') {
		st = addr_parse_path(c->arg, n, &used, &p->pend_addr);
		if (st == ADDR_OK && used != n)
			st = ADDR_BAD;
	} else if (memchr(c->arg, '@', n) != NULL) {
		st = addr_parse_mailbox(c->arg, n, &p->pend_addr);
	} else {
		/* A user name alone (RFC 5321 3.5.3): one of ours. */
		st = addr_parse_local(c->arg, n, &p->pend_addr);
	}
	if (st != ADDR_OK || p->pend_addr.local[0] == '\0') {
		reply(p, SMTP_R_VRFY_BAD_ADDRESS, NULL, NULL);
		return;
	}
	if (p->pend_addr.utf8 && !utf8) {
		reply(p, SMTP_R_VRFY_NEEDS_UTF8, NULL, NULL);
		return;
	}
	memset(&p->pend_rp, 0, sizeof(p->pend_rp));
	request(p, SMTP_REQ_VRFY, &p->pend_addr, 0);
}

static const struct {
	enum smtp_verb verb;
	const char *syntax;
} help_topics[] = {
    {SMTP_V_HELO, "HELO hostname"},
    {SMTP_V_EHLO, "EHLO hostname"},
    {SMTP_V_MAIL,
        "MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME] "
        "[SMTPUTF8] [RET=FULL|HDRS] [ENVID=xtext]"},
    {SMTP_V_RCPT,
        "RCPT TO:<address> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] "
        "[ORCPT=rfc822;xtext]"},
    {SMTP_V_DATA,
        "DATA, then the message, ending with a line holding "
        "only \".\""},
    {SMTP_V_BDAT, "BDAT size [LAST], then exactly size octets"},
    {SMTP_V_RSET, "RSET"},
    {SMTP_V_NOOP, "NOOP"},
    {SMTP_V_QUIT, "QUIT"},
    {SMTP_V_VRFY, "VRFY address [SMTPUTF8]"},
    {SMTP_V_HELP, "HELP [command | STATUS]"},
};

static void
do_help(struct smtp_proto *p, const struct smtp_cmd *c)
{
	struct smtp_cmd topic;
	size_t i, n = c->arglen;

	while (n > 0 && c->arg[n - 1] == ' ')
		n--;
	if (!c->has_arg) {
		reply(p, SMTP_R_HELP, NULL, NULL);
		return;
	}
	if (n == 6 && str_ncaseeq(c->arg, "STATUS", 6)) {
		request(p, SMTP_REQ_STATUS, NULL, 0);
		return;
	}
	smtp_cmd_parse(c->arg, n, &topic);
	for (i = 0; i < sizeof(help_topics) / sizeof(help_topics[0]); i++)
		if (help_topics[i].verb == topic.verb && !topic.has_arg) {
			reply(
			    p, SMTP_R_HELP_TOPIC, help_topics[i].syntax, NULL);
			return;
		}
	reply(p, SMTP_R_HELP_UNKNOWN, NULL, NULL);
}

static void
process_command(
    struct smtp_proto *p, const char *line, size_t len, int more_input)
{
	struct smtp_cmd c;

	smtp_cmd_parse(line, len, &c);
	p->cur_verb = c.verb;
	p->cur_name = smtp_verb_names[c.verb];
	p->cur_counted = 0;
	p->cnt_all[c.verb]++;
	if (p->st == ST_REFUSE || p->st == ST_NOMAIL) {
		if (c.verb == SMTP_V_QUIT)
			do_quit(p);
		else if (p->st == ST_NOMAIL)
			reply(p, SMTP_R_NOMAIL, p->conf.hostname, NULL);
		else
			reply(p, SMTP_R_REFUSED, NULL, NULL);
		return;
	}
	switch (c.verb) {
	case SMTP_V_HELO:
		do_helo(p, &c, 0);
		break;
	case SMTP_V_EHLO:
		do_helo(p, &c, 1);
		break;
	case SMTP_V_MAIL:
		do_mail(p, &c);
		break;
	case SMTP_V_RCPT:
		do_rcpt(p, &c);
		break;
	case SMTP_V_DATA:
		do_data(p, &c, more_input);
		break;
	case SMTP_V_BDAT:
		do_bdat(p, &c);
		break;
	case SMTP_V_RSET:
		do_rset(p, &c);
		break;
	case SMTP_V_NOOP:
		reply(p, SMTP_R_OK, NULL, NULL);
		break;
	case SMTP_V_QUIT:
		do_quit(p);
		break;
	case SMTP_V_VRFY:
		do_vrfy(p, &c);
		break;
	case SMTP_V_EXPN:
		reply(p, SMTP_R_EXPN, NULL, NULL);
		break;
	case SMTP_V_HELP:
		do_help(p, &c);
		break;
	case SMTP_V_STARTTLS:
	case SMTP_V_AUTH:
	case SMTP_V_ETRN:
	case SMTP_V_ATRN:
	case SMTP_V_TURN:
	case SMTP_V_SEND:
		reply(p, SMTP_R_NOT_IMPLEMENTED, NULL, NULL);
		break;
	case SMTP_V_HTTP:
		/* Cross-protocol traffic (a browser, ALPACA): drop it. */
		reply(p, SMTP_R_NOT_SMTP, p->conf.hostname, NULL);
		close_session(p);
		break;
	case SMTP_V_UNKNOWN:
	case SMTP_V_COUNT:
		reply(p, SMTP_R_UNKNOWN_COMMAND, NULL, NULL);
		break;
	}
}

/* -------------------------------------------------------------- input */

static void
bad_line_ending(struct smtp_proto *p)
{
	reply(p, SMTP_R_BARE_EOL, NULL, NULL);
	close_session(p);
}

/* One command line, LF included. */
static void
command_line(struct smtp_proto *p, const char *line, size_t len, int more_input)
{
	if (len > p->conf.line_limit) {
		reply(p, SMTP_R_LINE_TOO_LONG, NULL, NULL);
		return;
	}
	if (len >= 2 && line[len - 2] == '\r') {
		len -= 2;
	} else if (p->conf.strict_eol) {
		bad_line_ending(p);
		return;
	} else {
		len -= 1;
	}
	if (memchr(line, '\r', len) != NULL) {
		if (p->conf.strict_eol)
			bad_line_ending(p);
		else
			reply(p, SMTP_R_BARE_CR, NULL, NULL);
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		reply(p, SMTP_R_NUL_IN_COMMAND, NULL, NULL);
		return;
	}
	process_command(p, line, len, more_input);
}

static size_t
feed_line(struct smtp_proto *p, const char *in, size_t n)
{
	const char *lf = memchr(in, '\n', n);
	size_t k;

	if (p->discarding) {
		if (lf == NULL)
			return n;
		p->discarding = 0;
		p->cur_verb = SMTP_V_UNKNOWN;
		p->cur_name = smtp_verb_names[SMTP_V_UNKNOWN];
		p->cur_counted = 0;
		reply(p, SMTP_R_LINE_TOO_LONG, NULL, NULL);
		return (size_t)(lf - in) + 1;
	}
	if (lf == NULL) {
		if (buf_append(&p->line, in, n) < 0) {
			/* Over the limit: skip to the end of the line, keeping
			 * no more than we already hold. */
			buf_free(&p->line);
			p->discarding = 1;
		}
		return n;
	}
	k = (size_t)(lf - in) + 1;
	if (p->line.len == 0) {
		command_line(p, in, k, k < n);
		return k;
	}
	if (buf_append(&p->line, in, k) < 0) {
		buf_free(&p->line);
		p->cur_verb = SMTP_V_UNKNOWN;
		p->cur_name = smtp_verb_names[SMTP_V_UNKNOWN];
		p->cur_counted = 0;
		reply(p, SMTP_R_LINE_TOO_LONG, NULL, NULL);
		return k;
	}
	command_line(p, p->line.data, p->line.len, k < n);
	buf_free(&p->line);
	return k;
}

static void
end_of_message(struct smtp_proto *p)
{
	p->st = ST_CMD;
	p->txn.size = p->data.size;
	if (p->data.too_big) {
		reply(p, SMTP_R_SIZE_EXCEEDED, NULL, NULL);
		reset_txn(p);
	} else if (p->data.long_line) {
		char limit[32];

		snprintf(limit, sizeof(limit), "%llu",
		    (unsigned long long)p->conf.text_line_limit);
		reply(p, SMTP_R_LONG_LINE, limit, NULL);
		reset_txn(p);
	} else if (p->data.nul) {
		reply(p, SMTP_R_NUL_IN_MESSAGE, NULL, NULL);
		reset_txn(p);
	} else {
		request(p, SMTP_REQ_COMMIT, NULL, p->data.size);
	}
}

static size_t
feed_data(struct smtp_proto *p, const char *in, size_t n)
{
	enum smtp_data_status st;
	size_t used = smtp_data_feed(&p->data, in, n, &p->out.body, &st);

	switch (st) {
	case SMTP_DATA_MORE:
		break;
	case SMTP_DATA_END:
		end_of_message(p);
		break;
	case SMTP_DATA_BAD_EOL:
		bad_line_ending(p);
		break;
	case SMTP_DATA_OUT_FULL:
		p->out_full = 1;
		break;
	}
	return used;
}

static void
chunk_done(struct smtp_proto *p)
{
	p->st = ST_CMD;
	if (p->chunk_discard) {
		reply_smtp_err(p, &p->chunk_err);
		if (p->chunk_last && p->has_mail)
			reset_txn(p);
		return;
	}
	p->txn.size = p->data.size;
	if (p->chunk_last) {
		end_of_message(p);
	} else {
		char octets[32];

		snprintf(octets, sizeof(octets), "%llu",
		    (unsigned long long)p->data.size);
		reply(p, SMTP_R_BDAT_OK, octets, NULL);
	}
}

static size_t
feed_chunk(struct smtp_proto *p, const char *in, size_t n)
{
	size_t take = n < p->chunk_left ? n : (size_t)p->chunk_left, used;

	if (p->chunk_discard) {
		used = take;
	} else {
		used = smtp_data_chunk(&p->data, in, take, &p->out.body);
		if (used < take)
			p->out_full = 1;
	}
	p->chunk_left -= used;
	if (p->chunk_left == 0)
		chunk_done(p);
	return used;
}

size_t
smtp_proto_feed(struct smtp_proto *p, const char *in, size_t n)
{
	size_t used = 0;

	p->out_full = 0;
	while (used < n && p->req.type == SMTP_REQ_NONE && !p->out.close &&
	    !p->out_full && p->out.reply.len < REPLY_HIGH) {
		switch (p->st) {
		case ST_DATA:
			used += feed_data(p, in + used, n - used);
			break;
		case ST_CHUNK:
			used += feed_chunk(p, in + used, n - used);
			break;
		case ST_CMD:
		case ST_REFUSE:
		case ST_NOMAIL:
			used += feed_line(p, in + used, n - used);
			break;
		case ST_NEW:
		case ST_CLOSED:
			return used;
		}
	}
	return used;
}

/* ------------------------------------------------------------ answers */

static void
add_received(struct smtp_proto *p, const struct smtp_answer *a)
{
	struct buf *b = &p->out.body;
	char to[ADDR_PATH_MAX + 1];

	buf_printf(b, "Received: from %s (%s [%s])\r\n", p->helo,
	    p->client.name, p->client.addr);
	buf_printf(b, "\tby %s (tern) with %s id %s", p->conf.hostname,
	    smtp_proto_protocol(p), a->id);
	if (p->txn.nrcpt == 1) {
		/* Naming the recipient is safe only when there is one. */
		addr_format(&p->txn.rcpt[0].addr, to, sizeof(to));
		buf_printf(b, "\r\n\tfor <%s>", to);
	}
	buf_printf(b, "; %s\r\n", a->date);
}

static void
answer_open(struct smtp_proto *p, struct smtp_answer *a)
{
	if (a->status != SMTP_S_OK) {
		if (p->open_for == OPEN_DATA) {
			reply(p, SMTP_R_QUEUE_WRITE, NULL, NULL);
		} else {
			p->bdat_failed = 1;
			chunk_error(p, SMTP_R_QUEUE_WRITE);
		}
		return;
	}
	p->msg_open = 1;
	snprintf(p->txn.id, sizeof(p->txn.id), "%s", a->id);
	smtp_data_init(&p->data, p->conf.size_limit, p->conf.text_line_limit,
	    p->conf.strict_eol);
	add_received(p, a);
	if (p->open_for == OPEN_DATA) {
		p->st = ST_DATA;
		reply(p, SMTP_R_DATA_GO, NULL, NULL);
	} else {
		start_chunk(p, 0);
	}
}

/* The recipient joins the transaction with its expansion. */
static void
add_rcpt(struct smtp_proto *p, struct smtp_answer *a)
{
	struct smtp_rcpt *r;

	/* Room doubles at each power of two: O(n) for n recipients. */
	if ((p->txn.nrcpt & (p->txn.nrcpt - 1)) == 0)
		p->txn.rcpt = xreallocarray(p->txn.rcpt,
		    p->txn.nrcpt ? 2 * p->txn.nrcpt : 1, sizeof(*p->txn.rcpt));
	r = &p->txn.rcpt[p->txn.nrcpt++];
	r->addr = p->pend_addr;
	r->params = p->pend_rp;
	r->final = a->lookup.final;
	r->nfinal = a->lookup.nfinal;
	a->lookup.final = NULL;
	a->lookup.nfinal = 0;
}

/*
 * The one place where the lookup's verdict on an address (RCPT, or VRFY
 * when vrfy is set) becomes a reply.
 */
static void
answer_lookup(struct smtp_proto *p, struct smtp_answer *a, int vrfy)
{
	const struct lookup_reply *lr = &a->lookup;
	char addr[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	int accepted =
	    lr->verdict == LOOKUP_V_ACCEPT || lr->verdict == LOOKUP_V_FORWARD;

	/* The address as the lookup saw it: <postmaster> is ours. */
	snprintf(addr, sizeof(addr), "%s@%s", p->pend_addr.local,
	    p->pend_addr.domain[0] ? p->pend_addr.domain : p->conf.hostname);
	if ((accepted && !vrfy && lr->nfinal == 0) ||
	    (lr->verdict == LOOKUP_V_NOT_LOCAL && !vrfy)) {
		/* Accepted for nowhere, or a verdict that is no answer to
		 * RCPT: not a verdict to act on. */
		reply(p, SMTP_R_LOOKUP_TEMPFAIL, NULL, NULL);
		free_final(a);
		return;
	}
	switch (lr->verdict) {
	case LOOKUP_V_ACCEPT:
		if (vrfy) {
			reply(p, SMTP_R_VRFY_OK, addr, NULL);
		} else {
			add_rcpt(p, a);
			reply(p, SMTP_R_RCPT_OK, NULL, NULL);
		}
		break;
	case LOOKUP_V_FORWARD:
		if (!vrfy)
			add_rcpt(p, a);
		reply(p, SMTP_R_RCPT_FORWARD, lr->arg, NULL);
		break;
	case LOOKUP_V_RELOCATED:
		if (lr->arg[0] != '\0')
			reply(p, SMTP_R_RCPT_RELOCATED, lr->arg, NULL);
		else
			reply(p, SMTP_R_RCPT_RELOCATED_NOWHERE, NULL, NULL);
		break;
	case LOOKUP_V_UNKNOWN_USER:
		reply(p, SMTP_R_RCPT_UNKNOWN_USER, addr,
		    lr->table == LOOKUP_T_VIRTUAL ? "virtual mailbox table"
		                                  : "local recipient table");
		break;
	case LOOKUP_V_BAD_MAILBOX:
		reply(p, SMTP_R_RCPT_BAD_MAILBOX, addr, NULL);
		break;
	case LOOKUP_V_RELAY_DENIED:
		reply(p, SMTP_R_RCPT_RELAY_DENIED, addr, NULL);
		break;
	case LOOKUP_V_ACCESS_REJECT:
		if (lr->arg[0] != '\0')
			reply(p, SMTP_R_RCPT_ACCESS_REJECT_TEXT, addr, lr->arg);
		else
			reply(p, SMTP_R_RCPT_ACCESS_REJECT, addr, NULL);
		break;
	case LOOKUP_V_ACCESS_DEFER:
		if (lr->arg[0] != '\0')
			reply(p, SMTP_R_RCPT_ACCESS_DEFER_TEXT, addr, lr->arg);
		else
			reply(p, SMTP_R_RCPT_ACCESS_DEFER, addr, NULL);
		break;
	case LOOKUP_V_RATE_LIMITED:
		reply(p, SMTP_R_RCPT_RATE, addr, NULL);
		break;
	case LOOKUP_V_ALIAS_FAILED:
		reply(p, SMTP_R_RCPT_ALIAS_FAILED, addr, NULL);
		break;
	case LOOKUP_V_TABLE_ERROR:
		reply(p, SMTP_R_RCPT_TABLE_ERROR, addr, NULL);
		break;
	case LOOKUP_V_NOT_LOCAL:
		reply(p, SMTP_R_VRFY_NOT_LOCAL, addr, NULL);
		break;
	case LOOKUP_V_TEMPFAIL:
	default:
		reply(p, SMTP_R_LOOKUP_TEMPFAIL, NULL, NULL);
		break;
	}
	free_final(a);
}

static void
answer_status(struct smtp_proto *p, const struct smtp_answer *a)
{
	char count[48];

	if (!a->show_queued) {
		reply(p, SMTP_R_HELP_STATUS, p->conf.hostname, NULL);
		return;
	}
	snprintf(count, sizeof(count), "%llu message%s",
	    (unsigned long long)a->queued, a->queued == 1 ? "" : "s");
	reply(p, SMTP_R_HELP_STATUS_QUEUE, p->conf.hostname, count);
}

void
smtp_proto_answer(struct smtp_proto *p, struct smtp_answer *a)
{
	enum smtp_req_type type = p->req.type;

	if (type == SMTP_REQ_NONE)
		panic("smtp_proto_answer: no request pending");
	memset(&p->req, 0, sizeof(p->req));
	if (p->st == ST_CLOSED) {
		free_final(a);
		return;
	}
	switch (type) {
	case SMTP_REQ_MAIL:
		if (a->status == SMTP_S_QUEUE_FULL) {
			reply(p, SMTP_R_QUEUE_FULL, NULL, NULL);
			break;
		}
		if (a->status != SMTP_S_OK) {
			reply(p, SMTP_R_QUEUE_UNAVAILABLE, NULL, NULL);
			break;
		}
		p->txn.from = p->pend_addr;
		p->txn.params = p->pend_mp;
		p->has_mail = 1;
		reply(p, SMTP_R_MAIL_OK, NULL, NULL);
		break;
	case SMTP_REQ_RCPT:
		answer_lookup(p, a, 0);
		break;
	case SMTP_REQ_VRFY:
		answer_lookup(p, a, 1);
		break;
	case SMTP_REQ_OPEN:
		answer_open(p, a);
		break;
	case SMTP_REQ_COMMIT:
		/* Committed or not, the message file is the queue's now. */
		p->msg_open = 0;
		if (a->status == SMTP_S_QUEUE_FULL)
			reply(p, SMTP_R_QUEUE_FULL, NULL, NULL);
		else if (a->status != SMTP_S_OK)
			reply(p, SMTP_R_QUEUE_WRITE, NULL, NULL);
		else
			reply(p, SMTP_R_QUEUED, p->txn.id, NULL);
		reset_txn(p);
		break;
	case SMTP_REQ_STATUS:
		answer_status(p, a);
		break;
	case SMTP_REQ_NONE:
		break;
	}
	free_final(a);
	if (p->shutdown_pending && p->st != ST_CLOSED &&
	    p->req.type == SMTP_REQ_NONE)
		smtp_proto_shutdown(p);
}

/* -------------------------------------------------------------- events */

void
smtp_proto_greet(struct smtp_proto *p, enum smtp_greet how, const char *text)
{
	const char *h = p->conf.hostname;

	p->cur_verb = SMTP_V_UNKNOWN;
	p->cur_name = "CONNECT";
	p->cur_counted = 1;
	switch (how) {
	case SMTP_GREET_OK:
		p->st = ST_CMD;
		reply(p, SMTP_R_GREETING, h, NULL);
		break;
	case SMTP_GREET_BUSY:
		reply(p, SMTP_R_GREET_BUSY, h, NULL);
		close_session(p);
		break;
	case SMTP_GREET_BUSY_CLIENT:
		reply(p, SMTP_R_GREET_BUSY_CLIENT, h, NULL);
		close_session(p);
		break;
	case SMTP_GREET_RATE:
		reply(p, SMTP_R_GREET_RATE, h, NULL);
		close_session(p);
		break;
	case SMTP_GREET_EARLY:
		reply(p, SMTP_R_EARLY_TALKER, h, NULL);
		close_session(p);
		break;
	case SMTP_GREET_REJECT:
		p->st = ST_REFUSE;
		if (text != NULL && text[0] != '\0')
			reply(p, SMTP_R_GREET_REJECT_TEXT, h, text);
		else
			reply(p, SMTP_R_GREET_REJECT, h, NULL);
		break;
	case SMTP_GREET_NOMAIL:
		p->st = ST_NOMAIL;
		reply(p, SMTP_R_GREET_NOMAIL, h, NULL);
		break;
	case SMTP_GREET_TEMPFAIL:
		reply(p, SMTP_R_GREET_TEMPFAIL, h, NULL);
		close_session(p);
		break;
	case SMTP_GREET_SHUTDOWN:
		reply(p, SMTP_R_SHUTDOWN, h, NULL);
		close_session(p);
		break;
	}
}

/*
 * The server ends the session for its own reasons: not a verdict on the
 * client's last command, so logged as what happened after it.
 */
static void
log_closing(struct smtp_proto *p, const char *event)
{
	logline(p, "%s: %s after %s from %s[%s]",
	    p->txn.id[0] ? p->txn.id : "NOQUEUE", event, p->cur_name,
	    p->client.name, p->client.addr);
	p->closing_logged = 1;
}

void
smtp_proto_timeout(struct smtp_proto *p)
{
	if (p->st == ST_CLOSED)
		return;
	p->cur_counted = 1;
	log_closing(p, "timeout");
	reply(p, SMTP_R_TIMEOUT, p->conf.hostname, NULL);
	close_session(p);
}

void
smtp_proto_shutdown(struct smtp_proto *p)
{
	if (p->st == ST_CLOSED)
		return;
	if (p->req.type != SMTP_REQ_NONE) {
		/* Let the pending answer (a commit, say) reach the client. */
		p->shutdown_pending = 1;
		return;
	}
	p->cur_counted = 1;
	log_closing(p, "shutdown");
	reply(p, SMTP_R_SHUTDOWN, p->conf.hostname, NULL);
	close_session(p);
}

void
smtp_proto_eof(struct smtp_proto *p)
{
	if (p->req.type != SMTP_REQ_NONE)
		p->shutdown_pending = 0; /* nobody left to tell */
	close_session(p);
}

int
smtp_proto_in_data(const struct smtp_proto *p)
{
	return p->st == ST_DATA || p->st == ST_CHUNK;
}

int
smtp_proto_refusing(const struct smtp_proto *p)
{
	return p->st == ST_REFUSE || p->st == ST_NOMAIL;
}

int
smtp_proto_sent(const struct smtp_proto *p, enum smtp_reply_id id)
{
	return (p->sent[id / 8] >> (id % 8)) & 1;
}

const struct smtp_req *
smtp_proto_request(const struct smtp_proto *p)
{
	return p->req.type == SMTP_REQ_NONE ? NULL : &p->req;
}

const struct smtp_txn *
smtp_proto_txn(const struct smtp_proto *p)
{
	return &p->txn;
}

const char *
smtp_proto_helo(const struct smtp_proto *p)
{
	return p->helo;
}

const char *
smtp_proto_protocol(const struct smtp_proto *p)
{
	if (!p->esmtp)
		return "SMTP";
	return p->has_mail && p->txn.params.smtputf8 ? "UTF8SMTP" : "ESMTP";
}

void
smtp_proto_stats(const struct smtp_proto *p, char *dst, size_t dstsz)
{
	static const enum smtp_verb order[] = {SMTP_V_HELO, SMTP_V_EHLO,
	    SMTP_V_MAIL, SMTP_V_RCPT, SMTP_V_DATA, SMTP_V_BDAT, SMTP_V_RSET,
	    SMTP_V_NOOP, SMTP_V_VRFY, SMTP_V_EXPN, SMTP_V_HELP, SMTP_V_QUIT,
	    SMTP_V_STARTTLS, SMTP_V_AUTH, SMTP_V_ETRN, SMTP_V_ATRN, SMTP_V_TURN,
	    SMTP_V_SEND, SMTP_V_HTTP, SMTP_V_UNKNOWN};
	unsigned ok = 0, all = 0;
	size_t o = 0, i;

	dst[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum smtp_verb v = order[i];
		char name[16];
		int w;

		if (p->cnt_all[v] == 0)
			continue;
		snprintf(name, sizeof(name), "%s", smtp_verb_names[v]);
		str_lower(name);
		ok += p->cnt_ok[v];
		all += p->cnt_all[v];
		if (p->cnt_ok[v] == p->cnt_all[v])
			w = snprintf(
			    dst + o, dstsz - o, "%s=%u ", name, p->cnt_all[v]);
		else
			w = snprintf(dst + o, dstsz - o, "%s=%u/%u ", name,
			    p->cnt_ok[v], p->cnt_all[v]);
		if (w < 0 || (size_t)w >= dstsz - o)
			return;
		o += (size_t)w;
	}
	if (ok == all)
		snprintf(dst + o, dstsz - o, "commands=%u", all);
	else
		snprintf(dst + o, dstsz - o, "commands=%u/%u", ok, all);
}
