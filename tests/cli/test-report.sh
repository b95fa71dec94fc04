#!/bin/sh
# backfill report: the announcement from a brief file, and the notice and change note of runs
# that tests/cli/report_fixture records the way the runner does (batches with results,
# validations, approval, cutover, refresh), read from the ledger only; each exit status.
set -eu
. "$(dirname "$0")/tap.sh"

# recorded MODE: a new ledger $L holding run 1 as report_fixture records it in MODE.
recorded() {
    rm -f "$L"
    "$BF_REPORT_FIXTURE" "$L" "$B" "$1" >/dev/null
}

# page FILE STAGE TITLE WHAT: FILE is one JSON object {"format": "backfill-report-page/1", "stage",
# "markdown"} whose Markdown starts with TITLE.
page() {
    if got=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert list(j) == ["format", "stage", "markdown"], list(j)
assert j["format"] == "backfill-report-page/1", j["format"]
assert j["stage"] == sys.argv[2], j["stage"]
assert j["markdown"].startswith(sys.argv[3] + "\n"), j["markdown"][:80]
' "$1" "$2" "$3" 2>&1); then ok "$4"; else not_ok "$4" "$(echo "$got" | tail -n 1)" "$(head -c 300 "$1")"; fi
}

# in_zone FILE WHAT: every NAME_local of the JSON report in FILE is in the brief's zone, and the
# first refresh record's is its NAME_us in New York (UTC-5 in winter).
in_zone() {
    if got=$(python3 -c '
import json, sys, datetime
j = json.load(open(sys.argv[1]))
def walk(v, n=0):
    if isinstance(v, list):
        return sum(walk(m) for m in v)
    if isinstance(v, dict):
        for k, m in v.items():
            if k.endswith("_local") and m is not None:
                assert m.endswith(" America/New_York"), (k, m)
                n += 1
            n += walk(m)
    return n
assert walk(j) >= 8, walk(j)
r = j["refresh"][0]
t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=r["at_us"] - 5 * 3600 * 10**6)
want = t.strftime("%Y-%m-%d %H:%M") + " America/New_York"
assert r["at_local"] == want, (r["at_local"], want)
' "$1" 2>&1); then ok "$2"; else not_ok "$2" "$(echo "$got" | tail -n 1)"; fi
}
plan 60

B="$BF_SOURCE_ROOT/examples/warehouse/refund-join.json"
L="$work/ledger.db"

# --- before: a brief alone --------------------------------------------------------------
run "$BACKFILL" report "$B" --stage before
expect_rc 0 "the announcement of a brief"
expect_grep "$work/out" "^# Announcement: refund-join-fix-2025h1$" "titled with the brief's name"
expect_grep "$work/out" "^- \*\*Period:\*\* 2025-01-01 to 2025-05-31 \(America/New_York\)$" "the period in the brief's zone, last day included"
expect_grep "$work/out" "^- \*\*Columns expected to change:\*\* \`refund_amount\`, \`net_revenue\`$" "the columns that change"
expect_grep "$work/out" "^not scheduled yet$" "no run window: not scheduled yet"
expect_grep "$work/out" "^- \*\*Indirectly \(through those\):\*\* Revenue dashboard, Board pack$" "the indirect blast radius"
expect_grep "$work/out" "^- \*\*Channel:\*\* #data-changes$" "the channel"
run "$BACKFILL" report "$B" --stage before --json
expect_rc 0 "the announcement as JSON"
expect_grep "$work/out" '^  "format": "backfill-report/1",$' "JSON starts with its format"
expect_grep "$work/out" '"stage": "before"' "JSON names the stage"
expect_grep "$work/out" '"last_day": "2025-05-31"' "JSON has the period's last day"
# Under --json the Markdown is one JSON object too, as brief --format md --json does.
run "$BACKFILL" report "$B" --format md --json
expect_rc 0 "the announcement's Markdown under --json"
page "$work/out" before "# Announcement: refund-join-fix-2025h1" "the brief's Markdown is a backfill-report-page/1 object"
run "$BACKFILL" report "$B" --stage after
expect_rc 2 "a brief alone has no change note"
expect_grep "$work/err" "the after stage needs a run" "and the message says why"
run "$BACKFILL" report "$B" --stage later
expect_rc 2 "an unknown stage is bad usage"
expect_grep "$work/err" "--stage takes before, during or after, not 'later'" "and the message names it"
run "$BACKFILL" report "$work/nosuch.json"
expect_rc 2 "a missing brief file is bad input"
expect_grep "$work/err" "no brief file '.*nosuch.json'; the report of a run needs --ledger FILE" "and the message says a run needs --ledger"

