#!/usr/bin/python3
"""gossipsub strictness against a real js-libp2p peer (issue #15 item 10), aligned with
go-libp2p-pubsub: an RPC over our 1 MiB limit resets only the pubsub stream (go comm.go
handleNewStream), the connection and the peer stay, and gossip resumes on a new stream;
message data just over the limit is logged; a flood of invalid messages is bounded (the
rest ignored unverified until the next heartbeat), not answered by hanging up."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

TOPIC = "w2w:test"


def disconnects(p):
    return [e for e in p.events if e.get("event") == "disconnected"]


def gossip_js_to_c(js, c, tag, secs=20):
    """js publishes until C delivers one (js may first re-add us on a new stream)."""
    end = time.time() + secs
    k = 0
    while time.time() < end:
        payload = ("%s %d" % (tag, k)).encode().hex()
        k += 1
        js.cmd("publish", topic=TOPIC, dataHex=payload)
        try:
            c.wait_event(lambda e, p=payload: e.get("event") == "message" and e.get("dataHex") == p, 1,
                         "message")
            return True
        except TimeoutError:
            continue
    return False


def main():
    tmp = h.start()
    key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
    c = h.CNode("C", key, extra=["--topic", TOPIC])
    js = h.JsPeer("js", key, extra=["--topic", TOPIC])
    js.cmd("dial", addr=c.addr)
    js.wait_event(lambda e: e.get("event") == "subscription" and e["peer"] == c.peer_id, 15, "subscription")
    check(gossip_js_to_c(js, c, "before"), "gossip js -> C")

    # 1. An RPC of 1 MiB + 1 KiB: our limit is 1 MiB. Only the stream goes.
    r = js.cmd("bigrpc", peer=c.peer_id, topic=TOPIC, size=(1 << 20) + 1024)
    check(r["sent"], "js sent a 1 MiB + 1 KiB RPC", r)
    check(c.stderr_has("RPC too large", 10), "C logs the oversized RPC", c.stderr_lines[-5:])
    js.drain(1.0)
    c.drain(0.2)
    check(not disconnects(js) and not disconnects(c), "the connection stays (only the stream was reset)",
          (disconnects(js), disconnects(c)))
    check(gossip_js_to_c(js, c, "after reset"), "gossip js -> C resumes on a new stream")
    r = js.cmd("peers")
    check(len(r["peers"]) == 1, "still one connection", r)

    # 2. Data one byte over our message limit (1 MiB - 4096), in an RPC under 1 MiB: logged.
    r = js.cmd("bigrpc", peer=c.peer_id, topic=TOPIC, size=(1 << 20) - 4096 + 1)
    check(r["sent"], "js sent data 1 byte over the message limit", r)
    check(c.stderr_has("over the limit", 10), "C logs data over the limit", c.stderr_lines[-5:])
    n = sum(1 for l in c.stderr_lines if "over the limit" in l)
    check(n == 1, "logged once (%d line)" % n)

    # 3. 100 invalid (bad signature) messages in one RPC: over the per-heartbeat budget of 32.
    r = js.cmd("bigrpc", peer=c.peer_id, topic=TOPIC, size=100, count=100)
    check(r["sent"], "js sent 100 invalid messages", r)
    check(c.stderr_has("invalid messages", 10), "C logs the invalid-message budget", c.stderr_lines[-5:])
    js.drain(1.0)
    check(not disconnects(js) and not disconnects(c), "the connection stays after 100 invalid messages")
    check(gossip_js_to_c(js, c, "after invalid"), "genuine gossip js -> C delivered after the heartbeat")
    check(c.alive(), "C still running")
    h.stop_c_nodes()
    h.log("gossipsub strictness: all ok")


if __name__ == "__main__":
    main()
