#!/bin/sh
# The brief commands: check, brief and blast-radius, on the example briefs and on malformed input.
set -eu
. "$(dirname "$0")/tap.sh"
plan 108

ex="$BF_SOURCE_ROOT/examples/briefs"

# expect_no_grep FILE PATTERN WHAT
expect_no_grep() {
    if grep -Eq -- "$2" "$1"; then not_ok "$3: /$2/ in $(basename "$1")" "$(head -c 600 "$1")"; else ok "$3"; fi
}
good="$ex/refund-join.json"

# --- check ---------------------------------------------------------------------------
run "$BACKFILL" check "$good"
expect_rc 0 "check passes the good refund-join brief"
expect_grep "$work/out" "^warn  missing-runtime-estimate \\\$\\.batching\\.target_batch_s: " "check lists the one warning with its path"
expect_grep "$work/out" "^refund-join-fix-2025h1: 0 blocking, 1 warning; ready to plan\$" "check ends with a summary"

run "$BACKFILL" check "$good" --json
expect_rc 0 "check --json succeeds"
expect_grep "$work/out" '"ok": true' "check --json says ok"
expect_grep "$work/out" '"code": "missing-runtime-estimate"' "check --json gives finding codes"

for pair in \
    bad-append.json:append-not-idempotent \
    bad-reviewer-is-owner.json:reviewer-is-owner \
    bad-no-rollback.json:missing-rollback-plan \
    bad-job-ignores-bounds.json:job-ignores-bounds \
    bad-critical-without-snapshot.json:critical-without-snapshot \
    bad-no-metric-check.json:missing-metric-check \
    bad-merge-without-key.json:merge-without-key \
    bad-lineage-cycle.json:invalid-lineage \
    bad-draft.json:missing-reviewer; do
    file=${pair%%:*}
    code=${pair#*:}
    run "$BACKFILL" check "$ex/$file"
    expect_rc 3 "check blocks $file"
    expect_grep "$work/out" "^block $code " "$file is blocked by $code"
done

run "$BACKFILL" check "$ex/bad-append.json" --json
expect_rc 3 "check --json still exits 3 when blocked"
expect_grep "$work/out" '"blocking": 1' "check --json counts blocking findings"

run "$BACKFILL" check "$ex/bad-draft.json"
for code in missing-reason missing-owner missing-reviewer missing-risk missing-code-version missing-job; do
    expect_grep "$work/out" "^block $code " "a draft lists $code among everything missing"
done

# --- check and plan agree on the scope ---------------------------------------------------
sed 's/"end": "2025-06-01"/"end": "2025-01-01 00:00:00"/' "$good" >"$work/same-instant.json"
run "$BACKFILL" check "$work/same-instant.json"
expect_rc 3 "check blocks a time scope whose start and end are the same instant written two ways"
expect_grep "$work/out" '^block empty-scope \$\.scope\.time: ' "the same-instant scope is an empty-scope"
run "$BACKFILL" plan "$work/same-instant.json"
expect_rc 2 "plan refuses the same-instant scope too"
sed 's/"end": "2025-06-01"/"end": "2025-01-01 00:00:01"/' "$good" >"$work/one-second.json"
run "$BACKFILL" check "$work/one-second.json"
expect_rc 0 "check passes a one-second scope"
run "$BACKFILL" plan "$work/one-second.json"
expect_rc 0 "plan plans the one-second scope"
sed 's/"every": 7/"every": 4294967297/' "$good" >"$work/every-2-32.json"
run "$BACKFILL" check "$work/every-2-32.json"
expect_rc 2 "check refuses an every past 2^32 rather than wrapping it"
expect_grep "$work/err" '\$\.batching\.every: expected a positive integer of at most 100000, got 4294967297' "the error names the cap"
sed 's/"every": 7/"every": 7.0/' "$good" >"$work/every-real.json"
run "$BACKFILL" check "$work/every-real.json"
expect_rc 2 "check refuses a real every"
expect_grep "$work/err" 'got 7\.0, a real$' "the error shows the real as written"

# --- unreadable input: exit 2 and one line naming the problem ---------------------------
as_user= # a command prefix to run the check as another user
unreadable() { # FILE PATTERN WHAT
    run $as_user "$BACKFILL" check "$1"
    expect_rc 2 "$3"
    expect_lines "$work/err" 1 "$3: one line on stderr"
    expect_grep "$work/err" "$2" "$3: the line names the problem"
}

unreadable "$ex/bad-unknown-field.json" 'bad-unknown-field.json: \$\.batching\.evry: unknown field' "an unknown field"
unreadable "$work/nosuch.json" 'nosuch.json: no such file' "a missing file"
unreadable "$ex" 'not a regular file' "a directory"
: >"$work/empty.json"
unreadable "$work/empty.json" 'empty.json: empty input' "an empty file"
head -c 120 "$good" >"$work/truncated.json"
unreadable "$work/truncated.json" 'truncated.json:[0-9]+:[0-9]+: ' "a truncated brief"
printf '{"name": "\377\376"}' >"$work/latin1.json"
unreadable "$work/latin1.json" 'latin1.json:1:[0-9]+: unable to decode byte 0xff' "a brief that is not UTF-8"
printf '{"batching": {"every": "7"}}' >"$work/type.json"
unreadable "$work/type.json" '\$\.batching\.every: expected a positive integer, got "7"' "a wrong type"
printf '{"scope": {"keys": {"start": 123456789012345678901234567890}}}' >"$work/huge.json"
unreadable "$work/huge.json" 'huge.json:1:[0-9]+: too big integer' "a huge number"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "["; for (i = 0; i < 10000; i++) printf "]" }' >"$work/deep.json"
unreadable "$work/deep.json" 'maximum parsing depth reached' "10,000-deep nesting"
printf '{"scope": {"time": {"start": "2025-06-01", "end": "2025-01-01"}}}' >"$work/order.json"
unreadable "$work/order.json" 'start: "2025-06-01" is after the end' "a start after its end"
printf '{"scope": {"time": {"start": "2025-01-01", "end": "2025-06-01", "timezone": "Mars/Base"}}}' >"$work/zone.json"
unreadable "$work/zone.json" 'timezone: expected an IANA time zone' "an unknown time zone"

