"""Durability: clients keep sending while ternd is killed with SIGKILL at
random moments.  Every message that got 250 must be delivered (at least
once), and every delivered file must be a complete message."""

import os
import random
import re
import socket
import threading
import time

from ternlib import ClosedError, Client, Delivered, TerndTestCase, lf

USERS = ["dura0", "dura1", "dura2", "dura3"]
CLIENTS = 4
KILLS = 5


def make_message(msgid, rnd):
    lines = [b"Message-Id: <%s@durability.test>" % msgid.encode(),
             b"Subject: durability %s" % msgid.encode(),
             b"From: sender@example.org", b""]
    for i in range(rnd.randint(1, 120)):
        n = rnd.randint(0, 300)
        line = (b"%d " % i + bytes(rnd.choice(b"abcdefghij .,-")
                                   for _ in range(n)))[:998]
        if line.startswith(b"."):
            line = b" " + line
        lines.append(line)
    lines.append(b"END %s" % msgid.encode())
    return b"\r\n".join(lines) + b"\r\n"


class DurabilityTest(TerndTestCase):

    def test_sigkill_during_traffic(self):
        seed = int(os.environ.get("TERN_SEED", int(time.time())))
        note = "(random seed %d: TERN_SEED=%d reruns it)" % (seed, seed)
        t = self.start_ternd()
        lock = threading.Lock()
        sent = {}    # msgid -> (rcpts, message): everything sent in full
        acked = {}   # msgid -> queue ID: got 250
        answers = {"250": 0, "other": 0, "broken": 0}
        stop = threading.Event()
        hard_deadline = time.monotonic() + 90

        def client(n):
            rnd = random.Random(seed * 100 + n)
            seq = 0
            while not stop.is_set() and time.monotonic() < hard_deadline:
                try:
                    c = Client(t.port, timeout=10)
                except OSError:
                    time.sleep(0.05)  # down between a kill and a restart
                    continue
                try:
                    g = c.reply()
                    if g.code != 220:
                        continue
                    c.cmd("EHLO dura%d.test" % n)
                    for _ in range(rnd.randint(1, 6)):
                        if stop.is_set():
                            break
                        c.transcript.clear()
                        seq += 1
                        msgid = "c%d.%d.%d" % (n, seq, seed)
                        rcpts = rnd.sample(USERS, rnd.randint(1, 2))
                        msg = make_message(msgid, rnd)
                        if c.cmd("MAIL FROM:<sender@example.org>").code \
                                != 250:
                            break
                        ok = [r for r in rcpts
                              if c.cmd("RCPT TO:<%s@localhost>" % r).code
                              == 250]
                        if ok != rcpts or c.cmd("DATA").code != 354:
                            break
                        with lock:
                            sent[msgid] = (rcpts, msg)
                        c.send(msg + b".\r\n")
                        r = c.reply()
                        with lock:
                            if r.code == 250:
                                answers["250"] += 1
                                acked[msgid] = r.text.split()[-1]
                            else:
                                answers["other"] += 1
                    c.cmd("QUIT")
                except (ClosedError, socket.timeout, OSError):
                    with lock:
                        answers["broken"] += 1
                finally:
                    c.close()

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(CLIENTS)]
        for th in threads:
            th.start()
        rnd = random.Random(seed)
        kill_log = []
        try:
            for _ in range(KILLS):
                time.sleep(rnd.uniform(1.5, 3.5))
                with lock:
                    n_acked = len(acked)
                t.kill()
                kill_log.append(n_acked)
                time.sleep(rnd.uniform(0, 0.3))
                t.start()
            time.sleep(1.5)  # traffic on the last instance too
        finally:
            stop.set()
            for th in threads:
                th.join(30)
        self.assertFalse(any(th.is_alive() for th in threads),
                         "client threads did not stop")
        self.assertEqual(t.killed, KILLS)
        self.assertGreater(len(acked), 20, "too little traffic to judge: "
                           "%r %s" % (answers, note))
        # Acknowledged messages kept arriving between the kills.
        self.assertGreater(len(acked), kill_log[-1], note)

        t.wait_queue_empty(timeout=90)
        self.assertEqual(t.stop(), 0)
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [],
                         "spool tmp/ not empty after a clean stop")

        # Every delivered file: complete, one of ours, in the right place.
        copies = {}  # (msgid, user) -> count
        problems = []
        files = t.all_messages()
        for path, data in files.items():
            user = os.path.basename(os.path.dirname(os.path.dirname(path)))
            m = re.search(rb"Message-Id: <([^@>]+)@durability\.test>", data)
            if not m:
                problems.append("%s: no Message-Id (%d octets): %r" % (
                    path, len(data), data[-200:]))
                continue
            msgid = m.group(1).decode()
            if msgid not in sent:
                problems.append("%s: unknown message %s" % (path, msgid))
                continue
            rcpts, msg = sent[msgid]
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

        lost, dups = [], 0
        for msgid, qid in sorted(acked.items()):
            rcpts, _ = sent[msgid]
            for u in rcpts:
                n = copies.get((msgid, u), 0)
                if n == 0:
                    lost.append("%s (queue ID %s) for %s" % (msgid, qid, u))
                dups += max(0, n - 1)
        unacked_delivered = {m for (m, _u) in copies if m not in acked}
        summary = ("%d messages acknowledged, %d delivered files, %d "
                   "duplicate copies, %d delivered without a 250 seen "
                   "(the kill came first), %d broken sessions, %d kills "
                   "%s" % (len(acked), len(files), dups,
                           len(unacked_delivered), answers["broken"],
                           KILLS, note))
        if lost:
            problems.append("%d acknowledged deliveries lost: %s" % (
                len(lost), ", ".join(lost[:10])))
        self.assertEqual(problems, [], summary)
        print("(%s) " % summary, end="", flush=True)


if __name__ == "__main__":
    import unittest
    unittest.main()
