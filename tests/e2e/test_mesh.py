# SPDX-License-Identifier: MIT
"""End-to-end tests: real w2wesherd daemons (unprivileged, CAP_NET_ADMIN) in
network namespaces with wireguard-go, configured only by INI files, reached
only through their control sockets and the overlay. Issue 6's scenarios."""
import os
import time

import pytest

import netlab

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))


def full_mesh(lab, nodes, timeout=40):
    """Every node pings every other node's overlay address (netlab.Lab.full_mesh)."""
    return lab.full_mesh(nodes, timeout)


def start_mesh(lab, n, **cfg):
    first = lab.add_node()
    first.write_config(**cfg)
    first.start()
    boot = first.multiaddr()
    nodes = [first]
    for _ in range(n - 1):
        node = lab.add_node()
        node.write_config(bootstrap=[boot], **cfg)
        node.start()
        nodes.append(node)
    return nodes


def distinct_addresses(lab, nodes, timeout=30):
    """Waits until no two nodes hold the same overlay address (the IPAM rule
    moved every loser), then returns the fresh addresses."""
    cur = {}

    def distinct():
        cur.clear()
        for n in nodes:
            cur[n] = n.overlay_ip()
        vals = list(cur.values())
        return None not in vals and len(set(vals)) == len(vals)

    lab.wait(distinct, timeout, step=0.3, what="distinct overlay addresses")
    return dict(cur)


def peer_names(node):
    try:
        return {p["name"] for p in node.status()["peers"]}
    except (OSError, ValueError, KeyError):
        return set()


@pytest.mark.parametrize("range_", ["fd6d:142e:65e7:4cc1::/64", "10.77.0.0/24"])
def test_five_nodes_full_mesh(range_):
    with netlab.Lab(range_=range_) as lab:
        nodes = start_mesh(lab, 5)
        distinct_addresses(lab, nodes)  # two first candidates may collide in a /24: the rule moves one
        ips = full_mesh(lab, nodes)
        assert len(set(ips.values())) == 5, ips
        for ip in ips.values():
            assert ("." in ip) == ("." in range_)


def test_late_join_leave_and_kill():
    with netlab.Lab() as lab:
        nodes = start_mesh(lab, 3)
        full_mesh(lab, nodes)
        late = lab.add_node("late")
        late.write_config(bootstrap=[nodes[0].multiaddr()])
        t0 = time.monotonic()
        late.start()
        full_mesh(lab, nodes + [late], timeout=20)
        print(f"late joiner reachable from all after {time.monotonic() - t0:.2f}s")

        # leave: gone from every peer table at once (well before expiry)
        assert '"ok":true' in late.request("leave")
        lab.wait(lambda: all("late" not in peer_names(n) for n in nodes), 4, what="leave to propagate")
        late.stop()

        # kill -9: disappears after the expiry
        victim = nodes[2]
        victim.kill()
        lab.wait(lambda: all(victim.name not in peer_names(n) for n in nodes[:2]), 30,
                 what="killed node to expire")


