#!/usr/bin/env python3
"""Check that ternd(8)'s reply table is the reply catalog.

The list between ".\\" BEGIN REPLIES" and ".\\" END REPLIES" in doc/ternd.8
must be exactly what scripts/replies.py makes of src/smtp/smtp_reply.h
(run "scripts/replies.py --write" after changing the catalog).  Exits 0
when they agree, 1 after printing each line that differs, as what was
expected (from the catalog) and what was found (in the page).
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "replies", ROOT / "scripts" / "replies.py")
replies = importlib.util.module_from_spec(spec)
spec.loader.exec_module(replies)


def main():
    want = replies.render(replies.read_catalog())
    lines = replies.PAGE.read_text().split("\n")
    where = replies.page_block(lines)
    page = replies.PAGE.relative_to(ROOT)
    if where is None:
        print(f"{page}: expected the reply table between "
              f"{replies.BEGIN!r} and {replies.END!r}; found no such lines")
        return 1
    got = lines[where[0]:where[1] + 1]
    problems = []
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "(nothing)"
        g = got[i] if i < len(got) else "(nothing)"
        if w != g:
            problems.append(f"{page}:{where[0] + i + 1}: reply table\n"
                            f"    expected: {w}\n    found:    {g}")
    if problems:
        print("\n".join(problems[:20]))
        if len(problems) > 20:
            print(f"... and {len(problems) - 20} more")
        print(f"{len(problems)} line(s) of the reply table differ from "
              f"{replies.CATALOG.relative_to(ROOT)}; run "
              f"scripts/replies.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
