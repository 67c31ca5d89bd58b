"""The channels between ternd's processes: a process that cannot be
reached, a child that abuses its control channel.

Channels are abused from outside the way a compromised process would abuse
them: the test takes a copy of one process's end of a socketpair
(pidfd_getfd(2), which needs root or CAP_SYS_PTRACE) and writes messages
into it that the other side must refuse."""

import ctypes
import os
import re
import signal
import struct
import time
import unittest

from ternlib import TerndTestCase

IS_ROOT = os.geteuid() == 0
SYS_PIDFD_GETFD = 438  # x86_64 and most others (asm-generic)


def header(msg_type, msg_id=0, payload=b""):
    """An IPC message (ipc.h): length, type, flags, id; little endian."""
    return struct.pack("<IHHI", len(payload), msg_type, 0, msg_id) + payload


def steal_fd(pid, fd):
    """A copy of descriptor fd of process pid."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if got < 0:
            err = ctypes.get_errno()
            raise OSError(err, "pidfd_getfd(%d, %d): %s" % (
                pid, fd, os.strerror(err)))
        return got
    finally:
        os.close(pidfd)


def inject(pid, fd, data):
    """Write data into process pid's descriptor fd, as that process."""
    copy = steal_fd(pid, fd)
    try:
        os.write(copy, data)
    finally:
        os.close(copy)


def pid_of(t, role):
    """The pid of the role's latest process (from the log: a process
    that was just forked may not have become itself yet)."""
    pids = t.role_pids(role)
    if not pids:
        raise AssertionError("no %s process in the log:\n%s" % (
            role, t.log_tail()))
    return pids[-1]


class ChannelTestCase(TerndTestCase):

    def wait_greeting(self, t, code, timeout=15):
        """Connect until the greeting is code (for a process that is
        coming back); returns the last client."""
        deadline = time.monotonic() + timeout
        while True:
            c = self.connect(t)
            if c.greeting.code == code or time.monotonic() > deadline:
                return c
            c.close()
            time.sleep(0.1)

    def deliver_one(self, t, mailbox, subject):
        before = len(t.messages(mailbox))
        c = self.connect(t)
        self.check(c.greeting, 220, None, c, what="greeting")
        self.ehlo(c)
        qid = self.send_message(c, "s@example.org", [mailbox + "@localhost"],
                                "Subject: %s\r\n\r\nbody\r\n" % subject)
        self.expect(c, "QUIT", 221)
        msgs = t.wait_messages(mailbox, count=before + 1, timeout=15)
        self.assertTrue(any(subject.encode() in m for m in msgs),
                        "message %s (%s) not delivered to %s" % (
                            qid, subject, mailbox))


class AdmissionTest(ChannelTestCase):

    def test_no_lookup_process_is_421_432(self):
        """Without the lookup process, neither the session limits nor the
        client access table can be applied: the session is refused with
        421 4.3.2 and closed, not let in unchecked.  The parent is
        stopped (SIGSTOP) so that it cannot restart the lookup process
        while the smtp process has none."""
        t = self.start_ternd(conf={"smtp_processes": "1"},
                             tables={"client_access_maps":
                                     "127.0.0.1 reject\n"})
        lookup = pid_of(t, "lookup")
        # With the lookup process there, the access table applies.
        c = self.connect(t)
        self.check(c.greeting, 554, None, c, what="greeting of a client "
                   "with a reject entry")
        c.close()
        parent = t.proc.pid
        os.kill(parent, signal.SIGSTOP)
        try:
            os.kill(lookup, signal.SIGKILL)
            t.wait_log(r"smtp: lost the lookup process")
            c = self.connect(t)
            self.check(c.greeting, 421, "4.3.2", c,
                       what="greeting while the lookup process is gone")
            self.expect_closed(c)
            t.wait_log(r"lookup service unavailable; refused \[127\.0\.0\.1\]")
        finally:
            os.kill(parent, signal.SIGCONT)
        # Back: the table applies again.
        t.wait_log(r"started the lookup process", count=2)
        c = self.wait_greeting(t, 554)
        self.check(c.greeting, 554, None, c, what="greeting once the lookup "
                   "process is back")


@unittest.skipUnless(IS_ROOT, "needs root to reach into the processes")
class ControlChannelTest(ChannelTestCase):

    def test_child_flooding_the_parent_is_killed(self):
        """A child that sends its parent what it may not is logged once,
        killed and started again; it cannot fill the log."""
        t = self.start_ternd(conf={"smtp_processes": "1"})
        local = pid_of(t, "local")
        self.deliver_one(t, "carol", "before")
        inject(local, 3, header(999, 0) * 2000)
        t.wait_log(r"the local process \(pid %d\) was killed by signal 9; "
                   r"starting it again" % local)
        t.wait_log(r"started the local process", count=2)
        time.sleep(0.5)
        n = len(re.findall(r"parent: unexpected message", t.log()))
        self.assertEqual(n, 1, "log lines about the unexpected messages "
                         "(2000 were sent)")
        self.deliver_one(t, "carol", "after the restart")


if __name__ == "__main__":
    unittest.main()
