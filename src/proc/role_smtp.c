/*
 * role_smtp - an SMTP process: unprivileged and chrooted, it parses every
 * byte that comes from the network.  It asks the lookup process about
 * clients and recipients and the queue process for message files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xmem.h"
#include "../smtp/smtp_server.h"
#include "child.h"
#include "svc_ipc.h"

struct s_state {
	struct child *ch;
	struct svc_ipc *svc;
	struct smtp_server *srv;
};

static const char *
smtp_user(const struct conf *c)
{
	return c->smtp_user;
}

static int
start(struct child *ch, const struct conf *c)
{
	struct s_state *st = xcalloc(1, sizeof(*st));
	struct smtp_services svc;

	st->ch = ch;
	st->svc = svc_ipc_new(child_loop(ch), ROLE_SMTP);
	svc_ipc_on_lost(st->svc, child_report_lost, ch);
	svc_ipc_smtp_services(st->svc, &svc);
	st->srv = smtp_server_new(child_loop(ch), c, &svc);
	child_set_data(ch, st);
	return 0;
}

static void
reload(struct child *ch, const struct conf *c)
{
	struct s_state *st = child_data(ch);

	smtp_server_reload(st->srv, c);
}

static void
peer(struct child *ch, enum proc_role role, uint32_t index, int fd)
{
	struct s_state *st = child_data(ch);

	if (role != ROLE_LOOKUP && role != ROLE_QUEUE) {
		close(fd);
		return;
	}
	svc_ipc_set_peer(st->svc, role, fd);
	(void)index;
}

static void
listen_on(struct child *ch, int fd)
{
	struct s_state *st = child_data(ch);
	char err[256];

	if (smtp_server_adopt(st->srv, fd, err, sizeof(err)) < 0)
		log_warnx("smtp: %s", err);
}

static void
stopped(void *arg)
{
	struct s_state *st = arg;

	child_exit(st->ch, 0);
}

static void
stop(struct child *ch)
{
	struct s_state *st = child_data(ch);

	smtp_server_stop(st->srv, stopped, st);
}

const struct role_ops role_smtp_ops = {
    .role = ROLE_SMTP,
    .user = smtp_user,
    .chroot = 1,
    .start = start,
    .reload = reload,
    .peer = peer,
    .listen = listen_on,
    .stop = stop,
};
