"""What arrives in the Maildir, octet for octet: dot-stuffing, 8-bit text,
long lines, BDAT, SMTPUTF8, pipelining, subaddressing; with raw sockets,
smtplib, swaks and curl."""

import os
import random
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile

from ternlib import ClosedError, TerndTestCase, lf


class ExactBodyTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()

    def test_dot_stuffing(self):
        c = self.connect(self.t)
        self.ehlo(c, "dots.test")
        # On the wire (stuffed) and what the message is (unstuffed).
        wire = (b"From: a@example.org\r\nSubject: dots\r\n\r\n"
                b"..leading dot\r\n"
                b"...two dots\r\n"
                b"..\r\n"
                b". space after a dot\r\n"
                b"middle . dot\r\n"
                b"..\r\n"
                b"last line\r\n")
        message = (b"From: a@example.org\r\nSubject: dots\r\n\r\n"
                   b".leading dot\r\n"
                   b"..two dots\r\n"
                   b".\r\n"
                   b" space after a dot\r\n"
                   b"middle . dot\r\n"
                   b".\r\n"
                   b"last line\r\n")
        qid = self.send_message(c, "a@example.org", ["dot@localhost"], wire)
        self.expect(c, "QUIT", 221, "2.0.0")
        [got] = self.t.wait_messages("dot")
        self.check_delivered(got, message, "a@example.org", "dot@localhost",
                             helo="dots.test", qid=qid,
                             for_rcpt="dot@localhost")

    def test_dot_stuffing_smtplib(self):
        # smtplib stuffs the dots itself; what it was given must arrive.
        message = (b"Subject: smtplib\r\n\r\n.one\r\n..two\r\n.\r\n"
                   b"x\r\n...\r\n")
        with smtplib.SMTP("127.0.0.1", self.t.port, "smtplib.test",
                          timeout=20) as s:
            refused = s.sendmail("s@example.org", ["lib@localhost"], message)
            self.assertEqual(refused, {}, "recipients refused: %r" % refused)
        [got] = self.t.wait_messages("lib")
        self.check_delivered(got, message, "s@example.org", "lib@localhost",
                             helo="smtplib.test")

    def test_8bitmime(self):
        c = self.connect(self.t)
        r = self.ehlo(c)
        self.assertIn("8BITMIME", r.lines, "EHLO does not list 8BITMIME")
        message = (b"Subject: 8bit\r\nContent-Type: text/plain; "
                   b"charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n"
                   b"\r\ncaf\xe9 \xfc\xf6\xe4 \x80\x81\xff\xfe\r\n"
                   b"utf-8 too: \xc3\xa9\xe2\x82\xac\r\n\x7f\x01\x1b[0m\r\n")
        self.send_message(c, "a@example.org", ["eight@localhost"], message,
                          mail_params="BODY=8BITMIME")
        [got] = self.t.wait_messages("eight")
        self.check_delivered(got, message, "a@example.org",
                             "eight@localhost")

    def test_longest_legal_line(self):
        # 998 octets + CRLF = 1000, the RFC 5321 limit and the default.
        line = (bytes(range(33, 127)) * 11)[:998]
        message = b"Subject: long\r\n\r\n" + line + b"\r\nend\r\n"
        c = self.connect(self.t)
        self.ehlo(c)
        self.send_message(c, "a@example.org", ["long@localhost"], message)
        [got] = self.t.wait_messages("long")
        self.check_delivered(got, message, "a@example.org", "long@localhost")

    def test_longest_legal_line_with_leading_dot(self):
        # RFC 5321 4.5.3.1.6: the dot added for transparency does not
        # count; 998 dots are 999 on the wire and still a legal line.
        message = b"Subject: long dots\r\n\r\n" + b"." * 998 + b"\r\n"
        c = self.connect(self.t)
        self.ehlo(c)
        self.send_message(c, "a@example.org", ["longdot@localhost"],
                          message.replace(b"\n.", b"\n.."))
        [got] = self.t.wait_messages("longdot")
        self.check_delivered(got, message, "a@example.org",
                             "longdot@localhost")

    def test_bdat_chunks(self):
        message = (b"From: b@example.org\r\nSubject: chunks\r\n\r\n"
                   b".a leading dot is not stuffed in BDAT\r\n"
                   b"..\r\n"
                   b"a line split over chunks\r\n"
                   b"\xc3\xa9 8-bit\r\n"
                   b"last\r\n")
        # Cut in the middle of a line, between CR and LF, and after ".".
        cuts = [7, message.index(b"\r\n..") + 1, message.index(b"..") + 1,
                message.index(b"split") + 3, len(message) - 3]
        pieces, prev = [], 0
        for cut in sorted(set(cuts)):
            pieces.append(message[prev:cut])
            prev = cut
        pieces.append(message[prev:])
        c = self.connect(self.t)
        r = self.ehlo(c, "bdat.test")
        self.assertIn("CHUNKING", r.lines, "EHLO does not list CHUNKING")
        self.expect(c, "MAIL FROM:<b@example.org>", 250, "2.1.0")
        self.expect(c, "RCPT TO:<chunk@localhost>", 250, "2.1.5")
        for p in pieces[:-1]:
            c.send(b"BDAT %d\r\n" % len(p) + p)
            self.expect_reply(c, 250, "2.0.0", what="BDAT %d" % len(p))
        c.send(b"BDAT %d LAST\r\n" % len(pieces[-1]) + pieces[-1])
        r = self.expect_reply(c, 250, "2.0.0", contains="queued as",
                              what="BDAT LAST")
        qid = re.search(r"queued as (\w+)", r.text).group(1)
        self.expect(c, "QUIT", 221)
        [got] = self.t.wait_messages("chunk")
        self.check_delivered(got, message, "b@example.org",
                             "chunk@localhost", helo="bdat.test", qid=qid)

    def test_bdat_zero_last(self):
        message = b"Subject: zero last\r\n\r\nbody\r\n"
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<b@example.org>", 250)
        self.expect(c, "RCPT TO:<zero@localhost>", 250)
        c.send(b"BDAT %d\r\n" % len(message) + message)
        self.expect_reply(c, 250, "2.0.0", what="BDAT")
        self.expect(c, "BDAT 0 LAST", 250, "2.0.0", contains="queued as")
        [got] = self.t.wait_messages("zero")
        self.check_delivered(got, message, "b@example.org", "zero@localhost")

    def test_large_message(self):
        # About 2 MB of mostly very short lines: CRLFs fall across every
        # buffer boundary on the way to the Maildir.
        rnd = random.Random(7)
        lines = [b"Subject: large"] + [
            b"x" * rnd.choice([0, 1, 2, 3, 5, 80, 997])
            for _ in range(80000)]
        message = b"\r\n".join(lines) + b"\r\n"
        c = self.connect(self.t, timeout=60)
        self.ehlo(c)
        self.send_message(c, "a@example.org", ["large@localhost"], message)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<large2@localhost>", 250)
        third = len(message) // 3
        c.send(b"BDAT %d\r\n" % third + message[:third])
        self.expect_reply(c, 250, "2.0.0")
        c.send(b"BDAT %d LAST\r\n" % (len(message) - third) +
               message[third:])
        self.expect_reply(c, 250, "2.0.0", contains="queued as")
        [got] = self.t.wait_messages("large", timeout=60)
        self.check_delivered(got, message, "a@example.org",
                             "large@localhost")
        [got] = self.t.wait_messages("large2", timeout=60)
        self.check_delivered(got, message, "a@example.org",
                             "large2@localhost")

    def test_smtputf8(self):
        local = "j\u00f6s\u00e9.\u6771\u4eac"  # josé-like, and CJK
        rcpt = local + "@localhost"
        message = ("From: \u00c9milie <\u00e9milie@example.org>\r\n"
                   "Subject: \u00dcbung \u2603\r\n\r\n"
                   "Gr\u00fc\u00dfe \u2014 \U0001F600\r\n").encode("utf-8")
        c = self.connect(self.t)
        r = self.ehlo(c, "utf8.test")
        self.assertIn("SMTPUTF8", r.lines, "EHLO does not list SMTPUTF8")
        # Without the SMTPUTF8 parameter a UTF-8 address is refused.
        self.expect(c, "MAIL FROM:<\u00e9milie@example.org>", 553, "5.6.7")
        self.expect(c, "MAIL FROM:<\u00e9milie@example.org> SMTPUTF8 "
                    "BODY=8BITMIME", 250, "2.1.0")
        self.expect(c, "RCPT TO:<%s>" % rcpt, 250, "2.1.5")
        self.expect(c, "DATA", 354)
        c.send(message + b".\r\n")
        self.expect_reply(c, 250, "2.0.0", what="end of data")
        [got] = self.t.wait_messages(local)
        self.check_delivered(got, message, "\u00e9milie@example.org", rcpt,
                             helo="utf8.test", proto="UTF8SMTP",
                             for_rcpt=rcpt)

    def test_several_recipients_and_messages(self):
        c = self.connect(self.t)
        self.ehlo(c)
        m1 = b"Subject: one\r\n\r\nfirst\r\n"
        m2 = b"Subject: two\r\n\r\nsecond\r\n"
        q1 = self.send_message(c, "s@example.org",
                               ["r1@localhost", "r2@localhost"], m1)
        q2 = self.send_message(c, "", ["r1@localhost"], m2)
        self.assertNotEqual(q1, q2, "two messages got the same queue ID")
        self.expect(c, "QUIT", 221)
        got1 = self.t.wait_messages("r1", 2)
        [got2] = self.t.wait_messages("r2")
        bodies = sorted(got1, key=lambda d: b"Subject: two" in d)
        # Several recipients: the Received: header names none of them.
        self.check_delivered(bodies[0], m1, "s@example.org", "r1@localhost",
                             qid=q1, for_rcpt=None)
        self.check_delivered(bodies[1], m2, "", "r1@localhost", qid=q2,
                             for_rcpt="r1@localhost")
        self.check_delivered(got2, m1, "s@example.org", "r2@localhost",
                             qid=q1, for_rcpt=None)
        self.t.wait_log(r"%s: removed" % q1)
        self.t.wait_log(r"%s: removed" % q2)

    def test_log_lines(self):
        c = self.connect(self.t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org", ["logs@localhost"],
                                b"Subject: x\r\n\r\ny\r\n")
        self.expect(c, "RCPT TO:<x@localhost>", 503, "5.5.1")
        self.expect(c, "QUIT", 221)
        self.t.wait_messages("logs")
        self.t.wait_log(r"%s: removed" % qid)
        log = self.t.log()
        for pat in [r"connect from unknown\[127\.0\.0\.1\]",
                    r"%s: client=unknown\[127\.0\.0\.1\]" % qid,
                    r"%s: from=<s@example\.org>, size=\d+, nrcpt=1 "
                    r"\(queue active\)" % qid,
                    r"%s: to=<logs@localhost>, relay=local, delay=[\d.]+, "
                    r"dsn=2\.0\.0, status=sent \(delivered to maildir\)" % qid,
                    r"%s: removed" % qid,
                    r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 "
                    r"rcpt=1/2 data=1 quit=1 commands=5/6"]:
            self.assertRegex(log, pat, "log line missing")


