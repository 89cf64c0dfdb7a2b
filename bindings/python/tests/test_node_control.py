# SPDX-License-Identifier: MIT
"""Node controls at run time, each node a Python process (tests/node_main.py)
in a netlab namespace (root, TUN, wireguard-go or kernel WireGuard; else
skipped):

- admission: an admission-mode pair where one node has no token and is
  refused, gets its token through Node.set_admission_token() and is admitted;
  Node.admission_publish() of a revocation removes it again; Node.metrics()
  counters move meanwhile;
- network PSK rotation through Node.set_psk(): both nodes take a next PSK,
  then drop the old one, and stay (or get back) connected; a third node that
  holds only the old key is refused."""
import base64
import os
import time

import pytest

from test_node import PyNode  # puts tests/e2e on sys.path
import netlab  # noqa: E402
from w2wesher import admission, lib  # noqa: E402

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))

ENV = dict(os.environ, W2W_PY_LOG="1")


@pytest.fixture(autouse=True)
def build_dir(monkeypatch):
    """netlab finds the daemon and CLI (it writes the configs with them) through W2W_BUILD_DIR."""
    cli = os.environ.get("W2W_CLI")
    assert cli, "W2W_CLI (tools/w2wesher) is needed to write the lab's configs"
    monkeypatch.setenv("W2W_BUILD_DIR", os.path.dirname(os.path.dirname(cli)))


def command(pn, line, *acks, timeout=10):
    """Sends a command; returns its answer (an event of a type in acks) or its command-error."""
    def answers():
        return [ev for ev in list(pn.events) if ev["event"] in acks + ("command-error",)]
    n = len(answers())
    pn.send(line)
    end = time.monotonic() + timeout
    while len(answers()) <= n:
        if time.monotonic() > end or pn.p.poll() is not None:
            raise TimeoutError(f"{pn.node.name}: no answer to {line!r}: {pn.events[-5:]}")
        time.sleep(0.02)
    return answers()[n]


def metrics(pn):
    """{name: value} from Node.metrics() of a node_main.py process; checks the kinds on the way."""
    got = command(pn, "metrics", "metrics")["metrics"]
    for name, m in got.items():
        assert m["name"] == name and name.startswith("w2wesher_") and m["help"], m
        assert m["counter"] == name.endswith("_total"), m  # Prometheus naming: counters end in _total
    return {name: m["value"] for name, m in got.items()}


def logged(pn, *words):
    return any(ev["event"] == "log" and all(w in ev["message"] for w in words) for ev in list(pn.events))


def start(lab, node, nodes):
    pn = PyNode(node, env=ENV)
    nodes.append(pn)
    pn.wait(lambda ev: ev["event"] == "started", 15, "start")
    return pn


def peer_up(pn, name, timeout=40):
    return pn.wait(lambda ev: ev["event"] == "peer-up" and ev["name"] == name, timeout, f"peer-up {name}")


def connected_to(pn, name):
    p = [p for p in pn.snapshot()["peers"] if p["name"] == name]
    return bool(p) and p[0]["connected"]


