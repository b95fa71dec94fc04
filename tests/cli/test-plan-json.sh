#!/bin/sh
# backfill plan --json read back through the Python binding (Plan.from_json), and the binding's
# Plan.from_brief against the command. In the bindings suite: Python cannot load the library
# built with sanitizers.
set -eu
. "$(dirname "$0")/tap.sh"
plan 8

good="$BF_SOURCE_ROOT/examples/briefs/refund-join.json"

brief() { # brief NAME JSON-BODY: a draft brief with just what planning needs
    printf '{"format": "backfill-brief/1", "name": "%s", %s}\n' "$1" "$2" >"$work/$1.json"
}

brief keys '"scope": {"keys": {"column": "order_id", "start": 0, "end": 25000}}, "batching": {"by": "key", "width": 10000, "order": "newest_first"}'
brief parts '"scope": {"partitions": {"column": "region", "values": ["eu", "us", 7]}}, "batching": {"by": "partition"}'
brief buckets '"scope": {"buckets": {"column": "customer_id", "count": 16}}, "batching": {"by": "bucket"}'
brief rows '"target": {"table": "t"}, "scope": {"keys": {"column": "order_id", "start": 0, "end": 100}}, "batching": {"by": "key", "rows_per_batch": 10}'
sqlite3 "$work/keys.db" "CREATE TABLE t (order_id INTEGER PRIMARY KEY, v TEXT);
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM n WHERE i < 98)
    INSERT INTO t SELECT i, 'row ' || i FROM n;"
sqlite3 "$work/wh.db" <"$BF_SOURCE_ROOT/examples/warehouse/build.sql"
fp=$("$BACKFILL" plan "$good" | sed -n 's/.*fingerprint \([0-9a-f]*\)$/\1/p')

read_back() { # read_back FILE: count, fingerprint, dimension and batches as read, against the file's
    BACKFILL_LIBRARY="$BACKFILL_LIBRARY" PYTHONPATH="$BF_SOURCE_ROOT/bindings/python" \
        python3 - "$1" <<'PY'
import json, sys
import libbackfill
text = open(sys.argv[1]).read()
said = json.loads(text)
try:
    with libbackfill.Plan.from_json(text) as plan:
        read = [(b.ordinal, b.label, b.lo, b.hi, b.params) for b in plan]
        print(len(plan), said["count"], plan.fingerprint == said["fingerprint"], plan.dimension,
              read == [(b["ordinal"], b["label"], b["lo"], b["hi"], b["params"])
                       for b in said["batches"]])
except libbackfill.BackfillError as err:
    print(type(err).__name__, err)
PY
}
for case in "22 time $good" "3 key $work/keys.json" "3 partition $work/parts.json" \
    "16 bucket $work/buckets.json" "5 key $work/rows.json --warehouse $work/keys.db" \
    "22 time $good --warehouse $work/wh.db"; do
    set -- $case
    n=$1 dim=$2
    shift 2
    "$BACKFILL" plan "$@" --json >"$work/plan.json"
    run read_back "$work/plan.json"
    expect_grep "$work/out" "^$n $n True $dim True\$" "plan $(basename "$1")${3:+ --warehouse} --json reads back: $n $dim batches, the same"
done
BACKFILL_LIBRARY="$BACKFILL_LIBRARY" PYTHONPATH="$BF_SOURCE_ROOT/bindings/python" python3 - "$good" "$work/wh.db" >"$work/out" <<'PY'
import sys
from libbackfill import Brief, Plan
with Brief.from_file(sys.argv[1]) as brief, Plan.from_brief(brief, sys.argv[2]) as plan:
    print(len(plan), plan.fingerprint)
PY
expect_grep "$work/out" "^22 $fp\$" "the Python binding's Plan.from_brief makes the command's plan"
grep -v '"pin"' "$work/plan.json" >"$work/nopin.json"
run read_back "$work/nopin.json"
expect_grep "$work/out" '^ParseError plan: \$\.pin is missing: a plan has format, dimension, column, fingerprint, pin, count and batches$' \
    "a plan without its pin is refused naming the member"

finish
