/*
 * msg - encoders and decoders of the IPC payloads; a decoder checks
 * every length and every text it hands on, so that a handler never
 * sees a malformed message.
 */
#include "msg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/strutil.h"
#include "../common/wire.h"
#include "../common/xmem.h"
#include "../deliver/maildir.h"

const char *const proc_role_names[ROLE_COUNT] = {
    [ROLE_PARENT] = "parent",
    [ROLE_SMTP] = "smtp",
    [ROLE_LOOKUP] = "lookup",
    [ROLE_QUEUE] = "queue",
    [ROLE_LOCAL] = "local",
};

/* Text that ends up in a reply, a header or a log line. */
static int
clean_text(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

int
msg_path_ok(const char *path)
{
	const char *p = path;

	if (path[0] != '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	p = path;
	while (*p) {
		size_t l;

		while (*p == '/')
			p++;
		l = strcspn(p, "/");
		if ((l == 1 && p[0] == '.') ||
		    (l == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += l;
	}
	return 1;
}

int
msg_address_ok(const char *addr)
{
	size_t n = strlen(addr), i;
	const char *at = strrchr(addr, '@');

	if (n == 0 || n > ENV_MAX_STRING || at == NULL || at == addr ||
	    at[1] == '\0' || !utf8_valid(addr, n, NULL))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)addr[i] < 0x20 || addr[i] == 0x7f)
			return 0;
	return 1;
}

int
msg_target_ok(const char *addr)
{
	return strlen(addr) <= LOOKUP_ARG_MAX && msg_address_ok(addr);
}

int
msg_reply_text_ok(const char *text)
{
	size_t n = strlen(text), i;

	if (n == 0 || n > LOOKUP_ARG_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			return 0;
	return 1;
}

/* ------------------------------------------------------------- encoders */

void
msg_enc_text(struct buf *out, const char *text)
{
	wire_put_str(out, text);
}

void
msg_enc_peer(struct buf *out, const struct msg_peer *m)
{
	wire_put_u8(out, (uint8_t)m->role);
	wire_put_u32(out, m->index);
	wire_put_u32(out, m->gen);
}

void
msg_enc_netaddr(struct buf *out, const struct netaddr *a)
{
	wire_put_u8(out, a->family == AF_INET ? 4 : 6);
	wire_put_u8(out, (uint8_t)a->prefix);
	wire_put_bytes(out, a->addr, 16);
}

void
msg_enc_rcpt(struct buf *out, const struct msg_rcpt *m)
{
	msg_enc_netaddr(out, &m->client);
	wire_put_str(out, m->local);
	wire_put_str(out, m->domain);
	wire_put_u8(out, m->new_message);
}

void
msg_enc_admit_ans(struct buf *out, const struct msg_admit_ans *m)
{
	wire_put_u8(out, (uint8_t)m->verdict);
	wire_put_u8(out, (uint8_t)m->client.access);
	wire_put_u8(out, (uint8_t)m->client.may_relay);
	wire_put_str(out, m->client.text);
}

void
msg_enc_lookup_ans(struct buf *out, const struct lookup_reply *r)
{
	size_t i, n = r->nfinal < MSG_FINAL_MAX ? r->nfinal : MSG_FINAL_MAX;

	wire_put_u8(out, (uint8_t)r->verdict);
	wire_put_u8(out, (uint8_t)r->table);
	wire_put_str(out, r->arg);
	wire_put_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++)
		wire_put_str(out, r->final[i]);
}

void
msg_enc_resolve_ans(struct buf *out, const struct lookup_dest *d)
{
	wire_put_u8(out, (uint8_t)d->type);
	wire_put_str(out, d->path);
	wire_put_str(out, d->error);
}

void
msg_enc_u64(struct buf *out, uint64_t v)
{
	wire_put_u64(out, v);
}

void
msg_enc_id(struct buf *out, uint8_t ok, const char *id)
{
	wire_put_u8(out, ok);
	wire_put_str(out, id);
}

int
msg_enc_commit(struct buf *out, const char *id, uint64_t data_len,
    const struct envelope *env)
{
	struct buf eb;
	int r;

	buf_init(&eb, ENV_MAX_ENCODED);
	r = envelope_encode(env, &eb);
	if (r == 0 &&
	    out->max - out->len <
	        MSG_STR_LEN(strlen(id)) + 8 + MSG_STR_LEN(eb.len))
		r = -1; /* out is bounded by what the channel carries */
	if (r == 0) {
		wire_put_str(out, id);
		wire_put_u64(out, data_len);
		wire_put_bytes(out, eb.data, eb.len);
	}
	buf_free(&eb);
	return r;
}

void
msg_enc_data(struct buf *out, const char *id, const void *data, size_t len)
{
	wire_put_str(out, id);
	wire_put_bytes(out, data, len);
}

void
msg_enc_deliver(struct buf *out, const struct msg_deliver *m)
{
	wire_put_str(out, m->maildir);
	wire_put_str(out, m->return_path);
	wire_put_str(out, m->rcpt);
	wire_put_str(out, m->unique);
	wire_put_u8(out, m->look_for_copy);
	wire_put_u64(out, m->off);
	wire_put_u64(out, m->len);
}

void
msg_enc_deliver_ans(struct buf *out, const struct msg_deliver_ans *m)
{
	wire_put_u8(out, (uint8_t)m->status);
	wire_put_u8(out, m->found_copy);
	wire_put_str(out, m->dsn);
	wire_put_str(out, m->error);
}

/* ------------------------------------------------------------- decoders */

int
msg_dec_text(const void *p, size_t n, char **text)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	*text = wire_get_strdup(&r, MSG_CONF_MAX);
	if (wire_done(&r) < 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

int
msg_dec_peer(const void *p, size_t n, struct msg_peer *m)
{
	struct wire_reader r;
	uint8_t role;

	wire_reader_init(&r, p, n);
	role = wire_get_u8(&r);
	m->index = wire_get_u32(&r);
	m->gen = wire_get_u32(&r);
	if (wire_done(&r) < 0 || role == ROLE_PARENT || role >= ROLE_COUNT ||
	    m->index > MSG_INDEX_MAX)
		return -1;
	m->role = (enum proc_role)role;
	return 0;
}

int
msg_client_of(enum proc_role client, enum proc_role server)
{
	return (client == ROLE_SMTP &&
	           (server == ROLE_LOOKUP || server == ROLE_QUEUE)) ||
	    (client == ROLE_QUEUE &&
	        (server == ROLE_LOOKUP || server == ROLE_LOCAL));
}

int
msg_dec_lost(const void *p, size_t n, enum proc_role from, struct msg_peer *m)
{
	/* Lookup, queue and local run one process each. */
	if (msg_dec_peer(p, n, m) < 0 || !msg_client_of(from, m->role) ||
	    m->index != 0)
		return -1;
	return 0;
}

static void
get_netaddr(struct wire_reader *r, struct netaddr *a)
{
	uint8_t fam = wire_get_u8(r), prefix = wire_get_u8(r);
	const void *b;
	size_t len;

	memset(a, 0, sizeof(*a));
	b = wire_get_bytes(r, 16, &len);
	if (b == NULL || len != 16 || !(fam == 4 || fam == 6)) {
		r->err = 1;
		return;
	}
	a->family = fam == 4 ? AF_INET : AF_INET6;
	a->prefix = prefix;
	memcpy(a->addr, b, 16);
	/* A peer is one host, and an IPv4 address has no bytes beyond 4. */
	if (prefix != (fam == 4 ? 32 : 128))
		r->err = 1;
	if (fam == 4)
		for (int i = 4; i < 16; i++)
			if (a->addr[i] != 0)
				r->err = 1;
}

int
msg_dec_netaddr(const void *p, size_t n, struct netaddr *a)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	get_netaddr(&r, a);
	return wire_done(&r);
}

int
msg_dec_rcpt(const void *p, size_t n, struct msg_rcpt *m)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	get_netaddr(&r, &m->client);
	wire_get_str(&r, m->local, sizeof(m->local));
	wire_get_str(&r, m->domain, sizeof(m->domain));
	m->new_message = wire_get_u8(&r);
	if (wire_done(&r) < 0 || m->new_message > 1 || m->local[0] == '\0' ||
	    !clean_text(m->local) || !clean_text(m->domain) ||
	    !utf8_valid(m->local, strlen(m->local), NULL) ||
	    !utf8_valid(m->domain, strlen(m->domain), NULL))
		return -1;
	return 0;
}

int
msg_dec_admit_ans(const void *p, size_t n, struct msg_admit_ans *m)
{
	struct wire_reader r;
	uint8_t v, acc, relay;

	memset(m, 0, sizeof(*m));
	wire_reader_init(&r, p, n);
	v = wire_get_u8(&r);
	acc = wire_get_u8(&r);
	relay = wire_get_u8(&r);
	wire_get_str(&r, m->client.text, sizeof(m->client.text));
	/* UNAVAILABLE is what the asking side concludes, never an answer. */
	if (wire_done(&r) < 0 || v > SESSIONS_VERDICT_LAST ||
	    v == SESSIONS_UNAVAILABLE || acc > LOOKUP_ACCESS_BROKEN ||
	    relay > 1 || !clean_text(m->client.text))
		return -1;
	m->verdict = (enum sessions_verdict)v;
	m->client.access = (enum lookup_access)acc;
	m->client.may_relay = relay;
	return 0;
}

/* "2.1.5": class digit, then one to three digits twice. */
static int
esc_ok(const char *e)
{
	size_t i = 0, part;

	if (e[0] != '2' && e[0] != '4' && e[0] != '5')
		return 0;
	if (e[1] != '.')
		return 0;
	e += 2;
	for (part = 0; part < 2; part++) {
		for (i = 0; e[i] >= '0' && e[i] <= '9'; i++)
			;
		if (i == 0 || i > 3)
			return 0;
		e += i;
		if (part == 0 && *e++ != '.')
			return 0;
	}
	return *e == '\0';
}

/*
 * What each verdict carries (lookup.h): the table only with UNKNOWN_USER,
 * an argument only where a reply shows one, final addresses exactly when
 * the recipient is accepted.
 */
static int
verdict_ok(const struct lookup_reply *lr, size_t count)
{
	if (lr->table != LOOKUP_T_NONE && lr->verdict != LOOKUP_V_UNKNOWN_USER)
		return 0;
	switch (lr->verdict) {
	case LOOKUP_V_ACCEPT:
		return lr->arg[0] == '\0' && count > 0;
	case LOOKUP_V_FORWARD:
		return msg_target_ok(lr->arg) && count == 1;
	case LOOKUP_V_RELOCATED:
		return (lr->arg[0] == '\0' || msg_target_ok(lr->arg)) &&
		    count == 0;
	case LOOKUP_V_UNKNOWN_USER:
		return (lr->table == LOOKUP_T_LOCAL ||
		           lr->table == LOOKUP_T_VIRTUAL) &&
		    lr->arg[0] == '\0' && count == 0;
	case LOOKUP_V_ACCESS_REJECT:
	case LOOKUP_V_ACCESS_DEFER:
		return (lr->arg[0] == '\0' || msg_reply_text_ok(lr->arg)) &&
		    count == 0;
	case LOOKUP_V_BAD_MAILBOX:
	case LOOKUP_V_RELAY_DENIED:
	case LOOKUP_V_ALIAS_FAILED:
	case LOOKUP_V_TABLE_ERROR:
	case LOOKUP_V_TEMPFAIL:
	case LOOKUP_V_NOT_LOCAL:
	case LOOKUP_V_RATE_LIMITED:
		return lr->arg[0] == '\0' && count == 0;
	}
	return 0;
}

int
msg_dec_lookup_ans(const void *p, size_t n, struct lookup_reply *out)
{
	struct wire_reader r;
	uint8_t verdict, table;
	uint32_t count, i;

	memset(out, 0, sizeof(*out));
	wire_reader_init(&r, p, n);
	verdict = wire_get_u8(&r);
	table = wire_get_u8(&r);
	wire_get_str(&r, out->arg, sizeof(out->arg));
	count = wire_get_u32(&r);
	if (r.err || verdict > LOOKUP_V_LAST || table > LOOKUP_T_VIRTUAL ||
	    count > MSG_FINAL_MAX)
		return -1;
	out->verdict = (enum lookup_verdict)verdict;
	out->table = (enum lookup_table)table;
	if (!verdict_ok(out, count))
		return -1;
	if (count > 0)
		out->final = xcalloc(count, sizeof(*out->final));
	for (i = 0; i < count; i++) {
		out->final[i] = wire_get_strdup(&r, ENV_MAX_STRING);
		out->nfinal++;
		if (!msg_address_ok(out->final[i]))
			r.err = 1;
	}
	if (out->verdict == LOOKUP_V_FORWARD && out->nfinal == 1 &&
	    strcmp(out->final[0], out->arg) != 0)
		r.err = 1;
	if (wire_done(&r) < 0) {
		lookup_reply_free(out);
		return -1;
	}
	return 0;
}

int
msg_dec_resolve_ans(const void *p, size_t n, struct lookup_dest *d)
{
	struct wire_reader r;
	uint8_t type;

	memset(d, 0, sizeof(*d));
	wire_reader_init(&r, p, n);
	type = wire_get_u8(&r);
	wire_get_str(&r, d->path, sizeof(d->path));
	wire_get_str(&r, d->error, sizeof(d->error));
	if (wire_done(&r) < 0 || type > LOOKUP_DEST_TEMPFAIL ||
	    !clean_text(d->error))
		return -1;
	d->type = (enum lookup_dest_type)type;
	if (d->type == LOOKUP_DEST_MAILDIR && !msg_path_ok(d->path))
		return -1;
	return 0;
}

int
msg_dec_u64(const void *p, size_t n, uint64_t *v)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	*v = wire_get_u64(&r);
	return wire_done(&r);
}

