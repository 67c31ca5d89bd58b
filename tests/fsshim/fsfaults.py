"""The fault rules of fsshim (fsshim.h), seen from a test.

    f = Faults(os.path.join(tmp, "faults"))
    env.update(f.env())                   # FSSHIM_FAULTS for the program
    f.set(["op=fdatasync path=/x/spool/* errno=EIO times=1"])
    ...
    f.fired(0), f.calls(0)                # that rule's counters
    f.clear()

The control file is rewritten in place (the programs hold it open by
descriptor, from before any chroot), between "gen N" and "end N" lines so
that a program never takes half of it; its modification time is set to a
value never used before, so that every version is seen as new.  The
counters (file.cnt, struct fsshim_counters) are zeroed while no rule is
in force, before the new rules are written.
"""

import os
import re
import struct
import time

MAX_RULES = 64
KEYS = ("op", "func", "path", "type", "comm", "flags", "errno", "after",
        "times")
OPS = ("open", "write", "truncate", "fallocate", "fsync", "fdatasync",
       "sync_file_range", "syncfs", "sync", "link", "rename", "unlink",
       "mkdir", "rmdir", "close", "tmpfile", "attr", "symlink")
FLAGS = ("noreplace", "exchange", "whiteout", "tmpfile", "creat", "excl",
         "trunc", "removedir", "empty_path", "symlink_follow")


class RuleError(ValueError):
    pass


def check_rule(rule):
    """Raise RuleError unless the shim would take rule (one line)."""
    for field in rule.split():
        if "=" not in field:
            raise RuleError("%r: %r is not key=value" % (rule, field))
        k, v = field.split("=", 1)
        if k not in KEYS:
            raise RuleError("%r: unknown key %s" % (rule, k))
        if k == "op" and not all(o in OPS for o in v.split(",")):
            raise RuleError("%r: unknown operation in %s" % (rule, v))
        if k == "flags" and not all(f in FLAGS for f in v.split(",")):
            raise RuleError("%r: unknown flag in %s" % (rule, v))
        if k in ("after", "times") and not v.isdigit():
            raise RuleError("%r: %s is not a number" % (rule, k))
        if k == "type" and v not in ("file", "dir"):
            raise RuleError("%r: type is file or dir" % rule)
        if k == "errno" and not (re.match(r"^E[A-Z]+$", v) or v.isdigit()):
            raise RuleError("%r: errno %s" % (rule, v))


class Faults:
    def __init__(self, path):
        self.path = path
        self.cnt = path + ".cnt"
        self.gen = 0
        self.stamp = 0
        self.rules = []
        with open(self.cnt, "wb") as f:
            f.write(bytes(16 * MAX_RULES))
        with open(self.path, "wb") as f:
            f.write(b"")
        self._write([])

    def env(self):
        return {"FSSHIM_FAULTS": self.path}

    def _write(self, rules):
        self.gen += 1
        text = "gen %d\n%s%s\nend %d\n" % (
            self.gen, "\n".join(rules), "\n" if rules else "", self.gen)
        data = text.encode()
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
        self.stamp = max(time.time_ns(), self.stamp + 1000)
        os.utime(self.path, ns=(self.stamp, self.stamp))

    def set(self, rules):
        """Put rules (a list of lines) in force; counters start at 0."""
        if len(rules) > MAX_RULES:
            raise RuleError("at most %d rules" % MAX_RULES)
        for r in rules:
            check_rule(r)
        self._write([])
        with open(self.cnt, "r+b") as f:
            f.write(bytes(16 * MAX_RULES))
        self._write(list(rules))
        self.rules = list(rules)

    def clear(self):
        self.set([])

    def _counters(self):
        with open(self.cnt, "rb") as f:
            raw = f.read(16 * MAX_RULES)
        vals = struct.unpack("<%dQ" % (2 * MAX_RULES), raw)
        return vals[:MAX_RULES], vals[MAX_RULES:]

    def calls(self, i):
        """Calls that matched rule i since set()."""
        return self._counters()[0][i]

    def fired(self, i):
        """Calls that rule i made fail since set()."""
        return self._counters()[1][i]
