/*
 * NAME
 *	spool - the queue's files on local disk
 * PURPOSE
 *	The queue process receives the text of each message itself (the smtp
 *	side never holds a spool descriptor) and keeps it in memory while it
 *	arrives; a message larger than SPOOL_SPILL moves to a file of its own,
 *	created unnamed (O_TMPFILE).  Committing is done for a group of
 *	messages at once: the messages held in memory are written together
 *	into one new file, each spilled message completes its own file; every
 *	file is fdatasync'ed and only then given a name in queue/ (linkat),
 *	and one fsync of queue/ makes all the names durable.  So a file in
 *	queue/ is always complete, a commit costs one data sync and one
 *	directory sync however many messages share it, and no inode ever
 *	holds two messages' lives: a file is created for its messages and
 *	removed when they are all done.
 *
 *	File layout (integers little endian):
 *	  0   8  magic "TERNQ\0\0\2"
 *	  8   4  number of messages (at least 1)
 *	  12  4  zero
 *	  16  8  index offset
 *	  24  4  index length (64 per message)
 *	  28  4  CRC-32C of the index
 *	  32  4  CRC-32C of bytes 0..31
 *	  36  28 zero
 *	  64  .. each message's text (CRLF line ends, dot-stuffing undone)
 *	         followed by its envelope records (envelope.h)
 *	  ..  .. index, one entry per message:
 *	         0 14 queue ID; 14 2 zero; 16 8 text offset; 24 8 text
 *	         length; 32 8 envelope offset; 40 4 envelope length;
 *	         44 4 CRC-32C of the envelope; 48 8 nonce; 56 8 zero
 *	  ..  .. status records: type(1) message number(2) length(4) value
 *	         CRC-32C(4), the checksum taken over the message's queue ID
 *	         and the record; they are appended as deliveries end and are
 *	         not synced (a record lost in a crash means a delivery is
 *	         tried again, and Maildir delivery recognises its own copy)
 *	The nonce is random; with the queue ID it names a message's copies in
 *	Maildirs, so that a delivery repeated after a crash finds the copy
 *	made before it.  Files of the earlier one-message format (magic
 *	"TERNQ\0\0\1") are rewritten in this format at start.
 *
 *	Directories under spool_directory:
 *	  queue/    committed files, each named by the queue ID of its first
 *	            message
 *	  tmp/      named stand-ins for unnamed files, on file systems
 *	            without O_TMPFILE; what is left there at start never got
 *	            a 250 and is removed
 *	  corrupt/  files that failed validation, kept for inspection
 * TRUST
 *	queue process.  Message text comes from the smtp process, bounded by
 *	the caller.  Files read back may be corrupted: everything is
 *	validated before use.
 * INVARIANTS
 *	spool_commit_group may run on a worker thread; at most one runs at a
 *	time.  Every other function runs on the queue's loop thread.  A file
 *	is named in queue/ only after its contents were synced; a commit is
 *	reported durable only after queue/ was synced after the name was
 *	made.  Queue IDs are [0-9A-Z] only, so they are safe file names.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

#define SPOOL_ID_LEN 14
/* Where the first message's text starts in a file. */
#define SPOOL_DATA_OFFSET 64
/* A message that grows past this is moved from memory to its own file. */
#define SPOOL_SPILL (256u * 1024)
/* Text held in memory for all messages being received, at most. */
#define SPOOL_MEMORY (64u * 1024 * 1024)

struct spool;
struct spool_draft; /* a message being received */
struct spool_msg;   /* a committed message: its file and place in it */

enum spool_status_type {
	SPOOL_ST_DELIVERED = 'D', /* "idx" */
	SPOOL_ST_FAILED = 'F',    /* "idx" */
	SPOOL_ST_DEFERRED = 'Y',  /* "idx next_try attempts" */
};

/* Create the directories if needed (syncing their parents).  NULL with
 * err on failure. */
struct spool *spool_open(const char *dir, char *err, size_t errsz);
void spool_close(struct spool *sp);
const char *spool_dir(const struct spool *sp);

/* A new, unique queue ID: IDs made later sort later. */
void spool_new_id(char id[SPOOL_ID_LEN + 1]);
/* Is this a queue ID: exactly SPOOL_ID_LEN characters of [0-9A-Z]? */
int spool_id_ok(const char *id);

/* ------------------------------------------------------------ receiving */

/* A message to receive under id. */
struct spool_draft *spool_draft_new(struct spool *sp, const char *id);
/*
 * Add text.  0, or -1 with errno set (ENOSPC, EIO ...) and the draft
 * unusable: the commit will fail with that error.
 */
int spool_draft_append(
    struct spool *sp, struct spool_draft *d, const void *p, size_t n);
uint64_t spool_draft_len(const struct spool_draft *d);
const char *spool_draft_id(const struct spool_draft *d);
/* Forget a draft that is not going to be committed. */
void spool_draft_free(struct spool *sp, struct spool_draft *d);

/* One message of a commit group. */
struct spool_commit {
	struct spool_draft *draft; /* consumed */
	const struct envelope *env;
	uint64_t nonce;
	int err;               /* out: 0 (durable) or an errno value */
	struct spool_msg *msg; /* out, when err is 0 */
};

/*
 * Make a group of messages durable (see PURPOSE); each entry's err and msg
 * say how it went.  A file whose sync fails is never named; names made
 * before a failed sync of queue/ are removed again.  Safe on a worker
 * thread, but only one group at a time; spool_commit_done must run on the
 * loop thread afterwards.
 */
void spool_commit_group(struct spool *sp, struct spool_commit *c, size_t n);
/* Account for the files a finished group made (loop thread). */
void spool_commit_done(struct spool *sp, struct spool_commit *c, size_t n);

/* ------------------------------------------------------------- committed */

typedef void (*spool_found_fn)(void *arg, struct spool_msg *m,
    struct envelope *env, uint64_t data_len, uint64_t nonce);

/*
 * Boot: empty tmp/, rewrite files of the older format, then report every
 * committed message (env ownership passes; status records applied).
 * Invalid files are moved to corrupt/ and logged.  -1 if queue/ cannot be
 * read.
 */
int spool_recover(struct spool *sp, spool_found_fn fn, void *arg);
const char *spool_msg_id(const struct spool_msg *m);
/* Record a recipient's state (not synced: see the file layout). */
int spool_msg_status(struct spool *sp, struct spool_msg *m,
    enum spool_status_type type, const char *value);
/* The message is done: its file goes once all its messages are. */
int spool_msg_done(struct spool *sp, struct spool_msg *m);
/* Read-only descriptor of the message's file; *off, *len: its text. */
int spool_msg_open(
    struct spool *sp, const struct spool_msg *m, uint64_t *off, uint64_t *len);

/* Files in queue/ and drafts spilled to files (for tests and logs). */
size_t spool_files(const struct spool *sp);
/* Bytes available to us in the spool file system, or -1. */
int spool_free_space(struct spool *sp, uint64_t *bytes);

#endif
