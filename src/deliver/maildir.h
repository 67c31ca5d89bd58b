/*
 * NAME
 *	maildir - write one message into one Maildir
 * PURPOSE
 *	Creates the Maildir on first use (each new directory made durable
 *	in its parent), writes Return-Path: and Delivered-To: followed by
 *	the message (CRLF turned into LF) into tmp/ with O_EXCL, syncs it and
 *	moves it into new/ by link and unlink.  The name in new/ is fixed
 *	for a message and recipient ("unique.host,S=size", unique from the
 *	queue): a delivery repeated after a crash finds the copy it made
 *	before (in new/, or in cur/ once read) instead of making a second.
 *	The caller syncs new/ (shared with other deliveries, see dirsync)
 *	before calling it delivered.  Files a crash left in tmp/ are removed
 *	after 36 hours, as the Maildir convention has it.
 * TRUST
 *	local process, as the mailbox owner.  The Maildir path comes from
 *	the lookup tables, never from the network; the message text is
 *	untrusted but only copied.
 * INVARIANTS
 *	A file appears in new/ only complete and synced.  Nothing is left in
 *	tmp/ after a failure.  Blocking: runs in a worker thread.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <limits.h>
#include <stdint.h>

enum maildir_status {
	MAILDIR_OK,
	MAILDIR_TEMPFAIL,
	MAILDIR_PERMFAIL,
	/* Not attempted: the delivery agent could not be asked (its
	 * process is being restarted).  Never sent between processes. */
	MAILDIR_NOT_TRIED,
};

struct maildir_delivery {
	/* in */
	int src_fd;                /* the spool file, read with pread */
	uint64_t src_off, src_len; /* the message text in it */
	const char *dir;           /* Maildir root */
	const char *return_path;   /* sender, "" for <> */
	const char *delivered_to;  /* the recipient */
	const char *hostname;
	/* "secs.Q<id>N<nonce>R<n>": the same for every attempt of this
	 * message to this recipient; no '/', ':' or '.' after the first */
	const char *unique;
	int look_for_copy; /* an earlier attempt may have delivered it */
	int clean_tmp;     /* remove stale files from tmp/ first */
	/* out */
	enum maildir_status status;
	char dsn[8]; /* enhanced status code */
	char error[256];
	char newdir[PATH_MAX]; /* to be synced by the caller */
	char name[256];        /* file name in new/ (or cur/) */
	int found_copy;        /* an earlier attempt's copy was there */
	unsigned cleaned;      /* stale files removed from tmp/ */
};

/* Files older than this in tmp/ belong to no delivery running. */
#define MAILDIR_STALE_SECONDS (36 * 3600)

void maildir_deliver(struct maildir_delivery *d);

#endif
