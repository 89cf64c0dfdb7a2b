#!/usr/bin/python3
"""js <-> js sanity: proves the harness and the pinned js-libp2p set work on this
machine (pnet + noise + yamux + identify + ping + echo + gossipsub) before any C."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    tmp = h.start(c_node=False)
    key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
    a = h.JsPeer("jsA", key, extra=["--topic", "t1"])
    b = h.JsPeer("jsB", key, extra=["--topic", "t1"])
    r = b.cmd("dial", addr=a.addr)
    assert r["peer"] == a.peer_id, r
    ida = a.wait_event(lambda e: e.get("event") == "identify" and e["peer"] == b.peer_id, 10, "identify")
    assert "/ipfs/ping/1.0.0" in ida["protocols"], ida
    r = b.cmd("ping", addr=a.addr, count=3)
    h.log("js->js ping rtts", r["rtts"])
    r = b.cmd("echo", peer=a.peer_id, streams=4, size=256 * 1024, timeout=60)
    assert r["allOk"], r
    b.wait_event(lambda e: e.get("event") == "subscription" and e["peer"] == a.peer_id, 10, "subscription")
    b.cmd("publish", topic="t1", dataHex="68656c6c6f")
    m = a.wait_event(lambda e: e.get("event") == "message", 10, "message")
    assert m["from"] == b.peer_id and m["dataHex"] == "68656c6c6f", m
    # A peer with another swarm key cannot connect.
    key2 = h.write_swarm_key(os.path.join(tmp, "other.key"))
    c = h.JsPeer("jsC", key2)
    r = c.cmd("dial", addr=a.addr, check=False, timeoutMs=5000)
    assert not r["ok"], r
    h.log("js->js: ok")


if __name__ == "__main__":
    main()
