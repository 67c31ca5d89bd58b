/*
 * Unit tests of the spool: messages received into drafts, committed in
 * groups, recovered, their status records, damage detection, the older
 * file format, and housekeeping, in a scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "../common/crc32.h"
#include "envelope.h"
#include "spool.h"

#define MAX_FOUND 16

struct found {
	struct spool_msg *m;
	struct envelope env;
	uint64_t len, nonce;
};

struct fixture {
	char dir[64];
	char spooldir[128];
	struct spool *sp;
	struct found found[MAX_FOUND];
	size_t nfound;
};

static struct spool *
open_spool(struct fixture *f)
{
	char err[256];
	struct spool *sp = spool_open(f->spooldir, err, sizeof(err));

	if (sp == NULL)
		fail_msg("spool_open %s: %s", f->spooldir, err);
	return sp;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	scratch_dir(f->dir, sizeof(f->dir), "spool-test");
	/* a directory that does not exist yet: spool_open makes it */
	snprintf(f->spooldir, sizeof(f->spooldir), "%s/var/spool", f->dir);
	f->sp = open_spool(f);
	*state = f;
	return 0;
}

static void
forget_found(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->nfound; i++)
		envelope_free(&f->found[i].env);
	f->nfound = 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	forget_found(f);
	spool_close(f->sp);
	scratch_remove(f->dir);
	free(f);
	return 0;
}

static void
path_of(const struct fixture *f, const char *sub, const char *name, char *dst,
    size_t dstsz)
{
	snprintf(dst, dstsz, "%s/%s/%s", f->spooldir, sub, name);
}

static int
exists(const struct fixture *f, const char *sub, const char *name)
{
	char p[512];
	struct stat st;

	path_of(f, sub, name, p, sizeof(p));
	return stat(p, &st) == 0;
}

static size_t
count_files(const struct fixture *f, const char *sub)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", f->spooldir, sub);
	return scratch_count(p);
}

static void
sample_env(struct envelope *env, size_t nrcpt)
{
	char addr[64];
	size_t i;

	envelope_init(env);
	env->arrival = 1700000000000000;
	envelope_set(&env->client_addr, "192.0.2.1");
	envelope_set(&env->helo, "client.example");
	envelope_set(&env->protocol, "ESMTP");
	envelope_set(&env->sender, "alice@example.net");
	for (i = 0; i < nrcpt; i++) {
		snprintf(addr, sizeof(addr), "rcpt%zu@example.org", i);
		envelope_add_rcpt(env, addr, NULL, NULL, 0);
	}
}

/* A draft holding text (n octets; NULL text: n octets of a pattern). */
static struct spool_draft *
draft(struct fixture *f, const char *text, size_t n)
{
	char id[SPOOL_ID_LEN + 1];
	struct spool_draft *d;
	size_t off = 0;

	spool_new_id(id);
	d = spool_draft_new(f->sp, id);
	while (off < n) {
		char chunk[8192];
		size_t k = n - off < sizeof(chunk) ? n - off : sizeof(chunk), i;

		for (i = 0; i < k; i++)
			chunk[i] =
			    text ? text[off + i] : (char)('a' + (off + i) % 26);
		assert_int_equal(spool_draft_append(f->sp, d, chunk, k), 0);
		off += k;
	}
	assert_int_equal(spool_draft_len(d), n);
	return d;
}

/* Commit drafts as one group; every one must succeed. */
static void
commit_all(struct fixture *f, struct spool_draft **d, size_t n, size_t nrcpt,
    struct spool_msg **out)
{
	struct spool_commit c[MAX_FOUND];
	struct envelope env[MAX_FOUND];
	size_t i;

	assert_true(n <= MAX_FOUND);
	for (i = 0; i < n; i++) {
		sample_env(&env[i], nrcpt);
		c[i].draft = d[i];
		c[i].env = &env[i];
		c[i].nonce = 1000 + i;
	}
	spool_commit_group(f->sp, c, n);
	for (i = 0; i < n; i++)
		if (c[i].err != 0)
			fail_msg(
			    "commit of message %zu: %s", i, strerror(c[i].err));
	spool_commit_done(f->sp, c, n);
	for (i = 0; i < n; i++) {
		if (out)
			out[i] = c[i].msg;
		envelope_free(&env[i]);
	}
}

