/*
 * parent - binds the listeners, creates the spool, starts one process
 * per role, gives each pair its channel, and restarts and re-pairs a
 * process that dies.  It never reads network input.
 */
#include "parent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/xmem.h"
#include "../smtp/smtp_server.h"
#include "child.h"
#include "msg.h"
#include "repair.h"

#define STOP_KILL_MS 45000
#define QUICK_DEATH_MS 10000
#define MAX_SMTP_PROCESSES 64

struct slot;

/* A channel this process is the client of, to be paired again. */
struct rejoin {
	struct slot *client;
	enum proc_role role; /* of the other process */
	struct repair r;
	uint32_t gen;               /* of the latest channel (msg_peer) */
	pid_t client_pid, peer_pid; /* when the channel closed */
	uv_timer_t timer;
};

struct slot {
	struct parent *pp;
	enum proc_role role;
	unsigned index;
	pid_t pid; /* 0 when not running */
	struct ipc *ctl;
	uint64_t started;
	unsigned quick_deaths;
	uv_timer_t restart;
	struct rejoin rejoin[ROLE_COUNT];
};

struct parent {
	uv_loop_t *loop;
	const char *conf_path;
	struct conf *conf;
	char *conf_text;
	char exe[4096];
	int use_syslog;
	int *lfds;
	size_t nlfds;
	struct slot *slots;
	size_t nslots;
	uv_signal_t sig_term, sig_int, sig_hup, sig_chld;
	uv_timer_t kill_timer;
	int stopping;
	int status;
};

static void spawn(struct slot *s);

static char *
conf_text(const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		fatal("open_memstream");
	conf_print(c, fp);
	fclose(fp);
	return text;
}

