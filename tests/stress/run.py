#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Stress campaign against real w2wesherd daemons in network namespaces (issue 15).
Not part of the normal suite (a short version is: meson test e2e-stress-short).

  sudo tests/stress/run.py [--short] [--only NAME[,NAME]] [--attacks KIND[,KIND]] [--kills N]

Scenarios, one table row each (or more):
  attack-*   hostile connections against a daemon: slowloris, reconnect loop, junk,
             wrong PSK, garbage after the pnet nonce; meanwhile a legitimate peer in
             another namespace pings (new connection, handshake, ping): success, latency
             median/p95/max (ms) under attack against a baseline taken just before it
             (base_ms), the median ratio, and the daemon's RSS, fds and log growth.
             Fair by default: the attacker on its own CPU, the daemon and the pinger on
             the others (tests/e2e/cpusplit.py); the reconnect loop also with shared CPUs
  kill9      kill -9 at random moments (start-up included), restart; the state file
             still loads, the address never changes, one wireguard-go
  partition  cut one node off and heal, repeatedly: full mesh again, no duplicate address
  netem      10 % loss and 200 ms delay on every underlay link, a node joins: full mesh,
             no duplicate address
  wg-kill    wireguard-go killed under a running daemon: detected and repaired
  wg-delete  the interface deleted from outside: detected and repaired
  clock-back the wall clock stepped back an hour between two runs (libfaketime): peers
             still take the node's announcements, its address stays

Uses tests/e2e/netlab.py (root, TUN, wireguard-go). Every loop is bounded in count
and time; every process is started here and killed by PID.
"""
import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import cpusplit  # noqa: E402
import netlab  # noqa: E402

ROWS = []


def row(name, ok, **metrics):
    ROWS.append((name, ok, metrics))
    print(f"  {name}: {'ok' if ok else 'FAIL'} {metrics}", flush=True)


def print_table():
    keys = []
    for _, _, m in ROWS:
        for k in m:
            if k not in keys:
                keys.append(k)
    head = ["scenario", "result"] + keys
    lines = [head] + [[n, "ok" if ok else "FAIL"] + [str(m.get(k, "")) for k in keys] for n, ok, m in ROWS]
    w = [max(len(l[i]) for l in lines) for i in range(len(head))]
    for i, l in enumerate(lines):
        print("  ".join(c.ljust(w[j]) for j, c in enumerate(l)).rstrip())
        if i == 0:
            print("  ".join("-" * x for x in w))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def timed_ping(src, lab, target, timeout=5):
    t0 = time.monotonic()
    r = src.netns_exec(lab.cli, "p2p", "ping", "--swarm-key", lab.swarm_key_file(), "--count", "1",
                       "--timeout", str(timeout), target.multiaddr(), check=False, timeout=timeout + 20)
    return r.returncode == 0, time.monotonic() - t0


# ---- attacks (python in the attacker's namespace; each runs SECS seconds) ----

ATTACKS = {
    # many sockets, each sends one byte every second: the pnet nonce never completes
    "slowloris": """
import resource, socket, sys, time
ip, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (1400, 1400))
socks, end, made = [], time.monotonic() + secs, 0
while time.monotonic() < end:
    while len(socks) < 1000:
        s = socket.socket(); s.setblocking(False); s.connect_ex((ip, port)); socks.append(s); made += 1
    time.sleep(1)
    keep = []
    for s in socks:
        try:
            s.send(b"\\x00"); keep.append(s)
        except OSError:
            s.close()
    socks = keep
print(made)
""",
    "reconnect": None,  # filled from tests/e2e/test_harden.py RECONNECT_LOOP below
    # connect, 4 KiB of random bytes, close; in a loop
    "junk": """
import os, socket, sys, time
ip, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, n = time.monotonic() + secs, 0
while time.monotonic() < end:
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((ip, port)); s.sendall(os.urandom(4096))
    except OSError:
        pass
    s.close(); n += 1
print(n)
""",
    # a plausible 24-byte pnet nonce, then garbage: the decrypted multistream header is junk
    "garbage-after-nonce": """
import os, socket, sys, time
ip, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, n = time.monotonic() + secs, 0
while time.monotonic() < end:
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((ip, port)); s.sendall(os.urandom(24)); time.sleep(0.01); s.sendall(os.urandom(512))
        s.recv(100)
    except OSError:
        pass
    s.close(); n += 1
