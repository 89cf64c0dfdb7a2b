# SPDX-License-Identifier: MIT
"""The package as a user gets it (issue 14): `pip install` of bindings/python
into a fresh venv, offline (Debian's setuptools, --no-build-isolation), used
from outside the tree: a 3-host asyncio gossip program without privileges,
and a 3-node mesh in network namespaces (root, wireguard-go; else skipped);
how the library is found (installed soname first, the build tree only when
W2W_LIB/W2W_BUILD_DIR asks); the version is meson's; `mypy --strict` on the
package and on a program using it (skipped without Debian's python3-mypy)."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

import w2wesher

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.normpath(os.path.join(HERE, ".."))
ROOT = os.path.normpath(os.path.join(PKG, "..", ".."))
LIB = os.environ.get("W2W_LIB", "")

pytestmark = pytest.mark.skipif(not LIB, reason="W2W_LIB (the built library) not set (run by meson)")


def have_mypy():
    return subprocess.run(["/usr/bin/python3", "-m", "mypy", "--version"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def venv():
    """A venv with the package pip-installed from a copy of bindings/python
    (a build writes egg-info next to the sources: keep the tree clean).
    World-readable: the mesh test runs its nodes as nobody."""
    d = tempfile.mkdtemp(prefix="w2w-pyvenv-")
    os.chmod(d, 0o755)
    try:
        src = os.path.join(d, "src")
        shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build"))
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", os.path.join(d, "venv")],
                       check=True, timeout=120)
        py = os.path.join(d, "venv", "bin", "python")
        r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
                            "--disable-pip-version-check", src], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        yield d, py
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_py(py, code, cwd, env=None, check=True):
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "W2W_LIB", "W2W_BUILD_DIR",
                                                             "LD_LIBRARY_PATH")}
    base["PYTHONDONTWRITEBYTECODE"] = "1"
    r = subprocess.run([py, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd, timeout=120,
                       env=dict(base, **(env or {})))
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_version_is_meson():
    want = os.environ.get("W2W_VERSION")
    if not want:
        pytest.skip("W2W_VERSION not set (run by meson)")
    assert w2wesher.__version__ == want, "bindings/python/w2wesher/_version.py differs from meson.build"
    assert w2wesher.version() == want


def test_meson_install_version_file():
    """What `meson install` installs as w2wesher/_version.py: meson's version
    and the absolute library directory of the install."""
    want = os.environ.get("W2W_VERSION")
    gen = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(LIB))), "bindings", "_version.py")
    if not want or not os.path.exists(gen):
        pytest.skip("no meson build with the python option (W2W_VERSION, bindings/_version.py)")
    ns = {}
    with open(gen) as f:
        exec(f.read(), ns)
    assert ns["__version__"] == want
    assert os.path.isabs(ns["LIBDIR"]) and not ns["LIBDIR"].startswith("@")


def test_installed_import_from_outside(venv):
    d, py = venv
    r = run_py(py, """
        import os, w2wesher, w2wesher.wg, w2wesher.ipam
        print(w2wesher.__file__); print(w2wesher.__version__); print(w2wesher.LIB_PATH)
        print(os.path.exists(os.path.join(os.path.dirname(w2wesher.__file__), "py.typed")))
        """, cwd=d, env={"W2W_LIB": LIB})
    path, version, lib, typed = r.stdout.split()
    assert path.startswith(os.path.join(d, "venv")), path  # the installed copy, not the tree's
    assert version == w2wesher.__version__ and lib == LIB and typed == "True"


def test_build_tree_only_when_asked(venv, tmp_path):
    """From the checkout, without W2W_LIB/W2W_BUILD_DIR, the package never
    picks the build tree; the installed library is found by its soname."""
    d, py = venv
    code = "import w2wesher; print(w2wesher.LIB_PATH)"
    # is one installed here (same environment as the runs below)?
    installed = run_py("/usr/bin/python3", "import ctypes.util; print(ctypes.util.find_library('w2wesher') or '')",
                       cwd=str(tmp_path)).stdout.strip()
    # the tree's package, from the checkout root (where build*/ lives)
    env = {"PYTHONPATH": PKG}
    r = run_py("/usr/bin/python3", code, cwd=ROOT, env=env, check=False)
    if installed:
        assert r.returncode == 0 and ROOT not in r.stdout, r.stdout + r.stderr
    else:
        assert r.returncode != 0 and "cannot load libw2wesher" in r.stderr, r.stdout + r.stderr
    # asked for: W2W_BUILD_DIR (a build directory), W2W_LIB (a path)
    build = os.path.dirname(os.path.dirname(os.path.dirname(LIB)))
    r = run_py("/usr/bin/python3", code, cwd=ROOT, env=dict(env, W2W_BUILD_DIR=build))
    assert r.stdout.strip() == os.path.join(build, "lib", "core", "libw2wesher.so")
    # the soname, through the loader's path (what an installed library is)
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(LIB, libdir / "libw2wesher.so.0")
    r = run_py(py, """
        import w2wesher
        print(w2wesher.LIB_PATH)
        print(any("%s" in l for l in open("/proc/self/maps")))
        """ % libdir, cwd=d, env={"LD_LIBRARY_PATH": str(libdir)})
    name, mapped = r.stdout.split()
    assert mapped == "True" and (name == "libw2wesher.so.0" or name.endswith("/libw2wesher.so.0")), r.stdout
    # meson install writes LIBDIR into _version.py: the library next to the package wins
    pkg = tmp_path / "pkg"
    shutil.copytree(os.path.join(PKG, "w2wesher"), pkg / "w2wesher")
    other = tmp_path / "lib2"
    other.mkdir()
    shutil.copy(LIB, other / "libw2wesher.so.0")
    (pkg / "w2wesher" / "_version.py").write_text(f'__version__ = "0"\nLIBDIR = "{other}"\n')
    r = run_py("/usr/bin/python3", code, cwd=str(tmp_path), env={"PYTHONPATH": str(pkg)})
    assert r.stdout.strip() == str(other / "libw2wesher.so.0")


GOSSIP = """
import asyncio, logging, os, sys
import w2wesher
from w2wesher import Host, PskError

