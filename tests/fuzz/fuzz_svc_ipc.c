/*
 * fuzz_svc_ipc - the answer handler of svc_ipc (svc_ipc.h), fed sequences
 * of messages by peers the fuzzer plays (fuzz_peer.h): the smtp process
 * towards the lookup and queue processes, or the queue process towards
 * the lookup and local processes.  Answers to pending requests, answers
 * with wrong ids or types, duplicates, truncated payloads, descriptors
 * where none belong, unasked notices, raw octets, channels closed and
 * replaced, all over real socketpairs and an event loop.
 *
 * Input: the first byte picks the process (even: smtp, odd: queue); the
 * rest is a script, each operation a byte (OP_*) and its operands.
 *
 * Checked: every request's callback runs exactly once (at the latest when
 * svc_ipc_free fails what is outstanding), with a sane answer; whatever
 * svc_ipc sends is a message its peer may receive, and decodes there;
 * every descriptor is closed in the end; and ASan/UBSan see no leak or
 * misuse.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../../src/common/ipc.h"
#include "../../src/common/log.h"
#include "../../src/common/wire.h"
#include "../../src/proc/msg.h"
#include "../../src/proc/svc_ipc.h"
#include "fuzz_peer.h"
#include "fuzz_util.h"

#define MAX_OPS 200
#define MAX_REQ 256
#define MAX_SEEN 32

enum {
	OP_REQUEST,
	OP_ANSWER,
	OP_MESSAGE,
	OP_NOTICE,
	OP_CLOSE,
	OP_RECONNECT,
	OP_RUN,
	OP_SWITCH,
	OP_OCTETS,
	OP_COUNT
};

struct run;

struct req {
	struct run *run;
	int done;
};

/* A request svc_ipc sent to a peer, not yet answered by the script. */
struct seen {
	uint16_t type;
	uint32_t id;
};

struct side {
	enum proc_role role; /* the process the fuzzer plays */
	struct fuzz_peer fp;
	struct seen seen[MAX_SEEN];
	size_t nseen;
};

struct run {
	uv_loop_t loop;
	enum proc_role self;
	struct svc_ipc *sv;
	struct smtp_services smtp;
	struct sched_services sched;
	struct side side[2];
	int cur;
	struct req req[MAX_REQ];
	size_t nreq;
	int src_fd;
	unsigned lost;
	char open_id[SPOOL_ID_LEN + 1]; /* the last message opened */
	int throttled;
};

/* ------------------------------------------------------------ callbacks */

static struct req *
req_new(struct run *r)
{
	struct req *q = &r->req[r->nreq++];

	q->run = r;
	q->done = 0;
	return q;
}

static void
req_done(struct req *q)
{
	FUZZ_CHECK(!q->done, "the callback of request %zu ran twice",
	    (size_t)(q - q->run->req));
	q->done = 1;
}

static void
cb_admit(void *arg, const struct svc_admission *a)
{
	req_done(arg);
	FUZZ_CHECK(
	    a->verdict <= SESSIONS_UNAVAILABLE, "verdict %d", (int)a->verdict);
	FUZZ_CHECK(a->client.access <= LOOKUP_ACCESS_BROKEN, "access %d",
	    (int)a->client.access);
}

static void
cb_lookup(void *arg, struct lookup_reply *lr)
{
	req_done(arg);
	FUZZ_CHECK(
	    lr->verdict <= LOOKUP_V_LAST, "verdict %d", (int)lr->verdict);
	FUZZ_CHECK(lr->nfinal == 0 || lr->verdict == LOOKUP_V_ACCEPT ||
	        lr->verdict == LOOKUP_V_FORWARD,
	    "%zu addresses with verdict %d", lr->nfinal, (int)lr->verdict);
	FUZZ_CHECK(strpbrk(lr->arg, "\r\n") == NULL, "CR or LF in a reply");
}

static void
cb_open(void *arg, const char *id)
{
	struct req *q = arg;

	req_done(q);
	FUZZ_CHECK(id == NULL || spool_id_ok(id), "queue ID %s", id);
	if (id != NULL)
		snprintf(q->run->open_id, sizeof(q->run->open_id), "%s", id);
}

static void
resumed(void *arg)
{
	struct run *r = arg;

	FUZZ_CHECK(r->throttled, "resumed without being throttled");
	r->throttled = 0;
}

static void
cb_status(void *arg, int status)
{
	req_done(arg);
	FUZZ_CHECK(status >= -2 && status <= 0, "status %d", status);
}

