/*
 * netaddr - IPv4 and IPv6 addresses and networks: parsing, printing,
 * matching (netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "xmem.h"

static void
clear_host_bits(struct netaddr *a)
{
	unsigned bits = a->family == AF_INET ? 32 : 128, i;

	for (i = a->prefix; i < bits; i++)
		a->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int
netaddr_parse(const char *s, struct netaddr *out)
{
	char tmp[64];
	const char *slash;
	size_t alen;
	uint64_t prefix;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		s++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return -1;
	}
	if (slash) {
		if (str_to_u64(slash + 1, strlen(slash + 1), &prefix) < 0 ||
		    prefix > out->prefix)
			return -1;
		out->prefix = (unsigned)prefix;
	}
	clear_host_bits(out);
	return 0;
}

int
netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		out->prefix = 32;
		memcpy(out->addr, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		if (memcmp(&in6->sin6_addr, mapped, 12) == 0) {
			out->family = AF_INET;
			out->prefix = 32;
			memcpy(out->addr, (const uint8_t *)&in6->sin6_addr + 12,
			    4);
		} else {
			out->family = AF_INET6;
			out->prefix = 128;
			memcpy(out->addr, &in6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

int
netaddr_contains(const struct netaddr *net, const struct netaddr *host)
{
	unsigned full, rest;

	if (net->family != host->family)
		return 0;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(net->addr, host->addr, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((net->addr[full] & mask) != (host->addr[full] & mask))
			return 0;
	}
	return 1;
}

static void
netlist_add(struct netlist *l, const struct netaddr *a)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *a;
}

int
netlist_parse(const char *s, struct netlist *out, char *err, size_t errsz)
{
	char **words;
	size_t n, i;
	struct netaddr a;

	out->v = NULL;
	out->n = 0;
	words = str_split_list(s, &n);
	for (i = 0; i < n; i++) {
		if (str_caseeq(words[i], "loopback")) {
			netaddr_parse("127.0.0.0/8", &a);
			netlist_add(out, &a);
			netaddr_parse("::1", &a);
			netlist_add(out, &a);
			continue;
		}
		if (netaddr_parse(words[i], &a) < 0) {
			snprintf(
			    err, errsz, "bad network address \"%s\"", words[i]);
			str_free_list(words);
			netlist_free(out);
			return -1;
		}
		netlist_add(out, &a);
	}
	str_free_list(words);
	return 0;
}

int
netlist_match(const struct netlist *l, const struct netaddr *host)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (netaddr_contains(&l->v[i], host))
			return 1;
	return 0;
}

void
netlist_free(struct netlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
netaddr_format(const struct netaddr *a, char *dst, size_t dstsz)
{
	if (inet_ntop(a->family, a->addr, dst, (socklen_t)dstsz) == NULL)
		snprintf(dst, dstsz, "unknown");
}