async def main():
    psk = os.urandom(32)
    got = []
    async with Host(swarm_key=psk) as a, Host(swarm_key=psk) as b, Host(swarm_key=psk) as c:
        for h in (a, b, c):
            h.listen("/ip4/127.0.0.1/tcp/0")
            h.subscribe("news")
        c.add_callback(lambda ev: ev.type == "message" and got.append((ev.sender, ev.data)))
        await b.connect(a.listen_addrs[0])      # a line: a - b - c
        await c.connect(b.listen_addrs[0])
        await a.wait_subscribed("news", b.peer_id)
        await b.wait_subscribed("news", c.peer_id)
        await asyncio.sleep(1.5)                # a heartbeat: meshes formed
        a.publish("news", b"hello")
        await c.wait_for(lambda ev: ev.type == "message", 10)
        assert got == [(a.peer_id, b"hello")], got
        async with Host(swarm_key=os.urandom(32)) as x:
            try:
                await x.connect(a.listen_addrs[0])
            except PskError as e:
                print("psk", e.code)
    print("ok", w2wesher.__file__)

asyncio.run(main())
"""


def test_three_hosts_from_venv(venv):
    d, py = venv
    script = os.path.join(d, "gossip.py")
    with open(script, "w") as f:
        f.write(GOSSIP)
    r = subprocess.run([py, script], capture_output=True, text=True, cwd=d, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"psk {w2wesher.lib.W2W_EPSK}" in r.stdout and "ok " + os.path.join(d, "venv") in r.stdout, r.stdout


sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import netlab  # noqa: E402


@pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))
def test_three_node_mesh_from_venv(venv):
    """Three mesh nodes, each the asyncio program node_main.py (copied out of
    the tree) on the venv's python and the installed package, in the lab's
    namespaces as an unprivileged user: peer-up everywhere, pings over the
    overlay, a leave seen by the others."""
    from test_node import PyNode
    d, py = venv
    script = os.path.join(d, "node_main.py")
    shutil.copy(os.path.join(HERE, "node_main.py"), script)
    os.chmod(script, 0o755)
    cli = os.environ.get("W2W_CLI")
    assert cli, "W2W_CLI (tools/w2wesher) is needed to write the lab's configs"
    os.environ["W2W_BUILD_DIR"] = os.path.dirname(os.path.dirname(cli))
    env = dict(os.environ, W2W_PY_INSTALLED="1")
    env.pop("PYTHONPATH", None)
    env.pop("W2W_BUILD_DIR", None)
    nodes = []
    with netlab.Lab(range_="10.81.0.0/16", announce="1s", expiry="6s") as lab:
        try:
            labn = [lab.add_node(f"pv{i}") for i in range(3)]
            labn[0].write_config()
            for n in labn[1:]:
                n.write_config(bootstrap=[labn[0].multiaddr()])
            for n in labn:
                nodes.append(PyNode(n, python=py, script=script, env=env))
            for p in nodes:
                p.wait(lambda ev: ev["event"] == "started", 15, "start")
            ips = {}
            for p in nodes:
                for q in nodes:
                    if q is p:
                        continue
                    up = p.wait(lambda ev, q=q: ev["event"] == "peer-up" and ev["name"] == q.node.name, 40,
                                f"peer-up {q.node.name}")
                    ips[q.node.name] = up["address"]
            lab.wait(lambda: labn[0].ping(ips["pv1"]) and labn[1].ping(ips["pv2"]) and labn[2].ping(ips["pv0"]),
                     40, step=0.5, what="pings over the overlay")
            nodes[2].send("leave")
            for p in nodes[:2]:
                p.wait(lambda ev: ev["event"] == "peer-down" and ev["name"] == "pv2", 20, "peer-down pv2")
            for p in nodes[:2]:
                p.send("stop")
            for p in nodes:
                p.wait(lambda ev: ev["event"] == "stopped", 20, "stopped")
                assert p.p.wait(timeout=10) == 0, p.p.stderr.read()
        finally:
            for p in nodes:
                p.kill()


USER_PROGRAM = """
import asyncio
from typing import List
from w2wesher import Config, Host, Node, P2PEvent, ipam, wg

