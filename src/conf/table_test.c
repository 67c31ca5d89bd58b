/*
 * Unit tests of lookup tables: "key value" files, continuation lines,
 * case-insensitive keys and errors with file and line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "table.h"

static char path[64];

static int
make_path(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/tern-table-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int
remove_path(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void
write_n(const char *text, size_t n)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static struct table *
load(const char *text)
{
	struct table *t;
	char err[512];

	write_n(text, strlen(text));
	t = table_load(path, err, sizeof(err));
	if (t == NULL)
		fail_msg(
		    "table \"%s\": expected success, got \"%s\"", text, err);
	return t;
}

static void
expect_error_at(
    const char *text, int line_no, const char *what, const char *file, int line)
{
	struct table *t;
	char err[512], want[512];

	write_n(text, strlen(text));
	snprintf(want, sizeof(want), "%s:%d: %s", path, line_no, what);
	t = table_load(path, err, sizeof(err));
	if (t != NULL) {
		table_free(t);
		print_error(
		    "table \"%s\": expected \"%s\", got success\n", text, want);
		_fail(file, line);
	}
	if (strcmp(err, want) != 0) {
		print_error("table \"%s\": expected \"%s\", got \"%s\"\n", text,
		    want, err);
		_fail(file, line);
	}
}

#define expect_error(text, n, what) \
	expect_error_at(text, n, what, __FILE__, __LINE__)

static void
expect_entry(const struct table *t, const char *key, const char *want)
{
	const char *got = table_get(t, key);

	if (want == NULL && got != NULL)
		fail_msg("key \"%s\": expected no entry, got \"%s\"", key, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("key \"%s\": expected \"%s\", got %s%s%s", key, want,
		    got ? "\"" : "", got ? got : "no entry", got ? "\"" : "");
}

/* ------------------------------------------------------------------ */

static void
entries_are_found_by_key(void **state)
{
	struct table *t;
	const char *k, *v;

	(void)state;
	t = load("# aliases\n"
	         "\n"
	         "postmaster   root\n"
	         "root\tadmin@example.org, ops@example.org  \n"
	         "   # an indented comment is still a comment\n"
	         "empty\n");
	assert_int_equal(table_count(t), 3);
	expect_entry(t, "postmaster", "root");
	expect_entry(t, "root", "admin@example.org, ops@example.org");
	expect_entry(t, "empty", "");
	expect_entry(t, "nobody", NULL);
	expect_entry(t, "#", NULL);
	table_entry(t, 1, &k, &v);
	assert_string_equal(k, "root");
	assert_string_equal(v, "admin@example.org, ops@example.org");
	table_free(t);
}

static void
keys_ignore_case_and_are_stored_lowercased(void **state)
{
	struct table *t;
	const char *k, *v;

	(void)state;
	t = load("Bob@Example.ORG  Value Keeps Case\n");
	expect_entry(t, "bob@example.org", "Value Keeps Case");
	expect_entry(t, "BOB@EXAMPLE.ORG", "Value Keeps Case");
	table_entry(t, 0, &k, &v);
	assert_string_equal(k, "bob@example.org");
	table_free(t);
}

static void
continuation_lines_extend_the_value(void **state)
{
	struct table *t;

	(void)state;
	t = load("staff alice,\n"
	         "  bob,\n"
	         "\tcarol\n"
	         "other x\n"
	         "blank\n"
	         "  y\n");
	expect_entry(t, "staff", "alice, bob, carol");
	expect_entry(t, "other", "x");
	expect_entry(t, "blank", "y");
	table_free(t);
}

static void
crlf_line_ends_are_accepted(void **state)
{
	struct table *t;

	(void)state;
	t = load("a 1\r\nb 2\r\n");
	expect_entry(t, "a", "1");
	expect_entry(t, "b", "2");
	table_free(t);
}

static void
a_last_line_without_newline_counts(void **state)
{
	struct table *t;

	(void)state;
	t = load("a 1\nb 2");
	expect_entry(t, "b", "2");
	table_free(t);
}

