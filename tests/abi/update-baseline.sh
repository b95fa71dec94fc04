#!/bin/sh
# Regenerate the committed ABI baseline from a build directory.
# usage: tests/abi/update-baseline.sh [BUILD_DIR]    (default: build)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
lib=$(ls "$build"/src/libbackfill.so.*.*.* | head -n 1)
ninja -C "$build" >/dev/null
abidw --headers-dir "$top/include" --drop-private-types --no-corpus-path \
    --out-file "$top/tests/abi/libbackfill.abi" "$lib"
echo "wrote tests/abi/libbackfill.abi from $lib"