static void
found(void *arg, struct spool_msg *m, struct envelope *env, uint64_t len,
    uint64_t nonce)
{
	struct fixture *f = arg;
	struct found *fd;

	if (f->nfound == MAX_FOUND)
		fail_msg("more than %d messages recovered", MAX_FOUND);
	fd = &f->found[f->nfound++];
	fd->m = m;
	fd->env = *env;
	fd->len = len;
	fd->nonce = nonce;
}

/* Close the spool and open it again, as a restart does. */
static void
restart(struct fixture *f)
{
	forget_found(f);
	spool_close(f->sp);
	f->sp = open_spool(f);
	assert_int_equal(spool_recover(f->sp, found, f), 0);
}

static struct found *
found_id(struct fixture *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nfound; i++)
		if (strcmp(spool_msg_id(f->found[i].m), id) == 0)
			return &f->found[i];
	fail_msg("message %s was not recovered (%zu were)", id, f->nfound);
	return NULL;
}

/* The text of a committed message, read as a deliverer reads it. */
static char *
text_of(struct fixture *f, struct spool_msg *m, uint64_t *lenp)
{
	uint64_t off, len;
	int fd = spool_msg_open(f->sp, m, &off, &len);
	char *buf;

	assert_true(fd >= 0);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return buf;
}

static void
expect_text(struct fixture *f, struct spool_msg *m, const char *want)
{
	uint64_t len;
	char *got = text_of(f, m, &len);

	if (len != strlen(want) || memcmp(got, want, len) != 0)
		fail_msg("%s: expected text \"%s\", got \"%.*s\"",
		    spool_msg_id(m), want, (int)len, got);
	free(got);
}

