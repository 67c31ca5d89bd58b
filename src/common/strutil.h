/*
 * NAME
 *	strutil - small string helpers shared by every module
 * PURPOSE
 *	Escaping of untrusted text for logs and replies, strict number and
 *	unit parsing for configuration and protocol arguments, ASCII case
 *	helpers and UTF-8 validation.
 * TRUST
 *	Any process; inputs may be hostile network bytes.
 * INVARIANTS
 *	Parsers reject rather than truncate: overflow, trailing garbage and
 *	empty input all fail.
 */
#ifndef TERN_STRUTIL_H
#define TERN_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copy n bytes of src into dst as printable ASCII: bytes outside 0x20-0x7e
 * and the backslash become \xNN.  Output that would not fit in dstsz ends
 * with "...".  dst is always NUL-terminated; returns its length.
 */
size_t str_escape(char *dst, size_t dstsz, const void *src, size_t n);

/* Decimal digits only, no sign, no overflow.  Returns 0 or -1. */
int str_to_u64(const char *s, size_t n, uint64_t *out);
/*
 * Exactly count numbers (each as str_to_u64) separated by single spaces,
 * and nothing else, in s[0..n).  Returns 0 or -1 (out may be changed).
 */
int str_to_u64s(const char *s, size_t n, uint64_t *out, size_t count);
/* Byte count with an optional k, m or g suffix (powers of 1024). */
int str_parse_size(const char *s, uint64_t *out);
/* Duration with an optional ms, s, m, h or d suffix (seconds if none). */
int str_parse_duration_ms(const char *s, uint64_t *out_ms);
/* Boolean: yes/no, true/false, on/off, 1/0. */
int str_parse_bool(const char *s, int *out);

void str_lower(char *s);
int str_caseeq(const char *a, const char *b);
int str_ncaseeq(const char *a, const char *b, size_t n);
/* Does s (length n) start with prefix, ignoring ASCII case? */
int str_casestarts(const char *s, size_t n, const char *prefix);

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Returns 1 if valid.  *nonascii is set when any byte is >= 0x80.
 */
int utf8_valid(const void *s, size_t n, int *nonascii);

/* Split on blanks and commas; returns a NULL-terminated vector. */
char **str_split_list(const char *s, size_t *count);
void str_free_list(char **v);

#endif
