/*
 * role_lookup - the lookup process's loop: requests from the smtp
 * processes and the queue, answered from the tables and the session
 * accounting.
 */
#include "role_lookup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/sanitizer.h"
#include "../common/xmem.h"
#include "../lookup/lookup.h"
#include "../lookup/sessions.h"
#include "child.h"
#include "msg.h"

struct lk_peer {
	struct lk_state *st;
	struct ipc *ipc;
	enum proc_role role;
	struct lk_peer *next;
};

struct lk_state {
	uv_loop_t *loop;
	struct lookup *lk;
	struct sessions *ss;
	struct lk_peer *peers;
};

static const char *
lookup_user(const struct conf *c)
{
	return c->lookup_user;
}

static void
drop_peer(struct lk_state *st, struct lk_peer *p)
{
	struct lk_peer **pp;

	for (pp = &st->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	/* The sessions of a dead smtp process end with it. */
	sessions_drop_owner(st->ss, p);
	if (p->ipc)
		ipc_close(p->ipc);
	free(p);
}

static void
peer_closed(void *arg, struct ipc *ipc)
{
	struct lk_peer *p = arg;

	p->ipc = NULL;
	(void)ipc;
	drop_peer(p->st, p);
}

static void
answer(struct lk_peer *p, uint16_t type, uint32_t id, const struct buf *b)
{
	ipc_send(p->ipc, type, id, b->data, b->len, -1);
}

static void
on_request(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct lk_peer *p = arg;
	struct lk_state *st = p->st;
	struct msg_rcpt rq;
	struct msg_admit_ans aa;
	struct netaddr addr;
	struct lookup_reply lr;
	struct lookup_dest dest;
	char address[ENV_MAX_STRING + 1];
	struct buf b;
	int bad = 0;

	if (!msg_allowed(ROLE_LOOKUP, p->role, m->type) || m->fd >= 0) {
		bad = 1;
		goto out;
	}
	buf_init(&b, MSG_MAX_LOOKUP);
	switch (m->type) {
	case MSG_ADMIT:
		if ((bad = msg_dec_netaddr(m->data, m->len, &addr)) != 0)
			break;
		memset(&aa, 0, sizeof(aa));
		aa.verdict =
		    sessions_open(st->ss, p, &addr, uv_now(st->loop) / 1000);
		lookup_client(st->lk, &addr, &aa.client);
		msg_enc_admit_ans(&b, &aa);
		answer(p, MSG_ADMIT_ANS, m->id, &b);
		break;
	case MSG_RELEASE:
		if ((bad = msg_dec_netaddr(m->data, m->len, &addr)) == 0)
			sessions_close(st->ss, p, &addr);
		break;
	case MSG_RCPT:
	case MSG_VRFY:
		if ((bad = msg_dec_rcpt(m->data, m->len, &rq)) != 0)
			break;
		if (m->type == MSG_RCPT) {
			/* Relay permission is decided here, from the
			 * client's address, not taken from the smtp side. */
			sessions_rcpt(st->ss, st->lk, &rq.client, rq.local,
			    rq.domain, rq.new_message, uv_now(st->loop) / 1000,
			    &lr);
		} else {
			lookup_vrfy(st->lk, rq.local, rq.domain, &lr);
		}
		msg_enc_lookup_ans(&b, &lr);
		lookup_reply_free(&lr);
		answer(p, MSG_LOOKUP_ANS, m->id, &b);
		break;
	case MSG_RESOLVE:
		if ((bad = msg_dec_address(
		         m->data, m->len, address, sizeof(address))) != 0)
			break;
		lookup_resolve(st->lk, address, &dest);
		msg_enc_resolve_ans(&b, &dest);
		answer(p, MSG_RESOLVE_ANS, m->id, &b);
		break;
	default:
		bad = 1;
	}
	buf_free(&b);
out:
	if (bad) {
		if (m->fd >= 0)
			close(m->fd);
		log_warnx("lookup: invalid message %u from the %s process; "
		          "closing the channel",
		    m->type, proc_role_names[p->role]);
		p->ipc = NULL;
		ipc_close(ipc);
		drop_peer(st, p);
	}
}

struct lk_state *
role_lookup_new(uv_loop_t *loop, const struct conf *c, char *err, size_t errsz)
{
	struct lk_state *st = xcalloc(1, sizeof(*st));

	st->loop = loop;
	if ((st->lk = lookup_new(c, err, errsz)) == NULL) {
		free(st);
		return NULL;
	}
	lookup_log_problems(st->lk);
	st->ss = sessions_new();
	sessions_configure(st->ss, c);
	return st;
}

void
role_lookup_reload(struct lk_state *st, const struct conf *c)
{
	struct lookup *lk;
	struct lk_peer *p;
	char err[512];

	if ((lk = lookup_new(c, err, sizeof(err))) == NULL) {
		log_warnx("lookup: reload: %s; keeping the tables in use", err);
		return;
	}
	lookup_log_problems(lk);
	lookup_free(st->lk);
	st->lk = lk;
	sessions_configure(st->ss, c);
	/* What the peers remember of the old tables is stale; every answer
	 * after this notice comes from the new ones. */
	for (p = st->peers; p; p = p->next)
		ipc_send(p->ipc, MSG_TABLES, 0, NULL, 0, -1);
	log_info("lookup: tables reloaded");
}

void
role_lookup_peer(struct lk_state *st, enum proc_role role, int fd)
{
	struct lk_peer *p;

	if (role != ROLE_SMTP && role != ROLE_QUEUE) {
		close(fd);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->st = st;
	p->role = role;
	p->ipc = ipc_new(st->loop, fd, msg_channel_max(ROLE_LOOKUP, role),
	    on_request, peer_closed, p);
	p->next = st->peers;
	st->peers = p;
}

void
role_lookup_free(struct lk_state *st)
{
	if (st == NULL)
		return;
	while (st->peers)
		drop_peer(st, st->peers);
	sessions_free(st->ss);
	lookup_free(st->lk);
	free(st);
}

static int
start(struct child *ch, const struct conf *c)
{
	struct lk_state *st;
	char err[512];

	/* It holds the tables (and later passwords): no core dumps, no
	 * ptrace by processes of the same user. */
	if (!SANITIZER_BUILD)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((st = role_lookup_new(child_loop(ch), c, err, sizeof(err))) ==
	    NULL) {
		log_warnx("lookup: %s", err);
		return -1;
	}
	child_set_data(ch, st);
	return 0;
}

static void
reload(struct child *ch, const struct conf *c)
{
	role_lookup_reload(child_data(ch), c);
}

static void
peer(struct child *ch, enum proc_role role, uint32_t index, int fd)
{
	role_lookup_peer(child_data(ch), role, fd);
	(void)index;
}

static void
stop(struct child *ch)
{
	role_lookup_free(child_data(ch));
	child_set_data(ch, NULL);
	child_exit(ch, 0);
}

const struct role_ops role_lookup_ops = {
    .role = ROLE_LOOKUP,
    .user = lookup_user,
    .chroot = 0,
    .start = start,
    .reload = reload,
    .peer = peer,
    .listen = NULL,
    .stop = stop,
};
