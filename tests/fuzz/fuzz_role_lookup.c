/*
 * fuzz_role_lookup - the lookup process's request handler (role_lookup.h)
 * with its tables, fed by smtp and queue processes the fuzzer plays
 * (fuzz_peer.h): admissions and releases, recipient and VRFY lookups,
 * resolutions, messages a role may not send, payloads that do not decode,
 * descriptors where none belong, lying headers, channels opened and
 * closed, the tables reloaded.
 *
 * Input: a script, each operation a byte (OP_*) and its operands.  After
 * each operation the loop runs until every request is answered.
 *
 * Checked: every answer decodes where it goes, answers its own request
 * (same id, the expected type, in order), and nothing is answered twice
 * or left unanswered; an invalid message closes its channel and nothing
 * else does; the admission verdicts follow a model of the session counts
 * (max_sessions 3, max_sessions_per_client 2, the sessions of a closed
 * channel forgotten); and ASan/UBSan see no leak or misuse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../src/common/log.h"
#include "../../src/conf/conf.h"
#include "../../src/proc/msg.h"
#include "../../src/proc/role_lookup.h"
#include "fuzz_peer.h"
#include "fuzz_util.h"

#define MAX_OPS 150
#define MAX_PEERS 4
#define MAX_PEND 64
#define MAX_ADDRS 8
#define MAX_TOTAL 3
#define MAX_CLIENT 2

enum {
	OP_REQUEST,
	OP_BATCH,
	OP_MESSAGE,
	OP_LIE,
	OP_OPEN,
	OP_CLOSE,
	OP_SWITCH,
	OP_RELOAD,
	OP_COUNT
};

enum pend_kind {
	P_REQUEST, /* answered */
	P_RELEASE, /* valid, not answered */
	P_BAD,     /* closes the channel */
};

struct pend {
	enum pend_kind kind;
	uint16_t type;
	uint32_t id;
	struct netaddr addr; /* ADMIT, RELEASE */
};

struct count {
	struct netaddr addr;
	unsigned n;
};

struct lpeer {
	struct fuzz_peer fp;
	enum proc_role role;
	int live;
	struct pend q[MAX_PEND];
	size_t head, n;
	struct count sess[MAX_ADDRS]; /* this owner's sessions, as modelled */
	size_t nsess;
};

struct run {
	uv_loop_t loop;
	struct lk_state *lk;
	struct lpeer p[MAX_PEERS];
	int cur;
	uint32_t next_id;
};

static struct conf *conf;

/* ---------------------------------------------------- the session model */