static void
cb_count(void *arg, uint64_t n)
{
	req_done(arg);
	(void)n;
}

static void
cb_resolve(void *arg, const struct lookup_dest *d)
{
	req_done(arg);
	FUZZ_CHECK(d->type <= LOOKUP_DEST_TEMPFAIL, "destination type %d",
	    (int)d->type);
	FUZZ_CHECK(d->type != LOOKUP_DEST_MAILDIR || msg_path_ok(d->path),
	    "unsafe Maildir path %s", d->path);
}

static void
cb_deliver(void *arg, const struct maildir_delivery *md)
{
	req_done(arg);
	FUZZ_CHECK(md->status <= MAILDIR_NOT_TRIED, "delivery status %d",
	    (int)md->status);
}

static void
cb_lost(void *arg, enum proc_role role)
{
	struct run *r = arg;

	FUZZ_CHECK(role == r->side[0].role || role == r->side[1].role,
	    "lost a %s channel it never had", proc_role_names[role]);
	r->lost++;
}

/* ---------------------------------------------------------------- peers */

/*
 * svc_ipc sent a peer something: a message that peer may receive, which
 * decodes there; what carries an id is a request to answer.
 */
static void
peer_got(struct run *r, struct side *s, struct ipc_msg *m)
{
	FUZZ_CHECK(msg_check(s->role, r->self, m->type, m->data, m->len) == 0,
	    "the %s process sent the %s process message %u, which does not "
	    "decode there",
	    proc_role_names[r->self], proc_role_names[s->role], m->type);
	FUZZ_CHECK((m->type == MSG_DELIVER) == (m->fd >= 0),
	    "message %u %s a descriptor", m->type,
	    m->fd >= 0 ? "with" : "without");
	if (m->id != 0 && s->nseen < MAX_SEEN) {
		s->seen[s->nseen].type = m->type;
		s->seen[s->nseen].id = m->id;
		s->nseen++;
	}
}

static void
side0_got(void *arg, struct fuzz_peer *fp, struct ipc_msg *m)
{
	(void)fp;
	peer_got(arg, &((struct run *)arg)->side[0], m);
}

static void
side1_got(void *arg, struct fuzz_peer *fp, struct ipc_msg *m)
{
	(void)fp;
	peer_got(arg, &((struct run *)arg)->side[1], m);
}

static void
connect_side(struct run *r, int i)
{
	struct side *s = &r->side[i];
	int theirs;

	fuzz_peer_close(&s->fp);
	s->nseen = 0;
	theirs =
	    fuzz_peer_open(&s->fp, &r->loop, msg_channel_max(r->self, s->role),
	        i == 0 ? side0_got : side1_got, r);
	svc_ipc_set_peer(r->sv, s->role, theirs);
}

/* ------------------------------------------------------------- requests */

static const struct netaddr *
some_client(struct fuzz_ctl *c)
{
	static struct netaddr a[4];
	static int ready;

	if (!ready) {
		netaddr_parse("192.0.2.1", &a[0]);
		netaddr_parse("192.0.2.2", &a[1]);
		netaddr_parse("2001:db8::1", &a[2]);
		netaddr_parse("127.0.0.1", &a[3]);
		ready = 1;
	}
	return &a[fuzz_ctl_byte(c) % 4];
}

/* What the sessions and the scheduler ask; their arguments are what the
 * callers would have checked already. */
