/*
 * Unit tests of the spool: message files in a scratch directory, their
 * commit, load, status records, damage detection and housekeeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "envelope.h"
#include "spool.h"

struct fixture {
	char dir[64];
	char spooldir[128];
	struct spool *sp;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-spool-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* a directory that does not exist yet: spool_open makes it */
	snprintf(f->spooldir, sizeof(f->spooldir), "%s/var/spool", f->dir);
	f->sp = spool_open(f->spooldir, err, sizeof(err));
	if (f->sp == NULL)
		fail_msg("spool_open %s: %s", f->spooldir, err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	spool_close(f->sp);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
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

/*
 * Files in a spool directory.  "spares" counts the spare files in queue/
 * (f<number>), "queue" only the messages there.
 */
static size_t
count_files(const struct fixture *f, const char *sub)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	int spares = strcmp(sub, "spares") == 0;

	snprintf(p, sizeof(p), "%s/%s", f->spooldir, spares ? "queue" : sub);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (strcmp(sub, "queue") == 0 && de->d_name[0] == 'f')
			continue;
		if (spares && de->d_name[0] != 'f')
			continue;
		n++;
	}
	closedir(d);
	return n;
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

/* Create, write text, commit.  The ID comes back in id. */
static void
store(struct fixture *f, const char *text, size_t nrcpt,
    char id[SPOOL_ID_LEN + 1])
{
	struct envelope env;
	size_t n = strlen(text);
	unsigned slot;
	int fd;

	fd = spool_create(f->sp, id, &slot);
	assert_true(fd >= 0);
	assert_false(exists(f, "queue", id));
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	sample_env(&env, nrcpt);
	if (spool_commit(f->sp, id, slot, fd, n, &env) < 0)
		fail_msg("spool_commit: %s", strerror(errno));
	envelope_free(&env);
	assert_true(exists(f, "queue", id));
}

static void
expect_load_error_at(struct fixture *f, const char *id, const char *want,
    const char *file, int line)
{
	struct envelope env;
	uint64_t len;
	char err[256] = "";

	if (spool_load(f->sp, id, &env, &len, err, sizeof(err)) == 0) {
		envelope_free(&env);
		print_error(
		    "%s: expected load error \"%s\", got success\n", id, want);
		_fail(file, line);
	}
	if (strstr(err, want) == NULL) {
		print_error("%s: expected load error \"%s\", got \"%s\"\n", id,
		    want, err);
		_fail(file, line);
	}
}

#define expect_load_error(f, id, want) \
	expect_load_error_at(f, id, want, __FILE__, __LINE__)

static void
load_ok(struct fixture *f, const char *id, struct envelope *env, uint64_t *len)
{
	char err[256];

	if (spool_load(f->sp, id, env, len, err, sizeof(err)) < 0)
		fail_msg("spool_load %s: %s", id, err);
}

