#!/bin/sh
# backfill diff RUN: a host-tracked run made by tests/cli/validate_fixture
# that captures each batch's before-state, records it in the ledger and
# publishes the batch with a snapshot; the per-batch counts against EXCEPT
# over a copy of the table taken before the run, and each exit status.
set -eu
. "$(dirname "$0")/tap.sh"
plan 15

W="$work/wh.db"
L="$work/ledger.db"
B="$work/brief.json"
sqlite3 "$W" "CREATE TABLE orders (id INTEGER, amount REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29)
INSERT INTO orders SELECT i, i * 2.0, 'n' || i FROM n WHERE i NOT IN (7, 16);
CREATE TABLE orders_new AS SELECT id, CASE WHEN id % 5 = 0 THEN amount + 1 ELSE amount END AS amount,
  CASE WHEN id = 12 THEN 'changed' ELSE note END AS note FROM orders WHERE id NOT IN (3, 13, 14);
INSERT INTO orders_new VALUES (7, 14.0, 'n7'), (16, 32.0, 'n16');
CREATE TABLE orders_before AS SELECT * FROM orders;"
cat > "$B" <<'JSON'
{"format": "backfill-brief/1", "name": "orders-fix",
 "target": {"table": "orders", "key": ["id"], "columns": ["amount"]},
 "scope": {"keys": {"column": "id", "start": 0, "end": 30}},
 "batching": {"width": 10}}
JSON
count() { sqlite3 "$W" "$1"; }
# Added, removed, changed in [lo, hi) against the copy taken before the run.
expect_counts() {
    lo=$1 hi=$2
    a=$(count "SELECT count(*) FROM (SELECT id FROM orders WHERE id >= $lo AND id < $hi EXCEPT SELECT id FROM orders_before)")
    r=$(count "SELECT count(*) FROM (SELECT id FROM orders_before WHERE id >= $lo AND id < $hi EXCEPT SELECT id FROM orders)")
    c=$(count "SELECT count(*) FROM (SELECT * FROM orders WHERE id >= $lo AND id < $hi EXCEPT SELECT * FROM orders_before) JOIN orders_before USING (id)")
    echo "$a added, $r removed, $c changed"
}

# Two of three batches captured, recorded and published with a snapshot.
"$BF_VALIDATE_FIXTURE" "$L" "$W" "$B" 2 orders_new
n=$(sqlite3 "$L" "SELECT count(*) FROM before_states WHERE run_id = 1")
[ "$n" = 2 ] && ok "the fixture recorded two before-states" || not_ok "before-states: $n"
run "$BACKFILL" diff orders-fix --ledger "$L" --warehouse "$W"
expect_rc 4 "a batch without a before-state: exit 4"
want0=$(expect_counts 0 10)
want1=$(expect_counts 10 20)
expect_grep "$work/out" "^orders batch id \[0, 10\) \([0-9]+\) against orders__bf_snap_1: $want0 " "batch 1 counts agree with EXCEPT"
expect_grep "$work/out" "^orders batch id \[10, 20\) \([0-9]+\) against orders__bf_snap_1: $want1 " "batch 2 counts agree with EXCEPT"
expect_grep "$work/out" "^no before-state recorded yet for batch id \[20, 30\) \([0-9]+\)$" "the batch without one is named"
expect_grep "$work/err" "1 batch of run 1 has no recorded before-state yet" "and counted on stderr"
amount=$(count "SELECT count(*) FROM orders o JOIN orders_before b USING (id) WHERE id >= 0 AND id < 10 AND o.amount <> b.amount")
expect_grep "$work/out" "  column amount: $amount changed" "per-column counts"
expect_grep "$work/out" "  changed id=0, amount: 0.0 -> 1.0" "samples show old and new values"

id=$(sqlite3 "$L" "SELECT id FROM batches WHERE run_id = 1 ORDER BY ordinal LIMIT 1 OFFSET 1")
run "$BACKFILL" diff 1 --ledger "$L" --warehouse "$W" --batch "$id" --json
expect_rc 0 "one batch by id, --json"
expect_grep "$work/out" "\"format\": \"backfill-diff/1\"" "--json names its format"
r=$(count "SELECT count(*) FROM (SELECT id FROM orders_before WHERE id >= 10 AND id < 20 EXCEPT SELECT id FROM orders)")
expect_grep "$work/out" "\"removed\": $r" "--json removed count agrees with EXCEPT"

last=$(sqlite3 "$L" "SELECT id FROM batches WHERE run_id = 1 ORDER BY ordinal LIMIT 1 OFFSET 2")
run "$BACKFILL" diff 1 --ledger "$L" --warehouse "$W" --batch "$last"
expect_rc 4 "--batch without a before-state: exit 4"

run "$BACKFILL" diff 1 --ledger "$L"
expect_rc 2 "--warehouse is required"
run "$BACKFILL" diff 1 --ledger "$L" --warehouse "$W" --against orders_before
expect_rc 2 "--against belongs to the TABLE form"
run "$BACKFILL" diff orders --against orders_before --key id --warehouse "$W" --batch 3
expect_rc 2 "--batch needs --ledger"
