#!/usr/bin/env python3
"""Write the text fuzz seeds: tests/corpus/{smtp_cmd,smtp_session,smtp_data,conf},
and the scripts of the IPC handler targets: tests/corpus/{svc_ipc,role_lookup}.

    tests/fuzz/gen_corpus.py [CORPUS_DIR]

Binary seeds (envelope, spool_load) come from gen_corpus.c, which uses
tern's own encoders.  Existing files of the same name are overwritten;
regression seeds (regress-*) and files written by hand are left alone.
The input layouts are described at the top of each fuzz_<target>.c.
"""
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write(corpus, target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------ smtp_cmd

LONG_LOCAL = "l" * 64
LONG_DOMAIN = ".".join(["d" * 63] * 3) + "." + "e" * 59  # 251 octets

CMD_LINES = {
    "ehlo": "EHLO client.example.net",
    "helo-literal": "HELO [192.0.2.1]",
    "mail": "MAIL FROM:<alice@example.net>",
    "mail-null": "MAIL FROM:<> SIZE=0",
    "mail-all-params": "MAIL FROM:<alice@example.net> SIZE=1024 BODY=8BITMIME "
    "SMTPUTF8 RET=HDRS ENVID=QQ314159+2Bx AUTH=alice+40example.net",
    "mail-lowercase": "mail from:<Alice@EXAMPLE.Net> body=7bit ret=full",
    "mail-space": "MAIL FROM: <alice@example.net>",
    "mail-quoted": 'MAIL FROM:<"john doe"@example.net>',
    "mail-quoted-plain": 'MAIL FROM:<"john"@example.net>',
    "mail-quoted-pair": 'MAIL FROM:<"a\\"b\\\\c"@example.net>',
    "mail-v4-literal": "MAIL FROM:<alice@[192.0.2.1]>",
    "mail-v6-literal": "MAIL FROM:<alice@[IPv6:2001:db8::1]>",
    "mail-source-route": "MAIL FROM:<@relay1.example,@relay2.example:alice@example.net>",
    "mail-utf8": "MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8",
    "mail-utf8-no-param": "MAIL FROM:<j\u00f6rg@b\u00fccher.example>",
    "mail-auth-null": "MAIL FROM:<a@example.net> AUTH=<>",
    "mail-binarymime": "MAIL FROM:<a@example.net> BODY=BINARYMIME",
    "mail-dup": "MAIL FROM:<a@example.net> SIZE=1 SIZE=2",
    "mail-unknown": "MAIL FROM:<a@example.net> FOO=bar",
    "mail-size-novalue": "MAIL FROM:<a@example.net> SIZE",
    "mail-size-overflow": "MAIL FROM:<a@example.net> SIZE=18446744073709551616",
    "mail-envid-bad": "MAIL FROM:<a@example.net> ENVID=a+2x",
    "mail-long-local": "MAIL FROM:<%s@example.net>" % LONG_LOCAL,
    "mail-too-long-local": "MAIL FROM:<%sx@example.net>" % LONG_LOCAL,
    "mail-long-domain": "MAIL FROM:<a@%s>" % LONG_DOMAIN,
    "mail-dotdot": "MAIL FROM:<a..b@example.net>",
    "rcpt": "RCPT TO:<bob@example.org>",
    "rcpt-postmaster": "RCPT TO:<Postmaster>",
    "rcpt-dsn": "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE,DELAY "
    "ORCPT=rfc822;bob+40example.org",
    "rcpt-never": "RCPT TO:<bob@example.org> NOTIFY=NEVER",
    "rcpt-never-mixed": "RCPT TO:<bob@example.org> NOTIFY=NEVER,DELAY",
    "rcpt-notify-novalue": "RCPT TO:<bob@example.org> NOTIFY",
    "rcpt-orcpt-utf8": "RCPT TO:<bob@example.org> ORCPT=utf-8;b\\x{00F6}b@example.org",
    "rcpt-utf8": "RCPT TO:<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>",
    "rcpt-null": "RCPT TO:<>",
    "rcpt-hyphen": "RCPT TO:<a@-b.example>",
    "bdat": "BDAT 1000",
    "bdat-last": "BDAT 0 LAST",
    "bdat-max": "BDAT 18446744073709551615 last",
    "bdat-overflow": "BDAT 18446744073709551616",
    "bdat-junk": "BDAT 12 LAST x",
    "data": "DATA",
    "rset": "RSET",
    "noop": "NOOP",
    "quit": "QUIT",
    "vrfy": "VRFY bob",
    "vrfy-path": "VRFY <bob@example.org>",
    "expn": "EXPN staff",
    "help": "HELP MAIL",
    "help-status": "HELP STATUS",
    "starttls": "STARTTLS",
    "auth": "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=",
    "etrn": "ETRN @example.org",
    "http": "GET / HTTP/1.1",
    "connect": "CONNECT mx.example.org:25 HTTP/1.1",
    "soml": "SOML FROM:<a@example.net>",
}


def gen_cmd(corpus):
    for name, line in CMD_LINES.items():
        write(corpus, "smtp_cmd", name, line)


# --------------------------------------------------------- smtp_session

def feed_bytes(packets):
    """Control bytes that make each packet arrive on its own."""
    out = bytearray()
    for p in packets:
        n = len(p)
        while n > 0:
            if n >= 64:
                q = min(n // 64, 0xFC - 0x7F)
                out.append(0x7F + q)
                n -= q * 64
            else:
                out.append(n)
                n = 0
    return bytes(out)


def session(packets, flags=0, size=0, rcpt=0, errors=0, line=0, text=0,
            feed=None, answers=b"", split=True):
    packets = [p.encode() if isinstance(p, str) else p for p in packets]
    if feed is None:
        feed = feed_bytes(packets) if split else b""
    assert len(feed) < 256 and len(answers) < 256, "control too long"
    hdr = bytes([flags, size, rcpt, errors, line, text, len(feed), len(answers)])
    return hdr + feed + answers + b"".join(packets)


LENIENT, UNSYNC_OK = 1, 2
VRFY_VERIFY, VRFY_DISABLED = 1 << 2, 2 << 2
GREET_BUSY, GREET_REJECT, GREET_NOMAIL = 2 << 4, 3 << 4, 4 << 4
GREET_SHUTDOWN, GREET_TEMPFAIL, GREET_BUSY_CLIENT = 5 << 4, 6 << 4, 7 << 4
NAMED = 0x80
SLOW_READER = 8  # in the size byte

MSG = ("From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\n"
       "Subject: test\r\nMessage-ID: <1@example.net>\r\n\r\n"
       "Hello Bob,\r\n..a line that starts with a dot\r\n.\r\n")
HELLO = "EHLO client.example.net\r\n"
TXN = "MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n"


def answer(ev, choice):
    return bytes([ev, choice])


def gen_session(corpus):
    s = {}
    s["data-pipelined"] = session([
        HELLO,
        "MAIL FROM:<alice@example.net> SIZE=200\r\nRCPT TO:<bob@example.org>\r\n"
        "RCPT TO:<carol@example.org> NOTIFY=SUCCESS,FAILURE "
        "ORCPT=rfc822;carol@example.org\r\nDATA\r\n",
        MSG, "QUIT\r\n"])
    s["data-unsync-allowed"] = session([HELLO + TXN + "DATA\r\n" + MSG + "QUIT\r\n"],
                                       flags=UNSYNC_OK, split=False)
    s["data-unsync-rejected"] = session([HELLO + TXN + "DATA\r\n" + MSG + "QUIT\r\n"],
                                        split=False)
    s["helo-two-messages"] = session([
        "HELO client.example.net\r\n", TXN, "DATA\r\n", "Subject: 1\r\n\r\none\r\n.\r\n",
        "RSET\r\n", "MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\n", "DATA\r\n",
        "Subject: 2\r\n\r\ntwo\r\n.\r\n", "QUIT\r\n"])
    body = b"Subject: chunked\r\n\r\nbinary \x00\x01\xff and bare\nLF\r\n"
    s["bdat"] = session([
        HELLO, "MAIL FROM:<alice@example.net> BODY=8BITMIME\r\nRCPT TO:<bob@example.org>\r\n"
        "BDAT 20\r\n", body[:20], b"BDAT %d LAST\r\n" % (len(body) - 20), body[20:],
        "QUIT\r\n"])
    s["bdat-pipelined"] = session([
        HELLO + TXN + "BDAT 5\r\nHelloBDAT 7\r\n, world" + "BDAT 2 LAST\r\n\r\n" + "QUIT\r\n"],
        split=False)
    s["bdat-single-last"] = session([HELLO, TXN, "BDAT 12 LAST\r\nHello world!", "QUIT\r\n"])
    s["bdat-noop-between"] = session([HELLO, TXN, "BDAT 3\r\nabc", "NOOP\r\n",
                                      "BDAT 3 LAST\r\ndef", "QUIT\r\n"])
    s["bdat-zero-last"] = session([HELLO, TXN, "BDAT 0 LAST\r\n", "QUIT\r\n"])
    s["bdat-zero"] = session([HELLO, TXN, "BDAT 0\r\n", "BDAT 3 LAST\r\nabc", "QUIT\r\n"])
    s["bdat-no-mail"] = session([HELLO, "BDAT 5\r\n12345", "BDAT 1 LAST\r\nx", "QUIT\r\n"])
    s["bdat-syntax"] = session([HELLO, TXN, "BDAT 5x\r\n12345QUIT\r\n"])
    s["bdat-then-data"] = session([HELLO, TXN, "BDAT 3\r\nabc", "DATA\r\n", "BDAT 1 LAST\r\nd",
                                   "QUIT\r\n"])
    s["bdat-too-big"] = session([HELLO, TXN, "BDAT 90\r\n" + "x" * 90, "BDAT 20 LAST\r\n" + "y" * 20,
                                 "BDAT 200000000\r\n"], size=2)
    s["data-after-bdat-last"] = session([HELLO, TXN, "BDAT 1 LAST\r\nx", "BDAT 1\r\ny",
                                         "DATA\r\n", "QUIT\r\n"])
    for name, trick in [("lf-dot-lf", "\n.\n"), ("cr-dot-cr", "\r.\r"), ("lf-dot-crlf", "\n.\r\n"),
                        ("crlf-dot-lf", "\r\n.\n"), ("crlf-dot-cr", "\r\n.\r")]:
        smuggle = ("Subject: x\r\n\r\nfirst" + trick +
                   "MAIL FROM:<spoof@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                   "Subject: spoofed\r\n\r\n.\r\n")
        for mode, fl in [("strict", 0), ("lenient", LENIENT)]:
            s["smuggle-%s-%s" % (name, mode)] = session(
                [HELLO, TXN, "DATA\r\n", smuggle, "\r\n.\r\nQUIT\r\n"], flags=fl)
    s["bare-lf-command"] = session([HELLO, "MAIL FROM:<a@example.net>\nRCPT TO:<b@example.org>\r\n",
                                    "QUIT\r\n"])
    s["bare-lf-command-lenient"] = session(["EHLO x\n", "MAIL FROM:<a@example.net>\n",
                                            "RCPT TO:<b@example.org>\n", "DATA\n",
                                            "a\nb\n.\r\n", "QUIT\n"], flags=LENIENT)
    s["bare-cr-command"] = session([HELLO, "NOOP\rNOOP\r\n", "QUIT\r\n"], flags=LENIENT)
    s["nul-command"] = session([HELLO, b"NOOP\x00\r\n", "QUIT\r\n"])
    s["nul-in-data"] = session([HELLO, TXN, "DATA\r\n", b"Subject: x\r\n\r\na\x00b\r\n.\r\n",
                                "QUIT\r\n"])
    s["long-command"] = session([HELLO, "NOOP " + "x" * 3000 + "\r\n", "NOOP\r\n",
                                 "MAIL FROM:<" + "a" * 70 + "@example.net>\r\n", "QUIT\r\n"])
    s["long-command-small-limit"] = session([HELLO, "MAIL FROM:<alice@example.net>\r\n",
                                             "NOOP\r\n", "QUIT\r\n"], line=3)
    s["long-body-line"] = session([HELLO, TXN, "DATA\r\n",
                                   "Subject: x\r\n\r\n" + "y" * 1200 + "\r\n.\r\n", "QUIT\r\n"])
    s["body-line-at-limit"] = session([HELLO, TXN, "DATA\r\n",
                                       "." + "z" * 998 + "\r\n" + "w" * 998 + "\r\n.\r\n",
                                       "QUIT\r\n"])
    s["size-exceeded"] = session([HELLO, "MAIL FROM:<a@example.net> SIZE=50\r\n"
                                  "RCPT TO:<b@example.org>\r\n", "DATA\r\n",
                                  "x" * 150 + "\r\n.\r\n", "MAIL FROM:<a@example.net> SIZE=500\r\n",
                                  "QUIT\r\n"], size=2)
    s["rcpt-limit"] = session([HELLO, "MAIL FROM:<a@example.net>\r\n" +
                               "".join("RCPT TO:<u%d@example.org>\r\n" % i for i in range(4)),
                               "DATA\r\n", "x\r\n.\r\n", "QUIT\r\n"], rcpt=2)
    s["error-limit"] = session([HELLO + "FOO\r\n" * 12], errors=5, split=False)
    s["utf8"] = session([HELLO, "MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8\r\n"
                         "RCPT TO:<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>\r\n", "DATA\r\n",
                         "Subject: gr\u00fc\u00dfe\r\n\r\n\u00e4\u00f6\u00fc\r\n.\r\n", "QUIT\r\n"])
    s["utf8-without-param"] = session([HELLO, "MAIL FROM:<j\u00f6rg@b\u00fccher.example>\r\n",
                                       "MAIL FROM:<a@example.net>\r\nRCPT TO:<\u00e9@example.org>\r\n",
                                       "QUIT\r\n"])
    s["all-params"] = session([HELLO, "MAIL FROM:<alice@example.net> SIZE=100 BODY=8BITMIME "
                               "SMTPUTF8 RET=HDRS ENVID=QQ314159+2Bx AUTH=<>\r\n"
                               "RCPT TO:<bob@example.org> NOTIFY=NEVER\r\n"
                               "RCPT TO:<carol@example.org> NOTIFY=DELAY ORCPT=rfc822;carol+40x\r\n",
                               "DATA\r\n", "x\r\n.\r\n", "QUIT\r\n"])
    s["misc-commands"] = session([HELLO, "NOOP\r\n", "HELP\r\n", "HELP MAIL\r\n", "HELP STATUS\r\n",
                                  "HELP FOO\r\n", "VRFY bob\r\n", "VRFY <bob@example.org>\r\n",
                                  "EXPN staff\r\n", "STARTTLS\r\n", "AUTH PLAIN\r\n", "ETRN x\r\n",
                                  "TURN\r\n", "XYZZY\r\n", "RSET\r\n", "RSET x\r\n", "DATA x\r\n",
                                  "QUIT\r\n"], flags=VRFY_VERIFY)
    s["vrfy-disabled"] = session([HELLO, "VRFY bob\r\n", "VRFY\r\n", "QUIT\r\n"], flags=VRFY_DISABLED)
    s["order-errors"] = session(["MAIL FROM:<a@example.net>\r\n", "RCPT TO:<b@example.org>\r\n",
                                 "DATA\r\n", HELLO, "RCPT TO:<b@example.org>\r\n", "DATA\r\n",
                                 "MAIL FROM:<a@example.net>\r\n", "MAIL FROM:<a@example.net>\r\n",
                                 "DATA\r\n", "EHLO again.example\r\n", "RCPT TO:<b@example.org>\r\n",
                                 "QUIT\r\n"])
    s["http"] = session(["GET / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n"])
    s["greet-reject"] = session(["EHLO x\r\n", "MAIL FROM:<a@example.net>\r\n", "QUIT\r\n"],
                                flags=GREET_REJECT | NAMED)
    s["greet-nomail"] = session(["EHLO x\r\n", "QUIT\r\n"], flags=GREET_NOMAIL)
    s["greet-busy"] = session(["EHLO x\r\n"], flags=GREET_BUSY)
    s["greet-shutdown"] = session(["EHLO x\r\n"], flags=GREET_SHUTDOWN)
    s["greet-tempfail"] = session(["EHLO x\r\n"], flags=GREET_TEMPFAIL)
    s["ehlo-burst"] = session(["EHLO x\r\n" * 2000], split=False)
    s["slow-reader"] = session(["EHLO x\r\n" * 1800 + "QUIT\r\n"], size=SLOW_READER, split=False)
    s["bdat-absurd"] = session([HELLO, TXN, "BDAT 200000000\r\n", "QUIT\r\n"], size=2)
    s["byte-by-byte"] = session([HELLO + TXN + "DATA\r\n"], feed=b"\x01" * 120, flags=UNSYNC_OK,
                                split=False)
    # The glue says no: to MAIL, to a RCPT, to OPEN, to COMMIT.
    s["answers-refused"] = session(
        [HELLO, TXN, "RCPT TO:<c@example.org>\r\n", "DATA\r\n", "DATA\r\n", "x\r\n.\r\n",
         "MAIL FROM:<a@example.net>\r\n", "QUIT\r\n"],
        answers=answer(0, 0) + answer(0, 0) + answer(0, 6) + answer(0, 1) + answer(0, 0) +
        answer(0, 1) + answer(0, 2))
    s["answers-finals"] = session(
        [HELLO, "MAIL FROM:<a@example.net>\r\n" +
         "".join("RCPT TO:<u%d@example.org>\r\n" % i for i in range(5)), "DATA\r\n",
         "x\r\n.\r\n", "QUIT\r\n"],
        answers=answer(0, 1) + answer(0, 1) + answer(0, 2) + answer(0, 3) + answer(0, 5) +
        answer(0, 9))
    # Every lookup verdict (fuzz_smtp_session.c's answer()), to RCPT and
    # to VRFY.
    s["answers-verdicts"] = session(
        [HELLO, "MAIL FROM:<a@example.net>\r\n",
         "".join("RCPT TO:<u%d@example.org>\r\n" % i for i in range(16)),
         "VRFY u@example.org\r\n" * 6, "QUIT\r\n"],
        flags=VRFY_VERIFY,
        answers=answer(0, 0) + b"".join(answer(0, i) for i in range(16)) +
        answer(0, 0) + answer(0, 2) + answer(0, 4) + answer(0, 14) +
        answer(0, 13) + answer(0, 22))
    s["greet-busy-client"] = session(["EHLO x\r\n"], flags=GREET_BUSY_CLIENT)
    s["answers-bdat-open-fails"] = session(
        [HELLO, TXN, "BDAT 3\r\nabc", "BDAT 2 LAST\r\nde", "QUIT\r\n"],
        answers=answer(0, 0) + answer(0, 0) + answer(0, 1))
    s["shutdown-during-commit"] = session([HELLO, TXN, "DATA\r\n", "x\r\n.\r\n", "NOOP\r\n"],
                                          answers=b"\0\0\0\0\0\0\xfe\0")
    # After the last packet: odd, a timeout; even or none, the client leaves.
    s["timeout-during-data"] = session([HELLO, TXN, "DATA\r\n", "partial"],
                                       feed=feed_bytes([HELLO, TXN, "DATA\r\n", "partial"]) + b"\x01")
    s["eof-during-data"] = session([HELLO, TXN, "DATA\r\n", "partial"])
    s["timeout-between-commands"] = session([HELLO, "NOOP\r\n", "NOOP\r\n"],
                                            feed=feed_bytes([HELLO, "NOOP\r\n"]) + b"\xff\x06")
    s["eof-before-commit"] = session([HELLO, TXN, "DATA\r\n", "x\r\n.\r\n"],
                                     answers=b"\0\0\0\0\0\0\xfd\0")
    for name, data in s.items():
        write(corpus, "smtp_session", name, data)


# ------------------------------------------------------------ smtp_data

def data_seed(text, lenient=False, chunk=False, limit=0xFFFF, line_max=0, outmax=65535, seed=1):
    if isinstance(text, str):
        text = text.encode()
    hdr = struct.pack("<BHBHH", (1 if lenient else 0) | (2 if chunk else 0), limit, line_max,
                      outmax, seed)
    return hdr + text


def gen_data(corpus):
    d = {}
    d["message"] = data_seed(MSG + "MAIL FROM:<next@example.net>\r\n")
    d["empty"] = data_seed(".\r\n")
    d["dot-stuffing"] = data_seed("..\r\n...\r\n.x\r\n. \r\n.\r\n")
    d["small-pieces"] = data_seed(MSG, outmax=3, seed=0x1234)
    d["limit"] = data_seed("x" * 100 + "\r\n" + "y" * 100 + "\r\n.\r\n", limit=150)
    d["long-line"] = data_seed("a" * 300 + "\r\n.\r\n", line_max=200)
    d["nul"] = data_seed(b"a\x00b\r\n.\r\n")
    for name, trick in [("lf-dot-lf", "\n.\n"), ("cr-dot-cr", "\r.\r"), ("lf-dot-crlf", "\n.\r\n"),
                        ("crlf-dot-lf", "\r\n.\n"), ("dot-cr-x", "\r\n.\rx"),
                        ("cr-crlf-dot", "\r\r\n.\r\n")]:
        text = "Subject: x\r\n\r\nfirst" + trick + "MAIL FROM:<spoof@example.com>\r\n.\r\n"
        d["smuggle-%s" % name] = data_seed(text)
        d["smuggle-%s-lenient" % name] = data_seed(text, lenient=True)
    d["chunk"] = data_seed(b"binary\x00\xff\r\nbare\nlf\rcr\r\n.\r\n", chunk=True)
    d["chunk-small-out"] = data_seed("0123456789" * 10, chunk=True, outmax=7, limit=60)
    for name, data in d.items():
        write(corpus, "smtp_data", name, data)


# ----------------------------------------------------------------- conf

def conf_params():
    """(name, type, default) of every parameter in conf_params.h."""
    text = open(os.path.join(ROOT, "src", "conf", "conf_params.h")).read()
    return re.findall(r'X\((\w+), (\w+), "([^"]*)"', text)


EXAMPLE_VALUES = {
    "myhostname": "mx.example.org",
    "mydestination": "example.org, mail.example.org localhost",
    "smtp_listen": "0.0.0.0:25 [::]:25",
    "spool_directory": "/var/spool/tern",
    "mail_directory": "/var/mail",
    "relay_networks": "loopback, 192.0.2.0/24 2001:db8::/32",
    "local_recipient_maps": "/etc/tern/local_recipients",
    "alias_maps": "/etc/tern/aliases",
    "virtual_mailbox_maps": "/etc/tern/virtual",
    "relocated_maps": "/etc/tern/relocated",
    "client_access_maps": "/etc/tern/access",
    "recipient_delimiter": "-",
    "accept_mail": "yes",
    "vrfy_reply": "verify",
    "message_size_limit": "10m",
    "recipient_limit": "500",
    "error_limit": "20",
    "command_line_limit": "4096",
    "text_line_limit": "2000",
    "command_timeout": "5m",
    "data_timeout": "600s",
    "max_sessions": "1000",
    "max_sessions_per_client": "20",
    "queue_minfree": "1g",
    "strict_line_endings": "no",
    "line_ending_exempt_networks": "198.51.100.7, [2001:db8::7]",
    "reject_unsynchronized_data": "off",
    "delivery_concurrency": "8",
    "maximal_queue_lifetime": "3d",
    "minimal_backoff_time": "300000ms",
    "maximal_backoff_time": "4h",
}


def gen_conf(corpus):
    params = conf_params()
    c = {}
    c["defaults"] = "".join("%s = %s\n" % (n, d) for n, _, d in params)
    c["example"] = ("# tern.conf\n\n" +
                    "".join("%s = %s\n" % (n, EXAMPLE_VALUES.get(n, d)) for n, _, d in params))
    c["continuation"] = ("mydestination = example.org,\n  example.net\n\texample.com\n"
                         "relay_networks =\n  127.0.0.0/8\n  ::1\n; a comment\n# another\n\n")
    c["empty"] = ""
    c["errors-unknown"] = "myhostname = mx.example.org\nno_such_parameter = 1\n"
    c["errors-range"] = "recipient_limit = 5\n"
    c["errors-twice"] = "error_limit = 5\nerror_limit = 6\n"
    c["errors-section"] = "[main]\nmyhostname = x\n"
    c["errors-syntax"] = "myhostname mx.example.org\n"
    c["errors-backoff"] = "minimal_backoff_time = 2h\nmaximal_backoff_time = 1h\n"
    c["errors-enum"] = "vrfy_reply = maybe\n"
    c["errors-nets"] = "relay_networks = 192.0.2.0/33\n"
    c["errors-listen"] = "smtp_listen = nohost\n"
    c["crlf"] = "myhostname = mx.example.org\r\nerror_limit = 5\r\n"
    # Tables, as table_load reads them.
    c["table-aliases"] = ("# aliases\npostmaster root\nroot alice\n"
                          "staff alice, bob,\n  carol@example.net\n"
                          "Abuse alice\n")
    c["table-access"] = ("192.0.2.0/24 relay\n198.51.100.7 reject Go away\n"
                         "2001:db8::/32 reject_rcpt\n203.0.113.9 defer_rcpt try later\n"
                         "127.0.0.1 ok\n")
    c["table-virtual"] = ("alice@example.com alice/\n@example.net catchall\n"
                          "bob@example.com /srv/mail/bob\n")
    c["table-relocated"] = "old@example.org new@example.com forward\nolder@example.org new@example.com\n"
    # Entries the lookup module cannot use as written (fuzz_conf loads
    # every table as each kind).
    c["table-bad-entries"] = (b"bob newbob forward\nteam alice, b\xffb\n"
                              b"w@virt.example\nx@virt.example ../../x\n"
                              b"192.0.2.0/24 permit\nloop1 loop2\n"
                              b"loop2 loop1\ndave dave@new.example perhaps\n")
    c["table-duplicate"] = "alice a\nALICE b\n"
    c["table-continuation-first"] = "  orphan\nkey value\n"
    c["table-long-line"] = "key " + "v" * 9000 + "\n"
    for name, data in c.items():
        write(corpus, "conf", name, data)


def gen_conf_dict():
    """tests/fuzz/conf.dict: parameter names and value words for fuzz_conf."""
    words = [n for n, _, _ in conf_params()]
    words += [" = ", "=", ":", "\n  ", "\n\t", "\n#", "\n;", "[", "]", "yes", "no", "on",
              "off", "true", "false", "loopback", "127.0.0.0/8", "[::1]:25", "0.0.0.0:25",
              "/var/spool/tern", "k", "m", "g", "ms", "s", "h", "d", "cannot-verify", "verify",
              "disabled", "18446744073709551615", "4294967296"]
    with open(os.path.join(ROOT, "tests", "fuzz", "conf.dict"), "w") as f:
        f.write("# fuzz_conf: parameter names (from conf_params.h) and values; "
                "written by gen_corpus.py\n")
        for w in words:
            f.write('"%s"\n' % "".join(c if 32 <= ord(c) < 127 and c not in '"\\'
                                        else "\\x%02x" % ord(c) for c in w))


# ------------------------------------------------ svc_ipc, role_lookup

# fuzz_svc_ipc.c's OP_* (after a first byte: 0 smtp, 1 queue)
S_REQ, S_ANS, S_MSG, S_NOTICE, S_CLOSE, S_RECONNECT, S_RUN, S_SWITCH, \
    S_OCTETS = range(9)
# fuzz_role_lookup.c's OP_*
L_REQ, L_BATCH, L_MSG, L_LIE, L_OPEN, L_CLOSE, L_SWITCH, L_RELOAD = range(8)


def gen_handlers(corpus):
    run = [S_RUN, 3]
    svc = {
        # admission asked and answered
        "smtp-admit": [0, S_REQ, 0, 0] + run + [S_ANS, 0, 0, 0, 1, 0, 0] +
        run,
        # a recipient answered, then asked again (from the cache)
        "smtp-rcpt-cached": [0, S_REQ, 2, 3, 1, 2, 3, 3, 1, 2, 3, 0] + run +
        [S_ANS, 0, 0, 0, 0, 0, 2] + run +
        [S_REQ, 2, 3, 1, 2, 3, 3, 1, 2, 3, 0] + run,
        # a message opened, its text written, committed; room known
        "smtp-open-write-commit": [0, S_REQ, 7] + run +
        [S_SWITCH, S_ANS, 0, 0, 1] + run +
        [S_REQ, 8, 5, 1, 2, 3, 4, 5, S_REQ, 9, 7] + run +
        [S_ANS, 0, 0, 1] + run + [S_NOTICE, 1, 0, 0, 1, 0] +
        [S_REQ, 4, 0, 0, 16, 0] + run,
        # a wrong id, then a descriptor where none belongs
        "smtp-wrong-answers": [0, S_REQ, 0, 0] + run + [S_ANS, 0, 3, 0, 0,
                                                          0, 0] + run +
        [S_RECONNECT, S_REQ, 0, 1] + run + [S_ANS, 0, 5, 0, 0, 0, 0] + run,
        # the lookup process goes away and comes back
        "smtp-close": [0, S_REQ, 0, 0, S_CLOSE] + run +
        [S_REQ, 0, 0, S_RECONNECT, S_REQ, 0, 0] + run +
        [S_ANS, 0, 0, 0, 0, 0, 0] + run,
        # the queue resolves, then delivers
        "queue-resolve-deliver": [1, S_REQ, 0, 3, 1, 2, 3, 3, 1, 2, 3] + run +
        [S_ANS, 0, 0, 0, 5, 0, S_SWITCH, S_REQ, 1, 0, 0, 0, 10] + run +
        [S_ANS, 0, 0, 0, 0] + run,
        # a torn header
        "queue-octets": [1, S_OCTETS, 5, 1, 2, 3, 4, 5] + run +
        [S_REQ, 0, 0] + run,
    }
    for name, b in svc.items():
        write(corpus, "svc_ipc", name, bytes(b))
    lookup = {
        # three from one client (the third is too many), the limit of
        # all, releases, a closed channel giving its sessions back
        "admissions": [L_REQ, 0, 0, L_REQ, 0, 0, L_REQ, 0, 0, L_SWITCH, 1,
                       L_REQ, 0, 1, L_REQ, 0, 2, L_REQ, 1, 0, L_SWITCH, 0,
                       L_REQ, 1, 0, L_SWITCH, 1, L_REQ, 0, 3, L_CLOSE,
                       L_SWITCH, 0, L_REQ, 0, 3],
        # recipients, VRFY and a resolution from the queue; a reload
        "lookups": [L_REQ, 2, 0, 1, 1, L_REQ, 3, 0, 2, 0, L_REQ, 2, 0, 3, 0,
                    L_REQ, 2, 0, 4, 2, L_REQ, 2, 3, 0, 1, L_SWITCH, 2,
                    L_REQ, 0, 0, 1, L_RELOAD],
        # a batch with a request the role may not send, a descriptor, a
        # lying header, a new channel
        "bad": [L_BATCH, 2, 0, 0, 230, L_OPEN, 0, L_MSG, 0, 18, 0, 1, 2, 3,
                4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0,
                L_SWITCH, 1, L_LIE, 1, 0, L_SWITCH, 2, L_MSG, 3, 0, 8],
    }
    for name, b in lookup.items():
        write(corpus, "role_lookup", name, bytes(b))


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "corpus")
    gen_cmd(corpus)
    gen_session(corpus)
    gen_data(corpus)
    gen_conf(corpus)
    gen_handlers(corpus)
    gen_conf_dict()


if __name__ == "__main__":
    main()
