#!/bin/sh
# The ledger commands: status, pause, resume, cancel, retry, on a ledger written by
# tests/ledger/ledger_fixture (run 1 orders-fix: 6 batches, 3 completed, 1 failed,
# 2 pending; run 2 events-fix: completed).
set -eu
. "$(dirname "$0")/tap.sh"
plan 91

L="$work/ledger.db"
"$BF_LEDGER_FIXTURE" "$L"

run "$BACKFILL" status --ledger "$L"
expect_rc 0 "status lists runs"
expect_grep "$work/out" "^1 +orders-fix +1 +running +6$" "the list shows run 1 running with 6 batches"
expect_grep "$work/out" "^2 +events-fix +1 +completed +2$" "the list shows run 2 completed"

run "$BACKFILL" status orders-fix --ledger "$L"
expect_rc 4 "status of an unfinished run is 'not finished'"
expect_grep "$work/out" "^run 1 \(orders-fix #1\): running$" "the run is named with its state"
expect_grep "$work/out" "6 total: 2 pending, 0 running, 3 completed, 0 validated, 1 failed" "per-state counts"
expect_grep "$work/out" "rows: 300 written, 270 deleted" "rows so far"
expect_grep "$work/out" "ETA 4.0s" "the ETA comes from completed durations (2 s x 2 left)"
expect_grep "$work/out" "order_id \[300, 400\) \(batch 1000000004, attempt 1\): deadlock detected on order_id 350" \
    "failed batches are listed with their errors"

run "$BACKFILL" status 1 --ledger "$L" --json
expect_rc 4 "status --json keeps the exit status"
expect_grep "$work/out" '"failed": 1,' "JSON progress has the failed count"
expect_grep "$work/out" '"error": "deadlock detected on order_id 350"' "JSON lists the failed batch's error"
expect_grep "$work/out" '"eta_s": 4.0' "JSON has the ETA"

run "$BACKFILL" status events-fix --ledger "$L"
expect_rc 0 "status of a finished run is 'done'"

run "$BACKFILL" status --ledger "$L" --json
expect_rc 0 "status --json lists runs"
expect_grep "$work/out" '"brief": "orders-fix"' "JSON run list names the brief"

run "$BACKFILL" status nosuch --ledger "$L"
expect_rc 2 "an unknown run is bad input"
expect_lines "$work/err" 1 "one line on stderr"
expect_grep "$work/err" "no run with id or brief name 'nosuch'" "the error names the run"

run "$BACKFILL" status --ledger "$work/typo.db"
expect_rc 2 "a missing ledger file is bad input"
expect_grep "$work/err" "ledger $work/typo.db: no such file" "the error names the file"
if [ -e "$work/typo.db" ]; then not_ok "status does not create a ledger"; else ok "status does not create a ledger"; fi

run "$BACKFILL" status orders-fix
expect_rc 2 "--ledger is required"

run "$BACKFILL" pause orders-fix --ledger "$L"
expect_rc 0 "pause"
expect_grep "$work/out" "^run 1 \(orders-fix #1\): paused$" "pause reports the new state"
run "$BACKFILL" status orders-fix --ledger "$L"
expect_grep "$work/out" "\): paused$" "status shows the pause"
run "$BACKFILL" pause orders-fix --ledger "$L"
expect_rc 4 "pausing a paused run is refused"
expect_grep "$work/err" "run 1 \(orders-fix #1\): cannot move from paused to paused" "the refusal names the run and both states"

run "$BACKFILL" resume 1 --ledger "$L"
expect_rc 0 "resume"
expect_grep "$work/out" "\): running$" "resume reports running"
run "$BACKFILL" resume 1 --ledger "$L"
expect_rc 4 "resuming a running run is refused"
expect_grep "$work/err" "is running, not paused" "the refusal says why"

run "$BACKFILL" retry orders-fix --ledger "$L" --split
expect_rc 0 "retry --split"
expect_grep "$work/out" "1 failed batch split or back to pending" "retry reports what it did"
run "$BACKFILL" status orders-fix --ledger "$L"
expect_grep "$work/out" "4 pending, 0 running, 3 completed, 0 validated, 0 failed.*\(1 split in two\)" \
    "the failed key range became two pending halves"
run "$BACKFILL" retry orders-fix --ledger "$L" --json
expect_rc 0 "retry with nothing failed"
expect_grep "$work/out" '"retried": 0' "retry --json counts what it retried"

