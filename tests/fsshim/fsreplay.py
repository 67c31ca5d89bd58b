#!/usr/bin/env python3
"""Crash states from an fsshim trace (standard library only).

A trace (fsshim.h) lists every change a process tree made under some root
directories.  Model() replays it, record by record, over a snapshot of
those roots taken before the run, and can say at any point k ("the power
was lost right after record k") what the file system may hold, under the
worst a POSIX file system may do:

  * data written to a file survives only if an fsync/fdatasync of that
    inode came after it;
  * a directory entry change (create, link, rename in or out, unlink,
    mkdir, rmdir) survives only if that directory was fsynced after it; a
    rename between two directories is two changes, one in each; a rename
    within one directory is one;
  * sync()/syncfs() make everything durable; sync_file_range nothing.

Crash models (MODELS):
  durable      everything unsynced is lost
  meta         unsynced directory changes kept, unsynced data lost: a
               file linked or renamed in may show empty or old contents
  meta-size    the same, but files keep their latest size, the unsynced
               bytes reading as zeros (ext4 data=writeback)
  subset-N     each unsynced change kept or lost at random, seeded by the
               cut and N (reproducible)
  all          nothing lost (the state the run left; for self-tests)

Mode and owner are taken as they are at the cut (not subject to loss).

    python3 fsreplay.py TRACE --list
    python3 fsreplay.py TRACE --snapshot SNAP.json --cut K --model durable \\
        --out DIR --map /old/root=/new/root ...
"""

import argparse
import base64
import hashlib
import json
import os
import random
import stat
import struct

# ------------------------------------------------------------ the format

MAGIC = 0x31525346
HEADER = struct.Struct("<IIIiiiqQ")  # magic len op pid tid err ret ts
assert HEADER.size == 40
INODE = struct.Struct("<QQIIIIQ")    # dev ino mode uid gid nlink size

OPS = {
    "OPEN": 1, "WRITE": 2, "TRUNCATE": 3, "FALLOCATE": 4, "FSYNC": 5,
    "FDATASYNC": 6, "SYNC_FILE_RANGE": 7, "SYNCFS": 8, "SYNC": 9,
    "LINK": 10, "RENAME": 11, "UNLINK": 12, "MKDIR": 13, "RMDIR": 14,
    "CLOSE": 15, "TMPFILE": 16, "ATTR": 17, "SYMLINK": 18,
}
OP_NAMES = {v: k.lower() for k, v in OPS.items()}
TAGS = {
    "FUNC": 1, "COMM": 2, "FD": 3, "INODE": 4, "PATH": 5, "PARENT": 6,
    "PATH2": 7, "PARENT2": 8, "INODE2": 9, "OFFSET": 10, "LENGTH": 11,
    "FLAGS": 12, "DATA": 13, "ZERO": 14, "SYNC": 15, "FAULT": 16,
    "CREATED": 17,
}
T = type("T", (), TAGS)
O = type("O", (), OPS)

O_TRUNC = 0o1000
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
FALLOC_FL_ZERO_RANGE = 0x10

MODELS = ("durable", "meta", "meta-size")


class TraceError(Exception):
    pass


class Inode:
    __slots__ = ("dev", "ino", "mode", "uid", "gid", "nlink", "size")

    def __init__(self, raw):
        (self.dev, self.ino, self.mode, self.uid, self.gid, self.nlink,
         self.size) = INODE.unpack(raw)

    @property
    def key(self):
        return (self.dev, self.ino)

    def __repr__(self):
        return "inode %d:%d" % (self.dev, self.ino)


