/*
 * svc_ipc - the services of svc.h asked of the lookup and queue
 * processes over IPC: requests carry an ID, answers are matched to
 * their pending request, and a lost peer fails what it held.
 */
#include "svc_ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/xmem.h"
#include "acache.h"

#define BUCKETS 1024

/* A request waiting for its answer. */
struct pending {
	uint32_t id;
	enum proc_role to;
	uint16_t answer; /* the message type expected back */
	union {
		svc_admit_cb admit;
		svc_lookup_cb lookup;
		svc_status_cb status;
		svc_open_cb open;
		svc_count_cb count;
		sched_resolve_cb resolve;
		local_cb deliver;
	} cb;
	void *arg;
	int uncached; /* ask even if the cache has an answer */
	void *key;    /* the request, for the cache (cacheable types only) */
	size_t keylen;
	struct pending *next;
};

/*
 * Message text waiting to be read by the queue, at most: past HIGH,
 * sessions stop reading from their clients until it is down to LOW.
 */
#define TEXT_HIGH (4u * 1024 * 1024)
#define TEXT_LOW (1u * 1024 * 1024)

/* A session waiting for the queue to catch up. */
struct resume {
	void (*cb)(void *arg);
	void *arg;
	struct resume *next;
};

struct svc_ipc {
	uv_loop_t *loop;
	enum proc_role self;
	struct ipc *peer[ROLE_COUNT];
	struct pending *b[BUCKETS];
	uint32_t next_id;
	unsigned outstanding;
	uint64_t room; /* the queue's queue_room(), 0 until it says */
	int room_known;
	struct acache *cache; /* answers that hold until the next reload */
	struct resume *resume_head, **resume_tail;
	void (*lost)(void *arg, enum proc_role role);
	void *lost_arg;
};

static void resume_all(void *arg);

/* Answer a request as if its peer had said "not now". */
static void
fail_pending(struct pending *p)
{
	struct svc_admission adm;
	struct lookup_reply lr;
	struct lookup_dest dest;
	struct maildir_delivery md;

	switch (p->answer) {
	case MSG_ADMIT_ANS:
		memset(&adm, 0, sizeof(adm));
		adm.verdict = SESSIONS_UNAVAILABLE;
		p->cb.admit(p->arg, &adm);
		break;
	case MSG_LOOKUP_ANS:
		memset(&lr, 0, sizeof(lr));
		lr.verdict = LOOKUP_V_TEMPFAIL;
		p->cb.lookup(p->arg, &lr);
		break;
	case MSG_ROOM_ANS:
		p->cb.status(p->arg, -2);
		break;
	case MSG_COMMIT_ANS:
		p->cb.status(p->arg, SVC_FAILED);
		break;
	case MSG_OPEN_ANS:
		p->cb.open(p->arg, NULL);
		break;
	case MSG_QUEUED_ANS:
		p->cb.count(p->arg, 0);
		break;
	case MSG_RESOLVE_ANS:
		memset(&dest, 0, sizeof(dest));
		dest.type = LOOKUP_DEST_TEMPFAIL;
		snprintf(dest.error, sizeof(dest.error),
		    "lookup service unavailable");
		p->cb.resolve(p->arg, &dest);
		break;
	case MSG_DELIVER_ANS:
		memset(&md, 0, sizeof(md));
		md.status = MAILDIR_NOT_TRIED;
		snprintf(md.dsn, sizeof(md.dsn), "4.3.0");
		snprintf(md.error, sizeof(md.error),
		    "local delivery agent unavailable");
		p->cb.deliver(p->arg, &md);
		break;
	default:
		panic("svc_ipc: pending request of unknown kind %u", p->answer);
	}
}

static void
free_pending(struct pending *p)
{
	free(p->key);
	free(p);
}

static struct pending *
take(struct svc_ipc *sv, uint32_t id)
{
	struct pending **pp = &sv->b[id % BUCKETS], *p;

	for (; (p = *pp) != NULL; pp = &p->next)
		if (p->id == id) {
			*pp = p->next;
			sv->outstanding--;
			return p;
		}
	return NULL;
}

