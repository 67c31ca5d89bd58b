/*
 * NAME
 *	envelope - what the queue knows about a message besides its text
 * PURPOSE
 *	Sender, MAIL parameters, client facts and recipients (each with its
 *	RCPT parameters and its delivery state), and their encoding as typed,
 *	length-prefixed records: the encoding the spool file and the IPC
 *	between processes share.
 * TRUST
 *	Encoded by the queue; decoded from spool files (which may be torn or
 *	corrupted) and, later, from IPC peers.  The decoder checks every
 *	length against what is left and every field against its limit.
 * INVARIANTS
 *	Strings hold no NUL, CR or LF.  Recipient indexes are stable for the
 *	life of the message (status records refer to them).
 */
#ifndef TERN_ENVELOPE_H
#define TERN_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define ENV_MAX_RCPT 100000
#define ENV_MAX_STRING 1024
/* The longest encoding the queue stores (spool) or takes (IPC). */
#define ENV_MAX_ENCODED (64u * 1024 * 1024)

enum env_rcpt_state {
	ENV_RCPT_PENDING,
	ENV_RCPT_DONE,   /* delivered */
	ENV_RCPT_FAILED, /* permanent failure, reported */
};

struct env_rcpt {
	char *addr;  /* where it is delivered (aliases expanded) */
	char *orig;  /* the RCPT TO address it came from */
	char *orcpt; /* ORCPT= as received, or "" */
	unsigned notify;
	/* delivery state, from status records */
	enum env_rcpt_state state;
	uint32_t attempts;
	int64_t next_try; /* unix seconds; 0 = now */
	int unsaved;      /* state not yet in a status record (memory only) */
	int uncertain;    /* a delivery's outcome was lost (memory only) */
};

struct envelope {
	int64_t arrival; /* unix time in microseconds */
	char *client_addr;
	char *client_name;
	char *helo;
	char *protocol;
	char *sender; /* "" for the null path */
	int body;     /* enum smtp_body */
	int ret;      /* enum smtp_ret */
	int smtputf8;
	char *envid; /* "" when absent */
	char *auth;  /* "" when absent */
	struct env_rcpt *rcpt;
	size_t nrcpt;
};

/* Zeroes env. */
void envelope_init(struct envelope *env);
void envelope_free(struct envelope *env);
/* Adds a recipient (strings copied). */
void envelope_add_rcpt(struct envelope *env, const char *addr, const char *orig,
    const char *orcpt, unsigned notify);
/* Set a string field (copied; NULL means ""). */
void envelope_set(char **field, const char *value);

/*
 * Append the records of env to out.  0, or -1 when out is full or a field
 * would not decode again (over ENV_MAX_STRING, CR or LF, empty address).
 */
int envelope_encode(const struct envelope *env, struct buf *out);
/* Decode exactly n octets.  0, or -1 with the reason in err. */
int envelope_decode(
    const void *p, size_t n, struct envelope *env, char *err, size_t errsz);

#endif
