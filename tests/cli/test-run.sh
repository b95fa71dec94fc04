#!/bin/bash
# backfill run, end to end on real files, checked with fingerprints:
# a clean run; kill -9 five times mid-batch then run again; a failed check
# pauses the run with its sentence; pause, resume and cancel from a second
# process; the same brief again publishes nothing; every write pattern gives
# the same rows; rows outside the scope and columns outside target.columns
# never change.
set -eu
. "$(dirname "$0")/tap.sh"
plan 124

# A small warehouse with the example's shape: orders whose net revenue
# misses their refunds, several refunds on some orders, orders near local
# midnight and on the DST change day, and rows outside the scope.
make_warehouse() {
    sqlite3 "$1" "
CREATE TABLE raw_orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
                         order_ts INTEGER NOT NULL, gross REAL NOT NULL);
CREATE INDEX raw_orders_ts ON raw_orders (order_ts);
CREATE TABLE raw_refunds (refund_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, amount REAL NOT NULL);
CREATE INDEX raw_refunds_order ON raw_refunds (order_id);
CREATE TABLE fct_orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
                         order_ts INTEGER NOT NULL, gross REAL NOT NULL,
                         refund_amount REAL NOT NULL, net_revenue REAL NOT NULL);
CREATE INDEX fct_orders_ts ON fct_orders (order_ts);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7000)
INSERT INTO raw_orders SELECT 1000 + i, 1 + i % 97, 1733011200 + i * 1500 + (i * 40503) % 60,
                              round(5 + ((i * 2246822519) % 19500) / 100.0, 2) FROM n;
INSERT INTO raw_orders VALUES (90001, 5, 1741503600, 40.0), (90002, 6, 1735707540, 12.5),
                              (90003, 7, 1735707660, 13.5);
INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * 0.25, 2) FROM raw_orders WHERE order_id % 7 = 0;
INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * 0.05, 2) FROM raw_orders WHERE order_id % 21 = 0;
INSERT INTO raw_refunds (order_id, amount) VALUES (90001, 1.0), (90001, 2.0), (90001, 3.0);
INSERT INTO fct_orders SELECT order_id, customer_id, order_ts, gross, 0, gross FROM raw_orders;"
}

# brief NAME STRATEGY [EXTRA_WRITE] [slow] [nometric]: the refund-join brief
# over 2025-01-01 .. 2025-03-15 in New York (the DST change on 2025-03-09
# inside), by day: 73 batches.
brief() {
    slow=""
    metric='{"check": "metric", "name": "net revenue", "expr": "SUM(net_revenue)",
    "expect_delta_pct": {"min": -20, "max": 0}},'
    risk=metric_repair
    unchanged=', {"check": "unchanged_columns"}'
    if [ "${5:-}" = nometric ]; then metric=""; unchanged=""; risk=enrichment; fi
    if [ "${4:-}" = slow ]; then
        slow=" AND (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 150000) SELECT count(*) FROM s) > 0"
    fi
    # The first two days' batches take about 1.5 s each, the others no longer than plain ones.
    if [ "${4:-}" = slow_start ]; then
        slow=" AND (CASE WHEN :start < 1735880400 THEN (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10000000) SELECT count(*) FROM s) ELSE 1 END) > 0"
    fi
    cat <<JSON
{"format": "backfill-brief/1", "name": "$1", "reason": "Refunds were never joined.",
 "owner": "ana@example.com", "reviewer": "raj@example.com", "risk": "$risk",
 "code_version": "git:abc123",
 "target": {"table": "fct_orders", "key": ["order_id"], "columns": ["refund_amount", "net_revenue"],
            "time_column": "order_ts", "time_format": "unix_s"},
 "sources": ["raw_orders", "raw_refunds"],
 "scope": {"time": {"start": "2025-01-01", "end": "2025-03-15", "timezone": "America/New_York"}},
 "batching": {"by": "time", "grain": "day", "every": 1, "max_concurrency": 2, "max_attempts": 3,
              "retry_backoff_s": 1, "lease_s": 30},
 "write": {"strategy": "$2", "snapshot": true ${3:-}},
 "job": {"select": "SELECT o.order_id, o.customer_id, o.order_ts, o.gross, COALESCE(SUM(r.amount), 0), o.gross - COALESCE(SUM(r.amount), 0) FROM raw_orders o LEFT JOIN raw_refunds r ON r.order_id = o.order_id WHERE o.order_ts >= :start AND o.order_ts < :end$slow GROUP BY o.order_id"},
 "downstream": [{"name": "Revenue dashboard", "kind": "dashboard", "depends_on": ["fct_orders"]}],
 "validation": [
   {"check": "unique"},
   {"check": "not_null", "columns": ["net_revenue"], "max_rate": 0},
   $metric
   {"check": "row_count", "min": 0}$unchanged],
 "rollback": {"plan": "Per-batch pre-images; backfill rollback.", "retention_days": 7},
 "communication": {"stakeholders": ["finance"], "channel": "#data"}}
