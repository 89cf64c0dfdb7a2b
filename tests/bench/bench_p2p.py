#!/usr/bin/python3
"""libp2p benchmark, ours vs js-libp2p in the same run, on loopback:
  - dial -> first ping reply (TCP + pnet + Noise + yamux + ping), median of N
  - yamux throughput: 20 streams x 1 MiB echoed (js client; our node vs a js node echoing)
  - memory per idle connection: RSS growth of the listener with 20 idle peers connected
Prints numbers and ratios; fails only when something did not work, never on a number."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import harness as h  # noqa: E402

ROUNDS = int(os.environ.get("W2W_BENCH_ROUNDS", "10"))
IDLE = int(os.environ.get("W2W_BENCH_IDLE", "20"))


def c_dial_ping(key, addr):
    rc, out, err = h.run_cli(["p2p", "ping", "--swarm-key", key, "--count", "1", addr])
    if rc != 0:
        raise RuntimeError("ping failed: %s" % err)
    for line in out.splitlines():
        if line.startswith("Dial to first pong:"):
            return float(line.split(":")[1].split()[0])
    raise RuntimeError("no timing in %r" % out)


def idle_rss(node, key, n):
    rss0 = h.rss_kb(node.p.pid)
    p = subprocess.Popen(["node", os.path.join(h.HERE, "manynodes.mjs"), str(n), key, node.addr],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=h.HERE)
    h._procs.append(p)
    line = p.stdout.readline()
    time.sleep(2)
    rss1 = h.rss_kb(node.p.pid)
    p.stdin.close()
    p.wait(timeout=30)
    ok = int(__import__("json").loads(line)["ok"]) if line else 0
    return ok, (rss1 - rss0) / max(ok, 1)


def row(name, ours, theirs, unit, lower_better=True):
    ratio = ours / theirs if theirs else float("nan")
    print("%-34s ours %10.2f %-5s js %10.2f %-5s ratio ours/js %.2f (%s is better)" %
          (name, ours, unit, theirs, unit, ratio, "lower" if lower_better else "higher"))


def main():
    h.need_node()
    h.cli()
    tmp = tempfile.mkdtemp(prefix="w2w-bench-")
    key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
    target = h.JsPeer("js-target", key)  # both dialers dial the same js listener
    client = h.JsPeer("js-client", key, listen=False)

    ours = [c_dial_ping(key, target.addr) for _ in range(ROUNDS)]
    theirs = [client.cmd("dialPing", addr=target.addr)["ms"] for _ in range(ROUNDS)]
    row("dial -> first pong (median)", statistics.median(ours), statistics.median(theirs), "ms")

    c = h.CNode("C-echo", key, extra=["--echo"])
    js_echo = h.JsPeer("js-echo", key)
    client.cmd("dial", addr=c.addr)
    client.cmd("dial", addr=js_echo.addr)
    r_c = client.cmd("echo", peer=c.peer_id, streams=20, size=1 << 20, timeout=180)
    r_j = client.cmd("echo", peer=js_echo.peer_id, streams=20, size=1 << 20, timeout=180)
    if not (r_c["allOk"] and r_j["allOk"]):
        raise RuntimeError("echo failed")
    mib = 2 * 20.0  # each byte crosses twice
    row("yamux echo 20x1MiB (js client)", mib / (r_c["ms"] / 1000.0), mib / (r_j["ms"] / 1000.0), "MiB/s",
        lower_better=False)

    c_idle = h.CNode("C-idle", key)
    j_idle = h.JsPeer("js-idle", key)
    ok_c, per_c = idle_rss(c_idle, key, IDLE)
    ok_j, per_j = idle_rss(j_idle, key, IDLE)
    row("memory per idle connection (%d/%d)" % (ok_c, ok_j), per_c, per_j, "KiB")
    print("%-34s ours %10d KiB   js %10d KiB" % ("listener RSS", h.rss_kb(c_idle.p.pid), h.rss_kb(j_idle.p.pid)))
    h.stop_c_nodes()


if __name__ == "__main__":
    main()
