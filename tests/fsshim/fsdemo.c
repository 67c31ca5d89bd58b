/*
 * fsdemo - known-correct and known-wrong ways of making a file durable,
 * run under fsshim by test_fsshim.py.
 *
 *	fsdemo DIR SCENARIO
 *
 * Each durability scenario stores a few messages under DIR and prints
 * "ack NAME NS" (CLOCK_MONOTONIC) once it considers NAME durable, the
 * way a server answers 250; "place GLOB" first says where a stored message
 * counts as delivered.  A message's content is "token:NAME\n" repeated
 * REPEAT times.  The other scenarios exercise every wrapped function, a
 * chroot, threads and processes, threads racing to make the same
 * directories, or (faults) run commands read from standard input and
 * print "ok" or "err ERRNO-NAME" for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPEAT 150
#define NMSG 3

static const char *dir;

static void
die(const char *what)
{
	fprintf(stderr, "fsdemo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
ack(const char *name)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("ack %s %lld\n", name,
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fflush(stdout);
}

static char *
at(const char *rel)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static void
write_message(int fd, const char *name)
{
	char line[256];
	int i, n = snprintf(line, sizeof(line), "token:%s\n", name);

	for (i = 0; i < REPEAT; i++)
		if (write(fd, line, (size_t)n) != n)
			die("write");
}

static void
sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) < 0)
		die(path);
	close(fd);
}

static void
make_dir(const char *rel)
{
	if (mkdir(at(rel), 0755) < 0 && errno != EEXIST)
		die(rel);
}

/* tmp/, fdatasync, link into new/, fsync new/, unlink tmp/: right when
 * DIR's own entries are durable, which sync_parent says. */
