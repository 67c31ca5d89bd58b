/*
 * spool - the queue's files: drafts in memory or in unnamed files,
 * commit groups, status records and recovery.  The layout and its
 * invariants are in spool.h.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/crc32.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"

static const unsigned char magic2[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 2};
static const unsigned char magic1[8] = {'T', 'E', 'R', 'N', 'Q', 0, 0, 1};

#define HEADER_SIZE 64
#define INDEX_ENTRY 64
#define MAX_ENVELOPE ENV_MAX_ENCODED
#define MAX_STATUS_VALUE 4096
/* Messages kept in memory that share one file, at most. */
#define GROUP_FILE_MAX 256
/* Index entries of a file, at most (what a reader accepts). */
#define MAX_COUNT 65535

/* A message done while others of its file are not: to be recorded. */
struct done_rec {
	unsigned index;
	char id[SPOOL_ID_LEN + 1];
	struct done_rec *next;
};

struct spool_file {
	char name[SPOOL_ID_LEN + 1];
	int version;    /* 1: the one-message format of earlier releases */
	unsigned count; /* messages in it */
	unsigned live;  /* messages not yet done */
	off_t end;      /* where the next status record goes */
	struct done_rec *done; /* done, not yet recorded */
	int dirty;             /* done is not empty: on the dirty list */
	struct spool_file *dirty_next;
	struct spool_file *prev, *next;
};

struct spool_msg {
	struct spool_file *file;
	unsigned index;
	char id[SPOOL_ID_LEN + 1];
	uint64_t data_off, data_len;
	struct spool_msg *prev, *next; /* every message the spool holds */
};

struct spool_draft {
	char id[SPOOL_ID_LEN + 1];
	char *mem; /* the text while it is small */
	size_t cap;
	int fd;           /* the text's own file once it is not, else -1 */
	char tmpname[24]; /* that file's name in tmp/, without O_TMPFILE */
	uint64_t len;
	int err; /* an append failed: the commit fails with this */
};

struct spool {
	char *dir;
	int tmp_fd;
	int queue_fd;
	int corrupt_fd;
	struct spool_file *files;
	size_t nfiles;
	struct spool_msg *msgs;
	struct spool_file *dirty; /* files with done records to write */
	size_t spilled;           /* drafts with a file of their own */
	size_t in_memory;         /* text octets held by drafts */
	unsigned tmp_seq;
	int no_tmpfile; /* O_TMPFILE is not supported here */
};

/* ---------------------------------------------------------------- helpers */

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

