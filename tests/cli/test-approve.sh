#!/bin/sh
# backfill approve, rollback and cleanup on the example warehouse
# (examples/warehouse): who may approve and when, the downstream refresh
# after approval, the whole run rolled back to the table's fingerprint from
# before the run, a rollback refused over another writer's change, and
# cleanup refused before the brief's retention is over.
set -eu
. "$(dirname "$0")/tap.sh"
plan 66

W="$work/W.db"
L="$W.ledger"
BRIEF="$BF_SOURCE_ROOT/examples/warehouse/refund-join.json"
sqlite3 "$W" < "$BF_SOURCE_ROOT/examples/warehouse/build.sql"
mart() { sqlite3 "$W" "SELECT month || '=' || net_revenue FROM mart_monthly_revenue ORDER BY month" | tr '\n' ' '; }
fp() { "$BACKFILL" fingerprint fct_orders --warehouse "$W"; }
fp0=$(fp)
cp "$W" "$W.before"
mart0=$(mart)

# No ledger yet: nothing to approve.
run "$BACKFILL" approve refund-join-fix-2025h1 --reviewer raj@example.com --ledger "$L" --warehouse "$W"
expect_rc 2 "approve without a ledger"

# The run started, then stopped at once (the hook interrupts it once, on its first event).
run "$BACKFILL" run "$BRIEF" --warehouse "$W" --on-event "[ -e '$work/hooked' ] || { touch '$work/hooked'; kill -INT \$PPID; }"
expect_rc 4 "a run stopped before its end"
run "$BACKFILL" approve 1 --reviewer raj@example.com --ledger "$L" --warehouse "$W"
expect_rc 3 "approve refused before the run finished"
expect_grep "$work/err" "not awaiting approval" "the refusal says why"

run "$BACKFILL" run "$BRIEF" --warehouse "$W"
expect_rc 0 "the run resumes and awaits approval"

run "$BACKFILL" approve refund-join-fix-2025h1 --reviewer ana@example.com --ledger "$L" --warehouse "$W"
expect_rc 3 "approve refused for ana, the brief's owner"
expect_grep "$work/err" "ana@example.com is not the brief's reviewer \(raj@example.com\)" "the refusal names the reviewer"
run "$BACKFILL" approve 1 --reviewer ana@example.com --ledger "$L" --warehouse "$W" --json
expect_rc 3 "--json refusal"
expect_grep "$work/out" '"code": "BF_E_BLOCKED"' "the JSON error names the code"
if [ "$(mart)" = "$mart0" ]; then ok "nothing refreshed by a refused approval"; else
    not_ok "a refused approval refreshed the mart" "$(mart)"; fi
run "$BACKFILL" approve 1 --reviewer raj --ledger "$L" --warehouse "$W"
expect_rc 3 "approve refused for a name that is not the reviewer's"
# Pointed at a warehouse the run never wrote (a copy from before it): refused, nothing refreshed there.
cp "$W.before" "$work/other.db"
other0=$(sqlite3 "$work/other.db" "SELECT group_concat(net_revenue) FROM mart_monthly_revenue")
run "$BACKFILL" approve 1 --reviewer raj@example.com --ledger "$L" --warehouse "$work/other.db"
expect_rc 3 "approve refused on a warehouse the run never wrote"
expect_grep "$work/err" "published 22 batches into fct_orders, but this warehouse holds none of them" "the refusal says it is not the run's warehouse"
[ "$(sqlite3 "$work/other.db" "SELECT group_concat(net_revenue) FROM mart_monthly_revenue")" = "$other0" ] &&
    ok "nothing refreshed in the other warehouse" || not_ok "the other warehouse's mart changed"
run "$BACKFILL" rollback 1 --ledger "$L" --warehouse "$work/other.db"
expect_rc 3 "rollback refused there too"
expect_grep "$work/err" "not the warehouse the run wrote" "with the same reason"

run "$BACKFILL" approve 1 --reviewer raj@example.com --ledger "$L" --warehouse "$W"
expect_rc 0 "approve accepted for raj"
expect_grep "$work/out" "^refreshed: mart_monthly_revenue refreshed$" "the mart is refreshed"
expect_grep "$work/out" "^run 1 is completed$" "the run completes"
mart1=$(mart)
if [ "$mart1" != "$mart0" ]; then ok "mart_monthly_revenue holds new numbers"; else
    not_ok "mart_monthly_revenue unchanged" "$mart1"; fi
jan0=$(sqlite3 "$W.before" "SELECT net_revenue FROM mart_monthly_revenue WHERE month = '2025-01'")
if [ "$(sqlite3 "$W" "SELECT net_revenue < $jan0 FROM mart_monthly_revenue WHERE month = '2025-01'")" = 1 ]; then ok "January's net revenue went down (refunds joined)"; else
    not_ok "January's net revenue did not go down" "$mart1"; fi
