"""The harness itself: its checks must be able to fail."""

import os
import shutil
import stat
import sys
import tempfile
import textwrap
import unittest

from ternlib import Delivered, Ternd, sanitizer_lines

FAKE = textwrap.dedent("""\
    #!%s
    # Stands in for ternd: listens, then misbehaves as told.
    import signal, socket, subprocess, sys, time
    conf = dict(l.split(" = ", 1) for l in open(sys.argv[2]).read()
                .splitlines() if " = " in l)
    mode = conf.get("fake_mode", "").strip()
    host, port = conf["smtp_listen"].rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen()
    def term(*_):
        if mode == "asan":
            sys.stderr.write("==1==ERROR: AddressSanitizer: "
                             "heap-use-after-free\\n")
            sys.exit(1)
        if mode == "ubsan":
            sys.stderr.write("x.c:1:2: runtime error: signed integer "
                             "overflow\\n")
        if mode == "hang":
            return
        sys.exit(0)
    signal.signal(signal.SIGTERM, term)
    if mode == "orphan":
        subprocess.Popen([sys.executable, "-c",
                          "import time; time.sleep(30)"])
    sys.stderr.write("ternd started\\n")
    sys.stderr.flush()
    for _ in range(600):
        time.sleep(0.1)
    """) % sys.executable


class HarnessTest(unittest.TestCase):

    def fake(self, mode):
        t = Ternd({"fake_mode": mode}, name="fake", binary=self.script)
        t.start()
        return t

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-integ-fake-")
        self.script = os.path.join(self.dir, "fake-ternd")
        with open(self.script, "w") as f:
            f.write(FAKE)
        os.chmod(self.script, stat.S_IRWXU)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self, t):
        problems = t.finish()
        shutil.rmtree(t.dir, ignore_errors=True)
        return "\n".join(problems)

    def test_clean_exit_passes(self):
        self.assertEqual(self.finish(self.fake("clean")), "")

    def test_sanitizer_report_and_exit_status_fail(self):
        p = self.finish(self.fake("asan"))
        self.assertIn("ERROR: AddressSanitizer", p)
        self.assertIn("exited with status 1 after SIGTERM", p)

    def test_ubsan_report_fails(self):
        self.assertIn("runtime error:", self.finish(self.fake("ubsan")))

    def test_no_exit_after_sigterm_fails(self):
        t = self.fake("hang")
        t.stop(timeout=1)
        self.assertIn("no exit 1 s after SIGTERM", self.finish(t))

    def test_process_left_behind_fails(self):
        t = self.fake("orphan")
        t.reap_timeout = 1
        self.assertIn("still running", self.finish(t))
        self.assertEqual(t.group_pids(), [])

    def test_sanitizer_lines(self):
        self.assertEqual(sanitizer_lines("ok\nERROR: LeakSanitizer: x\n"),
                         ["ERROR: LeakSanitizer: x"])
        self.assertEqual(sanitizer_lines("all fine\n"), [])

    def test_delivered_parser(self):
        d = Delivered(b"Return-Path: <a@b>\nDelivered-To: c@d\n"
                      b"Received: from h (unknown [127.0.0.1])\n"
                      b"\tby mx.test (tern) with ESMTP id 1ABC\n"
                      b"\tfor <c@d>; Sun, 1 Jan 2026 00:00:00 +0000\n"
                      b"Subject: x\n\nbody\n")
        self.assertEqual((d.return_path, d.delivered_to), ("a@b", "c@d"))
        self.assertEqual(d.rmatch.group("id"), "1ABC")
        self.assertEqual(d.rmatch.group("for"), "c@d")
        self.assertEqual(d.body, b"Subject: x\n\nbody\n")


if __name__ == "__main__":
    unittest.main()
