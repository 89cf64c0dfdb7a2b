#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs one host command inside Debian's kernel under qemu and returns its status.

    vmrun.py [--cache DIR] [--timeout S] [--cwd DIR] [--env NAME ...] -- CMD [ARGS...]

The guest sees the host's / read-only (virtio-9p) under a tmpfs overlay, so
host build outputs run unchanged at the same absolute paths; writes vanish at
power-off except in the per-run directory, which is shared read-write. The
guest has no NIC (-nodefaults): test traffic stays in its own namespaces.

Exit status: the command's own, 124 when the harness timeout hit (qemu is
killed by PID), 125 when the guest died without reporting, 77 (skip) when
qemu, busybox or the kernel package is unavailable.

The kernel package is fetched once with `apt-get download` into the cache
(default: $W2W_VM_CACHE, else /var/cache/w2wesher-vm when writable, else
./vm-cache); vmlinux is extracted from vmlinuz (PVH boot of the uncompressed
image saves ~1.5 s a cycle) and the busybox initramfs is built next to it.
"""
import argparse
import hashlib
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
TIMEOUT = 124
NO_STATUS = 125

# Loaded in the initramfs (in dependency order, resolved from modules.dep) to
# mount the host root over 9p and overlay a tmpfs on it.
INITRAMFS_MODULES = ["virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                     "virtio_pci", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p", "overlay"]

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod /mods/$m || echo "w2w-vm: insmod $m failed"; done
RUN=$(sed -n 's/.*w2w_run=\([^ ]*\).*/\1/p' /proc/cmdline)
KVER=$(uname -r)
mkdir -p /lower /rw /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose hostroot /lower || exec poweroff -f
mount -t tmpfs -o size=256m tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || exec poweroff -f
mkdir -p "/newroot$RUN"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "/newroot$RUN" || exec poweroff -f
MODS=$(cat "/newroot$RUN/modules.dir")
mkdir -p "/newroot/lib/modules/$KVER"
mount --bind "/newroot$MODS" "/newroot/lib/modules/$KVER"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs tmpfs /newroot/run
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
# Module autoload (RTM_NEWLINK kind wireguard) runs the usermode helper from
# this root, not the chroot: hand it to the chroot's modprobe.
printf '#!/bin/busybox sh\nexec chroot /newroot /sbin/modprobe "$@"\n' > /sbin/modprobe-chroot
chmod +x /sbin/modprobe-chroot
echo /sbin/modprobe-chroot > /proc/sys/kernel/modprobe
ip link set lo up 2>/dev/null
chroot /newroot /bin/sh "$RUN/cmd.sh" > "/newroot$RUN/output.log" 2>&1
echo $? > "/newroot$RUN/status"
echo "w2w-vm: status $(cat /newroot$RUN/status)"
sync
umount "/newroot$RUN"
poweroff -f
"""


def log(msg):
    print("vmrun: " + msg, flush=True)


def pick_cache(arg, fallback):
    if arg:
        return arg
    if os.environ.get("W2W_VM_CACHE"):
        return os.environ["W2W_VM_CACHE"]
    d = "/var/cache/w2wesher-vm"
    try:
        os.makedirs(d, exist_ok=True)
        if os.access(d, os.W_OK):
            return d
    except OSError:
        pass
    return os.path.abspath(fallback or "vm-cache")


def kernel_package():
    """The ABI package linux-image-amd64 depends on (changes with security updates)."""
    try:
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Depends:\s*(linux-image-[0-9][^\s]*-amd64)", out)
    return m.group(1) if m else None


def ensure_kernel(cache):
    """Returns (kernel version, path of vmlinux, modules dir) or None."""
    root = os.path.join(cache, "root")
    moddir = os.path.join(root, "lib", "modules")
    if not os.path.isdir(moddir) or not os.listdir(moddir):
        pkg = kernel_package()
        if not pkg:
            log("cannot resolve the kernel package (apt-cache depends linux-image-amd64)")
            return None
        debdir = os.path.join(cache, "deb")
        os.makedirs(debdir, exist_ok=True)
        debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            log("downloading " + pkg)
            r = subprocess.run(["apt-get", "download", pkg], cwd=debdir, capture_output=True, text=True)
            debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_") and f.endswith(".deb")]
            if r.returncode != 0 or not debs:
                log("apt-get download failed: " + r.stderr.strip()[-300:])
                return None
        tmp = tempfile.mkdtemp(dir=cache, prefix="root.")
        r = subprocess.run(["dpkg-deb", "-x", os.path.join(debdir, sorted(debs)[-1]), tmp])
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        if os.path.isdir(moddir) and os.listdir(moddir):
            shutil.rmtree(tmp, ignore_errors=True)  # a concurrent run got there first
        else:
            shutil.rmtree(root, ignore_errors=True)
            os.rename(tmp, root)
    vers = sorted(os.listdir(moddir))
    if not vers:
        return None
    ver = vers[-1]
    mods = os.path.join(moddir, ver)
    if not os.path.exists(os.path.join(mods, "modules.dep")):
        # The .deb ships no modules.dep.
        if subprocess.run(["depmod", "-b", root, ver]).returncode != 0:
            log("depmod failed")
            return None
    vmlinux = os.path.join(cache, "vmlinux-" + ver)
    if not os.path.exists(vmlinux):
        data = open(os.path.join(root, "boot", "vmlinuz-" + ver), "rb").read()
        off = data.find(b"\xfd7zXZ\x00")
        if off < 0:
            log("vmlinuz is not xz-compressed; cannot extract vmlinux")
            return None
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        img = dec.decompress(data[off:])
        if not img.startswith(b"\x7fELF"):
            log("extracted kernel is not an ELF image")
            return None
        with open(vmlinux + ".tmp", "wb") as f:
            f.write(img)
        os.rename(vmlinux + ".tmp", vmlinux)
    return ver, vmlinux, mods


