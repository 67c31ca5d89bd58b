/*
 * Unit tests of Maildir delivery: the copy's fixed name, a repeated
 * attempt finding the copy an earlier one made (in new/ or cur/), the
 * creation of a missing Maildir, and the sweep of stale files in tmp/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildir.h"

#define TEXT "Subject: t\r\n\r\nhello\r\n"
#define UNIQUE "1767225600.Q1K1C0B02NR8000N0123456789abcdefR0"

struct fixture {
	char dir[64];
	char maildir[128];
	char srcpath[128];
	int src;
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

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-maildir-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* two levels that do not exist yet */
	snprintf(f->maildir, sizeof(f->maildir), "%s/mail/bob", f->dir);
	snprintf(f->srcpath, sizeof(f->srcpath), "%s/src", f->dir);
	f->src = open(f->srcpath, O_RDWR | O_CREAT, 0600);
	assert_true(f->src >= 0);
	/* the text at offset 64, as in a queue file */
	assert_int_equal(
	    pwrite(f->src, TEXT, strlen(TEXT), 64), (ssize_t)strlen(TEXT));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close(f->src);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
deliver(struct fixture *f, struct maildir_delivery *d, int look)
{
	memset(d, 0, sizeof(*d));
	d->src_fd = f->src;
	d->src_off = 64;
	d->src_len = strlen(TEXT);
	d->dir = f->maildir;
	d->return_path = "alice@example.net";
	d->delivered_to = "bob@example.org";
	d->hostname = "mx.example.org";
	d->unique = UNIQUE;
	d->look_for_copy = look;
	d->clean_tmp = 1;
	maildir_deliver(d);
	if (d->status != MAILDIR_OK)
		fail_msg("delivery failed: %s %s", d->dsn, d->error);
}

static size_t
count(struct fixture *f, const char *sub)
{
	char p[256];
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	snprintf(p, sizeof(p), "%s/%s", f->maildir, sub);
	dp = opendir(p);
	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static void
copy_has_its_fixed_name_and_the_text(void **state)
{
	struct fixture *f = *state;
	struct maildir_delivery d;
	const char *want = "Return-Path: <alice@example.net>\n"
	                   "Delivered-To: bob@example.org\n"
	                   "Subject: t\n\nhello\n";
	char path[512], buf[256], name[256];
	ssize_t n;
	int fd;

	deliver(f, &d, 0);
	snprintf(name, sizeof(name), "%s.mx.example.org,S=%zu", UNIQUE,
	    strlen(want));
	assert_string_equal(d.name, name);
	assert_int_equal(d.found_copy, 0);
	snprintf(path, sizeof(path), "%s/new/%s", f->maildir, d.name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "cur"), 0);
}

/* An attempt repeated after its outcome was lost: one copy, not two. */
static void
repeated_attempt_keeps_one_copy(void **state)
{
	struct fixture *f = *state;
	struct maildir_delivery d;

	deliver(f, &d, 0);
	deliver(f, &d, 0); /* the link finds the name taken */
	assert_int_equal(d.found_copy, 1);
	assert_int_equal(count(f, "new"), 1);
	assert_int_equal(count(f, "tmp"), 0);
	deliver(f, &d, 1); /* looked for first: nothing written */
	assert_int_equal(d.found_copy, 1);
	assert_int_equal(count(f, "new"), 1);
}

/* The user's client has moved the copy to cur/ (and flagged it). */
static void
copy_already_read_is_found_in_cur(void **state)
{
	struct fixture *f = *state;
	struct maildir_delivery d;
	char from[512], to[600];

	deliver(f, &d, 0);
	snprintf(from, sizeof(from), "%s/new/%s", f->maildir, d.name);
	snprintf(to, sizeof(to), "%s/cur/%s:2,S", f->maildir, d.name);
	assert_int_equal(rename(from, to), 0);
	deliver(f, &d, 1);
	assert_int_equal(d.found_copy, 1);
	assert_int_equal(count(f, "new"), 0);
	assert_int_equal(count(f, "cur"), 1);
	/* a delivery that does not look makes a second copy: looking is
	 * what the queue asks for after a crash */
	deliver(f, &d, 0);
	assert_int_equal(d.found_copy, 0);
	assert_int_equal(count(f, "new"), 1);
}

static void
stale_files_in_tmp_are_removed(void **state)
{
	struct fixture *f = *state;
	struct maildir_delivery d;
	struct timeval old[2];
	char stale[256], fresh[256];
	FILE *fp;

	deliver(f, &d, 0);
	snprintf(stale, sizeof(stale), "%s/tmp/crashed", f->maildir);
	snprintf(fresh, sizeof(fresh), "%s/tmp/running", f->maildir);
	fp = fopen(stale, "w");
	assert_non_null(fp);
	fclose(fp);
	fp = fopen(fresh, "w");
	assert_non_null(fp);
	fclose(fp);
	memset(old, 0, sizeof(old));
	old[0].tv_sec = old[1].tv_sec = time(NULL) - MAILDIR_STALE_SECONDS - 60;
	assert_int_equal(utimes(stale, old), 0);
	deliver(f, &d, 0);
	assert_int_equal(d.cleaned, 1);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(copy_has_its_fixed_name_and_the_text),
	    T(repeated_attempt_keeps_one_copy),
	    T(copy_already_read_is_found_in_cur),
	    T(stale_files_in_tmp_are_removed),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
