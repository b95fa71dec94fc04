#!/bin/bash
# Adaptive sizing end to end: a key-range brief with batching.target_batch_s
# re-cuts the batches not yet claimed as it measures them, upward and
# downward in key order, leaves the same rows as the plan's own batches,
# records each re-cut in the ledger, survives kill -9 right after a re-cut,
# is validated and diffed batch by batch as cut, and rolls back to the
# target's fingerprint before the run.
set -eu
. "$(dirname "$0")/tap.sh"
plan 23

make_warehouse() {
    sqlite3 "$1" "
CREATE TABLE raw_orders (order_id INTEGER PRIMARY KEY, gross REAL NOT NULL);
CREATE TABLE raw_refunds (refund_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, amount REAL NOT NULL);
CREATE INDEX raw_refunds_order ON raw_refunds (order_id);
CREATE TABLE fct_orders (order_id INTEGER PRIMARY KEY, gross REAL NOT NULL,
                         refund_amount REAL NOT NULL, net_revenue REAL NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
INSERT INTO raw_orders SELECT 1000 + i, round(5 + ((i * 2246822519) % 19500) / 100.0, 2) FROM n;
INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * 0.25, 2) FROM raw_orders WHERE order_id % 7 = 0;
INSERT INTO fct_orders SELECT order_id, gross, 0, gross FROM raw_orders;"
}

# brief NAME ORDER [TARGET_S]: orders [1000, 9000) by 50 keys: 160 batches.
brief() {
    target=""
    [ -n "${3:-}" ] && target=", \"target_batch_s\": $3"
    cat <<JSON
{"format": "backfill-brief/1", "name": "$1", "reason": "Refunds were never joined.",
 "owner": "ana@example.com", "reviewer": "raj@example.com", "risk": "enrichment",
 "code_version": "git:abc123",
 "target": {"table": "fct_orders", "key": ["order_id"], "columns": ["refund_amount", "net_revenue"]},
 "sources": ["raw_orders", "raw_refunds"],
 "scope": {"keys": {"column": "order_id", "start": 1000, "end": 9000}},
 "batching": {"by": "key", "width": 50, "order": "$2", "max_concurrency": 2, "lease_s": 30$target},
 "write": {"strategy": "partition_overwrite", "snapshot": true},
 "job": {"select": "SELECT o.order_id, o.gross, COALESCE(SUM(r.amount), 0), o.gross - COALESCE(SUM(r.amount), 0) FROM raw_orders o LEFT JOIN raw_refunds r ON r.order_id = o.order_id WHERE o.order_id >= :lo AND o.order_id < :hi GROUP BY o.order_id"},
 "validation": [{"check": "unique"}, {"check": "not_null", "columns": ["net_revenue"], "max_rate": 0},
                {"check": "coverage"}],
 "rollback": {"plan": "Per-batch pre-images; backfill rollback.", "retention_days": 7},
 "communication": {"stakeholders": ["finance"], "channel": "#data"}}
JSON
}

fp() { "$BACKFILL" fingerprint "$2" --warehouse "$1" | awk '{print $NF}'; }
q() { sqlite3 "$1" "$2"; }

A="$work/a.db"
make_warehouse "$A"
cp "$A" "$work/b.db"
cp "$A" "$work/c.db"
before_fp=$(fp "$A" fct_orders)

# The plan's own 160 batches: the rows every other run must leave.
brief plain oldest_first >"$work/plain.json"
run "$BACKFILL" run "$work/plain.json" --warehouse "$work/c.db"
expect_rc 0 "the plan's own batches run"
n=$(q "$work/c.db.ledger" "SELECT count(*) FROM batches WHERE state = 3")
[ "$n" = 160 ] && ok "without a target the plan keeps its 160 batches" || not_ok "validated: $n"
plain_fp=$(fp "$work/c.db" fct_orders)

# Batches of a few milliseconds against a target of 2 s: each width judged grows by a fifth.
brief grow oldest_first 2 >"$work/grow.json"
run "$BACKFILL" run "$work/grow.json" --warehouse "$A" --workers 1
expect_rc 0 "a run with target_batch_s ends awaiting approval"
expect_grep "$work/out" "^resized: the batches not yet claimed are re-cut to [0-9]+ keys each" \
    "run prints each re-cut"
n=$(q "$A.ledger" "SELECT count(*) FROM events WHERE subject = 'resize'")
[ "$n" -ge 3 ] && ok "each re-cut is a resize record in the ledger ($n)" || not_ok "resize records: $n"
n=$(q "$A.ledger" "SELECT count(*) FROM batches WHERE state = 3")
w=$(q "$A.ledger" "SELECT max(hi - lo) FROM batches WHERE state = 3")
[ "$n" -lt 160 ] && [ "$w" -gt 60 ] && ok "fewer, wider batches ($n, up to $w keys)" ||
    not_ok "validated $n batches, widest $w"
n=$(q "$A.ledger" "SELECT sum(hi - lo) FROM batches WHERE state = 3")
[ "$n" = 8000 ] && ok "the validated batches cover the scope once" || not_ok "keys covered: $n"
[ "$(fp "$A" fct_orders)" = "$plain_fp" ] && ok "re-cut batches leave the same rows as the plan's" ||
    not_ok "rows differ after resizing"
