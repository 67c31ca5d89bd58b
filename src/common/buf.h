/*
 * NAME
 *	buf - bounded byte buffer
 * PURPOSE
 *	Accumulates bytes (replies, body data, lines) up to a hard maximum set
 *	at init.  Growing past the maximum is an error the caller handles,
 *	never a silent realloc.  Storage is allocated on first use, so an idle
 *	buffer costs nothing.
 * TRUST
 *	Any process; lengths are checked for overflow.
 * INVARIANTS
 *	len <= cap <= max (cap may be 0 with data NULL).
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer may be used again. */
void buf_free(struct buf *b);
/* Append n bytes.  Returns -1 (and appends nothing) past the maximum. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append formatted text.  Returns -1 (and appends nothing) past the maximum. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Make room for n more bytes; returns a pointer to them or NULL past max. */
char *buf_reserve(struct buf *b, size_t n);

#endif
