/*
 * Unit tests of the SMTP command line parser: verbs, MAIL and RCPT
 * parameters, BDAT arguments and xtext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/strutil.h"
#include "smtp_cmd.h"

/* ------------------------------------------------------------ helpers */

static void
parse_line(const char *line, struct smtp_cmd *c)
{
	smtp_cmd_parse(line, strlen(line), c);
}

static void
expect_verb_at(const char *line, enum smtp_verb want, const char *file, int l)
{
	struct smtp_cmd c;

	parse_line(line, &c);
	if (c.verb != want) {
		print_error("\"%s\": expected verb %s, got %s\n", line,
		    smtp_verb_names[want], smtp_verb_names[c.verb]);
		_fail(file, l);
	}
}

#define expect_verb(line, want) expect_verb_at(line, want, __FILE__, __LINE__)

static void
mail_ok_at(const char *arg, struct mailbox *mb, struct smtp_mail_params *mp,
    const char *file, int line)
{
	struct smtp_err err;
	char got[256];

	if (smtp_parse_mail(arg, strlen(arg), mb, mp, &err) < 0) {
		smtp_reply_format(err.id, got, sizeof(got), err.arg, NULL);
		print_error(
		    "MAIL \"%s\": expected success, got %s\n", arg, got);
		_fail(file, line);
	}
}

static void
rcpt_ok_at(const char *arg, int utf8, struct mailbox *mb,
    struct smtp_rcpt_params *rp, const char *file, int line)
{
	struct smtp_err err;
	char got[256];

	if (smtp_parse_rcpt(arg, strlen(arg), utf8, mb, rp, &err) < 0) {
		smtp_reply_format(err.id, got, sizeof(got), err.arg, NULL);
		print_error(
		    "RCPT \"%s\": expected success, got %s\n", arg, got);
		_fail(file, line);
	}
}

/* The error's reply must be exactly "code esc text". */
static void
check_err(const char *what, const char *arg, int r, const struct smtp_err *err,
    const char *want, const char *file, int line)
{
	char got[256];

	if (r == 0) {
		print_error("%s \"%s\": expected \"%s\", got success\n", what,
		    arg, want);
		_fail(file, line);
	}
	smtp_reply_format(err->id, got, sizeof(got), err->arg, NULL);
	if (strcmp(got, want) != 0) {
		print_error("%s \"%s\": expected \"%s\", got \"%s\"\n", what,
		    arg, want, got);
		_fail(file, line);
	}
}

static void
mail_err_at(const char *arg, const char *want, const char *file, int line)
{
	struct mailbox mb;
	struct smtp_mail_params mp;
	struct smtp_err err;
	int r = smtp_parse_mail(arg, strlen(arg), &mb, &mp, &err);

	check_err("MAIL", arg, r, &err, want, file, line);
}

static void
rcpt_err_at(
    const char *arg, int utf8, const char *want, const char *file, int line)
{
	struct mailbox mb;
	struct smtp_rcpt_params rp;
	struct smtp_err err;
	int r = smtp_parse_rcpt(arg, strlen(arg), utf8, &mb, &rp, &err);

	check_err("RCPT", arg, r, &err, want, file, line);
}

#define mail_ok(arg, mb, mp) mail_ok_at(arg, mb, mp, __FILE__, __LINE__)
#define rcpt_ok(arg, u, mb, rp) rcpt_ok_at(arg, u, mb, rp, __FILE__, __LINE__)
#define mail_err(arg, want) mail_err_at(arg, want, __FILE__, __LINE__)
#define rcpt_err(arg, want) rcpt_err_at(arg, 0, want, __FILE__, __LINE__)

static unsigned
notify_of(const char *arg)
{
	struct mailbox mb;
	struct smtp_rcpt_params rp;

	rcpt_ok(arg, 0, &mb, &rp);
	return rp.notify;
}

/* -------------------------------------------------------------- verbs */

