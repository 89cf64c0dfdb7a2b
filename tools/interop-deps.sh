#!/bin/sh
# Installs the pinned js-libp2p packages of the interop tier into
# tests/interop/node_modules with `npm ci` (exactly package-lock.json).
# Idempotent: does nothing when node_modules already matches the lock file.
# Without node/npm, or when npm ci fails (no registry), it says so and exits 0:
# the interop tests then SKIP.
set -eu
cd "$(dirname "$0")/../tests/interop"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "interop-deps: node/npm not found; interop tests will be skipped" >&2
    exit 0
fi
stamp=node_modules/.w2w-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/libp2p ]; then
    echo "interop-deps: node_modules up to date"
    exit 0
fi
if ! npm ci --no-audit --no-fund --loglevel=error; then
    # No registry (offline machine): leave no half-installed tree behind, so
    # the interop tests report SKIP (77) instead of failing on a broken install.
    rm -rf node_modules
    echo "interop-deps: npm ci failed; interop tests will be skipped" >&2
    exit 0
fi
echo "$want" > "$stamp"
echo "interop-deps: installed $(ls node_modules | wc -l) packages"