JSON
}

fp() { "$BACKFILL" fingerprint "$2" --warehouse "$1" | awk '{print $NF}'; }
# A busy timeout: the ledger is written by a run going on in the background.
q() { sqlite3 -cmd ".timeout 10000" "$1" "$2"; }
# wait_batches DB STATE N: up to 30 s until DB's ledger has N batches in STATE (1 running, 3 validated).
wait_batches() {
    for _ in $(seq 1 300); do
        [ -f "$1.ledger" ] && [ "$(q "$1.ledger" "SELECT count(*) FROM batches WHERE state = $2" 2>/dev/null || echo 0)" -ge "$3" ] && return 0
        sleep 0.1
    done
}
# The rows outside the scope, and the columns the brief does not change, as their own tables.
outside() {
    q "$1" "DROP TABLE IF EXISTS bf_t_outside; DROP TABLE IF EXISTS bf_t_fixed;
            CREATE TABLE bf_t_outside AS SELECT * FROM fct_orders
              WHERE order_ts < 1735707600 OR order_ts >= 1742011200;
            CREATE TABLE bf_t_fixed AS SELECT order_id, customer_id, order_ts, gross FROM fct_orders;"
    echo "$(fp "$1" bf_t_outside) $(fp "$1" bf_t_fixed)"
    q "$1" "DROP TABLE bf_t_outside; DROP TABLE bf_t_fixed;"
}

# ---- a check naming a column the target lacks: refused, and no run left behind ----
A="$work/a.db"
make_warehouse "$A"
brief refund-fix partition_overwrite >"$work/brief.json"
before_fp=$(fp "$A" fct_orders)
sed 's/SUM(net_revenue)/SUM(net_revenu)/' "$work/brief.json" >"$work/typo.json"
run "$BACKFILL" run "$work/typo.json" --warehouse "$A" --json
expect_rc 2 "run refuses a metric over a column the target lacks"
expect_grep "$work/out" '"error": "run: check net revenue: table fct_orders: no such column net_revenu"' \
    "the error names the check, the table and the column, whole"
run "$BACKFILL" status --ledger "$A.ledger" --json
[ "$(grep -c '"id"' "$work/out")" = 0 ] && ok "and leaves no run in the ledger" ||
    not_ok "runs after the refused run" "$(head -c 600 "$work/out")"

