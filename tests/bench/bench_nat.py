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
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    err = natlab.requirements()
    if err or not shutil.which("nebula"):
        print("SKIP:", err or "nebula not installed")
        return 77
    results, bad = [], False
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
