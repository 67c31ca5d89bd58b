#!/usr/bin/env python3
"""Self-tests of fsshim (recording, faults) and fsreplay (crash states).

    python3 test_fsshim.py --shim libfsshim.so --demo fsdemo \\
        [--demo32 fsdemo32] [unittest arguments]

fsdemo stores messages in known-correct and known-wrong ways; the crash
states of its traces must show no loss for the correct ones and the
expected loss (or duplicate) for each wrong one.  Run by meson test.
"""

import argparse
import fnmatch
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fsfaults  # noqa: E402
import fsreplay  # noqa: E402

SHIM = DEMO = DEMO32 = None
KEEP = bool(os.environ.get("TERN_KEEP"))
REPEAT = 150  # as fsdemo.c


def content(name):
    return ("token:%s\n" % name).encode() * REPEAT


def demo_env(roots=(), trace=None, faults=None):
    env = dict(os.environ)
    env["LD_PRELOAD"] = SHIM
    env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    if roots:
        env["FSSHIM_ROOTS"] = ":".join(roots)
    if trace:
        env["FSSHIM_TRACE"] = trace
    if faults:
        env["FSSHIM_FAULTS"] = faults
    return env


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


class Run:
    """fsdemo's output: places and acknowledgments."""

    def __init__(self, out):
        self.places = []
        self.acks = []  # (name, CLOCK_MONOTONIC ns)
        for line in out.splitlines():
            w = line.split()
            if w and w[0] == "place":
                self.places += w[1:]
            elif w and w[0] == "ack":
                self.acks.append((w[1], int(w[2])))


