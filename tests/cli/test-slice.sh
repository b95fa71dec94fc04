#!/bin/sh
# backfill test-slice: representative batches of the example brief into scratch copies, the
# estimate, the ledger evidence that quiets check's runtime warning, and the target untouched.
set -eu
. "$(dirname "$0")/tap.sh"
plan 41

brief="$BF_SOURCE_ROOT/examples/warehouse/refund-join.json"
db="$work/W.db"
sqlite3 "$db" <"$BF_SOURCE_ROOT/examples/warehouse/build.sql"

run "$BACKFILL" fingerprint fct_orders --warehouse "$db"
before=$(cat "$work/out")

run "$BACKFILL" check "$brief"
expect_grep "$work/out" "^warn  missing-runtime-estimate " "before a test slice, check warns that there is no runtime estimate"

# --- bad input creates no ledger ----------------------------------------------------------
run "$BACKFILL" test-slice "$BF_SOURCE_ROOT/examples/briefs/bad-draft.json" --warehouse "$db"
expect_rc 3 "test-slice of a blocked brief is refused"
expect_grep "$work/err" "^backfill: test-slice: brief refund-join-draft is blocked \(8 blocking findings\)" "with the runner's sentence"
run "$BACKFILL" test-slice "$brief" --warehouse "$db" --batches -1
expect_rc 2 "--batches -1 is bad usage"
expect_grep "$work/err" "^backfill: test-slice: --batches: -1 is not a positive integer\$" "and the message says what is wrong with -1"
if [ ! -e "$db.ledger" ]; then ok "bad input made no ledger"; else not_ok "bad input made $db.ledger"; fi

# --- the slice -------------------------------------------------------------------------
run "$BACKFILL" test-slice "$brief" --warehouse "$db"
expect_rc 0 "test-slice of the example brief"
expect_grep "$work/out" "^test slice of refund-join-fix-2025h1 \\(run 1\\): 5 batches\$" "the header names the brief, the run and 5 batches"
n=$(grep -c "^batch " "$work/out" || true)
if [ "$n" -eq 5 ]; then ok "five batch lines"; else not_ok "five batch lines: $n" "$(cat "$work/out")"; fi
expect_grep "$work/out" "^batch 2025-04-30\\.\\.2025-05-06 \\(largest: 8,592 rows; month end 2025-04-30 differs from UTC\\): 8592 rows, " "the largest batch, with its rows and its month end"
expect_grep "$work/out" "^batch 2025-03-05\\.\\.2025-03-11 \\(DST change 2025-03-09\\): " "the batch over the DST change is chosen for it"
expect_grep "$work/out" "^batch 2025-01-29\\.\\.2025-02-04 \\(month end 2025-01-31 differs from UTC\\): " "a batch over a month end that differs from UTC"
expect_grep "$work/out" "^batch 2025-05-28\\.\\.2025-05-31 \\(last; " "the last batch"
expect_grep "$work/out" "checks pass \\(6 pass, 0 warn, 0 fail, 0 error, 0 skipped\\); idempotent: yes\$" "each batch: checks and idempotency"
if grep -q "idempotent: no" "$work/out"; then not_ok "no batch is non-idempotent" "$(cat "$work/out")"; else ok "no batch is non-idempotent"; fi
expect_grep "$work/out" "^estimate: about [0-9.]+(s|m[0-9]+s) for 22 batches, 185247 rows\$" "the whole plan's estimate"
if grep -q "source-read-whole" "$work/out"; then not_ok "with statistics no source is read whole" "$(tail -3 "$work/out")"; else
    ok "with statistics (the example's) no source is read whole for every batch"; fi

run "$BACKFILL" fingerprint fct_orders --warehouse "$db"
if [ "$(cat "$work/out")" = "$before" ]; then ok "the fingerprint of fct_orders is unchanged"; else
    not_ok "the fingerprint of fct_orders is unchanged" "before: $before" "after: $(cat "$work/out")"; fi
left=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name LIKE '%\\_\\_bf\\_%' ESCAPE '\\'")
if [ "$left" -eq 0 ]; then ok "no scratch, staging or snapshot table is left"; else
    not_ok "no scratch table is left: $left" "$(sqlite3 "$db" .tables)"; fi

