/*
 * addr - RFC 5321 paths and mailboxes: parsing with the RFC's limits,
 * SMTPUTF8 local parts and domains, formatting (addr.h).
 */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../common/strutil.h"

/* RFC 5322 atext, plus any octet >= 0x80 (RFC 6531 UTF8-non-ascii). */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_dot_string(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

static int
is_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

int
addr_domain_valid(const char *d, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > ADDR_DOMAIN_MAX)
		return 0;
	while (i < n) {
		size_t start = i;

		while (i < n && d[i] != '.') {
			unsigned char c = (unsigned char)d[i];

			if (!is_let_dig(c) && c != '-')
				return 0;
			i++;
		}
		if (i == start || i - start > 63)
			return 0;
		if (d[start] == '-' || d[i - 1] == '-')
			return 0;
		if (i < n && ++i == n)
			return 0; /* trailing dot */
	}
	return utf8_valid(d, n, NULL);
}

static int
address_literal_valid(const char *d, size_t n)
{
	char tmp[64];
	unsigned char bin[16];

	if (n < 3 || d[0] != '[' || d[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return 0;
	if (n > 7 && str_ncaseeq(d + 1, "IPv6:", 5)) {
		memcpy(tmp, d + 6, n - 7);
		tmp[n - 7] = '\0';
		return inet_pton(AF_INET6, tmp, bin) == 1;
	}
	memcpy(tmp, d + 1, n - 2);
	tmp[n - 2] = '\0';
	return inet_pton(AF_INET, tmp, bin) == 1;
}

/*
 * Quoted string: DQUOTE *(qtextSMTP / quoted-pair) DQUOTE.  Unquote into
 * out when the content is a valid dot-string; otherwise keep the quoted
 * form.  Returns the output length or -1.
 */
static int
parse_quoted(const char *s, size_t n, char *out, size_t outsz)
{
	char plain[ADDR_LOCAL_MAX + 1];
	size_t i, pl = 0;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return -1;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if (++i >= n - 1)
				return -1;
			c = (unsigned char)s[i];
			if (c < 0x20 || c == 0x7f)
				return -1;
		} else if (c < 0x20 || c == 0x7f || c == '"') {
			return -1;
		}
		if (pl >= ADDR_LOCAL_MAX)
			return -2;
		plain[pl++] = (char)c;
	}
	if (n > outsz - 1)
		return -2; /* callers bound n by ADDR_LOCAL_MAX */
	if (is_dot_string(plain, pl)) {
		memcpy(out, plain, pl);
		out[pl] = '\0';
		return (int)pl;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return (int)n;
}

/* The last '@' separates local part and domain: domains contain none. */
static size_t
find_at(const char *s, size_t n)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (s[i - 1] == '@')
			return i - 1;
	return n;
}

/* The local part s[0..n) (quoted or dot-string) into mb->local. */
static enum addr_status
parse_local_part(const char *s, size_t n, struct mailbox *mb)
{
	int r;

	if (s[0] == '"') {
		r = parse_quoted(s, n, mb->local, sizeof(mb->local));
		if (r == -2)
			return ADDR_TOO_LONG;
		if (r < 0)
			return ADDR_BAD;
		return ADDR_OK;
	}
	if (!is_dot_string(s, n))
		return ADDR_BAD;
	memcpy(mb->local, s, n);
	mb->local[n] = '\0';
	return ADDR_OK;
}

enum addr_status
addr_parse_mailbox(const char *s, size_t n, struct mailbox *mb)
{
	size_t at = find_at(s, n);
	const char *dom;
	size_t dl;
	enum addr_status st;
	int na = 0;

	memset(mb, 0, sizeof(*mb));
	if (n > ADDR_PATH_MAX - 2)
		return ADDR_TOO_LONG;
	if (memchr(s, '\0', n) != NULL || !utf8_valid(s, n, &na))
		return ADDR_BAD;
	if (at == n || at == 0)
		return ADDR_BAD;
	if (at > ADDR_LOCAL_MAX)
		return ADDR_TOO_LONG;
	dom = s + at + 1;
	dl = n - at - 1;
	if ((st = parse_local_part(s, at, mb)) != ADDR_OK)
		return st;
	if (dl > ADDR_DOMAIN_MAX)
		return ADDR_TOO_LONG;
	if (dl > 0 && dom[0] == '[') {
		if (!address_literal_valid(dom, dl))
			return ADDR_BAD;
	} else if (!addr_domain_valid(dom, dl)) {
		return ADDR_BAD;
	}
	memcpy(mb->domain, dom, dl);
	mb->domain[dl] = '\0';
	/* Domains are case-insensitive: keep them in one form (ASCII). */
	for (char *p = mb->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	mb->utf8 = na;
	return ADDR_OK;
}

enum addr_status
addr_parse_local(const char *s, size_t n, struct mailbox *mb)
{
	enum addr_status st;
	int na = 0;

	memset(mb, 0, sizeof(*mb));
	if (n > ADDR_LOCAL_MAX)
		return ADDR_TOO_LONG;
	if (n == 0 || memchr(s, '\0', n) != NULL || !utf8_valid(s, n, &na))
		return ADDR_BAD;
	if ((st = parse_local_part(s, n, mb)) != ADDR_OK)
		return st;
	mb->utf8 = na;
	return ADDR_OK;
}

enum addr_status
addr_parse_path(const char *s, size_t n, size_t *used, struct mailbox *mb)
{
	size_t i, end;
	int quoted = 0;

	memset(mb, 0, sizeof(*mb));
	if (n == 0 || s[0] != '<')
		return ADDR_NOT_PATH;
	/* Find the closing '>' outside a quoted string. */
	for (end = 1; end < n; end++) {
		if (quoted && s[end] == '\\' && end + 1 < n) {
			end++;
			continue;
		}
		if (s[end] == '"')
			quoted = !quoted;
		else if (!quoted && s[end] == '>')
			break;
	}
	if (end >= n)
		return ADDR_NOT_PATH;
	*used = end + 1;
	if (end + 1 > ADDR_PATH_MAX)
		return ADDR_TOO_LONG;
	i = 1;
	if (end == 1)
		return ADDR_OK; /* <> */
	/* A-d-l ":" : source route, to be ignored (RFC 5321 4.1.2, C). */
	if (s[i] == '@') {
		size_t colon = i;

		while (colon < end && s[colon] != ':')
			colon++;
		if (colon == end)
			return ADDR_BAD;
		for (size_t k = i; k < colon;) {
			size_t e = k + 1;

			if (s[k] != '@')
				return ADDR_BAD;
			while (e < colon && s[e] != ',')
				e++;
			if (!addr_domain_valid(s + k + 1, e - k - 1))
				return ADDR_BAD;
			k = e < colon ? e + 1 : e;
			if (k == colon && s[k - 1] == ',')
				return ADDR_BAD; /* "@a,:": a hop is missing */
		}
		i = colon + 1;
	}
	if (end - i == 10 && str_ncaseeq(s + i, "postmaster", 10)) {
		memcpy(mb->local, "postmaster", 11);
		return ADDR_OK;
	}
	return addr_parse_mailbox(s + i, end - i, mb);
}

void
addr_format(const struct mailbox *mb, char *dst, size_t dstsz)
{
	if (mb->local[0] == '\0')
		snprintf(dst, dstsz, "%s", "");
	else if (mb->domain[0] == '\0')
		snprintf(dst, dstsz, "%s", mb->local);
	else
		snprintf(dst, dstsz, "%s@%s", mb->local, mb->domain);
}
