#!/bin/sh
# Options from the tables: every command's --help and -h, "did you mean", JSON errors that
# name the BF_E_* code, and a "format" key in every --json output.
set -eu
. "$(dirname "$0")/tap.sh"

# The commands, as backfill --help lists them ("  NAME  usage").
"$BACKFILL" --help >"$work/help"
commands=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$work/help")
ncommands=$(echo "$commands" | wc -w)
# Each command's options that take a value, as its --help lists them: "CMD OPTION ARG" lines.
for cmd in $commands; do
    "$BACKFILL" "$cmd" --help | sed -n "s/^  \(-[a-z], \)\{0,1\}--\([a-z-]*\) \([^ ]\{1,\}\) .*/$cmd \2 \3/p"
done >"$work/valued"
nvalued=$(wc -l <"$work/valued")
awk '$3 == "N" || $3 == "ID"' "$work/valued" >"$work/numeric"
nnumeric=$(wc -l <"$work/numeric")
plan $((ncommands * 9 + nvalued + nnumeric + 31))

for cmd in $commands; do
    for flag in --help -h; do
        run "$BACKFILL" "$cmd" $flag
        expect_rc 0 "$cmd $flag"
        expect_grep "$work/out" "^usage: backfill $cmd " "$cmd $flag prints its usage line"
    done
    # backfill --help shows the same usage line as the command's own help.
    usage=$(sed -n 's/^usage: backfill //p' "$work/out")
    if grep -qF "  $(printf '%-14s' "$cmd") $usage" "$work/help"; then ok "backfill --help gives $cmd's usage line"; else
        not_ok "backfill --help gives $cmd's usage line" "$usage" "$(grep "^  $cmd " "$work/help")"; fi
    run "$BACKFILL" help "$cmd"
    if [ "$rc" -eq 0 ] && grep -q "^usage: backfill $cmd " "$work/out"; then ok "backfill help $cmd"; else
        not_ok "backfill help $cmd" "rc=$rc" "$(cat "$work/out")"; fi
    # Under --json the help is one backfill-help/1 object with the same usage line and options.
    nopts=$(grep -c '^  \(-[a-z], \)\{0,1\}--[a-z]' "$work/out")
    for how in "help $cmd" "$cmd --help"; do
        run "$BACKFILL" $how --json
        if [ "$rc" -eq 0 ] && jq -e --arg cmd "$cmd" --arg usage "backfill $usage" --argjson n "$nopts" \
            '.format == "backfill-help/1" and .command == $cmd and .usage == $usage and
             (.options | length) == $n and (.options[-1].name == "help") and
             (.json_format | startswith("backfill-"))' "$work/out" >/dev/null 2>&1; then
            ok "backfill $how --json is its help as JSON"
        else
            not_ok "backfill $how --json is its help as JSON" "rc=$rc" "$(head -c 300 "$work/out")"
        fi
    done
done

# --- values ---------------------------------------------------------------------------------
# No option takes an empty value (a person, table, file, query or command named by nothing):
# exit 2 naming the option, on stderr and in the JSON error.
while read -r cmd opt arg; do
    run "$BACKFILL" "$cmd" "--$opt" ""
    rc_text=$rc
    cp "$work/err" "$work/err.text"
    run "$BACKFILL" "$cmd" "--$opt=" --json
    if [ "$rc_text" -eq 2 ] && [ "$rc" -eq 2 ] &&
        grep -qx "backfill: $cmd: --$opt: the value is empty (give $arg)" "$work/err.text" &&
        grep -q "\"error\": \"$cmd: --$opt: the value is empty (give $arg)\"" "$work/out" &&
        grep -q '"exit": 2' "$work/out"; then
        ok "$cmd --$opt \"\" is refused, naming the option"
    else
        not_ok "$cmd --$opt \"\" is refused, naming the option" "exit $rc_text, then $rc under --json" \
            "$(cat "$work/err.text")" "$(head -c 300 "$work/out")"
    fi
done <"$work/valued"

# A negative number is a value, not an option: the message says what is wrong with it.
while read -r cmd opt arg; do
    run "$BACKFILL" "$cmd" "--$opt" -1
    if [ "$rc" -eq 2 ] && grep -Eqx "backfill: $cmd: --$opt: -1 is not a (positive|non-negative) integer" "$work/err"; then
        ok "$cmd --$opt -1 says what is wrong with -1"
    else
        not_ok "$cmd --$opt -1 says what is wrong with -1" "exit $rc" "$(cat "$work/err")"
    fi
done <"$work/numeric"

# --- usage errors ------------------------------------------------------------------------------
# A usage error is one line, and quotes the command's usage line at most once.
for cmd in $commands; do
    bad=
    for args in "" "x y z"; do
        # shellcheck disable=SC2086
        run "$BACKFILL" "$cmd" $args
        n=$(grep -o "usage:" "$work/err" | wc -l)
        if [ "$rc" -ne 2 ] || [ "$(wc -l <"$work/err")" -ne 1 ] || [ "$n" -gt 1 ] ||
            { [ "$n" -eq 1 ] && ! grep -q "(usage: backfill $cmd " "$work/err"; }; then
            bad="$bad|$cmd $args: exit $rc: $(cat "$work/err")"
        fi
    done
    if [ -z "$bad" ]; then ok "$cmd: a usage error is one line with its usage once"; else
        not_ok "$cmd: a usage error is one line with its usage once" "$bad"; fi
