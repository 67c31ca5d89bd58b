/*
 * NAME
 *	smtp_data - message text after DATA or BDAT, byte by byte
 * PURPOSE
 *	Finds the end of DATA (only CRLF "." CRLF ends it), undoes
 *	dot-stuffing, and checks the text as it streams past: size against
 *	the limit, line length, NUL bytes, and bare CR or LF (SMTP smuggling,
 *	CVE-2023-51764 and kin).  BDAT chunks go through the same checks
 *	without terminator or unstuffing.  Nothing is held but a few bytes of
 *	state, however long a line is.
 * TRUST
 *	smtp process: raw network bytes.
 * INVARIANTS
 *	Output octets are exactly the message as sent (CRLF line ends kept).
 *	Nothing is written to the output beyond the size limit; counting goes
 *	on so that the client can be told 552 after its final dot.
 */
#ifndef TERN_SMTP_DATA_H
#define TERN_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

struct smtp_data {
	int state;
	int strict;        /* bare CR or LF ends the session */
	uint64_t limit;    /* octets the message may have */
	uint64_t size;     /* octets seen (after unstuffing) */
	uint64_t line_max; /* longest line, CRLF included */
	uint64_t line_len; /* octets of the current line so far */
	int too_big;       /* size exceeded limit: output stopped */
	int long_line;     /* some line exceeded line_max */
	int nul;           /* a NUL octet was seen */
};

enum smtp_data_status {
	SMTP_DATA_MORE,     /* all input consumed, not at the end */
	SMTP_DATA_END,      /* the final CRLF "." CRLF was consumed */
	SMTP_DATA_BAD_EOL,  /* bare CR or LF in strict mode */
	SMTP_DATA_OUT_FULL, /* out has no room: drain it and call again */
};

void smtp_data_init(
    struct smtp_data *d, uint64_t limit, uint64_t line_max, int strict);

/*
 * DATA text: consume input, append the unstuffed message to out.
 * Returns the octets consumed; *st says why it stopped.
 */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t n,
    struct buf *out, enum smtp_data_status *st);

/*
 * BDAT chunk octets: no terminator, no unstuffing, bare line ends kept.
 * Returns the octets consumed (less than n only when out is full).
 */
size_t
smtp_data_chunk(struct smtp_data *d, const char *in, size_t n, struct buf *out);

#endif