# ---- bad input changes nothing: no ledger, no run, the warehouse as it was ----------
Z="$work/z.db"
make_warehouse "$Z"
cp "$Z" "$work/z-before.db"
unchanged() { # WHAT: no ledger next to the warehouse, and not one byte of it changed
    if [ ! -e "$Z.ledger" ] && cmp -s "$Z" "$work/z-before.db"; then ok "$1: nothing created or changed"; else
        not_ok "$1: nothing created or changed" "$(ls "$work" | grep '^z')"; fi
}
run "$BACKFILL" run "$work/brief.json" --warehouse "$Z" --operator ""
expect_rc 2 "an empty --operator is bad usage"
expect_grep "$work/err" "^backfill: run: --operator: the value is empty \(give NAME\)\$" "the message names --operator"
unchanged "an empty --operator"
run "$BACKFILL" run "$work/brief.json" --warehouse "$Z" --throttle-sql "SELECT count(*) FROM nosuch"
expect_rc 2 "a throttle query that does not compile is bad usage"
expect_grep "$work/err" "^backfill: run: --throttle-sql: no such table: nosuch\$" "the message is SQLite's, naming --throttle-sql"
[ ! -s "$work/out" ] && ok "no run is started for it" || not_ok "a run started" "$(cat "$work/out")"
unchanged "a throttle query that does not compile"
run "$BACKFILL" run "$work/brief.json" --warehouse "$Z" --throttle-sql "DELETE FROM fct_orders"
expect_rc 2 "a throttle query that writes is bad usage"
expect_grep "$work/err" "^backfill: run: --throttle-sql: the query must read a value, not write" "and is refused as one"
unchanged "a throttle query that writes"
run "$BACKFILL" run "$work/brief.json" --warehouse "$Z" --throttle-sql "SELECT 0; DELETE FROM fct_orders"
expect_grep "$work/err" "^backfill: run: --throttle-sql: one statement only" "a throttle query of two statements is refused"
run "$BACKFILL" run "$BF_SOURCE_ROOT/examples/briefs/bad-draft.json" --warehouse "$Z" --json
expect_rc 3 "a blocked brief is refused"
expect_grep "$work/out" '"error": "run: brief refund-join-draft is blocked \(8 blocking findings\): \$\.reason: ' "with the runner's sentence"
unchanged "a blocked brief"
sed 's/"fct_orders"/"fct_ordrs"/g' "$work/brief.json" >"$work/table-typo.json"
run "$BACKFILL" run "$work/table-typo.json" --warehouse "$Z"
expect_rc 2 "a mistyped target table is bad input"
expect_grep "$work/err" '^backfill: run: \$\.target\.table: no table fct_ordrs in the warehouse$' "the message names the table"
unchanged "a mistyped target table"
echo "not a database" >"$work/notdb.db"
run "$BACKFILL" run "$work/brief.json" --warehouse "$work/notdb.db"
expect_rc 2 "a warehouse that is not a database is bad input"
[ ! -e "$work/notdb.db.ledger" ] && ok "and no ledger is made for it" || not_ok "a ledger was made for it"
# With an existing ledger (another warehouse's runs), a bad throttle query adds no run to it.
"$BF_LEDGER_FIXTURE" "$work/kept.ledger"
"$BACKFILL" status --ledger "$work/kept.ledger" >"$work/runs-before"
run "$BACKFILL" run "$work/brief.json" --warehouse "$Z" --ledger "$work/kept.ledger" --throttle-sql "SELECT nosuch()"
expect_rc 2 "a bad throttle query with an existing ledger"
"$BACKFILL" status --ledger "$work/kept.ledger" >"$work/runs-after"
cmp -s "$work/runs-before" "$work/runs-after" && ok "status shows no new run in that ledger" ||
    not_ok "status shows no new run in that ledger" "$(cat "$work/runs-after")"

# ---- a clean run ------------------------------------------------------------
before_outside=$(outside "$A")
run "$BACKFILL" run "$work/brief.json" --warehouse "$A"
expect_rc 0 "a clean run ends awaiting approval"
expect_grep "$work/out" "awaiting_approval: 73 of 73 batches validated" "all 73 batches validated"
[ -f "$A.ledger" ] && ok "the ledger defaults to DB.ledger" || not_ok "no $A.ledger"
clean_fp=$(fp "$A" fct_orders)
[ "$clean_fp" != "$before_fp" ] && ok "the run changed fct_orders" || not_ok "nothing changed: $clean_fp"
after_outside=$(outside "$A")
[ "$after_outside" = "$before_outside" ] && ok "rows outside the scope and columns outside target.columns are untouched" ||
    not_ok "outside changed" "before: $before_outside" "after: $after_outside"
