/*
 * Unit tests of the DATA/BDAT byte machine: end of data, dot-stuffing,
 * bare line ends, limits and a full output buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/buf.h"
#include "../common/strutil.h"
#include "smtp_data.h"

#define STRICT 1
#define LENIENT 0
#define NOLIMIT (1u << 30)

static const char *const st_names[] = {"MORE", "END", "BAD_EOL", "OUT_FULL"};

struct run {
	struct smtp_data d;
	struct buf out; /* everything the machine emitted */
	size_t used;    /* octets consumed in all */
	enum smtp_data_status st;
};

/*
 * Feed in[0..n) in pieces of at most piece octets, through an output
 * buffer of outmax octets that is drained whenever the machine says it
 * is full.  Stops at END or BAD_EOL.
 */
static void
run_data(struct run *r, const char *in, size_t n, size_t piece, size_t outmax)
{
	struct buf out;

	buf_init(&out, outmax);
	buf_init(&r->out, 1 << 20);
	r->used = 0;
	r->st = SMTP_DATA_MORE;
	while (r->used < n) {
		size_t len = n - r->used < piece ? n - r->used : piece;
		size_t used =
		    smtp_data_feed(&r->d, in + r->used, len, &out, &r->st);

		assert_true(used <= len);
		assert_int_equal(buf_append(&r->out, out.data, out.len), 0);
		r->used += used;
		if (r->st == SMTP_DATA_END || r->st == SMTP_DATA_BAD_EOL)
			break;
		if (r->st == SMTP_DATA_MORE)
			assert_int_equal(used, len);
		if (r->st == SMTP_DATA_OUT_FULL && used == 0 && out.len == 0)
			fail_msg(
			    "OUT_FULL with an empty buffer of %zu", outmax);
		out.len = 0;
	}
	buf_free(&out);
}

static void
init(struct run *r, uint64_t limit, uint64_t line_max, int strict)
{
	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d, limit, line_max, strict);
}

static void
done(struct run *r)
{
	buf_free(&r->out);
}

static void
expect_run_at(struct run *r, const char *in, enum smtp_data_status st,
    size_t used, const char *out, size_t outlen, const char *file, int line)
{
	char e[300], w[300], g[300];

	str_escape(e, sizeof(e), in, strlen(in));
	if (r->st != st || r->used != used) {
		print_error(
		    "\"%s\": expected %s after %zu octets, got %s after "
		    "%zu\n",
		    e, st_names[st], used, st_names[r->st], r->used);
		_fail(file, line);
	}
	if (r->out.len != outlen ||
	    (outlen > 0 && memcmp(r->out.data, out, outlen) != 0)) {
		str_escape(w, sizeof(w), out, outlen);
		str_escape(g, sizeof(g), r->out.data, r->out.len);
		print_error(
		    "\"%s\": expected output \"%s\", got \"%s\"\n", e, w, g);
		_fail(file, line);
	}
}

/* Run in (a C string) whole with a roomy buffer and check the outcome. */
static void
check_at(int strict, const char *in, enum smtp_data_status st, size_t used,
    const char *out, const char *file, int line)
{
	struct run r;

	init(&r, NOLIMIT, 1000, strict);
	run_data(&r, in, strlen(in), strlen(in), 1 << 20);
	expect_run_at(&r, in, st, used, out, strlen(out), file, line);
	done(&r);
}

#define check(strict, in, st, used, out) \
	check_at(strict, in, st, used, out, __FILE__, __LINE__)

/* --------------------------------------------------------- end of data */

static void
only_crlf_dot_crlf_ends_the_message(void **state)
{
	(void)state;
	check(STRICT, "hello\r\n.\r\nQUIT\r\n", SMTP_DATA_END, 10, "hello\r\n");
	check(STRICT, "a\r\nb\r\n.\r\n", SMTP_DATA_END, 9, "a\r\nb\r\n");
	check(STRICT, "hello\r\n.x\r\n", SMTP_DATA_MORE, 11, "hello\r\nx\r\n");
	check(STRICT, "hello\r\n. \r\n", SMTP_DATA_MORE, 11, "hello\r\n \r\n");
}

