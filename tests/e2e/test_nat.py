# SPDX-License-Identifier: MIT
"""NAT traversal (issue 13, docs/nat.md): real w2wesherd daemons behind
netfilter NATs in network namespaces (tests/e2e/natlab.py)."""
import subprocess
import time

import pytest

import natlab

pytestmark = pytest.mark.skipif(natlab.requirements() is not None, reason=str(natlab.requirements()))

REFLECT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7000))
s.settimeout(10)
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    data, src = s.recvfrom(100)
    s.sendto(f"{src[0]}:{src[1]}".encode(), src)
"""

SEND = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 10042))
s.settimeout(5)
for dst in sys.argv[1:]:
    s.sendto(b"x", (dst, 7000))
    print(s.recvfrom(100)[0].decode())
"""


def seen_from(lab, node, servers):
    """The public ip:port each server sees for one socket of node."""
    procs = [subprocess.Popen(["ip", "netns", "exec", s.ns, "/usr/bin/python3", "-c", REFLECT, "1"],
                              stdout=subprocess.PIPE, text=True)
             for s in servers]
    for p in procs:  # bound before anything is sent (a loaded machine starts them slowly)
        assert p.stdout.readline().strip() == "ready"
    try:
        out = node.netns_exec("/usr/bin/python3", "-c", SEND, *[s.ip for s in servers]).stdout.split()
    finally:
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return out


def test_fixture_nat_kinds():
    """The fixture itself: a cone NAT maps one socket to one public port for
    every destination (not the node's own port); a symmetric one to a port per
    destination; a conntrack flush changes the cone's port."""
    with natlab.NatLab() as lab:
        s1, s2 = lab.add_public(), lab.add_public()
        c = lab.add_natted(natlab.CONE)
        y = lab.add_natted(natlab.SYMMETRIC)
        cone = seen_from(lab, c, [s1, s2])
        assert len(cone) == 2 and cone[0] == cone[1], cone
        assert cone[0].startswith(c.router.wan_ip + ":") and not cone[0].endswith(":10042")
        sym = seen_from(lab, y, [s1, s2])
        assert len(sym) == 2 and sym[0] != sym[1] and sym[0].split(":")[0] == y.router.wan_ip, sym
        c.router.flush()
        after = seen_from(lab, c, [s1])
        assert after and after[0] != cone[0], (cone, after)


def start(lab, nodes, boot, relay=False):
    """Writes configs (every node bootstraps from `boot` only; `boot` relays
    when asked) and starts all."""
    boot.write_config(extra={"P2P": {"Relay": "true"}} if relay else None)
    addr = boot.multiaddr()
    for n in nodes:
        if n is not boot:
            n.write_config(bootstrap=[addr])
    t0 = time.monotonic()
    for n in nodes:
        n.start()
    return t0


def first_pings(lab, nodes, t0, timeout):
    """Every ordered pair pings over the overlay; returns {(a, b): seconds from
    t0 to its first answered ping}. Pairs are retried round-robin (one ping of
    at most 1 s each), so a slow pair does not hide the others' times."""
    ips = {}
    lab.wait(lambda: all(ips.setdefault(n, n.overlay_ip()) or ips.pop(n) for n in nodes), 30,
             what="overlay addresses")
    todo = [(a, b) for a in nodes for b in nodes if a is not b]
    done = {}
    end = time.monotonic() + timeout
    while todo and time.monotonic() < end:
        for a, b in list(todo):
            if a.ping(ips[b], wait=1):
                done[(a, b)] = time.monotonic() - t0
                todo.remove((a, b))
    if todo:
        for n in nodes:
            print(f"== {n.name} {ips[n]}\n{n.wg('show').stdout}")
        raise AssertionError(f"pairs that never answered: {[(a.name, b.name) for a, b in todo]}")
    return done


def endpoint_of(a, b):
    """a's WireGuard endpoint for b (ip:port text) from `wg show`."""
    key = b.status()["self"]["wgPublicKey"]
    for line in a.wg("show", "wesh0", "endpoints").stdout.splitlines():
        k, _, ep = line.partition("\t")
        if k == key:
            return ep.strip()
    return None


def path_of(a, b):
    for p in a.status()["peers"]:
        if p["name"] == b.name:
            return p["path"], p["via"]
    return None, None


def settled(lab, pairs):
    """Waits (bounded) until status shows a session on every pair: its
    WireGuard statistics are re-read about every second."""
    try:
        lab.wait(lambda: all(path_of(a, b)[0] in ("direct", "relayed") for a, b in pairs), 10, step=0.3,
                 what="paths in status")
    except TimeoutError:
        pass  # the report shows what is there; the tests assert what they need


def report(title, lab, times):
    settled(lab, list(times))
    print(f"\n{title}: time to first ping, path")
    for (a, b), t in sorted(times.items(), key=lambda kv: kv[1]):
        path, via = path_of(a, b)
        print(f"  {a.name:>8} -> {b.name:<8} {t:5.1f} s  {path}{' via ' + via if via else ''}, "
              f"endpoint {endpoint_of(a, b)}")