async def main() -> List[str]:
    async with Host() as h:
        h.listen("/ip4/127.0.0.1/tcp/0")
        ev: P2PEvent = await h.wait_for(lambda e: e.type == "listening", 5)
        addrs: List[str] = h.listen_addrs
    first: str = ipam.candidate("10.42.0.0/16", "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", 0)
    return addrs + [first, ev.type]

print(asyncio.run(main()))
"""


@pytest.mark.skipif(not have_mypy(), reason="Debian's python3-mypy not installed")
@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="the type check does not depend on the build: run once, in the plain build")
def test_mypy_strict(venv):
    """mypy --strict on the package, and on a program that uses the installed
    package (py.typed makes its annotations count)."""
    r = subprocess.run(["/usr/bin/python3", "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null",
                        "--config-file", os.path.join(PKG, "pyproject.toml"), os.path.join(PKG, "w2wesher")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    d, py = venv
    prog = os.path.join(d, "user_program.py")
    with open(prog, "w") as f:
        f.write(USER_PROGRAM)
    # the venv's site-packages through --python-executable: the installed, typed package
    r = subprocess.run(["/usr/bin/python3", "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null",
                        "--python-executable", py, "--config-file", os.path.join(PKG, "pyproject.toml"), prog],
                       capture_output=True, text=True, timeout=600, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
