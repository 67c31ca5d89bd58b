"""Power loss and I/O errors, against a real ternd.

fsshim (tests/fsshim) records every change ternd makes under its
spool_directory and mail_directory while clients send mail; fsreplay builds
from that trace what a power cut right after any record may leave on disk,
under the worst a POSIX file system may do (unsynced data lost; unsynced
directory changes lost, kept, or a random part of them).  A fresh ternd
with the same configuration is started on each such state and, once it is
idle, the Maildirs must show that

  * every message that got 250 before the cut is there, complete, exactly
    once per recipient;
  * no message is delivered twice to one recipient (one whose reply had
    not come when the power went may be there once, or not at all);
  * no message refused (4xx/5xx) before the cut is delivered.

The same shim makes chosen calls fail under a running ternd: a refused
message must never be delivered, even after a restart; an accepted one
must be, once, after the fault is cleared; unsupported renameat2 flags or
O_TMPFILE must leave a way to accept mail.

Only the configured directories, SMTP replies and Maildir contents are
looked at, never the spool's file names or formats.  A ternd on a crash
state is taken to have emptied its queue when nothing has changed under
its directories for a while after it logged its recovery of the spool (a
hint: without that line it waits a second).

TERN_POWERLOSS_CUTS sets the number of cut points around
syncs, links and renames (default 100; a tenth as many others are added),
TERN_POWERLOSS_MESSAGES the number of messages (default 300),
TERN_POWERLOSS_JOBS how many ternds run at once (default 3), TERN_SEED the
random choices; TERN_KEEP=1 keeps every directory, with the trace, a
snapshot.json for fsreplay.py and states.txt saying which state ran where.
"""

import concurrent.futures
import os
import random
import re
import socket
import sys
import threading
import time
import unittest

import ternlib
from ternlib import ClosedError, Client, Delivered, Ternd, TerndTestCase, lf

sys.path.insert(0, os.path.join(ternlib.SRC_DIR, "tests", "fsshim"))
import fsfaults  # noqa: E402
import fsreplay  # noqa: E402

# Retries come quickly: a state's deliveries end within the test's
# patience.
CONF = {"minimal_backoff_time": "100ms", "maximal_backoff_time": "300ms",
        "queue_minfree": "0"}
OLD_USERS = ["u0", "u1", "u2", "u3"]  # Maildirs made before the run
NEW_EVERY = 20  # a new recipient (no Maildir yet) every so many messages
SESSIONS = 6
# A state is done when nothing changed on disk for QUIET seconds after
# the queue recovered it; a deferred delivery comes back within
# maximal_backoff_time, its jitter and the rounding of its time to a
# second.
QUIET = 0.3
RETRY_PATIENCE = 2.0
RECOVERED = re.compile(r"recovered \d+ message")
# Per cut point: everything unsynced lost; unsynced directory changes kept
# (files with their synced data only, or at their latest size with zeros,
# every other cut); a random part of the unsynced changes.
MODELS = (("durable", "meta", "subset-0"), ("durable", "meta-size",
                                            "subset-0"))


def shim_path():
    """The preloaded library: FSSHIM_LIB, or the one built beside ternd."""
    p = os.environ.get("FSSHIM_LIB") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ternlib.TERND))),
        "tests", "fsshim", "libfsshim.so")
    return p if os.path.isfile(p) else None


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# ------------------------------------------------------------ messages

class Msg:
    def __init__(self, n, token, rcpts, bdat, body):
        self.n = n
        self.token = token
        self.rcpts = rcpts      # local parts
        self.bdat = bdat
        self.body = body        # as sent (CRLF)
        self.code = None        # reply to the end of data, None: none
        self.reply = ""
        self.t_reply = None     # CLOCK_MONOTONIC ns once it arrived


def make_body(token, rnd):
    lines = [b"Message-Id: <%s@powerloss.test>" % token.encode(),
             b"Subject: power loss %s" % token.encode(),
             b"From: sender@example.org", b""]
    for i in range(rnd.randint(1, 40)):
        n = rnd.randint(0, 200)
        lines.append(b"%d %s" % (i, bytes(rnd.choice(b"abcdefgh ,-")
                                           for _ in range(n))))
    lines.append(b"END %s" % token.encode())
    return b"\r\n".join(lines) + b"\r\n"


