/*
 * fuzz_smtp_data - the DATA and BDAT text reader (smtp_data.h).
 *
 * Input: 8 header octets, then the text.
 *   0      bit 0: lenient (bare LF is a line end); bit 1: BDAT chunks
 *   1-2    size limit (little endian; 0xffff: no practical limit)
 *   3      longest line (0: 1000)
 *   4-5    output buffer size, at least 2 (a glue drains it in between)
 *   6-7    seed for the sizes of the pieces the text is fed in
 * The text is fed piece by piece; the output is drained after each call.
 * Everything the reader reports (status, octets consumed, output, size,
 * flags) is compared with a line-by-line reference implementation below,
 * which must agree however the input is split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/buf.h"
#include "../../src/smtp/smtp_data.h"
#include "fuzz_ref.h"
#include "fuzz_util.h"

#define HDR 8

/* BDAT: the octets as they are; lines are counted with their LF. */
static void
ref_chunk(const char *in, size_t n, struct ref *r)
{
	uint64_t cur = 0;
	size_t i;

	r->out = malloc(n + 1);
	memcpy(r->out, in, n);
	r->outlen = n;
	r->maxline = 0;
	for (i = 0; i < n; i++) {
		if (++cur > r->maxline)
			r->maxline = cur;
		if (in[i] == '\n')
			cur = 0;
	}
	r->st = SMTP_DATA_MORE;
	r->used = n;
	r->nul = memchr(in, '\0', n) != NULL;
}

/* xorshift: the piece sizes depend only on the header. */
static size_t
piece(uint32_t *s, size_t left)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	switch (x & 3) {
	case 0:
		return left;
	case 1:
		return 1 + (x >> 8) % (left < 4 ? left : 4);
	default:
		return 1 + (x >> 8) % left;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data d;
	struct buf out;
	struct ref r;
	enum smtp_data_status st = SMTP_DATA_MORE;
	const char *in;
	char *got;
	size_t n, pos = 0, gotlen = 0, outmax, lfs = 0;
	uint64_t limit, line_max;
	uint32_t seed;
	int strict, chunk;

	if (size < HDR)
		return 0;
	strict = !(data[0] & 1);
	chunk = (data[0] & 2) != 0;
	limit = (uint64_t)data[1] | (uint64_t)data[2] << 8;
	if (limit == 0xffff)
		limit = UINT64_MAX / 2;
	line_max = data[3] ? data[3] : 1000;
	outmax = (size_t)data[4] | (size_t)data[5] << 8;
	if (outmax < 2)
		outmax = 2;
	seed = (uint32_t)data[6] | (uint32_t)data[7] << 8 | 0x10000u;
	n = size - HDR;
	/* A private copy, so that reading past the end is caught. */
	got = malloc(2 * n + 1);
	in = memcpy(malloc(n ? n : 1), data + HDR, n);

	smtp_data_init(&d, limit, line_max, strict);
	buf_init(&out, outmax);
	while (pos < n) {
		size_t k = piece(&seed, n - pos), used, before = d.size;
		int counting = d.too_big;

		if (chunk) {
			used = smtp_data_chunk(&d, in + pos, k, &out);
			FUZZ_CHECK(used <= k, "chunk used %zu of %zu", used, k);
			FUZZ_CHECK(used > 0, "chunk made no progress");
			FUZZ_CHECK(used == k || (!counting && used == outmax),
			    "chunk stopped early with room left");
			FUZZ_CHECK(d.size == before + used,
			    "size %llu after %zu octets",
			    (unsigned long long)d.size, used);
		} else {
			used = smtp_data_feed(&d, in + pos, k, &out, &st);
			FUZZ_CHECK(used <= k, "used %zu of %zu", used, k);
			FUZZ_CHECK(st != SMTP_DATA_MORE || used == k,
			    "MORE with %zu of %zu used", used, k);
			FUZZ_CHECK(st != SMTP_DATA_OUT_FULL || used > 0,
			    "output full although it was empty");
			FUZZ_CHECK(st != SMTP_DATA_OUT_FULL || !counting,
			    "output full while only counting");
		}
		for (size_t i = pos; i < pos + used; i++)
			lfs += in[i] == '\n';
		pos += used;
		FUZZ_CHECK(out.len <= outmax, "output over its maximum");
		/* Unstuffing only removes octets; a bare LF may become CRLF. */
		FUZZ_CHECK(gotlen + out.len <= pos + (strict ? 0 : lfs),
		    "%zu octets out of %zu in", gotlen + out.len, pos);
		if (out.len > 0)
			memcpy(got + gotlen, out.data, out.len);
		gotlen += out.len;
		out.len = 0;
		if (!chunk && (st == SMTP_DATA_END || st == SMTP_DATA_BAD_EOL))
			break;
	}

	if (chunk)
		ref_chunk(in, n, &r);
	else
		ref_data(in, n, strict, &r);
	if (!chunk) {
		FUZZ_CHECK(strict || st != SMTP_DATA_BAD_EOL,
		    "BAD_EOL in lenient mode");
		FUZZ_CHECK(st == r.st, "status %d, reference %d", st, r.st);
	}
	FUZZ_CHECK(pos == r.used, "used %zu, reference %zu", pos, r.used);
	FUZZ_CHECK(d.size == r.outlen, "size %llu, reference %zu",
	    (unsigned long long)d.size, r.outlen);
	FUZZ_CHECK(d.too_big == (r.outlen > limit), "too_big %d at %zu/%llu",
	    d.too_big, r.outlen, (unsigned long long)limit);
	if (d.too_big)
		FUZZ_CHECK(gotlen <= limit && memcmp(got, r.out, gotlen) == 0,
		    "output past the limit is not a prefix of the message");
	else
		FUZZ_CHECK(
		    gotlen == r.outlen && memcmp(got, r.out, gotlen) == 0,
		    "output differs from the reference (%zu/%zu octets)",
		    gotlen, r.outlen);
	FUZZ_CHECK(d.long_line == (r.maxline > line_max),
	    "long_line %d, longest line %llu, limit %llu", d.long_line,
	    (unsigned long long)r.maxline, (unsigned long long)line_max);
	FUZZ_CHECK(d.nul == r.nul, "nul %d, reference %d", d.nul, r.nul);

	free(r.out);
	buf_free(&out);
	free((void *)(uintptr_t)in);
	free(got);
	return 0;
}
