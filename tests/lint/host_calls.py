#!/usr/bin/env python3
"""Calls in the library's sources that a library inside a host's process must
not make: locale-sensitive ones, and reads or changes of process state.

The library's files, JSON, hash inputs and messages must be the same under
every locale a host may set. This lists, as TAP, each call that would depend
on it: <ctype.h> classes, strtod and friends, setlocale/localeconv, a
printf-family call formatting a real without going through the library's
"C"-locale helpers (bf__snprintf, bf__asprintf, bf__sb_appendf, bf__error),
and Jansson's loaders and dumpers outside src/common/json.c; getenv outside
src/common/env.c (which reads each variable once), and setenv, signal
handlers, atexit or fork handlers anywhere in the library.
usage: host_calls.py SOURCE_ROOT
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
src = os.path.join(root, "src")

CTYPE = re.compile(r"(?<![\w.>])(is(alnum|alpha|blank|cntrl|digit|graph|lower|print|punct|space|"
                   r"upper|xdigit)|tolower|toupper)\s*\(|#\s*include\s*<(ctype|wctype)\.h>")
PARSE = re.compile(r"(?<![\w.>])(strto(d|f|ld)|atof|v?s?f?scanf)\s*\(")
LOCALE = re.compile(r"(?<![\w.>])(setlocale|localeconv|nl_langinfo|strcoll|strxfrm|strftime)\s*\(")
JANSSON = re.compile(r"(?<![\w.>])json_(loads|loadb|loadf|loadfd|load_file|load_callback|dumps|"
                     r"dumpb|dumpf|dumpfd|dump_file|dump_callback)\s*\(")
PRINTF = re.compile(r"(?<![\w.>])(v?s?n?printf|v?fprintf|v?dprintf|cli_fail)\s*\(")
ENV = re.compile(r"(?<![\w.>])(secure_)?getenv\s*\(")
PROCESS = re.compile(r"(?<![\w.>])(setenv|unsetenv|putenv|clearenv|signal|sigaction|sigprocmask|"
                     r"pthread_atfork|atexit|at_quick_exit|exit|_Exit|abort|umask|chdir)\s*\(")
REAL = re.compile(r"%[-+ #0-9.*]*[lL]?[aAeEfFgG]")

# Files allowed to make a kind of call, with the reason.
ALLOWED = {
    "locale": {"src/cli/main.c"},          # the host's own setlocale(LC_ALL, "")
    "printf": {"src/common/locale.c",      # the helpers themselves
               "src/common/alloc.c"},      # bf__vasprintf, inside bf__c_locale_enter/leave
    "jansson": {"src/common/json.c"},      # the "C"-locale wrappers
    "env": {"src/common/env.c"},           # the one place that reads the environment
    "real": {"src/cli/util.c"},            # the tool's real_text, inside uselocale("C")
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def call_text(text, start):
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return text[start:]


problems = []
for dirpath, _, files in os.walk(src):
    for name in sorted(files):
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        text = strip_comments(open(path, encoding="utf-8").read())
        # The same text without string literals (SQL's strftime is not C's).
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"', lambda m: " " * len(m.group(0)), text)

        def report(m, what):
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: {what}: {m.group(0).strip()}")

        for m in CTYPE.finditer(code):
            report(m, "<ctype.h> depends on LC_CTYPE; use bf__ascii_*")
        if rel not in ALLOWED["real"]:
            for m in PARSE.finditer(code):
                report(m, "parses reals by LC_NUMERIC")
        if rel not in ALLOWED["locale"]:
            for m in LOCALE.finditer(code):
                report(m, "reads or sets the locale")
        if rel not in ALLOWED["jansson"] and not rel.startswith("src/cli/"):
            for m in JANSSON.finditer(code):
                report(m, "Jansson outside the \"C\"-locale wrappers of common/json.h")
        if not rel.startswith("src/cli/"):  # the tool is the host: it may
            if rel not in ALLOWED["env"]:
                for m in ENV.finditer(code):
                    report(m, "reads the environment on every call; use bf__env (read once)")
            for m in PROCESS.finditer(code):
                report(m, "changes process-wide state that belongs to the host")
        if rel not in ALLOWED["printf"] | ALLOWED["real"]:
            for m in PRINTF.finditer(text):
                call = call_text(text, m.end() - 1)
                literals = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', call))
                fmt_arg = "fmt" in call or "format" in call
                if REAL.search(literals.replace("%%", "")):
                    report(m, "formats a real in the host's locale; use bf__snprintf")
                elif fmt_arg and m.group(1).startswith("v") and not rel.startswith("src/cli/"):
                    report(m, "formats a caller's format in the host's locale; use bf__vsnprintf")

print("1..1")
if problems:
    print("not ok 1 - no locale-sensitive or process-state calls in src/")
    for p in problems:
        print("#   " + p)
    sys.exit(1)
print("ok 1 - no locale-sensitive or process-state calls in src/")
