#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs the examples so they cannot silently rot.

Usage: test_examples.py p2p|mesh W2WESHER_CLI P2P_PING MESH_POLL [MESH_LIBUV]

p2p:  examples/p2p_ping dials `w2wesher p2p listen` on 127.0.0.1, without and
      with a private-network swarm key, and must get its pongs; a wrong swarm
      key must fail.
mesh: examples/mesh_poll and examples/mesh_libuv are two nodes of one mesh, each
      in its own network namespace (tests/e2e/netlab.py), configured by an INI
      file: both must see the other come up, ping each other over the WireGuard
      overlay and stop cleanly on SIGTERM. Needs root, /dev/net/tun and
      wireguard-go; exits 77 (SKIP) otherwise.
"""
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def start_listener(cli, *extra):
    p = subprocess.Popen([cli, "p2p", "listen", "--listen", "/ip4/127.0.0.1/tcp/0", *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    info = json.loads(line)
    assert info["event"] == "listening", line
    addr = [a for a in info["addrs"] if a.startswith("/ip4/127.0.0.1/")][0]
    return p, addr


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def test_p2p(cli, p2p_ping):
    with tempfile.TemporaryDirectory(prefix="w2w-ex-") as tmp:
        key = os.path.join(tmp, "swarm.key")
        other = os.path.join(tmp, "other.key")
        for path in (key, other):
            with open(path, "w") as f:
                f.write(subprocess.run([cli, "genpsk"], capture_output=True, text=True, check=True).stdout)
        cases = [((), "-", 0), (("--swarm-key", key), key, 0), (("--swarm-key", key), other, 1)]
        for listen_args, ping_key, want in cases:
            lst, addr = start_listener(cli, *listen_args)
            try:
                r = subprocess.run([p2p_ping, addr, ping_key, "3"], capture_output=True, text=True, timeout=30)
            finally:
                stop(lst)
            print(f"p2p_ping {addr} {ping_key}: exit {r.returncode}\n{r.stdout}{r.stderr}")
            assert r.returncode == want, f"expected exit {want}"
            if want == 0:
                assert r.stdout.count("pong from ") == 3, r.stdout
                assert "connected to " in r.stdout
        # Nothing listens there any more: the dial fails, quickly and cleanly.
        r = subprocess.run([p2p_ping, addr, "-", "1"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "dial failed" in r.stderr, r.stderr
    print("p2p: ok")
    return 0


class Proc:
    """An example running in a lab node; its stdout lines are collected by a thread."""

    def __init__(self, node, argv):
        self.name = node.name
        self.lines = []
        self.q = queue.Queue()
        self.p = subprocess.Popen(node.nsenter() + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
        self.q.put(None)

    def drained(self, timeout=10):
        """Waits until the reader thread has seen EOF: after the process exits
        its last lines may still be in the pipe (the test read them too early
        about one run in ten)."""
        self.q.get(timeout=timeout)

    def find(self, pattern):
        rx = re.compile(pattern)
        for line in list(self.lines):
            m = rx.search(line)
            if m:
                return m
        return None

    def dump(self):
        print(f"----- {self.name} -----")
        print("\n".join(line for line in self.lines if not line.startswith("log <7>")))


def wait(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def test_mesh(cli, mesh_poll, mesh_libuv):
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
    import netlab

    why = netlab.requirements()
    if why:
        print(f"SKIP: {why}")
        return SKIP
    if not mesh_libuv:
        print("SKIP: built without libuv")
        return SKIP
    os.environ["W2W_BUILD_DIR"] = os.path.dirname(os.path.dirname(os.path.abspath(cli)))
    procs = []
    with netlab.Lab(range_="10.77.0.0/16", announce="1s", expiry="6s") as lab:
        try:
            a = lab.add_node("poll")
            a.write_config()
            b = lab.add_node("libuv")
            b.write_config(bootstrap=[a.multiaddr()])
            pa = Proc(a, [mesh_poll, a.config, "60"])
            pb = Proc(b, [mesh_libuv, b.config, "60"])
            procs = [pa, pb]
            addr = {}
            for p, other in ((pa, "libuv"), (pb, "poll")):
                m = wait(lambda: p.find(rf"^peer-up .*name={other} address=(\S+)"), 40, f"{p.name}: peer-up {other}")
                addr[other] = m.group(1)
            print("overlay addresses:", addr)
            wait(lambda: a.ping(addr["libuv"]) and b.ping(addr["poll"]), 40, "pings over the overlay")
            for p in procs:
                p.p.send_signal(signal.SIGTERM)
            for p in procs:
                assert p.p.wait(timeout=20) == 0, f"{p.name} exit {p.p.returncode}"
                p.drained()
                assert p.find(r"^stopped "), f"{p.name}: no STOPPED"
            assert pa.find(r"^snapshot peer name=libuv address=" + re.escape(addr["libuv"]))
            assert pb.find(r"^snapshot peer name=poll address=" + re.escape(addr["poll"]))
        except BaseException:
            for p in procs:
                p.dump()
            raise
        finally:
            for p in procs:
                if p.p.poll() is None:
                    p.p.kill()
                    p.p.wait(timeout=5)
    print("mesh: ok")
    return 0


def main():
    group, cli, p2p_ping, mesh_poll = sys.argv[1:5]
    mesh_libuv = sys.argv[5] if len(sys.argv) > 5 else None
    if group == "p2p":
        return test_p2p(cli, p2p_ping)
    if group == "mesh":
        return test_mesh(cli, mesh_poll, mesh_libuv)
    print(f"unknown group {group}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
