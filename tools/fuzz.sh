#!/bin/bash
# Fuzzing campaign (separate from the test suite, which only replays corpora):
# builds every target as a libFuzzer binary with ASan+UBSan (clang) and runs
# each for SECONDS (default 60), growing its corpus in a scratch copy.
# New crash inputs land in build-fuzz/crashes/<target>/ — add the ones worth
# keeping to tests/fuzz/corpus/<target>/ so every test run replays them.
# W2W_FUZZ_MERGE=1 also adds the minimised grown corpus (-merge=1) to
# tests/fuzz/corpus/<target>/. Prints execs/s and the final coverage (cov:).
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
        -artifact_prefix="build-fuzz/crashes/$t/" "$work" 2>&1 |
        grep -E "stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|DONE|ERROR|SUMMARY" || true
    if [ "${W2W_FUZZ_MERGE:-0}" = 1 ]; then
        # Minimised corpus (libFuzzer -merge=1: the smallest inputs keeping all
        # coverage) back into the repository's seed corpus.
        min=build-fuzz/min/$t
        rm -rf "$min" && mkdir -p "$min"
        build-fuzz/tests/fuzz/fuzz_"$t" -merge=1 "$min" tests/fuzz/corpus/"$t" "$work" >/dev/null 2>&1
        # libFuzzer names inputs by the SHA-1 of their content: skip what the seeds hold already.
        have=$(sha1sum tests/fuzz/corpus/"$t"/* | cut -d' ' -f1)
        added=0
        for f in "$min"/*; do
            if ! grep -qx "$(basename "$f")" <<<"$have"; then cp -n "$f" tests/fuzz/corpus/"$t"/; added=$((added + 1)); fi
        done
        echo "   merged: $(ls "$min" | wc -l) inputs keep the coverage; $added added to tests/fuzz/corpus/$t"
    fi
done
