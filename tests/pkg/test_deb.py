#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Debian packages, built and installed as a user would (issue 14).

Usage: test_deb.py SRCDIR     (root; `meson test -C build --setup pkg --suite pkg`)

1. Copies the tree (the files git knows, committed or not) to a scratch
   directory and runs `dpkg-buildpackage -us -uc -b` there.
2. Runs lintian on the result: no error and no warning may remain (the
   remaining info tags are justified in docs/operations.md "Debian package").
3. Installs the .debs with `dpkg -i` into a fresh root: an overlay of this
   machine's / (its Debian 12 with the runtime dependencies) in a private mount
   namespace (pivot_root into it), where w2wesher is not installed before and
   every change is thrown away after. Checks the files are where Debian wants them and that
   the installed tools load the installed library.
4. Runs the README's 3-node demo (tools/demo.py) there against the installed
   /usr/sbin/w2wesherd and /usr/bin/w2wesher (nothing from a build tree: no
   LD_LIBRARY_PATH), and the installed Python module imports the installed
   library.

Needs root, unshare/chroot, overlayfs, TUN and the packaging tools
(tools/pkg-deps.sh, run here when they are missing); exits 77 (SKIP) otherwise.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


def sh(*args, **kw):
    kw.setdefault("check", True)
    kw.setdefault("timeout", 900)
    print("+", " ".join(args), flush=True)
    return subprocess.run(list(args), **kw)