n=$(q "$A" "SELECT count(*) FROM fct_orders f JOIN (SELECT order_id, SUM(amount) s FROM raw_refunds GROUP BY 1) r USING (order_id)
            WHERE f.order_ts >= 1735707600 AND f.order_ts < 1742011200 AND abs(f.refund_amount - r.s) > 1e-9")
[ "$n" = 0 ] && ok "every refunded order in scope carries its refunds" || not_ok "$n orders miss refunds"
v=$(q "$A" "SELECT refund_amount FROM fct_orders WHERE order_id = 90001")
[ "$v" = "6.0" ] && ok "three refunds on one order, on the 23-hour DST day, add up" ||
    not_ok "order 90001 refund $v"
n=$(q "$A.ledger" "SELECT count(*) FROM batches WHERE label = '2025-03-09' AND hi - lo = 82800000000")
[ "$n" = 1 ] && ok "the DST day is one batch of 23 hours" || not_ok "DST day batches: $n"
# An order at 2025-01-01 04:59 UTC is still 2024 in New York: out of scope.
v=$(q "$A" "SELECT refund_amount FROM fct_orders WHERE order_id = 90002")
[ "$v" = "0.0" ] && ok "an order before local midnight of the scope start is not touched" || not_ok "90002: $v"
n=$(q "$A.ledger" "SELECT count(*) FROM events WHERE subject = 'schema'")
[ "$n" = 1 ] && ok "the target's schema is recorded once at the start" || not_ok "schema records: $n"
n=$(q "$A.ledger" "SELECT count(*) FROM validations WHERE batch_id = 0")
[ "$n" = 1 ] && ok "run-level validation recorded" || not_ok "run-level validations: $n"
# Each batch's metric is explained: its delta split into added, removed and changed rows.
n=$(q "$A.ledger" "SELECT count(*) FROM validations WHERE batch_id > 0 AND results_json LIKE '%\"explained\":{\"metric\":\"SUM(net_revenue)\"%'")
[ "$n" = 73 ] && ok "every batch's metric delta is explained by added, removed and changed rows" ||
    not_ok "explained metrics: $n of 73"
run "$BACKFILL" report refund-fix --ledger "$A.ledger"
expect_grep "$work/out" "\\| 2025-01-02 \\| net revenue \\| .* \\| added 0, removed 0, changed -" \
    "the change note shows where each batch's revenue moved"
expect_grep "$work/out" "net revenue\\*\\*, summed over 73 batches: .*: added rows 0, removed rows 0, changed rows -" \
    "and where the whole run's revenue moved"
expect_grep "$work/out" "summed over 73 batches: [0-9.]* before, [0-9.]* after \\(-[0-9.]*, -[0-9]\\.[0-9][0-9]%\\)" \
    "the change in percent as people write it, two decimals"

# status RUN --json lists every batch with the id that --batch takes.
run "$BACKFILL" status refund-fix --ledger "$A.ledger" --json
n=$(grep -c '^    {$' "$work/out" || true)
[ "$n" = 73 ] && ok "status RUN --json lists all 73 batches" || not_ok "status RUN --json lists $n batches" "$(head -c 600 "$work/out")"
id=$(sed -n '/"batches": \[/,$ s/^      "id": \([0-9]*\),$/\1/p' "$work/out" | head -1)
label=$(sed -n '/"batches": \[/,$ s/^      "label": "\(.*\)",$/\1/p' "$work/out" | head -1)
run "$BACKFILL" validate refund-fix --batch "$id" --ledger "$A.ledger" --warehouse "$A"
expect_rc 0 "validate --batch takes the first batch's id from there"
expect_grep "$work/out" "$label" "and checks that batch ($label)"
# The whole run, later: every check compares with the values recorded before, none is skipped.
run "$BACKFILL" validate refund-fix --ledger "$A.ledger" --warehouse "$A"
expect_rc 0 "validate RUN after the run passes"
expect_grep "$work/out" "^pass    run metric net revenue: .* moved from " "the run-level metric compares with before"
n=$(grep -c "^pass .* metric net revenue: .* moved from " "$work/out" || true)
[ "$n" = 74 ] && ok "so does each of the 73 batches' metric" || not_ok "$n metric lines compare" "$(grep metric "$work/out" | head -3)"

# The run recorded each batch's before-state: diff RUN finds exactly the orders whose refunds
# changed them, from the pre-images of only the rows each batch touched.
run "$BACKFILL" diff refund-fix --ledger "$A.ledger" --warehouse "$A"
expect_rc 0 "diff RUN after the run"
changed=$(awk '/ added, .* removed, .* changed/ { for (i = 1; i <= NF; i++) if ($i == "changed") s += $(i - 1) } END { print s + 0 }' "$work/out")
want=$(q "$A" "SELECT count(*) FROM fct_orders WHERE order_ts >= 1735707600 AND order_ts < 1742011200 AND refund_amount != 0")
[ "$changed" = "$want" ] && ok "diff RUN counts $want changed orders, as plain SQL does" ||
    not_ok "diff RUN: $changed changed, SQL says $want" "$(head -c 600 "$work/out")"

# validate and diff RUN against a warehouse the run never wrote (one built as A was, before its
# run): an error that says so, not a spurious failure or "0 changed", and nothing recorded.
make_warehouse "$work/never.db"
checks=$(q "$A.ledger" "SELECT count(*) FROM validations")
run "$BACKFILL" validate refund-fix --ledger "$A.ledger" --warehouse "$work/never.db"
expect_rc 2 "validate RUN against a warehouse the run never wrote: exit 2"
expect_grep "$work/err" "published 73 batches into fct_orders, but this warehouse holds none of them" \
    "validate says the warehouse is not the run's"
[ "$(q "$A.ledger" "SELECT count(*) FROM validations")" = "$checks" ] &&
    ok "and records nothing" || not_ok "validate recorded results against the wrong warehouse"
run "$BACKFILL" diff refund-fix --ledger "$A.ledger" --warehouse "$work/never.db"
expect_rc 2 "diff RUN against a warehouse the run never wrote: exit 2"
expect_grep "$work/err" "it is not the warehouse the run wrote" "diff says why"
[ ! -s "$work/out" ] && ok "and diffs nothing" || not_ok "diffed: $(head -c 300 "$work/out")"

# ---- a host's own loop over the ledger, driver and validator API (examples/c) ----
HL="$work/hl.db"
make_warehouse "$HL"
run "$BF_HOST_LOOP" "$work/brief.json" "$HL" "$HL.ledger"
expect_rc 0 "examples/c/host_loop drives every batch itself"
expect_grep "$work/out" "^host_loop: 73 batches done in run 1" "host_loop did all 73 batches"
[ "$(fp "$HL" fct_orders)" = "$clean_fp" ] && ok "host_loop leaves the same rows as backfill run" ||
    not_ok "host_loop's rows differ"
n=$(q "$HL.ledger" "SELECT count(*) FROM batches WHERE state = 3")
[ "$n" = 73 ] && ok "host_loop's batches are validated in the ledger" || not_ok "validated: $n"
# host_loop records no brief with its run: validate and diff say so, naming the run.
for cmd in validate diff; do
    run "$BACKFILL" $cmd 1 --ledger "$HL.ledger" --warehouse "$HL"
    expect_rc 2 "$cmd of host_loop's run is refused"
    expect_grep "$work/err" "run 1 \(.*\): its recorded brief names no target table" "$cmd names the run and why"
done

# ---- the same brief again -----------------------------------------------------
run "$BACKFILL" run "$work/brief.json" --warehouse "$A"
expect_rc 0 "running the same brief again"
expect_grep "$work/out" "nothing left to run" "says there is nothing left to run"
run "$BACKFILL" run "$work/brief.json" --warehouse "$A" --new
expect_rc 0 "a new run of the same brief and code"
expect_grep "$work/out" "^batch .*: already done by batch [0-9]+ with the same idempotency key; not published again \([0-9]+/73\)$" \
    "each batch says an earlier run did it, rather than \"0 rows written\""
n=$(q "$A.ledger" "SELECT coalesce(sum(rows_written), -1) FROM batches WHERE run_id = 2")
[ "$n" = 0 ] && ok "the new run re-published no batch" || not_ok "run 2 wrote $n rows"
[ "$(fp "$A" fct_orders)" = "$clean_fp" ] && ok "fingerprint unchanged by the second run" || not_ok "changed"

# ---- kill -9 five times mid-batch, then run again --------------------------------
B="$work/b.db"
make_warehouse "$B"
brief refund-fix partition_overwrite "" slow >"$work/slow.json"
kills=0
for i in 1 2 3 4 5; do
    "$BACKFILL" run "$work/slow.json" --warehouse "$B" >/dev/null 2>&1 &
    pid=$!
    # Mid-batch: once this process holds a batch (at most 5 s), a moment into it. A fixed sleep
    # let the last runs finish first once batches got faster.
    for _ in $(seq 100); do
        # -readonly: the poll must not make the ledger file before run does.
        n=0
        [ -s "$B.ledger" ] && n=$(sqlite3 -readonly "$B.ledger" "SELECT count(*) FROM batches WHERE state = 1 AND (worker LIKE '% pid $pid' OR worker LIKE '% pid $pid %')" 2>/dev/null || echo 0)
        [ "${n:-0}" -gt 0 ] && break
        sleep 0.05
    done
    sleep 0.0$i
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
done
[ "$kills" = 5 ] && ok "killed run five times mid-run" || not_ok "only $kills kills landed"
running=$(q "$B.ledger" "SELECT count(*) FROM batches WHERE state = 1")
done_before=$(q "$B.ledger" "SELECT count(*) FROM batches WHERE state IN (2, 3)")
run "$BACKFILL" run "$work/slow.json" --warehouse "$B"
expect_rc 0 "the run after five kills completes"
[ "$(fp "$B" fct_orders)" = "$clean_fp" ] && ok "after the kills the target equals a clean run's" ||
    not_ok "fingerprint differs after kills"
n=$(q "$B.ledger" "SELECT count(*) FROM batches WHERE state = 3")
[ "$n" = 73 ] && ok "73 batches validated (had $done_before done, $running held by dead workers)" ||
    not_ok "validated: $n"
n=$(q "$B.ledger" "SELECT count(*) FROM batches WHERE state = 4")
[ "$n" = 0 ] && ok "no batch failed for the kills" || not_ok "$n failed"

# ---- an error-level check fails: the run pauses with its sentence ----------------
C="$work/c.db"
make_warehouse "$C"
sed 's/"min": -20, "max": 0/"min": -20, "max": -15/' "$work/brief.json" >"$work/strict.json"
run "$BACKFILL" run "$work/strict.json" --warehouse "$C"
expect_rc 3 "a failed error-level check stops the run"
expect_grep "$work/err" "validation failed: batch .*net revenue" "the message is the check's sentence"
run "$BACKFILL" status refund-fix --ledger "$C.ledger"
expect_grep "$work/out" "paused" "status shows the run paused"
reason=$(q "$C.ledger" "SELECT detail FROM events WHERE subject = 'run' AND to_state = 'paused'")
case "$reason" in "validation failed: batch "*"net revenue"*) ok "the pause records the sentence as its reason" ;;
    *) not_ok "pause reason: $reason" ;; esac
