/*
 * Unit tests of the IPC messages' bounds: the largest message of each
 * type, as its decoder allows it, is exactly its bound, passes its
 * decoder, and fits the channel it travels on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../common/netaddr.h"
#include "msg.h"

/* A string of n octets of c, allocated. */
static char *
filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* An address of exactly n octets: "aaa...@x". */
static char *
address(size_t n)
{
	char *s = filled(n, 'a');

	s[n - 2] = '@';
	s[n - 1] = 'x';
	return s;
}

/* An absolute path of exactly n octets with no "." component. */
static char *
long_path(size_t n)
{
	char *s = filled(n, 'd');
	size_t i;

	for (i = 0; i < n; i += 100)
		s[i] = '/';
	if (s[n - 1] == '/')
		s[n - 1] = 'e';
	return s;
}

/*
 * The payload is the largest of its type: exactly want octets; the
 * receiver's decoder takes it; the channel between the two carries it.
 */
static void
expect_largest(const char *what, enum proc_role from, enum proc_role to,
    uint16_t type, const struct buf *b, size_t want)
{
	size_t chan = msg_channel_max(from, to);

	if (b->len != want)
		fail_msg("%s: expected the largest payload to be its bound, "
		         "%zu octets; it is %zu",
		    what, want, b->len);
	if (msg_check(to, from, type, b->data, b->len) != 0)
		fail_msg("%s: the largest payload (%zu octets) does not "
		         "decode",
		    what, b->len);
	if (b->len > chan)
		fail_msg("%s: %zu octets, over the bound of the channel from "
		         "%s to %s (%zu)",
		    what, b->len, proc_role_names[from], proc_role_names[to],
		    chan);
}

static void
control_messages(void **state)
{
	struct msg_peer peer = {ROLE_SMTP, MSG_INDEX_MAX, UINT32_MAX};
	struct buf b;
	char *text = filled(MSG_CONF_MAX, 'x');

	(void)state;
	buf_init(&b, MSG_MAX_CONTROL);
	msg_enc_text(&b, text);
	expect_largest(
	    "MSG_CONF", ROLE_PARENT, ROLE_QUEUE, MSG_CONF, &b, MSG_CONF_LEN);
	b.len = 0;
	msg_enc_peer(&b, &peer);
	expect_largest(
	    "MSG_PEER", ROLE_PARENT, ROLE_QUEUE, MSG_PEER, &b, MSG_PEER_LEN);
	b.len = 0;
	peer.role = ROLE_LOOKUP;
	peer.index = 0;
	msg_enc_peer(&b, &peer);
	expect_largest(
	    "MSG_LOST", ROLE_SMTP, ROLE_PARENT, MSG_LOST, &b, MSG_PEER_LEN);
	assert_int_equal(MSG_MAX_CONTROL, MSG_CONF_LEN);
	free(text);
	buf_free(&b);
}

static void
lookup_messages(void **state)
{
	struct msg_rcpt rq;
	struct msg_admit_ans aa;
	struct lookup_reply lr;
	struct lookup_dest d;
	struct netaddr a;
	struct buf b;
	char *s;
	size_t i;

	(void)state;
	buf_init(&b, MSG_MAX_LOOKUP);
	assert_int_equal(netaddr_parse("2001:db8::7", &a), 0);
	msg_enc_netaddr(&b, &a);
	expect_largest("MSG_ADMIT", ROLE_SMTP, ROLE_LOOKUP, MSG_ADMIT, &b,
	    MSG_NETADDR_LEN);

	b.len = 0;
	memset(&rq, 0, sizeof(rq));
	rq.client = a;
	memset(rq.local, 'l', sizeof(rq.local) - 1);
	memset(rq.domain, 'd', sizeof(rq.domain) - 1);
	msg_enc_rcpt(&b, &rq);
	expect_largest(
	    "MSG_RCPT", ROLE_SMTP, ROLE_LOOKUP, MSG_RCPT, &b, MSG_RCPT_LEN);

	b.len = 0;
	memset(&aa, 0, sizeof(aa));
	memset(aa.client.text, 't', sizeof(aa.client.text) - 1);
	msg_enc_admit_ans(&b, &aa);
	expect_largest("MSG_ADMIT_ANS", ROLE_LOOKUP, ROLE_SMTP, MSG_ADMIT_ANS,
	    &b, MSG_ADMIT_ANS_LEN);

	b.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_ACCEPT;
	lr.nfinal = MSG_FINAL_MAX;
	lr.final = calloc(lr.nfinal, sizeof(*lr.final));
	assert_non_null(lr.final);
	for (i = 0; i < lr.nfinal; i++)
		lr.final[i] = address(ENV_MAX_STRING);
	msg_enc_lookup_ans(&b, &lr);
	lookup_reply_free(&lr);
	expect_largest("MSG_LOOKUP_ANS", ROLE_LOOKUP, ROLE_SMTP, MSG_LOOKUP_ANS,
	    &b, MSG_LOOKUP_ANS_LEN);

	b.len = 0;
	s = address(ENV_MAX_STRING);
	msg_enc_text(&b, s);
	free(s);
	expect_largest("MSG_RESOLVE", ROLE_QUEUE, ROLE_LOOKUP, MSG_RESOLVE, &b,
	    MSG_RESOLVE_LEN);

	b.len = 0;
	memset(&d, 0, sizeof(d));
	d.type = LOOKUP_DEST_MAILDIR;
	s = long_path(sizeof(d.path) - 1);
	memcpy(d.path, s, sizeof(d.path) - 1);
	free(s);
	memset(d.error, 'e', sizeof(d.error) - 1);
	msg_enc_resolve_ans(&b, &d);
	expect_largest("MSG_RESOLVE_ANS", ROLE_LOOKUP, ROLE_QUEUE,
	    MSG_RESOLVE_ANS, &b, MSG_RESOLVE_ANS_LEN);

	/* The largest of them all is the channel's bound. */
	assert_int_equal(MSG_MAX_LOOKUP, MSG_LOOKUP_ANS_LEN);
	buf_free(&b);
}

