"""Debian's Exim relaying into ternd.

Exim sends the end of a message and QUIT in one write and then shuts
down its side of the connection while it still reads the replies.  A
server that takes that end of file for an abort commits the message but
never answers it: Exim tries again, and the mail arrives twice.  Here a
real Exim (exim4-daemon-light, unpacked by scripts/exim.sh) with a
private configuration and spool on a loopback port relays mail submitted
to it concurrently into a ternd, and every message must arrive exactly
once.
"""

import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

import ternlib
from ternlib import TerndTestCase

EXIM_DIR = os.environ.get("TERN_EXIM_DIR", "/var/cache/tern-test/exim")
EXIM_BIN = os.path.join(EXIM_DIR, "usr", "sbin", "exim4")
EXIM_USER = "Debian-exim"  # compiled into Debian's binary
QUEUE_INTERVAL = 2  # seconds between Exim's queue runs (retries)

# Deliveries go to ternd's port; a deferred message is retried at the
# next queue run, so a lost 250 shows up as a second copy within seconds.
EXIM_CONF = """\
exim_path = {bin}
primary_hostname = exim.test
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
pid_file_path = {dir}/exim.pid
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
rfc1413_query_timeout = 0s
smtp_accept_queue_per_connection = 0
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept domains = localhost
  deny   message = relay not permitted

begin routers
# Exim sends with BDAT (CHUNKING) by default; d0 and d1 get DATA.
to_ternd_data:
  driver = manualroute
  domains = localhost
  local_parts = d0 : d1
  route_list = * 127.0.0.1
  self = send
  transport = to_ternd_data
to_ternd:
  driver = manualroute
  domains = localhost
  route_list = * 127.0.0.1
  self = send
  transport = to_ternd

begin transports
to_ternd_data:
  driver = smtp
  port = {ternd_port}
  allow_localhost
  hosts_try_chunking =
to_ternd:
  driver = smtp
  port = {ternd_port}
  allow_localhost

begin retry
*   *   F,1h,{retry}s
"""


