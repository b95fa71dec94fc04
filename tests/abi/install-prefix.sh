#!/bin/sh
# Configure the source tree with a temporary, non-system prefix, install it
# there for real (no --destdir: a DESTDIR install keeps the run-time search
# path of the final prefix), and run the installed `backfill --version` with
# no LD_LIBRARY_PATH: the installed command must find the installed library
# on its own. The build is unoptimised and leaves out tests, examples and
# bindings, to stay quick.
# usage: install-prefix.sh SOURCE_ROOT EXPECTED_VERSION
set -eu
src=$1
version=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

meson setup "$tmp/build" "$src" --prefix="$prefix" -Dbuildtype=plain \
    -Dtests=false -Dexamples=false -Dbindings=false -Dbenchmarks=false >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log" >&2; exit 1; }
ninja -j2 -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
meson install -C "$tmp/build" --no-rebuild --quiet

exe=$prefix/bin/backfill
if [ ! -x "$exe" ]; then
    echo "meson install put no executable at $exe" >&2
    exit 1
fi
if ! out=$(env -u LD_LIBRARY_PATH "$exe" --version 2>&1); then
    echo "installed backfill --version fails without LD_LIBRARY_PATH:" >&2
    echo "$out" >&2
    exit 1
fi
case $out in
*"$version"*) ;;
*)
    echo "installed backfill --version printed '$out', expected version $version" >&2
    exit 1
    ;;
esac
# It must be the library of this prefix that was loaded, not one found elsewhere.
lib=$(env -u LD_LIBRARY_PATH ldd "$exe" | awk '/libbackfill\.so/ { print $3 }')
case $lib in
"$prefix"/*) ;;
*)
    echo "installed backfill loads libbackfill from '$lib', not from $prefix" >&2
    exit 1
    ;;
esac
echo "ok: $exe --version: $out (library $lib)"
