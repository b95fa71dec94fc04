#!/bin/bash
# The bash completion script (built by `backfill --bash-completion` from the options tables):
# sourced into bash, it offers every command, each command's options and the values of a choice.
set -eu
. "$(dirname "$0")/tap.sh"

"$BACKFILL" --help >"$work/help"
commands=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$work/help")
plan $(($(echo "$commands" | wc -w) * 2 + 6))

# complete WORD...: COMPREPLY for the last word, one per line, in $work/reply.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _backfill
    printf '%s\n' "${COMPREPLY[@]+"${COMPREPLY[@]}"}" >"$work/reply"
}

run bash -n "$BF_COMPLETION"
expect_rc 0 "the script is valid bash"
# shellcheck disable=SC1090
. "$BF_COMPLETION"
if complete -p backfill | grep -q -- '-F _backfill'; then ok "sourcing registers _backfill for backfill"; else
    not_ok "sourcing registers _backfill for backfill" "$(complete -p backfill 2>&1)"; fi

complete_words backfill ''
for cmd in $commands; do
    if grep -qx -- "$cmd" "$work/reply"; then ok "offers the command $cmd"; else
        not_ok "offers the command $cmd" "$(tr '\n' ' ' <"$work/reply")"; fi
done

complete_words backfill st
if [ "$(cat "$work/reply")" = status ]; then ok "completes 'st' to status"; else
    not_ok "completes 'st' to status" "$(cat "$work/reply")"; fi

# Each command's options, as its --help lists them.
for cmd in $commands; do
    complete_words backfill "$cmd" --
    missing=
    for opt in $("$BACKFILL" "$cmd" --help | grep -Eo -- '--[a-z][a-z-]*' | sort -u); do
        grep -qx -- "$opt" "$work/reply" || missing="$missing $opt"
    done
    if [ -z "$missing" ]; then ok "offers every option of $cmd"; else
        not_ok "offers every option of $cmd" "missing:$missing"; fi
done

complete_words backfill brief x.json --format ''
if [ "$(sort "$work/reply" | tr '\n' ' ')" = "json md " ]; then ok "offers the values of --format"; else
    not_ok "offers the values of --format" "$(cat "$work/reply")"; fi

complete_words backfill status --led
if [ "$(cat "$work/reply")" = --ledger ]; then ok "completes --led to --ledger"; else
    not_ok "completes --led to --ledger" "$(cat "$work/reply")"; fi

complete_words backfill help pl
if [ "$(cat "$work/reply")" = plan ]; then ok "completes commands after help"; else
    not_ok "completes commands after help" "$(cat "$work/reply")"; fi
finish
