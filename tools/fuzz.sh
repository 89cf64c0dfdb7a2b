#!/bin/bash
# Fuzzing campaign (separate from the test suite, which only replays corpora):
# builds every target as a libFuzzer binary with ASan+UBSan (clang) and runs
# each for SECONDS (default 60), growing its corpus in a scratch copy.
# New crash inputs land in build-fuzz/crashes/<target>/ — add the ones worth
# keeping to tests/fuzz/corpus/<target>/ so every test run replays them.
#   tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do t=${f#tests/fuzz/fuzz_}; targets+=("${t%.c}"); done
fi
for t in "${targets[@]}"; do
    work=build-fuzz/corpus/$t
    mkdir -p "$work" "build-fuzz/crashes/$t"
    cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    echo "== $t (${secs}s)"
    build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="build-fuzz/crashes/$t/" "$work" 2>&1 | grep -E "stat::(number_of_executed_units|new_units_added)|ERROR|SUMMARY" || true
done