def test_admission_token_at_run_time_and_metrics():
    op = admission.genkey()
    pub = admission.pubkey(op)
    nodes = []
    with netlab.Lab(range_="10.81.0.0/16", announce="1s", expiry="6s") as lab:
        try:
            a, b = lab.add_node("pya"), lab.add_node("pyb")
            a.write_config()
            b.write_config(bootstrap=[a.multiaddr()])
            token_a = admission.sign(op, a.identity(), name="pya")
            assert admission.inspect(token_a).peer_id == a.identity()
            a.set_keys("P2P", AdmissionKey=pub, AdmissionToken=token_a)
            b.set_keys("P2P", AdmissionKey=pub)  # admission mode, no token yet
            pa = start(lab, a, nodes)
            m0 = metrics(pa)
            assert m0["w2wesher_peers"] == 0 and m0["w2wesher_peers_up_total"] == 0
            pb = start(lab, b, nodes)
            # a refuses b (no token), b keeps dialling
            lab.wait(lambda: logged(pa, b.identity(), "refused") or logged(pa, b.identity(), "no admission token"),
                     30, step=0.2, what="a refuses the token-less b")
            assert not [p for p in pa.snapshot()["peers"] if p["name"] == "pyb"]
            ev = command(pb, "admission-token not-a-token", "token-set")
            assert ev["event"] == "command-error" and ev["code"] == lib.W2W_EPARSE, ev
            ev = command(pb, "admission-token " + admission.sign(op, b.identity(), name="pyb"), "token-set")
            assert ev["event"] == "token-set", ev
            up_b = peer_up(pa, "pyb")
            peer_up(pb, "pya")
            assert up_b["peer_id"] == b.identity()
            # counters moved; the gauges follow the table
            lab.wait(lambda: metrics(pa)["w2wesher_announcements_received_total"]
                     > m0["w2wesher_announcements_received_total"], 20, step=0.3, what="announcements counted")
            m1 = metrics(pa)
            assert m1["w2wesher_peers_up_total"] >= 1 and m1["w2wesher_peers"] == 1
            assert m1["w2wesher_libp2p_connections"] >= 1
            assert m1["w2wesher_announcements_sent_total"] > m0["w2wesher_announcements_sent_total"]
            assert m1["w2wesher_gossipsub_rpcs_received_total"] > m0["w2wesher_gossipsub_rpcs_received_total"]
            # a revocation published on a removes b; the same one again is not news
            rev = admission.revoke(op, b.identity(), int(time.time()))
            assert admission.inspect(rev).kind == "revocation"
            ev = command(pa, "admission-publish " + rev, "published")
            assert ev == {"event": "published", "new": True}, ev
            assert command(pa, "admission-publish " + rev, "published") == {"event": "published", "new": False}
            ev = command(pa, "admission-publish " + admission.revoke(admission.genkey(), b.identity(), 1),
                         "published")
            assert ev["event"] == "command-error" and ev["code"] == lib.W2W_EAUTH, ev  # an untrusted signer
            pa.wait(lambda ev: ev["event"] == "peer-down" and ev["name"] == "pyb", 20, "peer-down pyb")
            for pn in (pa, pb):
                pn.stop_cleanly()
        finally:
            for pn in nodes:
                pn.kill()


def swarm_key_file(lab, name, b64):
    path = os.path.join(lab.tmp, name)
    with open(path, "w") as f:
        f.write("/key/swarm/psk/1.0.0/\n/base16/\n" + base64.b64decode(b64).hex() + "\n")
    os.chmod(path, 0o600)
    return path


def test_psk_rotation_at_run_time():
    nodes = []
    with netlab.Lab(range_="10.82.0.0/16", announce="1s", expiry="6s") as lab:
        try:
            a, b, c = lab.add_node("pya"), lab.add_node("pyb"), lab.add_node("pyc")
            a.write_config()
            b.write_config(bootstrap=[a.multiaddr()])
            c.write_config(bootstrap=[a.multiaddr()])  # c keeps the old key throughout
            pa = start(lab, a, nodes)
            pb = start(lab, b, nodes)
            peer_up(pa, "pyb")
            peer_up(pb, "pya")
            old, new = lab.psk, base64.b64encode(os.urandom(32)).decode()
            nxt = swarm_key_file(lab, "next.key", new)
            # a config without a PSK is refused, the node keeps its keys
            a.set_keys("P2P", PSK=None)
            ev = command(pa, "set-psk " + a.config, "psk-set")
            assert ev["event"] == "command-error", ev
            # step 1: every node takes the next key beside the old one
            for n, pn in ((a, pa), (b, pb)):
                n.set_keys("P2P", PSK=old, NextPSKFile=nxt)
                assert command(pn, "set-psk " + n.config, "psk-set")["event"] == "psk-set"
            assert connected_to(pa, "pyb") and connected_to(pb, "pya")
            # step 2: the old key is dropped; the connection on it closes and comes back on the new one
            for n, pn in ((a, pa), (b, pb)):
                n.set_keys("P2P", PSK=new, NextPSKFile=None)
                assert command(pn, "set-psk " + n.config, "psk-set")["event"] == "psk-set"
            lab.wait(lambda: connected_to(pa, "pyb") and connected_to(pb, "pya"), 30, step=0.3,
                     what="a and b connected on the new key")
            assert not [ev for ev in pa.events if ev["event"] == "peer-down"]  # b never left a's table
            # c, with only the old key, is refused by a
            pc = start(lab, c, nodes)
            lab.wait(lambda: logged(pc, "dial", "failed", "swarm key"), 30, step=0.2,
                     what="c's dial refused for its key")
            assert not [p for p in pa.snapshot()["peers"] if p["name"] == "pyc"]
            assert pc.snapshot()["peers"] == []
            for pn in (pa, pb, pc):
                pn.stop_cleanly()
        finally:
            for pn in nodes:
                pn.kill()