static void
every_verb_is_recognised(void **state)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
	} v[] = {
	    {"HELO x", SMTP_V_HELO},
	    {"EHLO x", SMTP_V_EHLO},
	    {"MAIL FROM:<>", SMTP_V_MAIL},
	    {"RCPT TO:<a@b>", SMTP_V_RCPT},
	    {"DATA", SMTP_V_DATA},
	    {"BDAT 1", SMTP_V_BDAT},
	    {"RSET", SMTP_V_RSET},
	    {"NOOP", SMTP_V_NOOP},
	    {"QUIT", SMTP_V_QUIT},
	    {"VRFY a", SMTP_V_VRFY},
	    {"EXPN a", SMTP_V_EXPN},
	    {"HELP", SMTP_V_HELP},
	    {"STARTTLS", SMTP_V_STARTTLS},
	    {"AUTH PLAIN", SMTP_V_AUTH},
	    {"ETRN x", SMTP_V_ETRN},
	    {"ATRN", SMTP_V_ATRN},
	    {"TURN", SMTP_V_TURN},
	    {"SEND FROM:<>", SMTP_V_SEND},
	    {"SOML FROM:<>", SMTP_V_SEND},
	    {"SAML FROM:<>", SMTP_V_SEND},
	    {"GET / HTTP/1.0", SMTP_V_HTTP},
	    {"POST /x HTTP/1.1", SMTP_V_HTTP},
	    {"HEAD /", SMTP_V_HTTP},
	    {"PUT /", SMTP_V_HTTP},
	    {"CONNECT x:25 HTTP/1.1", SMTP_V_HTTP},
	    {"OPTIONS *", SMTP_V_HTTP},
	    {"USER root", SMTP_V_HTTP},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_verb(v[i].line, v[i].verb);
}

static void
verbs_ignore_case(void **state)
{
	(void)state;
	expect_verb("mail FROM:<>", SMTP_V_MAIL);
	expect_verb("Rcpt TO:<a@b>", SMTP_V_RCPT);
	expect_verb("starttls", SMTP_V_STARTTLS);
	expect_verb("get /", SMTP_V_HTTP);
}

static void
unknown_verbs_are_unknown(void **state)
{
	(void)state;
	expect_verb("", SMTP_V_UNKNOWN);
	expect_verb(" NOOP", SMTP_V_UNKNOWN);
	expect_verb("NOOPX", SMTP_V_UNKNOWN);
	expect_verb("NOO", SMTP_V_UNKNOWN);
	expect_verb("MAIL:FROM:<>", SMTP_V_UNKNOWN);
	expect_verb("NOOP\t", SMTP_V_UNKNOWN);
	expect_verb("XYZZY", SMTP_V_UNKNOWN);
}

static void
argument_starts_after_one_space(void **state)
{
	struct smtp_cmd c;

	(void)state;
	parse_line("VRFY  bob", &c);
	assert_int_equal(c.verb, SMTP_V_VRFY);
	assert_int_equal(c.arglen, 4);
	assert_memory_equal(c.arg, " bob", 4);
	assert_int_equal(c.has_arg, 1);

	parse_line("NOOP", &c);
	assert_int_equal(c.arglen, 0);
	assert_int_equal(c.has_arg, 0);

	parse_line("NOOP  \t ", &c);
	assert_int_equal(c.arglen, 3);
	assert_int_equal(c.has_arg, 0);
}

static void
parse_reads_only_the_given_length(void **state)
{
	struct smtp_cmd c;

	(void)state;
	smtp_cmd_parse("QUIT now", 4, &c);
	assert_int_equal(c.verb, SMTP_V_QUIT);
	assert_int_equal(c.has_arg, 0);
}

/* --------------------------------------------------------------- MAIL */

static void
mail_path_and_no_parameters(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<Alice@Example.NET>", &mb, &mp);
	assert_string_equal(mb.local, "Alice");
	assert_string_equal(mb.domain, "example.net");
	assert_int_equal(mp.size, 0);
	assert_int_equal(mp.body, SMTP_BODY_NONE);
	assert_int_equal(mp.ret, SMTP_RET_NONE);
	assert_int_equal(mp.smtputf8, 0);
	assert_string_equal(mp.envid, "");
	assert_string_equal(mp.auth, "");

	mail_ok("from:<>", &mb, &mp);
	assert_string_equal(mb.local, "");
	mail_ok("FROM: <a@b.example>", &mb, &mp);
	assert_string_equal(mb.local, "a");
	mail_ok("FROM:<a@b.example>   ", &mb, &mp);
}

