/*
 * fsshim - see fsshim.h.
 *
 * Every wrapper has the same shape: when neither recording nor faults are
 * configured, or the call comes from inside the shim, it goes straight to
 * the real function.  Otherwise it finds what the call is about (path,
 * inode, whether it lies under a root), asks the fault rules, makes the
 * real call (unless a rule failed it), and appends one record.
 */
/* Our open() is open(), not open64() under another name, and no fortify
 * wrappers stand in the way of defining the functions they wrap. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fsshim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif
#ifndef RWF_SYNC
#define RWF_SYNC 0x00000004
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x00000010
#endif

/* glibc's fortify entry points: declared only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define MAX_ROOTS 16
#define MAX_CTL (64 * 1024)
#define SMALL_REC 4096

/* Flags a rule may require (flags=): one name, one bit. */
enum {
	FL_NOREPLACE = 1 << 0,
	FL_EXCHANGE = 1 << 1,
	FL_WHITEOUT = 1 << 2,
	FL_TMPFILE = 1 << 3,
	FL_CREAT = 1 << 4,
	FL_EXCL = 1 << 5,
	FL_TRUNC = 1 << 6,
	FL_REMOVEDIR = 1 << 7,
	FL_EMPTY_PATH = 1 << 8,
	FL_SYMLINK_FOLLOW = 1 << 9,
};

static const struct {
	const char *name;
	unsigned bit;
} flag_names[] = {
    {"noreplace", FL_NOREPLACE},
    {"exchange", FL_EXCHANGE},
    {"whiteout", FL_WHITEOUT},
    {"tmpfile", FL_TMPFILE},
    {"creat", FL_CREAT},
    {"excl", FL_EXCL},
    {"trunc", FL_TRUNC},
    {"removedir", FL_REMOVEDIR},
    {"empty_path", FL_EMPTY_PATH},
    {"symlink_follow", FL_SYMLINK_FOLLOW},
};

static const char *const op_names[FSSHIM_OP_MAX] = {
    [FSSHIM_OP_OPEN] = "open",
    [FSSHIM_OP_WRITE] = "write",
    [FSSHIM_OP_TRUNCATE] = "truncate",
    [FSSHIM_OP_FALLOCATE] = "fallocate",
    [FSSHIM_OP_FSYNC] = "fsync",
    [FSSHIM_OP_FDATASYNC] = "fdatasync",
    [FSSHIM_OP_SYNC_FILE_RANGE] = "sync_file_range",
    [FSSHIM_OP_SYNCFS] = "syncfs",
    [FSSHIM_OP_SYNC] = "sync",
    [FSSHIM_OP_LINK] = "link",
    [FSSHIM_OP_RENAME] = "rename",
    [FSSHIM_OP_UNLINK] = "unlink",
    [FSSHIM_OP_MKDIR] = "mkdir",
    [FSSHIM_OP_RMDIR] = "rmdir",
    [FSSHIM_OP_CLOSE] = "close",
    [FSSHIM_OP_TMPFILE] = "tmpfile",
    [FSSHIM_OP_ATTR] = "attr",
    [FSSHIM_OP_SYMLINK] = "symlink",
};

static const struct {
	const char *name;
	int value;
} errno_names[] = {
    {"EIO", EIO},
    {"ENOSPC", ENOSPC},
    {"EDQUOT", EDQUOT},
    {"EINVAL", EINVAL},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"ENOTSUP", ENOTSUP},
    {"ENOSYS", ENOSYS},
    {"EROFS", EROFS},
    {"EACCES", EACCES},
    {"EPERM", EPERM},
    {"EEXIST", EEXIST},
    {"ENOENT", ENOENT},
    {"EMFILE", EMFILE},
    {"ENFILE", ENFILE},
    {"EXDEV", EXDEV},
    {"EFBIG", EFBIG},
    {"EINTR", EINTR},
    {"EAGAIN", EAGAIN},
    {"EISDIR", EISDIR},
    {"ENOTDIR", ENOTDIR},
    {"EBUSY", EBUSY},
    {"EMLINK", EMLINK},
    {"ENAMETOOLONG", ENAMETOOLONG},
    {"EOVERFLOW", EOVERFLOW},
    {"ENOMEM", ENOMEM},
};

struct rule {
	unsigned ops; /* bit per enum fsshim_op; 0: any */
	char *func;   /* glob or NULL */
	char *path;   /* glob or NULL */
	char *comm;   /* glob or NULL */
	int kind;     /* 'f', 'd' or 0 */
	unsigned flags;
	int err;
	uint64_t after, times;
};

/* One call, as the rules see it. */
struct call {
	int op;
	const char *func;
	unsigned flags;           /* FL_* */
	int kind;                 /* 'f', 'd' or 0: the object's type */
	const char *path, *path2; /* NULL: unknown */
	int rule;                 /* the rule that failed it, or -1 */
};

/* A file descriptor's object: its path only for files and directories. */
struct fdinfo {
	int kind;
	struct stat st;
	int path_known;
	int in_scope;
	char path[PATH_MAX];
};

