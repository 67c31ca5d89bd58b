/*
 * ternd - the tern mail server.
 *
 * Loads the configuration (or runs on built-in defaults) and starts the
 * parent process, which runs the lookup, queue, local and smtp processes
 * (proc/parent.c).  The same binary, started by the parent with TERN_ROLE
 * set, becomes one of those processes (proc/child.c).  With -1 every role
 * runs in this one process instead, without privilege separation.
 * SIGTERM/SIGINT stop gracefully; SIGHUP reloads the configuration and
 * the lookup tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "common/log.h"
#include "common/xmem.h"
#include "conf/conf.h"
#include "deliver/local.h"
#include "lookup/lookup.h"
#include "lookup/sessions.h"
#include "proc/child.h"
#include "proc/direct.h"
#include "proc/parent.h"
#include "proc/qparams.h"
#include "queue/queue.h"
#include "queue/sched.h"
#include "queue/store.h"
#include "smtp/smtp_server.h"

#define STOP_GRACE_MS 30000

struct ternd {
	uv_loop_t *loop;
	const char *conf_path;
	struct conf *conf;
	struct lookup *lookup;
	struct sessions *sessions;
	struct queue *queue;
	struct local_agent *local;
	struct direct *direct;
	struct sched *sched;
	struct smtp_server *smtp;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t stop_timer;
	uint64_t stop_started;
	int stopping;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ternd [-1dnstv] [-f file]\n"
	    "  -f file  configuration file (default: built-in defaults only)\n"
	    "  -1       run every role in one process (no privilege "
	    "separation)\n"
	    "  -n       print the effective configuration and exit\n"
	    "  -t       check the configuration and tables, then exit\n"
	    "  -s       log to syslog (mail facility) instead of stderr\n"
	    "  -d       detach and log to syslog\n"
	    "  -v       verbose logging\n");
	exit(2);
}

static void
reload(struct ternd *t)
{
	struct conf *c;
	struct lookup *lk;
	struct queue_params qp;
	struct sched_params sp;
	char err[512];

	if ((c = conf_load(t->conf_path, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	if ((lk = lookup_new(c, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		conf_free(c);
		return;
	}
	lookup_log_problems(lk);
	if (strcmp(c->spool_directory, t->conf->spool_directory) != 0)
		log_warnx("reload: spool_directory changes take effect after "
		          "a restart");
	queue_params_from(c, &qp);
	queue_set_params(t->queue, &qp);
	direct_reload(t->direct, c, lk);
	smtp_server_reload(t->smtp, c);
	sched_params_from(c, &sp);
	sched_set_params(t->sched, &sp);
	lookup_free(t->lookup);
	t->lookup = lk;
	conf_free(t->conf);
	t->conf = c;
	log_info("reloaded configuration%s%s", c->file ? " from " : "",
	    c->file ? c->file : "");
}

static void
stop_poll(uv_timer_t *timer)
{
	struct ternd *t = timer->data;
	unsigned busy =
	    sched_active(t->sched) + queue_commits_in_flight(t->queue);

	if (busy == 0 || uv_now(t->loop) - t->stop_started > STOP_GRACE_MS) {
		if (busy)
			log_warnx("stopping with %u deliveries unfinished; "
			          "they will be retried",
			    busy);
		uv_timer_stop(timer);
		uv_stop(t->loop);
	}
}

static void
smtp_stopped(void *arg)
{
	struct ternd *t = arg;

	sched_stop(t->sched);
	uv_timer_start(&t->stop_timer, stop_poll, 0, 20);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct ternd *t = h->data;

	if (signum == SIGHUP) {
		reload(t);
		return;
	}
	if (t->stopping)
		return;
	t->stopping = 1;
	log_info("stopping (signal %d)", signum);
	t->stop_started = uv_now(t->loop);
	smtp_server_stop(t->smtp, smtp_stopped, t);
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
detach(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() < 0)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Every role in this process: the queue, delivery and SMTP on one loop. */
static int
run_single(struct ternd *tp)
{
	struct ternd t = *tp;
	struct queue_store *store;
	struct queue_params qp;
	struct sched_params sp;
	struct smtp_services smtp_svc;
	struct sched_services sched_svc;
	char err[512], pool[16];
	int *lfds;
	size_t nlfds, i;

	if (parent_prepare_dirs(t.conf, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* Commits and deliveries each wait for the disk in a worker thread:
	 * enough threads that they overlap, so their syncs are shared. */
	snprintf(pool, sizeof(pool), "%llu",
	    (unsigned long long)t.conf->delivery_concurrency + 32);
	setenv("UV_THREADPOOL_SIZE", pool, 0);

	t.loop = uv_default_loop();
	if ((store = store_spool_new(
	         t.loop, t.conf->spool_directory, err, sizeof(err))) == NULL)
		fatalx("spool: %s", err);
	queue_params_from(t.conf, &qp);
	t.queue = queue_new(t.loop, store, &qp);
	t.local = local_new(t.loop, t.conf->myhostname);
	t.sessions = sessions_new();
	t.direct = direct_new(t.conf, t.lookup, t.sessions, t.queue, t.local);
	direct_sched_services(t.direct, &sched_svc);
	direct_smtp_services(t.direct, &smtp_svc);
	sched_params_from(t.conf, &sp);
	t.sched = sched_new(t.queue, &sched_svc, &sp);
	if (queue_recover(t.queue) < 0)
		fatal("queue: recovery failed");
	if (smtp_listen_open(t.conf, &lfds, &nlfds, err, sizeof(err)) < 0)
		fatalx("%s", err);
	t.smtp = smtp_server_new(t.loop, t.conf, &smtp_svc);
	for (i = 0; i < nlfds; i++)
		if (smtp_server_adopt(t.smtp, lfds[i], err, sizeof(err)) < 0)
			fatalx("%s", err);
	free(lfds);

	uv_signal_init(t.loop, &t.sig_term);
	uv_signal_init(t.loop, &t.sig_int);
	uv_signal_init(t.loop, &t.sig_hup);
	t.sig_term.data = t.sig_int.data = t.sig_hup.data = &t;
	uv_signal_start(&t.sig_term, on_signal, SIGTERM);
	uv_signal_start(&t.sig_int, on_signal, SIGINT);
	uv_signal_start(&t.sig_hup, on_signal, SIGHUP);
	uv_timer_init(t.loop, &t.stop_timer);
	t.stop_timer.data = &t;
	log_info("ternd started in one process%s%s; spool %s, mail %s",
	    t.conf->file ? " with " : " with built-in defaults",
	    t.conf->file ? t.conf->file : "", t.conf->spool_directory,
	    t.conf->mail_directory);

	uv_run(t.loop, UV_RUN_DEFAULT);

	smtp_server_free(t.smtp);
	sched_free(t.sched);
	direct_free(t.direct);
	local_free(t.local);
	queue_free(t.queue);
	sessions_free(t.sessions);
	uv_walk(t.loop, close_walk, NULL);
	uv_run(t.loop, UV_RUN_DEFAULT);
	uv_loop_close(t.loop);
	lookup_free(t.lookup);
	conf_free(t.conf);
	log_info("ternd stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	struct ternd t;
	const char *role;
	char err[512], *conf_path = NULL;
	int ch, print = 0, check = 0, use_syslog = 0, daemonize = 0,
	        verbose = 0, single = 0;

	if ((role = getenv("TERN_ROLE")) != NULL) {
		proc_save_argv(argc, argv);
		log_init(role, getenv("TERN_SYSLOG") != NULL,
		    getenv("TERN_VERBOSE") != NULL);
		child_main(role, getenv("TERN_INDEX"));
	}
	memset(&t, 0, sizeof(t));
	while ((ch = getopt(argc, argv, "1df:hnstv")) != -1) {
		switch (ch) {
		case '1':
			single = 1;
			break;
		case 'd':
			daemonize = use_syslog = 1;
			break;
		case 'f':
			t.conf_path = optarg;
			break;
		case 'n':
			print = 1;
			break;
		case 's':
			use_syslog = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("ternd", 0, verbose);
	if ((t.conf = conf_load(t.conf_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ternd: %s\n", err);
		return 1;
	}
	if (print) {
		conf_print(t.conf, stdout);
		conf_free(t.conf);
		return 0;
	}
	if ((t.lookup = lookup_new(t.conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ternd: %s\n", err);
		conf_free(t.conf);
		return 1;
	}
	if (check) {
		/* Every entry that cannot be used, not only the first. */
		size_t i, n = lookup_problem_count(t.lookup);

		for (i = 0; i < n; i++)
			fprintf(
			    stderr, "ternd: %s\n", lookup_problem(t.lookup, i));
		lookup_free(t.lookup);
		conf_free(t.conf);
		return n > 0 ? 1 : 0;
	}
	if (daemonize)
		detach();
	log_init("ternd", use_syslog, verbose);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (single) {
		lookup_log_problems(t.lookup);
		return run_single(&t);
	}
	/* The lookup process loads the tables itself. */
	lookup_free(t.lookup);
	/* The process title is written over argv: keep what we need. */
	if (t.conf_path != NULL)
		t.conf_path = conf_path = xstrdup(t.conf_path);
	proc_save_argv(argc, argv);
	if (verbose)
		setenv("TERN_VERBOSE", "1", 1);
	ch = parent_main(t.conf_path, t.conf, use_syslog);
	free(conf_path);
	return ch;
}
