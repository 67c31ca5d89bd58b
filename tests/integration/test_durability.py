"""Durability: clients keep sending while ternd is killed with SIGKILL (or
stopped with SIGTERM, or reloaded with SIGHUP) at random moments.  Every
message that got 250 must be delivered (at least once; exactly once when
nothing crashed), and every delivered file must be a complete message."""

import os
import random
import re
import socket
import threading
import time

from ternlib import ClosedError, Client, Delivered, TerndTestCase, lf

USERS = ["dura0", "dura1", "dura2", "dura3"]
CLIENTS = 4


def make_message(msgid, rnd):
    lines = [b"Message-Id: <%s@durability.test>" % msgid.encode(),
             b"Subject: durability %s" % msgid.encode(),
             b"From: sender@example.org", b""]
    for i in range(rnd.randint(1, 120)):
        n = rnd.randint(0, 300)
        line = (b"%d " % i + bytes(rnd.choice(b"abcdefghij .,-")
                                   for _ in range(n)))[:998]
        lines.append(line)
    lines.append(b"END %s" % msgid.encode())
    return b"\r\n".join(lines) + b"\r\n"


class Traffic:
    """CLIENTS threads sending messages in a loop until stopped; they
    reconnect whenever the server goes away."""

    def __init__(self, t, seed):
        self.t = t
        self.seed = seed
        self.lock = threading.Lock()
        self.sent = {}   # msgid -> (rcpts, message): sent in full
        self.acked = {}  # msgid -> queue ID: got 250
        self.counts = {"250": 0, "other": 0, "broken": 0}
        self.stop_ev = threading.Event()
        self.deadline = time.monotonic() + 120
        self.threads = [threading.Thread(target=self.client, args=(i,))
                        for i in range(CLIENTS)]

    def start(self):
        for th in self.threads:
            th.start()

    def stop(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join(30)
        return not any(th.is_alive() for th in self.threads)

    def n_acked(self):
        with self.lock:
            return len(self.acked)

    def client(self, n):
        rnd = random.Random(self.seed * 100 + n)
        seq = 0
        while not self.stop_ev.is_set() and time.monotonic() < self.deadline:
            try:
                c = Client(self.t.port, timeout=10)
            except OSError:
                time.sleep(0.05)  # down between a stop and a start
                continue
            try:
                if c.reply().code != 220:
                    time.sleep(0.05)
                    continue
                c.cmd("EHLO dura%d.test" % n)
                for _ in range(rnd.randint(1, 6)):
                    if self.stop_ev.is_set():
                        break
                    c.transcript.clear()
                    seq += 1
                    msgid = "c%d.%d.%d" % (n, seq, self.seed)
                    rcpts = rnd.sample(USERS, rnd.randint(1, 2))
                    msg = make_message(msgid, rnd)
                    if c.cmd("MAIL FROM:<sender@example.org>").code != 250:
                        break
                    ok = [r for r in rcpts
                          if c.cmd("RCPT TO:<%s@localhost>" % r).code == 250]
                    if ok != rcpts or c.cmd("DATA").code != 354:
                        break
                    with self.lock:
                        self.sent[msgid] = (rcpts, msg)
                    c.send(msg + b".\r\n")
                    r = c.reply()
                    with self.lock:
                        if r.code == 250:
                            self.counts["250"] += 1
                            self.acked[msgid] = r.text.split()[-1]
                        else:
                            self.counts["other"] += 1
                c.cmd("QUIT")
            except (ClosedError, socket.timeout, OSError):
                with self.lock:
                    self.counts["broken"] += 1
            finally:
                c.close()

    def verify(self, files):
        """Check the delivered files against what was sent; returns
        (problems, lost, duplicates, delivered without a 250 seen)."""
        copies = {}  # (msgid, user) -> count
        problems = []
        for path, data in files.items():
            user = os.path.basename(os.path.dirname(os.path.dirname(path)))
            m = re.search(rb"Message-Id: <([^@>]+)@durability\.test>", data)
            if not m:
                problems.append("%s: no Message-Id (%d octets): %r" % (
                    path, len(data), data[-200:]))
                continue
            msgid = m.group(1).decode()
            if msgid not in self.sent:
                problems.append("%s: unknown message %s" % (path, msgid))
                continue
            rcpts, msg = self.sent[msgid]
            d = Delivered(data)
            if d.body != lf(msg):
                problems.append("%s: message %s is not complete or not "
                                "intact: %d octets, expected %d; ends %r" % (
                                    path, msgid, len(d.body),
                                    len(lf(msg)), d.body[-80:]))
            if d.delivered_to != user + "@localhost" or user not in rcpts:
                problems.append("%s: message %s for %s landed at %s "
                                "(Delivered-To %s)" % (
                                    path, msgid, rcpts, user,
                                    d.delivered_to))
            if d.return_path != "sender@example.org" or d.rmatch is None:
                problems.append("%s: bad Return-Path or Received: %r" % (
                    path, data[:300]))
            copies[(msgid, user)] = copies.get((msgid, user), 0) + 1
        lost, dups = [], []
        for msgid, qid in sorted(self.acked.items()):
            rcpts, _ = self.sent[msgid]
            for u in rcpts:
                n = copies.get((msgid, u), 0)
                if n == 0:
                    lost.append("%s (queue ID %s) for %s" % (msgid, qid, u))
                if n > 1:
                    dups.append("%s for %s: %d copies" % (msgid, u, n))
        unacked = {m for (m, _u) in copies if m not in self.acked}
        return problems, lost, dups, unacked


class DurabilityTest(TerndTestCase):

    def seed(self):
        seed = int(os.environ.get("TERN_SEED", int(time.time() * 1000)))
        return seed, "(random seed %d: TERN_SEED=%d reruns it)" % (seed,
                                                                  seed)

    def run_traffic(self, t, seed, note, interrupt, rounds,
                    interval=(1.5, 3.5)):
        """Traffic while interrupt(t, rnd) is called rounds times, a
        random interval apart."""
        traffic = Traffic(t, seed)
        traffic.start()
        rnd = random.Random(seed)
        marks = []
        try:
            for _ in range(rounds):
                time.sleep(rnd.uniform(*interval))
                marks.append(traffic.n_acked())
                interrupt(t, rnd)
            time.sleep(1.5)  # traffic on the last instance too
        finally:
            stopped = traffic.stop()
        self.assertTrue(stopped, "client threads did not stop")
        self.assertGreater(len(traffic.acked), 20, "too little traffic to "
                           "judge: %r %s" % (traffic.counts, note))
        # Acknowledged messages kept coming after the last interruption.
        self.assertGreater(len(traffic.acked), marks[-1], note)
        t.wait_queue_empty(timeout=90)
        self.assertEqual(t.stop(), 0, "exit status after SIGTERM")
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [],
                         "spool tmp/ not empty after a clean stop")
        files = t.all_messages()
        problems, lost, dups, unacked = traffic.verify(files)
        summary = ("%d messages acknowledged, %d delivered files, %d "
                   "duplicate copies, %d delivered without a 250 seen, "
                   "%d broken sessions %s" % (
                       len(traffic.acked), len(files), len(dups),
                       len(unacked), traffic.counts["broken"], note))
        if lost:
            problems.append("%d acknowledged deliveries lost: %s" % (
                len(lost), ", ".join(lost[:10])))
            problems.append(self.trace_lost(t, lost[:5]))
        return problems, dups, summary

    @staticmethod
    def trace_lost(t, lost):
        """What the log says of some lost messages, to tell where they
        went missing (never committed, never delivered, or removed)."""
        log = t.log().splitlines()
        out = []
        for item in lost:
            m = re.search(r"\(queue ID ([0-9A-Z]+)\)", item)
            if not m:
                continue
            lines = [l for l in log if m.group(1) in l]
            out.append("%s: %d log lines%s" % (
                m.group(1), len(lines),
                "".join("\n    " + l for l in lines[:8])))
        return "log of lost messages:\n  " + "\n  ".join(out)

    def test_sigkill_during_traffic(self):
        seed, note = self.seed()
        # What a restart finds in the queue may meet a temporary failure;
        # its retry must come within the test's patience.
        t = self.start_ternd({"minimal_backoff_time": "1s"})
        kills = 5

        def crash(t, rnd):
            t.kill()
            time.sleep(rnd.uniform(0, 0.3))
            t.start()

        problems, dups, summary = self.run_traffic(t, seed, note, crash,
                                                   kills)
        self.assertEqual(t.killed, kills)
        # Duplicates are allowed: delivery is at-least-once.
        self.assertEqual(problems, [], summary)
        print("(%s) " % summary, end="", flush=True)

    def test_sigterm_during_traffic(self):
        seed, note = self.seed()
        # What a restart finds in the queue may meet a temporary failure;
        # its retry must come within the test's patience.
        t = self.start_ternd({"minimal_backoff_time": "1s"})

        def stop_start(t, rnd):
            rc = t.stop()
            self.assertEqual(rc, 0, "exit status after SIGTERM %s" % note)
            t.start()

        problems, dups, summary = self.run_traffic(
            t, seed, note, stop_start, 3, interval=(1.0, 2.0))
        self.assertEqual(t.killed, 0)
        # Nothing crashed: no message may come twice either.
        self.assertEqual(problems + dups, [], summary)
        self.assertNotRegex(t.log(), r"deliveries unfinished")
        print("(%s) " % summary, end="", flush=True)

    def test_sighup_during_traffic(self):
        seed, note = self.seed()
        t = self.start_ternd(tables={"alias_maps": "x y\n"})

        def reload(t, rnd):
            t.write_table("alias_maps", "x y\nz%d w\n" % rnd.randint(0, 99))
            t.hup()

        problems, dups, summary = self.run_traffic(
            t, seed, note, reload, 4, interval=(0.5, 1.5))
        self.assertEqual(t.starts, 1, "ternd restarted")
        self.assertEqual(len(re.findall(r"reloaded configuration",
                                        t.log())), 4)
        self.assertEqual(problems + dups, [], summary)
        print("(%s) " % summary, end="", flush=True)


if __name__ == "__main__":
    import unittest
    unittest.main()
