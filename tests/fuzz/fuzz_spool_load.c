/*
 * fuzz_spool_load - reading a queue file back (spool_load).
 *
 * The input is a queue file.  It is written to queue/<ID> of a spool made
 * once per process under a temporary directory (removed at exit; on
 * /dev/shm when there is one: ext4 flushes a truncated file on close,
 * which would make this target slow) and loaded.  Then the same file with its magic, offsets and checksums
 * repaired is loaded too, so that the envelope and status records behind
 * the checksums get fuzzed as well.  Loading either must fail cleanly or
 * give an envelope that satisfies envelope.h and fits the file.
 *
 * spool_load logs torn status records on stderr; run.sh runs this target
 * with -close_fd_mask=2 (sanitizer reports still get through).
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
static char qpath[128];
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
	rm("queue");
	rm("tmp");
	rm("corrupt");
	rm("free");
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

/*
 * Make the header consistent with the file (magic, data offset, envelope
 * offset and length within the file) and every checksum right.
 */
static void
repair(uint8_t *f, size_t n)
{
	static const uint8_t magic[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 1};
	uint64_t dlen, eoff, elen;
	size_t off;

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
	/* Status records: type(1) length(4) value CRC-32C(4), the checksum
	 * taken over the queue ID and the record. */
	off = eoff + elen;
	while (n - off >= 9) {
		size_t len = (size_t)get_le(f + off + 1, 4);

		if (len > MAX_STATUS_VALUE || 9 + len > n - off)
			break;
		put_le(f + off + 5 + len,
		    crc32c(crc32c(0, ID, strlen(ID)), f + off, 5 + len), 4);
		off += 9 + len;
	}
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

static void
load(const uint8_t *f, size_t n)
{
	struct envelope env;
	uint64_t dlen = UINT64_MAX;
	char err[256];
	FILE *fp = fopen(qpath, "w");

	if (fp == NULL || (n > 0 && fwrite(f, n, 1, fp) != 1) ||
	    fclose(fp) != 0) {
		perror(qpath);
		abort();
	}
	memset(&env, 0, sizeof(env));
	err[0] = '\0';
	if (spool_load(sp, ID, &env, &dlen, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0],
		    "no reason for a load error");
		FUZZ_CHECK(env.rcpt == NULL && env.sender == NULL,
		    "a failed load left an envelope behind");
		return;
	}
	FUZZ_CHECK(n >= HEADER && dlen <= n - HEADER,
	    "text of %llu octets in a file of %zu", (unsigned long long)dlen,
	    n);
	check_env(&env);
	envelope_free(&env);
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
	repair(f, size);
	if (memcmp(f, data, size) != 0)
		load(f, size);
	free(f);
	return 0;
}
