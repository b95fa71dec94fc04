#!/usr/bin/env python3
"""The module layering of docs/architecture.md, checked on the built objects.

Reads the two tables of docs/architecture.md: the modules (layer, module,
sources, may use) and the rules within modules (files, must not use). Then
runs `nm` over every object file compiled from the library's and the
command's sources (found through the build directory's
compile_commands.json), works out which source file defines each global
symbol, and reports, as TAP:

- the table itself: every module it names exists, and a module may use only
  modules on lower layers (so the table cannot describe a cycle);
- every compiled source file belongs to a module;
- per module: it references no symbol defined by a module it may not use;
- per rule: its files reference no symbol defined by what they must not use.

usage: layering.py SOURCE_ROOT BUILD_ROOT [docs/architecture.md]
"""
import fnmatch
import json
import os
import re
import subprocess
import sys


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def find_table(lines, header):
    """The body rows of the first Markdown table whose header row is `header`."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|") and [c.lower() for c in cells(line)] == header:
            rows = []
            for row in lines[i + 2:]:
                if not row.lstrip().startswith("|"):
                    break
                rows.append(cells(row))
            return rows
    return None


def words(cell):
    """`a` `b`, c, d -> [a, b, c, d]"""
    return [w for w in re.split(r"[\s,`]+", cell) if w]


def parse_doc(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    mods = find_table(lines, ["layer", "module", "sources", "may use"])
    if mods is None:
        sys.exit(f"Bail out! {path} has no table with the header | layer | module | sources | may use |")
    modules = {}
    for layer, name, sources, may_use in mods:
        modules[name] = {"layer": int(layer), "sources": words(sources), "may_use": words(may_use)}
    rules = []
    for row in find_table(lines, ["files", "must not use", "why"]) or []:
        rules.append({"files": words(row[0]), "deny": words(row[1]), "why": row[2]})
    return modules, rules


def module_of(path, modules):
    """The module whose sources name `path` most specifically (the longest match)."""
    best, best_len = None, -1
    for name, m in modules.items():
        for s in m["sources"]:
            hit = path.startswith(s) if s.endswith("/") else path == s
            if hit and len(s) > best_len:
                best, best_len = name, len(s)
    return best


def matches(path, patterns):
    """True when `path` matches a pattern and no !pattern."""
    inc = [p for p in patterns if not p.startswith("!")]
    exc = [p[1:] for p in patterns if p.startswith("!")]
    return any(fnmatch.fnmatch(path, p) for p in inc) and not any(fnmatch.fnmatch(path, p) for p in exc)


def objects(src_root, build_root):
    """{source path relative to the source root: [object files]} for the library and the command."""
    db = os.path.join(build_root, "compile_commands.json")
    if not os.path.exists(db):
        sys.exit(f"Bail out! no {db}: run meson setup first")
    found = {}
    for e in json.load(open(db)):
        out = e["output"]
        if not re.match(r"src/(libbackfill[^/]*|cli/[^/]*)\.p/", out):
            continue
        source = os.path.relpath(os.path.join(e["directory"], e["file"]), src_root)
        obj = os.path.join(e["directory"], out)
        if os.path.exists(obj):
            found.setdefault(source, []).append(obj)
    return found


def symbols(obj):
    """(defined global symbols, undefined symbols) of an object file."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def main():
    src_root = os.path.abspath(sys.argv[1])
    build_root = os.path.abspath(sys.argv[2])
    doc = sys.argv[3] if len(sys.argv) > 3 else os.path.join(src_root, "docs", "architecture.md")
    modules, rules = parse_doc(doc)
    results = []  # (ok, description, [details])

    # The table itself.
    bad = []
    for name, m in modules.items():
        for used in m["may_use"]:
            if used not in modules:
                bad.append(f"{name} may use {used}, which is no module of the table")
            elif modules[used]["layer"] >= m["layer"]:
                bad.append(f"{name} (layer {m['layer']}) may use {used} (layer "
                           f"{modules[used]['layer']}): only lower layers may be used")
    for r in rules:
        for d in r["deny"]:
            if "/" not in d and d not in modules:
                bad.append(f"a rule names {d}, which is no module of the table")
    results.append((not bad, "the layering table uses only modules on lower layers", bad))

    # Which file defines what.
    objs = objects(src_root, build_root)
    if not objs:
        sys.exit(f"Bail out! no object files of the library under {build_root}/src: build first")
    defined_in, refs = {}, {}
    for source, files in sorted(objs.items()):
        for obj in files:
            d, u = symbols(obj)
            for s in d:
                defined_in.setdefault(s, source)
            refs.setdefault(source, set()).update(u)

    orphans = [s for s in sorted(objs) if module_of(s, modules) is None]
    results.append((not orphans, "every compiled source belongs to a module of the table",
                    [f"{s} belongs to no module: add it to docs/architecture.md" for s in orphans]))

    # Module directions.
    uses = {}  # (source, symbol, defining source)
    for source, undefined in refs.items():
        for s in undefined:
            target = defined_in.get(s)
            if target and target != source:
                uses.setdefault(source, []).append((s, target))
    for name, m in modules.items():
        if not m["sources"]:
            continue
        bad = []
        for source in sorted(uses):
            if module_of(source, modules) != name:
                continue
            for s, target in sorted(uses[source]):
                tm = module_of(target, modules)
                if tm and tm != name and tm not in m["may_use"]:
                    bad.append(f"{source} uses {s} of {tm} ({target})")
        allowed = "only " + ", ".join(m["may_use"]) if m["may_use"] else "no other module"
        results.append((not bad, f"{name} uses {allowed}", bad))

    # Rules within modules.
    for r in rules:
        bad = []
        for source in sorted(uses):
            if not matches(source, r["files"]):
                continue
            for s, target in sorted(uses[source]):
                tm = module_of(target, modules)
                if any(d == tm or ("/" in d and matches(target, [d])) for d in r["deny"]):
                    bad.append(f"{source} uses {s} of {tm} ({target})")
        results.append((not bad, f"{' '.join(r['files'])} must not use {', '.join(r['deny'])}", bad))

    print(f"1..{len(results)}")
    failed = 0
    for i, (ok, what, details) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {what}")
        for d in details:
            print(f"# {d}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
