#!/bin/sh
# backfill diff: two tables by key, integer, text and composite keys, against EXCEPT.
set -eu
. "$(dirname "$0")/tap.sh"
plan 16

db="$work/wh.db"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE old (id INTEGER, region TEXT, amount INTEGER, price REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO old SELECT i, 'r' || (i % 4), i % 50, i / 8.0 FROM n;
CREATE TABLE t AS SELECT * FROM old;
UPDATE t SET amount = amount + 3 WHERE id % 50 = 1;
UPDATE t SET price = price + 0.0001 WHERE id % 50 = 2;
DELETE FROM t WHERE id % 100 = 3;
INSERT INTO t VALUES (1001, 'r9', 7, 1.0), (1002, 'r9', 8, 2.0);
""")
c.commit()
PY
count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$db" "$1"; }

run "$BACKFILL" diff t --against old --key id --warehouse "$db"
expect_rc 0 "diff of two tables"
added=$(count "SELECT count(*) FROM (SELECT id FROM t EXCEPT SELECT id FROM old)")
removed=$(count "SELECT count(*) FROM (SELECT id FROM old EXCEPT SELECT id FROM t)")
changed=$(count "SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM old) JOIN old USING (id)")
expect_grep "$work/out" "^t against old: $added added, $removed removed, $changed changed" "counts agree with EXCEPT both ways"
expect_grep "$work/out" "column amount: 10 changed" "per-column counts"
expect_grep "$work/out" "changed id=1, amount: 1 -> 4" "samples show old and new values"

run "$BACKFILL" diff t --against old --key id --warehouse "$db" --tolerance price=0.001
expect_grep "$work/out" "$((changed - 10)) changed" "a tolerance hides small numeric changes"

run "$BACKFILL" diff t --against old --key region,id --warehouse "$db" --json
expect_rc 0 "composite key, --json"
expect_grep "$work/out" "\"format\": \"backfill-diff/1\"" "--json names its format"
expect_grep "$work/out" "\"removed\": $removed" "composite key: same removed count"

run "$BACKFILL" diff t --against old --key id --warehouse "$db" --metric 'SUM(amount)' --group-by region
expect_rc 0 "explained metric"
delta=$(count "SELECT (SELECT sum(amount) FROM t) - (SELECT sum(amount) FROM old)")
expect_grep "$work/out" "^SUM\\(amount\\): .* delta $delta " "the metric's delta is the observed one"

run "$BACKFILL" diff t --against old --key id --warehouse "$db" --metric 'AVG(amount)'
expect_rc 2 "a metric that does not decompose is refused"
expect_grep "$work/err" "only SUM\\(expr\\), COUNT\\(\\*\\) and COUNT\\(expr\\) decompose" "and says which do"

run "$BACKFILL" diff t --key id --warehouse "$db"
expect_rc 2 "--against is required"
run "$BACKFILL" diff t --against old --key nope --warehouse "$db"
expect_rc 2 "an unknown key column is named"

# Reals are written as the decimals a person reads: 60.0 and 360.0, not 6e1 and 3.6e2.
sqlite3 "$work/reals.db" "CREATE TABLE a (id INTEGER PRIMARY KEY, v REAL); CREATE TABLE b (id INTEGER PRIMARY KEY, v REAL);
    INSERT INTO a VALUES (1, 60), (2, 360); INSERT INTO b VALUES (1, 54.5), (2, 154.5);"
run "$BACKFILL" diff b --against a --key id --warehouse "$work/reals.db"
expect_grep "$work/out" "^  changed id=1, v: 60\\.0 -> 54\\.5$" "60 is written 60.0"
expect_grep "$work/out" "^  changed id=2, v: 360\\.0 -> 154\\.5$" "360 is written 360.0"