# --- during: three batches written ------------------------------------------------------
recorded running
run "$BACKFILL" report 1 --ledger "$L"
expect_rc 0 "a running run: the notice, still exit 0"
expect_grep "$work/out" "^# Maintenance notice: refund-join-fix-2025h1$" "a running run defaults to the notice"
expect_grep "$work/out" "^- \*\*Batches done:\*\* 3 of 22 " "batches done of total"
expect_grep "$work/out" "^- \*\*Rows written so far:\*\* 2100 \(9 deleted\)$" "rows written so far"
expect_grep "$work/out" "may be inconsistent until 2026-01-01T[0-9:]+Z" "until the ETA"
run "$BACKFILL" report refund-join-fix-2025h1 --ledger "$L" --stage after
expect_rc 0 "the change note of an unfinished run"
expect_grep "$work/out" "^> \*\*Status:\*\* running: 3 of 22 batches done; not finished$" "says honestly it is not finished"
expect_grep "$work/out" "^- \[ \] Approval recorded before cutover: \*\*not done\*\*: no approval recorded$" "approval not done"
expect_grep "$work/out" "^- \[ \] Test slice run first: \*\*not done\*\*: not recorded$" "test slice not recorded"
run "$BACKFILL" report 1 --ledger "$L" --stage during --format md --json
expect_rc 0 "the notice's Markdown under --json"
page "$work/out" during "# Maintenance notice: refund-join-fix-2025h1" "the notice's Markdown is a backfill-report-page/1 object"
run "$BACKFILL" report 1 --ledger "$L" --stage during --format json
expect_rc 0 "the notice as JSON"
expect_grep "$work/out" '"done": 3,' "JSON counts the batches done"
expect_grep "$work/out" '"eta_iso": "2026-' "JSON has the ETA as _iso"

# --- a validation failure pauses the run --------------------------------------------------
recorded failed
run "$BACKFILL" report 1 --ledger "$L" --stage after
expect_rc 0 "the change note of a paused run"
expect_grep "$work/out" "^> \*\*Status:\*\* paused: validation failed: " "paused by the failed validation"
expect_grep "$work/out" "^- \*\*Batches:\*\* 3 recorded, 2 passed, 1 failed " "per-batch pass and fail counts"
expect_grep "$work/out" "\| metric net revenue \| fail \| net revenue moved by -60%, outside the expected bounds \|" "the failing sentence"

# --- after: the whole runbook -----------------------------------------------------------
recorded done
run "$BACKFILL" report 1 --ledger "$L"
expect_rc 0 "a completed run: the change note"
expect_grep "$work/out" "^# Change note: refund-join-fix-2025h1$" "a finished run defaults to the change note"
expect_grep "$work/out" "^- \*\*Rows:\*\* 15400 written, 66 deleted$" "rows written and deleted"
expect_grep "$work/out" "\| net revenue \| 1000.5 \| 980.49 \| -20.01 \|" "each metric's before, after and delta"
expect_grep "$work/out" "^- \*\*net revenue\*\*, summed over 22 batches: 22011 before, 21570.78 after \(-440.22, -2%\)$" "each metric summed over the batches"
expect_grep "$work/out" "^\| 1 \| mart_monthly_revenue \| ok \|" "downstream refreshed, in order"
expect_grep "$work/out" "^- \*\*Approved by:\*\* raj@example.com at 2026-" "who approved"
n=$(grep -c '^- \[x\]' "$work/out" || true)
[ "$n" = 11 ] && ok "every item of the definition of done is checked" || not_ok "checked items: $n of 11" "$(grep '^- \[' "$work/out")"
run "$BACKFILL" report 1 --ledger "$L" --json
expect_rc 0 "the change note as JSON"
expect_grep "$work/out" '"at_iso": "2026-01-01T' "times as _us and _iso"
in_zone "$work/out" "every _local time in the brief's zone, the refresh records' too"
run "$BACKFILL" report 1 --ledger "$L" --format md --json
expect_rc 0 "the change note's Markdown under --json"
page "$work/out" after "# Change note: refund-join-fix-2025h1" "the change note's Markdown is a backfill-report-page/1 object"

# --- a refresh that failed, then was redone by approving again ---------------------------
recorded redone
run "$BACKFILL" report 1 --ledger "$L"
expect_rc 0 "the change note after a redone refresh"
expect_grep "$work/out" "^> \*\*Status:\*\* completed: approved, cut over and refreshed$" "only the latest refresh counts: completed and refreshed"
expect_grep "$work/out" "^\| 1 \| mart_monthly_revenue \| failed \(superseded\) \| .* \| sqlite: no such table: audit_log \|$" "the failed refresh stays in the table, superseded"
expect_grep "$work/out" "^\| 1 \| mart_monthly_revenue \| ok \| " "and the refresh that redid it"
expect_grep "$work/out" "^- \[x\] Downstream refreshed in order: 1 of 1 refreshed$" "the checklist agrees with the status"
run "$BACKFILL" report 1 --ledger "$L" --json
expect_rc 0 "the change note after a redone refresh as JSON"
expect_grep "$work/out" '^  "status": "completed: approved, cut over and refreshed",$' "the JSON status follows the latest refresh"

# --- runs and ledgers that do not exist -----------------------------------------------
run "$BACKFILL" report 7 --ledger "$L"
expect_rc 2 "a run not in the ledger is bad input"
expect_grep "$work/err" "7" "and the message names it"
run "$BACKFILL" report 1 --ledger "$work/none.db"
expect_rc 2 "a missing ledger is bad input"

finish
