/*
 * envelope - the record codec of a message's envelope: type, length,
 * value; every field checked on decode (envelope.h).
 */
#include "envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strutil.h"
#include "../common/xmem.h"

/* Record types.  Each record: type (1), length (4, little endian), value. */
enum {
	REC_ARRIVAL = 'T',
	REC_CLIENT_ADDR = 'C',
	REC_CLIENT_NAME = 'N',
	REC_HELO = 'H',
	REC_PROTOCOL = 'P',
	REC_SENDER = 'S',
	REC_MAILPARAMS = 'M', /* body ret smtputf8, as decimal words */
	REC_ENVID = 'E',
	REC_AUTH = 'A',
	REC_RCPT = 'R', /* addr NUL orig NUL orcpt NUL notify(decimal) */
	REC_END = 'Z',
};

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
}

void
envelope_set(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value ? value : "");
}

void
envelope_add_rcpt(struct envelope *env, const char *addr, const char *orig,
    const char *orcpt, unsigned notify)
{
	struct env_rcpt *r;

	/* Room doubles when a power of two is reached: adding n recipients
	 * costs O(n), not O(n^2). */
	if ((env->nrcpt & (env->nrcpt - 1)) == 0)
		env->rcpt = xreallocarray(env->rcpt,
		    env->nrcpt ? 2 * env->nrcpt : 1, sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr);
	r->orig = xstrdup(orig ? orig : addr);
	r->orcpt = xstrdup(orcpt ? orcpt : "");
	r->notify = notify;
}

void
envelope_free(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orig);
		free(env->rcpt[i].orcpt);
	}
	free(env->rcpt);
	free(env->client_addr);
	free(env->client_name);
	free(env->helo);
	free(env->protocol);
	free(env->sender);
	free(env->envid);
	free(env->auth);
	envelope_init(env);
}

static int
put(struct buf *out, int type, const void *v, size_t n)
{
	unsigned char hdr[5];

	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(n & 0xff);
	hdr[2] = (unsigned char)((n >> 8) & 0xff);
	hdr[3] = (unsigned char)((n >> 16) & 0xff);
	hdr[4] = (unsigned char)((n >> 24) & 0xff);
	if (buf_append(out, hdr, 5) < 0 || buf_append(out, v, n) < 0)
		return -1;
	return 0;
}

/* Only what the decoder accepts: a file it refuses would be lost. */
static int
str_ok(const char *s)
{
	return strlen(s) <= ENV_MAX_STRING && strpbrk(s, "\r\n") == NULL;
}

static int
put_str(struct buf *out, int type, const char *s)
{
	if (s && !str_ok(s))
		return -1;
	return put(out, type, s ? s : "", s ? strlen(s) : 0);
}

int
envelope_encode(const struct envelope *env, struct buf *out)
{
	char tmp[3 * ENV_MAX_STRING + 32];
	size_t i;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%" PRId64, env->arrival);
	if (put(out, REC_ARRIVAL, tmp, (size_t)n) < 0 ||
	    put_str(out, REC_CLIENT_ADDR, env->client_addr) < 0 ||
	    put_str(out, REC_CLIENT_NAME, env->client_name) < 0 ||
	    put_str(out, REC_HELO, env->helo) < 0 ||
	    put_str(out, REC_PROTOCOL, env->protocol) < 0 ||
	    put_str(out, REC_SENDER, env->sender) < 0)
		return -1;
	n = snprintf(
	    tmp, sizeof(tmp), "%d %d %d", env->body, env->ret, env->smtputf8);
	if (put(out, REC_MAILPARAMS, tmp, (size_t)n) < 0 ||
	    put_str(out, REC_ENVID, env->envid) < 0 ||
	    put_str(out, REC_AUTH, env->auth) < 0)
		return -1;
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpt[i];

		if (r->addr[0] == '\0' || !str_ok(r->addr) ||
		    !str_ok(r->orig) || !str_ok(r->orcpt) || r->notify > 15)
			return -1;
		n = snprintf(tmp, sizeof(tmp), "%s%c%s%c%s%c%u", r->addr, 0,
		    r->orig, 0, r->orcpt, 0, r->notify);
		if (put(out, REC_RCPT, tmp, (size_t)n) < 0)
			return -1;
	}
	return put(out, REC_END, "", 0);
}

/* A string field: bounded, no NUL, CR or LF. */
static int
get_str(char **field, const unsigned char *v, size_t n)
{
	if (n > ENV_MAX_STRING || memchr(v, '\0', n) || memchr(v, '\r', n) ||
	    memchr(v, '\n', n))
		return -1;
	free(*field);
	*field = xstrndup((const char *)v, n);
	return 0;
}

