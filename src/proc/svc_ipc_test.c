/*
 * Unit tests of the services over IPC, as the smtp process uses them:
 * a real socketpair and event loop, the test playing the lookup process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "msg.h"
#include "svc_ipc.h"

struct fix {
	uv_loop_t loop;
	uv_timer_t watchdog;
	int timed_out;
	struct svc_ipc *sv;
	struct smtp_services svc;
	struct ipc *lookup; /* the test's end */
	int lookup_fd;      /* the same, for raw writes */
	uint16_t req_type;
	uint32_t req_id;
	int nreq;
	int lost[ROLE_COUNT];
	int answered;
	enum lookup_verdict verdict_rcpt;
	size_t nfinal;
	enum sessions_verdict verdict;
};

static void
lookup_got(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct fix *f = arg;

	(void)ipc;
	f->req_type = m->type;
	f->req_id = m->id;
	f->nreq++;
	if (m->fd >= 0)
		close(m->fd);
}

static void
lookup_closed(void *arg, struct ipc *ipc)
{
	struct fix *f = arg;

	(void)ipc;
	f->lookup = NULL;
}

static void
lost(void *arg, enum proc_role role)
{
	struct fix *f = arg;

	f->lost[role]++;
}

static void
watchdog(uv_timer_t *t)
{
	struct fix *f = t->data;

	f->timed_out = 1;
}

/* Run the loop until *count reaches want (or 5 s have passed). */
static void
run_until(struct fix *f, const int *count, int want)
{
	f->timed_out = 0;
	uv_timer_start(&f->watchdog, watchdog, 5000, 0);
	while (*count < want && !f->timed_out)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->watchdog);
}

