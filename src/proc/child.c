/*
 * child - a process below the parent: its title, dropping privileges,
 * its control channel to the parent, configuration updates and the
 * graceful stop.
 */
#include "child.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/sanitizer.h"
#include "../common/strutil.h"
#include "../common/xmem.h"

struct child {
	uv_loop_t *loop;
	const struct role_ops *ops;
	unsigned index;
	struct ipc *ctl;
	struct conf *conf;
	int started;
	int stopping;
	int status;
	void *data;
	uint32_t gen[ROLE_COUNT]; /* of the channel to each role (MSG_PEER) */
};

static const struct role_ops *const roles[] = {
    &role_smtp_ops,
    &role_lookup_ops,
    &role_queue_ops,
    &role_local_ops,
};

/* Set once this process is confined to chroot_directory. */
static int chrooted;

static char *title_area;
static size_t title_len;

void
proc_save_argv(int argc, char **argv)
{
	int i;

	/* argv strings sit end to end: that whole area is the title. */
	if (argc < 1)
		return;
	title_area = argv[0];
	title_len = 0;
	for (i = 0; i < argc; i++)
		if (argv[i] == title_area + title_len)
			title_len += strlen(argv[i]) + 1;
}

void
proc_set_title(const char *title)
{
	char comm[16];

	if (title_area != NULL && title_len > 1) {
		memset(title_area, 0, title_len);
		snprintf(title_area, title_len, "%s", title);
	}
	snprintf(comm, sizeof(comm), "%s", title);
	prctl(PR_SET_NAME, comm, 0, 0, 0);
}

int
proc_drop_privileges(const char *user, const char *dir, char *err, size_t errsz)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0; /* an ordinary user has nothing to drop */
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz,
		    "user %s does not exist (create it: "
		    "useradd --system --no-create-home --home-dir /nonexistent "
		    "--shell /usr/sbin/nologin %s)",
		    user, user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0) {
		snprintf(err, errsz, "user %s is root", user);
		return -1;
	}
	/* Times in logs and headers: read the zone before it is out of
	 * reach. */
	tzset();
	if (dir != NULL) {
		if (chdir(dir) < 0 || chroot(dir) < 0 || chdir("/") < 0) {
			snprintf(
			    err, errsz, "chroot %s: %s", dir, strerror(errno));
			return -1;
		}
		chrooted = 1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		snprintf(
		    err, errsz, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errsz,
		    "still able to become root after "
		    "dropping to %s",
		    user);
		return -1;
	}
#if SANITIZER_BUILD
	/* Changing user made us non-dumpable, and LeakSanitizer then cannot
	 * read our /proc/self/task.  Release builds stay non-dumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}

uv_loop_t *
child_loop(struct child *ch)
{
	return ch->loop;
}

unsigned
child_index(struct child *ch)
{
	return ch->index;
}

void *
child_data(struct child *ch)
{
	return ch->data;
}

void
child_set_data(struct child *ch, void *data)
{
	ch->data = data;
}

void
child_exit(struct child *ch, int status)
{
	ch->status = status;
	uv_stop(ch->loop);
}

void
child_report_lost(void *arg, enum proc_role role)
{
	struct child *ch = arg;
	struct msg_peer m = {role, 0, 0};
	struct buf b;

	if (ch->ctl == NULL || ch->stopping ||
	    !msg_client_of(ch->ops->role, role))
		return;
	/* The channel that closed is the latest: one replaced by a newer
	 * one is closed without a report. */
	m.gen = ch->gen[role];
	buf_init(&b, 64);
	msg_enc_peer(&b, &m);
	ipc_send(ch->ctl, MSG_LOST, 0, b.data, b.len, -1);
	buf_free(&b);
}

static void
begin_stop(struct child *ch)
{
	if (ch->stopping)
		return;
	ch->stopping = 1;
	if (ch->started)
		ch->ops->stop(ch);
	else
		child_exit(ch, 0);
}