done

# Every command of the table is in backfill --help (the list above came from it: check known ones).
missing=
for cmd in check brief blast-radius plan fingerprint status pause resume cancel retry; do
    echo "$commands" | grep -qx -- "$cmd" || missing="$missing $cmd"
done
if [ -z "$missing" ]; then ok "backfill --help lists the documented commands"; else
    not_ok "backfill --help lists the documented commands" "missing:$missing"; fi

# --- did you mean ----------------------------------------------------------------------
run "$BACKFILL" stauts
expect_rc 2 "a mistyped command is bad usage"
expect_grep "$work/err" "unknown command 'stauts' \(did you mean 'status'\?\)" "a mistyped command gets 'did you mean'"
run "$BACKFILL" status --ledgr x.db
expect_rc 2 "a mistyped option is bad usage"
expect_grep "$work/err" "unknown option '--ledgr' \(did you mean '--ledger'\?\)" "a mistyped option gets 'did you mean'"
run "$BACKFILL" plan brief.json --warehose=x.db
expect_grep "$work/err" "unknown option '--warehose' \(did you mean '--warehouse'\?\)" "'did you mean' for --name=value"
run env LC_ALL=C.UTF-8 "$BACKFILL" BLAST-RADIUS
expect_grep "$work/err" "did you mean 'blast-radius'" "case does not stop a suggestion"
run "$BACKFILL" zzzzzz
expect_grep "$work/err" "unknown command 'zzzzzz' \(see 'backfill --help'\)" "no suggestion when nothing is close"

# --- JSON errors -------------------------------------------------------------------------
L="$work/ledger.db"
"$BF_LEDGER_FIXTURE" "$L"
run "$BACKFILL" status nosuch --ledger "$L" --json
expect_rc 2 "an unknown run under --json"
expect_grep "$work/out" '"code": "BF_E_NOT_FOUND"' "the JSON error names BF_E_NOT_FOUND"
expect_grep "$work/out" '"exit": 2' "the JSON error keeps the exit status"
expect_grep "$work/out" '"error": "ledger .*no run with id or brief name' "the JSON error keeps the message"
run "$BACKFILL" stauts --json
expect_grep "$work/out" '"code": "BF_E_INVALID"' "bad usage under --json is BF_E_INVALID"
run "$BACKFILL" check "$work/nosuch.json" --json
expect_grep "$work/out" '"code": "BF_E_NOT_FOUND"' "a missing brief is BF_E_NOT_FOUND"

# --- every --json output has a format ---------------------------------------------------
good="$BF_SOURCE_ROOT/examples/briefs/refund-join.json"
sqlite3 "$work/wh.db" "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');"
has_format() { # FORMAT WHAT ARGS...
    want=$1 what=$2
    shift 2
    run "$BACKFILL" "$@" --json
    if head -2 "$work/out" | grep -q "^  \"format\": \"$want\",\$"; then ok "$what: format $want"; else
        not_ok "$what: format $want" "rc=$rc" "$(head -c 300 "$work/out")"; fi
}
has_format backfill-version/1 "--version --json" --version
has_format backfill-check/1 "check --json" check "$good"
has_format backfill-brief/1 "brief --json" brief "$good"
has_format backfill-brief-page/1 "brief --format md --json" brief "$good" --format md
has_format backfill-blast-radius/1 "blast-radius --json" blast-radius "$good"
has_format backfill-plan/1 "plan --json" plan "$good"
has_format backfill-fingerprint/1 "fingerprint --json" fingerprint t --warehouse "$work/wh.db"
has_format backfill-run-list/1 "status --json" status --ledger "$L"
has_format backfill-status/1 "status RUN --json" status 1 --ledger "$L"
has_format backfill-control/1 "pause --json" pause 1 --ledger "$L"
has_format backfill-error/1 "an error under --json" status 99 --ledger "$L"

# --- times and reals -----------------------------------------------------------------------
run "$BACKFILL" plan "$good" --json
expect_grep "$work/out" '"lo_iso": "2025-01-01T05:00:00Z",' "plan gives time bounds in ISO 8601 beside the microseconds"
run "$BACKFILL" status 1 --ledger "$L" --json
expect_grep "$work/out" '"started_at_iso": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z",' "status gives instants in ISO 8601"
if grep -Eq '[0-9]\.[0-9]{15,}' "$work/out"; then not_ok "reals are printed in their shortest form" "$(grep -E '[0-9]\.[0-9]{15,}' "$work/out")"; else
    ok "reals are printed in their shortest form"; fi
# The library's own JSON text (the brief, the report) follows the same rule: 80.1, not 80.099999999999994.
sed 's/"net_revenue": 80.0/"net_revenue": 80.1/' "$good" >"$work/real.json"
run "$BACKFILL" brief "$work/real.json" --json
expect_grep "$work/out" '"net_revenue": 80\.1$' "brief --json writes the brief's reals in their shortest form"

# --- an option with a value, given twice ------------------------------------------------------
run "$BACKFILL" plan "$good" --warehouse "$work/wh.db" --warehouse=other.db
expect_rc 2 "--warehouse given twice is refused"
expect_grep "$work/err" "^backfill: plan: --warehouse given twice \('$work/wh.db' and 'other.db'\); give it once\$" "the refusal names both values"
finish