/* Overwrite octets of queue/<name> at off. */
static void
poke(struct fixture *f, const char *name, off_t off, const void *p, size_t n)
{
	char path[512];
	int fd;

	path_of(f, "queue", name, path, sizeof(path));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

static off_t
size_of(struct fixture *f, const char *sub, const char *name)
{
	char p[512];
	struct stat st;

	path_of(f, sub, name, p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void
touch(struct fixture *f, const char *sub, const char *name, const char *text)
{
	char p[512];
	FILE *fp;

	path_of(f, sub, name, p, sizeof(p));
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* ------------------------------------------------------------------ tests */

static void
open_makes_every_directory(void **state)
{
	struct fixture *f = *state;
	char p[512];
	struct stat st;
	static const char *const subs[] = {"tmp", "queue", "corrupt"};
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->spooldir, subs[i]);
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			fail_msg("expected directory %s", p);
	}
}

static void
ids_are_unique_ordered_and_safe(void **state)
{
	char prev[SPOOL_ID_LEN + 1] = "", id[SPOOL_ID_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		spool_new_id(id);
		assert_int_equal(strlen(id), SPOOL_ID_LEN);
		assert_int_equal(strspn(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
		    SPOOL_ID_LEN);
		if (strcmp(prev, id) >= 0)
			fail_msg("IDs out of order: %s then %s", prev, id);
		memcpy(prev, id, sizeof(prev));
	}
}

/* Messages committed together share one file, named by the first. */
static void
group_shares_one_file_and_survives_a_restart(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d[3];
	struct spool_msg *m[3];
	char ids[3][SPOOL_ID_LEN + 1];
	static const char *const texts[] = {
	    "first\r\n", "second message\r\n", ""};
	size_t i;

	for (i = 0; i < 3; i++) {
		d[i] = draft(f, texts[i], strlen(texts[i]));
		snprintf(ids[i], sizeof(ids[i]), "%s", spool_draft_id(d[i]));
	}
	commit_all(f, d, 3, 2, m);
	assert_int_equal(count_files(f, "queue"), 1);
	assert_true(exists(f, "queue", ids[0]));
	assert_int_equal(count_files(f, "tmp"), 0);
	for (i = 0; i < 3; i++)
		expect_text(f, m[i], texts[i]);
	restart(f);
	assert_int_equal(f->nfound, 3);
	for (i = 0; i < 3; i++) {
		struct found *fd = found_id(f, ids[i]);

		assert_int_equal(fd->len, strlen(texts[i]));
		assert_int_equal(fd->nonce, 1000 + i);
		assert_int_equal(fd->env.nrcpt, 2);
		assert_string_equal(fd->env.sender, "alice@example.net");
		expect_text(f, fd->m, texts[i]);
	}
}

/* A large message leaves memory for a file of its own. */
static void
large_message_gets_its_own_file(void **state)
{
	struct fixture *f = *state;
	size_t big = SPOOL_SPILL + 12345;
	struct spool_draft *d[2];
	struct spool_msg *m[2];
	char big_id[SPOOL_ID_LEN + 1];
	uint64_t len;
	char *text;
	size_t i;

	d[0] = draft(f, "small\r\n", 7);
	d[1] = draft(f, NULL, big);
	snprintf(big_id, sizeof(big_id), "%s", spool_draft_id(d[1]));
	/* Its own file exists (unnamed) before the commit. */
	assert_int_equal(spool_files(f->sp), 1);
	commit_all(f, d, 2, 1, m);
	assert_int_equal(count_files(f, "queue"), 2);
	assert_true(exists(f, "queue", big_id));
	restart(f);
	assert_int_equal(f->nfound, 2);
	text = text_of(f, found_id(f, big_id)->m, &len);
	assert_int_equal(len, big);
	for (i = 0; i < big; i++)
		if (text[i] != (char)('a' + i % 26))
			fail_msg("octet %zu of the large text differs", i);
	free(text);
}

static void
discarded_drafts_leave_nothing(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *a = draft(f, "x", 1),
	                   *b = draft(f, NULL, SPOOL_SPILL + 1);

	spool_draft_free(f->sp, a);
	spool_draft_free(f->sp, b);
	assert_int_equal(spool_files(f->sp), 0);
	assert_int_equal(count_files(f, "queue"), 0);
	assert_int_equal(count_files(f, "tmp"), 0);
	restart(f);
	assert_int_equal(f->nfound, 0);
}

/* A file is never named over another: the commit fails instead. */
static void
taken_name_fails_the_commit_and_replaces_nothing(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "new\r\n", 5);
	struct spool_commit c;
	struct envelope env;
	char id[SPOOL_ID_LEN + 1];

	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	touch(f, "queue", id, "already here");
	sample_env(&env, 1);
	c.draft = d;
	c.env = &env;
	c.nonce = 1;
	spool_commit_group(f->sp, &c, 1);
	assert_int_equal(c.err, EEXIST);
	assert_null(c.msg);
	spool_commit_done(f->sp, &c, 1);
	envelope_free(&env);
	assert_int_equal(size_of(f, "queue", id), 12);
	assert_int_equal(count_files(f, "tmp"), 0);
}

/*
 * The hole this layout closes: a descriptor of a finished message never
 * shows a later message, because no file is reused.
 */
static void
finished_file_is_never_reused(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d;
	struct spool_msg *m;
	struct stat old_st, new_st;
	uint64_t off, len;
	char buf[32], id[SPOOL_ID_LEN + 1];
	int old_fd, new_fd;

	d = draft(f, "secret one\r\n", 12);
	commit_all(f, &d, 1, 1, &m);
	old_fd = spool_msg_open(f->sp, m, &off, &len);
	assert_true(old_fd >= 0);
	assert_int_equal(fstat(old_fd, &old_st), 0);
	assert_int_equal(spool_msg_done(f->sp, m), 0);
	assert_int_equal(count_files(f, "queue"), 0);

	d = draft(f, "secret two\r\n", 12);
	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	commit_all(f, &d, 1, 1, &m);
	new_fd = spool_msg_open(f->sp, m, &off, &len);
	assert_true(new_fd >= 0);
	assert_int_equal(fstat(new_fd, &new_st), 0);
	assert_true(old_st.st_ino != new_st.st_ino);
	assert_int_equal(pread(old_fd, buf, 12, SPOOL_DATA_OFFSET), 12);
	assert_memory_equal(buf, "secret one\r\n", 12);
	close(old_fd);
	close(new_fd);
	assert_int_equal(spool_msg_done(f->sp, m), 0);
}

static void
status_records_are_applied_per_message(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d[2];
	struct spool_msg *m[2];
	char ids[2][SPOOL_ID_LEN + 1];
	struct found *a, *b;

	d[0] = draft(f, "a\r\n", 3);
	d[1] = draft(f, "b\r\n", 3);
	snprintf(ids[0], sizeof(ids[0]), "%s", spool_draft_id(d[0]));
	snprintf(ids[1], sizeof(ids[1]), "%s", spool_draft_id(d[1]));
	commit_all(f, d, 2, 3, m);
	assert_int_equal(
	    spool_msg_status(f->sp, m[0], SPOOL_ST_DELIVERED, "0"), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m[1], SPOOL_ST_FAILED, "2"), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m[1], SPOOL_ST_DEFERRED, "1 1800000000 3"),
	    0);
	/* a later record for the same recipient wins */
	assert_int_equal(
	    spool_msg_status(f->sp, m[1], SPOOL_ST_DEFERRED, "1 1800000500 4"),
	    0);
	restart(f);
	a = found_id(f, ids[0]);
	b = found_id(f, ids[1]);
	assert_int_equal(a->env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(a->env.rcpt[1].state, ENV_RCPT_PENDING);
	assert_int_equal(a->env.rcpt[2].state, ENV_RCPT_PENDING);
	assert_int_equal(b->env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(b->env.rcpt[2].state, ENV_RCPT_FAILED);
	assert_int_equal(b->env.rcpt[1].next_try, 1800000500);
	assert_int_equal(b->env.rcpt[1].attempts, 4);
}

static void
bad_status_records_are_not_applied(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "a\r\n", 3);
	struct spool_msg *m;
	char id[SPOOL_ID_LEN + 1];
	char big[5000];
	off_t before;

	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	commit_all(f, &d, 1, 2, &m);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, big), -1);
	/* for no recipient, and malformed: skipped, the walk goes on */
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "7"), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DEFERRED, "0 x 1"), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "1"), 0);
	before = size_of(f, "queue", id);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "0"), 0);
	/* the last record is torn by a crash: ignored */
	{
		char p[512];

		path_of(f, "queue", id, p, sizeof(p));
		assert_int_equal(truncate(p, size_of(f, "queue", id) - 2), 0);
	}
	restart(f);
	assert_int_equal(f->found[0].env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(f->found[0].env.rcpt[1].state, ENV_RCPT_DONE);
	/* the next record goes where the torn one started */
	assert_int_equal(
	    spool_msg_status(f->sp, f->found[0].m, SPOOL_ST_DELIVERED, "0"), 0);
	assert_int_equal(size_of(f, "queue", id), before + 12);
	restart(f);
	assert_int_equal(f->found[0].env.rcpt[0].state, ENV_RCPT_DONE);
}

