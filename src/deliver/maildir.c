/*
 * maildir - one message into one Maildir, durable before it is reported
 * (maildir.h): tmp/, fdatasync, link into new/ under a name fixed per
 * message and recipient.
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"

#define COPY_BUF (64 * 1024)

static unsigned long delivery_seq;

static void
fail(struct maildir_delivery *d, int err, const char *what)
{
	/* A full disk or quota clears up; a path that cannot work does not. */
	d->status = (err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG)
	    ? MAILDIR_PERMFAIL
	    : MAILDIR_TEMPFAIL;
	snprintf(d->dsn, sizeof(d->dsn), "%s",
	    err == ENOSPC || err == EDQUOT      ? "4.2.2"
	        : d->status == MAILDIR_PERMFAIL ? "5.2.0"
	                                        : "4.2.0");
	snprintf(d->error, sizeof(d->error), "%s: %s", what, strerror(err));
}

static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* The directory that holds path's last component. */
static void
parent_of(const char *path, char *dst, size_t dstsz)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dst, dstsz, ".");
	else if (slash == path)
		snprintf(dst, dstsz, "/");
	else
		snprintf(dst, dstsz, "%.*s", (int)(slash - path), path);
}

/*
 * Make the Maildir and whatever is missing above it.  A new directory is
 * durable only once its parent is synced: without that, a power cut
 * could take a whole new mailbox, with mail the queue already forgot.  A
 * concurrent delivery may have made the Maildir a moment ago and not yet
 * synced it, so the Maildir and its parent are synced even when they
 * existed (this runs only when tmp/ was missing).
 */
static int
mkdir_maildir(const char *dir)
{
	/* tmp/ last: a delivery that finds tmp/ (made by a concurrent one)
	 * must find new/ for its link too. */
	static const char *const subs[] = {"/new", "/cur", "/tmp"};
	char path[PATH_MAX], parent[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path) - 8) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)i, dir);
		if (mkdir(path, i == n ? 0700 : 0755) == 0) {
			parent_of(path, parent, sizeof(parent));
			if (sync_dir(parent) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return -1;
		}
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	parent_of(dir, parent, sizeof(parent));
	return sync_dir(parent) < 0 || sync_dir(dir) < 0 ? -1 : 0;
}