class Record:
    """One traced call.  Fields absent from the record are None."""

    __slots__ = ("index", "op", "pid", "tid", "err", "ret", "ts", "func",
                 "comm", "fd", "inode", "path", "parent", "path2",
                 "parent2", "inode2", "offset", "length", "flags", "data",
                 "zero", "sync", "fault", "created")

    def __init__(self, index, op, pid, tid, err, ret, ts):
        self.index, self.op, self.pid, self.tid = index, op, pid, tid
        self.err, self.ret, self.ts = err, ret, ts
        self.func = self.comm = self.fd = self.inode = self.path = None
        self.parent = self.path2 = self.parent2 = self.inode2 = None
        self.offset = self.length = self.flags = self.data = None
        self.zero = self.sync = self.created = False
        self.fault = None

    @property
    def name(self):
        return OP_NAMES.get(self.op, "op%d" % self.op)

    def describe(self):
        """One line for a report."""
        s = "#%d %s %s" % (self.index, self.func or self.name,
                           self.path or "")
        if self.path2:
            s += " -> %s" % self.path2
        if self.op == O.WRITE and self.length is not None:
            s += " [%d+%d]" % (self.offset or 0, self.length)
        if self.err:
            s += " = -1 %s" % os.strerror(self.err)
            if self.fault is not None:
                s += " (injected)"
        return s + " (%s pid %d)" % (self.comm or "?", self.pid)

    def __repr__(self):
        return "<Record %s>" % self.describe()


def parse_trace(data):
    """Records of a trace (bytes).  A torn last record is an error: the
    shim writes each record whole."""
    out = []
    off = 0
    n = len(data)
    while off < n:
        if n - off < HEADER.size:
            raise TraceError("torn record header at offset %d" % off)
        magic, length, op, pid, tid, err, ret, ts = HEADER.unpack_from(
            data, off)
        if magic != MAGIC or length < HEADER.size or off + length > n:
            raise TraceError("bad record at offset %d (magic %#x, length "
                             "%d)" % (off, magic, length))
        r = Record(len(out), op, pid, tid, err, ret, ts)
        p = off + HEADER.size
        end = off + length
        while p < end:
            tag, flen = struct.unpack_from("<II", data, p)
            p += 8
            v = data[p:p + flen]
            p += flen
            if p > end:
                raise TraceError("field overruns record %d" % r.index)
            if tag == T.FUNC:
                r.func = v.decode()
            elif tag == T.COMM:
                r.comm = v.decode("utf-8", "replace")
            elif tag == T.FD:
                r.fd = struct.unpack("<i", v)[0]
            elif tag == T.INODE:
                r.inode = Inode(v)
            elif tag == T.PATH:
                r.path = os.fsdecode(v)
            elif tag == T.PARENT:
                r.parent = Inode(v)
            elif tag == T.PATH2:
                r.path2 = os.fsdecode(v)
            elif tag == T.PARENT2:
                r.parent2 = Inode(v)
            elif tag == T.INODE2:
                r.inode2 = Inode(v)
            elif tag == T.OFFSET:
                r.offset = struct.unpack("<Q", v)[0]
            elif tag == T.LENGTH:
                r.length = struct.unpack("<Q", v)[0]
            elif tag == T.FLAGS:
                r.flags = struct.unpack("<Q", v)[0]
            elif tag == T.DATA:
                r.data = bytes(v)
            elif tag == T.ZERO:
                r.zero = True
            elif tag == T.SYNC:
                r.sync = True
            elif tag == T.FAULT:
                r.fault = struct.unpack("<I", v)[0]
            elif tag == T.CREATED:
                r.created = True
        out.append(r)
        off = end
    return out


def read_trace(path):
    with open(path, "rb") as f:
        return parse_trace(f.read())


# ---------------------------------------------------------- the snapshot

def snapshot(roots):
    """The state of the roots before the run, all of it durable: a dict
    root -> list of (relpath, dev, ino, mode, uid, gid, content), content
    being bytes (files), the target (symlinks) or None (directories)."""
    snap = {}
    for root in roots:
        root = os.path.normpath(os.path.abspath(root))
        items = []
        st = os.lstat(root)
        items.append(("", st.st_dev, st.st_ino, st.st_mode, st.st_uid,
                      st.st_gid, None))
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                rel = os.path.relpath(p, root)
                if stat.S_ISLNK(st.st_mode):
                    content = os.fsencode(os.readlink(p))
                elif stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        content = f.read()
                elif stat.S_ISDIR(st.st_mode):
                    content = None
                else:
                    continue
                items.append((rel, st.st_dev, st.st_ino, st.st_mode,
                              st.st_uid, st.st_gid, content))
        snap[root] = items
    return snap


