#!/bin/sh
# backfill validate on real SQLite files: a host-tracked run made by
# tests/cli/validate_fixture through the ledger API (3 key batches of 10 rows,
# some completed), its checks passing and failing, each exit status, the
# results recorded in the ledger and the settle rule.
set -eu
. "$(dirname "$0")/tap.sh"
plan 34

W="$work/wh.db"
L="$work/ledger.db"
B="$work/brief.json"
sqlite3 "$W" "CREATE TABLE orders (id INTEGER, amount REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29)
INSERT INTO orders SELECT i, i * 2.0, 'n' || i FROM n;"
cat > "$B" <<'JSON'
{"format": "backfill-brief/1", "name": "orders-fix",
 "target": {"table": "orders", "key": ["id"], "columns": ["amount"]},
 "scope": {"keys": {"column": "id", "start": 0, "end": 30}, "expected_rows": {"min": 30, "max": 30}},
 "batching": {"width": 10},
 "validation": [
   {"check": "not_null", "columns": ["amount"]},
   {"check": "unique"},
   {"check": "coverage"},
   {"check": "row_count", "min": 10, "max": 10, "severity": "warn"},
   {"check": "metric", "name": "revenue", "expr": "SUM(amount)", "expect_delta_pct": {"min": -1, "max": 1}}
 ]}
JSON

# Two of three batches written: checks pass, but the run is not all written.
"$BF_VALIDATE_FIXTURE" "$L" "$W" "$B" 2
run "$BACKFILL" validate orders-fix --ledger "$L" --warehouse "$W"
expect_rc 4 "batches not yet written: exit 4"
expect_grep "$work/out" "^pass +id \[0, 10\) not_null: check not_null" "one line per check, outcome and sentence"
expect_grep "$work/out" "^skipped +id \[0, 10\) metric revenue: " "a before/after check is skipped later"
expect_grep "$work/out" "^unwritten id \[20, 30\): batch [0-9]+ is pending, not written yet" "the unwritten batch is named"
expect_grep "$work/out" "^validate run 1 \(orders-fix\): unfinished, 1 batch not written yet$" \
    "the summary says unfinished, as the JSON's status does"
run "$BACKFILL" status orders-fix --ledger "$L"
expect_grep "$work/out" "0 completed, 2 validated" "passing batches became validated"
n=$(sqlite3 "$L" "SELECT count(*) FROM validations WHERE run_id = 1 AND passed = 1")
[ "$n" = 2 ] && ok "two passing results recorded in the ledger" || not_ok "recorded results: $n"

# One batch only, by id, as JSON.
id=$(sqlite3 "$L" "SELECT id FROM batches WHERE run_id = 1 ORDER BY ordinal LIMIT 1")
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W" --batch "$id" --json
expect_rc 0 "one written batch that passes: exit 0"
expect_grep "$work/out" '"format": "backfill-validate/1"' "JSON has the format key"
expect_grep "$work/out" '"status": "pass"' "JSON has the verdict"
expect_grep "$work/out" "\"batch_id\": $id" "JSON names the batch id"
expect_grep "$work/out" '"outcome": "skipped"' "JSON has each check's outcome"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W" --batch 99
expect_rc 2 "a batch not in the run is bad input"
expect_grep "$work/err" "run 1 has no batch 99" "and the message says so"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W" --batch x1
expect_rc 2 "--batch takes a number"
run "$BACKFILL" validate 1 --ledger "$L"
expect_rc 2 "--warehouse is required"
expect_grep "$work/err" "warehouse DB is required" "and the message says so"

# A warn-level check fails: recorded and shown, does not stop.
sqlite3 "$W" "INSERT INTO orders VALUES (5.5, 1.0, 'extra');"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W" --batch "$id"
expect_rc 0 "a warn does not fail validation"
expect_grep "$work/out" "^warn +id \[0, 10\) row_count: check row_count: table orders has 11 rows" "the warn is shown with its sentence"
sqlite3 "$W" "DELETE FROM orders WHERE id = 5.5;"

# An error-level check fails: exit 3, the run pauses with the sentence, the batch is not validated again.
sqlite3 "$W" "UPDATE orders SET amount = NULL WHERE id = 13;"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W"
expect_rc 3 "an error-level failure: exit 3 (before 4)"
expect_grep "$work/out" "^fail +id \[10, 20\) not_null: check not_null: .*amount" "the failing check names its column"
expect_grep "$work/out" "FAILED" "summary says FAILED"
run "$BACKFILL" status 1 --ledger "$L"
expect_grep "$work/out" "^run 1 \(orders-fix #1\): paused$" "the run paused"
r=$(sqlite3 "$L" "SELECT detail FROM events WHERE run_id = 1 AND to_state = 'paused' ORDER BY id DESC LIMIT 1")
case "$r" in "validation failed: batch id [10, 20): check not_null"*) ok "the pause reason is the check's sentence" ;; *) not_ok "pause reason: $r" ;; esac
n=$(sqlite3 "$L" "SELECT passed || ':' || n_fail FROM validations WHERE run_id = 1 AND batch_id = $id + 1")
[ "$n" = "0:1" ] && ok "the failure is recorded with its tally" || not_ok "recorded: $n"

# Fixed and the last batch written: everything, with the run-level checks, passes.
sqlite3 "$W" "UPDATE orders SET amount = 26 WHERE id = 13;"
"$BACKFILL" resume 1 --ledger "$L" >/dev/null
sqlite3 "$L" "UPDATE batches SET state = 2, rows_written = 10 WHERE run_id = 1 AND ordinal = 2"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W"
expect_rc 0 "all written and passing: exit 0"
expect_grep "$work/out" "^pass +run coverage: " "the run-level coverage check ran"
expect_grep "$work/out" "^pass +run row_count: check row_count: table orders has 30 rows" "scope.expected_rows is checked for the run"
n=$(sqlite3 "$L" "SELECT count(*) FROM validations WHERE run_id = 1")
[ "$n" = 4 ] && ok "three batches and the run recorded" || not_ok "records: $n"
run "$BACKFILL" status 1 --ledger "$L"
expect_grep "$work/out" "0 completed, 3 validated" "every batch is validated"

# A row outside the plan's scope [0, 30) is not the run's: the run-level checks still pass.
sqlite3 "$W" "INSERT INTO orders VALUES (100, 1.0, 'outside');"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W"
expect_rc 0 "a row outside the scope does not count for the run"
sqlite3 "$W" "DELETE FROM orders WHERE id = 100;"

# The run-level check fails: exit 3.
sqlite3 "$W" "INSERT INTO orders VALUES (25.5, 1.0, 'inside');"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W" --json
expect_rc 3 "a failing run-level check: exit 3"
expect_grep "$work/out" '"status": "fail"' "JSON verdict fail"
expect_grep "$work/out" '"run_checked": true' "JSON says the run level was checked"
finish
