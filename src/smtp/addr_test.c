/*
 * Unit tests of address parsing: paths, local parts, domains, literals,
 * length limits and UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/strutil.h"
#include "addr.h"

static const char *const status_names[] = {
    "ADDR_OK", "ADDR_NOT_PATH", "ADDR_BAD", "ADDR_TOO_LONG"};

static enum addr_status
parse(const char *path, struct mailbox *mb, size_t *used)
{
	size_t u = 0;
	enum addr_status st = addr_parse_path(path, strlen(path), &u, mb);

	if (used)
		*used = u;
	return st;
}

static void
expect_status_at(
    const char *path, enum addr_status want, const char *file, int line)
{
	struct mailbox mb;
	enum addr_status got = parse(path, &mb, NULL);
	char e[400];

	if (got != want) {
		str_escape(e, sizeof(e), path, strlen(path));
		print_error("path \"%s\": expected %s, got %s\n", e,
		    status_names[want], status_names[got]);
		_fail(file, line);
	}
}

/* path parses to exactly local and domain */
static void
expect_mailbox_at(const char *path, const char *local, const char *domain,
    const char *file, int line)
{
	struct mailbox mb;
	enum addr_status got = parse(path, &mb, NULL);
	char e[400];

	str_escape(e, sizeof(e), path, strlen(path));
	if (got != ADDR_OK) {
		print_error("path \"%s\": expected ADDR_OK, got %s\n", e,
		    status_names[got]);
		_fail(file, line);
	}
	if (strcmp(mb.local, local) != 0 || strcmp(mb.domain, domain) != 0) {
		print_error("path \"%s\": expected local \"%s\" domain \"%s\", "
		            "got \"%s\" \"%s\"\n",
		    e, local, domain, mb.local, mb.domain);
		_fail(file, line);
	}
}

#define expect_status(p, st) expect_status_at(p, st, __FILE__, __LINE__)
#define expect_mailbox(p, l, d) expect_mailbox_at(p, l, d, __FILE__, __LINE__)

