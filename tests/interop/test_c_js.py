#!/usr/bin/python3
"""C node <-> js-libp2p: both dial directions, ping both ways, identify contents on both
sides, 20 concurrent 1 MiB yamux echo streams, a js peer with another swarm key refused
while the node keeps serving, a dial to /p2p/<wrong id> refused, CLI ping exit codes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

SELF_PROTOS = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/meshsub/1.1.0", "/meshsub/1.0.0"]


def main():
    tmp = h.start()
    key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
    other = h.write_swarm_key(os.path.join(tmp, "other.key"))

    c = h.CNode("C", key, extra=["--echo"])
    cport = h.tcp_port(c.addr)
    js = h.JsPeer("js", key)

    # --- js dials C ---
    r = js.cmd("dial", addr=c.addr)
    check(r["peer"] == c.peer_id, "js dialled C and authenticated its peer ID", r)
    ev = c.wait_event(lambda e: e.get("event") == "connected" and e["peer"] == js.peer_id, 10, "C connected")
    check(ev["direction"] == "inbound", "C sees an inbound connection", ev)
    jid = js.wait_event(lambda e: e.get("event") == "identify" and e["peer"] == c.peer_id, 10, "js identify")
    check(all(p in jid["protocols"] for p in SELF_PROTOS), "js identify: C's protocols", jid["protocols"])
    check(jid["publicKeyHex"] and jid["publicKeyHex"].startswith("08011220"), "js identify: Ed25519 publicKey", jid)
    check(any(a.startswith("/ip4/127.0.0.1/tcp/%d" % cport) for a in jid["listenAddrs"]),
          "js identify: C's listen address", jid["listenAddrs"])
    check(jid["observedAddr"] and jid["observedAddr"].startswith("/ip4/127.0.0.1/tcp/"),
          "js identify: observed address", jid["observedAddr"])
    check(jid["agentVersion"].startswith("w2wesher/"), "js identify: agentVersion", jid["agentVersion"])
    cid = c.wait_event(lambda e: e.get("event") == "identify" and e["peer"] == js.peer_id, 10, "C identify")
    check("/ipfs/ping/1.0.0" in cid["protocols"] and "/meshsub/1.1.0" in cid["protocols"],
          "C identify: js protocols", cid["protocols"])
    # js dialled C's listen port: what js saw as our address is exactly that.
    check(cid["observedAddr"].startswith("/ip4/127.0.0.1/tcp/%d" % cport), "C identify: observed address",
          cid["observedAddr"])
    check(any(a.startswith("/ip4/127.0.0.1/tcp/%d" % h.tcp_port(js.addr)) for a in cid["listenAddrs"]),
          "C identify: js listen address", cid["listenAddrs"])

    r = js.cmd("ping", peer=c.peer_id, count=5)
    check(len(r["rtts"]) == 5, "js pings C 5 times", r["rtts"])
    c.send_line("/ping " + js.peer_id)
    ev = c.wait_event(lambda e: e.get("event") in ("ping", "ping_failed"), 10, "C ping")
    check(ev["event"] == "ping" and ev["rttUs"] > 0, "C pings js over the same connection", ev)

    # --- 20 concurrent yamux streams of 1 MiB echoed by C, checksummed by js ---
    r = js.cmd("echo", peer=c.peer_id, streams=20, size=1 << 20, timeout=120)
    check(r["allOk"] and r["bytes"] == 20 << 20, "20 x 1 MiB echo streams (%d ms)" % r["ms"],
          [x for x in r["results"] if not x["ok"]])

    # --- C dials js (CLI ping, and a dialling listen node) ---
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "--count", "3", js.addr])
    check(rc == 0 and out.count("Pong received") == 3, "w2wesher p2p ping js: 3 pongs, exit 0", (rc, out, err))
    c2 = h.CNode("C2", key, extra=["--dial", js.addr])
    ev = c2.wait_event(lambda e: e.get("event") == "connected", 10, "C2 connected")
    check(ev["peer"] == js.peer_id and ev["direction"] == "outbound", "C dials js", ev)
    cid2 = c2.wait_event(lambda e: e.get("event") == "identify" and e["peer"] == js.peer_id, 10, "C2 identify")
    jid2 = js.wait_event(lambda e: e.get("event") == "identify" and e["peer"] == c2.peer_id, 10, "js identify 2")
    # C dialled js's listen address: js must report it as what C observed, and vice versa.
    check(jid2["observedAddr"].startswith("/ip4/127.0.0.1/tcp/%d" % h.tcp_port(js.addr)),
          "js identify (C dialled): observed address = js listen addr", jid2["observedAddr"])
    check(cid2["observedAddr"].startswith("/ip4/127.0.0.1/tcp/"), "C2 identify: observed address", cid2)
    r = js.cmd("ping", peer=c2.peer_id, count=2)
    check(len(r["rtts"]) == 2, "js pings the C node that dialled it", r)

    # --- refusals ---
    bad = h.JsPeer("js-otherkey", other)
    r = bad.cmd("dial", addr=c.addr, check=False, timeoutMs=5000)
    check(not r["ok"], "js peer with another swarm key is refused", r)
    check(c.stderr_has("wrong swarm key?", 12), "C logs why it dropped the other-key peer", c.stderr_lines[-5:])
    r = js.cmd("ping", peer=c.peer_id, count=2)
    check(len(r["rtts"]) == 2, "C keeps serving others after the refusal", r)
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", other, "--count", "1", "--timeout", "20", js.addr])
    check(rc == 1 and ("handshake" in err or "closed" in err), "CLI ping with another swarm key fails clearly", err)

    wrong = bad.peer_id
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "--count", "1",
                              "/ip4/127.0.0.1/tcp/%d/p2p/%s" % (h.tcp_port(js.addr), wrong)])
    check(rc == 1 and "wrong peer ID" in err, "dial to /p2p/<wrong id> refused", err)
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "--count", "1",
                              "/ip4/127.0.0.1/tcp/%d/p2p/%s" % (cport, wrong)])
    check(rc == 1 and "wrong peer ID" in err, "dial to C with /p2p/<wrong id> refused", err)
    # A port nobody listens on (the other-key js peer's port, after it stopped).
    dead = h.tcp_port(bad.addr)
    bad.stop()
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "/ip4/127.0.0.1/tcp/%d" % dead])
    check(rc == 1 and "refused" in err, "ping to a closed port: connection refused", err)
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "--count", "2",
                              "/dns4/localhost/tcp/%d/p2p/%s" % (cport, c.peer_id)])
    check(rc == 0 and out.count("Pong received") == 2, "ping via /dns4/localhost", (rc, out, err))

    # --- plain libp2p (no private network) both ways ---
    cp = h.CNode("C-plain", None)
    jp = h.JsPeer("js-plain", None)
    r = jp.cmd("ping", addr=cp.addr, count=1)
    check(len(r["rtts"]) == 1, "without a swarm key: js pings C", r)
    rc, out, err = h.run_cli(["p2p", "ping", "--count", "1", jp.addr])
    check(rc == 0, "without a swarm key: C pings js", err)
    r = jp.cmd("dial", addr=c.addr, check=False, timeoutMs=5000)
    check(not r["ok"], "a peer without the swarm key cannot reach a private node", r)

    for p in (c, c2, cp):
        check(p.alive(), "%s still running" % p.name)
    h.stop_c_nodes()
    h.log("c<->js: all ok")


if __name__ == "__main__":
    main()
