#!/bin/sh
# backfill plan: the pinned batch plan of a brief, for each kind of scope, and its refusals.
set -eu
. "$(dirname "$0")/tap.sh"
plan 48

good="$BF_SOURCE_ROOT/examples/briefs/refund-join.json"

brief() { # brief NAME JSON-BODY: a draft brief with just what planning needs
    printf '{"format": "backfill-brief/1", "name": "%s", %s}\n' "$1" "$2" >"$work/$1.json"
}

# --- the example brief: day batches every 7 days in America/New_York ----------------
run "$BACKFILL" plan "$good"
expect_rc 0 "plan of the refund-join brief"
expect_grep "$work/out" "^plan refund-join-fix-2025h1: 22 batches by time on order_ts, fingerprint [0-9a-f]{32}\$" "the header names count, dimension, column and fingerprint"
expect_grep "$work/out" "^     0  2025-01-01\\.\\.2025-01-07 \\[start=1735707600, end=1736312400\\)\$" "the first batch starts at local midnight, 05:00 UTC"
expect_grep "$work/out" "^     9  2025-03-05\\.\\.2025-03-11 \\[start=1741150800, end=1741752000\\)\$" "the batch over the DST change is an hour short"
expect_grep "$work/out" "^22 batches; first 2025-01-01\\.\\.2025-01-07 \\[start=1735707600, end=1736312400\\); last 2025-05-28\\.\\.2025-05-31 \\[start=1748404800, end=1748750400\\)\$" "the summary line gives the count and the first and last bounds"
expect_lines "$work/out" 24 "one line per batch between header and summary"

fp=$(sed -n 's/.*fingerprint \([0-9a-f]*\)$/\1/p' "$work/out")
run "$BACKFILL" plan "$good"
expect_grep "$work/out" "fingerprint $fp\$" "planning again gives the same fingerprint"

run "$BACKFILL" plan "$good" --json
expect_rc 0 "plan --json"
expect_grep "$work/out" '"count": 22' "JSON gives the count"
expect_grep "$work/out" "\"fingerprint\": \"$fp\"" "JSON gives the same fingerprint"
expect_grep "$work/out" '"label": "2025-05-28\.\.2025-05-31"' "JSON lists the batches"
expect_grep "$work/out" '"end": 1748750400' "JSON gives bound parameters"

# --- keys, newest first -----------------------------------------------------------
brief keys '"scope": {"keys": {"column": "order_id", "start": 0, "end": 25000}}, "batching": {"by": "key", "width": 10000, "order": "newest_first"}'
run "$BACKFILL" plan "$work/keys.json"
expect_rc 0 "plan of a key-range brief"
expect_grep "$work/out" "^     0  order_id \\[20000, 25000\\) \\[lo=20000, hi=25000\\)\$" "newest first: the clipped top range comes first"
expect_grep "$work/out" "^3 batches; first order_id \\[20000, 25000\\) .*; last order_id \\[0, 10000\\) \\[lo=0, hi=10000\\)\$" "key summary"

# --- partitions and buckets ----------------------------------------------------------
brief parts '"scope": {"partitions": {"column": "region", "values": ["eu", "us", 7]}}, "batching": {"by": "partition"}'
run "$BACKFILL" plan "$work/parts.json"
expect_rc 0 "plan of a partition brief"
expect_grep "$work/out" "^     1  us \\[partition='us'\\]\$" "text partitions are bound as text"
expect_grep "$work/out" "^     2  7 \\[partition=7\\]\$" "integer partitions are bound as integers"

brief buckets '"scope": {"buckets": {"column": "customer_id", "count": 16}}, "batching": {"by": "bucket"}'
run "$BACKFILL" plan "$work/buckets.json"
expect_rc 0 "plan of a bucket brief"
expect_grep "$work/out" "^     3  bucket 3/16 \\[bucket=3, buckets=16\\]\$" "bucket labels and parameters"

# --- refusals -------------------------------------------------------------------------
brief mismatch '"target": {"time_column": "ts", "time_format": "unix_s"}, "scope": {"time": {"start": "2025-01-01", "end": "2025-01-03"}}, "batching": {"by": "key", "width": 5}'
run "$BACKFILL" plan "$work/mismatch.json"
expect_rc 2 "batching by key over a time scope is refused"
expect_grep "$work/err" '\$\.batching\.by: batching by key needs \$\.scope\.keys, but the scope is \$\.scope\.time' "the refusal names the JSON path"