static void
local_messages(void **state)
{
	struct msg_deliver md;
	struct msg_deliver_ans da;
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, MSG_MAX_LOCAL);
	memset(&md, 0, sizeof(md));
	s = long_path(sizeof(md.maildir) - 1);
	memcpy(md.maildir, s, sizeof(md.maildir) - 1);
	free(s);
	memset(md.return_path, 'r', sizeof(md.return_path) - 1);
	memset(md.rcpt, 'p', sizeof(md.rcpt) - 1);
	memset(md.unique, 'u', sizeof(md.unique) - 1);
	md.look_for_copy = 1;
	md.off = SPOOL_DATA_OFFSET;
	md.len = UINT64_MAX / 4;
	msg_enc_deliver(&b, &md);
	expect_largest("MSG_DELIVER", ROLE_QUEUE, ROLE_LOCAL, MSG_DELIVER, &b,
	    MSG_DELIVER_LEN);

	b.len = 0;
	memset(&da, 0, sizeof(da));
	da.status = 1;
	da.found_copy = 1;
	snprintf(da.dsn, sizeof(da.dsn), "4.2.123");
	memset(da.error, 'e', sizeof(da.error) - 1);
	msg_enc_deliver_ans(&b, &da);
	expect_largest("MSG_DELIVER_ANS", ROLE_LOCAL, ROLE_QUEUE,
	    MSG_DELIVER_ANS, &b, MSG_DELIVER_ANS_LEN);
	assert_int_equal(MSG_MAX_LOCAL, MSG_DELIVER_LEN);
	buf_free(&b);
}

/* A recipient whose record holds exactly n octets of strings. */
static void
add_rcpt_of(struct envelope *env, size_t n)
{
	size_t la = n > ENV_MAX_STRING ? ENV_MAX_STRING : n;
	size_t lo = n - la > ENV_MAX_STRING ? ENV_MAX_STRING : n - la;
	size_t lc = n - la - lo;
	char *a = filled(la, 'a'), *o = filled(lo, 'o'), *c = filled(lc, 'c');

	assert_true(la > 0 && lc <= ENV_MAX_STRING);
	envelope_add_rcpt(env, a, o, c, 0);
	free(a);
	free(o);
	free(c);
}

static size_t
encoded_len(const struct envelope *env)
{
	struct buf b;
	size_t n;

	buf_init(&b, 2 * (size_t)ENV_MAX_ENCODED);
	assert_int_equal(envelope_encode(env, &b), 0);
	n = b.len;
	buf_free(&b);
	return n;
}

/*
 * An envelope whose encoding is exactly ENV_MAX_ENCODED goes into one
 * commit message of MSG_COMMIT_LEN, which the smtp-queue channel carries;
 * one octet more is refused by the encoder, not by a crash.
 */