run "$BACKFILL" run "$work/strict.json" --warehouse "$C"
expect_rc 4 "run again on the paused run is refused until resumed"
expect_grep "$work/err" "is paused.*resume" "and says how to resume"
expect_grep "$work/err" "is paused: validation failed: batch .*net revenue.*roll it back" "and why it paused, not \"by hand\", and what to do with the batch"
# Resumed, the run goes on and stops again at the next batch the strict check refuses; the batch
# that failed is never validated silently: rolled back by hand, run again does it again.
"$BACKFILL" resume refund-fix --ledger "$C.ledger" >/dev/null
run "$BACKFILL" run "$work/strict.json" --warehouse "$C"
expect_rc 3 "a resumed run stops again at a batch that fails its checks"
expect_grep "$work/err" "validation failed: batch " "with the check's sentence"
bad=$(q "$C.ledger" "SELECT id FROM batches WHERE state = 2 LIMIT 1")
"$BACKFILL" resume refund-fix --ledger "$C.ledger" >/dev/null 2>&1 || true
run "$BACKFILL" rollback refund-fix --batch "$bad" --ledger "$C.ledger" --warehouse "$C"
expect_rc 0 "that batch rolls back"
run "$BACKFILL" run "$work/strict.json" --warehouse "$C"
expect_rc 3 "run again redoes the rolled-back batch, which fails the same check again"
n=$(q "$C.ledger" "SELECT count(*) FROM events WHERE batch_id = $bad AND detail = 'rolled back by hand: done again'")
[ "$n" = 1 ] && ok "the rolled-back batch was put back to pending and done again" || not_ok "redo events: $n"
# validate later compares with the values the run recorded before the batch first published:
# the metric fails again, as it did in the run, rather than being skipped and the batch passed.
bad=$(q "$C.ledger" "SELECT id FROM batches WHERE state = 2 LIMIT 1")
run "$BACKFILL" validate refund-fix --batch "$bad" --ledger "$C.ledger" --warehouse "$C"
expect_rc 3 "validate later finds the batch's metric out of bounds again"
expect_grep "$work/out" "^fail .* metric net revenue: check net revenue: SUM\(net_revenue\) .* moved from " \
    "comparing with the recorded value from before"
