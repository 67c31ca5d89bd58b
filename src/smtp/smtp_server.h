/*
 * NAME
 *	smtp_server - listeners, session limits, reload and graceful stop
 * PURPOSE
 *	Binds the SMTP listeners, accepts connections and starts a session
 *	for each (smtp_session.c), enforcing the total and per-client session
 *	limits and the client access table at the greeting.  SIGHUP swaps in
 *	new settings and tables for new commands and sessions; SIGTERM stops
 *	accepting, answers idle sessions 421 4.3.2 and lets pending commits
 *	finish before reporting that it is done.
 * TRUST
 *	smtp process: everything arriving on the sockets is hostile.
 * INVARIANTS
 *	Sessions never outnumber max_sessions (+1 transient for the 421).
 *	A session being committed is never torn down before the queue
 *	answers.
 */
#ifndef TERN_SMTP_SERVER_H
#define TERN_SMTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "../conf/conf.h"
#include "smtp_services.h"

struct smtp_server;

/*
 * Bind every smtp_listen address (done by the parent, which may be root).
 * *fds is allocated.  0, or -1 with err naming the address.
 */
int smtp_listen_open(
    const struct conf *c, int **fds, size_t *nfds, char *err, size_t errsz);

struct smtp_server *smtp_server_new(
    uv_loop_t *loop, const struct conf *c, const struct smtp_services *svc);
/* Serve a listening socket from smtp_listen_open (takes the fd). */
int smtp_server_adopt(struct smtp_server *srv, int fd, char *err, size_t errsz);
/* New settings; sessions in progress keep theirs. */
void smtp_server_reload(struct smtp_server *srv, const struct conf *c);
/* Stop accepting; done(arg) once every session is gone. */
void smtp_server_stop(struct smtp_server *srv, void (*done)(void *), void *arg);
void smtp_server_free(struct smtp_server *srv);
size_t smtp_server_sessions(const struct smtp_server *srv);

#endif