/* mkdir -p with the given mode for the last component. */
static int
make_dir(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (i = 1; i < n; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		tmp[i] = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
own(const char *path, const char *user, mode_t mode, char *err, size_t errsz)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		snprintf(err, errsz,
		    "user %s does not exist (create it: useradd --system "
		    "--no-create-home --home-dir /nonexistent --shell "
		    "/usr/sbin/nologin %s)",
		    user, user);
		return -1;
	}
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0 || chmod(path, mode) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Everything in the spool belongs to the queue user: files left by a run
 * as root (ternd -1) or put there by hand would otherwise be unreadable
 * to the queue process, and good messages would be taken for corrupt.
 */
static int
own_spool(const struct conf *c, char *err, size_t errsz)
{
	static const char *const subdirs[] = {"tmp", "queue", "corrupt"};
	struct passwd *pw = getpwnam(c->queue_user);
	size_t i;

	if (pw == NULL)
		return 0; /* reported by own() already */
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		char path[4096];
		struct dirent *de;
		struct stat st;
		DIR *d;
		int dfd;

		snprintf(path, sizeof(path), "%s/%s", c->spool_directory,
		    subdirs[i]);
		if ((dfd = open(path,
		         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue; /* created by the queue process itself */
		if (fchown(dfd, pw->pw_uid, pw->pw_gid) < 0 ||
		    fchmod(dfd, 0700) < 0 || (d = fdopendir(dfd)) == NULL) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			close(dfd);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			        0 ||
			    !S_ISREG(st.st_mode) ||
			    (st.st_uid == pw->pw_uid &&
			        st.st_gid == pw->pw_gid))
				continue;
			if (fchownat(dfd, de->d_name, pw->pw_uid, pw->pw_gid,
			        AT_SYMLINK_NOFOLLOW) < 0)
				log_warn(
				    "parent: chown %s/%s", path, de->d_name);
		}
		closedir(d);
	}
	return 0;
}

int
parent_prepare_dirs(const struct conf *c, char *err, size_t errsz)
{
	const char *users[] = {
	    c->smtp_user, c->lookup_user, c->queue_user, c->mail_user};
	size_t i;

	if (make_dir(c->spool_directory, 0700) < 0 ||
	    make_dir(c->mail_directory, 0755) < 0) {
		snprintf(err, errsz, "cannot create %s or %s: %s",
		    c->spool_directory, c->mail_directory, strerror(errno));
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (getpwnam(users[i]) == NULL) {
			snprintf(err, errsz,
			    "user %s does not exist (create it: useradd "
			    "--system --no-create-home --home-dir /nonexistent "
			    "--shell /usr/sbin/nologin %s)",
			    users[i], users[i]);
			return -1;
		}
	if (make_dir(c->chroot_directory, 0755) < 0 ||
	    chown(c->chroot_directory, 0, 0) < 0 ||
	    chmod(c->chroot_directory, 0755) < 0) {
		snprintf(err, errsz, "chroot_directory %s: %s",
		    c->chroot_directory, strerror(errno));
		return -1;
	}
	if (own(c->spool_directory, c->queue_user, 0700, err, errsz) < 0 ||
	    own(c->mail_directory, c->mail_user, 0755, err, errsz) < 0)
		return -1;
	return own_spool(c, err, errsz);
}

static int
edge(enum proc_role a, enum proc_role b)
{
	return (a == ROLE_SMTP && (b == ROLE_LOOKUP || b == ROLE_QUEUE)) ||
	    (b == ROLE_SMTP && (a == ROLE_LOOKUP || a == ROLE_QUEUE)) ||
	    (a == ROLE_QUEUE && (b == ROLE_LOOKUP || b == ROLE_LOCAL)) ||
	    (b == ROLE_QUEUE && (a == ROLE_LOOKUP || a == ROLE_LOCAL));
}

static void
send_peer(struct slot *to, const struct slot *about, uint32_t gen, int fd)
{
	struct msg_peer m = {about->role, about->index, gen};
	struct buf b;

	buf_init(&b, 64);
	msg_enc_peer(&b, &m);
	ipc_send(to->ctl, MSG_PEER, 0, b.data, b.len, fd);
	buf_free(&b);
}

/* Give a and b a socketpair to talk over. */
static void
connect_pair(struct slot *a, struct slot *b)
{
	struct slot *client = msg_client_of(a->role, b->role) ? a : b;
	struct slot *server = client == a ? b : a;
	struct rejoin *j = &client->rejoin[server->role];
	int sv[2];

	if (ipc_socketpair(sv) < 0) {
		log_warn("parent: socketpair");
		return;
	}
	log_debug("parent: channel between %s %u and %s %u",
	    proc_role_names[a->role], a->index, proc_role_names[b->role],
	    b->index);
	j->gen++;
	send_peer(a, b, j->gen, sv[0]);
	send_peer(b, a, j->gen, sv[1]);
}

static void
send_conf(struct slot *s, const char *text)
{
	struct buf b;

	buf_init(&b, MSG_MAX_CONTROL);
	msg_enc_text(&b, text);
	ipc_send(s->ctl, MSG_CONF, 0, b.data, b.len, -1);
	buf_free(&b);
}

/* The process of that role (lookup, queue and local run one each). */
static struct slot *
slot_of(struct parent *pp, enum proc_role role)
{
	size_t i;

	for (i = 0; i < pp->nslots; i++)
		if (pp->slots[i].role == role)
			return &pp->slots[i];
	return NULL;
}

/* Not yet exited (a process that has is a zombie until reaped). */
static int
running(pid_t pid)
{
	siginfo_t si;

	if (pid <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return 0;
	return si.si_pid == 0;
}

static const char *
smtp_index(const struct slot *s, char *buf, size_t bufsz)
{
	if (s->role != ROLE_SMTP)
		return "";
	snprintf(buf, bufsz, " %u", s->index);
	return buf;
}

static void
rejoin_due(uv_timer_t *h)
{
	struct rejoin *j = h->data;
	struct slot *s = j->client;
	struct parent *pp = s->pp;
	struct slot *t = slot_of(pp, j->role);
	char idx[16];
	int ok;

	/* Both must be the processes whose channel closed: one that died or
	 * was restarted meanwhile gets its channels from spawn. */
	ok = !pp->stopping && t != NULL && s->pid != 0 &&
	    s->pid == j->client_pid && t->pid != 0 && t->pid == j->peer_pid &&
	    s->ctl != NULL && t->ctl != NULL && running(s->pid) &&
	    running(t->pid);
	repair_done(&j->r, uv_now(pp->loop), ok);
	if (!ok) {
		log_debug("parent: no new channel between the %s process%s "
		          "and the %s process: one of them is gone",
		    proc_role_names[s->role], smtp_index(s, idx, sizeof(idx)),
		    proc_role_names[j->role]);
		return;
	}
	log_info("parent: the channel between the %s process%s and the %s "
	         "process closed; gave them a new one",
	    proc_role_names[s->role], smtp_index(s, idx, sizeof(idx)),
	    proc_role_names[j->role]);
	connect_pair(s, t);
}

/* s lost its channel to the process of that role (MSG_LOST). */
static void
channel_lost(struct slot *s, enum proc_role role)
{
	struct parent *pp = s->pp;
	struct rejoin *j = &s->rejoin[role];
	struct slot *t = slot_of(pp, role);
	char idx[16];
	int64_t wait;

	if (pp->stopping || t == NULL)
		return;
	if ((wait = repair_report(&j->r, uv_now(pp->loop))) < 0)
		return; /* already on its way */
	j->client_pid = s->pid;
	j->peer_pid = t->pid;
	if (wait > REPAIR_FIRST_MS)
		log_warnx("parent: the channel between the %s process%s and "
		          "the %s process closed again; pairing them again in "
		          "%lld ms",
		    proc_role_names[s->role], smtp_index(s, idx, sizeof(idx)),
		    proc_role_names[role], (long long)wait);
	uv_timer_start(&j->timer, rejoin_due, (uint64_t)wait, 0);
}

/* s was started anew: what its old channels went through is void. */
static void
forget_channels(struct slot *s)
{
	struct parent *pp = s->pp;
	size_t i;
	int r;

	for (r = 0; r < ROLE_COUNT; r++) {
		uv_timer_stop(&s->rejoin[r].timer);
		repair_reset(&s->rejoin[r].r);
	}
	for (i = 0; i < pp->nslots; i++) {
		struct rejoin *j = &pp->slots[i].rejoin[s->role];

		if (msg_client_of(pp->slots[i].role, s->role)) {
			uv_timer_stop(&j->timer);
			repair_reset(&j->r);
		}
	}
}

static void
child_says(void *arg, struct ipc *ipc, struct ipc_msg *m)
{
	struct slot *s = arg;
	struct msg_peer lost;

	if (m->fd < 0 && msg_allowed(ROLE_PARENT, s->role, m->type) &&
	    msg_dec_lost(m->data, m->len, s->role, &lost) == 0) {
		/* A channel replaced meanwhile (its peer was restarted, say)
		 * needs nothing more. */
		if (lost.gen == s->rejoin[lost.role].gen)
			channel_lost(s, lost.role);
		return;
	}
	/* Logged once: a process that breaks the control protocol could
	 * fill the log, and cannot be trusted to stop when told.  It is
	 * killed and, as any process that dies, started again. */
	log_warnx("parent: unexpected message %u from the %s process (pid "
	          "%ld); killing it",
	    m->type, proc_role_names[s->role], (long)s->pid);
	if (m->fd >= 0)
		close(m->fd);
	s->ctl = NULL;
	ipc_close(ipc);
	if (s->pid != 0)
		kill(s->pid, SIGKILL);
}

static void
child_ctl_closed(void *arg, struct ipc *ipc)
{
	struct slot *s = arg;

	if (s->ctl == ipc)
		s->ctl = NULL;
	/* It broke the framing itself (ipc logged how): as in child_says,
	 * a process without its control channel is killed and restarted,
	 * not left running out of reach. */
	if (ipc_broken(ipc) && s->pid != 0) {
		log_warnx("parent: the %s process (pid %ld) broke its control "
		          "channel; killing it",
		    proc_role_names[s->role], (long)s->pid);
		kill(s->pid, SIGKILL);
	}
}

static void
spawn(struct slot *s)
{
	struct parent *pp = s->pp;
	char title[32], idx[16];
	int sv[2];
	pid_t pid;
	size_t i;

	if (ipc_socketpair(sv) < 0) {
		log_warn("parent: socketpair");
		return;
	}
	snprintf(title, sizeof(title), "ternd: %s", proc_role_names[s->role]);
	snprintf(idx, sizeof(idx), "%u", s->index);
	if ((pid = fork()) < 0) {
		log_warn("parent: fork");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		char *argv[] = {title, NULL};

		if (sv[1] == CHILD_CTL_FD)
			fcntl(CHILD_CTL_FD, F_SETFD, 0);
		else if (dup2(sv[1], CHILD_CTL_FD) < 0)
			_exit(127);
		setenv("TERN_ROLE", proc_role_names[s->role], 1);
		setenv("TERN_INDEX", idx, 1);
		if (pp->use_syslog)
			setenv("TERN_SYSLOG", "1", 1);
		execv(pp->exe, argv);
		_exit(127);
	}
	close(sv[1]);
	forget_channels(s);
	s->pid = pid;
	s->started = uv_now(pp->loop);
	s->ctl = ipc_new(
	    pp->loop, sv[0], MSG_MAX_CONTROL, child_says, child_ctl_closed, s);
	send_conf(s, pp->conf_text);
	for (i = 0; i < pp->nslots; i++) {
		struct slot *t = &pp->slots[i];

		if (t != s && t->pid != 0 && t->ctl && edge(s->role, t->role))
			connect_pair(s, t);
	}
	if (s->role == ROLE_SMTP)
		for (i = 0; i < pp->nlfds; i++) {
			int fd = dup(pp->lfds[i]);

			if (fd >= 0)
				ipc_send(s->ctl, MSG_LISTEN, 0, NULL, 0, fd);
		}
	ipc_send(s->ctl, MSG_GO, 0, NULL, 0, -1);
	log_info("parent: started the %s process%s%s (pid %ld)",
	    proc_role_names[s->role], s->role == ROLE_SMTP ? " " : "",
	    s->role == ROLE_SMTP ? idx : "", (long)pid);
}

static void
restart_due(uv_timer_t *t)
{
	struct slot *s = t->data;

	if (!s->pp->stopping && s->pid == 0)
		spawn(s);
}

static int
all_down(struct parent *pp, enum proc_role role)
{
	size_t i;

	for (i = 0; i < pp->nslots; i++)
		if (pp->slots[i].pid != 0 &&
		    (role == ROLE_COUNT || pp->slots[i].role == role))
			return 0;
	return 1;
}

static void
stop_role(struct parent *pp, enum proc_role role)
{
	size_t i;

	for (i = 0; i < pp->nslots; i++) {
		struct slot *s = &pp->slots[i];

		if (s->role == role && s->pid != 0 && s->ctl)
			ipc_send(s->ctl, MSG_STOP, 0, NULL, 0, -1);
	}
}

/* Stop in order: smtp (sessions finish their commits), then the queue
 * (its deliveries finish), then local and lookup. */
static void
advance_stop(struct parent *pp)
{
	if (!all_down(pp, ROLE_SMTP)) {
		stop_role(pp, ROLE_SMTP);
		return;
	}
	if (!all_down(pp, ROLE_QUEUE)) {
		stop_role(pp, ROLE_QUEUE);
		return;
	}
	if (!all_down(pp, ROLE_COUNT)) {
		stop_role(pp, ROLE_LOCAL);
		stop_role(pp, ROLE_LOOKUP);
		return;
	}
	uv_stop(pp->loop);
}

static void
reaped(struct parent *pp, pid_t pid, int status)
{
	struct slot *s = NULL;
	uint64_t delay = 0;
	size_t i;

	for (i = 0; i < pp->nslots; i++)
		if (pp->slots[i].pid == pid)
			s = &pp->slots[i];
	if (s == NULL)
		return;
	s->pid = 0;
	if (s->ctl) {
		ipc_close(s->ctl);
		s->ctl = NULL;
	}
	if (pp->stopping) {
		/* A process that did not stop cleanly may have left work
		 * undone (it is redone at the next start): say so. */
		if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
			if (WIFSIGNALED(status))
				log_warnx(
				    "parent: the %s process (pid %ld) was "
				    "killed by signal %d while stopping",
				    proc_role_names[s->role], (long)pid,
				    WTERMSIG(status));
			else
				log_warnx(
				    "parent: the %s process (pid %ld) "
				    "exited with status %d while stopping",
				    proc_role_names[s->role], (long)pid,
				    WEXITSTATUS(status));
			pp->status = 1;
		}
		advance_stop(pp);
		return;
	}
	if (WIFSIGNALED(status))
		log_warnx("parent: the %s process (pid %ld) was killed by "
		          "signal %d; starting it again",
		    proc_role_names[s->role], (long)pid, WTERMSIG(status));
	else
		log_warnx("parent: the %s process (pid %ld) exited with "
		          "status %d; starting it again",
		    proc_role_names[s->role], (long)pid, WEXITSTATUS(status));
	/* A process that keeps dying at once is restarted more slowly. */
	if (uv_now(pp->loop) - s->started < QUICK_DEATH_MS) {
		delay = 1000u << (s->quick_deaths < 5 ? s->quick_deaths : 5);
		s->quick_deaths++;
	} else {
		s->quick_deaths = 0;
	}
	uv_timer_start(&s->restart, restart_due, delay, 0);
}

static void
kill_stragglers(uv_timer_t *t)
{
	struct parent *pp = t->data;
	size_t i;

	for (i = 0; i < pp->nslots; i++)
		if (pp->slots[i].pid != 0) {
			log_warnx("parent: the %s process did not stop; "
			          "killing it",
			    proc_role_names[pp->slots[i].role]);
			kill(pp->slots[i].pid, SIGKILL);
		}
}

static void
reload(struct parent *pp)
{
	struct conf *c;
	char err[512];
	size_t i;

	if ((c = conf_load(pp->conf_path, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	if (strcmp(c->raw[CONF_P_smtp_listen],
	        pp->conf->raw[CONF_P_smtp_listen]) != 0 ||
	    strcmp(c->spool_directory, pp->conf->spool_directory) != 0 ||
	    c->smtp_processes != pp->conf->smtp_processes)
		log_warnx("reload: smtp_listen, spool_directory and "
		          "smtp_processes take effect after a restart");
	conf_free(pp->conf);
	pp->conf = c;
	free(pp->conf_text);
	pp->conf_text = conf_text(c);
	for (i = 0; i < pp->nslots; i++)
		if (pp->slots[i].pid != 0 && pp->slots[i].ctl)
			send_conf(&pp->slots[i], pp->conf_text);
	log_info("reloaded configuration%s%s", c->file ? " from " : "",
	    c->file ? c->file : "");
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct parent *pp = h->data;
	size_t i;
	int status;
	pid_t pid;

	switch (signum) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			reaped(pp, pid, status);
		break;
	case SIGHUP:
		reload(pp);
		break;
	default:
		if (pp->stopping)
			break;
		pp->stopping = 1;
		log_info("stopping (signal %d)", signum);
		for (i = 0; i < pp->nslots; i++) {
			int r;

			uv_timer_stop(&pp->slots[i].restart);
			for (r = 0; r < ROLE_COUNT; r++)
				uv_timer_stop(&pp->slots[i].rejoin[r].timer);
		}
		uv_timer_start(
		    &pp->kill_timer, kill_stragglers, STOP_KILL_MS, 0);
		advance_stop(pp);
		break;
	}
}

static unsigned
smtp_count(const struct conf *c)
{
	long n = (long)c->smtp_processes;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > MAX_SMTP_PROCESSES)
		n = MAX_SMTP_PROCESSES;
	return (unsigned)n;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
parent_main(const char *conf_path, struct conf *c, int use_syslog)
{
	struct parent pp;
	char err[512];
	ssize_t n;
	size_t i, k = 0;
	unsigned nsmtp = smtp_count(c);

	memset(&pp, 0, sizeof(pp));
	pp.conf_path = conf_path;
	pp.conf = c;
	pp.use_syslog = use_syslog;
	log_set_role("parent");
	proc_set_title("ternd: parent");
	if ((n = readlink("/proc/self/exe", pp.exe, sizeof(pp.exe) - 1)) < 0)
		fatal("readlink /proc/self/exe");
	pp.exe[n] = '\0';
	if (parent_prepare_dirs(c, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (smtp_listen_open(c, &pp.lfds, &pp.nlfds, err, sizeof(err)) < 0)
		fatalx("%s", err);
	pp.conf_text = conf_text(c);
	pp.loop = uv_default_loop();
	pp.nslots = 3 + nsmtp;
	pp.slots = xcalloc(pp.nslots, sizeof(*pp.slots));
	/* In start order: each process is wired to those already running. */
	pp.slots[k++].role = ROLE_LOOKUP;
	pp.slots[k++].role = ROLE_QUEUE;
	pp.slots[k++].role = ROLE_LOCAL;
	for (i = 0; i < nsmtp; i++) {
		pp.slots[k].role = ROLE_SMTP;
		pp.slots[k++].index = (unsigned)i;
	}
	for (i = 0; i < pp.nslots; i++) {
		struct slot *s = &pp.slots[i];
		int r;

		s->pp = &pp;
		uv_timer_init(pp.loop, &s->restart);
		s->restart.data = s;
		for (r = 0; r < ROLE_COUNT; r++) {
			s->rejoin[r].client = s;
			s->rejoin[r].role = (enum proc_role)r;
			uv_timer_init(pp.loop, &s->rejoin[r].timer);
			s->rejoin[r].timer.data = &s->rejoin[r];
		}
	}
	uv_signal_init(pp.loop, &pp.sig_term);
	uv_signal_init(pp.loop, &pp.sig_int);
	uv_signal_init(pp.loop, &pp.sig_hup);
	uv_signal_init(pp.loop, &pp.sig_chld);
	pp.sig_term.data = pp.sig_int.data = pp.sig_hup.data =
	    pp.sig_chld.data = &pp;
	uv_signal_start(&pp.sig_chld, on_signal, SIGCHLD);
	uv_signal_start(&pp.sig_term, on_signal, SIGTERM);
	uv_signal_start(&pp.sig_int, on_signal, SIGINT);
	uv_signal_start(&pp.sig_hup, on_signal, SIGHUP);
	uv_timer_init(pp.loop, &pp.kill_timer);
	pp.kill_timer.data = &pp;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < pp.nslots; i++)
		spawn(&pp.slots[i]);
	log_info("ternd started%s%s; spool %s, mail %s, %u smtp process%s",
	    c->file ? " with " : " with built-in defaults",
	    c->file ? c->file : "", c->spool_directory, c->mail_directory,
	    nsmtp, nsmtp == 1 ? "" : "es");

	uv_run(pp.loop, UV_RUN_DEFAULT);

	for (i = 0; i < pp.nslots; i++)
		if (pp.slots[i].ctl)
			ipc_close(pp.slots[i].ctl);
	for (i = 0; i < pp.nlfds; i++)
		close(pp.lfds[i]);
	uv_walk(pp.loop, close_walk, NULL);
	uv_run(pp.loop, UV_RUN_DEFAULT);
	uv_loop_close(pp.loop);
	free(pp.lfds);
	free(pp.slots);
	free(pp.conf_text);
	conf_free(pp.conf);
	log_info("ternd stopped");
	return pp.status;
}