if grep -q "^skipped\|^unrecorded" "$work/out"; then not_ok "checks skipped" "$(cat "$work/out")"; else
    ok "no check is skipped"; fi
n=$(q "$C.ledger" "SELECT state FROM batches WHERE id = $bad")
[ "$n" = 2 ] && ok "the batch that failed its checks stays completed, not validated" || not_ok "state $n"
n=$(q "$C.ledger" "SELECT passed || ':' || n_fail || ':' || n_skipped FROM validations WHERE batch_id = $bad")
[ "$n" = "0:1:0" ] && ok "the failing results are recorded, none skipped" || not_ok "recorded: $n"

# ---- pause, resume and cancel from a second process --------------------------------
D="$work/d.db"
make_warehouse "$D"
"$BACKFILL" run "$work/slow.json" --warehouse "$D" >"$work/d.out" 2>"$work/d.err" &
pid=$!
wait_batches "$D" 3 2
"$BACKFILL" pause refund-fix --ledger "$D.ledger" >/dev/null
at_pause=$(q "$D.ledger" "SELECT count(*) FROM batches WHERE state IN (1, 2, 3)")
set +e; wait "$pid"; prc=$?; set -e
[ "$prc" = 4 ] && ok "pause from another process stops run (exit 4)" || not_ok "run exited $prc" "$(cat "$work/d.err")"
after=$(q "$D.ledger" "SELECT count(*) FROM batches WHERE state IN (2, 3)")
[ "$after" -le "$at_pause" ] && ok "no batch was claimed after the pause ($after done, $at_pause started)" ||
    not_ok "claimed after pause: $after > $at_pause"
