#!/bin/sh
# Names a user gives (tables, columns) are checked against the warehouse: a typo is bad input
# (exit 2) naming it, never a result computed over the text of the name or an empty scope.
# And a rows_per_batch walk over keys that are not integers ends, naming the column.
set -eu
. "$(dirname "$0")/tap.sh"
plan 46

# Every command runs under a time limit, so a hang fails the test instead of stalling CI.
bf() { run timeout 60 "$BACKFILL" "$@"; }

brief() { # brief NAME JSON-BODY: a draft brief with just what planning needs
    printf '{"format": "backfill-brief/1", "name": "%s", %s}\n' "$1" "$2" >"$work/$1.json"
}

db="$work/wh.db"
sqlite3 "$db" "CREATE TABLE a (id INTEGER PRIMARY KEY, region TEXT, amount REAL, ts INTEGER);
    INSERT INTO a VALUES (1, 'eu', 1.5, 1735689600), (2, 'us', 2.0, 1735700000), (3, 'eu', NULL, 1735790000);
    CREATE TABLE b (id INTEGER PRIMARY KEY, region TEXT, amount REAL, ts INTEGER);
    INSERT INTO b VALUES (7, 'apac', 9.0, 1735689600);
    CREATE TABLE regions (code TEXT PRIMARY KEY);
    INSERT INTO regions VALUES ('eu'), ('us');"

# --- fingerprint --columns and TABLE ---------------------------------------------------
bf fingerprint a --warehouse "$db" --columns nope
expect_rc 2 "fingerprint of a column that does not exist"
expect_grep "$work/err" "table a: no such column nope" "the error names the table and the column"
expect_lines "$work/out" 0 "no fingerprint is printed"
bf fingerprint b --warehouse "$db" --columns nope
expect_rc 2 "the same typo on another table is refused too, not the same constant fingerprint"
bf fingerprint a --warehouse "$db" --columns id,amont
expect_rc 2 "a typo second in the list"
expect_grep "$work/err" "no such column amont" "the error names the mistyped column"
bf fingerprint a --warehouse "$db" --columns ID,Region
expect_rc 0 "columns in another letter case are the same columns, as in SQL"
fa=$(cat "$work/out")
bf fingerprint a --warehouse "$db" --columns id,region
if [ "$(cat "$work/out")" = "$fa" ]; then ok "and give the same fingerprint"; else
    not_ok "and give the same fingerprint" "$fa" "$(cat "$work/out")"; fi
bf fingerprint aa --warehouse "$db"
expect_rc 2 "fingerprint of a table that does not exist"
expect_grep "$work/err" "table aa: no such table" "the error names the table"

# --- plan --warehouse: every name of the brief -------------------------------------------
time_scope='"scope": {"time": {"start": "2025-01-01", "end": "2025-01-03"}}, "batching": {"by": "time", "grain": "day"}'
brief good "\"target\": {\"table\": \"a\", \"key\": [\"id\"], \"columns\": [\"amount\"], \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope"
bf plan "$work/good.json" --warehouse "$db"
expect_rc 0 "a brief whose names exist plans against the warehouse"
expect_grep "$work/out" "^2 batches; .*; 3 rows in scope now\$" "and counts the rows of its scope"

brief time_typo "\"target\": {\"table\": \"a\", \"time_column\": \"tz\", \"time_format\": \"unix_s\"}, $time_scope"
bf plan "$work/time_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped time_column"
expect_grep "$work/err" 'time_typo\.json: \$\.target\.time_column: table a has no column tz$' "the error names the brief, the JSON path, the table and the column"
expect_lines "$work/out" 0 "no plan of empty batches is printed"

brief key_typo "\"target\": {\"table\": \"a\", \"key\": [\"idd\"], \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope"
bf plan "$work/key_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped target.key column"
expect_grep "$work/err" '\$\.target\.key\[0\]: table a has no column idd$' "the error names the key column"

brief cols_typo "\"target\": {\"table\": \"a\", \"columns\": [\"amount\", \"amout\"], \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope"
bf plan "$work/cols_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped target.columns entry"
expect_grep "$work/err" '\$\.target\.columns\[1\]: table a has no column amout$' "the error names the column"

brief scope_typo '"target": {"table": "a"}, "scope": {"keys": {"column": "idd", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 2}'
bf plan "$work/scope_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped key scope column with rows_per_batch"
expect_grep "$work/err" '\$\.scope\.keys\.column: table a has no column idd$' "the error names the scope column"

brief width_typo '"target": {"table": "a"}, "scope": {"keys": {"column": "idd", "start": 0, "end": 100}}, "batching": {"by": "key", "width": 10}'
bf plan "$work/width_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped key scope column with a width"

brief part_typo '"target": {"table": "a"}, "scope": {"partitions": {"column": "regoin", "values": ["eu", "us"]}}, "batching": {"by": "partition"}'
bf plan "$work/part_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped partition column"
expect_grep "$work/err" '\$\.scope\.partitions\.column: table a has no column regoin$' "the error names the partition column"

brief table_typo "\"target\": {\"table\": \"aa\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope"
bf plan "$work/table_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped target table"
expect_grep "$work/err" '\$\.target\.table: no table aa in the warehouse$' "the error names the table"

brief ref_typo "\"target\": {\"table\": \"a\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope, \"validation\": [{\"check\": \"references\", \"columns\": [\"region\"], \"parent\": \"regions\", \"parent_columns\": [\"cod\"]}]"
bf plan "$work/ref_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped parent column of a references check"
expect_grep "$work/err" '\$\.validation\[0\]\.parent_columns\[0\]: table regions has no column cod$' "the error names the check's path and the column"

