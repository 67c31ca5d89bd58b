"""Helpers for the tern integration tests.

Ternd starts a real ternd in a fresh temporary directory with a generated
configuration file, waits until it listens, and stops it by PID.  Its
stderr (the log) is kept in a file that survives restarts.  Client speaks
SMTP over a raw socket and records a transcript.  TerndTestCase ties them
together: every ternd a test starts is stopped at the end, and the test
fails if the log holds a sanitizer report or if ternd did not exit cleanly
on SIGTERM.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

# Set by run.py (--ternd); TERND in the environment works too.
TERND = os.environ.get("TERND", "")
# Keep the temporary directories (for debugging a failure).
KEEP = bool(os.environ.get("TERN_KEEP"))

HOSTNAME = "mx.test"
SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "UndefinedBehaviorSanitizer",
    # The sanitizer could not do its job (leaks would go unseen).
    "Sanitizer has encountered a fatal error",
)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 40.0  # ternd itself allows 30 s for deliveries in flight

SRC_DIR = os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def sanitizer_env():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    env.pop("UV_THREADPOOL_SIZE", None)
    return env


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def sanitizer_lines(text):
    return [l for l in text.splitlines()
            if any(p in l for p in SANITIZER_PATTERNS)]


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def config_params():
    """Every parameter name declared in src/conf/conf_params.h."""
    path = os.path.join(SRC_DIR, "src", "conf", "conf_params.h")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^\s*X\((\w+),", text, re.M)


class TerndError(Exception):
    pass


# Every Ternd with processes that may be running, for kill_everything().
LIVE = set()


def kill_everything():
    """SIGKILL every ternd process group started here and not yet finished
    (the runner calls it when it is interrupted)."""
    for t in list(LIVE):
        if t.pgid is not None:
            try:
                os.killpg(t.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if t.proc is not None:
            try:
                t.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        LIVE.discard(t)


class Ternd:
    """One ternd server in its own directory."""

    def __init__(self, conf=None, tables=None, name="ternd", binary=None,
                 single=False):
        self.dir = tempfile.mkdtemp(prefix="tern-integ-")
        # ternd -1: every role in one process (the other process shape).
        self.single = single
        # Started as root, ternd's processes run as their own users: they
        # must be able to reach the spool, the Maildirs and the tables.
        os.chmod(self.dir, 0o755)
        self.name = name
        self.binary = binary  # None: TERND
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        self.conf_path = os.path.join(self.dir, "tern.conf")
        self.log_path = os.path.join(self.dir, "ternd.log")
        self.port = None
        self.proc = None
        self.starts = 0
        self.exit_codes = []  # of every run stopped with SIGTERM
        self.killed = 0
        self.pgid = None  # ternd leads a process group of its own
        self.reap_timeout = 10.0
        self.problems = []
        self.log_cache = None
        self.env = {}  # added to ternd's environment (LD_PRELOAD ...)
        self.conf = {
            "myhostname": HOSTNAME,
            "spool_directory": self.spool,
            "mail_directory": self.mail,
        }
        if conf:
            self.conf.update(conf)
        for param, content in (tables or {}).items():
            self.write_table(param, content)

    # ------------------------------------------------------ configuration

    def table_path(self, param):
        return os.path.join(self.dir, param.replace("_maps", ""))

    def write_table(self, param, content):
        """Write a lookup table file and point param at it."""
        path = self.table_path(param)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        self.conf[param] = path
        return path

    def param(self, name):
        """A parameter's effective value, as ternd -n prints it."""
        self.write_conf()
        out = subprocess.run([self.binary or TERND, "-n", "-f",
                              self.conf_path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=sanitizer_env(),
                             timeout=60).stdout.decode("utf-8", "replace")
        m = re.search(r"^%s = ?(.*)$" % re.escape(name), out, re.M)
        if m is None:
            raise TerndError("ternd -n does not print %s" % name)
        return m.group(1)

    def check_config(self):
        """ternd -t on the configuration: (exit status, stderr)."""
        self.write_conf()
        p = subprocess.run([self.binary or TERND, "-t", "-f",
                            self.conf_path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=sanitizer_env(),
                           timeout=60)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def give_to_mail_user(self, path):
        """Create directory path for Maildirs outside mail_directory: when
        ternd runs as root, deliveries run as mail_user."""
        os.makedirs(path, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.param("mail_user"))
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def write_conf(self):
        lines = ["# generated by the tern integration tests"]
        for k, v in self.conf.items():
            lines.append("%s = %s" % (k, v))
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    # --------------------------------------------------------- lifecycle

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, new_port=False):
        """Start ternd; returns when it accepts connections."""
        if self.running():
            raise TerndError("ternd already running")
        last = ""
        for _ in range(5):
            if self.port is None or new_port:
                self.port = free_port()
                new_port = False
            self.conf["smtp_listen"] = "127.0.0.1:%d" % self.port
            self.write_conf()
            marker = self.log().count("ternd started")
            env = sanitizer_env()
            env.update(self.env)
            with open(self.log_path, "ab") as logf:
                logf.write(("--- %s start %d (port %d)\n" % (
                    self.name, self.starts + 1, self.port)).encode())
                logf.flush()
                self.proc = subprocess.Popen(
                    [self.binary or TERND] + (["-1"] if self.single else []) +
                    ["-f", self.conf_path],
                    stdin=subprocess.DEVNULL,
                    stdout=logf, stderr=logf, cwd=self.dir,
                    env=env, start_new_session=True)
            self.pgid = self.proc.pid
            LIVE.add(self)
            self.starts += 1
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.log().count("ternd started") > marker:
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                self.reap_group("ternd not started")
                raise TerndError("ternd did not start within %.0f s:\n%s" % (
                    START_TIMEOUT, tail(self.log())))
            self.reap_group("ternd exited at start")
            last = tail(self.log())
            if "already in use" not in last:
                break
            new_port = True  # somebody took the port meanwhile
        raise TerndError("ternd exited at start (status %s):\n%s" % (
            self.proc.returncode, last))

    def group_pids(self):
        """Live processes in ternd's process group (ternd and whatever it
        started)."""
        if self.pgid is None:
            return []
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rindex(")") + 2:].split()
            if int(fields[2]) == self.pgid and fields[0] not in "ZX":
                out.append(int(d))
        return out

    def reap_group(self, why):
        """After ternd exited: nothing it started may stay behind.  What
        does is recorded as a problem and killed."""
        timeout = self.reap_timeout
        deadline = time.monotonic() + timeout
        while True:
            left = self.group_pids()
            if not left:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        self.problems.append("%s: processes %s of ternd's process group "
                             "still running %.0f s later" % (why, left,
                                                             timeout))
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for _ in range(100):  # SIGKILL takes effect asynchronously
            if not self.group_pids():
                break
            time.sleep(0.05)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for ternd to exit after a SIGTERM sent by the caller;
        SIGKILL after timeout.  Returns and records the exit status."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pgid, signal.SIGKILL)
            self.proc.wait()
            self.reap_group("SIGKILL after SIGTERM")
            self.exit_codes.append("no exit %.0f s after SIGTERM" %
                                   timeout)
            return self.proc.returncode
        self.reap_group("exit after SIGTERM")
        self.exit_codes.append(self.proc.returncode)
        return self.proc.returncode

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout.  Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.wait_exit(timeout)
        self.reap_group("ternd exited by itself")
        self.exit_codes.append(self.proc.returncode)
        return self.proc.returncode

    def kill(self):
        """SIGKILL to ternd (a crash); waits until it is gone, and until
        whatever it started is gone too."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.killed += 1
            self.reap_group("SIGKILL")

    def kill_all(self):
        """SIGKILL to ternd and every process it started (a power cut)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.pgid, signal.SIGKILL)
            self.proc.wait()
            self.killed += 1
            self.reap_group("SIGKILL to the process group")

    def role_pids(self, role):
        """PIDs of the current run's role processes (from the log)."""
        run = self.log().rsplit("--- %s start" % self.name, 1)[-1]
        return [int(p) for p in re.findall(
            r"started the %s process(?: \d+)? \(pid (\d+)\)" % role, run)]

    def restart(self):
        if self.running():
            self.stop()
        return self.start()

    HUP_PARENT = r"reloaded configuration|\]: reload: "
    HUP_LOOKUP = r"lookup: tables reloaded|lookup: reload: "

    def hup(self, timeout=15):
        """SIGHUP; waits until ternd logs the reload (or its refusal), and
        the lookup process too when there is one."""
        log = self.log()
        before = len(re.findall(self.HUP_PARENT, log))
        before_lk = len(re.findall(self.HUP_LOOKUP, log))
        lookup_proc = "started the lookup process" in log
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if len(re.findall(self.HUP_PARENT, log)) > before and (
                    not lookup_proc or
                    len(re.findall(self.HUP_LOOKUP, log)) > before_lk):
                return
            time.sleep(0.02)
        raise TerndError("no reload logged %.0f s after SIGHUP:\n%s" % (
            timeout, tail(self.log())))

    def finish(self):
        """Stop, keep the log in memory, remove the directory.  Returns a
        list of problems (sanitizer reports, bad exit statuses)."""
        if self.running():
            self.stop()
        LIVE.discard(self)
        problems = list(self.problems)
        self.log_cache = self.log()
        reports = sanitizer_lines(self.log_cache)
        if reports:
            problems.append("sanitizer report in %s's log:\n%s" % (
                self.name, "\n".join(reports[:10])))
        for st in self.exit_codes:
            if st != 0:
                problems.append("%s exited with status %s after SIGTERM "
                                "(expected 0)" % (self.name, st))
        if not KEEP and not problems:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif problems:
            problems.append("(files kept in %s)" % self.dir)
        return problems

    # -------------------------------------------------------------- log

    def log(self):
        if self.log_cache is not None:
            return self.log_cache
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        return tail(self.log(), n)

    def wait_log(self, pattern, timeout=15, count=1):
        """Wait until the log matches pattern (a regex) count times."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.log())
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "expected %d log line(s) matching %r within %.0f s, "
                    "found %d; log tail:\n%s" % (count, pattern, timeout,
                                                 len(found), self.log_tail()))
            time.sleep(0.03)

    # ---------------------------------------------------- mail and queue

    def maildir(self, rel):
        """A Maildir path: rel is a local part (under mail_directory) or an
        absolute path."""
        return rel if os.path.isabs(rel) else os.path.join(self.mail, rel)

    def messages(self, rel):
        """Delivered messages in <maildir>/new, as {name: bytes}."""
        d = os.path.join(self.maildir(rel), "new")
        out = {}
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return out
        for n in names:
            try:
                with open(os.path.join(d, n), "rb") as f:
                    out[n] = f.read()
            except FileNotFoundError:
                pass
        return out

    def all_messages(self):
        """Every delivered message under mail_directory: {path: bytes}."""
        out = {}
        for root, _dirs, files in os.walk(self.mail):
            if os.path.basename(root) != "new":
                continue
            for n in files:
                p = os.path.join(root, n)
                with open(p, "rb") as f:
                    out[p] = f.read()
        return out

    def wait_messages(self, rel, count=1, timeout=15):
        """Wait until <maildir>/new holds at least count messages; returns
        them in delivery order (file names start with the time)."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(rel)
            if len(msgs) >= count:
                return [msgs[k] for k in sorted(msgs)]
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "expected %d message(s) in %s/new within %.0f s, found "
                    "%d; log tail:\n%s" % (count, self.maildir(rel), timeout,
                                           len(msgs), self.log_tail()))
            time.sleep(0.03)

    def queue_files(self):
        """Files in the queue directory (each holds the messages committed
        together, named by the first one's queue ID)."""
        try:
            return sorted(n for n in os.listdir(os.path.join(self.spool,
                                                             "queue"))
                          if not re.match(r"f\d{10}$", n))
        except FileNotFoundError:
            return []

    def corrupt_files(self):
        try:
            return sorted(os.listdir(os.path.join(self.spool, "corrupt")))
        except FileNotFoundError:
            return []

    def wait_queue_empty(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue_files()
            if not q:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "expected an empty queue within %.0f s, still %d "
                    "file(s): %s; log tail:\n%s" % (
                        timeout, len(q), q[:5], self.log_tail()))
            time.sleep(0.05)

    def settle(self, seconds=0.5):
        """Give deliveries a moment before checking that nothing came."""
        time.sleep(seconds)

    # ----------------------------------------------------------- clients

    def client(self, source=None, timeout=10, greet=True):
        c = Client(self.port, source=source, timeout=timeout)
        if greet:
            c.greeting = c.reply()
        return c