/* Numbers that do not fit, and what is not exactly the writer's format:
 * not applied, never wrapped around, never applied in part. */
static void
bad_numbers_in_status_records_are_not_applied(void **state)
{
	static const char *const bad[] = {
	    "0 18446744073709551617 3", /* over UINT64_MAX */
	    "0 9223372036854775808 3",  /* over INT64_MAX */
	    "0 100 4294967297",         /* attempts over UINT32_MAX */
	    "0 100 3 4",
	    " 0 100 3",
	    "0  100 3",
	    "0 +100 3",
	    "0 100 3 ",
	};
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "a\r\n", 3);
	struct spool_msg *m;
	const struct envelope *env;
	size_t i;

	commit_all(f, &d, 1, 2, &m);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    spool_msg_status(f->sp, m, SPOOL_ST_DEFERRED, bad[i]), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "1x"), 0);
	assert_int_equal(spool_msg_status(f->sp, m, SPOOL_ST_FAILED, " 1"), 0);
	restart(f);
	env = &f->found[0].env;
	if (env->rcpt[0].attempts != 0 || env->rcpt[0].next_try != 0)
		fail_msg("expected recipient 0 untouched by bad records, got "
		         "attempts %u, next try %lld",
		    env->rcpt[0].attempts, (long long)env->rcpt[0].next_try);
	if (env->rcpt[1].state != ENV_RCPT_PENDING)
		fail_msg("expected recipient 1 pending after bad records, got "
		         "state %d",
		    (int)env->rcpt[1].state);
}