/* Overwrite octets of queue/<id> at off. */
static void
poke(struct fixture *f, const char *id, off_t off, const void *p, size_t n)
{
	char path[512];
	int fd;

	path_of(f, "queue", id, path, sizeof(path));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

static off_t
size_of(struct fixture *f, const char *id)
{
	char path[512];
	struct stat st;

	path_of(f, "queue", id, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
cut(struct fixture *f, const char *id, off_t len)
{
	char path[512];

	path_of(f, "queue", id, path, sizeof(path));
	assert_int_equal(truncate(path, len), 0);
}

static void
flip(struct fixture *f, const char *id, off_t off)
{
	char path[512];
	unsigned char c;
	int fd;

	path_of(f, "queue", id, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Append raw octets to queue/<id>. */
static void
append_raw(struct fixture *f, const char *id, const void *p, size_t n)
{
	poke(f, id, size_of(f, id), p, n);
}

#define FIX struct fixture *f = *state

/* ------------------------------------------------------------ messages */

static void
open_makes_every_directory(void **state)
{
	FIX;
	char p[512];
	struct stat st;
	static const char *const subs[] = {"tmp", "queue", "corrupt"};
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f->spooldir, subs[i]);
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			fail_msg("%s: expected a directory", p);
	}
	assert_string_equal(spool_dir(f->sp), f->spooldir);
}

static void
ids_are_unique_ordered_and_safe(void **state)
{
	char prev[SPOOL_ID_LEN + 1] = "", id[SPOOL_ID_LEN + 1];
	size_t i, k;

	(void)state;
	for (i = 0; i < 5000; i++) {
		spool_new_id(id);
		assert_int_equal(strlen(id), SPOOL_ID_LEN);
		for (k = 0; k < SPOOL_ID_LEN; k++)
			if (!((id[k] >= '0' && id[k] <= '9') ||
			        (id[k] >= 'A' && id[k] <= 'Z')))
				fail_msg("ID %s: bad character", id);
		if (strcmp(prev, id) >= 0)
			fail_msg("ID %s came after %s", id, prev);
		memcpy(prev, id, sizeof(id));
	}
}

static void
commit_and_load_round_trip(void **state)
{
	FIX;
	static const char text[] = "Subject: hi\r\n\r\nbody\r\n";
	char id[SPOOL_ID_LEN + 1], got[64];
	struct envelope env;
	uint64_t len;
	int fd;

	store(f, text, 2, id);
	assert_false(exists(f, "tmp", id));
	assert_true(exists(f, "queue", id));
	assert_int_equal(spool_sync_queue_dir(f->sp), 0);
	load_ok(f, id, &env, &len);
	assert_int_equal(len, sizeof(text) - 1);
	assert_string_equal(env.sender, "alice@example.net");
	assert_string_equal(env.helo, "client.example");
	assert_int_equal(env.nrcpt, 2);
	assert_string_equal(env.rcpt[1].addr, "rcpt1@example.org");
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_PENDING);
	envelope_free(&env);
	fd = spool_open_data(f->sp, id);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, len, SPOOL_DATA_OFFSET), (ssize_t)len);
	close(fd);
	assert_memory_equal(got, text, len);
}

static void
empty_message_round_trip(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len = 99;

	store(f, "", 1, id);
	load_ok(f, id, &env, &len);
	assert_int_equal(len, 0);
	envelope_free(&env);
}

static void
failed_commit_commits_nothing(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1], addr[ENV_MAX_STRING + 2];
	struct envelope env;
	unsigned slot;
	int fd;

	fd = spool_create(f->sp, id, &slot);
	assert_true(fd >= 0);
	envelope_init(&env);
	envelope_set(&env.sender, "");
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	envelope_add_rcpt(&env, addr, NULL, NULL, 0);
	assert_int_equal(spool_commit(f->sp, id, slot, fd, 0, &env), -1);
	envelope_free(&env);
	assert_false(exists(f, "queue", id));
	/* The file is the slot's still; given back, it serves again. */
	spool_discard(f->sp, slot, -1);
	assert_int_equal(spool_free_files(f->sp), 1);
	assert_int_equal(count_files(f, "spares"), 1);
}

static void
discard_gives_the_file_back(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1], again[SPOOL_ID_LEN + 1];
	unsigned slot, slot2;
	int fd;

	fd = spool_create(f->sp, id, &slot);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	spool_discard(f->sp, slot, fd);
	assert_int_equal(count_files(f, "queue"), 0);
	assert_int_equal(spool_free_files(f->sp), 1);
	/* The next message gets the same file, not a new one. */
	fd = spool_create(f->sp, again, &slot2);
	assert_true(fd >= 0);
	assert_int_equal(slot2, slot);
	assert_int_equal(count_files(f, "spares"), 1);
	spool_discard(f->sp, slot2, fd);
}

/* ------------------------------------------------------- status records */

