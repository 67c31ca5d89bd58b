/*
 * smtp_session - one SMTP connection: the glue between a libuv stream,
 * the pure state machine (smtp_proto) and the services it asks (lookup,
 * queue).  Bytes in go to smtp_proto_feed; replies, message octets, log
 * lines and requests come out and are carried out here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/strset.h"
#include "../common/xmem.h"
#include "../queue/envelope.h"
#include "smtp_server_priv.h"
#include "smtp_services.h"
#include "transport.h"

/* Input kept while a request is pending: one read's worth, and a bit. */
#define PEND_MAX (2 * SMTP_READ_BUF)
/* Stop reading while this much of our output waits for the client. */
#define WRITE_BACKLOG_MAX (64 * 1024)

struct smtp_session {
	struct transport *t;
	uv_timer_t timer;
	struct smtp_server *srv;
	struct smtp_settings *set;
	struct smtp_proto *p;
	struct lookup_client client;
	struct netaddr peer;
	char peer_str[64];
	int port;
	int admitted; /* counted by the services: release when done */
	enum smtp_greet greet_how; /* what admission decided */
	int pausing;               /* smtp_greet_pause is running */
	int greeted;
	struct buf pend;
	char msg_id[32]; /* the open message, or "" */
	uint64_t msg_len;
	int msg_error;
	int throttled; /* the queue is behind: input waits */
	int waiting;   /* a request is with a service */
	int in_pump;   /* answers arriving now are picked up by pump */
	int eof;       /* the client sent all it will: finish, then close */
	int closing;
	int refs; /* the timer, the transport, requests in flight */
	struct smtp_session *prev, *next;
};

static void pump(struct smtp_session *s, const char *in, size_t n);
static void begin_close(struct smtp_session *s);
static void session_unref(struct smtp_session *s);

/* The queue caught up with the text this session sent it. */
static void
resumed(void *arg)
{
	struct smtp_session *s = arg;

	s->throttled = 0;
	if (!s->closing && !s->waiting)
		pump(s, NULL, 0);
	session_unref(s);
}

/* The open message is not going to be committed. */
static void
discard_msg(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;

	if (s->msg_id[0] == '\0')
		return;
	srv->svc.ops->abort(srv->svc.ctx, s->msg_id);
	s->msg_id[0] = '\0';
}

static void
session_unref(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;

	if (--s->refs > 0)
		return;
	discard_msg(s);
	if (s->admitted)
		srv->svc.ops->release(srv->svc.ctx, &s->peer);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	smtp_proto_free(s->p);
	buf_free(&s->pend);
	smtp_settings_unref(s->set);
	free(s);
	smtp_server_session_gone(srv);
}

static void
timer_closed(uv_handle_t *h)
{
	session_unref(h->data);
}

/* The session is over; the transport sends what is queued, then closes. */
static void
begin_close(struct smtp_session *s)
{
	char stats[512];

	if (s->closing)
		return;
	s->closing = 1;
	if (s->p != NULL) {
		smtp_proto_stats(s->p, stats, sizeof(stats));
		log_info("disconnect from unknown[%s] %s", s->peer_str, stats);
	}
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, timer_closed);
	if (s->t != NULL)
		transport_close(s->t);
	else
		session_unref(s);
}

/* ------------------------------------------------------------- output */

static void
flush_replies(struct smtp_session *s)
{
	struct buf *r = &smtp_proto_out(s->p)->reply;

	if (r->len == 0 || s->closing)
		return;
	if (transport_write(s->t, r->data, r->len) < 0) {
		r->len = 0;
		begin_close(s);
		return;
	}
	r->len = 0;
}

