/*
 * NAME
 *	openmsgs - the messages being received, by queue ID and owner
 * PURPOSE
 *	The queue side's record of which messages are open and for whom: a
 *	session's text, commit and abort name a message by its queue ID, and
 *	only the owner that opened it (an smtp process's channel, or the
 *	sessions of "ternd -1") may use it.
 * TRUST
 *	queue process (or ternd -1).  IDs come from smtp processes, which may
 *	be compromised: a lookup under another owner finds nothing.
 * INVARIANTS
 *	An ID is open at most once.  Lookups cost O(1) on average.
 */
#ifndef TERN_OPENMSGS_H
#define TERN_OPENMSGS_H

#include <stddef.h>

#include "../queue/queue.h"

struct openmsgs;

struct openmsgs *openmsgs_new(void);
/* Frees the map only: the messages must be gone (openmsgs_drop). */
void openmsgs_free(struct openmsgs *om);
void openmsgs_add(struct openmsgs *om, struct queue_msg *m, const void *owner);
/* The owner's message of that ID, or NULL. */
struct queue_msg *
openmsgs_get(struct openmsgs *om, const char *id, const void *owner);
/* The same, removed from the map. */
struct queue_msg *
openmsgs_take(struct openmsgs *om, const char *id, const void *owner);
/* Messages the owner has open. */
size_t openmsgs_count(struct openmsgs *om, const void *owner);
/* Abort every message of the owner (NULL: of everybody). */
void openmsgs_drop(struct openmsgs *om, const void *owner);

#endif