/* Fail every request sent to role (its channel is gone). */
static void
fail_role(struct svc_ipc *sv, enum proc_role role)
{
	struct pending *failed = NULL, *p;
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		struct pending **pp = &sv->b[i];

		while ((p = *pp) != NULL) {
			if (p->to == role) {
				*pp = p->next;
				sv->outstanding--;
				p->next = failed;
				failed = p;
			} else {
				pp = &p->next;
			}
		}
	}
	/* Callbacks may send new requests: call them after the sweep. */
	while ((p = failed) != NULL) {
		failed = p->next;
		fail_pending(p);
		free_pending(p);
	}
}

static enum proc_role
role_of(struct svc_ipc *sv, const struct ipc *ipc)
{
	int r;

	for (r = 0; r < ROLE_COUNT; r++)
		if (sv->peer[r] == ipc)
			return (enum proc_role)r;
	return ROLE_COUNT;
}

static void
peer_closed(void *arg, struct ipc *ipc)
{
	struct svc_ipc *sv = arg;
	enum proc_role role = role_of(sv, ipc);

	if (role == ROLE_COUNT)
		return;
	log_warnx("%s: lost the %s process; requests to it fail until it is "
	          "back",
	    proc_role_names[sv->self], proc_role_names[role]);
	sv->peer[role] = NULL;
	if (role == ROLE_QUEUE)
		resume_all(sv);
	fail_role(sv, role);
	if (sv->lost)
		sv->lost(sv->lost_arg, role);
}

/* A peer broke the protocol: drop it (and ask the parent for a new
 * channel). */
static void
reject(
    struct svc_ipc *sv, struct ipc *ipc, enum proc_role role, const char *what)
{
	log_warnx("%s: invalid %s from the %s process; closing the channel",
	    proc_role_names[sv->self], what, proc_role_names[role]);
	sv->peer[role] = NULL;
	ipc_close(ipc);
	if (role == ROLE_QUEUE)
		resume_all(sv);
	fail_role(sv, role);
	if (sv->lost)
		sv->lost(sv->lost_arg, role);
}

/* Is this answer one that holds until the next reload? */
static int
cacheable(uint16_t type, const void *data, size_t len)
{
	struct lookup_reply lr;
	struct lookup_dest dest;
	int ok = 0;

	switch (type) {
	case MSG_LOOKUP_ANS:
		/* A temporary failure is not a verdict on the recipient. */
		if (msg_dec_lookup_ans(data, len, &lr) == 0) {
			ok = !lookup_verdict_temporary(lr.verdict);
			lookup_reply_free(&lr);
		}
		return ok;
	case MSG_RESOLVE_ANS:
		return msg_dec_resolve_ans(data, len, &dest) == 0 &&
		    dest.type != LOOKUP_DEST_TEMPFAIL;
	}
	return 0;
}

/*
 * Decode an answer and hand it to the request's callback.  -1 when the
 * payload is not a valid answer of that type (the callback has not run).
 */
static int
answer_with(
    struct pending *p, uint16_t type, const void *data, size_t len, int fd)
{
	struct svc_admission adm;
	struct msg_admit_ans aa;
	struct lookup_reply lr;
	struct lookup_dest dest;
	struct msg_deliver_ans da;
	struct maildir_delivery md;
	char id[SPOOL_ID_LEN + 1];
	uint64_t v64;
	uint8_t v8;

