#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/crc32.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"

static const unsigned char magic[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 1};

#define HEADER_SIZE 64
#define MAX_ENVELOPE ENV_MAX_ENCODED
#define MAX_STATUS_VALUE 4096
/* Enough spare files for the messages of a busy minute. */
#define FREE_POOL_MAX 4096
/* Files kept for reuse keep at most this much of their space. */
#define FREE_KEEP_SIZE (64 * 1024)

struct spool {
	char *dir;
	int tmp_fd;
	int queue_fd;
	int corrupt_fd;
	unsigned *pool; /* spare files in queue/: "f%010u" */
	size_t npool;
	unsigned next_free_name;
};

static int
open_subdir(const char *dir, const char *sub, char *err, size_t errsz)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
	return fd;
}

static int
mkdir_p(const char *path)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];

			tmp[i] = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -1;
			tmp[i] = c;
		}
	}
	return 0;
}

static int
for_each_entry(int dirfd, void (*fn)(void *arg, const char *name), void *arg);

/* A spare file's name: "f" and ten digits (never a queue ID). */
static void
spare_name(unsigned n, char dst[16])
{
	snprintf(dst, 16, "f%010u", n);
}

static int
is_spare(const char *name, unsigned *n)
{
	uint64_t v;

	if (strlen(name) != 11 || name[0] != 'f' ||
	    str_to_u64(name + 1, 10, &v) < 0 || v > UINT32_MAX)
		return 0;
	*n = (unsigned)v;
	return 1;
}

static void
pool_add_existing(void *arg, const char *name)
{
	struct spool *sp = arg;
	unsigned n;

	if (!is_spare(name, &n))
		return;
	if (sp->npool == FREE_POOL_MAX) {
		unlinkat(sp->queue_fd, name, 0);
		return;
	}
	sp->pool[sp->npool++] = n;
	if (n >= sp->next_free_name)
		sp->next_free_name = n + 1;
}

static void
load_pool(struct spool *sp)
{
	if (for_each_entry(sp->queue_fd, pool_add_existing, sp) < 0)
		log_warn("spool: cannot read queue/");
}

static void
truncate_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		if (ftruncate(fd, 0) < 0)
			log_warn("spool: truncate %s", name);
		close(fd);
	}
}

/*
 * Make dirfd/name a spare file in queue/ for reuse; unlink it when the pool
 * is full.
 * Reusing a file instead of creating one spares the file system an inode
 * allocation and a free per message.
 */
static int
retire(struct spool *sp, int dirfd, const char *name)
{
	char fname[16];
	unsigned n;
	int tries;

	if (sp->npool < FREE_POOL_MAX) {
		struct stat st;

		/* A big file would hold its space while it waits: only the
		 * inode is worth keeping then. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_size > FREE_KEEP_SIZE)
			truncate_at(dirfd, name);
		for (tries = 0; tries < 4; tries++) {
			n = sp->next_free_name++;
			spare_name(n, fname);
			/* Never over a file in use: names wrap, eventually. */
			if (renameat2(dirfd, name, sp->queue_fd, fname,
			        RENAME_NOREPLACE) == 0) {
				sp->pool[sp->npool++] = n;
				return 0;
			}
			if (errno != EEXIST)
				break;
		}
		if (errno == ENOENT)
			return -1;
	}
	return unlinkat(dirfd, name, 0);
}

/*
 * Overwrite a reused file with zeros.  It goes to the process receiving
 * the next message, which must neither read what an earlier message left
 * nor commit it by claiming a longer text.  Zeros rather than a truncation:
 * the file keeps its size and its blocks, so the commit's fdatasync writes
 * data only, not the inode.
 */
static int pwrite_all(int fd, const void *p, size_t n, off_t off);

static int
blank(int fd)
{
	static const char zeros[8192];
	struct stat st;
	off_t off;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size > FREE_KEEP_SIZE)
		return ftruncate(fd, 0);
	for (off = 0; off < st.st_size; off += (off_t)sizeof(zeros)) {
		size_t n = sizeof(zeros);

		if (st.st_size - off < (off_t)n)
			n = (size_t)(st.st_size - off);
		if (pwrite_all(fd, zeros, n, off) < 0)
			return -1;
	}
	return 0;
}

