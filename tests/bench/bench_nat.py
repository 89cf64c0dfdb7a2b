# SPDX-License-Identifier: MIT
"""NAT benchmark (issue 13, docs/nat.md): w2wesher vs Nebula 1.6 on the NAT topologies of
tests/e2e/natlab.py, in the same run, same namespaces, same ping harness (bench_mesh's fping-like prober,
50 ms step).

  sudo /usr/bin/python3 tests/bench/bench_nat.py [--topologies 1,2,3,4] [--json out.json]

For each topology and system: time from starting every node until each ordered pair's first echo reply
over the overlay. Then, between the two NATed nodes of topology 2 (a direct path for both systems) and of
topology 4 (relayed for both), ping RTT (20 pings) and TCP throughput (3 s) over the overlay: what the relay
adds.

Nebula: the public node is lighthouse and relay (`am_lighthouse`, `relay.am_relay`); NATed nodes have
`punchy.punch`/`respond` and `relay.relays: [lighthouse]`. w2wesher: the public node is the bootstrap with
`[P2P] Relay = true`, the others have only the PSK and its address.

Upgrade (`--upgrade`, docs/nat.md "Upgrade"): topology 2 with UDP between the two routers dropped at
start, so the NATed pair is relayed; the drop is lifted; the time until WireGuard (Nebula) UDP flows
directly between the routers in both directions (iptables counters in each router, so the same probe for
both systems), and the pings lost meanwhile (10/s each way, from 1 s before the lift until 3 s after the
switch).

Prints numbers; never fails on a number (exit 1 only when a topology did not converge).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

import bench_mesh as bm  # noqa: E402
import natlab  # noqa: E402

VERBOSE = False
TOPOLOGIES = {
    1: ("one cone + public", [natlab.CONE]),
    2: ("two cones + public", [natlab.CONE, natlab.CONE]),
    3: ("symmetric + cone + public relay", [natlab.SYMMETRIC, natlab.CONE]),
    4: ("two symmetric + public relay", [natlab.SYMMETRIC, natlab.SYMMETRIC]),
}

SINK = r"""
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201))
s.listen(1)
print("ready", flush=True)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(10)
n, t0 = 0, None
while True:
    b = c.recv(65536)
    if not b:
        break
    if t0 is None:
        t0 = time.monotonic()
    n += len(b)
print(n / max(time.monotonic() - t0, 1e-6))
"""

SOURCE = r"""
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.create_connection((sys.argv[1], 5201), timeout=10)
buf = bytes(65536)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    s.sendall(buf)
s.close()
"""


class W2w:
    name = "w2wesher"

    def prepare(self, lab, node, boot):
        node.write_config(bootstrap=[boot.multiaddr()] if boot is not None else (),
                          extra={"P2P": {"Relay": "true"}} if boot is None else None)
        node.identity()
        node._holder()

    def start(self, node):
        bm.start_daemon(node, [node.lab.daemon, "--config", node.config])

    def overlay_ip(self, node):
        ip = node.overlay_ip()
        return bm.canon_ip(ip) if ip else None

    def path(self, a, b):
        try:
            for p in a.status()["peers"]:
                if p["name"] == b.name:
                    return p["path"] + (" via " + p["via"] if p.get("via") else "")
        except (OSError, ValueError, KeyError):
            pass
        return "?"


class Nebula(bm.Nebula):
    """bench_mesh's Nebula, tuned for NAT: lighthouse and relay on the public node."""

    def __init__(self):
        self.certs = None
        self.lighthouse = None
        self.ips = {}

    def prepare(self, lab, node, boot):
        if self.certs is None or not os.path.exists(self.certs):
            self.make_ca(lab.tmp, "w2w-nat")
        super().prepare(lab, node, boot)

    def tune(self, cfg, am_lh, lh_ip):
        # interval 1 s (example config: 60): NATed hosts report their addresses promptly
        cfg["lighthouse"]["interval"] = 1
        cfg["punchy"]["respond"] = True
        cfg["relay"] = {"am_relay": am_lh, "use_relays": True, "relays": [] if am_lh else [lh_ip]}

    def path(self, a, b):
        return "-"