static void
status_records_are_applied(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;

	store(f, "x\r\n", 3, id);
	assert_int_equal(
	    spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "0"), 0);
	assert_int_equal(
	    spool_append_status(f->sp, id, SPOOL_ST_DEFERRED, "1 1700000600 3"),
	    0);
	assert_int_equal(
	    spool_append_status(f->sp, id, SPOOL_ST_FAILED, "2"), 0);
	load_ok(f, id, &env, &len);
	assert_int_equal(len, 3);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[1].next_try, 1700000600);
	assert_int_equal(env.rcpt[1].attempts, 3);
	assert_int_equal(env.rcpt[2].state, ENV_RCPT_FAILED);
	envelope_free(&env);
}

static void
later_status_records_win(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;

	store(f, "x\r\n", 1, id);
	spool_append_status(f->sp, id, SPOOL_ST_DEFERRED, "0 100 1");
	spool_append_status(f->sp, id, SPOOL_ST_DEFERRED, "0 200 2");
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "0");
	load_ok(f, id, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(env.rcpt[0].next_try, 200);
	assert_int_equal(env.rcpt[0].attempts, 2);
	envelope_free(&env);
}

static void
torn_status_tail_is_ignored(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;
	/* "D", length 1, "1", then the CRC never made it */
	static const unsigned char torn[] = {'D', 1, 0, 0, 0, '1', 0x12};

	store(f, "x\r\n", 2, id);
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "0");
	append_raw(f, id, torn, sizeof(torn));
	load_ok(f, id, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	envelope_free(&env);
	/* a header alone, too */
	cut(f, id, size_of(f, id) - (off_t)sizeof(torn));
	append_raw(f, id, torn, 3);
	load_ok(f, id, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_DONE);
	envelope_free(&env);
}

static void
status_records_after_a_bad_checksum_are_ignored(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;
	off_t bad;

	store(f, "x\r\n", 3, id);
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "0");
	bad = size_of(f, id);
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "1");
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "2");
	flip(f, id, bad + 5); /* the value of the second record */
	load_ok(f, id, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_DONE);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[2].state, ENV_RCPT_PENDING);
	envelope_free(&env);
}

static void
status_record_for_no_recipient_is_skipped(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;

	store(f, "x\r\n", 2, id);
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "7");
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "-1");
	spool_append_status(f->sp, id, SPOOL_ST_DEFERRED, "0 5");
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "1");
	load_ok(f, id, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[0].attempts, 0);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_DONE);
	envelope_free(&env);
}

/* Numbers that do not fit, and what is not exactly the writer's format:
 * ignored, never wrapped around. */
static void
bad_numbers_in_status_records_are_ignored(void **state)
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
	FIX;
	char id[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;
	size_t i;

	store(f, "x\r\n", 2, id);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		spool_append_status(f->sp, id, SPOOL_ST_DEFERRED, bad[i]);
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, "1x");
	spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, " 1");
	load_ok(f, id, &env, &len);
	if (env.rcpt[0].attempts != 0 || env.rcpt[0].next_try != 0)
		fail_msg("expected recipient 0 untouched by bad records, got "
		         "attempts %u, next try %lld",
		    env.rcpt[0].attempts, (long long)env.rcpt[0].next_try);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	envelope_free(&env);
}

static void
over_long_status_value_is_refused(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1], v[5000];

	store(f, "x\r\n", 1, id);
	memset(v, '1', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	errno = 0;
	assert_int_equal(
	    spool_append_status(f->sp, id, SPOOL_ST_DELIVERED, v), -1);
	assert_int_equal(errno, EINVAL);
}

/* -------------------------------------------------------------- damage */

static void
corrupted_header_fails_to_load(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];

	store(f, "hello\r\n", 1, id);
	flip(f, id, 0);
	expect_load_error(f, id, "bad header");
	flip(f, id, 0);
	flip(f, id, 17); /* data length */
	expect_load_error(f, id, "bad header");
	flip(f, id, 17);
	flip(f, id, 41); /* the header checksum itself */
	expect_load_error(f, id, "bad header");
}

static void
corrupted_envelope_fails_to_load(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];

	store(f, "hello\r\n", 1, id);
	flip(f, id, SPOOL_DATA_OFFSET + 7 + 3);
	expect_load_error(f, id, "envelope checksum mismatch");
}

