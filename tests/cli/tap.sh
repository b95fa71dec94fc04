# Small TAP helpers for the scenario scripts; source it, then call plan N.
# Every check prints "ok N - what" or "not ok N - what" with the evidence.
tap_n=0
tap_failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

plan() { echo "1..$1"; }

ok() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1"
}

not_ok() {
    tap_n=$((tap_n + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
}

# run CMD...: runs the command, keeping its stdout, stderr and exit status
# in $work/out, $work/err and $rc.
run() {
    set +e
    "$@" >"$work/out" 2>"$work/err"
    rc=$?
    set -e
}

# expect_rc WANT WHAT
expect_rc() {
    if [ "$rc" -eq "$1" ]; then ok "$2 (exit $1)"; else
        not_ok "$2: exit $rc, wanted $1" "stdout: $(head -c 400 "$work/out")" "stderr: $(head -c 400 "$work/err")"
    fi
}

# expect_grep FILE PATTERN WHAT
expect_grep() {
    if grep -Eq -- "$2" "$1"; then ok "$3"; else
        not_ok "$3: /$2/ not in $(basename "$1")" "$(head -c 600 "$1")"
    fi
}

# expect_lines FILE N WHAT
expect_lines() {
    got=$(wc -l <"$1")
    if [ "$got" -eq "$2" ]; then ok "$3"; else
        not_ok "$3: $got lines in $(basename "$1"), wanted $2" "$(head -c 600 "$1")"
    fi
}

finish() {
    [ "$tap_failed" -eq 0 ]
}
