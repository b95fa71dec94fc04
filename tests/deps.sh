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
BF_TEST_PACKAGES=(abigail-tools sqlite3 python3 binutils golang-go)