static void
first_conf(struct child *ch, struct conf *c)
{
	const char *role = proc_role_names[ch->ops->role];
	char err[512];

	ch->conf = c;
	if (proc_drop_privileges(ch->ops->user(c),
	        ch->ops->chroot ? c->chroot_directory : NULL, err,
	        sizeof(err)) < 0) {
		log_warnx("%s: %s", role, err);
		child_exit(ch, 1);
		return;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (ch->ops->start(ch, c) < 0) {
		child_exit(ch, 1);
		return;
	}
	ch->started = 1;
}

static void
on_ctl(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct child *ch = arg;
	struct msg_peer peer;
	struct conf *c;
	char *text, err[512];

	if (!msg_allowed(ch->ops->role, ROLE_PARENT, m->type) ||
	    (m->fd >= 0 && m->type != MSG_PEER && m->type != MSG_LISTEN)) {
		log_warnx("%s: unexpected control message %u",
		    proc_role_names[ch->ops->role], m->type);
		if (m->fd >= 0)
			close(m->fd);
		return;
	}
	switch (m->type) {
	case MSG_CONF:
		if (msg_dec_text(m->data, m->len, &text) < 0)
			break;
		c = conf_load_text(text, err, sizeof(err));
		free(text);
		if (c == NULL) {
			log_warnx("%s: bad configuration from the parent: %s",
			    proc_role_names[ch->ops->role], err);
			break;
		}
		if (ch->conf == NULL) {
			first_conf(ch, c);
		} else {
			if (ch->started)
				ch->ops->reload(ch, c);
			conf_free(ch->conf);
			ch->conf = c;
		}
		break;
	case MSG_PEER:
		if (m->fd < 0 || msg_dec_peer(m->data, m->len, &peer) < 0 ||
		    !ch->started) {
			if (m->fd >= 0)
				close(m->fd);
			break;
		}
		ch->gen[peer.role] = peer.gen;
		ch->ops->peer(ch, peer.role, peer.index, m->fd);
		break;
	case MSG_LISTEN:
		if (m->fd < 0 || !ch->started || ch->ops->listen == NULL) {
			if (m->fd >= 0)
				close(m->fd);
			break;
		}
		ch->ops->listen(ch, m->fd);
		break;
	case MSG_GO:
		break;
	case MSG_STOP:
		begin_stop(ch);
		break;
	}
	(void)ipc;
}

static void
ctl_closed(void *arg, struct ipc *ipc)
{
	struct child *ch = arg;

	/* The parent is gone: nobody will restart us, so finish cleanly. */
	ch->ctl = NULL;
	(void)ipc;
	begin_stop(ch);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void
child_main(const char *role, const char *index)
{
	struct child ch;
	char title[64];
	size_t i;

	memset(&ch, 0, sizeof(ch));
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(proc_role_names[roles[i]->role], role) == 0)
			ch.ops = roles[i];
	if (ch.ops == NULL) {
		fprintf(stderr, "ternd: unknown role \"%s\"\n", role);
		exit(2);
	}
	if (index != NULL) {
		uint64_t v;

		if (str_to_u64(index, strlen(index), &v) < 0 ||
		    v > MSG_INDEX_MAX) {
			fprintf(stderr, "ternd: bad TERN_INDEX\n");
			exit(2);
		}
		ch.index = (unsigned)v;
	}
	log_set_role(role);
	snprintf(title, sizeof(title), "ternd: %s", role);
	proc_set_title(title);
	/* The parent coordinates stopping and reloading. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	ch.loop = uv_default_loop();
	ch.ctl = ipc_new(
	    ch.loop, CHILD_CTL_FD, MSG_MAX_CONTROL, on_ctl, ctl_closed, &ch);
	uv_run(ch.loop, UV_RUN_DEFAULT);
	if (ch.ctl)
		ipc_close(ch.ctl);
	uv_walk(ch.loop, close_walk, NULL);
	uv_run(ch.loop, UV_RUN_NOWAIT);
#if SANITIZER_BUILD
	/* LeakSanitizer's exit check reads /proc, which a chrooted process
	 * cannot see: it would abort.  The smtp code's leaks are checked by
	 * the unit tests, the fuzzers and "ternd -1". */
	if (chrooted) {
		conf_free(ch.conf);
		_exit(ch.status);
	}
#endif
	conf_free(ch.conf);
	exit(ch.status);
}