# ------------------------------------------------------------------ SMTP

class Reply:
    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines  # texts after "ddd-" / "ddd "
        self.raw = raw

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def esc(self):
        m = re.match(r"([245])\.\d{1,3}\.\d{1,3}(?: |$)", self.lines[-1])
        return m.group(0).strip() if m else None

    def __repr__(self):
        return repr(self.raw.decode("utf-8", "replace"))


class ClosedError(Exception):
    pass


class Client:
    """SMTP over a raw socket, with a transcript of both directions."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=10):
        self.transcript = []
        self.buf = b""
        self.closed = False
        self.greeting = None
        self.sock = socket.create_connection(
            (host, port), timeout,
            source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.timeout = timeout

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.transcript.append(("C", data))
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no reply")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise ClosedError("connection closed by the server")
        self.buf += data

    def reply(self, timeout=None):
        """Read one complete reply (possibly multi-line)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines, raw, code = [], b"", None
        while True:
            while b"\r\n" not in self.buf:
                try:
                    self._fill(deadline)
                except (ClosedError, socket.timeout):
                    if raw or self.buf:
                        self.transcript.append(("S", raw + self.buf))
                    raise
            line, self.buf = self.buf.split(b"\r\n", 1)
            raw += line + b"\r\n"
            m = re.match(rb"^(\d{3})([ -])(.*)$", line, re.S)
            if not m:
                self.transcript.append(("S", raw))
                raise AssertionError("malformed reply line %r\n%s" % (
                    line, self.transcript_text()))
            c = int(m.group(1))
            if code is not None and c != code:
                self.transcript.append(("S", raw))
                raise AssertionError("reply code changed inside a "
                                     "multi-line reply: %r\n%s" % (
                                         raw, self.transcript_text()))
            code = c
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) == b" ":
                break
        self.transcript.append(("S", raw))
        return Reply(code, lines, raw)

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.reply(timeout)

    def wait_closed(self, timeout=5):
        """True if the server closes the connection within timeout (any
        bytes that come first are recorded)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                self.transcript.append(("S", self.buf))
                self.buf = b""
            try:
                self._fill(deadline)
            except ClosedError:
                return True
            except socket.timeout:
                return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def transcript_text(self, limit=4000):
        out = []
        for who, data in self.transcript:
            text = data.decode("utf-8", "replace")
            if len(text) > 300:
                text = text[:150] + "...[%d bytes]..." % len(data) + \
                    text[-100:]
            for l in text.split("\n"):
                if l:
                    out.append("%s: %s" % (who, l.rstrip("\r")))
        s = "\n".join(out)
        if len(s) > limit:
            s = "...\n" + s[-limit:]
        return "transcript:\n" + s


# ------------------------------------------------------- Maildir content

class Delivered:
    """A delivered file split into tern's prefix and the message."""

    RECEIVED_RE = re.compile(
        r"Received: from (?P<helo>\S+) \(unknown \[(?P<addr>[^\]]+)\]\)\n"
        r"\tby (?P<host>\S+) \(tern\) with (?P<proto>\S+) id (?P<id>[0-9A-Z]+)"
        r"(?:\n\tfor <(?P<for>[^>]*)>)?; (?P<date>[^\n]+)\n$")

    def __init__(self, data):
        self.data = data
        rest = data
        self.return_path = self.delivered_to = self.received = None
        m = re.match(rb"Return-Path: <([^>\n]*)>\n", rest)
        if m:
            self.return_path = m.group(1).decode("utf-8", "replace")
            rest = rest[m.end():]
        m = re.match(rb"Delivered-To: ([^\n]*)\n", rest)
        if m:
            self.delivered_to = m.group(1).decode("utf-8", "replace")
            rest = rest[m.end():]
        m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", rest)
        if m:
            self.received = m.group(0).decode("utf-8", "replace")
            rest = rest[m.end():]
        self.body = rest  # the message as the client sent it, LF ends
        self.rmatch = (self.RECEIVED_RE.match(self.received)
                       if self.received else None)