static void
truncated_file_fails_to_load(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];

	store(f, "hello\r\n", 1, id);
	cut(f, id, size_of(f, id) - 1);
	expect_load_error(f, id, "header does not match the file size");
	cut(f, id, SPOOL_DATA_OFFSET + 3);
	expect_load_error(f, id, "header does not match the file size");
	cut(f, id, 10);
	expect_load_error(f, id, "short header");
}

static void
missing_file_fails_to_load(void **state)
{
	FIX;

	expect_load_error(f, "00000000000000", "open:");
}

static void
quarantine_moves_the_file_to_corrupt(void **state)
{
	FIX;
	char id[SPOOL_ID_LEN + 1];

	store(f, "hello\r\n", 1, id);
	flip(f, id, 0);
	assert_int_equal(spool_quarantine(f->sp, id), 0);
	assert_false(exists(f, "queue", id));
	assert_true(exists(f, "corrupt", id));
}

/* -------------------------------------------------------- housekeeping */

static void
clean_tmp_makes_leftovers_spare(void **state)
{
	FIX;
	char c[SPOOL_ID_LEN + 1], p[512];
	const char *left[] = {"1AAAAAAAAAAAAA", "1BBBBBBBBBBBBB"};
	size_t i;
	int fd;

	/* Files an older tern left in tmp/ */
	for (i = 0; i < 2; i++) {
		path_of(f, "tmp", left[i], p, sizeof(p));
		fd = open(p, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	store(f, "kept\r\n", 1, c);
	assert_int_equal(spool_clean_tmp(f->sp), 2);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "spares"), 2);
	assert_int_equal(spool_free_files(f->sp), 2);
	assert_true(exists(f, "queue", c));
	assert_int_equal(spool_clean_tmp(f->sp), 0);
}

struct seen {
	char ids[8][SPOOL_ID_LEN + 1];
	size_t n;
};

static void
scan_one(void *arg, const char *id)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", id);
}

static void
scan_lists_messages_and_moves_strangers_away(void **state)
{
	FIX;
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], p[512];
	struct seen s;
	int fd;

	memset(&s, 0, sizeof(s));
	store(f, "1\r\n", 1, a);
	store(f, "2\r\n", 1, b);
	path_of(f, "queue", "not-an-id", p, sizeof(p));
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(spool_scan(f->sp, scan_one, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true((strcmp(s.ids[0], a) == 0 && strcmp(s.ids[1], b) == 0) ||
	    (strcmp(s.ids[0], b) == 0 && strcmp(s.ids[1], a) == 0));
	assert_false(exists(f, "queue", "not-an-id"));
	assert_true(exists(f, "corrupt", "not-an-id"));
}

static void
free_space_is_reported(void **state)
{
	FIX;
	uint64_t bytes = 0;

	assert_int_equal(spool_free_space(f->sp, &bytes), 0);
	assert_true(bytes > 0);
}

static void
removed_files_are_reused_without_old_content(void **state)
{
	FIX;
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], got[8];
	struct envelope env;
	uint64_t len;
	int fd;

	/* a long message with delivery records, then retired */
	store(f, "a much longer first message\r\n", 3, a);
	spool_append_status(f->sp, a, SPOOL_ST_DELIVERED, "0");
	spool_append_status(f->sp, a, SPOOL_ST_FAILED, "1");
	assert_int_equal(spool_remove(f->sp, a), 0);
	assert_false(exists(f, "queue", a));
	assert_int_equal(spool_free_files(f->sp), 1);
	/* the next message takes that file */
	store(f, "short\r\n", 3, b);
	assert_int_equal(spool_free_files(f->sp), 0);
	assert_int_equal(count_files(f, "spares"), 0);
	load_ok(f, b, &env, &len);
	assert_int_equal(len, 7);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	envelope_free(&env);
	fd = spool_open_data(f->sp, b);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, 7, SPOOL_DATA_OFFSET), 7);
	close(fd);
	assert_memory_equal(got, "short\r\n", 7);
}

