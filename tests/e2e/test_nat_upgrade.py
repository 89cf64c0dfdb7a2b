# SPDX-License-Identifier: MIT
"""Upgrade of a relayed pair to a direct path (issue 13 "Upgrade", docs/nat.md):
two nodes behind cone NATs whose direct path is blocked at first end relayed
through the public member; once the block is lifted they probe, switch to the
direct path and leave the relay, while pings (10/s each way) and a TCP stream
cross the overlay. Blocked again, the pair notices the direct path died and
is relayed again (the fallback), and its probes fail against the block."""
import re
import subprocess
import time

import pytest

import natlab
from test_nat import first_pings, path_of, endpoint_of, start

pytestmark = pytest.mark.skipif(natlab.requirements() is not None, reason=str(natlab.requirements()))

TCP_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7001))
s.listen(1)
s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(120)
total = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    total += len(d)
c.sendall(str(total).encode())
c.close()
"""

TCP_CLIENT = r"""
import select, socket, sys
c = socket.create_connection((sys.argv[1], 7001), timeout=30)
c.settimeout(120)
print("connected", flush=True)
sent = 0
chunk = b"x" * 2048
try:
    while not select.select([sys.stdin], [], [], 0.01)[0]:  # 2 KiB every 10 ms until stdin closes
        c.sendall(chunk)
        sent += len(chunk)
    c.shutdown(socket.SHUT_WR)
    got = int(c.recv(100).decode() or "-1")
    print(f"sent {sent} received {got}", flush=True)
except OSError as e:
    print(f"error {e!r} after {sent}", flush=True)
"""


def block(routers, ips, on):
    """Drops UDP between the routers' public addresses (both directions, before
    NAT: no conntrack entry is created by a dropped packet)."""
    op = "-I" if on else "-D"
    for r in routers:
        for ip in ips:
            if ip == r.wan_ip:
                continue
            r.exec("iptables", "-w", "5", op, "FORWARD", "-p", "udp", "-d", ip, "-j", "DROP")
            r.exec("iptables", "-w", "5", op, "FORWARD", "-p", "udp", "-s", ip, "-j", "DROP")


def pinger(node, ip, count):
    return subprocess.Popen(["ip", "netns", "exec", node.ns, "ping", "-n", "-q", "-i", "0.1", "-W", "1", "-c",
                             str(count), ip], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ping_result(p):
    out, _ = p.communicate(timeout=120)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_relayed_pair_goes_direct():
    # PeerExpiry 60 s: a NATed pair's proof of life is its WireGuard rx within
    # 3/4 of it (docs/nat.md "Liveness"); the lab's 8 s would drop the peers
    # before the dead direct path is noticed (2 x 10 s)
    with natlab.NatLab(expiry="60s") as lab:
        pub = lab.add_public("pub")
        a = lab.add_natted(natlab.CONE, "conea")
        b = lab.add_natted(natlab.CONE, "coneb")
        routers = [a.router, b.router]
        wan = [r.wan_ip for r in routers]
        block(routers, wan, True)
        t0 = start(lab, [pub, a, b], pub, relay=True)
        first_pings(lab, [pub, a, b], t0, 40)
        lab.wait(lambda: path_of(a, b) == ("relayed", "pub") and path_of(b, a) == ("relayed", "pub"), 15,
                 step=0.3, what="relayed paths in status")
        t_relayed = time.monotonic() - t0
        ips = {n: n.overlay_ip() for n in (a, b)}

        srv = subprocess.Popen(["ip", "netns", "exec", b.ns, "/usr/bin/python3", "-c", TCP_SERVER, ips[b]],
                               stdout=subprocess.PIPE, text=True)
        assert srv.stdout.readline().strip() == "ready"
        cli = subprocess.Popen(["ip", "netns", "exec", a.ns, "/usr/bin/python3", "-c", TCP_CLIENT, ips[b]],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert cli.stdout.readline().strip() == "connected"
        count = 450  # 45 s at 10/s, stopped once settled
        pings = [pinger(a, ips[b], count), pinger(b, ips[a], count)]
        time.sleep(1)
        # lifted before the first round (3 s after the relay): a round then
        # finds the path open (the fallback below sees rounds fail)
        block(routers, wan, False)
        t_unblock = time.monotonic()
        lab.wait(lambda: path_of(a, b)[0] == "direct" and path_of(b, a)[0] == "direct", 60, step=0.2,
                 what="direct paths after the block is lifted")
        t_direct = time.monotonic() - t_unblock
        time.sleep(3)  # the relay lingers 5 s; traffic keeps flowing meanwhile
        for p in pings:
            p.send_signal(2)  # SIGINT: ping prints its summary
        results = [ping_result(p) for p in pings]
        cli.stdin.close()
        out = cli.stdout.read().strip()
        cli.wait(timeout=60)
        srv.wait(timeout=30)

        ea, eb = endpoint_of(a, b), endpoint_of(b, a)
        print(f"\nrelayed after {t_relayed:.1f} s; direct {t_direct:.1f} s after the block was lifted; "
              f"endpoints {ea} / {eb}")
        for (x, y), (sent, got) in zip(((a, b), (b, a)), results):
            print(f"  ping {x.name} -> {y.name}: {sent} sent, {sent - got} lost")
        print(f"  tcp {a.name} -> {b.name}: {out}")
        for n in (a, b, pub):
            for line in n.log_text().splitlines():
                if re.search(r"nat: probing|direct-path probe|reachable directly|roamed us back|relay: pair|no longer relays", line):
                    print(f"  {n.name}: {line}")
        assert ea.startswith(b.router.wan_ip + ":") and eb.startswith(a.router.wan_ip + ":")
        assert "reachable directly at" in a.log_text() + b.log_text()
        lab.wait(lambda: "no longer asked for" in pub.log_text(), 10, what="the relay withdrawing the pair")
        for sent, got in results:
            assert sent - got <= max(1, sent // 50), results
        m = re.match(r"sent (\d+) received (\d+)", out)
        assert m and m.group(1) == m.group(2), out

        # fallback: the direct path dies; nothing comes from the peer on it
        # for twice the longest a live peer is silent (keepalive 5 s here,
        # WireGuard's passive keepalive 10 s): relayed again, and the next
        # rounds fail against the block
        probes = (a.log_text() + b.log_text()).count("nat: probing")
        block(routers, wan, True)
        t_block = time.monotonic()
        lab.wait(lambda: path_of(a, b) == ("relayed", "pub") and path_of(b, a) == ("relayed", "pub"), 45,
                 step=0.3, what="relayed paths again after the direct path died")
        t_back = time.monotonic() - t_block
        lab.wait(lambda: a.ping(ips[b], wait=1) and b.ping(ips[a], wait=1), 15, step=0.1,
                 what="pings through the relay again")
        lab.wait(lambda: (a.log_text() + b.log_text()).count("nat: probing") > probes, 15, step=0.3,
                 what="a probe round after the fallback")
        print(f"  fallback: relayed again {t_back:.1f} s after the direct path was blocked")
        assert "asking for a relay again" in a.log_text() + b.log_text()
