/*
 * Unit tests of the envelope record codec: round trip, and a decoder
 * that refuses every torn, overrunning or malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../common/buf.h"
#include "envelope.h"

/* A complete envelope with every field set. */
static void
sample(struct envelope *env)
{
	envelope_init(env);
	env->arrival = 1700000000123456;
	envelope_set(&env->client_addr, "192.0.2.1");
	envelope_set(&env->client_name, "client.example.net");
	envelope_set(&env->helo, "client.example");
	envelope_set(&env->protocol, "ESMTP");
	envelope_set(&env->sender, "alice@example.net");
	env->body = 2;
	env->ret = 1;
	env->smtputf8 = 1;
	envelope_set(&env->envid, "QQ314159+2B1");
	envelope_set(&env->auth, "<>");
	envelope_add_rcpt(env, "bob@example.org", "bob+x@example.org",
	    "rfc822;bob+2Bx@example.org", 0x3);
	envelope_add_rcpt(env, "carol@example.org", NULL, NULL, 0x8);
}

static void
encode(const struct envelope *env, struct buf *b)
{
	buf_init(b, 1 << 20);
	assert_int_equal(envelope_encode(env, b), 0);
}

/* Decoding must fail, with an error text that contains want. */
static void
expect_decode_error_at(
    const void *p, size_t n, const char *want, const char *file, int line)
{
	struct envelope env;
	char err[256] = "";

	if (envelope_decode(p, n, &env, err, sizeof(err)) == 0) {
		envelope_free(&env);
		print_error(
		    "expected decode error \"%s\", got success\n", want);
		_fail(file, line);
	}
	if (strstr(err, want) == NULL) {
		print_error(
		    "expected decode error \"%s\", got \"%s\"\n", want, err);
		_fail(file, line);
	}
	/* a failed decode leaves nothing allocated */
	assert_null(env.rcpt);
	assert_null(env.sender);
}

#define expect_decode_error(p, n, want) \
	expect_decode_error_at(p, n, want, __FILE__, __LINE__)

/* Append one raw record. */
static void
rec(struct buf *b, int type, const void *v, size_t n)
{
	unsigned char hdr[5];

	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(n & 0xff);
	hdr[2] = (unsigned char)((n >> 8) & 0xff);
	hdr[3] = (unsigned char)((n >> 16) & 0xff);
	hdr[4] = (unsigned char)((n >> 24) & 0xff);
	assert_int_equal(buf_append(b, hdr, 5), 0);
	assert_int_equal(buf_append(b, v, n), 0);
}

static void
rec_str(struct buf *b, int type, const char *s)
{
	rec(b, type, s, strlen(s));
}

/* The smallest valid envelope: a sender, a recipient, the end. */
static void
minimal(struct buf *b)
{
	rec_str(b, 'S', "a@example.net");
	rec(b, 'R',
	    "b@example.org\0b@example.org\0\0"
	    "0",
	    30);
}

/* ---------------------------------------------------------- round trip */