def save_snapshot(snap, path):
    out = {root: [[rel, dev, ino, mode, uid, gid,
                   None if c is None else base64.b64encode(c).decode()]
                  for rel, dev, ino, mode, uid, gid, c in items]
           for root, items in snap.items()}
    with open(path, "w") as f:
        json.dump(out, f)


def load_snapshot(path):
    with open(path) as f:
        raw = json.load(f)
    return {root: [(rel, dev, ino, mode, uid, gid,
                    None if c is None else base64.b64decode(c))
                   for rel, dev, ino, mode, uid, gid, c in items]
            for root, items in raw.items()}


# -------------------------------------------------------------- the model

class Node:
    """One inode (one life of an inode number)."""

    __slots__ = ("nid", "kind", "mode", "uid", "gid", "durable", "pending",
                 "size", "entries", "dpending", "target", "dhash")

    def __init__(self, nid, kind, mode=0o600, uid=0, gid=0):
        self.nid = nid
        self.kind = kind        # 'f', 'd', 'l'
        self.mode, self.uid, self.gid = mode, uid, gid
        self.durable = b""      # file: contents at the last sync
        self.pending = []       # file: changes since
        self.size = 0           # file: size now
        self.entries = {}       # directory: entries at the last sync
        self.dpending = []      # directory: changes since
        self.target = b""       # symlink
        self.dhash = None       # hash of durable, cached

    def attrs(self, ino):
        self.mode, self.uid, self.gid = ino.mode, ino.uid, ino.gid


def apply_data(base, ops):
    """Contents after ops over base (bytes)."""
    if not ops:
        return base
    buf = bytearray(base)
    for op in ops:
        kind = op[0]
        if kind == "w":
            _, off, length, data = op
            if len(buf) < off:
                buf.extend(bytes(off - len(buf)))
            buf[off:off + length] = data if data is not None else \
                bytes(length)
        elif kind == "t":
            size = op[1]
            if size < len(buf):
                del buf[size:]
            else:
                buf.extend(bytes(size - len(buf)))
        elif kind == "a":
            _, mode, off, length = op
            end = off + length
            if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
                stop = min(end, len(buf))
                if stop > off:
                    buf[off:stop] = bytes(stop - off)
            if not mode & FALLOC_FL_KEEP_SIZE and end > len(buf):
                buf.extend(bytes(end - len(buf)))
    return bytes(buf)


def apply_entries(base, ops):
    """Directory entries after ops over base (dict name -> Node).  A
    rename within the directory whose source is not there (its creation
    was left out of a subset) is left out too: it cannot give the inode a
    second name."""
    if not ops:
        return base
    out = dict(base)
    for op in ops:
        if op[0] == "set":
            out[op[1]] = op[2]
        elif op[0] == "del":
            out.pop(op[1], None)
        else:  # "mv": a rename within the directory, one change
            _, old, new, node, other = op
            if out.get(old) is not node or (
                    other is not None and out.get(new) is not other):
                continue
            if other is not None:       # exchanged
                out[old] = other
            else:
                del out[old]
            out[new] = node
    return out


class Entry:
    """One name in a crash state."""

    __slots__ = ("rel", "kind", "mode", "uid", "gid", "content", "link")

    def __init__(self, rel, kind, mode, uid, gid, content, link):
        self.rel, self.kind = rel, kind
        self.mode, self.uid, self.gid = mode, uid, gid
        self.content = content  # bytes (file, symlink target) or None
        self.link = link        # earlier rel of the same inode, or None