# --- the ledger's evidence -------------------------------------------------------------
run "$BACKFILL" status --ledger "$db.ledger"
expect_grep "$work/out" "refund-join-fix-2025h1@test-slice +1 +completed +22" "status lists the slice's run, completed, over the whole plan"
# The slice's run wrote scratch copies: validate, diff and report of it say so (exit 2).
for c in validate diff report; do
    if [ "$c" = report ]; then run "$BACKFILL" report 1 --ledger "$db.ledger"; else
        run "$BACKFILL" "$c" 1 --ledger "$db.ledger" --warehouse "$db"; fi
    expect_rc 2 "$c of the slice's run"
    expect_grep "$work/err" "run 1 \(refund-join-fix-2025h1@test-slice\) is a test slice: it wrote scratch copies, never the target" \
        "$c says the run is a test slice, not that the warehouse is another"
done

run "$BACKFILL" check "$brief" --ledger "$db.ledger"
expect_rc 0 "check with the ledger"
if grep -q "missing-runtime-estimate" "$work/out"; then not_ok "the runtime warning is gone" "$(cat "$work/out")"; else ok "the runtime warning is gone"; fi
expect_grep "$work/out" "^runtime estimate: about [0-9.]+s for 185247 rows \\(from the latest test slice\\)\$" "check prints the estimate instead"
expect_grep "$work/out" "^refund-join-fix-2025h1: 0 blocking, 0 warnings; ready to plan\$" "the summary counts no warning"

run "$BACKFILL" check "$brief" --ledger "$work/nope.ledger"
expect_rc 2 "check --ledger with a missing file is bad input"

# --- JSON, options -----------------------------------------------------------------------
run "$BACKFILL" test-slice "$brief" --warehouse "$db" --batches 2 --json
expect_rc 0 "test-slice --batches 2 --json"
expect_grep "$work/out" '"format": "backfill-test-slice/1"' "JSON format"
n=$(grep -c '"duration_s"' "$work/out" || true)
if [ "$n" -eq 2 ]; then ok "JSON lists two batches"; else not_ok "JSON lists two batches: $n" "$(head -c 600 "$work/out")"; fi

# Without statistics SQLite reads raw_orders whole for every batch: the slice names it.
cp "$db" "$work/nostats.db"
sqlite3 "$work/nostats.db" "DROP TABLE sqlite_stat1"
run "$BACKFILL" test-slice "$brief" --warehouse "$work/nostats.db"
expect_rc 0 "a slice whose job reads a source whole still passes"
expect_grep "$work/out" "^warn source-read-whole: the job reads raw_orders whole \(260,128 rows\) for every batch of about [0-9,]+ rows \(SQLite's plan: SCAN o\)" \
    "the slice names raw_orders, read whole for every batch, with SQLite's plan"
run "$BACKFILL" test-slice "$brief" --warehouse "$work/nostats.db" --json
n=$(python3 -c "import json,sys; f=json.load(open(sys.argv[1]))['findings']; print(len(f), f[0]['code'], f[0]['source'], f[0]['rows'], f[0]['plan'])" "$work/out")
[ "$n" = "1 source-read-whole raw_orders 260128 o" ] && ok "the JSON finding: code, source, rows and plan" || not_ok "JSON findings: $n"
# "FROM t AS alias" names the same table.
sed 's/FROM raw_orders o LEFT JOIN/FROM raw_orders AS o LEFT JOIN/' "$brief" >"$work/as.json"
run "$BACKFILL" test-slice "$work/as.json" --warehouse "$work/nostats.db"
expect_grep "$work/out" "^warn source-read-whole: the job reads raw_orders whole .*SCAN o\\)" "an alias given with AS is read back to its table"
# A job without an index for its bounds: a source without raw_orders_ts is read whole too.
sqlite3 "$work/nostats.db" "DROP INDEX raw_orders_ts"
run "$BACKFILL" test-slice "$brief" --warehouse "$work/nostats.db"
expect_grep "$work/out" "^warn source-read-whole: the job reads raw_orders whole" "a source with no index on the batch's bounds is named"

run "$BACKFILL" test-slice "$brief" --warehouse "$db" --batches 0
expect_rc 2 "--batches 0 is bad input"
run "$BACKFILL" test-slice "$brief" --warehouse "$work/missing.db"
expect_rc 2 "a missing warehouse is bad input"

finish
