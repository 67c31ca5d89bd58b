/*
 * fuzz_envelope - the envelope record decoder (envelope.h).
 *
 * The input is an envelope as found in a spool file.  A decoded envelope
 * must satisfy the header's INVARIANTS; encoded again and decoded again it
 * must give the same fields, and its encoding must then be stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/common/buf.h"
#include "../../src/queue/envelope.h"
#include "fuzz_util.h"

static void
check_str(const char *s, const char *what)
{
	size_t n;

	FUZZ_CHECK(s != NULL, "%s missing", what);
	n = strlen(s);
	FUZZ_CHECK(n <= ENV_MAX_STRING, "%s of %zu octets", what, n);
	FUZZ_CHECK(memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL,
	    "%s holds CR or LF", what);
}

static void
check_env(const struct envelope *env)
{
	size_t i;

	check_str(env->client_addr, "client_addr");
	check_str(env->client_name, "client_name");
	check_str(env->helo, "helo");
	check_str(env->protocol, "protocol");
	check_str(env->sender, "sender");
	check_str(env->envid, "envid");
	check_str(env->auth, "auth");
	FUZZ_CHECK(env->arrival >= 0, "arrival %lld", (long long)env->arrival);
	FUZZ_CHECK(env->body >= 0 && env->body <= 2, "body %d", env->body);
	FUZZ_CHECK(env->ret >= 0 && env->ret <= 2, "ret %d", env->ret);
	FUZZ_CHECK(env->smtputf8 == 0 || env->smtputf8 == 1, "smtputf8 %d",
	    env->smtputf8);
	FUZZ_CHECK(env->nrcpt > 0 && env->nrcpt <= ENV_MAX_RCPT, "%zu rcpts",
	    env->nrcpt);
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpt[i];

		check_str(r->addr, "rcpt addr");
		check_str(r->orig, "rcpt orig");
		check_str(r->orcpt, "rcpt orcpt");
		FUZZ_CHECK(r->addr[0] != '\0', "empty rcpt addr");
		FUZZ_CHECK(r->notify <= 15, "notify %u", r->notify);
		FUZZ_CHECK(r->state == ENV_RCPT_PENDING && r->attempts == 0 &&
		        r->next_try == 0,
		    "delivery state from the envelope alone");
	}
}

#define SAME_STR(f) \
	FUZZ_CHECK( \
	    strcmp(a->f, b->f) == 0, #f " \"%s\" became \"%s\"", a->f, b->f)

static void
check_same(const struct envelope *a, const struct envelope *b)
{
	size_t i;

	FUZZ_CHECK(a->arrival == b->arrival, "arrival changed");
	SAME_STR(client_addr);
	SAME_STR(client_name);
	SAME_STR(helo);
	SAME_STR(protocol);
	SAME_STR(sender);
	SAME_STR(envid);
	SAME_STR(auth);
	FUZZ_CHECK(a->body == b->body && a->ret == b->ret &&
	        a->smtputf8 == b->smtputf8,
	    "MAIL parameters changed");
	FUZZ_CHECK(
	    a->nrcpt == b->nrcpt, "%zu rcpts became %zu", a->nrcpt, b->nrcpt);
	for (i = 0; i < a->nrcpt; i++) {
		SAME_STR(rcpt[i].addr);
		SAME_STR(rcpt[i].orig);
		SAME_STR(rcpt[i].orcpt);
		FUZZ_CHECK(
		    a->rcpt[i].notify == b->rcpt[i].notify, "notify changed");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env, again;
	struct buf enc, enc2;
	char err[256];
	void *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	err[0] = '\0';
	if (envelope_decode(copy, size, &env, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0],
		    "no reason for a decode error");
		FUZZ_CHECK(
		    env.rcpt == NULL && env.nrcpt == 0 && env.sender == NULL,
		    "a failed decode left fields behind");
		free(copy);
		return 0;
	}
	free(copy);
	check_env(&env);

	/* Re-encoding never grows beyond the input plus default records. */
	buf_init(&enc, size + 4096);
	FUZZ_CHECK(envelope_encode(&env, &enc) == 0, "encode failed");
	err[0] = '\0';
	FUZZ_CHECK(
	    envelope_decode(enc.data, enc.len, &again, err, sizeof(err)) == 0,
	    "decode of the encoding failed: %s", err);
	check_env(&again);
	check_same(&env, &again);

	buf_init(&enc2, size + 4096);
	FUZZ_CHECK(envelope_encode(&again, &enc2) == 0, "encode failed");
	FUZZ_CHECK(
	    enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0,
	    "encoding is not stable");

	buf_free(&enc);
	buf_free(&enc2);
	envelope_free(&env);
	envelope_free(&again);
	return 0;
}
