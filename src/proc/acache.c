/*
 * acache - answers of the lookup process that hold until the tables
 * reload, bounded in count and size (acache.h).
 */
#include "acache.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xmem.h"

#define BUCKETS 4096

struct entry {
	uint16_t type;
	size_t klen, vlen;
	struct entry *next;
	unsigned char data[]; /* key, then value */
};

struct acache {
	struct entry *b[BUCKETS];
	size_t n, bytes;
};

static unsigned
hash(uint16_t type, const unsigned char *k, size_t n)
{
	uint32_t h = 2166136261u ^ type;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % BUCKETS;
}

struct acache *
acache_new(void)
{
	return xcalloc(1, sizeof(struct acache));
}

void
acache_clear(struct acache *c)
{
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		struct entry *e, *next;

		for (e = c->b[i]; e; e = next) {
			next = e->next;
			free(e);
		}
		c->b[i] = NULL;
	}
	c->n = c->bytes = 0;
}

void
acache_free(struct acache *c)
{
	if (c == NULL)
		return;
	acache_clear(c);
	free(c);
}

const void *
acache_get(const struct acache *c, uint16_t type, const void *key, size_t klen,
    size_t *len)
{
	const struct entry *e;

	for (e = c->b[hash(type, key, klen)]; e; e = e->next)
		if (e->type == type && e->klen == klen &&
		    memcmp(e->data, key, klen) == 0) {
			*len = e->vlen;
			return e->data + klen;
		}
	return NULL;
}

void
acache_put(struct acache *c, uint16_t type, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	unsigned h = hash(type, key, klen);
	struct entry *e;
	size_t dummy;

	if (acache_get(c, type, key, klen, &dummy) != NULL)
		return;
	if (klen + vlen > ACACHE_BYTES / 16)
		return;
	if (c->n >= ACACHE_MAX || c->bytes + klen + vlen > ACACHE_BYTES)
		acache_clear(c);
	e = xmalloc(sizeof(*e) + klen + vlen);
	e->type = type;
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, val, vlen);
	e->next = c->b[h];
	c->b[h] = e;
	c->n++;
	c->bytes += klen + vlen;
}

size_t
acache_count(const struct acache *c)
{
	return c->n;
}
