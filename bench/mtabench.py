#!/usr/bin/env python3
"""mtabench.py - measurement helper used by mta-bench.sh.

Subcommands (all print parseable lines "target workload metric value"):
  load      drive smtp-source against a server, wait for end-to-end delivery
            (Maildir file count, or an smtp-sink that exits after N messages),
            sample CPU (cgroup cpuacct or /proc tree) and peak RSS/PSS.
  idle      open N SMTP connections, read the 220 greeting, send EHLO, hold,
            then report how many were served and the server's memory.
  strace    summarise an `strace -f -ttt -y` log: sync-family calls in total
            and inside each DATA window ("354" reply .. next "250" reply).
  median    median per (target, workload, metric) over raw result files.
  table     markdown tables from result files.
  compare   text report of two targets side by side, with ratios and goals.
  mem       one-shot memory/process figures for a cgroup or pid tree.

Only loopback addresses are accepted as targets.
"""
import argparse
import os
import re
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def out(target, workload, metric, value):
    if isinstance(value, float):
        value = "%.3f" % value if abs(value) < 100 else "%.1f" % value
    print("%s %s %s %s" % (target, workload, metric, value), flush=True)


def check_loopback(host):
    if host not in LOOPBACK:
        sys.exit("refusing non-loopback host %r" % host)


# ---------------------------------------------------------------- processes

