#!/usr/bin/env bash
# Build libbackfill and run every test suite: unit, ABI, consumer, scenarios,
# bindings, then the unit, scenario, fuzz-replay and ledger stress suites again
# under AddressSanitizer and UndefinedBehaviorSanitizer (a sanitizer report
# changes the exit status a test checks), the benchmarks in their quick mode,
# and the README's demo.
# Installs the Debian packages it needs when they are missing, and generates
# the locales the tests run under (as root).
# usage: tests/run.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/deps.sh
bf_need_packages "${BF_BUILD_PACKAGES[@]}" "${BF_TEST_PACKAGES[@]}"
for loc in "${BF_TEST_LOCALES[@]}"; do bf_need_locale "$loc"; done

build=${BF_BUILD_DIR:-build-test}
asan=${BF_ASAN_DIR:-build-asan}
passed=0
failed=0

# Adds a meson test run's results to the totals from its JSON log: every TAP
# test point counts, and a test without TAP output counts once.
count_results() {
    local counts
    counts=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, re, sys
ok = bad = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    points = re.findall(r"^(not ok|ok)\b", t.get("stdout") or "", re.M)
    if t["result"] == "SKIP":
        continue
    if points and t["result"] == "OK":
        ok += len(points)
    elif points:
        ok += points.count("ok")
        bad += max(1, points.count("not ok"))
    elif t["result"] == "OK":
        ok += 1
    else:
        bad += 1
print(ok, bad)
PY
)
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
}

setup() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

status=0
echo "== build ($build, -Dwerror=true)"
setup "$build" -Dwerror=true -Dbuildtype=debugoptimized
ninja -C "$build"
echo "== tests"
meson test -C "$build" --print-errorlogs || status=1
count_results "$build"

echo "== unit, scenario, fuzz-replay and ledger stress suites under address,undefined sanitizers ($asan)"
setup "$asan" -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
ninja -C "$asan"
# Sanitized code runs several times slower: Check's per-test limit and meson's
# grow with it, so a busy machine does not turn slowness into failures.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 CK_TIMEOUT_MULTIPLIER=5 \
    meson test -C "$asan" --timeout-multiplier 3 --suite unit --suite cli --suite fuzz --suite ledger-stress \
    --print-errorlogs || status=1
count_results "$asan"

if [ -x tests/bench/run.sh ]; then
    echo "== benchmarks (quick)"
    if tests/bench/run.sh --quick "$build"; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        status=1
    fi
fi

echo "== the README's demo (examples/demo.sh)"
if bash examples/demo.sh >"$build/demo.log" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    status=1
    tail -n 20 "$build/demo.log"
fi

echo "tests: $passed passed, $failed failed"
exit $status