/* Message octets, log lines and aborts produced by the state machine. */
static void
drain(struct smtp_session *s)
{
	struct smtp_out *out = smtp_proto_out(s->p);

	if (out->body.len > 0) {
		if (s->msg_id[0] != '\0' && !s->msg_error) {
			struct smtp_server *srv = s->srv;

			if (srv->svc.ops->write(srv->svc.ctx, s->msg_id,
			        out->body.data, out->body.len) < 0) {
				s->msg_error = 1;
				log_warnx("%s: the queue cannot take the text",
				    s->msg_id);
			}
			s->msg_len += out->body.len;
			if (!s->throttled &&
			    srv->svc.ops->throttle(srv->svc.ctx, resumed, s)) {
				s->throttled = 1;
				s->refs++;
			}
		}
		out->body.len = 0;
	}
	if (out->log.len > 0) {
		char *line = out->log.data, *end = line + out->log.len;

		while (line < end) {
			char *nl = memchr(line, '\n', (size_t)(end - line));

			if (nl == NULL)
				break;
			log_info("%.*s", (int)(nl - line), line);
			line = nl + 1;
		}
		out->log.len = 0;
	}
	if (out->abort_msg) {
		out->abort_msg = 0;
		discard_msg(s);
	}
}

/* ----------------------------------------------------------- requests */