static void
op_request(struct run *r, struct fuzz_ctl *c)
{
	char local[65], domain[65], addr[140];
	unsigned kind = fuzz_ctl_byte(c);

	if (r->nreq >= MAX_REQ)
		return;
	if (r->self == ROLE_SMTP) {
		void *ctx = r->smtp.ctx;

		switch (kind % 11) {
		case 0:
			r->smtp.ops->admit(
			    ctx, some_client(c), cb_admit, req_new(r));
			break;
		case 1:
			r->smtp.ops->release(ctx, some_client(c));
			break;
		case 2:
		case 3:
			if (fuzz_ctl_word(c, local, 64) == 0)
				snprintf(local, sizeof(local), "bob");
			fuzz_ctl_word(c, domain, 64);
			if (kind % 11 == 2)
				r->smtp.ops->rcpt(ctx, some_client(c), local,
				    domain, kind & 1, cb_lookup, req_new(r));
			else
				r->smtp.ops->vrfy(
				    ctx, local, domain, cb_lookup, req_new(r));
			break;
		case 4:
			r->smtp.ops->room(
			    ctx, fuzz_ctl_u32(c), cb_status, req_new(r));
			break;
		case 5:
			r->smtp.ops->queued(ctx, cb_count, req_new(r));
			break;
		case 6:
			r->smtp.ops->abort(ctx,
			    fuzz_ctl_byte(c) & 1 ? r->open_id
			                         : "1K1C0B02NR8000");
			break;
		case 7:
			r->smtp.ops->open(ctx, cb_open, req_new(r));
			break;
		case 8: {
			char text[64];
			size_t n = fuzz_ctl_word(c, text, 63);

			if (r->open_id[0] != '\0')
				(void)r->smtp.ops->write(
				    ctx, r->open_id, text, n);
			break;
		}
		case 9: {
			struct envelope env;

			if (r->open_id[0] == '\0')
				break;
			envelope_init(&env);
			envelope_set(&env.sender, "s@example.org");
			envelope_add_rcpt(
			    &env, "bob@example.org", NULL, NULL, 0);
			r->smtp.ops->commit(ctx, r->open_id, &env,
			    fuzz_ctl_byte(c), cb_status, req_new(r));
			envelope_free(&env);
			break;
		}
		case 10:
			if (!r->throttled &&
			    r->smtp.ops->throttle(ctx, resumed, r) == 1)
				r->throttled = 1;
			break;
		}
		return;
	}
	switch (kind % 3) {
	case 0:
		if (fuzz_ctl_word(c, local, 64) == 0)
			snprintf(local, sizeof(local), "bob");
		fuzz_ctl_word(c, domain, 64);
		snprintf(addr, sizeof(addr), "%s@%s", local, domain);
		r->sched.ops->resolve(
		    r->sched.ctx, addr, cb_resolve, req_new(r));
		break;
	case 1: {
		struct local_req lq = {r->src_fd, SPOOL_DATA_OFFSET,
		    fuzz_ctl_u32(c), "/tmp/fuzz/box", "s@example.org",
		    "bob@example.org", "fuzz.1", (int)(fuzz_ctl_byte(c) & 1)};

		r->sched.ops->deliver(
		    r->sched.ctx, &lq, cb_deliver, req_new(r));
		break;
	}
	case 2:
		(void)r->sched.ops->ready(r->sched.ctx);
		break;
	}
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
	case MSG_ROOM:
		return MSG_ROOM_ANS;
	case MSG_OPEN:
		return MSG_OPEN_ANS;
	case MSG_COMMIT:
		return MSG_COMMIT_ANS;
	case MSG_QUEUED:
		return MSG_QUEUED_ANS;
	case MSG_RESOLVE:
		return MSG_RESOLVE_ANS;
	case MSG_DELIVER:
		return MSG_DELIVER_ANS;
	}
	return 0;
}

static const uint16_t answer_types[] = {MSG_ADMIT_ANS, MSG_LOOKUP_ANS,
    MSG_TABLES, MSG_RESOLVE_ANS, MSG_ROOM_ANS, MSG_OPEN_ANS, MSG_COMMIT_ANS,
    MSG_QUEUED_ANS, MSG_SPACE, MSG_DELIVER_ANS};

