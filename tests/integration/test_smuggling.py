"""SMTP smuggling, bare CR/LF and NUL octets: judged by what lands in the
Maildirs."""

from ternlib import TerndTestCase

# End-of-data look-alikes that are not CRLF "." CRLF.
FAKE_ENDS = {
    "LF.LF": b"\n.\n",
    "CRLF.LF": b"\r\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CR.CRLF": b"\r.\r\n",
    "CRLF.CR": b"\r\n.\r",
    "CR.CR": b"\r.\r",
}

SMUGGLED = (b"MAIL FROM:<ceo@bank.example>\r\n"
            b"RCPT TO:<victim@localhost>\r\n"
            b"DATA\r\n"
            b"From: ceo@bank.example\r\nSubject: smuggled\r\n\r\n"
            b"wire the money\r\n"
            b".\r\n")


class SmugglingTest(TerndTestCase):

    def attempt(self, t, fake_end):
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<alice@example.org>", 250)
        self.expect(c, "RCPT TO:<bob@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"From: alice@example.org\r\nSubject: first\r\n\r\nhello" +
               fake_end + SMUGGLED + b"QUIT\r\n")
        return c

    def normal_message(self, t, rcpt="after"):
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org", [rcpt + "@localhost"],
                          b"Subject: normal\r\n\r\nfine\r\n")
        self.expect(c, "QUIT", 221)
        return t.wait_messages(rcpt)

    def test_strict_line_endings(self):
        t = self.start_ternd()
        for name, fake in FAKE_ENDS.items():
            with self.subTest(end=name):
                c = self.attempt(t, fake)
                self.expect_reply(c, 521, "5.5.2", what="after " + name)
                self.expect_closed(c)
        # Nothing of any of it was delivered...
        t.settle(1)
        self.assertEqual(t.all_messages(), {},
                         "messages were delivered:\n%s" % t.log_tail())
        self.assertNotRegex(t.log(), r"queue active")
        # ...and a normal message on a new connection still works.
        [got] = self.normal_message(t)
        self.check_delivered(got, b"Subject: normal\r\n\r\nfine\r\n",
                             "s@example.org", "after@localhost")

    def test_lenient_line_endings(self):
        # strict_line_endings = no: a bare LF is a line end inside the
        # text, but only CRLF "." CRLF ends it.  The would-be second
        # transaction is text of the first message.
        t = self.start_ternd({"strict_line_endings": "no"})
        for i, (name, fake) in enumerate(FAKE_ENDS.items()):
            with self.subTest(end=name):
                c = self.attempt(t, fake)
                self.expect_reply(c, 250, "2.0.0", what="end of data")
                self.expect_reply(c, 221, "2.0.0", what="QUIT")
                msgs = t.wait_messages("bob", i + 1)
                self.assertEqual(len(msgs), i + 1)
                last = msgs[-1]
                self.assertIn(b"Subject: first\n", last)
                self.assertIn(b"wire the money", last)
                self.assertNotIn(b"\r\n", last)
        t.settle(1)
        self.assertEqual(t.messages("victim"), {},
                         "a smuggled message was delivered")
        self.assertEqual(len(t.messages("bob")), len(FAKE_ENDS))
        self.normal_message(t)

    def test_exempt_network(self):
        t = self.start_ternd({"line_ending_exempt_networks": "127.0.0.2"})
        c = self.attempt(t, b"\n.\n")
        self.expect_reply(c, 521, "5.5.2")
        c = self.connect(t, source="127.0.0.2")
        self.ehlo(c)
        self.send_message(c, "s@example.org", ["carl@localhost"],
                          b"Subject: bare\n\nline one\nline two\r\n")
        [got] = t.wait_messages("carl")
        self.assertTrue(got.endswith(b"Subject: bare\n\nline one\n"
                                     b"line two\n"), got)
        t.settle()
        self.assertEqual(t.messages("victim"), {})
        self.assertEqual(t.messages("bob"), {})

    def test_bare_lf_in_command(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        c.send(b"MAIL FROM:<a@example.org>\nRCPT TO:<victim@localhost>\r\n")
        self.expect_reply(c, 521, "5.5.2")
        self.expect_closed(c)

    def test_bare_cr_in_command(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        c.send(b"NOOP\rRSET\r\n")
        self.expect_reply(c, 521, "5.5.2")
        self.expect_closed(c)

    def test_bdat_is_not_fooled(self):
        # In BDAT a fake end is just data: one message, smuggled text in it.
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<alice@example.org>", 250)
        self.expect(c, "RCPT TO:<bob@localhost>", 250)
        body = b"Subject: first\r\n\r\nhello\r\n.\r\n" + SMUGGLED
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        self.expect_reply(c, 250, "2.0.0")
        [got] = t.wait_messages("bob")
        self.assertTrue(got.endswith(b"hello\n.\n" +
                                     SMUGGLED.replace(b"\r\n", b"\n")), got)
        t.settle()
        self.assertEqual(t.messages("victim"), {})


class BdatSyncTest(TerndTestCase):
    """BDAT octets are never read as commands, even when refused."""

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()

    def test_bdat_without_mail(self):
        c = self.connect(self.t)
        self.ehlo(c)
        c.send(b"BDAT 6\r\nQUIT\r\n")
        self.expect_reply(c, 503, "5.5.1", what="BDAT before MAIL")
        self.expect(c, "NOOP", 250, "2.0.0")

    def test_bdat_without_recipient(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<x@foreign.example>", 554, "5.7.1")
        chunk = b"RSET\r\nMAIL FROM:<b@example.org>\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        self.expect_reply(c, 554, "5.5.1", what="BDAT with no recipient")
        # The chunk's "MAIL" was not carried out: a MAIL now is not nested.
        self.expect(c, "MAIL FROM:<c@example.org>", 250, "2.1.0")

    def test_bad_bdat_size_closes(self):
        for line in (b"BDAT abc", b"BDAT", b"BDAT -1", b"BDAT 5 FIRST",
                     b"BDAT 99999999999999999999999"):
            with self.subTest(line=line):
                c = self.connect(self.t)
                self.ehlo(c)
                self.expect(c, "MAIL FROM:<a@example.org>", 250)
                self.expect(c, "RCPT TO:<s@localhost>", 250)
                self.expect(c, line, 521, "5.5.4")
                self.expect_closed(c)

    def test_data_after_bdat(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<mix@localhost>", 250)
        c.send(b"BDAT 4\r\nab\r\n")
        self.expect_reply(c, 250, "2.0.0")
        self.expect(c, "DATA", 503, "5.5.1")
        c.send(b"BDAT 0 LAST\r\n")
        self.expect_reply(c, 250, "2.0.0", contains="queued as")
        [got] = self.t.wait_messages("mix")
        self.assertTrue(got.endswith(b"\nab\n"), got)


class NulTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()

    def test_nul_in_command(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, b"NOOP\x00x", 500, "5.5.2")
        self.expect(c, b"MAIL FROM:<a\x00b@example.org>", 500, "5.5.2")
        # Not carried out: there is no transaction.
        self.expect(c, "RCPT TO:<n@localhost>", 503, "5.5.1")
        self.expect(c, b"\x00", 500, "5.5.2")
        self.expect(c, "NOOP", 250, "2.0.0")

    def test_nul_in_data(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<n@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: nul\r\n\r\nbefore\x00after\r\n.\r\n")
        self.expect_reply(c, 554, "5.6.0", what="message with a NUL")
        # The session goes on; the next message is delivered, alone.
        self.send_message(c, "a@example.org", ["n@localhost"],
                          b"Subject: clean\r\n\r\nok\r\n")
        [got] = self.t.wait_messages("n")
        self.assertIn(b"Subject: clean", got)
        self.t.settle()
        self.assertEqual(len(self.t.messages("n")), 1)

    def test_nul_in_bdat(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<nb@localhost>", 250)
        body = b"Subject: nul\r\n\r\n\x00\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        self.expect_reply(c, 554, "5.6.0", what="BDAT with a NUL")
        self.expect(c, "NOOP", 250)
        self.t.settle()
        self.assertEqual(self.t.messages("nb"), {})


if __name__ == "__main__":
    import unittest
    unittest.main()
