"""Who may send what to whom: relaying, aliases, virtual mailboxes,
relocated users, local recipients, client access, VRFY/EXPN/HELP,
accept_mail = no."""

import os
import re
import struct

from ternlib import HOSTNAME, TerndTestCase

MSG = b"Subject: policy\r\n\r\nbody\r\n"


class RelayTest(TerndTestCase):

    def test_no_open_relay_by_default(self):
        # With a configuration file relay_networks is empty.
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<victim@foreign.example>", 554, "5.7.1")
        self.expect(c, "RCPT TO:<victim@[192.0.2.1]>", 554, "5.7.1")
        # A local domain with a foreign-looking local part is not relay.
        self.expect(c, "RCPT TO:<x%foreign.example@localhost>", 250)
        self.expect(c, "RSET", 250)
        t.settle()
        self.assertNotRegex(t.log(), r"queue active")

    def test_relay_networks(self):
        t = self.start_ternd({"relay_networks": "127.0.0.0/8"})
        c = self.connect(t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org",
                                ["friend@foreign.example"], MSG)
        # No remote delivery yet: the message stays queued, deferred.
        t.wait_log(r"%s: to=<friend@foreign\.example>, relay=none, "
                   r"delay=[\d.]+, dsn=4\.4\.1, status=deferred" % qid)
        self.assertEqual(t.queue_files(), [qid])

    def test_relay_networks_exclude_client(self):
        t = self.start_ternd({"relay_networks": "127.0.0.2/32, ::1"})
        c = self.connect(t)  # from 127.0.0.1
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<friend@foreign.example>", 554, "5.7.1")
        c2 = self.connect(t, source="127.0.0.2")
        self.ehlo(c2)
        self.expect(c2, "MAIL FROM:<s@example.org>", 250)
        self.expect(c2, "RCPT TO:<friend@foreign.example>", 250, "2.1.5")


class AliasTest(TerndTestCase):

    ALIASES = ("# comment line\n"
               "team      alice, bob, carol@remote.example\n"
               "chain1    chain2\n"
               "chain2    dave@localhost\n"
               "self      self, erin\n"
               "loop1     loop2\n"
               "loop2     loop1\n"
               "Postmaster  admin\n"
               "folded    frank,\n"
               "          grace\n")

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd(tables={"alias_maps": self.ALIASES})
        self.c = self.connect(self.t)
        self.ehlo(self.c)

    def test_local_and_remote_targets(self):
        qid = self.send_message(self.c, "s@example.org", ["team@localhost"],
                                MSG)
        for u in ("alice", "bob"):
            [got] = self.t.wait_messages(u)
            self.check_delivered(got, MSG, "s@example.org",
                                 u + "@localhost", qid=qid)
        self.t.wait_log(r"%s: to=<carol@remote\.example>, "
                        r"orig_to=<team@localhost>, relay=none, .*"
                        r"status=deferred" % qid)
        self.t.wait_log(r"%s: to=<alice@localhost>, orig_to=<team@localhost>,"
                        r" relay=local, .*status=sent" % qid)
        self.assertFalse(os.path.exists(os.path.join(self.t.mail, "team")))

    def test_recursion(self):
        self.send_message(self.c, "s@example.org", ["chain1@localhost"], MSG)
        [got] = self.t.wait_messages("dave")
        self.check_delivered(got, MSG, "s@example.org", "dave@localhost")
        self.t.settle()
        self.assertEqual(sorted(os.listdir(self.t.mail)), ["dave"])

    def test_alias_naming_itself(self):
        self.send_message(self.c, "s@example.org", ["self@localhost"], MSG)
        [got] = self.t.wait_messages("self")
        self.check_delivered(got, MSG, "s@example.org", "self@localhost")
        [got] = self.t.wait_messages("erin")
        self.check_delivered(got, MSG, "s@example.org", "erin@localhost")

    def test_loop(self):
        self.expect(self.c, "MAIL FROM:<s@example.org>", 250)
        self.expect(self.c, "RCPT TO:<loop1@localhost>", 451, "4.3.0")

    def test_case_and_detail(self):
        # Keys match case-insensitively; a detail falls back to the alias.
        self.send_message(self.c, "s@example.org",
                          ["POSTMASTER@LOCALHOST", "team+x@localhost"], MSG)
        self.t.wait_messages("admin")
        self.t.wait_messages("alice")
        self.t.wait_messages("bob")

    def test_continuation_line(self):
        self.send_message(self.c, "s@example.org", ["folded@localhost"],
                          MSG)
        self.t.wait_messages("frank")
        self.t.wait_messages("grace")

    def test_same_final_address_once(self):
        # alice directly and through team: one copy for alice.
        qid = self.send_message(self.c, "s@example.org",
                                ["team@localhost", "alice@localhost"], MSG)
        self.t.wait_messages("bob")
        self.t.wait_messages("alice")
        self.t.wait_log(r"%s: to=<carol@remote\.example>" % qid)
        self.t.settle()
        got = self.t.messages("alice")
        self.assertEqual(len(got), 1, "alice got %d copies" % len(got))
        self.assertEqual(len(re.findall(r"%s: to=<alice@localhost>" % qid,
                                        self.t.log())), 1)


class VirtualTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.absdir = None
        t = self.start_ternd(start=False)
        self.absdir = os.path.join(t.dir, "elsewhere", "box")
        t.give_to_mail_user(os.path.dirname(self.absdir))
        t.write_table("virtual_mailbox_maps",
                      "info@virt.example     virt/info\n"
                      "sales@virt.example    virt/sales/\n"
                      "@catchall.example     virt/catchall\n"
                      "boss@catchall.example virt/boss\n"
                      "abs@virt.example      %s\n" % self.absdir)
        t.start()
        self.t = t
        self.c = self.connect(t)
        self.ehlo(self.c)

    def test_address_to_maildir(self):
        qid = self.send_message(self.c, "s@example.org",
                                ["info@virt.example"], MSG)
        [got] = self.t.wait_messages("virt/info")
        self.check_delivered(got, MSG, "s@example.org", "info@virt.example",
                             qid=qid)

    def test_trailing_slash_and_case(self):
        self.send_message(self.c, "s@example.org", ["SALES@Virt.Example"],
                          MSG)
        [got] = self.t.wait_messages("virt/sales")
        self.check_delivered(got, MSG, "s@example.org", "SALES@virt.example")

    def test_absolute_path(self):
        self.send_message(self.c, "s@example.org", ["abs@virt.example"], MSG)
        [got] = self.t.wait_messages(self.absdir)
        self.check_delivered(got, MSG, "s@example.org", "abs@virt.example")

    def test_unknown_user_in_virtual_domain(self):
        self.expect(self.c, "MAIL FROM:<s@example.org>", 250)
        self.expect(self.c, "RCPT TO:<nobody@virt.example>", 550, "5.1.1")
        self.expect(self.c, "RCPT TO:<info@localhost>", 250)

    def test_catchall_domain(self):
        self.send_message(self.c, "s@example.org",
                          ["anyone@catchall.example",
                           "else+x@catchall.example",
                           "boss@catchall.example"], MSG)
        got = self.t.wait_messages("virt/catchall", 2)
        tos = sorted(g.split(b"\n")[1] for g in got)
        self.assertEqual(tos, [b"Delivered-To: anyone@catchall.example",
                               b"Delivered-To: else+x@catchall.example"])
        [got] = self.t.wait_messages("virt/boss")
        self.check_delivered(got, MSG, "s@example.org",
                             "boss@catchall.example")

    def test_subaddress_in_virtual_domain(self):
        self.send_message(self.c, "s@example.org",
                          ["info+news@virt.example"], MSG)
        [got] = self.t.wait_messages("virt/info")
        self.check_delivered(got, MSG, "s@example.org",
                             "info+news@virt.example")


class RelocatedTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd(
            {"relay_networks": ""},
            tables={"relocated_maps":
                    "old@localhost     new@elsewhere.example\n"
                    "moved@localhost   new2@elsewhere.example forward\n"
                    "@gone.example     someone@new.example\n"
                    "plain             plain@new.example\n"})
        self.c = self.connect(self.t)
        self.ehlo(self.c)
        self.expect(self.c, "MAIL FROM:<s@example.org>", 250)

    def test_relocated_551(self):
        self.expect(self.c, "RCPT TO:<old@localhost>", 551, "5.1.6",
                    contains="<new@elsewhere.example>")
        self.expect(self.c, "RCPT TO:<Old+tag@LOCALHOST>", 551, "5.1.6",
                    contains="<new@elsewhere.example>")
        self.expect(self.c, "RCPT TO:<plain@localhost>", 551, "5.1.6",
                    contains="<plain@new.example>")

    def test_relocated_domain(self):
        # A relocated domain is answered even without relay permission.
        self.expect(self.c, "RCPT TO:<x@gone.example>", 551, "5.1.6",
                    contains="<someone@new.example>")

    def test_forward_251(self):
        self.expect(self.c, "RCPT TO:<moved@localhost>", 251, "2.1.5",
                    contains="<new2@elsewhere.example>")
        self.expect(self.c, "DATA", 354)
        self.c.send(MSG + b".\r\n")
        r = self.expect_reply(self.c, 250, "2.0.0", contains="queued as")
        qid = r.text.split()[-1]
        self.t.wait_log(r"%s: to=<new2@elsewhere\.example>, "
                        r"orig_to=<moved@localhost>, relay=none, "
                        r".*status=deferred" % qid)
        self.assertFalse(os.path.exists(os.path.join(self.t.mail, "moved")))


class LocalRecipientsTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd(tables={
            "local_recipient_maps": "alice x\nBob x\n"})
        self.c = self.connect(self.t)
        self.ehlo(self.c)
        self.expect(self.c, "MAIL FROM:<s@example.org>", 250)

    def test_unknown_user(self):
        self.expect(self.c, "RCPT TO:<mallory@localhost>", 550, "5.1.1")
        self.expect(self.c, "RCPT TO:<mallory+alice@localhost>", 550,
                    "5.1.1")
        self.expect(self.c, "DATA", 554, "5.5.1")

    def test_known_users(self):
        self.expect(self.c, "RCPT TO:<alice@localhost>", 250)
        self.expect(self.c, "RCPT TO:<BOB@localhost>", 250)
        self.expect(self.c, "RCPT TO:<alice+x@localhost>", 250)
        self.expect(self.c, "RCPT TO:<postmaster@localhost>", 250)
        self.expect(self.c, "RCPT TO:<Postmaster>", 250)
        self.expect(self.c, "DATA", 354)
        self.c.send(MSG + b".\r\n")
        self.expect_reply(self.c, 250, "2.0.0")
        self.assertEqual(len(self.t.wait_messages("alice", 2)), 2)
        self.t.wait_messages("bob")
        self.t.wait_messages("postmaster", 2)