	switch (type) {
	case MSG_ADMIT_ANS:
		if (msg_dec_admit_ans(data, len, &aa) < 0)
			return -1;
		adm.verdict = aa.verdict;
		adm.client = aa.client;
		p->cb.admit(p->arg, &adm);
		return 0;
	case MSG_LOOKUP_ANS:
		if (msg_dec_lookup_ans(data, len, &lr) < 0)
			return -1;
		p->cb.lookup(p->arg, &lr);
		lookup_reply_free(&lr);
		return 0;
	case MSG_ROOM_ANS:
		if (msg_dec_u8(data, len, &v8) < 0 || v8 > 1)
			return -1;
		p->cb.status(p->arg, v8 ? 0 : -1);
		return 0;
	case MSG_COMMIT_ANS:
		if (msg_dec_u8(data, len, &v8) < 0 || v8 > MSG_COMMIT_NO_ROOM)
			return -1;
		p->cb.status(p->arg,
		    v8 == MSG_COMMIT_OK            ? 0
		        : v8 == MSG_COMMIT_NO_ROOM ? SVC_NO_ROOM
		                                   : SVC_FAILED);
		return 0;
	case MSG_OPEN_ANS:
		if (msg_dec_id(data, len, &v8, id) < 0 || fd >= 0)
			return -1;
		p->cb.open(p->arg, v8 ? id : NULL);
		return 0;
	case MSG_QUEUED_ANS:
		if (msg_dec_u64(data, len, &v64) < 0)
			return -1;
		p->cb.count(p->arg, v64);
		return 0;
	case MSG_RESOLVE_ANS:
		if (msg_dec_resolve_ans(data, len, &dest) < 0)
			return -1;
		p->cb.resolve(p->arg, &dest);
		return 0;
	case MSG_DELIVER_ANS:
		if (msg_dec_deliver_ans(data, len, &da) < 0)
			return -1;
		memset(&md, 0, sizeof(md));
		md.status = (enum maildir_status)da.status;
		md.found_copy = da.found_copy;
		snprintf(md.dsn, sizeof(md.dsn), "%s", da.dsn);
		snprintf(md.error, sizeof(md.error), "%s", da.error);
		p->cb.deliver(p->arg, &md);
		return 0;
	}
	return -1;
}

static void
on_answer(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct svc_ipc *sv = arg;
	enum proc_role role = role_of(sv, ipc);
	struct pending *p;
	uint64_t v64;

	if (role == ROLE_QUEUE && m->type == MSG_SPACE && m->fd < 0 &&
	    msg_allowed(sv->self, role, m->type)) {
		if (msg_dec_u64(m->data, m->len, &v64) < 0) {
			reject(sv, ipc, role, "space report");
			return;
		}
		sv->room = v64;
		sv->room_known = 1;
		return;
	}
	if (role == ROLE_LOOKUP && m->type == MSG_TABLES && m->fd < 0 &&
	    msg_allowed(sv->self, role, m->type)) {
		if (m->len != 0) {
			reject(sv, ipc, role, "tables notice");
			return;
		}
		acache_clear(sv->cache);
		return;
	}
	if (role == ROLE_COUNT) { /* a channel no longer ours */
		if (m->fd >= 0)
			close(m->fd);
		ipc_close(ipc);
		return;
	}
	if (!msg_allowed(sv->self, role, m->type) ||
	    (p = take(sv, m->id)) == NULL) {
		if (m->fd >= 0)
			close(m->fd);
		reject(sv, ipc, role, "or unexpected answer");
		return;
	}
	log_debug("%s: answer %u (type %u) from %s", proc_role_names[sv->self],
	    m->id, m->type, proc_role_names[role]);
	if (p->to != role || p->answer != m->type || m->fd >= 0 ||
	    answer_with(p, m->type, m->data, m->len, m->fd) < 0) {
		if (m->fd >= 0)
			close(m->fd);
		fail_pending(p);
		free_pending(p);
		reject(sv, ipc, role, "answer");
		return;
	}
	if (p->key != NULL && cacheable(m->type, m->data, m->len))
		acache_put(
		    sv->cache, m->type, p->key, p->keylen, m->data, m->len);
	free_pending(p);
}

struct svc_ipc *
svc_ipc_new(uv_loop_t *loop, enum proc_role self)
{
	struct svc_ipc *sv = xcalloc(1, sizeof(*sv));

	sv->loop = loop;
	sv->self = self;
	sv->next_id = 1;
	sv->cache = acache_new();
	sv->resume_tail = &sv->resume_head;
	return sv;
}

/* The queue caught up, or went away: sessions read on. */
static void
resume_all(void *arg)
{
	struct svc_ipc *sv = arg;
	struct resume *r = sv->resume_head;

	sv->resume_head = NULL;
	sv->resume_tail = &sv->resume_head;
	while (r != NULL) {
		struct resume *next = r->next;

		r->cb(r->arg);
		free(r);
		r = next;
	}
}