def run_topology(sysm, t, timeout):
    title, kinds = TOPOLOGIES[t]
    res = {"topology": t, "system": sysm.name, "pairs": {}}
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        nats = [lab.add_natted(k, f"nat{i + 1}") for i, k in enumerate(kinds)]
        nodes = [pub] + nats
        sysm.prepare(lab, pub, None)
        for n in nats:
            sysm.prepare(lab, n, pub)
        probers = {n: bm.Prober(n.ns, 0.05, timeout + 30) for n in nodes}
        try:
            bm.wait_ready(probers.values())
            t0 = time.time()
            for n in nodes:
                sysm.start(n)
            ips = {}
            end = time.monotonic() + timeout
            while len(ips) < len(nodes) and time.monotonic() < end:
                for n in nodes:
                    if n not in ips:
                        ip = sysm.overlay_ip(n)
                        if ip:
                            ips[n] = ip
                            for o in nodes:
                                if o is not n:
                                    probers[o].add(ip)
                time.sleep(0.02)
            targets = [(probers[a], ips[b]) for a in nodes for b in nodes if a is not b and b in ips]
            got = bm.wait_all(targets, max(1.0, end - time.monotonic()))
            time.sleep(1.5)  # statistics behind `status` are re-read every second
            for a in nodes:
                for b in nodes:
                    if a is b:
                        continue
                    k = (probers[a], ips.get(b))
                    res["pairs"][f"{a.name}->{b.name}"] = {
                        "seconds": round(got[k] - t0, 3) if k in got else None, "path": sysm.path(a, b)}
            if t in (2, 4) and all(v["seconds"] is not None for v in res["pairs"].values()):
                res["link"] = link_figures(nats[0], nats[1], ips[nats[1]])
            if VERBOSE:
                for n in nodes:
                    with open(n.log, errors="replace") as f:
                        print(f"----- {sysm.name} {n.name} log -----\n" + "".join(f.readlines()[-60:]))
        finally:
            bm.close_all(probers.values())
    return res


def block(routers, on):
    """Drops UDP between the routers' public addresses (before NAT: a dropped
    packet leaves no conntrack entry)."""
    for r in routers:
        for o in routers:
            if o is not r:
                for d in ("-d", "-s"):
                    r.exec("iptables", "-w", "5", "-I" if on else "-D", "FORWARD", "-p", "udp", d, o.wan_ip,
                           "-j", "DROP", check=False)


def direct_packets(r, other):
    """UDP packets r forwarded out to the other router's public address (a
    counting rule, no target)."""
    out = r.exec("iptables", "-w", "5", "-L", "FORWARD", "-v", "-x", "-n", check=False).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[2] in ("udp", "17") and f[-1] == other.wan_ip and f[-2] == "0.0.0.0/0" and \
                f[-3] == "*" and f[-4] == "lan":
            return int(f[0])
    return 0


def run_upgrade(sysm, timeout):
    """Topology 2 relayed at first, then the block lifted (see the module doc)."""
    res = {"system": sysm.name}
    with natlab.NatLab() as lab:
        pub = lab.add_public("pub")
        a, b = lab.add_natted(natlab.CONE, "nat1"), lab.add_natted(natlab.CONE, "nat2")
        routers = [a.router, b.router]
        for r, o in ((a.router, b.router), (b.router, a.router)):
            r.exec("iptables", "-w", "5", "-I", "FORWARD", "-i", "lan", "-p", "udp", "-d", o.wan_ip)
        block(routers, True)
        sysm.prepare(lab, pub, None)
        for n in (a, b):
            sysm.prepare(lab, n, pub)
        for n in (pub, a, b):
            sysm.start(n)
        end = time.monotonic() + timeout
        ips = {}
        while len(ips) < 2 and time.monotonic() < end:
            for n in (a, b):
                ips[n] = ips.get(n) or sysm.overlay_ip(n)
                if not ips[n]:
                    ips.pop(n)
            time.sleep(0.05)
        while time.monotonic() < end and not (a.ping(ips[b], wait=1) and b.ping(ips[a], wait=1)):
            pass
        res["relayed_path"] = sysm.path(a, b)
        time.sleep(5)  # a first direct attempt (w2wesher: 3 s after the relay) fails against the block
        pings = [subprocess.Popen(["ip", "netns", "exec", x.ns, "ping", "-n", "-q", "-i", "0.1", "-W", "1",
                                   "-c", "900", ips[y]], stdout=subprocess.PIPE, text=True)
                 for x, y in ((a, b), (b, a))]
        time.sleep(1)
        block(routers, False)
        t0 = time.monotonic()
        def sample():
            return [direct_packets(a.router, b.router), direct_packets(b.router, a.router)]
        took, prev = None, sample()
        while time.monotonic() - t0 < 75:
            time.sleep(1)
            now = sample()
            # both directions flow directly (10/s pings each way and their
            # replies: ~20 packets a second; a probe is a few)
            if all(n - o >= 10 for n, o in zip(now, prev)):
                took = time.monotonic() - t0 - 1  # the flow was there for that second
                break
            prev = now
        time.sleep(3)
        lost = []
        for p in pings:
            p.send_signal(2)
            out = p.communicate(timeout=30)[0]
            f = [line for line in out.splitlines() if "packets transmitted" in line]
            sent, got = (int(f[0].split()[0]), int(f[0].split()[3])) if f else (0, 0)
            lost.append((sent - got, sent))
        res.update({"seconds": round(took, 2) if took is not None else None, "path": sysm.path(a, b),
                    "lost": lost})
    return res