/* A record whose checksum fails ends the walk. */
static void
records_after_a_bad_checksum_are_ignored(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "a\r\n", 3);
	struct spool_msg *m;
	char id[SPOOL_ID_LEN + 1];
	off_t at;

	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	commit_all(f, &d, 1, 2, &m);
	at = size_of(f, "queue", id);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "0"), 0);
	assert_int_equal(
	    spool_msg_status(f->sp, m, SPOOL_ST_DELIVERED, "1"), 0);
	poke(f, id, at + 7, "9", 1); /* the first record's value */
	restart(f);
	assert_int_equal(f->found[0].env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(f->found[0].env.rcpt[1].state, ENV_RCPT_PENDING);
}

static void
done_messages_stay_done_and_the_last_removes_the_file(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d[2];
	struct spool_msg *m[2];
	char ids[2][SPOOL_ID_LEN + 1];

	d[0] = draft(f, "a\r\n", 3);
	d[1] = draft(f, "b\r\n", 3);
	snprintf(ids[0], sizeof(ids[0]), "%s", spool_draft_id(d[0]));
	snprintf(ids[1], sizeof(ids[1]), "%s", spool_draft_id(d[1]));
	commit_all(f, d, 2, 1, m);
	assert_int_equal(spool_msg_done(f->sp, m[0]), 0);
	assert_true(exists(f, "queue", ids[0]));
	restart(f);
	assert_int_equal(f->nfound, 1);
	assert_string_equal(spool_msg_id(f->found[0].m), ids[1]);
	assert_int_equal(spool_msg_done(f->sp, f->found[0].m), 0);
	assert_int_equal(count_files(f, "queue"), 0);
	f->nfound = 0;
	envelope_free(&f->found[0].env);
	restart(f);
	assert_int_equal(f->nfound, 0);
}

static void
damaged_header_moves_the_file_to_corrupt(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "a\r\n", 3);
	char id[SPOOL_ID_LEN + 1];

	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	commit_all(f, &d, 1, 1, NULL);
	poke(f, id, 9, "\x7f", 1);
	restart(f);
	assert_int_equal(f->nfound, 0);
	assert_false(exists(f, "queue", id));
	assert_true(exists(f, "corrupt", id));
}

/* One message's envelope damaged: the others are still delivered, and
 * a copy of the file is kept in corrupt/. */
static void
damaged_envelope_spares_the_other_messages(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d[2];
	char ids[2][SPOOL_ID_LEN + 1];

	d[0] = draft(f, "aaaa\r\n", 6);
	d[1] = draft(f, "bbbb\r\n", 6);
	snprintf(ids[0], sizeof(ids[0]), "%s", spool_draft_id(d[0]));
	snprintf(ids[1], sizeof(ids[1]), "%s", spool_draft_id(d[1]));
	commit_all(f, d, 2, 1, NULL);
	/* the first message's envelope follows its 6 octets of text */
	poke(f, ids[0], SPOOL_DATA_OFFSET + 6 + 2, "\x01", 1);
	restart(f);
	assert_int_equal(f->nfound, 1);
	assert_string_equal(spool_msg_id(f->found[0].m), ids[1]);
	expect_text(f, f->found[0].m, "bbbb\r\n");
	assert_true(exists(f, "corrupt", ids[0]));
	assert_true(exists(f, "queue", ids[0]));
}

static void
truncated_file_moves_to_corrupt(void **state)
{
	struct fixture *f = *state;
	struct spool_draft *d = draft(f, "some text\r\n", 11);
	char id[SPOOL_ID_LEN + 1], p[512];

	snprintf(id, sizeof(id), "%s", spool_draft_id(d));
	commit_all(f, &d, 1, 1, NULL);
	path_of(f, "queue", id, p, sizeof(p));
	assert_int_equal(truncate(p, 40), 0);
	restart(f);
	assert_int_equal(f->nfound, 0);
	assert_true(exists(f, "corrupt", id));
}

