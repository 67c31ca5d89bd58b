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
 *	whole on reload.  One routing function decides where an address goes,
 *	at RCPT and at delivery alike.  Nothing is answered that the peer's
 *	decoder (msg.c) would refuse: table values are checked at load with
 *	the decoders' own functions, and an entry that fails is never used.
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
	LOOKUP_ACCESS_BROKEN,      /* an entry that is not valid: 451 4.3.5 */
};

struct lookup_client {
	enum lookup_access access;
	int may_relay;
	char text[200]; /* the table's text for a rejection, or "" */
};

/*
 * The verdict on a recipient (RCPT) or an address (VRFY); the smtp side
 * turns it into a reply (smtp_reply.h).  The reply texts are not made
 * here: only what the verdict needs, each checked as msg.c's decoder
 * checks it.
 */
enum lookup_verdict {
	LOOKUP_V_ACCEPT,        /* final[]: where the mail goes */
	LOOKUP_V_FORWARD,       /* 251: arg, the new address, is final[0] */
	LOOKUP_V_RELOCATED,     /* 551: arg, the new address, or "" */
	LOOKUP_V_UNKNOWN_USER,  /* 550 5.1.1: table says where it is missing */
	LOOKUP_V_BAD_MAILBOX,   /* 553 5.1.3: cannot name a Maildir */
	LOOKUP_V_RELAY_DENIED,  /* 554 5.7.1 */
	LOOKUP_V_ACCESS_REJECT, /* 554 5.7.1: arg, the access table's text */
	LOOKUP_V_ACCESS_DEFER,  /* 450 4.7.1: arg, the access table's text */
	LOOKUP_V_ALIAS_FAILED,  /* 451 4.3.0: a loop, or no address */
	LOOKUP_V_TABLE_ERROR,   /* 451 4.3.5: a table entry is not valid */
	LOOKUP_V_TEMPFAIL,      /* 451 4.3.0: the lookup could not be asked */
	LOOKUP_V_NOT_LOCAL,     /* VRFY: another domain, cannot tell (252) */
	LOOKUP_V_RATE_LIMITED,  /* 450 4.7.1: client_message_rate_limit */
};
#define LOOKUP_V_LAST LOOKUP_V_RATE_LIMITED

enum lookup_table {
	LOOKUP_T_NONE,
	LOOKUP_T_LOCAL,   /* local_recipient_maps */
	LOOKUP_T_VIRTUAL, /* virtual_mailbox_maps */
};

/* The longest argument of a verdict: an address (RFC 5321 path) or a
 * client access text. */
#define LOOKUP_ARG_MAX 256

struct lookup_reply {
	enum lookup_verdict verdict;
	enum lookup_table table; /* UNKNOWN_USER, else LOOKUP_T_NONE */
	char arg[LOOKUP_ARG_MAX + 1];
	char **final; /* ACCEPT, FORWARD: xmalloc'ed; the caller takes them */
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
	char error[200];     /* UNKNOWN, TEMPFAIL: why */
};

/*
 * Loads the tables named by c.  NULL with "file:line: what" in err when a
 * table cannot be read as a table at all.  Entries that can be read but
 * not used (an alias target that is not an address, say) do not stop the
 * load: they are listed by lookup_problem, and the recipients that need
 * them are refused.
 */
struct lookup *lookup_new(const struct conf *c, char *err, size_t errsz);
void lookup_free(struct lookup *lk);
/* What is wrong with the tables: "file:line: what", i < count. */
size_t lookup_problem_count(const struct lookup *lk);
const char *lookup_problem(const struct lookup *lk, size_t i);
/* Log each problem as a warning (at every load). */
void lookup_log_problems(const struct lookup *lk);

void lookup_client(const struct lookup *lk, const struct netaddr *client,
    struct lookup_client *out);

/*
 * RCPT TO:<local@domain> from client (relay permission and access come
 * from the client's address).  domain "" means <postmaster>.  After the
 * access and relay checks, every address the recipient leads to (itself,
 * its aliases, a forward target) must be deliverable, as lookup_resolve
 * would say at delivery: otherwise the recipient is refused.
 */
void lookup_rcpt(const struct lookup *lk, const struct netaddr *client,
    const char *local, const char *domain, struct lookup_reply *out);
/* VRFY in verify mode. */
void lookup_vrfy(const struct lookup *lk, const char *local, const char *domain,
    struct lookup_reply *out);
/* Where a final address ("local@domain") is delivered. */
void lookup_resolve(
    const struct lookup *lk, const char *addr, struct lookup_dest *out);
void lookup_reply_free(struct lookup_reply *r);
/* Is this a verdict for now only (not to be remembered until a reload)? */
int lookup_verdict_temporary(enum lookup_verdict v);

/* Can this local part name a mailbox directory? */
int lookup_mailbox_name_ok(const char *local);

#endif
