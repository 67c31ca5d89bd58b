/*
 * NAME
 *	fsshim - record, and make fail, the file-system calls of a process tree
 * PURPOSE
 *	An LD_PRELOAD library for the power-loss and fault-injection tests.
 *	It wraps the libc functions that change files and directories and,
 *	when asked to by its environment:
 *
 *	  FSSHIM_ROOTS=/a:/b   directories whose contents are recorded (the
 *	                       roots themselves included)
 *	  FSSHIM_TRACE=file    where the records go (appended)
 *	  FSSHIM_FAULTS=file   a control file of fault rules, read again
 *	                       whenever its modification time or size
 *	                       changes; file.cnt, if it exists, holds the
 *	                       rules' counters shared by every process
 *
 *	Record mode: every mutating call on a file or directory under a root
 *	is appended to the trace, one write(2) per record on an O_APPEND
 *	descriptor, after the call returned and before control goes back to
 *	the caller: the records of all processes and threads are in one
 *	order, and whatever a process did before telling another process
 *	(or a client) about it is recorded before what follows from that.
 *	Data written is recorded in full (zeros as a length only).
 *
 *	Fault mode: a call that matches a rule fails with the rule's errno
 *	instead of being made (close is made, then reported failed).  Rules,
 *	one a line, fields separated by blanks; the file is taken only once
 *	it holds a line "end", so that a reader never sees half a file.  A
 *	writer that rewrites the file in place starts it with "gen TOKEN"
 *	and ends it with "end TOKEN": a mix of new and old text is ignored
 *	until the matching end is there.
 *
 *	  gen 7
 *	  op=fsync,fdatasync path=/srv/spool/queue errno=EIO after=2 times=1
 *	  end 7
 *
 *	  op=LIST      operation classes (fsshim_op names below, lowercase)
 *	  func=GLOB    the libc function (write, pwritev, renameat2 ...)
 *	  path=GLOB    the path operated on (for a rename or a link, either
 *	               one), fnmatch(3) without FNM_PATHNAME; an object whose
 *	               path is unknown matches only "*"
 *	  type=file|dir
 *	  comm=GLOB    the calling process's name (prctl PR_GET_NAME)
 *	  flags=LIST   flags the call must carry: noreplace, exchange
 *	               (renameat2); tmpfile, creat, excl, trunc (open);
 *	               removedir (unlinkat); empty_path, symlink_follow
 *	               (linkat)
 *	  errno=NAME   or a number
 *	  after=N      let the first N matching calls through (default 0)
 *	  times=M      then fail M of them (default 0: every one)
 *
 *	Counters, when file.cnt exists: struct fsshim_counters, calls and
 *	fired per rule (by line order), updated atomically by every process.
 *	A test writes zeros there before new rules.
 * TRACE FORMAT
 *	A sequence of records, integers little endian.  A record is a fixed
 *	header followed by fields:
 *	  0   4  FSSHIM_MAGIC
 *	  4   4  length of the whole record
 *	  8   4  op (enum fsshim_op)
 *	  12  4  pid
 *	  16  4  tid
 *	  20  4  errno of the call (0: it succeeded)
 *	  24  8  return value (signed)
 *	  32  8  CLOCK_MONOTONIC, nanoseconds, taken after the call
 *	A field: tag (4), length (4), value.  struct fsshim_inode is the
 *	value of the inode fields.
 * TRUST
 *	Test code, loaded into processes under test.  It changes nothing they
 *	do unless a fault rule says so; its own file descriptors are moved
 *	out of their way (high numbers, close-on-exec; closing one is a
 *	no-op).
 * INVARIANTS
 *	Its own I/O goes through syscall(2), never through the wrapped
 *	functions; the real ones are found with dlsym(RTLD_NEXT), which also
 *	works under a static sanitizer runtime whose interceptors come first.
 *	Calls made through stdio, or inside libc (mkstemp, fopen), are not
 *	seen.
 */
