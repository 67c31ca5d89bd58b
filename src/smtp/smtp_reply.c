/*
 * smtp_reply - the reply catalog (SMTP_REPLIES in smtp_reply.h)
 * expanded into a table, and the formatting of a reply with its
 * enhanced code.
 */
#include "smtp_reply.h"

#include <stdio.h>
#include <string.h>

const struct smtp_reply_def smtp_replies[SMTP_R_COUNT] = {
#define SMTP_REPLY_DEF(name, code, esc, counts, args, text, when) \
	[name] = {#name, code, esc, counts, args, text},
    SMTP_REPLIES(SMTP_REPLY_DEF)
#undef SMTP_REPLY_DEF
};

/* Append s, cut at the end of dst; *o stays below dstsz. */
static void
put(char *dst, size_t dstsz, size_t *o, const char *s, size_t n)
{
	if (n > dstsz - 1 - *o)
		n = dstsz - 1 - *o;
	memcpy(dst + *o, s, n);
	*o += n;
}

/*
 * The texts are filled in here rather than by printf: a text is data, and
 * this way no text, however written, can make the arguments be read as
 * anything but strings.
 */
size_t
smtp_reply_format(enum smtp_reply_id id, char *dst, size_t dstsz,
    const char *a1, const char *a2)
{
	const struct smtp_reply_def *r = &smtp_replies[id];
	const char *args[2] = {a1 ? a1 : "", a2 ? a2 : ""}, *t;
	char head[32];
	size_t o = 0;
	int nargs = 0, w;

	if (dstsz == 0)
		return 0;
	if (r->esc)
		w = snprintf(head, sizeof(head), "%d %s ", r->code, r->esc);
	else
		w = snprintf(head, sizeof(head), "%d ", r->code);
	put(dst, dstsz, &o, head, (size_t)w);
	for (t = r->text; *t; t++) {
		if (t[0] == '%' && t[1] == 's') {
			const char *a = nargs < 2 ? args[nargs] : "";

			nargs++;
			put(dst, dstsz, &o, a, strlen(a));
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			put(dst, dstsz, &o, "%", 1);
			t++;
		} else {
			put(dst, dstsz, &o, t, 1);
		}
	}
	dst[o] = '\0';
	return o;
}