class ShimCase(unittest.TestCase):
    maxDiff = 6000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fsshim-test-")
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.root)
        self.trace = os.path.join(self.tmp, "trace")

    def tearDown(self):
        if KEEP:
            print("(kept %s)" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run_demo(self, scenario, *extra, demo=None, stdin=None, env=None):
        snap = fsreplay.snapshot([self.root])
        if os.path.exists(self.trace):
            os.unlink(self.trace)
        e = demo_env([self.root], self.trace)
        e.update(env or {})
        p = subprocess.run(
            [demo or DEMO, self.root, scenario] + list(extra),
            env=e, input=stdin,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, "fsdemo %s exited with %d, "
                         "expected 0; stderr:\n%s" % (
                             scenario, p.returncode, p.stderr.decode()))
        self.assertEqual(p.stderr.decode(), "", "fsdemo %s said something "
                         "on stderr" % scenario)
        return snap, fsreplay.read_trace(self.trace), Run(p.stdout.decode())

    def assert_state_is_disk(self, state, root):
        """The 'all' state must be the directory as the run left it."""
        real = fsreplay.snapshot([root])[root]
        want = {}
        first = {}
        for rel, dev, ino, mode, uid, gid, c in real:
            link = first.get((dev, ino)) if c is not None else None
            first.setdefault((dev, ino), rel)
            want[rel] = (oct(mode & 0o7777), uid, gid,
                         "d" if c is None else None if link else c, link)
        got = {}
        for e in state.roots[root]:
            got[e.rel] = (oct(e.mode & 0o7777), e.uid, e.gid,
                          "d" if e.kind == "d" else
                          None if e.link else e.content, e.link)
        self.assertEqual(sorted(got), sorted(want),
                         "names in the replayed state vs on disk")
        for rel in want:
            self.assertEqual(got[rel], want[rel], "replayed %r differs "
                             "from the file on disk" % rel)


# ------------------------------------------------------------ recording

class RecordTest(ShimCase):

    def test_header_and_python_agree(self):
        with open(os.path.join(HERE, "fsshim.h")) as f:
            h = f.read()
        for name, value in fsreplay.OPS.items():
            self.assertRegex(h, r"FSSHIM_OP_%s = %d," % (name, value))
        for name, value in fsreplay.TAGS.items():
            self.assertRegex(h, r"FSSHIM_T_%s = %d\b" % (name, value))
        self.assertIn("FSSHIM_MAGIC 0x%xu" % fsreplay.MAGIC, h)
        self.assertIn("FSSHIM_MAX_RULES %d" % fsfaults.MAX_RULES, h)
        with open(os.path.join(HERE, "fsshim.c")) as f:
            c = f.read()
        for op in fsfaults.OPS:
            self.assertIn('= "%s"' % op, c)

    def check_every_call(self, demo):
        snap, recs, _ = self.run_demo("every-call", demo=demo)
        funcs = {r.func for r in recs}
        m = fsreplay.Model(snap)
        m.replay(recs, len(recs) - 1)
        self.assertEqual(m.warnings, [], "the model disagrees with the "
                         "trace")
        self.assert_state_is_disk(m.state("all"), self.root)
        return funcs, recs

    def test_every_wrapped_call_is_recorded_and_replays_exactly(self):
        funcs, recs = self.check_every_call(DEMO)
        if DEMO32:
            funcs32, _ = self.check_every_call_fresh(DEMO32)
            funcs |= funcs32
        want = {"open", "openat", "creat", "write", "pwrite", "writev",
                "pwritev", "pwritev2", "ftruncate", "fallocate",
                "posix_fallocate", "copy_file_range", "fsync", "fdatasync",
                "sync_file_range", "syncfs", "sync", "link", "linkat",
                "rename", "renameat", "renameat2", "unlink", "unlinkat",
                "rmdir", "remove", "mkdir", "mkdirat", "close", "symlink",
                "chmod", "fchmod"}
        # Each function under its own name or its 64-bit twin's.
        missing = sorted(f for f in want if f not in funcs and
                         f + "64" not in funcs and
                         f.replace("v2", "v64v2") not in funcs)
        self.assertEqual(missing, [], "functions not seen in the trace "
                         "(seen: %s)" % sorted(funcs))
        # The ways an O_TMPFILE gets a name.
        links = [r for r in recs if r.op == fsreplay.O.LINK]
        self.assertTrue(any(r.path2 and r.path2.startswith("/proc/self/fd/")
                            and r.flags & 0x400 for r in links),
                        "no linkat of /proc/self/fd/N, AT_SYMLINK_FOLLOW")
        self.assertTrue(any(r.flags & 0x1000 for r in links),
                        "no linkat AT_EMPTY_PATH")
        tmpfiles = [r for r in recs if r.op == fsreplay.O.TMPFILE]
        self.assertEqual(len(tmpfiles), 2, "O_TMPFILE opens recorded")
        renames = [r for r in recs if r.op == fsreplay.O.RENAME]
        self.assertTrue(any(r.err == 17 and r.flags == 1 for r in renames),
                        "the refused RENAME_NOREPLACE (EEXIST) is recorded")
        # Data: every write has its bytes or is known to be zeros.
        for r in recs:
            if r.op == fsreplay.O.WRITE and not r.err:
                self.assertTrue(r.data is not None or r.zero, r.describe())
                self.assertEqual(len(r.data or b"") or r.length, r.length)
        # Times are CLOCK_MONOTONIC: comparable with ours.
        now = time.monotonic_ns()
        self.assertTrue(all(now - 60e9 < r.ts <= now for r in recs),
                        "record times are not CLOCK_MONOTONIC")

    def check_every_call_fresh(self, demo):
        shutil.rmtree(self.root)
        os.mkdir(self.root)
        return self.check_every_call(demo)

    def test_threads_and_processes_share_one_order(self):
        snap, recs, _ = self.run_demo("threads")
        self.assertGreaterEqual(len({r.tid for r in recs}), 5,
                                "records of four threads and the main one")
        self.assertEqual(len({r.pid for r in recs}), 2,
                         "records of the parent and its child")
        m = fsreplay.Model(snap)
        m.replay(recs, len(recs) - 1)
        self.assertEqual(m.warnings, [])
        self.assert_state_is_disk(m.state("all"), self.root)
        # Every file was synced and the directory last: nothing is lost.
        files = m.state("durable").files(self.root)
        self.assertEqual(sorted(files), ["shared", "t0", "t1", "t2", "t3"])
        self.assertEqual(files["shared"], content("child") +
                         content("parent"))
        # The child's write is before the parent's fdatasync.
        child = [r for r in recs if r.op == fsreplay.O.WRITE and
                 r.pid != recs[0].pid]
        sync = [r for r in recs if r.op == fsreplay.O.FDATASYNC and
                r.path.endswith("/shared")]
        self.assertTrue(child and sync and
                        max(r.index for r in child) < sync[0].index)

    def test_names_seen_through_the_file_system_keep_their_order(self):
        """A thread that finds a directory another just made (EEXIST) and
        goes on into it: its records must not come before the other's."""
        for _ in range(3):
            shutil.rmtree(self.root)
            os.mkdir(self.root)
            snap, recs, _ = self.run_demo("race")
            m = fsreplay.Model(snap)
            m.replay(recs, len(recs) - 1)
            self.assertEqual(m.warnings[:5], [], "records out of order")
            self.assert_state_is_disk(m.state("all"), self.root)
            self.assertEqual(len([r for r in recs if r.op ==
                                  fsreplay.O.MKDIR and r.err == 17]),
                             2 * 40 * 5, "mkdir EEXIST recorded")

    @unittest.skipUnless(os.geteuid() == 0, "chroot needs root")
    def test_a_chrooted_unprivileged_process_is_recorded(self):
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        # LeakSanitizer cannot work in a chroot (no /proc).
        snap, recs, _ = self.run_demo("chroot", empty, env={
            "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=0"})
        writes = [r for r in recs if r.op == fsreplay.O.WRITE]
        self.assertTrue(writes, "no write recorded after chroot")
        want = os.path.join(self.root, "jailed")
        self.assertEqual({r.path for r in writes}, {want},
                         "the file written from the chroot, by its path")
        m = fsreplay.Model(snap)
        m.replay(recs, len(recs) - 1)
        self.assertEqual(m.warnings, [])
        self.assert_state_is_disk(m.state("all"), self.root)

    def test_nothing_outside_the_roots(self):
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        p = subprocess.run([DEMO, other, "good-maildir"],
                           env=demo_env([self.root], self.trace),
                           stdout=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0)
        recs = fsreplay.read_trace(self.trace) if os.path.exists(
            self.trace) else []
        self.assertEqual([r.describe() for r in recs], [])


# ----------------------------------------------------------- crash states

def check_contract(recs, snap, root, run, models, subsets, seed=1):
    """Every crash state at every cut: a message acknowledged before the
    cut is in its place exactly once and whole; none is anywhere twice.
    Returns (number of states, problems)."""
    clock = fsreplay.Clock(recs)
    problems = []
    n = 0
    cuts = range(-1, len(recs))
    names = list(models) + ["subset-%d" % i for i in range(subsets)]
    for k, st in fsreplay.crash_states(recs, snap, cuts, names, seed):
        n += 1
        copies = {}
        for rel, data in st.files(root).items():
            if not any(fnmatch.fnmatch(rel, p) for p in run.places):
                continue
            m = re.match(rb"token:([^\n]+)\n", data)
            if m is None or data != content(m.group(1).decode()):
                problems.append((k, st.model, "torn", rel, len(data)))
                continue
            copies.setdefault(m.group(1).decode(), []).append(rel)
        for name, t in run.acks:
            if clock.before_cut(k, t) and name not in copies:
                problems.append((k, st.model, "lost", name, 0))
        for name, where in copies.items():
            if len(where) > 1:
                problems.append((k, st.model, "duplicated", name,
                                 len(where)))
    return n, problems


class CrashTest(ShimCase):
    MODELS = fsreplay.MODELS
    SUBSETS = 3

    def contract(self, scenario):
        snap, recs, run = self.run_demo(scenario)
        self.assertEqual(len(run.acks), 3, "fsdemo acknowledged %d "
                         "messages" % len(run.acks))
        n, problems = check_contract(recs, snap, self.root, run,
                                     self.MODELS, self.SUBSETS)
        self.assertGreater(n, 20)
        return n, problems, recs

    def assert_sound(self, scenario):
        n, problems, recs = self.contract(scenario)
        self.assertEqual(problems, [], "%s: %d crash states, expected no "
                         "loss, torn file or duplicate" % (scenario, n))
        print("(%s: %d states, none lost) " % (scenario, n), end="",
              file=sys.stderr)

    def assert_caught(self, scenario, *expected):
        """expected: (kind, model) pairs that must be among the
        problems."""
        n, problems, recs = self.contract(scenario)
        kinds = {(p[2], p[1]) for p in problems}
        for kind, model in expected:
            self.assertIn((kind, model), kinds, "%s: expected a %s "
                          "message under the %s model among %d crash "
                          "states; found %s" % (scenario, kind, model, n,
                                                sorted(kinds)))
            first = min(p[0] for p in problems if p[2] == kind and
                        p[1] == model)
            print("(%s: %s under %s from cut %d, %s) " % (
                scenario, kind, model, first,
                recs[first].describe().replace(self.root, "DIR")),
                end="", file=sys.stderr)
        return problems

    def test_maildir_sequence_loses_nothing(self):
        self.assert_sound("good-maildir")

    def test_write_fsync_rename_fsync_dir_loses_nothing(self):
        self.assert_sound("good-rename")

    def test_tmpfile_linked_through_proc_loses_nothing(self):
        self.assert_sound("tmpfile-proc")

    def test_tmpfile_linked_with_empty_path_loses_nothing(self):
        self.assert_sound("tmpfile-empty-path")

    def test_rename_without_directory_sync_is_a_loss(self):
        problems = self.assert_caught("rename-nosync", ("lost", "durable"))
        # Only the unsynced directory can lose it: with its changes kept
        # (meta), the synced data is there.
        self.assertNotIn("meta", {p[1] for p in problems if
                                  p[2] == "lost"})

    def test_rename_of_unsynced_data_is_a_torn_file(self):
        self.assert_caught("nofsync-rename", ("torn", "durable"),
                           ("lost", "durable"), ("torn", "meta-size"))

    def test_tmpfile_link_without_directory_sync_is_a_loss(self):
        self.assert_caught("tmpfile-nodirsync", ("lost", "durable"))

    def test_new_directory_with_unsynced_parent_is_a_loss(self):
        self.assert_caught("mkdir-unsynced-parent", ("lost", "durable"))

    def test_maildir_with_unsynced_parent_is_a_loss(self):
        self.assert_caught("maildir-unsynced-parent", ("lost", "durable"))

    def test_rename_between_directories_syncing_one_duplicates(self):
        self.assert_caught("cross-rename", ("duplicated", "durable"))

    def test_models_differ_where_they_should(self):
        """meta keeps a link whose data was lost; meta-size keeps the
        size too; durable keeps neither; subset states are reproducible."""
        # Names synced, data not.
        snap, recs, run = self.run_demo("nofsync-rename")
        m = fsreplay.Model(snap)
        m.replay(recs, len(recs) - 1)
        self.assertEqual(m.warnings, [])
        empty = {"m0": b"", "m1": b"", "m2": b""}
        self.assertEqual(m.state("durable").files(self.root), empty)
        self.assertEqual(m.state("meta").files(self.root), empty)
        size = m.state("meta-size").files(self.root)
        self.assertEqual(size["m0"], bytes(len(content("m0"))))
        # Data synced, names not.
        shutil.rmtree(self.root)
        os.mkdir(self.root)
        snap, recs, run = self.run_demo("rename-nosync")
        m = fsreplay.Model(snap)
        m.replay(recs, len(recs) - 1)
        self.assertEqual(m.state("durable").files(self.root), {})
        self.assertEqual(m.state("meta").files(self.root),
                         {n: content(n) for n in ("m0", "m1", "m2")})
        self.assertEqual(m.state("all").files(self.root),
                         {n: content(n) for n in ("m0", "m1", "m2")})
        a = [m.state("subset-0", 7).digest() for _ in range(2)]
        self.assertEqual(a[0], a[1], "a subset state is reproducible")
        # Building a state: the files as the model says.
        out = os.path.join(self.tmp, "built")
        m.state("meta").materialize({self.root: out})
        with open(os.path.join(out, "m1"), "rb") as f:
            self.assertEqual(f.read(), content("m1"))

    def test_subsets_never_give_an_inode_a_second_name(self):
        """A subset that keeps a rename but not the creation of its
        source name leaves the rename out."""
        a, b = fsreplay.Node(1, "f"), fsreplay.Node(2, "f")
        ops = [("set", "x", a), ("mv", "x", "y", a, None),
               ("mv", "y", "z", a, None)]
        self.assertEqual(fsreplay.apply_entries({}, ops[1:]), {})
        self.assertEqual(fsreplay.apply_entries({}, ops[:1] + ops[2:]),
                         {"x": a})
        self.assertEqual(fsreplay.apply_entries({}, ops), {"z": a})
        # Over another inode of the same name: not this inode's rename.
        self.assertEqual(fsreplay.apply_entries({"x": b}, ops[1:]),
                         {"x": b})
        # An exchange needs both names.
        ex = [("mv", "x", "y", a, b)]
        self.assertEqual(fsreplay.apply_entries({"x": a}, ex), {"x": a})
        self.assertEqual(fsreplay.apply_entries({"x": a, "y": b}, ex),
                         {"x": b, "y": a})

    def test_a_cut_counts_acknowledgments_made_before_it(self):
        snap, recs, run = self.run_demo("good-maildir")
        clock = fsreplay.Clock(recs)
        for name, t in run.acks:
            after = [k for k in range(-1, len(recs))
                     if clock.before_cut(k, t)]
            # Acknowledged after fsync(new/): the first cut that counts
            # it is at or after that fsync.
            syncs = [r.index for r in recs if r.op == fsreplay.O.FSYNC and
                     r.path.endswith("/new") and r.ts < t]
            self.assertTrue(syncs and after and after[0] >= syncs[-1],
                            "%s acknowledged at %d counted from cut %s, "
                            "its fsync at %s" % (name, t, after[:1],
                                                 syncs[-1:]))

    def test_cut_choice(self):
        snap, recs, run = self.run_demo("good-maildir")
        cuts = fsreplay.choose_cuts(recs, 6, 2, seed=3)
        self.assertEqual(cuts, fsreplay.choose_cuts(recs, 6, 2, seed=3))
        self.assertEqual(len(cuts), 8)
        around = set()
        for i in fsreplay.interesting(recs):
            around |= {i - 1, i}
        self.assertGreaterEqual(len(set(cuts) & around), 6)


# ---------------------------------------------------------------- faults

class Demo:
    """fsdemo faults: one command in, one line out."""

    def __init__(self, root, faults, trace=None, roots=()):
        self.p = subprocess.Popen(
            [DEMO, root, "faults"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=demo_env(roots, trace, faults))

    def do(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], 20)
        if not ready:
            raise AssertionError("fsdemo did not answer %r" % line)
        return self.p.stdout.readline().decode().strip()

    def close(self):
        self.p.stdin.close()
        err = self.p.stderr.read().decode()
        self.p.wait(20)
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode, err


class FaultTest(ShimCase):

    def setUp(self):
        super().setUp()
        self.faults = fsfaults.Faults(os.path.join(self.tmp, "faults"))
        self.demos = []

    def tearDown(self):
        for d in self.demos:
            if d.p.poll() is None:
                d.p.kill()
                d.p.wait()
            for f in (d.p.stdin, d.p.stdout, d.p.stderr):
                if not f.closed:
                    f.close()
        super().tearDown()

    def demo(self, **kw):
        d = Demo(self.root, self.faults.path, **kw)
        self.demos.append(d)
        return d

    def expect(self, d, lines):
        got = [(cmd, d.do(cmd)) for cmd, _ in lines]
        self.assertEqual(got, lines)

    def test_count_after_and_times(self):
        d = self.demo()
        self.faults.set(["op=fdatasync errno=EIO after=1 times=2"])
        self.expect(d, [("fdatasync f", "ok"), ("fdatasync f", "err EIO"),
                        ("fdatasync f", "err EIO"), ("fdatasync f", "ok")])
        self.assertEqual((self.faults.calls(0), self.faults.fired(0)),
                         (4, 2))

    def test_rules_change_under_a_running_process(self):
        d = self.demo()
        self.expect(d, [("write f", "ok")])
        self.faults.set(["op=write errno=ENOSPC"])
        self.expect(d, [("write f", "err ENOSPC"),
                        ("write f", "err ENOSPC")])
        self.faults.clear()
        self.expect(d, [("write f", "ok")])
        # Half a file (no end line yet) changes nothing.
        with open(self.faults.path, "a") as f:
            f.write("gen 99\nop=write errno=EIO\n")
        os.utime(self.faults.path, ns=(time.time_ns(),) * 2)
        self.expect(d, [("write f", "ok")])
        self.faults.set(["op=fallocate errno=ENOSPC"])
        self.expect(d, [("fallocate f", "err ENOSPC"), ("write f", "ok")])

    def test_filters(self):
        os.mkdir(os.path.join(self.root, "queue"))
        os.mkdir(os.path.join(self.root, "other"))
        d = self.demo()
        self.faults.set(["op=fsync type=dir path=*/queue errno=EIO",
                         "op=fdatasync comm=nobody errno=EIO"])
        self.expect(d, [("fsync-dir queue", "err EIO"),
                        ("fsync-dir other", "ok"),
                        ("fdatasync queue-file", "ok")])
        self.assertEqual(self.faults.fired(1), 0)
        self.assertEqual(self.faults.calls(1), 0)
        self.faults.set(["op=fdatasync comm=fsdemo errno=EIO"])
        self.expect(d, [("fdatasync f", "err EIO")])

    def test_fallback_faults(self):
        """renameat2 flags and O_TMPFILE unsupported; the plain forms
        still work."""
        d = self.demo()
        self.faults.set(["op=rename flags=noreplace errno=EINVAL",
                         "op=open flags=tmpfile errno=EOPNOTSUPP"])
        self.expect(d, [("write a", "ok"),
                        ("renameat2-noreplace a b", "err EINVAL"),
                        ("rename a b", "ok"),
                        ("tmpfile .", "err EOPNOTSUPP"),
                        ("write c", "ok")])
        self.assertTrue(os.path.exists(os.path.join(self.root, "b")))

    def test_close_fails_but_closes(self):
        d = self.demo()
        self.faults.set(["op=close errno=EIO times=1"])
        self.expect(d, [("close f", "err EIO"), ("close f", "ok")])
        rc, err = d.close()
        self.assertEqual((rc, err), (0, ""))

    def test_bad_rule_disables_every_rule_and_says_so(self):
        d = self.demo()
        # Written by hand: Faults.set refuses it.
        with self.assertRaises(fsfaults.RuleError):
            self.faults.set(["op=fdatasync colour=red"])
        with open(self.faults.path, "w") as f:
            f.write("op=fdatasync errno=EIO\nop=fdatasync colour=red\nend\n")
        os.utime(self.faults.path, ns=(time.time_ns(),) * 2)
        self.expect(d, [("fdatasync f", "ok")])
        rc, err = d.close()
        self.assertIn("bad fault rule at line 2", err)

    def test_counters_are_shared_by_processes(self):
        a, b = self.demo(), self.demo()
        self.faults.set(["op=fdatasync errno=EIO after=1 times=1"])
        self.expect(a, [("fdatasync f", "ok")])
        self.expect(b, [("fdatasync f", "err EIO")])
        self.expect(a, [("fdatasync f", "ok")])
        self.assertEqual(self.faults.fired(0), 1)

    def test_injected_failures_are_recorded(self):
        d = self.demo(trace=self.trace, roots=[self.root])
        self.faults.set(["op=fdatasync errno=EIO times=1"])
        self.expect(d, [("fdatasync f", "err EIO"), ("fdatasync f", "ok")])
        d.close()
        syncs = [r for r in fsreplay.read_trace(self.trace)
                 if r.op == fsreplay.O.FDATASYNC]
        self.assertEqual([(r.err, r.fault) for r in syncs],
                         [(5, 0), (0, None)])


def main():
    global SHIM, DEMO, DEMO32
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True)
    ap.add_argument("--demo", required=True)
    ap.add_argument("--demo32")
    args, rest = ap.parse_known_args()
    SHIM = os.path.abspath(args.shim)
    DEMO = os.path.abspath(args.demo)
    DEMO32 = os.path.abspath(args.demo32) if args.demo32 else None
    print("fsshim self-tests: demo %s sanitizer runtime" % (
        "with a" if sanitized(DEMO) else "without"), file=sys.stderr)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