n=$(q "$D.ledger" "SELECT count(*) FROM batches WHERE state = 1")
[ "$n" = 0 ] && ok "batches in flight finished before run returned" || not_ok "$n still running"
"$BACKFILL" resume refund-fix --ledger "$D.ledger" >/dev/null
run "$BACKFILL" run "$work/brief.json" --warehouse "$D"
expect_rc 3 "resuming with another job.select is refused"
expect_grep "$work/err" "another version of the brief \\(job differ\\)" "and the message names the field"
run "$BACKFILL" run "$work/slow.json" --warehouse "$D"
expect_rc 0 "resume, then run again completes"
[ "$(fp "$D" fct_orders)" = "$clean_fp" ] && ok "the paused and resumed run equals a clean run" || not_ok "differs"

E="$work/e.db"
make_warehouse "$E"
"$BACKFILL" run "$work/slow.json" --warehouse "$E" >"$work/e.out" 2>"$work/e.err" &
pid=$!
wait_batches "$E" 3 2
"$BACKFILL" cancel refund-fix --ledger "$E.ledger" >/dev/null
set +e; wait "$pid"; crc=$?; set -e
[ "$crc" = 4 ] && ok "cancel from another process stops run (exit 4)" || not_ok "run exited $crc"
expect_grep "$work/e.err" "cancelled" "the message says the run was cancelled"
n=$(q "$E.ledger" "SELECT count(*) FROM batches WHERE state IN (0, 1)")
[ "$n" = 0 ] && ok "no batch left pending or running after the cancel" || not_ok "$n left"

# ---- SIGINT stops cleanly; run again resumes -------------------------------------------
F="$work/f.db"
make_warehouse "$F"
"$BACKFILL" run "$work/slow.json" --warehouse "$F" >"$work/f.out" 2>"$work/f.err" &
pid=$!
sleep 1
kill -INT "$pid"
set +e; wait "$pid"; irc=$?; set -e
[ "$irc" = 4 ] && ok "SIGINT: run returns exit 4" || not_ok "SIGINT: exit $irc" "$(cat "$work/f.err")"
expect_grep "$work/f.err" "^backfill: run: stopping: no new batch is claimed and the batches in flight finish; interrupt again to leave at once$" \
    "SIGINT: run says it is stopping, and how to leave at once"
n=$(q "$F.ledger" "SELECT count(*) FROM batches WHERE state = 1")
[ "$n" = 0 ] && ok "SIGINT: no lease left behind" || not_ok "$n batches still running"
# status says no process runs it any more, rather than an ETA for work nobody does.
run "$BACKFILL" status refund-fix --ledger "$F.ledger"
expect_grep "$work/out" "^  no process is running it: stopped by the host before its end, [0-9]+ of 73 batches done; run again to resume" \
    "status after SIGINT says the run was stopped"
if grep -q "ETA" "$work/out"; then not_ok "status still gives an ETA" "$(cat "$work/out")"; else
    ok "and gives no ETA"; fi
run "$BACKFILL" run "$work/slow.json" --warehouse "$F"
expect_rc 0 "after SIGINT, run again completes"
run "$BACKFILL" status refund-fix --ledger "$F.ledger"
if grep -q "no process is running it" "$work/out"; then not_ok "a finished run still says stopped"; else
    ok "a resumed run no longer says stopped"; fi

# A second SIGINT leaves at once, saying so; the next run takes the batches back and completes.
G="$work/sigint2.db"
make_warehouse "$G"
brief refund-fix partition_overwrite "" slow_start >"$work/slow-start.json"
"$BACKFILL" run "$work/slow-start.json" --warehouse "$G" --json >"$work/sigint2.out" 2>"$work/sigint2.err" &
pid=$!
wait_batches "$G" 1 1
kill -INT "$pid"; sleep 0.2; kill -INT "$pid" 2>/dev/null || true
set +e; wait "$pid"; irc=$?; set -e
[ "$irc" = 130 ] && ok "a second SIGINT: run leaves at once (exit 130)" || not_ok "second SIGINT: exit $irc" "$(cat "$work/sigint2.err")"
expect_grep "$work/sigint2.err" "^backfill: run: leaving at once: the batches in flight are taken back by the next \`backfill run\` on this host" \
    "and says what becomes of the batches in flight"
# Under --json, leaving at once is still one JSON object on stdout: the error, exit 130.
if jq -se 'length == 1 and .[0].format == "backfill-error/1" and .[0].exit == 130 and
           .[0].code == "BF_E_STATE" and (.[0].error | startswith("run: leaving at once: "))' \
    "$work/sigint2.out" >/dev/null 2>&1; then
    ok "under --json a second SIGINT prints one error object"
