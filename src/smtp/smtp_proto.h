/*
 * NAME
 *	smtp_proto - the SMTP server state machine, without I/O
 * PURPOSE
 *	Takes the bytes a client sent and produces replies, message octets,
 *	log lines and at most one request at a time for the glue ("may this
 *	recipient be accepted?", "open a message", "commit it").  The glue
 *	answers each request, synchronously or later, with a status or a
 *	verdict, never with a text; the machine then goes on.  Every reply
 *	comes from the catalog (smtp_reply.h).  No sockets, files, clocks or
 *	globals: every reply can be provoked in a unit test and the whole
 *	session can be fuzzed.
 * TRUST
 *	smtp process.  Every input byte is hostile.  Lines, chunks, counts
 *	and sizes are bounded by struct smtp_proto_conf.
 * INVARIANTS
 *	Replies go out in command order.  While a request is pending no input
 *	is consumed.  Message octets are produced only between a successful
 *	OPEN and the COMMIT (or abort_msg).  Once out.close is set nothing more
 *	is consumed or produced.
 */
#ifndef TERN_SMTP_PROTO_H
#define TERN_SMTP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../lookup/lookup.h"
#include "addr.h"
#include "smtp_cmd.h"
#include "smtp_reply.h"

enum smtp_vrfy_mode {
	SMTP_VRFY_CANNOT,   /* 252: never confirm or deny */
	SMTP_VRFY_VERIFY,   /* ask lookup: 250 / 550 / ... */
	SMTP_VRFY_DISABLED, /* 502 */
};

struct smtp_proto_conf {
	const char *hostname; /* must outlive the machine */
	uint64_t size_limit;
	unsigned rcpt_limit;
	unsigned error_limit;
	size_t line_limit;        /* command line, CRLF included */
	uint64_t text_line_limit; /* message line, CRLF included */
	int strict_eol;           /* bare CR/LF: 521 and close */
	int reject_unsync_data;   /* text glued to DATA: 554, 421, close */
	enum smtp_vrfy_mode vrfy;
};

struct smtp_client {
	char addr[64];  /* "192.0.2.1" or "2001:db8::1" */
	char name[256]; /* verified host name, or "unknown" */
};

enum smtp_greet {
	SMTP_GREET_OK,          /* 220 */
	SMTP_GREET_BUSY,        /* 421 4.7.0 too many sessions, then close */
	SMTP_GREET_BUSY_CLIENT, /* 421 4.7.0 too many from this client */
	SMTP_GREET_REJECT,      /* 554: only QUIT works afterwards */
	SMTP_GREET_NOMAIL,      /* 521 5.3.2: RFC 7504 no-mail host */
	SMTP_GREET_SHUTDOWN,    /* 421 4.3.2, then close */
	SMTP_GREET_TEMPFAIL,    /* 421 4.3.2: admission cannot be decided */
	SMTP_GREET_RATE,        /* 421 4.7.0 connection rate, then close */
	SMTP_GREET_EARLY,       /* 554 5.5.0 talk before greeting, close */
};

enum smtp_req_type {
	SMTP_REQ_NONE,
	SMTP_REQ_MAIL,   /* sender check, SIZE= against free space */
	SMTP_REQ_RCPT,   /* recipient lookup */
	SMTP_REQ_VRFY,   /* VRFY in verify mode */
	SMTP_REQ_OPEN,   /* start a message file */
	SMTP_REQ_COMMIT, /* make the message durable */
	SMTP_REQ_STATUS, /* the queue's length for HELP STATUS */
};

struct smtp_req {
	enum smtp_req_type type;
	const struct mailbox *addr; /* MAIL: sender; RCPT, VRFY: address */
	const struct smtp_rcpt_params *rcpt_params;
	uint64_t size;   /* MAIL: SIZE= (0 unknown); COMMIT */
	int new_message; /* RCPT: no recipient accepted yet (a rate counts) */
};