brief hours '"target": {"time_column": "ts", "time_format": "date"}, "scope": {"time": {"start": "2025-01-01", "end": "2025-01-03"}}, "batching": {"by": "time", "grain": "hour"}'
run "$BACKFILL" plan "$work/hours.json"
expect_rc 2 "hour batches bound as dates are refused"
expect_grep "$work/err" "hour batches cannot be bound as dates" "the refusal says why"

# --- with a warehouse: rows per batch, and rows_per_batch key boundaries ----------------
brief rows '"target": {"table": "t"}, "scope": {"keys": {"column": "order_id", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 10}'
run "$BACKFILL" plan "$work/rows.json"
expect_rc 2 "rows_per_batch without a warehouse is refused"
expect_grep "$work/err" 'rows_per_batch: finding key boundaries reads the warehouse' "the refusal names rows_per_batch"

# 50 rows at the even keys 0..98: ten rows span twenty keys.
sqlite3 "$work/keys.db" "CREATE TABLE t (order_id INTEGER PRIMARY KEY, v TEXT);
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM n WHERE i < 98)
    INSERT INTO t SELECT i, 'row ' || i FROM n;"
run "$BACKFILL" plan "$work/rows.json" --warehouse "$work/keys.db"
expect_rc 0 "rows_per_batch plans against the warehouse"
expect_grep "$work/out" "^ +2  order_id \\[40, 60\\) \\[lo=40, hi=60\\)  10 rows\$" "boundaries fall every ten rows"
if [ "$(grep -c '  10 rows$' "$work/out")" -eq 5 ]; then ok "five batches of ten rows each"; else
    not_ok "five batches of ten rows each" "$(cat "$work/out")"; fi
expect_grep "$work/out" "^5 batches; .*; 50 rows in scope now\$" "the summary counts the rows in scope"

# A partition value no row holds and the job fills nothing for is refused, naming it; a new
# partition (the target lacks it, the job makes it) is fine.
sqlite3 "$work/keys.db" "CREATE TABLE p (region TEXT, v INTEGER); INSERT INTO p VALUES ('eu', 1), ('us', 2);
    CREATE TABLE p_src (region TEXT, v INTEGER); INSERT INTO p_src VALUES ('eu', 10), ('apac', 30);"
brief regions '"target": {"table": "p"}, "scope": {"partitions": {"column": "region", "values": ["eu", "apac", "ue"]}}, "batching": {"by": "partition"}, "job": {"select": "SELECT region, v FROM p_src WHERE region = :partition"}'
run "$BACKFILL" plan "$work/regions.json" --warehouse "$work/keys.db"
expect_rc 2 "a partition value that matches nothing is refused"
expect_grep "$work/err" "partition ue matches no row of table p \(column region\), and the job produces no row for it" "the refusal names the value"
brief regions '"target": {"table": "p"}, "scope": {"partitions": {"column": "region", "values": ["eu", "apac"]}}, "batching": {"by": "partition"}, "job": {"select": "SELECT region, v FROM p_src WHERE region = :partition"}'
run "$BACKFILL" plan "$work/regions.json" --warehouse "$work/keys.db"
expect_rc 0 "a new partition the job fills plans"
# Two values the column compares as equal (NOCASE) would be two batches of the same rows.
sqlite3 "$work/keys.db" "CREATE TABLE pn (region TEXT COLLATE NOCASE, v INTEGER);
    INSERT INTO pn VALUES ('eu', 1), ('EU', 2), ('us', 3);"
brief regions '"target": {"table": "pn"}, "scope": {"partitions": {"column": "region", "values": ["us", "eu", "Eu"]}}, "batching": {"by": "partition"}, "job": {"select": "SELECT region, v FROM pn WHERE region = :partition"}'
run "$BACKFILL" plan "$work/regions.json" --warehouse "$work/keys.db"
expect_rc 2 "partition values equal under the column's collation are refused"
expect_grep "$work/err" "partitions eu and Eu name the same rows of table pn, as column region compares them" "the refusal names both values"