class Exim:
    """One Exim daemon in its own directory, run as its own user."""

    def __init__(self, ternd_port):
        self.dir = tempfile.mkdtemp(prefix="tern-exim-")
        os.chmod(self.dir, 0o755)  # Exim runs as EXIM_USER
        self.port = ternlib.free_port()
        self.proc = None
        self.out_path = os.path.join(self.dir, "exim.out")
        self.conf_path = os.path.join(self.dir, "exim.conf")
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(EXIM_CONF.format(bin=EXIM_BIN, dir=self.dir,
                                     port=self.port, ternd_port=ternd_port,
                                     retry=QUEUE_INTERVAL))
        os.chmod(self.conf_path, 0o644)

    def cannot_run(self):
        """Why Exim cannot run here, or None."""
        if not os.access(EXIM_BIN, os.X_OK):
            return ("Exim is not unpacked at %s: run scripts/exim.sh as "
                    "root (make test does)" % EXIM_BIN)
        if os.geteuid() != 0:
            return "running Exim as %s needs root" % EXIM_USER
        try:
            pw = pwd.getpwnam(EXIM_USER)
        except KeyError:
            return ("no user %s (scripts/exim.sh creates it)" % EXIM_USER)
        for d in ("spool", "log"):
            p = os.path.join(self.dir, d)
            os.mkdir(p)
            os.chown(p, pw.pw_uid, pw.pw_gid)
        return None

    def start(self, timeout=30):
        """Start the daemon (queue runs every QUEUE_INTERVAL s); returns
        when it accepts connections.  Raises with Exim's output if not."""
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                ["setpriv", "--reuid=" + EXIM_USER, "--regid=" + EXIM_USER,
                 "--clear-groups", EXIM_BIN, "-C", self.conf_path, "-bdf",
                 "-q%ds" % QUEUE_INTERVAL],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("Exim exited at start (status %s):\n%s"
                                     % (self.proc.returncode, self.logs()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("Exim did not listen on port %d within %d s:\n%s"
                             % (self.port, timeout, self.logs()))

    def queued(self):
        """Message IDs in Exim's queue."""
        try:
            names = os.listdir(os.path.join(self.dir, "spool", "input"))
        except FileNotFoundError:
            return []
        return sorted(n[:-2] for n in names if n.endswith("-H"))

    def logs(self, n=40):
        out = []
        for name in ("exim.out", "log/mainlog", "log/rejectlog",
                     "log/paniclog"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                continue
            out.append("---- Exim %s ----\n%s" % (name, ternlib.tail(text,
                                                                    n)))
        return "\n".join(out)

    def stop(self):
        """SIGTERM to the daemon by its PID; then whatever it started and
        left (deliveries in its process group) is killed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def remove(self):
        if not ternlib.KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


class EximRelayTest(TerndTestCase):

    N = 200
    THREADS = 8
    RCPTS = ("b0", "b1", "d0", "d1")  # over BDAT and DATA (EXIM_CONF)
    TIMEOUT = 180  # seconds for all N to arrive and Exim's queue to empty

    def start_exim(self, ternd_port):
        ex = Exim(ternd_port)
        self.addCleanup(ex.remove)
        why = ex.cannot_run()
        if why:
            self.fail("cannot run Exim: " + why)
        self.addCleanup(ex.stop)
        ex.start()
        return ex

    def submit(self, ex, tokens):
        """Send every message of tokens to Exim from THREADS smtplib
        clients at once; returns the errors."""
        errors = []
        lock = threading.Lock()

        def client(part):
            try:
                with smtplib.SMTP("127.0.0.1", ex.port, timeout=60) as s:
                    for i, tok in part:
                        rcpt = "%s@localhost" % self.RCPTS[i % len(
                            self.RCPTS)]
                        s.sendmail("sender@example.org", [rcpt], (
                            "From: <sender@example.org>\r\n"
                            "To: <%s>\r\n"
                            "Message-ID: <%s@exim.test>\r\n"
                            "Subject: relayed %d\r\n\r\n"
                            "token %s\r\n" % (rcpt, tok, i, tok)).encode())
            except (smtplib.SMTPException, OSError) as e:
                with lock:
                    errors.append("client %d: %r" % (part[0][0], e))

        items = list(enumerate(tokens))
        threads = [threading.Thread(target=client,
                                    args=(items[k::self.THREADS],))
                   for k in range(self.THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
            if th.is_alive():
                errors.append("a client still sending after 120 s")
        return errors

    def delivered_tokens(self, t):
        """{token: copies} over every Maildir of t."""
        got = {}
        for data in t.all_messages().values():
            m = re.search(rb"^Message-ID: <(tok-[0-9a-f]+-\d+)@exim\.test>",
                          data, re.M | re.I)
            key = m.group(1).decode() if m else "(no token)"
            got[key] = got.get(key, 0) + 1
        return got

    def test_exim_relays_each_message_once(self):
        t = self.start_ternd()
        ex = self.start_exim(t.port)
        run = os.urandom(4).hex()
        tokens = ["tok-%s-%d" % (run, i) for i in range(self.N)]
        errors = self.submit(ex, tokens)
        self.assertEqual(errors, [], "Exim did not take every message\n" +
                         ex.logs())
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            n = len(t.all_messages())
            queued = ex.queued()
            if n >= self.N and not queued:
                break
            if time.monotonic() >= deadline:
                self.fail("expected %d messages in the Maildirs and Exim's "
                          "queue empty within %d s; got %d messages, %d "
                          "still queued in Exim\n%s" % (
                              self.N, self.TIMEOUT, n, len(queued),
                              ex.logs()))
            time.sleep(0.2)
        # A copy sent again after a lost reply would come at a later queue
        # run: wait for a few before counting.
        time.sleep(3 * QUEUE_INTERVAL)
        got = self.delivered_tokens(t)
        twice = sorted(k for k, c in got.items() if c > 1)
        missing = sorted(set(tokens) - set(got))
        strange = sorted(set(got) - set(tokens))
        total = sum(got.values())
        if total != self.N or twice or missing or strange:
            self.fail("expected each of %d messages exactly once; got %d "
                      "files, %d messages more than once (%s), %d missing "
                      "(%s), unknown %s\n%s" % (
                          self.N, total, len(twice), twice[:5], len(missing),
                          missing[:5], strange[:5], ex.logs(20)))
        # Exim saw every reply: nothing was deferred.
        with open(os.path.join(ex.dir, "log", "mainlog"), "rb") as f:
            mainlog = f.read().decode("utf-8", "replace")
        deferred = [l for l in mainlog.splitlines() if " == " in l]
        self.assertEqual(deferred, [], "Exim deferred deliveries")
        self.assertEqual(mainlog.count(" => "), self.N,
                         "expected %d deliveries in Exim's log" % self.N)
        for verb in ("bdat", "data"):
            self.assertRegex(t.log(), r"disconnect from .* %s=1 quit=1 "
                             % verb, "no delivery over %s" % verb.upper())