static void
recovery_cleans_tmp_old_spares_and_strangers(void **state)
{
	struct fixture *f = *state;

	touch(f, "tmp", "t123.4", "never named");
	touch(f, "queue", "f0000000042", "an old spare file");
	touch(f, "queue", "stranger", "what is this");
	restart(f);
	assert_int_equal(f->nfound, 0);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "queue"), 0);
	assert_true(exists(f, "corrupt", "stranger"));
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A message in the one-message format of earlier releases. */
static void
write_v1(struct fixture *f, const char *id, const char *text)
{
	unsigned char hdr[64], rec[16];
	struct envelope env;
	struct buf eb;
	size_t n = strlen(text);
	char p[512];
	int fd;

	sample_env(&env, 2);
	buf_init(&eb, 1 << 20);
	assert_int_equal(envelope_encode(&env, &eb), 0);
	envelope_free(&env);
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "TERNQ\0\0\1", 8);
	put_le(hdr + 8, 64, 8);
	put_le(hdr + 16, n, 8);
	put_le(hdr + 24, 64 + n, 8);
	put_le(hdr + 32, eb.len, 4);
	put_le(hdr + 36, crc32c(0, eb.data, eb.len), 4);
	put_le(hdr + 40, crc32c(0, hdr, 40), 4);
	/* and a status record: recipient 0 delivered */
	rec[0] = 'D';
	put_le(rec + 1, 1, 4);
	rec[5] = '0';
	put_le(rec + 6, crc32c(crc32c(0, id, strlen(id)), rec, 6), 4);
	path_of(f, "queue", id, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, 64, 0), 64);
	assert_int_equal(pwrite(fd, text, n, 64), (ssize_t)n);
	assert_int_equal(
	    pwrite(fd, eb.data, eb.len, (off_t)(64 + n)), (ssize_t)eb.len);
	assert_int_equal(pwrite(fd, rec, 10, (off_t)(64 + n + eb.len)), 10);
	close(fd);
	buf_free(&eb);
}

static void
earlier_format_is_still_delivered(void **state)
{
	struct fixture *f = *state;
	char id[SPOOL_ID_LEN + 1];

	spool_new_id(id);
	write_v1(f, id, "old text\r\n");
	restart(f);
	assert_int_equal(f->nfound, 1);
	assert_string_equal(spool_msg_id(f->found[0].m), id);
	expect_text(f, f->found[0].m, "old text\r\n");
	assert_int_equal(f->found[0].env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(f->found[0].env.rcpt[1].state, ENV_RCPT_PENDING);
	/* records keep being written, and read, in its own format */
	assert_int_equal(
	    spool_msg_status(f->sp, f->found[0].m, SPOOL_ST_FAILED, "1"), 0);
	restart(f);
	assert_int_equal(f->found[0].env.rcpt[1].state, ENV_RCPT_FAILED);
	assert_int_equal(spool_msg_done(f->sp, f->found[0].m), 0);
	assert_int_equal(count_files(f, "queue"), 0);
	envelope_free(&f->found[0].env);
	f->nfound = 0;
}

static void
free_space_is_reported(void **state)
{
	struct fixture *f = *state;
	uint64_t bytes = 0;

	assert_int_equal(spool_free_space(f->sp, &bytes), 0);
	assert_true(bytes > 0);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(open_makes_every_directory),
	    cmocka_unit_test(ids_are_unique_ordered_and_safe),
	    T(group_shares_one_file_and_survives_a_restart),
	    T(large_message_gets_its_own_file),
	    T(discarded_drafts_leave_nothing),
	    T(taken_name_fails_the_commit_and_replaces_nothing),
	    T(finished_file_is_never_reused),
	    T(status_records_are_applied_per_message),
	    T(bad_status_records_are_not_applied),
	    T(bad_numbers_in_status_records_are_not_applied),
	    T(records_after_a_bad_checksum_are_ignored),
	    T(done_messages_stay_done_and_the_last_removes_the_file),
	    T(damaged_header_moves_the_file_to_corrupt),
	    T(damaged_envelope_spares_the_other_messages),
	    T(truncated_file_moves_to_corrupt),
	    T(recovery_cleans_tmp_old_spares_and_strangers),
	    T(earlier_format_is_still_delivered),
	    T(free_space_is_reported),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
