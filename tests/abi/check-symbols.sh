#!/bin/sh
# The shared library must export exactly the symbols the version script lists,
# and every one of them must start with bf_.
# usage: check-symbols.sh LIBRARY.so VERSION-SCRIPT
set -eu
lib=$1
map=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Defined dynamic symbols, without version suffixes and the version nodes themselves.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"
# Names between "global:" and "local:" in every node, comments removed.
sed -e 's,/\*.*\*/,,g' "$map" | awk '
    /\/\*/ { incomment = 1 } incomment { if (/\*\//) incomment = 0; next }
    /global:/ { inglobal = 1; next }
    /local:/ { inglobal = 0; next }
    inglobal { gsub(/[;[:space:]]/, ""); if ($0 != "") print }' | sort -u >"$tmp/listed"

status=0
if ! [ -s "$tmp/exported" ]; then
    echo "no exported symbols found in $lib" >&2
    exit 1
fi
if grep -v '^bf_' "$tmp/exported" >"$tmp/bad"; then
    echo "exported symbols without the bf_ prefix:" >&2
    sed 's/^/  /' "$tmp/bad" >&2
    status=1
fi
comm -23 "$tmp/exported" "$tmp/listed" >"$tmp/unlisted"
comm -13 "$tmp/exported" "$tmp/listed" >"$tmp/missing"
if [ -s "$tmp/unlisted" ]; then
    echo "exported but not in $map:" >&2
    sed 's/^/  /' "$tmp/unlisted" >&2
    status=1
fi
if [ -s "$tmp/missing" ]; then
    echo "listed in $map but not exported (missing BF_API or definition?):" >&2
    sed 's/^/  /' "$tmp/missing" >&2
    status=1
fi
echo "1..1"
if [ $status -eq 0 ]; then
    echo "ok 1 - $(wc -l <"$tmp/exported") exported symbols, all bf_*, all in the version script"
else
    echo "not ok 1 - exported symbols and version script disagree"
fi
exit $status
