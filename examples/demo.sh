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
ledger="$build/demo/ledger.db"
rm -f "$ledger" "$ledger-wal" "$ledger-shm"
# What must not change: the rows outside the scope (a view over them) and the columns the brief
# does not rewrite. 2025-01-01 and 2025-06-01 at midnight in New York, as unix seconds.
sqlite3 "$warehouse" "CREATE VIEW demo_outside_scope AS SELECT * FROM fct_orders
                      WHERE order_ts < 1735707600 OR order_ts >= 1748750400"
untouched() {
    echo "rows outside the scope: $("$backfill" fingerprint demo_outside_scope --warehouse "$warehouse")"
    echo "untouched columns:      $("$backfill" fingerprint fct_orders --warehouse "$warehouse" \
                                   --columns order_id,customer_id,order_ts,gross)"
}
before_untouched=$(untouched)
echo
echo "== 6. a test slice first: representative batches into scratch copies (the target is not touched)"
"$backfill" test-slice "$brief" --warehouse "$warehouse" --ledger "$ledger"
echo
echo "== 7. the announcement for the people whose numbers will move (first lines)"
"$backfill" report "$brief" --stage before | head -n 16
echo "   ..."
echo
echo "== 8. the run: every batch staged, published with a snapshot, validated (operator ana)"
"$backfill" run "$brief" --warehouse "$warehouse" --ledger "$ledger" --operator ana@example.com |
    { head -n 3; echo "   ..."; tail -n 3; }
echo
echo "== 9. status: every batch validated, the run awaits approval"
"$backfill" status refund-join-fix-2025h1 --ledger "$ledger" | head -n 6
echo
echo "== 10. the corrected months (net revenue now net of refunds; December and June untouched)"
sqlite3 -header -column "$warehouse" "
    SELECT strftime('%Y-%m', order_ts, 'unixepoch') AS month_utc, count(*) AS orders,
           round(sum(gross), 2) AS gross, round(sum(refund_amount), 2) AS refunds,
           round(sum(net_revenue), 2) AS net_revenue
    FROM fct_orders GROUP BY 1 ORDER BY 1"
echo
echo "== 11. approval: the owner may not approve her own backfill; the reviewer may"
if "$backfill" approve refund-join-fix-2025h1 --reviewer ana@example.com \
        --ledger "$ledger" --warehouse "$warehouse"; then
    echo "demo: the owner's approval was accepted" >&2
    exit 1
fi
"$backfill" approve refund-join-fix-2025h1 --reviewer raj@example.com \
    --ledger "$ledger" --warehouse "$warehouse"
echo
echo "== 12. the mart, refreshed after cutover"
sqlite3 -header -column "$warehouse" "SELECT * FROM mart_monthly_revenue ORDER BY month"
echo
echo "== 13. proof that nothing else moved: fingerprints before and after the run"
after_untouched=$(untouched)
echo "before:"
echo "$before_untouched"
echo "after:"
echo "$after_untouched"
if [ "$before_untouched" != "$after_untouched" ]; then
    echo "demo: rows outside the scope or columns outside target.columns changed" >&2
    exit 1
fi
echo
echo "== 14. the change note for stakeholders: backfill report refund-join-fix-2025h1 --ledger ..."
"$backfill" report refund-join-fix-2025h1 --ledger "$ledger"