static void
round_trip_keeps_every_field(void **state)
{
	struct envelope in, out;
	struct buf b;
	char err[256];

	(void)state;
	sample(&in);
	encode(&in, &b);
	assert_int_equal(
	    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
	assert_true(out.arrival == in.arrival);
	assert_string_equal(out.client_addr, "192.0.2.1");
	assert_string_equal(out.client_name, "client.example.net");
	assert_string_equal(out.helo, "client.example");
	assert_string_equal(out.protocol, "ESMTP");
	assert_string_equal(out.sender, "alice@example.net");
	assert_int_equal(out.body, 2);
	assert_int_equal(out.ret, 1);
	assert_int_equal(out.smtputf8, 1);
	assert_string_equal(out.envid, "QQ314159+2B1");
	assert_string_equal(out.auth, "<>");
	assert_int_equal(out.nrcpt, 2);
	assert_string_equal(out.rcpt[0].addr, "bob@example.org");
	assert_string_equal(out.rcpt[0].orig, "bob+x@example.org");
	assert_string_equal(out.rcpt[0].orcpt, "rfc822;bob+2Bx@example.org");
	assert_int_equal(out.rcpt[0].notify, 0x3);
	assert_int_equal(out.rcpt[0].state, ENV_RCPT_PENDING);
	assert_string_equal(out.rcpt[1].addr, "carol@example.org");
	assert_string_equal(out.rcpt[1].orig, "carol@example.org");
	assert_string_equal(out.rcpt[1].orcpt, "");
	assert_int_equal(out.rcpt[1].notify, 0x8);
	envelope_free(&out);
	envelope_free(&in);
	buf_free(&b);
}

static void
round_trip_of_the_null_sender_and_empty_fields(void **state)
{
	struct envelope in, out;
	struct buf b;
	char err[256];

	(void)state;
	envelope_init(&in);
	envelope_set(&in.sender, "");
	envelope_add_rcpt(&in, "postmaster@example.org", NULL, NULL, 0);
	encode(&in, &b);
	assert_int_equal(
	    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
	assert_string_equal(out.sender, "");
	assert_string_equal(out.client_addr, "");
	assert_string_equal(out.helo, "");
	assert_string_equal(out.envid, "");
	assert_int_equal(out.arrival, 0);
	assert_int_equal(out.nrcpt, 1);
	envelope_free(&out);
	envelope_free(&in);
	buf_free(&b);
}

static void
round_trip_of_many_recipients(void **state)
{
	struct envelope in, out;
	struct buf b;
	char err[256], addr[64];
	size_t i;

	(void)state;
	envelope_init(&in);
	envelope_set(&in.sender, "a@example.net");
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.org", i);
		envelope_add_rcpt(&in, addr, NULL, NULL, (unsigned)(i % 16));
	}
	encode(&in, &b);
	assert_int_equal(
	    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
	assert_int_equal(out.nrcpt, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.org", i);
		assert_string_equal(out.rcpt[i].addr, addr);
		assert_int_equal(out.rcpt[i].notify, i % 16);
	}
	envelope_free(&out);
	envelope_free(&in);
	buf_free(&b);
}

static void
minimal_envelope_gets_empty_strings(void **state)
{
	struct envelope out;
	struct buf b;
	char err[256];

	(void)state;
	buf_init(&b, 4096);
	minimal(&b);
	rec(&b, 'Z', "", 0);
	assert_int_equal(
	    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
	assert_string_equal(out.client_addr, "");
	assert_string_equal(out.client_name, "");
	assert_string_equal(out.helo, "");
	assert_string_equal(out.protocol, "");
	assert_string_equal(out.envid, "");
	assert_string_equal(out.auth, "");
	assert_string_equal(out.rcpt[0].orcpt, "");
	envelope_free(&out);
	buf_free(&b);
}

/* ------------------------------------------------------- encoder limits */

static void
encode_fails_when_the_buffer_is_full(void **state)
{
	struct envelope in;
	struct buf b, small;

	(void)state;
	sample(&in);
	encode(&in, &b);
	buf_init(&small, b.len - 1);
	assert_int_equal(envelope_encode(&in, &small), -1);
	buf_free(&small);
	buf_init(&small, b.len);
	assert_int_equal(envelope_encode(&in, &small), 0);
	assert_int_equal(small.len, b.len);
	assert_memory_equal(small.data, b.data, b.len);
	buf_free(&small);
	buf_free(&b);
	envelope_free(&in);
}

static void
encode_refuses_an_over_long_recipient(void **state)
{
	struct envelope in;
	struct buf b;
	char addr[ENV_MAX_STRING + 2];

	(void)state;
	envelope_init(&in);
	envelope_set(&in.sender, "");
	memset(addr, 'r', ENV_MAX_STRING + 1);
	addr[ENV_MAX_STRING + 1] = '\0';
	envelope_add_rcpt(&in, addr, NULL, NULL, 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(envelope_encode(&in, &b), -1);
	buf_free(&b);
	envelope_free(&in);
}

static void
encode_refuses_what_decode_would_refuse(void **state)
{
	struct envelope in;
	struct buf b;
	char big[ENV_MAX_STRING + 2];
	int i;

	(void)state;
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 1 << 20);
	for (i = 0; i < 6; i++) {
		sample(&in);
		switch (i) {
		case 0:
			envelope_set(&in.helo, big);
			break;
		case 1:
			envelope_set(&in.sender, "a@b\r\nX-Injected: 1");
			break;
		case 2:
			envelope_set(&in.envid, "x\ny");
			break;
		case 3:
			envelope_set(&in.rcpt[1].orcpt, "rfc822;a\rb");
			break;
		case 4:
			in.rcpt[0].addr[0] = '\0';
			break;
		case 5:
			in.rcpt[0].notify = 16;
			break;
		}
		b.len = 0;
		if (envelope_encode(&in, &b) != -1)
			fail_msg("bad envelope %d: expected -1 from encode", i);
		envelope_free(&in);
	}
	buf_free(&b);
}

/* ------------------------------------------------------------- decoder */

static void
every_truncation_is_refused(void **state)
{
	struct envelope in, out;
	struct buf b;
	char err[256];
	size_t n;

	(void)state;
	sample(&in);
	encode(&in, &b);
	for (n = 0; n < b.len; n++)
		if (envelope_decode(b.data, n, &out, err, sizeof(err)) == 0) {
			envelope_free(&out);
			fail_msg("an envelope cut to %zu of %zu octets was "
			         "accepted",
			    n, b.len);
		}
	envelope_free(&in);
	buf_free(&b);
}

static void
truncated_header_and_overrun_are_named(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	minimal(&b);
	assert_int_equal(buf_append(&b, "Z\0\0", 3), 0);
	expect_decode_error(b.data, b.len, "truncated record header");
	/* a sender record claiming 100 octets of which 13 follow */
	b.len = 0;
	rec_str(&b, 'S', "a@example.net");
	b.data[1] = 100;
	expect_decode_error(b.data, b.len, "record 'S' overruns the file");
	/* a length near 4 GiB must not wrap */
	b.data[1] = b.data[2] = b.data[3] = b.data[4] = (char)0xff;
	expect_decode_error(b.data, b.len, "record 'S' overruns the file");
	buf_free(&b);
}

static void
unknown_record_type_is_refused(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	minimal(&b);
	rec_str(&b, 'Q', "x");
	rec(&b, 'Z', "", 0);
	expect_decode_error(b.data, b.len, "unknown record type 0x51");
	buf_free(&b);
}

static void
end_record_is_required_and_final(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	minimal(&b);
	expect_decode_error(b.data, b.len, "no end record");
	rec(&b, 'Z', "", 0);
	rec_str(&b, 'H', "x");
	expect_decode_error(b.data, b.len, "data after the end record");
	b.len = 0;
	minimal(&b);
	rec(&b, 'Z', "", 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	expect_decode_error(b.data, b.len, "data after the end record");
	buf_free(&b);
}

static void
sender_and_recipient_are_required(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	rec_str(&b, 'S', "a@example.net");
	rec(&b, 'Z', "", 0);
	expect_decode_error(b.data, b.len, "no sender or no recipients");
	b.len = 0;
	rec(&b, 'R',
	    "b@example.org\0b@example.org\0\0"
	    "0",
	    30);
	rec(&b, 'Z', "", 0);
	expect_decode_error(b.data, b.len, "no sender or no recipients");
	buf_free(&b);
}

static void
strings_with_line_ends_or_nul_are_refused(void **state)
{
	static const char *const bad[] = {"a\rb", "a\nb", "a\0b"};
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 8192);
	for (i = 0; i < 3; i++) {
		b.len = 0;
		minimal(&b);
		rec(&b, 'H', bad[i], 3);
		rec(&b, 'Z', "", 0);
		expect_decode_error(b.data, b.len, "bad record 'H'");
	}
	buf_free(&b);
}

static void
over_long_strings_are_refused(void **state)
{
	struct buf b;
	char s[ENV_MAX_STRING + 1];

	(void)state;
	buf_init(&b, 8192);
	memset(s, 'x', sizeof(s));
	minimal(&b);
	rec(&b, 'N', s, ENV_MAX_STRING);
	rec(&b, 'Z', "", 0);
	{
		struct envelope out;
		char err[256];

		assert_int_equal(
		    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
		assert_int_equal(strlen(out.client_name), ENV_MAX_STRING);
		envelope_free(&out);
	}
	b.len = 0;
	minimal(&b);
	rec(&b, 'N', s, ENV_MAX_STRING + 1);
	rec(&b, 'Z', "", 0);
	expect_decode_error(b.data, b.len, "bad record 'N'");
	buf_free(&b);
}

static void
bad_numbers_are_refused(void **state)
{
	static const struct {
		int type;
		const char *value;
	} bad[] = {
	    {'T', ""},
	    {'T', "-1"},
	    {'T', "12x"},
	    {'T', "9223372036854775808"},
	    {'M', "3 0 0"},
	    {'M', "0 3 0"},
	    {'M', "0 0 2"},
	    {'M', "-1 0 0"},
	    {'M', "0 0"},
	    {'M', "x y z"},
	    {'M', "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"},
	    /* What sscanf("%d %d %d") took: an int that wraps around to 0,
	     * a fourth number, blanks and signs. */
	    {'M', "4294967296 0 0"},
	    {'M', "0 0 0 0"},
	    {'M', " 1 0 0"},
	    {'M', "+1 0 0"},
	    {'M', "1  0 0"},
	    {'M', "1 0 0 "},
	    {'M', "1\t0 0"},
	};
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[32];

		b.len = 0;
		minimal(&b);
		rec_str(&b, bad[i].type, bad[i].value);
		rec(&b, 'Z', "", 0);
		snprintf(want, sizeof(want), "bad record '%c'", bad[i].type);
		expect_decode_error(b.data, b.len, want);
	}
	buf_free(&b);
}

static void
bad_recipient_records_are_refused(void **state)
{
	static const struct {
		const char *v;
		size_t n;
	} bad[] = {
	    {"b@x\0b@x\0\0"
	     "16",
	        11}, /* notify out of range */
	    {"\0b@x\0\0"
	     "0",
	        7}, /* no address */
	    {"b@x\0b@x\0"
	     "0",
	        9},              /* a field missing */
	    {"b@x\0b@x\0\0", 9}, /* no notify */
	    {"b@x\0b@x\0\0"
	     "1x",
	        11}, /* notify not a number */
	    {"b\r@x\0b@x\0\0"
	     "0",
	        11}, /* CR */
	    {"b@x\0b\n@x\0\0"
	     "0",
	        11}, /* LF */
	    {"b@x\0b@x\0o\0"
	     "0\0",
	        12}, /* NUL in notify */
	};
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.len = 0;
		rec_str(&b, 'S', "a@example.net");
		rec(&b, 'R', bad[i].v, bad[i].n);
		rec(&b, 'Z', "", 0);
		expect_decode_error(b.data, b.len, "bad record 'R'");
	}
	buf_free(&b);
}

/*
 * The most recipients an envelope may have decode in linear time: a
 * damaged spool file or a compromised peer cannot make the queue copy
 * the recipient array at every recipient (ENV_MAX_RCPT^2 / 2 copies).
 */
static void
most_recipients_decode_quickly(void **state)
{
	struct envelope out;
	struct buf b;
	struct timespec t0, t1;
	char err[256];
	double secs;
	size_t i;

	(void)state;
	buf_init(&b, 64u * 1024 * 1024);
	rec_str(&b, 'S', "a@example.net");
	for (i = 0; i < ENV_MAX_RCPT; i++)
		rec(&b, 'R',
		    "b@x\0b@x\0\0"
		    "0",
		    10);
	rec(&b, 'Z', "", 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
	    envelope_decode(b.data, b.len, &out, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(out.nrcpt, ENV_MAX_RCPT);
	envelope_free(&out);
	buf_free(&b);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Linear: a fraction of a second, even under AddressSanitizer. */
	if (secs > 10)
		fail_msg("expected %d recipients to decode within 10 s, took "
		         "%.1f s",
		    ENV_MAX_RCPT, secs);
}

static void
corrupt_octets_never_crash_the_decoder(void **state)
{
	struct envelope in, out;
	struct buf b;
	char err[256];
	size_t i;
	int bit;

	(void)state;
	sample(&in);
	encode(&in, &b);
	/* flip each bit once; whatever comes back must be well formed */
	for (i = 0; i < b.len; i++)
		for (bit = 0; bit < 8; bit++) {
			b.data[i] ^= (char)(1 << bit);
			if (envelope_decode(
			        b.data, b.len, &out, err, sizeof(err)) == 0) {
				assert_non_null(out.sender);
				assert_true(out.nrcpt > 0);
				envelope_free(&out);
			}
			b.data[i] ^= (char)(1 << bit);
		}
	envelope_free(&in);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip_keeps_every_field),
	    cmocka_unit_test(round_trip_of_the_null_sender_and_empty_fields),
	    cmocka_unit_test(round_trip_of_many_recipients),
	    cmocka_unit_test(minimal_envelope_gets_empty_strings),
	    cmocka_unit_test(encode_fails_when_the_buffer_is_full),
	    cmocka_unit_test(encode_refuses_an_over_long_recipient),
	    cmocka_unit_test(encode_refuses_what_decode_would_refuse),
	    cmocka_unit_test(every_truncation_is_refused),
	    cmocka_unit_test(truncated_header_and_overrun_are_named),
	    cmocka_unit_test(unknown_record_type_is_refused),
	    cmocka_unit_test(end_record_is_required_and_final),
	    cmocka_unit_test(sender_and_recipient_are_required),
	    cmocka_unit_test(strings_with_line_ends_or_nul_are_refused),
	    cmocka_unit_test(over_long_strings_are_refused),
	    cmocka_unit_test(bad_numbers_are_refused),
	    cmocka_unit_test(bad_recipient_records_are_refused),
	    cmocka_unit_test(most_recipients_decode_quickly),
	    cmocka_unit_test(corrupt_octets_never_crash_the_decoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