static struct {
	int inited;
	int trace_fd;
	char *trace_path;
	dev_t trace_dev;
	ino_t trace_ino;
	int ctl_fd;
	ino_t ctl_ino;
	int proc_fd;
	pid_t proc_pid;
	char *roots[MAX_ROOTS];
	size_t rootlen[MAX_ROOTS];
	dev_t rootdev[MAX_ROOTS];
	size_t nroots;
	int high_fd;
	struct fsshim_counters *cnt;
	struct fsshim_counters local_cnt;
	pthread_mutex_t lock;
	struct rule *rules;
	size_t nrules;
	struct timespec ctl_mtime;
	off_t ctl_size;
	int ctl_seen;
	int complained;
} g = {
    .trace_fd = -1,
    .ctl_fd = -1,
    .proc_fd = -1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Set while the shim itself runs on this thread: nested calls pass. */
static __thread int busy __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------ real functions */

static void *
real_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (p == NULL) {
		p = dlsym(RTLD_NEXT, name);
		if (p == NULL) {
			static const char msg[] = "fsshim: no next definition "
			                          "of a wrapped function\n";

			syscall(SYS_write, 2, msg, sizeof(msg) - 1);
			abort();
		}
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

#define REAL(name) \
	({ \
		static void *slot_##name; \
		(__typeof__(&name))real_sym(&slot_##name, #name); \
	})

/* --------------------------------------------------- internal syscalls */

static int
sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static int
sys_stat_at(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

static int
sys_open(const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void
sys_close(int fd)
{
	syscall(SYS_close, fd);
}

static off_t
sys_lseek_cur(int fd)
{
	return (off_t)syscall(SYS_lseek, fd, (off_t)0, SEEK_CUR);
}

static int
sys_getfl(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_GETFL);
}

static void
say(const char *msg)
{
	syscall(SYS_write, 2, msg, strlen(msg));
}

/* Our descriptors go high, where the program does not expect to find
 * any, so that its dup2() onto low numbers leaves them alone. */
static int
move_high(int fd)
{
	int nfd;

	if (fd < 0 || g.high_fd <= 0 || fd >= g.high_fd)
		return fd;
	nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, g.high_fd);
	if (nfd < 0)
		return fd;
	sys_close(fd);
	return nfd;
}

static int
own_fd(int fd)
{
	return fd >= 0 &&
	    (fd == g.trace_fd || fd == g.ctl_fd || fd == g.proc_fd);
}

/* ---------------------------------------------------------------- paths */

/* Lexically normal absolute path of base and rel (rel may be absolute). */
static int
path_join(const char *base, const char *rel, char *out, size_t outsz)
{
	char tmp[PATH_MAX * 2];
	size_t o = 0;
	char *p, *save = NULL;
	int n;

	if (rel[0] == '/' || base == NULL)
		n = snprintf(tmp, sizeof(tmp), "%s", rel);
	else
		n = snprintf(tmp, sizeof(tmp), "%s/%s", base, rel);
	if (n < 0 || (size_t)n >= sizeof(tmp) || outsz < 2)
		return -1;
	for (p = strtok_r(tmp, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		size_t len = strlen(p);

		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + len + 1 > outsz)
			return -1;
		out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static void
proc_reopen(void)
{
	pid_t pid = (pid_t)syscall(SYS_getpid);
	int fd;

	if (g.proc_fd >= 0 && g.proc_pid == pid)
		return;
	if (g.proc_fd >= 0) {
		sys_close(g.proc_fd);
		g.proc_fd = -1;
	}
	/* /proc/self resolves now: after a fork this is the child's. */
	fd = sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	g.proc_fd = move_high(fd);
	g.proc_pid = pid;
}

/*
 * Path of a descriptor, through the /proc/self/fd directory opened before
 * any chroot: it also names files outside a chroot, by their full path.
 */
static int
fd_path(int fd, char *out, size_t outsz)
{
	char name[16];
	ssize_t n;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1;

	proc_reopen();
	if (g.proc_fd < 0)
		return -1;
	snprintf(name, sizeof(name), "%d", fd);
	n = syscall(SYS_readlinkat, g.proc_fd, name, out, outsz - 1);
	if (n <= 0 || (size_t)n >= outsz - 1)
		return -1;
	out[n] = '\0';
	if (out[0] != '/')
		return -1; /* socket:, pipe:, anon_inode: */
	if ((size_t)n > dl && strcmp(out + n - dl, deleted) == 0)
		out[n - dl] = '\0';
	return 0;
}

/* Absolute path of (dirfd, path); path "" names dirfd itself. */
static int
resolve_at(int dirfd, const char *path, char *out, size_t outsz)
{
	char base[PATH_MAX];

	if (path == NULL)
		return -1;
	if (path[0] == '/')
		return path_join(NULL, path, out, outsz);
	if (dirfd == AT_FDCWD) {
		if (syscall(SYS_getcwd, base, sizeof(base)) < 0)
			return -1;
	} else if (fd_path(dirfd, base, sizeof(base)) < 0) {
		return -1;
	}
	if (path[0] == '\0')
		return path_join(NULL, base, out, outsz);
	return path_join(base, path, out, outsz);
}

static int
under_roots(const char *path)
{
	size_t i;

	for (i = 0; i < g.nroots; i++)
		if (strncmp(path, g.roots[i], g.rootlen[i]) == 0 &&
		    (path[g.rootlen[i]] == '\0' || path[g.rootlen[i]] == '/' ||
		        g.rootlen[i] == 1))
			return 1;
	return 0;
}

static int
on_root_dev(dev_t dev)
{
	size_t i;

	for (i = 0; i < g.nroots; i++)
		if (g.rootdev[i] == dev)
			return 1;
	return 0;
}

static int
tracing(void)
{
	return g.trace_fd >= 0 && g.nroots > 0;
}

static int
kind_of(const struct stat *st)
{
	return S_ISREG(st->st_mode) ? 'f' : S_ISDIR(st->st_mode) ? 'd' : 0;
}

static void
fd_inspect(int fd, struct fdinfo *fi)
{
	fi->kind = 0;
	fi->path_known = 0;
	fi->in_scope = 0;
	if (sys_fstat(fd, &fi->st) < 0 || (fi->kind = kind_of(&fi->st)) == 0)
		return;
	fi->path_known = fd_path(fd, fi->path, sizeof(fi->path)) == 0;
	if (!tracing())
		return;
	if (fi->path_known)
		fi->in_scope = under_roots(fi->path);
	else /* no /proc: a file on a root's file system, not stdio */
		fi->in_scope =
		    fd > 2 && fi->kind == 'f' && on_root_dev(fi->st.st_dev);
}

/* The inode of path's directory. */
static int
parent_stat(const char *abs, struct stat *st)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", abs);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return -1;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return sys_stat_at(AT_FDCWD, dir, st, 0);
}

/* ---------------------------------------------------------------- rules */

static void
rules_free(struct rule *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].func);
		free(r[i].path);
		free(r[i].comm);
	}
	free(r);
}

static int
parse_errno(const char *v)
{
	size_t i;
	char *end;
	long n;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(v, errno_names[i].name) == 0)
			return errno_names[i].value;
	n = strtol(v, &end, 10);
	return (*v && *end == '\0' && n > 0 && n < 4096) ? (int)n : -1;
}

