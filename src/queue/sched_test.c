/*
 * Unit tests of the scheduler: a real queue on a scratch spool, and
 * resolve/deliver services that the test answers by hand, so that what
 * runs at once can be counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/log.h"
#include "../common/xmem.h"
#include "queue.h"
#include "sched.h"

#define MAX_CALLS 64

struct call {
	char maildir[256];
	char rcpt[256];
	char unique[80];
	int look_for_copy;
	local_cb cb;
	void *arg;
	int answered;
};

struct fixture {
	char dir[64];
	uv_loop_t loop;
	struct queue *q;
	struct sched *s;
	int ready;
	/* how resolve answers: "gone" -> UNKNOWN, "far" -> REMOTE,
	 * else a Maildir named after the local part */
	struct call calls[MAX_CALLS];
	size_t ncalls;
	unsigned running, most_running;
	int committed;
	int64_t age_s; /* how long ago messages arrived */
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
fake_resolve(void *ctx, const char *addr, sched_resolve_cb cb, void *arg)
{
	struct lookup_dest d;
	const char *at = strchr(addr, '@');
	int len = at ? (int)(at - addr) : (int)strlen(addr);

	(void)ctx;
	memset(&d, 0, sizeof(d));
	if (strncmp(addr, "gone@", 5) == 0) {
		d.type = LOOKUP_DEST_UNKNOWN;
		snprintf(d.error, sizeof(d.error), "no such user");
	} else if (strncmp(addr, "far@", 4) == 0) {
		d.type = LOOKUP_DEST_REMOTE;
	} else {
		d.type = LOOKUP_DEST_MAILDIR;
		snprintf(d.path, sizeof(d.path), "/mail/%.*s", len, addr);
	}
	cb(arg, &d);
}

static void
fake_deliver(void *ctx, const struct local_req *req, local_cb cb, void *arg)
{
	struct fixture *f = ctx;
	struct call *c;

	if (f->ncalls >= MAX_CALLS)
		fail_msg("more than %d deliveries asked for", MAX_CALLS);
	c = &f->calls[f->ncalls++];
	snprintf(c->maildir, sizeof(c->maildir), "%s", req->maildir);
	snprintf(c->rcpt, sizeof(c->rcpt), "%s", req->rcpt);
	snprintf(c->unique, sizeof(c->unique), "%s", req->unique);
	c->look_for_copy = req->look_for_copy;
	c->cb = cb;
	c->arg = arg;
	if (++f->running > f->most_running)
		f->most_running = f->running;
}

static int
fake_ready(void *ctx)
{
	struct fixture *f = ctx;

	return f->ready;
}

static const struct sched_services_ops fake_ops = {
    .resolve = fake_resolve,
    .deliver = fake_deliver,
    .ready = fake_ready,
};

static void
answer(struct fixture *f, size_t i, enum maildir_status status)
{
	struct maildir_delivery d;
	struct call *c = &f->calls[i];

	if (c->answered)
		fail_msg("delivery %zu answered twice", i);
	memset(&d, 0, sizeof(d));
	d.status = status;
	snprintf(d.dsn, sizeof(d.dsn), "%s",
	    status == MAILDIR_OK             ? "2.0.0"
	        : status == MAILDIR_PERMFAIL ? "5.2.0"
	                                     : "4.2.0");
	snprintf(d.error, sizeof(d.error), "test");
	c->answered = 1;
	f->running--;
	c->cb(c->arg, &d);
}

/* Answer every delivery asked for so far, and those they lead to. */
static void
answer_all(struct fixture *f, enum maildir_status status)
{
	size_t i;

	for (i = 0; i < f->ncalls; i++)
		if (!f->calls[i].answered)
			answer(f, i, status);
}

static void
committed(void *arg, int status)
{
	struct fixture *f = arg;

	assert_int_equal(status, 0);
	f->committed++;
}

/* Commit a message for the recipients (NULL-terminated), and wait until
 * it is durable. */
