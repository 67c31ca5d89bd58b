/*
 * NAME
 *	smtp_server_priv - what sessions share with their server
 * PURPOSE
 *	Private to smtp_server.c and smtp_session.c: the settings snapshot
 *	(reference counted, so a reload never pulls strings from under a
 *	session), the services a session calls, and the session list.
 * TRUST
 *	smtp process.
 * INVARIANTS
 *	A session holds a reference to the settings it started with.
 */
#ifndef TERN_SMTP_SERVER_PRIV_H
#define TERN_SMTP_SERVER_PRIV_H

#include <uv.h>

#include "../common/netaddr.h"
#include "smtp_proto.h"
#include "smtp_services.h"
#include "transport.h"

#define SMTP_READ_BUF (64 * 1024)

struct smtp_settings {
	int refs;
	char *hostname;
	struct smtp_proto_conf pconf;
	uint64_t command_timeout_ms;
	uint64_t data_timeout_ms;
	uint64_t greet_pause_ms;
	unsigned max_sessions;
	unsigned max_per_client;
	int accept_mail;
	struct netlist eol_exempt;
	int message_rate;           /* client_message_rate_limit is set */
	struct netlist rate_exempt; /* client_rate_exceptions */
};

struct smtp_session;

struct smtp_server {
	uv_loop_t *loop;
	struct smtp_settings *set;
	struct smtp_services svc;
	uv_tcp_t **listeners;
	size_t nlisteners;
	struct smtp_session *sessions;
	size_t nsessions;
	struct transport_readbuf rb; /* one read buffer for every session */
	int stopping;
	void (*stop_done)(void *);
	void *stop_arg;
};

void smtp_settings_unref(struct smtp_settings *set);

/* smtp_session.c */
void smtp_session_accept(struct smtp_server *srv, uv_stream_t *listener);
void smtp_session_shutdown(struct smtp_session *s);
struct smtp_session *smtp_session_next(const struct smtp_session *s);

/* smtp_server.c, for sessions */
void smtp_server_session_gone(struct smtp_server *srv);

#endif