/* A valid payload of an answer of this type, from the input. */
static void
build_answer(uint16_t type, struct fuzz_ctl *c, struct buf *b)
{
	struct msg_admit_ans aa;
	struct lookup_reply lr;
	struct lookup_dest d;
	struct msg_deliver_ans da;
	char *finals[3] = {
	    "alice@example.org", "bob@example.org", "carol@remote.example"};
	unsigned v;

	switch (type) {
	case MSG_ADMIT_ANS:
		memset(&aa, 0, sizeof(aa));
		aa.verdict = (enum sessions_verdict)(fuzz_ctl_byte(c) % 3);
		aa.client.access = (enum lookup_access)(
		    fuzz_ctl_byte(c) % (LOOKUP_ACCESS_BROKEN + 1));
		aa.client.may_relay = fuzz_ctl_byte(c) & 1;
		fuzz_ctl_word(c, aa.client.text, 40);
		msg_enc_admit_ans(b, &aa);
		break;
	case MSG_LOOKUP_ANS:
		/* What each verdict carries (msg_dec_lookup_ans). */
		memset(&lr, 0, sizeof(lr));
		lr.verdict = (enum lookup_verdict)(
		    fuzz_ctl_byte(c) % (LOOKUP_V_LAST + 1));
		lr.final = finals;
		switch (lr.verdict) {
		case LOOKUP_V_ACCEPT:
			lr.nfinal = 1 + fuzz_ctl_byte(c) % 3;
			break;
		case LOOKUP_V_FORWARD:
			snprintf(lr.arg, sizeof(lr.arg), "%s", finals[0]);
			lr.nfinal = 1;
			break;
		case LOOKUP_V_RELOCATED:
			if (fuzz_ctl_byte(c) & 1)
				snprintf(
				    lr.arg, sizeof(lr.arg), "%s", finals[2]);
			break;
		case LOOKUP_V_UNKNOWN_USER:
			lr.table = fuzz_ctl_byte(c) & 1 ? LOOKUP_T_LOCAL
			                                : LOOKUP_T_VIRTUAL;
			break;
		case LOOKUP_V_ACCESS_REJECT:
		case LOOKUP_V_ACCESS_DEFER:
			fuzz_ctl_word(c, lr.arg, 60);
			break;
		default:
			break;
		}
		msg_enc_lookup_ans(b, &lr);
		break;
	case MSG_ROOM_ANS:
		wire_put_u8(b, fuzz_ctl_byte(c) & 1);
		break;
	case MSG_COMMIT_ANS:
		wire_put_u8(b, (uint8_t)(fuzz_ctl_byte(c) % 3));
		break;
	case MSG_OPEN_ANS:
		v = fuzz_ctl_byte(c) & 1;
		msg_enc_id(b, (uint8_t)v, v ? "1K1C0B02NR8000" : "");
		break;
	case MSG_QUEUED_ANS:
	case MSG_SPACE:
		wire_put_u64(b, (uint64_t)fuzz_ctl_u32(c) << 8);
		break;
	case MSG_RESOLVE_ANS:
		memset(&d, 0, sizeof(d));
		d.type = (enum lookup_dest_type)(
		    fuzz_ctl_byte(c) % (LOOKUP_DEST_TEMPFAIL + 1));
		if (d.type == LOOKUP_DEST_MAILDIR)
			snprintf(d.path, sizeof(d.path), "/tmp/fuzz/box%u",
			    fuzz_ctl_byte(c));
		fuzz_ctl_word(c, d.error, 40);
		msg_enc_resolve_ans(b, &d);
		break;
	case MSG_DELIVER_ANS:
		memset(&da, 0, sizeof(da));
		da.status = (int)(fuzz_ctl_byte(c) % 3);
		snprintf(da.dsn, sizeof(da.dsn), "%s",
		    da.status == 0       ? "2.0.0"
		        : da.status == 1 ? "4.2.2"
		                         : "5.1.1");
		da.found_copy = fuzz_ctl_byte(c) & 1;
		fuzz_ctl_word(c, da.error, 40);
		msg_enc_deliver_ans(b, &da);
		break;
	case MSG_TABLES:
		break;
	}
}

/*
 * Answer one of the requests the current peer got: as expected, or with
 * a wrong id, a wrong type, a descriptor, one octet short, or twice.
 */
static void
op_answer(struct run *r, struct fuzz_ctl *c)
{
	struct side *s = &r->side[r->cur];
	unsigned pick = fuzz_ctl_byte(c), how = fuzz_ctl_byte(c) % 8;
	struct seen q;
	uint16_t type;
	struct buf b;

	if (s->nseen == 0)
		return;
	q = s->seen[pick % s->nseen];
	s->seen[pick % s->nseen] = s->seen[--s->nseen];
	type = answer_type(q.type);
	if (how == 4)
		type = answer_types[fuzz_ctl_byte(c) %
		    (sizeof(answer_types) / sizeof(answer_types[0]))];
	buf_init(&b, MSG_MAX_LOOKUP);
	build_answer(type, c, &b);
	if (how == 6 && b.len > 0)
		b.len--;
	fuzz_peer_send(
	    &s->fp, type, how == 3 ? q.id + 1 : q.id, b.data, b.len, how == 5);
	if (how == 7)
		fuzz_peer_send(&s->fp, type, q.id, b.data, b.len, 0);
	buf_free(&b);
}

