/*
 * NAME
 *	conf_params - every configuration parameter, declared once
 * PURPOSE
 *	Name, type, built-in default, default when ternd runs without any
 *	configuration file (NULL: same as the built-in default), limits and a
 *	one-line description.  struct conf, the parser, "ternd -n" and the
 *	parameter list in tern.conf(5) all derive from this table.
 * TRUST
 *	Compile-time data.
 * INVARIANTS
 *	Every default satisfies its own type and limits (checked by a unit
 *	test).
 */
#ifndef TERN_CONF_PARAMS_H
#define TERN_CONF_PARAMS_H

/*
 * X(name, type, default, nofile_default, min, max, choices, description)
 * Types: STR text; LIST blank/comma separated words; ADDRS listening
 * addresses (ip:port, [ipv6]:port); PATH a file or
 * directory name; NETS networks (netaddr.h); INT a number; SIZE bytes with
 * k/m/g; TIME a duration (ms/s/m/h/d, seconds if no unit), kept in ms;
 * BOOL yes/no; ENUM one of the words in choices ("a|b|c").
 */
#define CONF_PARAMS(X) \
	X(myhostname, STR, "", NULL, 0, 255, NULL, \
	    "host name in the greeting, Received: headers and Maildir file " \
	    "names; empty means the system's host name") \
	X(mydestination, LIST, "localhost", NULL, 0, 0, NULL, \
	    "domains whose mail is delivered locally: every local part gets " \
	    "a Maildir under mail_directory") \
	X(smtp_listen, ADDRS, "127.0.0.1:2525", NULL, 0, 0, NULL, \
	    "addresses (host:port, [v6]:port) of the SMTP (MX) listener") \
	X(spool_directory, PATH, "var/spool", NULL, 0, 0, NULL, \
	    "the queue: tmp/, queue/ and corrupt/ live here") \
	X(mail_directory, PATH, "var/mail", NULL, 0, 0, NULL, \
	    "local users' Maildirs: <mail_directory>/<localpart>/") \
	X(relay_networks, NETS, "", "loopback", 0, 0, NULL, \
	    "clients allowed to relay to any domain (\"loopback\" = " \
	    "127.0.0.0/8 and ::1); nobody by default in a configured server") \
	X(local_recipient_maps, PATH, "", NULL, 0, 0, NULL, \
	    "table of known local parts for mydestination; when empty, every " \
	    "local part is accepted") \
	X(alias_maps, PATH, "", NULL, 0, 0, NULL, \
	    "table: local part -> addresses (local or remote), comma " \
	    "separated") \
	X(virtual_mailbox_maps, PATH, "", NULL, 0, 0, NULL, \
	    "table: user@domain or @domain -> Maildir directory") \
	X(relocated_maps, PATH, "", NULL, 0, 0, NULL, \
	    "table: address -> new address [forward]; 551, or 251 and " \
	    "forwarding with the word forward") \
	X(client_access_maps, PATH, "", NULL, 0, 0, NULL, \
	    "table: client address or network -> ok | relay | reject " \
	    "[text] | reject_rcpt [text] | defer_rcpt [text]") \
	X(recipient_delimiter, STR, "+", NULL, 0, 1, NULL, \
	    "separates user and detail in user+detail@domain; empty disables " \
	    "subaddressing") \
	X(accept_mail, BOOL, "yes", NULL, 0, 0, NULL, \
	    "no: this host accepts no mail (greeting 521 5.3.2, RFC 7504)") \
	X(vrfy_reply, ENUM, "cannot-verify", NULL, 0, 0, \
	    "cannot-verify|verify|disabled", \
	    "VRFY: 252 always, 250/550 for local users, or 502") \
	X(message_size_limit, SIZE, "50m", NULL, 1024, 4294967295ULL, NULL, \
	    "largest message accepted, advertised as SIZE") \
	X(recipient_limit, INT, "1000", NULL, 100, 100000, NULL, \
	    "recipients per message; more get 452 4.5.3") \
	X(error_limit, INT, "10", NULL, 1, 1000, NULL, \
	    "errors per session before 421 and close") \
	X(command_line_limit, INT, "2048", NULL, 512, 65536, NULL, \
	    "longest command line, CRLF included; longer gets 500 5.5.2") \
	X(text_line_limit, INT, "1048576", NULL, 1000, 1073741824, NULL, \
	    "longest message line, CRLF included; a message with a longer " \
	    "line is refused with 554 5.6.0") \
	X(command_timeout, TIME, "300s", NULL, 100, 86400000, NULL, \
	    "idle time allowed between commands (421 4.4.2)") \
	X(data_timeout, TIME, "300s", NULL, 100, 86400000, NULL, \
	    "idle time allowed while message data is being sent (421 4.4.2)") \
	X(max_sessions, INT, "4000", NULL, 1, 1000000, NULL, \
	    "simultaneous SMTP sessions; more get 421 4.7.0 at the greeting") \
	X(max_sessions_per_client, INT, "50", NULL, 1, 1000000, NULL, \
	    "simultaneous sessions from one client address") \
	X(client_connection_rate_limit, INT, "300", NULL, 0, 1000000, NULL, \
	    "connections one client address may open per " \
	    "client_rate_time_unit, refused ones included; more get 421 " \
	    "4.7.0 at the greeting; 0: no limit") \
	X(client_message_rate_limit, INT, "600", NULL, 0, 1000000, NULL, \
	    "messages one client address may start per " \
	    "client_rate_time_unit; the first RCPT of the next gets 450 " \
	    "4.7.1; 0: no limit") \
	X(client_rate_time_unit, TIME, "60s", NULL, 1000, 86400000, NULL, \
	    "the window of the client rate limits") \
	X(client_rate_exceptions, NETS, "loopback", NULL, 0, 0, NULL, \
	    "clients no rate limit applies to") \
	X(smtp_greet_pause, TIME, "0", NULL, 0, 60000, NULL, \
	    "wait this long before the greeting; a client that talks " \
	    "first gets 554 5.5.0 and is disconnected; 0: no pause") \
	X(queue_minfree, SIZE, "64m", NULL, 0, 0, NULL, \
	    "free space kept in the spool file system: MAIL gets 452 4.3.1 " \
	    "when the message would eat into it") \
	X(strict_line_endings, BOOL, "yes", NULL, 0, 0, NULL, \
	    "a bare CR or LF ends the session with 521 5.5.2 (SMTP " \
	    "smuggling defence); no: treat a bare LF as a line end") \
	X(line_ending_exempt_networks, NETS, "", NULL, 0, 0, NULL, \
	    "clients for which strict_line_endings is treated as no") \
	X(reject_unsynchronized_data, BOOL, "yes", NULL, 0, 0, NULL, \
	    "DATA followed by message text before our 354: 554 5.5.0, " \
	    "then 421 and close") \
	X(delivery_concurrency, INT, "32", NULL, 1, 1024, NULL, \
	    "local deliveries running at once") \
	X(mailbox_concurrency, INT, "32", NULL, 1, 1024, NULL, \
	    "deliveries running at once into one Maildir") \
	X(maximal_queue_lifetime, TIME, "5d", NULL, 60000, 31536000000ULL, \
	    NULL, "how long a message may stay deferred before it fails") \
	X(minimal_backoff_time, TIME, "60s", NULL, 100, 86400000, NULL, \
	    "shortest delay before retrying a deferred delivery") \
	X(maximal_backoff_time, TIME, "1h", NULL, 100, 604800000, NULL, \
	    "longest delay before retrying a deferred delivery") \
	X(smtp_processes, INT, "0", NULL, 0, 64, NULL, \
	    "SMTP server processes; 0 means one per CPU") \
	X(smtp_user, STR, "tern-smtp", NULL, 0, 64, NULL, \
	    "user of the SMTP processes when ternd starts as root; they are " \
	    "also confined to chroot_directory") \
	X(lookup_user, STR, "tern-lookup", NULL, 0, 64, NULL, \
	    "user of the lookup process (reads the lookup tables)") \
	X(queue_user, STR, "tern-queue", NULL, 0, 64, NULL, \
	    "user of the queue process, owner of spool_directory") \
	X(mail_user, STR, "tern-mail", NULL, 0, 64, NULL, \
	    "user of the local delivery process, owner of the Maildirs") \
	X(chroot_directory, PATH, "/var/lib/tern/empty", NULL, 0, 0, NULL, \
	    "empty directory the SMTP processes are confined to when ternd " \
	    "starts as root")

#endif
