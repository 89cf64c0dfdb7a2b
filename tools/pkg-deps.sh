#!/bin/sh
# What the Debian package test (tests/pkg/test_deb.py, `meson test --setup pkg
# --suite pkg`) needs beyond tools/install-deps.sh: the packaging tools.
# Idempotent; root (apt-get).
set -eu
# shellcheck source=tools/apt-ensure.sh
. "$(dirname "$0")/apt-ensure.sh"
apt_ensure pkg-deps dpkg-dev debhelper lintian fakeroot
echo "pkg-deps: all packages present"
