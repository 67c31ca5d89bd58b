/*
 * smtp_cmd - SMTP command lines: the verb, and the arguments and
 * ESMTP parameters of MAIL, RCPT and BDAT (smtp_cmd.h).
 */
#include "smtp_cmd.h"

#include <stdio.h>
#include <string.h>

#include "../common/strutil.h"

const char *const smtp_verb_names[SMTP_V_COUNT] = {
    [SMTP_V_UNKNOWN] = "unknown",
    [SMTP_V_HELO] = "HELO",
    [SMTP_V_EHLO] = "EHLO",
    [SMTP_V_MAIL] = "MAIL",
    [SMTP_V_RCPT] = "RCPT",
    [SMTP_V_DATA] = "DATA",
    [SMTP_V_BDAT] = "BDAT",
    [SMTP_V_RSET] = "RSET",
    [SMTP_V_NOOP] = "NOOP",
    [SMTP_V_QUIT] = "QUIT",
    [SMTP_V_VRFY] = "VRFY",
    [SMTP_V_EXPN] = "EXPN",
    [SMTP_V_HELP] = "HELP",
    [SMTP_V_STARTTLS] = "STARTTLS",
    [SMTP_V_AUTH] = "AUTH",
    [SMTP_V_ETRN] = "ETRN",
    [SMTP_V_ATRN] = "ATRN",
    [SMTP_V_TURN] = "TURN",
    [SMTP_V_SEND] = "SEND",
    [SMTP_V_HTTP] = "HTTP",
};

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
    {"HELO", SMTP_V_HELO},
    {"EHLO", SMTP_V_EHLO},
    {"MAIL", SMTP_V_MAIL},
    {"RCPT", SMTP_V_RCPT},
    {"DATA", SMTP_V_DATA},
    {"BDAT", SMTP_V_BDAT},
    {"RSET", SMTP_V_RSET},
    {"NOOP", SMTP_V_NOOP},
    {"QUIT", SMTP_V_QUIT},
    {"VRFY", SMTP_V_VRFY},
    {"EXPN", SMTP_V_EXPN},
    {"HELP", SMTP_V_HELP},
    {"STARTTLS", SMTP_V_STARTTLS},
    {"AUTH", SMTP_V_AUTH},
    {"ETRN", SMTP_V_ETRN},
    {"ATRN", SMTP_V_ATRN},
    {"TURN", SMTP_V_TURN},
    {"SEND", SMTP_V_SEND},
    {"SOML", SMTP_V_SEND},
    {"SAML", SMTP_V_SEND},
    {"GET", SMTP_V_HTTP},
    {"POST", SMTP_V_HTTP},
    {"HEAD", SMTP_V_HTTP},
    {"PUT", SMTP_V_HTTP},
    {"CONNECT", SMTP_V_HTTP},
    {"OPTIONS", SMTP_V_HTTP},
    {"USER", SMTP_V_HTTP},
};

void
smtp_cmd_parse(const char *line, size_t n, struct smtp_cmd *cmd)
{
	size_t vl = 0, i;

	while (vl < n && line[vl] != ' ')
		vl++;
	cmd->verb = SMTP_V_UNKNOWN;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == vl &&
		    str_ncaseeq(line, verbs[i].name, vl)) {
			cmd->verb = verbs[i].verb;
			break;
		}
	cmd->arg = line + (vl < n ? vl + 1 : vl);
	cmd->arglen = vl < n ? n - vl - 1 : 0;
	cmd->has_arg = 0;
	for (i = 0; i < cmd->arglen; i++)
		if (cmd->arg[i] != ' ' && cmd->arg[i] != '\t')
			cmd->has_arg = 1;
}

/* The reply, and the (escaped) offending word if it names one. */
static void
set_err(
    struct smtp_err *err, enum smtp_reply_id id, const char *arg, size_t arglen)
{
	err->id = id;
	err->arg[0] = '\0';
	if (arg)
		str_escape(err->arg, sizeof(err->arg), arg, arglen);
}

int
xtext_valid(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			if (i + 2 >= n)
				return 0;
			for (int k = 1; k <= 2; k++) {
				char h = s[i + (size_t)k];

				if (!((h >= '0' && h <= '9') ||
				        (h >= 'A' && h <= 'F')))
					return 0;
			}
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return 1;
}

/* A parameter "keyword[=value]"; keyword is case-insensitive. */
struct param {
	const char *kw;
	size_t kwlen;
	const char *val; /* NULL without '=' */
	size_t vallen;
};

/*
 * Split the blank-separated parameters after a path.  Values must be
 * printable ASCII (RFC 5321 esmtp-value) except where SMTPUTF8 is in use.
 */
