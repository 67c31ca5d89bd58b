/*
 * NAME
 *	fuzz_ref - a reference reader for DATA text
 * PURPOSE
 *	Written line by line, independently of the byte-level state machine
 *	in smtp_data.c, so that fuzz_smtp_data and fuzz_smtp_session can
 *	compare what tern makes of a text with what it should make of it.
 * TRUST
 *	Test code; inputs are arbitrary bytes from the fuzzer.
 * INVARIANTS
 *	Follows smtp_data.h: only CRLF "." CRLF ends the text.
 */
#ifndef TERN_FUZZ_REF_H
#define TERN_FUZZ_REF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtp/smtp_data.h"

struct ref {
	enum smtp_data_status st; /* MORE, END or BAD_EOL */
	size_t used;              /* octets consumed */
	char *out;                /* the message, unstuffed */
	size_t outlen;
	uint64_t maxline; /* longest line as counted by the reader */
	int nul;
};

static void
ref_emit(struct ref *r, const char *p, size_t n)
{
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
}

static void
ref_line(struct ref *r, uint64_t counted)
{
	if (counted > r->maxline)
		r->maxline = counted;
}

/*
 * The reference for DATA text, in[0..n) from the first octet after DATA.
 * Lines end in CRLF, or (lenient only) in a bare LF.  A line that starts
 * after CRLF (or at the start) and is exactly "." ends the text; otherwise
 * such a line loses a leading dot, which does not count towards the line
 * length (RFC 5321 4.5.3.1.6); a bare LF does not count either.  After a
 * bare LF a dot is plain text.  Strict: the first bare CR or LF stops the
 * text at the octet that shows it is bare.  A line not finished yet shows
 * its content except a final CR that may still start a CRLF.  r->out is
 * malloc'ed.
 */
static void
ref_data(const char *in, size_t n, int strict, struct ref *r)
{
	size_t i = 0;
	int hard = 1;

	r->out = malloc(2 * n + 1);
	r->outlen = 0;
	r->maxline = 0;
	for (;;) {
		size_t j = i, k;

		if (hard && i < n && in[i] == '.')
			j = i + 1;
		for (k = i; k < n && in[k] != '\n'; k++) {
			if (strict && in[k] == '\r' && k + 1 < n &&
			    in[k + 1] != '\n') {
				/* A bare CR, seen at the octet after it. */
				if (k > j)
					ref_emit(r, in + j, k - j);
				ref_line(r, k + 1 - j);
				r->st = SMTP_DATA_BAD_EOL;
				r->used = k + 1;
				goto done;
			}
		}
		if (k == n) {
			/* Unfinished line: a final CR is still pending. */
			size_t e = n;

			if (e > j && in[e - 1] == '\r')
				e--;
			if (e > j)
				ref_emit(r, in + j, e - j);
			ref_line(r, n - j);
			r->st = SMTP_DATA_MORE;
			r->used = n;
			goto done;
		}
		if (k == i || in[k - 1] != '\r' || (j > i && k == j)) {
			/* Bare LF (".\n" is one too: the dot is no CR). */
			if (strict) {
				if (k > j)
					ref_emit(r, in + j, k - j);
				ref_line(r, k - j);
				r->st = SMTP_DATA_BAD_EOL;
				r->used = k;
				goto done;
			}
			if (k > j)
				ref_emit(r, in + j, k - j);
			ref_emit(r, "\r\n", 2);
			ref_line(r, k - j);
			i = k + 1;
			hard = 0;
			continue;
		}
		/* CRLF at k - 1. */
		if (hard && k - 1 == i + 1 && in[i] == '.') {
			ref_line(r, 1);
			r->st = SMTP_DATA_END;
			r->used = k + 1;
			goto done;
		}
		if (k - 1 > j)
			ref_emit(r, in + j, k - 1 - j);
		ref_emit(r, "\r\n", 2);
		ref_line(r, k + 1 - j);
		i = k + 1;
		hard = 1;
	}
done:
	r->nul = memchr(in, '\0', r->used) != NULL;
}

#endif
