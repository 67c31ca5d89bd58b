/*
 * NAME
 *	spool - the queue's files on local disk
 * PURPOSE
 *	One file per message.  The smtp side writes the message text into a
 *	spare file of queue/ (a "slot", named f<number>); committing writes
 *	the envelope and the header, syncs the file and renames it to its
 *	queue ID, in the same directory.  A finished file becomes a spare
 *	again for the next message.  Delivery progress is recorded as
 *	checksummed status records after the envelope.  Every function here
 *	is synchronous; the queue decides which run in the thread pool.

 *	File layout (all integers little endian):
 *	  0   8  magic "TERNQ\0\0\1"
 *	  8   8  data offset (64)
 *	  16  8  data length
 *	  24  8  envelope offset (data offset + data length)
 *	  32  4  envelope length
 *	  36  4  CRC-32C of the envelope
 *	  40  4  CRC-32C of bytes 0..39
 *	  44  20 zero
 *	  64  .. message text (CRLF line ends, dot-stuffing undone)
 *	  ..  .. envelope records (envelope.h)
 *	  ..  .. status records: type(1) length(4) value CRC-32C(4), the
 *	         checksum taken over the queue ID and the record
 *	  ..  .. anything after the last valid record is not this message's
 *	         (a reused file is not cut to size at commit)
 *
 *	Directories under spool_directory:
 *	  queue/    committed messages, one file each, named by queue ID,
 *	            and spare files named f<number>: finished files kept for
 *	            reuse (steady traffic neither creates nor removes a
 *	            file), and messages being received or committed (their
 *	            content is meaningless until the rename); renames stay
 *	            within this one directory, so they take no lock on the
 *	            whole file system
 *	  corrupt/  files that failed validation, kept for inspection
 *	  tmp/      no longer written; files an older tern left there become
 *	            spares at start
 * TRUST
 *	queue process.  Files read back may be torn (crash) or corrupted:
 *	everything is validated before use.
 * INVARIANTS
 *	spool_create, spool_discard and spool_remove run on one thread (the
 *	free pool is not locked); spool_commit may run on any thread.
 *	A file is in queue/ only after its text, envelope and header were
 *	synced; its directory entry is durable once spool_sync_queue_dir
 *	returned.  Queue IDs are [0-9A-Z] only, so they are safe file names.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

#define SPOOL_ID_LEN 14
#define SPOOL_DATA_OFFSET 64

struct spool;

enum spool_status_type {
	SPOOL_ST_DELIVERED = 'D', /* "idx" */
	SPOOL_ST_FAILED = 'F',    /* "idx" */
	SPOOL_ST_DEFERRED = 'Y',  /* "idx next_try attempts" */
};

/* Create the directories if needed.  NULL with err on failure. */
struct spool *spool_open(const char *dir, char *err, size_t errsz);
void spool_close(struct spool *sp);
const char *spool_dir(const struct spool *sp);

/* A new, unique queue ID (time ordered). */
void spool_new_id(char id[SPOOL_ID_LEN + 1]);

/*
 * A new message: a fresh ID, and a spare file (its number in *slot)
 * opened read-write and positioned at the data offset.  Nothing of the
 * message that used the file before is left in it (zeros, or nothing).
 * -1 on error.
 */
int spool_create(struct spool *sp, char id[SPOOL_ID_LEN + 1], unsigned *slot);
/*
 * Commit a file written through spool_create's fd: write the envelope
 * and header, fdatasync, close fd, rename it into queue/<id>.  On error
 * the file is still the slot's (give it back with spool_discard, fd -1).
 * Thread safe.  0 or -1 (errno set).
 */
int spool_commit(struct spool *sp, const char *id, unsigned slot, int fd,
    uint64_t data_len, const struct envelope *env);
/* fsync queue/: makes earlier renames durable.  Thread safe. */
int spool_sync_queue_dir(struct spool *sp);
/* Close fd (if >= 0) and give the slot back (an aborted message). */
void spool_discard(struct spool *sp, unsigned slot, int fd);

/* Make whatever is under tmp/ a spare (boot).  Returns how many. */
int spool_clean_tmp(struct spool *sp);
/* Call fn for each file name in queue/ (boot). */
int
spool_scan(struct spool *sp, void (*fn)(void *arg, const char *id), void *arg);
/*
 * Read queue/<id>: header, envelope and status records (applied to the
 * recipients).  0; -1 with err when the file is not a valid message.
 * *data_len receives the text length.
 */
int spool_load(struct spool *sp, const char *id, struct envelope *env,
    uint64_t *data_len, char *err, size_t errsz);
/* Move queue/<id> to corrupt/. */
int spool_quarantine(struct spool *sp, const char *id);
/* Append a status record to queue/<id> (not synced: at-least-once). */
int spool_append_status(struct spool *sp, const char *id,
    enum spool_status_type type, const char *value);
/* Retire queue/<id> (every recipient is done): reused or removed. */
int spool_remove(struct spool *sp, const char *id);
/* Spare files waiting for reuse. */
size_t spool_free_files(const struct spool *sp);
/* Open queue/<id> read-only for delivery. */
int spool_open_data(struct spool *sp, const char *id);
/* Bytes available to us in the spool file system, or -1. */
int spool_free_space(struct spool *sp, uint64_t *bytes);

#endif