static int
parse_list(const char *v, int ops)
{
	char tmp[256], *p, *save = NULL;
	unsigned bits = 0;
	size_t i;

	if (strlen(v) >= sizeof(tmp))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s", v);
	for (p = strtok_r(tmp, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;

		if (ops) {
			for (i = 1; i < FSSHIM_OP_MAX; i++)
				if (strcmp(p, op_names[i]) == 0)
					bit = 1u << i;
		} else {
			for (i = 0;
			     i < sizeof(flag_names) / sizeof(flag_names[0]);
			     i++)
				if (strcmp(p, flag_names[i].name) == 0)
					bit = flag_names[i].bit;
		}
		if (bit == 0)
			return -1;
		bits |= bit;
	}
	return (int)bits;
}

static int
parse_u64(const char *v, uint64_t *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return -1;
	*out = strtoull(v, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* One rule line; 0, or -1 when a field is unknown or bad. */
static int
parse_rule(char *line, struct rule *r)
{
	char *tok, *save = NULL;
	int n;

	memset(r, 0, sizeof(*r));
	r->err = EIO;
	for (tok = strtok_r(line, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *v = strchr(tok, '=');

		if (v == NULL)
			return -1;
		*v++ = '\0';
		if (strcmp(tok, "op") == 0) {
			if ((n = parse_list(v, 1)) < 0)
				return -1;
			r->ops = (unsigned)n;
		} else if (strcmp(tok, "flags") == 0) {
			if ((n = parse_list(v, 0)) < 0)
				return -1;
			r->flags = (unsigned)n;
		} else if (strcmp(tok, "func") == 0) {
			r->func = strdup(v);
		} else if (strcmp(tok, "path") == 0) {
			r->path = strdup(v);
		} else if (strcmp(tok, "comm") == 0) {
			r->comm = strdup(v);
		} else if (strcmp(tok, "type") == 0) {
			if (strcmp(v, "file") == 0)
				r->kind = 'f';
			else if (strcmp(v, "dir") == 0)
				r->kind = 'd';
			else
				return -1;
		} else if (strcmp(tok, "errno") == 0) {
			if ((r->err = parse_errno(v)) < 0)
				return -1;
		} else if (strcmp(tok, "after") == 0) {
			if (parse_u64(v, &r->after) < 0)
				return -1;
		} else if (strcmp(tok, "times") == 0) {
			if (parse_u64(v, &r->times) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/*
 * Read the control file again if it changed.  A file without its "end"
 * line is being written: keep the old rules and look again next time.
 * A bad rule disables every rule (and says so): a test must not run with
 * half of what it asked for.  Called with g.lock held.
 */
static void
rules_reload(void)
{
	struct stat st;
	char *text, *line, *save = NULL, *gen = NULL;
	struct rule *nr;
	size_t n = 0, lineno = 0;
	ssize_t len;
	int complete = 0, bad = 0;

	if (sys_fstat(g.ctl_fd, &st) < 0 || st.st_ino != g.ctl_ino)
		return;
	if (g.ctl_seen && st.st_mtim.tv_sec == g.ctl_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == g.ctl_mtime.tv_nsec &&
	    st.st_size == g.ctl_size)
		return;
	if (st.st_size > MAX_CTL)
		return;
	text = malloc((size_t)st.st_size + 1);
	nr = calloc(FSSHIM_MAX_RULES, sizeof(*nr));
	if (text == NULL || nr == NULL) {
		free(text);
		free(nr);
		return;
	}
	len = syscall(SYS_pread64, g.ctl_fd, text, (size_t)st.st_size, 0);
	if (len != st.st_size) {
		free(text);
		free(nr);
		return;
	}
	text[len] = '\0';
	complete = len == 0; /* an empty file: no rules */
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "gen ", 4) == 0 && gen == NULL) {
			gen = p + 4;
			continue;
		}
		if (strcmp(p, "end") == 0 ||
		    (strncmp(p, "end ", 4) == 0 && gen != NULL)) {
			/* Old text after new: not yet the whole file. */
			complete = gen == NULL
			    ? p[3] == '\0'
			    : strcmp(p + 3, "") != 0 && strcmp(p + 4, gen) == 0;
			break;
		}
		if (n == FSSHIM_MAX_RULES || parse_rule(p, &nr[n]) < 0) {
			if (n < FSSHIM_MAX_RULES) {
				free(nr[n].func);
				free(nr[n].path);
				free(nr[n].comm);
			}
			bad = 1;
			break;
		}
		n++;
	}
	free(text); /* gen pointed into it: not used from here on */
	if (!complete && !bad) {
		rules_free(nr, n);
		return;
	}
	rules_free(g.rules, g.nrules);
	g.rules = bad ? NULL : nr;
	g.nrules = bad ? 0 : n;
	if (bad) {
		char msg[128];

		rules_free(nr, n);
		snprintf(msg, sizeof(msg),
		    "fsshim: bad fault rule at line %zu: no rule applies\n",
		    lineno);
		say(msg);
	}
	g.ctl_mtime = st.st_mtim;
	g.ctl_size = st.st_size;
	g.ctl_seen = 1;
}

static int
glob_ok(const char *glob, const char *s)
{
	if (glob == NULL)
		return 1;
	if (s == NULL)
		return strcmp(glob, "*") == 0;
	return fnmatch(glob, s, 0) == 0;
}

static int
rule_matches(const struct rule *r, const struct call *c, const char *comm)
{
	/* An O_TMPFILE open is an open too. */
	if (r->ops && !(r->ops & (1u << c->op)) &&
	    !(c->op == FSSHIM_OP_TMPFILE && (r->ops & (1u << FSSHIM_OP_OPEN))))
		return 0;
	if ((c->flags & r->flags) != r->flags)
		return 0;
	if (r->kind && r->kind != c->kind)
		return 0;
	if (!glob_ok(r->func, c->func) || !glob_ok(r->comm, comm))
		return 0;
	if (r->path && !glob_ok(r->path, c->path) &&
	    !(c->path2 && glob_ok(r->path, c->path2)))
		return 0;
	return 1;
}

/* The errno a rule gives this call, or 0: let it through. */
static int
fault_check(struct call *c)
{
	char comm[17] = "";
	size_t i;
	int err = 0;

	c->rule = -1;
	if (g.ctl_fd < 0)
		return 0;
	syscall(SYS_prctl, PR_GET_NAME, comm, 0, 0, 0);
	pthread_mutex_lock(&g.lock);
	rules_reload();
	for (i = 0; i < g.nrules; i++) {
		const struct rule *r = &g.rules[i];
		uint64_t n;

		if (!rule_matches(r, c, comm))
			continue;
		n = __atomic_fetch_add(&g.cnt->calls[i], 1, __ATOMIC_SEQ_CST);
		if (err == 0 && n >= r->after &&
		    (r->times == 0 || n - r->after < r->times)) {
			__atomic_fetch_add(
			    &g.cnt->fired[i], 1, __ATOMIC_SEQ_CST);
			err = r->err;
			c->rule = (int)i;
		}
	}
	pthread_mutex_unlock(&g.lock);
	return err;
}

/* -------------------------------------------------------------- records */

struct rec {
	unsigned char *p;
	size_t len, cap;
	int failed;
	unsigned char small[SMALL_REC];
};

static unsigned char *
rec_room(struct rec *r, size_t n)
{
	if (r->failed)
		return NULL;
	if (r->len + n > r->cap) {
		size_t cap = r->cap * 2 > r->len + n ? r->cap * 2 : r->len + n;
		unsigned char *np = malloc(cap);

		if (np == NULL) {
			r->failed = 1;
			return NULL;
		}
		memcpy(np, r->p, r->len);
		if (r->p != r->small)
			free(r->p);
		r->p = np;
		r->cap = cap;
	}
	r->len += n;
	return r->p + r->len - n;
}

static void
rec_start(struct rec *r, int op, const char *func, long long ret, int err)
{
	unsigned char *h;
	uint32_t v[6];
	int64_t rv = ret;

	r->p = r->small;
	r->cap = sizeof(r->small);
	r->len = 0;
	r->failed = 0;
	h = rec_room(r, FSSHIM_HEADER_SIZE);
	memset(h, 0, FSSHIM_HEADER_SIZE);
	v[0] = FSSHIM_MAGIC;
	v[1] = 0; /* length: at the end */
	v[2] = (uint32_t)op;
	v[3] = (uint32_t)syscall(SYS_getpid);
	v[4] = (uint32_t)syscall(SYS_gettid);
	v[5] = (uint32_t)err;
	memcpy(h, v, sizeof(v));
	memcpy(h + 24, &rv, 8);
}

static void
rec_put(struct rec *r, uint32_t tag, const void *v, size_t n)
{
	unsigned char *p = rec_room(r, 8 + n);
	uint32_t hdr[2] = {tag, (uint32_t)n};

	if (p == NULL)
		return;
	memcpy(p, hdr, 8);
	if (n)
		memcpy(p + 8, v, n);
}

static void
rec_str(struct rec *r, uint32_t tag, const char *s)
{
	rec_put(r, tag, s, strlen(s));
}

static void
rec_u64(struct rec *r, uint32_t tag, uint64_t v)
{
	rec_put(r, tag, &v, 8);
}

static void
rec_inode(struct rec *r, uint32_t tag, const struct stat *st)
{
	struct fsshim_inode in;

	memset(&in, 0, sizeof(in));
	in.dev = (uint64_t)st->st_dev;
	in.ino = (uint64_t)st->st_ino;
	in.mode = (uint32_t)st->st_mode;
	in.uid = (uint32_t)st->st_uid;
	in.gid = (uint32_t)st->st_gid;
	in.nlink = (uint32_t)st->st_nlink;
	in.size = (uint64_t)st->st_size;
	rec_put(r, tag, &in, sizeof(in));
}

/* The first total bytes of iov: as DATA, or as ZERO when all are zero. */
static void
rec_data(struct rec *r, const struct iovec *iov, int iovcnt, size_t total)
{
	size_t left = total, i, k;
	unsigned char *p;
	int zero = 1;

	for (i = 0; i < (size_t)iovcnt && left && zero; i++) {
		const unsigned char *b = iov[i].iov_base;
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		for (k = 0; k < n; k++)
			if (b[k]) {
				zero = 0;
				break;
			}
		left -= n;
	}
	if (zero) {
		rec_put(r, FSSHIM_T_ZERO, NULL, 0);
		return;
	}
	if ((p = rec_room(r, 8 + total)) == NULL)
		return;
	memcpy(p, (uint32_t[2]){FSSHIM_T_DATA, (uint32_t)total}, 8);
	p += 8;
	left = total;
	for (i = 0; i < (size_t)iovcnt && left; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		memcpy(p, iov[i].iov_base, n);
		p += n;
		left -= n;
	}
}

static void
rec_common(struct rec *r, const char *func, int rule)
{
	char comm[17] = "";

	syscall(SYS_prctl, PR_GET_NAME, comm, 0, 0, 0);
	rec_str(r, FSSHIM_T_FUNC, func);
	rec_str(r, FSSHIM_T_COMM, comm);
	if (rule >= 0) {
		uint32_t v = (uint32_t)rule;

		rec_put(r, FSSHIM_T_FAULT, &v, 4);
	}
}

/*
 * Append the record with one write(2).  The trace descriptor is checked
 * first: a program that reused its number (dup2) must not get our bytes.
 */
static void
rec_emit(struct rec *r)
{
	struct timespec ts;
	struct stat st;
	uint32_t len = (uint32_t)r->len;
	uint64_t ns;
	ssize_t w;

	if (r->failed) {
		say("fsshim: out of memory: a record is missing\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	memcpy(r->p + 4, &len, 4);
	memcpy(r->p + 32, &ns, 8);
	if (g.trace_fd < 0 || sys_fstat(g.trace_fd, &st) < 0 ||
	    st.st_dev != g.trace_dev || st.st_ino != g.trace_ino) {
		if (!__atomic_exchange_n(&g.complained, 1, __ATOMIC_SEQ_CST))
			say("fsshim: the trace descriptor was taken over: "
			    "recording stops\n");
		g.trace_fd = -1;
		goto out;
	}
	w = syscall(SYS_write, g.trace_fd, r->p, r->len);
	if (w != (ssize_t)r->len)
		say("fsshim: short write to the trace\n");
out:
	if (r->p != r->small)
		free(r->p);
	r->p = NULL;
}

/* ------------------------------------------------------------- plumbing */

static int
enter(void)
{
	if (!g.inited || busy || (!tracing() && g.ctl_fd < 0))
		return 0;
	busy = 1;
	return 1;
}

static void
leave(void)
{
	busy = 0;
}

/*
 * Calls that change names (create, link, rename, unlink, mkdir) run one
 * at a time across the process tree, each with its record: a thread that
 * sees another's change through the file system itself (EEXIST, ENOENT)
 * has no other link to it, and its own record must not come first.  A
 * mutex orders the threads of a process, flock(2) on the trace the
 * processes (each has its own open file description of it).  Data calls
 * and syncs are not serialized: who waits for them learns of them through
 * the caller, after the record.
 */
static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;

static int
ns_begin(void)
{
	if (!tracing())
		return -1;
	pthread_mutex_lock(&ns_lock);
	syscall(SYS_flock, g.trace_fd, LOCK_EX);
	return g.trace_fd;
}

static void
ns_end(int fd)
{
	if (fd < 0)
		return;
	syscall(SYS_flock, fd, LOCK_UN);
	pthread_mutex_unlock(&ns_lock);
}

/* Shared by the fd-based wrappers: inspect, ask the rules.  Returns 0
 * when the call is none of our business (pass it through). */
static int
fd_begin(struct call *c, struct fdinfo *fi, int fd, int op, const char *func,
    unsigned flags, int *fault)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->func = func;
	c->flags = flags;
	c->rule = -1;
	fd_inspect(fd, fi);
	if (fi->kind == 0)
		return 0;
	c->kind = fi->kind;
	c->path = fi->path_known ? fi->path : NULL;
	*fault = fault_check(c);
	return fi->in_scope || *fault;
}

static void
rec_fd_object(struct rec *r, int fd, const struct fdinfo *fi)
{
	struct stat st;
	int32_t v = fd;

	rec_put(r, FSSHIM_T_FD, &v, 4);
	if (sys_fstat(fd, &st) == 0)
		rec_inode(r, FSSHIM_T_INODE, &st);
	else
		rec_inode(r, FSSHIM_T_INODE, &fi->st);
	rec_str(r, FSSHIM_T_PATH, fi->path_known ? fi->path : "");
}

/* ----------------------------------------------------------------- open */

typedef int (*openfn)(int dirfd, const char *path, int flags, mode_t mode);

static int
open_common(const char *func, openfn fn, int dirfd, const char *path, int flags,
    mode_t mode)
{
	int tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	char abs[PATH_MAX];
	struct call c;
	struct stat st, pst;
	int fd, saved, fault = 0, existed = 0, scope, known, created;
	int locked = -1;

	if (!enter())
		return fn(dirfd, path, flags, mode);
	known = resolve_at(dirfd, path, abs, sizeof(abs)) == 0;
	scope = known && tracing() && under_roots(abs);
	memset(&c, 0, sizeof(c));
	c.op = tmpfile ? FSSHIM_OP_TMPFILE : FSSHIM_OP_OPEN;
	c.func = func;
	c.kind = !tmpfile && (flags & O_DIRECTORY) ? 'd' : 'f';
	c.path = known ? abs : NULL;
	c.flags = (tmpfile ? FL_TMPFILE : 0) |
	    (!tmpfile && (flags & O_CREAT) ? FL_CREAT : 0) |
	    (flags & O_EXCL ? FL_EXCL : 0) | (flags & O_TRUNC ? FL_TRUNC : 0);
	/* Plain opens change nothing: only creating ones are ruled on. */
	if (tmpfile || (flags & (O_CREAT | O_TRUNC)))
		fault = fault_check(&c);
	if (fault) {
		if (scope) {
			struct rec r;

			rec_start(&r, c.op, func, -1, fault);
			rec_common(&r, func, c.rule);
			rec_str(&r, FSSHIM_T_PATH, abs);
			rec_u64(&r, FSSHIM_T_FLAGS, (uint64_t)flags);
			rec_emit(&r);
		}
		leave();
		errno = fault;
		return -1;
	}
	if (scope && (tmpfile || (flags & (O_CREAT | O_TRUNC))))
		locked = ns_begin();
	if (scope && (flags & O_CREAT) && !(flags & O_EXCL) && !tmpfile)
		existed =
		    sys_stat_at(AT_FDCWD, abs, &st, AT_SYMLINK_NOFOLLOW) == 0;
	fd = fn(dirfd, path, flags, mode);
	saved = errno;
	created = fd >= 0 && !tmpfile && (flags & O_CREAT) && !existed;
	if (scope && (tmpfile || created || (flags & O_TRUNC) || fd < 0) &&
	    (fd >= 0 || (flags & (O_CREAT | O_TRUNC)) || tmpfile)) {
		struct rec r;

		rec_start(&r, c.op, func, fd, fd < 0 ? saved : 0);
		rec_common(&r, func, -1);
		if (fd >= 0) {
			int32_t v = fd;

			rec_put(&r, FSSHIM_T_FD, &v, 4);
			if (sys_fstat(fd, &st) == 0)
				rec_inode(&r, FSSHIM_T_INODE, &st);
		}
		rec_str(&r, FSSHIM_T_PATH, abs);
		if (tmpfile ? sys_stat_at(AT_FDCWD, abs, &pst, 0) == 0
		            : parent_stat(abs, &pst) == 0)
			rec_inode(&r, FSSHIM_T_PARENT, &pst);
		rec_u64(&r, FSSHIM_T_FLAGS, (uint64_t)flags);
		if (created)
			rec_put(&r, FSSHIM_T_CREATED, NULL, 0);
		rec_emit(&r);
	}
	ns_end(locked);
	leave();
	errno = saved;
	return fd;
}

static int
call_open(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	return REAL(open)(path, flags, mode);
}

static int
call_open64(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	return REAL(open64)(path, flags, mode);
}

static int
call_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return REAL(openat)(dirfd, path, flags, mode);
}

static int
call_openat64(int dirfd, const char *path, int flags, mode_t mode)
{
	return REAL(openat64)(dirfd, path, flags, mode);
}

static int
call_creat(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	(void)flags;
	return REAL(creat)(path, mode);
}

static int
call_creat64(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	(void)flags;
	return REAL(creat64)(path, mode);
}

static int
call_open_2(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	(void)mode;
	return REAL(__open_2)(path, flags);
}

static int
call_open64_2(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd;
	(void)mode;
	return REAL(__open64_2)(path, flags);
}

static int
call_openat_2(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)mode;
	return REAL(__openat_2)(dirfd, path, flags);
}

static int
call_openat64_2(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)mode;
	return REAL(__openat64_2)(dirfd, path, flags);
}

#define OPEN_MODE(flags, mode) \
	do { \
		if (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = (mode_t)va_arg(ap, int); \
			va_end(ap); \
		} \
	} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common("open", call_open, AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common("open64", call_open64, AT_FDCWD, path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common("openat", call_openat, dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return open_common("openat64", call_openat64, dirfd, path, flags, mode);
}

int
creat(const char *path, mode_t mode)
{
	return open_common("creat", call_creat, AT_FDCWD, path,
	    O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int
creat64(const char *path, mode_t mode)
{
	return open_common("creat64", call_creat64, AT_FDCWD, path,
	    O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int
__open_2(const char *path, int flags)
{
	return open_common("__open_2", call_open_2, AT_FDCWD, path, flags, 0);
}

int
__open64_2(const char *path, int flags)
{
	return open_common(
	    "__open64_2", call_open64_2, AT_FDCWD, path, flags, 0);
}

int
__openat_2(int dirfd, const char *path, int flags)
{
	return open_common("__openat_2", call_openat_2, dirfd, path, flags, 0);
}

int
__openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(
	    "__openat64_2", call_openat64_2, dirfd, path, flags, 0);
}

/* ---------------------------------------------------------------- write */

/* off -1: at the file offset; rwf: pwritev2 flags. */
typedef ssize_t (*writefn)(
    int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf);

static ssize_t
write_common(const char *func, writefn fn, int fd, const struct iovec *iov,
    int iovcnt, off_t off, int rwf)
{
	struct fdinfo fi;
	struct call c;
	struct stat st;
	ssize_t n;
	off_t at = off;
	int saved, fault = 0, fl;

	if (!enter())
		return fn(fd, iov, iovcnt, off, rwf);
	if (!fd_begin(&c, &fi, fd, FSSHIM_OP_WRITE, func, 0, &fault)) {
		leave();
		return fn(fd, iov, iovcnt, off, rwf);
	}
	if (fault) {
		n = -1;
		saved = fault;
	} else {
		n = fn(fd, iov, iovcnt, off, rwf);
		saved = errno;
	}
	if (fi.in_scope && n != 0) {
		struct rec r;

		fl = sys_getfl(fd);
		if (n > 0 &&
		    ((fl >= 0 && (fl & O_APPEND)) || (rwf & RWF_APPEND))) {
			if (sys_fstat(fd, &st) == 0)
				at = st.st_size - n;
		} else if (n > 0 && off < 0) {
			at = sys_lseek_cur(fd) - n;
		}
		rec_start(&r, FSSHIM_OP_WRITE, func, n, n < 0 ? saved : 0);
		rec_common(&r, func, c.rule);
		rec_fd_object(&r, fd, &fi);
		if (n > 0) {
			rec_u64(&r, FSSHIM_T_OFFSET, (uint64_t)at);
			rec_u64(&r, FSSHIM_T_LENGTH, (uint64_t)n);
			rec_data(&r, iov, iovcnt, (size_t)n);
			if ((fl >= 0 && (fl & O_DSYNC)) ||
			    (rwf & (RWF_SYNC | RWF_DSYNC)))
				rec_put(&r, FSSHIM_T_SYNC, NULL, 0);
		}
		rec_emit(&r);
	}
	leave();
	errno = saved;
	return n;
}

static ssize_t
call_write(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)iovcnt;
	(void)off;
	(void)rwf;
	return REAL(write)(fd, iov[0].iov_base, iov[0].iov_len);
}

static ssize_t
call_pwrite(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)iovcnt;
	(void)rwf;
	return REAL(pwrite)(fd, iov[0].iov_base, iov[0].iov_len, off);
}

static ssize_t
call_pwrite64(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)iovcnt;
	(void)rwf;
	return REAL(pwrite64)(fd, iov[0].iov_base, iov[0].iov_len, off);
}

static ssize_t
call_writev(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)off;
	(void)rwf;
	return REAL(writev)(fd, iov, iovcnt);
}

static ssize_t
call_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)rwf;
	return REAL(pwritev)(fd, iov, iovcnt, off);
}

static ssize_t
call_pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	(void)rwf;
	return REAL(pwritev64)(fd, iov, iovcnt, off);
}

static ssize_t
call_pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	return REAL(pwritev2)(fd, iov, iovcnt, off, rwf);
}

