#!/bin/bash
# The README's main command: installs what is needed, builds, and brings up a
# demo mesh of 3 w2wesher nodes in network namespaces on this machine (each
# daemon unprivileged with CAP_NET_ADMIN; kernel WireGuard when present, else
# wireguard-go), prints every node's status and pings every overlay address
# from every node, then cleans up.   Usage: tools/demo.sh [--nodes N]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh >/dev/null
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
echo "built $(build/tools/w2wesher --version)"
W2W_BUILD_DIR=$(pwd)/build exec /usr/bin/python3 tools/demo.py "$@"