int
msg_dec_u8(const void *p, size_t n, uint8_t *v)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	*v = wire_get_u8(&r);
	return wire_done(&r);
}

int
msg_dec_id(const void *p, size_t n, uint8_t *ok, char id[SPOOL_ID_LEN + 1])
{
	struct wire_reader r;
	uint8_t v;

	wire_reader_init(&r, p, n);
	v = wire_get_u8(&r);
	wire_get_str(&r, id, SPOOL_ID_LEN + 1);
	if (wire_done(&r) < 0 || v > 1)
		return -1;
	if (ok)
		*ok = v;
	/* A failed open carries no ID. */
	if ((ok == NULL || v == 1) && !spool_id_ok(id))
		return -1;
	return 0;
}

int
msg_dec_commit(const void *p, size_t n, struct msg_commit *m)
{
	struct wire_reader r;
	const void *eb;
	size_t elen;
	char err[128];

	memset(m, 0, sizeof(*m));
	wire_reader_init(&r, p, n);
	wire_get_str(&r, m->id, sizeof(m->id));
	m->data_len = wire_get_u64(&r);
	eb = wire_get_bytes(&r, n, &elen);
	if (wire_done(&r) < 0 || !spool_id_ok(m->id) ||
	    m->data_len > UINT64_MAX / 2)
		return -1;
	return envelope_decode(eb, elen, &m->env, err, sizeof(err));
}