void
svc_ipc_free(struct svc_ipc *sv)
{
	int r;

	if (sv == NULL)
		return;
	for (r = 0; r < ROLE_COUNT; r++) {
		if (sv->peer[r]) {
			ipc_close(sv->peer[r]);
			sv->peer[r] = NULL;
		}
		fail_role(sv, (enum proc_role)r);
	}
	resume_all(sv);
	acache_free(sv->cache);
	free(sv);
}

void
svc_ipc_set_peer(struct svc_ipc *sv, enum proc_role role, int fd)
{
	if (sv->peer[role]) {
		ipc_close(sv->peer[role]);
		sv->peer[role] = NULL;
		fail_role(sv, role);
	}
	if (role == ROLE_QUEUE) {
		sv->room_known = 0; /* until the new queue process says */
		resume_all(sv);
	}
	if (role == ROLE_LOOKUP)
		acache_clear(sv->cache);
	sv->peer[role] = ipc_new(sv->loop, fd, msg_channel_max(sv->self, role),
	    on_answer, peer_closed, sv);
}

void
svc_ipc_on_lost(
    struct svc_ipc *sv, void (*lost)(void *arg, enum proc_role role), void *arg)
{
	sv->lost = lost;
	sv->lost_arg = arg;
}

unsigned
svc_ipc_outstanding(const struct svc_ipc *sv)
{
	return sv->outstanding;
}

/*
 * Send a request and remember what to do with its answer.  Without a
 * channel the request fails at once.
 */
static void
request(struct svc_ipc *sv, enum proc_role to, uint16_t type, uint16_t answer,
    const struct buf *payload, struct pending *tmpl)
{
	struct pending *p = xmalloc(sizeof(*p));
	const void *hit;
	size_t hitlen;

	*p = *tmpl;
	p->to = to;
	p->answer = answer;
	p->key = NULL;
	if (sv->peer[to] == NULL) {
		fail_pending(p);
		free_pending(p);
		return;
	}
	if ((type == MSG_RCPT || type == MSG_RESOLVE) && !p->uncached) {
		hit = acache_get(
		    sv->cache, answer, payload->data, payload->len, &hitlen);
		if (hit != NULL &&
		    answer_with(p, answer, hit, hitlen, -1) == 0) {
			free_pending(p);
			return;
		}
		p->key = xmalloc(payload->len);
		memcpy(p->key, payload->data, payload->len);
		p->keylen = payload->len;
	}
	p->id = sv->next_id++;
	if (sv->next_id == 0)
		sv->next_id = 1;
	p->next = sv->b[p->id % BUCKETS];
	sv->b[p->id % BUCKETS] = p;
	sv->outstanding++;
	log_debug("%s: request %u (type %u) to %s", proc_role_names[sv->self],
	    p->id, type, proc_role_names[to]);
	ipc_send(sv->peer[to], type, p->id, payload ? payload->data : NULL,
	    payload ? payload->len : 0, -1);
}

/* ----------------------------------------------------------- smtp side */

static void
s_admit(void *ctx, const struct netaddr *client, svc_admit_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};
	struct buf b;

	t.cb.admit = cb;
	buf_init(&b, MSG_MAX_LOOKUP);
	msg_enc_netaddr(&b, client);
	request(sv, ROLE_LOOKUP, MSG_ADMIT, MSG_ADMIT_ANS, &b, &t);
	buf_free(&b);
}

static void
s_release(void *ctx, const struct netaddr *client)
{
	struct svc_ipc *sv = ctx;
	struct buf b;

	if (sv->peer[ROLE_LOOKUP] == NULL)
		return; /* the new lookup process never counted it */
	buf_init(&b, MSG_MAX_LOOKUP);
	msg_enc_netaddr(&b, client);
	ipc_send(sv->peer[ROLE_LOOKUP], MSG_RELEASE, 0, b.data, b.len, -1);
	buf_free(&b);
}