class MailboxNameTest(TerndTestCase):

    def test_forbidden_names(self):
        t = self.start_ternd()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        for rcpt in ('"a/b"@localhost', '".."@localhost', '"x\\\\y"@localhost',
                     '".hidden"@localhost', '"a b"@localhost'):
            r = c.cmd("RCPT TO:<%s>" % rcpt)
            self.check(r, 553, "5.1.3", c, what="RCPT TO:<%s>" % rcpt)
        self.expect(c, "RCPT TO:<fine@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(MSG + b".\r\n")
        self.expect_reply(c, 250)
        t.wait_messages("fine")
        self.assertEqual(sorted(os.listdir(t.mail)), ["fine"])
        self.assertEqual(sorted(os.listdir(t.dir)),
                         sorted(["mail", "spool", "tern.conf", "ternd.log"]))


class ClientAccessTest(TerndTestCase):

    TABLE = ("127.0.0.0/8   ok\n"
             "127.0.0.2     reject Go away, spammer\n"
             "127.0.0.3     reject_rcpt No mail from you\n"
             "127.0.0.4     defer_rcpt Try again tomorrow\n"
             "127.0.0.5     relay\n"
             "127.0.0.6     reject\n")

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd(tables={"client_access_maps": self.TABLE})

    def test_reject(self):
        c = self.connect(self.t, source="127.0.0.2")
        self.check(c.greeting, 554, client=c, contains="Go away, spammer",
                   what="greeting")
        self.assertTrue(c.greeting.text.startswith(HOSTNAME + " "),
                        c.greeting)
        for cmd in ("EHLO x.test", "HELO x.test", "MAIL FROM:<a@b.example>",
                    "RCPT TO:<a@localhost>", "NOOP"):
            self.expect(c, cmd, 503, "5.5.1")
        self.expect(c, "QUIT", 221, "2.0.0")
        self.expect_closed(c)

    def test_reject_default_text(self):
        c = self.connect(self.t, source="127.0.0.6")
        self.check(c.greeting, 554, client=c, what="greeting")
        self.expect(c, "DATA", 503, "5.5.1")
        self.expect(c, "QUIT", 221)

    def test_reject_rcpt(self):
        c = self.connect(self.t, source="127.0.0.3")
        self.check(c.greeting, 220, client=c)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@b.example>", 250)
        self.expect(c, "RCPT TO:<alice@localhost>", 554, "5.7.1",
                    contains="No mail from you")
        self.expect(c, "DATA", 554, "5.5.1")

    def test_defer_rcpt(self):
        c = self.connect(self.t, source="127.0.0.4")
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@b.example>", 250)
        self.expect(c, "RCPT TO:<alice@localhost>", 450, "4.7.1",
                    contains="Try again tomorrow")

    def test_relay_entry(self):
        c = self.connect(self.t, source="127.0.0.5")
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@b.example>", 250)
        self.expect(c, "RCPT TO:<far@remote.example>", 250, "2.1.5")

    def test_ok_entry_is_not_relay(self):
        c = self.connect(self.t, source="127.0.0.7")
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<a@b.example>", 250)
        self.expect(c, "RCPT TO:<far@remote.example>", 554, "5.7.1")
        self.expect(c, "RCPT TO:<alice@localhost>", 250)
        self.expect(c, "DATA", 354)
        c.send(MSG + b".\r\n")
        self.expect_reply(c, 250)
        self.t.wait_messages("alice")


class VrfyTest(TerndTestCase):

    def test_default_cannot_verify(self):
        t = self.start_ternd()
        c = self.connect(t)
        r = self.ehlo(c)
        self.assertIn("VRFY", r.lines)
        self.expect(c, "VRFY alice", 252, "2.0.0")
        self.expect(c, "VRFY <nobody@localhost>", 252, "2.0.0")
        self.expect(c, "EXPN staff", 502, "5.5.1")

    def test_verify(self):
        t = self.start_ternd({"vrfy_reply": "verify"}, tables={
            "local_recipient_maps": "alice x\n",
            "alias_maps": "staff alice\n"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "VRFY alice@localhost", 250, "2.0.0",
                    contains="<alice@localhost>")
        self.expect(c, "VRFY <alice@localhost>", 250, "2.0.0")
        self.expect(c, "VRFY staff@localhost", 250, "2.0.0")
        self.expect(c, "VRFY nobody@localhost", 550, "5.1.1")
        self.expect(c, "VRFY <x@remote.example>", 252, "2.0.0")
        # A user name alone is one of ours (RFC 5321 3.5.3).
        self.expect(c, "VRFY alice", 250, "2.0.0", contains="<alice@")
        self.expect(c, "VRFY postmaster", 250, "2.0.0")
        self.expect(c, "VRFY nobody", 550, "5.1.1")
        self.expect(c, "VRFY a..b", 501, "5.1.3")
        # Non-ASCII needs the SMTPUTF8 parameter (RFC 6531 3.7.4.2).
        self.expect(c, "VRFY <j\u00f6rg@localhost>", 553, "5.6.7")
        self.expect(c, "VRFY <j\u00f6rg@localhost> SMTPUTF8", 550, "5.1.1")
        self.expect(c, "VRFY", 501, "5.5.4")
        # VRFY inside a transaction leaves it alone.
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "VRFY alice@localhost", 250)
        self.expect(c, "RCPT TO:<alice@localhost>", 250)

    def test_disabled(self):
        t = self.start_ternd({"vrfy_reply": "disabled"})
        c = self.connect(t)
        r = self.ehlo(c)
        self.assertNotIn("VRFY", r.lines)
        self.expect(c, "VRFY alice", 502, "5.5.1")
        self.expect(c, "EXPN alice", 502, "5.5.1")


class MiscCommandsTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        self.t = self.start_ternd()

    def test_help(self):
        c = self.connect(self.t)
        self.expect(c, "HELP", 214, "2.0.0", contains="MAIL")
        self.expect(c, "HELP MAIL", 214, "2.0.0", contains="MAIL FROM:")
        self.expect(c, "help bdat", 214, "2.0.0", contains="BDAT")
        r = self.expect(c, "HELP STATUS", 211, "2.0.0")
        self.assertIn(HOSTNAME, r.text)
        self.assertIn("accepting mail", r.text)
        self.expect(c, "HELP NOSUCHTOPIC", 504, "5.5.4")

    def test_help_status_queue_size(self):
        # Clients that may relay also learn the queue size.
        t = self.start_ternd({"relay_networks": "127.0.0.1"},
                             name="relay-ternd")
        c = self.connect(t)
        r = self.expect(c, "HELP STATUS", 211, "2.0.0")
        self.assertRegex(r.text, r"\b0 messages queued")
        c2 = self.connect(self.t)
        r = self.expect(c2, "HELP STATUS", 211, "2.0.0")
        self.assertNotIn("queued", r.text)

    def test_quit(self):
        c = self.connect(self.t)
        self.check(c.greeting, 220, client=c)
        self.assertTrue(c.greeting.text.startswith(HOSTNAME), c.greeting)
        self.expect(c, "QUIT", 221, "2.0.0")
        self.expect_closed(c)

    def test_quit_mid_transaction_delivers_nothing(self):
        c = self.connect(self.t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<q@localhost>", 250)
        self.expect(c, "QUIT", 221)
        self.expect_closed(c)
        self.t.settle()
        self.assertEqual(self.t.messages("q"), {})

    def test_sequence_errors(self):
        c = self.connect(self.t)
        self.expect(c, "MAIL FROM:<s@example.org>", 503, "5.5.1")
        self.ehlo(c)
        self.expect(c, "RCPT TO:<a@localhost>", 503, "5.5.1")
        self.expect(c, "DATA", 503, "5.5.1")
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "MAIL FROM:<s@example.org>", 503, "5.5.1")
        self.expect(c, "DATA", 554, "5.5.1")
        self.expect(c, "STARTTLS", 502, "5.5.1")
        self.expect(c, "RSET", 250, "2.0.0")
        self.expect(c, "NOOP", 250, "2.0.0")

    def test_http_request_is_dropped(self):
        c = self.connect(self.t)
        self.expect(c, "GET / HTTP/1.1", 421, "4.7.0")
        self.expect_closed(c)


class NoMailTest(TerndTestCase):

    def test_accept_mail_no(self):
        t = self.start_ternd({"accept_mail": "no"})
        c = self.connect(t)
        self.check(c.greeting, 521, "5.3.2", c, what="greeting")
        self.expect(c, "EHLO x.test", 521, "5.3.2")
        self.expect(c, "MAIL FROM:<a@b.example>", 521, "5.3.2")
        self.expect(c, "QUIT", 221, "2.0.0")
        self.expect_closed(c)


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli), as src/common/crc32.c computes it."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def rewrite_envelope(path, old, new):
    """Replace old by new (same length) in the envelope of a queue file's
    first message, and make its checksums right again: what an older
    ternd may have left (layout in src/queue/spool.h)."""
    with open(path, "r+b") as f:
        head = bytearray(f.read(64))
        ioff = struct.unpack_from("<Q", head, 16)[0]
        ilen = struct.unpack_from("<I", head, 24)[0]
        f.seek(ioff)
        index = bytearray(f.read(ilen))
        eoff = struct.unpack_from("<Q", index, 32)[0]
        n = struct.unpack_from("<I", index, 40)[0]
        f.seek(eoff)
        env = f.read(n)
        assert old in env and len(old) == len(new)
        env = env.replace(old, new)
        struct.pack_into("<I", index, 44, crc32c(env))
        struct.pack_into("<I", head, 28, crc32c(bytes(index)))
        struct.pack_into("<I", head, 32, crc32c(bytes(head[:32])))
        f.seek(eoff)
        f.write(env)
        f.seek(ioff)
        f.write(index)
        f.seek(0)
        f.write(head)


