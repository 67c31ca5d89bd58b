/*
 * Unit tests of the string helpers: escaping, strict number, size and
 * duration parsing, case helpers, UTF-8 validation and word lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "strutil.h"

/* ------------------------------------------------------------- escape */

static void
escape_at(const void *src, size_t n, size_t dstsz, const char *want,
    const char *file, int line)
{
	char dst[256];
	size_t r;

	assert_true(dstsz <= sizeof(dst));
	memset(dst, 'Z', sizeof(dst));
	r = str_escape(dst, dstsz, src, n);
	if (strcmp(dst, want) != 0 || r != strlen(want)) {
		print_error("escape of %zu octets into %zu: expected \"%s\" "
		            "(%zu), got \"%s\" (%zu)\n",
		    n, dstsz, want, strlen(want), dst, r);
		_fail(file, line);
	}
	if (dstsz < sizeof(dst) && dst[dstsz] != 'Z') {
		print_error("escape into %zu wrote past its end\n", dstsz);
		_fail(file, line);
	}
}

#define escape(src, n, sz, want) escape_at(src, n, sz, want, __FILE__, __LINE__)

static void
escape_keeps_printable_ascii(void **state)
{
	(void)state;
	escape("Hello, world!", 13, 64, "Hello, world!");
	escape("", 0, 64, "");
	escape(" ~", 2, 64, " ~");
}

static void
escape_hex_encodes_the_rest(void **state)
{
	(void)state;
	escape("a\r\nb", 4, 64, "a\\x0d\\x0ab");
	escape("\\", 1, 64, "\\x5c");
	escape("\x7f\x80\xff", 3, 64, "\\x7f\\x80\\xff");
	escape("a\0b", 3, 64, "a\\x00b");
	escape("\x1b[0m", 4, 64, "\\x1b[0m");
}

