#!/bin/sh
# Compare the built shared library with the committed ABI baseline. Any
# difference fails: an incompatible one must never happen within a soname, and
# a compatible one (a new function, a member appended to a vtable) must be
# deliberate, so it is recorded by regenerating the baseline in the same commit
# (tests/abi/update-baseline.sh) and noted in CHANGELOG.md.
# usage: abidiff.sh BASELINE.abi LIBRARY.so PUBLIC-HEADERS-DIR
set -u
baseline=$1
lib=$2
headers=$3

if ! command -v abidiff >/dev/null 2>&1; then
    echo "abidiff not found: install Debian's abigail-tools (tests/run.sh does)" >&2
    exit 1
fi
if ! [ -f "$baseline" ]; then
    echo "no ABI baseline at $baseline: run tests/abi/update-baseline.sh" >&2
    exit 1
fi
abidiff --no-added-syms --headers-dir2 "$headers" --drop-private-types \
    "$baseline" "$lib" >/dev/null 2>&1
added_only=$?
abidiff --headers-dir2 "$headers" --drop-private-types "$baseline" "$lib"
rc=$?
if [ $rc -eq 0 ]; then
    echo "ABI of $(basename "$lib") matches $(basename "$baseline")"
    exit 0
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "INCOMPATIBLE ABI change against the baseline (abidiff exit $rc)" >&2
elif [ $added_only -eq 0 ]; then
    echo "the library adds symbols the baseline does not have: if that is deliberate," \
        "run tests/abi/update-baseline.sh and note it in CHANGELOG.md" >&2
else
    echo "the ABI differs from the baseline (abidiff exit $rc): if deliberate and compatible," \
        "run tests/abi/update-baseline.sh and note it in CHANGELOG.md" >&2
fi
exit 1