static void
lookup_request(struct svc_ipc *sv, uint16_t type, const struct netaddr *client,
    const char *local, const char *domain, int new_message, svc_lookup_cb cb,
    void *arg)
{
	struct pending t = {.arg = arg};
	struct msg_rcpt m;
	struct buf b;

	memset(&m, 0, sizeof(m));
	if (client)
		m.client = *client;
	else
		netaddr_parse("127.0.0.1", &m.client);
	snprintf(m.local, sizeof(m.local), "%s", local);
	snprintf(m.domain, sizeof(m.domain), "%s", domain);
	m.new_message = new_message != 0;
	t.uncached = new_message != 0; /* the lookup counts the message */
	t.cb.lookup = cb;
	buf_init(&b, MSG_MAX_LOOKUP);
	msg_enc_rcpt(&b, &m);
	request(sv, ROLE_LOOKUP, type, MSG_LOOKUP_ANS, &b, &t);
	buf_free(&b);
}

static void
s_rcpt(void *ctx, const struct netaddr *client, const char *local,
    const char *domain, int new_message, svc_lookup_cb cb, void *arg)
{
	lookup_request(
	    ctx, MSG_RCPT, client, local, domain, new_message, cb, arg);
}

static void
s_vrfy(void *ctx, const char *local, const char *domain, svc_lookup_cb cb,
    void *arg)
{
	lookup_request(ctx, MSG_VRFY, NULL, local, domain, 0, cb, arg);
}

static void
s_room(void *ctx, uint64_t size, svc_status_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};
	struct buf b;

	/* The queue reports its room every second: no need to ask. */
	if (sv->peer[ROLE_QUEUE] != NULL && sv->room_known) {
		cb(arg,
		    sv->room > 0 && (sv->room == UINT64_MAX || size < sv->room)
		        ? 0
		        : -1);
		return;
	}

	t.cb.status = cb;
	buf_init(&b, MSG_MAX_QUEUE);
	msg_enc_u64(&b, size);
	request(sv, ROLE_QUEUE, MSG_ROOM, MSG_ROOM_ANS, &b, &t);
	buf_free(&b);
}

static void
s_open(void *ctx, svc_open_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};

	t.cb.open = cb;
	request(sv, ROLE_QUEUE, MSG_OPEN, MSG_OPEN_ANS, NULL, &t);
}

static int
s_write(void *ctx, const char *id, const void *p, size_t n)
{
	struct svc_ipc *sv = ctx;
	struct buf b;

	if (sv->peer[ROLE_QUEUE] == NULL)
		return -1;
	while (n > 0) {
		size_t k = n < MSG_DATA_MAX ? n : MSG_DATA_MAX;

		buf_init(&b, MSG_DATA_LEN);
		msg_enc_data(&b, id, p, k);
		ipc_send(sv->peer[ROLE_QUEUE], MSG_DATA, 0, b.data, b.len, -1);
		buf_free(&b);
		p = (const char *)p + k;
		n -= k;
	}
	return 0;
}

static int
s_throttle(void *ctx, void (*cb)(void *arg), void *arg)
{
	struct svc_ipc *sv = ctx;
	struct resume *r;

	if (sv->peer[ROLE_QUEUE] == NULL ||
	    ipc_pending(sv->peer[ROLE_QUEUE]) <= TEXT_HIGH)
		return 0;
	r = xmalloc(sizeof(*r));
	r->cb = cb;
	r->arg = arg;
	r->next = NULL;
	*sv->resume_tail = r;
	sv->resume_tail = &r->next;
	ipc_on_drain(sv->peer[ROLE_QUEUE], TEXT_LOW, resume_all, sv);
	return 1;
}

static void
s_commit(void *ctx, const char *id, const struct envelope *env,
    uint64_t data_len, svc_status_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};
	struct buf b;

	t.cb.status = cb;
	buf_init(&b, MSG_MAX_QUEUE);
	if (msg_enc_commit(&b, id, data_len, env) < 0) {
		buf_free(&b);
		cb(arg, SVC_FAILED);
		return;
	}
	request(sv, ROLE_QUEUE, MSG_COMMIT, MSG_COMMIT_ANS, &b, &t);
	buf_free(&b);
}

