#!/usr/bin/env python3
"""The ledger's files call one another in one direction only.

Reads the table under "## Inside the ledger" in docs/ledger.md (one row per
level, top level first, the level's files in backticks in its second column) and, with nm, the
symbols each src/ledger file's object defines and references. A file may
reference a symbol defined in another ledger file only when that file is on
a lower level: never above, never beside. Every ledger object must be in the
table. Prints TAP.

usage: ledger_files.py SOURCE_ROOT BUILD_ROOT
"""
import glob
import os
import re
import subprocess
import sys


def levels_from_doc(path):
    """The files of each row (second column) of the doc's table, top row first."""
    rows, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == "## Inside the ledger"
                continue
            if not inside or not line.startswith("|") or set(line.strip()) <= set("|-: "):
                continue
            cells = line.split("|")
            files = re.findall(r"`([a-z0-9_]+)\.c`", cells[2]) if len(cells) > 3 else []
            if files:
                rows.append(files)
    return rows


def symbols(obj, nm):
    """(defined global symbols, undefined symbols) of an object file."""
    out = subprocess.run([nm, "-P", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    src, build = sys.argv[1], sys.argv[2]
    nm = os.environ.get("NM", "nm")
    rows = levels_from_doc(os.path.join(src, "docs", "ledger.md"))
    objs = {}
    for obj in sorted(glob.glob(os.path.join(build, "src", "libbackfill*.p", "ledger_*.o"))):
        name = os.path.basename(obj)[len("ledger_"):].split(".")[0]
        objs.setdefault(name, obj)  # one object per source file
    tests, fails = [], 0
    if not rows:
        tests.append((False, "docs/ledger.md has a table under '## Inside the ledger'", []))
    if not objs:
        tests.append((False, "ledger objects found under %s/src/libbackfill*.p" % build, []))
    level = {}
    for i, files in enumerate(rows):
        for name in files:
            level[name] = len(rows) - i  # the top row is the highest level
    defined_in = {}
    syms = {}
    for name, obj in objs.items():
        syms[name] = symbols(obj, nm)
        for sym in syms[name][0]:
            defined_in[sym] = name
    for name in sorted(objs):
        if name not in level:
            tests.append((False, "%s.c is placed in the table of docs/ledger.md" % name, []))
            continue
        bad = []
        for sym in sorted(syms[name][1]):
            owner = defined_in.get(sym)
            if owner and owner != name and level.get(owner, 0) >= level[name]:
                where = "above" if level.get(owner, 0) > level[name] else "beside"
                bad.append("%s.c calls %s, defined in %s.c (%s it)" % (name, sym, owner, where))
        tests.append((not bad, "%s.c calls only files below it" % name, bad))
    print("1..%d" % len(tests))
    for n, (ok, what, notes) in enumerate(tests, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
        for note in notes:
            print("#   " + note)
        fails += not ok
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