static void
commit(struct fixture *f, const char *rcpt, ...)
{
	struct queue_msg *m = queue_msg_open(f->q);
	struct envelope env;
	const char *text = "Subject: t\r\n\r\nhello\r\n";
	int want = f->committed + 1, rounds;
	struct timeval tv;
	va_list ap;

	assert_non_null(m);
	assert_int_equal(queue_msg_write(m, text, strlen(text)), 0);
	envelope_init(&env);
	gettimeofday(&tv, NULL);
	env.arrival = ((int64_t)tv.tv_sec - f->age_s) * 1000000 + tv.tv_usec;
	envelope_set(&env.sender, "s@example.org");
	envelope_set(&env.client_addr, "127.0.0.1");
	envelope_set(&env.helo, "client.example");
	envelope_set(&env.protocol, "ESMTP");
	envelope_set(&env.client_name, "");
	envelope_set(&env.envid, "");
	envelope_set(&env.auth, "");
	va_start(ap, rcpt);
	for (; rcpt; rcpt = va_arg(ap, const char *))
		envelope_add_rcpt(&env, rcpt, rcpt, "", 0);
	va_end(ap);
	queue_msg_commit(m, &env, committed, f);
	envelope_free(&env);
	for (rounds = 0; f->committed < want && rounds < 1000; rounds++)
		uv_run(&f->loop, UV_RUN_ONCE);
	if (f->committed < want)
		fail_msg("commit: expected a callback, none came");
}

static int
setup_with(void **state, unsigned concurrency, unsigned box_concurrency)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct queue_params qp = {.minfree = 0};
	struct sched_params sp = {
	    .concurrency = concurrency,
	    .box_concurrency = box_concurrency,
	    .lifetime_ms = 5ULL * 86400 * 1000,
	    .min_backoff_ms = 300 * 1000,
	    .max_backoff_ms = 4000 * 1000,
	};
	struct sched_services svc = {.ops = &fake_ops, .ctx = f};
	struct queue_store *st;
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-sched-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	st = store_spool_new(&f->loop, f->dir, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_spool_new %s: %s", f->dir, err);
	f->q = queue_new(&f->loop, st, &qp);
	f->ready = 1;
	f->s = sched_new(f->q, &svc, &sp);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, 3, 2);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rounds;

	answer_all(f, MAILDIR_TEMPFAIL);
	sched_stop(f->s);
	sched_free(f->s);
	queue_free(f->q);
	for (rounds = 0; rounds < 1000; rounds++)
		if (uv_run(&f->loop, UV_RUN_NOWAIT) == 0)
			break;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static size_t
count_to(const struct fixture *f, const char *maildir)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncalls; i++)
		if (strcmp(f->calls[i].maildir, maildir) == 0)
			n++;
	return n;
}

static void
test_delivers_and_removes(void **state)
{
	struct fixture *f = *state;

	commit(f, "a@x.example", NULL);
	assert_int_equal(f->ncalls, 1);
	assert_string_equal(f->calls[0].maildir, "/mail/a");
	assert_string_equal(f->calls[0].rcpt, "a@x.example");
	answer(f, 0, MAILDIR_OK);
	assert_int_equal(queue_length(f->q), 0);
	assert_int_equal(sched_active(f->s), 0);
}

static void
test_total_concurrency_is_bounded(void **state)
{
	struct fixture *f = *state;
	const char *who[] = {"a@x", "b@x", "c@x", "d@x", "e@x", "f@x", "g@x"};
	size_t i, rounds;

	f->ready = 0; /* hold deliveries until every message is in */
	for (i = 0; i < 7; i++)
		commit(f, who[i], NULL);
	assert_int_equal(f->ncalls, 0);
	f->ready = 1;
	sched_kick(f->s);
	if (f->running != 3)
		fail_msg("expected 3 deliveries running (concurrency 3), "
		         "got %u",
		    f->running);
	for (rounds = 0; rounds < 10 && f->ncalls < 7; rounds++)
		answer_all(f, MAILDIR_OK);
	answer_all(f, MAILDIR_OK);
	assert_int_equal(f->ncalls, 7);
	assert_int_equal(f->most_running, 3);
	assert_int_equal(queue_length(f->q), 0);
}

static void
test_one_maildir_is_bounded_without_blocking_others(void **state)
{
	struct fixture *f = *state;

	f->ready = 0;
	commit(f, "a@x", NULL);
	commit(f, "a@x", NULL);
	commit(f, "a@x", NULL);
	commit(f, "a@x", NULL);
	commit(f, "b@x", NULL);
	f->ready = 1;
	sched_kick(f->s);
	/* two into /mail/a (its limit), and b's mail passes a's waiting */
	if (count_to(f, "/mail/a") != 2 || count_to(f, "/mail/b") != 1)
		fail_msg("expected 2 deliveries to /mail/a and 1 to /mail/b, "
		         "got %zu and %zu",
		    count_to(f, "/mail/a"), count_to(f, "/mail/b"));
	answer(f, 0, MAILDIR_OK);
	/* a slot in /mail/a: the next one for it starts */
	assert_int_equal(count_to(f, "/mail/a"), 3);
	answer_all(f, MAILDIR_OK);
	answer_all(f, MAILDIR_OK);
	assert_int_equal(count_to(f, "/mail/a"), 4);
	assert_int_equal(queue_length(f->q), 0);
}

