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
import signal
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

    out.write("ready\n")
    out.flush()
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


def seqpinger_main(wait, gap, limit):
    """The application-like prober: stdin `self IP` (this node's overlay address), `add IP`, `quit`; stdout
    `ready` once up, `self-ready UNIXTIME` once IP is assigned here (a socket can bind to it), then per added
    destination `ok IP UNIXTIME TRIES FIRST_SENT_UNIXTIME SEND_ERRORS` when a probe is answered.

    Each destination is probed like `ping -c1 -W<wait>` in a loop: one echo request; a reply to THAT request
    within `wait` seconds ends it; otherwise (timeout, or a send error, which makes ping exit at once) the
    next request goes out `gap` seconds later. Destinations are independent (one such loop per ordered
    pair), and probing starts only once this node's own address is assigned: an application cannot send
    from an address the node does not have yet."""
    ident = os.getpid() & 0xFFFF
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s4.setblocking(False)
    s6.setblocking(False)
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    out = sys.stdout
    dests = {}  # canonical ip -> dict(fam, seq, tries, sent (monotonic) or None, next (monotonic), first)
    self_ip = None
    self_ready = False
    next_self_check = 0.0
    inbuf = b""
    end = time.monotonic() + limit
    out.write("ready\n")
    out.flush()

    def canon(ip):
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return socket.inet_ntop(fam, socket.inet_pton(fam, ip)), fam

    def send(ip, d, now):
        d["seq"] = (d["seq"] + 1) & 0xFFFF
        d["tries"] += 1
        payload = struct.pack("!d", time.time()) + b"w2wseqpr"
        try:
            if d["fam"] == socket.AF_INET:
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, d["seq"])
                s4.sendto(struct.pack("!BBHHH", 8, 0, _csum(hdr + payload), ident, d["seq"]) + payload, (ip, 0))
            else:
                s6.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, d["seq"]) + payload, (ip, 0, 0, 0))
        except OSError:
            d["sent"] = None  # like ping exiting with an error at once: next try after the gap
            d["next"] = now + gap
            d["send_errors"] += 1
            return
        if d["first"] is None:
            d["first"] = time.time()
        d["sent"] = now

    while time.monotonic() < end:
        now = time.monotonic()
        if self_ip and not self_ready and now >= next_self_check:
            # Assigned = it can receive: a datagram sent to it from it arrives. Binding is not enough: Linux
            # inserts the local route of a new IPv6 address in its DAD work (addrconf_dad_completed, run from
            # a workqueue even with IFA_F_NODAD), after the address can already be bound; until then packets
            # to it are dropped (captures showed first replies crossing the tunnel and never reaching us).
            fam = socket.AF_INET6 if ":" in self_ip else socket.AF_INET
            t = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                t.bind((self_ip, 0))
                t.sendto(b"w2wself", t.getsockname())
                if select.select([t], [], [], 0.002)[0] and t.recv(16) == b"w2wself":
                    self_ready = True
                    out.write("self-ready %.6f\n" % time.time())
                    out.flush()
                else:
                    next_self_check = time.monotonic() + 0.001
            except OSError:
                next_self_check = now + 0.005
            finally:
                t.close()
        deadline = now + 0.5
        if self_ip and not self_ready:
            deadline = min(deadline, next_self_check)
        for ip, d in dests.items():
            if d["done"] or not self_ready:
                continue
            if d["sent"] is not None and now >= d["sent"] + wait:  # ping -W: no reply in time
                d["sent"] = None
                d["next"] = now + gap
            if d["sent"] is None and now >= d["next"]:
                send(ip, d, now)
            deadline = min(deadline, d["sent"] + wait if d["sent"] is not None else d["next"])
        r, _, _ = select.select([s4, s6, stdin], [], [], max(0.0, deadline - time.monotonic()))
        for s in r:
            if s is stdin:
                chunk = os.read(stdin.fileno(), 4096)
                if not chunk:
                    return 0
                inbuf += chunk
                while b"\n" in inbuf:
                    line, inbuf = inbuf.split(b"\n", 1)
                    parts = line.decode().split()
                    if parts[:1] == ["quit"]:
                        return 0
                    if len(parts) == 2 and parts[0] == "self":
                        self_ip = canon(parts[1])[0]
                    elif len(parts) == 2 and parts[0] == "add":
                        ip, fam = canon(parts[1])
                        if ip not in dests:
                            dests[ip] = {"fam": fam, "seq": 0, "tries": 0, "sent": None, "next": 0.0,
                                         "first": None, "done": False, "send_errors": 0}
                continue
            for _ in range(64):
                try:
                    data, addr = s.recvfrom(2048)
                except OSError:
                    break
                t = time.time()
                if s is s4:
                    icmp, want = data[(data[0] & 0xF) * 4:], 0
                else:
                    icmp, want = data, 129
                if len(icmp) < 8:
                    continue
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                d = dests.get(canon(addr[0])[0])
                # only the reply to the request in flight counts: a late reply to an earlier try is what
                # a new `ping -c1` (another ident) would never see
                if typ == want and rid == ident and d and not d["done"] and d["sent"] is not None and \
                        rseq == d["seq"]:
                    d["done"] = True
                    out.write("ok %s %.6f %d %.6f %d\n" % (canon(addr[0])[0], t, d["tries"], d["first"],
                                                          d["send_errors"]))
                    out.flush()
    return 0


