/*
 * NAME
 *	lookup - who may send, who receives, and where mail goes
 * PURPOSE
 *	Answers the questions of the other processes from the configuration
 *	and the lookup tables: the client access verdict at connect; whether
 *	a recipient is accepted at RCPT (local users, aliases, virtual
 *	mailboxes, relocated users, relay permission) and the addresses it
 *	expands to; what VRFY may say; and, at delivery, the Maildir or the
 *	remote domain an address goes to.
 * TRUST
 *	lookup process.  Requests carry addresses that the smtp process
 *	parsed; they are re-checked here (mailbox names become directory
 *	names, so they are validated before any path is built).
 * INVARIANTS
 *	A Maildir path is built only from mail_directory or a table value and
 *	a local part that passed lookup_mailbox_name_ok.  Tables are swapped
 *	whole on reload.
 */
#ifndef TERN_LOOKUP_H
#define TERN_LOOKUP_H

#include <limits.h>
#include <stddef.h>

#include "../common/netaddr.h"
#include "../conf/conf.h"

struct lookup;

enum lookup_access {
	LOOKUP_ACCESS_DEFAULT, /* no table entry */
	LOOKUP_ACCESS_OK,
	LOOKUP_ACCESS_RELAY,       /* may relay */
	LOOKUP_ACCESS_REJECT,      /* 554 at the greeting */
	LOOKUP_ACCESS_REJECT_RCPT, /* 554 5.7.1 at every RCPT */
	LOOKUP_ACCESS_DEFER_RCPT,  /* 450 4.7.1 at every RCPT: try later */
};

struct lookup_client {
	enum lookup_access access;
	int may_relay;
	char text[200]; /* the table's text for a rejection, or "" */
};

/* The answer to RCPT or VRFY: a reply, and for RCPT the expansion. */
struct lookup_reply {
	int code;
	char esc[8]; /* enhanced status code, "x.y.z" */
	char text[300];
	char **final; /* xmalloc'ed; the caller takes them */
	size_t nfinal;
};

enum lookup_dest_type {
	LOOKUP_DEST_MAILDIR,
	LOOKUP_DEST_REMOTE,
	LOOKUP_DEST_UNKNOWN,  /* permanent failure: no such user (any more) */
	LOOKUP_DEST_TEMPFAIL, /* the lookup could not be made: try later */
};

struct lookup_dest {
	enum lookup_dest_type type;
	char path[PATH_MAX]; /* MAILDIR: the Maildir directory */
	char error[200];     /* UNKNOWN: why */
};

/* Loads the tables named by c.  NULL with "file:line: what" in err. */
struct lookup *lookup_new(const struct conf *c, char *err, size_t errsz);
void lookup_free(struct lookup *lk);

void lookup_client(const struct lookup *lk, const struct netaddr *client,
    struct lookup_client *out);

/*
 * RCPT TO:<local@domain>.  domain "" means <postmaster>.  may_relay and
 * reject come from lookup_client for this session.
 */
void lookup_rcpt(const struct lookup *lk, const char *local, const char *domain,
    int may_relay, const struct lookup_client *cl, struct lookup_reply *out);
/* VRFY in verify mode. */
void lookup_vrfy(const struct lookup *lk, const char *local, const char *domain,
    struct lookup_reply *out);
/* Where a final address ("local@domain") is delivered. */
void lookup_resolve(
    const struct lookup *lk, const char *addr, struct lookup_dest *out);
void lookup_reply_free(struct lookup_reply *r);

/* Can this local part name a mailbox directory? */
int lookup_mailbox_name_ok(const char *local);

#endif