def test_seamless_restart():
    with netlab.Lab() as lab:
        nodes = start_mesh(lab, 2)
        ips = full_mesh(lab, nodes)
        b = nodes[1]
        before = b.status()["self"]
        # 10 pings per second across a restart of b's daemon
        pinger = nodes[0].lab  # noqa: F841
        import subprocess
        p = subprocess.Popen(["ip", "netns", "exec", nodes[0].ns, "ping", "-i", "0.1", "-c", "60", "-W", "1",
                              "-n", "-q", ips[b]], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert b.stop() == 0
        b.start()
        out, _ = p.communicate(timeout=30)
        after = lab.wait(lambda: b.overlay_ip(), 10, what="restarted daemon") and b.status()["self"]
        line = [ln for ln in out.splitlines() if "packets transmitted" in ln][0]
        sent, recv = int(line.split()[0]), int(line.split()[3])
        print(f"restart: {sent} sent, {recv} received")
        assert sent - recv <= 1, line
        for k in ("peerId", "wgPublicKey", "address"):
            assert before[k] == after[k], k


def test_ipam_conflict_tiny_range():
    # /29: 6 usable addresses for 4 nodes — candidates collide, the rule must separate them
    with netlab.Lab(range_="10.66.0.0/29") as lab:
        nodes = start_mesh(lab, 4)
        distinct_addresses(lab, nodes)
        ips = full_mesh(lab, nodes)
        # and it stays that way: no duplicate remains after the rule settled
        time.sleep(3)
        assert distinct_addresses(lab, nodes, timeout=1) == ips


def test_split_brain_heals():
    with netlab.Lab(range_="10.55.0.0/29", expiry="6s") as lab:
        nodes = start_mesh(lab, 4)
        full_mesh(lab, nodes)
        left, right = nodes[:2], nodes[2:]
        lab.cut(left, right)
        time.sleep(8)
        lab.heal(left, right)
        distinct_addresses(lab, nodes, timeout=60)
        full_mesh(lab, nodes, timeout=60)


def test_two_clusters_isolated():
    with netlab.Lab() as lab:
        a = start_mesh(lab, 2)
        full_mesh(lab, a)
        # second cluster: other PSK, interface and ports, on the same hosts
        import base64
        lab.psk = base64.b64encode(os.urandom(32)).decode()
        b1, b2 = lab.add_node("b1"), lab.add_node("b2")
        b1.write_config(port=10043, iface="wesh1")
        b1.start()
        b2.write_config(bootstrap=[b1.multiaddr(10043)], port=10043, iface="wesh1")
        b2.start()
        full_mesh(lab, [b1, b2])
        assert peer_names(a[0]) == {a[1].name}
        assert peer_names(b1) == {"b2"}


def test_wrong_psk_rejected():
    with netlab.Lab() as lab:
        nodes = start_mesh(lab, 2)
        full_mesh(lab, nodes)
        import base64
        good = lab.psk
        lab.psk = base64.b64encode(os.urandom(32)).decode()
        intruder = lab.add_node("intruder")
        intruder.write_config(bootstrap=[nodes[0].multiaddr()])
        intruder.start()
        lab.psk = good
        time.sleep(6)
        assert "intruder" not in peer_names(nodes[0])
        assert peer_names(intruder) == set()
        assert nodes[0].ping(nodes[1].overlay_ip())


def test_go_style_config_runs_unchanged():
    """A file with only the Go w2wesher's keys and value forms (its ListenAddr
    form included) joins the mesh; only the state and socket paths, which the
    Go original did not have, come from the environment like systemd sets them."""
    with netlab.Lab() as lab:
        first = start_mesh(lab, 1)[0]
        go = lab.add_node("gostyle")
        p2p_key, wg_key = go.gen_keys()
        with open(go.config, "w") as f:
            f.write("[P2P]\n"
                    f"PSK = {lab.psk}\n"
                    f"PrivateKey = {p2p_key}\n"
                    f"Bootstrap = {first.multiaddr()}\n"
                    "ListenAddr = /ip4/0.0.0.0/udp/10042\n"
                    "AnnounceInterval = 2s\n"
                    "\n[Wireguard]\n"
                    "Interface = wesh0\n"
                    f"PrivateKey = {wg_key}\n"
                    "ListenPort = 10042\n"
                    f"NetworkRange = {lab.range}\n"
                    "NodeName = gostyle\n"
                    "PersistentKeepalive = 5s\n")
        os.chown(go.config, netlab.NOBODY, netlab.NOBODY)
        os.chmod(go.config, 0o600)  # it holds secrets: a world-readable one is refused (configuration.md)
        before = open(go.config).read()
        go.start(env={"W2WESHER_NODE_STATEDIR": f"{go.dir}/state", "W2WESHER_NODE_CONTROLSOCKET": go.sock})
        full_mesh(lab, [first, go])
        assert open(go.config).read() == before  # every secret was there: never rewritten


def ma_ip4_tcp(ip, port):
    """Binary multiaddr /ip4/<ip>/tcp/<port> (an `la` entry, docs/mesh.md)."""
    import socket
    import struct
    return b"\x04" + socket.inet_aton(ip) + b"\x06" + struct.pack(">H", port)


def msgpack_announcement(seq, name, wg_pub, port, claims, flags=0, la=()):
    """Hand-encoded msgpack of an announcement (docs/mesh.md), for attackers.
    la: binary multiaddrs where the author can be dialled; without them the
    members that are not connected to it cannot probe it and report it
    unreachable (docs/mesh.md, "Liveness")."""
    import struct

    def s(x):
        b = x.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return bytes([0xd9, len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b

    def b8(x):
        return bytes([0xc4, len(x)]) + x

    out = bytes([0x89 if la else 0x88]) + s("v") + b"\x01" + s("seq") + b"\xcf" + struct.pack(">Q", seq)
    out += s("flags") + bytes([flags]) + s("name") + s(name) + s("wg") + b8(wg_pub)
    out += s("port") + b"\xcd" + struct.pack(">H", port)
    out += s("addrs") + bytes([0x90 | len(claims)])
    for ip, t in claims:
        out += bytes([0x82]) + s("ip") + b8(ip) + s("t") + b"\xcf" + struct.pack(">Q", t)
    out += s("eps") + b"\x90"
    if la:
        out += s("la") + bytes([0x90 | len(la)]) + b"".join(b8(x) for x in la)
    return out


def test_malicious_announcements():
    """A member holding the PSK publishes garbage, an announcement hijacking
    another node's WireGuard key, and an older claim on a node's address:
    garbage and the hijack are rejected and logged, the address conflict is
    resolved by the IPAM rule, and the mesh keeps working."""
    import base64
    import ipaddress
    import subprocess
    with netlab.Lab(range_="10.88.0.0/24") as lab:
        nodes = start_mesh(lab, 2)
        ips = full_mesh(lab, nodes)
        victim_key = base64.b64decode(nodes[1].status()["self"]["wgPublicKey"])
        stolen_ip = ipaddress.ip_address(ips[nodes[0]]).packed
        evil = lab.add_node("evil")
        p = subprocess.Popen(["ip", "netns", "exec", evil.ns, lab.cli, "p2p", "listen", "--swarm-key",
                              lab.swarm_key_file(), "--listen", f"/ip4/{evil.ip}/tcp/10042", "--dial",
                              nodes[0].multiaddr(), "--topic", "w2w:announces"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             text=True)
        try:
            time.sleep(2)
            hijack = msgpack_announcement(int(time.time() * 1e6), "hijack", victim_key, 10042,
                                          [(bytes([10, 88, 0, 200]), 1)])
            steal = msgpack_announcement(int(time.time() * 1e6) + 1, "thief", os.urandom(32), 10042,
                                         [(stolen_ip, 1)])
            for line in ("hex:deadbeef", "hex:" + hijack.hex(), "hex:" + steal.hex()):
                p.stdin.write(line + "\n")
                p.stdin.flush()
                time.sleep(0.3)
            # the older claim wins: node1 moves, and everybody can reach everybody again
            lab.wait(lambda: nodes[0].overlay_ip() not in (None, ips[nodes[0]]), 15, what="node1 to move")
            full_mesh(lab, nodes)
            log = nodes[0].log_text()
            assert "malformed announcement" in log
            assert "rejected" in log
            assert "hijack" not in peer_names(nodes[0]) and "hijack" not in peer_names(nodes[1])
            # the victim's WireGuard key still maps to the victim only, while the
            # thief's own (new) key was accepted. (The thief is a bare libp2p
            # peer that answers no probe from node 2 and cannot refute: it is
            # later removed as unreachable, docs/mesh.md "Liveness"; so the log,
            # not the current table, proves it was taken.)
            assert "peer thief (" in nodes[1].log_text()
        finally:
            p.kill()
            p.wait()