class State:
    """What the roots hold in one crash state: per root, entries in walk
    order (a directory before what it holds)."""

    def __init__(self, cut, model):
        self.cut = cut
        self.model = model
        self.roots = {}  # root -> list of Entry
        self._digest = None

    def files(self, root):
        """rel -> contents of the regular files under root (every name of
        a file with several)."""
        out = {}
        for e in self.roots.get(root, []):
            if e.kind == "f":
                out[e.rel] = out[e.link] if e.link is not None else \
                    e.content
        return out

    def digest(self):
        if self._digest is None:
            h = hashlib.sha256()
            for i, root in enumerate(sorted(self.roots)):
                for e in sorted(self.roots[root], key=lambda e: e.rel):
                    c = b"" if e.content is None else e.content
                    h.update(("%d\0%s\0%s\0%o\0%d\0%d\0%s\0" % (
                        i, e.rel, e.kind, e.mode, e.uid, e.gid,
                        e.link or "")).encode("utf-8", "surrogateescape"))
                    h.update(hashlib.sha256(c).digest())
            self._digest = h.hexdigest()
        return self._digest

    def materialize(self, mapping):
        """Create the state's files: mapping says where each root goes
        (root -> new path; the new path must not exist or be empty)."""
        as_root = os.geteuid() == 0
        for root, entries in self.roots.items():
            dest = mapping[root]
            os.makedirs(dest, exist_ok=True)
            dirs = []
            for e in entries:
                p = os.path.join(dest, e.rel) if e.rel else dest
                if e.kind == "d":
                    if e.rel:
                        os.mkdir(p, 0o700)
                    dirs.append((p, e))
                    continue
                if e.link is not None:
                    os.link(os.path.join(dest, e.link), p)
                    continue
                if e.kind == "l":
                    os.symlink(os.fsdecode(e.content), p)
                    if as_root:
                        os.lchown(p, e.uid, e.gid)
                    continue
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             stat.S_IMODE(e.mode))
                try:
                    view = memoryview(e.content)
                    while view:
                        view = view[os.write(fd, view):]
                    if as_root:
                        os.fchown(fd, e.uid, e.gid)
                    os.fchmod(fd, stat.S_IMODE(e.mode))
                finally:
                    os.close(fd)
            for p, e in reversed(dirs):
                if as_root:
                    os.chown(p, e.uid, e.gid)
                os.chmod(p, stat.S_IMODE(e.mode))


