#!/usr/bin/env python3
"""Check that the manual pages keep up with the code.

doc/tern.conf.5 must document every parameter declared in
src/conf/conf_params.h, and nothing else, in the same order, each with
the declared type, default, default without a configuration file, limits
and (for choices) allowed words.  doc/ternd.8 must document exactly the
options ternd accepts.  When mandoc is installed, both pages must also be
free of mandoc warnings and errors ("mandoc -T lint -W warning").

Exits 0 when everything agrees, 1 after printing each disagreement as
what was expected (from the code) and what was found (in the page).

The page layout this relies on, inside ".Sh PARAMETERS" of tern.conf.5:

    .It Ic name Ar type
    Default:
    .Ql value .            (or the text "Default: empty.")
    Without a configuration file:
    .Ql value .            (only where conf_params.h declares one)
    Range:
    .Ql min
    to
    .Ql max .              (numbers, sizes and times with limits)
    At most N characters.  (strings with a length limit)

and for a choice parameter a nested list with one ".It Cm word" per
allowed word.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARAMS_H = ROOT / "src" / "conf" / "conf_params.h"
CONF_PAGE = ROOT / "doc" / "tern.conf.5"
DAEMON_PAGE = ROOT / "doc" / "ternd.8"
TERND_C = ROOT / "src" / "ternd.c"

# conf_params.h type -> the type word the page uses after the name.
TYPE_WORDS = {
    "STR": "string",
    "LIST": "list",
    "ADDRS": "addresses",
    "PATH": "path",
    "NETS": "networks",
    "INT": "number",
    "SIZE": "size",
    "TIME": "time",
    "BOOL": "boolean",
    "ENUM": "choice",
}

# ------------------------------------------------------------ the header


def _c_tokens(text):
    """Tokens of C source: string literals, identifiers/numbers, punctuation."""
    pos = 0
    tok_re = re.compile(
        r'\s+|/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z0-9_]+|.', re.S
    )
    while pos < len(text):
        m = tok_re.match(text, pos)
        tok = m.group(0)
        pos = m.end()
        if tok.isspace() or tok.startswith("/*") or tok.startswith("//"):
            continue
        yield tok


def _c_string(lit):
    body = lit[1:-1]
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "'": "'"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


def _c_value(tokens):
    """One macro argument (a list of tokens) as a Python value."""
    if not tokens:
        raise ValueError("empty argument")
    if all(t.startswith('"') for t in tokens):
        return "".join(_c_string(t) for t in tokens)
    if tokens == ["NULL"]:
        return None
    if len(tokens) == 1:
        m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", tokens[0])
        if m:
            return int(m.group(1), 0)
        return tokens[0]
    raise ValueError("cannot read argument: " + " ".join(tokens))


def read_params(path):
    """The X(...) entries of CONF_PARAMS, as dicts, in declaration order."""
    text = path.read_text()
    m = re.search(r"#define\s+CONF_PARAMS\(X\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if not m:
        raise SystemExit(f"{path}: no CONF_PARAMS(X) definition found")
    body = m.group(1).replace("\\\n", "\n")
    toks = list(_c_tokens(body))
    fields = ["name", "type", "default", "nofile", "min", "max", "choices", "doc"]
    params = []
    i = 0
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
        if len(args) != len(fields):
            raise SystemExit(
                f"{path}: an X() entry has {len(args)} arguments, "
                f"expected {len(fields)}: {args[:1]}"
            )
        p = dict(zip(fields, (_c_value(a) for a in args)))
        params.append(p)
    if not params:
        raise SystemExit(f"{path}: CONF_PARAMS declares no parameter")
    return params


# --------------------------------------------------------------- the page

MACROS = set(
    "Ad An Ap Ar At Bsx Bx Cd Cm Dv Dx Em Er Ev Fa Fl Fn Fr Ft Fx Ic Li Lk "
    "Ms Mt Nm No Ns Nx Ox Pa Pf Sx Sy Tn Ux Va Vt Xr Aq Bq Brq Dq Op Pq Ql "
    "Qq Sq Ao Ac Bo Bc Bro Brc Do Dc Oo Oc Po Pc Qo Qc So Sc Xo Xc Eo Ec".split()
)
DELIMS = set(".,:;)]?!(")


def unescape(s):
    s = s.replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")
    s = s.replace("\\(dq", '"').replace("\\(aq", "'").replace("\\(ga", "`")
    return s


def macro_args(line):
    """Split a macro line's arguments the way mdoc does ("" quotes)."""
    out, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        if line[i] == '"':
            i += 1
            buf = []
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(line[i])
                i += 1
            out.append(("q", unescape("".join(buf))))
        else:
            j = i
            while j < n and line[j] != " ":
                j += 1
            out.append(("w", line[i:j]))
            i = j
    return out