static ssize_t
call_pwritev64v2(
    int fd, const struct iovec *iov, int iovcnt, off_t off, int rwf)
{
	return REAL(pwritev64v2)(fd, iov, iovcnt, off, rwf);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	struct iovec iov = {(void *)(uintptr_t)buf, n};

	return write_common("write", call_write, fd, &iov, 1, -1, 0);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct iovec iov = {(void *)(uintptr_t)buf, n};

	return write_common("pwrite", call_pwrite, fd, &iov, 1, off, 0);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	struct iovec iov = {(void *)(uintptr_t)buf, n};

	return write_common("pwrite64", call_pwrite64, fd, &iov, 1, off, 0);
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	return write_common("writev", call_writev, fd, iov, iovcnt, -1, 0);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	return write_common("pwritev", call_pwritev, fd, iov, iovcnt, off, 0);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
	return write_common(
	    "pwritev64", call_pwritev64, fd, iov, iovcnt, off, 0);
}

ssize_t
pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
	return write_common(
	    "pwritev2", call_pwritev2, fd, iov, iovcnt, off, flags);
}

ssize_t
pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t off, int flags)
{
	return write_common(
	    "pwritev64v2", call_pwritev64v2, fd, iov, iovcnt, off, flags);
}

ssize_t
copy_file_range(int in, off64_t *off_in, int out, off64_t *off_out, size_t len,
    unsigned int flags)
{
	__typeof__(&copy_file_range) fn = REAL(copy_file_range);
	off_t in_at, out_at;
	struct fdinfo fi;
	struct call c;
	struct stat st;
	ssize_t n;
	int saved, fault = 0, fl;

	if (!enter())
		return fn(in, off_in, out, off_out, len, flags);
	if (!fd_begin(
	        &c, &fi, out, FSSHIM_OP_WRITE, "copy_file_range", 0, &fault)) {
		leave();
		return fn(in, off_in, out, off_out, len, flags);
	}
	in_at = off_in ? *off_in : sys_lseek_cur(in);
	out_at = off_out ? *off_out : sys_lseek_cur(out);
	if (fault) {
		n = -1;
		saved = fault;
	} else {
		n = fn(in, off_in, out, off_out, len, flags);
		saved = errno;
	}
	if (fi.in_scope && n != 0) {
		struct rec r;

		fl = sys_getfl(out);
		if (n > 0 && fl >= 0 && (fl & O_APPEND) &&
		    sys_fstat(out, &st) == 0)
			out_at = st.st_size - n;
		rec_start(&r, FSSHIM_OP_WRITE, "copy_file_range", n,
		    n < 0 ? saved : 0);
		rec_common(&r, "copy_file_range", c.rule);
		rec_fd_object(&r, out, &fi);
		if (n > 0) {
			/* What was copied, read back from the source. */
			struct iovec iov;

			iov.iov_base = malloc((size_t)n);
			iov.iov_len = (size_t)n;
			rec_u64(&r, FSSHIM_T_OFFSET, (uint64_t)out_at);
			rec_u64(&r, FSSHIM_T_LENGTH, (uint64_t)n);
			if (iov.iov_base != NULL &&
			    syscall(SYS_pread64, in, iov.iov_base, (size_t)n,
			        in_at) == n)
				rec_data(&r, &iov, 1, (size_t)n);
			free(iov.iov_base);
			if (fl >= 0 && (fl & O_DSYNC))
				rec_put(&r, FSSHIM_T_SYNC, NULL, 0);
		}
		rec_emit(&r);
	}
	leave();
	errno = saved;
	return n;
}