int
msg_dec_data(const void *p, size_t n, char id[SPOOL_ID_LEN + 1],
    const void **data, size_t *len)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	wire_get_str(&r, id, SPOOL_ID_LEN + 1);
	*data = wire_get_bytes(&r, MSG_DATA_MAX, len);
	if (wire_done(&r) < 0 || !spool_id_ok(id))
		return -1;
	return 0;
}

/* A Maildir copy's fixed name part: letters, digits and dots only. */
static int
unique_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MSG_UNIQUE_MAX &&
	    strspn(s,
	        "0123456789abcdefghijklmnopqrstuvwxyz"
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ.") == n;
}

int
msg_dec_deliver(const void *p, size_t n, struct msg_deliver *m)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	wire_get_str(&r, m->maildir, sizeof(m->maildir));
	wire_get_str(&r, m->return_path, sizeof(m->return_path));
	wire_get_str(&r, m->rcpt, sizeof(m->rcpt));
	wire_get_str(&r, m->unique, sizeof(m->unique));
	m->look_for_copy = wire_get_u8(&r);
	m->off = wire_get_u64(&r);
	m->len = wire_get_u64(&r);
	if (wire_done(&r) < 0 || !msg_path_ok(m->maildir) ||
	    !clean_text(m->return_path) || !clean_text(m->rcpt) ||
	    m->rcpt[0] == '\0' || !unique_ok(m->unique) ||
	    m->look_for_copy > 1 || m->off < SPOOL_DATA_OFFSET ||
	    m->off > UINT64_MAX / 4 || m->len > UINT64_MAX / 4)
		return -1;
	return 0;
}

