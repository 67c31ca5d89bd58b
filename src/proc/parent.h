/*
 * NAME
 *	parent - the process that starts, wires and watches all the others
 * PURPOSE
 *	Root only where it must be: it reads the configuration, prepares the
 *	directories (owned by the right users), binds the listeners, then
 *	starts the lookup, queue, local and smtp processes (fork and exec of
 *	ternd itself) and connects them with socketpairs.  A process that
 *	dies is logged and started again, and its peers get fresh channels.
 *	A channel that closes while both its processes run (one dropped the
 *	other for breaking the protocol) is given again when the client side
 *	reports it (MSG_LOST), ever more slowly if it keeps closing
 *	(repair.h).  SIGTERM stops the smtp processes first, then the queue,
 *	then the rest, so that nothing accepted is lost; SIGHUP sends every
 *	process the reloaded configuration.
 * TRUST
 *	parent process, usually root.  It reads no network input; its
 *	children's control messages are checked, and a child that sends
 *	anything else than a valid MSG_LOST is killed (then started again).
 * INVARIANTS
 *	The parent never parses mail or SMTP.  Each process gets exactly the
 *	channels its role needs: smtp-lookup, smtp-queue, queue-lookup,
 *	queue-local.
 */
#ifndef TERN_PARENT_H
#define TERN_PARENT_H

#include "../conf/conf.h"

/* Runs until stopped; returns the exit status.  Takes c. */
int parent_main(const char *conf_path, struct conf *c, int use_syslog);

/*
 * Create spool_directory, mail_directory and (as root) chroot_directory,
 * owned by the users that need them.  0 or -1 with err.
 */
int parent_prepare_dirs(const struct conf *c, char *err, size_t errsz);

#endif