d=$(q "$A.ledger" "SELECT detail FROM events WHERE subject = 'resize' ORDER BY seq LIMIT 1")
case "$d" in
*'"width":60,"lo":1050,"hi":9000,'*'"reason":"batch order_id [1000, 1050) took '*) ok "the first record names the measured batch and the new cut" ;;
*) not_ok "first resize record: $d" ;;
esac

n=$(q "$A.ledger" "SELECT json_extract(c.value, '$.outcome') || ' ' || json_extract(c.value, '$.observed')
         FROM validations, json_each(results_json, '$.checks') c
         WHERE batch_id = 0 AND json_extract(c.value, '$.check') = 'coverage'")
case "$n" in "pass 160 of 160 batches written, 0 gaps"*) true ;; *) false ;; esac &&
    ok "run-level coverage passes: the re-cut batches cover all 160 of the plan's" ||
    not_ok "run-level coverage" "$(q "$A.ledger" "SELECT results_json FROM validations WHERE batch_id = 0")"

# status counts the replaced batches as re-cut, not as split in two.
run "$BACKFILL" status 1 --ledger "$A.ledger"
n=$(q "$A.ledger" "SELECT count(*) FROM batches WHERE state = 7")
expect_grep "$work/out" "rolled back \($n re-cut to another width\)\$" "status says the $n replaced batches were re-cut"

# validate and diff RUN address the re-cut batches as the runner did.
run "$BACKFILL" validate 1 --ledger "$A.ledger" --warehouse "$A"
expect_rc 0 "validate RUN passes on the resized run"
n=$(grep -c "^pass .* unique: " "$work/out" || true)
m=$(q "$A.ledger" "SELECT count(*) FROM batches WHERE state = 3")
[ "$n" = "$m" ] && grep -q "order_id \[1050, 1110) unique" "$work/out" &&
    ok "validate RUN checks each of the $m batches as cut" || not_ok "validate checked $n of $m" "$(head -5 "$work/out")"
run "$BACKFILL" diff 1 --ledger "$A.ledger" --warehouse "$A" --json
n=$(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sum(b['changed'] for b in j['batches']), j['diffed'])" "$work/out")
m=$(q "$A" "SELECT count(DISTINCT order_id) FROM raw_refunds")
[ "$rc" = 0 ] && [ "$n" = "$m 20" ] || [ "$rc" = 0 ] && [ "${n% *}" = "$m" ] &&
    ok "diff RUN finds the $m changed orders across the re-cut batches" || not_ok "diff RUN: rc $rc, $n vs $m" "$(head -c 300 "$work/err")"

# Newest first: the re-cut goes down from the top of what is left.
brief down newest_first 2 >"$work/down.json"
run "$BACKFILL" run "$work/down.json" --warehouse "$work/b.db" --workers 1
expect_rc 0 "newest_first with target_batch_s runs"
order=$(q "$work/b.db.ledger" "SELECT group_concat(lo || '-' || hi, ' ') FROM
         (SELECT lo, hi FROM batches WHERE state = 3 ORDER BY started_at, id LIMIT 3)")
case "$order" in
"8950-9000 8890-8950 "*) ok "newest_first re-cuts downward ($order)" ;;
*) not_ok "first batches newest_first: $order" ;;
esac
[ "$(fp "$work/b.db" fct_orders)" = "$plain_fp" ] && ok "and leaves the same rows" ||
    not_ok "rows differ newest_first"

# kill -9 right after the first re-cut (from the run's own --on-event hook), then run again: the
# new process learns the cut from the ledger and finishes with the same rows.
make_warehouse "$work/k.db"
run "$BACKFILL" run "$work/grow.json" --warehouse "$work/k.db" --workers 1 \
    --on-event 'grep -q "\"event\":\"resized\"" && kill -9 $PPID; true'
[ "$rc" = 137 ] && ok "the run was killed at its first re-cut" || not_ok "killed run: exit $rc" "$(tail -3 "$work/err")"
n=$(q "$work/k.db.ledger" "SELECT count(*) FROM events WHERE subject = 'resize'")
[ "$n" = 1 ] && ok "one re-cut recorded before the kill" || not_ok "resize records before the kill: $n"
run "$BACKFILL" run "$work/grow.json" --warehouse "$work/k.db" --workers 1
expect_rc 0 "run again after kill -9 finishes"
[ "$(fp "$work/k.db" fct_orders)" = "$plain_fp" ] &&
    [ "$(q "$work/k.db.ledger" "SELECT sum(hi - lo) FROM batches WHERE state = 3")" = 8000 ] &&
    ok "and leaves the same rows, each key done once" || not_ok "after kill -9 and rerun: rows differ"

# Every batch, re-cut or not, restores from its own pre-image.
run "$BACKFILL" rollback 1 --ledger "$A.ledger" --warehouse "$A"
expect_rc 0 "rollback of the resized run"
[ "$(fp "$A" fct_orders)" = "$before_fp" ] && ok "rollback restores the target's fingerprint before the run" ||
    not_ok "after rollback: $(fp "$A" fct_orders) vs $before_fp" "$(cat "$work/out" "$work/err" | head -20)"
finish
