#!/bin/sh
# Run every benchmark program of a build and print their BENCH lines.
# usage: tests/bench/run.sh [--quick] [BUILD_DIR]     (default: build)
# --quick uses small sizes (BF_BENCH_QUICK=1): it checks that the benchmarks
# work, not how fast this machine is. Exits non-zero when a benchmark fails.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
quick=0
build=
for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    -*) echo "usage: tests/bench/run.sh [--quick] [BUILD_DIR]" >&2; exit 2 ;;
    *) build=$arg ;;
    esac
done
build=${build:-$top/build}
case "$build" in /*) ;; *) build=$(pwd)/$build ;; esac
ninja -C "$build" >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

status=0
found=0
for exe in "$build"/tests/bench/bench_*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    found=1
    echo "== $(basename "$exe")"
    if ! (cd "$scratch" && BF_BENCH_QUICK=$quick BF_BENCH_DIR="$scratch" "$exe"); then
        echo "benchmark $(basename "$exe") failed" >&2
        status=1
    fi
done
if [ $found -eq 0 ]; then
    echo "no benchmark programs under $build/tests/bench (configure with -Dbenchmarks=true)" >&2
    exit 1
fi
exit $status
