/*
 * NAME
 *	msg - every message exchanged between tern's processes
 * PURPOSE
 *	Types, payload structures, encoders and decoders for the IPC
 *	channels (ipc.h): parent -> every process (configuration, peer
 *	sockets, listeners, start, stop); smtp and queue -> parent (a channel
 *	to a peer closed); smtp <-> lookup (admission, recipients, VRFY);
 *	smtp <-> queue (space, open, the message text, commit, abort, queue
 *	length); queue <-> lookup (where an address goes); queue <-> local
 *	(deliver into a Maildir).  A request carries an id chosen by the
 *	requester; the answer carries the same id.
 * TRUST
 *	Every process decodes what its peers send, and any peer may be
 *	compromised: each decoder checks lengths, ranges and characters, and
 *	msg_allowed says which types a process accepts at all.
 * INVARIANTS
 *	A decoded message satisfies the same invariants as the structures
 *	the modules build themselves: addresses and texts have no CR, LF or
 *	NUL, queue IDs are [0-9A-Z]{14}, Maildir paths are absolute and
 *	contain no "." or ".." component.
 */
#ifndef TERN_MSG_H
#define TERN_MSG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/netaddr.h"
#include "../lookup/lookup.h"
#include "../lookup/sessions.h"
#include "../queue/envelope.h"
#include "../queue/spool.h"

enum proc_role {
	ROLE_PARENT,
	ROLE_SMTP,
	ROLE_LOOKUP,
	ROLE_QUEUE,
	ROLE_LOCAL,
	ROLE_COUNT
};

extern const char *const proc_role_names[ROLE_COUNT];

enum msg_type {
	/* parent -> any */
	MSG_CONF = 1, /* the effective configuration, as text */
	MSG_PEER,     /* a socket to another process; fd */
	MSG_LISTEN,   /* smtp: a listening socket; fd */
	MSG_GO,       /* start serving */
	MSG_STOP,     /* stop gracefully, then exit */
	/* smtp, queue -> parent: the channel to this peer closed */
	MSG_LOST = 10,
	/* smtp -> lookup */
	MSG_ADMIT = 20,
	MSG_RELEASE,
	MSG_RCPT,
	MSG_VRFY,
	/* lookup -> smtp */
	MSG_ADMIT_ANS = 30,
	MSG_LOOKUP_ANS,
	MSG_TABLES, /* unasked, also to the queue: the tables changed */
	/* queue -> lookup */
	MSG_RESOLVE = 40,
	/* lookup -> queue */
	MSG_RESOLVE_ANS,
	/* smtp -> queue */
	MSG_ROOM = 50,
	MSG_OPEN,
	MSG_COMMIT,
	MSG_ABORT,
	MSG_QUEUED,
	MSG_DATA, /* id and message text, unanswered */
	/* queue -> smtp */
	MSG_ROOM_ANS = 60,
	MSG_OPEN_ANS,
	MSG_COMMIT_ANS, /* u8: enum msg_commit_status */
	MSG_QUEUED_ANS,
	MSG_SPACE, /* unasked, every second: u64 queue_room() */
	/* queue -> local */
	MSG_DELIVER = 70, /* fd: the queue file, read-only */
	/* local -> queue */
	MSG_DELIVER_ANS,
};

#define MSG_CONF_MAX (1024 * 1024)
#define MSG_INDEX_MAX 1024 /* of an smtp process (TERN_INDEX, MSG_PEER) */
/* Message text in one MSG_DATA, at most. */
#define MSG_DATA_MAX (256u * 1024)
#define MSG_UNIQUE_MAX 80

enum msg_commit_status {
	MSG_COMMIT_FAILED,
	MSG_COMMIT_OK,
	MSG_COMMIT_NO_ROOM, /* the spool is full */
};
#define MSG_FINAL_MAX 1000

struct msg_peer { /* MSG_PEER, MSG_LOST */
	enum proc_role role;
	uint32_t index;
	/* Which channel of the edge, counted by the parent: a report of a
	 * channel that was replaced meanwhile is stale. */
	uint32_t gen;
};

struct msg_rcpt { /* MSG_RCPT, MSG_VRFY (client, new_message unused) */
	struct netaddr client;
	char local[65];
	char domain[256];
	uint8_t new_message; /* 0 or 1 */
};

struct msg_admit_ans {
	enum sessions_verdict verdict;
	struct lookup_client client;
};

