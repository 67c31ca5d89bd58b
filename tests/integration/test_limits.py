"""Every limit: message size, recipients, errors, timeouts, sessions,
command and text line length, spool free space."""

import os
import socket
import threading
import time

from ternlib import TerndTestCase


class SizeLimitTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd({"message_size_limit": "10k"})

    def test_ehlo_advertises_size(self):
        c = self.connect(self.t)
        r = self.ehlo(c)
        self.assertIn("SIZE 10240", r.lines)

    def test_size_parameter_too_big(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org> SIZE=10241", 552, "5.3.4")
        # The transaction did not start; a fitting SIZE is fine.
        self.expect(c, "RCPT TO:<big@localhost>", 503, "5.5.1")
        self.expect(c, "MAIL FROM:<s@example.org> SIZE=5000", 250, "2.1.0")

    def test_oversized_data(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<big@localhost>", 250)
        self.expect(c, "DATA", 354)
        body = (b"x" * 70 + b"\r\n") * 300  # 21600 octets
        c.send(b"Subject: big\r\n\r\n" + body + b".\r\n")
        self.expect_reply(c, 552, "5.3.4", what="end of oversized data")
        # The session goes on: a message that fits is accepted.
        small = b"Subject: small\r\n\r\n" + (b"y" * 70 + b"\r\n") * 100
        self.send_message(c, "s@example.org", ["big@localhost"], small)
        self.expect(c, "QUIT", 221)
        [got] = self.t.wait_messages("big")
        self.assertIn(b"Subject: small", got)
        self.t.settle()
        self.assertEqual(len(self.t.messages("big")), 1,
                         "the oversized message was delivered")

    def test_oversized_bdat_chunks(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<bigb@localhost>", 250)
        chunk = (b"z" * 98 + b"\r\n") * 60  # 6000 octets: two are too many
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        self.expect_reply(c, 250, "2.0.0", what="first chunk")
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        self.expect_reply(c, 552, "5.3.4", what="chunk over the limit")
        c.send(b"BDAT 5 LAST\r\nabc\r\n")
        r = self.expect_reply(c, 554, what="LAST after a failed chunk")
        self.expect(c, "NOOP", 250, "2.0.0")
        self.t.settle()
        self.assertEqual(self.t.messages("bigb"), {}, "a message was "
                         "delivered after 552 (%r)" % r)

    def test_bdat_chunk_larger_than_limit_closes(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<bigc@localhost>", 250)
        c.send(b"BDAT 1000000\r\n" + b"q" * 1000)
        self.expect_reply(c, 552, "5.3.4", what="BDAT 1000000")
        self.expect_closed(c)
        self.assertEqual(self.t.messages("bigc"), {})


class RecipientLimitTest(TerndTestCase):

    def test_101st_recipient(self):
        t = self.start_ternd({"recipient_limit": "100"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        c.send("".join("RCPT TO:<many+%d@localhost>\r\n" % i
                       for i in range(1, 102)))
        for i in range(1, 101):
            self.expect_reply(c, 250, "2.1.5", what="RCPT %d" % i)
        self.expect_reply(c, 452, "4.5.3", what="RCPT 101")
        self.expect(c, "DATA", 354)
        c.send(b"Subject: hundred\r\n\r\nx\r\n.\r\n")
        self.expect_reply(c, 250, "2.0.0", what="end of data")
        msgs = t.wait_messages("many", 100, timeout=60)
        got = sorted(m.split(b"\n")[1] for m in msgs)
        want = sorted(b"Delivered-To: many+%d@localhost" % i
                      for i in range(1, 101))
        self.assertEqual(got, want)
        t.settle()
        self.assertEqual(len(t.messages("many")), 100)


class ErrorLimitTest(TerndTestCase):

    def test_error_limit(self):
        t = self.start_ternd({"error_limit": "3"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "BOGUS", 500, "5.5.1")
        self.expect(c, "RCPT TO:<a@localhost>", 503, "5.5.1")
        self.expect(c, "MAIL FROM:<bad", 501)
        self.expect_reply(c, 421, "4.7.0", what="after the third error")
        self.expect_closed(c)

    def test_errors_below_limit(self):
        t = self.start_ternd({"error_limit": "3"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "BOGUS", 500, "5.5.1")
        self.expect(c, "BOGUS", 500, "5.5.1")
        self.expect(c, "NOOP", 250, "2.0.0")
        self.expect(c, "QUIT", 221)


class TimeoutTest(TerndTestCase):

    def test_command_timeout(self):
        t = self.start_ternd({"command_timeout": "1s"})
        c = self.connect(t)
        self.ehlo(c)
        t0 = time.monotonic()
        self.expect_reply(c, 421, "4.4.2", timeout=15, what="idle session")
        waited = time.monotonic() - t0
        self.expect_closed(c)
        self.assertGreaterEqual(waited, 0.8, "timed out after %.2f s, "
                                "expected about 1 s" % waited)
        self.assertLess(waited, 10)

    def test_command_timeout_resets_on_activity(self):
        t = self.start_ternd({"command_timeout": "1500ms"})
        c = self.connect(t)
        for _ in range(4):  # 4 x 0.6 s > 1.5 s in all
            time.sleep(0.6)
            self.expect(c, "NOOP", 250)
        self.expect(c, "QUIT", 221)

    def test_data_timeout(self):
        t = self.start_ternd({"command_timeout": "60s",
                              "data_timeout": "1s"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<slow@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: slow\r\n\r\nhalf a li")
        t0 = time.monotonic()
        self.expect_reply(c, 421, "4.4.2", timeout=15, what="stalled DATA")
        waited = time.monotonic() - t0
        self.expect_closed(c)
        self.assertLess(waited, 10, "data_timeout 1 s took %.1f s" % waited)
        t.settle()
        self.assertEqual(t.messages("slow"), {})
        # The spool's tmp/ holds nothing of the abandoned message.
        t.wait_log(r"disconnect from")
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [])


class SessionLimitTest(TerndTestCase):

    def open_sessions(self, t, n, source=None):
        out = []
        for i in range(n):
            c = self.connect(t, source=source)
            self.check(c.greeting, 220, client=c, what="session %d" % i)
            out.append(c)
        return out

    def test_max_sessions(self):
        t = self.start_ternd({"max_sessions": "3"})
        held = self.open_sessions(t, 3)
        c = self.connect(t)
        self.check(c.greeting, 421, "4.7.0", c, what="4th session")
        self.expect_closed(c)
        # Other addresses count towards max_sessions too.
        c = self.connect(t, source="127.0.0.2")
        self.check(c.greeting, 421, "4.7.0", c, what="4th, other client")
        self.expect_closed(c)
        # A session that ends makes room (the close is seen
        # asynchronously: retry a few times).
        self.expect(held[0], "QUIT", 221)
        self.expect_closed(held[0])
        for _ in range(50):
            c = self.connect(t)
            if c.greeting.code == 220:
                break
            c.close()
            time.sleep(0.1)
        self.check(c.greeting, 220, client=c, what="after one session ended")
        self.expect(c, "QUIT", 221)

    def test_max_sessions_per_client(self):
        t = self.start_ternd({"max_sessions": "50",
                              "max_sessions_per_client": "2"})
        self.open_sessions(t, 2)
        c = self.connect(t)
        self.check(c.greeting, 421, "4.7.0", c, what="3rd from 127.0.0.1")
        self.expect_closed(c)
        # Another client address is not affected.
        others = self.open_sessions(t, 2, source="127.0.0.2")
        c = self.connect(t, source="127.0.0.2")
        self.check(c.greeting, 421, "4.7.0", c, what="3rd from 127.0.0.2")
        self.expect(others[0], "NOOP", 250)


class BackpressureTest(TerndTestCase):

    def test_client_that_does_not_read(self):
        # 50,000 pipelined commands from a client with a tiny receive
        # buffer that reads nothing for a while: every reply comes, in
        # order, once it reads.
        t = self.start_ternd()
        n = 50000
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(60)
        s.connect(("127.0.0.1", t.port))
        self.addCleanup(s.close)
        errors = []

        def writer():
            try:
                s.sendall(b"NOOP\r\n" * n + b"QUIT\r\n")
            except OSError as e:
                errors.append(e)

        th = threading.Thread(target=writer)
        th.start()
        time.sleep(1.5)
        got = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            got += d
        th.join(30)
        self.assertEqual(errors, [])
        lines = got.split(b"\r\n")
        self.assertEqual(lines[0], b"220 mx.test ESMTP tern")
        self.assertEqual(lines[1:n + 1], [b"250 2.0.0 Ok"] * n,
                         "replies to the NOOPs missing or out of order")
        self.assertTrue(lines[n + 1].startswith(b"221 2.0.0"), lines[n + 1])
        c = self.connect(t)
        self.expect(c, "NOOP", 250)


    def test_half_closed_client_that_never_reads(self):
        # Commands whose replies (several MB) overflow every socket buffer,
        # then shutdown(SHUT_WR), and not a byte read: the server gives up
        # on the unread replies after command_timeout, not never.
        t = self.start_ternd({"command_timeout": "1s"})
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", t.port))
        self.addCleanup(s.close)
        errors = []

        def writer():
            try:
                s.sendall(b"HELP\r\n" * 60000)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)

        th = threading.Thread(target=writer)
        th.start()
        th.join(30)
        self.assertFalse(th.is_alive(), "the commands were not taken in "
                         "30 s")
        self.assertEqual(errors, [])
        t.wait_log(r"disconnect from unknown\[127\.0\.0\.1\]", timeout=15)


class CommandLineLimitTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()  # command_line_limit = 2048

    def test_long_line_in_one_write(self):
        c = self.connect(self.t)
        self.ehlo(c)
        line = "MAIL FROM:<s@example.org> " + "X" * 9972
        self.assertEqual(len(line) + 2, 10000)
        self.expect(c, line, 500, "5.5.2")
        # The MAIL was not carried out, the session goes on.
        self.expect(c, "RCPT TO:<a@localhost>", 503, "5.5.1")
        self.expect(c, "NOOP", 250)
        self.expect(c, "MAIL FROM:<s@example.org>", 250, "2.1.0")

    def test_long_line_in_pieces(self):
        c = self.connect(self.t)
        self.ehlo(c)
        # A QUIT padded with blanks: executed, it would end the session.
        line = b"QUIT" + b" " * 9994 + b"\r\n"
        for i in range(0, len(line), 1000):
            c.send(line[i:i + 1000])
            time.sleep(0.01)
        self.expect_reply(c, 500, "5.5.2", what="10000-octet QUIT line")
        self.expect(c, "NOOP", 250, "2.0.0")
        self.expect(c, "QUIT", 221)

    def test_long_line_hides_no_command(self):
        c = self.connect(self.t)
        self.ehlo(c)
        # The part beyond the limit looks like a command: it is not one.
        line = b"NOOP " + b"a" * 4000 + b" RSET\r\nNOOP\r\n"
        c.send(line)
        self.expect_reply(c, 500, "5.5.2", what="long NOOP line")
        self.expect_reply(c, 250, "2.0.0", what="NOOP after it")
        self.expect(c, "QUIT", 221)

    def test_longest_allowed_line(self):
        c = self.connect(self.t)
        # 2048 octets with CRLF: allowed.
        self.expect(c, "NOOP " + "n" * (2048 - 7), 250)
        self.expect(c, "NOOP " + "n" * (2048 - 6), 500, "5.5.2")


class TextLineLimitTest(TerndTestCase):

    def test_long_lines_accepted_by_default(self):
        """Real mail has lines past 1000 octets (generated HTML, long
        headers): taken and stored as received, over DATA and BDAT."""
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        message = (b"Subject: long\r\nX-Long: " + b"h" * 5000 + b"\r\n\r\n" +
                   b"<p>" + b"w" * 20000 + b"</p>\r\nok\r\n")
        self.send_message(c, "s@example.org", ["text@localhost"], message)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<text@localhost>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(message) + message)
        self.expect_reply(c, 250, "2.0.0", what="BDAT with long lines")
        got = t.wait_messages("text", 2)
        for data in got:
            self.check_delivered(data, message, "s@example.org",
                                 "text@localhost")

    def test_line_over_the_default_bound(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<text@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: long\r\n\r\n" + b"w" * (1 << 20) + b"\r\n.\r\n")
        self.expect_reply(c, 554, "5.6.0", what="a line of 1 MiB + CRLF")
        self.expect(c, "NOOP", 250)
        t.settle()
        self.assertEqual(t.messages("text"), {})

    def test_standard_limit(self):
        t = self.start_ternd({"text_line_limit": "1000"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<text@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: long\r\n\r\n" + b"w" * 999 + b"\r\nok\r\n.\r\n")
        self.expect_reply(c, 554, "5.6.0", what="999 octets + CRLF")
        self.expect(c, "NOOP", 250)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<textb@localhost>", 250)
        body = b"Subject: long\r\n\r\n" + b"w" * 999 + b"\r\nok\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        self.expect_reply(c, 554, "5.6.0", what="BDAT: 999 octets + CRLF")
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<textc@localhost>", 250)
        body = b"Subject: long\r\n\r\n" + b"w" * 998 + b"\r\nok\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        self.expect_reply(c, 250, "2.0.0", what="BDAT: 998 octets + CRLF")
        [got] = t.wait_messages("textc")
        self.check_delivered(got, body, "s@example.org", "textc@localhost")
        t.settle()
        self.assertEqual(t.messages("text"), {})
        self.assertEqual(t.messages("textb"), {})

    def test_raised_limit(self):
        t = self.start_ternd({"text_line_limit": "2000"})
        c = self.connect(t)
        self.ehlo(c)
        message = b"Subject: long\r\n\r\n" + b"v" * 1998 + b"\r\n"
        self.send_message(c, "s@example.org", ["text2@localhost"], message)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<text2@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(b"Subject: longer\r\n\r\n" + b"v" * 1999 + b"\r\n.\r\n")
        self.expect_reply(c, 554, "5.6.0", what="1999 octets + CRLF")
        [got] = t.wait_messages("text2")
        self.check_delivered(got, message, "s@example.org",
                             "text2@localhost")


class QueueMinfreeTest(TerndTestCase):

    def test_no_room(self):
        t = self.start_ternd({"queue_minfree": "1000000g"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 452, "4.3.1")
        self.expect(c, "RCPT TO:<a@localhost>", 503, "5.5.1")
        self.expect(c, "QUIT", 221)

    def test_room_for_small_but_not_huge(self):
        # Keep all but about 100 MiB of the free space: a small message
        # fits, 1 GiB does not.
        probe = self.start_ternd(start=False)
        st = os.statvfs(probe.dir)
        free = st.f_bavail * st.f_frsize
        if free < 300 * 2**20:
            self.skipTest("less than 300 MiB free")
        t = self.start_ternd({"queue_minfree": str(free - 100 * 2**20),
                              "message_size_limit": "4000m"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org> SIZE=1000", 250)
        self.expect(c, "RSET", 250)
        self.expect(c, "MAIL FROM:<s@example.org> SIZE=1073741824", 452,
                    "4.3.1")

if __name__ == "__main__":
    import unittest
    unittest.main()


class ClientRateTest(TerndTestCase):
    """Per-client rates, counted in the lookup process across every smtp
    process, in windows of client_rate_time_unit."""

    def test_connection_rate(self):
        t = self.start_ternd({"client_connection_rate_limit": "3",
                              "client_rate_time_unit": "1h",
                              "client_rate_exceptions": ""})
        for i in range(3):
            c = self.connect(t)
            self.check(c.greeting, 220, client=c, what="connection %d" % i)
            self.expect(c, "QUIT", 221)
        c = self.connect(t)
        self.check(c.greeting, 421, "4.7.0", c, contains="too many "
                   "connections", what="4th connection within the hour")
        self.expect_closed(c)
        # Other clients have their own count.
        c = self.connect(t, source="127.0.0.2")
        self.check(c.greeting, 220, client=c, what="another client")
        t.wait_log(r"\[127\.0\.0\.1\]: connection rate limit exceeded")

    def test_exempt_clients(self):
        t = self.start_ternd({"client_connection_rate_limit": "1",
                              "client_rate_time_unit": "1h"})
        # client_rate_exceptions is loopback by default.
        for i in range(5):
            c = self.connect(t)
            self.check(c.greeting, 220, client=c, what="connection %d" % i)
            self.expect(c, "QUIT", 221)

    def test_message_rate(self):
        t = self.start_ternd({"client_message_rate_limit": "2",
                              "client_rate_time_unit": "1h",
                              "client_rate_exceptions": ""})
        c = self.connect(t)
        self.ehlo(c)
        for i in range(2):
            self.send_message(c, "a@localhost", ["bob@localhost"],
                              "Subject: %d\r\n\r\nx\r\n" % i)
        self.expect(c, "MAIL FROM:<a@localhost>", 250)
        self.expect(c, "RCPT TO:<bob@localhost>", 450, "4.7.1",
                    contains="too much mail")
        self.expect(c, "RSET", 250)
        # The count holds across sessions; another client is free.
        c2 = self.connect(t)
        self.ehlo(c2)
        self.expect(c2, "MAIL FROM:<a@localhost>", 250)
        self.expect(c2, "RCPT TO:<bob@localhost>", 450, "4.7.1")
        c3 = self.connect(t, source="127.0.0.2")
        self.ehlo(c3)
        self.send_message(c3, "a@localhost", ["bob@localhost"],
                          "Subject: other\r\n\r\nx\r\n")
        self.assertEqual(len(t.wait_messages("bob", 3)), 3)


class ClientRateOneProcessTest(ClientRateTest):
    """ClientRateTest against ternd -1: the limits hold in both shapes."""
    SINGLE = True


class GreetPauseTest(TerndTestCase):

    def test_talk_before_greeting(self):
        t = self.start_ternd({"smtp_greet_pause": "1500ms"})
        c = self.connect(t, greet=False)
        c.send(b"EHLO early.example\r\n")
        self.expect_reply(c, 554, "5.5.0", contains="talk before the "
                          "greeting", what="a client that talks first")
        self.expect_closed(c)
        t.wait_log(r"\[127\.0\.0\.1\]: \d+ octets before the greeting")

    def test_patient_client(self):
        t = self.start_ternd({"smtp_greet_pause": "500ms"})
        t0 = time.monotonic()
        c = self.connect(t)
        waited = time.monotonic() - t0
        self.check(c.greeting, 220, client=c, what="after the pause")
        self.assertGreaterEqual(waited, 0.45, "expected the greeting to "
                                "wait for smtp_greet_pause (500ms)")
        self.ehlo(c)
        self.send_message(c, "a@localhost", ["bob@localhost"],
                          "Subject: patient\r\n\r\nx\r\n")
        self.assertEqual(len(t.wait_messages("bob", 1)), 1)


class UnknownRecipientTest(TerndTestCase):

    def test_unknown_recipients_end_the_session(self):
        """Guessing addresses (a directory harvest) ends the session:
        each unknown recipient counts toward error_limit."""
        t = self.start_ternd({"error_limit": "4"}, tables={
            "local_recipient_maps": "bob x\n"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@example.org>", 250)
        self.expect(c, "RCPT TO:<bob@localhost>", 250)
        for name in ("adam", "alice", "amy"):
            self.expect(c, "RCPT TO:<%s@localhost>" % name, 550, "5.1.1")
        self.expect(c, "RCPT TO:<anna@localhost>", 550, "5.1.1")
        self.expect_reply(c, 421, "4.7.0", what="after the 4th unknown")
        self.expect_closed(c)