#ifndef TERN_FSSHIM_H
#define TERN_FSSHIM_H

#include <stdint.h>

#define FSSHIM_MAGIC 0x31525346u /* "FSR1" */
#define FSSHIM_HEADER_SIZE 40
#define FSSHIM_MAX_RULES 64

enum fsshim_op {
	FSSHIM_OP_OPEN = 1,      /* created or truncated: INODE PATH PARENT */
	FSSHIM_OP_WRITE = 2,     /* INODE OFFSET LENGTH DATA|ZERO [SYNC] */
	FSSHIM_OP_TRUNCATE = 3,  /* INODE LENGTH */
	FSSHIM_OP_FALLOCATE = 4, /* INODE FLAGS OFFSET LENGTH */
	FSSHIM_OP_FSYNC = 5,     /* INODE */
	FSSHIM_OP_FDATASYNC = 6, /* INODE */
	FSSHIM_OP_SYNC_FILE_RANGE = 7, /* INODE OFFSET LENGTH FLAGS */
	FSSHIM_OP_SYNCFS = 8,          /* INODE (of the fd) */
	FSSHIM_OP_SYNC = 9,
	FSSHIM_OP_LINK = 10,    /* INODE PATH PARENT PATH2 FLAGS */
	FSSHIM_OP_RENAME = 11,  /* INODE PATH PARENT PATH2 PARENT2 [INODE2] */
	FSSHIM_OP_UNLINK = 12,  /* INODE PATH PARENT */
	FSSHIM_OP_MKDIR = 13,   /* INODE PATH PARENT */
	FSSHIM_OP_RMDIR = 14,   /* INODE PATH PARENT */
	FSSHIM_OP_CLOSE = 15,   /* INODE */
	FSSHIM_OP_TMPFILE = 16, /* INODE PATH (the directory) PARENT */
	FSSHIM_OP_ATTR = 17,    /* INODE (mode and owner after the call) */
	FSSHIM_OP_SYMLINK = 18, /* INODE PATH PARENT DATA (the target) */
	FSSHIM_OP_MAX = 19,
};

enum fsshim_tag {
	FSSHIM_T_FUNC = 1,    /* the libc function called */
	FSSHIM_T_COMM = 2,    /* process name */
	FSSHIM_T_FD = 3,      /* int32 */
	FSSHIM_T_INODE = 4,   /* struct fsshim_inode: the object */
	FSSHIM_T_PATH = 5,    /* absolute path, or "" when unknown */
	FSSHIM_T_PARENT = 6,  /* struct fsshim_inode: PATH's directory */
	FSSHIM_T_PATH2 = 7,   /* rename: the new name; link: the old one */
	FSSHIM_T_PARENT2 = 8, /* PATH2's directory */
	FSSHIM_T_INODE2 = 9,  /* rename: what the new name replaced */
	FSSHIM_T_OFFSET = 10, /* uint64 */
	FSSHIM_T_LENGTH = 11, /* uint64 */
	FSSHIM_T_FLAGS = 12,  /* uint64: open, rename, link, unlink flags;
	                         fallocate mode; sync_file_range flags */
	FSSHIM_T_DATA = 13,   /* the bytes written */
	FSSHIM_T_ZERO = 14,   /* no value: LENGTH zero bytes were written */
	FSSHIM_T_SYNC = 15,   /* no value: written through O_SYNC/O_DSYNC */
	FSSHIM_T_FAULT = 16,  /* uint32: the rule (line) that failed it */
	FSSHIM_T_CREATED = 17 /* no value: open created the file */
};

struct fsshim_inode {
	uint64_t dev;
	uint64_t ino;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t nlink;
	uint64_t size;
};

struct fsshim_counters {
	uint64_t calls[FSSHIM_MAX_RULES]; /* calls that matched the rule */
	uint64_t fired[FSSHIM_MAX_RULES]; /* of them, made to fail */
};

#endif
