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

echo "== libbackfill"
"$backfill" --version
echo
echo "The runbook commands arrive module by module; 'backfill --help' lists what this build has."
"$backfill" --help
