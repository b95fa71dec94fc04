#!/bin/sh
# Install the build into a temporary root, then compile and run a program
# against it using only `pkg-config --cflags --libs libbackfill`, once with the
# shared library and once statically; then compile every installed public
# header alone and all of them together as C99 -pedantic and as C++11, with
# -Werror.
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

# Every installed public header, sys/ ones included, compiles on its own and
# together with all the others, as C99 with -pedantic and as C++, without
# warnings: a header includes what it needs and declares each type once.
cxx=${CXX:-c++}
if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "no C++ compiler ($cxx): install g++ (tests/deps.sh BF_TEST_PACKAGES)" >&2
    exit 1
fi
cflags=$(pkg-config --cflags libbackfill)
: >"$root/all.c"
for header in backfill.h $headers backfill/version.h; do
    # (a declaration too: a header of macros alone would be an empty translation unit)
    printf '#include <%s>\ntypedef int bf_consumer_unit;\n' "$header" >"$root/one.c"
    printf '#include <%s>\n' "$header" >>"$root/all.c"
    cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags "$root/one.c" ||
        { echo "<$header> alone does not compile as C99" >&2; exit 1; }
    "$cxx" -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only $cflags "$root/one.c" ||
        { echo "<$header> alone does not compile as C++" >&2; exit 1; }
done
# The consumer program against every header, in both languages.
cat "$root/all.c" "$src" >"$root/consumer-all.c"
cc -std=c99 -pedantic -Wall -Wextra -Werror -o "$root/consumer-c99" "$root/consumer-all.c" $cflags \
    $(pkg-config --libs libbackfill)
LD_LIBRARY_PATH="$libdir" "$root/consumer-c99"
"$cxx" -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -o "$root/consumer-cxx" \
    "$root/consumer-all.c" $cflags $(pkg-config --libs libbackfill)
LD_LIBRARY_PATH="$libdir" "$root/consumer-cxx"
echo "every public header compiles alone and together as C99 -pedantic and as C++11"

cc -std=c11 -Wall -Wextra -Werror -static-libgcc -o "$root/consumer-static" "$src" \
    $(pkg-config --cflags libbackfill) "$libdir/libbackfill.a" \
    $(pkg-config --libs-only-l --static libbackfill | sed 's/-lbackfill//')
env -u LD_LIBRARY_PATH "$root/consumer-static"

bindir=$(find "$root" -type f -name backfill -perm -u+x | head -n 1)
LD_LIBRARY_PATH="$libdir" "$bindir" --version