# Root reads every file, so as root the unreadable file is opened without the capabilities that
# override file permissions (root still reaches the build tree, wherever the checkout lives).
cp "$good" "$work/secret.json"
chmod 000 "$work/secret.json"
[ "$(id -u)" -eq 0 ] && as_user="setpriv --bounding-set=-dac_override,-dac_read_search"
unreadable "$work/secret.json" 'secret.json: cannot open: Permission denied' "a file without read permission"
as_user=

run "$BACKFILL" check "$work/nosuch.json" --json
if [ "$rc" -eq 2 ] && grep -q '"exit": 2' "$work/out"; then ok "unreadable input under --json is a JSON error"; else
    not_ok "unreadable input under --json is a JSON error" "rc=$rc" "$(cat "$work/out")"; fi

run "$BACKFILL" check
expect_rc 2 "check without a brief is bad usage"
run "$BACKFILL" check "$good" "$good"
expect_rc 2 "check with two briefs is bad usage"
run "$BACKFILL" check --strict "$good"
expect_rc 2 "check with an unknown option is bad usage"

# --- brief ------------------------------------------------------------------------------
run "$BACKFILL" brief "$good"
expect_rc 0 "brief renders the good brief"
expect_grep "$work/out" '^# Backfill brief: refund-join-fix-2025h1$' "the one-page brief has a title"
expect_grep "$work/out" '^## How to undo it$' "the one-page brief says how to undo it"
expect_grep "$work/out" 'Indirectly \(through those\):\*\* Revenue dashboard, Board pack' "the one-page brief lists who is affected"

