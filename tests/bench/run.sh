#!/bin/sh
# Build and run every benchmark under tests/bench; each prints its BENCH lines
# (bench_plan, bench_plan_memory, bench_fingerprint, bench_ledger, bench_diff:
# every build/tests/bench/bench_* executable is run).
# usage: tests/bench/run.sh [--quick] [BUILD_DIR]     (default build dir: build)
# --quick uses small sizes (BF_BENCH_QUICK=1): it checks the benchmarks work,
# not how fast this machine is.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
quick=0
build=
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    -*) echo "usage: $0 [--quick] [BUILD_DIR]" >&2; exit 2 ;;
    *) build=$arg ;;
    esac
done
build=${build:-$top/build}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top" -Dbenchmarks=true >/dev/null
fi
ninja -C "$build" >/dev/null
if [ "$quick" -eq 1 ]; then
    BF_BENCH_QUICK=1
    export BF_BENCH_QUICK
fi
status=0
found=0
for exe in "$build"/tests/bench/bench_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    found=$((found + 1))
    if ! "$exe"; then
        echo "benchmark $(basename "$exe") failed" >&2
        status=1
    fi
done
if [ "$found" -eq 0 ]; then
    echo "no benchmarks built in $build/tests/bench" >&2
    exit 1
fi
exit $status