struct msg_commit {
	char id[SPOOL_ID_LEN + 1];
	uint64_t data_len;
	struct envelope env;
};

struct msg_deliver {
	char maildir[PATH_MAX];
	char return_path[ENV_MAX_STRING + 1];
	char rcpt[ENV_MAX_STRING + 1];
	char unique[MSG_UNIQUE_MAX + 1];
	uint8_t look_for_copy;
	uint64_t off, len;
};

struct msg_deliver_ans {
	int status; /* enum maildir_status */
	uint8_t found_copy;
	char dsn[8];
	char error[256];
};

/*
 * The longest payload of each message, from the bounds its decoder puts
 * on every field, and of each channel: the longest message that travels
 * on it, either way.  Both ends of a channel use the same bound
 * (msg_channel_max), so that a peer can make the other buffer no more
 * than one valid message.  A new message or field changes these.
 */
#define MSG_STR_LEN(n) (4 + (size_t)(n)) /* wire_put_str/bytes, n octets */
#define MSG_FIELD_LEN(type, f) (sizeof(((type *)0)->f) - 1)
#define MSG_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define MSG_NETADDR_LEN (2 + MSG_STR_LEN(16))
#define MSG_ID_LEN (1 + MSG_STR_LEN(SPOOL_ID_LEN)) /* OPEN_ANS, ABORT */

/* parent <-> every process */
#define MSG_CONF_LEN MSG_STR_LEN(MSG_CONF_MAX)
#define MSG_PEER_LEN 9 /* also MSG_LOST */
#define MSG_MAX_CONTROL MSG_MAX2(MSG_CONF_LEN, MSG_PEER_LEN)
/* smtp <-> lookup, queue <-> lookup */
#define MSG_RCPT_LEN \
	(MSG_NETADDR_LEN + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_rcpt, local)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_rcpt, domain)) + 1)
#define MSG_ADMIT_ANS_LEN \
	(3 + MSG_STR_LEN(MSG_FIELD_LEN(struct lookup_client, text)))
/* An accepted recipient's answer carries no argument, a forwarded one's
 * one address (msg_dec_lookup_ans). */
#define MSG_LOOKUP_ANS_LEN \
	MSG_MAX2(2 + MSG_STR_LEN(0) + 4 + \
	        (size_t)MSG_FINAL_MAX * MSG_STR_LEN(ENV_MAX_STRING), \
	    2 + MSG_STR_LEN(MSG_FIELD_LEN(struct lookup_reply, arg)) + 4 + \
	        MSG_STR_LEN(ENV_MAX_STRING))
#define MSG_RESOLVE_LEN MSG_STR_LEN(ENV_MAX_STRING)
#define MSG_RESOLVE_ANS_LEN \
	(1 + MSG_STR_LEN(MSG_FIELD_LEN(struct lookup_dest, path)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct lookup_dest, error)))
#define MSG_MAX_LOOKUP \
	MSG_MAX2(MSG_MAX2(MSG_MAX2(MSG_NETADDR_LEN, MSG_RCPT_LEN), \
	             MSG_MAX2(MSG_ADMIT_ANS_LEN, MSG_LOOKUP_ANS_LEN)), \
	    MSG_MAX2(MSG_RESOLVE_LEN, MSG_RESOLVE_ANS_LEN))
/* smtp <-> queue (ROOM, QUEUED_ANS, SPACE: 8; ROOM_ANS, COMMIT_ANS: 1) */
#define MSG_COMMIT_LEN \
	(MSG_STR_LEN(SPOOL_ID_LEN) + 8 + MSG_STR_LEN(ENV_MAX_ENCODED))
#define MSG_DATA_LEN (MSG_STR_LEN(SPOOL_ID_LEN) + MSG_STR_LEN(MSG_DATA_MAX))
#define MSG_MAX_QUEUE \
	MSG_MAX2( \
	    MSG_MAX2(MSG_COMMIT_LEN, MSG_DATA_LEN), MSG_MAX2(MSG_ID_LEN, 8))
/* queue <-> local */
#define MSG_DELIVER_LEN \
	(MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver, maildir)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver, return_path)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver, rcpt)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver, unique)) + 1 + 16)
#define MSG_DELIVER_ANS_LEN \
	(2 + MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver_ans, dsn)) + \
	    MSG_STR_LEN(MSG_FIELD_LEN(struct msg_deliver_ans, error)))
#define MSG_MAX_LOCAL MSG_MAX2(MSG_DELIVER_LEN, MSG_DELIVER_ANS_LEN)

