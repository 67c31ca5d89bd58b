/*
 * NAME
 *	acache - answers remembered until the next reload
 * PURPOSE
 *	Some answers depend only on the request and on the tables, which
 *	change only at a reload: a recipient's verdict, where an address is
 *	delivered.  A process keeps the encoded answer under the encoded
 *	request, and uses it again instead of asking; every reload clears
 *	the cache.  Hits go through the same decoder as answers from the
 *	peer.
 * TRUST
 *	smtp and queue processes; keys and values are IPC payloads.
 * INVARIANTS
 *	Bounded: at most ACACHE_MAX entries and ACACHE_BYTES octets; when
 *	full, it starts afresh.
 */
#ifndef TERN_ACACHE_H
#define TERN_ACACHE_H

#include <stddef.h>
#include <stdint.h>

#define ACACHE_MAX 8192
#define ACACHE_BYTES (8u * 1024 * 1024)

struct acache;

struct acache *acache_new(void);
void acache_free(struct acache *c);
void acache_clear(struct acache *c);
/* The answer stored for (type, key), or NULL; *len gets its length. */
const void *acache_get(const struct acache *c, uint16_t type, const void *key,
    size_t klen, size_t *len);
void acache_put(struct acache *c, uint16_t type, const void *key, size_t klen,
    const void *val, size_t vlen);
size_t acache_count(const struct acache *c);

#endif
