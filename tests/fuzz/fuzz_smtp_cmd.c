/*
 * fuzz_smtp_cmd - the command line parser and the address parser.
 *
 * The input is one command line without its CRLF.  It is split into verb
 * and argument, and the argument goes through every argument parser
 * whatever the verb: MAIL, RCPT (with and without SMTPUTF8), BDAT, the path
 * and mailbox parsers.  Results are checked against the contracts in
 * smtp_cmd.h and addr.h, and the small grammars (BDAT, xtext) against
 * independent reference implementations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/strutil.h"
#include "../../src/smtp/addr.h"
#include "../../src/smtp/smtp_cmd.h"
#include "fuzz_util.h"

static int
is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* RFC 3461 section 4: xtext = *( xchar / hexchar ). */
static int
ref_xtext(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			if (n - i < 3 || !is_upper_hex(s[i + 1]) ||
			    !is_upper_hex(s[i + 2]))
				return 0;
			i += 3;
		} else if (c >= 33 && c <= 126 && c != '=') {
			i++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* "1*DIGIT [SP LAST]" with the count fitting 64 bits. */
static int
ref_bdat(const char *s, size_t n, uint64_t *size, int *last)
{
	size_t d = 0;
	uint64_t v = 0;

	while (d < n && s[d] >= '0' && s[d] <= '9') {
		unsigned dig = (unsigned)(s[d] - '0');

		if (v > (UINT64_MAX - dig) / 10)
			return -1;
		v = v * 10 + dig;
		d++;
	}
	if (d == 0 || d > 20)
		return -1;
	*size = v;
	*last = 0;
	if (d == n)
		return 0;
	if (n - d != 5 || s[d] != ' ')
		return -1;
	for (size_t i = 0; i < 4; i++) {
		char c = s[d + 1 + i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != "LAST"[i])
			return -1;
	}
	*last = 1;
	return 0;
}

static void
check_cstr(const char *s, size_t cap, const char *what)
{
	FUZZ_CHECK(memchr(s, '\0', cap) != NULL, "%s not terminated", what);
}

static void
check_err(const struct smtp_err *e)
{
	const struct smtp_reply_def *r;
	char line[600];

	FUZZ_CHECK((int)e->id >= 0 && e->id < SMTP_R_COUNT, "reply %d", e->id);
	r = &smtp_replies[e->id];
	check_cstr(e->arg, sizeof(e->arg), "error argument");
	FUZZ_CHECK(
	    r->counts && r->code >= 400, "%s is no client error", r->name);
	FUZZ_CHECK(fuzz_printable(e->arg, strlen(e->arg)),
	    "unprintable error argument \"%s\"", e->arg);
	smtp_reply_format(e->id, line, sizeof(line), e->arg, NULL);
	FUZZ_CHECK(fuzz_printable(line, strlen(line)),
	    "unprintable error reply \"%s\"", line);
	FUZZ_CHECK(r->esc != NULL, "no enhanced code for %s", r->name);
}

/* The INVARIANTS of addr.h, for a mailbox a parser accepted. */
static void
check_mailbox(const struct mailbox *mb)
{
	size_t ll, dl, i;
	int na = 0;

	check_cstr(mb->local, sizeof(mb->local), "local part");
	check_cstr(mb->domain, sizeof(mb->domain), "domain");
	ll = strlen(mb->local);
	dl = strlen(mb->domain);
	FUZZ_CHECK(ll <= ADDR_LOCAL_MAX, "local part of %zu", ll);
	FUZZ_CHECK(dl <= ADDR_DOMAIN_MAX, "domain of %zu", dl);
	FUZZ_CHECK(ll + (dl ? dl + 1 : 0) + 2 <= ADDR_PATH_MAX, "path of %zu",
	    ll + dl + 3);
	for (i = 0; i < ll; i++) {
		unsigned char c = (unsigned char)mb->local[i];

		FUZZ_CHECK(
		    c >= 0x20 && c != 0x7f, "control 0x%02x in local", c);
		if (c >= 0x80)
			na = 1;
	}
	for (i = 0; i < dl; i++) {
		unsigned char c = (unsigned char)mb->domain[i];

		FUZZ_CHECK(c > 0x20 && c != 0x7f, "0x%02x in domain", c);
		FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "domain not lowercased");
		if (c >= 0x80)
			na = 1;
	}
	FUZZ_CHECK(utf8_valid(mb->local, ll, NULL), "local part not UTF-8");
	FUZZ_CHECK(utf8_valid(mb->domain, dl, NULL), "domain not UTF-8");
	FUZZ_CHECK(mb->utf8 == na, "utf8 flag %d, non-ASCII %d", mb->utf8, na);
	FUZZ_CHECK(dl > 0 || ll == 0 || strcmp(mb->local, "postmaster") == 0,
	    "local part \"%s\" without a domain", mb->local);
	if (dl > 0) {
		FUZZ_CHECK(ll > 0, "domain without a local part");
		FUZZ_CHECK(
		    mb->domain[0] == '[' || addr_domain_valid(mb->domain, dl),
		    "accepted domain is not valid");
	}
}

