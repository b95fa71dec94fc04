#!/bin/sh
# The man page (built by `backfill --man` from the options tables) lists every command and every
# option of every command, as the commands' own --help give them, so the two cannot drift.
set -eu
. "$(dirname "$0")/tap.sh"

man="$BF_MAN_PAGE"
"$BACKFILL" --help >"$work/help"
commands=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$work/help")
checks=2
for cmd in $commands; do
    "$BACKFILL" "$cmd" --help >"$work/$cmd.help"
    checks=$((checks + 2 + $(grep -Eo -- '--[a-z][a-z-]*' "$work/$cmd.help" | sort -u | wc -l)))
done
plan "$checks"

expect_grep "$man" '^\.TH BACKFILL 1 ' "the page is a section 1 man page"
run "$BACKFILL" --man
if cmp -s "$work/out" "$man"; then ok "the installed page is what backfill --man writes"; else
    not_ok "the installed page is what backfill --man writes" "$(diff "$work/out" "$man" | head -5)"; fi

roff() { printf '%s' "$1" | sed 's/-/\\\\-/g'; }
for cmd in $commands; do
    expect_grep "$man" "^\\.SS \"backfill $(roff "$cmd")\"\$" "the page has a section for $cmd"
    usage=$(sed -n 's/^usage: backfill //p' "$work/$cmd.help")
    if grep -qF "$(printf '%s' "$usage" | sed 's/-/\\-/g')" "$man"; then ok "the page gives $cmd's usage line"; else
        not_ok "the page gives $cmd's usage line" "$usage"; fi
    # Every option the command's help lists is in the command's section of the page.
    sed -n "/^\\.SS \"backfill $(roff "$cmd")\"\$/,/^\\.S[SH] /p" "$man" >"$work/section"
    for opt in $(grep -Eo -- '--[a-z][a-z-]*' "$work/$cmd.help" | sort -u); do
        expect_grep "$work/section" "^(\\\\fB\\\\-[a-z]\\\\fR, )?\\\\fB$(roff "$opt")\\\\fR" "the page documents $cmd $opt"
    done
done
finish