TOKEN_RE = re.compile(rb"Message-Id: <(pl-[0-9a-z-]+)@powerloss\.test>")


def read_maildirs(mail):
    """Every file in a new/ or cur/ under mail: {path: bytes}."""
    out = {}
    for root, _dirs, files in os.walk(mail):
        if os.path.basename(root) not in ("new", "cur"):
            continue
        for n in files:
            p = os.path.join(root, n)
            try:
                with open(p, "rb") as f:
                    out[p] = f.read()
            except OSError:
                pass
    return out


def tally(files, mail, msgs):
    """Copies per (token, user), and what is not a whole message."""
    copies = {}
    bad = []
    for path, data in files.items():
        user = os.path.relpath(path, mail).split(os.sep)[0]
        m = TOKEN_RE.search(data)
        msg = msgs.get(m.group(1).decode()) if m else None
        if msg is None:
            bad.append("%s: no known message (%d octets): %r" % (
                os.path.relpath(path, mail), len(data), data[:80]))
            continue
        d = Delivered(data)
        if (d.body != lf(msg.body) or user not in msg.rcpts or
                d.delivered_to != user + "@localhost"):
            bad.append("%s: %s is not whole or not its recipient's: %d "
                       "octets (expected %d), Delivered-To %s, for %s" % (
                           os.path.relpath(path, mail), msg.token,
                           len(d.body), len(lf(msg.body)), d.delivered_to,
                           msg.rcpts))
            continue
        copies[(msg.token, user)] = copies.get((msg.token, user), 0) + 1
    return copies, bad


