/*
 * wire - the IPC payload codec: little-endian integers and
 * length-prefixed strings, each read checked against what is left
 * (wire.h).
 */
#include "wire.h"

#include <string.h>

#include "log.h"
#include "xmem.h"

/* Payloads are built in memory with generous limits: overflow is a bug. */
static void
put(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0)
		panic("wire: message larger than its buffer (%zu)", b->max);
}

void
wire_put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

void
wire_put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	put(b, x, 4);
}

void
wire_put_u64(struct buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	put(b, x, 8);
}

void
wire_put_bytes(struct buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		panic("wire: field too large");
	wire_put_u32(b, (uint32_t)n);
	put(b, p, n);
}

void
wire_put_str(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	wire_put_bytes(b, s, strlen(s));
}

void
wire_reader_init(struct wire_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->off = 0;
	r->err = 0;
}

static const unsigned char *
take(struct wire_reader *r, size_t n)
{
	const unsigned char *p;

	if (r->err || n > r->n - r->off) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t
wire_get_u8(struct wire_reader *r)
{
	const unsigned char *p = take(r, 1);

	return p ? p[0] : 0;
}

uint32_t
wire_get_u32(struct wire_reader *r)
{
	const unsigned char *p = take(r, 4);
	uint32_t v = 0;
	int i;

	if (p == NULL)
		return 0;
	for (i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
wire_get_u64(struct wire_reader *r)
{
	const unsigned char *p = take(r, 8);
	uint64_t v = 0;
	int i;

	if (p == NULL)
		return 0;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

const void *
wire_get_bytes(struct wire_reader *r, size_t max, size_t *len)
{
	uint32_t n = wire_get_u32(r);
	const unsigned char *p;

	*len = 0;
	if (r->err)
		return NULL;
	if (n > max) {
		r->err = 1;
		return NULL;
	}
	if ((p = take(r, n)) == NULL)
		return NULL;
	*len = n;
	return p;
}

void
wire_get_str(struct wire_reader *r, char *dst, size_t dstsz)
{
	size_t n;
	const char *p = wire_get_bytes(r, dstsz - 1, &n);

	dst[0] = '\0';
	if (p == NULL)
		return;
	if (memchr(p, '\0', n) != NULL) {
		r->err = 1;
		return;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

char *
wire_get_strdup(struct wire_reader *r, size_t max)
{
	size_t n;
	const char *p = wire_get_bytes(r, max, &n);

	if (p == NULL || memchr(p, '\0', n) != NULL) {
		r->err = 1;
		return xstrdup("");
	}
	return xstrndup(p, n);
}

int
wire_done(const struct wire_reader *r)
{
	return r->err == 0 && r->off == r->n ? 0 : -1;
}
