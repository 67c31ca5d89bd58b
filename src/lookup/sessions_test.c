/*
 * Unit tests of sessions: the session limits, the per-client connection
 * and message rates in their windows, the exempt networks, and the bound
 * on the clients tracked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../conf/conf.h"
#include "lookup.h"
#include "sessions.h"

struct fix {
	struct conf *c;
	struct lookup *lk;
	struct sessions *s;
};

static struct fix *
make(const char *conf_text)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[512];

	if ((f->c = conf_load_text(conf_text, err, sizeof(err))) == NULL)
		fail_msg("conf_load_text: %s", err);
	if ((f->lk = lookup_new(f->c, err, sizeof(err))) == NULL)
		fail_msg("lookup_new: %s", err);
	f->s = sessions_new();
	sessions_configure(f->s, f->c);
	return f;
}

static void
unmake(struct fix *f)
{
	sessions_free(f->s);
	lookup_free(f->lk);
	conf_free(f->c);
	free(f);
}

static struct netaddr
addr(const char *text)
{
	struct netaddr a;

	if (netaddr_parse(text, &a) < 0)
		fail_msg("netaddr_parse(%s) failed", text);
	return a;
}

static const int owner;

static void
session_limits_count_per_client_and_in_total(void **state)
{
	struct fix *f = make("max_sessions = 3\nmax_sessions_per_client = 2\n"
	                     "client_connection_rate_limit = 0\n");
	struct netaddr a = addr("192.0.2.1"), b = addr("192.0.2.2");

	(void)state;
	assert_int_equal(sessions_open(f->s, &owner, &a, 0), SESSIONS_OK);
	assert_int_equal(sessions_open(f->s, &owner, &a, 0), SESSIONS_OK);
	assert_int_equal(
	    sessions_open(f->s, &owner, &a, 0), SESSIONS_BUSY_CLIENT);
	assert_int_equal(sessions_open(f->s, &owner, &b, 0), SESSIONS_OK);
	assert_int_equal(
	    sessions_open(f->s, &owner, &b, 0), SESSIONS_BUSY_TOTAL);
	sessions_close(f->s, &owner, &a);
	assert_int_equal(sessions_client(f->s, &a), 1);
	assert_int_equal(sessions_open(f->s, &owner, &b, 0), SESSIONS_OK);
	sessions_drop_owner(f->s, &owner);
	assert_int_equal(sessions_total(f->s), 0);
	unmake(f);
}

static void
connection_rate_holds_for_its_window(void **state)
{
	struct fix *f = make("client_connection_rate_limit = 3\n"
	                     "client_rate_time_unit = 60s\n"
	                     "client_rate_exceptions =\n");
	struct netaddr a = addr("192.0.2.1"), b = addr("2001:db8::1");
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(
		    sessions_open(f->s, &owner, &a, 100), SESSIONS_OK);
		sessions_close(f->s, &owner, &a);
	}
	/* Closed sessions still counted: the rate is of connections. */
	assert_int_equal(sessions_open(f->s, &owner, &a, 159), SESSIONS_RATE);
	assert_int_equal(sessions_total(f->s), 0);
	/* Another client has its own count. */
	assert_int_equal(sessions_open(f->s, &owner, &b, 159), SESSIONS_OK);
	/* A new window. */
	assert_int_equal(sessions_open(f->s, &owner, &a, 160), SESSIONS_OK);
	unmake(f);
}

static void
exempt_networks_have_no_rate(void **state)
{
	struct fix *f = make("client_connection_rate_limit = 1\n"
	                     "client_message_rate_limit = 1\n"
	                     "client_rate_exceptions = 192.0.2.0/24\n");
	struct netaddr a = addr("192.0.2.9"), b = addr("198.51.100.1");
	struct lookup_reply r;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(
		    sessions_open(f->s, &owner, &a, 0), SESSIONS_OK);
		sessions_close(f->s, &owner, &a);
		sessions_rcpt(f->s, f->lk, &a, "bob", "localhost", 1, 0, &r);
		assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
		lookup_reply_free(&r);
	}
	assert_int_equal(sessions_open(f->s, &owner, &b, 0), SESSIONS_OK);
	assert_int_equal(sessions_open(f->s, &owner, &b, 0), SESSIONS_RATE);
	unmake(f);
}

