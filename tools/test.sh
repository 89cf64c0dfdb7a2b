#!/bin/bash
# Installs what is needed, builds, and runs the whole test suite twice: once in
# a normal -Werror build and once under ASan+UBSan. Ends with one summary line
# "N passed, N failed, N skipped".
#
#   tools/test.sh            everything
#   W2W_TEST_SUITES="unit fuzz" tools/test.sh   only those meson suites
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

tools/install-deps.sh
if [ -f tests/interop/package-lock.json ]; then
    tools/interop-deps.sh
fi

setup() { # dir, args...
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

setup build-test --werror -Dbuildtype=debugoptimized
# -Db_lundef=false: sanitizer runtimes leave symbols undefined in shared objects.
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

ninja -C build-test
ninja -C build-asan
# The tree must also build warning-free with clang (compile check; the tests
# run on the gcc builds above).
if command -v clang >/dev/null 2>&1; then
    export CC=clang
    setup build-clang --werror -Dbuildtype=debugoptimized
    # clang's UBSan checks what gcc's does not (e.g. -fsanitize=pointer-overflow:
    # "applying zero offset to null pointer", issue #15). Unoptimised, so the
    # checks are not folded away; only the fuzz replayers are built and run.
    setup build-clang-ubsan -Dbuildtype=debug -Db_sanitize=undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all
    unset CC
    ninja -C build-clang
    mapfile -t fuzz_bins < <(meson introspect build-clang-ubsan --tests |
        /usr/bin/python3 -c 'import json, os, sys
for t in json.load(sys.stdin):
    if "w2wesher:fuzz" in t["suite"]:
        print(os.path.relpath(t["cmd"][0], os.path.abspath("build-clang-ubsan")))')
    ninja -C build-clang-ubsan "${fuzz_bins[@]}"
fi

suite_args=()
for s in ${W2W_TEST_SUITES:-}; do suite_args+=(--suite "$s"); done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export W2W_SRCDIR=$root

rc=0
meson test -C build-test --print-errorlogs --num-processes 2 "${suite_args[@]}" || rc=1
# The sanitizer run leaves out the slow vm tier (the VM runs the same C code).
meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite vm --no-suite bench "${suite_args[@]}" || rc=1
if [ -d build-clang-ubsan ] && { [ -z "${W2W_TEST_SUITES:-}" ] || [[ " $W2W_TEST_SUITES " == *" fuzz "* ]]; }; then
    meson test -C build-clang-ubsan --no-rebuild --print-errorlogs --num-processes 2 --suite fuzz || rc=1
fi

/usr/bin/python3 - build-test build-asan build-clang-ubsan <<'PY'
import json, sys
p = f = s = 0
for d in sys.argv[1:]:
    try:
        lines = open(d + "/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r == "SKIP": s += 1
        else: f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