static void
mail_path_syntax_errors_are_501_554(void **state)
{
	(void)state;
	mail_err("", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err("FROM", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err("TO:<a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err("FROM:a@b.example", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err("FROM:<a@b.example", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err(
	    "FROM:  <a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>");
	mail_err("FROM:<a@b.example>SIZE=1",
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
}

static void
mail_bad_address_is_553_517(void **state)
{
	char arg[400], local[70];

	(void)state;
	mail_err(
	    "FROM:<a..b@example.net>", "553 5.1.7 Bad sender address syntax");
	mail_err(
	    "FROM:<a@example..net>", "553 5.1.7 Bad sender address syntax");
	memset(local, 'x', 65);
	local[65] = '\0';
	snprintf(arg, sizeof(arg), "FROM:<%s@example.net>", local);
	mail_err(arg, "553 5.1.7 Sender address too long");
}

static void
mail_size(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> SIZE=52428800", &mb, &mp);
	assert_int_equal(mp.size, 52428800);
	mail_ok("FROM:<a@b.example> size=0", &mb, &mp);
	assert_int_equal(mp.size, 0);
	mail_ok("FROM:<a@b.example> SIZE=18446744073709551615", &mb, &mp);
	assert_true(mp.size == UINT64_MAX);
	mail_err("FROM:<a@b.example> SIZE=18446744073709551616",
	    "501 5.5.4 Bad value for parameter SIZE");
	mail_err("FROM:<a@b.example> SIZE=",
	    "501 5.5.4 Bad value for parameter SIZE");
	mail_err("FROM:<a@b.example> SIZE",
	    "501 5.5.4 Bad value for parameter SIZE");
	mail_err("FROM:<a@b.example> SIZE=1k",
	    "501 5.5.4 Bad value for parameter SIZE");
	mail_err("FROM:<a@b.example> SIZE=-1",
	    "501 5.5.4 Bad value for parameter SIZE");
}

static void
mail_body(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> BODY=7BIT", &mb, &mp);
	assert_int_equal(mp.body, SMTP_BODY_7BIT);
	mail_ok("FROM:<a@b.example> body=8bitmime", &mb, &mp);
	assert_int_equal(mp.body, SMTP_BODY_8BITMIME);
	mail_err("FROM:<a@b.example> BODY=BINARYMIME",
	    "504 5.5.4 BODY=BINARYMIME is not supported");
	mail_err("FROM:<a@b.example> BODY=8BIT",
	    "501 5.5.4 Bad value for parameter BODY");
	mail_err("FROM:<a@b.example> BODY",
	    "501 5.5.4 Bad value for parameter BODY");
}

static void
mail_smtputf8_takes_no_value(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> SMTPUTF8", &mb, &mp);
	assert_int_equal(mp.smtputf8, 1);
	mail_err("FROM:<a@b.example> SMTPUTF8=yes",
	    "501 5.5.4 Bad value for parameter SMTPUTF8");
	mail_err("FROM:<a@b.example> SMTPUTF8=",
	    "501 5.5.4 Bad value for parameter SMTPUTF8");
}

static void
mail_non_ascii_sender_needs_smtputf8(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_err("FROM:<j\xc3\xb6rg@b.example>",
	    "553 5.6.7 Non-ASCII sender address requires SMTPUTF8");
	mail_err("FROM:<a@b\xc3\xbc.example> BODY=8BITMIME",
	    "553 5.6.7 Non-ASCII sender address requires SMTPUTF8");
	mail_ok("FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", &mb, &mp);
	assert_int_equal(mb.utf8, 1);
}

static void
mail_ret(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> RET=FULL", &mb, &mp);
	assert_int_equal(mp.ret, SMTP_RET_FULL);
	mail_ok("FROM:<a@b.example> ret=hdrs", &mb, &mp);
	assert_int_equal(mp.ret, SMTP_RET_HDRS);
	mail_err("FROM:<a@b.example> RET=ALL",
	    "501 5.5.4 Bad value for parameter RET");
	mail_err(
	    "FROM:<a@b.example> RET", "501 5.5.4 Bad value for parameter RET");
}

static void
mail_envid_is_kept_as_xtext(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;
	char arg[300], v[SMTP_ENVID_MAX + 2];

	(void)state;
	mail_ok("FROM:<a@b.example> ENVID=QQ314159+2B1+3D", &mb, &mp);
	assert_string_equal(mp.envid, "QQ314159+2B1+3D");
	mail_err("FROM:<a@b.example> ENVID=",
	    "501 5.5.4 Bad value for parameter ENVID");
	mail_err("FROM:<a@b.example> ENVID=a+2",
	    "501 5.5.4 Bad value for parameter ENVID");
	mail_err("FROM:<a@b.example> ENVID=a+2b",
	    "501 5.5.4 Bad value for parameter ENVID");
	mail_err("FROM:<a@b.example> ENVID=a\x01",
	    "501 5.5.4 Bad value for parameter ENVID");
	memset(v, 'e', SMTP_ENVID_MAX);
	v[SMTP_ENVID_MAX] = '\0';
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%s", v);
	mail_ok(arg, &mb, &mp);
	assert_int_equal(strlen(mp.envid), SMTP_ENVID_MAX);
	v[SMTP_ENVID_MAX] = 'e';
	v[SMTP_ENVID_MAX + 1] = '\0';
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%s", v);
	mail_err(arg, "501 5.5.4 Bad value for parameter ENVID");
}

static void
mail_auth(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> AUTH=<>", &mb, &mp);
	assert_string_equal(mp.auth, "<>");
	mail_ok("FROM:<a@b.example> AUTH=joe+40example.com", &mb, &mp);
	assert_string_equal(mp.auth, "joe+40example.com");
	mail_err("FROM:<a@b.example> AUTH=",
	    "501 5.5.4 Bad value for parameter AUTH");
	mail_err("FROM:<a@b.example> AUTH=joe+4",
	    "501 5.5.4 Bad value for parameter AUTH");
	mail_err("FROM:<a@b.example> AUTH",
	    "501 5.5.4 Bad value for parameter AUTH");
}

static void
mail_all_parameters_together(void **state)
{
	struct mailbox mb;
	struct smtp_mail_params mp;

	(void)state;
	mail_ok("FROM:<a@b.example> SIZE=10  BODY=8BITMIME SMTPUTF8 RET=HDRS "
	        "ENVID=x AUTH=<>",
	    &mb, &mp);
	assert_int_equal(mp.size, 10);
	assert_int_equal(mp.body, SMTP_BODY_8BITMIME);
	assert_int_equal(mp.smtputf8, 1);
	assert_int_equal(mp.ret, SMTP_RET_HDRS);
	assert_string_equal(mp.envid, "x");
	assert_string_equal(mp.auth, "<>");
}

static void
mail_unknown_parameter_is_555_554(void **state)
{
	(void)state;
	mail_err("FROM:<a@b.example> TRANSID=<x@y>",
	    "555 5.5.4 Unsupported option: TRANSID");
	mail_err("FROM:<a@b.example> NOTIFY=NEVER",
	    "555 5.5.4 Unsupported option: NOTIFY");
	mail_err(
	    "FROM:<a@b.example> X-FOO", "555 5.5.4 Unsupported option: X-FOO");
}

static void
mail_duplicate_parameter_is_501_554(void **state)
{
	(void)state;
	mail_err("FROM:<a@b.example> SIZE=1 SIZE=1",
	    "501 5.5.4 Duplicate parameter SIZE");
	mail_err("FROM:<a@b.example> SMTPUTF8 smtputf8",
	    "501 5.5.4 Duplicate parameter smtputf8");
	mail_err("FROM:<a@b.example> RET=FULL RET=HDRS",
	    "501 5.5.4 Duplicate parameter RET");
	mail_err("FROM:<a@b.example> ENVID=a ENVID=a",
	    "501 5.5.4 Duplicate parameter ENVID");
	mail_err("FROM:<a@b.example> AUTH=<> AUTH=<>",
	    "501 5.5.4 Duplicate parameter AUTH");
	mail_err("FROM:<a@b.example> BODY=7BIT BODY=7BIT",
	    "501 5.5.4 Duplicate parameter BODY");
}

static void
mail_bad_parameter_syntax_is_501_554(void **state)
{
	(void)state;
	mail_err("FROM:<a@b.example> =1", "501 5.5.4 Bad parameter syntax");
	mail_err(
	    "FROM:<a@b.example> SI_ZE=1", "501 5.5.4 Bad parameter syntax");
	mail_err(
	    "FROM:<a@b.example> S\xc3\xa9=1", "501 5.5.4 Bad parameter syntax");
}

/* --------------------------------------------------------------- RCPT */

static void
rcpt_path(void **state)
{
	struct mailbox mb;
	struct smtp_rcpt_params rp;

	(void)state;
	rcpt_ok("TO:<Bob@Example.ORG>", 0, &mb, &rp);
	assert_string_equal(mb.local, "Bob");
	assert_string_equal(mb.domain, "example.org");
	assert_int_equal(rp.notify, 0);
	assert_string_equal(rp.orcpt, "");
	rcpt_ok("to:<postmaster>", 0, &mb, &rp);
	assert_string_equal(mb.local, "postmaster");
	assert_string_equal(mb.domain, "");
	rcpt_ok("TO: <b@x.example>", 0, &mb, &rp);
}

static void
rcpt_errors(void **state)
{
	(void)state;
	rcpt_err("FROM:<b@x.example>", "501 5.5.4 Syntax: RCPT TO:<address>");
	rcpt_err("TO:b@x.example", "501 5.5.4 Syntax: RCPT TO:<address>");
	rcpt_err("TO:<>", "553 5.1.3 Null recipient address");
	rcpt_err("TO:<b@@x.example>", "553 5.1.3 Bad recipient address syntax");
	rcpt_err(
	    "TO:<b@x.example> SIZE=1", "555 5.5.4 Unsupported option: SIZE");
	rcpt_err("TO:<j\xc3\xb6rg@x.example>",
	    "553 5.6.7 Non-ASCII recipient address requires SMTPUTF8");
}

static void
rcpt_non_ascii_allowed_with_smtputf8(void **state)
{
	struct mailbox mb;
	struct smtp_rcpt_params rp;

	(void)state;
	rcpt_ok("TO:<j\xc3\xb6rg@x.example>", 1, &mb, &rp);
	assert_string_equal(mb.local, "j\xc3\xb6rg");
	assert_int_equal(mb.utf8, 1);
}

static void
rcpt_notify_lists(void **state)
{
	(void)state;
	assert_int_equal(
	    notify_of("TO:<b@x.example> NOTIFY=NEVER"), SMTP_NOTIFY_NEVER);
	assert_int_equal(
	    notify_of("TO:<b@x.example> notify=never"), SMTP_NOTIFY_NEVER);
	assert_int_equal(
	    notify_of("TO:<b@x.example> NOTIFY=SUCCESS"), SMTP_NOTIFY_SUCCESS);
	assert_int_equal(notify_of("TO:<b@x.example> NOTIFY=FAILURE,DELAY"),
	    SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	assert_int_equal(
	    notify_of("TO:<b@x.example> NOTIFY=DELAY,success,Failure"),
	    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
}

static void
rcpt_notify_never_stands_alone(void **state)
{
	static const char *const bad[] = {"NEVER,SUCCESS", "FAILURE,NEVER",
	    "NEVER,NEVER", "SUCCESS,SUCCESS", "SUCCESS,", ",SUCCESS",
	    "SUCCESS,,DELAY", "", "ALWAYS", "SUCCESS FAILURE"};
	char arg[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    arg, sizeof(arg), "TO:<b@x.example> NOTIFY=%s", bad[i]);
		if (strchr(bad[i], ' '))
			/* the second word is a parameter of its own */
			rcpt_err(arg, "555 5.5.4 Unsupported option: FAILURE");
		else
			rcpt_err(
			    arg, "501 5.5.4 Bad value for parameter NOTIFY");
	}
	rcpt_err("TO:<b@x.example> NOTIFY",
	    "501 5.5.4 Bad value for parameter NOTIFY");
}

static void
rcpt_orcpt(void **state)
{
	struct mailbox mb;
	struct smtp_rcpt_params rp;
	char arg[700], v[SMTP_ORCPT_MAX + 2];

	(void)state;
	rcpt_ok("TO:<b@x.example> ORCPT=rfc822;b+2Bx@x.example", 0, &mb, &rp);
	assert_string_equal(rp.orcpt, "rfc822;b+2Bx@x.example");
	rcpt_ok("TO:<b@x.example> ORCPT=utf-8;b@x.example", 0, &mb, &rp);
	rcpt_err("TO:<b@x.example> ORCPT=rfc822;",
	    "501 5.5.4 Bad value for parameter ORCPT");
	rcpt_err("TO:<b@x.example> ORCPT=;b@x.example",
	    "501 5.5.4 Bad value for parameter ORCPT");
	rcpt_err("TO:<b@x.example> ORCPT=rfc822",
	    "501 5.5.4 Bad value for parameter ORCPT");
	rcpt_err("TO:<b@x.example> ORCPT=rfc_822;b",
	    "501 5.5.4 Bad value for parameter ORCPT");
	rcpt_err("TO:<b@x.example> ORCPT=rfc822;b+",
	    "501 5.5.4 Bad value for parameter ORCPT");
	rcpt_err("TO:<b@x.example> ORCPT",
	    "501 5.5.4 Bad value for parameter ORCPT");
	memcpy(v, "rfc822;", 7);
	memset(v + 7, 'o', SMTP_ORCPT_MAX - 7);
	v[SMTP_ORCPT_MAX] = '\0';
	snprintf(arg, sizeof(arg), "TO:<b@x.example> ORCPT=%s", v);
	rcpt_ok(arg, 0, &mb, &rp);
	assert_int_equal(strlen(rp.orcpt), SMTP_ORCPT_MAX);
	v[SMTP_ORCPT_MAX] = 'o';
	v[SMTP_ORCPT_MAX + 1] = '\0';
	snprintf(arg, sizeof(arg), "TO:<b@x.example> ORCPT=%s", v);
	rcpt_err(arg, "501 5.5.4 Bad value for parameter ORCPT");
}

static void
rcpt_duplicate_parameter_is_501_554(void **state)
{
	(void)state;
	rcpt_err("TO:<b@x.example> NOTIFY=NEVER NOTIFY=NEVER",
	    "501 5.5.4 Duplicate parameter NOTIFY");
	rcpt_err("TO:<b@x.example> ORCPT=rfc822;a orcpt=rfc822;a",
	    "501 5.5.4 Duplicate parameter orcpt");
}

static void
error_text_escapes_the_parameter_name(void **state)
{
	char arg[200], want[200];

	(void)state;
	/* A long keyword is cut short in the reply, never copied whole. */
	snprintf(arg, sizeof(arg), "TO:<b@x.example> %s",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAA");
	snprintf(want, sizeof(want), "555 5.5.4 Unsupported option: %.60s...",
	    arg + 17);
	rcpt_err(arg, want);
}

/* --------------------------------------------------------------- BDAT */

static void
bdat_ok_at(const char *arg, uint64_t want_size, int want_last, const char *file,
    int line)
{
	uint64_t size = 12345;
	int last = -1;

	if (smtp_parse_bdat(arg, strlen(arg), &size, &last) < 0) {
		print_error("BDAT \"%s\": expected success, got -1\n", arg);
		_fail(file, line);
	}
	if (size != want_size || last != want_last) {
		print_error("BDAT \"%s\": expected size %llu last %d, got "
		            "%llu %d\n",
		    arg, (unsigned long long)want_size, want_last,
		    (unsigned long long)size, last);
		_fail(file, line);
	}
}

#define bdat_ok(arg, sz, last) bdat_ok_at(arg, sz, last, __FILE__, __LINE__)

static void
bdat_arguments(void **state)
{
	(void)state;
	bdat_ok("0", 0, 0);
	bdat_ok("0 LAST", 0, 1);
	bdat_ok("65536", 65536, 0);
	bdat_ok("10 LAST", 10, 1);
	bdat_ok("10 last", 10, 1);
	bdat_ok("007", 7, 0);
	bdat_ok("18446744073709551615", UINT64_MAX, 0);
}

static void
bdat_malformed_arguments_fail(void **state)
{
	static const char *const bad[] = {"", " 1", "x", "1x", "-1", "+1", "1 ",
	    "1  LAST", "1 LAST ", "1 LASTX", "1 LAS", "1 LAST x", "1\tLAST",
	    "18446744073709551616", "1 FIRST"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t size;
		int last;

		if (smtp_parse_bdat(bad[i], strlen(bad[i]), &size, &last) != -1)
			fail_msg(
			    "BDAT \"%s\": expected -1, got success", bad[i]);
	}
}

/* -------------------------------------------------------------- xtext */

static void
xtext_valid_follows_rfc_3461(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} v[] = {
	    {"", 1},
	    {"abc", 1},
	    {"!~<>\"", 1},
	    {"+2B", 1},
	    {"a+3Db+20", 1},
	    {"+FF", 1},
	    {"+2b", 0},
	    {"+2", 0},
	    {"+", 0},
	    {"a+", 0},
	    {"+G0", 0},
	    {"a=b", 0},
	    {"a b", 0},
	    {"\x7f", 0},
	    {"\x1f", 0},
	    {"\xc3\xa9", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int got = xtext_valid(v[i].s, strlen(v[i].s));

		if (got != v[i].ok)
			fail_msg("xtext \"%s\": expected %d, got %d", v[i].s,
			    v[i].ok, got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_verb_is_recognised),
	    cmocka_unit_test(verbs_ignore_case),
	    cmocka_unit_test(unknown_verbs_are_unknown),
	    cmocka_unit_test(argument_starts_after_one_space),
	    cmocka_unit_test(parse_reads_only_the_given_length),
	    cmocka_unit_test(mail_path_and_no_parameters),
	    cmocka_unit_test(mail_path_syntax_errors_are_501_554),
	    cmocka_unit_test(mail_bad_address_is_553_517),
	    cmocka_unit_test(mail_size),
	    cmocka_unit_test(mail_body),
	    cmocka_unit_test(mail_smtputf8_takes_no_value),
	    cmocka_unit_test(mail_non_ascii_sender_needs_smtputf8),
	    cmocka_unit_test(mail_ret),
	    cmocka_unit_test(mail_envid_is_kept_as_xtext),
	    cmocka_unit_test(mail_auth),
	    cmocka_unit_test(mail_all_parameters_together),
	    cmocka_unit_test(mail_unknown_parameter_is_555_554),
	    cmocka_unit_test(mail_duplicate_parameter_is_501_554),
	    cmocka_unit_test(mail_bad_parameter_syntax_is_501_554),
	    cmocka_unit_test(rcpt_path),
	    cmocka_unit_test(rcpt_errors),
	    cmocka_unit_test(rcpt_non_ascii_allowed_with_smtputf8),
	    cmocka_unit_test(rcpt_notify_lists),
	    cmocka_unit_test(rcpt_notify_never_stands_alone),
	    cmocka_unit_test(rcpt_orcpt),
	    cmocka_unit_test(rcpt_duplicate_parameter_is_501_554),
	    cmocka_unit_test(error_text_escapes_the_parameter_name),
	    cmocka_unit_test(bdat_arguments),
	    cmocka_unit_test(bdat_malformed_arguments_fail),
	    cmocka_unit_test(xtext_valid_follows_rfc_3461),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
