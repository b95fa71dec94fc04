#!/bin/sh
# The command's skeleton: version, help, unknown commands and the exit-status convention.
set -eu
. "$(dirname "$0")/tap.sh"
plan 19

run "$BACKFILL" --version
expect_rc 0 "--version succeeds"
expect_grep "$work/out" "^backfill $BF_VERSION\$" "--version prints the library version"

run "$BACKFILL" --version --json
expect_rc 0 "--version --json succeeds"
expect_grep "$work/out" "\"version\": \"$BF_VERSION\"" "--version --json gives the version as JSON"

run "$BACKFILL" --help
expect_rc 0 "--help succeeds"
expect_grep "$work/out" "^usage: backfill" "--help prints usage"
expect_grep "$work/out" "Exit status: 0 done" "--help documents exit statuses"

run "$BACKFILL" nosuch
expect_rc 2 "an unknown command is bad usage"
expect_lines "$work/err" 1 "an unknown command gives one line on stderr"
expect_grep "$work/err" "unknown command 'nosuch'" "the error names the command"

run "$BACKFILL" --frobnicate
expect_rc 2 "an unknown option is bad usage"
expect_grep "$work/err" "unknown option '--frobnicate'" "the error names the option"

run "$BACKFILL"
expect_rc 2 "no command at all is bad usage"

run "$BACKFILL" --json
if [ "$rc" -eq 2 ] && jq -e '.format == "backfill-error/1" and .exit == 2' "$work/out" >/dev/null 2>&1; then
    ok "no command under --json is one error object on stdout"
else
    not_ok "no command under --json is one error object on stdout" "rc=$rc" "$(cat "$work/out")"
fi

# help under --json is one object too: the usage line and every command with its own.
for how in "--help" "help"; do
    run "$BACKFILL" $how --json
    expect_rc 0 "$how --json succeeds"
    if jq -e '.format == "backfill-help/1" and .command == null and
              (.usage | startswith("backfill ")) and
              ([.commands[] | select(.name == "run" and .json_format == "backfill-run/1" and
                                     (.usage | startswith("backfill run BRIEF ")))] | length == 1)' \
        "$work/out" >/dev/null 2>&1; then
        ok "$how --json lists the commands as backfill-help/1"
    else
        not_ok "$how --json lists the commands as backfill-help/1" "$(head -c 400 "$work/out")"
    fi
done

run "$BACKFILL" nosuch --json
if [ "$rc" -eq 2 ] && grep -q '"exit": 2' "$work/out"; then
    ok "errors under --json are also JSON on stdout"
else
    not_ok "errors under --json are also JSON on stdout" "rc=$rc" "$(cat "$work/out")"
fi
finish