class Model:
    """The file system as the trace has it, record after record."""

    def __init__(self, snap):
        self.nodes = {}        # (dev, ino) -> Node (its current life)
        self.roots = {}        # root path -> Node
        self.next_nid = 0
        self.warnings = []
        self.position = -1     # index of the last record applied
        for root, items in snap.items():
            by_rel = {}
            for rel, dev, ino, mode, uid, gid, content in items:
                key = (dev, ino)
                node = self.nodes.get(key)
                if node is None:
                    kind = ("d" if stat.S_ISDIR(mode) else
                            "l" if stat.S_ISLNK(mode) else "f")
                    node = self._new(key, kind, mode, uid, gid)
                    if kind == "f":
                        node.durable = content
                        node.size = len(content)
                    elif kind == "l":
                        node.target = content
                by_rel[rel] = node
                if rel == "":
                    self.roots[root] = node
                else:
                    parent = by_rel[os.path.dirname(rel)]
                    parent.entries[os.path.basename(rel)] = node

    # ---------------------------------------------------------- helpers

    def _new(self, key, kind, mode=0o600, uid=0, gid=0):
        node = Node(self.next_nid, kind, mode, uid, gid)
        self.next_nid += 1
        self.nodes[key] = node
        return node

    def warn(self, rec, text):
        if len(self.warnings) < 200:
            self.warnings.append("%s: %s" % (rec.describe(), text))

    def _node(self, rec, ino, kind="f"):
        """The node of a recorded inode; one appears for an inode the
        trace did not see born (contents unknown: empty)."""
        node = self.nodes.get(ino.key)
        if node is None:
            self.warn(rec, "%r was never seen created" % ino)
            node = self._new(ino.key, "d" if stat.S_ISDIR(ino.mode) else
                             kind)
        node.attrs(ino)
        return node

    def _dir(self, rec, ino, path):
        if ino is None:
            self.warn(rec, "no directory recorded for %s" % path)
            return None
        node = self.nodes.get(ino.key)
        if node is None:
            self.warn(rec, "directory of %s is outside the roots" % path)
        return node

    def _flush_data(self, node):
        if node.pending:
            node.durable = apply_data(node.durable, node.pending)
            node.pending = []
            node.dhash = None

    def _flush_dir(self, node):
        if node.dpending:
            node.entries = apply_entries(node.entries, node.dpending)
            node.dpending = []

    def _data(self, rec, node, op):
        node.pending.append(op)
        if op[0] == "w":
            node.size = max(node.size, op[1] + op[2])
        elif op[0] == "t":
            node.size = op[1]
        elif op[0] == "a" and not op[1] & FALLOC_FL_KEEP_SIZE:
            node.size = max(node.size, op[2] + op[3])
        if rec.inode is not None and rec.inode.size != node.size:
            self.warn(rec, "size %d after it, the model has %d" % (
                rec.inode.size, node.size))

    def _is_root(self, path):
        return path in self.roots

    # ------------------------------------------------------- replaying

    def apply(self, rec):
        """Apply one record (failed calls change nothing)."""
        self.position = rec.index
        if rec.err:
            return
        op = rec.op
        if op == O.OPEN:
            if rec.inode is None:
                return self.warn(rec, "no inode")
            if rec.created:
                node = self._new(rec.inode.key, "f")
                node.attrs(rec.inode)
                parent = self._dir(rec, rec.parent, rec.path)
                if parent is not None:
                    parent.dpending.append(
                        ("set", os.path.basename(rec.path), node))
            elif (rec.flags or 0) & O_TRUNC:
                node = self._node(rec, rec.inode)
                self._data(rec, node, ("t", 0))
        elif op == O.TMPFILE:
            if rec.inode is None:
                return self.warn(rec, "no inode")
            node = self._new(rec.inode.key, "f")
            node.attrs(rec.inode)
        elif op == O.WRITE:
            if rec.inode is None or rec.length is None:
                return self.warn(rec, "no inode or length")
            node = self._node(rec, rec.inode)
            if rec.data is None and not rec.zero:
                self.warn(rec, "written bytes unknown (read as zeros)")
            self._data(rec, node, ("w", rec.offset, rec.length,
                                   rec.data if not rec.zero else None))
            if rec.sync:
                self._flush_data(node)
        elif op == O.TRUNCATE:
            node = self._node(rec, rec.inode)
            self._data(rec, node, ("t", rec.length))
        elif op == O.FALLOCATE:
            node = self._node(rec, rec.inode)
            self._data(rec, node, ("a", rec.flags or 0, rec.offset,
                                   rec.length))
        elif op in (O.FSYNC, O.FDATASYNC):
            if rec.inode is None:
                return self.warn(rec, "no inode")
            node = self._node(rec, rec.inode)
            if node.kind == "d":
                self._flush_dir(node)
            else:
                self._flush_data(node)
        elif op in (O.SYNC, O.SYNCFS):
            dev = rec.inode.dev if (op == O.SYNCFS and rec.inode) else None
            for key, node in self.nodes.items():
                if dev is None or key[0] == dev:
                    self._flush_data(node)
                    self._flush_dir(node)
        elif op == O.LINK:
            if rec.inode is None:
                return self.warn(rec, "no inode")
            node = self._node(rec, rec.inode)
            parent = self._dir(rec, rec.parent, rec.path)
            if parent is not None:
                parent.dpending.append(
                    ("set", os.path.basename(rec.path), node))
        elif op == O.RENAME:
            self._rename(rec)
        elif op in (O.UNLINK, O.RMDIR):
            parent = self._dir(rec, rec.parent, rec.path)
            if parent is not None:
                parent.dpending.append(
                    ("del", os.path.basename(rec.path)))
        elif op in (O.MKDIR, O.SYMLINK):
            if rec.inode is None:
                return self.warn(rec, "no inode")
            node = self._new(rec.inode.key, "d" if op == O.MKDIR else "l")
            node.attrs(rec.inode)
            if op == O.SYMLINK:
                node.target = rec.data or b""
            if self._is_root(rec.path):
                self.roots[rec.path] = node
                return
            parent = self._dir(rec, rec.parent, rec.path)
            if parent is not None:
                parent.dpending.append(
                    ("set", os.path.basename(rec.path), node))
        elif op == O.ATTR:
            if rec.inode is not None and rec.inode.key in self.nodes:
                self.nodes[rec.inode.key].attrs(rec.inode)

    def _rename(self, rec):
        exchange = (rec.flags or 0) & RENAME_EXCHANGE
        node = self.nodes.get(rec.inode.key) if rec.inode else None
        other = self.nodes.get(rec.inode2.key) if (
            exchange and rec.inode2) else None
        src = self.nodes.get(rec.parent.key) if rec.parent else None
        dst = self.nodes.get(rec.parent2.key) if rec.parent2 else None
        if node is None:
            return self.warn(rec, "renamed inode unknown")
        if rec.inode:
            node.attrs(rec.inode)
        old = os.path.basename(rec.path)
        new = os.path.basename(rec.path2)
        if src is not None and src is dst:
            src.dpending.append(("mv", old, new, node, other))
            return
        if src is not None:
            src.dpending.append(("set", old, other) if other else
                                ("del", old))
        elif rec.path and rec.path != "":
            self.warn(rec, "renamed from outside the roots")
        if dst is not None:
            dst.dpending.append(("set", new, node))

    def replay(self, records, upto):
        """Apply records up to index upto (inclusive)."""
        for rec in records[self.position + 1:upto + 1]:
            self.apply(rec)

    # ------------------------------------------------------ crash states

    def state(self, model, seed=None):
        """The crash state right after the last record applied."""
        st = State(self.position, model)
        rng = None
        if model.startswith("subset"):
            rng = random.Random("%s:%d:%s" % (seed, self.position, model))
        for root, node in self.roots.items():
            out = []
            self._walk(node, "", model, rng, out, {}, set())
            st.roots[root] = out
        return st

    def _entries(self, node, model, rng):
        if model == "durable":
            return node.entries
        if model in ("meta", "meta-size", "all"):
            return apply_entries(node.entries, node.dpending)
        kept = [op for op in node.dpending if rng.random() < 0.5]
        return apply_entries(node.entries, kept)

    def _content(self, node, model, rng):
        if node.kind == "l":
            return node.target
        if model == "durable" or model == "meta" or not node.pending:
            return node.durable
        if model == "meta-size":
            d = node.durable
            if node.size <= len(d):
                return d[:node.size]
            return d + bytes(node.size - len(d))
        if model == "all":
            return apply_data(node.durable, node.pending)
        kept = [op for op in node.pending if rng.random() < 0.5]
        return apply_data(node.durable, kept)

    def _walk(self, node, rel, model, rng, out, seen, onpath):
        out.append(Entry(rel, "d", node.mode, node.uid, node.gid, None,
                         None))
        onpath.add(node.nid)
        entries = self._entries(node, model, rng)
        for name in sorted(entries):
            child = entries[name]
            crel = os.path.join(rel, name) if rel else name
            if child.kind == "d":
                if child.nid in onpath or child.nid in seen:
                    continue  # a loop or a second name: not a tree
                seen[child.nid] = crel
                self._walk(child, crel, model, rng, out, seen, onpath)
                continue
            if child.nid in seen:
                first = seen[child.nid]
                out.append(Entry(crel, child.kind, child.mode, child.uid,
                                 child.gid, None, first))
                continue
            seen[child.nid] = crel
            out.append(Entry(crel, child.kind, child.mode, child.uid,
                             child.gid, self._content(child, model, rng),
                             None))
        onpath.discard(node.nid)