static void
rfc5322_date(char *dst, size_t dstsz)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(dst, dstsz, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* A service answered: hand it to the state machine, then go on. */
static void
answered(struct smtp_session *s, struct smtp_answer *a)
{
	s->waiting = 0;
	smtp_proto_answer(s->p, a);
	if (!s->in_pump && !s->closing) {
		drain(s);
		pump(s, NULL, 0);
	}
	session_unref(s);
}

static void
lookup_answered(void *arg, struct lookup_reply *lr)
{
	struct smtp_answer a;

	memset(&a, 0, sizeof(a));
	a.lookup = *lr;
	lr->final = NULL;
	lr->nfinal = 0;
	answered(arg, &a);
}

static void
room_answered(void *arg, int status)
{
	struct smtp_answer a;

	memset(&a, 0, sizeof(a));
	if (status == -1)
		a.status = SMTP_S_QUEUE_FULL;
	else if (status < 0)
		a.status = SMTP_S_QUEUE_UNAVAILABLE;
	answered(arg, &a);
}

static void
opened(void *arg, const char *id)
{
	struct smtp_session *s = arg;
	struct smtp_answer a;

	memset(&a, 0, sizeof(a));
	if (id == NULL) {
		a.status = SMTP_S_QUEUE_FAILED;
	} else if (s->closing) {
		/* The client left while the message was being made. */
		s->srv->svc.ops->abort(s->srv->svc.ctx, id);
	} else {
		snprintf(s->msg_id, sizeof(s->msg_id), "%s", id);
		s->msg_len = 0;
		s->msg_error = 0;
		snprintf(a.id, sizeof(a.id), "%s", id);
		rfc5322_date(a.date, sizeof(a.date));
		log_info("%s: client=unknown[%s]", id, s->peer_str);
	}
	answered(s, &a);
}

static void
committed(void *arg, int status)
{
	struct smtp_answer a;

	memset(&a, 0, sizeof(a));
	if (status == SVC_NO_ROOM)
		a.status = SMTP_S_QUEUE_FULL;
	else if (status < 0)
		a.status = SMTP_S_QUEUE_FAILED;
	answered(arg, &a);
}

static void
queued_answered(void *arg, uint64_t n)
{
	struct smtp_session *s = arg;
	struct smtp_answer a;

	memset(&a, 0, sizeof(a));
	a.queued = n;
	a.show_queued = s->client.may_relay;
	answered(s, &a);
}

static void
commit(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;
	const struct smtp_txn *t = smtp_proto_txn(s->p);
	struct envelope env;
	char addr[ADDR_PATH_MAX + 1], id[sizeof(s->msg_id)];
	struct strset seen;
	size_t i, k;

	if (s->msg_id[0] == '\0' || s->msg_error) {
		discard_msg(s);
		committed(s, SVC_FAILED);
		return;
	}
	envelope_init(&env);
	env.arrival = now_us();
	envelope_set(&env.client_addr, s->peer_str);
	envelope_set(&env.client_name, "unknown");
	envelope_set(&env.helo, smtp_proto_helo(s->p));
	envelope_set(&env.protocol, smtp_proto_protocol(s->p));
	addr_format(&t->from, addr, sizeof(addr));
	envelope_set(&env.sender, addr);
	env.body = (int)t->params.body;
	env.ret = (int)t->params.ret;
	env.smtputf8 = t->params.smtputf8;
	envelope_set(&env.envid, t->params.envid);
	/* AUTH= is trusted only from our own authenticated clients. */
	envelope_set(&env.auth, t->params.auth[0] ? "<>" : "");
	/* Two recipients that lead to one address get one copy. */
	strset_init(&seen);
	for (i = 0; i < t->nrcpt; i++) {
		const struct smtp_rcpt *r = &t->rcpt[i];

		addr_format(&r->addr, addr, sizeof(addr));
		for (k = 0; k < r->nfinal; k++)
			if (strset_add(&seen, r->final[k]))
				envelope_add_rcpt(&env, r->final[k], addr,
				    r->params.orcpt, r->params.notify);
	}
	strset_free(&seen);
	/* From here on the message is the queue's, whatever happens. */
	snprintf(id, sizeof(id), "%s", s->msg_id);
	s->msg_id[0] = '\0';
	srv->svc.ops->commit(srv->svc.ctx, id, &env, s->msg_len, committed, s);
	envelope_free(&env);
}

static void
handle_request(struct smtp_session *s, const struct smtp_req *rq)
{
	struct smtp_server *srv = s->srv;
	void *ctx = srv->svc.ctx;

	/* The callback drops this reference; it may run before we return. */
	s->waiting = 1;
	s->refs++;
	switch (rq->type) {
	case SMTP_REQ_MAIL:
		srv->svc.ops->room(ctx, rq->size, room_answered, s);
		break;
	case SMTP_REQ_RCPT:
		/* Only a counted message needs the lookup process itself;
		 * other answers may come from the cache. */
		srv->svc.ops->rcpt(ctx, &s->peer, rq->addr->local,
		    rq->addr->domain,
		    rq->new_message && s->set->message_rate &&
		        !netlist_match(&s->set->rate_exempt, &s->peer),
		    lookup_answered, s);
		break;
	case SMTP_REQ_VRFY:
		srv->svc.ops->vrfy(
		    ctx, rq->addr->local, rq->addr->domain, lookup_answered, s);
		break;
	case SMTP_REQ_OPEN:
		srv->svc.ops->open(ctx, opened, s);
		break;
	case SMTP_REQ_COMMIT:
		commit(s);
		break;
	case SMTP_REQ_STATUS:
		srv->svc.ops->queued(ctx, queued_answered, s);
		break;
	case SMTP_REQ_NONE:
		s->waiting = 0;
		s->refs--;
		break;
	}
}

/* -------------------------------------------------------------- input */

static void arm_timer(struct smtp_session *s);

/*
 * Feed input (pending bytes first, then in) to the state machine and
 * carry out what comes back, until the input is used up, a request is
 * outstanding or the session ends.
 */
static void
pump(struct smtp_session *s, const char *in, size_t n)
{
	struct smtp_out *out = smtp_proto_out(s->p);
	const char *data = in ? in : ""; /* NULL + 0 is undefined */
	size_t len = n, off = 0;
	int from_pend = 0;

	if (s->closing)
		return;
	s->in_pump++;
	if (s->pend.len > 0) {
		if (n > 0 && buf_append(&s->pend, in, n) < 0)
			panic("smtp: pending input over its bound");
		data = s->pend.data;
		len = s->pend.len;
		from_pend = 1;
	}
	for (;;) {
		const struct smtp_req *rq;
		size_t used;

		if (s->waiting || s->throttled || out->close)
			break;
		used = smtp_proto_feed(s->p, data + off, len - off);
		off += used;
		drain(s);
		if ((rq = smtp_proto_request(s->p)) != NULL) {
			handle_request(s, rq);
			drain(s);
			continue;
		}
		if (off >= len || out->close)
			break;
		/* A burst of pipelined commands: send what is answered
		 * before reading on, or wait for the client to read it. */
		if (out->reply.len > 0) {
			flush_replies(s);
			if (s->closing || transport_pending(s->t) > 0)
				break;
		}
	}
	if (from_pend) {
		buf_consume(&s->pend, off);
	} else if (off < len && !out->close) {
		if (buf_append(&s->pend, data + off, len - off) < 0)
			panic("smtp: pending input over its bound");
	}
	if (s->pend.len == 0)
		buf_free(&s->pend);
	s->in_pump--;
	if (s->eof && !s->waiting && !s->throttled &&
	    transport_pending(s->t) == 0 && !out->close && s->pend.len == 0) {
		/* Every complete command is answered; what is left (a line or
		 * a message cut short) can never be finished. */
		smtp_proto_eof(s->p);
		drain(s);
	}
	flush_replies(s);
	if (s->closing)
		return;
	if (out->close) {
		/* The transport sends the last replies before it closes. */
		if (!s->waiting)
			begin_close(s);
		else
			transport_read_stop(s->t);
		return;
	}
	/* Input that arrives while a service answers waits in pend; reading
	 * stops only when that is full, or when the client does not read its
	 * replies.  (Stopping and restarting for every request would cost
	 * two epoll_ctl calls each time.) */
	if (s->eof || s->throttled || s->pend.len >= SMTP_READ_BUF ||
	    transport_pending(s->t) > WRITE_BACKLOG_MAX)
		transport_read_stop(s->t);
	else
		transport_read_start(s->t);
	arm_timer(s);
}

/* A client that talks before the greeting is not waiting for it: a bot. */
static void
early_talker(struct smtp_session *s, size_t n)
{
	log_warnx(
	    "[%s]: %zu octets before the greeting; refused", s->peer_str, n);
	s->pausing = 0;
	s->greeted = 1;
	smtp_proto_greet(s->p, SMTP_GREET_EARLY, NULL);
	drain(s);
	if (s->waiting) {
		/* admitted() closes once the services have answered. */
		transport_read_stop(s->t);
		arm_timer(s);
	} else {
		pump(s, NULL, 0);
	}
}

static void
on_read(void *arg, const char *p, size_t n)
{
	struct smtp_session *s = arg;

	if (s->closing)
		return;
	if (!s->greeted)
		early_talker(s, n);
	else
		pump(s, p, n);
}

/*
 * Not an abort: a client may send its last commands (Exim: the end of
 * data and QUIT) and shut down its side while it still reads.  Closing
 * now would leave a committed message unanswered, and the client would
 * send it again.  pump closes once all is answered.
 */
static void
on_eof(void *arg)
{
	struct smtp_session *s = arg;

	if (s->closing)
		return;
	s->eof = 1;
	if (!s->waiting)
		pump(s, NULL, 0);
}

/* The connection broke: nobody is left to answer. */
static void
on_error(void *arg)
{
	struct smtp_session *s = arg;

	if (s->closing)
		return;
	smtp_proto_eof(s->p);
	drain(s);
	if (!s->waiting)
		begin_close(s);
}

/* What was written has left: go on with what waited for that. */
static void
on_drained(void *arg)
{
	struct smtp_session *s = arg;

	if (s->closing)
		return;
	if (!s->waiting)
		pump(s, NULL, 0);
}

static void
on_closed(void *arg)
{
	struct smtp_session *s = arg;

	s->t = NULL;
	session_unref(s);
}

static const struct transport_events session_events = {
    .read = on_read,
    .eof = on_eof,
    .error = on_error,
    .drained = on_drained,
    .closed = on_closed,
};

static void
timer_fired(uv_timer_t *t)
{
	struct smtp_session *s = t->data;

	if (s->waiting || s->throttled) {
		arm_timer(s); /* our own slowness is not the client's */
		return;
	}
	smtp_proto_timeout(s->p);
	drain(s);
	pump(s, NULL, 0);
}

static void
arm_timer(struct smtp_session *s)
{
	uint64_t ms;

	if (s->closing)
		return;
	if (smtp_proto_refusing(s->p))
		ms = 10000; /* RFC 7504: keep a refused client only briefly */
	else if (smtp_proto_in_data(s->p))
		ms = s->set->data_timeout_ms;
	else
		ms = s->set->command_timeout_ms;
	uv_timer_start(&s->timer, timer_fired, ms, 0);
}

/* ----------------------------------------------------------- lifecycle */

/* Greet once admission has answered and the greeting pause is over. */
static void
greet(struct smtp_session *s)
{
	if (s->greeted || s->pausing || s->waiting || s->closing)
		return;
	s->greeted = 1;
	smtp_proto_greet(s->p, s->greet_how, s->client.text);
	drain(s);
	pump(s, NULL, 0);
}

static void
pause_over(uv_timer_t *t)
{
	struct smtp_session *s = t->data;

	s->pausing = 0;
	if (s->waiting)
		arm_timer(s);
	else
		greet(s);
}

/* The services decided whether this client gets a session. */
static void
admitted(void *arg, const struct svc_admission *adm)
{
	struct smtp_session *s = arg;
	enum smtp_greet how = SMTP_GREET_OK;

	s->waiting = 0;
	s->client = adm->client;
	s->admitted = adm->verdict == SESSIONS_OK;
	if (s->srv->stopping) {
		how = SMTP_GREET_SHUTDOWN;
	} else if (adm->verdict == SESSIONS_UNAVAILABLE) {
		/* Neither the session limits nor the client access table
		 * could be applied: a session now would bypass both. */
		log_warnx(
		    "lookup service unavailable; refused [%s]", s->peer_str);
		how = SMTP_GREET_TEMPFAIL;
	} else if (adm->verdict == SESSIONS_BUSY_TOTAL) {
		log_warnx("connection limit of %u sessions reached; refused "
		          "[%s]",
		    s->set->max_sessions, s->peer_str);
		how = SMTP_GREET_BUSY;
	} else if (adm->verdict == SESSIONS_BUSY_CLIENT) {
		log_warnx("[%s]: %u sessions from this client already",
		    s->peer_str, s->set->max_per_client);
		how = SMTP_GREET_BUSY_CLIENT;
	} else if (adm->verdict == SESSIONS_RATE) {
		log_warnx("[%s]: connection rate limit exceeded", s->peer_str);
		how = SMTP_GREET_RATE;
	} else if (s->client.access == LOOKUP_ACCESS_REJECT) {
		how = SMTP_GREET_REJECT;
	} else if (!s->set->accept_mail) {
		how = SMTP_GREET_NOMAIL;
	}
	s->greet_how = how;
	if (s->greeted && !s->closing)
		pump(s, NULL, 0); /* an early talker: now it can close */
	else
		greet(s);
	session_unref(s);
}

void
smtp_session_accept(struct smtp_server *srv, uv_stream_t *listener)
{
	struct smtp_session *s;
	struct transport *t;
	struct smtp_client cl;
	struct smtp_proto_conf pc;
	struct netaddr peer;
	int port;

	if ((t = transport_accept(listener, &srv->rb, &session_events, NULL)) ==
	    NULL)
		return;
	if (transport_peer(t, &peer, &port) < 0) {
		transport_abort(t);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->t = t;
	transport_set_owner(t, &session_events, s);
	uv_timer_init(srv->loop, &s->timer);
	s->timer.data = s;
	s->srv = srv;
	s->refs = 2; /* the timer and the transport */
	s->set = srv->set;
	s->set->refs++;
	buf_init(&s->pend, PEND_MAX);
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	s->peer = peer;
	s->port = port;
	netaddr_format(&s->peer, s->peer_str, sizeof(s->peer_str));
	log_info("connect from unknown[%s]:%d", s->peer_str, s->port);
	memset(&cl, 0, sizeof(cl));
	snprintf(cl.addr, sizeof(cl.addr), "%s", s->peer_str);
	snprintf(cl.name, sizeof(cl.name), "unknown");
	pc = s->set->pconf;
	if (netlist_match(&s->set->eol_exempt, &s->peer))
		pc.strict_eol = 0;
	s->p = smtp_proto_new(&pc, &cl);
	if (s->set->greet_pause_ms > 0) {
		/* Read during the pause only to catch clients that talk
		 * first; otherwise no input is read until the greeting has
		 * gone out. */
		s->pausing = 1;
		uv_timer_start(
		    &s->timer, pause_over, s->set->greet_pause_ms, 0);
		transport_read_start(t);
	} else {
		arm_timer(s);
	}
	s->waiting = 1;
	s->refs++;
	srv->svc.ops->admit(srv->svc.ctx, &s->peer, admitted, s);
}

void
smtp_session_shutdown(struct smtp_session *s)
{
	if (s->closing)
		return;
	smtp_proto_shutdown(s->p);
	drain(s);
	if (!s->waiting)
		pump(s, NULL, 0);
}

struct smtp_session *
smtp_session_next(const struct smtp_session *s)
{
	return s->next;
}