class BadEntryTest(TerndTestCase):
    """A table entry that cannot be used as written costs the recipients
    that need it a clear refusal, and nothing more: ternd -t names its
    file and line, ternd starts and reloads with it, and no process stops
    talking to another over it."""

    def test_check_names_every_bad_entry(self):
        t = self.start_ternd(tables={
            "local_recipient_maps": "alice\nbob\n",
            "relocated_maps": "bob    newbob forward\n"
                              "carol  carol@elsewhere.example forward\n",
            "alias_maps": "team   alice, gone\nstaff  alice\n",
            "virtual_mailbox_maps": "v@virt.example  virt/v\n"
                                    "w@virt.example\n",
            "client_access_maps": "192.0.2.0/24  permit\n"
                                  "host.example  reject\n"}, start=False)
        path = t.write_table("alias_maps", "")
        with open(path, "wb") as f:
            f.write(b"team   alice, gone\nstaff  alice\n"
                    b"utf    alice, b\xffb\n")
        rc, err = t.check_config()
        self.assertEqual(rc, 1, "ternd -t on tables with bad entries "
                         "exited %d: %s" % (rc, err))
        want = [
            (t.table_path("alias_maps"), 1,
             'alias_maps entry "team": target gone@localhost: user unknown '
             'in local recipient table'),
            (t.table_path("alias_maps"), 3,
             'alias_maps entry "utf": target "b\\xffb" is not an address'),
            (t.table_path("relocated_maps"), 1,
             'relocated_maps entry "bob": new address "newbob" is not an '
             'address user@domain'),
            (t.table_path("virtual_mailbox_maps"), 2,
             'virtual_mailbox_maps entry "w@virt.example": no Maildir'),
            (t.table_path("client_access_maps"), 1,
             'client_access_maps entry "192.0.2.0/24": "permit": expected '
             'ok, relay, reject, reject_rcpt or defer_rcpt'),
            (t.table_path("client_access_maps"), 2,
             'client_access_maps entry "host.example": not an address or '
             'network')]
        lines = err.splitlines()
        for path, line, what in want:
            w = "ternd: %s:%d: %s" % (path, line, what)
            self.assertIn(w, lines, "ternd -t should print %r" % w)
        self.assertEqual(len(lines), len(want), "ternd -t printed:\n" + err)
        # None of them keeps ternd from starting.
        t.start()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<staff@localhost>", 250)

    def deliver_to_alice(self, t, c):
        """The rest goes on: a message to another recipient arrives."""
        self.expect(c, "RCPT TO:<alice@localhost>", 250, "2.1.5")
        self.expect(c, "DATA", 354)
        c.send(MSG + b".\r\n")
        self.expect_reply(c, 250, "2.0.0")
        t.wait_messages("alice")
        self.assertNotRegex(t.log(), r"invalid .* closing the channel|"
                            r"lost the \w+ process")

    def test_forward_target_without_domain(self):
        t = self.start_ternd(tables={"relocated_maps":
                                     "bob    newbob forward\n"
                                     "carol  carol@elsewhere.example "
                                     "forward\n"}, start=False)
        path = t.table_path("relocated_maps")
        t.start()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        for _ in range(2):
            self.expect(c, "RCPT TO:<bob@localhost>", 451, "4.3.5")
        self.expect(c, "RCPT TO:<carol@localhost>", 251, "2.1.5")
        t.wait_log(r"lookup: <bob@localhost>: refused for now: %s:1: "
                   % re.escape(path))
        self.deliver_to_alice(t, c)

    def test_alias_target_not_utf8(self):
        t = self.start_ternd(start=False)
        path = t.write_table("alias_maps", "")
        with open(path, "wb") as f:
            f.write(b"# aliases\nteam   alice, b\xffb\nstaff  alice\n")
        t.start()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<team@localhost>", 451, "4.3.5")
        self.expect(c, "RCPT TO:<staff@localhost>", 250, "2.1.5")
        t.wait_log(r"lookup: <team@localhost>: refused for now: %s:2: "
                   % re.escape(path))
        self.deliver_to_alice(t, c)

    def test_alias_target_unknown(self):
        t = self.start_ternd(tables={"local_recipient_maps": "alice\n",
                                     "alias_maps": "team alice, gone\n"},
                             start=False)
        path = t.table_path("alias_maps")
        t.start()
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        # Accepted would be delivered to alice only, and bounced for gone.
        self.expect(c, "RCPT TO:<team@localhost>", 550, "5.1.1")
        t.wait_log(r"lookup: <team@localhost>: refused: %s:1: alias_maps "
                   r'entry "team" leads to <gone@localhost>' % re.escape(path))
        self.deliver_to_alice(t, c)

    def test_reload_with_bad_entries(self):
        t = self.start_ternd(tables={"virtual_mailbox_maps":
                                     "v@virt.example  virt/v\n"})
        t.write_table("virtual_mailbox_maps",
                      "v@virt.example  virt/v\n"
                      "w@virt.example\n"
                      "x@virt.example  ../../x\n")
        t.write_table("relocated_maps", "bob newbob\n")
        t.write_conf()
        t.hup()
        self.assertNotRegex(t.log(), r"reload: .*keeping")
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<w@virt.example>", 451, "4.3.5")
        self.expect(c, "RCPT TO:<x@virt.example>", 451, "4.3.5")
        self.expect(c, "RCPT TO:<bob@localhost>", 451, "4.3.5")
        self.expect(c, "RCPT TO:<v@virt.example>", 250)
        self.deliver_to_alice(t, c)
        t.wait_messages("virt/v")

    def test_queued_address_not_utf8(self):
        # A message an older ternd accepted for an address that is not
        # UTF-8 fails, logged, at delivery; the rest is delivered.
        t = self.start_ternd({"relay_networks": "127.0.0.0/8",
                              "minimal_backoff_time": "1s",
                              "maximal_backoff_time": "1s"})
        c = self.connect(t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org", ["far@remote.example"],
                                MSG)
        t.wait_log(r"%s: to=<far@remote\.example>, .*status=deferred" % qid)
        self.assertEqual(t.stop(), 0)
        rewrite_envelope(os.path.join(t.spool, "queue", qid),
                         b"far@remote.example", b"f\xffr@remote.example")
        for start in (1, 2):
            t.start()
            if start == 1:
                t.wait_log(r"%s: to=<.*>, relay=\w+, .*dsn=5\.1\.1, "
                           r"status=bounced \(bad address\)" % qid)
                t.wait_log(r"%s: removed" % qid)
            c = self.connect(t)
            self.ehlo(c)
            self.expect(c, "MAIL FROM:<s@example.org>", 250)
            self.deliver_to_alice(t, c)
            t.wait_messages("alice", start)
            self.assertEqual(t.stop(), 0)


# Every case above again against ternd -1, which runs every role in one
# process: what a client gets must not depend on the process shape.
for _case in (RelayTest, AliasTest, VirtualTest, RelocatedTest,
              LocalRecipientsTest, MailboxNameTest, ClientAccessTest,
              VrfyTest, MiscCommandsTest, NoMailTest, BadEntryTest):
    _name = _case.__name__.replace("Test", "OneProcessTest")
    globals()[_name] = type(_name, (_case,), {
        "SINGLE": True,
        "__doc__": "%s, against ternd -1." % _case.__name__})
del _case, _name


if __name__ == "__main__":
    import unittest
    unittest.main()
