"""Privilege separation: the processes, their users and confinement, and
what happens when one of them dies under load.

The user and chroot checks need root (CI runs as root); the crash tests run
as any user."""

import os
import pwd
import random
import re
import signal
import stat
import subprocess
import time
import unittest

from ternlib import Delivered, TerndTestCase, lf
from test_durability import Traffic

ROLES = ("parent", "lookup", "queue", "local", "smtp")
USERS = {"smtp": "tern-smtp", "lookup": "tern-lookup", "queue": "tern-queue",
         "local": "tern-mail"}
IS_ROOT = os.geteuid() == 0


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def processes(t):
    """role -> [pid] for ternd's process group, by the name ps shows."""
    out = {}
    for pid in t.group_pids():
        try:
            cmd = read("/proc/%d/cmdline" % pid, "rb")
        except OSError:
            continue
        m = re.match(rb"ternd: (\w+)", cmd)
        if m:
            out.setdefault(m.group(1).decode(), []).append(pid)
    return out


def session_owner(t, client):
    """The pid of the smtp process serving a client's connection: the
    server side of the connection in /proc/net/tcp, then the process that
    holds that socket."""
    cport = client.sock.getsockname()[1]
    local = "0100007F:%04X" % t.port
    remote = "0100007F:%04X" % cport
    inode = None
    for line in read("/proc/net/tcp").splitlines()[1:]:
        f = line.split()
        if f[1] == local and f[2] == remote:
            inode = f[9]
    if inode is None:
        return None
    want = "socket:[%s]" % inode
    for pid in processes(t).get("smtp", []):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == want:
                    return pid
            except OSError:
                pass
    return None


def status_ids(pid):
    """(real, effective, saved uid) and NoNewPrivs of a process."""
    st = read("/proc/%d/status" % pid)
    uids = [int(x) for x in re.search(r"^Uid:\s+(.*)$", st, re.M)
            .group(1).split()[:3]]
    nnp = int(re.search(r"^NoNewPrivs:\s+(\d)", st, re.M).group(1))
    return uids, nnp


