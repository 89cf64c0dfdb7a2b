#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Mesh benchmark: w2wesher vs Nebula in the same run, same namespaces, same ping harness.

  sudo /usr/bin/python3 tests/bench/bench_mesh.py [--nodes 10] [--json out.json]

Measures, for each system (see tests/bench/README.md for the method):
  1. join: time from starting one more node until every node of an existing mesh (3 nodes, and --nodes
     nodes) gets an echo reply from it over the overlay;
  2. all at once: time for --nodes nodes started together until every ordered pair pings;
  3. RSS of the daemon(s), idle in the --nodes mesh;
  4. idle underlay bytes per node per second (eth0 counters over --idle seconds).

The ping harness is an fping-like prober (this file with --pinger) running in each node's network namespace:
one raw ICMP socket per family, one echo request every --step seconds to every destination that has not
answered yet, the receive time of the first reply recorded. Resolution: the step (default 50 ms).

Prints numbers; never fails on a number (exit 1 only when a scenario did not converge or broke).
"""
import argparse
import json
import os
import select
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

NOBODY = 65534
NEBULA_PORT = 4242
NEBULA_NET = "10.99.0"

# --------------------------------------------------------------------------------------------------
# the prober (runs inside a node's network namespace)


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def pinger_main(step, limit):
    """stdin: `add IP` lines (EOF or `quit` ends); stdout: `ok IP UNIXTIME` for each first reply."""
    ident = os.getpid() & 0xFFFF
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s4.setblocking(False)
    s6.setblocking(False)
    pending = {}  # canonical ip -> family
    seq = 0
    end = time.monotonic() + limit
    next_tick = time.monotonic()
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    inbuf = b""
    out = sys.stdout

    def canon(ip):
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return socket.inet_ntop(fam, socket.inet_pton(fam, ip)), fam

    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_tick:
            seq = (seq + 1) & 0xFFFF
            payload = struct.pack("!d", time.time()) + b"w2wbench"
            for ip, fam in list(pending.items()):
                try:
                    if fam == socket.AF_INET:
                        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
                        pkt = struct.pack("!BBHHH", 8, 0, _csum(hdr + payload), ident, seq) + payload
                        s4.sendto(pkt, (ip, 0))
                    else:  # the kernel fills in the ICMPv6 checksum
                        s6.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload, (ip, 0, 0, 0))
                except OSError:
                    pass  # no route / no interface yet / ENOKEY: try again next step
            next_tick += step
            if next_tick < now:
                next_tick = now + step
        fds = [s4, s6, stdin]
        r, _, _ = select.select(fds, [], [], max(0.0, next_tick - time.monotonic()))
        for s in r:
            if s is stdin:
                chunk = os.read(stdin.fileno(), 4096)
                if not chunk:
                    return 0  # the benchmark went away
                inbuf += chunk
                while b"\n" in inbuf:
                    line, inbuf = inbuf.split(b"\n", 1)
                    parts = line.decode().split()
                    if parts[:1] == ["quit"]:
                        return 0
                    if len(parts) == 2 and parts[0] == "add":
                        ip, fam = canon(parts[1])
                        pending[ip] = fam
                        next_tick = time.monotonic()  # probe a new destination at once
                continue
            for _ in range(64):
                try:
                    data, addr = s.recvfrom(2048)
                except OSError:
                    break
                t = time.time()
                if s is s4:
                    ihl = (data[0] & 0xF) * 4
                    icmp = data[ihl:]
                    want = 0
                else:
                    icmp = data
                    want = 129
                if len(icmp) < 8:
                    continue
                typ, _, _, rid, _ = struct.unpack("!BBHHH", icmp[:8])
                src = canon(addr[0])[0]
                if typ == want and rid == ident and src in pending:
                    del pending[src]
                    out.write("ok %s %.6f\n" % (src, t))
                    out.flush()
    return 0


class Prober:
    """A pinger process in one node's network namespace, driven from here."""

    def __init__(self, ns, step, limit):
        self.results = {}  # ip -> unix time of the first reply
        self.cv = threading.Condition()
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--pinger", "--step",
             str(step), "--pinger-limit", str(limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ok":
                with self.cv:
                    self.results[parts[1]] = float(parts[2])
                    self.cv.notify_all()

    def add(self, ip):
        self.p.stdin.write("add %s\n" % ip)
        self.p.stdin.flush()

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(timeout=5)


def canon_ip(ip):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return socket.inet_ntop(fam, socket.inet_pton(fam, ip))


def wait_all(probers_targets, timeout):
    """probers_targets: list of (prober, ip). Returns {(prober, ip): t} for the answered ones."""
    end = time.monotonic() + timeout
    got = {}
    while time.monotonic() < end:
        for pr, ip in probers_targets:
            if (pr, ip) not in got and ip in pr.results:
                got[(pr, ip)] = pr.results[ip]
        if len(got) == len(probers_targets):
            break
        time.sleep(0.02)
    return got


# --------------------------------------------------------------------------------------------------
# measurements shared by both systems


def eth0_bytes(node):
    r = subprocess.run(["ip", "netns", "exec", node.ns, "ip", "-j", "-s", "link", "show", "dev", "eth0"],
                       capture_output=True, text=True, timeout=10, check=True)
    st = json.loads(r.stdout)[0]["stats64"]
    return st["rx"]["bytes"], st["tx"]["bytes"], st["rx"]["packets"], st["tx"]["packets"]


def proto_counters(node):
    """(TCP segments sent, UDP datagrams sent, TCP payload bytes sent on live sockets) in the node."""
    r = subprocess.run(["ip", "netns", "exec", node.ns, "nstat", "-asz", "--json", "TcpOutSegs", "UdpOutDatagrams"],
                       capture_output=True, text=True, timeout=10, check=True)
    k = json.loads(r.stdout)["kernel"]
    r = subprocess.run(["ip", "netns", "exec", node.ns, "ss", "-tinH"], capture_output=True, text=True, timeout=10,
                       check=True)
    tcp_bytes = sum(int(w.split(":", 1)[1]) for w in r.stdout.split() if w.startswith("bytes_sent:"))
    return k.get("TcpOutSegs", 0), k.get("UdpOutDatagrams", 0), tcp_bytes


def idle_traffic(nodes, seconds):
    """eth0 byte counters (everything the node sends and receives on the underlay, frames with their
    Ethernet headers) over `seconds` of idleness, averaged per node; plus a breakdown of what was sent:
    TCP segments (libp2p) and payload bytes, UDP datagrams (WireGuard / Nebula)."""
    before = [eth0_bytes(n) for n in nodes]
    pb = [proto_counters(n) for n in nodes]
    time.sleep(seconds)
    after = [eth0_bytes(n) for n in nodes]
    pa = [proto_counters(n) for n in nodes]
    n = len(nodes)

    def avg(xs):
        return sum(xs) / n / seconds

    return {"tx_Bps": avg(a[1] - b[1] for a, b in zip(after, before)),
            "rx_Bps": avg(a[0] - b[0] for a, b in zip(after, before)),
            "tx_pps": avg(a[3] - b[3] for a, b in zip(after, before)),
            "tcp_segs_per_s": avg(a[0] - b[0] for a, b in zip(pa, pb)),
            "udp_datagrams_per_s": avg(a[1] - b[1] for a, b in zip(pa, pb)),
            "tcp_payload_Bps": avg(a[2] - b[2] for a, b in zip(pa, pb)),
            "per_node_tx_Bps": [(a[1] - b[1]) / seconds for a, b in zip(after, before)], "seconds": seconds}


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def procs_in_mntns(node):
    """(pid, comm) of every process in the node's private mount namespace."""
    try:
        mnt = os.readlink(f"/proc/{node.holder.pid}/ns/mnt")
    except (OSError, AttributeError):
        return []
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == mnt:
                with open(f"/proc/{pid}/comm") as f:
                    out.append((int(pid), f.read().strip()))
        except OSError:
            pass
    return out


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs), "all": xs}