static int
get_int(const unsigned char *v, size_t n, int64_t *out)
{
	uint64_t u;

	if (str_to_u64((const char *)v, n, &u) < 0 || u > INT64_MAX)
		return -1;
	*out = (int64_t)u;
	return 0;
}

static int
get_rcpt(struct envelope *env, const unsigned char *v, size_t n)
{
	const char *s = (const char *)v, *end = s + n, *f[4];
	size_t len[4];
	char tmp[3][ENV_MAX_STRING + 1];
	uint64_t notify;
	int i;

	if (env->nrcpt >= ENV_MAX_RCPT)
		return -1;
	for (i = 0; i < 4; i++) {
		const char *z =
		    i < 3 ? memchr(s, '\0', (size_t)(end - s)) : end;

		if (z == NULL)
			return -1;
		f[i] = s;
		len[i] = (size_t)(z - s);
		if (len[i] > ENV_MAX_STRING || memchr(s, '\r', len[i]) ||
		    memchr(s, '\n', len[i]))
			return -1;
		s = z + (i < 3 ? 1 : 0);
	}
	if (len[0] == 0 || str_to_u64(f[3], len[3], &notify) < 0 || notify > 15)
		return -1;
	for (i = 0; i < 3; i++) {
		memcpy(tmp[i], f[i], len[i]);
		tmp[i][len[i]] = '\0';
	}
	envelope_add_rcpt(env, tmp[0], tmp[1], tmp[2], (unsigned)notify);
	return 0;
}

int
envelope_decode(
    const void *p, size_t n, struct envelope *env, char *err, size_t errsz)
{
	const unsigned char *s = p;
	size_t off = 0;
	int64_t num = 0;
	int ended = 0;

	envelope_init(env);
	while (off < n && !ended) {
		unsigned type;
		size_t len;
		const unsigned char *v;
		int r = 0;

		if (n - off < 5) {
			snprintf(err, errsz, "truncated record header");
			goto fail;
		}
		type = s[off];
		len = (size_t)s[off + 1] | (size_t)s[off + 2] << 8 |
		    (size_t)s[off + 3] << 16 | (size_t)s[off + 4] << 24;
		off += 5;
		if (len > n - off) {
			snprintf(err, errsz, "record '%c' overruns the file",
			    type >= 0x20 && type < 0x7f ? type : '?');
			goto fail;
		}
		v = s + off;
		off += len;
		switch (type) {
		case REC_ARRIVAL:
			r = get_int(v, len, &num);
			env->arrival = num;
			break;
		case REC_CLIENT_ADDR:
			r = get_str(&env->client_addr, v, len);
			break;
		case REC_CLIENT_NAME:
			r = get_str(&env->client_name, v, len);
			break;
		case REC_HELO:
			r = get_str(&env->helo, v, len);
			break;
		case REC_PROTOCOL:
			r = get_str(&env->protocol, v, len);
			break;
		case REC_SENDER:
			r = get_str(&env->sender, v, len);
			break;
		case REC_MAILPARAMS: {
			uint64_t mp[3];

			/* Exactly what the encoder writes: no sign, no
			 * blanks, no overflow. */
			if (str_to_u64s((const char *)v, len, mp, 3) < 0 ||
			    mp[0] > 2 || mp[1] > 2 || mp[2] > 1) {
				r = -1;
				break;
			}
			env->body = (int)mp[0];
			env->ret = (int)mp[1];
			env->smtputf8 = (int)mp[2];
			break;
		}
		case REC_ENVID:
			r = get_str(&env->envid, v, len);
			break;
		case REC_AUTH:
			r = get_str(&env->auth, v, len);
			break;
		case REC_RCPT:
			r = get_rcpt(env, v, len);
			break;
		case REC_END:
			ended = 1;
			break;
		default:
			snprintf(
			    err, errsz, "unknown record type 0x%02x", type);
			goto fail;
		}
		if (r < 0) {
			snprintf(err, errsz, "bad record '%c'", type);
			goto fail;
		}
	}
	if (!ended || off != n) {
		snprintf(err, errsz,
		    ended ? "data after the end record" : "no end record");
		goto fail;
	}
	if (env->nrcpt == 0 || env->sender == NULL) {
		snprintf(err, errsz, "no sender or no recipients");
		goto fail;
	}
#define DEFAULT_STR(f) \
	if (env->f == NULL) \
		env->f = xstrdup("");
	DEFAULT_STR(client_addr)
	DEFAULT_STR(client_name)
	DEFAULT_STR(helo)
	DEFAULT_STR(protocol)
	DEFAULT_STR(envid)
	DEFAULT_STR(auth)
#undef DEFAULT_STR
	return 0;
fail:
	envelope_free(env);
	return -1;
}