static void
escape_marks_what_does_not_fit(void **state)
{
	static const char a64[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	(void)state;
	escape(a64, 64, 16, "aaaaaaaaaaaa...");
	escape("\x01\x01\x01\x01\x01\x01", 6, 16, "\\x01\\x01\\x01...");
	escape("abcdef", 6, 6, "ab...");
}

static void
escape_into_nothing_writes_nothing(void **state)
{
	char dst[4] = "ZZZ";

	(void)state;
	assert_int_equal(str_escape(dst, 0, "abc", 3), 0);
	assert_string_equal(dst, "ZZZ");
	assert_int_equal(str_escape(dst, 1, "abc", 3), 0);
	assert_string_equal(dst, "");
}

static void
escape_keeps_whatever_fits_whole(void **state)
{
	(void)state;
	/* The output fits, NUL included: nothing is cut. */
	escape("abc", 3, 4, "abc");
	escape("abcde", 5, 6, "abcde");
	escape("ab", 2, 3, "ab");
	escape("\r", 1, 5, "\\x0d");
	escape("a\r", 2, 6, "a\\x0d");
}

/* ------------------------------------------------------------ numbers */

static void
u64_is_strict(void **state)
{
	static const char *const bad[] = {"", " 1", "1 ", "+1", "-1", "1a",
	    "0x10", "18446744073709551616", "99999999999999999999"};
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(str_to_u64("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_to_u64("18446744073709551615", 20, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(str_to_u64("12345", 3, &v), 0);
	assert_int_equal(v, 123);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		if (str_to_u64(bad[i], strlen(bad[i]), &v) != -1)
			fail_msg("\"%s\": expected -1, got success (%llu)",
			    bad[i], (unsigned long long)v);
		assert_int_equal(v, 77);
	}
}

static void
u64_lists_are_strict(void **state)
{
	static const char *const bad[] = {"", "1 2", "1 2 3 4", " 1 2 3",
	    "1 2 3 ", "1  2 3", "1 2 +3", "1 -2 3", "1\t2 3", "1 2 3x",
	    "4294967296 0 18446744073709551616"};
	uint64_t v[3];
	size_t i;

	(void)state;
	assert_int_equal(str_to_u64s("0 18446744073709551615 7", 24, v, 3), 0);
	if (v[0] != 0 || v[1] != UINT64_MAX || v[2] != 7)
		fail_msg("expected 0 18446744073709551615 7, got %llu %llu "
		         "%llu",
		    (unsigned long long)v[0], (unsigned long long)v[1],
		    (unsigned long long)v[2]);
	/* Only the n octets given count. */
	assert_int_equal(str_to_u64s("12 3 4 and more", 6, v, 3), 0);
	assert_int_equal(v[0], 12);
	assert_int_equal(str_to_u64s("5", 1, v, 1), 0);
	assert_int_equal(v[0], 5);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (str_to_u64s(bad[i], strlen(bad[i]), v, 3) != -1)
			fail_msg("\"%s\": expected -1 for three numbers, got "
			         "success",
			    bad[i]);
}

static void
sizes_take_binary_units(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"0", 0},
	    {"1024", 1024},
	    {"10k", 10240},
	    {"10K", 10240},
	    {"2kb", 2048},
	    {"50m", 50ULL << 20},
	    {"3MB", 3ULL << 20},
	    {"1g", 1ULL << 30},
	    {"4Gb", 4ULL << 30},
	    {"17179869183g", 17179869183ULL << 30},
	};
	static const char *const bad[] = {"", "k", "10 k", "10t", "1.5m", "-1",
	    "10kk", "17179869184g", "18446744073709551616"};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (str_parse_size(ok[i].s, &v) != 0 || v != ok[i].v)
			fail_msg("size \"%s\": expected %llu", ok[i].s,
			    (unsigned long long)ok[i].v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (str_parse_size(bad[i], &v) != -1)
			fail_msg("size \"%s\": expected -1, got %llu", bad[i],
			    (unsigned long long)v);
}

static void
durations_are_kept_in_milliseconds(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
	    {"30", 30000},
	    {"30s", 30000},
	    {"250ms", 250},
	    {"250MS", 250},
	    {"5m", 300000},
	    {"2h", 7200000},
	    {"1d", 86400000},
	    {"0", 0},
	    {"213503982334d", 213503982334ULL * 86400000},
	};
	static const char *const bad[] = {
	    "", "s", "5 m", "5w", "1.5s", "-1s", "5sec", "213503982335d"};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (str_parse_duration_ms(ok[i].s, &v) != 0 || v != ok[i].ms)
			fail_msg("duration \"%s\": expected %llu ms", ok[i].s,
			    (unsigned long long)ok[i].ms);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (str_parse_duration_ms(bad[i], &v) != -1)
			fail_msg("duration \"%s\": expected -1, got %llu",
			    bad[i], (unsigned long long)v);
}