sqlite3 "$work/wh.db" <"$BF_SOURCE_ROOT/examples/warehouse/build.sql"
in_scope=$(sqlite3 "$work/wh.db" "SELECT count(*) FROM fct_orders WHERE order_ts >= 1735707600 AND order_ts < 1748750400")
run "$BACKFILL" plan "$good" --warehouse "$work/wh.db"
expect_rc 0 "plan with the example warehouse"
expect_grep "$work/out" "^22 batches; .*; $in_scope rows in scope now\$" "the batches' rows add up to the rows in scope ($in_scope)"
run "$BACKFILL" plan "$good" --warehouse="$work/wh.db" --json
expect_grep "$work/out" "^  \"rows\": $in_scope,?\$" "JSON gives the rows in scope"

# The warehouse's traps (examples/warehouse/build.sql) land in the batches local time puts them in.
run "$BACKFILL" plan "$good" --warehouse "$work/wh.db"
traps_in() { # traps_in BATCH: the trap orders (ids from 900000) inside that batch's bounds
    bounds=$(sed -n "s/^ *$1  .*\[start=\([0-9]*\), end=\([0-9]*\)).*/\1 \2/p" "$work/out")
    set -- $bounds
    sqlite3 "$work/wh.db" "SELECT group_concat(order_id, ' ') FROM (SELECT order_id FROM fct_orders
        WHERE order_id >= 900000 AND order_ts >= $1 AND order_ts < $2 ORDER BY order_id)"
}
expect_traps() { # expect_traps BATCH IDS WHAT
    got=$(traps_in "$1")
    if [ "$got" = "$2" ]; then ok "$3"; else not_ok "$3" "got: $got" "wanted: $2"; fi
}
expect_traps 0 "910001 940002" "batch 0: the scope's first instant and one minute before the next local midnight"
expect_traps 9 "900001 900002 900003 900004 900005 900006 910034 910035 910036 910037 920003" \
    "batch 9: the spring-forward day on both sides of the skipped hour"
expect_traps 21 "910082 910083 910084 920006 930011 930012 940003 950004" \
    "batch 21: May 31 evening in New York (June in UTC) in, June 1 local out"
out_of_scope=$(sqlite3 "$work/wh.db" "SELECT count(*) FROM fct_orders WHERE order_id >= 900000
    AND (order_ts < 1735707600 OR order_ts >= 1748750400)")
if [ "$out_of_scope" -eq 19 ]; then ok "19 trap orders lie outside the scope"; else
    not_ok "19 trap orders lie outside the scope" "got $out_of_scope"; fi

# grow.sql makes the same warehouse 300,000 orders for benchmarks; the brief still plans against it.
sqlite3 "$work/wh.db" <"$BF_SOURCE_ROOT/examples/warehouse/grow.sql"
sqlite3 "$work/wh.db" <"$BF_SOURCE_ROOT/examples/warehouse/grow.sql"
orders=$(sqlite3 "$work/wh.db" "SELECT count(*) || ' ' || (SELECT count(*) FROM fct_orders) FROM raw_orders")
if [ "$orders" = "300000 300000" ]; then ok "grow.sql grows the warehouse to 300,000 orders, once"; else
    not_ok "grow.sql grows the warehouse to 300,000 orders, once" "got $orders"; fi
in_scope=$(sqlite3 "$work/wh.db" "SELECT count(*) FROM fct_orders WHERE order_ts >= 1735707600 AND order_ts < 1748750400")
run "$BACKFILL" plan "$good" --warehouse "$work/wh.db"
expect_grep "$work/out" "^22 batches; .*; $in_scope rows in scope now\$" "the grown warehouse plans too ($in_scope rows in scope)"

run "$BACKFILL" plan "$good" --warehouse "$work/nosuch.db"
expect_rc 2 "a missing warehouse file is bad input"
expect_grep "$work/err" "nosuch.db: no such file" "the error names the warehouse file"
run "$BACKFILL" plan "$good" --warehouse
expect_rc 2 "--warehouse without a value is bad usage"

run "$BACKFILL" plan "$work/missing.json"
expect_rc 2 "a missing brief file is bad input"

finish
