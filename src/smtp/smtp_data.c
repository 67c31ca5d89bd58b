/*
 * smtp_data - the byte-level machine of message text: the end of DATA,
 * dot-unstuffing and the checks on the way (smtp_data.h).
 */
#include "smtp_data.h"

#include <string.h>

enum {
	DS_LINE_START, /* after CRLF (or at the start): "." is special */
	DS_SOFT_START, /* after a bare LF taken as a line end */
	DS_TEXT,       /* inside a line */
	DS_CR,         /* CR seen inside a line */
	DS_DOT,        /* "." at the start of a line */
	DS_DOT_CR,     /* "." CR at the start of a line */
};

void
smtp_data_init(
    struct smtp_data *d, uint64_t limit, uint64_t line_max, int strict)
{
	memset(d, 0, sizeof(*d));
	d->state = DS_LINE_START;
	d->limit = limit;
	d->line_max = line_max;
	d->strict = strict;
}

/* Append message octets, or only count them once the limit is passed. */
static int
emit(struct smtp_data *d, struct buf *out, const char *p, size_t n)
{
	if (d->too_big || d->size + n > d->limit) {
		d->too_big = 1;
		d->size += n;
		return 0;
	}
	if (out->max - out->len < n)
		return -1;
	if (buf_append(out, p, n) < 0)
		return -1;
	d->size += n;
	return 0;
}

static size_t
room(const struct smtp_data *d, const struct buf *out)
{
	return d->too_big ? SIZE_MAX : out->max - out->len;
}

static void
count_line(struct smtp_data *d, size_t n)
{
	d->line_len += n;
	if (d->line_len > d->line_max)
		d->long_line = 1;
}

size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t n, struct buf *out,
    enum smtp_data_status *st)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)in[i];

		switch (d->state) {
		case DS_LINE_START:
		case DS_SOFT_START:
			d->line_len = 0;
			if (c == '.' && d->state == DS_LINE_START) {
				/* Not counted: RFC 5321 4.5.3.1.6 excludes the
				 * dot added for transparency. */
				d->state = DS_DOT;
				i++;
				continue;
			}
			d->state = DS_TEXT;
			continue;
		case DS_DOT:
			if (c == '\r') {
				count_line(d, 1);
				d->state = DS_DOT_CR;
				i++;
				continue;
			}
			/* Transparency: the leading dot is dropped. */
			d->state = DS_TEXT;
			continue;
		case DS_DOT_CR:
			if (c == '\n') {
				*st = SMTP_DATA_END;
				d->state = DS_LINE_START;
				return i + 1;
			}
			if (d->strict) {
				*st = SMTP_DATA_BAD_EOL;
				return i;
			}
			/* Lenient: ".<CR>x" is text; keep the CR. */
			if (room(d, out) < 1) {
				*st = SMTP_DATA_OUT_FULL;
				return i;
			}
			emit(d, out, "\r", 1);
			d->state = DS_TEXT;
			continue;
		case DS_CR:
			if (c == '\n') {
				if (room(d, out) < 2) {
					*st = SMTP_DATA_OUT_FULL;
					return i;
				}
				emit(d, out, "\r\n", 2);
				count_line(d, 1);
				d->state = DS_LINE_START;
				i++;
				continue;
			}
			if (d->strict) {
				*st = SMTP_DATA_BAD_EOL;
				return i;
			}
			if (room(d, out) < 1) {
				*st = SMTP_DATA_OUT_FULL;
				return i;
			}
			emit(d, out, "\r", 1);
			d->state = DS_TEXT;
			continue;
		case DS_TEXT: {
			size_t run = i, take;

			while (run < n && in[run] != '\r' && in[run] != '\n' &&
			    in[run] != '\0')
				run++;
			take = run - i;
			if (take > 0) {
				size_t r = room(d, out);

				if (r == 0) {
					*st = SMTP_DATA_OUT_FULL;
					return i;
				}
				if (take > r)
					take = r;
				emit(d, out, in + i, take);
				count_line(d, take);
				i += take;
				continue;
			}
			if (c == '\0') {
				if (room(d, out) < 1) {
					*st = SMTP_DATA_OUT_FULL;
					return i;
				}
				d->nul = 1;
				emit(d, out, in + i, 1);
				count_line(d, 1);
				i++;
			} else if (c == '\r') {
				count_line(d, 1);
				d->state = DS_CR;
				i++;
			} else { /* bare LF */
				if (d->strict) {
					*st = SMTP_DATA_BAD_EOL;
					return i;
				}
				if (room(d, out) < 2) {
					*st = SMTP_DATA_OUT_FULL;
					return i;
				}
				emit(d, out, "\r\n", 2);
				d->state = DS_SOFT_START;
				i++;
			}
			continue;
		}
		}
	}
	*st = SMTP_DATA_MORE;
	return n;
}

size_t
smtp_data_chunk(struct smtp_data *d, const char *in, size_t n, struct buf *out)
{
	size_t take = n, i;

	if (!d->too_big && take > out->max - out->len)
		take = out->max - out->len;
	for (i = 0; i < take; i++) {
		if (in[i] == '\0')
			d->nul = 1;
		/* The LF counts, as in DATA: the limit includes CRLF. */
		if (++d->line_len > d->line_max)
			d->long_line = 1;
		if (in[i] == '\n')
			d->line_len = 0;
	}
	emit(d, out, in, take);
	return take;
}