def capture_main(namespaces, seconds):
    """Counts every frame on eth0 of each named network namespace for `seconds`, per second, by class
    (TCP, UDP, other) and direction. One AF_PACKET socket per node, opened inside its namespace (setns)
    and read here: passive, the daemons see nothing. Prints `ready`, then one JSON object at the end:
    {"t0": unix time of second 0, "nodes": {ns: [[tcp_rx, tcp_tx, udp_rx, udp_tx, oth_rx, oth_tx,
    tcp_pkts, udp_pkts, arp_rxtx (part of other)], ...per second]}, "other_kinds": {"ethertype/proto":
    bytes}}. Byte counts are frame lengths with the Ethernet header, as the eth0 counters count them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet = 0x40000000
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    socks = {}
    try:
        for ns in namespaces:
            fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, clone_newnet) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
                s.bind(("eth0", 0x0003))
                s.setblocking(False)
                socks[s] = ns
            finally:
                os.close(fd)
    finally:
        if libc.setns(home, clone_newnet) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(home)
    nsec = int(seconds + 0.999)
    counts = {ns: [[0] * 9 for _ in range(nsec)] for ns in namespaces}
    buf = bytearray(80)
    kinds = {}  # "ethertype/IP protocol" -> bytes, for the frames counted as other (all nodes)
    t0 = time.time()
    m0 = time.monotonic()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    end = m0 + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select(list(socks), [], [], left)
        for s in r:
            row = counts[socks[s]]
            for _ in range(256):
                try:
                    n, addr = s.recvfrom_into(buf, len(buf), socket.MSG_TRUNC)
                except OSError:
                    break
                sec = int(time.monotonic() - m0)
                if sec >= nsec:
                    continue
                tx = 1 if addr[2] == socket.PACKET_OUTGOING else 0
                etype = (buf[12] << 8) | buf[13]
                proto = buf[23] if etype == 0x0800 else buf[20] if etype == 0x86DD else None
                c = row[sec]
                if proto == 6:
                    c[0 + tx] += n
                    c[6] += 1
                elif proto == 17:
                    c[2 + tx] += n
                    c[7] += 1
                else:
                    c[4 + tx] += n
                    if etype == 0x0806:
                        c[8] += n
                    kind = "%04x/%s" % (etype, proto)
                    kinds[kind] = kinds.get(kind, 0) + n
    sys.stdout.write(json.dumps({"t0": t0, "seconds": nsec, "nodes": counts, "other_kinds": kinds}) + "\n")
    sys.stdout.flush()
    return 0


class Capture:
    """capture_main in a child process (ours, killed by PID if it does not finish)."""

    def __init__(self, namespaces, seconds):
        self.seconds = seconds
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--capture", ",".join(namespaces),
                                   "--idle", str(seconds)], stdout=subprocess.PIPE, text=True)
        if not _readline_timeout(self.p, 20).startswith("ready"):
            self.close()
            raise RuntimeError("capture did not start")

    def result(self):
        try:
            out, _ = self.p.communicate(timeout=self.seconds + 30)
            return json.loads(out.splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            self.close()
            return None

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=5)


def _readline_timeout(p, timeout):
    """One line from p's stdout within `timeout` seconds ('' if none). Only for a process's first line:
    select() sees the pipe, not the text reader's buffer, which is empty before the first read (a later
    line may already sit in that buffer: cli-p2p's test read the fd directly for that reason)."""
    r, _, _ = select.select([p.stdout], [], [], timeout)
    return p.stdout.readline() if r else ""