/* ------------------------------------------------ truncate and fallocate */

static int
fd_sized_op(const char *func, int op, int fd, int mode, off_t off, off_t len,
    int (*call)(int fd, int mode, off_t off, off_t len), int ret_errno)
{
	struct fdinfo fi;
	struct call c;
	int r, saved, fault = 0;

	if (!enter())
		return call(fd, mode, off, len);
	if (!fd_begin(&c, &fi, fd, op, func, 0, &fault)) {
		leave();
		return call(fd, mode, off, len);
	}
	if (fault) {
		r = -1;
		saved = fault;
	} else {
		r = call(fd, mode, off, len);
		saved = ret_errno ? r : errno;
		if (ret_errno && r != 0)
			r = -1;
	}
	if (fi.in_scope) {
		struct rec rc;

		rec_start(&rc, op, func, r, r < 0 ? saved : 0);
		rec_common(&rc, func, c.rule);
		rec_fd_object(&rc, fd, &fi);
		if (op == FSSHIM_OP_FALLOCATE) {
			rec_u64(&rc, FSSHIM_T_FLAGS, (uint64_t)mode);
			rec_u64(&rc, FSSHIM_T_OFFSET, (uint64_t)off);
		}
		rec_u64(&rc, FSSHIM_T_LENGTH, (uint64_t)len);
		rec_emit(&rc);
	}
	leave();
	if (ret_errno)
		return r < 0 ? saved : 0;
	errno = saved;
	return r;
}

static int
call_ftruncate(int fd, int mode, off_t off, off_t len)
{
	(void)mode;
	(void)off;
	return REAL(ftruncate)(fd, len);
}

static int
call_ftruncate64(int fd, int mode, off_t off, off_t len)
{
	(void)mode;
	(void)off;
	return REAL(ftruncate64)(fd, len);
}

static int
call_fallocate(int fd, int mode, off_t off, off_t len)
{
	return REAL(fallocate)(fd, mode, off, len);
}

static int
call_fallocate64(int fd, int mode, off_t off, off_t len)
{
	return REAL(fallocate64)(fd, mode, off, len);
}

static int
call_posix_fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)mode;
	return REAL(posix_fallocate)(fd, off, len);
}

static int
call_posix_fallocate64(int fd, int mode, off_t off, off_t len)
{
	(void)mode;
	return REAL(posix_fallocate64)(fd, off, len);
}

int
ftruncate(int fd, off_t len)
{
	return fd_sized_op(
	    "ftruncate", FSSHIM_OP_TRUNCATE, fd, 0, 0, len, call_ftruncate, 0);
}

int
ftruncate64(int fd, off64_t len)
{
	return fd_sized_op("ftruncate64", FSSHIM_OP_TRUNCATE, fd, 0, 0, len,
	    call_ftruncate64, 0);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	return fd_sized_op("fallocate", FSSHIM_OP_FALLOCATE, fd, mode, off, len,
	    call_fallocate, 0);
}

