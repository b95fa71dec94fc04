#!/bin/sh
# Runs the Go binding's tests against a build directory's library.
# usage: run-tests.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
cd "$(dirname "$0")"
# pkg-config prefers libbackfill-uninstalled.pc, which points into the build tree.
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build/src${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOFLAGS=-mod=mod GOPROXY=off GOCACHE="${GOCACHE:-$build/go-cache}"
go vet ./...
go test -count=1 -v ./...
