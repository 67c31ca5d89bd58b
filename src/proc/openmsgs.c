/*
 * openmsgs - the messages being received, indexed by queue ID, each
 * with the peer that opened it, so that a peer can touch only its own.
 */
#include "openmsgs.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xmem.h"

#define BUCKETS 4096

struct entry {
	struct queue_msg *m;
	const void *owner;
	struct entry *next;
};

struct owner_count {
	const void *owner;
	size_t n;
	struct owner_count *next;
};

struct openmsgs {
	struct entry *b[BUCKETS];
	struct owner_count *owners;
};

static unsigned
hash(const char *id)
{
	unsigned h = 5381;

	for (; *id; id++)
		h = h * 33 + (unsigned char)*id;
	return h % BUCKETS;
}

static struct owner_count **
owner_slot(struct openmsgs *om, const void *owner)
{
	struct owner_count **op = &om->owners;

	while (*op && (*op)->owner != owner)
		op = &(*op)->next;
	return op;
}

static void
count_add(struct openmsgs *om, const void *owner, int d)
{
	struct owner_count **op = owner_slot(om, owner), *o;

	if (*op == NULL) {
		*op = xcalloc(1, sizeof(**op));
		(*op)->owner = owner;
	}
	o = *op;
	o->n = (size_t)((long)o->n + d);
	if (o->n == 0) {
		*op = o->next;
		free(o);
	}
}

struct openmsgs *
openmsgs_new(void)
{
	return xcalloc(1, sizeof(struct openmsgs));
}

void
openmsgs_free(struct openmsgs *om)
{
	if (om == NULL)
		return;
	openmsgs_drop(om, NULL);
	free(om);
}

void
openmsgs_add(struct openmsgs *om, struct queue_msg *m, const void *owner)
{
	struct entry *e = xmalloc(sizeof(*e));
	unsigned h = hash(queue_msg_id(m));

	e->m = m;
	e->owner = owner;
	e->next = om->b[h];
	om->b[h] = e;
	count_add(om, owner, 1);
}

static struct entry **
find(struct openmsgs *om, const char *id, const void *owner)
{
	struct entry **ep = &om->b[hash(id)];

	for (; *ep; ep = &(*ep)->next)
		if ((*ep)->owner == owner &&
		    strcmp(queue_msg_id((*ep)->m), id) == 0)
			return ep;
	return NULL;
}

struct queue_msg *
openmsgs_get(struct openmsgs *om, const char *id, const void *owner)
{
	struct entry **ep = find(om, id, owner);

	return ep ? (*ep)->m : NULL;
}

struct queue_msg *
openmsgs_take(struct openmsgs *om, const char *id, const void *owner)
{
	struct entry **ep = find(om, id, owner), *e;
	struct queue_msg *m;

	if (ep == NULL)
		return NULL;
	e = *ep;
	*ep = e->next;
	m = e->m;
	count_add(om, owner, -1);
	free(e);
	return m;
}

size_t
openmsgs_count(struct openmsgs *om, const void *owner)
{
	struct owner_count **op = owner_slot(om, owner);

	return *op ? (*op)->n : 0;
}

void
openmsgs_drop(struct openmsgs *om, const void *owner)
{
	size_t i;

	if (owner != NULL && openmsgs_count(om, owner) == 0)
		return;
	for (i = 0; i < BUCKETS; i++) {
		struct entry **ep = &om->b[i], *e;

		while ((e = *ep) != NULL) {
			if (owner != NULL && e->owner != owner) {
				ep = &e->next;
				continue;
			}
			*ep = e->next;
			count_add(om, e->owner, -1);
			queue_msg_abort(e->m);
			free(e);
		}
	}
}
