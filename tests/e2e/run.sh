#!/bin/bash
# Runs an e2e pytest module (default test_mesh.py); exit 77 (meson SKIP) when nothing could run here.
set -u
cd "$1"
out=$(mktemp)
/usr/bin/python3 -m pytest -v -rs ${2:+-s} "${2:-test_mesh.py}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && grep -qE '^=+ [0-9]+ skipped' "$out"; then rc=77; fi
if [ "$rc" -eq 5 ]; then rc=77; fi
rm -f "$out"
exit "$rc"