def lf(data):
    """The message as tern stores it in a Maildir: CRLF -> LF."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return data.replace(b"\r\n", b"\n")


# -------------------------------------------------------------- test case

class TerndTestCase(unittest.TestCase):
    """Base class: start_ternd() starts a server that is stopped and
    checked when the test ends."""

    maxDiff = 4000
    # True: start_ternd starts "ternd -1" (every role in one process).
    SINGLE = False

    def setUp(self):
        self.ternds = []
        self.clients = []

    def start_ternd(self, conf=None, tables=None, start=True, name="ternd"):
        t = Ternd(conf, tables, name=name, single=self.SINGLE)
        self.ternds.append(t)
        self.addCleanup(self._finish_ternd, t)
        if start:
            t.start()
        return t

    def _finish_ternd(self, t):
        for c in self.clients:
            c.close()
        problems = t.finish()
        if problems:
            self.fail("\n".join(problems) + "\nlog tail:\n" +
                      t.log_tail(60))

    def connect(self, t, source=None, timeout=10, greet=True):
        c = t.client(source=source, timeout=timeout, greet=greet)
        self.clients.append(c)
        return c

    # ----------------------------------------------------- assertions

    def context(self, client=None):
        """The dialogue so far (run.py adds the tail of every ternd log of
        a failed test)."""
        return client.transcript_text() if client is not None else ""

    def check(self, reply, code, esc=None, client=None, contains=None,
              what=""):
        """Assert a reply's code (and enhanced status code, text)."""
        ok = reply is not None and reply.code == code and \
            (esc is None or reply.esc == esc) and \
            (contains is None or contains in reply.text)
        if not ok:
            want = "%d%s%s" % (code, " " + esc if esc else "",
                               " ...%s..." % contains if contains else "")
            self.fail("%sexpected reply %s, got %r\n%s" % (
                what + ": " if what else "", want, reply,
                self.context(client)))
        return reply

    def expect(self, client, line, code, esc=None, contains=None,
               timeout=None):
        """Send a command, check its reply."""
        try:
            r = client.cmd(line, timeout)
        except (ClosedError, socket.timeout, OSError) as e:
            self.fail("%r: expected reply %d, got %s\n%s" % (
                line[:80], code, e.__class__.__name__ + ": " + str(e),
                self.context(client)))
        return self.check(r, code, esc, client, contains,
                          what=repr(line[:80]))

    def expect_reply(self, client, code, esc=None, contains=None,
                     timeout=None, what="reply"):
        try:
            r = client.reply(timeout)
        except (ClosedError, socket.timeout, OSError) as e:
            self.fail("%s: expected %d, got %s\n%s" % (
                what, code, e.__class__.__name__ + ": " + str(e),
                self.context(client)))
        return self.check(r, code, esc, client, contains, what=what)

    def expect_closed(self, client, timeout=5):
        if not client.wait_closed(timeout):
            self.fail("expected the server to close the connection within "
                      "%.0f s; it stayed open\n%s" % (
                          timeout, self.context(client)))

    def ehlo(self, client, name="client.test"):
        return self.expect(client, "EHLO " + name, 250)

    def send_message(self, client, sender, rcpts, data, mail_params="",
                     queued=True):
        """MAIL, RCPTs (all must be accepted), DATA with data (CRLF
        lines, not yet dot-stuffed... the caller stuffs), end of data.
        Returns the queue ID."""
        self.expect(client, "MAIL FROM:<%s>%s" % (
            sender, " " + mail_params if mail_params else ""), 250, "2.1.0")
        for r in rcpts:
            self.expect(client, "RCPT TO:<%s>" % r, 250)
        self.expect(client, "DATA", 354)
        if isinstance(data, str):
            data = data.encode("utf-8")
        client.send(data + b".\r\n")
        r = self.expect_reply(client, 250, "2.0.0", what="end of data")
        m = re.search(r"queued as ([0-9A-Z]+)", r.text)
        if not m:
            self.fail("no queue ID in %r\n%s" % (r, self.context(client)))
        return m.group(1)

    def check_delivered(self, data, message, sender, rcpt, helo=None,
                        proto="ESMTP", qid=None, for_rcpt=None):
        """Assert a delivered file is exactly Return-Path, Delivered-To,
        our Received: header, and message (CRLF -> LF)."""
        d = Delivered(data)
        problems = []
        if d.return_path != sender:
            problems.append("Return-Path <%s>, expected <%s>" % (
                d.return_path, sender))
        if d.delivered_to != rcpt:
            problems.append("Delivered-To %s, expected %s" % (
                d.delivered_to, rcpt))
        if d.rmatch is None:
            problems.append("no well-formed Received: header: %r" %
                            d.received)
        else:
            g = d.rmatch.groupdict()
            if helo is not None and g["helo"] != helo:
                problems.append("Received: from %s, expected %s" % (
                    g["helo"], helo))
            if g["host"] != HOSTNAME:
                problems.append("Received: by %s, expected %s" % (
                    g["host"], HOSTNAME))
            if g["addr"] != "127.0.0.1":
                problems.append("Received: client [%s], expected "
                                "[127.0.0.1]" % g["addr"])
            if g["proto"] != proto:
                problems.append("Received: with %s, expected %s" % (
                    g["proto"], proto))
            if qid is not None and g["id"] != qid:
                problems.append("Received: id %s, expected the queue ID %s"
                                % (g["id"], qid))
            if for_rcpt is not None and g["for"] != for_rcpt:
                problems.append("Received: for <%s>, expected <%s>" % (
                    g["for"], for_rcpt))
        want = lf(message)
        if d.body != want:
            problems.append("message differs:\nexpected %r\n     got %r" % (
                want[:600], d.body[:600]))
            for i, (a, b) in enumerate(zip(want, d.body)):
                if a != b:
                    problems.append("first difference at octet %d" % i)
                    break
            else:
                problems.append("lengths %d (expected) and %d" % (
                    len(want), len(d.body)))
        if problems:
            self.fail("delivered file is wrong:\n" + "\n".join(problems) +
                      "\nfile starts: %r" % data[:400])
        return d