def module_order(mods, names):
    """Module files (relative to mods) for names and their dependencies, deps first."""
    deps = {}
    byname = {}
    for line in open(os.path.join(mods, "modules.dep")):
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        base = os.path.basename(path)
        byname[re.sub(r"\.ko(\..*)?$", "", base).replace("-", "_")] = path
    out = []

    def add(path):
        if path in out:
            return
        for d in deps.get(path, []):
            add(d)
        out.append(path)
    for n in names:
        p = byname.get(n.replace("-", "_"))
        if p:  # absent: built into the kernel
            add(p)
    return out


def ensure_initramfs(cache, ver, mods):
    busybox = shutil.which("busybox")
    if not busybox:
        return None
    order = module_order(mods, INITRAMFS_MODULES)
    key = hashlib.sha256((INIT + ver + "\n".join(order)).encode()).hexdigest()[:12]
    out = os.path.join(cache, "initramfs-%s-%s.cpio" % (ver, key))
    if os.path.exists(out):
        return out
    tmp = tempfile.mkdtemp(dir=cache, prefix="initrd.")
    try:
        for d in ["bin", "sbin", "proc", "sys", "dev", "mods", "etc"]:
            os.makedirs(os.path.join(tmp, d))
        shutil.copy(busybox, os.path.join(tmp, "bin", "busybox"))
        names = []
        for p in order:
            b = os.path.basename(p)
            shutil.copy(os.path.join(mods, p), os.path.join(tmp, "mods", b))
            names.append(b)
        with open(os.path.join(tmp, "modules.list"), "w") as f:
            f.write("\n".join(names) + "\n")
        with open(os.path.join(tmp, "init"), "w") as f:
            f.write(INIT)
        os.chmod(os.path.join(tmp, "init"), 0o755)
        files = subprocess.run("find . | LC_ALL=C sort", shell=True, cwd=tmp, capture_output=True).stdout
        with open(out + ".tmp", "wb") as f:
            r = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tmp, input=files, stdout=f)
        if r.returncode != 0:
            return None
        os.rename(out + ".tmp", out)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def use_kvm():
    # A software hypervisor can provide /dev/kvm on a CPU without vmx/svm: an
    # unmodified kernel then crawls and dies. Only trust hardware flags.
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and re.search(r"\b(vmx|svm)\b", flags) is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache")
    ap.add_argument("--fallback-cache", help="cache used when /var/cache/w2wesher-vm is not writable")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--cwd", default=os.getcwd())
    ap.add_argument("--env", action="append", default=[], help="host variable to pass through")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu or not shutil.which("busybox"):
        log("qemu-system-x86_64 or busybox missing: skip")
        return SKIP
    cache = pick_cache(a.cache, a.fallback_cache)
    os.makedirs(cache, exist_ok=True)
    try:
        k = ensure_kernel(cache)
        if not k:
            log("no kernel available: skip")
            return SKIP
        ver, vmlinux, mods = k
        initrd = ensure_initramfs(cache, ver, mods)
    except OSError as e:  # dpkg-deb, depmod or cpio missing, disk full...
        log("cannot prepare the kernel or initramfs (%s): skip" % e)
        return SKIP
    if not initrd:
        log("cannot build the initramfs: skip")
        return SKIP
    run = tempfile.mkdtemp(prefix="vmrun.", dir=cache)
    if "," in run or " " in run:
        log("run directory path has a comma or space: " + run)
        return SKIP
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "WG_COLOR_MODE": "never",
           "W2W_IN_VM": "1", "HOME": "/root"}
    for n in a.env + ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH"]:
        if n in os.environ:
            env[n] = os.environ[n]
    with open(os.path.join(run, "cmd.sh"), "w") as f:
        for n, v in env.items():
            f.write("export %s=%s\n" % (n, shlex.quote(v)))
        f.write("cd %s || exit 125\n" % shlex.quote(a.cwd))
        f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
    with open(os.path.join(run, "modules.dir"), "w") as f:
        f.write(mods)
    kvm = use_kvm()
    args = [qemu, "-accel", "kvm" if kvm else "tcg,thread=multi", "-cpu", "host" if kvm else "max",
            "-smp", "1", "-m", a.mem, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", vmlinux, "-initrd", initrd,
            "-append", "console=ttyS0 quiet panic=-1 mitigations=off w2w_run=" + run,
            "-serial", "file:" + os.path.join(run, "console.raw"),
            "-fsdev", "local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-fsdev", "local,id=out,path=%s,security_model=none" % run,
            "-device", "virtio-9p-pci,fsdev=out,mount_tag=out"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        qout, _ = p.communicate(timeout=a.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        p.kill()  # our own qemu, by PID
        qout, _ = p.communicate()
        timed_out = True
    dt = time.monotonic() - t0
    try:
        sys.stdout.write(open(os.path.join(run, "output.log"), errors="replace").read())
    except OSError:
        pass
    status = None
    try:
        status = int(open(os.path.join(run, "status")).read().strip())
    except (OSError, ValueError):
        pass
    if timed_out:
        log("timeout after %.1f s" % dt)
        rc = TIMEOUT
    elif status is None:
        log("guest died without a status (%.1f s); console:" % dt)
        try:
            sys.stdout.write(open(os.path.join(run, "console.raw"), errors="replace").read()[-4000:])
        except OSError:
            pass
        if qout:
            sys.stdout.write(qout.decode(errors="replace")[-2000:])
        rc = NO_STATUS
    else:
        rc = status
    log("kernel %s, %s, %.1f s, status %d" % (ver, "kvm" if kvm else "tcg", dt, rc))
    if not a.keep:
        shutil.rmtree(run, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