def flatten_line(line):
    """A page line as plain text; Ql arguments come out as 'value'."""
    if line.startswith(".\\\"") or line.startswith("'\\\""):
        return ""
    if not line.startswith("."):
        return unescape(line)
    words, quoting = [], None
    for i, (kind, a) in enumerate(macro_args(line[1:])):
        is_macro = i == 0 or (kind == "w" and a in MACROS)
        if quoting is not None and (is_macro or (kind == "w" and a in DELIMS)):
            words.append("\u2018" + " ".join(quoting) + "\u2019")
            quoting = None
        if is_macro:
            if a == "Ql":
                quoting = []
            continue
        text = a if kind == "q" else unescape(a)
        if quoting is not None:
            quoting.append(text)
        else:
            words.append(text)
    if quoting is not None:
        words.append("\u2018" + " ".join(quoting) + "\u2019")
    return " ".join(words)


def section(lines, name):
    """Lines of ".Sh name" (without the .Sh line), with their line numbers."""
    out, inside = [], False
    for no, line in lines:
        if line.startswith(".Sh "):
            if inside:
                break
            inside = line[4:].strip().strip('"') == name
            continue
        if inside:
            out.append((no, line))
    return out


def list_items(lines):
    """Top-level .It entries of the first list: (lineno, head, body lines)."""
    items, depth, cur = [], 0, None
    for no, line in lines:
        if line.startswith(".Bl"):
            depth += 1
            if depth == 1:
                continue
        elif line.startswith(".El"):
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and line.startswith(".It"):
            cur = (no, line, [])
            items.append(cur)
            continue
        if depth >= 1 and cur is not None:
            cur[2].append((no, line))
    return items


def read_page_params(path):
    lines = list(enumerate(path.read_text().splitlines(), 1))
    sec = section(lines, "PARAMETERS")
    if not sec:
        raise SystemExit(f"{path}: no .Sh PARAMETERS section")
    documented = []
    for no, head, body in list_items(sec):
        m = re.fullmatch(r"\.It Ic (\S+) Ar (\S+)\s*", head)
        if not m:
            documented.append({"line": no, "bad": head})
            continue
        text = " ".join(flatten_line(l) for _, l in body)
        text = re.sub(r"\s+", " ", text)
        entry = {"line": no, "name": m.group(1), "type": m.group(2), "text": text}
        d = re.search(r"Default: (?:\u2018([^\u2019]*)\u2019|(empty)\b)", text)
        entry["default"] = None if d is None else (d.group(1) or "")
        nf = re.search(r"Without a configuration file: \u2018([^\u2019]*)\u2019", text)
        entry["nofile"] = nf.group(1) if nf else None
        r = re.search(r"Range: \u2018([^\u2019]*)\u2019 to \u2018([^\u2019]*)\u2019", text)
        entry["range"] = (r.group(1), r.group(2)) if r else None
        ml = re.search(r"At most (\d+) characters?\b", text)
        entry["maxlen"] = int(ml.group(1)) if ml else None
        choices, depth = [], 0
        for _, l in body:
            if l.startswith(".Bl"):
                depth += 1
            elif l.startswith(".El"):
                depth -= 1
            elif depth == 1:
                c = re.fullmatch(r"\.It Cm (\S+)\s*", l)
                if c:
                    choices.append(unescape(c.group(1)))
        entry["choices"] = choices
        documented.append(entry)
    return documented


# ------------------------------------------------------------ the values


def parse_number(ptype, text):
    """A limit as written in the page, in the unit conf_params.h uses."""
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", text)
    if not m:
        return None
    v, unit = int(m.group(1)), m.group(2).lower()
    if ptype == "INT":
        return v if unit == "" else None
    if ptype == "SIZE":
        mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
                "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
    else:  # TIME, kept in milliseconds; no unit means seconds
        mult = {"": 1000, "ms": 1, "s": 1000, "m": 60000, "h": 3600000,
                "d": 86400000}
    return v * mult[unit] if unit in mult else None


def show(v):
    return "(none)" if v is None else repr(v)


