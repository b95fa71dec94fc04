# Source this: bf_need_packages PKG... installs the Debian packages that are
# missing (and only those), as root, on a fresh Debian 12 machine.
bf_need_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# What building libbackfill and running its tests needs.
BF_BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config libsqlite3-dev libjansson-dev
    libxxhash-dev check tzdata)
BF_TEST_PACKAGES=(abigail-tools sqlite3 python3 binutils golang-go locales g++)

# bf_need_locale NAME: generates a locale (e.g. de_DE.UTF-8) that `locale -a`
# does not list, as root. The host suite runs the library under a locale with
# a decimal comma and fails (it does not skip) when that locale is missing.
bf_need_locale() {
    local name=$1 want
    want=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | sed 's/utf-8$/utf8/')
    if locale -a 2>/dev/null | tr 'A-Z' 'a-z' | grep -qx "$want"; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing locale: $name (run as root, or generate it with locale-gen)" >&2
        return 1
    fi
    echo "generating locale: $name" >&2
    if ! grep -q "^$name " /etc/locale.gen 2>/dev/null; then
        if grep -q "^# *$name " /etc/locale.gen 2>/dev/null; then
            sed -i "s/^# *\($name .*\)/\1/" /etc/locale.gen
        else
            echo "$name ${name#*.}" >>/etc/locale.gen
        fi
    fi
    locale-gen >&2
}

# The locales the tests run under.
BF_TEST_LOCALES=(de_DE.UTF-8)
