#!/usr/bin/python3
"""gossipsub benchmark, ours vs js-libp2p in the same run, on 127.0.0.1:
  1. propagation latency through an N-node mesh of one kind (ring + random chords, every node dials
     1-3 others, so the mesh must relay): node 0 publishes M messages spaced by an interval; the
     publish -> receive time of every (message, node) pair; median and p95
  2. flood: a publisher P writes K messages as fast as it can; a relay R verifies and forwards them to
     a receiver X (line P - R - X); messages/second at X, and every process's CPU use meanwhile
  3. RSS of a mesh node (median of the non-publishers) idle after test 1, and of R idle after test 2
Our nodes are `w2wesher p2p listen --topic bench`; js nodes are tests/interop/gsbench.mjs (js-libp2p 2.x,
gossipsub 14.x, configured like tests/interop/peer.mjs), one process per node.

Clock: the payload starts with the publish time, 8 bytes big-endian CLOCK_MONOTONIC ns, written by this
script right before it writes the `hex:...` line to the publisher's stdin; receive time is when this
script reads the node's JSON line (one select loop over all nodes, no threads), so both kinds pay the same
pipe delays. js nodes also report their own delivery time (rxNs); the JSON keeps the difference.

Prints numbers; fails only when something did not work, never on a number. Exit 77 without node/W2W_CLI."""
import argparse
import json
import os
import random
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import harness as h  # noqa: E402

TOPIC = "bench"
KIND_WARM, KIND_LAT, KIND_FLOOD = 0, 1, 2
HDR = 13  # time_ns(8) kind(1) seq(4)


def now_ns():
    return time.monotonic_ns()


def payload(kind, seq, size, t=None):
    t = now_ns() if t is None else t
    hdr = t.to_bytes(8, "big") + bytes([kind]) + seq.to_bytes(4, "big")
    return hdr + b"\xa5" * max(0, size - HDR)


class Node:
    """One child process; stdout JSON lines are read by Poller, stderr goes to a file."""

    def __init__(self, name, argv, errdir):
        self.name = name
        self.err_path = os.path.join(errdir, name + ".stderr")
        self.errf = open(self.err_path, "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errf,
                                  cwd=h.HERE)
        h._procs.append(self.p)  # killed by PID at exit by the harness
        self.buf = b""
        self.events = []     # non-message events
        self.rx = {}         # (kind, seq) -> (t_rx_ns, t_tx_ns, rxNs or None)
        self.rx_count = {KIND_WARM: 0, KIND_LAT: 0, KIND_FLOOD: 0}
        self.last_rx = {}    # kind -> t of last receive
        self.peers = set()
        self.peer_id = None
        self.addr = None
        self.eof = False
        self.wlock = threading.Lock()

    def send(self, line):
        with self.wlock:
            self.p.stdin.write(line.encode() + b"\n")
            self.p.stdin.flush()

    def on_line(self, line, t):
        i = line.find(b'"dataHex":"')
        if i >= 0:
            hx = line[i + 11:i + 11 + 2 * HDR]
            try:
                hdr = bytes.fromhex(hx.decode())
            except ValueError:
                return
            if len(hdr) < HDR:
                return
            kind, seq = hdr[8], int.from_bytes(hdr[9:13], "big")
            tx = int.from_bytes(hdr[:8], "big")
            j = line.find(b'"rxNs":"')
            rxns = int(line[j + 8:line.index(b'"', j + 8)]) if j >= 0 else None
            key = (kind, seq)
            if key not in self.rx:
                self.rx[key] = (t, tx, rxns)
                self.rx_count[kind] = self.rx_count.get(kind, 0) + 1
                self.last_rx[kind] = t
            return
        try:
            ev = json.loads(line)
        except ValueError:
            return
        e = ev.get("event")
        if e == "listening":
            self.peer_id = ev["peerId"]
            a = ev["addrs"][0]
            self.addr = a if "/p2p/" in a else "%s/p2p/%s" % (a, ev["peerId"])
        elif e == "connected":
            self.peers.add(ev["peer"])
        elif e == "disconnected":
            self.peers.discard(ev["peer"])
        self.events.append(ev)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        self.errf.close()
        return self.p.returncode

    def stderr_tail(self, n=8):
        try:
            with open(self.err_path) as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []


