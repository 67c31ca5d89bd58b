/*
 * NAME
 *	transport - one connection's bytes, over the event loop
 * PURPOSE
 *	Owns a TCP connection: reads (into a buffer shared by every
 *	connection of the process, so that an idle connection costs no
 *	buffer), writes with a backlog the owner can watch, the end of the
 *	peer's input, and closing.  The SMTP server session sits on it, and
 *	so will the SMTP client and TLS: the protocol code above never calls
 *	libuv itself, and a connection can change owners (a session turned
 *	around by ATRN) without a second socket.
 * TRUST
 *	smtp process.  Every byte read is hostile; reads are bounded by the
 *	shared buffer, writes by what the owner queues.
 * INVARIANTS
 *	Events run on the loop, one at a time, never from inside a call the
 *	owner makes (except closed, which may follow transport_close at
 *	once).  After closed, nothing more is called and the transport is
 *	gone.  Bytes given to read are valid only during the call.
 */
#ifndef TERN_TRANSPORT_H
#define TERN_TRANSPORT_H

#include <stddef.h>
#include <uv.h>

#include "../common/netaddr.h"

struct transport;

struct transport_events {
	/* Bytes arrived; the owner keeps what it does not consume. */
	void (*read)(void *arg, const char *p, size_t n);
	/* The peer ended its input (it may still read). */
	void (*eof)(void *arg);
	/* The connection broke: nothing more can be read or written. */
	void (*error)(void *arg);
	/* Everything written has been handed to the kernel. */
	void (*drained)(void *arg);
	/* The transport is closed and freed. */
	void (*closed)(void *arg);
};

/* One read buffer for every transport of a loop. */
struct transport_readbuf {
	char *data;
	size_t size;
	int busy;
};

/*
 * Accept a connection from listener.  NULL if it failed (nothing to
 * close).  rb must outlive every transport using it.
 */
struct transport *transport_accept(uv_stream_t *listener,
    struct transport_readbuf *rb, const struct transport_events *ev, void *arg);
/* The peer's address and port.  0 or -1. */
int transport_peer(const struct transport *t, struct netaddr *a, int *port);
/* Hand the connection to another owner (events and argument). */
void transport_set_owner(
    struct transport *t, const struct transport_events *ev, void *arg);

void transport_read_start(struct transport *t);
void transport_read_stop(struct transport *t);
int transport_reading(const struct transport *t);

/* Queue bytes for the peer (copied).  0, or -1 once broken or closing. */
int transport_write(struct transport *t, const void *p, size_t n);
/* Bytes queued and not yet taken by the kernel. */
size_t transport_pending(const struct transport *t);

/*
 * Close: what is queued is sent first, then the connection is shut down
 * for writing and what the peer still sends is read and dropped for a
 * moment (closing with unread input would make the kernel reset the
 * connection and destroy the last replies before the peer reads them).
 * closed runs when it is over.
 */
void transport_close(struct transport *t);
/* Close at once, dropping what is queued (the peer is gone or hostile). */
void transport_abort(struct transport *t);

#endif
