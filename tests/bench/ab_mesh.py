#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A/B of two w2wesher builds on the application-like prober of bench_mesh.py, alternating runs so that
both see the same machine load (a busy 2-core machine moves absolute figures by 2x; the difference
between two builds measured back to back is what a change did).

  sudo tests/bench/ab_mesh.py BUILD_A BUILD_B [--mode cold|join] [--runs N] [--nodes N]

cold: N nodes started at once in a fresh lab per run, every ordered pair probed from the moment both
      addresses are assigned (bench_mesh.all_at_once_seq); prints every pair answered, p50 over pairs,
      the last address assigned, and first tries lost.
join: per run a fresh lab of N nodes started at once, 3 s to settle, then 4 joins
      (bench_mesh.join_seq); prints the time until the joiner and all nodes answer each other.
Each BUILD is a meson build directory with tools/w2wesherd and tools/w2wesher (absolute or relative).
Only traffic inside the namespaces the labs create; every process is started here and killed by PID.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_mesh as B  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--mode", choices=("cold", "join"), default="cold")
    ap.add_argument("--runs", type=int, default=6, help="runs per build (default 6)")
    ap.add_argument("--nodes", type=int, default=10, help="mesh size (default 10)")
    x = ap.parse_args()
    if not 1 <= x.runs <= 20 or not 2 <= x.nodes <= 40:
        ap.error("--runs 1..20, --nodes 2..40")
    import netlab
    err = netlab.requirements()
    if err:
        print(f"ab_mesh: SKIP: {err}")
        return 77
    args = argparse.Namespace(nodes=x.nodes, seq_wait=1.0, seq_gap=0.02, timeout=40, step=0.05, announce="1m",
                              expiry="3m30s", keepalive="0", w2w_range="fd6d:142e:65e7:4cc1::/64",
                              w2w_ip_from="log", admission=False, keep_logs=None)
    builds = [os.path.abspath(x.a), os.path.abspath(x.b)]
    res = {d: [] for d in builds}
    for i in range(x.runs):
        for d in builds if i % 2 == 0 else builds[::-1]:
            os.environ["W2W_BUILD_DIR"] = d
            sysm = B.W2w(args)
            with sysm.lab() as lab:
                if x.mode == "cold":
                    r = B.all_at_once_seq(sysm, lab, x.nodes, args)
                    bad = sum(1 for p in r["per_pair"] if p["tries"] != 1)
                    row = (r["seconds"], r["p50_pair"], r["addresses_assigned"], bad)
                    res[d].append(row)
                    print("%-40s every pair %5.0f ms  p50 %5.0f ms  last address %5.0f ms  lost first tries %d" %
                          (d, (row[0] or -0.001) * 1000, (row[1] or -0.001) * 1000, (row[2] or 0) * 1000, bad),
                          flush=True)
                else:
                    nodes, ips, _ = B.all_at_once(sysm, lab, x.nodes, args)
                    time.sleep(3)
                    for _ in range(4):
                        r = B.join_seq(sysm, lab, nodes, ips, args)
                        bad = sum(1 for p in r["per_pair"] if p["tries"] != 1)
                        res[d].append((r["seconds"], bad))
                        print("%-40s join %5.0f ms  lost first tries %d" % (d, (r["seconds"] or 0) * 1000, bad),
                              flush=True)
    print()
    for d in builds:
        v = res[d]
        if x.mode == "cold":
            ok = [r for r in v if r[0] is not None]
            print("%-40s median every pair %.0f ms, p50 %.0f ms, lost first tries %d (%d runs, %d DNF)" %
                  (d, statistics.median(r[0] for r in ok) * 1000 if ok else -1,
                   statistics.median(r[1] for r in ok) * 1000 if ok else -1, sum(r[3] for r in v), len(v),
                   len(v) - len(ok)))
        else:
            ok = [r[0] for r in v if r[0] is not None]
            print("%-40s median join %.0f ms, lost first tries %d (%d joins, %d DNF)" %
                  (d, statistics.median(ok) * 1000 if ok else -1, sum(r[1] for r in v), len(v), len(v) - len(ok)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
