/*
 * fuzz_spool_load - reading queue files back (spool_recover).
 *
 * The input is a queue file.  It is written to queue/<ID> of a spool made
 * once per process under a temporary directory (removed at exit; on
 * /dev/shm when there is one: ext4 flushes a truncated file on close,
 * which would make this target slow) and recovered.  Then the same file
 * with its magic, offsets and checksums repaired (in the current format
 * or the earlier one-message format, by the first octet) is recovered
 * too, so that the envelopes and status records behind the checksums get
 * fuzzed as well.  Recovery must keep or quarantine the file cleanly, and
 * every message it reports must satisfy envelope.h and lie within the
 * file.
 *
 * Recovery logs what it rejects on stderr; run.sh runs this target with
 * -close_fd_mask=2 (sanitizer reports still get through).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/common/crc32.h"
#include "../../src/queue/envelope.h"
#include "../../src/queue/spool.h"
#include "fuzz_util.h"

#define ID "0123456789ABCD"
#define HEADER 64
#define MAX_STATUS_VALUE 4096

static char dir[64];
static char qpath[128], cpath[128];
static struct spool *sp;

static void
rm(const char *sub)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	rmdir(p);
}

static void
cleanup(void)
{
	spool_close(sp);
	unlink(qpath);
	unlink(cpath);
	rm("queue");
	rm("tmp");
	rm("corrupt");
	rmdir(dir);
}

static void
setup(void)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/dev/shm/tern-fuzz-spool-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/tern-fuzz-spool-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
	}
	if ((sp = spool_open(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spool_open: %s\n", err);
		abort();
	}
	snprintf(qpath, sizeof(qpath), "%s/queue/%s", dir, ID);
	snprintf(cpath, sizeof(cpath), "%s/corrupt/%s", dir, ID);
	atexit(cleanup);
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Checksum status records from off on, each as its message's. */
static void
repair_status(
    uint8_t *f, size_t n, size_t off, int v2, unsigned count, char (*ids)[16])
{
	size_t head = v2 ? 7 : 5;

	while (n - off >= head + 4) {
		size_t len = (size_t)get_le(f + off + head - 4, 4);
		unsigned k = 0;

		if (len > MAX_STATUS_VALUE || head + len + 4 > n - off)
			break;
		if (v2) {
			k = (unsigned)get_le(f + off + 1, 2) % count;
			put_le(f + off + 1, k, 2);
		}
		put_le(f + off + head + len,
		    crc32c(
		        crc32c(0, ids[k], strlen(ids[k])), f + off, head + len),
		    4);
		off += head + len + 4;
	}
}

/* The earlier one-message format: header, text, envelope, records. */
static void
repair_v1(uint8_t *f, size_t n)
{
	static const uint8_t magic[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 1};
	char ids[1][16] = {ID};
	uint64_t dlen, eoff, elen;

	memcpy(f, magic, 8);
	put_le(f + 8, HEADER, 8);
	dlen = get_le(f + 16, 8) % (n - HEADER + 1);
	put_le(f + 16, dlen, 8);
	eoff = HEADER + dlen;
	put_le(f + 24, eoff, 8);
	elen = get_le(f + 32, 4);
	if (elen > n - eoff)
		elen = n - eoff;
	put_le(f + 32, elen, 4);
	put_le(f + 36, crc32c(0, f + eoff, elen), 4);
	put_le(f + 40, crc32c(0, f, 40), 4);
	repair_status(f, n, eoff + elen, 0, 1, ids);
}