static void
booleans(void **state)
{
	static const char *const yes[] = {"yes", "YES", "true", "On", "1"};
	static const char *const no[] = {"no", "False", "off", "0"};
	static const char *const bad[] = {"", "y", "n", "2", "yes ", "oui"};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		if (str_parse_bool(yes[i], &v) != 0 || v != 1)
			fail_msg("\"%s\": expected 1, got %d", yes[i], v);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = -1;
		if (str_parse_bool(no[i], &v) != 0 || v != 0)
			fail_msg("\"%s\": expected 0, got %d", no[i], v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (str_parse_bool(bad[i], &v) != -1)
			fail_msg("\"%s\": expected -1", bad[i]);
}

/* ---------------------------------------------------------------- case */

static void
case_helpers_touch_ascii_only(void **state)
{
	char s[] = "MiXeD \xc3\x89 Case-123";

	(void)state;
	str_lower(s);
	assert_string_equal(s, "mixed \xc3\x89 case-123");
	assert_int_equal(str_caseeq("PostMaster", "postmaster"), 1);
	assert_int_equal(str_caseeq("abc", "abcd"), 0);
	assert_int_equal(str_caseeq("abcd", "abc"), 0);
	assert_int_equal(str_caseeq("", ""), 1);
	assert_int_equal(str_caseeq("\xc3\x89", "\xc3\xa9"), 0);
	assert_int_equal(str_ncaseeq("MAILx", "mailY", 4), 1);
	assert_int_equal(str_ncaseeq("MAILx", "mailY", 5), 0);
	assert_int_equal(str_ncaseeq("ab", "AB", 5), 1);
	assert_int_equal(str_ncaseeq("ab", "abc", 3), 0);
	assert_int_equal(str_casestarts("MAIL FROM:<>", 12, "mail from:"), 1);
	assert_int_equal(str_casestarts("MAIL", 4, "mail from:"), 0);
	assert_int_equal(str_casestarts("MAIL FROM", 3, "mail"), 0);
}

/* --------------------------------------------------------------- UTF-8 */

static void
utf8_accepts_well_formed_text(void **state)
{
	static const char *const ok[] = {"", "plain", "caf\xc3\xa9",
	    "\xe2\x82\xac", "\xef\xbf\xbf", "\xf0\x9f\x98\x80",
	    "\xf4\x8f\xbf\xbf", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80",
	    "\xed\x9f\xbf", "\xee\x80\x80"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int na = -1;

		if (utf8_valid(ok[i], strlen(ok[i]), &na) != 1)
			fail_msg("UTF-8 case %zu: expected valid", i);
		if (na != (ok[i][0] != '\0' && strcmp(ok[i], "plain") != 0))
			fail_msg("UTF-8 case %zu: nonascii is %d", i, na);
	}
	assert_int_equal(utf8_valid("a\0b", 3, NULL), 1);
}

static void
utf8_refuses_malformed_text(void **state)
{
	static const char *const bad[] = {
	    "\x80",             /* lone continuation */
	    "\xc3",             /* truncated */
	    "\xe2\x82",         /* truncated */
	    "\xf0\x9f\x98",     /* truncated */
	    "\xc3\x28",         /* bad continuation */
	    "\xe2\x28\xa1",     /* bad continuation */
	    "\xc0\x80",         /* overlong NUL */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\x80",     /* overlong */
	    "\xe0\x9f\xbf",     /* overlong */
	    "\xf0\x80\x80\x80", /* overlong */
	    "\xf0\x8f\xbf\xbf", /* overlong */
	    "\xed\xa0\x80",     /* surrogate */
	    "\xed\xbf\xbf",     /* surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf5\x80\x80\x80", /* never valid */
	    "\xff",             /* never valid */
	    "ok\xfe",           /* late */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (utf8_valid(bad[i], strlen(bad[i]), NULL) != 0)
			fail_msg("UTF-8 case %zu: expected invalid", i);
}

/* ---------------------------------------------------------------- lists */

static void
lists_split_on_blanks_and_commas(void **state)
{
	char **v;
	size_t n = 99;

	(void)state;
	v = str_split_list("a, b\tc\n d,,e ", &n);
	assert_int_equal(n, 5);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[3], "d");
	assert_string_equal(v[4], "e");
	assert_null(v[5]);
	str_free_list(v);
	v = str_split_list("", &n);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	str_free_list(v);
	v = str_split_list(" ,\t,", NULL);
	assert_null(v[0]);
	str_free_list(v);
	str_free_list(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(escape_keeps_printable_ascii),
	    cmocka_unit_test(escape_hex_encodes_the_rest),
	    cmocka_unit_test(escape_marks_what_does_not_fit),
	    cmocka_unit_test(escape_keeps_whatever_fits_whole),
	    cmocka_unit_test(escape_into_nothing_writes_nothing),
	    cmocka_unit_test(u64_is_strict),
	    cmocka_unit_test(u64_lists_are_strict),
	    cmocka_unit_test(sizes_take_binary_units),
	    cmocka_unit_test(durations_are_kept_in_milliseconds),
	    cmocka_unit_test(booleans),
	    cmocka_unit_test(case_helpers_touch_ascii_only),
	    cmocka_unit_test(utf8_accepts_well_formed_text),
	    cmocka_unit_test(utf8_refuses_malformed_text),
	    cmocka_unit_test(lists_split_on_blanks_and_commas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
