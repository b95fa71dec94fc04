#!/bin/sh
# Install the build into a temporary root, then compile and run a program
# against it using only `pkg-config --cflags --libs libbackfill`, once with the
# shared library and once statically.
# usage: consumer.sh BUILD_DIR CONSUMER.c
set -eu
build=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

meson install -C "$build" --no-rebuild --destdir "$root" --quiet
pcfile=$(find "$root" -name libbackfill.pc | head -n 1)
if [ -z "$pcfile" ]; then
    echo "meson install put no libbackfill.pc under $root" >&2
    exit 1
fi
# Every public header of the source tree, and the generated version.h, is installed.
headers=$(cd "$(dirname "$0")/../../include" && find . -name '*.h' | sed 's|^\./||')
for header in $headers backfill/version.h; do
    if [ -z "$(find "$root" -path "*/include/$header")" ]; then
        echo "installed tree lacks include/$header" >&2
        exit 1
    fi
done
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$root"
# With a sysroot set, pkg-config already puts it in front of the paths it prints.
libdir=$(pkg-config --variable=libdir libbackfill)

cc -std=c11 -Wall -Wextra -Werror -o "$root/consumer" "$src" \
    $(pkg-config --cflags --libs libbackfill)
LD_LIBRARY_PATH="$libdir" "$root/consumer"

cc -std=c11 -Wall -Wextra -Werror -static-libgcc -o "$root/consumer-static" "$src" \
    $(pkg-config --cflags libbackfill) "$libdir/libbackfill.a" \
    $(pkg-config --libs-only-l --static libbackfill | sed 's/-lbackfill//')
env -u LD_LIBRARY_PATH "$root/consumer-static"

bindir=$(find "$root" -type f -name backfill -perm -u+x | head -n 1)
LD_LIBRARY_PATH="$libdir" "$bindir" --version