run "$BACKFILL" approve 1 --reviewer raj@example.com --ledger "$L" --warehouse "$W"
expect_rc 3 "a completed run is not approved twice"
# validate re-checks the finished run and leaves the runner's results, explained deltas and all.
"$BACKFILL" report 1 --ledger "$L" >"$work/note1.md"
run "$BACKFILL" validate 1 --ledger "$L" --warehouse "$W"
expect_rc 0 "validate of the completed run passes"
"$BACKFILL" report 1 --ledger "$L" >"$work/note2.md"
if grep -q "changed rows" "$work/note1.md" && cmp -s "$work/note1.md" "$work/note2.md"; then
    ok "the change note is the same after validate (explained deltas kept)"; else
    not_ok "validate changed the change note" "$(diff "$work/note1.md" "$work/note2.md" | head -5)"; fi
# Running the completed brief again starts no run asking to approve nothing.
run "$BACKFILL" run "$BRIEF" --warehouse "$W"
expect_rc 0 "running the completed brief again"
expect_grep "$work/out" "^done: nothing left to run: run 1 completed this brief with this plan and code" "says run 1 did it"
expect_grep "$work/out" "^run 1 \(refund-join-fix-2025h1 #1\): completed" "and shows run 1"
[ "$(sqlite3 "$L" "SELECT count(*) FROM runs")" = 1 ] && ok "no second run is started" ||
    not_ok "runs: $(sqlite3 "$L" "SELECT count(*) FROM runs")"

# Cleanup waits for rollback.retention_days (14).
run "$BACKFILL" cleanup 1 --ledger "$L" --warehouse "$W"
expect_rc 4 "cleanup refused before the retention is over"
expect_grep "$work/err" "retention_days \(14 days\)" "the refusal gives the retention"

# The whole run back: the table's fingerprint from before the run.
run "$BACKFILL" rollback 1 --ledger "$L" --warehouse "$W" --json
expect_rc 0 "rollback of the whole run"
expect_grep "$work/out" '"state": "rolled_back"' "the run is rolled back"
if [ "$(fp)" = "$fp0" ]; then ok "fct_orders has its fingerprint from before the run"; else
    not_ok "fct_orders differs after the rollback" "before: $fp0" "now: $(fp)"; fi
# Approval refreshed the mart: the rollback refreshes it again, back to its old numbers.
expect_grep "$work/out" '^    "mart_monthly_revenue"$' "the rollback lists the mart it refreshed again"
if [ "$(mart)" = "$mart0" ]; then ok "mart_monthly_revenue has its numbers from before the run"; else
    not_ok "the mart keeps the rolled-back numbers" "before: $mart0" "now: $(mart)"; fi
run "$BACKFILL" rollback 1 --ledger "$L" --warehouse "$W"
expect_rc 4 "a rolled-back run is not rolled back twice"

# A second run, and another writer changes one of its rows: the rollback is refused.
run "$BACKFILL" run "$BRIEF" --warehouse "$W"
expect_rc 0 "a second run awaits approval"
sqlite3 "$W" "CREATE TABLE kept AS SELECT * FROM fct_orders WHERE order_id = 199216;
UPDATE fct_orders SET net_revenue = net_revenue + 1 WHERE order_id = 199216"
fp2=$(fp)
run "$BACKFILL" rollback refund-join-fix-2025h1 --batch 999 --ledger "$L" --warehouse "$W"
expect_rc 2 "rollback of a batch the run does not have: exit 2"
expect_grep "$work/err" "run 2 has no batch with id 999" "the error names the id"
[ ! -s "$work/out" ] && ok "and nothing else is printed" || not_ok "printed: $(cat "$work/out")"
run "$BACKFILL" rollback refund-join-fix-2025h1 --ledger "$L" --warehouse "$W" --json
expect_rc 3 "rollback refused over another writer's change"
expect_grep "$work/out" 'another writer changed them' "the JSON says why"
if [ "$(fp)" = "$fp2" ]; then ok "nothing changed by the refused rollback"; else
    not_ok "the refused rollback changed fct_orders"; fi
# The other writer's change undone, the rollback goes through.
sqlite3 "$W" "UPDATE fct_orders SET net_revenue = (SELECT net_revenue FROM kept) WHERE order_id = 199216;
DROP TABLE kept"
run "$BACKFILL" rollback refund-join-fix-2025h1 --ledger "$L" --warehouse "$W"
expect_rc 0 "the rollback once the other writer's change is undone"
if [ "$(fp)" = "$fp0" ]; then ok "fct_orders is back to its fingerprint from before the runs"; else
    not_ok "fct_orders differs after the second rollback"; fi