int
fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return fd_sized_op("fallocate64", FSSHIM_OP_FALLOCATE, fd, mode, off,
	    len, call_fallocate64, 0);
}

int
posix_fallocate(int fd, off_t off, off_t len)
{
	return fd_sized_op("posix_fallocate", FSSHIM_OP_FALLOCATE, fd, 0, off,
	    len, call_posix_fallocate, 1);
}

int
posix_fallocate64(int fd, off64_t off, off64_t len)
{
	return fd_sized_op("posix_fallocate64", FSSHIM_OP_FALLOCATE, fd, 0, off,
	    len, call_posix_fallocate64, 1);
}

/* ----------------------------------------------------------------- sync */

static int
sync_common(const char *func, int op, int fd, off_t off, off_t len,
    unsigned flags, int (*call)(int fd, off_t off, off_t len, unsigned fl))
{
	struct fdinfo fi;
	struct call c;
	int r, saved, fault = 0;

	if (!enter())
		return call(fd, off, len, flags);
	if (!fd_begin(&c, &fi, fd, op, func, 0, &fault)) {
		leave();
		return call(fd, off, len, flags);
	}
	if (fault) {
		r = -1;
		saved = fault;
	} else {
		r = call(fd, off, len, flags);
		saved = errno;
	}
	if (fi.in_scope || (op == FSSHIM_OP_SYNCFS && tracing())) {
		struct rec rc;

		rec_start(&rc, op, func, r, r < 0 ? saved : 0);
		rec_common(&rc, func, c.rule);
		rec_fd_object(&rc, fd, &fi);
		if (op == FSSHIM_OP_SYNC_FILE_RANGE) {
			rec_u64(&rc, FSSHIM_T_OFFSET, (uint64_t)off);
			rec_u64(&rc, FSSHIM_T_LENGTH, (uint64_t)len);
			rec_u64(&rc, FSSHIM_T_FLAGS, flags);
		}
		rec_emit(&rc);
	}
	leave();
	errno = saved;
	return r;
}

static int
call_fsync(int fd, off_t off, off_t len, unsigned fl)
{
	(void)off;
	(void)len;
	(void)fl;
	return REAL(fsync)(fd);
}

static int
call_fdatasync(int fd, off_t off, off_t len, unsigned fl)
{
	(void)off;
	(void)len;
	(void)fl;
	return REAL(fdatasync)(fd);
}

static int
call_syncfs(int fd, off_t off, off_t len, unsigned fl)
{
	(void)off;
	(void)len;
	(void)fl;
	return REAL(syncfs)(fd);
}

static int
call_sync_file_range(int fd, off_t off, off_t len, unsigned fl)
{
	return REAL(sync_file_range)(fd, off, len, fl);
}

int
fsync(int fd)
{
	return sync_common("fsync", FSSHIM_OP_FSYNC, fd, 0, 0, 0, call_fsync);
}

int
fdatasync(int fd)
{
	return sync_common(
	    "fdatasync", FSSHIM_OP_FDATASYNC, fd, 0, 0, 0, call_fdatasync);
}

int
syncfs(int fd)
{
	return sync_common(
	    "syncfs", FSSHIM_OP_SYNCFS, fd, 0, 0, 0, call_syncfs);
}

int
sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	return sync_common("sync_file_range", FSSHIM_OP_SYNC_FILE_RANGE, fd,
	    off, len, flags, call_sync_file_range);
}

void
sync(void)
{
	struct call c;
	int fault;

	if (!enter()) {
		REAL(sync)();
		return;
	}
	memset(&c, 0, sizeof(c));
	c.op = FSSHIM_OP_SYNC;
	c.func = "sync";
	fault = fault_check(&c);
	if (!fault)
		REAL(sync)();
	if (tracing()) {
		struct rec r;

		rec_start(&r, FSSHIM_OP_SYNC, "sync", 0, fault);
		rec_common(&r, "sync", c.rule);
		rec_emit(&r);
	}
	leave();
}

/* ---------------------------------------------------------------- close */

int
close(int fd)
{
	struct fdinfo fi;
	struct call c;
	int r, saved, fault = 0;

	if (own_fd(fd))
		return 0; /* the program closing what it never opened */
	if (!enter())
		return REAL(close)(fd);
	if (!fd_begin(&c, &fi, fd, FSSHIM_OP_CLOSE, "close", 0, &fault)) {
		leave();
		return REAL(close)(fd);
	}
	/* Closed even when failed, as the kernel does. */
	r = REAL(close)(fd);
	saved = errno;
	if (fault && r == 0) {
		r = -1;
		saved = fault;
	}
	if (fi.in_scope) {
		struct rec rc;
		int32_t v = fd;

		rec_start(&rc, FSSHIM_OP_CLOSE, "close", r, r < 0 ? saved : 0);
		rec_common(&rc, "close", c.rule);
		rec_put(&rc, FSSHIM_T_FD, &v, 4);
		rec_inode(&rc, FSSHIM_T_INODE, &fi.st);
		rec_str(&rc, FSSHIM_T_PATH, fi.path_known ? fi.path : "");
		rec_emit(&rc);
	}
	leave();
	errno = saved;
	return r;
}

/* ------------------------------------------------ directory entry calls */

/* What a path call is about: both paths resolved, scope, rule. */
struct pcall {
	struct call c;
	char abs[PATH_MAX], abs2[PATH_MAX];
	int known, known2, scope, fault;
};

static void
pcall_begin(struct pcall *p, int op, const char *func, unsigned flags, int kind,
    int d1, const char *p1, int d2, const char *p2)
{
	memset(&p->c, 0, sizeof(p->c));
	p->known = resolve_at(d1, p1, p->abs, sizeof(p->abs)) == 0;
	p->known2 = p2 && resolve_at(d2, p2, p->abs2, sizeof(p->abs2)) == 0;
	p->scope = tracing() &&
	    ((p->known && under_roots(p->abs)) ||
	        (p->known2 && under_roots(p->abs2)));
	p->c.op = op;
	p->c.func = func;
	p->c.flags = flags;
	p->c.kind = kind;
	p->c.path = p->known ? p->abs : NULL;
	p->c.path2 = p->known2 ? p->abs2 : NULL;
	p->fault = fault_check(&p->c);
}

/* Record for a path call: object inode (if any), path, its parent. */
static void
pcall_record(struct pcall *p, int r, int err, const struct stat *obj,
    const struct stat *obj2, uint64_t flags, int flagged)
{
	struct rec rc;
	struct stat pst;

	rec_start(&rc, p->c.op, p->c.func, r, r < 0 ? err : 0);
	rec_common(&rc, p->c.func, p->c.rule);
	if (obj)
		rec_inode(&rc, FSSHIM_T_INODE, obj);
	rec_str(&rc, FSSHIM_T_PATH, p->known ? p->abs : "");
	if (p->known && parent_stat(p->abs, &pst) == 0)
		rec_inode(&rc, FSSHIM_T_PARENT, &pst);
	if (p->known2) {
		rec_str(&rc, FSSHIM_T_PATH2, p->abs2);
		if (p->c.op == FSSHIM_OP_RENAME &&
		    parent_stat(p->abs2, &pst) == 0)
			rec_inode(&rc, FSSHIM_T_PARENT2, &pst);
	}
	if (obj2)
		rec_inode(&rc, FSSHIM_T_INODE2, obj2);
	if (flagged)
		rec_u64(&rc, FSSHIM_T_FLAGS, flags);
	rec_emit(&rc);
}

static int
link_common(const char *func, int od, const char *old, int nd, const char *new,
    int flags)
{
	struct pcall p;
	struct stat st;
	int r, saved, have = 0;
	int empty = (flags & AT_EMPTY_PATH) && old && old[0] == '\0';
	unsigned fl = (flags & AT_EMPTY_PATH ? FL_EMPTY_PATH : 0) |
	    (flags & AT_SYMLINK_FOLLOW ? FL_SYMLINK_FOLLOW : 0);
	int locked;

	locked = ns_begin();
	/* The new name is the path; the old one is PATH2. */
	pcall_begin(&p, FSSHIM_OP_LINK, func, fl, 0, nd, new, od, old);
	if (p.fault) {
		r = -1;
		saved = p.fault;
	} else {
		r = strcmp(func, "link") == 0
		    ? REAL(link)(old, new)
		    : REAL(linkat)(od, old, nd, new, flags);
		saved = errno;
	}
	if (p.scope) {
		if (r == 0)
			have = p.known &&
			    sys_stat_at(
			        AT_FDCWD, p.abs, &st, AT_SYMLINK_NOFOLLOW) == 0;
		else if (empty)
			have = sys_fstat(od, &st) == 0;
		if (empty && !p.known2)
			p.known2 = fd_path(od, p.abs2, sizeof(p.abs2)) == 0;
		pcall_record(
		    &p, r, saved, have ? &st : NULL, NULL, (uint64_t)flags, 1);
	}
	ns_end(locked);
	leave();
	errno = saved;
	return r;
}