/* The current format: header, texts and envelopes, index, records. */
static void
repair_v2(uint8_t *f, size_t n)
{
	static const uint8_t magic[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 2};
	char ids[8][16];
	uint64_t count = get_le(f + 8, 4) % 8 + 1, ioff;
	unsigned k;

	while (count > 0 && HEADER + count * 64 > n)
		count--;
	if (count == 0)
		return;
	memcpy(f, magic, 8);
	put_le(f + 8, count, 4);
	ioff = HEADER + get_le(f + 16, 8) % (n - HEADER - count * 64 + 1);
	put_le(f + 16, ioff, 8);
	put_le(f + 24, count * 64, 4);
	for (k = 0; k < count; k++) {
		uint8_t *e = f + ioff + k * 64;
		uint64_t doff, dlen, elen;

		snprintf(ids[k], sizeof(ids[k]), "%.13s%c", ID, 'A' + k);
		memcpy(e, ids[k], 14);
		doff = HEADER + get_le(e + 16, 8) % (ioff - HEADER + 1);
		dlen = get_le(e + 24, 8) % (ioff - doff + 1);
		elen = get_le(e + 40, 4) % (ioff - doff - dlen + 1);
		put_le(e + 16, doff, 8);
		put_le(e + 24, dlen, 8);
		put_le(e + 32, doff + dlen, 8);
		put_le(e + 40, elen, 4);
		put_le(e + 44, crc32c(0, f + doff + dlen, elen), 4);
	}
	put_le(f + 28, crc32c(0, f + ioff, count * 64), 4);
	put_le(f + 32, crc32c(0, f, 32), 4);
	repair_status(f, n, ioff + count * 64, 1, (unsigned)count, ids);
}

static void
check_env(const struct envelope *env)
{
	const char *s[] = {env->client_addr, env->client_name, env->helo,
	    env->protocol, env->sender, env->envid, env->auth};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		FUZZ_CHECK(s[i] != NULL, "field %zu missing", i);
		FUZZ_CHECK(
		    strpbrk(s[i], "\r\n") == NULL, "CR/LF in field %zu", i);
	}
	FUZZ_CHECK(env->nrcpt > 0, "no recipients");
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpt[i];

		FUZZ_CHECK(
		    r->addr && r->orig && r->orcpt, "rcpt %zu broken", i);
		FUZZ_CHECK(strpbrk(r->addr, "\r\n") == NULL &&
		        strpbrk(r->orig, "\r\n") == NULL &&
		        strpbrk(r->orcpt, "\r\n") == NULL,
		    "CR/LF in rcpt %zu", i);
		FUZZ_CHECK(r->state == ENV_RCPT_PENDING ||
		        r->state == ENV_RCPT_DONE ||
		        r->state == ENV_RCPT_FAILED,
		    "rcpt %zu state %d", i, (int)r->state);
	}
}

struct seen {
	size_t file_size;
	struct spool_msg *m[70000];
	size_t n;
};

static void
found(void *arg, struct spool_msg *m, struct envelope *env, uint64_t len,
    uint64_t nonce)
{
	struct seen *s = arg;
	uint64_t off, dlen;
	int fd;

	(void)nonce;
	check_env(env);
	envelope_free(env);
	fd = spool_msg_open(sp, m, &off, &dlen);
	FUZZ_CHECK(fd >= 0, "a recovered message cannot be opened");
	close(fd);
	FUZZ_CHECK(dlen == len && off >= HEADER && off <= s->file_size &&
	        len <= s->file_size - off,
	    "text of %llu octets at %llu in a file of %zu",
	    (unsigned long long)len, (unsigned long long)off, s->file_size);
	FUZZ_CHECK(s->n < sizeof(s->m) / sizeof(s->m[0]), "too many");
	s->m[s->n++] = m;
}

static void
load(const uint8_t *f, size_t n)
{
	static struct seen s;
	FILE *fp = fopen(qpath, "w");
	size_t i;

	if (fp == NULL || (n > 0 && fwrite(f, n, 1, fp) != 1) ||
	    fclose(fp) != 0) {
		perror(qpath);
		abort();
	}
	s.file_size = n;
	s.n = 0;
	FUZZ_CHECK(spool_recover(sp, found, &s) == 0, "recovery failed");
	/* Done with every message: the last one removes the file. */
	for (i = 0; i < s.n; i++)
		spool_msg_done(sp, s.m[i]);
	FUZZ_CHECK(spool_files(sp) == 0, "files left after every message");
	unlink(qpath);
	unlink(cpath);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f;

	if (sp == NULL)
		setup();
	load(data, size);
	if (size < HEADER)
		return 0;
	f = malloc(size);
	if (f == NULL)
		return 0;
	memcpy(f, data, size);
	if (data[0] & 1)
		repair_v2(f, size);
	else
		repair_v1(f, size);
	if (memcmp(f, data, size) != 0)
		load(f, size);
	free(f);
	return 0;
}