static void
a_dot_alone_at_the_start_is_an_empty_message(void **state)
{
	(void)state;
	check(STRICT, ".\r\n", SMTP_DATA_END, 3, "");
	check(STRICT, "\r\n.\r\n", SMTP_DATA_END, 5, "\r\n");
}

static void
dot_stuffing_is_undone(void **state)
{
	(void)state;
	check(STRICT, "..a\r\n...\r\n..\r\nx.y\r\n.\r\n", SMTP_DATA_END, 22,
	    ".a\r\n..\r\n.\r\nx.y\r\n");
}

static void
terminator_is_found_across_single_octets(void **state)
{
	static const char in[] = "a\r\n..\r\n.\r\nrest";
	struct run r;

	(void)state;
	init(&r, NOLIMIT, 1000, STRICT);
	run_data(&r, in, sizeof(in) - 1, 1, 1 << 20);
	expect_run_at(
	    &r, in, SMTP_DATA_END, 10, "a\r\n.\r\n", 6, __FILE__, __LINE__);
	done(&r);
}

static void
after_the_end_the_machine_starts_a_new_line(void **state)
{
	struct run r;

	(void)state;
	init(&r, NOLIMIT, 1000, STRICT);
	run_data(&r, "x\r\n.\r\n", 6, 6, 1 << 20);
	assert_int_equal(r.st, SMTP_DATA_END);
	done(&r);
	run_data(&r, ".\r\n", 3, 3, 1 << 20);
	assert_int_equal(r.st, SMTP_DATA_END);
	assert_int_equal(r.used, 3);
	done(&r);
}

/* ------------------------------------------------------ bare CR and LF */

static void
bare_line_ends_are_refused_when_strict(void **state)
{
	(void)state;
	check(STRICT, "a\nb\r\n.\r\n", SMTP_DATA_BAD_EOL, 1, "a");
	check(STRICT, "a\rb\r\n.\r\n", SMTP_DATA_BAD_EOL, 2, "a");
	check(STRICT, "a\r\r\n.\r\n", SMTP_DATA_BAD_EOL, 2, "a");
	check(STRICT, "\n", SMTP_DATA_BAD_EOL, 0, "");
	check(STRICT, "\r\n.\rx", SMTP_DATA_BAD_EOL, 4, "\r\n");
}

static void
smuggled_ends_never_end_the_message_when_strict(void **state)
{
	static const char *const seq[] = {"\n.\n", "\r\n.\n", "\n.\r\n",
	    "\r.\r\n", "\r\n.\r\r\n", "\r\n.\n\r\n"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		char in[64];
		struct run r;

		snprintf(in, sizeof(in), "hi%sMAIL FROM:<x@y>\r\n", seq[i]);
		init(&r, NOLIMIT, 1000, STRICT);
		run_data(&r, in, strlen(in), strlen(in), 1 << 20);
		if (r.st != SMTP_DATA_BAD_EOL) {
			char e[128];

			str_escape(e, sizeof(e), in, strlen(in));
			done(&r);
			fail_msg("\"%s\": expected BAD_EOL, got %s", e,
			    st_names[r.st]);
		}
		done(&r);
	}
}

