#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`meson install` into a fresh prefix, as a user outside the tree would.

Usage: test_install.py BUILDDIR SRCDIR B_SANITIZE

- the installed w2wesher and w2wesherd start with nothing in LD_LIBRARY_PATH:
  their rpath $ORIGIN/../<libdir> finds the installed library (and not the
  build tree's: ldd must name the installed copy);
- the installed tree still works after being moved elsewhere (relocatable);
- the static archive links an example program (examples/mesh_poll.c) that
  then does not need libw2wesher.so (readelf: no NEEDED entry), using only the
  installed headers and `pkg-config --static`;
- the bash completion script is installed where bash-completion looks.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = SRC = SANITIZE = None


def clean_env(**extra):
    e = {k: v for k, v in os.environ.items()
         if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "W2W_LIB") and not k.startswith("W2WESHER_")}
    e.update(extra)
    return e


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    return None


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="w2w-install-")
        cls.dest = os.path.join(cls.tmp, "dest")
        r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet",
                            "--destdir", cls.dest], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("meson install failed:\n" + r.stdout + r.stderr)
        intro = subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                               capture_output=True, text=True, check=True, timeout=60).stdout
        import json
        opts = {o["name"]: o["value"] for o in json.loads(intro)}
        cls.opts = opts
        cls.prefix = cls.dest + opts["prefix"]
        cls.libdir = os.path.join(cls.prefix, opts["libdir"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tool(self, root, name):
        sub = self.opts["sbindir"] if name == "w2wesherd" else self.opts["bindir"]
        return os.path.join(root, sub, name)

    def check_starts(self, root):
        lib = os.path.realpath(os.path.join(root, self.opts["libdir"], "libw2wesher.so.0"))
        self.assertTrue(os.path.exists(lib), lib)
        for name in ("w2wesher", "w2wesherd"):
            exe = self.tool(root, name)
            r = subprocess.run([exe, "--version"], capture_output=True, text=True, env=clean_env(), timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^%s \d+\.\d+\.\d+" % name)
            ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, env=clean_env(), timeout=30)
            line = [l for l in ldd.stdout.splitlines() if "libw2wesher.so" in l]
            self.assertEqual(len(line), 1, ldd.stdout)
            self.assertIn("=> ", line[0])
            self.assertEqual(os.path.realpath(line[0].split("=> ")[1].split(" (")[0]), lib, line[0])
        # A real command through the installed library.
        g = subprocess.run([self.tool(root, "w2wesher"), "genkey"], capture_output=True, env=clean_env(), timeout=30)
        self.assertEqual(g.returncode, 0, g.stderr)
        p = subprocess.run([self.tool(root, "w2wesher"), "pubkey"], input=g.stdout, capture_output=True,
                           env=clean_env(), timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rb"^[A-Za-z0-9+/]{43}=\n$")

    def test_tools_start_from_prefix(self):
        if self.opts["prefix"] == "/usr" and self.opts["install_rpath"] != "true":
            self.skipTest("prefix /usr: no rpath by design (the loader's default path)")
        self.check_starts(self.prefix)

    def test_relocated(self):
        if self.opts["prefix"] == "/usr" and self.opts["install_rpath"] != "true":
            self.skipTest("prefix /usr: no rpath by design")
        moved = os.path.join(self.tmp, "elsewhere", "w2w")
        shutil.copytree(self.prefix, moved, symlinks=True)
        self.check_starts(moved)

    def test_static_archive_links_example(self):
        archive = os.path.join(self.libdir, "libw2wesher.a")
        if not self.opts["static_library"]:
            self.skipTest("-Dstatic_library=false")
        if SANITIZE != "none":
            self.skipTest("sanitized archive: an embedder links the release build")
        self.assertTrue(os.path.exists(archive), archive)
        pc = os.path.join(self.libdir, "pkgconfig")
        env = clean_env(PKG_CONFIG_PATH=pc, PKG_CONFIG_SYSROOT_DIR=self.dest)
        flags = subprocess.run(["pkg-config", "--static", "--cflags", "--libs", "libw2wesher"],
                               capture_output=True, text=True, env=env, check=True, timeout=30).stdout.split()
        # -lw2wesher as the archive: -Bstatic for it alone.
        flags = [("-Wl,-Bstatic", "-lw2wesher", "-Wl,-Bdynamic") if f == "-lw2wesher" else (f,) for f in flags]
        flags = [x for t in flags for x in t]
        out = os.path.join(self.tmp, "mesh_poll_static")
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-o", out, os.path.join(SRC, "examples", "mesh_poll.c")]
                           + flags, capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        dyn = subprocess.run(["readelf", "-d", out], capture_output=True, text=True, check=True, timeout=30).stdout
        self.assertNotIn("libw2wesher", dyn)
        self.assertIn("libsodium", dyn)  # the private deps came from pkg-config --static
        # It runs: the usage error path needs no privileges.
        r = subprocess.run([out], capture_output=True, text=True, env=clean_env(), timeout=30)
        self.assertIn("usage", (r.stdout + r.stderr).lower())

    def test_completion_installed(self):
        path = os.path.join(self.prefix, self.opts["datadir"], "bash-completion", "completions", "w2wesher")
        self.assertTrue(os.path.isfile(path), path)
        r = subprocess.run(["bash", "-c", "source %s && complete -p w2wesher" % path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("w2wesher", r.stdout)


if __name__ == "__main__":
    BUILD, SRC, SANITIZE = sys.argv[1:4]
    unittest.main(argv=sys.argv[:1], verbosity=2)
