#!/bin/sh
# backfill fingerprint: compare two tables, check a restore by hand.
set -eu
. "$(dirname "$0")/tap.sh"
plan 19

db="$work/wh.db"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT, amount REAL);
INSERT INTO a VALUES (1, 'x', 1.5), (2, NULL, 2.0), (3, 'a|b', NULL);
CREATE TABLE b (id INTEGER PRIMARY KEY, name TEXT, amount REAL);
INSERT INTO b VALUES (3, 'a|b', NULL), (1, 'x', 1.5), (2, NULL, 2.0);
CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT, amount REAL);
INSERT INTO c VALUES (1, 'x', 1.5), (2, NULL, 2.0), (3, 'a|b', 0.0);
CREATE TABLE v (x);
INSERT INTO v VALUES (1);
CREATE TABLE g (id INTEGER PRIMARY KEY, a INT, dbl INT GENERATED ALWAYS AS (a * 2) VIRTUAL,
                tag TEXT GENERATED ALWAYS AS ('t' || a) STORED, b TEXT);
INSERT INTO g (id, a, b) VALUES (1, 10, 'x'), (2, NULL, 'y');
CREATE TABLE gplain (id INTEGER PRIMARY KEY, a INT, dbl INT, tag TEXT, b TEXT);
INSERT INTO gplain SELECT * FROM g;
CREATE TABLE gbase (id INTEGER PRIMARY KEY, a INT, b TEXT);
INSERT INTO gbase SELECT id, a, b FROM g;
""")
c.commit()
PY

run "$BACKFILL" fingerprint a --warehouse "$db"
expect_rc 0 "fingerprint of a table"
expect_grep "$work/out" '^3:[0-9a-f]{32}$' "prints rows:hex32"
fa=$(cat "$work/out")

run "$BACKFILL" fingerprint b --warehouse "$db"
if [ "$(cat "$work/out")" = "$fa" ]; then ok "the same rows in another order give the same fingerprint"; else
    not_ok "the same rows in another order give the same fingerprint" "$fa" "$(cat "$work/out")"; fi

run "$BACKFILL" fingerprint c --warehouse "$db"
if [ "$(cat "$work/out")" != "$fa" ]; then ok "a NULL changed to 0.0 changes the fingerprint"; else
    not_ok "a NULL changed to 0.0 changes the fingerprint" "$fa"; fi

run "$BACKFILL" fingerprint c --warehouse "$db" --columns id,name
expect_rc 0 "--columns picks columns"
fc=$(cat "$work/out")
run "$BACKFILL" fingerprint a --warehouse "$db" --columns id,name
if [ "$(cat "$work/out")" = "$fc" ]; then ok "tables equal on the chosen columns compare equal"; else
    not_ok "tables equal on the chosen columns compare equal" "$fc" "$(cat "$work/out")"; fi

# The documented test vector: one row holding the integer 1.
run "$BACKFILL" fingerprint v --warehouse "$db"
expect_grep "$work/out" '^1:4bf11acb9ef8ce739a0670b0dfa048f0$' "matches the test vector in docs/fingerprint.md"

run "$BACKFILL" fingerprint a --warehouse "$db" --json
expect_rc 0 "--json succeeds"
expect_grep "$work/out" '"rows": 3' "--json gives the row count"
expect_grep "$work/out" "\"fingerprint\": \"$fa\"" "--json gives the text form"

# Every column means every column SELECT * returns: generated ones (VIRTUAL and STORED) included.
run "$BACKFILL" fingerprint g --warehouse "$db"
expect_rc 0 "fingerprint of a table with generated columns"
fg=$(cat "$work/out")
run "$BACKFILL" fingerprint gplain --warehouse "$db"
if [ "$(cat "$work/out")" = "$fg" ]; then ok "generated columns are fingerprinted like stored values"; else
    not_ok "generated columns are fingerprinted like stored values" "$fg" "$(cat "$work/out")"; fi
run "$BACKFILL" fingerprint gbase --warehouse "$db"
if [ "$(cat "$work/out")" != "$fg" ]; then ok "leaving generated columns out changes the fingerprint"; else
    not_ok "leaving generated columns out changes the fingerprint" "$fg"; fi

run "$BACKFILL" fingerprint nosuch --warehouse "$db"
expect_rc 2 "a missing table is bad input"
expect_grep "$work/err" "table nosuch: no such table" "the error names the table"

run "$BACKFILL" fingerprint a --warehouse "$work/none.db"
expect_rc 2 "a missing warehouse file is bad input"
expect_lines "$work/err" 1 "one line on stderr"

run "$BACKFILL" fingerprint a
expect_rc 2 "no --warehouse is bad usage"

run "$BACKFILL" fingerprint a --warehouse "$db" --columns 'id,'
expect_rc 2 "an empty column name is bad usage"
finish