/* Anything at all, with an id pending or not, maybe with a descriptor. */
static void
op_message(struct run *r, struct fuzz_ctl *c)
{
	struct side *s = &r->side[r->cur];
	unsigned t = fuzz_ctl_byte(c), hi, lo;
	uint16_t type;
	uint32_t id;
	unsigned char data[256];
	size_t n, i;
	int with_fd;

	if (t < 200) {
		type = answer_types[t %
		    (sizeof(answer_types) / sizeof(answer_types[0]))];
	} else {
		hi = fuzz_ctl_byte(c);
		lo = fuzz_ctl_byte(c);
		type = (uint16_t)(hi << 8 | lo);
	}
	if (fuzz_ctl_byte(c) < 128 && s->nseen > 0)
		id = s->seen[fuzz_ctl_byte(c) % s->nseen].id;
	else
		id = fuzz_ctl_u32(c);
	n = fuzz_ctl_byte(c);
	with_fd = fuzz_ctl_byte(c) & 1;

	for (i = 0; i < n; i++)
		data[i] = (unsigned char)fuzz_ctl_byte(c);
	fuzz_peer_send(&s->fp, type, id, data, n, with_fd);
}

/* What the queue and the lookup process say unasked. */
static void
op_notice(struct run *r, struct fuzz_ctl *c)
{
	struct side *s = &r->side[r->cur];
	struct buf b;
	unsigned how = fuzz_ctl_byte(c);

	buf_init(&b, 64);
	if (how & 1) {
		build_answer(MSG_SPACE, c, &b);
		fuzz_peer_send(&s->fp, MSG_SPACE, 0, b.data, b.len, how & 2);
	} else {
		fuzz_peer_send(&s->fp, MSG_TABLES, 0, NULL, 0, how & 2);
	}
	buf_free(&b);
}

/* Octets that are no message: a header cut short, or one that lies. */
static void
op_octets(struct run *r, struct fuzz_ctl *c)
{
	unsigned char data[64];
	size_t n = fuzz_ctl_byte(c) % sizeof(data), i;

	for (i = 0; i < n; i++)
		data[i] = (unsigned char)fuzz_ctl_byte(c);
	fuzz_peer_raw(&r->side[r->cur].fp, data, n);
}

/* ---------------------------------------------------------------- main */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Rejected answers are logged: run.sh runs this target "quiet". */
	log_init("fuzz", 0, 0);
	fuzz_peer_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct fuzz_ctl c;
	int fds_before = fuzz_open_fds(), ops;
	size_t i;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.self = data[0] & 1 ? ROLE_QUEUE : ROLE_SMTP;
	r.side[0].role = ROLE_LOOKUP;
	r.side[1].role = r.self == ROLE_SMTP ? ROLE_QUEUE : ROLE_LOCAL;
	fuzz_ctl_init(&c, data + 1, size - 1);
	if (uv_loop_init(&r.loop) != 0)
		abort();
	if ((r.src_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		abort();
	r.sv = svc_ipc_new(&r.loop, r.self);
	svc_ipc_on_lost(r.sv, cb_lost, &r);
	svc_ipc_smtp_services(r.sv, &r.smtp);
	svc_ipc_sched_services(r.sv, &r.sched);
	r.side[0].fp.ipc = r.side[1].fp.ipc = NULL;
	connect_side(&r, 0);
	connect_side(&r, 1);
	for (ops = 0; ops < MAX_OPS && c.off < c.n; ops++) {
		switch (fuzz_ctl_byte(&c) % OP_COUNT) {
		case OP_REQUEST:
			op_request(&r, &c);
			break;
		case OP_ANSWER:
			op_answer(&r, &c);
			break;
		case OP_MESSAGE:
			op_message(&r, &c);
			break;
		case OP_NOTICE:
			op_notice(&r, &c);
			break;
		case OP_CLOSE:
			fuzz_peer_close(&r.side[r.cur].fp);
			r.side[r.cur].nseen = 0;
			break;
		case OP_RECONNECT:
			connect_side(&r, r.cur);
			break;
		case OP_RUN:
			fuzz_run(&r.loop, 1 + fuzz_ctl_byte(&c) % 8);
			break;
		case OP_SWITCH:
			r.cur = !r.cur;
			break;
		case OP_OCTETS:
			op_octets(&r, &c);
			break;
		}
	}
	fuzz_run(&r.loop, 8);
	/* What is still outstanding fails now: every callback has run. */
	svc_ipc_free(r.sv);
	for (i = 0; i < r.nreq; i++)
		FUZZ_CHECK(r.req[i].done, "request %zu of %zu never answered",
		    i, r.nreq);
	fuzz_peer_close(&r.side[0].fp);
	fuzz_peer_close(&r.side[1].fp);
	close(r.src_fd);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	FUZZ_CHECK(uv_loop_close(&r.loop) == 0, "handles left open");
	FUZZ_CHECK(fuzz_open_fds() == fds_before,
	    "%d descriptors open after the run, %d before", fuzz_open_fds(),
	    fds_before);
	return 0;
}