def compare(params, documented):
    problems = []

    def bad(where, what, expected, found):
        problems.append(
            f"{CONF_PAGE.relative_to(ROOT)}:{where}: {what}\n"
            f"    expected: {expected}\n"
            f"    found:    {found}"
        )

    declared = {p["name"]: p for p in params}
    seen = {}
    for e in documented:
        if "bad" in e:
            bad(e["line"], "a PARAMETERS entry not of the form "
                "'.It Ic name Ar type'", ".It Ic <name> Ar <type>", e["bad"])
            continue
        if e["name"] in seen:
            bad(e["line"], f"{e['name']} documented twice",
                "one entry", f"entries at lines {seen[e['name']]} and {e['line']}")
        seen.setdefault(e["name"], e["line"])
        if e["name"] not in declared:
            bad(e["line"], f"{e['name']} is documented but not declared in "
                f"{PARAMS_H.relative_to(ROOT)}", "(no such parameter)", e["name"])
    docs = {e["name"]: e for e in documented if "name" in e}
    for p in params:
        if p["name"] not in docs:
            bad("PARAMETERS", f"{p['name']} is declared in "
                f"{PARAMS_H.relative_to(ROOT)} but not documented",
                f".It Ic {p['name']} Ar {TYPE_WORDS.get(p['type'], '?')}",
                "(missing)")
    order_decl = [p["name"] for p in params if p["name"] in docs]
    order_doc = [e["name"] for e in documented
                 if "name" in e and e["name"] in declared]
    order_doc = list(dict.fromkeys(order_doc))
    if order_decl != order_doc:
        bad("PARAMETERS", "parameters are not in the order of "
            f"{PARAMS_H.relative_to(ROOT)}", " ".join(order_decl),
            " ".join(order_doc))

    for p in params:
        e = docs.get(p["name"])
        if e is None:
            continue
        name, line, ptype = p["name"], e["line"], p["type"]
        want_type = TYPE_WORDS.get(ptype)
        if e["type"] != want_type:
            bad(line, f"{name}: type", want_type, e["type"])
        if e["default"] is None:
            bad(line, f"{name}: no 'Default:' line", repr(p["default"]), "(none)")
        elif e["default"] != p["default"]:
            bad(line, f"{name}: default", repr(p["default"]), repr(e["default"]))
        if e["nofile"] != p["nofile"]:
            bad(line, f"{name}: default without a configuration file",
                show(p["nofile"]), show(e["nofile"]))
        has_range = ptype in ("INT", "SIZE", "TIME") and (p["min"] or p["max"])
        if has_range:
            if e["range"] is None:
                bad(line, f"{name}: no 'Range:' line",
                    f"{p['min']} to {p['max']}", "(none)")
            else:
                lo = parse_number(ptype, e["range"][0])
                hi = parse_number(ptype, e["range"][1])
                if (lo, hi) != (p["min"], p["max"]):
                    unit = " (ms)" if ptype == "TIME" else ""
                    bad(line, f"{name}: range{unit}",
                        f"{p['min']} to {p['max']}",
                        f"{e['range'][0]} to {e['range'][1]} = {lo} to {hi}")
        elif e["range"] is not None:
            bad(line, f"{name}: range documented but not declared",
                "(no range)", f"{e['range'][0]} to {e['range'][1]}")
        want_len = p["max"] if ptype == "STR" and p["max"] else None
        if e["maxlen"] != want_len:
            bad(line, f"{name}: length limit ('At most N characters')",
                show(want_len), show(e["maxlen"]))
        want_choices = p["choices"].split("|") if p["choices"] else []
        if ptype == "ENUM" or e["choices"]:
            if sorted(e["choices"]) != sorted(want_choices):
                bad(line, f"{name}: allowed words ('.It Cm word' entries)",
                    " ".join(want_choices), " ".join(e["choices"]) or "(none)")
    return problems


# ------------------------------------------------------------ ternd(8)


def check_options():
    """ternd(8) OPTIONS-style list vs the options ternd's main() handles."""
    problems = []
    src = TERND_C.read_text()
    m = re.search(r'getopt\(\s*argc\s*,\s*argv\s*,\s*"([^"]*)"\s*\)', src)
    if not m:
        return [f"{TERND_C.relative_to(ROOT)}: no getopt() call found"]
    letters = [c for c in m.group(1) if c != ":"]
    handled = {c for c in letters if re.search(r"case\s+'%s'\s*:" % re.escape(c), src)}
    lines = DAEMON_PAGE.read_text().splitlines()
    desc = section(list(enumerate(lines, 1)), "DESCRIPTION")
    documented = set()
    for _, head, _ in list_items(desc):
        o = re.match(r"\.It Fl (\w)\b", head)
        if o:
            documented.add(o.group(1))
    page = DAEMON_PAGE.relative_to(ROOT)
    for c in sorted(handled - documented):
        problems.append(f"{page}: option -{c} is handled in "
                        f"{TERND_C.relative_to(ROOT)} but not documented\n"
                        f"    expected: .It Fl {c}\n    found:    (missing)")
    for c in sorted(documented - handled):
        problems.append(f"{page}: option -{c} is documented but ternd does "
                        f"not handle it\n    expected: (no such option)\n"
                        f"    found:    .It Fl {c}")
    return problems


def lint():
    """mandoc warnings and errors; style messages are printed, not fatal."""
    mandoc = shutil.which("mandoc")
    if mandoc is None:
        print("check_params: mandoc not installed; skipping the lint check "
              "(apt-get install mandoc)")
        return []
    problems = []
    for page in (DAEMON_PAGE, CONF_PAGE):
        r = subprocess.run([mandoc, "-T", "lint", "-W", "warning", str(page)],
                           capture_output=True, text=True, cwd=ROOT)
        out = (r.stdout + r.stderr).strip()
        if out:
            problems.append(f"mandoc -T lint -W warning "
                            f"{page.relative_to(ROOT)}:\n    expected: no "
                            f"warnings\n    found:\n" +
                            "\n".join("      " + l for l in out.splitlines()))
    return problems


def main():
    params = read_params(PARAMS_H)
    problems = compare(params, read_page_params(CONF_PAGE))
    problems += check_options()
    problems += lint()
    for p in problems:
        print(p)
    if problems:
        print(f"check_params: {len(problems)} problem"
              f"{'' if len(problems) == 1 else 's'}")
        return 1
    print(f"check_params: {len(params)} parameters documented in "
          f"{CONF_PAGE.relative_to(ROOT)}; ternd(8) options complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