static void
message_rate_counts_messages_with_a_recipient(void **state)
{
	struct fix *f = make("client_message_rate_limit = 2\n"
	                     "client_rate_time_unit = 10s\n"
	                     "client_rate_exceptions =\n");
	struct netaddr a = addr("192.0.2.1");
	struct lookup_reply r;

	(void)state;
	/* Refused recipients start no message. */
	sessions_rcpt(f->s, f->lk, &a, "bob", "elsewhere.example", 1, 0, &r);
	assert_int_equal(r.verdict, LOOKUP_V_RELAY_DENIED);
	lookup_reply_free(&r);
	/* Two messages, the second with two recipients. */
	sessions_rcpt(f->s, f->lk, &a, "bob", "localhost", 1, 0, &r);
	assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
	lookup_reply_free(&r);
	sessions_rcpt(f->s, f->lk, &a, "bob", "localhost", 1, 1, &r);
	assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
	lookup_reply_free(&r);
	sessions_rcpt(f->s, f->lk, &a, "carol", "localhost", 0, 1, &r);
	assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
	lookup_reply_free(&r);
	/* A third message waits for the next window; recipients of a
	 * message already started are not held back. */
	sessions_rcpt(f->s, f->lk, &a, "bob", "localhost", 1, 9, &r);
	assert_int_equal(r.verdict, LOOKUP_V_RATE_LIMITED);
	assert_null(r.final);
	lookup_reply_free(&r);
	sessions_rcpt(f->s, f->lk, &a, "dave", "localhost", 0, 9, &r);
	assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
	lookup_reply_free(&r);
	sessions_rcpt(f->s, f->lk, &a, "bob", "localhost", 1, 10, &r);
	assert_int_equal(r.verdict, LOOKUP_V_ACCEPT);
	lookup_reply_free(&r);
	unmake(f);
}

static void
tracked_clients_are_bounded(void **state)
{
	struct fix *f = make("client_connection_rate_limit = 1\n"
	                     "max_sessions = 1000000\n"
	                     "client_rate_time_unit = 60s\n"
	                     "client_rate_exceptions =\n");
	struct netaddr a = addr("10.0.0.0"), late = addr("192.0.2.1");
	unsigned i;

	(void)state;
	for (i = 0; i < SESSIONS_RATE_CLIENTS; i++) {
		a.addr[12] = (unsigned char)(i >> 16);
		a.addr[13] = (unsigned char)(i >> 8);
		a.addr[14] = (unsigned char)i;
		assert_int_equal(
		    sessions_open(f->s, &owner, &a, 0), SESSIONS_OK);
		sessions_close(f->s, &owner, &a);
	}
	/* Full: a new client is admitted uncounted... */
	assert_int_equal(sessions_open(f->s, &owner, &late, 30), SESSIONS_OK);
	sessions_close(f->s, &owner, &late);
	assert_int_equal(sessions_open(f->s, &owner, &late, 30), SESSIONS_OK);
	sessions_close(f->s, &owner, &late);
	/* ...until the old windows have ended and are dropped. */
	assert_int_equal(sessions_open(f->s, &owner, &late, 60), SESSIONS_OK);
	sessions_close(f->s, &owner, &late);
	assert_int_equal(sessions_open(f->s, &owner, &late, 61), SESSIONS_RATE);
	unmake(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(session_limits_count_per_client_and_in_total),
	    cmocka_unit_test(connection_rate_holds_for_its_window),
	    cmocka_unit_test(exempt_networks_have_no_rate),
	    cmocka_unit_test(message_rate_counts_messages_with_a_recipient),
	    cmocka_unit_test(tracked_clients_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