run "$BACKFILL" brief "$ex/bad-no-rollback.json"
expect_rc 0 "brief renders a blocked brief too"
expect_grep "$work/out" 'Status: blocked' "a blocked brief says so on the page"

run "$BACKFILL" brief "$good" --format json
expect_rc 0 "brief --format json succeeds"
cp "$work/out" "$work/saved.json"
run "$BACKFILL" brief "$work/saved.json" --format json
if cmp -s "$work/out" "$work/saved.json"; then ok "brief --format json output loads back to the same brief"; else
    not_ok "brief --format json output loads back to the same brief" "$(diff "$work/out" "$work/saved.json" | head -5)"; fi
expect_grep "$work/saved.json" '"name": "refund-join-fix-2025h1"' "the JSON form keeps the fields"

run "$BACKFILL" brief "$good" --json
expect_grep "$work/out" '"format": "backfill-brief/1"' "brief --json prints the brief as JSON"
run "$BACKFILL" brief "$good" --format=md --json
expect_grep "$work/out" '"markdown": "# Backfill brief' "brief --format md --json wraps the Markdown"
run "$BACKFILL" brief "$good" --format xml
expect_rc 2 "brief refuses an unknown format"
expect_grep "$work/err" 'format takes md or json' "the error names the allowed formats"

# --- blast-radius ----------------------------------------------------------------------
run "$BACKFILL" blast-radius "$good"
expect_rc 0 "blast-radius succeeds"
expect_grep "$work/out" '^  mart_monthly_revenue \(table, owner analytics\)$' "blast-radius lists direct dependents"
expect_grep "$work/out" '^  Board pack: stakeholder depending on Revenue dashboard$' "blast-radius lists who to tell and why"
expect_grep "$work/out" '^  1\. mart_monthly_revenue$' "blast-radius gives the refresh order"

run "$BACKFILL" blast-radius "$good" --json
expect_grep "$work/out" '"refresh_order": \[' "blast-radius --json gives the refresh order"
expect_grep "$work/out" '"reason": "owner of Revenue dashboard; listed in communication.stakeholders"' "blast-radius --json gives reasons"

run "$BACKFILL" blast-radius "$ex/bad-lineage-cycle.json"
expect_rc 2 "blast-radius refuses a cycle"
expect_grep "$work/err" 'depends_on forms a cycle: mart_monthly_revenue -> Revenue dashboard -> mart_monthly_revenue' "the error names the cycle"

# missing-communication and blast-radius agree on who is affected.
cat >"$work/source-only.sed" <<'SED'
/"downstream": \[/,/^  \],/c\
  "downstream": [ { "name": "Raw dashboard", "kind": "dashboard", "depends_on": ["raw_orders"], "owner": "ops" } ],
/"communication":/d
SED
sed -f "$work/source-only.sed" "$good" | sed 's/"rollback": \(.*\) },$/"rollback": \1 }/' >"$work/source-only.json"
run "$BACKFILL" check "$work/source-only.json"
expect_rc 0 "check passes a brief whose only dashboard reads a source"
expect_no_grep "$work/out" 'missing-communication' "a dashboard on a source asks for no one to tell"
run "$BACKFILL" blast-radius "$work/source-only.json"
expect_grep "$work/out" '^People to tell:$' "blast-radius of the source-only brief runs"
expect_no_grep "$work/out" 'Raw dashboard' "blast-radius does not list the dashboard on a source"
sed '/"communication":/d' "$good" | sed 's/"rollback": \(.*\) },$/"rollback": \1 }/' >"$work/no-communication.json"
run "$BACKFILL" check "$work/no-communication.json"
expect_grep "$work/out" '^warn  missing-communication .*"Revenue dashboard", "Board pack"' "missing-communication names the affected dashboard and stakeholder"

run "$BACKFILL" --help
expect_grep "$work/out" '^  blast-radius' "--help lists the brief commands"
finish
