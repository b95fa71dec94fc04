#!/bin/sh
# Run every benchmark executable of a build and print their BENCH lines.
#   tests/bench/run.sh [--quick] [BUILD_DIR]     (BUILD_DIR defaults to ./build)
# --quick sets BF_BENCH_QUICK=1: small sizes, to check that the benchmarks
# work (as CI does), not how fast this machine is.
set -eu

build=build
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) BF_BENCH_QUICK=1; export BF_BENCH_QUICK ;;
    -h|--help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) build=$1 ;;
    esac
    shift
done

dir="$build/tests/bench"
if [ ! -d "$dir" ]; then
    echo "run.sh: no benchmarks in $dir (build with -Dbenchmarks=true first)" >&2
    exit 2
fi

status=0
found=0
for exe in "$dir"/bench_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    found=1
    if ! "$exe"; then
        echo "run.sh: $(basename "$exe") failed" >&2
        status=1
    fi
done
if [ "$found" = 0 ]; then
    echo "run.sh: no bench_* executables in $dir" >&2
    exit 2
fi
exit $status