class ProcessShapeTest(TerndTestCase):

    def wait_shape(self, t, smtp=2, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = processes(t)
            if all(r in p for r in ROLES) and len(p["smtp"]) == smtp:
                return p
            time.sleep(0.05)
        self.fail("expected processes %s with %d smtp, got %r\n%s" % (
            ROLES, smtp, processes(t), t.log_tail()))

    def test_names_in_ps(self):
        t = self.start_ternd(conf={"smtp_processes": "3"})
        p = self.wait_shape(t, smtp=3)
        for role in ("parent", "lookup", "queue", "local"):
            self.assertEqual(len(p[role]), 1, "%s processes: %r" % (role, p))
        # The kernel's name too (what top and pgrep show), set as soon as
        # the process runs.
        for role, pids in p.items():
            for pid in pids:
                deadline = time.monotonic() + 5
                while True:
                    comm = read("/proc/%d/comm" % pid).strip()
                    if comm == "ternd: %s" % role[:8] or \
                            time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertEqual(comm, "ternd: %s" % role[:8],
                                 "comm of the %s process" % role)

    @unittest.skipUnless(IS_ROOT, "needs root")
    def test_users_and_confinement(self):
        t = self.start_ternd(conf={"smtp_processes": "2"})
        p = self.wait_shape(t)
        uids, _ = status_ids(p["parent"][0])
        self.assertEqual(uids, [0, 0, 0], "the parent stays root")
        for role, user in USERS.items():
            uid = pwd.getpwnam(user).pw_uid
            for pid in p[role]:
                # A process takes its name at exec and drops privileges
                # once it has the configuration: allow it that moment.
                deadline = time.monotonic() + 10
                while True:
                    uids, nnp = status_ids(pid)
                    if uids == [uid] * 3 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertEqual(uids, [uid] * 3, "real, effective and saved "
                                 "uid of the %s process (pid %d) should be %s"
                                 % (role, pid, user))
                self.assertEqual(nnp, 1, "no_new_privs of the %s process" %
                                 role)
        chroot = t.param("chroot_directory")
        for pid in p["smtp"]:
            self.assertEqual(os.readlink("/proc/%d/root" % pid), chroot,
                             "the smtp process's root directory")
        for role in ("lookup", "queue", "local"):
            self.assertEqual(os.readlink("/proc/%d/root" % p[role][0]), "/",
                             "the %s process is not chrooted" % role)
        self.assertEqual(os.listdir(chroot), [], "the chroot must be empty")
        st = os.stat(chroot)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode) & 0o022),
                         (0, 0), "the chroot is root's and not writable")

    @unittest.skipUnless(IS_ROOT, "needs root")
    def test_smtp_cannot_reach_spool_or_secrets(self):
        t = self.start_ternd(conf={"smtp_processes": "1",
                                   "relay_networks": "127.0.0.0/8"})
        # A secret only the lookup process may read (as a password file
        # will be), and a message waiting in the queue.
        secret = os.path.join(t.dir, "secret")
        with open(secret, "w") as f:
            f.write("alice:$6$salt$hash\n")
        lk = pwd.getpwnam("tern-lookup")
        os.chown(secret, lk.pw_uid, lk.pw_gid)
        os.chmod(secret, 0o600)
        c = self.connect(t)
        self.ehlo(c)
        for i in range(6):
            done = self.send_message(c, "s@example.org", ["alice@localhost"],
                                     "Subject: private %d\r\n\r\n%s\r\n"
                                     % (i, "secret text\r\n" * 100))
            t.wait_log(r"%s: removed" % done)
        qid = self.send_message(c, "s@example.org", ["far@remote.example"],
                                "Subject: waits\r\n\r\nbody\r\n")
        t.wait_log(r"%s: to=<far@remote\.example>.*deferred" % qid)
        queued = os.path.join(t.spool, "queue", qid)
        self.assertTrue(os.path.exists(queued))
        # A message on its way in: its text goes to the queue process.
        c2 = self.connect(t)
        self.ehlo(c2)
        self.expect(c2, "MAIL FROM:<s@example.org>", 250)
        self.expect(c2, "RCPT TO:<alice@localhost>", 250)
        self.expect(c2, "DATA", 354)
        c2.send(b"Subject: on its way\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000)
        t.wait_log(r"client=unknown\[127\.0\.0\.1\]", count=8)
        pid = processes(t)["smtp"][0]
        # Inside its root there is nothing: not the spool, not the secret.
        for path in (queued, t.spool, secret, "/etc/passwd"):
            self.assertFalse(os.path.lexists("/proc/%d/root%s" % (pid, path)),
                             "%s is visible from the smtp process" % path)
        # It holds no descriptor to them either, not even of the message
        # it is receiving: a compromised smtp process keeps nothing through
        # which it could read or rewrite a message after its 250.
        for fd in os.listdir("/proc/%d/fd" % pid):
            link = "/proc/%d/fd/%s" % (pid, fd)
            try:
                target = os.readlink(link)
            except OSError:
                continue
            self.assertNotEqual(target, secret,
                                "the smtp process holds the secret")
            self.assertFalse(target.startswith(t.spool),
                             "the smtp process holds %s, in the spool"
                             % target)
        c2.send(b".\r\n")
        self.expect_reply(c2, 250, what="end of data")
        # And its user could not open them even outside the chroot.
        smtp = pwd.getpwnam("tern-smtp")
        for path in (queued, secret):
            r = subprocess.run(
                ["setpriv", "--reuid=%d" % smtp.pw_uid,
                 "--regid=%d" % smtp.pw_gid, "--clear-groups", "cat", path],
                capture_output=True, timeout=10)
            self.assertNotEqual(r.returncode, 0,
                                "tern-smtp could read %s" % path)
            self.assertIn(b"Permission denied", r.stderr)


class CrashTest(TerndTestCase):
    """A process killed with SIGKILL under load is restarted; nothing that
    got 250 is lost."""

    def traffic_with_kill(self, role, smtp=2):
        seed = int(os.environ.get("TERN_SEED", int(time.time() * 1000)))
        note = "(random seed %d)" % seed
        t = self.start_ternd(conf={"smtp_processes": str(smtp)})
        traffic = Traffic(t, seed)
        traffic.start()
        victims = []
        try:
            time.sleep(1.5)
            before = traffic.n_acked()
            p = processes(t)
            self.assertIn(role, p, "no %s process: %r" % (role, p))
            victim = random.Random(seed).choice(p[role])
            victims.append(victim)
            os.kill(victim, signal.SIGKILL)
            t.wait_log(r"the %s process \(pid %d\) was killed by signal 9; "
                       r"starting it again" % (role, victim))
            t.wait_log(r"started the %s process" % role, count=2 if
                       role != "smtp" else smtp + 1)
            time.sleep(2.5)
        finally:
            stopped = traffic.stop()
        self.assertTrue(stopped, "client threads did not stop")
        self.assertGreater(traffic.n_acked(), before,
                           "no message accepted after the kill %s" % note)
        p = processes(t)
        self.assertEqual(len(p.get(role, [])), smtp if role == "smtp" else 1,
                         "processes after the restart: %r" % p)
        self.assertNotIn(victims[0], p.get(role, []))
        t.wait_queue_empty(timeout=90)
        self.assertEqual(t.stop(), 0, "exit status after SIGTERM")
        problems, lost, dups, unacked = traffic.verify(t.all_messages())
        if lost:
            problems.append("%d acknowledged deliveries lost: %s" % (
                len(lost), ", ".join(lost[:10])))
        self.assertEqual(problems, [], "%d acknowledged %s" % (
            len(traffic.acked), note))
        return t, traffic

    def test_smtp_process_killed(self):
        t, traffic = self.traffic_with_kill("smtp")
        # Only the sessions of the dead process broke; the others went on
        # (each client reconnects after a break, so breaks stay few).
        self.assertLess(traffic.counts["broken"], 20, repr(traffic.counts))

    def test_smtp_crash_drops_only_its_own_sessions(self):
        t = self.start_ternd(conf={"smtp_processes": "2"})
        # Sessions until both processes serve some (the kernel spreads
        # connections over them), each in the middle of a transaction.
        sessions, owners = [], {}
        for i in range(40):
            c = self.connect(t)
            self.ehlo(c)
            self.expect(c, "MAIL FROM:<s%d@example.org>" % i, 250)
            self.expect(c, "RCPT TO:<alice@localhost>", 250)
            pid = session_owner(t, c)
            self.assertIsNotNone(pid, "no smtp process holds session %d" % i)
            sessions.append((c, pid))
            owners.setdefault(pid, []).append(c)
            if len(owners) == 2 and min(map(len, owners.values())) >= 2:
                break
        self.assertEqual(len(owners), 2, "all %d sessions went to one smtp "
                         "process" % len(sessions))
        victim, survivor = sorted(owners, key=lambda p: len(owners[p]))
        os.kill(victim, signal.SIGKILL)
        t.wait_log(r"the smtp process \(pid %d\) was killed by signal 9; "
                   r"starting it again" % victim)
        for c in owners[victim]:
            self.assertTrue(c.wait_closed(5), "a session of the killed smtp "
                            "process stayed open")
        # The other process's sessions go on where they were: their
        # transactions complete and are delivered.
        for n, c in enumerate(owners[survivor]):
            self.expect(c, "NOOP", 250)
            self.expect(c, "DATA", 354)
            c.send(b"Subject: carried on %d\r\n\r\nstill here\r\n.\r\n"
                   % n)
            self.expect_reply(c, 250, "2.0.0")
            self.expect(c, "QUIT", 221)
        got = t.wait_messages("alice", len(owners[survivor]))
        self.assertEqual(sorted(Delivered(d).body for d in got),
                         sorted(lf(b"Subject: carried on %d\r\n\r\n"
                                   b"still here\r\n" % n)
                                for n in range(len(owners[survivor]))))
        # And the restarted process serves new sessions.
        t.wait_log(r"started the smtp process", count=3)
        c = self.connect(t)
        self.ehlo(c)
        self.expect(c, "QUIT", 221)

    def test_queue_process_killed(self):
        t, _ = self.traffic_with_kill("queue")
        self.assertRegex(t.log(), r"spool: recovered \d+ message")

    def test_lookup_process_killed(self):
        self.traffic_with_kill("lookup")

    def test_local_process_killed(self):
        self.traffic_with_kill("local")

    def test_crash_while_stopping_is_reported(self):
        t = self.start_ternd()
        p = processes(t)
        # Deliveries hang: the queue will wait for them while stopping.
        os.kill(p["local"][0], signal.SIGSTOP)
        try:
            c = self.connect(t)
            self.ehlo(c)
            qid = self.send_message(c, "s@example.org", ["bob@localhost"],
                                    "Subject: x\r\n\r\nbody\r\n")
            c.close()
            t.proc.send_signal(signal.SIGTERM)
            t.wait_log(r"stopping \(signal 15\)")
            time.sleep(0.5)  # the smtp processes go; the queue waits
            os.kill(p["queue"][0], signal.SIGKILL)
        finally:
            os.kill(p["local"][0], signal.SIGCONT)
        rc = t.proc.wait(30)
        t.reap_group("exit after SIGTERM")
        self.assertEqual(rc, 1, "ternd's exit status when a process died "
                         "while stopping")
        self.assertRegex(t.log(), r"the queue process \(pid %d\) was killed "
                         r"by signal 9 while stopping" % p["queue"][0])
        # Nothing was lost: the next start delivers it (the local process,
        # woken, may have delivered it already: at least once).
        t.start()
        msgs = t.wait_messages("bob", timeout=20)
        self.assertTrue(any(qid.encode() in m for m in msgs),
                        "message %s not delivered after the restart" % qid)


class OrdinaryUserTest(TerndTestCase):
    """Started by an ordinary user, the same processes run as that user,
    without chroot."""

    @unittest.skipUnless(IS_ROOT, "needs root to become an ordinary user")
    def test_same_shape_without_root(self):
        from ternlib import Ternd
        import ternlib
        nobody = pwd.getpwnam("nobody")
        t = Ternd(conf={"smtp_processes": "2"}, name="ternd as nobody")
        wrapper = os.path.join(t.dir, "ternd-as-nobody")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --reuid=%d --regid=%d "
                    "--clear-groups %s \"$@\"\n" % (
                        nobody.pw_uid, nobody.pw_gid,
                        os.path.abspath(ternlib.TERND)))
        os.chmod(wrapper, 0o755)
        t.binary = wrapper
        os.chown(t.dir, nobody.pw_uid, nobody.pw_gid)
        self.ternds.append(t)
        self.addCleanup(self._finish_ternd, t)
        t.start()
        p = ProcessShapeTest.wait_shape(self, t)
        for role, pids in p.items():
            for pid in pids:
                uids, _ = status_ids(pid)
                self.assertEqual(uids, [nobody.pw_uid] * 3,
                                 "the %s process runs as nobody" % role)
                self.assertEqual(os.readlink("/proc/%d/root" % pid), "/",
                                 "the %s process is not chrooted" % role)
        c = self.connect(t)
        self.ehlo(c)
        self.send_message(c, "s@example.org", ["bob@localhost"],
                          "Subject: hi\r\n\r\nas nobody\r\n")
        t.wait_messages("bob")
        newdir = os.path.join(t.maildir("bob"), "new")
        for name in os.listdir(newdir):
            self.assertEqual(os.stat(os.path.join(newdir, name)).st_uid,
                             nobody.pw_uid, "owner of the delivered file")

if __name__ == "__main__":
    unittest.main()