int
link(const char *old, const char *new)
{
	if (!enter())
		return REAL(link)(old, new);
	return link_common("link", AT_FDCWD, old, AT_FDCWD, new, 0);
}

int
linkat(int od, const char *old, int nd, const char *new, int flags)
{
	if (!enter())
		return REAL(linkat)(od, old, nd, new, flags);
	return link_common("linkat", od, old, nd, new, flags);
}

static int
symlink_common(const char *func, const char *target, int nd, const char *new)
{
	struct pcall p;
	struct stat st;
	int r, saved;
	int locked;

	locked = ns_begin();
	pcall_begin(&p, FSSHIM_OP_SYMLINK, func, 0, 0, nd, new, 0, NULL);
	if (p.fault) {
		r = -1;
		saved = p.fault;
	} else {
		r = nd == AT_FDCWD && strcmp(func, "symlink") == 0
		    ? REAL(symlink)(target, new)
		    : REAL(symlinkat)(target, nd, new);
		saved = errno;
	}
	if (p.scope) {
		struct rec rc;
		struct stat pst;
		int have = r == 0 && p.known &&
		    sys_stat_at(AT_FDCWD, p.abs, &st, AT_SYMLINK_NOFOLLOW) == 0;

		rec_start(&rc, FSSHIM_OP_SYMLINK, func, r, r < 0 ? saved : 0);
		rec_common(&rc, func, p.c.rule);
		if (have)
			rec_inode(&rc, FSSHIM_T_INODE, &st);
		rec_str(&rc, FSSHIM_T_PATH, p.known ? p.abs : "");
		if (p.known && parent_stat(p.abs, &pst) == 0)
			rec_inode(&rc, FSSHIM_T_PARENT, &pst);
		rec_put(&rc, FSSHIM_T_DATA, target, strlen(target));
		rec_emit(&rc);
	}
	ns_end(locked);
	leave();
	errno = saved;
	return r;
}

int
symlink(const char *target, const char *new)
{
	if (!enter())
		return REAL(symlink)(target, new);
	return symlink_common("symlink", target, AT_FDCWD, new);
}

int
symlinkat(const char *target, int nd, const char *new)
{
	if (!enter())
		return REAL(symlinkat)(target, nd, new);
	return symlink_common("symlinkat", target, nd, new);
}

static int
rename_common(const char *func, int od, const char *old, int nd,
    const char *new, unsigned flags)
{
	struct pcall p;
	struct stat src, dst, after;
	int r, saved, have_src = 0, have_dst = 0;
	unsigned fl = (flags & RENAME_NOREPLACE ? FL_NOREPLACE : 0) |
	    (flags & RENAME_EXCHANGE ? FL_EXCHANGE : 0) |
	    (flags & RENAME_WHITEOUT ? FL_WHITEOUT : 0);
	int locked;

	locked = ns_begin();
	pcall_begin(&p, FSSHIM_OP_RENAME, func, fl, 0, od, old, nd, new);
	if (p.scope) {
		have_src = p.known &&
		    sys_stat_at(AT_FDCWD, p.abs, &src, AT_SYMLINK_NOFOLLOW) ==
		        0;
		have_dst = p.known2 &&
		    sys_stat_at(AT_FDCWD, p.abs2, &dst, AT_SYMLINK_NOFOLLOW) ==
		        0;
	}
	if (p.fault) {
		r = -1;
		saved = p.fault;
	} else {
		if (strcmp(func, "rename") == 0)
			r = REAL(rename)(old, new);
		else if (strcmp(func, "renameat") == 0)
			r = REAL(renameat)(od, old, nd, new);
		else
			r = REAL(renameat2)(od, old, nd, new, flags);
		saved = errno;
	}
	if (p.scope) {
		/* The moved inode as it is now (its link count, its size). */
		if (r == 0 && have_src && p.known2 &&
		    sys_stat_at(
		        AT_FDCWD, p.abs2, &after, AT_SYMLINK_NOFOLLOW) == 0 &&
		    after.st_ino == src.st_ino)
			src = after;
		pcall_record(&p, r, saved, have_src ? &src : NULL,
		    have_dst ? &dst : NULL, flags, 1);
	}
	ns_end(locked);
	leave();
	errno = saved;
	return r;
}

int
rename(const char *old, const char *new)
{
	if (!enter())
		return REAL(rename)(old, new);
	return rename_common("rename", AT_FDCWD, old, AT_FDCWD, new, 0);
}

int
renameat(int od, const char *old, int nd, const char *new)
{
	if (!enter())
		return REAL(renameat)(od, old, nd, new);
	return rename_common("renameat", od, old, nd, new, 0);
}

int
renameat2(int od, const char *old, int nd, const char *new, unsigned flags)
{
	if (!enter())
		return REAL(renameat2)(od, old, nd, new, flags);
	return rename_common("renameat2", od, old, nd, new, flags);
}

/* unlink, unlinkat, rmdir, remove: which one is in func. */
static int
remove_common(const char *func, int dirfd, const char *path, int flags)
{
	struct pcall p;
	struct stat st;
	int r, saved, have = 0, op;
	int locked;

	locked = ns_begin();
	if (tracing() || g.ctl_fd >= 0) {
		char abs[PATH_MAX];

		if (resolve_at(dirfd, path, abs, sizeof(abs)) == 0)
			have = sys_stat_at(AT_FDCWD, abs, &st,
			           AT_SYMLINK_NOFOLLOW) == 0;
	}
	op = strcmp(func, "rmdir") == 0 || (flags & AT_REMOVEDIR) ||
	        (strcmp(func, "remove") == 0 && have && S_ISDIR(st.st_mode))
	    ? FSSHIM_OP_RMDIR
	    : FSSHIM_OP_UNLINK;
	pcall_begin(&p, op, func, flags & AT_REMOVEDIR ? FL_REMOVEDIR : 0,
	    have ? kind_of(&st) : 0, dirfd, path, 0, NULL);
	if (p.fault) {
		r = -1;
		saved = p.fault;
	} else {
		if (strcmp(func, "unlink") == 0)
			r = REAL(unlink)(path);
		else if (strcmp(func, "rmdir") == 0)
			r = REAL(rmdir)(path);
		else if (strcmp(func, "remove") == 0)
			r = REAL(remove)(path);
		else
			r = REAL(unlinkat)(dirfd, path, flags);
		saved = errno;
	}
	if (p.scope)
		pcall_record(&p, r, saved, have ? &st : NULL, NULL,
		    (uint64_t)flags, strcmp(func, "unlinkat") == 0);
	ns_end(locked);
	leave();
	errno = saved;
	return r;
}

int
unlink(const char *path)
{
	if (!enter())
		return REAL(unlink)(path);
	return remove_common("unlink", AT_FDCWD, path, 0);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	if (!enter())
		return REAL(unlinkat)(dirfd, path, flags);
	return remove_common("unlinkat", dirfd, path, flags);
}

int
rmdir(const char *path)
{
	if (!enter())
		return REAL(rmdir)(path);
	return remove_common("rmdir", AT_FDCWD, path, AT_REMOVEDIR);
}

int
remove(const char *path)
{
	if (!enter())
		return REAL(remove)(path);
	return remove_common("remove", AT_FDCWD, path, 0);
}

static int
mkdir_common(const char *func, int dirfd, const char *path, mode_t mode)
{
	struct pcall p;
	struct stat st;
	int r, saved, have = 0;
	int locked;

	locked = ns_begin();
	pcall_begin(&p, FSSHIM_OP_MKDIR, func, 0, 'd', dirfd, path, 0, NULL);
	if (p.fault) {
		r = -1;
		saved = p.fault;
	} else {
		r = strcmp(func, "mkdir") == 0
		    ? REAL(mkdir)(path, mode)
		    : REAL(mkdirat)(dirfd, path, mode);
		saved = errno;
	}
	if (p.scope) {
		if (r == 0)
			have = sys_stat_at(AT_FDCWD, p.abs, &st,
			           AT_SYMLINK_NOFOLLOW) == 0;
		pcall_record(&p, r, saved, have ? &st : NULL, NULL, 0, 0);
	}
	ns_end(locked);
	leave();
	errno = saved;
	return r;
}