# A brief keeping nothing after its run settles (retention_days 0): cleanup drops its tables at once.
sed 's/"name": "refund-join-fix-2025h1"/"name": "refund-join-r0"/; s/"retention_days": 14/"retention_days": 0/' \
    "$BRIEF" > "$work/r0.json"
run "$BACKFILL" run "$work/r0.json" --warehouse "$W"
expect_rc 0 "a run of the brief without retention"
run "$BACKFILL" cleanup refund-join-r0 --ledger "$L" --warehouse "$W"
expect_rc 4 "cleanup refused while the run awaits approval"
expect_grep "$work/err" "is awaiting_approval" "the refusal names the state"
run "$BACKFILL" rollback refund-join-r0 --ledger "$L" --warehouse "$W"
expect_rc 0 "the run rolled back"
run "$BACKFILL" cleanup refund-join-r0 --ledger "$L" --warehouse "$W" --json
expect_rc 0 "cleanup at once"
n=$(sqlite3 "$W" "SELECT count(*) FROM sqlite_master WHERE name LIKE 'fct_orders__bf_snap%\_3' ESCAPE '\\' OR name LIKE 'fct_orders__bf_snap%\_3\_%' ESCAPE '\\'")
if [ "$n" = 0 ]; then ok "the run's snapshot tables are gone"; else
    not_ok "$n snapshot tables of run 3 are left"; fi

# diff of a run whose snapshots cleanup dropped says so, rather than naming a C option.
run "$BACKFILL" run "$work/r0.json" --warehouse "$W"
expect_rc 0 "the brief without retention runs again"
run "$BACKFILL" approve refund-join-r0 --reviewer raj@example.com --ledger "$L" --warehouse "$W"
expect_rc 0 "and is approved"
run "$BACKFILL" cleanup refund-join-r0 --ledger "$L" --warehouse "$W"
expect_rc 0 "and cleaned up at once"
run "$BACKFILL" diff refund-join-r0 --ledger "$L" --warehouse "$W"
expect_rc 4 "diff after cleanup cannot show the rows"
expect_grep "$work/err" "but no snapshot of them is left \(backfill cleanup drops them" "and says the snapshots are gone"
if grep -q "before_table" "$work/err"; then not_ok "the message names a C option" "$(cat "$work/err")"; else
    ok "the message names no C option"; fi
# Neither can a rollback: refused (exit 3), saying the run was cleaned up.
fp_clean=$(fp)
run "$BACKFILL" rollback refund-join-r0 --ledger "$L" --warehouse "$W"
expect_rc 3 "rollback after cleanup is refused"
expect_grep "$work/err" "was cleaned up: its snapshots and copies were dropped" "the refusal says the run was cleaned up"
[ "$(fp)" = "$fp_clean" ] && ok "the refused rollback changed nothing" || not_ok "fct_orders changed"

# --on-event: each event's JSON on the command's stdin; a command that hangs (a webhook that never
# answers) is stopped after --on-event-timeout with everything it started, and the run goes on.
cp "$W.before" "$work/hook.db"
run "$BACKFILL" run "$BRIEF" --warehouse "$work/hook.db" --on-event-timeout 1
expect_rc 2 "--on-event-timeout without --on-event"
expect_grep "$work/err" "on-event-timeout needs --on-event" "the refusal names the option"
# The hook records its own pid and its background child's, so that only this test's are looked at.
run "$BACKFILL" run "$BRIEF" --warehouse "$work/hook.db" --on-event-timeout 1 \
    --on-event "cat >> '$work/events.jsonl'; echo >> '$work/events.jsonl'; sleep 301 & echo \$! \$\$ >> '$work/pids'; sleep 302"
expect_rc 0 "the run awaits approval though its hook hangs"
expect_grep "$work/err" "did not finish within 1 s for event started; it was stopped" "the stopped hook is named with its event"
expect_grep "$work/events.jsonl" '"format":"backfill-event/1","event":"awaiting_approval"' "the hook read each event as JSON"
sleep 0.2
left=
# Gone, or a zombie that init has yet to reap (its parent, the hook's shell, was stopped too).
for pid in $(cat "$work/pids"); do
    case "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" in "" | Z) ;; *) left="$left $pid" ;; esac
done
if [ -s "$work/pids" ] && [ -z "$left" ]; then ok "the hook and what it started were stopped"; else
    not_ok "the hook's processes outlived it:$left" "$(cat "$work/pids" 2>/dev/null)"; fi

finish
