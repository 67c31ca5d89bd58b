/*
 * NAME
 *	smtp_reply - every reply the SMTP server sends, declared once
 * PURPOSE
 *	Each reply's name, code, enhanced status code, text, whether it
 *	counts towards error_limit, and when it is sent.  smtp_proto sends
 *	replies from this catalog only, so searching for a name finds every
 *	place that sends it.  The reply table of ternd(8) is generated from
 *	this list (scripts/replies.py, checked by make check-docs), and the
 *	unit tests of smtp_proto provoke every entry.
 * TRUST
 *	Compile-time data.  Arguments are filled in by smtp_reply_format;
 *	none of them is raw client input (addresses are parsed ones, the
 *	other texts are ours or escaped).
 * INVARIANTS
 *	A text's only conversions are %s, one per word of args, and %%.  The
 *	enhanced code's class is the code's first digit; 3xx replies, the
 *	greetings and the EHLO/HELO replies have none (RFC 2034).  A reply
 *	counts when the client erred; our own temporary failures, policy
 *	verdicts and replies that end the session do not.
 */
#ifndef TERN_SMTP_REPLY_H
#define TERN_SMTP_REPLY_H

#include <stddef.h>

/*
 * X(name, code, esc, counts, args, text, when)
 * args: the names of the %s arguments in order, blank separated ("" for
 * none); ternd(8) shows each as its name in capitals.
 */