static void
reused_file_is_handed_out_blank(void **state)
{
	FIX;
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], got[4096];
	struct stat st;
	unsigned slot;
	size_t i;
	int fd;

	store(f, "the previous message, private to its recipients\r\n", 1, a);
	assert_int_equal(spool_remove(f->sp, a), 0);
	assert_int_equal(spool_free_files(f->sp), 1);
	/* The descriptor goes to another process: nothing of a to read,
	 * and no old octets to commit by claiming a longer text.  The file
	 * keeps its size (a commit that does not grow it need not write
	 * the inode), all zeros. */
	fd = spool_create(f->sp, b, &slot);
	assert_true(fd >= 0);
	assert_int_equal(spool_free_files(f->sp), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > SPOOL_DATA_OFFSET);
	assert_true((size_t)st.st_size <= sizeof(got));
	assert_int_equal(pread(fd, got, sizeof(got), 0), st.st_size);
	for (i = 0; i < (size_t)st.st_size; i++)
		if (got[i] != 0)
			fail_msg("octet %zu of the reused file is %#x, not 0",
			    i, (unsigned char)got[i]);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), SPOOL_DATA_OFFSET);
	spool_discard(f->sp, slot, fd);
}

static void
earlier_records_in_a_reused_file_are_not_applied(void **state)
{
	FIX;
	char a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1];
	struct envelope env;
	uint64_t len;

	/* Same text and envelope: b's records would sit exactly where a's
	 * are.  Only the queue ID in their checksum tells them apart. */
	store(f, "same\r\n", 2, a);
	assert_int_equal(
	    spool_append_status(f->sp, a, SPOOL_ST_DELIVERED, "0"), 0);
	assert_int_equal(
	    spool_append_status(f->sp, a, SPOOL_ST_FAILED, "1"), 0);
	assert_int_equal(spool_remove(f->sp, a), 0);
	store(f, "same\r\n", 2, b);
	load_ok(f, b, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_PENDING);
	envelope_free(&env);
	/* b's own records go where a's were, and only they count. */
	assert_int_equal(
	    spool_append_status(f->sp, b, SPOOL_ST_FAILED, "1"), 0);
	load_ok(f, b, &env, &len);
	assert_int_equal(env.rcpt[0].state, ENV_RCPT_PENDING);
	assert_int_equal(env.rcpt[1].state, ENV_RCPT_FAILED);
	envelope_free(&env);
}

static void
free_pool_survives_a_restart(void **state)
{
	FIX;
	char a[SPOOL_ID_LEN + 1], err[256];

	store(f, "x\r\n", 1, a);
	assert_int_equal(spool_remove(f->sp, a), 0);
	spool_close(f->sp);
	f->sp = spool_open(f->spooldir, err, sizeof(err));
	assert_non_null(f->sp);
	assert_int_equal(spool_free_files(f->sp), 1);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(open_makes_every_directory),
	    cmocka_unit_test(ids_are_unique_ordered_and_safe),
	    T(commit_and_load_round_trip),
	    T(empty_message_round_trip),
	    T(failed_commit_commits_nothing),
	    T(discard_gives_the_file_back),
	    T(status_records_are_applied),
	    T(later_status_records_win),
	    T(torn_status_tail_is_ignored),
	    T(status_records_after_a_bad_checksum_are_ignored),
	    T(status_record_for_no_recipient_is_skipped),
	    T(bad_numbers_in_status_records_are_ignored),
	    T(over_long_status_value_is_refused),
	    T(corrupted_header_fails_to_load),
	    T(corrupted_envelope_fails_to_load),
	    T(truncated_file_fails_to_load),
	    T(missing_file_fails_to_load),
	    T(quarantine_moves_the_file_to_corrupt),
	    T(clean_tmp_makes_leftovers_spare),
	    T(scan_lists_messages_and_moves_strangers_away),
	    T(free_space_is_reported),
	    T(removed_files_are_reused_without_old_content),
	    T(reused_file_is_handed_out_blank),
	    T(earlier_records_in_a_reused_file_are_not_applied),
	    T(free_pool_survives_a_restart),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