class ClientToolsTest(TerndTestCase):
    """Other SMTP clients: swaks and curl."""

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()
        self.tmp = tempfile.mkdtemp(prefix="tern-integ-client-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_tool(self, argv):
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            self.fail("%s exited %d, expected 0:\n%s\n%s" % (
                argv[0], p.returncode, out[-3000:], self.t.log_tail()))
        return out

    def test_swaks(self):
        path = os.path.join(self.tmp, "msg")
        message = (b"From: sw@example.org\r\nSubject: swaks\r\n\r\n"
                   b".dot\r\nplain\r\n\xc3\xa9\r\n")
        with open(path, "wb") as f:
            # swaks ends the data with CRLF "." CRLF itself.
            f.write(message[:-2])
        out = self.run_tool([
            "swaks", "--server", "127.0.0.1:%d" % self.t.port,
            "--helo", "swaks.test", "--from", "sw@example.org",
            "--to", "swaks@localhost", "--data", path, "--timeout", "30"])
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as \w+")
        [got] = self.t.wait_messages("swaks")
        self.check_delivered(got, message, "sw@example.org",
                             "swaks@localhost", helo="swaks.test")

    def test_swaks_pipelining(self):
        out = self.run_tool([
            "swaks", "--server", "127.0.0.1:%d" % self.t.port,
            "--pipeline", "--from", "p@example.org",
            "--to", "pipe1@localhost,pipe2@localhost",
            "--header", "Subject: pipelined", "--body", "via swaks",
            "--timeout", "30"])
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as \w+")
        for u in ("pipe1", "pipe2"):
            [got] = self.t.wait_messages(u)
            self.assertIn(b"Subject: pipelined\n", got)
            self.assertIn(b"\nvia swaks\n", got)

    def test_curl(self):
        path = os.path.join(self.tmp, "msg")
        message = (b"From: curl@example.org\r\nTo: c@localhost\r\n"
                   b"Subject: curl\r\n\r\n.leading dot\r\n..two\r\n"
                   b"\xe2\x82\xac\r\nend\r\n")
        with open(path, "wb") as f:
            f.write(message)
        self.run_tool([
            "curl", "-sS", "--max-time", "60",
            "--url", "smtp://127.0.0.1:%d/curl.test" % self.t.port,
            "--mail-from", "curl@example.org", "--mail-rcpt",
            "c@localhost", "--mail-rcpt", "C2@LOCALHOST",
            "--upload-file", path])
        [got] = self.t.wait_messages("c")
        self.check_delivered(got, message, "curl@example.org",
                             "c@localhost", helo="curl.test")
        [got] = self.t.wait_messages("c2")
        # Domains are case-insensitive; tern writes them in lower case.
        self.check_delivered(got, message, "curl@example.org",
                             "C2@localhost", helo="curl.test")


class PipeliningTest(TerndTestCase):

    def test_whole_envelope_in_one_write(self):
        t = self.start_ternd(tables={"local_recipient_maps":
                                     "p1 x\np2 x\np3 x\n"})
        c = self.connect(t)
        c.send("EHLO pipe.test\r\nMAIL FROM:<s@example.org>\r\n"
               "RCPT TO:<p1@localhost>\r\nRCPT TO:<unknown@localhost>\r\n"
               "RCPT TO:<p2@localhost>\r\nRCPT TO:<P3@LocalHost>\r\n"
               "NOOP\r\nDATA\r\n")
        codes = []
        for what in ("EHLO", "MAIL", "RCPT p1", "RCPT unknown", "RCPT p2",
                     "RCPT P3", "NOOP", "DATA"):
            codes.append((what, c.reply().code))
        self.assertEqual([x[1] for x in codes],
                         [250, 250, 250, 550, 250, 250, 250, 354],
                         "replies out of order or wrong: %r\n%s" % (
                             codes, c.transcript_text()))
        message = b"Subject: pipelined\r\n\r\nbody\r\n"
        c.send(message + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        self.expect_reply(c, 250, "2.0.0", contains="queued as")
        self.expect_reply(c, 250, "2.0.0", what="RSET")
        self.expect_reply(c, 250, "2.0.0", what="NOOP")
        self.expect_reply(c, 221, "2.0.0", what="QUIT")
        self.expect_closed(c)
        for u, rc in (("p1", "p1@localhost"), ("p2", "p2@localhost"),
                      ("p3", "P3@localhost")):
            [got] = t.wait_messages(u)
            self.check_delivered(got, message, "s@example.org", rc,
                                 helo="pipe.test")
        t.settle()
        self.assertEqual(t.messages("unknown"), {})

    def test_whole_transaction_in_one_write(self):
        # With reject_unsynchronized_data = no, EHLO..QUIT in one write.
        t = self.start_ternd({"reject_unsynchronized_data": "no"})
        message = b"Subject: all at once\r\n\r\n..dot\r\nbody\r\n"
        c = self.connect(t)
        c.send(b"EHLO pipe.test\r\nMAIL FROM:<s@example.org>\r\n"
               b"RCPT TO:<w1@localhost>\r\nRCPT TO:<w2@localhost>\r\n"
               b"RCPT TO:<w3@localhost>\r\nDATA\r\n" + message +
               b".\r\nMAIL FROM:<>\r\nRCPT TO:<w1@localhost>\r\nDATA\r\n"
               b"Subject: second\r\n\r\n.\r\nQUIT\r\n")
        want = [(250, None), (250, "2.1.0"), (250, "2.1.5"), (250, "2.1.5"),
                (250, "2.1.5"), (354, None), (250, "2.0.0"), (250, "2.1.0"),
                (250, "2.1.5"), (354, None), (250, "2.0.0"), (221, "2.0.0")]
        got = []
        for _ in want:
            r = c.reply()
            got.append((r.code, r.esc))
        self.assertEqual(got, want, "replies out of order or wrong\n" +
                         c.transcript_text())
        self.expect_closed(c)
        for u in ("w1", "w2", "w3"):
            msgs = t.wait_messages(u, 2 if u == "w1" else 1)
            first = [m for m in msgs if b"all at once" in m]
            self.assertEqual(len(first), 1, "%s: %r" % (u, msgs))
            self.check_delivered(first[0], message.replace(b"..", b"."),
                                 "s@example.org", u + "@localhost")
        second = [m for m in t.messages("w1").values() if b"second" in m]
        self.check_delivered(second[0], b"Subject: second\r\n\r\n", "",
                             "w1@localhost")

    def test_unsynchronized_data_refused(self):
        # By default, message text sent before our 354 is refused, and
        # the session ends there: text that looks like a second
        # transaction (transaction stuffing, RFC 2920 3.1) is never run.
        t = self.start_ternd()
        c = self.connect(t)
        c.send(b"EHLO pipe.test\r\nMAIL FROM:<s@example.org>\r\n"
               b"RCPT TO:<u@localhost>\r\nDATA\r\n"
               b"MAIL FROM:<evil@x.y>\r\nRCPT TO:<u2@localhost>\r\n"
               b"DATA\r\nSubject: stuffed\r\n\r\ntext\r\n.\r\nQUIT\r\n")
        self.expect_reply(c, 250, what="EHLO")
        self.expect_reply(c, 250, "2.1.0", what="MAIL")
        self.expect_reply(c, 250, "2.1.5", what="RCPT")
        self.expect_reply(c, 554, "5.5.0", what="DATA with text behind it")
        self.expect_reply(c, 421, "4.7.0", contains="improper pipelining",
                          what="after the 554")
        seen = len(c.transcript)
        self.expect_closed(c)
        extra = [d for who, d in c.transcript[seen:] if who == "S"]
        self.assertEqual(extra, [], "replies after the 421 (the text after "
                         "DATA was run as commands)\n" + c.transcript_text())
        t.settle()
        self.assertEqual(t.all_messages(), {}, "a message was delivered")
        self.assertNotIn("evil@x.y", t.log(), "the glued MAIL was run")

    def test_bdat_transaction_in_one_write(self):
        t = self.start_ternd()
        m1 = b"Subject: bdat one\r\n\r\n.x\r\n"
        m2 = b"Subject: bdat two\r\n\r\ny\r\n"
        c = self.connect(t)
        c.send(b"EHLO bdat.test\r\nMAIL FROM:<s@example.org>\r\n"
               b"RCPT TO:<b1@localhost>\r\nRCPT TO:<b2@localhost>\r\n"
               b"BDAT 10\r\n" + m1[:10] + b"BDAT %d LAST\r\n" % (
                   len(m1) - 10) + m1[10:] +
               b"MAIL FROM:<s@example.org>\r\nRCPT TO:<b1@localhost>\r\n"
               b"BDAT %d LAST\r\n" % len(m2) + m2 + b"QUIT\r\n")
        want = [250, 250, 250, 250, 250, 250, 250, 250, 250, 221]
        got = [c.reply().code for _ in want]
        self.assertEqual(got, want, c.transcript_text())
        msgs = t.wait_messages("b1", 2)
        self.assertEqual(sorted(lf(m1) in m for m in msgs), [False, True])
        [b2] = t.wait_messages("b2")
        self.check_delivered(b2, m1, "s@example.org", "b2@localhost")


class HalfCloseTest(TerndTestCase):
    """A client that sends its last commands and shuts down its side of
    the connection (shutdown(SHUT_WR), as Exim does after the end of data
    and a pipelined QUIT) still reads: every complete command is run and
    answered before the server closes.  Were the 250 lost, the client
    would send the message again."""

    def collect(self, c):
        """Replies until the server closes: [(code, esc)]."""
        got = []
        while len(got) < 20:
            try:
                r = c.reply()
            except (ClosedError, OSError) as e:  # closed, timeout
                got.append((e.__class__.__name__, None))
                break
            got.append((r.code, r.esc))
        return got

    def one_copy(self, t, rcpt, token):
        """Exactly one delivered message, and it holds token."""
        [m] = t.wait_messages(rcpt)
        t.settle()
        msgs = t.all_messages()
        self.assertEqual(len(msgs), 1, "expected one message, got %d: %r"
                         % (len(msgs), list(msgs)))
        self.assertIn(token, m)

    def test_half_close_after_data(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250, "2.1.0")
        self.expect(c, "RCPT TO:<h@localhost>", 250, "2.1.5")
        self.expect(c, "DATA", 354)
        c.send(b"Subject: half close\r\n\r\ntoken-d41\r\n.\r\nQUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        got = self.collect(c)
        self.assertEqual(got, [(250, "2.0.0"), (221, "2.0.0"),
                               ("ClosedError", None)],
                         "expected 250 for the message, 221, then the close\n"
                         + c.transcript_text())
        self.one_copy(t, "h", b"token-d41")
        t.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 "
                   r"mail=1 rcpt=1 data=1 quit=1 commands=5")

    def test_half_close_after_bdat_in_one_write(self):
        # Everything in one write: what follows MAIL waits while the
        # services answer, and the end of file comes meanwhile.
        t = self.start_ternd()
        c = self.connect(t)
        m = b"Subject: half close\r\n\r\ntoken-b17\r\n"
        c.send(b"EHLO bdat.test\r\nMAIL FROM:<s@example.org>\r\n"
               b"RCPT TO:<h@localhost>\r\nBDAT %d LAST\r\n" % len(m) + m +
               b"QUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        got = self.collect(c)
        self.assertEqual(got, [(250, None), (250, "2.1.0"), (250, "2.1.5"),
                               (250, "2.0.0"), (221, "2.0.0"),
                               ("ClosedError", None)],
                         "expected EHLO, MAIL, RCPT, BDAT and QUIT answered, "
                         "then the close\n" + c.transcript_text())
        self.one_copy(t, "h", b"token-b17")

    def test_half_close_inside_data_discards(self):
        # The input ends before the final dot: no message, no reply.
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250, "2.1.0")
        self.expect(c, "RCPT TO:<h@localhost>", 250, "2.1.5")
        self.expect(c, "DATA", 354)
        c.send(b"Subject: cut short\r\n\r\ntext\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        got = self.collect(c)
        self.assertEqual(got, [("ClosedError", None)],
                         "expected the close and no reply\n" +
                         c.transcript_text())
        t.wait_log(r"disconnect from unknown\[127\.0\.0\.1\]")
        t.settle()
        self.assertEqual(t.all_messages(), {}, "a message was delivered")
        self.assertEqual(t.queue_files(), [])


class SubaddressTest(TerndTestCase):

    def test_detail_goes_to_user(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        message = b"Subject: sub\r\n\r\nx\r\n"
        self.send_message(c, "s@example.org", ["user+detail@localhost"],
                          message)
        self.send_message(c, "s@example.org", ["user+other+more@LOCALHOST"],
                          message)
        self.send_message(c, "s@example.org", ["USER@LocalHost"], message)
        msgs = t.wait_messages("user", 3)
        got = sorted(m.split(b"\n")[1] for m in msgs)
        # The local part is kept as given, the domain in lower case.
        self.assertEqual(got, [b"Delivered-To: USER@localhost",
                               b"Delivered-To: user+detail@localhost",
                               b"Delivered-To: user+other+more@localhost"])
        for m in msgs:
            self.assertTrue(m.endswith(lf(message)), m)
        entries = sorted(os.listdir(t.mail))
        self.assertEqual(entries, ["user"],
                         "Maildirs created: %r (expected only user)" % entries)

    def test_concurrent_first_deliveries(self):
        # Many deliveries at once into Maildirs that do not exist yet: each
        # may find the Maildir half made by another; none may fail.
        t = self.start_ternd()
        users = ["fresh%d" % i for i in range(40)]
        body = b"Subject: concurrent\r\n\r\nx\r\n"
        clients = [self.connect(t) for _ in range(8)]
        for c in clients:
            self.ehlo(c)
        for n, c in enumerate(clients):
            c.send(b"".join(
                b"MAIL FROM:<s@example.org>\r\nRCPT TO:<%s+%d@localhost>\r\n"
                b"BDAT %d LAST\r\n%s" % (u.encode(), n, len(body), body)
                for u in users))
        for c in clients:
            for i in range(3 * len(users)):
                self.expect_reply(c, 250, what="reply %d of the burst" % i)
        for u in users:
            t.wait_messages(u, len(clients))
        self.assertNotRegex(t.log(), r"status=deferred",
                            "a first delivery into a new Maildir failed")

    def test_no_delimiter(self):
        t = self.start_ternd({"recipient_delimiter": ""})
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org", ["user+detail@localhost"],
                          b"Subject: nodelim\r\n\r\nx\r\n")
        [got] = t.wait_messages("user+detail")
        self.assertIn(b"Delivered-To: user+detail@localhost\n", got)
        self.assertFalse(os.path.exists(os.path.join(t.mail, "user")))

    def test_other_delimiter_and_mydestination_case(self):
        t = self.start_ternd({"recipient_delimiter": "-",
                              "mydestination": "Example.NET, localhost"})
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org",
                          ["ann-lists@EXAMPLE.net", "ann+x@example.NET"],
                          b"Subject: delim\r\n\r\nx\r\n")
        [got] = t.wait_messages("ann")
        self.assertIn(b"Delivered-To: ann-lists@example.net\n", got)
        [got] = t.wait_messages("ann+x")
        self.assertIn(b"Delivered-To: ann+x@example.net\n", got)


if __name__ == "__main__":
    import unittest
    unittest.main()


class QueueIdTest(TerndTestCase):
    """Queue IDs sort in the order messages started (DATA or BDAT), as
    ternd(8) says, whichever session or smtp process they came through."""

    def test_ids_sort_by_arrival(self):
        t = self.start_ternd(conf={"smtp_processes": "2"})
        clients = [self.connect(t) for _ in range(3)]
        for c in clients:
            self.ehlo(c)
        ids = []
        for i in range(12):
            c = clients[i % 3]
            ids.append(self.send_message(
                c, "s@example.org", ["ids@localhost"],
                "Subject: %d\r\n\r\nbody\r\n" % i))
        self.assertEqual(ids, sorted(ids),
                         "queue IDs in the order the messages came: %s"
                         % " ".join(ids))
        # A message that starts first and ends last still sorts first.
        a, b = clients[0], clients[1]
        for c in (a, b):
            self.expect(c, "MAIL FROM:<s@example.org>", 250)
            self.expect(c, "RCPT TO:<ids@localhost>", 250)
        self.expect(a, "DATA", 354)
        self.expect(b, "DATA", 354)
        b.send(b"Subject: b\r\n\r\nbody\r\n.\r\n")
        rb = self.expect_reply(b, 250, what="end of data (b)")
        a.send(b"Subject: a\r\n\r\nbody\r\n.\r\n")
        ra = self.expect_reply(a, 250, what="end of data (a)")
        ida = re.search(r"queued as (\S+)", ra.text).group(1)
        idb = re.search(r"queued as (\S+)", rb.text).group(1)
        self.assertLess(ida, idb, "the message started first got %s, the "
                        "one started after it %s" % (ida, idb))
        t.wait_messages("ids", 14)