int
msg_dec_deliver_ans(const void *p, size_t n, struct msg_deliver_ans *m)
{
	struct wire_reader r;
	uint8_t st;

	memset(m, 0, sizeof(*m));
	wire_reader_init(&r, p, n);
	st = wire_get_u8(&r);
	m->found_copy = wire_get_u8(&r);
	wire_get_str(&r, m->dsn, sizeof(m->dsn));
	wire_get_str(&r, m->error, sizeof(m->error));
	if (wire_done(&r) < 0 || st > MAILDIR_PERMFAIL || m->found_copy > 1 ||
	    !esc_ok(m->dsn) || !clean_text(m->error))
		return -1;
	m->status = st;
	return 0;
}

int
msg_dec_address(const void *p, size_t n, char *dst, size_t dstsz)
{
	struct wire_reader r;

	wire_reader_init(&r, p, n);
	wire_get_str(&r, dst, dstsz);
	if (wire_done(&r) < 0 || !msg_address_ok(dst))
		return -1;
	return 0;
}

/* ---------------------------------------------------------- who may say */

size_t
msg_channel_max(enum proc_role a, enum proc_role b)
{
	if (a == ROLE_PARENT || b == ROLE_PARENT)
		return a != b ? MSG_MAX_CONTROL : 0;
	if (msg_client_of(a, b) || msg_client_of(b, a)) {
		if (a == ROLE_LOOKUP || b == ROLE_LOOKUP)
			return MSG_MAX_LOOKUP;
		if (a == ROLE_LOCAL || b == ROLE_LOCAL)
			return MSG_MAX_LOCAL;
		return MSG_MAX_QUEUE;
	}
	return 0;
}

