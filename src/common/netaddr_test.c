/*
 * Unit tests of network addresses: parsing, matching, peers, lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

static void
parse_ok_at(const char *s, const char *want_addr, unsigned want_prefix,
    const char *file, int line)
{
	struct netaddr a;
	char got[INET6_ADDRSTRLEN];

	if (netaddr_parse(s, &a) < 0) {
		print_error("\"%s\": expected to parse, got -1\n", s);
		_fail(file, line);
	}
	netaddr_format(&a, got, sizeof(got));
	if (strcmp(got, want_addr) != 0 || a.prefix != want_prefix) {
		print_error("\"%s\": expected %s/%u, got %s/%u\n", s, want_addr,
		    want_prefix, got, a.prefix);
		_fail(file, line);
	}
}

#define parse_ok(s, a, p) parse_ok_at(s, a, p, __FILE__, __LINE__)

static struct netaddr
net(const char *s)
{
	struct netaddr a;

	if (netaddr_parse(s, &a) < 0)
		fail_msg("\"%s\": expected to parse", s);
	return a;
}

static void
expect_contains(const char *n, const char *h, int want)
{
	struct netaddr a = net(n), b = net(h);
	int got = netaddr_contains(&a, &b);

	if (got != want)
		fail_msg(
		    "%s contains %s: expected %d, got %d", n, h, want, got);
}

/* ------------------------------------------------------------------ */

static void
addresses_and_networks_parse(void **state)
{
	(void)state;
	parse_ok("192.0.2.1", "192.0.2.1", 32);
	parse_ok("192.0.2.0/24", "192.0.2.0", 24);
	parse_ok("0.0.0.0/0", "0.0.0.0", 0);
	parse_ok("2001:db8::1", "2001:db8::1", 128);
	parse_ok("2001:db8::/32", "2001:db8::", 32);
	parse_ok("[::1]", "::1", 128);
	parse_ok("[2001:db8::]/48", "2001:db8::", 48);
	parse_ok("::/0", "::", 0);
}

static void
host_bits_are_cleared(void **state)
{
	(void)state;
	parse_ok("192.0.2.77/24", "192.0.2.0", 24);
	parse_ok("192.0.2.255/25", "192.0.2.128", 25);
	parse_ok("10.1.2.3/0", "0.0.0.0", 0);
	parse_ok("2001:db8:ffff::1/33", "2001:db8:8000::", 33);
}

static void
bad_addresses_are_refused(void **state)
{
	static const char *const bad[] = {"", "/24", "192.0.2.1/",
	    "192.0.2.1/33", "::1/129", "192.0.2.1/-1", "192.0.2.1/2x",
	    "192.0.2", "300.0.0.1", "example.org", "[192.0.2.1", "192.0.2.1]",
	    "[]", "1.2.3.4 ", "2001:db8:::1", "192.0.2.1/24/8"};
	struct netaddr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (netaddr_parse(bad[i], &a) != -1)
			fail_msg("\"%s\": expected -1, got success", bad[i]);
}

static void
contains_matches_by_prefix(void **state)
{
	(void)state;
	expect_contains("192.0.2.0/24", "192.0.2.1", 1);
	expect_contains("192.0.2.0/24", "192.0.2.255", 1);
	expect_contains("192.0.2.0/24", "192.0.3.0", 0);
	expect_contains("192.0.2.128/25", "192.0.2.127", 0);
	expect_contains("192.0.2.128/25", "192.0.2.128", 1);
	expect_contains("10.0.0.0/7", "11.255.255.255", 1);
	expect_contains("10.0.0.0/7", "12.0.0.0", 0);
	expect_contains("0.0.0.0/0", "203.0.113.9", 1);
	expect_contains("192.0.2.1", "192.0.2.1", 1);
	expect_contains("192.0.2.1", "192.0.2.2", 0);
	expect_contains("2001:db8::/32", "2001:db8:1::5", 1);
	expect_contains("2001:db8::/32", "2001:db9::", 0);
	expect_contains("::/0", "::1", 1);
}