# --------------------------------------------------------------------------------------------------
# the two systems, behind one small interface

T_BASE = time.time()


def start_daemon(node, argv):
    """Like netlab's Node.start (user nobody with only CAP_NET_ADMIN as an ambient capability, in the node's
    netns and private mount namespace with its own /dev/net/tun), but each log line is prefixed with the
    wall time since the benchmark started, so a slow step can be read from the log."""
    assert node.proc is None
    node.proc = subprocess.Popen(
        node.nsenter() + ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
                          "--inh-caps", "+net_admin", "--ambient-caps", "+net_admin", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    node.lab.procs.add(node)

    def copy(pipe, path):
        with open(path, "a") as f:
            for raw in pipe:
                f.write("[%9.3f] %s" % (time.time() - T_BASE, raw.decode(errors="replace")))
                f.flush()

    threading.Thread(target=copy, args=(node.proc.stdout, node.log), daemon=True).start()


class W2w:
    name = "w2wesher"

    def __init__(self, args):
        import netlab
        self.netlab = netlab
        self.args = args

    def lab(self):
        return self.netlab.Lab(range_=self.args.w2w_range, announce=self.args.announce,
                               expiry=self.args.expiry, keepalive=self.args.keepalive)

    def prepare(self, lab, node, boot):
        node.write_config(bootstrap=[boot.multiaddr()] if boot is not None else ())
        node.identity()
        node._holder()

    def start(self, node):
        start_daemon(node, [node.lab.daemon, "--config", node.config])

    def overlay_ip(self, node):
        if self.args.w2w_ip_from == "status":
            ip = node.overlay_ip()  # control socket
        else:
            # the daemon's start-up line "node NAME, peer ID, address IP, WireGuard KEY": no request to
            # the daemon while it starts (polling its control socket perturbs the start, see README)
            ip = None
            try:
                with open(node.log, errors="replace") as f:
                    for line in f:
                        if ", address " in line and ", WireGuard " in line:
                            ip = line.split(", address ", 1)[1].split(",", 1)[0].strip()
            except OSError:
                pass
        return canon_ip(ip.split("/")[0]) if ip and ip != "-" else None

    def depart(self, node):
        try:
            node.request("leave")
        except OSError:
            pass
        node.stop()
        node.teardown()

    def stalled(self, nodes):
        """Names of daemons sleeping in epoll_wait with no timeout although the library always has a timer
        armed (the gossipsub heartbeat): their timers run only when a socket wakes them (see README)."""
        out = []
        for node in nodes:
            try:
                with open(f"/proc/{node.proc.pid}/syscall") as f:
                    sc = f.read().split()
            except (OSError, AttributeError):
                continue
            # x86-64: 232 epoll_wait(fd, events, maxevents, timeout), 281 epoll_pwait(..., timeout, sigmask)
            if len(sc) > 4 and sc[0] in ("232", "281") and int(sc[4], 16) & 0xFFFFFFFF == 0xFFFFFFFF:
                out.append(node.name)
        return out

    def rss(self, node):
        d = rss_kb(node.proc.pid) if node.alive() else None
        wg = [rss_kb(pid) for pid, comm in procs_in_mntns(node) if comm == "wireguard-go"]
        wg = [x for x in wg if x is not None]
        return {"w2wesherd": d, "wireguard-go": sum(wg) if wg else None}


class Nebula:
    name = "nebula"

    def __init__(self, args):
        import netlab
        self.netlab = netlab
        self.args = args
        self.certs = None
        self.lighthouse = None
        self.ips = {}

    def lab(self):
        lab = self.netlab.Lab()
        self.certs = os.path.join(lab.tmp, "nebula-ca")
        os.makedirs(self.certs)
        subprocess.run(["nebula-cert", "ca", "-name", "w2w-bench", "-out-crt", f"{self.certs}/ca.crt",
                        "-out-key", f"{self.certs}/ca.key"], check=True, capture_output=True, timeout=30)
        self.lighthouse = None
        return lab

    def prepare(self, lab, node, boot):
        ip = f"{NEBULA_NET}.{node.idx + 1}"
        self.ips[node] = ip
        if boot is None:
            self.lighthouse = node
        lh_ip = f"{NEBULA_NET}.{self.lighthouse.idx + 1}"
        crt, key = os.path.join(node.dir, "host.crt"), os.path.join(node.dir, "host.key")
        subprocess.run(["nebula-cert", "sign", "-ca-crt", f"{self.certs}/ca.crt", "-ca-key",
                        f"{self.certs}/ca.key", "-name", node.name, "-ip", f"{ip}/16", "-out-crt", crt,
                        "-out-key", key], check=True, capture_output=True, timeout=30)
        shutil.copy(f"{self.certs}/ca.crt", os.path.join(node.dir, "ca.crt"))
        am_lh = node is self.lighthouse
        # Nebula's shipped example config (/usr/share/doc/nebula/examples/config.yml) where it matters:
        # lighthouse.interval 60, punchy.punch true, MTU 1300; JSON is YAML.
        cfg = {
            "pki": {"ca": os.path.join(node.dir, "ca.crt"), "cert": crt, "key": key},
            "static_host_map": {lh_ip: [f"{self.lighthouse.ip}:{NEBULA_PORT}"]},
            "lighthouse": {"am_lighthouse": am_lh, "interval": 60, "hosts": [] if am_lh else [lh_ip]},
            "listen": {"host": "0.0.0.0", "port": NEBULA_PORT},
            "punchy": {"punch": True},
            "tun": {"disabled": False, "dev": "nebula1", "drop_local_broadcast": False,
                    "drop_multicast": False, "tx_queue": 500, "mtu": 1300},
            "logging": {"level": "info", "format": "text"},
            "firewall": {"conntrack": {"tcp_timeout": "12m", "udp_timeout": "3m", "default_timeout": "10m"},
                         "outbound": [{"port": "any", "proto": "any", "host": "any"}],
                         "inbound": [{"port": "any", "proto": "any", "host": "any"}]},
        }
        node.nebula_config = os.path.join(node.dir, "nebula.yml")
        with open(node.nebula_config, "w") as f:
            json.dump(cfg, f, indent=1)
        for p in (crt, key, node.nebula_config, os.path.join(node.dir, "ca.crt")):
            os.chown(p, NOBODY, NOBODY)
            os.chmod(p, 0o600)
        node._holder()

    def start(self, node):
        start_daemon(node, ["nebula", "-config", node.nebula_config])

    def overlay_ip(self, node):
        return self.ips[node]

    def depart(self, node):
        node.stop()
        node.teardown()

    def stalled(self, nodes):
        return []

    def rss(self, node):
        return {"nebula": rss_kb(node.proc.pid) if node.alive() else None}


# --------------------------------------------------------------------------------------------------
# scenarios


def log(msg):
    print("[%9.3f] %s" % (time.time() - T_BASE, msg), flush=True)


def all_at_once(sysm, lab, n, args):
    """Starts n nodes together (node 1 is the bootstrap / lighthouse). Returns (nodes, ips, result); result
    has `seconds` (None when some ordered pair never pinged within --timeout)."""
    nodes = [lab.add_node() for _ in range(n)]
    sysm.prepare(lab, nodes[0], None)
    for node in nodes[1:]:
        sysm.prepare(lab, node, nodes[0])
    probers = {node: Prober(node.ns, args.step, args.timeout + 30) for node in nodes}
    time.sleep(0.5)  # probers up (python start) before t0
    ips = {}
    t0 = time.time()
    log(f"[{sysm.name}]   t0: starting {n} nodes")
    for node in nodes:
        sysm.start(node)
    end = time.monotonic() + args.timeout
    # destinations are added as soon as each node's overlay address is known (at once for Nebula)
    while len(ips) < n and time.monotonic() < end:
        for node in nodes:
            if node not in ips:
                ip = sysm.overlay_ip(node)
                if ip:
                    ips[node] = ip
                    for other in nodes:
                        if other is not node:
                            probers[other].add(ip)
        time.sleep(0.01)
    pairs = [(probers[a], ips[b]) for a in nodes for b in nodes if a is not b and b in ips]
    got = wait_all(pairs, max(0.0, end - time.monotonic()))
    stalled = sysm.stalled(nodes)
    for pr in probers.values():
        pr.close()
    res = {"seconds": None, "pairs": n * (n - 1), "pairs_ok": len(got), "stalled_daemons": stalled}
    if len(got) == n * (n - 1):
        res["seconds"] = max(got.values()) - t0
        log(f"[{sysm.name}]   full reachability (all {n * (n - 1)} ordered pairs) after "
            f"{res['seconds'] * 1000:.0f} ms")
    else:
        missing = [(a.name, b.name) for a in nodes for b in nodes
                   if a is not b and (b not in ips or (probers[a], ips[b]) not in got)]
        res["missing"] = missing
        log(f"[{sysm.name}]   NOT CONVERGED: {len(missing)} of {n * (n - 1)} ordered pairs never pinged within "
            f"{args.timeout:g} s, e.g. {missing[:4]}")
    if stalled:
        log(f"[{sysm.name}]   daemons blocked in epoll_wait without a timeout: {stalled}")
    return nodes, ips, res


def join(sysm, lab, mesh, ips, args):
    """One more node joins `mesh` (bootstrap: mesh[0]). Seconds until every mesh node got a reply from it,
    and until it got a reply from every mesh node (None: not within --timeout); the joiner then departs
    (w2wesher: leave)."""
    node = lab.add_node()
    sysm.prepare(lab, node, mesh[0])
    probers = {m: Prober(m.ns, args.step, args.timeout + 30) for m in mesh + [node]}
    time.sleep(0.5)
    for m in mesh:
        probers[node].add(ips[m])
    t0 = time.time()
    log(f"[{sysm.name}]   t0: starting {node.name}")
    sysm.start(node)
    end = time.monotonic() + args.timeout
    ip = None
    while ip is None and time.monotonic() < end:
        ip = sysm.overlay_ip(node)
        if ip is None:
            time.sleep(0.005)
    t_ip = time.time() - t0
    to_it = [(probers[m], ip) for m in mesh] if ip else []
    from_it = [(probers[node], ips[m]) for m in mesh if m in ips]
    if ip:
        for m in mesh:
            probers[m].add(ip)
    got = wait_all(to_it + from_it, max(0.0, end - time.monotonic()))
    stalled = sysm.stalled(mesh + [node])
    for pr in probers.values():
        pr.close()
    t_to = [got[k] - t0 for k in to_it if k in got]
    t_from = [got[k] - t0 for k in from_it if k in got]
    sysm.depart(node)
    res = {"all_reach_it": max(t_to) if len(t_to) == len(mesh) else None,
           "it_reaches_all": max(t_from) if len(t_from) == len(mesh) else None,
           "first_reply": min(t_to + t_from) if t_to or t_from else None,
           "address_known": t_ip if ip else None, "reached_it": len(t_to), "it_reached": len(t_from),
           "stalled_daemons": stalled,
           "per_node_to_it": {m.name: got[(probers[m], ip)] - t0 for m in mesh if ip and (probers[m], ip) in got},
           "per_node_from_it": {m.name: got[(probers[node], ips[m])] - t0 for m in mesh
                                if m in ips and (probers[node], ips[m]) in got}}
    if res["all_reach_it"] is not None:
        log(f"[{sysm.name}]   join into {len(mesh)}: all reach it after {res['all_reach_it'] * 1000:.0f} ms, "
            f"it reaches all after {(res['it_reaches_all'] or float('nan')) * 1000:.0f} ms")
    else:
        log(f"[{sysm.name}]   join into {len(mesh)}: NOT CONVERGED within {args.timeout:g} s: {len(t_to)}/"
            f"{len(mesh)} reached it, it reached {len(t_from)}/{len(mesh)}")
    if stalled:
        log(f"[{sysm.name}]   daemons blocked in epoll_wait without a timeout: {stalled}")
    return res


def keep_logs(sysm, lab, args, tag):
    if not args.keep_logs:
        return
    d = os.path.join(args.keep_logs, f"{sysm.name}-{tag}")
    os.makedirs(d, exist_ok=True)
    for node in lab.nodes:
        try:
            shutil.copy(node.log, os.path.join(d, f"{node.name}.log"))
        except OSError:
            pass


def big_mesh(sysm, lab, args, res):
    """--nodes nodes at once, idle traffic, RSS, joins into it."""
    log(f"[{sysm.name}] {args.nodes} nodes started at once ...")
    nodes, ips, res["all_at_once"] = all_at_once(sysm, lab, args.nodes, args)
    log(f"[{sysm.name}] settling {args.settle:g} s, then idle traffic over {args.idle:g} s ...")
    time.sleep(args.settle)
    res["idle"] = idle_traffic(nodes, args.idle)
    i = res["idle"]
    log(f"[{sysm.name}]   idle eth0 per node: tx {i['tx_Bps']:.1f} B/s ({i['tx_pps']:.2f} packets/s: "
        f"{i['tcp_segs_per_s']:.2f} TCP segments with {i['tcp_payload_Bps']:.1f} B/s payload, "
        f"{i['udp_datagrams_per_s']:.2f} UDP datagrams), rx {i['rx_Bps']:.1f} B/s")
    rss = [sysm.rss(n) for n in nodes]
    res["rss_kb"] = rss
    for k in rss[0]:
        log(f"[{sysm.name}]   RSS {k}: median {statistics.median(r[k] or 0 for r in rss) / 1024:.1f} MiB")
    res["join_into_%d" % args.nodes] = [join(sysm, lab, nodes, ips, args) for _ in range(args.rounds)]


def small_mesh(sysm, lab, args, res):
    """3 nodes at once, joins into it."""
    log(f"[{sysm.name}] 3 nodes at once, then joins into 3 ...")
    nodes, ips, res["all_at_once_3"] = all_at_once(sysm, lab, 3, args)
    res["join_into_3"] = [join(sysm, lab, nodes, ips, args) for _ in range(args.rounds)]


def at_once_only(size, key):
    def scenario(sysm, lab, args, res):
        log(f"[{sysm.name}] {size} nodes at once (repeat) ...")
        res.setdefault(key, []).append(all_at_once(sysm, lab, size, args)[2])
    return scenario


def run_system(sysm, args):
    res = {}
    plan = [("big", big_mesh), ("small", small_mesh)]
    for i in range(1, args.at_once_runs):
        plan += [(f"big-{i + 1}", at_once_only(args.nodes, "all_at_once_more")),
                 (f"small-{i + 1}", at_once_only(3, "all_at_once_3_more"))]
    for tag, scenario in plan:
        with sysm.lab() as lab:
            try:
                scenario(sysm, lab, args, res)
            finally:
                keep_logs(sysm, lab, args, tag)
    return res


def summarize(res, n):
    """Flat metrics: name -> {"value", "unit", "runs", "converged"} (value None: no run converged)."""
    out = {}

    def put(name, values, unit, scale=1.0):
        ok = [v * scale for v in values if v is not None]
        out[name] = {"value": statistics.median(ok) if ok else None, "unit": unit, "runs": len(values),
                     "converged": len(ok)}

    for size in (3, n):
        js = res.get("join_into_%d" % size)
        if js:
            put(f"join into {size} nodes: all reach it (median)", [j["all_reach_it"] for j in js], "ms", 1000)
            put(f"join into {size} nodes: it reaches all (median)", [j["it_reaches_all"] for j in js], "ms",
                1000)
    r3 = [res["all_at_once_3"]] + res.get("all_at_once_3_more", [])
    rn = [res["all_at_once"]] + res.get("all_at_once_more", [])
    put(f"3 nodes at once -> full mesh (median of {len(r3)})", [r["seconds"] for r in r3], "ms", 1000)
    put(f"{n} nodes at once -> full mesh (median of {len(rn)})", [r["seconds"] for r in rn], "ms", 1000)
    rss = res["rss_kb"]
    keys = list(rss[0])
    for k in keys:
        put(f"RSS {k} (median of {len(rss)})", [r[k] for r in rss], "MiB", 1 / 1024)
    put(f"RSS total per node (median of {len(rss)})", [sum(r[k] or 0 for k in keys) for r in rss], "MiB", 1 / 1024)
    put("idle underlay tx per node", [res["idle"]["tx_Bps"]], "B/s")
    put("idle underlay rx+tx per node", [res["idle"]["tx_Bps"] + res["idle"]["rx_Bps"]], "B/s")
    return out


def fmt(m):
    if m is None:
        return "-"
    if m["value"] is None:
        return "DNF"
    txt = "%.1f %s" % (m["value"], m["unit"])
    if m["converged"] < m["runs"]:
        txt += " (%d DNF)" % (m["runs"] - m["converged"])
    return txt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pinger", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pinger-limit", type=float, default=300, help=argparse.SUPPRESS)
    ap.add_argument("--nodes", type=int, default=10, help="size of the big mesh (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="joins per mesh size (default 3)")
    ap.add_argument("--at-once-runs", type=int, default=3,
                    help="runs of the all-at-once scenarios, each in a fresh lab (default 3)")
    ap.add_argument("--step", type=float, default=0.05, help="probe step in seconds (default 0.05)")
    ap.add_argument("--timeout", type=float, default=90, help="per scenario, seconds (default 90: more than "
                    "one default AnnounceInterval)")
    ap.add_argument("--idle", type=float, default=60, help="idle traffic window, seconds (default 60)")
    ap.add_argument("--settle", type=float, default=5, help="wait before the idle window (default 5)")
    ap.add_argument("--announce", default="1m", help="w2wesher AnnounceInterval (default: its default 1m)")
    ap.add_argument("--keepalive", default="1m", help="w2wesher PersistentKeepalive (default: its default 1m)")
    ap.add_argument("--expiry", default="3m30s", help="w2wesher PeerExpiry (default: its default 3m30s)")
    ap.add_argument("--w2w-range", default="fd6d:142e:65e7:4cc1::/64",
                    help="w2wesher NetworkRange (default: its default IPv6 range)")
    ap.add_argument("--w2w-ip-from", choices=("log", "status"), default="log",
                    help="learn a starting w2wesherd's overlay address from its log (default) or by polling "
                         "its control socket every 5-10 ms")
    ap.add_argument("--only", choices=("w2wesher", "nebula"), help="run one system only")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy every daemon's log here")
    args = ap.parse_args()
    if args.pinger:
        return pinger_main(args.step, args.pinger_limit)

    import netlab
    err = netlab.requirements()
    if err:
        print(f"bench_mesh: SKIP: {err}")
        return 77
    if not 2 <= args.nodes <= 60 or not 1 <= args.rounds <= 20 or not 1 <= args.idle <= 600 or \
            not 1 <= args.at_once_runs <= 10 or not 0.01 <= args.step <= 1 or not 1 <= args.timeout <= 600:
        ap.error("--nodes 2..60, --rounds 1..20, --idle 1..600, --at-once-runs 1..10, --step 0.01..1, "
                 "--timeout 1..600")

    systems = []
    if args.only != "nebula":
        systems.append(W2w(args))
    if args.only != "w2wesher":
        if shutil.which("nebula") and shutil.which("nebula-cert"):
            systems.append(Nebula(args))
        else:
            print("bench_mesh: nebula/nebula-cert not installed (Debian package `nebula`): Nebula SKIPPED")

    try:
        head = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        head = None
    results = {"checkout": head, "build_dir": netlab.find_build(), "nodes": args.nodes, "rounds": args.rounds, "step_s": args.step, "idle_s": args.idle,
               "w2wesher_config": {"AnnounceInterval": args.announce, "PersistentKeepalive": args.keepalive,
                                   "PeerExpiry": args.expiry, "NetworkRange": args.w2w_range,
                                   "Backend": "userspace (wireguard-go)"},
               "nebula_config": {"version": _nebula_version(), "lighthouse.interval": 60, "punchy.punch": True,
                                 "lighthouses": 1, "run_as": "nobody + ambient CAP_NET_ADMIN"},
               "raw": {}, "metrics": {}}
    failed = False
    for sysm in systems:
        try:
            raw = run_system(sysm, args)
        except (RuntimeError, TimeoutError, subprocess.SubprocessError, OSError, KeyError, IndexError) as e:
            print(f"bench_mesh: {sysm.name}: FAILED: {e!r}")
            failed = True
            continue
        results["raw"][sysm.name] = raw
        results["metrics"][sysm.name] = summarize(raw, args.nodes)
        if any(m["converged"] < m["runs"] for m in results["metrics"][sysm.name].values()):
            failed = True

    print()
    print(f"mesh benchmark: {args.nodes}-node mesh, {args.rounds} joins per size, {args.at_once_runs} runs of "
          f"each all-at-once, probe step "
          f"{args.step * 1000:.0f} ms, idle window {args.idle:g} s, timeout {args.timeout:g} s "
          f"(lower is better everywhere; DNF = did not converge within the timeout)")
    w = results["metrics"].get("w2wesher", {})
    nb = results["metrics"].get("nebula", {})
    names = list(w) + [k for k in nb if k not in w]
    print("%-46s %18s %18s %7s" % ("metric", "w2wesher", "nebula", "ratio"))
    for k in names:
        a, b = w.get(k), nb.get(k)
        ratio = "-"
        if a and b and a["value"] is not None and b["value"]:
            ratio = "%.2f" % (a["value"] / b["value"])
        print("%-46s %18s %18s %7s" % (k, fmt(a), fmt(b), ratio))
    print("ratio = w2wesher / nebula")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"results written to {args.json}")
    return 1 if failed else 0


def _nebula_version():
    try:
        r = subprocess.run(["nebula", "-version"], capture_output=True, text=True, timeout=10)
        return r.stdout.strip().replace("Version: ", "")
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