static void
maildir(int sync_parent)
{
	char name[32], tmp[64], fin[64];
	int i, fd;

	make_dir("tmp");
	make_dir("new");
	if (sync_parent)
		sync_path(dir);
	for (i = 0; i < NMSG; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(tmp, sizeof(tmp), "tmp/%s", name);
		snprintf(fin, sizeof(fin), "new/%s", name);
		if ((fd = open(at(tmp), O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			die("open");
		write_message(fd, name);
		if (fdatasync(fd) < 0 || close(fd) < 0)
			die("fdatasync");
		if (link(at(tmp), at(fin)) < 0)
			die("link");
		sync_path(at("new"));
		if (unlink(at(tmp)) < 0)
			die("unlink");
		ack(name);
	}
}

/* write NAME.tmp, [fsync], rename to NAME, [fsync DIR]. */
static void
renamed(int sync_file, int sync_dir)
{
	char name[32], tmp[64];
	int i, fd;

	for (i = 0; i < NMSG; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(tmp, sizeof(tmp), "%s.tmp", name);
		if ((fd = open(at(tmp), O_WRONLY | O_CREAT | O_TRUNC, 0600)) <
		    0)
			die("open");
		write_message(fd, name);
		if (sync_file && fsync(fd) < 0)
			die("fsync");
		close(fd);
		if (rename(at(tmp), at(name)) < 0)
			die("rename");
		if (sync_dir)
			sync_path(dir);
		ack(name);
	}
}

/* An unnamed file, synced, then linked in; proc: through /proc/self/fd,
 * otherwise AT_EMPTY_PATH. */
static void
tmpfile_link(int proc, int sync_dir)
{
	char name[32], path[64];
	int i, fd;

	for (i = 0; i < NMSG; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		if ((fd = open(dir, O_TMPFILE | O_RDWR, 0600)) < 0)
			die("open O_TMPFILE");
		write_message(fd, name);
		if (fdatasync(fd) < 0)
			die("fdatasync");
		if (proc) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if (linkat(AT_FDCWD, path, AT_FDCWD, at(name),
			        AT_SYMLINK_FOLLOW) < 0)
				die("linkat /proc/self/fd");
		} else if (linkat(fd, "", AT_FDCWD, at(name), AT_EMPTY_PATH) <
		    0) {
			die("linkat AT_EMPTY_PATH");
		}
		close(fd);
		if (sync_dir)
			sync_path(dir);
		ack(name);
	}
}

/* A new subdirectory whose own entry in DIR is never synced. */
static void
mkdir_unsynced_parent(void)
{
	char name[32], rel[64];
	int i, fd;

	make_dir("sub");
	for (i = 0; i < NMSG; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(rel, sizeof(rel), "sub/%s", name);
		if ((fd = open(at(rel), O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			die("open");
		write_message(fd, name);
		if (fsync(fd) < 0)
			die("fsync");
		close(fd);
		sync_path(at("sub"));
		ack(name);
	}
}

/* Moved from a/ to b/ with only b/ synced: it may stay in a/ too. */
static void
cross_rename(void)
{
	char name[32], a[64], b[64];
	int i, fd;

	make_dir("a");
	make_dir("b");
	sync_path(dir);
	for (i = 0; i < NMSG; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(a, sizeof(a), "a/%s", name);
		snprintf(b, sizeof(b), "b/%s", name);
		if ((fd = open(at(a), O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			die("open");
		write_message(fd, name);
		if (fsync(fd) < 0)
			die("fsync");
		close(fd);
		sync_path(at("a"));
		if (rename(at(a), at(b)) < 0)
			die("rename");
		sync_path(at("b"));
		ack(name);
	}
}

/* Every wrapped function once, on files under DIR. */
static void
every_call(void)
{
	struct iovec iov[2] = {{"ab", 2}, {"cdef", 4}};
	char path[64];
	int fd, fd2, dfd;
	off64_t in_off = 0, out_off = 3;

	if ((fd = open(at("f1"), O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
		die("open");
	if (write(fd, "hello world\n", 12) != 12 ||
	    pwrite(fd, "HE", 2, 0) != 2 || pwrite64(fd, "LL", 2, 2) != 2 ||
	    writev(fd, iov, 2) != 6 || pwritev(fd, iov, 2, 20) != 6 ||
	    pwritev2(fd, iov, 2, 40, 0) != 6 ||
	    pwritev2(fd, iov, 1, -1, 0) != 2)
		die("writes");
	if (ftruncate(fd, 44) < 0 || fallocate(fd, 0, 0, 100) < 0 ||
	    posix_fallocate(fd, 0, 120) != 0 ||
	    fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192) < 0)
		die("sizes");
	if (fsync(fd) < 0 || fdatasync(fd) < 0 ||
	    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 ||
	    syncfs(fd) < 0)
		die("syncs");
	sync();
	if ((fd2 = open64(at("f2"), O_RDWR | O_CREAT | O_EXCL, 0600)) < 0)
		die("open64");
	if (copy_file_range(fd, &in_off, fd2, &out_off, 30, 0) != 30)
		die("copy_file_range");
	if (write(fd2, "zz", 2) != 2)
		die("write");
	close(fd2);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die("open dir");
	if ((fd2 = openat(dfd, "f3", O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
		die("openat");
	if (write(fd2, "append1\n", 8) != 8 ||
	    pwrite(fd2, "append2\n", 8, 0) != 8)
		die("append");
	close(fd2);
	if ((fd2 = creat(at("f4"), 0600)) < 0 || write(fd2, "c", 1) != 1)
		die("creat");
	close(fd2);
	if (link(at("f1"), at("f1.link")) < 0 ||
	    linkat(dfd, "f2", dfd, "f2.link", 0) < 0)
		die("link");
	if (rename(at("f4"), at("f4.r")) < 0 ||
	    renameat(dfd, "f4.r", dfd, "f4.rr") < 0 ||
	    renameat2(dfd, "f4.rr", dfd, "f4.rrr", RENAME_NOREPLACE) < 0 ||
	    renameat2(dfd, "f1.link", dfd, "f4.rrr", 0) < 0)
		die("rename");
	if (renameat2(dfd, "f2.link", dfd, "f3", RENAME_NOREPLACE) == 0 ||
	    errno != EEXIST)
		die("renameat2 RENAME_NOREPLACE over a file");
	if (renameat2(dfd, "f2.link", dfd, "f3", RENAME_EXCHANGE) < 0)
		die("renameat2 RENAME_EXCHANGE");
	if (mkdir(at("d1"), 0755) < 0 || mkdirat(dfd, "d2", 0700) < 0 ||
	    mkdir(at("d1/sub"), 0755) < 0)
		die("mkdir");
	if ((fd2 = open(at("d1"), O_TMPFILE | O_WRONLY, 0600)) < 0 ||
	    write(fd2, "unnamed", 7) != 7)
		die("O_TMPFILE");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd2);
	if (linkat(AT_FDCWD, path, dfd, "d1/named", AT_SYMLINK_FOLLOW) < 0)
		die("linkat /proc/self/fd");
	close(fd2);
	if ((fd2 = openat(dfd, "d2", O_TMPFILE | O_RDWR, 0600)) < 0 ||
	    write(fd2, "unnamed2", 8) != 8)
		die("O_TMPFILE");
	if (linkat(fd2, "", dfd, "d2/named", AT_EMPTY_PATH) < 0)
		die("linkat AT_EMPTY_PATH");
	close(fd2);
	if (rename(at("d1/named"), at("d2/moved")) < 0)
		die("rename between directories");
	if (unlink(at("f2")) < 0 || unlinkat(dfd, "d1/sub", AT_REMOVEDIR) < 0 ||
	    rmdir(at("d1")) < 0 || remove(at("f4.rrr")) < 0)
		die("remove");
	if (symlink("f3", at("sym")) < 0 || chmod(at("f3"), 0640) < 0 ||
	    fchmod(fd, 0604) < 0)
		die("symlink, chmod");
	if (mkdir(at("d3"), 0755) < 0 || remove(at("d3")) < 0)
		die("remove a directory");
	if (fsync(dfd) < 0)
		die("fsync dir");
	close(dfd);
	close(fd);
}

/* Threads writing their own files, and a child process writing into a
 * file its parent then syncs. */
static void *
thread_main(void *arg)
{
	char name[32], path[4096];
	int fd, i;

	snprintf(name, sizeof(name), "t%ld", (long)(intptr_t)arg);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		die("open");
	for (i = 0; i < 50; i++)
		if (write(fd, name, strlen(name)) < 0)
			die("write");
	if (fdatasync(fd) < 0)
		die("fdatasync");
	close(fd);
	return NULL;
}

static void
threads_and_fork(void)
{
	pthread_t th[4];
	long i;
	int fd, st;
	pid_t pid;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if ((fd = open(at("shared"), O_RDWR | O_CREAT | O_EXCL, 0600)) < 0)
		die("open");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		write_message(fd, "child");
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0 || st != 0)
		die("child");
	write_message(fd, "parent");
	if (fdatasync(fd) < 0)
		die("fdatasync");
	close(fd);
	sync_path(dir);
}

/*
 * Threads making the same directories, each going on into what another
 * may have made (EEXIST), as concurrent first deliveries into a new
 * Maildir do.  The records must still come in an order that replays.
 */
static void *
race_main(void *arg)
{
	char path[4096];
	int i, fd;

	/* at() is not for threads: paths of our own. */
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/r%d", dir, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die(path);
		snprintf(path, sizeof(path), "%s/r%d/sub", dir, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die(path);
		snprintf(path, sizeof(path), "%s/r%d/sub/t%ld", dir, i,
		    (long)(intptr_t)arg);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			die(path);
		close(fd);
	}
	return NULL;
}

static void
race(void)
{
	pthread_t th[6];
	long i;

	for (i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, race_main, (void *)(intptr_t)i);
	for (i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
}

/*
 * Like the smtp process: a descriptor opened before chroot(2) and the
 * loss of root, written after.  The trace must still name its file.
 */
static void
chrooted(const char *empty)
{
	int fd = open(at("jailed"), O_RDWR | O_CREAT | O_EXCL, 0644);
	gid_t gid = 65534;

	if (fd < 0)
		die("open");
	if (chdir(empty) < 0 || chroot(empty) < 0 || chdir("/") < 0)
		die("chroot");
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		die("setresuid");
	write_message(fd, "jailed");
	if (fdatasync(fd) < 0)
		die("fdatasync");
	close(fd);
}

static const char *
errname(int e)
{
	static char buf[16];

	switch (e) {
	case EIO:
		return "EIO";
	case ENOSPC:
		return "ENOSPC";
	case EINVAL:
		return "EINVAL";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EEXIST:
		return "EEXIST";
	case ENOENT:
		return "ENOENT";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

/*
 * One command a line: write REL, fdatasync REL, fsync-dir REL,
 * rename A B, renameat2-noreplace A B, tmpfile REL, mkdir REL, close REL,
 * fallocate REL.  Files are opened, used and closed by each command.
 */
static void
faults(void)
{
	char line[512], a[256], b[256];

	while (fgets(line, sizeof(line), stdin)) {
		char cmd[64];
		int n, r = 0, fd = -1;

		a[0] = b[0] = '\0';
		n = sscanf(line, "%63s %255s %255s", cmd, a, b);
		if (n < 2)
			continue;
		errno = 0;
		if (strcmp(cmd, "write") == 0) {
			fd = open(at(a), O_WRONLY | O_CREAT, 0600);
			r = fd < 0 ? -1 : (int)write(fd, "data", 4);
		} else if (strcmp(cmd, "fdatasync") == 0) {
			fd = open(at(a), O_WRONLY | O_CREAT, 0600);
			r = fd < 0 ? -1 : fdatasync(fd);
		} else if (strcmp(cmd, "fsync-dir") == 0) {
			fd = open(at(a), O_RDONLY | O_DIRECTORY);
			r = fd < 0 ? -1 : fsync(fd);
		} else if (strcmp(cmd, "fallocate") == 0) {
			fd = open(at(a), O_WRONLY | O_CREAT, 0600);
			r = fd < 0 ? -1 : fallocate(fd, 0, 0, 4096);
		} else if (strcmp(cmd, "close") == 0) {
			fd = open(at(a), O_WRONLY | O_CREAT, 0600);
			r = fd < 0 ? -1 : close(fd);
			fd = -1;
		} else if (strcmp(cmd, "rename") == 0) {
			r = rename(at(a), at(b));
		} else if (strcmp(cmd, "renameat2-noreplace") == 0) {
			r = renameat2(
			    AT_FDCWD, at(a), AT_FDCWD, at(b), RENAME_NOREPLACE);
		} else if (strcmp(cmd, "tmpfile") == 0) {
			fd = open(at(a), O_TMPFILE | O_RDWR, 0600);
			r = fd < 0 ? -1 : 0;
		} else if (strcmp(cmd, "mkdir") == 0) {
			r = mkdir(at(a), 0755);
		} else {
			printf("unknown %s\n", cmd);
			fflush(stdout);
			continue;
		}
		if (r < 0)
			printf("err %s\n", errname(errno));
		else
			printf("ok\n");
		fflush(stdout);
		if (fd >= 0)
			close(fd);
	}
}

int
main(int argc, char **argv)
{
	const char *s;

	if (argc < 3) {
		fprintf(stderr, "usage: fsdemo DIR SCENARIO [ARG]\n");
		return 2;
	}
	dir = argv[1];
	s = argv[2];
	if (strcmp(s, "good-maildir") == 0) {
		printf("place new/*\n");
		maildir(1);
	} else if (strcmp(s, "maildir-unsynced-parent") == 0) {
		printf("place new/*\n");
		maildir(0);
	} else if (strcmp(s, "good-rename") == 0) {
		printf("place m*[0-9]\n");
		renamed(1, 1);
	} else if (strcmp(s, "rename-nosync") == 0) {
		printf("place m*[0-9]\n");
		renamed(1, 0);
	} else if (strcmp(s, "nofsync-rename") == 0) {
		printf("place m*[0-9]\n");
		renamed(0, 1);
	} else if (strcmp(s, "tmpfile-proc") == 0) {
		printf("place m*\n");
		tmpfile_link(1, 1);
	} else if (strcmp(s, "tmpfile-empty-path") == 0) {
		printf("place m*\n");
		tmpfile_link(0, 1);
	} else if (strcmp(s, "tmpfile-nodirsync") == 0) {
		printf("place m*\n");
		tmpfile_link(1, 0);
	} else if (strcmp(s, "mkdir-unsynced-parent") == 0) {
		printf("place sub/*\n");
		mkdir_unsynced_parent();
	} else if (strcmp(s, "cross-rename") == 0) {
		printf("place a/* b/*\n");
		cross_rename();
	} else if (strcmp(s, "every-call") == 0) {
		every_call();
	} else if (strcmp(s, "threads") == 0) {
		threads_and_fork();
	} else if (strcmp(s, "race") == 0) {
		race();
	} else if (strcmp(s, "chroot") == 0 && argc > 3) {
		chrooted(argv[3]);
	} else if (strcmp(s, "faults") == 0) {
		faults();
	} else {
		fprintf(stderr, "fsdemo: unknown scenario %s\n", s);
		return 2;
	}
	fflush(stdout);
	return 0;
}