/* Host name as the Maildir convention wants it: '/' and ':' escaped. */
static void
safe_host(const char *h, char *dst, size_t dstsz)
{
	size_t o = 0;

	for (; *h && o + 5 < dstsz; h++) {
		if (*h == '/')
			o += (size_t)snprintf(dst + o, dstsz - o, "\\057");
		else if (*h == ':')
			o += (size_t)snprintf(dst + o, dstsz - o, "\\072");
		else
			dst[o++] = *h;
	}
	dst[o] = '\0';
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy the text, CRLF -> LF; returns octets written or -1. */
static long long
copy_body(struct maildir_delivery *d, int out, char *in, char *obuf)
{
	uint64_t off = d->src_off, left = d->src_len;
	long long total = 0;
	int pending_cr = 0;

	while (left > 0) {
		size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF, i,
		       o = 0;
		ssize_t r = pread(d->src_fd, in, want, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		if (pending_cr && in[0] != '\n')
			obuf[o++] = '\r';
		pending_cr = 0;
		for (i = 0; i < (size_t)r; i++) {
			if (in[i] == '\r') {
				if (i + 1 == (size_t)r) {
					pending_cr = 1;
					continue;
				}
				if (in[i + 1] == '\n')
					continue;
			}
			obuf[o++] = in[i];
		}
		if (write_all(out, obuf, o) < 0)
			return -1;
		total += (long long)o;
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	if (pending_cr) {
		if (write_all(out, "\r", 1) < 0)
			return -1;
		total++;
	}
	return total;
}

/* Is there a file named prefix... in dir?  Its name goes in found. */
static int
find_prefix(const char *dir, const char *prefix, char *found, size_t foundsz)
{
	size_t n = strlen(prefix);
	struct dirent *de;
	DIR *dp = opendir(dir);
	int hit = 0;

	if (dp == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, n) == 0) {
			snprintf(found, foundsz, "%s", de->d_name);
			hit = 1;
			break;
		}
	closedir(dp);
	return hit;
}

/*
 * An earlier attempt may have delivered the message and then been cut
 * off before the queue heard of it: its copy is in new/, or in cur/ if
 * the user has seen it.
 */
static int
find_copy(struct maildir_delivery *d, const char *host)
{
	char prefix[300], dir[PATH_MAX];
	int r;

	snprintf(prefix, sizeof(prefix), "%s.%s,", d->unique, host);
	snprintf(dir, sizeof(dir), "%s/new", d->dir);
	if ((r = find_prefix(dir, prefix, d->name, sizeof(d->name))) != 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/cur", d->dir);
	return find_prefix(dir, prefix, d->name, sizeof(d->name));
}

/* Files a crash left in tmp/, older than the convention's 36 hours. */
static unsigned
clean_tmp(const char *maildir)
{
	char dir[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	unsigned n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/tmp", maildir);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		        0 ||
		    !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < MAILDIR_STALE_SECONDS)
			continue;
		if (unlinkat(dirfd(dp), de->d_name, 0) == 0)
			n++;
	}
	closedir(dp);
	return n;
}

void
maildir_deliver(struct maildir_delivery *d)
{
	char host[256], tmp[PATH_MAX], fin[PATH_MAX], hdr[2048], base[256];
	static __thread char in[COPY_BUF], obuf[COPY_BUF + 1];
	struct timeval tv;
	unsigned long seq;
	long long body;
	int fd, hl, r;

	d->status = MAILDIR_OK;
	d->error[0] = '\0';
	d->found_copy = 0;
	d->cleaned = 0;
	snprintf(d->dsn, sizeof(d->dsn), "2.0.0");
	snprintf(d->newdir, sizeof(d->newdir), "%s/new", d->dir);
	safe_host(d->hostname, host, sizeof(host));
	if (d->clean_tmp)
		d->cleaned = clean_tmp(d->dir);
	if (d->look_for_copy) {
		if ((r = find_copy(d, host)) < 0) {
			fail(d, errno, "look for an earlier copy");
			return;
		}
		if (r > 0) {
			d->found_copy = 1;
			return;
		}
	}
	gettimeofday(&tv, NULL);
	seq = __atomic_add_fetch(&delivery_seq, 1, __ATOMIC_RELAXED);
	snprintf(base, sizeof(base), "%lld.M%06ldP%ldQ%lu.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), seq, host);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", d->dir, base);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir_maildir(d->dir) < 0) {
			fail(d, errno, "create Maildir");
			return;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		fail(d, errno, "create file in tmp/");
		return;
	}
	hl = snprintf(hdr, sizeof(hdr), "Return-Path: <%s>\nDelivered-To: %s\n",
	    d->return_path, d->delivered_to);
	if (hl < 0 || (size_t)hl >= sizeof(hdr) ||
	    write_all(fd, hdr, (size_t)hl) < 0 ||
	    (body = copy_body(d, fd, in, obuf)) < 0 || fdatasync(fd) < 0) {
		fail(d, errno, "write message");
		close(fd);
		unlink(tmp);
		return;
	}
	if (close(fd) < 0) {
		fail(d, errno, "close message");
		unlink(tmp);
		return;
	}
	snprintf(d->name, sizeof(d->name), "%s.%s,S=%lld", d->unique, host,
	    (long long)hl + body);
	snprintf(fin, sizeof(fin), "%s/%s", d->newdir, d->name);
	/*
	 * link, then unlink, as qmail does: it never replaces a file, and
	 * unlike a rename between two directories it takes no
	 * file-system-wide lock, which concurrent deliveries would queue on.
	 * The name is this delivery's own: if it is taken, an earlier attempt
	 * got this far, and its copy stands.
	 */
	r = link(tmp, fin);
	if (r < 0 && errno == ENOENT) {
		/* A power cut kept tmp/ but took new/ (or cur/): make what is
		 * missing, or this Maildir would refuse every delivery. */
		if (mkdir_maildir(d->dir) < 0) {
			fail(d, errno, "repair Maildir");
			unlink(tmp);
			return;
		}
		r = link(tmp, fin);
	}
	if (r < 0) {
		if (errno != EEXIST) {
			fail(d, errno, "link into new/");
			unlink(tmp);
			return;
		}
		d->found_copy = 1;
	}
	if (unlink(tmp) < 0)
		log_warn("maildir: unlink %s", tmp);
}
