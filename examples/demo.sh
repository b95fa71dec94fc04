#!/usr/bin/env bash
# The example backfill, end to end, on the bundled SQLite warehouse.
# Installs what is missing (as root on Debian 12), builds libbackfill and the
# backfill command, then runs the runbook step by step.
# usage: examples/demo.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/deps.sh
bf_need_packages "${BF_BUILD_PACKAGES[@]}" sqlite3

build=${BF_BUILD_DIR:-build-demo}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dtests=false >/dev/null
fi
ninja -C "$build" >/dev/null
backfill="$build/src/cli/backfill"

warehouse="$build/demo/warehouse.db"
mkdir -p "$build/demo"
rm -f "$warehouse" "$warehouse-wal" "$warehouse-shm"
sqlite3 "$warehouse" <examples/warehouse/build.sql

echo "== libbackfill $("$backfill" --version | cut -d' ' -f2)"
echo
echo "== the bundled warehouse ($warehouse)"
echo "fct_orders was built without refunds, so net revenue equals gross everywhere:"
sqlite3 -header -column "$warehouse" "
    SELECT count(*) AS orders,
           round(sum(gross), 2) AS gross,
           round(sum(net_revenue), 2) AS net_revenue,
           (SELECT round(sum(amount), 2) FROM raw_refunds) AS refunds_never_joined
    FROM fct_orders"

brief=examples/warehouse/refund-join.json
echo
echo "== 1. preflight: backfill check $brief"
"$backfill" check "$brief"
echo
echo "== 2. the one-page brief for the reviewer: backfill brief $brief (first lines)"
"$backfill" brief "$brief" | head -n 24
echo
echo "== 3. who is affected: backfill blast-radius $brief"
"$backfill" blast-radius "$brief"
echo
echo "== 4. the pinned plan against the warehouse: backfill plan $brief --warehouse ... (first and last lines)"
"$backfill" plan "$brief" --warehouse "$warehouse" >"$build/demo/plan.txt"
head -n 4 "$build/demo/plan.txt"
echo "   ..."
tail -n 2 "$build/demo/plan.txt"
echo
echo "== 5. a fingerprint of the target before anything changes: backfill fingerprint fct_orders"
"$backfill" fingerprint fct_orders --warehouse "$warehouse"