class Poller:
    def __init__(self):
        self.sel = selectors.DefaultSelector()

    def add(self, node):
        os.set_blocking(node.p.stdout.fileno(), False)
        self.sel.register(node.p.stdout.fileno(), selectors.EVENT_READ, node)

    def remove(self, node):
        try:
            self.sel.unregister(node.p.stdout.fileno())
        except (KeyError, ValueError):
            pass

    def poll(self, timeout):
        for key, _ in self.sel.select(max(0.0, timeout)):
            node = key.data
            t = now_ns()
            try:
                chunk = os.read(key.fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                node.eof = True
                self.remove(node)
                continue
            data = node.buf + chunk
            lines = data.split(b"\n")
            node.buf = lines.pop()
            for line in lines:
                if line.strip():
                    node.on_line(line, t)

    def wait(self, cond, timeout, what, nodes=()):
        """Polls until cond() or raises after timeout (bounded)."""
        end = time.monotonic() + timeout
        while not cond():
            left = end - time.monotonic()
            if left <= 0:
                tails = {n.name: n.stderr_tail() for n in nodes if n}
                raise TimeoutError("no %s within %.0f s; stderr tails: %s" % (what, timeout, tails))
            for n in nodes:
                if n.eof or n.p.poll() is not None:
                    raise RuntimeError("%s exited (rc=%s) while waiting for %s; stderr: %s" %
                                       (n.name, n.p.poll(), what, n.stderr_tail()))
            self.poll(min(left, 0.2))

    def idle(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.poll(end - time.monotonic())


class Kind:
    """How to start a node of one implementation."""

    def __init__(self, label, key, errdir):
        self.label = label
        self.key = key
        self.errdir = errdir

    def argv(self):
        if self.label == "ours":
            return [h.cli(), "p2p", "listen", "--swarm-key", self.key, "--listen", "/ip4/127.0.0.1/tcp/0",
                    "--topic", TOPIC]
        return ["node", os.path.join(h.HERE, "gsbench.mjs"), "--swarm-key", self.key, "--listen",
                "/ip4/127.0.0.1/tcp/0", "--topic", TOPIC]

    def start(self, poller, names):
        nodes = [Node("%s-%s" % (self.label, n), self.argv(), self.errdir) for n in names]
        for n in nodes:
            poller.add(n)
        poller.wait(lambda: all(n.addr for n in nodes), 60, "listening (%s)" % self.label, nodes)
        return nodes


def topology(n, seed):
    """Every node i dials i+1 (a ring) and 0-2 random others: each dials 1-3, no pair twice."""
    rng = random.Random(seed)
    dials = {i: [(i + 1) % n] for i in range(n)} if n > 2 else {0: [1], 1: []}
    edges = {frozenset((i, j)) for i in dials for j in dials[i]}
    for i in range(n):
        for _ in range(rng.randint(0, 2)):
            cand = [j for j in range(n) if j != i and frozenset((i, j)) not in edges]
            if cand:
                j = rng.choice(cand)
                dials[i].append(j)
                edges.add(frozenset((i, j)))
    return dials, edges


def hops_from(src, n, edges):
    adj = {i: set() for i in range(n)}
    for e in edges:
        a, b = tuple(e)
        adj[a].add(b)
        adj[b].add(a)
    dist, todo = {src: 0}, [src]
    while todo:
        nxt = []
        for u in todo:
            for v in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + 1
                    nxt.append(v)
        todo = nxt
    return dist, adj


def connect(poller, nodes, dials, edges, label):
    for i, targets in dials.items():
        for j in targets:
            nodes[i].send("/dial " + nodes[j].addr)
    want = {i: {nodes[j].peer_id for e in edges if i in e for j in e if j != i} for i in range(len(nodes))}
    poller.wait(lambda: all(want[i] <= nodes[i].peers for i in want), 30, "all connections (%s)" % label, nodes)


def warm_up(poller, pub, receivers, size, label, timeout=30.0):
    """Publishes until one message reached every receiver: the meshes have formed."""
    end = time.monotonic() + timeout
    seq = 0
    while time.monotonic() < end:
        pub.send("hex:" + payload(KIND_WARM, seq, size).hex())
        t_end = min(end, time.monotonic() + 1.0)
        while time.monotonic() < t_end and not all((KIND_WARM, seq) in r.rx for r in receivers):
            poller.poll(0.05)
        if all((KIND_WARM, seq) in r.rx for r in receivers):
            return seq + 1
        seq += 1
    raise TimeoutError("%s: no warm-up message reached all %d receivers in %.0f s (got %s)" %
                       (label, len(receivers), timeout, [len(r.rx) for r in receivers]))


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def latency_run(kind, args, dials, edges, src, res):
    poller = Poller()
    names = ["mesh%d" % i for i in range(args.nodes)]
    t0 = time.monotonic()
    nodes = kind.start(poller, names)
    connect(poller, nodes, dials, edges, kind.label)
    t_ready = time.monotonic() - t0
    poller.idle(2.5)  # a few heartbeats: GRAFTs exchanged
    pub, recv = nodes[src], [n for i, n in enumerate(nodes) if i != src]
    nwarm = warm_up(poller, pub, recv, args.size, kind.label)
    poller.idle(0.5)
    step = args.interval_ms / 1000.0
    nxt = time.monotonic()
    for seq in range(args.messages):
        while time.monotonic() < nxt:
            poller.poll(nxt - time.monotonic())
        pub.send("hex:" + payload(KIND_LAT, seq, args.size).hex())
        nxt += step
    want = args.messages * len(recv)
    end = time.monotonic() + 5.0
    while time.monotonic() < end and sum(r.rx_count[KIND_LAT] for r in recv) < want:
        poller.poll(0.05)
    lat, harness_delay, inproc, per_hop = [], [], [], {}
    dist = hops_from(src, args.nodes, edges)[0]
    for i, r in enumerate(nodes):
        if i == src:
            continue
        for (k, _seq), (trx, ttx, rxns) in r.rx.items():
            if k != KIND_LAT:
                continue
            ms = (trx - ttx) / 1e6
            lat.append(ms)
            per_hop.setdefault(dist[i], []).append(ms)
            if rxns is not None:
                harness_delay.append((trx - rxns) / 1e6)
                inproc.append((rxns - ttx) / 1e6)
    got = len(lat)
    if not got:
        raise RuntimeError("%s: no latency message arrived anywhere" % kind.label)
    poller.idle(args.idle)
    rss = {n.name: h.rss_kb(n.p.pid) for n in nodes}
    r = res[kind.label]
    r["mesh_ready_s"] = round(t_ready, 2)
    r["warmup_messages"] = nwarm
    r["latency_ms"] = {"median": statistics.median(lat), "p95": pct(lat, 95), "max": max(lat),
                       "min": min(lat), "pairs": got, "pairs_expected": want,
                       "median_by_hops": {str(d): round(statistics.median(v), 3) for d, v in sorted(per_hop.items())}}
    if harness_delay:
        r["latency_ms"]["harness_read_delay_median"] = statistics.median(harness_delay)
        r["latency_ms"]["harness_read_delay_p95"] = pct(harness_delay, 95)
        r["latency_ms"]["inproc_median"] = statistics.median(inproc)
        r["latency_ms"]["inproc_p95"] = pct(inproc, 95)
    r["rss_kib_mesh"] = rss
    r["rss_kib_mesh_median"] = statistics.median(rss[n.name] for n in recv)
    r["mesh_degree"] = {n.name: len(n.peers) for n in nodes}
    for n in nodes:
        poller.remove(n)
        rc = n.stop()
        if kind.label == "ours" and rc != 0:
            raise RuntimeError("%s exited %s; stderr: %s" % (n.name, rc, n.stderr_tail()))


def flood_run(kind, args, res):
    poller = Poller()
    P, R, X = kind.start(poller, ["P", "R", "X"])
    P.send("/dial " + R.addr)
    X.send("/dial " + R.addr)
    poller.wait(lambda: R.peer_id in P.peers and R.peer_id in X.peers, 30, "P-R-X connections", [P, R, X])
    poller.idle(2.5)
    warm_up(poller, P, [R, X], args.size, kind.label + " flood")
    poller.idle(1.0)
    # Prepared up front so generating them costs nothing during the flood; every line carries the time
    # the flood started (the writer writes them all at once).
    t_start = now_ns()
    body = "".join("hex:%s\n" % payload(KIND_FLOOD, s, args.flood_size, t_start).hex() for s in range(args.flood))
    body = body.encode()
    procs = {"P": P, "R": R, "X": X}
    cpu0 = {k: cpu_s(n.p.pid) for k, n in procs.items()}
    me0 = os.times()
    t0 = now_ns()

    def writer():
        try:
            with P.wlock:
                P.p.stdin.write(body)
                P.p.stdin.flush()
        except OSError:
            pass
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    last_progress, last_n = time.monotonic(), 0
    hard_end = time.monotonic() + args.flood_timeout
    while X.rx_count[KIND_FLOOD] < args.flood and time.monotonic() < hard_end:
        poller.poll(0.1)
        n = X.rx_count[KIND_FLOOD] + R.rx_count[KIND_FLOOD]
        if n != last_n:
            last_n, last_progress = n, time.monotonic()
        elif time.monotonic() - last_progress > 5.0:
            break  # nothing more is coming
    t_end_x = X.last_rx.get(KIND_FLOOD)
    poller.idle(0.3)
    cpu1 = {k: cpu_s(n.p.pid) for k, n in procs.items()}
    me1 = os.times()
    th.join(timeout=10)
    nx, nr = X.rx_count[KIND_FLOOD], R.rx_count[KIND_FLOOD]
    if not nx:
        raise RuntimeError("%s: no flood message reached X" % kind.label)
    wall = (t_end_x - t0) / 1e9
    t_end_r = R.last_rx.get(KIND_FLOOD, t_end_x)
    firsts = sorted(v[0] for (k, _), v in X.rx.items() if k == KIND_FLOOD)
    steady = None
    if len(firsts) > 20:  # the middle 80 %: without start-up and tail
        a, b = firsts[len(firsts) // 10], firsts[len(firsts) * 9 // 10]
        if b > a:
            steady = (len(firsts) * 8 // 10) / ((b - a) / 1e9)
    # Does P -> R -> X still work after the flood? A message published now must arrive.
    probe = args.flood  # a flood sequence number not used by the flood
    P.send("hex:" + payload(KIND_FLOOD, probe, args.flood_size).hex())
    end = time.monotonic() + 5.0
    while time.monotonic() < end and (KIND_FLOOD, probe) not in X.rx:
        poller.poll(0.05)
    alive = (KIND_FLOOD, probe) in X.rx
    poller.idle(args.idle)
    r = res[kind.label]
    r["flood"] = {
        "works_after_flood": alive,
        "sent": args.flood, "size": args.flood_size,
        "received_X": nx, "received_R": nr,
        "rate_X_msgs_s": nx / wall, "rate_X_steady_msgs_s": steady,
        "rate_R_msgs_s": nr / ((t_end_r - t0) / 1e9) if nr else 0.0,
        "seconds_to_last_X": wall,
        "first_X_ms": (firsts[0] - t0) / 1e6,
        "cpu_s": {k: round(cpu1[k] - cpu0[k], 3) for k in procs},
        "cpu_pct_of_wall": {k: round(100 * (cpu1[k] - cpu0[k]) / wall, 1) for k in procs},
        "cpu_us_per_msg": {k: round(1e6 * (cpu1[k] - cpu0[k]) / nx, 1) for k in procs},
        "cpu_s_this_script": round((me1.user + me1.system) - (me0.user + me0.system), 3),
        "rss_kib_R_idle_after": h.rss_kb(R.p.pid),
        "rss_kib": {k: h.rss_kb(n.p.pid) for k, n in procs.items()},
    }
    for n in (P, R, X):
        poller.remove(n)
        rc = n.stop()
        if kind.label == "ours" and rc != 0:
            raise RuntimeError("%s exited %s; stderr: %s" % (n.name, rc, n.stderr_tail()))


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "MiB":
        return "%.1f MiB" % (v / 1024.0)
    if unit == "ms":
        return "%.2f ms" % v
    return "%.0f %s" % (v, unit)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--messages", type=int, default=50)
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--size", type=int, default=256, help="payload bytes (>= 13)")
    ap.add_argument("--flood", type=int, default=7000, help="messages in the flood")
    ap.add_argument("--flood-size", type=int, default=64, help="payload bytes of flood messages (>= 13)")
    ap.add_argument("--flood-timeout", type=float, default=40.0)
    ap.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading RSS")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--only", choices=["ours", "js"])
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    for name, lo, hi in (("nodes", 3, 30), ("messages", 1, 1000), ("interval_ms", 1, 1000),
                         ("size", HDR, 60000), ("flood", 10, 200000), ("flood_size", HDR, 60000)):
        if not lo <= getattr(args, name) <= hi:
            ap.error("--%s must be within %d..%d" % (name.replace("_", "-"), lo, hi))
    if args.only != "ours":
        h.need_node()
        if not os.path.exists(os.path.join(h.HERE, "gsbench.mjs")):
            h.log("SKIP: tests/interop/gsbench.mjs missing")
            sys.exit(h.SKIP)
    if args.only != "js":
        h.cli()
    tmp = tempfile.mkdtemp(prefix="w2w-bench-gs-")
    key = h.write_swarm_key(os.path.join(tmp, "swarm.key"))
    dials, edges = topology(args.nodes, args.seed)
    # The publisher: a node farthest from some other node (then the fewest connections), so that
    # messages need the most relaying.
    ecc = {i: max(hops_from(i, args.nodes, edges)[0].values()) for i in range(args.nodes)}
    adj = hops_from(0, args.nodes, edges)[1]
    src = min(range(args.nodes), key=lambda i: (-ecc[i], len(adj[i]), i))
    dist, adj = hops_from(src, args.nodes, edges)
    h.log("mesh: %d nodes, %d connections, degrees %s, publisher %d, hops from it %s" %
          (args.nodes, len(edges), [len(adj[i]) for i in range(args.nodes)], src,
           [dist[i] for i in range(args.nodes)]))
    if args.flood * (args.flood_size + 170) > (2 << 20):
        h.log("note: the flood queues more than 2 MiB at once; our publisher's gossipsub stream to R then "
              "stays stuck (router output larger than the stream's 2 MiB pending cap, lib/p2p/conn.c)")
    labels = [args.only] if args.only else ["ours", "js"]
    res = {k: {} for k in labels}
    t_begin = time.monotonic()
    for lab in labels:
        kind = Kind(lab, key, tmp)
        t = time.monotonic()
        latency_run(kind, args, dials, edges, src, res)
        flood_run(kind, args, res)
        h.log("%s done in %.1f s" % (lab, time.monotonic() - t))

    def get(lab, path):
        v = res.get(lab, {})
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        return v
    rows = [
        ("latency median (%d msgs x %d nodes)" % (args.messages, args.nodes - 1), ("latency_ms", "median"), "ms", 1),
        ("latency p95", ("latency_ms", "p95"), "ms", 1),
        ("latency max", ("latency_ms", "max"), "ms", 1),
        ("flood P->R->X rate at X (%d x %d B)" % (args.flood, args.flood_size), ("flood", "rate_X_msgs_s"), "msg/s", 0),
        ("flood rate at X, middle 80%", ("flood", "rate_X_steady_msgs_s"), "msg/s", 0),
        ("relay R CPU per message", ("flood", "cpu_us_per_msg", "R"), "us", 1),
        ("RSS of a mesh node, idle (median of %d)" % (args.nodes - 1), ("rss_kib_mesh_median",), "MiB", 1),
        ("RSS of relay R after the flood, idle", ("flood", "rss_kib_R_idle_after"), "MiB", 1),
    ]
    print("%-44s %14s %14s %8s" % ("metric", "ours", "js", "ours/js"))
    for name, path, unit, lower in rows:
        o, j = get("ours", path), get("js", path)
        ratio = "%.2f" % (o / j) if o is not None and j else "-"
        print("%-44s %14s %14s %8s" % (name, fmt(o, unit), fmt(j, unit), ratio))
    print("(lower is better for latency and RSS, higher for rates)")
    for lab in labels:
        lm, fl = res[lab]["latency_ms"], res[lab]["flood"]
        print("%-4s delivered %d/%d (message, node) pairs; median by hops %s; flood: X got %d/%d, R %d; "
              "CPU %% of wall P %.0f R %.0f X %.0f; works after the flood: %s" %
              (lab, lm["pairs"], lm["pairs_expected"], lm["median_by_hops"], fl["received_X"], fl["sent"],
               fl["received_R"], fl["cpu_pct_of_wall"]["P"], fl["cpu_pct_of_wall"]["R"],
               fl["cpu_pct_of_wall"]["X"], fl["works_after_flood"]))
    if "js" in res and "inproc_median" in res["js"].get("latency_ms", {}):
        lm = res["js"]["latency_ms"]
        print("js latency stamped inside the js receivers (no stdout/pipe/reader delay): median %.2f ms, "
              "p95 %.2f ms" % (lm["inproc_median"], lm["inproc_p95"]))
    print("total %.0f s on %d CPUs" % (time.monotonic() - t_begin, os.cpu_count()))
    broken = [lab for lab in labels if not res[lab]["flood"]["works_after_flood"]]
    if broken:
        h.log("FAIL: after the flood, P -> R -> X no longer delivers (%s)" % ", ".join(broken))
    if args.json:
        out = {"args": vars(args), "topology": {"dials": dials, "publisher": src, "hops": dist}, "results": res,
               "cpus": os.cpu_count(), "sanitized": h.sanitized() if args.only != "js" else None}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    if broken:
        sys.exit(1)


if __name__ == "__main__":
    main()
