"""The server's life: many connections, SIGTERM, SIGHUP, restarts with
queued mail, corrupt queue files, ternd -n and -t."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

import ternlib
from ternlib import (TerndTestCase, config_params,
                     sanitizer_env, sanitizer_lines)

MSG = b"Subject: lifecycle\r\n\r\nbody\r\n"


class ManyConnectionsTest(TerndTestCase):

    def test_1000_quick_connections(self):
        # Closed sessions are counted down asynchronously: leave room.
        t = self.start_ternd({"max_sessions_per_client": "500"})
        total, threads = 1000, 20
        errors, done = [], [0]
        lock = threading.Lock()
        deadline = time.monotonic() + 120

        def worker(n):
            for _ in range(n):
                if time.monotonic() > deadline:
                    with lock:
                        errors.append("gave up: over 120 s")
                    return
                try:
                    with socket.create_connection(("127.0.0.1", t.port),
                                                  10) as s:
                        s.settimeout(10)
                        data = b""
                        while not data.endswith(b"\r\n"):
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        if not data.startswith(b"220 "):
                            raise AssertionError("greeting %r" % data)
                        s.sendall(b"QUIT\r\n")
                        data = b""
                        while not data.endswith(b"\r\n"):
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        if not data.startswith(b"221 "):
                            raise AssertionError("QUIT reply %r" % data)
                    with lock:
                        done[0] += 1
                except Exception as e:  # noqa: BLE001 - reported below
                    with lock:
                        errors.append("%s: %s" % (e.__class__.__name__, e))

        ws = [threading.Thread(target=worker, args=(total // threads,))
              for _ in range(threads)]
        t0 = time.monotonic()
        for w in ws:
            w.start()
        for w in ws:
            w.join(150)
        elapsed = time.monotonic() - t0
        self.assertEqual(errors, [], "%d of %d connections failed (first: "
                         "%s)" % (len(errors), total, errors[:3]))
        self.assertEqual(done[0], total)
        # The server still works, and counted every session.
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org", ["after@localhost"], MSG)
        self.expect(c, "QUIT", 221)
        [got] = t.wait_messages("after")
        self.check_delivered(got, MSG, "s@example.org", "after@localhost")
        t.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] quit=1 "
                   r"commands=1", count=total)
        print("(%d connections in %.1f s) " % (total, elapsed), end="",
              flush=True)


class SigtermTest(TerndTestCase):

    def test_graceful_stop(self):
        # A short retry delay: what is not delivered before the stop may
        # meet a temporary failure at the restart (see
        # test_recovered_mail_delivered_promptly).
        t = self.start_ternd({"minimal_backoff_time": "1s"})
        idle = self.connect(t)
        self.ehlo(idle)
        in_mail = self.connect(t)
        self.ehlo(in_mail)
        self.expect(in_mail, "MAIL FROM:<s@example.org>", 250)
        in_data = self.connect(t)
        self.ehlo(in_data)
        self.expect(in_data, "MAIL FROM:<s@example.org>", 250)
        self.expect(in_data, "RCPT TO:<partial@localhost>", 250)
        self.expect(in_data, "DATA", 354)
        in_data.send(b"Subject: partial\r\n\r\nhalf of it\r\n")
        sender = self.connect(t)
        self.ehlo(sender)
        qid = self.send_message(sender, "s@example.org", ["kept@localhost"],
                                MSG)
        t.proc.send_signal(15)  # just after the 250
        for name, c in (("idle", idle), ("in MAIL", in_mail),
                        ("in DATA", in_data), ("after 250", sender)):
            self.expect_reply(c, 421, "4.3.2", timeout=20,
                              what="%s session at SIGTERM" % name)
            self.expect_closed(c)
        rc = t.wait_exit(30)
        self.assertEqual(rc, 0, "exit status after SIGTERM")
        self.assertRegex(t.log(), r"stopping \(signal 15\)")
        self.assertRegex(t.log(), r"ternd stopped")
        # The accepted message is delivered, before the stop or after a
        # restart; exactly once, since nothing crashed.
        t.start()
        [got] = t.wait_messages("kept")
        self.check_delivered(got, MSG, "s@example.org", "kept@localhost",
                             qid=qid)
        t.wait_queue_empty()
        t.settle()
        self.assertEqual(len(t.messages("kept")), 1)
        self.assertEqual(t.messages("partial"), {},
                         "the interrupted message was delivered")
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [])

    def test_stop_while_lookups_are_pending(self):
        # The lookup process does not answer while ternd stops: the queue
        # process must not free what the late answers need (a
        # heap-use-after-free once), and nothing accepted is lost.
        t = self.start_ternd({"minimal_backoff_time": "1s"})
        lookup = t.role_pids("lookup")
        self.assertEqual(len(lookup), 1, "no lookup process in the log:\n"
                         + t.log_tail())
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<pending@localhost>", 250)
        os.kill(lookup[0], signal.SIGSTOP)
        try:
            self.expect(c, "DATA", 354)
            c.send(MSG + b".\r\n")
            self.expect_reply(c, 250, "2.0.0")
            time.sleep(0.5)  # the queue asks where the message goes
            t.proc.send_signal(signal.SIGTERM)
            time.sleep(1)
        finally:
            os.kill(lookup[0], signal.SIGCONT)
        self.assertEqual(t.wait_exit(60), 0, "exit status after SIGTERM")
        t.start()
        [got] = t.wait_messages("pending")
        self.check_delivered(got, MSG, "s@example.org", "pending@localhost")

    def test_stop_with_no_sessions(self):
        t = self.start_ternd()
        self.assertEqual(t.stop(), 0)


class SighupTest(TerndTestCase):

    def test_reload_tables(self):
        t = self.start_ternd(tables={"local_recipient_maps": "alice x\n",
                                     "alias_maps": "other alice\n"})
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "MAIL FROM:<s@example.org>", 250)
        self.expect(c, "RCPT TO:<newalias@localhost>", 550, "5.1.1")
        t.write_table("alias_maps", "other alice\nnewalias alice\n")
        t.hup()
        self.assertRegex(t.log(), r"reloaded configuration from")
        # The open session goes on, and its next RCPT sees the new table.
        self.expect(c, "RCPT TO:<newalias@localhost>", 250, "2.1.5")
        self.expect(c, "DATA", 354)
        c.send(MSG + b".\r\n")
        self.expect_reply(c, 250, "2.0.0")
        [got] = t.wait_messages("alice")
        self.check_delivered(got, MSG, "s@example.org", "alice@localhost")
        # A new session too.
        c2 = self.connect(t)
        self.ehlo(c2)
        self.expect(c2, "MAIL FROM:<s@example.org>", 250)
        self.expect(c2, "RCPT TO:<newalias@localhost>", 250)
        self.expect(c, "QUIT", 221)

    def test_reload_configuration(self):
        t = self.start_ternd({"vrfy_reply": "cannot-verify"})
        old = self.connect(t)
        self.ehlo(old)
        self.expect(old, "VRFY a@localhost", 252)
        t.conf["vrfy_reply"] = "disabled"
        t.write_conf()
        t.hup()
        # The new settings reach the SMTP side asynchronously: a new
        # session sees them within a moment.
        for _ in range(50):
            new = self.connect(t)
            r = new.cmd("VRFY a@localhost")
            if r.code != 252:
                break
            new.close()
            time.sleep(0.1)
        self.check(r, 502, "5.5.1", new, what="VRFY after the reload")
        # The old session still works.
        self.expect(old, "NOOP", 250)
        self.expect(old, "QUIT", 221)

    def test_bad_reload_keeps_running_config(self):
        t = self.start_ternd(tables={"alias_maps": "team alice, bob\n"})
        c = self.connect(t)
        self.ehlo(c)
        with open(t.table_path("alias_maps"), "w") as f:
            f.write("team alice\nteam bob\n")  # duplicate key
        t.hup()
        self.assertRegex(t.log(), r"reload: %s:2: [^\n]*; keeping the "
                         r"(running configuration|tables in use)" %
                         re.escape(t.table_path("alias_maps")))
        self.send_message(c, "s@example.org", ["team@localhost"], MSG)
        t.wait_messages("alice")
        t.wait_messages("bob")
        c2 = self.connect(t)
        self.ehlo(c2)
        self.send_message(c2, "s@example.org", ["team@localhost"], MSG)
        t.wait_messages("bob", 2)


class RestartTest(TerndTestCase):

    def test_kill_right_after_250(self):
        t = self.start_ternd({"minimal_backoff_time": "1s"})
        c = self.connect(t)
        self.ehlo(c)
        qids = []
        for i in range(3):
            qids.append(self.send_message(
                c, "s@example.org", ["crash@localhost"],
                b"Subject: crash %d\r\n\r\nbody %d\r\n" % (i, i)))
        t.kill()
        t.start()
        msgs = t.wait_messages("crash", 3)
        t.wait_queue_empty()
        subjects = sorted(re.search(rb"Subject: crash (\d)", m).group(1)
                          for m in msgs)
        # At least once each; a copy more is allowed after a crash.
        self.assertEqual(sorted(set(subjects)), [b"0", b"1", b"2"])
        for m in msgs:
            i = int(re.search(rb"Subject: crash (\d)", m).group(1))
            self.check_delivered(
                m, b"Subject: crash %d\r\n\r\nbody %d\r\n" % (i, i),
                "s@example.org", "crash@localhost", qid=qids[i])

    def test_recovered_mail_delivered_promptly(self):
        # A message queued but not delivered when everything died: after
        # the restart it goes out at once, not after a retry delay.
        t = self.start_ternd({"minimal_backoff_time": "60s"})
        local = t.role_pids("local")
        self.assertEqual(len(local), 1, "no local process in the log:\n" +
                         t.log_tail())
        os.kill(local[0], signal.SIGSTOP)  # deliveries hang from now on
        c = self.connect(t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org", ["later@localhost"], MSG)
        t.kill_all()
        self.assertEqual(t.queue_files(), [qid])
        self.assertEqual(t.messages("later"), {})
        t0 = time.monotonic()
        t.start()
        [got] = t.wait_messages("later", timeout=10)
        self.check_delivered(got, MSG, "s@example.org", "later@localhost",
                             qid=qid)
        t.wait_queue_empty(timeout=5)
        self.assertLess(time.monotonic() - t0, 10)

    def test_queued_mail_survives(self):
        t = self.start_ternd({"relay_networks": "127.0.0.0/8"})
        c = self.connect(t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org",
                                ["local@localhost", "far@remote.example"],
                                MSG)
        t.wait_messages("local")
        t.wait_log(r"%s: to=<far@remote\.example>.*status=deferred" % qid)
        t.kill()
        self.assertEqual(t.queue_files(), [qid])
        t.start()
        t.wait_log(r"spool: recovered 1 message\b")
        self.assertEqual(t.queue_files(), [qid])
        t.settle(1)
        # The local recipient was done before the crash: not again.
        self.assertEqual(len(t.messages("local")), 1)
        # A graceful restart keeps it too.
        self.assertEqual(t.stop(), 0)
        t.start()
        t.wait_log(r"spool: recovered 1 message\b", count=2)
        self.assertEqual(t.queue_files(), [qid])

    def test_corrupt_queue_files(self):
        t = self.start_ternd(start=False)
        for d in ("tmp", "queue", "corrupt"):
            os.makedirs(os.path.join(t.spool, d), exist_ok=True)
        q = os.path.join(t.spool, "queue")
        with open(os.path.join(q, "1ZZZZZZZZZZZZZ"), "wb") as f:
            f.write(b"this is not a queue file" * 10)
        with open(os.path.join(q, "0AAAAAAAAAAAAA"), "wb") as f:
            f.write(b"")
        with open(os.path.join(q, "not-a-queue-id"), "wb") as f:
            f.write(b"junk")
        with open(os.path.join(t.spool, "tmp", "1YYYYYYYYYYYYY"), "wb") as f:
            f.write(b"half written")
        t.start()
        t.wait_log(r"spool: recovered 0 messages in 0 files, some moved to "
                   r"corrupt/")
        self.assertEqual(t.queue_files(), [])
        self.assertEqual(t.corrupt_files(), sorted(
            ["1ZZZZZZZZZZZZZ", "0AAAAAAAAAAAAA", "not-a-queue-id"]))
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [])
        self.assertRegex(t.log(), r"moved to corrupt/")
        self.assertRegex(t.log(), r"removed 1 file left in tmp/ \(never "
                         r"committed\)")
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org", ["ok@localhost"], MSG)
        t.wait_messages("ok")

    def test_truncated_queue_file(self):
        t = self.start_ternd({"relay_networks": "127.0.0.0/8"})
        c = self.connect(t)
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org", ["far@remote.example"],
                                MSG)
        t.wait_log(r"%s: to=<far@remote\.example>.*status=deferred" % qid)
        self.assertEqual(t.stop(), 0)
        path = os.path.join(t.spool, "queue", qid)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
        t.start()
        t.wait_log(r"spool: recovered", count=2)
        self.assertEqual(t.queue_files(), [])
        self.assertEqual(t.corrupt_files(), [qid])
        self.assertRegex(t.log(), r"%s: .*moved to corrupt/" % qid)


class CommandLineTest(TerndTestCase):

    def run_ternd(self, *args):
        p = subprocess.run([ternlib.TERND] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=sanitizer_env(), timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        reports = sanitizer_lines(err)
        self.assertEqual(reports, [], "sanitizer report from ternd %s:\n%s"
                         % (" ".join(args), err[-3000:]))
        return p.returncode, out, err

    def conf_file(self, t, text):
        path = os.path.join(t.dir, "check.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_print_every_parameter(self):
        t = self.start_ternd({"message_size_limit": "10m",
                              "vrfy_reply": "verify",
                              "mydestination": "localhost, Example.COM"},
                             start=False)
        t.write_conf()
        rc, out, err = self.run_ternd("-n", "-f", t.conf_path)
        self.assertEqual(rc, 0, "ternd -n exited %d: %s" % (rc, err))
        printed = {}
        for line in out.splitlines():
            m = re.match(r"^(\w+) = ?(.*)$", line)
            self.assertIsNotNone(m, "not a 'key = value' line: %r" % line)
            printed[m.group(1)] = m.group(2)
        params = config_params()
        self.assertGreater(len(params), 20)
        self.assertEqual(sorted(printed), sorted(params),
                         "ternd -n does not print exactly the parameters "
                         "of conf_params.h")
        self.assertEqual(len(out.splitlines()), len(params))
        self.assertEqual(printed["message_size_limit"], "10m")
        self.assertEqual(printed["vrfy_reply"], "verify")
        self.assertEqual(printed["myhostname"], ternlib.HOSTNAME)
        self.assertEqual(printed["spool_directory"], t.spool)
        self.assertEqual(printed["relay_networks"], "")
        self.assertEqual(printed["recipient_limit"], "1000")

    def test_print_builtin_defaults(self):
        rc, out, err = self.run_ternd("-n")
        self.assertEqual(rc, 0, err)
        printed = dict(re.findall(r"^(\w+) = ?(.*)$", out, re.M))
        self.assertEqual(sorted(printed), sorted(config_params()))
        # Without a configuration file, loopback clients may relay.
        self.assertEqual(printed["relay_networks"], "loopback")
        self.assertEqual(printed["smtp_listen"], "127.0.0.1:2525")

    def test_check_good_config(self):
        t = self.start_ternd(tables={"alias_maps": "a b\n"}, start=False)
        t.write_conf()
        rc, out, err = self.run_ternd("-t", "-f", t.conf_path)
        self.assertEqual(rc, 0, "ternd -t on a good config: %s" % err)

    def test_check_bad_parameter(self):
        t = self.start_ternd(start=False)
        path = self.conf_file(t, "# comment\nmyhostname = mx.test\n"
                              "no_such_parameter = 1\n")
        rc, out, err = self.run_ternd("-t", "-f", path)
        self.assertNotEqual(rc, 0, "ternd -t accepted a bad config")
        self.assertIn("%s:3" % path, err)
        self.assertIn("no_such_parameter", err)

    def test_check_bad_values(self):
        t = self.start_ternd(start=False)
        cases = [("message_size_limit = 10\n", "message_size_limit"),
                 ("recipient_limit = lots\n", "recipient_limit"),
                 ("vrfy_reply = maybe\n", "vrfy_reply"),
                 ("accept_mail = perhaps\n", "accept_mail"),
                 ("relay_networks = 300.1.1.1/8\n", "relay_networks"),
                 ("command_timeout = 5 parsecs\n", "command_timeout"),
                 ("myhostname = a\nerror_limit = 5\nmyhostname = b\n",
                  "myhostname")]
        for text, name in cases:
            with self.subTest(text=text):
                path = self.conf_file(t, "\n\n" + text)
                rc, out, err = self.run_ternd("-t", "-f", path)
                self.assertNotEqual(rc, 0, "accepted: %r" % text)
                self.assertRegex(err, r"%s:[345]\b" % re.escape(path))
                self.assertIn(name, err)

    def test_check_key_repeated_on_next_line(self):
        # A repeated key is not a continuation line.
        t = self.start_ternd(start=False)
        path = self.conf_file(t, "myhostname = a\nmyhostname = b\n")
        rc, out, err = self.run_ternd("-t", "-f", path)
        self.assertNotEqual(rc, 0, "accepted a parameter set twice")
        self.assertIn("%s:2" % path, err)

    def test_continuation_lines(self):
        t = self.start_ternd(start=False)
        path = self.conf_file(t, "mydestination = localhost,\n"
                              "    example.org\n"
                              "  example.net\n"
                              "myhostname =\n"
                              "  mx.example.org\n")
        rc, out, err = self.run_ternd("-n", "-f", path)
        self.assertEqual(rc, 0, err)
        printed = dict(re.findall(r"^(\w+) = ?(.*)$", out, re.M))
        self.assertEqual(printed["myhostname"], "mx.example.org")
        self.assertEqual(printed["mydestination"].replace(",", " ").split(),
                         ["localhost", "example.org", "example.net"])

    def test_check_bad_tables(self):
        cases = [
            ("alias_maps", "a b\nbad\nc d\na e\n", ":4"),
            ("client_access_maps", "127.0.0.1 ok\nnot-a-net reject\n",
             "not-a-net"),
            ("client_access_maps", "127.0.0.1 maybe\n", "127.0.0.1"),
            ("virtual_mailbox_maps", "a@b.example x\nnodomain y\n",
             "nodomain"),
            ("local_recipient_maps", "  continuation\n", ":1"),
        ]
        for param, content, detail in cases:
            with self.subTest(param=param, content=content):
                t = self.start_ternd(tables={param: content}, start=False)
                t.write_conf()
                rc, out, err = self.run_ternd("-t", "-f", t.conf_path)
                self.assertNotEqual(rc, 0, "accepted %s %r" % (param,
                                                              content))
                self.assertIn(t.table_path(param), err)
                self.assertIn(detail, err)

    def test_check_missing_table(self):
        t = self.start_ternd({"relocated_maps": "/nonexistent/relocated"},
                             start=False)
        t.write_conf()
        rc, out, err = self.run_ternd("-t", "-f", t.conf_path)
        self.assertNotEqual(rc, 0)
        self.assertIn("/nonexistent/relocated", err)

    def test_start_refuses_bad_config(self):
        t = self.start_ternd({"error_limit": "0"}, start=False)
        with self.assertRaises(ternlib.TerndError) as cm:
            t.start()
        self.assertIn("error_limit", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
