/*
 * strutil - string helpers: escaping for logs and replies, strict
 * number and size parsing, case-insensitive comparison, UTF-8 checks
 * (strutil.h).
 */
#include "strutil.h"

#include <stdlib.h>
#include <string.h>

#include "xmem.h"

size_t
str_escape(char *dst, size_t dstsz, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t o = 0, i, all = 0;

	if (dstsz == 0)
		return 0;
	/* Room for "..." is kept only when the whole text will not fit. */
	for (i = 0; i < n && all < dstsz; i++)
		all += (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') ? 1 : 4;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (all >= dstsz && o + need + 4 > dstsz) {
			if (o + 4 <= dstsz) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

int
str_to_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
str_to_u64s(const char *s, size_t n, uint64_t *out, size_t count)
{
	size_t i, off = 0;

	for (i = 0; i < count; i++) {
		const char *sp = memchr(s + off, ' ', n - off);
		size_t len = sp ? (size_t)(sp - (s + off)) : n - off;

		if (str_to_u64(s + off, len, &out[i]) < 0)
			return -1;
		off += len;
		/* A space after every number but the last, and only there. */
		if ((i + 1 < count) != (off < n))
			return -1;
		off += off < n;
	}
	return off == n ? 0 : -1;
}

static int
parse_with_suffix(const char *s, uint64_t *out, const char *const *sfx,
    const uint64_t *mult, size_t nsfx, uint64_t defmult)
{
	size_t n = strlen(s), digits = 0, i;
	uint64_t v, m = defmult;

	while (digits < n && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (digits < n) {
		for (i = 0; i < nsfx; i++)
			if (str_caseeq(s + digits, sfx[i]))
				break;
		if (i == nsfx)
			return -1;
		m = mult[i];
	}
	if (str_to_u64(s, digits, &v) < 0)
		return -1;
	if (m && v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int
str_parse_size(const char *s, uint64_t *out)
{
	static const char *const sfx[] = {"k", "m", "g", "kb", "mb", "gb"};
	static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024,
	    1024, 1024 * 1024, 1024 * 1024 * 1024};

	return parse_with_suffix(s, out, sfx, mult, 6, 1);
}

int
str_parse_duration_ms(const char *s, uint64_t *out_ms)
{
	static const char *const sfx[] = {"ms", "s", "m", "h", "d"};
	static const uint64_t mult[] = {1, 1000, 60000, 3600000, 86400000};

	return parse_with_suffix(s, out_ms, sfx, mult, 5, 1000);
}

int
str_parse_bool(const char *s, int *out)
{
	if (str_caseeq(s, "yes") || str_caseeq(s, "true") ||
	    str_caseeq(s, "on") || strcmp(s, "1") == 0)
		*out = 1;
	else if (str_caseeq(s, "no") || str_caseeq(s, "false") ||
	    str_caseeq(s, "off") || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)lower((unsigned char)*s);
}

int
str_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
str_ncaseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
		if (a[i] == '\0')
			return 1;
	}
	return 1;
}

int
str_casestarts(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && str_ncaseeq(s, prefix, pl);
}

int
utf8_valid(const void *p, size_t n, int *nonascii)
{
	const unsigned char *s = p;
	size_t i = 0;
	int na = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		na = 1;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	if (nonascii)
		*nonascii = na;
	return 1;
}

char **
str_split_list(const char *s, size_t *count)
{
	char **v = NULL;
	size_t n = 0;

	while (*s) {
		size_t len;

		while (*s == ' ' || *s == '\t' || *s == ',' || *s == '\n')
			s++;
		len = strcspn(s, " \t,\n");
		if (len == 0)
			break;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrndup(s, len);
		s += len;
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	v[n] = NULL;
	if (count)
		*count = n;
	return v;
}

void
str_free_list(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}
