/*
 * NAME
 *	netaddr - client networks: parse "addr/prefix" lists, match peers
 * PURPOSE
 *	Relay permissions, access tables and limits are decided by the
 *	client's address.  IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4
 *	networks.
 * TRUST
 *	Configuration input (trusted but checked) and kernel-supplied peer
 *	addresses.
 * INVARIANTS
 *	A parsed network has its host bits cleared.
 */
#ifndef TERN_NETADDR_H
#define TERN_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct netlist {
	struct netaddr *v;
	size_t n;
};

/* "192.0.2.0/24", "2001:db8::/32", "[::1]", "127.0.0.1".  0 or -1. */
int netaddr_parse(const char *s, struct netaddr *out);
/* Normalise a peer address (unmaps ::ffff:a.b.c.d) into a /32 or /128. */
int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);
int netaddr_contains(const struct netaddr *net, const struct netaddr *host);

/*
 * Parse a list separated by blanks or commas.  The word "loopback" stands
 * for 127.0.0.0/8 and ::1.  On error, names the bad element in err.
 */
int netlist_parse(const char *s, struct netlist *out, char *err, size_t errsz);
int netlist_match(const struct netlist *l, const struct netaddr *host);
void netlist_free(struct netlist *l);

/* "127.0.0.1" or "::1" (no brackets, no port); dst of INET6_ADDRSTRLEN. */
void netaddr_format(const struct netaddr *a, char *dst, size_t dstsz);

#endif