static void
largest_commit(void **state)
{
	enum { RCPT_REC = 5 + 3 * ENV_MAX_STRING + 3 + 1 };
	struct envelope env;
	struct buf b;
	size_t base, left, full, rest, i;
	char id[] = "1K1C0B02NR8000";

	(void)state;
	envelope_init(&env);
	envelope_set(&env.sender, "s@example.org");
	base = encoded_len(&env);
	left = ENV_MAX_ENCODED - base;
	full = left / RCPT_REC - 1;
	for (i = 0; i < full; i++)
		add_rcpt_of(&env, 3 * ENV_MAX_STRING);
	/* The rest in two smaller records, each 9 octets besides its
	 * strings. */
	rest = left - full * RCPT_REC;
	add_rcpt_of(&env, rest / 2 - 9);
	add_rcpt_of(&env, rest - rest / 2 - 9);
	assert_int_equal(encoded_len(&env), ENV_MAX_ENCODED);

	buf_init(&b, MSG_MAX_QUEUE);
	assert_int_equal(msg_enc_commit(&b, id, 12345, &env), 0);
	expect_largest("MSG_COMMIT", ROLE_SMTP, ROLE_QUEUE, MSG_COMMIT, &b,
	    MSG_COMMIT_LEN);
	assert_int_equal(MSG_MAX_QUEUE, MSG_COMMIT_LEN);

	b.len = 0;
	envelope_set(&env.client_name, "x");
	if (msg_enc_commit(&b, id, 12345, &env) != -1)
		fail_msg("expected an envelope of %zu octets to be refused, "
		         "it was encoded into %zu",
		    (size_t)ENV_MAX_ENCODED + 1, b.len);
	buf_free(&b);
	envelope_free(&env);
}

static void
data_message(void **state)
{
	struct buf b;
	char *text = filled(MSG_DATA_MAX, 't');

	(void)state;
	buf_init(&b, MSG_MAX_QUEUE);
	msg_enc_data(&b, "1K1C0B02NR8000", text, MSG_DATA_MAX);
	expect_largest(
	    "MSG_DATA", ROLE_SMTP, ROLE_QUEUE, MSG_DATA, &b, MSG_DATA_LEN);
	free(text);
	buf_free(&b);
}

/* The buffer a message is built in may be smaller than the channel: the
 * encoder says so instead of overflowing it. */
static void
commit_into_a_small_buffer_is_refused(void **state)
{
	struct envelope env;
	struct buf b;

	(void)state;
	envelope_init(&env);
	envelope_set(&env.sender, "s@example.org");
	envelope_add_rcpt(&env, "bob@example.org", NULL, NULL, 0);
	buf_init(&b, 64);
	assert_int_equal(msg_enc_commit(&b, "1K1C0B02NR8000", 1, &env), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	envelope_free(&env);
}

static void
channels_have_one_bound_each(void **state)
{
	static const struct {
		enum proc_role a, b;
		size_t max;
	} want[] = {
	    {ROLE_PARENT, ROLE_SMTP, MSG_MAX_CONTROL},
	    {ROLE_PARENT, ROLE_LOOKUP, MSG_MAX_CONTROL},
	    {ROLE_PARENT, ROLE_QUEUE, MSG_MAX_CONTROL},
	    {ROLE_PARENT, ROLE_LOCAL, MSG_MAX_CONTROL},
	    {ROLE_SMTP, ROLE_LOOKUP, MSG_MAX_LOOKUP},
	    {ROLE_QUEUE, ROLE_LOOKUP, MSG_MAX_LOOKUP},
	    {ROLE_SMTP, ROLE_QUEUE, MSG_MAX_QUEUE},
	    {ROLE_QUEUE, ROLE_LOCAL, MSG_MAX_LOCAL},
	    {ROLE_SMTP, ROLE_LOCAL, 0},
	    {ROLE_LOOKUP, ROLE_LOCAL, 0},
	    {ROLE_SMTP, ROLE_SMTP, 0},
	    {ROLE_PARENT, ROLE_PARENT, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t ab = msg_channel_max(want[i].a, want[i].b);
		size_t ba = msg_channel_max(want[i].b, want[i].a);

		if (ab != want[i].max || ba != want[i].max)
			fail_msg("channel %s-%s: expected a bound of %zu both "
			         "ways, got %zu and %zu",
			    proc_role_names[want[i].a],
			    proc_role_names[want[i].b], want[i].max, ab, ba);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(control_messages),
	    cmocka_unit_test(lookup_messages),
	    cmocka_unit_test(local_messages),
	    cmocka_unit_test(largest_commit),
	    cmocka_unit_test(data_message),
	    cmocka_unit_test(commit_into_a_small_buffer_is_refused),
	    cmocka_unit_test(channels_have_one_bound_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