def test_one_cone():
    """Topology 1: one node behind a cone NAT, the other public."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        cone = lab.add_natted(natlab.CONE, "cone")
        t0 = start(lab, [pub, cone], pub)
        times = first_pings(lab, [pub, cone], t0, 30)
        report("topology 1 (cone + public)", lab, times)


def test_two_cones():
    """Topology 2: two nodes behind different cone NATs and a public bootstrap
    node: the NATed pair ends with a direct WireGuard session (each one's
    endpoint for the other is the other's router, nobody relays)."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        a = lab.add_natted(natlab.CONE, "conea")
        b = lab.add_natted(natlab.CONE, "coneb")
        t0 = start(lab, [pub, a, b], pub)
        times = first_pings(lab, [pub, a, b], t0, 40)
        report("topology 2 (two cones + public bootstrap)", lab, times)
        assert path_of(a, b)[0] == "direct" and path_of(b, a)[0] == "direct"
        assert endpoint_of(a, b).startswith(b.router.wan_ip + ":")
        assert endpoint_of(b, a).startswith(a.router.wan_ip + ":")


def wait_pings(lab, pairs, ips, timeout):
    """Seconds until each (a, b) answers again (a 0.5 s ping, round-robin)."""
    t0 = time.monotonic()
    todo, done = list(pairs), {}
    end = t0 + timeout
    while todo and time.monotonic() < end:
        for a, b in list(todo):
            if a.ping(ips[b], wait=0.5):
                done[(a, b)] = time.monotonic() - t0
                todo.remove((a, b))
    assert not todo, f"pairs that did not recover: {[(a.name, b.name) for a, b in todo]}"
    return done


def test_mapping_change():
    """Topology 5: in the two-cone mesh, one router's conntrack table is
    flushed mid-session: its node's public port changes. Its peers learn the
    new endpoint (the public one by WireGuard roaming, reported back; the
    NATed one by a punch to the newly announced endpoint) within seconds."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        a = lab.add_natted(natlab.CONE, "conea")
        b = lab.add_natted(natlab.CONE, "coneb")
        nodes = [pub, a, b]
        t0 = start(lab, nodes, pub)
        first_pings(lab, nodes, t0, 40)
        ips = {n: n.overlay_ip() for n in nodes}
        old = endpoint_of(b, a)
        a.router.flush()
        times = wait_pings(lab, [(b, a), (a, b), (pub, a), (a, pub)], ips, 40)
        new = endpoint_of(b, a)
        print(f"\ntopology 5: conea's public endpoint {old} -> {new}; recovered after flush:")
        for (x, y), t in sorted(times.items(), key=lambda kv: kv[1]):
            print(f"  {x.name:>8} -> {y.name:<8} {t:5.1f} s")
        assert new != old and new.startswith(a.router.wan_ip + ":")


def test_status_shows_path():
    """`w2wesher status` (JSON and text) says, per peer, the path and, for a
    node behind a NAT, its public WireGuard endpoint."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        a = lab.add_natted(natlab.CONE, "conea")
        b = lab.add_natted(natlab.CONE, "coneb")
        t0 = start(lab, [pub, a, b], pub)
        first_pings(lab, [pub, a, b], t0, 40)

        def paths():
            return {p["name"]: p["path"] for p in a.status()["peers"]}

        # the statistics behind the snapshot are re-read every second or so
        lab.wait(lambda: paths() == {"pub": "direct", "coneb": "direct"}, 10, step=0.3, what="direct paths")
        st = a.status()
        assert st["self"]["nat"] == 1
        assert st["self"]["publicEndpoint"].startswith(a.router.wan_ip + ":")
        peers = {p["name"]: p for p in st["peers"]}
        assert peers["coneb"]["nat"] == 1 and peers["pub"]["nat"] == 0
        assert peers["coneb"]["publicEndpoint"] == endpoint_of(a, b)
        assert pub.status()["self"]["nat"] == 0
        text = sh_status(a)
        assert f"public WireGuard endpoint {st['self']['publicEndpoint']}" in text
        assert all(line.rstrip().endswith("direct") for line in text.splitlines() if line.startswith(("pub ", "coneb ")))


def sh_status(node):
    r = node.netns_exec(node.lab.cli, "status", "--socket", node.sock, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def no_probes(lab, relayed_at, nated, symmetric):
    """A relayed pair with a symmetric NAT never probes for a direct path
    (docs/nat.md "Upgrade"): the relay reports the port it sees, the
    symmetric side finds it differs from its public endpoint's and says so;
    past the first round's time (3 s after the relay) nobody probed."""
    lab.wait(lambda: all("our NAT maps per destination" in n.log_text() for n in symmetric), 10, step=0.2,
             what="symmetric NAT detected through the relay")
    time.sleep(max(0.0, relayed_at + 4 - time.monotonic()))
    for n in symmetric:
        assert n.status()["self"]["nat"] == 2, n.name  # "symmetric NAT" in status
    for n in nated:
        assert "nat: probing" not in n.log_text(), n.name


def relayed_mesh(kinds, title):
    """A public relay (and bootstrap) and two NATed nodes of these kinds: every
    pair pings; the NATed pair goes through the relay (status says so)."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        a = lab.add_natted(kinds[0], "nata")
        b = lab.add_natted(kinds[1], "natb")
        t0 = start(lab, [pub, a, b], pub, relay=True)
        times = first_pings(lab, [pub, a, b], t0, 40)
        lab.wait(lambda: path_of(a, b) == ("relayed", "pub") and path_of(b, a) == ("relayed", "pub"), 10,
                 step=0.3, what="relayed paths in status")
        relayed_at = time.monotonic()
        report(title, lab, times)
        no_probes(lab, relayed_at, [a, b], [n for n, k in zip((a, b), kinds) if k == natlab.SYMMETRIC])
        # WireGuard's endpoint for the other NATed node is a port of the relay
        assert endpoint_of(a, b).startswith(pub.ip + ":") and endpoint_of(b, a).startswith(pub.ip + ":")
        assert "relay: forwarding nata <-> natb" in pub.log_text() or \
            "relay: forwarding natb <-> nata" in pub.log_text()


STRANGER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for port in sys.argv[2:]:
    for _ in range(20):
        s.sendto(b"\x01" + bytes(147), (sys.argv[1], int(port)))
got = 0
try:
    while True:
        s.recvfrom(2048)
        got += 1
except OSError:
    pass
print(got)
"""


def test_symmetric_and_cone():
    """Topology 3: one side behind a symmetric NAT, the other behind a cone:
    no direct path; the relay member forwards. A host that is no member
    sends datagrams to the relay's ports: they are dropped with a log line,
    nothing comes back and the pair keeps working."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        stranger = lab.add_public("stranger")  # no daemon: not a member
        a = lab.add_natted(natlab.SYMMETRIC, "nata")
        b = lab.add_natted(natlab.CONE, "natb")
        t0 = start(lab, [pub, a, b], pub, relay=True)
        times = first_pings(lab, [pub, a, b], t0, 40)
        lab.wait(lambda: path_of(a, b) == ("relayed", "pub") and path_of(b, a) == ("relayed", "pub"), 10,
                 step=0.3, what="relayed paths in status")
        relayed_at = time.monotonic()
        report("topology 3 (symmetric + cone, public relay)", lab, times)
        ports = [endpoint_of(a, b).rsplit(":", 1)[1], endpoint_of(b, a).rsplit(":", 1)[1]]
        got = stranger.netns_exec("/usr/bin/python3", "-c", STRANGER, pub.ip, *ports).stdout.strip()
        assert got == "0", f"the relay answered a non-member {got} times"
        lab.wait(lambda: "not the pair's members" in pub.log_text(), 10, what="the relay's log line")
        ips = {n: n.overlay_ip() for n in (a, b)}
        assert a.ping(ips[b], wait=2) and b.ping(ips[a], wait=2)
        no_probes(lab, relayed_at, [a, b], [a])


def test_two_symmetric():
    """Topology 4: both behind symmetric NATs."""
    relayed_mesh((natlab.SYMMETRIC, natlab.SYMMETRIC), "topology 4 (two symmetric, public relay)")


def test_relay_budget_keys():
    """[P2P] RelayMaxPairs and RelayRate (docs/configuration.md) on a real
    relay: three nodes behind symmetric NATs all need it, it serves one pair
    (the log names the budget), and that pair's datagrams beyond RelayRate are
    dropped with a log line."""
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        nats = [lab.add_natted(natlab.SYMMETRIC, f"sym{i}") for i in range(3)]
        pub.write_config(extra={"P2P": {"Relay": "true", "RelayMaxPairs": "1", "RelayRate": "64KiB"}})
        for n in nats:
            n.write_config(bootstrap=[pub.multiaddr()])
        for n in [pub] + nats:
            n.start()
        lab.wait(lambda: "relay: budget of 1 pairs used" in pub.log_text(), 40, step=0.3,
                 what="the relay refusing a pair beyond RelayMaxPairs")
        assert pub.log_text().count("relay: forwarding") == 1

        def relayed():
            for a in nats:
                for b in nats:
                    if a is not b and path_of(a, b) == ("relayed", "pub") and path_of(b, a) == ("relayed", "pub"):
                        return a, b
            return None
        lab.wait(lambda: relayed(), 20, step=0.3, what="the one relayed pair")
        a, b = relayed()
        ip = b.overlay_ip()
        # ~650 KB/s of pings through a 64 KiB/s budget
        a.netns_exec("ping", "-c", "200", "-i", "0.002", "-s", "1300", "-q", "-n", ip, check=False, timeout=30)
        lab.wait(lambda: "over the pair's budget (65536 B/s)" in pub.log_text(), 15, step=0.3,
                 what="the relay dropping datagrams over RelayRate")
        assert a.ping(ip, wait=2)  # within the budget again
