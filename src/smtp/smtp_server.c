/*
 * smtp_server - the smtp process's listeners: accepting connections,
 * settings shared by the sessions (reference counted across reloads),
 * and stopping gracefully.
 */
#include "smtp_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"
#include "smtp_server_priv.h"

static struct smtp_settings *
settings_new(const struct conf *c)
{
	struct smtp_settings *set = xcalloc(1, sizeof(*set));
	char err[128];

	set->refs = 1;
	set->hostname = xstrdup(c->myhostname);
	set->pconf.hostname = set->hostname;
	set->pconf.size_limit = c->message_size_limit;
	set->pconf.rcpt_limit = (unsigned)c->recipient_limit;
	set->pconf.error_limit = (unsigned)c->error_limit;
	set->pconf.line_limit = (size_t)c->command_line_limit;
	set->pconf.text_line_limit = c->text_line_limit;
	set->pconf.strict_eol = c->strict_line_endings;
	set->pconf.reject_unsync_data = c->reject_unsynchronized_data;
	if (strcmp(c->vrfy_reply, "verify") == 0)
		set->pconf.vrfy = SMTP_VRFY_VERIFY;
	else if (strcmp(c->vrfy_reply, "disabled") == 0)
		set->pconf.vrfy = SMTP_VRFY_DISABLED;
	else
		set->pconf.vrfy = SMTP_VRFY_CANNOT;
	set->command_timeout_ms = c->command_timeout;
	set->data_timeout_ms = c->data_timeout;
	set->greet_pause_ms = c->smtp_greet_pause;
	set->max_sessions = (unsigned)c->max_sessions;
	set->max_per_client = (unsigned)c->max_sessions_per_client;
	set->accept_mail = c->accept_mail;
	if (netlist_parse(c->raw[CONF_P_line_ending_exempt_networks],
	        &set->eol_exempt, err, sizeof(err)) < 0)
		panic("smtp: checked network list no longer parses: %s", err);
	set->message_rate = c->client_message_rate_limit > 0;
	if (netlist_parse(c->raw[CONF_P_client_rate_exceptions],
	        &set->rate_exempt, err, sizeof(err)) < 0)
		panic("smtp: checked network list no longer parses: %s", err);
	return set;
}

void
smtp_settings_unref(struct smtp_settings *set)
{
	if (--set->refs > 0)
		return;
	free(set->hostname);
	netlist_free(&set->eol_exempt);
	netlist_free(&set->rate_exempt);
	free(set);
}

struct smtp_server *
smtp_server_new(
    uv_loop_t *loop, const struct conf *c, const struct smtp_services *svc)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->set = settings_new(c);
	srv->svc = *svc;
	srv->rb.data = xmalloc(SMTP_READ_BUF);
	srv->rb.size = SMTP_READ_BUF;
	return srv;
}

/* "host:port" or "[v6]:port" into a sockaddr. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon, *hs = s;
	size_t hl;
	uint64_t port;

	colon = strrchr(s, ':');
	if (colon == NULL ||
	    str_to_u64(colon + 1, strlen(colon + 1), &port) < 0 || port == 0 ||
	    port > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		hs++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -1;
}

int
smtp_listen_open(
    const struct conf *c, int **fds, size_t *nfds, char *err, size_t errsz)
{
	char **addrs;
	size_t n, i;
	int one = 1;

	addrs = str_split_list(c->raw[CONF_P_smtp_listen], &n);
	*fds = xcalloc(n ? n : 1, sizeof(**fds));
	*nfds = 0;
	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		int fd;

		if (parse_listen(addrs[i], &ss) < 0) {
			snprintf(err, errsz, "smtp_listen: bad address \"%s\"",
			    addrs[i]);
			goto fail;
		}
		sl = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                             : sizeof(struct sockaddr_in6);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    setsockopt(
		        fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    (ss.ss_family == AF_INET6 &&
		        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		            sizeof(one)) < 0) ||
		    bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
		    listen(fd, 1024) < 0) {
			snprintf(err, errsz, "listen on %s: %s", addrs[i],
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		(*fds)[(*nfds)++] = fd;
		log_info("smtp: listening on %s", addrs[i]);
	}
	str_free_list(addrs);
	return 0;
fail:
	for (i = 0; i < *nfds; i++)
		close((*fds)[i]);
	free(*fds);
	*fds = NULL;
	*nfds = 0;
	str_free_list(addrs);
	return -1;
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct smtp_server *srv = listener->data;

	if (status < 0) {
		log_warnx("smtp: accept: %s", uv_strerror(status));
		return;
	}
	smtp_session_accept(srv, listener);
}

int
smtp_server_adopt(struct smtp_server *srv, int fd, char *err, size_t errsz)
{
	uv_tcp_t *t = xcalloc(1, sizeof(*t));
	int r;

	/* Each handle is allocated alone: libuv keeps pointers to it. */
	srv->listeners = xreallocarray(
	    srv->listeners, srv->nlisteners + 1, sizeof(*srv->listeners));
	srv->listeners[srv->nlisteners] = t;
	uv_tcp_init(srv->loop, t);
	t->data = srv;
	srv->nlisteners++;
	if ((r = uv_tcp_open(t, fd)) < 0 ||
	    (r = uv_listen((uv_stream_t *)t, 1024, on_connection)) < 0) {
		snprintf(err, errsz, "listen: %s", uv_strerror(r));
		return -1;
	}
	return 0;
}

void
smtp_server_reload(struct smtp_server *srv, const struct conf *c)
{
	smtp_settings_unref(srv->set);
	srv->set = settings_new(c);
}

void
smtp_server_session_gone(struct smtp_server *srv)
{
	srv->nsessions--;
	if (srv->stopping && srv->nsessions == 0 && srv->stop_done) {
		void (*done)(void *) = srv->stop_done;

		srv->stop_done = NULL;
		done(srv->stop_arg);
	}
}

size_t
smtp_server_sessions(const struct smtp_server *srv)
{
	return srv->nsessions;
}

static void
listener_closed(uv_handle_t *h)
{
	free(h);
}

void
smtp_server_stop(struct smtp_server *srv, void (*done)(void *), void *arg)
{
	struct smtp_session *s, *next;
	size_t i;

	srv->stopping = 1;
	srv->stop_done = done;
	srv->stop_arg = arg;
	for (i = 0; i < srv->nlisteners; i++)
		if (!uv_is_closing((uv_handle_t *)srv->listeners[i]))
			uv_close(
			    (uv_handle_t *)srv->listeners[i], listener_closed);
	for (s = srv->sessions; s; s = next) {
		next = smtp_session_next(s);
		smtp_session_shutdown(s);
	}
	if (srv->nsessions == 0 && srv->stop_done) {
		srv->stop_done = NULL;
		done(arg);
	}
}

void
smtp_server_free(struct smtp_server *srv)
{
	if (srv == NULL)
		return;
	smtp_settings_unref(srv->set);
	/* Each listener frees itself once closed (smtp_server_stop). */
	free(srv->listeners);
	free(srv->rb.data);
	free(srv);
}
