#!/bin/bash
# The README's main command: installs, builds and runs the demo.
# Until the mesh daemon lands (issue 6) it builds everything and exercises the
# pieces that exist; see README "Status".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build
echo
echo "== w2wesher $(build/tools/w2wesher --version)"