static void
smuggled_ends_never_end_the_message_when_lenient(void **state)
{
	static const struct {
		const char *seq, *out;
	} v[] = {
	    {"\n.\n", "\r\n.\r\n"},
	    {"\r\n.\n", "\r\n\r\n"},
	    {"\n.\r\n", "\r\n.\r\n"},
	    {"\r.\r\n", "\r.\r\n"},
	    {"\r\n.\r\r\n", "\r\n\r\r\n"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char in[64], out[64];
		size_t piece;

		snprintf(
		    in, sizeof(in), "hi%sMAIL FROM:<x@y>\r\n.\r\n", v[i].seq);
		snprintf(out, sizeof(out), "hi%sMAIL FROM:<x@y>\r\n", v[i].out);
		for (piece = 1; piece <= strlen(in); piece += strlen(in) - 1) {
			struct run r;

			init(&r, NOLIMIT, 1000, LENIENT);
			run_data(&r, in, strlen(in), piece, 1 << 20);
			expect_run_at(&r, in, SMTP_DATA_END, strlen(in), out,
			    strlen(out), __FILE__, __LINE__);
			done(&r);
		}
	}
}

static void
bare_lf_is_a_line_end_when_lenient(void **state)
{
	(void)state;
	check(LENIENT, "a\nb\r\n.\r\n", SMTP_DATA_END, 8, "a\r\nb\r\n");
	/* a dot after a bare LF is not stuffing */
	check(LENIENT, "a\n..b\r\n.\r\n", SMTP_DATA_END, 10, "a\r\n..b\r\n");
	check(LENIENT, "\n\n.\r\n", SMTP_DATA_MORE, 5, "\r\n\r\n.\r\n");
}

/* -------------------------------------------------------------- limits */

static void
size_limit_stops_output_but_not_counting(void **state)
{
	static const char in[] = "0123456789abcdef\r\nmore\r\n.\r\n";
	struct run r;

	(void)state;
	init(&r, 10, 1000, STRICT);
	run_data(&r, in, sizeof(in) - 1, sizeof(in) - 1, 1 << 20);
	assert_int_equal(r.st, SMTP_DATA_END);
	assert_int_equal(r.used, sizeof(in) - 1);
	assert_int_equal(r.d.too_big, 1);
	assert_int_equal(r.d.size, 24);
	assert_true(r.out.len <= 10);
	done(&r);
}

static void
size_limit_is_inclusive(void **state)
{
	static const char in[] = "01234567\r\n.\r\n";
	struct run r;

	(void)state;
	init(&r, 10, 1000, STRICT);
	run_data(&r, in, sizeof(in) - 1, 1, 1 << 20);
	expect_run_at(&r, in, SMTP_DATA_END, sizeof(in) - 1, "01234567\r\n", 10,
	    __FILE__, __LINE__);
	assert_int_equal(r.d.too_big, 0);
	assert_int_equal(r.d.size, 10);
	done(&r);
	init(&r, 9, 1000, STRICT);
	run_data(&r, in, sizeof(in) - 1, 1, 1 << 20);
	assert_int_equal(r.st, SMTP_DATA_END);
	assert_int_equal(r.d.too_big, 1);
	assert_true(r.out.len <= 9);
	done(&r);
}

static void
line_limit_includes_crlf_but_not_a_stuffing_dot(void **state)
{
	static const struct {
		const char *in;
		int long_line;
	} v[] = {
	    {"12345678\r\n.\r\n", 0},
	    {"123456789\r\n.\r\n", 1},
	    {"..2345678\r\n.\r\n", 0},
	    {"..23456789\r\n.\r\n", 1},
	    {"1234567\r\n12345678\r\n.\r\n", 0},
	    {"12345678901234567890", 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct run r;

		init(&r, NOLIMIT, 10, STRICT);
		run_data(&r, v[i].in, strlen(v[i].in), 3, 1 << 20);
		if (r.d.long_line != v[i].long_line) {
			done(&r);
			fail_msg(
			    "\"%s\" with a limit of 10: expected long_line "
			    "%d, got %d",
			    v[i].in, v[i].long_line, r.d.long_line);
		}
		done(&r);
	}
}

static void
nul_is_passed_on_and_flagged(void **state)
{
	static const char in[] = "a\0b\r\n.\r\n";
	struct run r;

	(void)state;
	init(&r, NOLIMIT, 1000, STRICT);
	run_data(&r, in, sizeof(in) - 1, sizeof(in) - 1, 1 << 20);
	expect_run_at(
	    &r, "a\\0b", SMTP_DATA_END, 8, "a\0b\r\n", 5, __FILE__, __LINE__);
	assert_int_equal(r.d.nul, 1);
	done(&r);
}

/* --------------------------------------------------------- output full */

static void
full_output_is_resumed_without_loss(void **state)
{
	static const char *const ins[] = {
	    "Subject: x\r\n\r\n..stuffed\r\nplain line\r\n\r\n.\r\n",
	    "a\r\n.\r\n",
	    "..\r\n...\r\n.\r\n",
	};
	static const char lenient[] = "a\nb\rc\n.\n.\r\r\n\n..\r\n.\r\n";
	size_t i, outmax;

	(void)state;
	for (i = 0; i <= sizeof(ins) / sizeof(ins[0]); i++) {
		const char *in = i < 3 ? ins[i] : lenient;
		int strict = i < 3 ? STRICT : LENIENT;
		struct run ref;

		init(&ref, NOLIMIT, 1000, strict);
		run_data(&ref, in, strlen(in), strlen(in), 1 << 20);
		assert_int_equal(ref.st, SMTP_DATA_END);
		for (outmax = 2; outmax <= 9; outmax++) {
			struct run r;

			init(&r, NOLIMIT, 1000, strict);
			run_data(&r, in, strlen(in), strlen(in), outmax);
			expect_run_at(&r, in, ref.st, ref.used, ref.out.data,
			    ref.out.len, __FILE__, __LINE__);
			done(&r);
		}
		done(&ref);
	}
}

static void
full_output_is_reported_before_anything_is_lost(void **state)
{
	struct smtp_data d;
	struct buf out;
	enum smtp_data_status st;
	size_t used;

	(void)state;
	smtp_data_init(&d, NOLIMIT, 1000, STRICT);
	buf_init(&out, 4);
	used = smtp_data_feed(&d, "abcdef\r\n.\r\n", 11, &out, &st);
	assert_int_equal(st, SMTP_DATA_OUT_FULL);
	assert_int_equal(used, 4);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "abcd", 4);
	/* without draining, nothing more is taken */
	used = smtp_data_feed(&d, "ef\r\n.\r\n", 7, &out, &st);
	assert_int_equal(st, SMTP_DATA_OUT_FULL);
	assert_int_equal(used, 0);
	buf_free(&out);
}

static void
full_output_does_not_matter_once_over_the_limit(void **state)
{
	struct smtp_data d;
	struct buf out;
	enum smtp_data_status st;
	size_t used;

	(void)state;
	smtp_data_init(&d, 4, 1000, STRICT);
	buf_init(&out, 8);
	used = smtp_data_feed(&d, "abcde", 5, &out, &st);
	assert_int_equal(st, SMTP_DATA_MORE);
	assert_int_equal(used, 5);
	assert_int_equal(d.too_big, 1);
	assert_int_equal(out.len, 0);
	/* the output is full, but nothing is written any more */
	assert_non_null(buf_reserve(&out, 8));
	out.len = 8;
	used = smtp_data_feed(&d, "fgh\r\n.\r\n", 8, &out, &st);
	assert_int_equal(st, SMTP_DATA_END);
	assert_int_equal(used, 8);
	assert_int_equal(d.size, 10);
	buf_free(&out);
}

/* ---------------------------------------------------------- BDAT chunks */

static void
chunk_is_taken_verbatim(void **state)
{
	static const char in[] = "..x\r\n.\r\na\nb\rc";
	struct smtp_data d;
	struct buf out;

	(void)state;
	smtp_data_init(&d, NOLIMIT, 1000, STRICT);
	buf_init(&out, 1 << 20);
	assert_int_equal(
	    smtp_data_chunk(&d, in, sizeof(in) - 1, &out), sizeof(in) - 1);
	assert_int_equal(out.len, sizeof(in) - 1);
	assert_memory_equal(out.data, in, sizeof(in) - 1);
	assert_int_equal(d.size, sizeof(in) - 1);
	assert_int_equal(d.nul, 0);
	assert_int_equal(d.long_line, 0);
	buf_free(&out);
}

static void
chunk_line_limit_counts_the_line_end(void **state)
{
	static const struct {
		const char *in;
		int long_line;
	} v[] = {
	    {"123456789\n", 0},
	    {"12345678\r\n", 0},
	    {"1234567890\n", 1},
	    {"123456789\r\n", 1},
	    {"123456789\n123456789\n", 0},
	    {"12345678901", 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct smtp_data d;
		struct buf out;
		size_t k;

		smtp_data_init(&d, NOLIMIT, 10, STRICT);
		buf_init(&out, 1 << 20);
		/* in two pieces: the count goes on across chunks */
		k = strlen(v[i].in) / 2;
		smtp_data_chunk(&d, v[i].in, k, &out);
		smtp_data_chunk(&d, v[i].in + k, strlen(v[i].in) - k, &out);
		buf_free(&out);
		if (d.long_line != v[i].long_line)
			fail_msg("chunk \"%s\" with a limit of 10: expected "
			         "long_line %d, got %d",
			    v[i].in, v[i].long_line, d.long_line);
	}
}

static void
chunk_nul_is_flagged(void **state)
{
	struct smtp_data d;
	struct buf out;

	(void)state;
	smtp_data_init(&d, NOLIMIT, 1000, STRICT);
	buf_init(&out, 1 << 20);
	assert_int_equal(smtp_data_chunk(&d, "a\0b", 3, &out), 3);
	assert_int_equal(d.nul, 1);
	buf_free(&out);
}

static void
chunk_stops_at_a_full_output(void **state)
{
	struct smtp_data d;
	struct buf out;

	(void)state;
	smtp_data_init(&d, NOLIMIT, 1000, STRICT);
	buf_init(&out, 5);
	assert_int_equal(smtp_data_chunk(&d, "abcdefgh", 8, &out), 5);
	assert_int_equal(d.size, 5);
	assert_int_equal(smtp_data_chunk(&d, "fgh", 3, &out), 0);
	out.len = 0;
	assert_int_equal(smtp_data_chunk(&d, "fgh", 3, &out), 3);
	assert_memory_equal(out.data, "fgh", 3);
	assert_int_equal(d.size, 8);
	buf_free(&out);
}

static void
chunk_over_the_limit_is_counted_not_written(void **state)
{
	struct smtp_data d;
	struct buf out;

	(void)state;
	smtp_data_init(&d, 10, 1000, STRICT);
	buf_init(&out, 1 << 20);
	assert_int_equal(smtp_data_chunk(&d, "0123456789", 10, &out), 10);
	assert_int_equal(d.too_big, 0);
	assert_int_equal(out.len, 10);
	assert_int_equal(smtp_data_chunk(&d, "x", 1, &out), 1);
	assert_int_equal(d.too_big, 1);
	assert_int_equal(d.size, 11);
	assert_int_equal(out.len, 10);
	/* and once over, a full buffer no longer holds anything up */
	out.max = out.len;
	assert_int_equal(smtp_data_chunk(&d, "yyyy", 4, &out), 4);
	assert_int_equal(d.size, 15);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_crlf_dot_crlf_ends_the_message),
	    cmocka_unit_test(a_dot_alone_at_the_start_is_an_empty_message),
	    cmocka_unit_test(dot_stuffing_is_undone),
	    cmocka_unit_test(terminator_is_found_across_single_octets),
	    cmocka_unit_test(after_the_end_the_machine_starts_a_new_line),
	    cmocka_unit_test(bare_line_ends_are_refused_when_strict),
	    cmocka_unit_test(smuggled_ends_never_end_the_message_when_strict),
	    cmocka_unit_test(smuggled_ends_never_end_the_message_when_lenient),
	    cmocka_unit_test(bare_lf_is_a_line_end_when_lenient),
	    cmocka_unit_test(size_limit_stops_output_but_not_counting),
	    cmocka_unit_test(size_limit_is_inclusive),
	    cmocka_unit_test(line_limit_includes_crlf_but_not_a_stuffing_dot),
	    cmocka_unit_test(nul_is_passed_on_and_flagged),
	    cmocka_unit_test(full_output_is_resumed_without_loss),
	    cmocka_unit_test(full_output_is_reported_before_anything_is_lost),
	    cmocka_unit_test(full_output_does_not_matter_once_over_the_limit),
	    cmocka_unit_test(chunk_is_taken_verbatim),
	    cmocka_unit_test(chunk_line_limit_counts_the_line_end),
	    cmocka_unit_test(chunk_nul_is_flagged),
	    cmocka_unit_test(chunk_stops_at_a_full_output),
	    cmocka_unit_test(chunk_over_the_limit_is_counted_not_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
