/*
 * NAME
 *	smtp_cmd - SMTP command line parser
 * PURPOSE
 *	Splits a command line into verb and argument, and parses the
 *	arguments of MAIL, RCPT (paths and ESMTP parameters: SIZE, BODY,
 *	SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT) and BDAT.  Errors come back
 *	as the catalog reply to send (smtp_reply.h), with its argument.
 * TRUST
 *	smtp process; every input is raw network bytes.  Lengths are bounded
 *	by the line limit of the caller; nothing here allocates.
 * INVARIANTS
 *	On success every stored value passed its grammar; xtext values are
 *	kept in their encoded form, which contains only printable ASCII.
 */
#ifndef TERN_SMTP_CMD_H
#define TERN_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "smtp_reply.h"

enum smtp_verb {
	SMTP_V_UNKNOWN,
	SMTP_V_HELO,
	SMTP_V_EHLO,
	SMTP_V_MAIL,
	SMTP_V_RCPT,
	SMTP_V_DATA,
	SMTP_V_BDAT,
	SMTP_V_RSET,
	SMTP_V_NOOP,
	SMTP_V_QUIT,
	SMTP_V_VRFY,
	SMTP_V_EXPN,
	SMTP_V_HELP,
	SMTP_V_STARTTLS,
	SMTP_V_AUTH,
	SMTP_V_ETRN,
	SMTP_V_ATRN,
	SMTP_V_TURN,
	SMTP_V_SEND, /* SEND, SOML, SAML: obsolete (RFC 5321 F.6) */
	SMTP_V_HTTP, /* GET, POST, CONNECT, ...: not SMTP at all */
	SMTP_V_COUNT
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg; /* after the verb and one space; not terminated */
	size_t arglen;
	int has_arg; /* anything but blanks after the verb */
};

/* A refusal: the reply, and its argument (escaped), or "". */
struct smtp_err {
	enum smtp_reply_id id;
	char arg[64];
};

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_SUCCESS 0x1
#define SMTP_NOTIFY_FAILURE 0x2
#define SMTP_NOTIFY_DELAY 0x4
#define SMTP_NOTIFY_NEVER 0x8

#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500
#define SMTP_AUTH_PARAM_MAX 500

struct smtp_mail_params {
	uint64_t size; /* SIZE=, 0 when absent */
	enum smtp_body body;
	enum smtp_ret ret;
	int smtputf8;
	char envid[SMTP_ENVID_MAX + 1];     /* xtext as received */
	char auth[SMTP_AUTH_PARAM_MAX + 1]; /* AUTH= as received, or "" */
};

struct smtp_rcpt_params {
	unsigned notify;                /* SMTP_NOTIFY_*, 0 when absent */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "addr-type;xtext" as received */
};

/* Names by verb, for logs and HELP. */
extern const char *const smtp_verb_names[SMTP_V_COUNT];

void smtp_cmd_parse(const char *line, size_t n, struct smtp_cmd *cmd);

/* "FROM:<path> params".  0, or -1 with the reply in err. */
int smtp_parse_mail(const char *arg, size_t n, struct mailbox *from,
    struct smtp_mail_params *mp, struct smtp_err *err);
/* "TO:<path> params".  smtputf8: the transaction allows UTF-8. */
int smtp_parse_rcpt(const char *arg, size_t n, int smtputf8, struct mailbox *to,
    struct smtp_rcpt_params *rp, struct smtp_err *err);
/* "size [LAST]".  0 or -1 (the stream can no longer be parsed). */
int smtp_parse_bdat(const char *arg, size_t n, uint64_t *size, int *last);

/* RFC 3461 xtext: printable ASCII, "+HH" (uppercase hex) for the rest. */
int xtext_valid(const char *s, size_t n);

#endif