static void
s_abort(void *ctx, const char *id)
{
	struct svc_ipc *sv = ctx;
	struct buf b;

	if (sv->peer[ROLE_QUEUE] == NULL || id[0] == '\0')
		return;
	buf_init(&b, MSG_MAX_QUEUE);
	msg_enc_id(&b, 1, id);
	ipc_send(sv->peer[ROLE_QUEUE], MSG_ABORT, 0, b.data, b.len, -1);
	buf_free(&b);
}

static void
s_queued(void *ctx, svc_count_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};

	t.cb.count = cb;
	request(sv, ROLE_QUEUE, MSG_QUEUED, MSG_QUEUED_ANS, NULL, &t);
}

static const struct smtp_services_ops smtp_ops = {
    .admit = s_admit,
    .release = s_release,
    .rcpt = s_rcpt,
    .vrfy = s_vrfy,
    .room = s_room,
    .open = s_open,
    .write = s_write,
    .throttle = s_throttle,
    .commit = s_commit,
    .abort = s_abort,
    .queued = s_queued,
};

void
svc_ipc_smtp_services(struct svc_ipc *sv, struct smtp_services *out)
{
	out->ops = &smtp_ops;
	out->ctx = sv;
}

/* ---------------------------------------------------------- queue side */

static void
q_resolve(void *ctx, const char *addr, sched_resolve_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending t = {.arg = arg};
	struct lookup_dest dest;
	struct buf b;

	/* The lookup process would refuse it, and drop this channel: such
	 * an address (from an older queue file) is delivered nowhere. */
	if (!msg_address_ok(addr)) {
		memset(&dest, 0, sizeof(dest));
		dest.type = LOOKUP_DEST_UNKNOWN;
		snprintf(dest.error, sizeof(dest.error), "bad address");
		cb(arg, &dest);
		return;
	}
	t.cb.resolve = cb;
	buf_init(&b, MSG_MAX_LOOKUP);
	msg_enc_text(&b, addr);
	request(sv, ROLE_LOOKUP, MSG_RESOLVE, MSG_RESOLVE_ANS, &b, &t);
	buf_free(&b);
}

static void
q_deliver(void *ctx, const struct local_req *req, local_cb cb, void *arg)
{
	struct svc_ipc *sv = ctx;
	struct pending *p;
	struct msg_deliver m;
	struct buf b;
	int fd;

	if (sv->peer[ROLE_LOCAL] == NULL || (fd = dup(req->src_fd)) < 0) {
		struct pending t = {.arg = arg, .answer = MSG_DELIVER_ANS};

		t.cb.deliver = cb;
		fail_pending(&t);
		return;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.maildir, sizeof(m.maildir), "%s", req->maildir);
	snprintf(m.return_path, sizeof(m.return_path), "%s", req->return_path);
	snprintf(m.rcpt, sizeof(m.rcpt), "%s", req->rcpt);
	snprintf(m.unique, sizeof(m.unique), "%s", req->unique);
	m.look_for_copy = req->look_for_copy ? 1 : 0;
	m.off = req->src_off;
	m.len = req->src_len;
	p = xcalloc(1, sizeof(*p));
	p->to = ROLE_LOCAL;
	p->answer = MSG_DELIVER_ANS;
	p->cb.deliver = cb;
	p->arg = arg;
	p->id = sv->next_id++;
	if (sv->next_id == 0)
		sv->next_id = 1;
	p->next = sv->b[p->id % BUCKETS];
	sv->b[p->id % BUCKETS] = p;
	sv->outstanding++;
	buf_init(&b, MSG_MAX_LOCAL);
	msg_enc_deliver(&b, &m);
	ipc_send(sv->peer[ROLE_LOCAL], MSG_DELIVER, p->id, b.data, b.len, fd);
	buf_free(&b);
}

static int
q_ready(void *ctx)
{
	struct svc_ipc *sv = ctx;

	return sv->peer[ROLE_LOOKUP] != NULL && sv->peer[ROLE_LOCAL] != NULL;
}

static const struct sched_services_ops sched_ops = {
    .resolve = q_resolve,
    .deliver = q_deliver,
    .ready = q_ready,
};

void
svc_ipc_sched_services(struct svc_ipc *sv, struct sched_services *out)
{
	out->ops = &sched_ops;
	out->ctx = sv;
}