/* The bound of the channel between processes of roles a and b (0: they
 * have none). */
size_t msg_channel_max(enum proc_role a, enum proc_role b);

/* Payload encoders: append to out. */
void msg_enc_text(struct buf *out, const char *text);
void msg_enc_peer(struct buf *out, const struct msg_peer *m);
void msg_enc_netaddr(struct buf *out, const struct netaddr *a);
void msg_enc_rcpt(struct buf *out, const struct msg_rcpt *m);
void msg_enc_admit_ans(struct buf *out, const struct msg_admit_ans *m);
void msg_enc_lookup_ans(struct buf *out, const struct lookup_reply *r);
void msg_enc_resolve_ans(struct buf *out, const struct lookup_dest *d);
void msg_enc_u64(struct buf *out, uint64_t v);
void msg_enc_id(struct buf *out, uint8_t ok, const char *id);
int msg_enc_commit(struct buf *out, const char *id, uint64_t data_len,
    const struct envelope *env);
void
msg_enc_data(struct buf *out, const char *id, const void *data, size_t len);
void msg_enc_deliver(struct buf *out, const struct msg_deliver *m);
void msg_enc_deliver_ans(struct buf *out, const struct msg_deliver_ans *m);

/* Decoders: 0, or -1 when the payload is not a valid message. */
int msg_dec_text(const void *p, size_t n, char **text);
int msg_dec_peer(const void *p, size_t n, struct msg_peer *m);
/* MSG_LOST from a process of role from: a peer it is the client of. */
int
msg_dec_lost(const void *p, size_t n, enum proc_role from, struct msg_peer *m);
/* Does a process of role client ask the parent for a new channel to
 * server when theirs closes?  (One side of each channel asks.) */
int msg_client_of(enum proc_role client, enum proc_role server);
int msg_dec_netaddr(const void *p, size_t n, struct netaddr *a);
int msg_dec_rcpt(const void *p, size_t n, struct msg_rcpt *m);
int msg_dec_admit_ans(const void *p, size_t n, struct msg_admit_ans *m);
/* r->final is allocated; free with lookup_reply_free. */
int msg_dec_lookup_ans(const void *p, size_t n, struct lookup_reply *r);
int msg_dec_resolve_ans(const void *p, size_t n, struct lookup_dest *d);
int msg_dec_u64(const void *p, size_t n, uint64_t *v);
int msg_dec_u8(const void *p, size_t n, uint8_t *v);
/* "ok + id" (MSG_OPEN_ANS) or, with want_ok NULL, a bare id (ABORT). */
int msg_dec_id(const void *p, size_t n, uint8_t *ok, char id[SPOOL_ID_LEN + 1]);
int msg_dec_commit(const void *p, size_t n, struct msg_commit *m);
/* *data points into p. */
int msg_dec_data(const void *p, size_t n, char id[SPOOL_ID_LEN + 1],
    const void **data, size_t *len);
int msg_dec_deliver(const void *p, size_t n, struct msg_deliver *m);
int msg_dec_deliver_ans(const void *p, size_t n, struct msg_deliver_ans *m);
/* An address for MSG_RESOLVE. */
int msg_dec_address(const void *p, size_t n, char *dst, size_t dstsz);

/* May a process of this role receive this type from that role? */
int msg_allowed(enum proc_role self, enum proc_role from, uint16_t type);
/*
 * Decode (and free) any message this role may receive: what each
 * process's dispatcher does first.  For the fuzz targets and tests.
 */
int msg_check(enum proc_role self, enum proc_role from, uint16_t type,
    const void *p, size_t n);

/* Is this a safe absolute path (no ".", "..", empty components, controls)? */
int msg_path_ok(const char *path);
/*
 * The checks the decoders make of what a peer names, for those who must
 * not send what would be refused: the lookup process checks its tables
 * with them when it loads them, the queue an address before it asks
 * where it goes.
 *
 * A final address: "local@domain", both parts non-empty, at most
 * ENV_MAX_STRING octets of UTF-8 without control characters.
 */
int msg_address_ok(const char *addr);
/* A new address a reply shows (relocated_maps): an address of at most
 * LOOKUP_ARG_MAX octets. */
int msg_target_ok(const char *addr);
/* Table text a reply quotes (client_access_maps): 1 to LOOKUP_ARG_MAX
 * octets of printable ASCII. */
int msg_reply_text_ok(const char *text);

#endif