def pids_in_cgroup(cg):
    try:
        with open(os.path.join(cg, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def pid_tree(root):
    """root and all its live descendants (by scanning /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    res, todo = [], [root]
    while todo:
        p = todo.pop()
        res.append(p)
        todo.extend(children.get(p, []))
    return res


def target_pids(args):
    if args.cgroup:
        return pids_in_cgroup(args.cgroup)
    if args.pid:
        return pid_tree(args.pid)
    return []


def mem_of(pids, pss=True):
    """(sum RSS KiB, sum PSS KiB, live process count); zombies skipped."""
    rss = pssv = n = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                st = f.read()
        except OSError:
            continue
        m = re.search(r"^VmRSS:\s+(\d+)", st, re.M)
        if not m:
            continue          # zombie / kernel thread
        n += 1
        rss += int(m.group(1))
        if pss:
            try:
                with open("/proc/%d/smaps_rollup" % p) as f:
                    m2 = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
                if m2:
                    pssv += int(m2.group(1))
            except OSError:
                pass
    return rss, pssv, n


CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(args):
    """(user, sys) seconds consumed so far by the target."""
    if args.cgroup:
        try:
            with open(os.path.join(args.cgroup, "cpuacct.usage")) as f:
                total = int(f.read()) / 1e9
            with open(os.path.join(args.cgroup, "cpuacct.stat")) as f:
                st = dict(l.split() for l in f.read().splitlines())
            u, s = int(st["user"]), int(st["system"])
            # split the precise total in the tick-based user/sys ratio
            if u + s == 0:
                return total, 0.0
            return total * u / (u + s), total * s / (u + s)
        except OSError:
            return None
    if args.pid:
        u = s = 0
        for p in pid_tree(args.pid):
            try:
                with open("/proc/%d/stat" % p) as f:
                    x = f.read()
            except OSError:
                continue
            fl = x[x.rfind(")") + 2:].split()
            # utime stime cutime cstime = fields 14..17 -> index 11..14 here
            u += int(fl[11]) + int(fl[13])
            s += int(fl[12]) + int(fl[14])
        return u / CLK, s / CLK
    return None


class Sampler(threading.Thread):
    def __init__(self, args, interval):
        super().__init__(daemon=True)
        self.args, self.interval = args, interval
        self.stop_ev = threading.Event()
        self.peak_rss = self.peak_pss = self.peak_procs = 0

    def run(self):
        while not self.stop_ev.is_set():
            rss, pss, n = mem_of(target_pids(self.args))
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, n)
            self.stop_ev.wait(self.interval)

    def stop(self):
        self.stop_ev.set()
        self.join(5)


def mem_available_mib():
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemAvailable:\s+(\d+)", f.read(), re.M)
        return int(m.group(1)) / 1024.0 if m else None
    except OSError:
        return None


def count_files(d):
    try:
        return sum(1 for _ in os.scandir(d))
    except OSError:
        return 0


# --------------------------------------------------------------------- load

def cmd_load(a):
    check_loopback(a.host)
    T, W = a.target, a.workload
    newdir = os.path.join(a.maildir, "new") if a.maildir else None
    base = count_files(newdir) if newdir else 0
    sink = None
    if a.sink_port:
        # relay mode: the MTA forwards to smtp-sink, which exits after N msgs
        sink = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-m", "4096", "-M", str(a.n),
             "127.0.0.1:%d" % a.sink_port, "1024"],
            stdout=subprocess.DEVNULL, stderr=open(a.sink_log, "w") if a.sink_log else subprocess.DEVNULL)
        time.sleep(0.3)
        if sink.poll() is not None:
            sys.exit("smtp-sink failed to start")
    cpu0 = cpu_seconds(a)
    samp = Sampler(a, a.sample_interval)
    samp.start()
    src = ["smtp-source", "-4", "-d", "-s", str(a.sessions), "-m", str(a.n),
           "-l", str(a.size), "-f", "bench@client.test", "-t", a.rcpt,
           "-M", "client.test", "%s:%d" % (a.host, a.port)]
    t0 = time.monotonic()
    try:
        r = subprocess.run(src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=a.timeout)
        rc, err = r.returncode, r.stderr.decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        rc, err = 124, "smtp-source timed out"
    t1 = time.monotonic()
    # wait for end-to-end delivery, bounded by timeout and by a stall limit
    delivered, last, last_change = 0, -1, time.monotonic()
    deadline = t0 + a.timeout
    while True:
        if sink is not None:
            done = sink.poll() is not None
            delivered = a.n if done and sink.returncode == 0 else 0
        else:
            delivered = count_files(newdir) - base
            done = delivered >= a.n
        now = time.monotonic()
        if done:
            break
        if delivered != last:
            last, last_change = delivered, now
        # the stall limit needs a progress signal, which only the Maildir count gives
        if now > deadline or (sink is None and now - last_change > a.stall):
            break
        time.sleep(0.05)
    t2 = time.monotonic()
    cpu1 = cpu_seconds(a)
    samp.stop()
    if sink is not None and sink.poll() is None:
        sink.terminate()
        try:
            sink.wait(5)
        except subprocess.TimeoutExpired:
            sink.kill()
    ok = delivered >= a.n
    out(T, W, "smtp_source_rc", rc)
    if rc != 0 and err:
        print("# %s %s smtp-source: %s" % (T, W, err.splitlines()[-1]), file=sys.stderr)
    out(T, W, "messages", a.n)
    out(T, W, "msg_bytes_payload", a.size)
    out(T, W, "sessions", a.sessions)
    if sink is None:
        out(T, W, "delivered", delivered)
    else:
        out(T, W, "relayed_ok", 1 if ok else 0)
    out(T, W, "accept_s", t1 - t0)
    out(T, W, "accept_msgs_per_s", a.n / (t1 - t0) if rc == 0 else "NA")
    out(T, W, "deliver_s", t2 - t0 if ok else "NA")
    out(T, W, "deliver_msgs_per_s", a.n / (t2 - t0) if ok else "NA")
    if a.size >= 65536 and rc == 0:
        out(T, W, "accept_mib_per_s", a.n * a.size / 1048576 / (t1 - t0))
    if cpu0 is not None and cpu1 is not None:
        u, s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        k = a.n / 1000.0
        out(T, W, "cpu_s_per_1k_msgs", (u + s) / k)
        out(T, W, "cpu_user_s_per_1k_msgs", u / k)
        out(T, W, "cpu_sys_s_per_1k_msgs", s / k)
        out(T, W, "cpu_s_total", u + s)
    else:
        out(T, W, "cpu_s_per_1k_msgs", "NA")
    if a.cgroup or a.pid:
        out(T, W, "peak_rss_mib", samp.peak_rss / 1024.0)
        out(T, W, "peak_pss_mib", samp.peak_pss / 1024.0)
        out(T, W, "peak_procs", samp.peak_procs)
    return 0 if ok and rc == 0 else 1


# --------------------------------------------------------------------- idle

def cmd_idle(a):
    check_loopback(a.host)
    T, W = a.target, a.workload
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, a.n + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    rss0, pss0, n0 = mem_of(target_pids(a))
    sel = selectors.DefaultSelector()
    st = {}          # sock -> [state, buffer]
    counts = dict(connected=0, greeted=0, ehlo_ok=0, rejected=0, closed=0, errors=0)
    t0 = time.monotonic()
    opened = finished = settled = 0
    last_progress = t0
    deadline = t0 + a.timeout
    t_all = None
    limit = a.n            # lowered to `opened` if memory runs short
    low_mem = False
    TERMINAL = ("idle", "rejected", "dead", "ehlo_fail")

    def enter(state, new):
        nonlocal finished
        nonlocal settled, last_progress
        if state[0] not in TERMINAL and new in TERMINAL:
            finished += 1
            if state[0] in ("connecting", "greeting"):
                settled += 1
            last_progress = time.monotonic()
        state[0] = new

    while time.monotonic() < deadline:
        # pace: at most a.batch connections waiting for their greeting, so the
        # server's listen backlog (5 for OpenSMTPD, 20 for Exim) is not what is measured
        while opened < limit and opened - settled - counts["errors"] < a.batch:
            # a prefork server uses ~1 MiB per connection: never drive the
            # machine out of memory, stop opening and report it instead
            if a.min_avail_mib and opened % 50 == 0:
                avail = mem_available_mib()
                if avail is not None and avail < a.min_avail_mib:
                    low_mem, limit = True, opened
                    print("# %s %s: MemAvailable %.0f MiB < %d MiB, stopped opening at %d"
                          % (T, W, avail, a.min_avail_mib, opened), file=sys.stderr)
                    break
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            opened += 1
            try:
                s.connect((a.host, a.port))
            except BlockingIOError:
                pass
            except OSError:
                counts["errors"] += 1
                finished += 1
                s.close()
                continue
            st[s] = ["connecting", b""]
            sel.register(s, selectors.EVENT_WRITE)
        if finished >= limit:
            if not low_mem:
                t_all = time.monotonic() - t0
            break
        if time.monotonic() - last_progress > a.stall:
            break
        for key, ev in sel.select(timeout=0.2):
            s = key.fileobj
            state = st[s]
            if state[0] == "connecting":
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e:
                    counts["errors"] += 1
                    sel.unregister(s)
                    s.close()
                    enter(state, "dead")
                    continue
                counts["connected"] += 1
                state[0] = "greeting"
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                counts["closed"] += 1
                sel.unregister(s)
                enter(state, "dead")
                continue
            state[1] += data
            lines = state[1].split(b"\r\n")
            final = [l for l in lines[:-1] if len(l) >= 4 and l[3:4] == b" "]
            if not final:
                continue
            code = final[-1][:3]
            state[1] = b""
            if state[0] == "greeting":
                settled += 1
                last_progress = time.monotonic()
                if code == b"220":
                    counts["greeted"] += 1
                    s.send(b"EHLO client.test\r\n")
                    state[0] = "ehlo"
                else:
                    counts["rejected"] += 1
                    enter(state, "rejected")
            elif state[0] == "ehlo":
                if code == b"250":
                    counts["ehlo_ok"] += 1
                    enter(state, "idle")
                else:
                    enter(state, "ehlo_fail")
    time.sleep(a.settle)
    # count how many are still open (server may have dropped some)
    still = 0
    for s, state in st.items():
        if state[0] == "idle":
            try:
                s.setblocking(False)
                d = s.recv(1, socket.MSG_PEEK)
                if d == b"":
                    continue
                still += 1
            except BlockingIOError:
                still += 1
            except OSError:
                pass
    rss1, pss1, n1 = mem_of(target_pids(a))
    out(T, W, "conns_requested", a.n)
    out(T, W, "tcp_connected", counts["connected"])
    out(T, W, "greeted_220", counts["greeted"])
    out(T, W, "ehlo_250", counts["ehlo_ok"])
    out(T, W, "rejected_greeting", counts["rejected"])
    out(T, W, "closed_by_server", counts["closed"])
    out(T, W, "connect_errors", counts["errors"])
    out(T, W, "still_open_after_settle", still)
    out(T, W, "time_to_all_s", t_all if t_all is not None else "NA")
    out(T, W, "pacing_max_awaiting_greeting", a.batch)
    out(T, W, "stopped_low_memory", 1 if low_mem else 0)
    if a.cgroup or a.pid:
        out(T, W, "rss_before_mib", rss0 / 1024.0)
        out(T, W, "pss_before_mib", pss0 / 1024.0)
        out(T, W, "procs_before", n0)
        out(T, W, "rss_total_mib", rss1 / 1024.0)
        out(T, W, "pss_total_mib", pss1 / 1024.0)
        out(T, W, "procs", n1)
        if counts["ehlo_ok"]:
            out(T, W, "pss_kib_per_conn", (pss1 - pss0) / counts["ehlo_ok"])
    for s in st:
        try:
            s.close()
        except OSError:
            pass
    return 0


# ------------------------------------------------------------------- strace

SYNC_RE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(fsync|fdatasync|sync_file_range|syncfs|sync|msync)\((.*)")
REPLY_RE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(write|writev|sendto|sendmsg)\(.*?\"(354|250)[ -]")
RESUMED_RE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+<\.\.\. (fsync|fdatasync|sync_file_range|syncfs|sync|msync) resumed>")


def classify_path(arg):
    m = re.match(r"\d+<([^>]*)>", arg)
    if not m:
        return "?"
    p = m.group(1)
    for key, lab in (("/Maildir/", "maildir"), ("/queue/", "queue"), ("/spool/", "queue"),
                     ("/varspool/", "queue"), ("/log/", "log"), ("/data/", "data")):
        if key in p:
            lab2 = lab
            if p.endswith("/") or re.search(r"/(tmp|new|cur|incoming|active|input|deferred|hold|queue)$", p):
                lab2 += "-dir"
            return lab2
    return "other"


def cmd_strace(a):
    T, W = a.target, a.workload
    syncs = []      # (t, pid, call, class)
    replies = []    # (t, pid, code)
    with open(a.log, errors="replace") as f:
        for line in f:
            m = SYNC_RE.match(line)
            if m:
                syncs.append((float(m.group(2)), int(m.group(1)), m.group(3), classify_path(m.group(4))))
                continue
            m = REPLY_RE.match(line)
            if m:
                replies.append((float(m.group(2)), int(m.group(1)), m.group(4)))
    n = a.n
    total = len(syncs)
    out(T, W, "messages", n)
    out(T, W, "sync_calls_total", total)
    out(T, W, "sync_calls_per_msg", total / n)
    bycall, bycls = {}, {}
    for _, _, c, k in syncs:
        bycall[c] = bycall.get(c, 0) + 1
        bycls[k] = bycls.get(k, 0) + 1
    for c in ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync", "msync"):
        out(T, W, "%s_per_msg" % c, bycall.get(c, 0) / n)
    for k in sorted(bycls):
        out(T, W, "sync_on_%s_per_msg" % k, bycls[k] / n)
    # DATA windows: a "354" reply, then the next "250" reply by the same pid
    windows = []
    open354 = {}
    for t, pid, code in sorted(replies):
        if code == "354":
            open354[pid] = t
        elif code == "250" and pid in open354:
            windows.append((open354.pop(pid), t))
    if windows:
        per = []
        for s, e in windows:
            per.append(sum(1 for t, _, _, _ in syncs if s <= t <= e))
        out(T, W, "data_windows", len(windows))
        out(T, W, "sync_before_250_per_msg_median", statistics.median(per))
        out(T, W, "sync_before_250_per_msg_min", min(per))
        out(T, W, "sync_before_250_per_msg_max", max(per))
    else:
        out(T, W, "data_windows", 0)
    return 0


# ------------------------------------------------------------------- median

def cmd_median(a):
    vals, order = {}, []
    for fn in a.files:
        with open(fn) as f:
            for line in f:
                p = line.split()
                if len(p) != 4 or line.startswith("#"):
                    continue
                k = tuple(p[:3])
                if k not in vals:
                    vals[k] = []
                    order.append(k)
                vals[k].append(p[3])
    for k in order:
        v = vals[k]
        try:
            nums = [float(x) for x in v if x != "NA"]
        except ValueError:
            print("%s %s %s %s" % (k + (v[-1],)))
            continue
        if not nums:
            print("%s %s %s NA" % k)
            continue
        med = statistics.median(nums)
        s = ("%d" % med) if med == int(med) else ("%.3f" % med if abs(med) < 100 else "%.1f" % med)
        extra = "" if not a.spread else "  # n=%d min=%s max=%s" % (len(nums), min(nums), max(nums))
        print("%s %s %s %s%s" % (k + (s, extra)))
    return 0


TABLE_METRICS = [
    "delivered", "relayed_ok", "accept_msgs_per_s", "deliver_msgs_per_s", "accept_mib_per_s",
    "cpu_s_per_1k_msgs", "cpu_user_s_per_1k_msgs", "cpu_sys_s_per_1k_msgs",
    "peak_rss_mib", "peak_pss_mib", "peak_procs",
    "greeted_220", "rejected_greeting", "still_open_after_settle", "time_to_all_s",
    "rss_total_mib", "pss_total_mib", "procs", "pss_kib_per_conn",
    "sync_calls_per_msg", "fsync_per_msg", "fdatasync_per_msg", "sync_file_range_per_msg",
    "sync_before_250_per_msg_median",
]


def cmd_table(a):
    """markdown table(s) from "target workload metric value" files"""
    vals, targets, workloads = {}, [], []
    for fn in a.files:
        with open(fn) as f:
            for line in f:
                p = line.split()
                if len(p) < 4 or line.startswith("#"):
                    continue
                t, w, m, v = p[:4]
                vals[(t, w, m)] = v
                if t not in targets:
                    targets.append(t)
                if w not in workloads:
                    workloads.append(w)
    for w in workloads:
        ms = [m for m in TABLE_METRICS if any((t, w, m) in vals for t in targets)]
        ms += sorted({m for (t, w2, m) in vals if w2 == w and m.startswith("sync_on_")})
        if not ms:
            continue
        print("\n**%s**\n" % w)
        print("| metric | " + " | ".join(targets) + " |")
        print("|---|" + "---:|" * len(targets))
        for m in ms:
            print("| %s | " % m + " | ".join(vals.get((t, w, m), "-") for t in targets) + " |")
    return 0


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _fmt(v, digits=None):
    x = _num(v)
    if x is None:
        return "-" if v is None else str(v)
    if digits is not None:
        return "%.*f" % (digits, x)
    if x == int(x):
        return "%d" % x
    return "%.3g" % x if abs(x) < 10 else ("%.1f" % x if abs(x) < 1000 else "%d" % round(x))


def _ratio(num, den):
    n, d = _num(num), _num(den)
    if n is None or d is None or d == 0:
        return None
    return n / d


def cmd_compare(a):
    """side-by-side text report of two targets, with ratios and goals"""
    vals = {}
    for fn in a.files:
        with open(fn) as f:
            for line in f:
                p = line.split()
                if len(p) < 4 or line.startswith("#"):
                    continue
                vals[tuple(p[:3])] = p[3]
    A, B, AN, BN = a.base, a.new, a.base_name or a.base, a.new_name or a.new

    def g(t, w, m):
        return vals.get((t, w, m))

    workloads = []
    for (t, w, m) in vals:
        if t in (A, B) and w not in workloads:
            workloads.append(w)
    verdicts = []
    W0 = 34
    hdr = "  %-*s %20s %20s %9s" % (W0, "", AN, BN, "ratio")

    def row(label, va, vb, ratio=None, note=""):
        r = "-" if ratio is None else "%.2fx" % ratio
        print("  %-*s %20s %20s %9s%s" % (W0, label, va, vb, r, ("  " + note) if note else ""))

    for w in workloads:
        idle = g(A, w, "conns_requested") is not None or g(B, w, "conns_requested") is not None
        if not idle:
            n = g(A, w, "messages") or g(B, w, "messages")
            size = g(A, w, "msg_bytes_payload") or g(B, w, "msg_bytes_payload")
            sess = g(A, w, "sessions") or g(B, w, "sessions")
            if n is None:
                continue
            print("\n%s: %s messages x %s bytes over %s sessions, durable acceptance + Maildir delivery"
                  % (w, n, size, sess))
            print(hdr)
            for t in (A, B):
                if g(t, w, "smtp_source_rc") not in (None, "0"):
                    print("  ! %s: smtp-source exit status %s" % (t, g(t, w, "smtp_source_rc")))
                d = g(t, w, "delivered")
                if d is not None and _num(d) is not None and _num(d) < _num(n):
                    print("  ! %s: only %s of %s delivered" % (t, d, n))
            row("delivered", _fmt(g(A, w, "delivered")), _fmt(g(B, w, "delivered")))
            rr = _ratio(g(B, w, "deliver_msgs_per_s"), g(A, w, "deliver_msgs_per_s"))
            row("end-to-end msg/s", _fmt(g(A, w, "deliver_msgs_per_s")),
                _fmt(g(B, w, "deliver_msgs_per_s")), rr, "%s/%s" % (BN, AN))
            row("accept msg/s", _fmt(g(A, w, "accept_msgs_per_s")), _fmt(g(B, w, "accept_msgs_per_s")),
                _ratio(g(B, w, "accept_msgs_per_s"), g(A, w, "accept_msgs_per_s")), "%s/%s" % (BN, AN))
            cr = _ratio(g(A, w, "cpu_s_per_1k_msgs"), g(B, w, "cpu_s_per_1k_msgs"))

            def cpu(t):
                tot = g(t, w, "cpu_s_per_1k_msgs")
                if _num(tot) is None:
                    return "-"
                return "%s (%s+%s)" % (_fmt(tot, 2), _fmt(g(t, w, "cpu_user_s_per_1k_msgs"), 2),
                                       _fmt(g(t, w, "cpu_sys_s_per_1k_msgs"), 2))
            row("CPU s / 1k msgs (user+sys)", cpu(A), cpu(B), cr, "%s/%s" % (AN, BN))
            row("peak RSS MiB (sum)", _fmt(g(A, w, "peak_rss_mib"), 1), _fmt(g(B, w, "peak_rss_mib"), 1),
                _ratio(g(A, w, "peak_rss_mib"), g(B, w, "peak_rss_mib")), "%s/%s" % (AN, BN))
            row("peak PSS MiB (sum)", _fmt(g(A, w, "peak_pss_mib"), 1), _fmt(g(B, w, "peak_pss_mib"), 1),
                _ratio(g(A, w, "peak_pss_mib"), g(B, w, "peak_pss_mib")), "%s/%s" % (AN, BN))
            row("peak processes", _fmt(g(A, w, "peak_procs")), _fmt(g(B, w, "peak_procs")))
            if a.rate_goal and g(A, w, "messages") and g(B, w, "messages"):
                ok = rr is not None and rr >= a.rate_goal
                verdicts.append("%s end-to-end rate %s >= %gx %s: %s" % (
                    w, "-" if rr is None else "%.2fx" % rr, a.rate_goal, AN, "met" if ok else "NOT met"))
            if a.cpu_goal and g(A, w, "messages") and g(B, w, "messages"):
                ok = cr is not None and cr >= a.cpu_goal
                verdicts.append("%s CPU per message <= 1/%g of %s (%s): %s" % (
                    w, a.cpu_goal, AN, "-" if cr is None else "%.2fx less" % cr, "met" if ok else "NOT met"))
        else:
            n = g(A, w, "conns_requested") or g(B, w, "conns_requested")
            print("\n%s: %s idle sessions (220 greeting, EHLO 250, then held open)" % (w, n))
            print(hdr)
            row("greeted 220", _fmt(g(A, w, "greeted_220")), _fmt(g(B, w, "greeted_220")))
            row("EHLO 250", _fmt(g(A, w, "ehlo_250")), _fmt(g(B, w, "ehlo_250")))
            row("still open after settling", _fmt(g(A, w, "still_open_after_settle")),
                _fmt(g(B, w, "still_open_after_settle")))
            row("refused (not 220) / closed", "%s / %s" % (_fmt(g(A, w, "rejected_greeting")),
                                                    _fmt(g(A, w, "closed_by_server"))),
                "%s / %s" % (_fmt(g(B, w, "rejected_greeting")), _fmt(g(B, w, "closed_by_server"))))
            row("seconds to open all", _fmt(g(A, w, "time_to_all_s")), _fmt(g(B, w, "time_to_all_s")),
                _ratio(g(A, w, "time_to_all_s"), g(B, w, "time_to_all_s")), "%s/%s" % (AN, BN))
            row("PSS MiB with sessions open", _fmt(g(A, w, "pss_total_mib"), 1),
                _fmt(g(B, w, "pss_total_mib"), 1),
                _ratio(g(A, w, "pss_total_mib"), g(B, w, "pss_total_mib")), "%s/%s" % (AN, BN))
            row("RSS MiB with sessions open (sum)", _fmt(g(A, w, "rss_total_mib"), 1),
                _fmt(g(B, w, "rss_total_mib"), 1),
                _ratio(g(A, w, "rss_total_mib"), g(B, w, "rss_total_mib")), "%s/%s" % (AN, BN))
            row("PSS MiB before (idle server)", _fmt(g(A, w, "pss_before_mib"), 1),
                _fmt(g(B, w, "pss_before_mib"), 1))
            row("PSS KiB per session", _fmt(g(A, w, "pss_kib_per_conn"), 1),
                _fmt(g(B, w, "pss_kib_per_conn"), 1),
                _ratio(g(A, w, "pss_kib_per_conn"), g(B, w, "pss_kib_per_conn")), "%s/%s" % (AN, BN))
            row("processes", _fmt(g(A, w, "procs")), _fmt(g(B, w, "procs")))
            for t, tn in ((A, AN), (B, BN)):
                if g(t, w, "stopped_low_memory") == "1":
                    print("  ! %s: the client stopped opening sessions because the machine ran low "
                          "on memory" % tn)
            if a.idle_goal_mib and g(B, w, "conns_requested") is not None:
                ng = _num(g(B, w, "ehlo_250"))
                pss, rss = _num(g(B, w, "pss_total_mib")), _num(g(B, w, "rss_total_mib"))
                allok = ng is not None and _num(n) is not None and ng >= _num(n)
                memok = pss is not None and pss <= a.idle_goal_mib
                verdicts.append("%s %s: all %s sessions greeted (%s) and PSS <= %g MiB (%s; RSS sum %s): %s" % (
                    w, BN, n, _fmt(g(B, w, "ehlo_250")), a.idle_goal_mib, _fmt(pss, 1), _fmt(rss, 1),
                    "met" if allok and memok else "NOT met"))
    if verdicts:
        print("\ngoals:")
        for v in verdicts:
            print("  " + v)
    return 0


def cmd_mem(a):
    rss, pss, n = mem_of(target_pids(a))
    out(a.target, a.workload, "rss_mib", rss / 1024.0)
    out(a.target, a.workload, "pss_mib", pss / 1024.0)
    out(a.target, a.workload, "procs", n)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--target", required=True)
        p.add_argument("--workload", required=True)
        p.add_argument("--cgroup", help="cpuacct cgroup dir holding the server's processes")
        p.add_argument("--pid", type=int, help="root pid of the server (if no cgroup)")

    p = sub.add_parser("load"); common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--sessions", type=int, required=True)
    p.add_argument("--rcpt", default="foo@bench.test")
    p.add_argument("--maildir", help="Maildir to watch (maildir mode)")
    p.add_argument("--sink-port", type=int, help="relay mode: run smtp-sink here")
    p.add_argument("--sink-log")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--stall", type=float, default=120, help="give up after this long without progress")
    p.add_argument("--sample-interval", type=float, default=0.25)
    p.set_defaults(fn=cmd_load)

    p = sub.add_parser("idle"); common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--batch", type=int, default=8, help="max connections awaiting their greeting")
    p.add_argument("--stall", type=float, default=10, help="stop after this long without progress")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--min-avail-mib", type=int, default=2048,
                   help="stop opening connections when MemAvailable drops below this (0: never)")
    p.set_defaults(fn=cmd_idle)

    p = sub.add_parser("strace")
    p.add_argument("--target", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--n", type=int, required=True)
    p.set_defaults(fn=cmd_strace)

    p = sub.add_parser("median")
    p.add_argument("--spread", action="store_true")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_median)

    p = sub.add_parser("table")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_table)

    p = sub.add_parser("compare", help="side-by-side report of two targets with ratios")
    p.add_argument("--base", required=True, help="reference target (e.g. postfix)")
    p.add_argument("--new", required=True, help="target compared with it (e.g. custom)")
    p.add_argument("--base-name")
    p.add_argument("--new-name")
    p.add_argument("--rate-goal", type=float, default=0, help="wanted new/base end-to-end rate")
    p.add_argument("--cpu-goal", type=float, default=0, help="wanted base/new CPU per message")
    p.add_argument("--idle-goal-mib", type=float, default=0, help="most memory for the idle sessions")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("mem"); common(p)
    p.set_defaults(fn=cmd_mem)

    a = ap.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()