class Traffic:
    """SESSIONS clients sending count messages between them."""

    def __init__(self, port, count, seed):
        self.port = port
        self.count = count
        self.seed = seed
        self.lock = threading.Lock()
        self.next = 0
        self.msgs = {}     # token -> Msg
        self.errors = []
        self.rnd = random.Random(seed)

    def new_msg(self):
        with self.lock:
            if self.next >= self.count:
                return None
            n = self.next
            self.next += 1
            rnd = random.Random("%s:%d" % (self.seed, n))
            token = "pl-%d-%d" % (n, rnd.randint(0, 10 ** 9))
            newest = n // NEW_EVERY
            pool = OLD_USERS + ["n%02d" % j for j in range(newest + 1)]
            k = rnd.choice((1, 1, 1, 2, 2, 3))
            rcpts = rnd.sample(pool, min(k, len(pool)))
            if n % NEW_EVERY == 0 and "n%02d" % newest not in rcpts:
                rcpts[0] = "n%02d" % newest  # its first mail
            msg = Msg(n, token, sorted(rcpts), rnd.random() < 0.3,
                      make_body(token, rnd))
            self.msgs[token] = msg
            return msg

    def session(self, i):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = None
            try:
                c = Client(self.port, timeout=30)
            except OSError as e:
                self.errors.append("session %d: connect: %s" % (i, e))
                return
            try:
                if c.reply().code != 220 or c.cmd("EHLO pl%d.test" %
                                                  i).code != 250:
                    self.errors.append("session %d: no greeting" % i)
                    return
                for _ in range(random.Random(i).randint(3, 9)):
                    msg = self.new_msg()
                    if msg is None:
                        c.cmd("QUIT")
                        return
                    self.send(c, msg)
                c.cmd("QUIT")
            except (ClosedError, socket.timeout, OSError) as e:
                self.errors.append("session %d: %s while sending %s" % (
                    i, e, msg.token if msg else "-"))
                return
            finally:
                c.close()

    def send(self, c, msg):
        r = c.cmd("MAIL FROM:<sender@example.org>")
        if r.code != 250:
            self.errors.append("%s: MAIL: %r" % (msg.token, r))
        for u in msg.rcpts:
            r = c.cmd("RCPT TO:<%s@localhost>" % u)
            if r.code != 250:
                self.errors.append("%s: RCPT %s: %r" % (msg.token, u, r))
        if msg.bdat:
            c.send(b"BDAT %d LAST\r\n" % len(msg.body) + msg.body)
        else:
            if c.cmd("DATA").code != 354:
                self.errors.append("%s: DATA refused" % msg.token)
            c.send(msg.body + b".\r\n")
        r = c.reply()
        msg.t_reply = time.monotonic_ns()
        msg.code = r.code
        msg.reply = r.text

    def run(self):
        threads = [threading.Thread(target=self.session, args=(i,))
                   for i in range(SESSIONS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(150)
        return not any(th.is_alive() for th in threads)


# ----------------------------------------------------------- power loss

class Cut:
    """What a cut point expects."""

    def __init__(self, k, clock, msgs):
        self.k = k
        self.acked = [m for m in msgs.values()
                      if m.code == 250 and clock.before_cut(k, m.t_reply)]
        self.refused = [m for m in msgs.values()
                        if m.code is not None and m.code != 250 and
                        clock.before_cut(k, m.t_reply)]


class Outcome:
    """A crash state, run: copies per (token, user) in its Maildirs."""

    def __init__(self):
        self.copies = {}
        self.bad = []
        self.problems = []  # ternd's own (start, sanitizer, exit)
        self.seconds = 0.0
        self.phases = {}
        self.extended = False
        self.dir = None


def tree_signature(*dirs):
    """Changes when a file is made, named, renamed or removed (every
    commit, delivery and removal does one of these)."""
    sig = []
    for d in dirs:
        for root, _dirs, _files in os.walk(d):
            try:
                st = os.stat(root)
            except OSError:
                continue
            sig.append((root, st.st_mtime_ns, st.st_nlink))
    sig.sort()
    return hash(tuple(sig))


class PowerLossTest(TerndTestCase):

    def setUp(self):
        super().setUp()
        if shim_path() is None:
            self.skipTest("no fsshim library beside %s (build with tests "
                          "enabled, or set FSSHIM_LIB)" % ternlib.TERND)

    def record(self, count, seed, first_start=False):
        """Run ternd under the recorder; returns (ternd, snapshot,
        records, msgs).  Unless first_start, ternd ran once before (its
        directories exist, and everything on disk is synced), and some
        Maildirs exist."""
        t = Ternd(CONF, name="recorded")
        self.ternds.append(t)
        self.addCleanup(self._finish_ternd, t)
        os.makedirs(t.spool)
        os.makedirs(t.mail)
        if not first_start:
            t.start()
            self.assertEqual(t.stop(), 0, "exit status after SIGTERM")
            for u in OLD_USERS:
                for sub in ("tmp", "new", "cur"):
                    t.give_to_mail_user(os.path.join(t.mail, u, sub))
                t.give_to_mail_user(os.path.join(t.mail, u))
            os.sync()
        snap = fsreplay.snapshot([t.spool, t.mail])
        trace = os.path.join(t.dir, "trace")
        t.env = {"LD_PRELOAD": shim_path(),
                 "FSSHIM_ROOTS": "%s:%s" % (t.spool, t.mail),
                 "FSSHIM_TRACE": trace}
        t.start()
        traffic = Traffic(t.port, count, seed)
        self.assertTrue(traffic.run(), "client sessions did not finish")
        self.assertEqual(traffic.errors, [], "the recorded run's sessions")
        msgs = traffic.msgs
        self.assertEqual(len(msgs), count)
        acked = [m for m in msgs.values() if m.code == 250]
        self.assertEqual(len(acked), count, "every message of the "
                         "recorded run accepted; refused: %s" % [
                             (m.token, m.code, m.reply) for m in
                             msgs.values() if m.code != 250][:5])
        # Everything delivered before stopping: deliveries are traced too.
        want = {(m.token, u) for m in acked for u in m.rcpts}
        deadline = time.monotonic() + 90
        while True:
            copies, bad = tally(read_maildirs(t.mail), t.mail, msgs)
            if want <= set(copies) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(t.stop(), 0, "exit status after SIGTERM")
        self.assertEqual(bad, [])
        self.assertEqual(sorted(want - set(copies)), [],
                         "deliveries of the recorded run (no crash)")
        self.assertEqual({k: n for k, n in copies.items() if n != 1}, {},
                         "copies in the recorded run (no crash)")
        return t, snap, fsreplay.read_trace(trace), msgs

    def run_state(self, rec, state, idx, expect):
        """A fresh ternd on a crash state until it is idle."""
        out = Outcome()
        ph = out.phases
        t0 = time.monotonic()
        t = Ternd(CONF, name="state-%d" % idx)
        out.dir = t.dir
        try:
            state.materialize({rec.spool: t.spool, rec.mail: t.mail})
            ph["build"] = time.monotonic() - t0
            t.start()
            ph["start"] = time.monotonic() - t0 - sum(ph.values())
            out.extended = self.wait_idle(t, expect)
            ph["idle"] = time.monotonic() - t0 - sum(ph.values())
            t.stop()
            ph["stop"] = time.monotonic() - t0 - sum(ph.values())
            out.copies, out.bad = tally(read_maildirs(t.mail), t.mail,
                                        self.msgs)
            ph["read"] = time.monotonic() - t0 - sum(ph.values())
        except Exception as e:  # reported with the state, not raised
            out.problems.append("%s: %s" % (e.__class__.__name__, e))
        finally:
            out.problems += t.finish()
        ph["finish"] = time.monotonic() - t0 - sum(ph.values())
        out.seconds = time.monotonic() - t0
        return out

    def wait_idle(self, t, expect):
        """Until nothing changes in the spool and the Maildirs for QUIET
        seconds after the queue recovered the spool (or after a second,
        if ternd does not say so); up to RETRY_PATIENCE when an expected
        delivery is missing and ternd logged a deferred one (its retry
        may come).  Returns whether it waited for a retry."""
        start = time.monotonic()
        ready = False
        last, changed = None, start
        extended = False
        while True:
            now = time.monotonic()
            if not ready:
                ready = (RECOVERED.search(t.log()) is not None or
                         now - start > 1.0)
                if ready:
                    changed = now
            sig = tree_signature(t.spool, t.mail)
            if sig != last:
                last, changed = sig, now
            elif ready and now - changed >= QUIET:
                if not expect:
                    return extended
                copies, _ = tally(read_maildirs(t.mail), t.mail, self.msgs)
                if all(key in copies for key in expect):
                    return extended
                if "status=deferred" not in t.log() or \
                        now - start > RETRY_PATIENCE:
                    return extended
                extended = True
            if now - start > 30:
                return extended
            time.sleep(0.05)

    def test_power_cut_at_commits_and_deliveries(self):
        self.power_cut(env_int("TERN_POWERLOSS_MESSAGES", 300),
                       env_int("TERN_POWERLOSS_CUTS", 100))

    def test_power_cut_after_first_start(self):
        """The first start makes the spool's directories: what got 250
        right after must survive as well."""
        self.power_cut(20, 20, first_start=True)

    def power_cut(self, count, ncuts, first_start=False):
        seed = int(os.environ.get("TERN_SEED", int(time.time())))
        note = "(TERN_SEED=%d reruns it)" % seed
        t_start = time.monotonic()
        rec, snap, records, msgs = self.record(count, seed, first_start)
        self.msgs = msgs
        t_recorded = time.monotonic()

        # The model must understand the whole trace.
        m = fsreplay.Model(snap)
        m.replay(records, len(records) - 1)
        self.assertEqual(m.warnings, [], "records the replayer could not "
                         "place")

        # Cut points around syncs, links and renames, and some others.
        cuts = fsreplay.choose_cuts(records, ncuts, max(10, ncuts // 10),
                                    seed)
        clock = fsreplay.Clock(records)
        cut_info = {k: Cut(k, clock, msgs) for k in cuts}
        uses = {}    # digest -> [(k, model)]
        states = {}  # digest -> State
        for k, st in fsreplay.crash_states(
                records, snap, cuts,
                lambda k: MODELS[cuts.index(k) % len(MODELS)], seed):
            d = st.digest()
            states.setdefault(d, st)
            uses.setdefault(d, []).append((k, st.model))
        t_states = time.monotonic()

        # One ternd per distinct state, two at a time.
        outcomes = {}
        order = sorted(states, key=lambda d: uses[d][0])
        with concurrent.futures.ThreadPoolExecutor(
                env_int("TERN_POWERLOSS_JOBS", 3)) as ex:
            futs = {}
            for i, d in enumerate(order):
                expect = set()
                for k, _model in uses[d]:
                    expect |= {(m.token, u) for m in cut_info[k].acked
                               for u in m.rcpts}
                futs[ex.submit(self.run_state, rec, states[d], i,
                               expect)] = d
            for f in concurrent.futures.as_completed(futs):
                outcomes[futs[f]] = f.result()
        t_runs = time.monotonic()
        phases = {}
        for o in outcomes.values():
            for k, v in o.phases.items():
                phases[k] = phases.get(k, 0) + v

        if ternlib.KEEP:
            # What ran where, for fsreplay.py and a look at the files.
            fsreplay.save_snapshot(snap, os.path.join(rec.dir,
                                                      "snapshot.json"))
            with open(os.path.join(rec.dir, "states.txt"), "w") as f:
                for i, d in enumerate(order):
                    f.write("state-%d %s %s\n" % (i, outcomes[d].dir, " ".join(
                        "%d/%s" % u for u in uses[d])))
        report = Report(records, msgs, rec)
        for d, use in uses.items():
            for k, model in use:
                report.check(cut_info[k], model, states[d], outcomes[d])
        summary = report.summary(
            len(cuts), sum(len(u) for u in uses.values()), len(states),
            "recording %.0f s, states %.0f s, %d runs %.0f s (mean s: %s; "
            "%d waited for a retry)" % (
                t_recorded - t_start, t_states - t_recorded, len(states),
                t_runs - t_states, ", ".join(
                    "%s %.2f" % (k, v / len(outcomes))
                    for k, v in phases.items()),
                sum(o.extended for o in outcomes.values())), note)
        print("(%s) " % summary, end="", file=sys.stderr, flush=True)
        self.assertGreaterEqual(len(cuts), ncuts, note)
        if report.failed():
            self.fail(summary + "\n" + report.details())


class Report:
    """Violations of the contract over every (cut point, model), grouped
    by what the crash state held, so that each defect shows as a group."""

    EXAMPLES = 3

    def __init__(self, records, msgs, rec):
        self.records = records
        self.msgs = msgs
        self.rec = rec
        self.acked_checked = 0
        self.kinds = ("lost", "duplicated", "refused-but-delivered",
                      "not whole", "ternd")
        self.groups = {k: {} for k in self.kinds}  # group -> [texts]
        self.count = {k: 0 for k in self.kinds}
        self.keys = {k: set() for k in self.kinds}

    def where(self, k):
        if k < 0:
            return "before the first record"
        return "right after record " + self.records[k].describe().replace(
            self.rec.dir, "DIR")

    def in_state(self, state, msg, user):
        """What the crash state itself held for msg and user: (group,
        text)."""
        mail = state.files(self.rec.mail)
        have = sum(1 for rel, c in mail.items()
                   if rel.split(os.sep)[0] == user and
                   rel.split(os.sep)[1:2] in (["new"], ["cur"]) and
                   msg.token.encode() in c)
        dirs = {e.rel for e in state.roots[self.rec.mail] if e.kind == "d"}
        sfiles = state.files(self.rec.spool)
        spool = any(msg.token.encode() in c for c in sfiles.values())
        parts = [sub for sub in ("new", "cur", "tmp")
                 if os.path.join(user, sub) not in dirs]
        if user not in dirs:
            shape = "absent"
        elif parts:
            shape = "without %s" % "/, ".join(parts) + "/"
        else:
            shape = "present"
        group = "Maildir %s, %s in it, text %s the spool%s" % (
            shape, "a copy" if have else "no copy",
            "in" if spool else "not in",
            "" if sfiles else " (which holds no file at all)")
        return group, "in the crash state: %s" % group

    def add(self, kind, key, group, text):
        self.count[kind] += 1
        self.keys[kind].add(key)
        self.groups[kind].setdefault(group, []).append(text)

    def check(self, cut, model, state, out):
        k = cut.k
        head = "cut %d (%s), model %s" % (k, self.where(k), model)
        for p in out.problems:
            self.add("ternd", p, "ternd", "%s: ternd on this state: %s" %
                     (head, p))
        for b in out.bad:
            self.add("not whole", b, "not whole", "%s: %s" % (head, b))
        for m in cut.acked:
            for u in m.rcpts:
                self.acked_checked += 1
                if out.copies.get((m.token, u), 0):
                    continue
                group, why = self.in_state(state, m, u)
                self.add("lost", (m.token, u), group, "%s: %s for %s (250 "
                         "before the cut) lost: expected 1 copy in Maildir "
                         "%s after the restart, found 0; %s" % (
                             head, m.token, u, u, why))
        refused = {m.token for m in cut.refused}
        for (tok, u), n in sorted(out.copies.items()):
            if n > 1:
                group, why = self.in_state(state, self.msgs[tok], u)
                self.add("duplicated", (tok, u), group, "%s: %s for %s "
                         "delivered %d times, expected once; %s" % (
                             head, tok, u, n, why))
            if tok in refused:
                self.add("refused-but-delivered", (tok, u), "refused",
                         "%s: %s refused with %s before the cut, yet "
                         "delivered to %s" % (head, tok,
                                              self.msgs[tok].code, u))

    def failed(self):
        return any(self.count.values())

    def summary(self, ncuts, nchecked, nruns, timing, note):
        distinct = sum(1 for m in self.msgs.values() if m.code == 250)
        return ("power loss: %d cut points, %d states checked (%d distinct "
                "ternd runs), %d messages acknowledged in the run, %d "
                "acknowledged deliveries checked; violations: %d lost, %d "
                "duplicated, %d refused-but-delivered, %d not whole, %d "
                "ternd failures (distinct message-recipients: %d lost, %d "
                "duplicated); %s %s" % (
                    ncuts, nchecked, nruns, distinct, self.acked_checked,
                    self.count["lost"], self.count["duplicated"],
                    self.count["refused-but-delivered"],
                    self.count["not whole"], self.count["ternd"],
                    len(self.keys["lost"]), len(self.keys["duplicated"]),
                    timing, note))

    def details(self):
        out = []
        for kind in self.kinds:
            if not self.count[kind]:
                continue
            out.append("---- %s: %d" % (kind, self.count[kind]))
            for group, texts in sorted(self.groups[kind].items(),
                                       key=lambda g: -len(g[1])):
                out.append("  [%s]: %d, for example:" % (group, len(texts)))
                # The first, and the last (latest cut) of the group.
                picks = texts[:self.EXAMPLES - 1] + texts[-1:] if len(
                    texts) >= self.EXAMPLES else texts
                out += ["    " + t for t in picks]
        return "\n".join(out)


# -------------------------------------------------------------- faults

class Faulty(TerndTestCase):
    """ternd under fsshim's fault rules."""

    def setUp(self):
        super().setUp()
        if shim_path() is None:
            self.skipTest("no fsshim library beside %s (build with tests "
                          "enabled, or set FSSHIM_LIB)" % ternlib.TERND)
        self.t = self.start_ternd(CONF, start=False)
        self.faults = fsfaults.Faults(os.path.join(self.t.dir, "faults"))
        self.t.env = {"LD_PRELOAD": shim_path()}
        self.t.env.update(self.faults.env())
        self.t.start()
        self.rnd = random.Random(0)
        self.msgs = {}
        self.n = 0
        # Every process is up and has made its directories before a rule
        # is set: a fault is for the path a test aims at.
        self.accepted(["u3"], "a first message")

    def send(self, rcpts, bdat=False):
        """One message in its own session; the reply that ended it is in
        the Msg (a refusal at MAIL, RCPT or DATA too; code None: no reply
        came)."""
        self.n += 1
        token = "pl-f%d-%d" % (self.n, self.rnd.randint(0, 10 ** 9))
        msg = Msg(self.n, token, rcpts, bdat, make_body(token, self.rnd))
        self.msgs[token] = msg
        c = self.connect(self.t)
        try:
            self.ehlo(c)
            steps = ["MAIL FROM:<sender@example.org>"] + [
                "RCPT TO:<%s@localhost>" % u for u in rcpts]
            if not bdat:
                steps.append("DATA")
            for line in steps:
                r = c.cmd(line)
                if r.code not in (250, 354):
                    msg.code, msg.reply = r.code, "%s: %s" % (line, r.text)
                    return msg
            if bdat:
                c.send(b"BDAT %d LAST\r\n" % len(msg.body) + msg.body)
            else:
                c.send(msg.body + b".\r\n")
            r = c.reply(timeout=30)
            msg.code, msg.reply = r.code, r.text
        except (ClosedError, socket.timeout, OSError) as e:
            msg.reply = "no reply: %s" % e
        finally:
            c.close()
        return msg

    def accepted(self, rcpts, what, timeout=15):
        """A message that gets 250, trying again while ternd refuses for
        a time (after a fault it may restart a process); the refused
        tries must never be delivered either."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.send(rcpts)
            if msg.code == 250:
                return msg
            if time.monotonic() > deadline:
                self.fail("%s: expected 250 within %.0f s, last got %s %s"
                          % (what, timeout, msg.code, msg.reply))
            time.sleep(0.2)

    def copies(self):
        return tally(read_maildirs(self.t.mail), self.t.mail, self.msgs)

    def wait_delivered(self, msgs, timeout=20):
        want = {(m.token, u) for m in msgs for u in m.rcpts}
        deadline = time.monotonic() + timeout
        while True:
            copies, bad = self.copies()
            if want <= set(copies) or time.monotonic() > deadline:
                return copies, bad
            time.sleep(0.05)

    def verdict(self, what, fired):
        """After a restart and a while: accepted messages exactly once,
        refused ones nowhere."""
        self.faults.clear()
        self.t.restart()
        accepted = [m for m in self.msgs.values() if m.code == 250]
        copies, bad = self.wait_delivered(accepted)
        self.t.settle(1.0)
        copies, bad = self.copies()
        problems = list(bad)
        for m in self.msgs.values():
            for u in m.rcpts:
                n = copies.get((m.token, u), 0)
                if m.code == 250 and n != 1:
                    problems.append("%s for %s: got 250, delivered %d "
                                    "times (expected once)" % (
                                        m.token, u, n))
                if m.code is None and n > 1:
                    problems.append("%s for %s: no reply, delivered %d "
                                    "times (expected once at most)" % (
                                        m.token, u, n))
                if m.code is not None and m.code != 250 and n:
                    problems.append("%s for %s: refused (%s %s), yet "
                                    "delivered %d time(s) (expected never)"
                                    % (m.token, u, m.code, m.reply, n))
        replies = ", ".join("%s:%s" % (m.token, m.code)
                            for m in self.msgs.values())
        print("(%s: fault fired %d times; replies %s) " % (
            what, fired, replies), end="", file=sys.stderr, flush=True)
        self.assertEqual(problems, [], "%s (the fault fired %d times; "
                         "replies: %s)" % (what, fired, replies))

    def refused_once(self, rule, what):
        """The first commit meets the fault: 451, never delivered."""
        self.faults.set([rule])
        bad = self.send(["u0", "u1"])
        fired = self.faults.fired(0)
        self.assertGreater(fired, 0, "the fault never fired: %s" % rule)
        self.assertIn(bad.code, (451, 452), "%s: expected 451 (or 452), "
                      "got %s %s" % (what, bad.code, bad.reply))
        self.faults.clear()
        self.accepted(["u0"], "after the fault")
        self.verdict(what, fired)

    def test_commit_fdatasync_eio(self):
        """The data sync of a commit fails: 451, never delivered."""
        self.refused_once("op=fdatasync,fsync type=file path=%s/* "
                          "errno=EIO times=1" % self.t.spool,
                          "fdatasync EIO on the commit path")

    def test_commit_directory_fsync_eio(self):
        """The sync of the directory that names a committed message
        fails: refused with 451, the message must never be delivered."""
        self.refused_once("op=fsync type=dir path=%s* errno=EIO times=1" %
                          self.t.spool, "directory fsync EIO on the commit "
                          "path")

    def test_commit_write_enospc(self):
        """A full disk while messages are written: 452 4.3.1 or 451 (or
        250), and never a message lost or delivered after a refusal."""
        self.faults.set(["op=write,fallocate path=%s/* errno=ENOSPC" %
                         self.t.spool])
        for i in range(3):
            self.send(["u%d" % i], bdat=i == 1)
        fired = self.faults.fired(0)
        self.assertGreater(fired, 0, "no write failed")
        for m in self.msgs.values():
            self.assertIn(m.code, (250, 451, 452),
                          "%s: expected 452 4.3.1 or 451 (or 250), got %s "
                          "%s" % (m.token, m.code, m.reply))
        self.faults.clear()
        self.accepted(["u3"], "after the fault")
        self.verdict("write ENOSPC on the commit path", fired)

    def maildir_fault(self, rule, what, linked_first=False):
        """A Maildir that cannot be written: the recipient is deferred,
        not bounced, and delivered (once) when the fault is gone.  When
        the failing call comes after the link into new/ (linked_first), a
        copy is there already; it must be the only one in the end."""
        self.faults.set([rule])
        msg = self.accepted(["n1", "u2"], what)
        self.t.settle(1.5)  # retries meet the fault too
        fired = self.faults.fired(0)
        self.assertGreater(fired, 0, "the fault never fired: %s" % rule)
        copies, _ = self.copies()
        if not linked_first:
            self.assertEqual(copies.get((msg.token, "n1"), 0), 0,
                             "%s: a copy in new/ while the fault lasts" %
                             what)
        self.faults.clear()
        copies, _ = self.wait_delivered([msg])
        self.assertEqual(copies.get((msg.token, "n1"), 0), 1,
                         "%s: expected the deferred recipient delivered "
                         "once the fault was cleared" % what)
        self.verdict(what, fired)

    def test_maildir_write_enospc(self):
        self.maildir_fault("op=write path=%s/n1/* errno=ENOSPC" %
                           self.t.mail, "write ENOSPC in a Maildir")

    def test_maildir_fdatasync_eio(self):
        self.maildir_fault("op=fdatasync path=%s/n1/* errno=EIO" %
                           self.t.mail, "fdatasync EIO in a Maildir")

    def test_maildir_new_fsync_eio(self):
        """A copy is linked into new/ before new/ is synced: the failed
        sync and the retry after it must leave one copy, not two."""
        self.maildir_fault("op=fsync type=dir path=%s/n1/new errno=EIO" %
                           self.t.mail, "fsync EIO of a Maildir's new/",
                           linked_first=True)

    def fallback(self, rule, what):
        self.faults.set([rule])
        for i in range(3):
            self.send(["u%d" % i, "n%d" % i], bdat=i == 2)
        fired = self.faults.fired(0)
        for m in self.msgs.values():
            self.assertEqual(m.code, 250, "%s: expected 250 through a "
                             "fallback, got %s %s (the fault fired %d "
                             "times)" % (what, m.code, m.reply, fired))
        copies, bad = self.wait_delivered(self.msgs.values())
        self.verdict(what, fired)

    def test_renameat2_noreplace_unsupported(self):
        """A file system without renameat2 flags (EINVAL) still takes
        mail."""
        self.fallback("op=rename flags=noreplace errno=EINVAL",
                      "renameat2 RENAME_NOREPLACE unsupported (EINVAL)")

    def test_tmpfile_unsupported(self):
        """A file system without O_TMPFILE (EOPNOTSUPP) still takes
        mail."""
        self.fallback("op=open flags=tmpfile errno=EOPNOTSUPP",
                      "O_TMPFILE unsupported (EOPNOTSUPP)")


if __name__ == "__main__":
    unittest.main()
