#!/bin/sh
# The command's skeleton: version, help, unknown commands and the exit-status convention.
set -eu
. "$(dirname "$0")/tap.sh"
plan 14

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

run "$BACKFILL" nosuch --json
if [ "$rc" -eq 2 ] && grep -q '"exit": 2' "$work/out"; then
    ok "errors under --json are also JSON on stdout"
else
    not_ok "errors under --json are also JSON on stdout" "rc=$rc" "$(cat "$work/out")"
fi
finish