/* A spare file to write a message into, or a new one. */
static int
take_file(struct spool *sp, unsigned *slot)
{
	char fname[16];
	int fd, tries;

	while (sp->npool > 0) {
		*slot = sp->pool[--sp->npool];
		spare_name(*slot, fname);
		fd = openat(
		    sp->queue_fd, fname, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (blank(fd) == 0)
			return fd;
		close(fd);
		unlinkat(sp->queue_fd, fname, 0);
	}
	for (tries = 0; tries < 10; tries++) {
		*slot = sp->next_free_name++;
		spare_name(*slot, fname);
		fd = openat(sp->queue_fd, fname,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

size_t
spool_free_files(const struct spool *sp)
{
	return sp->npool;
}

struct spool *
spool_open(const char *dir, char *err, size_t errsz)
{
	struct spool *sp;

	if (mkdir_p(dir) < 0) {
		snprintf(err, errsz, "mkdir %s: %s", dir, strerror(errno));
		return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->dir = xstrdup(dir);
	sp->tmp_fd = open_subdir(dir, "tmp", err, errsz);
	sp->queue_fd = open_subdir(dir, "queue", err, errsz);
	sp->corrupt_fd = open_subdir(dir, "corrupt", err, errsz);
	if (sp->tmp_fd < 0 || sp->queue_fd < 0 || sp->corrupt_fd < 0) {
		spool_close(sp);
		return NULL;
	}
	sp->pool = xcalloc(FREE_POOL_MAX, sizeof(*sp->pool));
	load_pool(sp);
	return sp;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->tmp_fd >= 0)
		close(sp->tmp_fd);
	if (sp->queue_fd >= 0)
		close(sp->queue_fd);
	if (sp->corrupt_fd >= 0)
		close(sp->corrupt_fd);
	free(sp->pool);
	free(sp->dir);
	free(sp);
}

const char *
spool_dir(const struct spool *sp)
{
	return sp->dir;
}

void
spool_new_id(char id[SPOOL_ID_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	static uint64_t last_us;
	static unsigned seq;
	struct timeval tv;
	uint64_t us;
	int i;

	gettimeofday(&tv, NULL);
	us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	/* Never go backwards, even if the clock does. */
	if (us <= last_us) {
		us = last_us;
		seq++;
	} else {
		seq = 0;
	}
	if (seq >= 32768) {
		us++;
		seq = 0;
	}
	last_us = us;
	/* 11 base-32 digits of microseconds (55 bits), 3 of sequence. */
	for (i = 10; i >= 0; i--) {
		id[i] = digits[us & 31];
		us >>= 5;
	}
	id[11] = digits[(seq >> 10) & 31];
	id[12] = digits[(seq >> 5) & 31];
	id[13] = digits[seq & 31];
	id[14] = '\0';
}

int
spool_create(struct spool *sp, char id[SPOOL_ID_LEN + 1], unsigned *slot)
{
	int fd;

	spool_new_id(id);
	if ((fd = take_file(sp, slot)) < 0)
		return -1;
	if (lseek(fd, SPOOL_DATA_OFFSET, SEEK_SET) < 0) {
		spool_discard(sp, *slot, fd);
		return -1;
	}
	return fd;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int
pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, s, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int
pread_all(int fd, void *p, size_t n, off_t off)
{
	char *s = p;

	while (n > 0) {
		ssize_t r = pread(fd, s, n, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		s += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int
spool_commit(struct spool *sp, const char *id, unsigned slot, int fd,
    uint64_t data_len, const struct envelope *env)
{
	struct buf eb;
	unsigned char hdr[HEADER_SIZE];
	uint64_t env_off = SPOOL_DATA_OFFSET + data_len;
	char fname[16];
	int saved;

	buf_init(&eb, MAX_ENVELOPE);
	if (envelope_encode(env, &eb) < 0) {
		errno = EFBIG;
		goto fail;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, magic, 8);
	put_le(hdr + 8, SPOOL_DATA_OFFSET, 8);
	put_le(hdr + 16, data_len, 8);
	put_le(hdr + 24, env_off, 8);
	put_le(hdr + 32, eb.len, 4);
	put_le(hdr + 36, crc32c(0, eb.data, eb.len), 4);
	put_le(hdr + 40, crc32c(0, hdr, 40), 4);
	/*
	 * A reused file is not cut to size: what an earlier message left
	 * after this one's envelope is never read as this one's (status
	 * records carry the queue ID in their checksum), and a file whose
	 * size does not change is synced without writing its inode.
	 */
	if (pwrite_all(fd, eb.data, eb.len, (off_t)env_off) < 0 ||
	    pwrite_all(fd, hdr, sizeof(hdr), 0) < 0 || fdatasync(fd) < 0)
		goto fail;
	buf_free(&eb);
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	spare_name(slot, fname);
	/* Within one directory: no file-system-wide rename lock. */
	if (renameat2(sp->queue_fd, fname, sp->queue_fd, id, RENAME_NOREPLACE) <
	    0)
		goto fail;
	return 0;
fail:
	saved = errno;
	buf_free(&eb);
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

int
spool_sync_queue_dir(struct spool *sp)
{
	return fsync(sp->queue_fd);
}

void
spool_discard(struct spool *sp, unsigned slot, int fd)
{
	if (fd >= 0)
		close(fd);
	/* The file stays where it is, a spare, for the next message. */
	if (sp->npool < FREE_POOL_MAX)
		sp->pool[sp->npool++] = slot;
}

static int
valid_id(const char *name)
{
	size_t i;

	if (strlen(name) != SPOOL_ID_LEN)
		return 0;
	for (i = 0; i < SPOOL_ID_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		        (name[i] >= 'A' && name[i] <= 'Z')))
			return 0;
	return 1;
}

static int
for_each_entry(int dirfd, void (*fn)(void *arg, const char *name), void *arg)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fn(arg, de->d_name);
	}
	closedir(d);
	return 0;
}

struct clean_ctx {
	struct spool *sp;
	int n;
};

static void
clean_one(void *arg, const char *name)
{
	struct clean_ctx *c = arg;

	if (retire(c->sp, c->sp->tmp_fd, name) == 0)
		c->n++;
	else
		log_warn("spool: remove tmp/%s", name);
}

int
spool_clean_tmp(struct spool *sp)
{
	struct clean_ctx c = {sp, 0};

	if (for_each_entry(sp->tmp_fd, clean_one, &c) < 0)
		return -1;
	return c.n;
}

struct scan_ctx {
	struct spool *sp;
	void (*fn)(void *, const char *);
	void *arg;
};

static void
scan_one(void *arg, const char *name)
{
	struct scan_ctx *c = arg;
	unsigned n;

	if (is_spare(name, &n))
		return;
	if (!valid_id(name)) {
		log_warnx("spool: queue/%s is not a queue file, moved to "
		          "corrupt/",
		    name);
		renameat(c->sp->queue_fd, name, c->sp->corrupt_fd, name);
		return;
	}
	c->fn(c->arg, name);
}

int
spool_scan(struct spool *sp, void (*fn)(void *arg, const char *id), void *arg)
{
	struct scan_ctx c = {sp, fn, arg};

	return for_each_entry(sp->queue_fd, scan_one, &c);
}

static int
apply_status(struct envelope *env, int type, const char *v)
{
	uint64_t n[3]; /* idx, next_try, attempts */
	int deferred = type == SPOOL_ST_DEFERRED;

	/* Exactly what queue.c writes: no sign, no blanks, no overflow. */
	if (str_to_u64s(v, strlen(v), n, deferred ? 3 : 1) < 0 ||
	    n[0] >= env->nrcpt ||
	    (deferred && (n[1] > INT64_MAX || n[2] > UINT32_MAX)))
		return -1;
	switch (type) {
	case SPOOL_ST_DELIVERED:
		env->rcpt[n[0]].state = ENV_RCPT_DONE;
		break;
	case SPOOL_ST_FAILED:
		env->rcpt[n[0]].state = ENV_RCPT_FAILED;
		break;
	case SPOOL_ST_DEFERRED:
		env->rcpt[n[0]].next_try = (int64_t)n[1];
		env->rcpt[n[0]].attempts = (uint32_t)n[2];
		break;
	default:
		return -1;
	}
	return 0;
}

/*
 * A status record's checksum covers the queue ID too: bytes an earlier
 * message left in a reused file can never pass for this one's records.
 */
static uint32_t
status_crc(const char *id, const unsigned char *rec, size_t n)
{
	return crc32c(crc32c(0, id, strlen(id)), rec, n);
}

/*
 * Walk the status records from off: apply each to env (if not NULL) and
 * return the offset just past the last valid one.  What follows (a record
 * torn by a crash, or an earlier message's bytes) is not this message's.
 */
static off_t
walk_status(int fd, off_t off, off_t end, struct envelope *env, const char *id)
{
	unsigned char rec[9 + MAX_STATUS_VALUE];

	while (end - off >= 9) {
		size_t len;

		if (pread_all(fd, rec, 5, off) < 0)
			break;
		len = (size_t)get_le(rec + 1, 4);
		if (len > MAX_STATUS_VALUE || (off_t)(9 + len) > end - off ||
		    pread_all(fd, rec + 5, len + 4, off + 5) < 0 ||
		    status_crc(id, rec, 5 + len) !=
		        (uint32_t)get_le(rec + 5 + len, 4))
			break;
		if (env != NULL) {
			char value[MAX_STATUS_VALUE + 1];

			memcpy(value, rec + 5, len);
			value[len] = '\0';
			if (apply_status(env, rec[0], value) < 0)
				log_warnx("spool: %s: ignoring a bad status "
				          "record",
				    id);
		}
		off += 9 + (off_t)len;
	}
	return off;
}

int
spool_load(struct spool *sp, const char *id, struct envelope *env,
    uint64_t *data_len, char *err, size_t errsz)
{
	unsigned char hdr[HEADER_SIZE];
	struct stat st;
	uint64_t doff, dlen, eoff, elen;
	char *eb = NULL;
	int fd;

	if ((fd = openat(sp->queue_fd, id, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || pread_all(fd, hdr, HEADER_SIZE, 0) < 0) {
		snprintf(err, errsz, "short header");
		goto fail;
	}
	if (memcmp(hdr, magic, 8) != 0 ||
	    crc32c(0, hdr, 40) != (uint32_t)get_le(hdr + 40, 4)) {
		snprintf(err, errsz, "bad header");
		goto fail;
	}
	doff = get_le(hdr + 8, 8);
	dlen = get_le(hdr + 16, 8);
	eoff = get_le(hdr + 24, 8);
	elen = get_le(hdr + 32, 4);
	if (doff != SPOOL_DATA_OFFSET || dlen > (uint64_t)st.st_size ||
	    eoff != doff + dlen || elen > MAX_ENVELOPE ||
	    eoff + elen > (uint64_t)st.st_size) {
		snprintf(err, errsz, "header does not match the file size");
		goto fail;
	}
	eb = xmalloc(elen);
	if (pread_all(fd, eb, elen, (off_t)eoff) < 0 ||
	    crc32c(0, eb, elen) != (uint32_t)get_le(hdr + 36, 4)) {
		snprintf(err, errsz, "envelope checksum mismatch");
		goto fail;
	}
	if (envelope_decode(eb, elen, env, err, errsz) < 0)
		goto fail;
	walk_status(fd, (off_t)(eoff + elen), st.st_size, env, id);
	free(eb);
	close(fd);
	*data_len = dlen;
	return 0;
fail:
	free(eb);
	close(fd);
	return -1;
}

int
spool_quarantine(struct spool *sp, const char *id)
{
	return renameat(sp->queue_fd, id, sp->corrupt_fd, id);
}

int
spool_append_status(struct spool *sp, const char *id,
    enum spool_status_type type, const char *value)
{
	unsigned char rec[9 + MAX_STATUS_VALUE], hdr[HEADER_SIZE];
	size_t len = strlen(value);
	struct stat st;
	off_t at;
	int fd, r = -1, saved;

	if (len > MAX_STATUS_VALUE) {
		errno = EINVAL;
		return -1;
	}
	rec[0] = (unsigned char)type;
	put_le(rec + 1, len, 4);
	memcpy(rec + 5, value, len);
	put_le(rec + 5 + len, status_crc(id, rec, 5 + len), 4);
	fd = openat(sp->queue_fd, id, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	/* The next record goes right after the last valid one; whatever
	 * lies beyond it is cut off. */
	if (fstat(fd, &st) < 0 || pread_all(fd, hdr, HEADER_SIZE, 0) < 0)
		goto out;
	at = (off_t)(get_le(hdr + 24, 8) + get_le(hdr + 32, 4));
	if (at < SPOOL_DATA_OFFSET || at > st.st_size) {
		errno = EINVAL;
		goto out;
	}
	at = walk_status(fd, at, st.st_size, NULL, id);
	if (pwrite_all(fd, rec, 9 + len, at) == 0 &&
	    (at + (off_t)(9 + len) >= st.st_size ||
	        ftruncate(fd, at + (off_t)(9 + len)) == 0))
		r = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
spool_remove(struct spool *sp, const char *id)
{
	return retire(sp, sp->queue_fd, id);
}

int
spool_open_data(struct spool *sp, const char *id)
{
	return openat(sp->queue_fd, id, O_RDONLY | O_CLOEXEC);
}

int
spool_free_space(struct spool *sp, uint64_t *bytes)
{
	struct statvfs sv;

	if (fstatvfs(sp->queue_fd, &sv) < 0)
		return -1;
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}