static void
many_entries_are_all_found(void **state)
{
	FILE *fp;
	struct table *t;
	char err[256], key[32], val[32];
	int i;

	(void)state;
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (i = 0; i < 2000; i++)
		fprintf(fp, "key%d value%d\n", i, i);
	fclose(fp);
	t = table_load(path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(table_count(t), 2000);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "KEY%d", i);
		snprintf(val, sizeof(val), "value%d", i);
		expect_entry(t, key, val);
	}
	expect_entry(t, "key2000", NULL);
	table_free(t);
}

static void
empty_table_finds_nothing(void **state)
{
	struct table *t;

	(void)state;
	t = load("# only a comment\n\n");
	assert_int_equal(table_count(t), 0);
	expect_entry(t, "x", NULL);
	table_free(t);
	assert_null(table_get(NULL, "x"));
	assert_int_equal(table_count(NULL), 0);
}

static void
entries_know_their_file_and_line(void **state)
{
	struct table *t;
	size_t i;

	(void)state;
	t = load("# aliases\n"
	         "\n"
	         "staff alice,\n"
	         "  bob\n"
	         "Other x\n"
	         "# last\n"
	         "third\n");
	assert_string_equal(table_path(t), path);
	assert_int_equal(table_count(t), 3);
	i = table_index(t, "staff");
	assert_int_equal(i, 0);
	assert_int_equal(table_line(t, i), 3);
	/* A continued value keeps the line its entry starts on. */
	i = table_index(t, "OTHER");
	assert_int_equal(i, 1);
	assert_int_equal(table_line(t, i), 5);
	i = table_index(t, "third");
	assert_int_equal(i, 2);
	assert_int_equal(table_line(t, i), 7);
	assert_int_equal(table_index(t, "nobody"), TABLE_NONE);
	assert_int_equal(table_index(NULL, "staff"), TABLE_NONE);
	table_free(t);
}

/* -------------------------------------------------------------- errors */

static void
duplicate_key_is_an_error(void **state)
{
	(void)state;
	expect_error("a 1\nb 2\nA 3\n", 3, "duplicate key \"A\"");
}

static void
continuation_without_entry_is_an_error(void **state)
{
	(void)state;
	expect_error(
	    "# header\n  orphan\n", 2, "continuation line without an entry");
}

static void
over_long_line_is_an_error(void **state)
{
	static char text[TABLE_MAX_LINE + 64];
	struct table *t;
	char err[256];
	size_t n;

	(void)state;
	/* exactly TABLE_MAX_LINE octets before the newline: fine */
	memcpy(text, "a 1\nk ", 6);
	memset(text + 6, 'v', TABLE_MAX_LINE - 2);
	n = 6 + TABLE_MAX_LINE - 2;
	text[n++] = '\n';
	write_n(text, n);
	t = table_load(path, err, sizeof(err));
	if (t == NULL)
		fail_msg("a line of %d octets: %s", TABLE_MAX_LINE, err);
	assert_int_equal(strlen(table_get(t, "k")), TABLE_MAX_LINE - 2);
	table_free(t);
	/* one more octet is too long */
	memset(text + 6, 'v', TABLE_MAX_LINE - 1);
	n = 6 + TABLE_MAX_LINE - 1;
	text[n++] = '\n';
	text[n] = '\0';
	expect_error(text, 2, "line longer than 8192");
}

static void
missing_file_is_an_error(void **state)
{
	struct table *t;
	char err[256];

	(void)state;
	t = table_load("/nonexistent/aliases", err, sizeof(err));
	assert_null(t);
	assert_string_equal(
	    err, "/nonexistent/aliases: No such file or directory");
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, make_path, remove_path)
	const struct CMUnitTest tests[] = {
	    T(entries_are_found_by_key),
	    T(keys_ignore_case_and_are_stored_lowercased),
	    T(continuation_lines_extend_the_value),
	    T(crlf_line_ends_are_accepted),
	    T(a_last_line_without_newline_counts),
	    T(many_entries_are_all_found),
	    T(empty_table_finds_nothing),
	    T(entries_know_their_file_and_line),
	    T(duplicate_key_is_an_error),
	    T(continuation_without_entry_is_an_error),
	    T(over_long_line_is_an_error),
	    T(missing_file_is_an_error),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