static void
families_never_match_each_other(void **state)
{
	(void)state;
	expect_contains("0.0.0.0/0", "::1", 0);
	expect_contains("::/0", "127.0.0.1", 0);
	expect_contains("::ffff:0:0/96", "192.0.2.1", 0);
}

static void
peers_are_unmapped(void **state)
{
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct netaddr a;
	char got[INET6_ADDRSTRLEN];

	(void)state;
	memset(&in4, 0, sizeof(in4));
	in4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", &in4.sin_addr);
	assert_int_equal(netaddr_from_sockaddr((struct sockaddr *)&in4, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.prefix, 32);
	netaddr_format(&a, got, sizeof(got));
	assert_string_equal(got, "192.0.2.9");

	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &in6.sin6_addr);
	assert_int_equal(netaddr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.prefix, 32);
	netaddr_format(&a, got, sizeof(got));
	assert_string_equal(got, "192.0.2.9");
	{
		struct netaddr n = net("192.0.2.0/24");

		assert_int_equal(netaddr_contains(&n, &a), 1);
	}

	inet_pton(AF_INET6, "2001:db8::9", &in6.sin6_addr);
	assert_int_equal(netaddr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.prefix, 128);
	netaddr_format(&a, got, sizeof(got));
	assert_string_equal(got, "2001:db8::9");

	in4.sin_family = AF_UNIX;
	assert_int_equal(
	    netaddr_from_sockaddr((struct sockaddr *)&in4, &a), -1);
}

static void
lists_parse_and_match(void **state)
{
	struct netlist l;
	char err[128] = "";
	struct netaddr h;

	(void)state;
	assert_int_equal(netlist_parse("192.0.2.0/24, 2001:db8::/32\t10.0.0.1",
	                     &l, err, sizeof(err)),
	    0);
	assert_int_equal(l.n, 3);
	h = net("192.0.2.200");
	assert_int_equal(netlist_match(&l, &h), 1);
	h = net("10.0.0.1");
	assert_int_equal(netlist_match(&l, &h), 1);
	h = net("10.0.0.2");
	assert_int_equal(netlist_match(&l, &h), 0);
	h = net("2001:db8::1");
	assert_int_equal(netlist_match(&l, &h), 1);
	netlist_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void
loopback_means_both_families(void **state)
{
	struct netlist l;
	char err[128];
	struct netaddr h;

	(void)state;
	assert_int_equal(netlist_parse("LoopBack", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	h = net("127.0.0.1");
	assert_int_equal(netlist_match(&l, &h), 1);
	h = net("127.255.0.9");
	assert_int_equal(netlist_match(&l, &h), 1);
	h = net("::1");
	assert_int_equal(netlist_match(&l, &h), 1);
	h = net("128.0.0.1");
	assert_int_equal(netlist_match(&l, &h), 0);
	h = net("::2");
	assert_int_equal(netlist_match(&l, &h), 0);
	netlist_free(&l);
}

static void
empty_list_matches_nothing(void **state)
{
	struct netlist l;
	char err[128];
	struct netaddr h = net("127.0.0.1");

	(void)state;
	assert_int_equal(netlist_parse("", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(netlist_match(&l, &h), 0);
	netlist_free(&l);
}

static void
list_error_names_the_element(void **state)
{
	struct netlist l;
	char err[128];

	(void)state;
	assert_int_equal(netlist_parse("192.0.2.0/24 bogus/8 10.0.0.0/8", &l,
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "bad network address \"bogus/8\"");
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(addresses_and_networks_parse),
	    cmocka_unit_test(host_bits_are_cleared),
	    cmocka_unit_test(bad_addresses_are_refused),
	    cmocka_unit_test(contains_matches_by_prefix),
	    cmocka_unit_test(families_never_match_each_other),
	    cmocka_unit_test(peers_are_unmapped),
	    cmocka_unit_test(lists_parse_and_match),
	    cmocka_unit_test(loopback_means_both_families),
	    cmocka_unit_test(empty_list_matches_nothing),
	    cmocka_unit_test(list_error_names_the_element),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