brief parent_typo "\"target\": {\"table\": \"a\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope, \"validation\": [{\"check\": \"not_null\", \"columns\": [\"amount\"]}, {\"check\": \"references\", \"columns\": [\"region\"], \"parent\": \"region\", \"parent_columns\": [\"code\"]}]"
bf plan "$work/parent_typo.json" --warehouse "$db"
expect_rc 2 "a mistyped parent table of a references check"
expect_grep "$work/err" '\$\.validation\[1\]\.parent: no table region in the warehouse$' "the error names the parent table"

# --- rows_per_batch over keys that are not integers ends, naming the column ----------------
sqlite3 "$work/odd.db" "CREATE TABLE t (k, v); INSERT INTO t VALUES (1, 'a'), (3.5, 'b'), (3.6, 'c'), (7, 'd');"
brief odd '"target": {"table": "t"}, "scope": {"keys": {"column": "k", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 1}'
run timeout 20 "$BACKFILL" plan "$work/odd.json" --warehouse "$work/odd.db"
if [ "$rc" -eq 124 ]; then not_ok "planning over keys 3.5 and 3.6 ends: it hung (killed after 20 s)"; else
    ok "planning over keys 3.5 and 3.6 ends"; fi
expect_rc 2 "keys that are not integers are bad input"
expect_grep "$work/err" "table t: column k holds 3\\.5, which is not an integer" "the error names the column and the value"
brief odd_wide '"target": {"table": "t"}, "scope": {"keys": {"column": "k", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 50}'
run timeout 20 "$BACKFILL" plan "$work/odd_wide.json" --warehouse "$work/odd.db"
expect_rc 2 "they are refused even when no boundary falls on them"

# --- rows_per_batch when the first key repeats: no empty first batch ------------------------
sqlite3 "$work/dup.db" "CREATE TABLE t (k INTEGER, v); INSERT INTO t VALUES (5, 'a'), (5, 'b'), (5, 'c'), (7, 'd'), (8, 'e'), (9, 'f');"
brief dup '"target": {"table": "t"}, "scope": {"keys": {"column": "k", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 2}'
bf plan "$work/dup.json" --warehouse "$work/dup.db"
expect_rc 0 "rows_per_batch when the first key repeats"
expect_grep "$work/out" "^ +0  k \\[0, 7\\) \\[lo=0, hi=7\\)  3 rows\$" "the first batch takes the run of 5s whole"
if grep -q '  0 rows$' "$work/out"; then not_ok "no batch is empty" "$(cat "$work/out")"; else ok "no batch is empty"; fi

# --- time text that sorts elsewhere than its instant: refused, naming a value --------------
sqlite3 "$work/iso.db" "CREATE TABLE e (id INTEGER PRIMARY KEY, ts TEXT, d TEXT);
    INSERT INTO e VALUES (1, '2025-01-01 10:00:00', '2025-01-01'), (2, '2025-01-02 23:30:00.250', '2025-01-02');
    CREATE TABLE z (id INTEGER PRIMARY KEY, ts TEXT);
    INSERT INTO z VALUES (1, '2025-01-01 10:00:00'), (2, '2025-01-02T03:00:00Z');
    CREATE TABLE o (id INTEGER PRIMARY KEY, ts TEXT, d TEXT);
    INSERT INTO o VALUES (1, '2025-01-01 10:00:00+02:00', '2025-1-2');"
brief iso_ok "\"target\": {\"table\": \"e\", \"time_column\": \"ts\", \"time_format\": \"iso8601\"}, $time_scope"
bf plan "$work/iso_ok.json" --warehouse "$work/iso.db"
expect_rc 0 "iso8601 text in the 'YYYY-MM-DD HH:MM:SS' form, fractions too, plans"
brief iso_t "\"target\": {\"table\": \"z\", \"time_column\": \"ts\", \"time_format\": \"iso8601\"}, $time_scope"
bf plan "$work/iso_t.json" --warehouse "$work/iso.db"
expect_rc 2 "iso8601 text in the T...Z form is refused: it sorts elsewhere than its instant"
expect_grep "$work/err" "table z holds '2025-01-02T03:00:00Z' there, which sorts elsewhere than its instant" "the error names the table and the value"
brief iso_off "\"target\": {\"table\": \"o\", \"time_column\": \"ts\", \"time_format\": \"iso8601\"}, $time_scope"
bf plan "$work/iso_off.json" --warehouse "$work/iso.db"
expect_rc 2 "iso8601 text with a UTC offset is refused"
brief date_short "\"target\": {\"table\": \"o\", \"time_column\": \"d\", \"time_format\": \"date\"}, $time_scope"
bf plan "$work/date_short.json" --warehouse "$work/iso.db"
expect_rc 2 "a date written '2025-1-2' is refused"
expect_grep "$work/err" "holds '2025-1-2' there" "the error names the value"

# --- the job's own names: prepared against the warehouse, never run --------------------------
brief job_typo "\"target\": {\"table\": \"a\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope, \"job\": {\"select\": \"SELECT id, region, amount, ts FROM bb WHERE ts >= :start AND ts < :end\"}"
bf plan "$work/job_typo.json" --warehouse "$db"
expect_rc 2 "a job reading a table the warehouse lacks"
expect_grep "$work/err" '\$\.job\.select: the job does not compile against the warehouse: no such table: bb$' "the error names the job and the table"
brief job_col "\"target\": {\"table\": \"a\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, $time_scope, \"job\": {\"select\": \"SELECT id, regoin, amount, ts FROM b WHERE ts >= :start AND ts < :end\"}"
bf plan "$work/job_col.json" --warehouse "$db"
expect_grep "$work/err" 'no such column: regoin$' "a job's mistyped column is named"

finish