# ------------------------------------------------------------- cut points

SYNC_OPS = (O.FSYNC, O.FDATASYNC, O.SYNC, O.SYNCFS)
ENTRY_OPS = (O.LINK, O.RENAME)


def interesting(records, ops=SYNC_OPS + ENTRY_OPS):
    """Indexes of the successful records of those operations."""
    return [r.index for r in records if r.op in ops and not r.err]


def choose_cuts(records, n_around, n_other, seed, where=None):
    """Cut points: just before and just after records of syncs, links and
    renames (those for which where(record) is true, all by default),
    n_around of them, evenly spread and shuffled by seed; plus n_other
    sampled among the remaining indexes.  Sorted, without repeats.  A
    cut k means: the power went off right after record k (k = -1: before
    the first)."""
    rnd = random.Random(seed)
    around = set()
    for i in interesting(records):
        if where is None or where(records[i]):
            around.add(i - 1)
            around.add(i)
    around = sorted(around)
    if len(around) > n_around:
        step = len(around) / float(n_around)
        picked = {around[min(len(around) - 1,
                             int(j * step + rnd.random() * step))]
                  for j in range(n_around)}
    else:
        picked = set(around)
    others = [k for k in range(-1, len(records)) if k not in picked]
    rnd.shuffle(others)
    picked.update(others[:n_other])
    return sorted(picked)