def main(src):
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return SKIP
    for tool in ("unshare", "chroot", "pivot_root", "git"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} missing")
            return SKIP
    if not os.path.exists("/dev/net/tun"):
        print("SKIP: no /dev/net/tun")
        return SKIP
    if not (shutil.which("dpkg-buildpackage") and shutil.which("dh") and shutil.which("lintian")):
        if sh(os.path.join(src, "tools", "pkg-deps.sh"), check=False).returncode != 0:
            print("SKIP: cannot install the packaging tools (tools/pkg-deps.sh)")
            return SKIP
    if subprocess.run(["dpkg-query", "-W", "-f=${Status}", "w2wesher"], capture_output=True,
                      text=True).stdout.startswith("install ok"):
        print("SKIP: w2wesher is installed on this machine: the install would not be fresh")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="w2w-pkg-")
    try:
        return run(src, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(src, tmp):
    tree = os.path.join(tmp, "w2wesher")
    os.makedirs(tree)
    files = subprocess.run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True,
                           check=True).stdout
    subprocess.run(["tar", "--null", "-T", "-", "-cf", os.path.join(tmp, "src.tar")], cwd=src, input=files,
                   check=True)
    sh("tar", "-xf", os.path.join(tmp, "src.tar"), "-C", tree)

    t0 = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "ASAN", "UBSAN", "MALLOC_", "MESON"))}
    env["DEB_BUILD_OPTIONS"] = "parallel=2"
    sh("dpkg-buildpackage", "-us", "-uc", "-b", cwd=tree, env=env)
    print(f"dpkg-buildpackage: {time.monotonic() - t0:.0f}s", flush=True)
    debs = sorted(p for p in glob.glob(os.path.join(tmp, "*.deb")) if "-dbgsym_" not in p)
    names = sorted(os.path.basename(p).split("_")[0] for p in debs)
    assert names == ["libnss-w2wesher", "libw2wesher-dev", "libw2wesher0", "python3-w2wesher", "w2wesher"], names

    changes = glob.glob(os.path.join(tmp, "*.changes"))[0]
    r = sh("lintian", "--fail-on", "error,warning", "--allow-root", "-I", changes, check=False,
           capture_output=True, text=True)
    print(r.stdout + r.stderr)
    assert r.returncode == 0, "lintian reported errors or warnings"

    # The fresh root: overlay of / in a private mount namespace, then chroot.
    root, upper, work = (os.path.join(tmp, d) for d in ("root", "upper", "work"))
    for d in (root, upper, work):
        os.makedirs(d)
    pkgdir = os.path.join(tmp, "debs")
    os.makedirs(pkgdir)
    for p in debs:
        shutil.copy(p, pkgdir)
    script = f"""set -eu
mount -t overlay overlay -o lowerdir=/,upperdir={upper},workdir={work} {root}
mount -t proc proc {root}/proc
mount --rbind /sys {root}/sys
mount --rbind /dev {root}/dev
mount -t tmpfs tmpfs {root}/run
mount -t tmpfs tmpfs {root}/tmp
mkdir -p {root}/debs {root}/src
mount --bind {pkgdir} {root}/debs
mount --bind {src} {root}/src
# pivot_root, not a bare chroot: netlab enters its nodes' mount namespaces
# (nsenter), and setns(2) resets the root to the namespace's root mount.
mkdir -p {root}/.oldroot
cd {root}
pivot_root . .oldroot
exec chroot . /bin/sh -c 'umount -l /.oldroot && rmdir /.oldroot && exec /bin/sh /debs/inside.sh'
"""
    inside = r"""set -eux
unset LD_LIBRARY_PATH LD_PRELOAD
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
! dpkg-query -W -f='${Status}' w2wesher 2>/dev/null | grep -q 'install ok'
test ! -e /usr/sbin/w2wesherd
dpkg -i /debs/*.deb
dpkg-query -W -f='${Package} ${Version} ${Status}\n' libw2wesher0 libw2wesher-dev w2wesher libnss-w2wesher python3-w2wesher
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for f in /usr/bin/w2wesher /usr/sbin/w2wesherd /lib/systemd/system/w2wesherd@.service \
         /usr/share/bash-completion/completions/w2wesher /usr/share/man/man8/w2wesherd.8.gz \
         /usr/include/w2wesher/w2wesher.h /usr/lib/$multiarch/pkgconfig/libw2wesher.pc \
         /usr/lib/$multiarch/libw2wesher.a /usr/lib/$multiarch/libnss_w2wesher.so.2 \
         /usr/lib/python3/dist-packages/w2wesher/__init__.py /usr/share/doc/w2wesher/operations.md.gz; do
    test -e "$f" || { echo "missing: $f"; exit 1; }
done
grep -q '^ExecStart=/usr/sbin/w2wesherd ' /lib/systemd/system/w2wesherd@.service
# (/lib is /usr/lib on merged-/usr Debian 12; ldconfig may name either.)
ldd /usr/sbin/w2wesherd | grep -qE "libw2wesher.so.0 => (/usr)?/lib/$multiarch/libw2wesher.so.0"
! readelf -d /usr/bin/w2wesher | grep -qE 'RPATH|RUNPATH'
w2wesher --version
w2wesherd --version
pkg-config --modversion libw2wesher
/usr/bin/python3 -c 'import w2wesher._native as n; v = n.ffi.string(n.lib.w2w_version()).decode(); print("python:", n.LIB_PATH, v); assert "build" not in n.LIB_PATH and v'
# The demo, driven by the source tree's harness, running the installed programs.
mkdir -p /tmp/installed/tools
ln -s /usr/sbin/w2wesherd /tmp/installed/tools/w2wesherd
ln -s /usr/bin/w2wesher /tmp/installed/tools/w2wesher
W2W_BUILD_DIR=/tmp/installed /usr/bin/python3 /src/tools/demo.py --nodes 3 | tee /tmp/demo.out
grep -q 'full mesh after' /tmp/demo.out
test "$(grep -c ' ok ' /tmp/demo.out)" -eq 6
! grep -q FAILED /tmp/demo.out
echo "installed-demo: ok"
"""
    with open(os.path.join(pkgdir, "inside.sh"), "w") as f:
        f.write(inside)
    r = sh("unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c", script, check=False,
           capture_output=True, text=True, env=env)
    print(r.stdout + r.stderr)
    assert r.returncode == 0 and "installed-demo: ok" in r.stdout, f"install + demo failed ({r.returncode})"
    print(f"total: {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
