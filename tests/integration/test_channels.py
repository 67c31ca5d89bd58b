"""The channels between ternd's processes: a process that cannot be
reached, a channel that one side drops, a child that abuses its control
channel.

Channels are broken from outside the way a compromised process would break
them: the test takes a copy of one process's end of a socketpair
(pidfd_getfd(2), which needs root or CAP_SYS_PTRACE) and writes a message
into it that the other side must refuse."""

import ctypes
import os
import re
import signal
import struct
import subprocess
import time
import unittest

from ternlib import TerndTestCase

IS_ROOT = os.geteuid() == 0
SYS_PIDFD_GETFD = 438  # x86_64 and most others (asm-generic)

# msg.h: message types used here.
MSG_ADMIT_ANS = 30


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


def channel_fd(pid, peer_pid):
    """The descriptor in process pid of its socketpair end whose other end
    process peer_pid holds (from ss(8): inode, peer inode, holders)."""
    out = subprocess.run(["ss", "-xpnH"], capture_output=True, text=True,
                         timeout=10).stdout
    holders = {}  # inode -> [(pid, fd)]
    peers = {}  # inode -> peer inode
    for line in out.splitlines():
        f = line.split()
        if len(f) < 9 or f[0] != "u_str":
            continue
        inode, peer = f[5], f[7]
        peers[inode] = peer
        for m in re.finditer(r"pid=(\d+),fd=(\d+)", line):
            holders.setdefault(inode, []).append((int(m.group(1)),
                                                  int(m.group(2))))
    found = []
    for inode, hs in holders.items():
        for p, fd in hs:
            if p != pid:
                continue
            if any(q == peer_pid for q, _ in holders.get(peers[inode], [])):
                found.append(fd)
    if len(found) != 1:
        raise AssertionError("expected one channel between pids %d and %d, "
                             "found descriptors %r in %d" % (
                                 pid, peer_pid, found, pid))
    return found[0]


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


class RestartTest(ChannelTestCase):

    def test_a_restarted_process_gets_one_channel(self):
        """A process that dies is restarted with new channels to its
        peers; their reports of the old channels closing are stale and
        pair nothing again (past QUICK_DEATH_MS, the restart is at once:
        it may come before the reports)."""
        t = self.start_ternd(conf={"smtp_processes": "1"})
        lookup = pid_of(t, "lookup")
        self.deliver_one(t, "alice", "before")
        time.sleep(10.5)
        os.kill(lookup, signal.SIGKILL)
        t.wait_log(r"started the lookup process", count=2)
        self.deliver_one(t, "alice", "after")
        time.sleep(1)  # REPAIR_FIRST_MS and more
        again = re.findall(r".*gave them a new one.*", t.log())
        self.assertEqual(again, [], "expected no channel given again after "
                         "a restart (the restart gave new ones)")


@unittest.skipUnless(IS_ROOT, "needs root to reach into the processes")
class RepairTest(ChannelTestCase):
    """A channel dropped by one side is given again by the parent, without
    restarting either process."""

    def test_smtp_lookup_channel_is_paired_again(self):
        t = self.start_ternd(conf={"smtp_processes": "1"})
        smtp, lookup = pid_of(t, "smtp"), pid_of(t, "lookup")
        self.deliver_one(t, "alice", "before")
        # The lookup process "answers" a request never made: the smtp
        # process drops the channel.
        inject(lookup, channel_fd(lookup, smtp),
               header(MSG_ADMIT_ANS, 0x7ffffff0))
        t.wait_log(r"smtp: invalid or unexpected answer from the lookup "
                   r"process; closing the channel")
        # Sessions are admitted and recipients looked up again.
        c = self.wait_greeting(t, 220, timeout=10)
        self.check(c.greeting, 220, None, c, what="greeting after the "
                   "channel was dropped")
        c.close()
        self.deliver_one(t, "alice", "after")
        t.wait_log(r"parent: the channel between the smtp process 0 and "
                   r"the lookup process closed; gave them a new one")
        # Neither process was restarted.
        self.assertEqual((t.role_pids("smtp"), t.role_pids("lookup")),
                         ([smtp], [lookup]), "processes started")
        self.assertNotIn("starting it again", t.log())

        # Dropped again at once: the parent waits longer each time.
        inject(lookup, channel_fd(lookup, smtp),
               header(MSG_ADMIT_ANS, 0x7ffffff1))
        t.wait_log(r"the channel between the smtp process 0 and the lookup "
                   r"process closed again; pairing them again in 400 ms")
        t.wait_log(r"gave them a new one", count=2)
        inject(lookup, channel_fd(lookup, smtp),
               header(MSG_ADMIT_ANS, 0x7ffffff2))
        t.wait_log(r"closed again; pairing them again in 800 ms")
        t.wait_log(r"gave them a new one", count=3)
        self.deliver_one(t, "alice", "third")

    def test_queue_local_channel_is_paired_again(self):
        t = self.start_ternd(conf={"smtp_processes": "1"})
        queue, local = pid_of(t, "queue"), pid_of(t, "local")
        self.deliver_one(t, "bob", "before")
        # The queue process "sends" the local process a message it may
        # not: the local process drops the channel.
        inject(queue, channel_fd(queue, local), header(999, 1))
        t.wait_log(r"local: invalid message 999 from the queue; closing "
                   r"the channel")
        t.wait_log(r"queue: lost the local process")
        self.deliver_one(t, "bob", "after")
        t.wait_log(r"parent: the channel between the queue process and the "
                   r"local process closed; gave them a new one")
        self.assertEqual((t.role_pids("queue"), t.role_pids("local")),
                         ([queue], [local]), "processes started")
        self.assertNotIn("starting it again", t.log())


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

    def test_child_breaking_the_framing_is_killed(self):
        """A header over the control channel's limit closes the channel;
        the child, out of the parent's reach, is killed and started
        again."""
        t = self.start_ternd(conf={"smtp_processes": "1"})
        local = pid_of(t, "local")
        self.deliver_one(t, "carol", "before")
        inject(local, 3, struct.pack("<IHHI", 64 * 1024 * 1024, 1, 0, 0))
        t.wait_log(r"the local process \(pid %d\) was killed by signal 9; "
                   r"starting it again" % local)
        t.wait_log(r"started the local process", count=2)
        self.deliver_one(t, "carol", "after the restart")
        self.assertRegex(t.log(), r"ipc: message over the size limit; "
                         r"closing the channel\n.*the local process \(pid "
                         r"%d\) broke its control channel; killing it" %
                         local)


if __name__ == "__main__":
    unittest.main()