class Prober:
    """A pinger process in one node's network namespace, driven from here."""

    def __init__(self, ns, step, limit):
        self.results = {}  # ip -> unix time of the first reply
        self.cv = threading.Condition()
        self.ready = threading.Event()
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--pinger", "--step",
             str(step), "--pinger-limit", str(limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            parts = line.split()
            if parts == ["ready"]:
                self.ready.set()
            elif len(parts) == 3 and parts[0] == "ok":
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


class SeqProber(Prober):
    """A seqpinger process (the application-like prober) in one node's network namespace."""

    def __init__(self, ns, wait, gap, limit):
        self.results = {}  # ip -> (unix time of the answer, tries, unix time of the first try, send errors)
        self.self_ready = None  # unix time this node's own overlay address was assigned
        self.cv = threading.Condition()
        self.ready = threading.Event()
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--seqpinger", "--seq-wait",
             str(wait), "--seq-gap", str(gap), "--pinger-limit", str(limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            parts = line.split()
            with self.cv:
                if parts == ["ready"]:
                    self.ready.set()
                elif len(parts) == 2 and parts[0] == "self-ready":
                    self.self_ready = float(parts[1])
                elif len(parts) == 6 and parts[0] == "ok":
                    self.results[parts[1]] = (float(parts[2]), int(parts[3]), float(parts[4]), int(parts[5]))
                self.cv.notify_all()

    def set_self(self, ip):
        self.p.stdin.write("self %s\n" % ip)
        self.p.stdin.flush()


def wait_ready(probers, timeout=30):
    """Every prober process is up (python started, sockets open) before the clock starts."""
    end = time.monotonic() + timeout
    for pr in probers:
        if not pr.ready.wait(max(0.0, end - time.monotonic())):
            raise RuntimeError("a prober did not start within %g s" % timeout)


def close_all(probers):
    for pr in probers:
        pr.close()


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
    wall time since the benchmark started (the daemon's own, with w2wesherd --log-time), so a slow step can
    be read from the log."""
    assert node.proc is None
    node.proc = subprocess.Popen(
        node.nsenter() + ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
                          "--inh-caps", "+net_admin", "--ambient-caps", "+net_admin", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    node.lab.procs.add(node)

    def copy(pipe, path):
        with open(path, "a") as f:
            for raw in pipe:
                line = raw.decode(errors="replace")
                at = time.time()
                # w2wesherd --log-time: the daemon's own clock when it wrote the line (this thread may read
                # it much later on a busy machine)
                if line.startswith("@"):
                    stamp, _, rest = line.partition(" ")
                    try:
                        at, line = float(stamp[1:]), rest
                    except ValueError:
                        pass
                f.write("[%9.3f] %s" % (at - T_BASE, line))
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
        if self.args.admission:
            self._admit(lab, node)
        node._holder()

    def _admit(self, lab, node):
        """--admission: every node in admission mode with its own token (docs/security.md "Admission
        mode"), so join times include the token checks (identify, every announcement)."""
        key = os.path.join(lab.tmp, "op.key")
        if not os.path.exists(key):
            out = subprocess.run([lab.cli, "admission", "genkey"], capture_output=True, text=True, check=True)
            with open(key, "w") as f:
                f.write(out.stdout)
            os.chmod(key, 0o600)
        pub = subprocess.run([lab.cli, "admission", "pubkey"], stdin=open(key), capture_output=True, text=True,
                             check=True).stdout.strip()
        tok = subprocess.run([lab.cli, "admission", "sign", "--key", key, "--peer", node.peer_id],
                             capture_output=True, text=True, check=True).stdout.strip()
        node.set_keys("P2P", AdmissionKey=pub, AdmissionToken=tok)

    def start(self, node):
        start_daemon(node, [node.lab.daemon, "--config", node.config, "--log-time"])

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

    def pids(self, node):
        out = [("w2wesherd", node.proc.pid)] if node.alive() else []
        return out + [(comm, pid) for pid, comm in node.procs() if comm == "wireguard-go"]

    def rss(self, node):
        d = rss_kb(node.proc.pid) if node.alive() else None
        wg = [rss_kb(pid) for pid, comm in node.procs() if comm == "wireguard-go"]
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

    def make_ca(self, tmp, name):
        """The lab's certificate authority, in tmp/nebula-ca."""
        self.certs = os.path.join(tmp, "nebula-ca")
        os.makedirs(self.certs)
        subprocess.run(["nebula-cert", "ca", "-name", name, "-out-crt", f"{self.certs}/ca.crt",
                        "-out-key", f"{self.certs}/ca.key"], check=True, capture_output=True, timeout=30)

    def tune(self, cfg, am_lh, lh_ip):
        """Where a benchmark departs from the example config (bench_nat.py)."""

    def lab(self):
        lab = self.netlab.Lab()
        try:
            self.make_ca(lab.tmp, "w2w-bench")
        except BaseException:
            lab.close()  # not yet inside the caller's `with`: delete the hub namespace here
            raise
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
        self.tune(cfg, am_lh, lh_ip)
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

    def pids(self, node):
        return [("nebula", node.proc.pid)] if node.alive() else []

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
    probers = {}
    try:
        for node in nodes:
            probers[node] = Prober(node.ns, args.step, args.timeout + 30)
        wait_ready(probers.values())  # probers up (python start) before t0
        return _all_at_once(sysm, nodes, probers, n, args)
    finally:
        close_all(probers.values())


def _all_at_once(sysm, nodes, probers, n, args):
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
    probers = {}
    try:
        for m in mesh + [node]:
            probers[m] = Prober(m.ns, args.step, args.timeout + 30)
        wait_ready(probers.values())
        return _join(sysm, node, mesh, ips, probers, args)
    finally:
        close_all(probers.values())


def _join(sysm, node, mesh, ips, probers, args):
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


# --------------------------------------------------------------------------------------------------
# the application-like (sequential) prober: first-try success and time until every pair answered


def _seq_summary(sysm, what, t0, pairs, probers, ready_at):
    """pairs: list of (src node, dst node, dst ip). Common result of the seq scenarios."""
    per = []
    for a, b, ip in pairs:
        r = probers[a].results.get(ip) if ip else None
        both = None
        if a in ready_at and b in ready_at:
            both = max(ready_at[a], ready_at[b]) - t0
        per.append({"from": a.name, "to": b.name, "answered": r[0] - t0 if r else None,
                    "tries": r[1] if r else None, "first_try_at": r[2] - t0 if r else None,
                    "send_errors": r[3] if r else None, "both_addresses": both})
    done = [x for x in per if x["answered"] is not None]
    res = {"pairs": len(pairs), "pairs_ok": len(done),
           "first_try_ok": sum(1 for x in done if x["tries"] == 1),
           "seconds": max(x["answered"] for x in done) if len(done) == len(pairs) and pairs else None,
           "p50_pair": statistics.median(x["answered"] for x in done) if done else None,
           # pairs that needed more than 4 s after their first try: WireGuard's 5 s REKEY_TIMEOUT or worse
           "pairs_over_4s": sum(1 for x in done if x["answered"] - x["first_try_at"] > 4.0),
           "max_tries": max((x["tries"] for x in done), default=None),
           "addresses_assigned": max(ready_at.values()) - t0 if ready_at else None, "per_pair": per}
    if res["seconds"] is not None:
        log(f"[{sysm.name}]   {what}: every pair answered after {res['seconds'] * 1000:.0f} ms (seq probe); first "
            f"try answered {res['first_try_ok']}/{len(pairs)}; {res['pairs_over_4s']} pairs > 4 s after their "
            f"first try")
    else:
        miss = [(x["from"], x["to"]) for x in per if x["answered"] is None]
        res["missing"] = miss
        log(f"[{sysm.name}]   {what}: NOT CONVERGED (seq probe): {len(miss)} of {len(pairs)} pairs never answered, "
            f"e.g. {miss[:4]}")
    return res


def all_at_once_seq(sysm, lab, n, args):
    """n nodes started together, probed by the application-like prober. A pair is probed from the moment
    both nodes have their overlay address assigned (each node's prober binds to its own address to know)."""
    nodes = [lab.add_node() for _ in range(n)]
    sysm.prepare(lab, nodes[0], None)
    for node in nodes[1:]:
        sysm.prepare(lab, node, nodes[0])
    probers = {}
    try:
        for node in nodes:
            probers[node] = SeqProber(node.ns, args.seq_wait, args.seq_gap, args.timeout + 30)
        wait_ready(probers.values())
        t0 = time.time()
        log(f"[{sysm.name}]   t0: starting {n} nodes (seq probe)")
        for node in nodes:
            sysm.start(node)
        end = time.monotonic() + args.timeout
        ips, ready_at = {}, {}
        want = n * (n - 1)
        while time.monotonic() < end:
            for node in nodes:
                if node not in ips:
                    ip = sysm.overlay_ip(node)
                    if ip:
                        ips[node] = ip
                        probers[node].set_self(ip)
                elif node not in ready_at and probers[node].self_ready is not None:
                    ready_at[node] = probers[node].self_ready
                    for other in nodes:
                        if other is not node:
                            probers[other].add(ips[node])
            if len(ready_at) == n and sum(len(pr.results) for pr in probers.values()) >= want:
                break
            time.sleep(0.01)
        pairs = [(a, b, ips.get(b)) for a in nodes for b in nodes if a is not b]
        res = _seq_summary(sysm, f"{n} at once", t0, pairs, probers, ready_at)
        res["stalled_daemons"] = sysm.stalled(nodes)
        return res
    finally:
        close_all(probers.values())


def join_seq(sysm, lab, mesh, ips, args):
    """One more node joins `mesh`; the application-like prober runs both ways between it and every mesh
    node. Seconds from its start until all 2·N pairs answered; the joiner then departs."""
    node = lab.add_node()
    sysm.prepare(lab, node, mesh[0])
    probers = {}
    try:
        for m in mesh + [node]:
            probers[m] = SeqProber(m.ns, args.seq_wait, args.seq_gap, args.timeout + 30)
        wait_ready(probers.values())
        for m in mesh:
            probers[m].set_self(ips[m])
        end = time.monotonic() + 10
        while any(probers[m].self_ready is None for m in mesh) and time.monotonic() < end:
            time.sleep(0.01)
        ready_at = {m: probers[m].self_ready for m in mesh if probers[m].self_ready is not None}
        t0 = time.time()
        log(f"[{sysm.name}]   t0: starting {node.name} (seq probe)")
        sysm.start(node)
        end = time.monotonic() + args.timeout
        ip = None
        while time.monotonic() < end:
            if ip is None:
                ip = sysm.overlay_ip(node)
                if ip:
                    probers[node].set_self(ip)
                    for m in mesh:
                        probers[node].add(ips[m])
            elif node not in ready_at and probers[node].self_ready is not None:
                ready_at[node] = probers[node].self_ready
                for m in mesh:
                    probers[m].add(ip)
            if node in ready_at and len(probers[node].results) == len(mesh) and \
                    all(ip in probers[m].results for m in mesh):
                break
            time.sleep(0.005)
        pairs = [(m, node, ip) for m in mesh] + [(node, m, ips[m]) for m in mesh]
        res = _seq_summary(sysm, f"join into {len(mesh)}", t0, pairs, probers, ready_at)
        res["stalled_daemons"] = sysm.stalled(mesh + [node])
    finally:
        close_all(probers.values())
    sysm.depart(node)
    return res


# --------------------------------------------------------------------------------------------------
# idle: per-second capture, bursts, CPU


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        rest = st[st.rfind(")") + 2:].split()
        return int(rest[11]) + int(rest[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def node_cpu(sysm, nodes):
    """Per node: CPU seconds used so far by its daemon process(es) ({name: seconds})."""
    out = []
    for node in nodes:
        d = {}
        for name, pid in sysm.pids(node):
            t = cpu_ticks(pid)
            if t is not None:
                d[name] = d.get(name, 0) + t / CLK_TCK
        out.append(d)
    return out


def find_bursts(series, n):
    """series: bytes per second summed over the n nodes. A burst is a run of seconds above
    2 × median + 100 B per node (1 s gaps bridged). Returns a list of {start, seconds, bytes_per_node}."""
    if not series:
        return []
    thr = 2 * statistics.median(series) + 100 * n
    out, cur, gap = [], None, 0
    for i, x in enumerate(series):
        if x > thr:
            if cur is None:
                cur = {"start": i, "seconds": 0, "bytes": 0}
            cur["seconds"] = i - cur["start"] + 1
            cur["bytes"] += x
            gap = 0
        elif cur is not None:
            gap += 1
            if gap > 1:
                out.append(cur)
                cur = None
    if cur is not None:
        out.append(cur)
    for b in out:
        b["bytes_per_node"] = b.pop("bytes") / n
    return out


def burst_summary(bursts, total_per_node):
    """Bursts, their share of the bytes, and the size and period of the big ones (≥ half the largest)."""
    if not bursts:
        return {"count": 0, "bursts": []}
    big = max(b["bytes_per_node"] for b in bursts)
    bigs = [b for b in bursts if b["bytes_per_node"] >= big / 2]
    smalls = [b for b in bursts if b["bytes_per_node"] < big / 2]

    def period(bs):
        st = [b["start"] for b in bs]
        return statistics.median(b - a for a, b in zip(st, st[1:])) if len(st) > 1 else None

    in_b = sum(b["bytes_per_node"] for b in bursts)
    return {"count": len(bursts), "bursts": bursts,
            "share": in_b / total_per_node if total_per_node else None,
            "big_count": len(bigs), "big_bytes_per_node": statistics.median(b["bytes_per_node"] for b in bigs),
            "big_period_s": period(bigs), "big_seconds": max(b["seconds"] for b in bigs),
            "small_count": len(smalls),
            "small_bytes_per_node": statistics.median(b["bytes_per_node"] for b in smalls) if smalls else None,
            "small_period_s": period(smalls)}


def analyze_capture(cap, nodes, bucket=10):
    """Per node and per class (control TCP, WireGuard/Nebula UDP, other) from capture_main's counts."""
    n = len(nodes)
    secs = cap["seconds"]
    rows = [cap["nodes"][node.ns] for node in nodes]
    cls = {"tcp": (0, 1), "udp": (2, 3), "other": (4, 5)}
    res = {"seconds": secs, "bucket_s": bucket, "per_node": {}, "buckets": {}, "bursts": {},
           "node_names": [node.name for node in nodes]}
    for c, (rx, tx) in cls.items():
        per_node = [sum(r[i][rx] + r[i][tx] for i in range(secs)) / secs for r in rows]
        res["per_node"][c] = {"rxtx_Bps_avg": sum(per_node) / n, "rxtx_Bps_max_node": max(per_node),
                              "tx_Bps_avg": sum(sum(r[i][tx] for i in range(secs)) for r in rows) / n / secs,
                              "all_nodes": per_node}
        nb = secs // bucket
        # per bucket: mean over nodes of rx+tx B/s in that bucket
        res["buckets"][c] = [sum(sum(r[i][rx] + r[i][tx] for i in range(k * bucket, (k + 1) * bucket))
                                 for r in rows) / n / bucket for k in range(nb)]
        series = [sum(r[i][rx] + r[i][tx] for r in rows) for i in range(secs)]
        res["bursts"][c] = burst_summary(find_bursts(series, n), sum(per_node) / n * secs)
    tot = [[sum(r[i][:6]) for i in range(secs)] for r in rows]
    res["total_rxtx_Bps_avg"] = sum(sum(t) for t in tot) / n / secs
    res["max_1s_node_B"] = max(max(t) for t in tot)
    res["max_bucket_node_Bps"] = max(sum(t[k * bucket:(k + 1) * bucket]) / bucket
                                     for t in tot for k in range(secs // bucket)) if secs >= bucket else None
    res["other_kinds_Bps_per_node"] = {k: v / n / secs for k, v in cap.get("other_kinds", {}).items()}
    res["per_node"]["other"]["arp_rxtx_Bps_avg"] = sum(sum(r[i][8] for i in range(secs)) for r in rows) / n / secs
    # what the daemons cause: their TCP and UDP, and the ARP that keeps their peers' underlay addresses
    # resolved. The rest of "other" is the lab's own IPv6 link-local chatter on eth0 (MLD reports, router
    # solicitations, DAD: measured ~37 B/s per node at N = 5 in a lab with no daemon at all), which the eth0
    # counters include too.
    res["daemon_rxtx_Bps_avg"] = (res["per_node"]["tcp"]["rxtx_Bps_avg"] + res["per_node"]["udp"]["rxtx_Bps_avg"]
                                  + res["per_node"]["other"]["arp_rxtx_Bps_avg"])
    res["tcp_pkts_per_s_node"] = sum(sum(r[i][6] for i in range(secs)) for r in rows) / n / secs
    res["udp_pkts_per_s_node"] = sum(sum(r[i][7] for i in range(secs)) for r in rows) / n / secs
    return res


def idle_window(sysm, nodes, seconds):
    """The old eth0-counter measurement and, over the same window, the per-second capture and the
    daemons' CPU time."""
    cpu0 = node_cpu(sysm, nodes)
    cap = Capture([node.ns for node in nodes], seconds)
    try:
        old = idle_traffic(nodes, seconds)
        raw = cap.result()
    finally:
        cap.close()
    cpu1 = node_cpu(sysm, nodes)
    res = {"eth0": old}
    if raw:
        res["capture"] = analyze_capture(raw, nodes)
    res["cpu_idle_ms_per_s"] = [sum(b.values()) - sum(a.values()) for a, b in zip(cpu0, cpu1)]
    res["cpu_idle_ms_per_s"] = [x * 1000 / seconds for x in res["cpu_idle_ms_per_s"]]
    res["cpu_total_s"] = cpu1
    return res


def print_idle(sysm, res):
    c = res.get("capture")
    if not c:
        log(f"[{sysm.name}]   idle capture: no result")
        return
    pn = c["per_node"]
    log(f"[{sysm.name}]   idle capture over {c['seconds']} s, per node rx+tx: control TCP "
        f"{pn['tcp']['rxtx_Bps_avg']:.1f} B/s (max node {pn['tcp']['rxtx_Bps_max_node']:.1f}), UDP "
        f"{pn['udp']['rxtx_Bps_avg']:.1f} B/s, other {pn['other']['rxtx_Bps_avg']:.1f} B/s (ARP "
        f"{pn['other']['arp_rxtx_Bps_avg']:.1f}); TCP+UDP+ARP {c['daemon_rxtx_Bps_avg']:.1f} B/s; total "
        f"{c['total_rxtx_Bps_avg']:.1f} B/s; max {c['bucket_s']} s bucket of one node "
        f"{(c['max_bucket_node_Bps'] or 0):.0f} B/s, max 1 s {c['max_1s_node_B']} B")
    log(f"[{sysm.name}]     per node, rx+tx B/s TCP/UDP: " + ", ".join(
        "%s %.0f/%.0f" % (name, t, u) for name, t, u in zip(c["node_names"], pn["tcp"]["all_nodes"],
                                                          pn["udp"]["all_nodes"])))
    for k in ("tcp", "udp"):
        log(f"[{sysm.name}]     {k} B/s per node per {c['bucket_s']} s: "
            + " ".join("%.0f" % x for x in c["buckets"][k]))
        b = c["bursts"][k]
        if b["count"]:
            log(f"[{sysm.name}]     {k} bursts: {b['count']} carrying {b['share'] * 100:.0f} % of the bytes; big: "
                f"{b['big_count']} of ~{b['big_bytes_per_node']:.0f} B/node in ≤ {b['big_seconds']} s, every "
                f"{b['big_period_s'] if b['big_period_s'] is not None else '-'} s; smaller: {b['small_count']}"
                + (f" of ~{b['small_bytes_per_node']:.0f} B/node every {b['small_period_s']} s"
                   if b["small_count"] else "")
                + "; starts (s): " + " ".join(str(x["start"]) for x in b["bursts"][:20]))
    cpu = res["cpu_idle_ms_per_s"]
    tot = [sum(x.values()) for x in res["cpu_total_s"]]
    log(f"[{sysm.name}]   CPU per node: idle median {statistics.median(cpu):.2f} ms/s (max {max(cpu):.2f}); "
        f"since start median {statistics.median(tot):.2f} s (max {max(tot):.2f})")


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
    res["idle_window"] = idle_window(sysm, nodes, args.idle)
    res["idle"] = res["idle_window"]["eth0"]
    i = res["idle"]
    log(f"[{sysm.name}]   idle eth0 per node: tx {i['tx_Bps']:.1f} B/s ({i['tx_pps']:.2f} packets/s: "
        f"{i['tcp_segs_per_s']:.2f} TCP segments with {i['tcp_payload_Bps']:.1f} B/s payload, "
        f"{i['udp_datagrams_per_s']:.2f} UDP datagrams), rx {i['rx_Bps']:.1f} B/s")
    rss = [sysm.rss(n) for n in nodes]
    res["rss_kb"] = rss
    for k in rss[0]:
        log(f"[{sysm.name}]   RSS {k}: median {statistics.median(r[k] or 0 for r in rss) / 1024:.1f} MiB")
    print_idle(sysm, res["idle_window"])
    if len(ips) < len(nodes):
        log(f"[{sysm.name}]   joins skipped: {len(nodes) - len(ips)} nodes never got an overlay address")
        return
    res["join_into_%d" % args.nodes] = [join(sysm, lab, nodes, ips, args) for _ in range(args.rounds)]
    log(f"[{sysm.name}] joins into {args.nodes} with the application-like prober ...")
    res["seq_join_into_%d" % args.nodes] = [join_seq(sysm, lab, nodes, ips, args) for _ in range(args.rounds)]


def seq_at_once(sysm, lab, args, res):
    log(f"[{sysm.name}] {args.nodes} nodes at once, application-like prober ...")
    res.setdefault("seq_all_at_once", []).append(all_at_once_seq(sysm, lab, args.nodes, args))


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
    plan += [(f"seq-{i + 1}", seq_at_once) for i in range(args.seq_runs)]
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
    # the rows of issue #10: application-like prober, per-class idle capture, CPU
    sq = res.get("seq_all_at_once", [])
    if sq:
        put(f"{n} at once -> every pair answered, seq (median of {len(sq)})", [r["seconds"] for r in sq], "ms",
            1000)
        put(f"{n} at once: first try answered, seq", [r["first_try_ok"] / r["pairs"] if r["pairs"] else None
                                                      for r in sq], "%", 100)
        put(f"{n} at once: pair answered, p50 over pairs, seq", [r["p50_pair"] for r in sq], "ms", 1000)
        put(f"{n} at once: pairs > 4 s after 1st try, seq", [r["pairs_over_4s"] for r in sq], "pairs")
    sj = res.get("seq_join_into_%d" % n, [])
    if sj:
        put(f"join into {n}: it and all answer, seq (median of {len(sj)})", [r["seconds"] for r in sj], "ms",
            1000)
        put(f"join into {n}: first try answered, seq", [r["first_try_ok"] / r["pairs"] for r in sj], "%", 100)
    iw = res.get("idle_window", {})
    c = iw.get("capture")
    if c:
        w = c["seconds"]
        put(f"idle {w} s: rx+tx per node (capture)", [c["total_rxtx_Bps_avg"]], "B/s")
        put(f"idle {w} s: TCP+UDP+ARP rx+tx per node", [c["daemon_rxtx_Bps_avg"]], "B/s")
        put(f"idle {w} s: control TCP rx+tx per node", [c["per_node"]["tcp"]["rxtx_Bps_avg"]], "B/s")
        put(f"idle {w} s: UDP (WG/Nebula) rx+tx per node", [c["per_node"]["udp"]["rxtx_Bps_avg"]], "B/s")
        put(f"idle: max {c['bucket_s']} s bucket, one node", [c["max_bucket_node_Bps"]], "B/s")
        put("idle: max 1 s, one node", [c["max_1s_node_B"]], "B")
        for k in ("tcp", "udp"):
            b = c["bursts"][k]
            if b["count"]:
                put(f"idle: {k} big burst, per node", [b["big_bytes_per_node"]], "B")
                put(f"idle: {k} big bursts in the window", [b["big_count"]], "")
                if b["big_period_s"] is not None:
                    put(f"idle: {k} big burst period", [b["big_period_s"]], "s")
    if iw.get("cpu_idle_ms_per_s"):
        put(f"idle CPU per node (median of {len(iw['cpu_idle_ms_per_s'])})", iw["cpu_idle_ms_per_s"], "ms/s")
        put("CPU per node, start to end of idle (median)", [sum(x.values()) for x in iw["cpu_total_s"]], "ms",
            1000)
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
    ap.add_argument("--seqpinger", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--capture", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true",
                    help="development run: --nodes 5 --rounds 1 --at-once-runs 1 --seq-runs 1 --idle 20 "
                         "--timeout 40 (each unless given)")
    ap.add_argument("--nodes", type=int, help="size of the big mesh (default 10)")
    ap.add_argument("--rounds", type=int, help="joins per mesh size and prober (default 3)")
    ap.add_argument("--at-once-runs", type=int,
                    help="runs of the all-at-once scenarios (fping-like prober), each in a fresh lab (default 3)")
    ap.add_argument("--seq-runs", type=int,
                    help="runs of --nodes at once with the application-like prober, each in a fresh lab "
                         "(default 3)")
    ap.add_argument("--seq-wait", type=float, default=1.0,
                    help="application-like prober: wait for a reply, seconds (default 1, ping -W1)")
    ap.add_argument("--seq-gap", type=float, default=0.02,
                    help="application-like prober: pause after a failed try, seconds (default 0.02)")
    ap.add_argument("--step", type=float, default=0.05, help="probe step in seconds (default 0.05)")
    ap.add_argument("--timeout", type=float, help="per scenario, seconds (default 90: more than "
                    "one default AnnounceInterval)")
    ap.add_argument("--idle", type=float, help="idle traffic window, seconds (default: 2 x AnnounceInterval, "
                    "at least 120)")
    ap.add_argument("--settle", type=float, default=15,
                    help="wait before the idle window (default 15: past the 1, 2, 4, 8 s warm-up announcements)")
    ap.add_argument("--announce", default="1m", help="w2wesher AnnounceInterval (default: its default 1m)")
    ap.add_argument("--keepalive", default="0", help="w2wesher PersistentKeepalive (default: 0 = its default, off)")
    ap.add_argument("--expiry", default="3m30s", help="w2wesher PeerExpiry (default: its default 3m30s)")
    ap.add_argument("--w2w-range", default="fd6d:142e:65e7:4cc1::/64",
                    help="w2wesher NetworkRange (default: its default IPv6 range)")
    ap.add_argument("--w2w-ip-from", choices=("log", "status"), default="log",
                    help="learn a starting w2wesherd's overlay address from its log (default) or by polling "
                         "its control socket every 5-10 ms")
    ap.add_argument("--only", choices=("w2wesher", "nebula"), help="run one system only")
    ap.add_argument("--admission", action="store_true",
                    help="w2wesher in admission mode (every node with a token); compare with a run without "
                         "it: --compare open.json admission.json")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                    help="print how each metric grows from one --json result to another (no run)")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy every daemon's log here")
    args = ap.parse_args()
    if args.compare:
        return compare(args.compare)
    if args.pinger:
        return pinger_main(args.step, args.pinger_limit)
    if args.seqpinger:
        return seqpinger_main(args.seq_wait, args.seq_gap, args.pinger_limit)
    if args.capture:
        return capture_main(args.capture.split(","), args.idle)
    quick = {"nodes": 5, "rounds": 1, "at_once_runs": 1, "seq_runs": 1, "idle": 20, "timeout": 40}
    full = {"nodes": 10, "rounds": 3, "at_once_runs": 3, "seq_runs": 3, "timeout": 90,
            "idle": max(120.0, 2 * parse_duration(args.announce))}
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    # SIGTERM/SIGHUP unwind like Ctrl-C: every lab's __exit__ kills its processes and deletes its namespaces
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)

    # the daemons start through nsenter, whose working directory is not ours: a relative build dir breaks
    if os.environ.get("W2W_BUILD_DIR"):
        os.environ["W2W_BUILD_DIR"] = os.path.abspath(os.environ["W2W_BUILD_DIR"])
    import netlab
    err = netlab.requirements()
    if err:
        print(f"bench_mesh: SKIP: {err}")
        return 77
    if not 2 <= args.nodes <= 60 or not 1 <= args.rounds <= 20 or not 1 <= args.idle <= 900 or \
            not 1 <= args.at_once_runs <= 10 or not 0 <= args.seq_runs <= 10 or not 0.01 <= args.step <= 1 or \
            not 1 <= args.timeout <= 600 or not 0.1 <= args.seq_wait <= 10 or not 0.001 <= args.seq_gap <= 1:
        ap.error("--nodes 2..60, --rounds 1..20, --idle 1..900, --at-once-runs 1..10, --seq-runs 0..10, "
                 "--step 0.01..1, --timeout 1..600, --seq-wait 0.1..10, --seq-gap 0.001..1")

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
               "seq_probe": {"wait_s": args.seq_wait, "gap_s": args.seq_gap, "runs": args.seq_runs},
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
    print("%-52s %18s %18s %7s" % ("metric", "w2wesher", "nebula", "ratio"))
    for k in names:
        a, b = w.get(k), nb.get(k)
        ratio = "-"
        if a and b and a["value"] is not None and b["value"]:
            ratio = "%.2f" % (a["value"] / b["value"])
        print("%-52s %18s %18s %7s" % (k, fmt(a), fmt(b), ratio))
    print("ratio = w2wesher / nebula")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"results written to {args.json}")
    return 1 if failed else 0


def compare(paths):
    """Prints how each metric grows between two --json results (e.g. --nodes 10 and --nodes 30)."""
    import re
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))

    def norm(d):
        n = d["nodes"]
        out = {}
        for sysname, ms in d["metrics"].items():
            for k, m in ms.items():
                k = re.sub(r"^(join into )?%d\b" % n, r"\1N", k)
                k = re.sub(r"median of %d\b" % n, "median of N", k)
                k = re.sub(r"^idle \d+ s:", "idle W s:", k)
                k = re.sub(r"\(median of \d+\)", "(median)", k)  # runs may differ between the two
                out[(sysname, k)] = m
        return out

    a, b = norm(runs[0]), norm(runs[1])
    na, nb = runs[0]["nodes"], runs[1]["nodes"]
    print(f"growth from N = {na} ({paths[0]}, checkout {runs[0].get('checkout')}) to N = {nb} ({paths[1]}, "
          f"checkout {runs[1].get('checkout')})")
    print("%-10s %-52s %14s %14s %7s" % ("system", "metric", f"N = {na}", f"N = {nb}", "growth"))
    for key in list(a) + [k for k in b if k not in a]:
        ma, mb = a.get(key), b.get(key)
        g = "-"
        if ma and mb and ma["value"] and mb["value"] is not None:
            g = "%.2f" % (mb["value"] / ma["value"])
        print("%-10s %-52s %14s %14s %7s" % (key[0], key[1], fmt(ma), fmt(mb), g))
    return 0


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def parse_duration(text):
    """Seconds in a w2wesher duration (`1m`, `3m30s`, `500ms`, `2h`, or a bare number of seconds)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    total, num = 0.0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            num += ch
            i += 1
            continue
        u = "ms" if text[i:i + 2] == "ms" else ch
        if u not in units or not num:
            raise ValueError(f"bad duration {text!r}")
        total += float(num) * units[u]
        num = ""
        i += len(u)
    if num:
        total += float(num)
    return total


def _nebula_version():
    try:
        r = subprocess.run(["nebula", "-version"], capture_output=True, text=True, timeout=10)
        return r.stdout.strip().replace("Version: ", "")
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    sys.exit(main())