else
    not_ok "under --json a second SIGINT prints one error object" "$(head -c 400 "$work/sigint2.out")"
fi
[ "$(head -c 1 "$work/sigint2.out")" = "{" ] && [ "$(tail -n 1 "$work/sigint2.out")" = "}" ] &&
    ok "and nothing else on stdout" || not_ok "more than the object on stdout" "$(cat "$work/sigint2.out")"
run "$BACKFILL" run "$work/slow-start.json" --warehouse "$G"
expect_rc 0 "after a second SIGINT, run again completes"
[ "$(fp "$G" fct_orders)" = "$(fp "$F" fct_orders)" ] && ok "with the rows of the run stopped once" ||
    not_ok "the rows differ from the run stopped once"

# ---- every write pattern gives the same rows -------------------------------------------
for s in merge staging_swap parallel_version; do
    W="$work/p-$s.db"
    make_warehouse "$W"
    extra=""
    [ "$s" = parallel_version ] && extra=', "version_table": "fct_orders_v2"'
    brief "refund-$s" "$s" "$extra" >"$work/p-$s.json"
    run "$BACKFILL" run "$work/p-$s.json" --warehouse "$W"
    if [ "$rc" != 0 ]; then not_ok "$s: exit $rc" "$(cat "$work/err")"; continue; fi
    case $s in
    staging_swap) t=$(q "$W" "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'fct_orders__bf_full_%'") ;;
    parallel_version) t=fct_orders_v2 ;;
    *) t=fct_orders ;;
    esac
    [ "$(fp "$W" "$t")" = "$clean_fp" ] && ok "$s gives the same rows as partition_overwrite ($t)" ||
        not_ok "$s: $t differs" "$(fp "$W" "$t") vs $clean_fp"
done
# Before the cutover, validate and diff read the run's copy, which the run wrote, not the target.
for s in staging_swap parallel_version; do
    W="$work/p-$s.db"
    run "$BACKFILL" validate 1 --ledger "$W.ledger" --warehouse "$W"
    expect_grep "$work/out" "^pass +run metric net revenue: check net revenue: SUM\(net_revenue\) on table fct_orders(__bf_full_1|_v2) in the run moved from [0-9.]+ to [0-9.]+ \(-" \
        "$s: validate before the cutover measures the run's copy, and the change"
    run "$BACKFILL" diff 1 --ledger "$W.ledger" --warehouse "$W"
    expect_grep "$work/out" "^fct_orders(__bf_full_1|_v2) batch 2025-01-01 \([0-9]+\) against fct_orders(__bf_snap_1)?: 0 added, 0 removed, [1-9][0-9]* changed" \
        "$s: diff before the cutover compares the copy with the rows before"
done
# Without snapshots the target itself holds the rows before.
W="$work/p-nosnap.db"
make_warehouse "$W"
sed 's/"snapshot": true/"snapshot": false/' "$work/p-staging_swap.json" >"$work/p-nosnap.json"
run "$BACKFILL" run "$work/p-nosnap.json" --warehouse "$W"
expect_rc 0 "staging_swap without snapshots runs"
run "$BACKFILL" diff 1 --ledger "$W.ledger" --warehouse "$W"
expect_grep "$work/out" "^fct_orders__bf_full_1 batch 2025-01-01 \([0-9]+\) against fct_orders: 0 added, 0 removed, [1-9][0-9]* changed" \
    "and diff before the cutover compares its copy with the target"
# append with a key: into a target whose scope rows are not there yet.
G="$work/g.db"
H="$work/h.db"
make_warehouse "$G"
q "$G" "DELETE FROM fct_orders WHERE order_ts >= 1735707600 AND order_ts < 1742011200"
cp "$G" "$H"
# (no metric or unchanged_columns check: a sum that starts from nothing has no
# percentage change, and every row is new)
brief refund-append append ', "allow_non_idempotent": true' "" nometric >"$work/append.json"
brief refund-fix partition_overwrite "" "" nometric >"$work/nometric.json"
run "$BACKFILL" run "$work/append.json" --warehouse "$G"
expect_rc 0 "append with a key runs"
run "$BACKFILL" run "$work/nometric.json" --warehouse "$H"
expect_rc 0 "partition_overwrite into the same emptied scope runs"
[ "$(fp "$G" fct_orders)" = "$(fp "$H" fct_orders)" ] && ok "append gives the same rows as partition_overwrite" ||
    not_ok "append differs"
finish
