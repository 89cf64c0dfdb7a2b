#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The README's demo: a w2wesher mesh of N nodes in network namespaces on this
machine. Each node is a namespace with its own underlay address; each runs the
real w2wesherd as an unprivileged user with only CAP_NET_ADMIN, configured
with just the network PSK and node 1's multiaddr. Then: the status table of
every node, and a ping from every node to every other node's overlay address.
Everything is torn down at the end (also on Ctrl-C)."""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import netlab  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--range", default="fd6d:142e:65e7:4cc1::/64", help="overlay NetworkRange")
    args = ap.parse_args()
    err = netlab.requirements()
    if err:
        sys.exit(f"demo: cannot run here: {err}")
    with netlab.Lab(range_=args.range, announce="10s", expiry="40s", keepalive="25s") as lab:
        t0 = time.monotonic()
        first = lab.add_node("node1")
        first.write_config()
        first.start()
        boot = first.multiaddr()
        print(f"node1 listens at {boot}")
        nodes = [first]
        for i in range(1, args.nodes):
            n = lab.add_node(f"node{i + 1}")
            n.write_config(bootstrap=[boot])
            n.start()
            nodes.append(n)
        print(f"started {len(nodes)} w2wesherd (uid nobody + CAP_NET_ADMIN, wireguard-go), each given only the "
              f"PSK and node1's multiaddr\n")

        ips = lab.overlay_ips(nodes, 30)

        def reachable():
            return all(a.ping(ips[b], wait=1) for a in nodes for b in nodes if a is not b)

        try:
            lab.wait(reachable, 60, step=0.2, what="a full mesh")
        except TimeoutError as e:
            print(f"demo: {e}")
            lab.dump_logs(30)
            return 1
        print(f"full mesh after {time.monotonic() - t0:.1f}s\n")
        for n in nodes:
            print(f"$ w2wesher status   # on {n.name}")
            print(subprocess.run([lab.cli, "status", "--socket", n.sock], capture_output=True, text=True).stdout)
        print("pings across the overlay (WireGuard):")
        for a in nodes:
            for b in nodes:
                if a is b:
                    continue
                r = a.netns_exec("ping", "-c", "1", "-W", "2", "-n", ips[b], check=False)
                rtt = [w for w in r.stdout.split() if w.startswith("time=")]
                print(f"  {a.name} -> {b.name} {ips[b]:<40} {'ok ' + rtt[0][5:] + ' ms' if r.returncode == 0 and rtt else 'FAILED'}")
        print("\ntearing down the namespaces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