#define SMTP_REPLIES(X) \
	/* ------------------------------------ greetings and endings */ \
	X(SMTP_R_GREETING, 220, NULL, 0, "host", "%s ESMTP tern", \
	    "The greeting, when the client is served.") \
	X(SMTP_R_GREET_BUSY, 421, "4.7.0", 0, "host", \
	    "%s Error: too many connections", \
	    "The greeting when max_sessions sessions are open; the " \
	    "connection is closed.") \
	X(SMTP_R_GREET_BUSY_CLIENT, 421, "4.7.0", 0, "host", \
	    "%s Error: too many connections from your address", \
	    "The greeting when the client has max_sessions_per_client " \
	    "sessions open; the connection is closed.") \
	X(SMTP_R_GREET_RATE, 421, "4.7.0", 0, "host", \
	    "%s Error: too many connections from your address; try again " \
	    "later", \
	    "The greeting when the client opened client_connection_rate_" \
	    "limit connections within client_rate_time_unit; the " \
	    "connection is closed.") \
	X(SMTP_R_EARLY_TALKER, 554, "5.5.0", 0, "host", \
	    "%s Error: SMTP protocol synchronization: talk before the " \
	    "greeting", \
	    "A client that sends anything during smtp_greet_pause, before " \
	    "the greeting; the connection is closed.") \
	X(SMTP_R_GREET_REJECT, 554, NULL, 0, "host", \
	    "%s Error: access denied", \
	    "The greeting of a client with a reject entry without a text " \
	    "in client_access_maps.") \
	X(SMTP_R_GREET_REJECT_TEXT, 554, NULL, 0, "host text", "%s %s", \
	    "The greeting of a client with a reject entry in " \
	    "client_access_maps; TEXT is the entry's text.") \
	X(SMTP_R_REFUSED, 503, "5.5.1", 1, "", \
	    "Error: access denied, send QUIT", \
	    "Every command but QUIT after a 554 greeting.  The connection " \
	    "is closed after ten seconds without a command.") \
	X(SMTP_R_GREET_NOMAIL, 521, "5.3.2", 0, "host", \
	    "%s does not accept mail", \
	    "The greeting when accept_mail is no (RFC 7504).") \
	X(SMTP_R_NOMAIL, 521, "5.3.2", 1, "host", "%s does not accept mail", \
	    "Every command but QUIT after a 521 greeting.") \
	X(SMTP_R_GREET_TEMPFAIL, 421, "4.3.2", 0, "host", \
	    "%s Service not available, closing transmission channel", \
	    "The greeting when the lookup process cannot be asked whether " \
	    "to serve the client (it is being restarted): neither the " \
	    "session limits nor client_access_maps could be applied.  The " \
	    "connection is closed.") \
	X(SMTP_R_SHUTDOWN, 421, "4.3.2", 0, "host", \
	    "%s Service shutting down, closing transmission channel", \
	    "ternd is stopping: the greeting, or the answer to the next " \
	    "command, or at once to a client that is waiting; the " \
	    "connection is closed.") \
	X(SMTP_R_TIMEOUT, 421, "4.4.2", 0, "host", \
	    "%s Error: timeout exceeded", \
	    "The client was silent for command_timeout or data_timeout; " \
	    "the connection is closed.") \
	X(SMTP_R_TOO_MANY_ERRORS, 421, "4.7.0", 0, "host", \
	    "%s Error: too many errors", \
	    "After the reply that brought the client's errors to " \
	    "error_limit; the connection is closed.") \
	X(SMTP_R_NOT_SMTP, 421, "4.7.0", 0, "host", \
	    "%s Error: non-SMTP command, closing", \
	    "A command line that starts with GET, POST, HEAD, PUT, " \
	    "CONNECT, OPTIONS or USER; the connection is closed.") \
	X(SMTP_R_UNSYNC_DATA, 554, "5.5.0", 0, "", \
	    "Error: improper use of SMTP command pipelining", \
	    "Message text arrived together with DATA, before the 354 " \
	    "reply (reject_unsynchronized_data).") \
	X(SMTP_R_UNSYNC_CLOSE, 421, "4.7.0", 0, "host", \
	    "%s Error: closing after improper pipelining", \
	    "Right after the 554 5.5.0 reply; the connection is closed and " \
	    "nothing sent after the DATA line is run.") \
	X(SMTP_R_BARE_EOL, 521, "5.5.2", 0, "", \
	    "Error: bare CR or LF received, closing connection", \
	    "A CR or LF not part of a CR LF pair, in a command or in the " \
	    "message text (strict_line_endings); the connection is " \
	    "closed.") \
	X(SMTP_R_QUIT, 221, "2.0.0", 0, "host", "%s closing connection", \
	    "QUIT; the connection is closed.") \
	/* ----------------------------------------- command lines */ \
	X(SMTP_R_UNKNOWN_COMMAND, 500, "5.5.1", 1, "", \
	    "Error: command not recognized", "An unknown command.") \
	X(SMTP_R_LINE_TOO_LONG, 500, "5.5.2", 1, "", "Error: line too long", \
	    "A command line longer than command_line_limit; the rest of " \
	    "the line is skipped.") \
	X(SMTP_R_BARE_CR, 500, "5.5.2", 1, "", "Error: bare CR received", \
	    "A CR inside a command line, when strict_line_endings is no.") \
	X(SMTP_R_NUL_IN_COMMAND, 500, "5.5.2", 1, "", \
	    "Error: NUL character received", "A NUL octet in a command line.") \
	X(SMTP_R_NOT_IMPLEMENTED, 502, "5.5.1", 1, "", \
	    "Error: command not implemented", \
	    "STARTTLS, AUTH, ETRN, ATRN, TURN, SEND, SOML and SAML.") \
	X(SMTP_R_SYNTAX, 501, "5.5.4", 1, "syntax", "Syntax: %s", \
	    "A command with arguments it does not take, or without those " \
	    "it needs; SYNTAX shows the command's form.") \
	/* ------------------------------------------ HELO, EHLO, ... */ \
	X(SMTP_R_HELO, 250, NULL, 0, "host", "%s", "HELO.") \
	X(SMTP_R_EHLO, 250, NULL, 0, "host", "%s", \
	    "EHLO: the first line of the reply, followed by one line for " \
	    "each keyword.") \
	X(SMTP_R_OK, 250, "2.0.0", 0, "", "Ok", "RSET and NOOP.") \
	X(SMTP_R_HELP, 214, "2.0.0", 0, "", \
	    "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY " \
	    "HELP; HELP command for its syntax, HELP STATUS for the " \
	    "server's state", \
	    "HELP without an argument.") \
	X(SMTP_R_HELP_TOPIC, 214, "2.0.0", 0, "syntax", "Syntax: %s", \
	    "HELP with a command name: that command's form.") \
	X(SMTP_R_HELP_UNKNOWN, 504, "5.5.4", 1, "", \
	    "HELP topic not recognized", "HELP with any other argument.") \
	X(SMTP_R_HELP_STATUS, 211, "2.0.0", 0, "host", \
	    "%s accepting mail, TLS not available", \
	    "HELP STATUS, from a client that may not relay.") \
	X(SMTP_R_HELP_STATUS_QUEUE, 211, "2.0.0", 0, "host count", \
	    "%s accepting mail, TLS not available, %s queued", \
	    "HELP STATUS, from a client that may relay; COUNT is the " \
	    "number of messages in the queue.") \
	X(SMTP_R_EXPN, 502, "5.5.1", 1, "", "EXPN command is not available", \
	    "EXPN: lists are not disclosed.") \
	/* ------------------------------------------------- MAIL */ \
	X(SMTP_R_NEED_HELO, 503, "5.5.1", 1, "", \
	    "Error: send HELO/EHLO first", "MAIL before HELO or EHLO.") \
	X(SMTP_R_NESTED_MAIL, 503, "5.5.1", 1, "", \
	    "Error: nested MAIL command", "MAIL inside a transaction.") \
	X(SMTP_R_SENDER_SYNTAX, 553, "5.1.7", 1, "", \
	    "Bad sender address syntax", \
	    "MAIL with an address that is not valid.") \
	X(SMTP_R_SENDER_TOO_LONG, 553, "5.1.7", 1, "", \
	    "Sender address too long", \
	    "MAIL with an address over the limits of RFC 5321.") \
	X(SMTP_R_SENDER_NEEDS_UTF8, 553, "5.6.7", 1, "", \
	    "Non-ASCII sender address requires SMTPUTF8", \
	    "MAIL with a non-ASCII address and no SMTPUTF8 parameter.") \
	X(SMTP_R_PARAM_SYNTAX, 501, "5.5.4", 1, "", "Bad parameter syntax", \
	    "MAIL or RCPT with a parameter that is not keyword[=value].") \
	X(SMTP_R_PARAM_VALUE, 501, "5.5.4", 1, "parameter", \
	    "Bad value for parameter %s", \
	    "MAIL or RCPT with a parameter whose value is not valid.") \
	X(SMTP_R_PARAM_DUPLICATE, 501, "5.5.4", 1, "parameter", \
	    "Duplicate parameter %s", \
	    "MAIL or RCPT with the same parameter twice.") \
	X(SMTP_R_PARAM_UNKNOWN, 555, "5.5.4", 1, "parameter", \
	    "Unsupported option: %s", \
	    "MAIL or RCPT with a parameter tern does not know.") \
	X(SMTP_R_BODY_BINARYMIME, 504, "5.5.4", 1, "", \
	    "BODY=BINARYMIME is not supported", "MAIL with BODY=BINARYMIME.") \
	X(SMTP_R_SIZE_EXCEEDED, 552, "5.3.4", 0, "", \
	    "Message size exceeds fixed maximum message size", \
	    "MAIL with a SIZE above message_size_limit; at the end of a " \
	    "message larger than that; or for a BDAT chunk that would " \
	    "make it larger.") \
	X(SMTP_R_QUEUE_FULL, 452, "4.3.1", 0, "", \
	    "Error: insufficient system storage", \
	    "MAIL when the message would leave less than queue_minfree " \
	    "free in the spool; at the end of a message when the spool's " \
	    "file system is full.") \
	X(SMTP_R_QUEUE_UNAVAILABLE, 451, "4.3.0", 0, "", \
	    "Error: queue unavailable", \
	    "MAIL when the queue process cannot tell its free space (it is " \
	    "being restarted).") \
	X(SMTP_R_MAIL_OK, 250, "2.1.0", 0, "", "Ok", "MAIL accepted.") \
	/* ------------------------------------------------- RCPT */ \
	X(SMTP_R_NEED_MAIL, 503, "5.5.1", 1, "", "Error: need MAIL command", \
	    "RCPT, DATA or BDAT outside a transaction.") \
	X(SMTP_R_TOO_MANY_RCPTS, 452, "4.5.3", 0, "", \
	    "Error: too many recipients", \
	    "RCPT after recipient_limit recipients.") \
	X(SMTP_R_RCPT_SYNTAX, 553, "5.1.3", 1, "", \
	    "Bad recipient address syntax", \
	    "RCPT with an address that is not valid.") \
	X(SMTP_R_RCPT_TOO_LONG, 553, "5.1.3", 1, "", \
	    "Recipient address too long", \
	    "RCPT with an address over the limits of RFC 5321.") \
	X(SMTP_R_RCPT_NULL, 553, "5.1.3", 1, "", "Null recipient address", \
	    "RCPT TO:<>.") \
	X(SMTP_R_RCPT_NEEDS_UTF8, 553, "5.6.7", 1, "", \
	    "Non-ASCII recipient address requires SMTPUTF8", \
	    "RCPT with a non-ASCII address in a transaction without " \
	    "SMTPUTF8.") \
	X(SMTP_R_RCPT_OK, 250, "2.1.5", 0, "", "Ok", "RCPT accepted.") \
	X(SMTP_R_RCPT_FORWARD, 251, "2.1.5", 0, "target", \
	    "User not local; will forward to <%s>", \
	    "RCPT (or VRFY) of an address with a forward entry in " \
	    "relocated_maps: accepted, for the new address TARGET.") \
	X(SMTP_R_RCPT_RELOCATED, 551, "5.1.6", 0, "target", \
	    "User not local; please try <%s>", \
	    "RCPT (or VRFY) of an address in relocated_maps, which says " \
	    "that TARGET replaces it.") \
	X(SMTP_R_RCPT_RELOCATED_NOWHERE, 551, "5.1.6", 0, "", \
	    "User not local", \
	    "RCPT (or VRFY) of an address with an empty entry in " \
	    "relocated_maps.") \
	X(SMTP_R_RCPT_UNKNOWN_USER, 550, "5.1.1", 1, "address table", \
	    "<%s>: Recipient address rejected: User unknown in %s", \
	    "RCPT (or VRFY) of an address that is not in " \
	    "local_recipient_maps (TABLE is local recipient table) or " \
	    "virtual_mailbox_maps (virtual mailbox table); also when an " \
	    "alias or a forward entry leads to such an address.") \
	X(SMTP_R_RCPT_BAD_MAILBOX, 553, "5.1.3", 1, "address", \
	    "<%s>: Recipient address rejected: mailbox name not allowed", \
	    "RCPT (or VRFY) of a local address whose user cannot name a " \
	    "Maildir, or that an alias leads to.") \
	X(SMTP_R_RCPT_RELAY_DENIED, 554, "5.7.1", 0, "address", \
	    "<%s>: Relay access denied", \
	    "RCPT of an address in another domain from a client that may " \
	    "not relay.") \
	X(SMTP_R_RCPT_ACCESS_REJECT, 554, "5.7.1", 0, "address", \
	    "<%s>: Recipient address rejected: Access denied", \
	    "Every RCPT of a client with a reject_rcpt entry without a " \
	    "text in client_access_maps.") \
	X(SMTP_R_RCPT_ACCESS_REJECT_TEXT, 554, "5.7.1", 0, "address text", \
	    "<%s>: Recipient address rejected: %s", \
	    "Every RCPT of a client with a reject_rcpt entry in " \
	    "client_access_maps; TEXT is the entry's text.") \
	X(SMTP_R_RCPT_ACCESS_DEFER, 450, "4.7.1", 0, "address", \
	    "<%s>: Recipient address rejected: Try again later", \
	    "Every RCPT of a client with a defer_rcpt entry without a text " \
	    "in client_access_maps.") \
	X(SMTP_R_RCPT_ACCESS_DEFER_TEXT, 450, "4.7.1", 0, "address text", \
	    "<%s>: Recipient address rejected: %s", \
	    "Every RCPT of a client with a defer_rcpt entry in " \
	    "client_access_maps; TEXT is the entry's text.") \
	X(SMTP_R_RCPT_RATE, 450, "4.7.1", 0, "address", \
	    "<%s>: Recipient address rejected: Error: too much mail from " \
	    "your address; try again later", \
	    "The first RCPT of a message when the client started " \
	    "client_message_rate_limit messages within " \
	    "client_rate_time_unit.") \
	X(SMTP_R_RCPT_ALIAS_FAILED, 451, "4.3.0", 0, "address", \
	    "<%s>: alias expansion failed (loop?)", \
	    "RCPT (or VRFY) of an alias whose expansion loops deeper than " \
	    "ten levels or yields no address.") \
	X(SMTP_R_RCPT_TABLE_ERROR, 451, "4.3.5", 0, "address", \
	    "<%s>: Recipient address rejected: local configuration error", \
	    "RCPT (or VRFY) that needs a table entry that is not valid " \
	    "(ternd -t names it; the log names its file and line), or a " \
	    "client whose client_access_maps entry is not valid.") \
	X(SMTP_R_LOOKUP_TEMPFAIL, 451, "4.3.0", 0, "", \
	    "Temporary lookup failure, try again later", \
	    "RCPT or VRFY when the lookup process cannot be asked (it is " \
	    "being restarted).") \
	/* ------------------------------------------------- VRFY */ \
	X(SMTP_R_VRFY_CANNOT, 252, "2.0.0", 0, "", \
	    "Cannot VRFY user, but will accept message and attempt delivery", \
	    "VRFY when vrfy_reply is cannot-verify.") \
	X(SMTP_R_VRFY_OK, 250, "2.0.0", 0, "address", "<%s>", \
	    "VRFY of an address that is accepted, when vrfy_reply is " \
	    "verify.") \
	X(SMTP_R_VRFY_NOT_LOCAL, 252, "2.0.0", 0, "address", \
	    "<%s>: not local, cannot verify; will attempt delivery", \
	    "VRFY of an address in another domain, when vrfy_reply is " \
	    "verify.") \
	X(SMTP_R_VRFY_DISABLED, 502, "5.5.1", 1, "", \
	    "VRFY command is disabled", "VRFY when vrfy_reply is disabled.") \
	X(SMTP_R_VRFY_BAD_ADDRESS, 501, "5.1.3", 1, "", "Bad address syntax", \
	    "VRFY of something that is not an address or a user name.") \
	X(SMTP_R_VRFY_NEEDS_UTF8, 553, "5.6.7", 1, "", \
	    "Non-ASCII address requires the SMTPUTF8 parameter", \
	    "VRFY of a non-ASCII address without the SMTPUTF8 parameter.") \
	/* ------------------------------------------- DATA and BDAT */ \
	X(SMTP_R_NO_VALID_RCPTS, 554, "5.5.1", 1, "", \
	    "Error: no valid recipients", \
	    "DATA or BDAT when no recipient was accepted.") \
	X(SMTP_R_DATA_AFTER_BDAT, 503, "5.5.1", 1, "", \
	    "Error: DATA after BDAT", "DATA in a transaction that used BDAT.") \
	X(SMTP_R_DATA_GO, 354, NULL, 0, "", "End data with <CR><LF>.<CR><LF>", \
	    "DATA accepted: the client sends the message.") \
	X(SMTP_R_QUEUE_WRITE, 451, "4.3.0", 0, "", \
	    "Error: queue file write error", \
	    "DATA or the first BDAT when the queue cannot start a message; " \
	    "at the end of a message that could not be made durable.") \
	X(SMTP_R_LONG_LINE, 554, "5.6.0", 0, "limit", \
	    "Error: message line longer than %s octets", \
	    "At the end of a message with a line longer than " \
	    "text_line_limit.") \
	X(SMTP_R_NUL_IN_MESSAGE, 554, "5.6.0", 0, "", \
	    "Error: message contains NUL octets", \
	    "At the end of a message with a NUL octet.") \
	X(SMTP_R_QUEUED, 250, "2.0.0", 0, "id", "Ok: queued as %s", \
	    "At the end of a message, once it is durable in the queue; ID " \
	    "is its queue ID.") \
	X(SMTP_R_BDAT_OK, 250, "2.0.0", 0, "octets", "%s octets received", \
	    "A BDAT chunk without LAST; OCTETS counts the message so far.") \
	X(SMTP_R_BDAT_ZERO, 501, "5.5.4", 1, "", "Error: BDAT 0 without LAST", \
	    "An empty BDAT chunk that is not the last.") \
	X(SMTP_R_BDAT_DISCARDED, 554, "5.5.1", 0, "", \
	    "Error: message discarded after an earlier error", \
	    "Every BDAT chunk after one that failed, up to the LAST one.") \
	X(SMTP_R_BDAT_SYNTAX, 521, "5.5.4", 0, "", \
	    "Syntax: BDAT count [LAST]", \
	    "A BDAT command without a valid size: the rest of the input " \
	    "cannot be followed; the connection is closed.") \
	X(SMTP_R_BDAT_TOO_BIG, 552, "5.3.4", 0, "", \
	    "Message size exceeds fixed maximum message size, closing", \
	    "A BDAT chunk larger than message_size_limit: it is not read; " \
	    "the connection is closed.")

enum smtp_reply_id {
#define SMTP_REPLY_ENUM(name, code, esc, counts, args, text, when) name,
	SMTP_REPLIES(SMTP_REPLY_ENUM)
#undef SMTP_REPLY_ENUM
	    SMTP_R_COUNT
};

struct smtp_reply_def {
	const char *name;
	int code;
	const char *esc; /* NULL: none */
	int counts;      /* towards error_limit */
	const char *args;
	const char *text;
};

extern const struct smtp_reply_def smtp_replies[SMTP_R_COUNT];

/*
 * The reply line, without CR LF: "code esc text", or "code text" without
 * an enhanced code.  Each %s of the text takes the next of a1 and a2 (NULL
 * is ""); %% is one %.  The line is cut to fit dst.  Returns its length.
 */
size_t smtp_reply_format(enum smtp_reply_id id, char *dst, size_t dstsz,
    const char *a1, const char *a2);

#endif
