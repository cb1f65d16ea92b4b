#!/usr/bin/env bash
# Installs what building Headroom needs and is not a Swift package: Debian's liblmdb-dev
# (LMDB's headers, library and pkg-config file) and pkg-config. Sourced by scripts/headroom
# and scripts/test. Prints a clear message naming the package when it cannot install.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
    echo "headroom: the Swift toolchain (swift 6.1 or later) is not on PATH" >&2
    exit 1
fi

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists lmdb 2>/dev/null; then
    return 0 2>/dev/null || exit 0
fi

packages="liblmdb-dev pkg-config"
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "headroom: needs Debian's $packages; run as root: apt-get install $packages" >&2
        exit 1
    fi
    echo "headroom: installing $packages with apt-get" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages >&2
fi

if ! pkg-config --exists lmdb 2>/dev/null; then
    echo "headroom: LMDB is missing: install Debian's liblmdb-dev (apt-get install $packages)" >&2
    exit 1
fi