int
msg_allowed(enum proc_role self, enum proc_role from, uint16_t type)
{
	if (self == ROLE_PARENT)
		return type == MSG_LOST &&
		    (from == ROLE_SMTP || from == ROLE_QUEUE);
	if (from == ROLE_PARENT)
		return type == MSG_CONF || type == MSG_PEER || type == MSG_GO ||
		    type == MSG_STOP ||
		    (type == MSG_LISTEN && self == ROLE_SMTP);
	switch (self) {
	case ROLE_LOOKUP:
		if (from == ROLE_SMTP)
			return type == MSG_ADMIT || type == MSG_RELEASE ||
			    type == MSG_RCPT || type == MSG_VRFY;
		return from == ROLE_QUEUE && type == MSG_RESOLVE;
	case ROLE_SMTP:
		if (from == ROLE_LOOKUP)
			return type == MSG_ADMIT_ANS ||
			    type == MSG_LOOKUP_ANS || type == MSG_TABLES;
		return from == ROLE_QUEUE &&
		    (type == MSG_ROOM_ANS || type == MSG_OPEN_ANS ||
		        type == MSG_COMMIT_ANS || type == MSG_QUEUED_ANS ||
		        type == MSG_SPACE);
	case ROLE_QUEUE:
		if (from == ROLE_SMTP)
			return type == MSG_ROOM || type == MSG_OPEN ||
			    type == MSG_DATA || type == MSG_COMMIT ||
			    type == MSG_ABORT || type == MSG_QUEUED;
		if (from == ROLE_LOOKUP)
			return type == MSG_RESOLVE_ANS || type == MSG_TABLES;
		return from == ROLE_LOCAL && type == MSG_DELIVER_ANS;
	case ROLE_LOCAL:
		return from == ROLE_QUEUE && type == MSG_DELIVER;
	case ROLE_PARENT:
	case ROLE_COUNT:
		break;
	}
	return 0;
}