/* How the queue answered MAIL, OPEN or COMMIT. */
enum smtp_status {
	SMTP_S_OK,
	SMTP_S_QUEUE_FULL,        /* MAIL, COMMIT: no room for the message */
	SMTP_S_QUEUE_UNAVAILABLE, /* MAIL: the queue cannot tell now */
	SMTP_S_QUEUE_FAILED,      /* OPEN, COMMIT: it could not write it */
};

/*
 * The glue's answer; the machine picks the reply.  RCPT and VRFY get the
 * lookup's verdict; when it accepts, final[] lists the addresses the
 * message goes to (aliases expanded) and the machine takes ownership of
 * the array and its strings (xmalloc'ed), else frees them.
 */
struct smtp_answer {
	enum smtp_status status;    /* MAIL, OPEN, COMMIT */
	struct lookup_reply lookup; /* RCPT, VRFY */
	char id[32];                /* OPEN: queue ID */
	char date[64];              /* OPEN: RFC 5322 date for Received: */
	uint64_t queued;            /* STATUS: messages in the queue */
	int show_queued; /* STATUS: the client may learn that number */
};

struct smtp_rcpt {
	struct mailbox addr;
	struct smtp_rcpt_params params;
	char **final;
	size_t nfinal;
};

struct smtp_txn {
	struct mailbox from;
	struct smtp_mail_params params;
	struct smtp_rcpt *rcpt;
	size_t nrcpt;
	char id[32];   /* queue ID once open */
	uint64_t size; /* message octets received */
};

struct smtp_out {
	struct buf reply; /* bytes for the client */
	struct buf body;  /* message octets for the open message */
	struct buf log;   /* complete lines, each ending in '\n' */
	int abort_msg;    /* the open message is to be discarded */
	int close;        /* close once reply is sent */
};

struct smtp_proto;

struct smtp_proto *smtp_proto_new(
    const struct smtp_proto_conf *conf, const struct smtp_client *client);
void smtp_proto_free(struct smtp_proto *p);
/* Output accumulated so far; the glue drains the buffers it uses. */
struct smtp_out *smtp_proto_out(struct smtp_proto *p);

/* Send the greeting the glue decided on; text: REJECT's, from the table. */
void
smtp_proto_greet(struct smtp_proto *p, enum smtp_greet how, const char *text);
/*
 * Consume input; returns octets used.  Stops at a request, at close, when
 * out.body is full, or when out.reply holds more than a few dozen KiB
 * (send it, then feed the rest).
 */
size_t smtp_proto_feed(struct smtp_proto *p, const char *in, size_t n);
/* The pending request, or NULL. */
const struct smtp_req *smtp_proto_request(const struct smtp_proto *p);
/* Answer the pending request (see struct smtp_answer). */
void smtp_proto_answer(struct smtp_proto *p, struct smtp_answer *a);

/* The client was silent too long: 421 4.4.2 and close. */
void smtp_proto_timeout(struct smtp_proto *p);
/* The server is stopping: 421 4.3.2 and close (after a pending request). */
void smtp_proto_shutdown(struct smtp_proto *p);
/*
 * The input ended (the glue has fed every octet received) or the
 * connection broke: discard any open message and close, without a reply.
 */
void smtp_proto_eof(struct smtp_proto *p);

/* Is message text expected (data timeout rather than command timeout)? */
int smtp_proto_in_data(const struct smtp_proto *p);
/* Has the session reached a refusing state (554/521 greeting)? */
int smtp_proto_refusing(const struct smtp_proto *p);
/* Has this reply been sent in the session (for the catalog's tests)? */
int smtp_proto_sent(const struct smtp_proto *p, enum smtp_reply_id id);

const struct smtp_txn *smtp_proto_txn(const struct smtp_proto *p);
const char *smtp_proto_helo(const struct smtp_proto *p);
/* "SMTP", "ESMTP", "UTF8SMTP" ... as for Received: with. */
const char *smtp_proto_protocol(const struct smtp_proto *p);
/* "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5" for the log. */
void smtp_proto_stats(const struct smtp_proto *p, char *dst, size_t dstsz);

#endif