print(n)
""",
}


def attack_cmd(lab, evil, node, kind, secs):
    if kind == "wrong-psk":
        # the real client with a different network key: pnet fails at the first frame
        key = os.path.join(lab.tmp, "wrong.key")
        with open(key, "w") as f:
            f.write("/key/swarm/psk/1.0.0/\n/base16/\n" + os.urandom(32).hex() + "\n")
        script = ("end=$((SECONDS+%d)); n=0; while [ $SECONDS -lt $end ]; do for i in 1 2 3 4; do "
                  "%s p2p ping --swarm-key %s --count 1 --timeout 2 %s >/dev/null 2>&1 & done; wait; "
                  "n=$((n+4)); done; echo $n") % (int(secs), lab.cli, key, node.multiaddr())
        return ["ip", "netns", "exec", evil.ns, "bash", "-c", script]
    code = ATTACKS[kind]
    if code is None:
        import test_harden  # noqa: E402 (tests/e2e)
        return ["ip", "netns", "exec", evil.ns, "python3", "-c", test_harden.RECONNECT_LOOP, node.ip, "10042",
                "1000", str(secs)]
    return ["ip", "netns", "exec", evil.ns, "python3", "-c", code, node.ip, "10042", str(secs)]


ATTACK_KINDS = ("slowloris", "reconnect", "junk", "wrong-psk", "garbage-after-nonce")


def scen_attacks(args):
    """Each attack in its own window, with the baseline measured right before
    it in the same CPU setting. "confined" (the fair figures, tests/e2e/cpusplit.py):
    the attacker on its own CPU, as a real attacker on another machine; "shared":
    the attacker competes with the daemon for every CPU. Latency is the legit
    pinger's whole run: a new process, TCP connect, pnet, Noise, multistream, ping."""
    secs = 2 if args.short else 20
    pings = 2 if args.short else 20
    nbase = 3 if args.short else 10
    kinds = [k for k in args.attacks.split(",") if k] if args.attacks else list(ATTACK_KINDS)
    with netlab.Lab() as lab:
        node = lab.add_node()
        node.write_config()
        node.start()
        lab.wait(lambda: node.overlay_ip() is not None, 30, what="the daemon")
        legit = lab.add_node("legit")
        for kind in kinds:
            modes = ("confined", "shared") if kind == "reconnect" and not args.short else ("confined",)
            for mode in modes:
                # a fresh attacker address each time: a block one earned (iplimit.h) must not
                # carry over into the next window
                evil = lab.add_node(f"evil{len(ROWS)}")
                with cpusplit.confine([node.proc.pid], enabled=mode == "confined") as split:
                    attack_window(lab, node, legit, evil, kind, mode, split, secs, pings, nbase, args.short)