/* A parsed mailbox, formatted and parsed again, is the same mailbox. */
static void
check_roundtrip(const struct mailbox *mb)
{
	char text[ADDR_PATH_MAX + 1], path[ADDR_PATH_MAX + 3];
	struct mailbox again;
	enum addr_status st;
	size_t used = 0, n;

	if (mb->domain[0] == '\0')
		return;
	addr_format(mb, text, sizeof(text));
	n = strlen(text);
	st = addr_parse_mailbox(text, n, &again);
	FUZZ_CHECK(st == ADDR_OK, "\"%s\" does not parse again (%d)", text, st);
	FUZZ_CHECK(memcmp(mb, &again, sizeof(again)) == 0,
	    "\"%s\" parses into another mailbox", text);
	path[0] = '<';
	memcpy(path + 1, text, n);
	path[n + 1] = '>';
	st = addr_parse_path(path, n + 2, &used, &again);
	FUZZ_CHECK(st == ADDR_OK && used == n + 2, "<%s> does not parse (%d)",
	    text, st);
	FUZZ_CHECK(memcmp(mb, &again, sizeof(again)) == 0,
	    "<%s> parses into another mailbox", text);
}

static void
check_path(const char *s, size_t n)
{
	struct mailbox mb;
	size_t used = (size_t)-1;
	enum addr_status st = addr_parse_path(s, n, &used, &mb);

	if (st == ADDR_NOT_PATH)
		return;
	FUZZ_CHECK(used >= 2 && used <= n, "used %zu of %zu", used, n);
	FUZZ_CHECK(s[0] == '<' && s[used - 1] == '>', "path not in <>");
	if (st != ADDR_OK)
		return;
	check_mailbox(&mb);
	check_roundtrip(&mb);
}

static void
check_mailbox_parse(const char *s, size_t n)
{
	struct mailbox mb;

	if (addr_parse_mailbox(s, n, &mb) != ADDR_OK)
		return;
	check_mailbox(&mb);
	FUZZ_CHECK(mb.domain[0] != '\0' && mb.local[0] != '\0',
	    "mailbox without local part or domain");
	check_roundtrip(&mb);
}

static void
check_mail(const char *arg, size_t n)
{
	struct mailbox from;
	struct smtp_mail_params mp;
	struct smtp_err err;
	size_t l;

	memset(&err, 0, sizeof(err));
	if (smtp_parse_mail(arg, n, &from, &mp, &err) < 0) {
		check_err(&err);
		return;
	}
	check_mailbox(&from);
	check_roundtrip(&from);
	FUZZ_CHECK(!from.utf8 || mp.smtputf8, "UTF-8 sender without SMTPUTF8");
	FUZZ_CHECK(mp.body >= SMTP_BODY_NONE && mp.body <= SMTP_BODY_8BITMIME,
	    "body %d", mp.body);
	FUZZ_CHECK(mp.ret >= SMTP_RET_NONE && mp.ret <= SMTP_RET_HDRS, "ret %d",
	    mp.ret);
	FUZZ_CHECK(
	    mp.smtputf8 == 0 || mp.smtputf8 == 1, "smtputf8 %d", mp.smtputf8);
	check_cstr(mp.envid, sizeof(mp.envid), "ENVID");
	check_cstr(mp.auth, sizeof(mp.auth), "AUTH");
	l = strlen(mp.envid);
	FUZZ_CHECK(
	    ref_xtext(mp.envid, l), "ENVID \"%s\" is not xtext", mp.envid);
	l = strlen(mp.auth);
	FUZZ_CHECK(ref_xtext(mp.auth, l) || strcmp(mp.auth, "<>") == 0,
	    "AUTH \"%s\" is not xtext", mp.auth);
}