run "$BACKFILL" cancel orders-fix --ledger "$L"
expect_rc 0 "cancel"
expect_grep "$work/out" "\): cancelled$" "cancel reports cancelled"
run "$BACKFILL" status orders-fix --ledger "$L" --json
expect_rc 4 "a cancelled run is not finished"
expect_grep "$work/out" '"cancelled": 4' "pending batches were cancelled"
run "$BACKFILL" cancel orders-fix --ledger "$L"
expect_rc 4 "cancelling twice is refused"

run "$BACKFILL" pause events-fix --ledger "$L"
expect_rc 4 "a completed run cannot be paused"
expect_grep "$work/err" "cannot move from completed to paused" "the refusal names both states"

run "$BACKFILL" retry orders-fix --ledger "$L" --bogus
expect_rc 2 "an unknown option is bad usage"

# finish: a host that tracks its batches itself marks the run completed when all are done.
run "$BACKFILL" finish orders-fix --ledger "$L"
expect_rc 4 "finishing a cancelled run is refused"
expect_grep "$work/err" "is cancelled: only a planned, running or approved run can finish" "the refusal names the state"
F="$work/finish.db"
"$BF_LEDGER_FIXTURE" "$F"
run "$BACKFILL" finish orders-fix --ledger "$F"
expect_rc 4 "finishing a run with batches left is refused"
expect_grep "$work/err" "cannot finish: 3 batches are not finished \(2 pending, 0 running, 1 failed, 0 rolled back\)" \
    "the refusal counts the batches left by state"
sqlite3 "$F" "UPDATE batches SET state = 5 WHERE run_id = 1 AND state IN (0, 4);"
run "$BACKFILL" status orders-fix --ledger "$F"
expect_rc 0 "every batch done or cancelled: status says done"
run "$BACKFILL" finish orders-fix --ledger "$F"
expect_rc 0 "finish"
expect_grep "$work/out" "^run 1 \(orders-fix #1\): completed$" "finish reports completed"
run "$BACKFILL" status --ledger "$F"
expect_grep "$work/out" "^1 +orders-fix +1 +completed +6$" "the run is completed in the ledger"
run "$BACKFILL" finish orders-fix --ledger "$F" --json
expect_rc 4 "finishing twice is refused"

# Bad ledger paths: every command that takes --ledger exits 2 with a message naming the path,
# and changes nothing in a file it refuses (bytes and modification time).
mkdir "$work/bad"
mkdir "$work/bad/dir"
sqlite3 "$work/bad/app.db" "CREATE TABLE customers (id INTEGER PRIMARY KEY); INSERT INTO customers VALUES (1);"
printf 'id,name\n1,ana\n' >"$work/bad/notes.txt"
: >"$work/bad/empty"
"$BF_LEDGER_FIXTURE" "$work/bad/newer.db"
sqlite3 "$work/bad/newer.db" "INSERT INTO bf_schema_version (version, description) VALUES (7, 'future');"
for f in app.db notes.txt empty newer.db; do
    cp -p "$work/bad/$f" "$work/bad/$f.orig"
    stat -c %y "$work/bad/$f" >"$work/bad/$f.mtime"
done
for cmd in status pause resume cancel retry finish; do
    for f in dir missing.db app.db notes.txt empty newer.db; do
        p="$work/bad/$f"
        if [ "$cmd" = status ]; then run "$BACKFILL" status --ledger "$p"; else run "$BACKFILL" "$cmd" 1 --ledger "$p"; fi
        why=""
        [ "$rc" -eq 2 ] || why="exit $rc"
        grep -qF "ledger $p:" "$work/err" || why="$why; stderr does not name the path"
        if [ -f "$p.orig" ]; then
            cmp -s "$p" "$p.orig" || why="$why; the bytes changed"
            [ "$(stat -c %y "$p")" = "$(cat "$p.mtime")" ] || why="$why; the mtime changed"
        fi
        [ "$f" != missing.db ] || [ ! -e "$p" ] || why="$why; a file was created"
        if [ -z "$why" ]; then ok "$cmd --ledger $f: exit 2, path named, nothing changed"; else
            not_ok "$cmd --ledger $f: $why" "$(cat "$work/err")"
        fi
    done
done

run "$BACKFILL" status nosuch --ledger "$L" --json
if [ "$rc" -eq 2 ] && grep -q '"exit": 2' "$work/out"; then
    ok "errors under --json are JSON too"
else
    not_ok "errors under --json are JSON too" "rc=$rc" "$(cat "$work/out")"
fi
finish
