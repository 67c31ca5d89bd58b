/*
 * NAME
 *	fuzz_util - helpers shared by the libFuzzer targets
 * PURPOSE
 *	Invariant checks that abort with a message (libFuzzer then saves the
 *	input as a crash), and a reader for the "control" bytes with which a
 *	target lets the fuzzer drive its choices (feed sizes, answers).
 * TRUST
 *	Test code; inputs are arbitrary bytes from the fuzzer.
 * INVARIANTS
 *	A control reader returns 0 once its bytes are used up, so that every
 *	choice has a default and a short input behaves like a plain session.
 */
#ifndef TERN_FUZZ_UTIL_H
#define TERN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Report a broken invariant and crash, so that the input is kept. */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, \
			    "%s:%d: invariant failed: %s: ", __FILE__, \
			    __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

struct fuzz_ctl {
	const uint8_t *p;
	size_t n;
	size_t off;
};

static inline void
fuzz_ctl_init(struct fuzz_ctl *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->n = n;
	c->off = 0;
}

/* The next control byte, or 0 (the default choice) when none is left. */
static inline unsigned
fuzz_ctl_byte(struct fuzz_ctl *c)
{
	return c->off < c->n ? c->p[c->off++] : 0;
}

/* Is every byte of s[0..n) printable ASCII? */
static inline int
fuzz_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

#endif
