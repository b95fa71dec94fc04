#!/bin/sh
# The same commands under a decimal-comma locale and under C give byte-identical
# output: the tool honours the user's locale, the formats do not change with it.
set -eu
. "$(dirname "$0")/tap.sh"
plan 26

german=de_DE.UTF-8
if locale -a 2>/dev/null | grep -qix 'de_DE.utf-\{0,1\}8'; then ok "locale $german is installed"; else
    not_ok "locale $german is installed" "tests/deps.sh generates it (as root)"
fi

# The example brief with real-valued checks: a 2.5 % missing rate, a -2.5 % .. 0.5 % delta.
brief="$work/reals.json"
sed -e 's/"max_rate": 0 }/"max_rate": 0.025 }/' \
    -e 's/"min": -10, "max": 0 }/"min": -2.5, "max": 0.5 }/' \
    "$BF_SOURCE_ROOT/examples/briefs/refund-join.json" >"$brief"

db="$work/wh.db"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE a (id INTEGER PRIMARY KEY, amount REAL);
INSERT INTO a VALUES (1, 1.5), (2, -0.25), (3, 1e-7), (4, NULL);
""")
c.commit()
PY

L="$work/ledger.db"
"$BF_LEDGER_FIXTURE" "$L"

# same WHAT EXPECTED-EXIT CMD...: runs CMD under C and under German; identical
# stdout (but for the elapsed time), stderr and exit status.
same() {
    what=$1 want=$2
    shift 2
    set +e
    LC_ALL=C "$@" >"$work/c.out" 2>"$work/c.err"
    c_rc=$?
    LC_ALL=$german "$@" >"$work/de.out" 2>"$work/de.err"
    de_rc=$?
    set -e
    # A running run's elapsed time is the wall clock's, not the locale's.
    for f in c de; do sed -i -e '/"elapsed_s":/d' -e 's/elapsed [^,]*, ETA/elapsed -, ETA/' "$work/$f.out"; done
    if [ "$c_rc" -eq "$want" ] && [ "$de_rc" -eq "$want" ]; then ok "$what: exit $want in both locales"; else
        not_ok "$what: exit $c_rc under C and $de_rc under $german, wanted $want" "$(head -c 400 "$work/c.err")"
    fi
    if cmp -s "$work/c.out" "$work/de.out" && cmp -s "$work/c.err" "$work/de.err"; then
        ok "$what: the same output under $german as under C"
    else
        not_ok "$what: output differs under $german" \
            "$(diff "$work/c.out" "$work/de.out" | head -n 8)" "$(diff "$work/c.err" "$work/de.err" | head -n 4)"
    fi
}

same "check --json" 0 "$BACKFILL" check "$brief" --json
same "brief" 0 "$BACKFILL" brief "$brief"
expect_grep "$work/de.out" "At most 2\\.5% of values missing" "the brief's rate keeps its decimal point"
expect_grep "$work/de.out" "moves between -2\\.5% and 0\\.5%" "the brief's delta keeps its decimal point"
same "brief --format json" 0 "$BACKFILL" brief "$brief" --format json
expect_grep "$work/de.out" '"max_rate": 0\.025' "the JSON brief keeps its decimal point"
same "plan --json" 0 "$BACKFILL" plan "$brief" --json
same "fingerprint" 0 "$BACKFILL" fingerprint a --warehouse "$db"
same "status" 0 "$BACKFILL" status --ledger "$L"
same "status of a run" 4 "$BACKFILL" status orders-fix --ledger "$L"
expect_grep "$work/de.out" "ETA 4\\.0s" "the ETA keeps its decimal point"
same "status --json" 4 "$BACKFILL" status 1 --ledger "$L" --json
expect_grep "$work/de.out" '"eta_s": 4\.0' "the JSON ETA keeps its decimal point"
same "report of a brief" 0 "$BACKFILL" report "$brief" --stage before
same "report --json" 0 "$BACKFILL" report orders-fix --ledger "$L" --json
finish