static int
next_param(
    const char **p, const char *end, struct param *pr, struct smtp_err *err)
{
	const char *s = *p, *e, *eq;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return 0;
	e = s;
	while (e < end && *e != ' ')
		e++;
	eq = memchr(s, '=', (size_t)(e - s));
	pr->kw = s;
	pr->kwlen = eq ? (size_t)(eq - s) : (size_t)(e - s);
	pr->val = eq ? eq + 1 : NULL;
	pr->vallen = eq ? (size_t)(e - eq - 1) : 0;
	*p = e;
	if (pr->kwlen == 0) {
		set_err(err, SMTP_R_PARAM_SYNTAX, NULL, 0);
		return -1;
	}
	for (size_t i = 0; i < pr->kwlen; i++) {
		char c = pr->kw[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-')) {
			set_err(err, SMTP_R_PARAM_SYNTAX, NULL, 0);
			return -1;
		}
	}
	return 1;
}

static int
kw_is(const struct param *pr, const char *name)
{
	return pr->kwlen == strlen(name) &&
	    str_ncaseeq(pr->kw, name, pr->kwlen);
}

static int
val_is(const struct param *pr, const char *name)
{
	return pr->val && pr->vallen == strlen(name) &&
	    str_ncaseeq(pr->val, name, pr->vallen);
}

static int
bad_value(struct smtp_err *err, const struct param *pr)
{
	set_err(err, SMTP_R_PARAM_VALUE, pr->kw, pr->kwlen);
	return -1;
}

/*
 * Parse "<prefix>:<path>" ("FROM:" or "TO:"), tolerating one space after
 * the colon.  Returns the bytes used, or 0 on a syntax error (err set).
 */
static size_t
parse_prefix_path(const char *arg, size_t n, const char *prefix, int is_rcpt,
    struct mailbox *mb, struct smtp_err *err)
{
	size_t pl = strlen(prefix), used = 0, off;
	enum addr_status st;
	const char *syntax =
	    is_rcpt ? "RCPT TO:<address>" : "MAIL FROM:<address>";

	if (n < pl || !str_ncaseeq(arg, prefix, pl)) {
		set_err(err, SMTP_R_SYNTAX, syntax, strlen(syntax));
		return 0;
	}
	off = pl;
	if (off < n && arg[off] == ' ')
		off++;
	st = addr_parse_path(arg + off, n - off, &used, mb);
	switch (st) {
	case ADDR_OK:
		break;
	case ADDR_NOT_PATH:
		set_err(err, SMTP_R_SYNTAX, syntax, strlen(syntax));
		return 0;
	case ADDR_TOO_LONG:
		set_err(err,
		    is_rcpt ? SMTP_R_RCPT_TOO_LONG : SMTP_R_SENDER_TOO_LONG,
		    NULL, 0);
		return 0;
	case ADDR_BAD:
		set_err(err,
		    is_rcpt ? SMTP_R_RCPT_SYNTAX : SMTP_R_SENDER_SYNTAX, NULL,
		    0);
		return 0;
	}
	if (off + used < n && arg[off + used] != ' ') {
		set_err(err, SMTP_R_SYNTAX, syntax, strlen(syntax));
		return 0;
	}
	return off + used;
}

static int
dup_param(struct smtp_err *err, const struct param *pr)
{
	set_err(err, SMTP_R_PARAM_DUPLICATE, pr->kw, pr->kwlen);
	return -1;
}

int
smtp_parse_mail(const char *arg, size_t n, struct mailbox *from,
    struct smtp_mail_params *mp, struct smtp_err *err)
{
	const char *p, *end = arg + n;
	struct param pr;
	unsigned seen = 0;
	size_t used;
	int r;

	memset(mp, 0, sizeof(*mp));
	if ((used = parse_prefix_path(arg, n, "FROM:", 0, from, err)) == 0)
		return -1;
	p = arg + used;
	while ((r = next_param(&p, end, &pr, err)) > 0) {
		unsigned bit;

		if (kw_is(&pr, "SIZE"))
			bit = 1;
		else if (kw_is(&pr, "BODY"))
			bit = 2;
		else if (kw_is(&pr, "SMTPUTF8"))
			bit = 4;
		else if (kw_is(&pr, "RET"))
			bit = 8;
		else if (kw_is(&pr, "ENVID"))
			bit = 16;
		else if (kw_is(&pr, "AUTH"))
			bit = 32;
		else {
			set_err(err, SMTP_R_PARAM_UNKNOWN, pr.kw, pr.kwlen);
			return -1;
		}
		if (seen & bit)
			return dup_param(err, &pr);
		seen |= bit;
		switch (bit) {
		case 1:
			if (!pr.val ||
			    str_to_u64(pr.val, pr.vallen, &mp->size) < 0)
				return bad_value(err, &pr);
			break;
		case 2:
			if (val_is(&pr, "7BIT"))
				mp->body = SMTP_BODY_7BIT;
			else if (val_is(&pr, "8BITMIME"))
				mp->body = SMTP_BODY_8BITMIME;
			else if (val_is(&pr, "BINARYMIME")) {
				set_err(err, SMTP_R_BODY_BINARYMIME, NULL, 0);
				return -1;
			} else
				return bad_value(err, &pr);
			break;
		case 4:
			if (pr.val)
				return bad_value(err, &pr);
			mp->smtputf8 = 1;
			break;
		case 8:
			if (val_is(&pr, "FULL"))
				mp->ret = SMTP_RET_FULL;
			else if (val_is(&pr, "HDRS"))
				mp->ret = SMTP_RET_HDRS;
			else
				return bad_value(err, &pr);
			break;
		case 16:
			if (!pr.val || pr.vallen == 0 ||
			    pr.vallen > SMTP_ENVID_MAX ||
			    !xtext_valid(pr.val, pr.vallen))
				return bad_value(err, &pr);
			memcpy(mp->envid, pr.val, pr.vallen);
			mp->envid[pr.vallen] = '\0';
			break;
		case 32:
			/* Accepted syntactically, trusted only from our own
			 * authenticated clients (RFC 4954 section 5). */
			if (!pr.val || pr.vallen == 0 ||
			    pr.vallen > SMTP_AUTH_PARAM_MAX ||
			    !(xtext_valid(pr.val, pr.vallen) ||
			        (pr.vallen == 2 &&
			            memcmp(pr.val, "<>", 2) == 0)))
				return bad_value(err, &pr);
			memcpy(mp->auth, pr.val, pr.vallen);
			mp->auth[pr.vallen] = '\0';
			break;
		}
	}
	if (r < 0)
		return -1;
	if (from->utf8 && !mp->smtputf8) {
		set_err(err, SMTP_R_SENDER_NEEDS_UTF8, NULL, 0);
		return -1;
	}
	return 0;
}