static void
check_rcpt(const char *arg, size_t n, int smtputf8)
{
	struct mailbox to;
	struct smtp_rcpt_params rp;
	struct smtp_err err;
	const char *semi;
	size_t l;

	memset(&err, 0, sizeof(err));
	if (smtp_parse_rcpt(arg, n, smtputf8, &to, &rp, &err) < 0) {
		check_err(&err);
		return;
	}
	check_mailbox(&to);
	check_roundtrip(&to);
	FUZZ_CHECK(to.local[0] != '\0', "null recipient accepted");
	FUZZ_CHECK(!to.utf8 || smtputf8, "UTF-8 recipient without SMTPUTF8");
	FUZZ_CHECK((rp.notify & ~0xfu) == 0, "notify 0x%x", rp.notify);
	FUZZ_CHECK(
	    !(rp.notify & SMTP_NOTIFY_NEVER) || rp.notify == SMTP_NOTIFY_NEVER,
	    "NEVER combined: 0x%x", rp.notify);
	check_cstr(rp.orcpt, sizeof(rp.orcpt), "ORCPT");
	l = strlen(rp.orcpt);
	if (l > 0) {
		semi = memchr(rp.orcpt, ';', l);
		FUZZ_CHECK(semi != NULL && semi != rp.orcpt,
		    "ORCPT \"%s\" without addr-type", rp.orcpt);
		FUZZ_CHECK(
		    ref_xtext(semi + 1, l - (size_t)(semi + 1 - rp.orcpt)),
		    "ORCPT \"%s\" is not xtext", rp.orcpt);
	}
}

static void
check_bdat(const char *arg, size_t n)
{
	uint64_t size = 0, rsize = 0;
	int last = -1, rlast = -1;
	int r = smtp_parse_bdat(arg, n, &size, &last);
	int rr = ref_bdat(arg, n, &rsize, &rlast);

	FUZZ_CHECK(r == rr, "BDAT parse %d, reference %d", r, rr);
	if (r == 0)
		FUZZ_CHECK(size == rsize && last == rlast,
		    "BDAT %llu/%d, reference %llu/%d", (unsigned long long)size,
		    last, (unsigned long long)rsize, rlast);
}

static void
check_domain(const char *s, size_t n)
{
	if (!addr_domain_valid(s, n))
		return;
	FUZZ_CHECK(n > 0 && n <= ADDR_DOMAIN_MAX, "domain of %zu", n);
	FUZZ_CHECK(utf8_valid(s, n, NULL), "domain not UTF-8");
	FUZZ_CHECK(s[0] != '.' && s[n - 1] != '.' && s[0] != '-',
	    "domain with a bad end");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: the parsers must not read past size. */
	char *line = malloc(size ? size : 1);
	struct smtp_cmd cmd;
	const char *lt;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);

	smtp_cmd_parse(line, size, &cmd);
	FUZZ_CHECK(cmd.verb >= SMTP_V_UNKNOWN && cmd.verb < SMTP_V_COUNT,
	    "verb %d", cmd.verb);
	FUZZ_CHECK(cmd.arg >= line && cmd.arg <= line + size &&
	        cmd.arglen <= (size_t)(line + size - cmd.arg),
	    "argument outside the line");
	FUZZ_CHECK(cmd.arglen == 0 || cmd.arg + cmd.arglen == line + size,
	    "argument does not reach the end of the line");
	if (cmd.verb != SMTP_V_UNKNOWN)
		FUZZ_CHECK(cmd.arg == line + size || cmd.arg[-1] == ' ',
		    "verb not followed by a space");

	check_mail(cmd.arg, cmd.arglen);
	check_rcpt(cmd.arg, cmd.arglen, 0);
	check_rcpt(cmd.arg, cmd.arglen, 1);
	check_bdat(cmd.arg, cmd.arglen);
	FUZZ_CHECK(xtext_valid(line, size) == ref_xtext(line, size),
	    "xtext_valid disagrees with the reference");

	/* Paths and mailboxes wherever they may start. */
	check_path(line, size);
	lt = memchr(line, '<', size);
	if (lt != NULL)
		check_path(lt, size - (size_t)(lt - line));
	check_mailbox_parse(line, size);
	check_mailbox_parse(cmd.arg, cmd.arglen);
	if (lt != NULL) {
		const char *gt = memchr(lt, '>', size - (size_t)(lt - line));

		if (gt != NULL)
			check_mailbox_parse(lt + 1, (size_t)(gt - lt - 1));
	}
	check_domain(line, size);
	check_domain(cmd.arg, cmd.arglen);

	free(line);
	return 0;
}
