# SPDX-License-Identifier: MIT
"""Node: life cycle without privileges in-process, and a real two-node mesh
round trip in network namespaces (root, /dev/net/tun, wireguard-go: else
skipped) with each node a Python process (tests/node_main.py) on asyncio."""
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

import w2wesher
from w2wesher import Config, Error, Loop, Node

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import netlab  # noqa: E402


def full_config(tmp_path):
    cfg = Config()
    cfg.node_name = "py"
    cfg.network_range = "10.78.0.0/24"
    cfg.state_dir = str(tmp_path / "state")
    cfg.generate_secrets()
    cfg.check()
    return cfg


def test_node_needs_secrets():
    async def main():
        loop = Loop()
        with pytest.raises(Error) as e:
            Node(loop, Config())
        assert e.value.code == w2wesher.lib.W2W_ESTATE
        loop.close()
    asyncio.run(main())


def test_node_lifecycle_without_start(tmp_path):
    async def main():
        loop = Loop()
        cfg = full_config(tmp_path)
        events = []
        node = Node(loop, cfg, events.append)
        peer_id = cfg.peer_id
        cfg.close()  # copied by the node
        snap = node.snapshot()
        assert snap.self.peer_id == peer_id and snap.self.name == "py"
        assert snap.peers == [] and snap.join_addrs == []
        assert snap.self.wg_public_key and not snap.self.connected
        with pytest.raises(Error) as e:
            node.join("/ip4/192.0.2.1/tcp/1")  # a bootstrap address must name its peer
        assert e.value.code == w2wesher.lib.W2W_EPARSE
        node.stop()  # never started: STOPPED from the loop, not from inside stop()
        assert not node.stopped
        ev = await node.wait_stopped(timeout=5)
        assert ev.type == "stopped" and ev.peer_id == peer_id and node.stopped
        await asyncio.sleep(0)
        assert [e.type for e in events] == ["stopped"]  # log lines are not events
        with pytest.raises(Error) as e:
            node.leave()
        assert e.value.code == w2wesher.lib.W2W_ESTATE
        loop.close()  # closes the node too
        with pytest.raises(Error):
            node.snapshot()
    asyncio.run(main())


class PyNode:
    """tests/node_main.py in a lab node's namespaces (as root)."""

    def __init__(self, node, python="/usr/bin/python3", script=os.path.join(HERE, "node_main.py"), env=None):
        self.node = node
        self.events = []
        self.q = queue.Queue()
        env = dict(env or os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.p = subprocess.Popen(node.nsenter() + [python, script, node.config],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "garbage", "line": line}
            self.events.append(ev)
            self.q.put(ev)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        for ev in list(self.events):
            if pred(ev):
                return ev
        while time.monotonic() < end:
            try:
                ev = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if pred(ev):
                return ev
        raise TimeoutError(f"{self.node.name}: no {what} in {timeout}s: {self.events[-10:]}")

    def stop_cleanly(self):
        """"stop": the node says "stopped" and its process exits 0."""
        self.send("stop")
        self.wait(lambda ev: ev["event"] == "stopped", 20, "stopped")
        assert self.p.wait(timeout=10) == 0, self.p.stderr.read()

    def snapshot(self):
        snaps = lambda: [ev for ev in self.events if ev["event"] == "snapshot"]  # noqa: E731
        n = len(snaps())
        self.send("snapshot")
        end = time.monotonic() + 10
        while len(snaps()) <= n:
            if time.monotonic() > end:
                raise TimeoutError(f"{self.node.name}: no snapshot")
            time.sleep(0.05)
        return snaps()[n]

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)


@pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))
def test_mesh_round_trip():
    cli = os.environ.get("W2W_CLI")
    assert cli, "W2W_CLI (tools/w2wesher) is needed to write the lab's configs"
    os.environ["W2W_BUILD_DIR"] = os.path.dirname(os.path.dirname(cli))
    nodes = []
    # a /16: in a /24 two first candidates collide 1 time in 254 and the rule moves a node mid-test
    with netlab.Lab(range_="10.79.0.0/16", announce="1s", expiry="6s") as lab:
        try:
            a, b = lab.add_node("pya"), lab.add_node("pyb")
            a.write_config()
            b.write_config(bootstrap=[a.multiaddr()])
            pa = PyNode(a)
            nodes.append(pa)
            pa.wait(lambda ev: ev["event"] == "started", 10, "start")
            pb = PyNode(b)
            nodes.append(pb)
            up_b = pa.wait(lambda ev: ev["event"] == "peer-up" and ev["name"] == "pyb", 40, "peer-up pyb")
            up_a = pb.wait(lambda ev: ev["event"] == "peer-up" and ev["name"] == "pya", 40, "peer-up pya")
            assert up_b["peer_id"] == b.identity() and up_a["peer_id"] == a.identity()
            pa.wait(lambda ev: ev["event"] == "wireguard-applied" and "1 added" in ev["message"], 20, "wg applied")
            ip_a, ip_b = up_a["address"], up_b["address"]
            lab.wait(lambda: a.ping(ip_b) and b.ping(ip_a), 40, step=0.5, what="pings over the overlay")
            # WireGuard statistics in snapshots are refreshed every few seconds.
            end, snap = time.monotonic() + 20, None
            while time.monotonic() < end:
                snap = pa.snapshot()
                if snap["peers"] and snap["peers"][0]["last_handshake"] > 0:
                    break
                time.sleep(0.5)
            me, peers = snap["self"], snap["peers"]
            assert me["name"] == "pya" and me["address"] == ip_a
            assert [p["name"] for p in peers] == ["pyb"]
            assert peers[0]["address"] == ip_b and peers[0]["connected"]
            assert peers[0]["endpoint"].startswith(b.ip + ":")
            assert any(j.startswith(f"/ip4/{a.ip}/tcp/10042/p2p/") for j in snap["join_addrs"])
            assert peers[0]["last_handshake"] > 0 and peers[0]["rx_bytes"] > 0
            # rotate_wg_key(): the "key-rotated" event carries the new key, b moves to it
            old_key = me["wg_public_key"]
            pa.send("rotate")
            ev = pa.wait(lambda ev: ev["event"] in ("key-rotated", "command-error"), 20, "key-rotated")
            assert ev["event"] == "key-rotated", ev
            assert ev["message"] and ev["message"] != old_key
            assert pa.snapshot()["self"]["wg_public_key"] == ev["message"]
            lab.wait(lambda: [p["wg_public_key"] for p in pb.snapshot()["peers"]] == [ev["message"]], 20,
                     step=0.5, what="b lists a's new key")
            lab.wait(lambda: a.ping(ip_b) and b.ping(ip_a), 20, step=0.5, what="pings after the rotation")
            # b leaves: a sees it go; b stops, removing its interface.
            pb.send("leave")
            pa.wait(lambda ev: ev["event"] == "peer-down" and ev["name"] == "pyb", 20, "peer-down pyb")
            pb.wait(lambda ev: ev["event"] == "stopped", 20, "stopped")
            assert pb.p.wait(timeout=10) == 0, pb.p.stderr.read()
            assert "wesh0" not in b.netns_exec("ip", "-o", "link").stdout
            pa.stop_cleanly()
        finally:
            for n in nodes:
                n.kill()
