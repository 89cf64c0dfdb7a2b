#!/usr/bin/python3
"""Network PSK rotation (issue 11, docs/operations.md) against real js-libp2p peers.

A C node holds the old and the next swarm key (rotation step 1). A js peer with only
the old key and a js peer with only the new key both reach it, in both dial
directions: inbound, the node tells the keys apart by the dialer's first bytes;
outbound, it dials with the new key first and falls back once to the old one
(logged once). Then the node drops the old key: the old-key peer's connection is
closed and its dials are refused, the new-key peer keeps working."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402


def main():
    tmp = h.start("w2w-psk-")
    old = h.write_swarm_key(os.path.join(tmp, "old.key"))
    new = h.write_swarm_key(os.path.join(tmp, "new.key"))
    os.chmod(old, 0o600)
    os.chmod(new, 0o600)

    c = h.CNode("C", old, extra=["--next-swarm-key", new])
    js_old = h.JsPeer("js-old", old)
    js_new = h.JsPeer("js-new", new)

    # --- inbound: each js peer dials C with its only key ---
    for js in (js_old, js_new):
        r = js.cmd("dial", addr=c.addr, check=False, timeoutMs=5000)
        check(r.get("ok", True) and r.get("peer") == c.peer_id, "%s dials C (both keys accepted)" % js.name, r)
        r = js.cmd("ping", peer=c.peer_id, count=2)
        check(len(r["rtts"]) == 2, "%s pings C" % js.name, r)

    # --- outbound: a second C node with both keys dials each js peer ---
    c2 = h.CNode("C2", old, extra=["--next-swarm-key", new])
    for js in (js_new, js_old):
        c2.send_line("/dial " + js.addr)
        ev = c2.wait_event(lambda e: e.get("event") == "connected" and e.get("peer") == js.peer_id, 15,
                           "C2 connected to %s" % js.name)
        check(ev["direction"] == "outbound", "C2 dials %s" % js.name, ev)
    # The log line goes to stderr, the event to stdout: the reader threads may see them in either order.
    c2.stderr_has("retrying with the older one", timeout=5.0)
    c2.drain(0.3)
    fallback = [l for l in c2.stderr_lines if "retrying with the older one" in l]
    check(len(fallback) == 1, "the dial to the old-key peer fell back to the old key, logged once",
          c2.stderr_lines[-8:])
    c2.send_line("/ping " + js_old.peer_id)
    ev = c2.wait_event(lambda e: e.get("event") in ("ping", "ping_failed"), 10, "C2 ping js-old")
    check(ev["event"] == "ping", "C2 pings the old-key peer over the fallback connection", ev)

    # --- step 3 on C: drop the old key ---
    c.send_line("/psk " + new)
    c.wait_event(lambda e: e.get("event") == "psk_set", 10, "psk_set")
    ev = c.wait_event(lambda e: e.get("event") == "disconnected" and e.get("peer") == js_old.peer_id, 10,
                      "old-key connection closed")
    check(c.stderr_has("network PSK that was dropped", 5), "C says why it closed the old-key connection",
          c.stderr_lines[-5:])
    # js sees the close a moment later (a dial before that would reuse the open connection).
    end = time.time() + 10
    while time.time() < end and any(p["peer"] == c.peer_id and p["status"] == "open"
                                    for p in js_old.cmd("peers")["peers"]):
        time.sleep(0.05)
    h.log("js-old saw the close after %.2f s" % (time.time() - end + 10))
    r = js_old.cmd("dial", addr=c.addr, check=False, timeoutMs=5000)
    check(not r["ok"], "after the drop the old-key peer is refused", r)
    check(c.stderr_has("wrong swarm key", 5), "C logs the refusal as a wrong swarm key", c.stderr_lines[-5:])
    r = js_new.cmd("ping", peer=c.peer_id, count=2)
    check(len(r["rtts"]) == 2, "the new-key peer keeps its connection", r)
    js_new.cmd("hangup", peer=c.peer_id, check=False)
    r = js_new.cmd("dial", addr=c.addr, check=False, timeoutMs=5000)
    check(r.get("ok", True) and r.get("peer") == c.peer_id, "the new-key peer dials C again after the drop", r)

    # The CLI with only the old key cannot reach C any more; with the new key it can.
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", old, "--count", "1", "--timeout", "10", c.addr])
    check(rc == 1, "CLI ping with only the old key fails after the drop", (rc, err))
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", new, "--count", "1", c.addr])
    check(rc == 0, "CLI ping with the new key works", (rc, err))

    for p in (c, c2):
        check(p.alive(), "%s still running" % p.name)
    h.stop_c_nodes()
    h.log("psk rotation: all ok")


if __name__ == "__main__":
    main()
