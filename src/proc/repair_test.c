/*
 * Unit tests of the re-pair scheduler: when the parent gives two
 * processes a new channel after theirs closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repair.h"

static void
expect_wait(struct repair *r, uint64_t now, int64_t want)
{
	int64_t got = repair_report(r, now);

	if (got != want)
		fail_msg("report at %llu ms: expected a wait of %lld ms, got "
		         "%lld",
		    (unsigned long long)now, (long long)want, (long long)got);
}

static void
first_break_waits_a_moment(void **state)
{
	struct repair r = {0};

	(void)state;
	expect_wait(&r, 5000, REPAIR_FIRST_MS);
}

static void
reports_while_pending_are_ignored(void **state)
{
	struct repair r = {0};
	int i;

	(void)state;
	expect_wait(&r, 5000, REPAIR_FIRST_MS);
	/* A process that floods the parent with reports gains nothing. */
	for (i = 0; i < 1000; i++)
		expect_wait(&r, 5000 + (uint64_t)i, -1);
	repair_done(&r, 5200, 1);
	expect_wait(&r, 90000, REPAIR_FIRST_MS);
}

static void
an_edge_that_keeps_breaking_waits_ever_longer(void **state)
{
	struct repair r = {0};
	uint64_t now = 1000;
	int64_t want = REPAIR_FIRST_MS, w;
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		w = repair_report(&r, now);
		if (w != want)
			fail_msg("break %d: expected a wait of %lld ms, got "
			         "%lld",
			    i + 1, (long long)want, (long long)w);
		now += (uint64_t)w;
		repair_done(&r, now, 1);
		now += 10; /* and it breaks again at once */
		want = want * 2 < REPAIR_MAX_MS ? want * 2 : REPAIR_MAX_MS;
	}
	/* Forty breaks cost the parent forty timers over half an hour, not
	 * a spin. */
	if (now < 30u * 60 * 1000)
		fail_msg("expected 40 quick breaks to take over 30 minutes of "
		         "waiting, took %llu ms",
		    (unsigned long long)now);
}

static void
a_stable_edge_starts_afresh(void **state)
{
	struct repair r = {0};

	(void)state;
	expect_wait(&r, 1000, REPAIR_FIRST_MS);
	repair_done(&r, 1200, 1);
	expect_wait(&r, 1300, 2 * REPAIR_FIRST_MS);
	repair_done(&r, 1700, 1);
	/* Up for longer than REPAIR_STABLE_MS: an ordinary break again. */
	expect_wait(&r, 1700 + REPAIR_STABLE_MS, REPAIR_FIRST_MS);
}

static void
a_given_up_repair_is_not_a_repair(void **state)
{
	struct repair r = {0};

	(void)state;
	expect_wait(&r, 1000, REPAIR_FIRST_MS);
	/* The peer was being restarted: nothing was paired. */
	repair_done(&r, 1200, 0);
	expect_wait(&r, 1300, REPAIR_FIRST_MS);
}

static void
a_restart_forgets_the_history(void **state)
{
	struct repair r = {0};

	(void)state;
	expect_wait(&r, 1000, REPAIR_FIRST_MS);
	repair_done(&r, 1200, 1);
	expect_wait(&r, 1300, 2 * REPAIR_FIRST_MS);
	repair_reset(&r);
	expect_wait(&r, 1400, REPAIR_FIRST_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(first_break_waits_a_moment),
	    cmocka_unit_test(reports_while_pending_are_ignored),
	    cmocka_unit_test(an_edge_that_keeps_breaking_waits_ever_longer),
	    cmocka_unit_test(a_stable_edge_starts_afresh),
	    cmocka_unit_test(a_given_up_repair_is_not_a_repair),
	    cmocka_unit_test(a_restart_forgets_the_history),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
