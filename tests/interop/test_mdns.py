#!/usr/bin/python3
"""mDNS discovery, both ways, between our engine + socket (mdns_probe: p2p/mdns
and os/mcast on a real w2w_loop) and a real js-libp2p peer running
@libp2p/mdns with a swarm key, in two network namespaces on one bridge that
this test creates (root needed; SKIP otherwise):

  - the js peer discovers our peer ID and address from our PTR/TXT records;
  - our engine discovers the js peer's ID and address from its answers;
  - a second node in the same namespace shares port 5353: it, the first
    node and the js peer all find each other;
  - everything we send is a well-formed mDNS message whose TXT strings are
    only dnsaddr=<multiaddr>/p2p/<our ID> (checked by a third listener).
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TAG = "w2wm%d" % os.getpid()
NS_BR, NS_A, NS_B = TAG + "br", TAG + "a", TAG + "b"
ADDR_A, ADDR_B = "10.77.0.1", "10.77.0.2"


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True)


def cleanup():
    for ns in (NS_A, NS_B, NS_BR):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def lab():
    for ns in (NS_BR, NS_A, NS_B):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", NS_BR, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
    ip("-n", NS_BR, "link", "set", "br0", "up")
    for ns, addr, port in ((NS_A, ADDR_A, "pa"), (NS_B, ADDR_B, "pb")):
        ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", NS_BR)
        ip("-n", NS_BR, "link", "set", port, "master", "br0", "up")
        ip("-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        # A LAN host has a default route; multicast-dns (js) sends through it.
        ip("-n", ns, "route", "add", "default", "dev", "eth0")


def dns_names_txt(pkt):
    """The TXT strings of an mDNS response (enough of RFC 1035 for our own uncompressed answers)."""
    def name(off):
        while True:
            n = pkt[off]
            if n >= 0xc0:
                return off + 2
            off += 1 + n
            if n == 0:
                return off
    qd, an, ns, ar = struct.unpack(">4H", pkt[4:12])
    off = 12
    for _ in range(qd):
        off = name(off) + 4
    out = []
    for _ in range(an + ns + ar):
        off = name(off)
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", pkt[off:off + 10])
        off += 10
        if typ == 16:
            k = off
            while k < off + rdlen:
                out.append(pkt[k + 1:k + 1 + pkt[k]].decode())
                k += 1 + pkt[k]
        off += rdlen
    return out


# Joins the group and prints every mDNS response as a JSON line (run inside a namespace).
LISTENER = r"""
import json, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0")))
print(json.dumps({"event": "ready"}), flush=True)
while True:
    d, a = s.recvfrom(9000)
    if len(d) > 12 and d[2] & 0x80:
        print(json.dumps({"event": "response", "src": a[0], "hex": d.hex()}), flush=True)
"""


def main():
    if os.geteuid() != 0:
        h.log("SKIP: needs root for network namespaces")
        sys.exit(h.SKIP)
    h.need_node()
    if not os.path.isdir(os.path.join(h.HERE, "node_modules", "@libp2p", "mdns")):
        h.log("SKIP: @libp2p/mdns not installed (run tools/interop-deps.sh)")
        sys.exit(h.SKIP)
    probe = os.environ.get("W2W_MDNS_PROBE")
    if not probe:
        h.log("SKIP: W2W_MDNS_PROBE not set (run through meson)")
        sys.exit(h.SKIP)
    cleanup()
    try:
        lab()
        tmp = tempfile.mkdtemp(prefix="w2w-mdns-")
        key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
        lis = h.Proc("listener", ["ip", "netns", "exec", NS_B, sys.executable, "-c", LISTENER])
        lis.wait_event(lambda e: e.get("event") == "ready", 10, "listener ready")
        js = h.Proc("js", ["ip", "netns", "exec", NS_B, "node", os.path.join(h.HERE, "mdnspeer.mjs"),
                           "--swarm-key", key, "--listen", "/ip4/%s/tcp/4001" % ADDR_B, "--interval", "1000"])
        js_self = js.wait_event(lambda e: e.get("event") == "listening", 30, "js listening")
        c = h.Proc("c", ["ip", "netns", "exec", NS_A, probe, "--seed", os.urandom(32).hex(),
                         "--addr", "/ip4/%s/tcp/4001" % ADDR_A, "--iface", "eth0",
                         "--interval-ms", "1000", "--timeout-ms", "60000"])
        c_self = c.wait_event(lambda e: e.get("event") == "self", 10, "probe start")
        # A second node in the same namespace shares port 5353 (SO_REUSEPORT) and the group.
        c2 = h.Proc("c2", ["ip", "netns", "exec", NS_A, probe, "--seed", os.urandom(32).hex(),
                           "--addr", "/ip4/%s/tcp/4002" % ADDR_A, "--iface", "eth0",
                           "--interval-ms", "1000", "--timeout-ms", "60000"])
        c2_self = c2.wait_event(lambda e: e.get("event") == "self", 10, "second probe start")
        h.log("js peer %s, our peer %s (peer-name %s)" % (js_self["peer"], c_self["peer"], c_self["name"]))

        # Our engine discovers the js peer ...
        f = c.wait_event(lambda e: e.get("event") == "found" and e["peer"] == js_self["peer"], 20,
                         "the js peer found by our engine")
        assert f["addrs"] == ["/ip4/%s/tcp/4001" % ADDR_B], f
        # ... and the js peer discovers ours, with our address.
        d = js.wait_event(lambda e: e.get("event") == "discovered" and e["peer"] == c_self["peer"], 20,
                          "our peer found by js")
        assert "/ip4/%s/tcp/4001" % ADDR_A in d["addrs"], d
        h.log("discovered both ways: ours -> %s, js -> %s" % (f["addrs"], d["addrs"]))
        # The two nodes of one namespace find each other and js finds both.
        js.wait_event(lambda e: e.get("event") == "discovered" and e["peer"] == c2_self["peer"], 20,
                      "the second node found by js")
        c2.wait_event(lambda e: e.get("event") == "found" and e["peer"] == js_self["peer"], 20,
                      "the js peer found by the second node")
        f = c.wait_event(lambda e: e.get("event") == "found" and e["peer"] == c2_self["peer"], 20,
                         "the second node found by the first")
        assert f["addrs"] == ["/ip4/%s/tcp/4002" % ADDR_A], f
        c2.stop()

        # What we put on the LAN: only dnsaddr=<our address>/p2p/<our ID>.
        lis.wait_event(lambda e: e.get("event") == "response" and e["src"] == ADDR_A, 10, "a response of ours")
        lis.drain(1.5)
        ours = [bytes.fromhex(e["hex"]) for e in lis.events if e.get("event") == "response" and e["src"] == ADDR_A]
        lis.stop()
        assert ours, "the listener saw none of our responses"
        want = "dnsaddr=/ip4/%s/tcp/4001/p2p/%s" % (ADDR_A, c_self["peer"])
        want2 = "dnsaddr=/ip4/%s/tcp/4002/p2p/%s" % (ADDR_A, c2_self["peer"])
        for dgram in ours:
            assert dns_names_txt(dgram) in ([want], [want2]), dns_names_txt(dgram)
        assert all(len(x) <= 1400 for x in ours)
        h.log("%d responses from our two nodes seen on the LAN, each TXT exactly one of %r" % (len(ours), [want, want2]))

        c.p.stdin.close()
        st = c.wait_event(lambda e: e.get("event") == "stats", 10, "probe stats")
        assert st["rx_bad"] == 0, st
        h.log("probe stats", st)
        assert c.p.wait(timeout=10) == 0
        js.stop()
        h.log("mdns interop: ok")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
