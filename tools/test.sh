#!/bin/bash
# Installs what is needed, builds, and runs the whole test suite: every suite
# under ASan+UBSan (but vm), every suite but the root tiers in a normal -Werror
# build plus the root tests with plain-build-only checks, the Debian package
# test, and the fuzz replayers under clang's UBSan. Ends with one summary line
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
rm -f build-*/meson-logs/testlog*.json
if [ -z "${W2W_TEST_SUITES:-}" ]; then
    # The root tiers (e2e, interop) run in full under ASan+UBSan below, which
    # checks more than this build; here only the tests with checks that hold in
    # a plain build alone (RSS bounds: e2e-harden, interop_badinput,
    # interop_mdns_mesh) plus a smoke of the optimised daemon and of js interop.
    # That keeps the whole run within the 15-minute budget on 2 cores.
    meson test -C build-test --print-errorlogs --num-processes 2 --no-suite e2e --no-suite interop || rc=1
    meson test -C build-test --logbase testlog-root --print-errorlogs --num-processes 2 \
        e2e-mesh e2e-harden e2e-ops interop_c_js interop_badinput interop_mdns_mesh || rc=1
    # The Debian packages: dpkg-buildpackage, lintian, dpkg -i into a fresh
    # root, the demo from the installed files (tests/pkg/test_deb.py; issue 14).
    meson test -C build-test --logbase testlog-pkg --setup pkg --suite pkg --print-errorlogs || rc=1
else
    meson test -C build-test --print-errorlogs --num-processes 2 "${suite_args[@]}" || rc=1
fi
# The sanitizer run leaves out the slow vm tier (the VM runs the same C code).
meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite vm --no-suite bench "${suite_args[@]}" || rc=1
if [ -d build-clang-ubsan ] && { [ -z "${W2W_TEST_SUITES:-}" ] || [[ " $W2W_TEST_SUITES " == *" fuzz "* ]]; }; then
    meson test -C build-clang-ubsan --no-rebuild --print-errorlogs --num-processes 2 --suite fuzz || rc=1
fi

/usr/bin/python3 - build-test build-asan build-clang-ubsan <<'PY'
import glob, json, sys
p = f = s = 0
for d in sys.argv[1:]:
    lines = []
    for log in glob.glob(d + "/meson-logs/testlog*.json"):
        lines += open(log).read().splitlines()
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r == "SKIP": s += 1
        else: f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
