/*
 * NAME
 *	child - what every process below the parent has in common
 * PURPOSE
 *	A child is started by the parent (fork and exec of ternd itself,
 *	with TERN_ROLE in the environment and its control channel on
 *	descriptor 3).  It waits for the configuration, drops privileges the
 *	way its role says (user, chroot, no_new_privs; written once, here),
 *	then hands the control messages to its role: peers, listeners, go,
 *	reload, stop.  It tells the parent when a channel to a peer closes.
 *	The roles themselves live in role_*.c.
 * TRUST
 *	Any child.  The control channel comes from the parent, which is
 *	trusted; its messages are still checked.
 * INVARIANTS
 *	No role code runs with more privilege than its table entry allows:
 *	start() is called only after the drop.
 */
#ifndef TERN_CHILD_H
#define TERN_CHILD_H

#include <uv.h>

#include "../conf/conf.h"
#include "msg.h"

#define CHILD_CTL_FD 3

struct child;

struct role_ops {
	enum proc_role role;
	/* The configuration parameter naming this role's user. */
	const char *(*user)(const struct conf *c);
	int chroot; /* confine to chroot_directory */
	/* Privileges are dropped; serve.  Returns 0 or -1 (exit). */
	int (*start)(struct child *ch, const struct conf *c);
	void (*reload)(struct child *ch, const struct conf *c);
	void (*peer)(
	    struct child *ch, enum proc_role role, uint32_t index, int fd);
	void (*listen)(struct child *ch, int fd);
	/* Begin a graceful stop; call child_exit when done. */
	void (*stop)(struct child *ch);
};

extern const struct role_ops role_smtp_ops, role_lookup_ops, role_queue_ops,
    role_local_ops;

/* Run the child whose role is named in the environment; never returns. */
void child_main(const char *role, const char *index) __attribute__((noreturn));

uv_loop_t *child_loop(struct child *ch);
unsigned child_index(struct child *ch);
void *child_data(struct child *ch);
void child_set_data(struct child *ch, void *data);
/* End the process (after the role has stopped). */
void child_exit(struct child *ch, int status);
/*
 * The channel to the process of that role closed while this one goes on:
 * ask the parent for a new one (MSG_LOST).  Only the client side of a
 * channel asks (msg_client_of); nothing is sent while stopping.  ch is a
 * struct child, as a callback argument.
 */
void child_report_lost(void *ch, enum proc_role role);

/* Resolve a user and drop to it; chroot first if dir is set.  0 or -1. */
int proc_drop_privileges(
    const char *user, const char *dir, char *err, size_t errsz);
/* The process name ps shows (argv area) and the kernel's comm. */
void proc_set_title(const char *title);
void proc_save_argv(int argc, char **argv);

#endif