static void
test_tempfail_defers_into_the_future(void **state)
{
	struct fixture *f = *state;

	commit(f, "a@x", NULL);
	answer(f, 0, MAILDIR_TEMPFAIL);
	assert_int_equal(queue_length(f->q), 1);
	/* not due again now: nothing to claim, nothing started */
	assert_null(queue_claim(f->q));
	assert_int_equal(f->ncalls, 1);
}

static void
test_tempfail_past_lifetime_fails(void **state)
{
	struct fixture *f = *state;

	f->age_s = 6 * 86400; /* the lifetime is 5 days */
	commit(f, "a@x", NULL);
	answer(f, 0, MAILDIR_TEMPFAIL);
	assert_int_equal(queue_length(f->q), 0);
}

static void
test_unknown_and_permfail_are_final(void **state)
{
	struct fixture *f = *state;

	commit(f, "gone@x", "a@x", NULL);
	assert_int_equal(f->ncalls, 1);
	answer(f, 0, MAILDIR_PERMFAIL);
	assert_int_equal(queue_length(f->q), 0);
}

static void
test_remote_is_deferred(void **state)
{
	struct fixture *f = *state;

	commit(f, "far@y", NULL);
	assert_int_equal(f->ncalls, 0);
	assert_int_equal(queue_length(f->q), 1);
	assert_int_equal(sched_active(f->s), 0);
}

static void
test_not_tried_comes_back_soon(void **state)
{
	struct fixture *f = *state;
	int rounds;

	commit(f, "a@x", NULL);
	answer(f, 0, MAILDIR_NOT_TRIED);
	assert_int_equal(queue_length(f->q), 1);
	/* retried within seconds, not after the backoff of minutes */
	for (rounds = 0; rounds < 100 && f->ncalls < 2; rounds++)
		uv_run(&f->loop, UV_RUN_ONCE);
	if (f->ncalls != 2)
		fail_msg("expected a second attempt within seconds, got %zu "
		         "attempts",
		    f->ncalls);
	answer(f, 1, MAILDIR_OK);
	assert_int_equal(queue_length(f->q), 0);
}

/*
 * A copy's Maildir name is fixed for a message and recipient, so that a
 * repeated attempt can find it; it is looked for when an earlier
 * attempt's outcome was lost, and only then.
 */
static void
test_repeated_attempt_looks_for_its_copy(void **state)
{
	struct fixture *f = *state;
	int rounds;

	commit(f, "a@x", "b@x", NULL);
	assert_int_equal(f->ncalls, 2);
	if (strcmp(f->calls[0].unique, f->calls[1].unique) == 0)
		fail_msg(
		    "two recipients share the name %s", f->calls[0].unique);
	assert_int_equal(f->calls[0].look_for_copy, 0);
	assert_int_equal(f->calls[1].look_for_copy, 0);
	answer(f, 0, MAILDIR_NOT_TRIED);
	answer(f, 1, MAILDIR_OK);
	for (rounds = 0; rounds < 100 && f->ncalls < 3; rounds++)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->ncalls, 3);
	assert_string_equal(f->calls[2].rcpt, "a@x");
	assert_string_equal(f->calls[2].unique, f->calls[0].unique);
	assert_int_equal(f->calls[2].look_for_copy, 1);
	answer(f, 2, MAILDIR_OK);
	assert_int_equal(queue_length(f->q), 0);
}

static void
test_not_ready_claims_nothing(void **state)
{
	struct fixture *f = *state;

	f->ready = 0;
	commit(f, "a@x", NULL);
	assert_int_equal(f->ncalls, 0);
	f->ready = 1;
	sched_kick(f->s);
	assert_int_equal(f->ncalls, 1);
	answer(f, 0, MAILDIR_OK);
}

static void
test_stop_starts_nothing_new(void **state)
{
	struct fixture *f = *state;

	f->ready = 0;
	commit(f, "a@x", NULL);
	sched_stop(f->s);
	f->ready = 1;
	sched_kick(f->s);
	assert_int_equal(f->ncalls, 0);
	assert_int_equal(queue_length(f->q), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_delivers_and_removes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_total_concurrency_is_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_one_maildir_is_bounded_without_blocking_others, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_tempfail_defers_into_the_future, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_tempfail_past_lifetime_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_unknown_and_permfail_are_final, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_remote_is_deferred, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_not_tried_comes_back_soon, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_repeated_attempt_looks_for_its_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_not_ready_claims_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_stop_starts_nothing_new, setup, teardown),
	};

	log_init("sched_test", 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