class Clock:
    """Orders outside events (a client's replies, CLOCK_MONOTONIC) against
    the cut points of a trace."""

    def __init__(self, records):
        n = len(records)
        self.suffix_min = [float("inf")] * (n + 1)
        for i in range(n - 1, -1, -1):
            self.suffix_min[i] = min(records[i].ts, self.suffix_min[i + 1])

    def before_cut(self, k, t_ns):
        """True if an event at t_ns (taken after the event, e.g. after a
        reply arrived) certainly came before the power went off right
        after record k: every record that happened before the event is
        then in records[0..k].  Records carry the time taken after their
        call; those of different threads may be out of time order, hence
        the minimum over all later records."""
        return t_ns < self.suffix_min[k + 1]


def crash_states(records, snap, cuts, models=MODELS, seed=0):
    """Yield (cut, State) for each cut point and model, in cut order.
    models: a list of model names, or a function of the cut giving one."""
    m = Model(snap)
    for k in sorted(cuts):
        m.replay(records, k)
        for name in (models(k) if callable(models) else models):
            yield k, m.state(name, seed)


# -------------------------------------------------------------------- CLI

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--list", action="store_true", help="print the records")
    ap.add_argument("--snapshot", help="snapshot JSON (save_snapshot)")
    ap.add_argument("--cut", type=int, help="power lost after this record")
    ap.add_argument("--model", default="durable")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--out", help="where to build the state")
    ap.add_argument("--map", action="append", default=[],
                    help="ROOT=NEWPATH (default: OUT/<root's name>)")
    args = ap.parse_args()
    records = read_trace(args.trace)
    if args.list:
        for r in records:
            print("%d %s" % (r.ts, r.describe()))
        return 0
    if args.snapshot is None or args.cut is None or args.out is None:
        ap.error("--snapshot, --cut and --out build a state")
    snap = load_snapshot(args.snapshot)
    m = Model(snap)
    m.replay(records, args.cut)
    st = m.state(args.model, args.seed)
    mapping = {root: os.path.join(args.out, os.path.basename(root))
               for root in snap}
    for spec in args.map:
        old, new = spec.split("=", 1)
        mapping[old] = new
    st.materialize(mapping)
    for w in m.warnings:
        print("warning: " + w)
    print("state after record %d (%s), model %s: %s" % (
        args.cut, records[args.cut].describe() if args.cut >= 0 else
        "before the first", args.model, st.digest()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