int
mkdir(const char *path, mode_t mode)
{
	if (!enter())
		return REAL(mkdir)(path, mode);
	return mkdir_common("mkdir", AT_FDCWD, path, mode);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	if (!enter())
		return REAL(mkdirat)(dirfd, path, mode);
	return mkdir_common("mkdirat", dirfd, path, mode);
}

/* ----------------------------------------------------- mode and owner */

/* Called after the real call: the object's attributes as they are now. */
static void
attr_record_path(
    const char *func, int dirfd, const char *path, int r, int err, int nofollow)
{
	char abs[PATH_MAX];
	struct stat st;
	struct rec rc;

	if (!tracing() || resolve_at(dirfd, path, abs, sizeof(abs)) < 0 ||
	    !under_roots(abs))
		return;
	rec_start(&rc, FSSHIM_OP_ATTR, func, r, r < 0 ? err : 0);
	rec_common(&rc, func, -1);
	if (sys_stat_at(
	        AT_FDCWD, abs, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) == 0)
		rec_inode(&rc, FSSHIM_T_INODE, &st);
	rec_str(&rc, FSSHIM_T_PATH, abs);
	rec_emit(&rc);
}

static void
attr_record_fd(const char *func, int fd, int r, int err)
{
	struct fdinfo fi;
	struct rec rc;

	if (!tracing())
		return;
	fd_inspect(fd, &fi);
	if (!fi.in_scope)
		return;
	rec_start(&rc, FSSHIM_OP_ATTR, func, r, r < 0 ? err : 0);
	rec_common(&rc, func, -1);
	rec_fd_object(&rc, fd, &fi);
	rec_emit(&rc);
}

#define ATTR_PATH(func, dirfd, path, nofollow, callexpr) \
	do { \
		int r_, e_; \
		if (!enter()) \
			return callexpr; \
		r_ = callexpr; \
		e_ = errno; \
		attr_record_path(func, dirfd, path, r_, e_, nofollow); \
		leave(); \
		errno = e_; \
		return r_; \
	} while (0)

#define ATTR_FD(func, fd, callexpr) \
	do { \
		int r_, e_; \
		if (!enter()) \
			return callexpr; \
		r_ = callexpr; \
		e_ = errno; \
		attr_record_fd(func, fd, r_, e_); \
		leave(); \
		errno = e_; \
		return r_; \
	} while (0)

int
chmod(const char *path, mode_t mode)
{
	ATTR_PATH("chmod", AT_FDCWD, path, 0, REAL(chmod)(path, mode));
}

int
fchmod(int fd, mode_t mode)
{
	ATTR_FD("fchmod", fd, REAL(fchmod)(fd, mode));
}

int
fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	ATTR_PATH("fchmodat", dirfd, path, flags & AT_SYMLINK_NOFOLLOW,
	    REAL(fchmodat)(dirfd, path, mode, flags));
}

int
chown(const char *path, uid_t uid, gid_t gid)
{
	ATTR_PATH("chown", AT_FDCWD, path, 0, REAL(chown)(path, uid, gid));
}

int
lchown(const char *path, uid_t uid, gid_t gid)
{
	ATTR_PATH("lchown", AT_FDCWD, path, 1, REAL(lchown)(path, uid, gid));
}

int
fchown(int fd, uid_t uid, gid_t gid)
{
	ATTR_FD("fchown", fd, REAL(fchown)(fd, uid, gid));
}

int
fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	ATTR_PATH("fchownat", dirfd, path, flags & AT_SYMLINK_NOFOLLOW,
	    REAL(fchownat)(dirfd, path, uid, gid, flags));
}

/* ------------------------------------------------------------------ setup */

static void
before_fork(void)
{
	pthread_mutex_lock(&ns_lock);
	pthread_mutex_lock(&g.lock);
}

static void
after_fork_parent(void)
{
	pthread_mutex_unlock(&g.lock);
	pthread_mutex_unlock(&ns_lock);
}

static void
after_fork_child(void)
{
	pthread_mutex_init(&g.lock, NULL);
	pthread_mutex_init(&ns_lock, NULL);
	/* /proc/self/fd is the parent's until reopened. */
	g.proc_pid = 0;
	/* A description of the trace of its own: flock() then keeps this
	 * process and its parent apart. */
	if (g.trace_fd >= 0 && g.trace_path != NULL) {
		int fd = move_high(
		    sys_open(g.trace_path, O_WRONLY | O_APPEND | O_CLOEXEC, 0));
		struct stat st;

		if (fd >= 0 && sys_fstat(fd, &st) == 0 &&
		    st.st_dev == g.trace_dev && st.st_ino == g.trace_ino) {
			syscall(SYS_dup3, fd, g.trace_fd, O_CLOEXEC);
			sys_close(fd);
		} else if (fd >= 0) {
			sys_close(fd);
		}
	}
}

static void
roots_init(const char *spec)
{
	char tmp[PATH_MAX * 4], *p, *save = NULL;

	if (strlen(spec) >= sizeof(tmp))
		return;
	snprintf(tmp, sizeof(tmp), "%s", spec);
	for (p = strtok_r(tmp, ":", &save); p && g.nroots < MAX_ROOTS;
	     p = strtok_r(NULL, ":", &save)) {
		char abs[PATH_MAX];
		struct stat st;

		if (p[0] != '/' || path_join(NULL, p, abs, sizeof(abs)) < 0)
			continue;
		g.roots[g.nroots] = strdup(abs);
		if (g.roots[g.nroots] == NULL)
			return;
		g.rootlen[g.nroots] = strlen(abs);
		g.rootdev[g.nroots] =
		    sys_stat_at(AT_FDCWD, abs, &st, 0) == 0 ? st.st_dev : 0;
		g.nroots++;
	}
}

static void
faults_init(const char *path)
{
	char cpath[PATH_MAX];
	struct stat st;
	int fd;

	g.cnt = &g.local_cnt;
	fd = move_high(sys_open(path, O_RDONLY | O_CLOEXEC, 0));
	if (fd < 0) {
		say("fsshim: FSSHIM_FAULTS names no readable file: no "
		    "faults\n");
		return;
	}
	if (sys_fstat(fd, &st) < 0) {
		sys_close(fd);
		return;
	}
	g.ctl_ino = st.st_ino;
	g.ctl_fd = fd;
	if ((size_t)snprintf(cpath, sizeof(cpath), "%s.cnt", path) <
	    sizeof(cpath)) {
		int cfd = sys_open(cpath, O_RDWR | O_CLOEXEC, 0);

		if (cfd >= 0) {
			void *m = mmap(NULL, sizeof(struct fsshim_counters),
			    PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);

			if (m != MAP_FAILED && sys_fstat(cfd, &st) == 0 &&
			    (size_t)st.st_size >=
			        sizeof(struct fsshim_counters))
				g.cnt = m;
			else if (m != MAP_FAILED)
				munmap(m, sizeof(struct fsshim_counters));
			sys_close(cfd);
		}
	}
}

__attribute__((constructor)) static void
fsshim_init(void)
{
	const char *roots = getenv("FSSHIM_ROOTS");
	const char *trace = getenv("FSSHIM_TRACE");
	const char *faults = getenv("FSSHIM_FAULTS");
	struct rlimit rl;

	busy = 1;
	g.high_fd = 900;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024)
		g.high_fd = (int)(rl.rlim_cur * 7 / 8);
	proc_reopen();
	if (roots && *roots && trace && *trace) {
		struct stat st;
		int fd;

		roots_init(roots);
		fd = sys_open(
		    trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		fd = move_high(fd);
		if (fd >= 0 && sys_fstat(fd, &st) == 0) {
			g.trace_dev = st.st_dev;
			g.trace_ino = st.st_ino;
			g.trace_fd = fd;
			g.trace_path = strdup(trace);
		} else {
			say("fsshim: cannot open FSSHIM_TRACE: not "
			    "recording\n");
		}
	}
	if (faults && *faults)
		faults_init(faults);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	g.inited = 1;
	busy = 0;
}