static int
same_addr(const struct netaddr *a, const struct netaddr *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

static unsigned
model_count(const struct run *r, const struct netaddr *a)
{
	unsigned n = 0;
	size_t i, k;

	for (i = 0; i < MAX_PEERS; i++)
		for (k = 0; r->p[i].live && k < r->p[i].nsess; k++)
			if (a == NULL || same_addr(&r->p[i].sess[k].addr, a))
				n += r->p[i].sess[k].n;
	return n;
}

static struct count *
model_entry(struct lpeer *lp, const struct netaddr *a, int make)
{
	size_t k;

	for (k = 0; k < lp->nsess; k++)
		if (same_addr(&lp->sess[k].addr, a))
			return &lp->sess[k];
	if (!make)
		return NULL;
	FUZZ_CHECK(
	    lp->nsess < MAX_ADDRS, "more client addresses than %d", MAX_ADDRS);
	lp->sess[lp->nsess].addr = *a;
	lp->sess[lp->nsess].n = 0;
	return &lp->sess[lp->nsess++];
}

/* The releases the lookup process has applied before what comes next. */
static void
apply_releases(struct lpeer *lp)
{
	while (lp->n > 0 && lp->q[lp->head].kind == P_RELEASE) {
		struct count *e = model_entry(lp, &lp->q[lp->head].addr, 0);

		if (e != NULL && e->n > 0)
			e->n--;
		lp->head = (lp->head + 1) % MAX_PEND;
		lp->n--;
	}
}

/* The channel closed: its sessions and requests are gone. */
static void
peer_gone(struct lpeer *lp)
{
	lp->live = 0;
	lp->nsess = 0;
	lp->n = lp->head = 0;
}

/* ------------------------------------------------------------- answers */

static uint16_t
answer_type(uint16_t request)
{
	switch (request) {
	case MSG_ADMIT:
		return MSG_ADMIT_ANS;
	case MSG_RCPT:
	case MSG_VRFY:
		return MSG_LOOKUP_ANS;
	case MSG_RESOLVE:
		return MSG_RESOLVE_ANS;
	}
	return 0;
}

static void
got(void *arg, struct fuzz_peer *fp, struct ipc_msg *m)
{
	struct run *r = arg;
	struct lpeer *lp =
	    (struct lpeer *)((char *)fp - offsetof(struct lpeer, fp));
	struct msg_admit_ans aa;
	enum sessions_verdict want;
	struct pend q;
	unsigned total, client;

	FUZZ_CHECK(m->fd < 0, "a descriptor with message %u", m->type);
	FUZZ_CHECK(
	    msg_check(lp->role, ROLE_LOOKUP, m->type, m->data, m->len) == 0,
	    "message %u to the %s process does not decode there", m->type,
	    proc_role_names[lp->role]);
	if (m->type == MSG_TABLES)
		return; /* after a reload, unasked */
	apply_releases(lp);
	FUZZ_CHECK(lp->n > 0 && lp->q[lp->head].kind == P_REQUEST,
	    "answer %u (type %u) to no request", m->id, m->type);
	q = lp->q[lp->head];
	lp->head = (lp->head + 1) % MAX_PEND;
	lp->n--;
	FUZZ_CHECK(m->id == q.id && m->type == answer_type(q.type),
	    "answer %u of type %u to request %u of type %u", m->id, m->type,
	    q.id, q.type);
	if (m->type != MSG_ADMIT_ANS)
		return;
	FUZZ_CHECK(msg_dec_admit_ans(m->data, m->len, &aa) == 0, "admission");
	total = model_count(r, NULL);
	client = model_count(r, &q.addr);
	want = total >= MAX_TOTAL  ? SESSIONS_BUSY_TOTAL
	    : client >= MAX_CLIENT ? SESSIONS_BUSY_CLIENT
	                           : SESSIONS_OK;
	FUZZ_CHECK(aa.verdict == want,
	    "verdict %d with %u sessions, %u of this client; expected %d",
	    (int)aa.verdict, total, client, (int)want);
	if (aa.verdict == SESSIONS_OK)
		model_entry(lp, &q.addr, 1)->n++;
}

static int
has_bad(const struct lpeer *lp)
{
	size_t i;

	for (i = 0; i < lp->n; i++)
		if (lp->q[(lp->head + i) % MAX_PEND].kind == P_BAD)
			return 1;
	return 0;
}

/*
 * Run the loop until every peer's requests are answered, or the channel
 * that got an invalid message is closed, then apply what releases are
 * left.  The lookup process answers at once: a few rounds are enough.
 */
static void
settle(struct run *r)
{
	int round, i, busy = 1;

	for (round = 0; round < 64 && busy; round++) {
		uv_run(&r->loop, UV_RUN_NOWAIT);
		busy = 0;
		for (i = 0; i < MAX_PEERS; i++) {
			struct lpeer *lp = &r->p[i];

			if (!lp->live)
				continue;
			apply_releases(lp);
			if (lp->fp.ipc == NULL) {
				/* Only an invalid message closes a channel
				 * (answers queued in the same read go with
				 * it). */
				FUZZ_CHECK(has_bad(lp),
				    "the lookup process closed the %s "
				    "channel with %zu valid requests pending",
				    proc_role_names[lp->role], lp->n);
				peer_gone(lp);
			} else if (lp->n > 0) {
				busy = 1;
			}
		}
	}
	for (i = 0; i < MAX_PEERS; i++)
		FUZZ_CHECK(!r->p[i].live || r->p[i].n == 0,
		    "the %s channel: %zu requests unanswered (first of type "
		    "%u, %s)",
		    proc_role_names[r->p[i].role], r->p[i].n,
		    r->p[i].q[r->p[i].head].type,
		    r->p[i].q[r->p[i].head].kind == P_BAD
		        ? "invalid, yet the channel stayed open"
		        : "valid");
}

/* ------------------------------------------------------------ requests */

/* Send a message and remember what the lookup process will make of it. */
static void
send_msg(struct lpeer *lp, uint16_t type, uint32_t id, const void *data,
    size_t len, int with_fd)
{
	struct pend *q;

	if (!lp->live || lp->n == MAX_PEND)
		return;
	q = &lp->q[(lp->head + lp->n++) % MAX_PEND];
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->id = id;
	if (with_fd || msg_check(ROLE_LOOKUP, lp->role, type, data, len) != 0)
		q->kind = P_BAD;
	else
		q->kind = type == MSG_RELEASE ? P_RELEASE : P_REQUEST;
	if (q->kind != P_BAD && (type == MSG_ADMIT || type == MSG_RELEASE))
		msg_dec_netaddr(data, len, &q->addr);
	fuzz_peer_send(&lp->fp, type, id, data, len, with_fd);
}

static void
some_client(struct fuzz_ctl *c, struct netaddr *a)
{
	static const char *const addrs[] = {"192.0.2.1", "192.0.2.2",
	    "192.0.2.3", "192.0.2.9", "2001:db8::1", "127.0.0.1"};

	netaddr_parse(addrs[fuzz_ctl_byte(c) % 6], a);
}

static void
some_word(struct fuzz_ctl *c, char *dst, size_t max, const char *const *dict,
    size_t ndict)
{
	unsigned k = fuzz_ctl_byte(c);

	if (k < 200)
		snprintf(dst, max + 1, "%s", dict[k % ndict]);
	else
		fuzz_ctl_word(c, dst, max);
}

/* A request of the kind the input says, valid or not for this role. */
static void
op_request(struct run *r, struct lpeer *lp, struct fuzz_ctl *c)
{
	static const char *const locals[] = {"alice", "bob", "team", "loop1",
	    "olduser", "info", "postmaster", "nobody", "bob+tag", "x"};
	static const char *const domains[] = {"localhost", "example.org",
	    "virt.example", "remote.example", "catchall.example",
	    "[127.0.0.1]"};
	unsigned kind = fuzz_ctl_byte(c);
	struct msg_rcpt rq;
	struct netaddr a;
	struct buf b;
	char addr[140];

	/* Mostly what the role may send; sometimes what it may not. */
	if (kind < 224)
		kind = lp->role == ROLE_QUEUE ? 4 : kind % 4;
	buf_init(&b, MSG_MAX_LOOKUP);
	switch (kind % 5) {
	case 0:
	case 1:
		some_client(c, &a);
		msg_enc_netaddr(&b, &a);
		send_msg(lp, kind % 5 == 0 ? MSG_ADMIT : MSG_RELEASE,
		    kind % 5 == 0 ? ++r->next_id : 0, b.data, b.len, 0);
		break;
	case 2:
	case 3:
		memset(&rq, 0, sizeof(rq));
		some_client(c, &rq.client);
		some_word(c, rq.local, 64, locals, 10);
		some_word(c, rq.domain, 64, domains, 6);
		msg_enc_rcpt(&b, &rq);
		send_msg(lp, kind % 5 == 2 ? MSG_RCPT : MSG_VRFY, ++r->next_id,
		    b.data, b.len, 0);
		break;
	case 4:
		some_word(c, rq.local, 64, locals, 10);
		some_word(c, rq.domain, 64, domains, 6);
		snprintf(addr, sizeof(addr), "%s@%s", rq.local, rq.domain);
		msg_enc_text(&b, addr);
		send_msg(lp, MSG_RESOLVE, ++r->next_id, b.data, b.len, 0);
		break;
	}
	buf_free(&b);
}

/* Anything: a type from the input, its payload, maybe a descriptor. */
static void
op_message(struct run *r, struct lpeer *lp, struct fuzz_ctl *c)
{
	static const uint16_t types[] = {MSG_ADMIT, MSG_RELEASE, MSG_RCPT,
	    MSG_VRFY, MSG_RESOLVE, MSG_TABLES, MSG_ADMIT_ANS, MSG_CONF};
	unsigned t = fuzz_ctl_byte(c), hi, lo;
	unsigned char data[256];
	uint16_t type;
	size_t n, i;
	int with_fd;

	if (t < 200) {
		type = types[t % 8];
	} else {
		hi = fuzz_ctl_byte(c);
		lo = fuzz_ctl_byte(c);
		type = (uint16_t)(hi << 8 | lo);
	}
	n = fuzz_ctl_byte(c);
	for (i = 0; i < n; i++)
		data[i] = (unsigned char)fuzz_ctl_byte(c);
	with_fd = fuzz_ctl_byte(c) % 8 == 0;
	send_msg(lp, type, ++r->next_id, data, n, with_fd);
}

/* A header that lies: over the size limit, or with flags nobody sets. */
static void
op_lie(struct lpeer *lp, struct fuzz_ctl *c)
{
	unsigned char h[IPC_HEADER + 4];
	uint32_t len = 4;

	if (!lp->live || lp->n == MAX_PEND)
		return;
	memset(h, 0, sizeof(h));
	if (fuzz_ctl_byte(c) & 1)
		len = (uint32_t)MSG_MAX_LOOKUP + 1 + fuzz_ctl_byte(c);
	else
		h[7] = (unsigned char)(1 + fuzz_ctl_byte(c) % 255);
	h[0] = (unsigned char)len;
	h[1] = (unsigned char)(len >> 8);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 24);
	h[4] = MSG_ADMIT;
	lp->q[(lp->head + lp->n++) % MAX_PEND] =
	    (struct pend){.kind = P_BAD, .type = MSG_ADMIT};
	fuzz_peer_raw(&lp->fp, h, sizeof(h));
}