static void
repeat(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

/* ------------------------------------------------------------- paths */

static void
null_path_is_empty(void **state)
{
	struct mailbox mb;
	size_t used;

	(void)state;
	assert_int_equal(parse("<>", &mb, &used), ADDR_OK);
	assert_int_equal(used, 2);
	assert_string_equal(mb.local, "");
	assert_string_equal(mb.domain, "");
	assert_int_equal(mb.utf8, 0);
}

static void
postmaster_alone_has_no_domain(void **state)
{
	(void)state;
	expect_mailbox("<postmaster>", "postmaster", "");
	expect_mailbox("<PostMaster>", "postmaster", "");
	expect_mailbox("<postmaster@Example.ORG>", "postmaster", "example.org");
	expect_status("<postmasters>", ADDR_BAD);
}

static void
used_stops_after_the_closing_bracket(void **state)
{
	struct mailbox mb;
	size_t used;

	(void)state;
	assert_int_equal(parse("<a@b.example> SIZE=10", &mb, &used), ADDR_OK);
	assert_int_equal(used, 13);
	assert_int_equal(parse("<\"a>b\"@b.example> x", &mb, &used), ADDR_OK);
	assert_int_equal(used, 17);
	assert_string_equal(mb.local, "\"a>b\"");
}

static void
missing_brackets_are_not_a_path(void **state)
{
	(void)state;
	expect_status("", ADDR_NOT_PATH);
	expect_status("a@b.example", ADDR_NOT_PATH);
	expect_status(" <a@b.example>", ADDR_NOT_PATH);
	expect_status("<a@b.example", ADDR_NOT_PATH);
	expect_status("<\"a>@b.example", ADDR_NOT_PATH);
	expect_status("<", ADDR_NOT_PATH);
}

static void
domain_is_lowercased_local_part_is_not(void **state)
{
	(void)state;
	expect_mailbox(
	    "<John.Smith@Mail.Example.COM>", "John.Smith", "mail.example.com");
	/* only ASCII letters change */
	expect_mailbox(
	    "<a@\xc3\x89t\xc3\xa9.Example>", "a", "\xc3\x89t\xc3\xa9.example");
}

static void
source_route_is_ignored(void **state)
{
	(void)state;
	expect_mailbox("<@relay.example:u@dest.example>", "u", "dest.example");
	expect_mailbox(
	    "<@a.example,@b.example:u@dest.example>", "u", "dest.example");
	expect_mailbox("<@a.example:postmaster>", "postmaster", "");
}

static void
bad_source_routes_are_rejected(void **state)
{
	(void)state;
	expect_status("<@a.example u@dest.example>", ADDR_BAD);
	expect_status("<@:u@dest.example>", ADDR_BAD);
	expect_status("<@-a.example:u@dest.example>", ADDR_BAD);
	expect_status("<@a.example,b.example:u@dest.example>", ADDR_BAD);
	expect_status("<@a.example,:u@dest.example>", ADDR_BAD);
	expect_status("<@a.example:>", ADDR_BAD);
}

/* -------------------------------------------------------- local parts */

static void
dot_string_local_parts(void **state)
{
	(void)state;
	expect_mailbox("<a.b.c@x.example>", "a.b.c", "x.example");
	expect_mailbox("<!#$%&'*+-/=?^_`{|}~@x.example>", "!#$%&'*+-/=?^_`{|}~",
	    "x.example");
	expect_status("<.a@x.example>", ADDR_BAD);
	expect_status("<a.@x.example>", ADDR_BAD);
	expect_status("<a..b@x.example>", ADDR_BAD);
	expect_status("<a b@x.example>", ADDR_BAD);
	expect_status("<a(b)@x.example>", ADDR_BAD);
	expect_status("<a,b@x.example>", ADDR_BAD);
	expect_status("<@x.example>", ADDR_BAD);
	expect_status("<a@>", ADDR_BAD);
	expect_status("<a>", ADDR_BAD);
}

static void
quoted_local_part_is_unquoted_when_possible(void **state)
{
	(void)state;
	expect_mailbox("<\"john.doe\"@x.example>", "john.doe", "x.example");
	expect_mailbox("<\"\\j\\o\\e\"@x.example>", "joe", "x.example");
	/* needs its quotes: kept as received */
	expect_mailbox("<\"john doe\"@x.example>", "\"john doe\"", "x.example");
	expect_mailbox("<\"a\\\"b\"@x.example>", "\"a\\\"b\"", "x.example");
	expect_mailbox("<\"a@b\"@x.example>", "\"a@b\"", "x.example");
	expect_mailbox("<\".a\"@x.example>", "\".a\"", "x.example");
	expect_mailbox("<\"\"@x.example>", "\"\"", "x.example");
}

static void
bad_quoted_local_parts_are_rejected(void **state)
{
	(void)state;
	expect_status("<\"a\"b@x.example>", ADDR_BAD);
	expect_status("<\"a\".\"b\"@x.example>", ADDR_BAD);
	expect_status("<\"a\x01\"@x.example>", ADDR_BAD);
	expect_status("<\"a\\\x01\"@x.example>", ADDR_BAD);
	expect_status("<\"a\x7f\"@x.example>", ADDR_BAD);
	expect_status("<\"a\\\"@x.example>", ADDR_NOT_PATH);
}

/* ------------------------------------------------------------ domains */

static void
domain_syntax(void **state)
{
	(void)state;
	expect_mailbox("<a@localhost>", "a", "localhost");
	expect_mailbox("<a@x-y.example>", "a", "x-y.example");
	expect_mailbox("<a@123.example>", "a", "123.example");
	expect_status("<a@-x.example>", ADDR_BAD);
	expect_status("<a@x-.example>", ADDR_BAD);
	expect_status("<a@x..example>", ADDR_BAD);
	expect_status("<a@x.example.>", ADDR_BAD);
	expect_status("<a@.x.example>", ADDR_BAD);
	expect_status("<a@x_y.example>", ADDR_BAD);
	expect_status("<a@x y.example>", ADDR_BAD);
	expect_status("<a@b@x.example>", ADDR_BAD);
}

static void
address_literals(void **state)
{
	(void)state;
	expect_mailbox("<a@[192.0.2.1]>", "a", "[192.0.2.1]");
	expect_mailbox("<a@[IPv6:2001:db8::1]>", "a", "[ipv6:2001:db8::1]");
	expect_mailbox("<a@[ipv6:::1]>", "a", "[ipv6:::1]");
	expect_status("<a@[300.0.0.1]>", ADDR_BAD);
	expect_status("<a@[192.0.2]>", ADDR_BAD);
	expect_status("<a@[IPv6:192.0.2.1]>", ADDR_BAD);
	expect_status("<a@[2001:db8::1]>", ADDR_BAD);
	expect_status("<a@[192.0.2.1>", ADDR_BAD);
	expect_status("<a@[]>", ADDR_BAD);
	expect_status("<a@[x:y]>", ADDR_BAD);
}

static void
domain_valid_checks_labels_and_length(void **state)
{
	char d[300];

	(void)state;
	assert_int_equal(addr_domain_valid("example.org", 11), 1);
	assert_int_equal(addr_domain_valid("", 0), 0);
	/* labels of 63 octets are fine, 64 are not */
	repeat(d, 'l', 63);
	assert_int_equal(addr_domain_valid(d, 63), 1);
	repeat(d, 'l', 64);
	assert_int_equal(addr_domain_valid(d, 64), 0);
	/* 255 octets in all is the limit: 4 * 63 + 3 dots = 255 */
	repeat(d, 'd', 255);
	d[63] = d[127] = d[191] = '.';
	assert_int_equal(addr_domain_valid(d, 255), 1);
	repeat(d, 'd', 256);
	d[63] = d[127] = d[191] = d[255 - 62] = '.';
	assert_int_equal(addr_domain_valid(d, 256), 0);
	/* U-labels: valid UTF-8 only */
	assert_int_equal(addr_domain_valid("b\xc3\xbc.example", 10), 1);
	assert_int_equal(addr_domain_valid("b\xc3.example", 9), 0);
}

/* -------------------------------------------------------------- limits */

static void
local_part_limit_is_64(void **state)
{
	char local[70], path[400];

	(void)state;
	repeat(local, 'l', 64);
	snprintf(path, sizeof(path), "<%s@x.example>", local);
	expect_mailbox(path, local, "x.example");
	repeat(local, 'l', 65);
	snprintf(path, sizeof(path), "<%s@x.example>", local);
	expect_status(path, ADDR_TOO_LONG);
	/* the quotes count */
	repeat(local, 'q', 63);
	snprintf(path, sizeof(path), "<\"%s\"@x.example>", local);
	expect_status(path, ADDR_TOO_LONG);
	repeat(local, 'q', 62);
	snprintf(path, sizeof(path), "<\"%s\"@x.example>", local);
	expect_mailbox(path, local, "x.example");
}

static void
path_limit_is_256_with_brackets(void **state)
{
	char local[70], domain[260], path[600];

	(void)state;
	/* "<" + 64 + "@" + 189 + ">" = 256 */
	repeat(local, 'l', 64);
	repeat(domain, 'd', 189);
	domain[63] = domain[127] = '.';
	snprintf(path, sizeof(path), "<%s@%s>", local, domain);
	assert_int_equal(strlen(path), ADDR_PATH_MAX);
	expect_mailbox(path, local, domain);
	/* one more octet in the domain */
	repeat(domain, 'd', 190);
	domain[63] = domain[127] = '.';
	snprintf(path, sizeof(path), "<%s@%s>", local, domain);
	expect_status(path, ADDR_TOO_LONG);
	/* a source route counts too */
	repeat(domain, 'd', 189);
	domain[63] = domain[127] = '.';
	snprintf(path, sizeof(path), "<@r.example:%s@%s>", local, domain);
	expect_status(path, ADDR_TOO_LONG);
}

static void
mailbox_limit_is_254(void **state)
{
	struct mailbox mb;
	char s[300];

	(void)state;
	repeat(s, 'd', 254);
	s[0] = 'a';
	s[1] = '@';
	s[64] = s[128] = s[192] = '.';
	assert_int_equal(addr_parse_mailbox(s, 254, &mb), ADDR_OK);
	repeat(s, 'd', 255);
	s[0] = 'a';
	s[1] = '@';
	s[64] = s[128] = s[192] = '.';
	assert_int_equal(addr_parse_mailbox(s, 255, &mb), ADDR_TOO_LONG);
}

/* --------------------------------------------------------------- UTF-8 */

static void
utf8_addresses_are_marked(void **state)
{
	struct mailbox mb;

	(void)state;
	assert_int_equal(parse("<j\xc3\xb6rg@x.example>", &mb, NULL), ADDR_OK);
	assert_int_equal(mb.utf8, 1);
	assert_int_equal(parse("<a@\xe4\xbe\x8b.example>", &mb, NULL), ADDR_OK);
	assert_int_equal(mb.utf8, 1);
	assert_int_equal(parse("<a@x.example>", &mb, NULL), ADDR_OK);
	assert_int_equal(mb.utf8, 0);
}

static void
invalid_utf8_and_nul_are_rejected(void **state)
{
	struct mailbox mb;
	size_t used;
	static const char nul[] = "<a\0b@x.example>";

	(void)state;
	expect_status("<\xc3@x.example>", ADDR_BAD);
	expect_status("<\xc0\xaf@x.example>", ADDR_BAD);
	expect_status("<\xed\xa0\x80@x.example>", ADDR_BAD);
	expect_status("<a@\xff.example>", ADDR_BAD);
	assert_int_equal(
	    addr_parse_path(nul, sizeof(nul) - 1, &used, &mb), ADDR_BAD);
}

static void
control_characters_are_rejected(void **state)
{
	(void)state;
	expect_status("<a\x01@x.example>", ADDR_BAD);
	expect_status("<a\r@x.example>", ADDR_BAD);
	expect_status("<a@x\t.example>", ADDR_BAD);
}

/* ------------------------------------------------------------- format */

static void
format_gives_the_address_as_text(void **state)
{
	struct mailbox mb;
	char out[ADDR_PATH_MAX + 1];

	(void)state;
	assert_int_equal(parse("<>", &mb, NULL), ADDR_OK);
	addr_format(&mb, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(parse("<Postmaster>", &mb, NULL), ADDR_OK);
	addr_format(&mb, out, sizeof(out));
	assert_string_equal(out, "postmaster");
	assert_int_equal(parse("<\"a b\"@X.example>", &mb, NULL), ADDR_OK);
	addr_format(&mb, out, sizeof(out));
	assert_string_equal(out, "\"a b\"@x.example");
}

static void
parse_mailbox_without_brackets(void **state)
{
	struct mailbox mb;

	(void)state;
	assert_int_equal(addr_parse_mailbox("u@X.example", 11, &mb), ADDR_OK);
	assert_string_equal(mb.local, "u");
	assert_string_equal(mb.domain, "x.example");
	assert_int_equal(
	    addr_parse_mailbox("<u@x.example>", 13, &mb), ADDR_BAD);
	assert_int_equal(addr_parse_mailbox("u", 1, &mb), ADDR_BAD);
	assert_int_equal(addr_parse_mailbox("", 0, &mb), ADDR_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(null_path_is_empty),
	    cmocka_unit_test(postmaster_alone_has_no_domain),
	    cmocka_unit_test(used_stops_after_the_closing_bracket),
	    cmocka_unit_test(missing_brackets_are_not_a_path),
	    cmocka_unit_test(domain_is_lowercased_local_part_is_not),
	    cmocka_unit_test(source_route_is_ignored),
	    cmocka_unit_test(bad_source_routes_are_rejected),
	    cmocka_unit_test(dot_string_local_parts),
	    cmocka_unit_test(quoted_local_part_is_unquoted_when_possible),
	    cmocka_unit_test(bad_quoted_local_parts_are_rejected),
	    cmocka_unit_test(domain_syntax),
	    cmocka_unit_test(address_literals),
	    cmocka_unit_test(domain_valid_checks_labels_and_length),
	    cmocka_unit_test(local_part_limit_is_64),
	    cmocka_unit_test(path_limit_is_256_with_brackets),
	    cmocka_unit_test(mailbox_limit_is_254),
	    cmocka_unit_test(utf8_addresses_are_marked),
	    cmocka_unit_test(invalid_utf8_and_nul_are_rejected),
	    cmocka_unit_test(control_characters_are_rejected),
	    cmocka_unit_test(format_gives_the_address_as_text),
	    cmocka_unit_test(parse_mailbox_without_brackets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
