#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
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
mkdir_maildir(const char *dir)
{
	/* tmp/ last: a delivery that finds tmp/ (made by a concurrent one)
	 * must find new/ for its rename too. */
	static const char *const subs[] = {"", "/new", "/cur", "/tmp"};
	char path[PATH_MAX];
	size_t i;

	/* Parents first: mail_directory itself may not exist yet. */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	for (i = 0; i < 4; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", dir,
		        subs[i]) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
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

void
maildir_deliver(struct maildir_delivery *d)
{
	char host[256], tmp[PATH_MAX], fin[PATH_MAX], hdr[2048], base[256];
	static __thread char in[COPY_BUF], obuf[COPY_BUF + 1];
	struct timeval tv;
	unsigned long seq;
	long long body;
	int fd, hl, tries;

	d->status = MAILDIR_OK;
	d->error[0] = '\0';
	snprintf(d->dsn, sizeof(d->dsn), "2.0.0");
	safe_host(d->hostname, host, sizeof(host));
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
	snprintf(d->newdir, sizeof(d->newdir), "%s/new", d->dir);
	for (tries = 0; tries < 5; tries++) {
		snprintf(d->name, sizeof(d->name), "%s,S=%lld", base,
		    (long long)hl + body);
		snprintf(fin, sizeof(fin), "%s/%s", d->newdir, d->name);
		/*
		 * link, then unlink, as qmail does: it never replaces a
		 * message of the same name, and unlike a rename between two
		 * directories it takes no file-system-wide lock, which
		 * concurrent deliveries would queue on.
		 */
		if (link(tmp, fin) == 0) {
			if (unlink(tmp) < 0)
				log_warn("maildir: unlink %s", tmp);
			return;
		}
		if (errno != EEXIST)
			break;
		snprintf(base + strlen(base), sizeof(base) - strlen(base), "x");
	}
	fail(d, errno, "link into new/");
	unlink(tmp);
}