/* A new channel from a process of that role, in a free slot. */
static void
open_peer(struct run *r, enum proc_role role)
{
	int i, theirs;

	for (i = 0; i < MAX_PEERS; i++)
		if (!r->p[i].live)
			break;
	if (i == MAX_PEERS)
		return;
	fuzz_peer_close(&r->p[i].fp);
	peer_gone(&r->p[i]);
	r->p[i].role = role;
	r->p[i].live = 1;
	theirs = fuzz_peer_open(
	    &r->p[i].fp, &r->loop, msg_channel_max(role, ROLE_LOOKUP), got, r);
	role_lookup_peer(r->lk, role, theirs);
	r->cur = i;
}

/* ---------------------------------------------------------------- main */

static void
write_table(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) < 0 ||
	    fclose(fp) != 0)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/tern-fuzz-lookup-XXXXXX";
	char text[2048], err[512];

	(void)argc;
	(void)argv;
	/* Rejected requests are logged: run.sh runs this target "quiet". */
	log_init("fuzz", 0, 0);
	fuzz_peer_init();
	if (mkdtemp(dir) == NULL)
		abort();
	write_table(dir, "aliases",
	    "team alice, bob, carol@remote.example\nloop1 loop2\n"
	    "loop2 loop1\npostmaster alice\n");
	write_table(dir, "virtual",
	    "info@virt.example virt/info\n@catchall.example /srv/catchall/\n");
	write_table(dir, "relocated", "olduser@localhost new@new.example\n");
	write_table(dir, "local", "alice x\nbob x\n");
	write_table(dir, "access",
	    "192.0.2.1 reject Go away\n192.0.2.2 relay\n"
	    "192.0.2.3 defer_rcpt Later\n192.0.2.9 reject_rcpt\n");
	snprintf(text, sizeof(text),
	    "myhostname = mx.example.org\n"
	    "mydestination = localhost, example.org\n"
	    "mail_directory = %s/mail\n"
	    "max_sessions = %d\nmax_sessions_per_client = %d\n"
	    "alias_maps = %s/aliases\nvirtual_mailbox_maps = %s/virtual\n"
	    "relocated_maps = %s/relocated\nlocal_recipient_maps = %s/local\n"
	    "client_access_maps = %s/access\n",
	    dir, MAX_TOTAL, MAX_CLIENT, dir, dir, dir, dir, dir);
	if ((conf = conf_load_text(text, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_role_lookup: %s\n", err);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct fuzz_ctl c;
	char err[512];
	int fds_before = fuzz_open_fds(), ops, i, k;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < MAX_PEERS; i++)
		r.p[i].fp.fd = -1;
	fuzz_ctl_init(&c, data, size);
	if (uv_loop_init(&r.loop) != 0)
		abort();
	if ((r.lk = role_lookup_new(&r.loop, conf, err, sizeof(err))) == NULL)
		abort();
	/* Two smtp processes and the queue, as the parent would wire them. */
	open_peer(&r, ROLE_SMTP);
	open_peer(&r, ROLE_SMTP);
	open_peer(&r, ROLE_QUEUE);
	r.cur = 0;
	for (ops = 0; ops < MAX_OPS && c.off < c.n; ops++) {
		struct lpeer *lp = &r.p[r.cur];

		switch (fuzz_ctl_byte(&c) % OP_COUNT) {
		case OP_REQUEST:
			op_request(&r, lp, &c);
			break;
		case OP_BATCH:
			k = 1 + fuzz_ctl_byte(&c) % 8;
			while (k-- > 0)
				op_request(&r, lp, &c);
			break;
		case OP_MESSAGE:
			op_message(&r, lp, &c);
			break;
		case OP_LIE:
			op_lie(lp, &c);
			break;
		case OP_OPEN:
			open_peer(&r,
			    fuzz_ctl_byte(&c) % 3 == 2 ? ROLE_QUEUE
			                               : ROLE_SMTP);
			break;
		case OP_CLOSE:
			if (lp->live) {
				fuzz_peer_close(&lp->fp);
				peer_gone(lp);
				/* It sees the end of the stream at once. */
				fuzz_run(&r.loop, 4);
			}
			break;
		case OP_SWITCH:
			r.cur = (int)(fuzz_ctl_byte(&c) % MAX_PEERS);
			break;
		case OP_RELOAD:
			role_lookup_reload(r.lk, conf);
			break;
		}
		settle(&r);
	}
	role_lookup_free(r.lk);
	for (i = 0; i < MAX_PEERS; i++)
		fuzz_peer_close(&r.p[i].fp);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	FUZZ_CHECK(uv_loop_close(&r.loop) == 0, "handles left open");
	FUZZ_CHECK(fuzz_open_fds() == fds_before,
	    "%d descriptors open after the run, %d before", fuzz_open_fds(),
	    fds_before);
	return 0;
}