def link_figures(a, b, ip_b):
    """RTT (20 pings, 50 ms apart) and TCP throughput (3 s) from a to b over the overlay."""
    r = a.netns_exec("ping", "-c", "20", "-i", "0.05", "-q", "-n", ip_b, check=False, timeout=30)
    rtt = None
    for line in r.stdout.splitlines():
        if "min/avg/max" in line:
            rtt = float(line.split("=")[1].split("/")[1])
    sink = subprocess.Popen(["ip", "netns", "exec", b.ns, "/usr/bin/python3", "-c", SINK, ip_b],
                            stdout=subprocess.PIPE, text=True)
    bps = None
    try:
        if sink.stdout.readline().strip() == "ready":
            a.netns_exec("/usr/bin/python3", "-c", SOURCE, ip_b, "3", check=False, timeout=30)
            out = sink.communicate(timeout=30)[0].strip()
            bps = float(out) if out else None
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    return {"rtt_ms": rtt, "mbit_s": round(bps * 8 / 1e6, 1) if bps else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--topologies", default="1,2,3,4")
    ap.add_argument("--timeout", type=float, default=40)
    ap.add_argument("--json")
    ap.add_argument("--verbose", action="store_true", help="print each daemon's log after each topology")
    ap.add_argument("--upgrade", action="store_true", help="only the relayed-to-direct upgrade")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    err = natlab.requirements()
    if err or not shutil.which("nebula"):
        print("SKIP:", err or "nebula not installed")
        return 77
    results, bad = [], False
    if args.upgrade:
        for sysm in (W2w(), Nebula()):
            r = run_upgrade(sysm, args.timeout)
            results.append(r)
            took = "never (75 s)" if r["seconds"] is None else f"{r['seconds']:.1f} s"
            print(f"upgrade, {sysm.name}: relayed ({r['relayed_path']}), direct {took} after the block was "
                  f"lifted ({r['path']}); pings lost " + ", ".join(f"{x} of {n}" for x, n in r["lost"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return 0
    for t in [int(x) for x in args.topologies.split(",")]:
        for sysm in (W2w(), Nebula()):
            r = run_topology(sysm, t, args.timeout)
            results.append(r)
            print(f"\ntopology {t} ({TOPOLOGIES[t][0]}), {sysm.name}: first ping per ordered pair")
            for pair, v in sorted(r["pairs"].items(), key=lambda kv: kv[1]["seconds"] or 1e9):
                s = "never" if v["seconds"] is None else f"{v['seconds']:.2f} s"
                print(f"  {pair:<12} {s:>8}  {v['path']}")
                bad |= v["seconds"] is None
            if "link" in r:
                print(f"  nat1->nat2 over the overlay: RTT {r['link']['rtt_ms']} ms, {r['link']['mbit_s']} Mbit/s")
    print("\nsummary: slowest pair per topology (w2wesher / nebula, ratio)")
    for t in [int(x) for x in args.topologies.split(",")]:
        w = [r for r in results if r["topology"] == t and r["system"] == "w2wesher"][0]
        n = [r for r in results if r["topology"] == t and r["system"] == "nebula"][0]

        def slowest(r):
            xs = [v["seconds"] for v in r["pairs"].values()]
            return None if None in xs else max(xs)
        sw, sn = slowest(w), slowest(n)
        ratio = f"{sw / sn:.2f}" if sw and sn else "-"
        print(f"  topology {t}: {sw} s / {sn} s  ({ratio})")
        if "link" in w and "link" in n:
            print(f"    nat1->nat2 RTT {w['link']['rtt_ms']} / {n['link']['rtt_ms']} ms, "
                  f"throughput {w['link']['mbit_s']} / {n['link']['mbit_s']} Mbit/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
