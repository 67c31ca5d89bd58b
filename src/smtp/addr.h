/*
 * NAME
 *	addr - mail addresses: RFC 5321 paths, with RFC 6531 UTF-8
 * PURPOSE
 *	Parses "<local@domain>" (and "<>", "<postmaster>", source routes)
 *	into a mailbox whose parts are bounded and validated.  Quoted local
 *	parts that need no quoting are unquoted; domains are lowercased
 *	(ASCII only).
 * TRUST
 *	smtp process: the input is raw network bytes.  Validation is total
 *	and fails closed: anything not accepted by the grammar is an error.
 * INVARIANTS
 *	A parsed mailbox has local <= 64 octets, domain <= 255 octets, the
 *	whole path <= 256 octets, no control characters, and valid UTF-8.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX 256

struct mailbox {
	char local[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1]; /* "" for <> and <postmaster> */
	int utf8;                         /* some octet >= 0x80 */
};

enum addr_status {
	ADDR_OK,
	ADDR_NOT_PATH, /* missing "<" or ">": a command syntax error */
	ADDR_BAD,      /* bad local part or domain */
	ADDR_TOO_LONG, /* a length limit exceeded */
};

/*
 * Parse a path starting at s[0] == '<'.  *used gets the bytes consumed,
 * through the closing '>'.  "<>" gives an empty mailbox (local and domain
 * empty).  "<postmaster>" (any case) gives local "postmaster", domain "".
 * A source route ("<@a,@b:x@y>") is accepted and ignored.
 */
enum addr_status
addr_parse_path(const char *s, size_t n, size_t *used, struct mailbox *mb);

/* Parse "local@domain" (no brackets) completely. */
enum addr_status
addr_parse_mailbox(const char *s, size_t n, struct mailbox *mb);

/* A local part alone ("alice", VRFY's user name); domain left "". */
enum addr_status addr_parse_local(const char *s, size_t n, struct mailbox *mb);

/* Is d a syntactically valid domain (LDH labels, or U-labels)? */
int addr_domain_valid(const char *d, size_t n);

/* "local@domain", or "" for the null path; dst of ADDR_PATH_MAX + 1. */
void addr_format(const struct mailbox *mb, char *dst, size_t dstsz);

#endif
