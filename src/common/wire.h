/*
 * NAME
 *	wire - encoding of IPC message payloads
 * PURPOSE
 *	Fixed-width little-endian integers and length-prefixed strings,
 *	appended to a struct buf by the sender and read back by a bounds-
 *	checked reader.  Every decoder is written as a sequence of wire_get_*
 *	calls followed by wire_done, which fails if anything went wrong or
 *	any byte is left over.
 * TRUST
 *	Any process; the reader's input comes from a peer process that may
 *	be compromised, so it is treated as hostile.
 * INVARIANTS
 *	A reader never reads past its input; after the first error every
 *	getter returns zero/empty and wire_done fails.
 */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct wire_reader {
	const unsigned char *p;
	size_t n;
	size_t off;
	int err;
};

void wire_put_u8(struct buf *b, uint8_t v);
void wire_put_u32(struct buf *b, uint32_t v);
void wire_put_u64(struct buf *b, uint64_t v);
/* u32 length then the bytes (no terminator); NULL is "". */
void wire_put_str(struct buf *b, const char *s);
void wire_put_bytes(struct buf *b, const void *p, size_t n);

void wire_reader_init(struct wire_reader *r, const void *p, size_t n);
uint8_t wire_get_u8(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
/*
 * A string of at most dstsz - 1 octets without NUL, copied and
 * terminated; longer strings or an embedded NUL are an error.
 */
void wire_get_str(struct wire_reader *r, char *dst, size_t dstsz);
/* The same, allocated (at most max octets). */
char *wire_get_strdup(struct wire_reader *r, size_t max);
/* Bytes: *len gets the length (at most max); returns a pointer into the
 * input, or NULL on error. */
const void *wire_get_bytes(struct wire_reader *r, size_t max, size_t *len);
/* 0 if every byte was read without error, else -1. */
int wire_done(const struct wire_reader *r);

#endif
