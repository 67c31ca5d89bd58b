#!/usr/bin/env python3
"""The reply table of ternd(8), made from the reply catalog.

    scripts/replies.py           print the table (mdoc)
    scripts/replies.py --write   put it into doc/ternd.8

src/smtp/smtp_reply.h declares every reply the SMTP server sends, as
X(name, code, esc, counts, args, text, when) entries of SMTP_REPLIES(X).
The table in doc/ternd.8 sits between the lines ".\\" BEGIN REPLIES" and
".\\" END REPLIES"; tests/doc/check_replies.py (make check-docs) fails when
it is not what this script makes of the catalog.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "src" / "smtp" / "smtp_reply.h"
PAGE = ROOT / "doc" / "ternd.8"
BEGIN = '.\\" BEGIN REPLIES'
END = '.\\" END REPLIES'
FIELDS = ["name", "code", "esc", "counts", "args", "text", "when"]


def _tokens(text):
    tok_re = re.compile(
        r'\s+|/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z0-9_.]+|.', re.S
    )
    pos = 0
    while pos < len(text):
        m = tok_re.match(text, pos)
        tok = m.group(0)
        pos = m.end()
        if tok.isspace() or tok.startswith("/*") or tok.startswith("//"):
            continue
        yield tok


def _string(lit):
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "'": "'"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)),
                  lit[1:-1])


def _value(toks):
    if toks and all(t.startswith('"') for t in toks):
        return "".join(_string(t) for t in toks)
    if toks == ["NULL"]:
        return None
    if len(toks) == 1 and re.fullmatch(r"\d+", toks[0]):
        return int(toks[0])
    if len(toks) == 1 and re.fullmatch(r"\w+", toks[0]):
        return toks[0]
    raise ValueError("cannot read argument: " + " ".join(toks))


def read_catalog(path=CATALOG):
    """The X() entries of SMTP_REPLIES, as dicts, in declaration order."""
    text = path.read_text()
    m = re.search(r"#define\s+SMTP_REPLIES\(X\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if not m:
        raise SystemExit(f"{path}: no SMTP_REPLIES(X) definition found")
    toks = list(_tokens(m.group(1).replace("\\\n", "\n")))
    entries, i = [], 0
    while i < len(toks):
        if toks[i] != "X" or i + 1 >= len(toks) or toks[i + 1] != "(":
            i += 1
            continue
        i += 2
        depth, args, cur = 0, [], []
        while i < len(toks):
            t = toks[i]
            i += 1
            if t == "(":
                depth += 1
            elif t == ")":
                if depth == 0:
                    break
                depth -= 1
            if t == "," and depth == 0:
                args.append(cur)
                cur = []
            else:
                cur.append(t)
        args.append(cur)
        if len(args) != len(FIELDS):
            raise SystemExit(f"{path}: an X() entry has {len(args)} "
                             f"arguments, expected {len(FIELDS)}: {args[:1]}")
        entries.append(dict(zip(FIELDS, (_value(a) for a in args))))
    if not entries:
        raise SystemExit(f"{path}: SMTP_REPLIES declares no reply")
    return entries


def _text_line(s):
    """A line of text for roff: backslashes escaped, no leading dot."""
    s = s.replace("\\", "\\e")
    if s.startswith(".") or s.startswith("'"):
        s = "\\&" + s
    return s


def reply_line(e):
    """The reply as the client sees it, each %s as its argument's name."""
    names = iter(a.upper() for a in e["args"].split())
    text = re.sub(r"%(.)", lambda m: "%" if m.group(1) == "%"
                  else next(names), e["text"])
    head = str(e["code"]) + (" " + e["esc"] if e["esc"] else "")
    return head + " " + text


def render(entries):
    """The mdoc lines of the table, markers included."""
    out = [BEGIN,
           '.\\" Made by scripts/replies.py from src/smtp/smtp_reply.h: '
           'edit those, not this.',
           ".Bl -tag -width Ds"]
    for e in entries:
        out.append(".It Dv " + e["name"])
        out.append(".Bd -literal -compact")
        out.append(_text_line(reply_line(e)))
        out.append(".Ed")
        # One sentence a line, as mdoc wants.
        for sentence in re.split(r"(?<=\.)\s+(?=[A-Z])", e["when"]):
            out.append(_text_line(sentence))
        if e["counts"]:
            out.append("Counts towards")
            out.append(".Ic error_limit .")
    out.append(".El")
    out.append(END)
    return out


def page_block(lines):
    """(start, end) indexes of the table in the page's lines, markers
    included, or None."""
    try:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
    except ValueError:
        return None
    return start, end


def main(argv):
    if argv not in ([], ["--write"]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    table = render(read_catalog())
    if not argv:
        print("\n".join(table))
        return 0
    lines = PAGE.read_text().split("\n")
    where = page_block(lines)
    if where is None:
        print(f"{PAGE}: no lines {BEGIN!r} ... {END!r} to replace",
              file=sys.stderr)
        return 1
    lines[where[0]:where[1] + 1] = table
    PAGE.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