int
msg_check(enum proc_role self, enum proc_role from, uint16_t type,
    const void *p, size_t n)
{
	union {
		struct msg_peer peer;
		struct netaddr addr;
		struct msg_rcpt rcpt;
		struct msg_admit_ans admit;
		struct lookup_reply reply;
		struct lookup_dest dest;
		struct msg_commit commit;
		struct msg_deliver deliver;
		struct msg_deliver_ans dans;
		char address[ENV_MAX_STRING + 1];
	} u;
	char id[SPOOL_ID_LEN + 1], *text;
	uint64_t v64;
	uint8_t v8;
	int r;

	if (!msg_allowed(self, from, type))
		return -1;
	switch (type) {
	case MSG_CONF:
		if ((r = msg_dec_text(p, n, &text)) == 0)
			free(text);
		return r;
	case MSG_PEER:
		return msg_dec_peer(p, n, &u.peer);
	case MSG_LOST:
		return msg_dec_lost(p, n, from, &u.peer);
	case MSG_LISTEN:
	case MSG_GO:
	case MSG_STOP:
	case MSG_OPEN:
	case MSG_QUEUED:
	case MSG_TABLES:
		return n == 0 ? 0 : -1;
	case MSG_ADMIT:
	case MSG_RELEASE:
		return msg_dec_netaddr(p, n, &u.addr);
	case MSG_RCPT:
	case MSG_VRFY:
		return msg_dec_rcpt(p, n, &u.rcpt);
	case MSG_ADMIT_ANS:
		return msg_dec_admit_ans(p, n, &u.admit);
	case MSG_LOOKUP_ANS:
		if ((r = msg_dec_lookup_ans(p, n, &u.reply)) == 0)
			lookup_reply_free(&u.reply);
		return r;
	case MSG_RESOLVE:
		return msg_dec_address(p, n, u.address, sizeof(u.address));
	case MSG_RESOLVE_ANS:
		return msg_dec_resolve_ans(p, n, &u.dest);
	case MSG_ROOM:
	case MSG_QUEUED_ANS:
	case MSG_SPACE:
		return msg_dec_u64(p, n, &v64);
	case MSG_ROOM_ANS:
		return msg_dec_u8(p, n, &v8) == 0 && v8 <= 1 ? 0 : -1;
	case MSG_COMMIT_ANS:
		return msg_dec_u8(p, n, &v8) == 0 && v8 <= MSG_COMMIT_NO_ROOM
		    ? 0
		    : -1;
	case MSG_DATA: {
		const void *data;
		size_t len;

		return msg_dec_data(p, n, id, &data, &len);
	}
	case MSG_OPEN_ANS:
		return msg_dec_id(p, n, &v8, id);
	case MSG_ABORT:
		return msg_dec_id(p, n, NULL, id);
	case MSG_COMMIT:
		if ((r = msg_dec_commit(p, n, &u.commit)) == 0)
			envelope_free(&u.commit.env);
		return r;
	case MSG_DELIVER:
		return msg_dec_deliver(p, n, &u.deliver);
	case MSG_DELIVER_ANS:
		return msg_dec_deliver_ans(p, n, &u.dans);
	}
	return -1;
}
