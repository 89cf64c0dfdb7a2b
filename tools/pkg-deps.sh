#!/bin/sh
# What the Debian package test (tests/pkg/test_deb.py, `meson test --setup pkg
# --suite pkg`) needs beyond tools/install-deps.sh: the packaging tools.
# Idempotent; root (apt-get).
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "pkg-deps: must run as root (apt-get)" >&2
    exit 1
fi
PKGS="dpkg-dev debhelper lintian fakeroot"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
echo "pkg-deps: all packages present"