def attack_window(lab, node, legit, evil, kind, mode, split, secs, pings, nbase, short):
    warm = min(2, secs / 2)
    # the pings under attack are spread over it; the baseline's are spaced the
    # same (a ping right after another runs warmer: faster)
    gap = 0 if short else max(0.0, (secs - warm - 2) / pings - 0.05)
    base = []
    for _ in range(nbase):
        base.append(timed_ping(legit, lab, node))
        time.sleep(gap)
    bs = cpusplit.stats([t for _, t in base])
    log0 = os.path.getsize(node.log)
    fds0 = fds(node.proc.pid)
    p = subprocess.Popen(attack_cmd(lab, evil, node, kind, secs), stdout=subprocess.PIPE, text=True,
                         preexec_fn=split.attacker_preexec)
    try:
        time.sleep(warm)
        # spread over the attack (bounded: they stop at its end + 30 s)
        res, peak_fds, peak_rss = [], 0, 0
        end = time.monotonic() + secs
        while len(res) < pings and time.monotonic() < end + 30:
            peak_fds = max(peak_fds, fds(node.proc.pid))
            peak_rss = max(peak_rss, rss_kb(node.proc.pid))
            res.append(timed_ping(legit, lab, node))
            if gap and p.poll() is None:
                time.sleep(gap)
    finally:
        try:
            out, _ = p.communicate(timeout=secs + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    okn = sum(ok for ok, _ in res)
    us = cpusplit.stats([t for _, t in res])
    name = f"attack-{kind}" + ("" if mode == "confined" else " (shared CPU)")
    row(name, okn == len(res) and all(ok for ok, _ in base) and node.alive(), attempts=(out or "").strip(),
        pings=f"{okn}/{len(res)}", base_ms=f"{bs['median']}/{bs['p95']}/{bs['max']}",
        ms=f"{us['median']}/{us['p95']}/{us['max']}",
        ratio=round(us["median"] / bs["median"], 2) if bs["median"] else "",
        rss_kb=peak_rss, fds=f"{fds0}->{peak_fds}", log_bytes=os.path.getsize(node.log) - log0)


def wg_go_pids(node):
    """wireguard-go processes in the node's private mount namespace."""
    node._holder()  # the namespace exists (as before: a node not yet started gets its holder)
    return [pid for pid, comm in node.procs() if comm.startswith("wireguard-go")]


def pair(lab, expiry=None):
    a = lab.add_node()
    a.write_config()
    a.start()
    b = lab.add_node()
    p2p, wg = b.gen_keys()
    b.keys = (p2p, wg)
    b.write_config(bootstrap=[a.multiaddr()], p2p_key=p2p, wg_key=wg)
    b.start()
    lab.wait(lambda: len(a.wg_peers()) == 1 and len(b.wg_peers()) == 1, 60, what="a pair")
    return a, b


def mesh_ok(nodes):
    ips = {n: n.overlay_ip() for n in nodes}
    if None in ips.values() or len(set(ips.values())) != len(ips):
        return False
    return all(a.ping(ips[b], wait=1) for a in nodes for b in nodes if a is not b)


def scen_kill9(args):
    cycles = args.kills or (3 if args.short else 100)
    with netlab.Lab(backend="userspace") as lab:
        a, b = pair(lab)
        addr0 = b.overlay_ip()
        bad = []
        t0 = time.monotonic()
        for i in range(cycles):
            b.kill()
            b.start()
            time.sleep(random.uniform(0, 2.5))  # start-up included
        b.kill()
        b.start()
        try:
            lab.wait(lambda: b.overlay_ip() is not None, 30, what="the restarted daemon")
            lab.wait(lambda: mesh_ok([a, b]), 60, step=0.5, what="the pair after the kills")
        except TimeoutError as e:
            bad.append(str(e))
        log = b.log_text()
        if "damaged" in log or "cannot read the state" in log:
            bad.append("state file damaged")
        addr1 = b.overlay_ip()
        wgs = len(wg_go_pids(b))
        row("kill9", not bad and addr1 == addr0 and wgs == 1, cycles=cycles, secs=round(time.monotonic() - t0),
            address="same" if addr1 == addr0 else f"{addr0} -> {addr1}", wireguard_go=wgs,
            problems="; ".join(bad) or "-")


def scen_partition(args):
    rounds = 1 if args.short else 5
    with netlab.Lab() as lab:
        a, b = pair(lab)
        c = lab.add_node()
        c.write_config(bootstrap=[a.multiaddr()])
        c.start()
        nodes = [a, b, c]
        lab.wait(lambda: mesh_ok(nodes), 60, step=0.5, what="three nodes")
        times = []
        for _ in range(rounds):
            lab.cut([c], [a, b])
            time.sleep(4 if args.short else 12)  # full: longer than PeerExpiry (8 s)
            lab.heal([c], [a, b])
            t0 = time.monotonic()
            lab.wait(lambda: mesh_ok(nodes), 90, step=0.5, what="the mesh after the heal")
            times.append(time.monotonic() - t0)
        ips = [n.overlay_ip() for n in nodes]
        row("partition", len(set(ips)) == 3, rounds=rounds, heal_s=round(max(times), 1), distinct=len(set(ips)))


def impair(node):
    """10 % loss and 200 ms delay on the node's underlay (tc netem). Without
    sch_netem (some VM kernels) the loss alone, with iptables' statistic match."""
    r = node.netns_exec("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "10%", "delay", "200ms",
                        check=False)
    if r.returncode == 0:
        return "netem"
    node.netns_exec("iptables", "-A", "OUTPUT", "-o", "eth0", "-m", "statistic", "--mode", "random",
                    "--probability", "0.1", "-j", "DROP")
    return "iptables"


def scen_netem(args):
    with netlab.Lab() as lab:
        a, b = pair(lab)
        how = {impair(n) for n in (a, b)}
        c = lab.add_node()
        c.write_config(bootstrap=[a.multiaddr()])
        how.add(impair(c))
        t0 = time.monotonic()
        c.start()
        nodes = [a, b, c]
        ok = True
        try:
            lab.wait(lambda: mesh_ok(nodes), 120, step=1, what="the mesh under loss")
        except TimeoutError:
            ok = False
        ips = [n.overlay_ip() for n in nodes]
        name = "netem 10% loss 200ms" if how == {"netem"} else "loss 10% (no sch_netem: no delay)"
        row(name, ok and len(set(ips)) == 3, join_s=round(time.monotonic() - t0, 1), distinct=len(set(ips)))


def scen_wg(args):
    with netlab.Lab(backend="userspace") as lab:
        a, b = pair(lab)
        ip_a = a.overlay_ip()
        # a working pair first: b's address gate (docs/mesh.md) may still hold its address back right
        # after pair(), and a kill during the apply that adds it is a start-up race, not this scenario
        lab.wait(lambda: b.ping(ip_a, wait=1), 30, step=0.2, what="the pair pinging")
        for what in ("wg-kill", "wg-delete"):
            if what == "wg-kill":
                for pid in wg_go_pids(b):
                    os.kill(pid, signal.SIGKILL)
            else:
                b.netns_exec("ip", "link", "del", "wesh0", check=False)
            t0 = time.monotonic()
            ok = True
            try:
                lab.wait(lambda: b.ping(ip_a, wait=1) and len(b.wg_peers()) == 1, 60, step=0.5,
                         what="repair")
            except TimeoutError:
                ok = False
            row(what, ok and b.alive() and len(wg_go_pids(b)) == 1, repaired_s=round(time.monotonic() - t0, 1),
                wireguard_go=len(wg_go_pids(b)))


def faketime_lib():
    for d in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/faketime"):
        p = os.path.join(d, "libfaketime.so.1")
        if os.path.exists(p):
            return p
    return None


def scen_clock(args):
    lib = faketime_lib()
    if not lib:
        row("clock-back", False, problems="libfaketime not installed (apt-get install faketime)")
        return
    with netlab.Lab() as lab:
        a, b = pair(lab)
        addr0 = b.overlay_ip()
        b.stop()
        # same keys and state, another name: the peer shows the new name only if
        # it took the announcement made with the clock an hour behind
        b.write_config(bootstrap=[a.multiaddr()], p2p_key=b.keys[0], wg_key=b.keys[1], node_name="renamed")
        t_wall = time.time()
        # libfaketime only in the daemon (preloaded into nsenter and setpriv as
        # well, it sets up a root-owned semaphore the daemon may not open)
        # an ASan build needs its runtime first in the preload list
        ldd = subprocess.run(["ldd", lab.daemon], capture_output=True, text=True).stdout
        asan = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "libasan" in l and "=>" in l]
        lib = " ".join(asan + [lib])
        wrapper = os.path.join(lab.tmp, "w2wesherd-faketime")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec env LD_PRELOAD='%s' FAKETIME=-3600s FAKETIME_DONT_FAKE_MONOTONIC=1 %s \"$@\"\n"
                    % (lib, lab.daemon))
        os.chmod(wrapper, 0o755)
        real, lab.daemon = lab.daemon, wrapper
        try:
            b.start()
        finally:
            lab.daemon = real
        ok = True
        try:
            lab.wait(lambda: any(p.get("name") == "renamed" for p in a.status().get("peers", [])), 40,
                     step=0.5, what="the peer to take the new announcement")
        except TimeoutError:
            ok = False
            print("   peers at node1:", [p.get("name") for p in a.status().get("peers", [])])
            print("   node2 log:", [l for l in b.log_text().splitlines() if not l.startswith("<7>")][-6:])
        addr1 = b.overlay_ip()
        row("clock-back 1h", ok and addr1 == addr0, accepted=ok,
            address="same" if addr1 == addr0 else f"{addr0} -> {addr1}", secs=round(time.time() - t_wall, 1))


SCENARIOS = {"attacks": scen_attacks, "kill9": scen_kill9, "partition": scen_partition, "netem": scen_netem,
             "wg": scen_wg, "clock": scen_clock}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="the quick version (the e2e suite runs it)")
    ap.add_argument("--only", default="", help="comma-separated: " + ",".join(SCENARIOS))
    ap.add_argument("--attacks", default="", help="comma-separated subset of: " + ",".join(ATTACK_KINDS))
    ap.add_argument("--kills", type=int, default=0, help="kill -9 cycles (default 100, --short 3)")
    args = ap.parse_args()
    err = netlab.requirements()
    if err:
        print("SKIP:", err)
        return 77
    only = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    t0 = time.monotonic()
    for name in only:
        print(f"== {name}", flush=True)
        try:
            SCENARIOS[name](args)
        except Exception as e:  # one failed scenario still prints the table
            row(name, False, problems=f"{type(e).__name__}: {e}"[:200])
    print(f"\nstress ({'short' if args.short else 'full'}), {time.monotonic() - t0:.0f} s:")
    print_table()
    return 0 if all(ok for _, ok, _ in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