/* A new lookup channel; the test holds the other end. */
static void
connect_lookup(struct fix *f)
{
	int sv[2];

	assert_int_equal(ipc_socketpair(sv), 0);
	svc_ipc_set_peer(f->sv, ROLE_LOOKUP, sv[0]);
	f->lookup_fd = sv[1];
	f->lookup = ipc_new(&f->loop, sv[1], 2 * (size_t)MSG_MAX_LOOKUP,
	    lookup_got, lookup_closed, f);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->watchdog);
	f->watchdog.data = f;
	f->sv = svc_ipc_new(&f->loop, ROLE_SMTP);
	svc_ipc_on_lost(f->sv, lost, f);
	svc_ipc_smtp_services(f->sv, &f->svc);
	connect_lookup(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	svc_ipc_free(f->sv);
	if (f->lookup)
		ipc_close(f->lookup);
	uv_close((uv_handle_t *)&f->watchdog, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static void
rcpt_answered(void *arg, struct lookup_reply *r)
{
	struct fix *f = arg;

	f->answered++;
	f->verdict_rcpt = r->verdict;
	f->nfinal = r->nfinal;
}

static void
admitted(void *arg, const struct svc_admission *a)
{
	struct fix *f = arg;

	f->answered++;
	f->verdict = a->verdict;
}

static void
ask_rcpt(struct fix *f)
{
	struct netaddr a;
	int before = f->nreq;

	netaddr_parse("192.0.2.1", &a);
	f->svc.ops->rcpt(
	    f->svc.ctx, &a, "bob", "example.org", 1, rcpt_answered, f);
	run_until(f, &f->nreq, before + 1);
	if (f->nreq == before || f->req_type != MSG_RCPT)
		fail_msg("expected the lookup process to get MSG_RCPT; got %d "
		         "requests, the last of type %u",
		    f->nreq - before, f->req_type);
}

static void
expect_lost(const struct fix *f, int lookup)
{
	if (f->lost[ROLE_LOOKUP] != lookup)
		fail_msg("expected %d report(s) of a lost lookup channel, got "
		         "%d",
		    lookup, f->lost[ROLE_LOOKUP]);
}

/* The largest answer a lookup process can give passes its channel. */
static void
largest_answer_is_taken(void **state)
{
	struct fix *f = *state;
	struct lookup_reply lr;
	struct buf b;
	size_t i;

	ask_rcpt(f);
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_ACCEPT;
	lr.nfinal = MSG_FINAL_MAX;
	lr.final = calloc(lr.nfinal, sizeof(*lr.final));
	assert_non_null(lr.final);
	for (i = 0; i < lr.nfinal; i++) {
		lr.final[i] = malloc(ENV_MAX_STRING + 1);
		assert_non_null(lr.final[i]);
		memset(lr.final[i], 'a', ENV_MAX_STRING);
		lr.final[i][ENV_MAX_STRING - 2] = '@';
		lr.final[i][ENV_MAX_STRING] = '\0';
	}
	buf_init(&b, MSG_MAX_LOOKUP);
	msg_enc_lookup_ans(&b, &lr);
	lookup_reply_free(&lr);
	if (b.len != MSG_MAX_LOOKUP)
		fail_msg(
		    "expected the largest answer to be %zu octets, it is %zu",
		    (size_t)MSG_MAX_LOOKUP, b.len);
	ipc_send(f->lookup, MSG_LOOKUP_ANS, f->req_id, b.data, b.len, -1);
	buf_free(&b);
	run_until(f, &f->answered, 1);
	if (f->answered != 1 || f->verdict_rcpt != LOOKUP_V_ACCEPT ||
	    f->nfinal != MSG_FINAL_MAX)
		fail_msg("expected the recipient accepted with %d addresses; "
		         "got %d answers, verdict %d, %zu addresses",
		    MSG_FINAL_MAX, f->answered, (int)f->verdict_rcpt,
		    f->nfinal);
	expect_lost(f, 0);
}

/*
 * A payload over the lookup channel's bound is refused from its header:
 * the smtp process does not buffer what no valid answer needs, and asks
 * for a new channel.
 */
static void
answer_over_the_bound_drops_the_channel(void **state)
{
	struct fix *f = *state;
	uint32_t len = (uint32_t)MSG_MAX_LOOKUP + 1;
	unsigned char h[IPC_HEADER] = {(unsigned char)len,
	    (unsigned char)(len >> 8), (unsigned char)(len >> 16),
	    (unsigned char)(len >> 24), MSG_LOOKUP_ANS, 0, 0, 0, 1, 0, 0, 0};
	int *n = &f->lost[ROLE_LOOKUP];

	assert_int_equal(write(f->lookup_fd, h, sizeof(h)), sizeof(h));
	run_until(f, n, 1);
	if (*n != 1)
		fail_msg("expected the channel to close on a header announcing "
		         "%u octets (the bound is %zu); it stayed open",
		    len, (size_t)MSG_MAX_LOOKUP);
	/* Without a lookup channel, admission cannot be decided. */
	f->svc.ops->admit(f->svc.ctx, &(struct netaddr){0}, admitted, f);
	assert_int_equal(f->answered, 1);
	assert_int_equal(f->verdict, SESSIONS_UNAVAILABLE);
}

static void
invalid_answer_reports_the_loss(void **state)
{
	struct fix *f = *state;

	/* An answer to a request never made. */
	ipc_send(f->lookup, MSG_ADMIT_ANS, 0x7ffffff0, NULL, 0, -1);
	run_until(f, &f->lost[ROLE_LOOKUP], 1);
	expect_lost(f, 1);
}

static void
peer_going_away_reports_the_loss(void **state)
{
	struct fix *f = *state;

	ask_rcpt(f);
	ipc_close(f->lookup);
	f->lookup = NULL;
	run_until(f, &f->lost[ROLE_LOOKUP], 1);
	expect_lost(f, 1);
	/* The pending request failed, temporarily. */
	if (f->answered != 1 || f->verdict_rcpt != LOOKUP_V_TEMPFAIL)
		fail_msg("expected the pending request to fail temporarily; "
		         "got %d answers, verdict %d",
		    f->answered, (int)f->verdict_rcpt);
}

/* A channel replaced by the parent, or closed when the process stops, is
 * not a loss to report. */
static void
replacing_or_freeing_reports_nothing(void **state)
{
	struct fix *f = *state;
	struct ipc *old = f->lookup;
	int i;

	connect_lookup(f);
	ipc_close(old);
	for (i = 0; i < 20; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	expect_lost(f, 0);
	svc_ipc_free(f->sv);
	f->sv = svc_ipc_new(&f->loop, ROLE_SMTP);
	for (i = 0; i < 20; i++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	expect_lost(f, 0);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(largest_answer_is_taken),
	    T(answer_over_the_bound_drops_the_channel),
	    T(invalid_answer_reports_the_loss),
	    T(peer_going_away_reports_the_loss),
	    T(replacing_or_freeing_reports_nothing),
	};

	log_init("svc_ipc_test", 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