/* Write iov[0..n) at off, however the kernel splits it. */
static int
pwritev_all(int fd, struct iovec *iov, int n, off_t off)
{
	while (n > 0) {
		int k = n < IOV_MAX ? n : IOV_MAX;
		ssize_t w = pwritev(fd, iov, k, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0 && w > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int
spool_id_ok(const char *name)
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

/* fsync the directory holding path's last component. */
static int
sync_parent(const char *path)
{
	char tmp[PATH_MAX];
	char *slash;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	while ((slash = strrchr(tmp, '/')) != NULL && slash[1] == '\0')
		*slash = '\0';
	if ((slash = strrchr(tmp, '/')) == NULL)
		snprintf(tmp, sizeof(tmp), ".");
	else if (slash == tmp)
		tmp[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * mkdir -p; a directory made here is durable before this returns (its
 * parent is synced), so that nothing committed under it can vanish with
 * it in a power cut.
 */
static int
make_dirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		char c = tmp[i];

		if (c != '/' && c != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, i == n ? mode : 0755) == 0) {
			if (sync_parent(tmp) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return -1;
		}
		tmp[i] = c;
	}
	return 0;
}

static int
open_subdir(struct spool *sp, const char *sub, char *err, size_t errsz)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sp->dir, sub);
	if (make_dirs(path, 0700) < 0) {
		snprintf(err, errsz, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
	return fd;
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

/* ------------------------------------------------------------- lifecycle */

struct spool *
spool_open(const char *dir, char *err, size_t errsz)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));

	sp->dir = xstrdup(dir);
	sp->tmp_fd = sp->queue_fd = sp->corrupt_fd = -1;
	if (make_dirs(dir, 0700) < 0) {
		snprintf(err, errsz, "mkdir %s: %s", dir, strerror(errno));
		spool_close(sp);
		return NULL;
	}
	if ((sp->tmp_fd = open_subdir(sp, "tmp", err, errsz)) < 0 ||
	    (sp->queue_fd = open_subdir(sp, "queue", err, errsz)) < 0 ||
	    (sp->corrupt_fd = open_subdir(sp, "corrupt", err, errsz)) < 0) {
		spool_close(sp);
		return NULL;
	}
	return sp;
}

static void
forget_done(struct spool *sp, struct spool_file *f)
{
	struct spool_file **fp;

	if (!f->dirty)
		return;
	for (fp = &sp->dirty; *fp; fp = &(*fp)->dirty_next)
		if (*fp == f) {
			*fp = f->dirty_next;
			break;
		}
	while (f->done) {
		struct done_rec *d = f->done;

		f->done = d->next;
		free(d);
	}
	f->dirty = 0;
}

static void
file_unlink(struct spool *sp, struct spool_file *f)
{
	forget_done(sp, f);
	if (f->prev)
		f->prev->next = f->next;
	else
		sp->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	sp->nfiles--;
	free(f);
}

static void
file_link(struct spool *sp, struct spool_file *f)
{
	f->prev = NULL;
	f->next = sp->files;
	if (sp->files)
		sp->files->prev = f;
	sp->files = f;
	sp->nfiles++;
}

static void
msg_link(struct spool *sp, struct spool_msg *m)
{
	m->prev = NULL;
	m->next = sp->msgs;
	if (sp->msgs)
		sp->msgs->prev = m;
	sp->msgs = m;
}

static void
msg_unlink(struct spool *sp, struct spool_msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		sp->msgs = m->next;
	if (m->next)
		m->next->prev = m->prev;
	free(m);
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	spool_flush(sp);
	while (sp->msgs)
		msg_unlink(sp, sp->msgs);
	while (sp->files)
		file_unlink(sp, sp->files);
	if (sp->tmp_fd >= 0)
		close(sp->tmp_fd);
	if (sp->queue_fd >= 0)
		close(sp->queue_fd);
	if (sp->corrupt_fd >= 0)
		close(sp->corrupt_fd);
	free(sp->dir);
	free(sp);
}

const char *
spool_dir(const struct spool *sp)
{
	return sp->dir;
}

size_t
spool_files(const struct spool *sp)
{
	return sp->nfiles + sp->spilled;
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

/* ------------------------------------------------------------ new files */

/*
 * A new file with no name yet: O_TMPFILE in queue/, or, where the file
 * system lacks it, a file in tmp/ whose name goes in tmpname.
 */
static int
unnamed_file(struct spool *sp, char tmpname[24])
{
	int fd, tries;

	tmpname[0] = '\0';
	if (!__atomic_load_n(&sp->no_tmpfile, __ATOMIC_RELAXED)) {
		fd = openat(
		    sp->queue_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
		__atomic_store_n(&sp->no_tmpfile, 1, __ATOMIC_RELAXED);
		log_info("spool: no O_TMPFILE in %s; using tmp/", sp->dir);
	}
	for (tries = 0; tries < 100; tries++) {
		unsigned n =
		    __atomic_add_fetch(&sp->tmp_seq, 1, __ATOMIC_RELAXED);

		snprintf(tmpname, 24, "t%ld.%u", (long)getpid(), n);
		fd = openat(sp->tmp_fd, tmpname,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static void
drop_unnamed(struct spool *sp, int fd, const char *tmpname)
{
	if (fd >= 0)
		close(fd);
	if (tmpname[0] != '\0')
		unlinkat(sp->tmp_fd, tmpname, 0);
}

/* Give a complete, synced file its name in queue/. */
static int
name_file(struct spool *sp, int fd, const char *tmpname, const char *name)
{
	char proc[64];

	if (tmpname[0] != '\0') {
		/* link, not rename: it never replaces a file of that name. */
		if (linkat(sp->tmp_fd, tmpname, sp->queue_fd, name, 0) < 0)
			return -1;
		unlinkat(sp->tmp_fd, tmpname, 0);
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, sp->queue_fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	/* No /proc: the other way needs CAP_DAC_READ_SEARCH. */
	return linkat(fd, "", sp->queue_fd, name, AT_EMPTY_PATH);
}

/* ------------------------------------------------------------- receiving */

struct spool_draft *
spool_draft_new(struct spool *sp, const char *id)
{
	struct spool_draft *d = xcalloc(1, sizeof(*d));

	(void)sp;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->fd = -1;
	return d;
}

uint64_t
spool_draft_len(const struct spool_draft *d)
{
	return d->len;
}

const char *
spool_draft_id(const struct spool_draft *d)
{
	return d->id;
}

static void
release_memory(struct spool *sp, struct spool_draft *d)
{
	sp->in_memory -= d->cap;
	free(d->mem);
	d->mem = NULL;
	d->cap = 0;
}

/* Move the draft's text to a file of its own. */
static int
spill(struct spool *sp, struct spool_draft *d)
{
	int fd = unnamed_file(sp, d->tmpname);

	if (fd < 0)
		return -1;
	if (d->len > 0 &&
	    pwrite_all(fd, d->mem, (size_t)d->len, SPOOL_DATA_OFFSET) < 0) {
		int saved = errno;

		drop_unnamed(sp, fd, d->tmpname);
		errno = saved;
		return -1;
	}
	release_memory(sp, d);
	d->fd = fd;
	sp->spilled++;
	return 0;
}

int
spool_draft_append(
    struct spool *sp, struct spool_draft *d, const void *p, size_t n)
{
	if (d->err) {
		errno = d->err;
		return -1;
	}
	if (n == 0)
		return 0;
	if (d->fd < 0 &&
	    (d->len + n > SPOOL_SPILL || sp->in_memory + n > SPOOL_MEMORY) &&
	    spill(sp, d) < 0)
		goto fail;
	if (d->fd >= 0) {
		if (pwrite_all(
		        d->fd, p, n, (off_t)(SPOOL_DATA_OFFSET + d->len)) < 0)
			goto fail;
	} else {
		if (d->len + n > d->cap) {
			size_t cap = d->cap ? d->cap : 4096;

			while (cap < d->len + n)
				cap *= 2;
			if (cap > SPOOL_SPILL)
				cap = SPOOL_SPILL;
			d->mem = xreallocarray(d->mem, cap, 1);
			sp->in_memory += cap - d->cap;
			d->cap = cap;
		}
		memcpy(d->mem + d->len, p, n);
	}
	d->len += n;
	return 0;
fail:
	d->err = errno ? errno : EIO;
	errno = d->err;
	return -1;
}

void
spool_draft_free(struct spool *sp, struct spool_draft *d)
{
	if (d == NULL)
		return;
	release_memory(sp, d);
	if (d->fd >= 0) {
		drop_unnamed(sp, d->fd, d->tmpname);
		sp->spilled--;
	}
	free(d);
}

/* -------------------------------------------------------------- commits */

/* Header and index of a file: what makes it readable. */
static void
build_header(unsigned char hdr[HEADER_SIZE], unsigned count, uint64_t ioff,
    const unsigned char *index, size_t ilen)
{
	memset(hdr, 0, HEADER_SIZE);
	memcpy(hdr, magic2, 8);
	put_le(hdr + 8, count, 4);
	put_le(hdr + 16, ioff, 8);
	put_le(hdr + 24, ilen, 4);
	put_le(hdr + 28, crc32c(0, index, ilen), 4);
	put_le(hdr + 32, crc32c(0, hdr, 32), 4);
}

static void
index_entry(unsigned char *e, const char *id, uint64_t doff, uint64_t dlen,
    uint64_t eoff, const struct buf *env, uint64_t nonce)
{
	memset(e, 0, INDEX_ENTRY);
	memcpy(e, id, SPOOL_ID_LEN);
	put_le(e + 16, doff, 8);
	put_le(e + 24, dlen, 8);
	put_le(e + 32, eoff, 8);
	put_le(e + 40, env->len, 4);
	put_le(e + 44, crc32c(0, env->data, env->len), 4);
	put_le(e + 48, nonce, 8);
}

/* A file a commit makes: the entries of the group it holds, and how it
 * went. */
struct plan {
	size_t *which; /* indexes into the group */
	size_t n;
	int fd;
	char tmpname[24];
	char name[SPOOL_ID_LEN + 1];
	off_t end;
	int err;
	int named;
};

/*
 * Write the messages of p, held in memory, into a new file, or complete
 * the file of one spilled message; then sync it.
 */
static void
write_file(
    struct spool *sp, struct spool_commit *c, struct plan *p, struct buf *envs)
{
	struct spool_draft *first = c[p->which[0]].draft;
	unsigned char hdr[HEADER_SIZE], *index;
	struct iovec *iov;
	size_t k, niov = 0;
	uint64_t off = SPOOL_DATA_OFFSET, start = SPOOL_DATA_OFFSET;
	int spilled = first->fd >= 0;

	memcpy(p->name, first->id, sizeof(p->name));
	if (spilled) {
		p->fd = first->fd;
		memcpy(p->tmpname, first->tmpname, sizeof(p->tmpname));
		start += first->len; /* the text is there already */
	} else if ((p->fd = unnamed_file(sp, p->tmpname)) < 0) {
		p->err = errno;
		return;
	}
	index = xcalloc(p->n, INDEX_ENTRY);
	iov = xcalloc(2 * p->n + 1, sizeof(*iov));
	for (k = 0; k < p->n; k++) {
		struct spool_draft *d = c[p->which[k]].draft;
		const struct buf *e = &envs[p->which[k]];

		index_entry(index + k * INDEX_ENTRY, d->id, off, d->len,
		    off + d->len, e, c[p->which[k]].nonce);
		if (!spilled) {
			iov[niov].iov_base = d->mem;
			iov[niov++].iov_len = (size_t)d->len;
		}
		iov[niov].iov_base = e->data;
		iov[niov++].iov_len = e->len;
		off += d->len + e->len;
	}
	iov[niov].iov_base = index;
	iov[niov++].iov_len = p->n * INDEX_ENTRY;
	build_header(hdr, (unsigned)p->n, off, index, p->n * INDEX_ENTRY);
	p->end = (off_t)(off + p->n * INDEX_ENTRY);
	/* The header last: the file means nothing until all of it is
	 * written, and it is not named before it is synced. */
	if (pwritev_all(p->fd, iov, (int)niov, (off_t)start) < 0 ||
	    pwrite_all(p->fd, hdr, sizeof(hdr), 0) < 0 || fdatasync(p->fd) < 0)
		p->err = errno ? errno : EIO;
	free(iov);
	free(index);
}

/* Turn the group's outcome into spool_msg handles. */
static void
settle(
    struct spool_commit *c, struct plan *p, const struct buf *envs, int dir_err)
{
	struct spool_file *sf = NULL;
	int err = p->err ? p->err : dir_err;
	uint64_t off = SPOOL_DATA_OFFSET;
	size_t k;

	if (err == 0) {
		sf = xcalloc(1, sizeof(*sf));
		memcpy(sf->name, p->name, sizeof(sf->name));
		sf->version = 2;
		sf->count = sf->live = (unsigned)p->n;
		sf->end = p->end;
	}
	for (k = 0; k < p->n; k++) {
		struct spool_commit *e = &c[p->which[k]];

		e->err = err;
		if (err != 0)
			continue;
		e->msg = xcalloc(1, sizeof(*e->msg));
		e->msg->file = sf;
		e->msg->index = (unsigned)k;
		memcpy(e->msg->id, e->draft->id, sizeof(e->msg->id));
		e->msg->data_off = off;
		e->msg->data_len = e->draft->len;
		off += e->draft->len + envs[p->which[k]].len;
	}
}

void
spool_commit_group(struct spool *sp, struct spool_commit *c, size_t n)
{
	struct plan *plans = xcalloc(n, sizeof(*plans)), *cur = NULL;
	size_t *order = xcalloc(n, sizeof(*order));
	struct buf *envs = xcalloc(n, sizeof(*envs));
	size_t i, k, np = 0, no = 0, named = 0;
	int dir_err = 0;

	for (i = 0; i < n; i++) {
		c[i].msg = NULL;
		c[i].err = c[i].draft->err;
		buf_init(&envs[i], MAX_ENVELOPE);
		if (c[i].err == 0 && envelope_encode(c[i].env, &envs[i]) < 0)
			c[i].err = EFBIG;
	}
	/* A spilled message completes its own file; those in memory share
	 * files of up to GROUP_FILE_MAX messages. */
	for (i = 0; i < n; i++)
		if (c[i].err == 0 && c[i].draft->fd >= 0) {
			plans[np].which = order + no;
			plans[np++].n = 1;
			order[no++] = i;
		}
	for (i = 0; i < n; i++) {
		if (c[i].err != 0 || c[i].draft->fd >= 0)
			continue;
		if (cur == NULL || cur->n == GROUP_FILE_MAX) {
			cur = &plans[np++];
			cur->which = order + no;
		}
		order[no++] = i;
		cur->n++;
	}
	for (k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		p->fd = -1;
		write_file(sp, c, p, envs);
		if (p->err == 0) {
			if (name_file(sp, p->fd, p->tmpname, p->name) < 0) {
				p->err = errno;
			} else {
				p->named = 1;
				p->tmpname[0] = '\0';
				named++;
			}
		}
	}
	if (named > 0 && fsync(sp->queue_fd) < 0) {
		/* The names may or may not be on disk: take them back, so
		 * that a message its client is told failed is never
		 * delivered. */
		dir_err = errno;
		for (k = 0; k < np; k++)
			if (plans[k].named &&
			    unlinkat(sp->queue_fd, plans[k].name, 0) < 0)
				log_warn(
				    "spool: unlink queue/%s", plans[k].name);
		if (fsync(sp->queue_fd) < 0)
			log_warn("spool: fsync %s/queue", sp->dir);
	}
	for (k = 0; k < np; k++) {
		struct plan *p = &plans[k];
		struct spool_draft *first = c[p->which[0]].draft;

		settle(c, p, envs, dir_err);
		if (first->fd >= 0 && first->fd == p->fd) {
			/* A spilled draft keeps its descriptor (closed when
			 * the draft is freed); its stand-in name is gone if
			 * the file got its real one. */
			memcpy(
			    first->tmpname, p->tmpname, sizeof(first->tmpname));
		} else if (p->fd >= 0) {
			drop_unnamed(sp, p->fd, p->tmpname);
		}
	}
	for (i = 0; i < n; i++)
		buf_free(&envs[i]);
	free(envs);
	free(order);
	free(plans);
}

void
spool_commit_done(struct spool *sp, struct spool_commit *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i].msg != NULL) {
			msg_link(sp, c[i].msg);
			if (c[i].msg->index == 0)
				file_link(sp, c[i].msg->file);
		}
		spool_draft_free(sp, c[i].draft);
		c[i].draft = NULL;
	}
}

/* ------------------------------------------------------------- committed */

#define SPOOL_ST_DONE 'X' /* the whole message is done: "" */

const char *
spool_msg_id(const struct spool_msg *m)
{
	return m->id;
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

/* Record header size: type, message number (format 2 only), length. */
static size_t
rec_head(int version)
{
	return version == 1 ? 5 : 7;
}

/*
 * A status record's checksum covers the message's queue ID too: a record
 * can never pass for another message's.
 */
static uint32_t
status_crc(const char *id, const unsigned char *rec, size_t n)
{
	return crc32c(crc32c(0, id, strlen(id)), rec, n);
}

/* What a walk over a file's status records applies them to. */
struct walk {
	struct spool_file *f;
	char (*ids)[SPOOL_ID_LEN + 1];
	struct envelope *envs; /* NULL entries' envelopes are not loaded */
	int *ok;
	int *done;
};

/*
 * Walk the status records from off and apply them; returns the offset
 * just past the last valid one.  What follows (a record torn by a crash)
 * is not anybody's.
 */
static off_t
walk_status(int fd, off_t off, off_t end, struct walk *w)
{
	unsigned char rec[11 + MAX_STATUS_VALUE];
	size_t head = rec_head(w->f->version);

	while ((size_t)(end - off) >= head + 4) {
		size_t len;
		unsigned msgno = 0;
		char value[MAX_STATUS_VALUE + 1];

		if (pread_all(fd, rec, head, off) < 0)
			break;
		if (w->f->version == 2)
			msgno = (unsigned)get_le(rec + 1, 2);
		len = (size_t)get_le(rec + head - 4, 4);
		if (msgno >= w->f->count || len > MAX_STATUS_VALUE ||
		    (off_t)(head + len + 4) > end - off ||
		    pread_all(fd, rec + head, len + 4, off + (off_t)head) < 0 ||
		    status_crc(w->ids[msgno], rec, head + len) !=
		        (uint32_t)get_le(rec + head + len, 4))
			break;
		off += (off_t)(head + len + 4);
		if (!w->ok[msgno])
			continue;
		if (rec[0] == SPOOL_ST_DONE) {
			w->done[msgno] = 1;
			continue;
		}
		memcpy(value, rec + head, len);
		value[len] = '\0';
		if (apply_status(&w->envs[msgno], rec[0], value) < 0)
			log_warnx("spool: %s: ignoring a bad status record",
			    w->ids[msgno]);
	}
	return off;
}

struct loaded {
	struct spool_file *f;
	char (*ids)[SPOOL_ID_LEN + 1];
	uint64_t *doff, *dlen, *nonce;
	struct envelope *envs;
	int *ok, *done;
};

static void
loaded_free(struct loaded *l, int keep_envs)
{
	unsigned i;

	if (!keep_envs && l->envs)
		for (i = 0; i < l->f->count; i++)
			if (l->ok[i])
				envelope_free(&l->envs[i]);
	free(l->ids);
	free(l->doff);
	free(l->dlen);
	free(l->nonce);
	free(l->envs);
	free(l->ok);
	free(l->done);
}

static void
loaded_alloc(struct loaded *l, unsigned count)
{
	l->f->count = count;
	l->ids = xcalloc(count, sizeof(*l->ids));
	l->doff = xcalloc(count, sizeof(uint64_t));
	l->dlen = xcalloc(count, sizeof(uint64_t));
	l->nonce = xcalloc(count, sizeof(uint64_t));
	l->envs = xcalloc(count, sizeof(struct envelope));
	l->ok = xcalloc(count, sizeof(int));
	l->done = xcalloc(count, sizeof(int));
}

/* One message's envelope, checked; 0 or -1 with err. */
static int
load_envelope(int fd, uint64_t eoff, uint64_t elen, uint32_t crc,
    struct envelope *env, char *err, size_t errsz)
{
	char *eb;
	int r = -1;

	if (elen > MAX_ENVELOPE) {
		snprintf(err, errsz, "envelope too long");
		return -1;
	}
	eb = xmalloc(elen ? elen : 1);
	if (pread_all(fd, eb, elen, (off_t)eoff) < 0 ||
	    crc32c(0, eb, elen) != crc)
		snprintf(err, errsz, "envelope checksum mismatch");
	else if (envelope_decode(eb, elen, env, err, errsz) == 0)
		r = 0;
	free(eb);
	return r;
}

/* The one-message format of earlier releases. */
static int
load_v1(int fd, const unsigned char *hdr, off_t size, struct loaded *l,
    char *err, size_t errsz)
{
	uint64_t doff, dlen, eoff, elen;

	if (crc32c(0, hdr, 40) != (uint32_t)get_le(hdr + 40, 4)) {
		snprintf(err, errsz, "bad header");
		return -1;
	}
	doff = get_le(hdr + 8, 8);
	dlen = get_le(hdr + 16, 8);
	eoff = get_le(hdr + 24, 8);
	elen = get_le(hdr + 32, 4);
	if (doff != SPOOL_DATA_OFFSET || dlen > (uint64_t)size ||
	    eoff != doff + dlen || eoff + elen > (uint64_t)size) {
		snprintf(err, errsz, "header does not match the file size");
		return -1;
	}
	l->f->version = 1;
	loaded_alloc(l, 1);
	memcpy(l->ids[0], l->f->name, sizeof(l->ids[0]));
	if (load_envelope(fd, eoff, elen, (uint32_t)get_le(hdr + 36, 4),
	        &l->envs[0], err, errsz) < 0)
		return -1;
	l->ok[0] = 1;
	l->doff[0] = doff;
	l->dlen[0] = dlen;
	/* No nonce was stored: any value fixed for this message will do. */
	l->nonce[0] = get_le(hdr + 36, 4) << 32 | get_le(hdr + 40, 4);
	l->f->end = (off_t)(eoff + elen);
	return 0;
}

/* Returns the number of messages whose index entry is bad. */
static int
load_v2(int fd, const unsigned char *hdr, off_t size, struct loaded *l,
    char *err, size_t errsz)
{
	uint64_t count = get_le(hdr + 8, 4), ioff = get_le(hdr + 16, 8),
	         ilen = get_le(hdr + 24, 4);
	unsigned char *index;
	unsigned i;
	int bad = 0;

	if (crc32c(0, hdr, 32) != (uint32_t)get_le(hdr + 32, 4)) {
		snprintf(err, errsz, "bad header");
		return -1;
	}
	if (count == 0 || count > MAX_COUNT || ilen != count * INDEX_ENTRY ||
	    ioff < SPOOL_DATA_OFFSET || ioff + ilen > (uint64_t)size) {
		snprintf(err, errsz, "header does not match the file size");
		return -1;
	}
	index = xmalloc(ilen);
	if (pread_all(fd, index, ilen, (off_t)ioff) < 0 ||
	    crc32c(0, index, ilen) != (uint32_t)get_le(hdr + 28, 4)) {
		free(index);
		snprintf(err, errsz, "index checksum mismatch");
		return -1;
	}
	l->f->version = 2;
	loaded_alloc(l, (unsigned)count);
	for (i = 0; i < count; i++) {
		const unsigned char *e = index + (size_t)i * INDEX_ENTRY;
		uint64_t doff = get_le(e + 16, 8), dlen = get_le(e + 24, 8),
		         eoff = get_le(e + 32, 8), elen = get_le(e + 40, 4);
		char why[200];

		memcpy(l->ids[i], e, SPOOL_ID_LEN);
		l->ids[i][SPOOL_ID_LEN] = '\0';
		if (!spool_id_ok(l->ids[i]) || doff < SPOOL_DATA_OFFSET ||
		    dlen > ioff || doff > ioff - dlen || eoff != doff + dlen ||
		    elen > ioff || eoff > ioff - elen) {
			snprintf(l->ids[i], sizeof(l->ids[i]), "?");
			log_warnx(
			    "spool: %s: entry %u is invalid", l->f->name, i);
			bad++;
			continue;
		}
		if (load_envelope(fd, eoff, elen, (uint32_t)get_le(e + 44, 4),
		        &l->envs[i], why, sizeof(why)) < 0) {
			log_warnx("spool: %s: message %s: %s", l->f->name,
			    l->ids[i], why);
			bad++;
			continue;
		}
		l->ok[i] = 1;
		l->doff[i] = doff;
		l->dlen[i] = dlen;
		l->nonce[i] = get_le(e + 48, 8);
	}
	free(index);
	l->f->end = (off_t)(ioff + ilen);
	return bad;
}

struct recover_ctx {
	struct spool *sp;
	spool_found_fn fn;
	void *arg;
	int loaded, bad;
};

static void
quarantine(struct spool *sp, const char *name, const char *why)
{
	log_warnx("spool: queue/%s: %s; moved to corrupt/", name, why);
	if (renameat(sp->queue_fd, name, sp->corrupt_fd, name) < 0)
		log_warn("spool: move queue/%s to corrupt/", name);
}

static void
recover_file(void *arg, const char *name)
{
	struct recover_ctx *rc = arg;
	struct spool *sp = rc->sp;
	unsigned char hdr[HEADER_SIZE];
	struct loaded l;
	struct walk w;
	struct stat st;
	char err[256] = "unreadable";
	unsigned i, live = 0;
	int fd, bad = -1;

	if (!spool_id_ok(name)) {
		quarantine(sp, name, "not a queue file");
		rc->bad++;
		return;
	}
	memset(&l, 0, sizeof(l));
	l.f = xcalloc(1, sizeof(*l.f));
	snprintf(l.f->name, sizeof(l.f->name), "%s", name);
	if ((fd = openat(sp->queue_fd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("spool: open queue/%s", name);
		free(l.f);
		rc->bad++;
		return;
	}
	if (fstat(fd, &st) < 0 || pread_all(fd, hdr, HEADER_SIZE, 0) < 0)
		snprintf(err, sizeof(err), "short header");
	else if (memcmp(hdr, magic2, 8) == 0)
		bad = load_v2(fd, hdr, st.st_size, &l, err, sizeof(err));
	else if (memcmp(hdr, magic1, 8) == 0)
		bad = load_v1(fd, hdr, st.st_size, &l, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "bad header");
	if (bad >= 0) {
		w.f = l.f;
		w.ids = l.ids;
		w.envs = l.envs;
		w.ok = l.ok;
		w.done = l.done;
		l.f->end = walk_status(fd, l.f->end, st.st_size, &w);
	}
	close(fd);
	if (bad < 0) {
		quarantine(sp, name, err);
		if (l.ids)
			loaded_free(&l, 0);
		free(l.f);
		rc->bad++;
		return;
	}
	if (bad > 0) {
		/* Keep a copy for inspection; deliver what is sound. */
		if (linkat(sp->queue_fd, name, sp->corrupt_fd, name, 0) < 0)
			log_warn("spool: copy queue/%s to corrupt/", name);
		rc->bad++;
	}
	for (i = 0; i < l.f->count; i++)
		if (l.ok[i] && !l.done[i])
			live++;
	if (live == 0) {
		if (unlinkat(sp->queue_fd, name, 0) < 0)
			log_warn("spool: remove queue/%s", name);
		loaded_free(&l, 0);
		free(l.f);
		return;
	}
	l.f->live = live;
	file_link(sp, l.f);
	for (i = 0; i < l.f->count; i++) {
		struct spool_msg *m;

		if (!l.ok[i])
			continue;
		if (l.done[i]) {
			envelope_free(&l.envs[i]);
			continue;
		}
		m = xcalloc(1, sizeof(*m));
		m->file = l.f;
		m->index = i;
		memcpy(m->id, l.ids[i], sizeof(m->id));
		m->data_off = l.doff[i];
		m->data_len = l.dlen[i];
		msg_link(sp, m);
		rc->loaded++;
		rc->fn(rc->arg, m, &l.envs[i], l.dlen[i], l.nonce[i]);
	}
	loaded_free(&l, 1);
}

struct clean_ctx {
	struct spool *sp;
	unsigned n;
};

static void
clean_tmp(void *arg, const char *name)
{
	struct clean_ctx *cc = arg;

	if (unlinkat(cc->sp->tmp_fd, name, 0) < 0)
		log_warn("spool: remove tmp/%s", name);
	else
		cc->n++;
}

/* Spare files of the earlier format ("f" and ten digits): never a
 * message. */
static void
clean_spare(void *arg, const char *name)
{
	struct spool *sp = arg;

	if (name[0] == 'f' && strlen(name) == 11 &&
	    strspn(name + 1, "0123456789") == 10 &&
	    unlinkat(sp->queue_fd, name, 0) < 0)
		log_warn("spool: remove queue/%s", name);
}

static void
recover_one(void *arg, const char *name)
{
	if (!(name[0] == 'f' && strlen(name) == 11 &&
	        strspn(name + 1, "0123456789") == 10))
		recover_file(arg, name);
}

int
spool_recover(struct spool *sp, spool_found_fn fn, void *arg)
{
	struct recover_ctx rc = {sp, fn, arg, 0, 0};
	struct clean_ctx cc = {sp, 0};

	if (for_each_entry(sp->tmp_fd, clean_tmp, &cc) < 0 ||
	    for_each_entry(sp->queue_fd, clean_spare, sp) < 0)
		log_warn("spool: cannot clean %s", sp->dir);
	if (cc.n > 0)
		log_info("spool: removed %u file%s left in tmp/ (never "
		         "committed)",
		    cc.n, cc.n == 1 ? "" : "s");
	if (for_each_entry(sp->queue_fd, recover_one, &rc) < 0)
		return -1;
	log_info("spool: recovered %d message%s in %zu file%s%s", rc.loaded,
	    rc.loaded == 1 ? "" : "s", sp->nfiles, sp->nfiles == 1 ? "" : "s",
	    rc.bad ? ", some moved to corrupt/" : "");
	return 0;
}

/* A status record for message index of a file; returns its size. */
static size_t
make_record(unsigned char *rec, int version, unsigned index, const char *id,
    int type, const char *value, size_t len)
{
	size_t head = rec_head(version);

	rec[0] = (unsigned char)type;
	if (version == 2)
		put_le(rec + 1, index, 2);
	put_le(rec + head - 4, len, 4);
	memcpy(rec + head, value, len);
	put_le(rec + head + len, status_crc(id, rec, head + len), 4);
	return head + len + 4;
}

/* Write n octets of records at the end of f. */
static int
append_to(struct spool *sp, struct spool_file *f, const void *p, size_t n)
{
	int fd, r, saved;

	fd = openat(sp->queue_fd, f->name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	r = pwrite_all(fd, p, n, f->end);
	saved = errno;
	close(fd);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	f->end += (off_t)n;
	return 0;
}

static int
append_record(
    struct spool *sp, struct spool_msg *m, int type, const char *value)
{
	unsigned char rec[11 + MAX_STATUS_VALUE];
	size_t len = strlen(value);

	if (len > MAX_STATUS_VALUE) {
		errno = EINVAL;
		return -1;
	}
	return append_to(sp, m->file, rec,
	    make_record(
	        rec, m->file->version, m->index, m->id, type, value, len));
}

void
spool_flush(struct spool *sp)
{
	while (sp->dirty) {
		struct spool_file *f = sp->dirty;
		struct done_rec *d;
		unsigned char *buf;
		size_t n = 0, cnt = 0;

		for (d = f->done; d; d = d->next)
			cnt++;
		buf = xcalloc(cnt, 11);
		for (d = f->done; d; d = d->next)
			n += make_record(buf + n, f->version, d->index, d->id,
			    SPOOL_ST_DONE, "", 0);
		if (append_to(sp, f, buf, n) < 0)
			log_warn("spool: %s: cannot record %zu message%s done",
			    f->name, cnt, cnt == 1 ? "" : "s");
		free(buf);
		forget_done(sp, f);
	}
}

int
spool_msg_status(struct spool *sp, struct spool_msg *m,
    enum spool_status_type type, const char *value)
{
	return append_record(sp, m, type, value);
}

int
spool_msg_done(struct spool *sp, struct spool_msg *m)
{
	struct spool_file *f = m->file;
	int r = 0;

	if (f->live > 1) {
		/* Others still need the file: it is to say that this one is
		 * done, or a restart would deliver it again.  Said a little
		 * later (spool_flush), for all that are done meanwhile: the
		 * messages of a file are mostly done together, and then the
		 * file goes and nothing needs saying.  (A crash before that:
		 * the delivery is tried again and finds its copy.) */
		if (f->version == 2) {
			struct done_rec *d = xmalloc(sizeof(*d));

			d->index = m->index;
			memcpy(d->id, m->id, sizeof(d->id));
			d->next = f->done;
			f->done = d;
			if (!f->dirty) {
				f->dirty = 1;
				f->dirty_next = sp->dirty;
				sp->dirty = f;
			}
		}
		f->live--;
	} else {
		if ((r = unlinkat(sp->queue_fd, f->name, 0)) < 0 &&
		    errno == ENOENT)
			r = 0;
		file_unlink(sp, f);
	}
	msg_unlink(sp, m);
	return r;
}

int
spool_msg_open(
    struct spool *sp, const struct spool_msg *m, uint64_t *off, uint64_t *len)
{
	*off = m->data_off;
	*len = m->data_len;
	return openat(
	    sp->queue_fd, m->file->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