static int
parse_notify(const struct param *pr, unsigned *out)
{
	const char *s = pr->val, *end;
	unsigned v = 0;

	if (!s || pr->vallen == 0)
		return -1;
	end = s + pr->vallen;
	while (s < end) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		size_t l = c ? (size_t)(c - s) : (size_t)(end - s);
		unsigned bit;

		if (l == 5 && str_ncaseeq(s, "NEVER", 5))
			bit = SMTP_NOTIFY_NEVER;
		else if (l == 7 && str_ncaseeq(s, "SUCCESS", 7))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (l == 7 && str_ncaseeq(s, "FAILURE", 7))
			bit = SMTP_NOTIFY_FAILURE;
		else if (l == 5 && str_ncaseeq(s, "DELAY", 5))
			bit = SMTP_NOTIFY_DELAY;
		else
			return -1;
		if (v & bit)
			return -1;
		v |= bit;
		s += l + (c ? 1 : 0);
		if (c && s == end)
			return -1;
	}
	if ((v & SMTP_NOTIFY_NEVER) && v != SMTP_NOTIFY_NEVER)
		return -1;
	*out = v;
	return 0;
}

static int
orcpt_valid(const char *s, size_t n)
{
	const char *semi = memchr(s, ';', n);
	size_t tl;

	if (semi == NULL || semi == s)
		return 0;
	tl = (size_t)(semi - s);
	for (size_t i = 0; i < tl; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return n > tl + 1 && xtext_valid(semi + 1, n - tl - 1);
}

int
smtp_parse_rcpt(const char *arg, size_t n, int smtputf8, struct mailbox *to,
    struct smtp_rcpt_params *rp, struct smtp_err *err)
{
	const char *p, *end = arg + n;
	struct param pr;
	unsigned seen = 0;
	size_t used;
	int r;

	memset(rp, 0, sizeof(*rp));
	if ((used = parse_prefix_path(arg, n, "TO:", 1, to, err)) == 0)
		return -1;
	if (to->local[0] == '\0') {
		set_err(err, SMTP_R_RCPT_NULL, NULL, 0);
		return -1;
	}
	p = arg + used;
	while ((r = next_param(&p, end, &pr, err)) > 0) {
		if (kw_is(&pr, "NOTIFY")) {
			if (seen & 1)
				return dup_param(err, &pr);
			seen |= 1;
			if (parse_notify(&pr, &rp->notify) < 0)
				return bad_value(err, &pr);
		} else if (kw_is(&pr, "ORCPT")) {
			if (seen & 2)
				return dup_param(err, &pr);
			seen |= 2;
			if (!pr.val || pr.vallen > SMTP_ORCPT_MAX ||
			    !orcpt_valid(pr.val, pr.vallen))
				return bad_value(err, &pr);
			memcpy(rp->orcpt, pr.val, pr.vallen);
			rp->orcpt[pr.vallen] = '\0';
		} else {
			set_err(err, SMTP_R_PARAM_UNKNOWN, pr.kw, pr.kwlen);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (to->utf8 && !smtputf8) {
		set_err(err, SMTP_R_RCPT_NEEDS_UTF8, NULL, 0);
		return -1;
	}
	return 0;
}

int
smtp_parse_bdat(const char *arg, size_t n, uint64_t *size, int *last)
{
	size_t dl = 0;

	while (dl < n && arg[dl] >= '0' && arg[dl] <= '9')
		dl++;
	if (dl == 0 || str_to_u64(arg, dl, size) < 0)
		return -1;
	*last = 0;
	if (dl == n)
		return 0;
	if (arg[dl] != ' ')
		return -1;
	if (n - dl - 1 == 4 && str_ncaseeq(arg + dl + 1, "LAST", 4)) {
		*last = 1;
		return 0;
	}
	return -1;
}
