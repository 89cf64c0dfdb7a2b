#!/bin/sh
# Installs every Debian package w2wesher needs to build, run its demo and run
# its whole test suite on a fresh Debian 12. Idempotent: safe to run again.
set -eu

# shellcheck source=tools/apt-ensure.sh
. "$(dirname "$0")/apt-ensure.sh"

PKGS="
  meson ninja-build pkg-config gcc clang
  libsodium-dev libmnl-dev libuv1-dev libmsgpack-dev libcmocka-dev libc-ares-dev
  libclang-rt-14-dev
  wireguard-tools wireguard-go iproute2 iputils-ping util-linux libcap2-bin procps openssh-client
  iptables conntrack
  nebula
  python3 python3-cffi python3-pytest
  python3-venv python3-pip python3-setuptools python3-mypy
  python3-prometheus-client
  qemu-system-x86 busybox-static kmod cpio xz-utils
  strace
  faketime iptables
"

# shellcheck disable=SC2086
apt_ensure install-deps $PKGS

# Node.js (>= 20) runs the js-libp2p interop peers. The machines this project
# targets ship Node 20; fall back to Debian's package only if none is present.
if ! command -v node >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends nodejs npm
fi
echo "install-deps: all packages present"
