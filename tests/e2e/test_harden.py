# SPDX-License-Identifier: MIT
"""Hostile-input regressions against a real w2wesherd (issue 15): the control
socket under many, idle, NUL-carrying and oversized clients; the log under a
reconnect loop; secrets in the daemon's memory. The daemon runs as netlab runs
it: unprivileged, only CAP_NET_ADMIN, in its own network namespace."""
import json
import os
import socket
import subprocess
import threading
import time

import pytest

import cpusplit
import netlab

HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))


def one_node(lab, **kw):
    node = lab.add_node()
    node.write_config(**kw)
    node.start()
    lab.wait(lambda: node.overlay_ip() is not None, 30, what="the daemon's control socket")
    return node


def connect(path, timeout=15.0):
    """A full listen backlog makes a non-blocking AF_UNIX connect fail with
    EAGAIN (a blocking one waits, like the CLI's): retry, bounded."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def ask(path, payload, timeout=15.0):
    """Sends payload, returns everything the daemon answers until it closes."""
    s = connect(path, timeout)
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may answer and close before reading (busy)
        return netlab.recv_all(s)
    finally:
        s.close()


def ask_free(path, req, tries=100):
    """ask(), retried (bounded) while the daemon still says "busy": the slots of
    the 200 clients above are released when the daemon's close callbacks run,
    which may be a loop turn after those clients saw their answer and EOF."""
    for _ in range(tries):
        r = ask(path, req)
        try:
            if json.loads(r).get("error", "").startswith("busy"):
                time.sleep(0.05)
                continue
        except ValueError:
            pass
        return r
    return r


def test_control_socket_many_idle_nul_oversized():
    with netlab.Lab() as lab:
        node = one_node(lab)
        results = [None] * 200

        def client(i):
            try:
                results[i] = ask(node.sock, b"status json\n")
            except OSError as e:
                results[i] = e

        threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert node.alive(), node.log_text()[-2000:]
        ok = busy = 0
        for r in results:
            assert isinstance(r, bytes), r
            doc = json.loads(r)  # every client got a whole JSON answer, never an empty one
            if "self" in doc:
                ok += 1
            else:
                assert doc["error"].startswith("busy"), doc
                busy += 1
        assert ok > 0 and ok + busy == 200

        assert json.loads(ask_free(node.sock, b"sta\0tus json\n"))["error"].startswith("bad request")
        assert json.loads(ask_free(node.sock, b"x" * 5000))["error"] == "request too long"
        assert json.loads(ask_free(node.sock, b"x" * 5000 + b"\n"))["error"] == "request too long"

        # Idle holders fill every slot: a newcomer gets a clear error, the CLI
        # fails with a message; the daemon drops the holders after its deadline.
        holders = []
        for _ in range(2):  # twice: a slot freed late (an earlier client) is taken by the second round
            for _ in range(50):
                holders.append(connect(node.sock))
            time.sleep(0.5)
        assert json.loads(ask(node.sock, b"status json\n"))["error"].startswith("busy")
        r = subprocess.run([lab.cli, "status", "--socket", node.sock], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0 and "busy" in r.stderr and r.stdout == "", r
        for s in holders:
            s.settimeout(30)
            got = b""
            while True:  # closed by the daemon (deadline, or busy), not by us
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            assert got == b"" or json.loads(got)["error"].startswith("busy"), got
            s.close()
        assert "self" in node.status()
        r = subprocess.run([lab.cli, "status", "--socket", node.sock], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0 and "address" in r.stdout, r
        assert node.alive()


FLOOD = """
import os, socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + 60
done = reached = timeouts = 0
while done < n and time.monotonic() < end and timeouts < 3:
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect((ip, port))
        reached += 1
        timeouts = 0
        try:
            s.sendall(os.urandom(64) if done % 2 else b"")  # garbage, or nothing at all
        except OSError:
            pass
    except socket.timeout:
        timeouts += 1  # no SYN-ACK: the daemon blocked this address (iplimit.h "Blocking")
    except OSError:  # the daemon's RST came first (refused at accept)
        reached += 1
        timeouts = 0
    s.close()
    done += 1
print(done, reached, timeouts)
"""


def test_reconnect_loop_log_bounded():
    """A reconnect loop before authentication (no PSK): the daemon's log grows
    by a bounded amount, not by lines per connection. Past 64 refusals within
    a second the address is blocked (its SYNs dropped), so the loop ends on
    connect timeouts; every connection up to then was refused with a log line
    due, and the refusal lines are rate-limited (log.h: 20 per site per 10 s)."""
    with netlab.Lab() as lab:
        node = one_node(lab)
        time.sleep(1)
        before = os.path.getsize(node.log)
        r = node.netns_exec("python3", "-c", FLOOD, node.ip, "10042", "3000", timeout=90)
        done, reached, timeouts = map(int, r.stdout.split())
        time.sleep(1)
        with open(node.log, "rb") as f:
            f.seek(before)
            new = f.read().decode(errors="replace")
        grown = len(new.encode())
        assert node.alive()
        assert "self" in node.status()
        refusing = sum(1 for line in new.splitlines() if "refusing" in line)
        print(f"{done} connection attempts, {reached} reached the daemon, then blocked ({timeouts} timeouts); "
              f"the log grew by {grown} bytes, {refusing} refusal lines")
        # at least the 64 refusals that block (after the 16 admitted: the burst)
        assert reached >= 16 + 64, r.stdout
        assert timeouts == 3, r.stdout
        # unlimited, each refused connection logged a line
        assert refusing <= 20 + 4, new[-3000:]
        assert grown < 64 * 1024, new[-3000:]


def secret_needles(node, lab):
    """Every secret of the node in every form it has on disk or on the wire."""
    import base64
    import re
    conf = open(node.config).read()
    wg = re.search(r"\[Wireguard\][^\[]*?PrivateKey = (\S+)", conf).group(1)
    p2p = re.search(r"\[P2P\][^\[]*?PrivateKey = (\S+)", conf).group(1)
    psk, wgraw, pb = base64.b64decode(lab.psk), base64.b64decode(wg), base64.b64decode(p2p)
    return {"PSK": psk, "PSK base64": lab.psk.encode(), "PSK hex": psk.hex().encode(),
            "WireGuard key": wgraw, "WireGuard key base64": wg.encode(), "WireGuard key hex": wgraw.hex().encode(),
            "Ed25519 seed": pb[4:36], "libp2p key base64": p2p.encode()}


def copies_outside_dontdump(pid, needles):
    """Where the needles occur in the process's readable memory outside
    VM_DONTDUMP ("dd" in smaps VmFlags: sodium_malloc's guarded pages)."""
    import re
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4), []]
                maps.append(cur)
            elif line.startswith("VmFlags:") and cur:
                cur[4] = line.split(":", 1)[1].split()
    hits = []
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for lo, hi, perms, name, flags in maps:
            if "r" not in perms or "dd" in flags or name == "[vsyscall]":
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            hits += [(k, name or hex(lo)) for k, nd in needles.items() if nd in data]
    return hits


def test_secrets_only_in_guarded_memory():
    """The PSK and both private keys of a running daemon (after start, a
    WireGuard sync, a libp2p connection and a status request) are nowhere in
    its memory but in MADV_DONTDUMP (sodium_malloc) pages; the daemon is not
    dumpable."""
    with netlab.Lab() as lab:
        node = one_node(lab)
        lab.wait(lambda: "wireguard-applied" in node.log_text(), 30, what="a WireGuard sync")
        key = lab.swarm_key_file()
        r = node.netns_exec(lab.cli, "p2p", "ping", "--swarm-key", key, "--count", "2", node.multiaddr(),
                            check=False, timeout=60)
        assert r.returncode == 0, r.stderr
        node.status()
        time.sleep(1)
        with open(f"/proc/{node.proc.pid}/status") as f:
            assert node.proc.poll() is None
        # Not dumpable: /proc/PID/mem and the core belong to root, not to the daemon's user.
        assert os.stat(f"/proc/{node.proc.pid}/mem").st_uid == 0
        hits = copies_outside_dontdump(node.proc.pid, secret_needles(node, lab))
        assert hits == [], hits


def test_systemd_credentials_layout():
    """The shipped unit's flow without systemd (none runs here): the config and
    the swarm key as systemd's LoadCredential= leaves them (one private
    directory, files 0400 owned by the service's user, the config naming its
    key relatively), read by the daemon as that user (netlab's nobody with
    CAP_NET_ADMIN). `systemd-analyze verify` checks the unit itself."""
    import shutil
    with netlab.Lab() as lab:
        node = lab.add_node()
        node.write_config()
        creds = os.path.join(node.dir, "credentials")
        os.mkdir(creds, 0o500)
        os.chown(creds, netlab.NOBODY, netlab.NOBODY)
        text = open(node.config).read().replace(f"PSK = {lab.psk}", "PSKFile = wesh0.key")
        assert "PSKFile = wesh0.key" in text
        for name, data in (("w2wesher.conf", text), ("wesh0.key", open(lab.swarm_key_file()).read())):
            path = os.path.join(creds, name)
            with open(path, "w") as f:
                f.write(data)
            os.chmod(path, 0o400)
            os.chown(path, netlab.NOBODY, netlab.NOBODY)
        node.config = os.path.join(creds, "w2wesher.conf")
        node.start()
        lab.wait(lambda: node.overlay_ip() is not None, 30, what="the daemon to start from the credentials")
        assert node.alive()
        unit = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools", "w2wesherd@.service")
        if shutil.which("systemd-analyze"):
            tmp = os.path.join(lab.tmp, "units")
            os.mkdir(tmp)
            with open(unit) as f:
                body = f.read().replace("@sbindir@/w2wesherd", lab.daemon)  # meson configures it
            with open(os.path.join(tmp, "w2wesherd@.service"), "w") as f:
                f.write(body)
            os.symlink("w2wesherd@.service", os.path.join(tmp, "w2wesherd@wesh0.service"))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(tmp, "w2wesherd@wesh0.service")],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and "w2wesherd@" not in r.stderr, r.stderr


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def daemon_sanitized(lab):
    r = subprocess.run(["ldd", lab.daemon], capture_output=True, text=True, timeout=10)
    return "libasan" in r.stdout


def test_junk_stops_at_first_hop():
    """A PSK holder publishes 300 x 120 kB of junk on the announcement topic to
    a relay (node1) meshed with node2: the relay's gossipsub validator rejects
    it before caching and forwarding (issue 15 item 10), so node2 never sees it
    and the relay's peak RSS stays near where it was (it rose from 3 to 40 MB
    when junk was cached and relayed)."""
    with netlab.Lab(range_="10.89.0.0/24") as lab:
        a = one_node(lab)
        b = lab.add_node()
        b.write_config(bootstrap=[a.multiaddr()])
        b.start()
        lab.wait(lambda: len(a.wg_peers()) == 1 and len(b.wg_peers()) == 1, 30, what="node1 and node2 to pair")
        evil = lab.add_node("evil")
        p = subprocess.Popen(["ip", "netns", "exec", evil.ns, lab.cli, "p2p", "listen", "--swarm-key",
                              lab.swarm_key_file(), "--listen", f"/ip4/{evil.ip}/tcp/10042", "--dial",
                              a.multiaddr(), "--topic", "w2w:announces"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        try:
            # its connection and subscription: the CLI prints a JSON line per event
            end = time.monotonic() + 15
            while time.monotonic() < end:
                line = p.stdout.readline()
                if not line or '"identify"' in line:
                    break
            time.sleep(1.5)  # a heartbeat: node1 has evil in its mesh
            hwm0 = vm_hwm_kb(a.proc.pid)
            for i in range(300):
                p.stdin.write("hex:%04x%s\n" % (i, os.urandom(120000 - 2).hex()))
                if i % 20 == 19:
                    p.stdin.flush()
                    time.sleep(0.05)
            p.stdin.flush()
            lab.wait(lambda: "malformed announcement" in a.log_text(), 20, what="node1 to reject the junk")
            time.sleep(2)  # node2 would have it by now if node1 forwarded or gossiped it
            hwm1 = vm_hwm_kb(a.proc.pid)
            print(f"relay peak RSS {hwm0} KiB -> {hwm1} KiB under 300 x 120 kB junk")
            assert "malformed announcement" not in b.log_text(), b.log_text()[-2000:]
            assert a.alive() and b.alive()
            if not daemon_sanitized(lab):
                assert hwm1 - hwm0 < 16 * 1024, (hwm0, hwm1)
            # the relay still relays real announcements: node2 keeps node1
            assert len(b.wg_peers()) == 1
        finally:
            p.kill()
            p.wait()


RECONNECT_LOOP = """
import resource, selectors, socket, sys, time
ip, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 256, n + 256))
sel = selectors.DefaultSelector()
conns = 0
def open_one():
    global conns
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((ip, port))
    sel.register(s, selectors.EVENT_READ)
    conns += 1
for _ in range(n):
    open_one()
end = time.monotonic() + secs
while time.monotonic() < end:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        try:
            s.recv(4096)  # EOF or RST: the daemon closed it; reconnect at once, send nothing
        except OSError:
            pass
        sel.unregister(s)
        s.close()
        open_one()
print(conns)
"""


CONNECT_ONE = """
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
"""


def connect_result(src, ip, port, timeout=2):
    """One TCP connect from src's namespace: "connected", "timeout" (no
    SYN-ACK) or the error's name."""
    r = src.netns_exec("/usr/bin/python3", "-c", CONNECT_ONE, ip, str(port), str(timeout), check=False,
                       timeout=timeout + 20)
    return r.stdout.strip()


def timed_ping(src, lab, target):
    t0 = time.monotonic()
    r = src.netns_exec(lab.cli, "p2p", "ping", "--swarm-key", lab.swarm_key_file(), "--count", "1",
                       "--timeout", "5", target.multiaddr(), check=False, timeout=30)
    return r.returncode == 0, time.monotonic() - t0


def test_reconnect_loop_from_one_ip_spares_others():
    """1,000 sockets from one IP reconnecting in a loop and sending nothing
    (issue 15 item 2): per-IP limits give that IP a few handshake slots and
    refuse the rest at once; past 64 refusals within a second the IP is
    blocked and the kernel drops its SYNs (iplimit.h "Blocking"), so a ping
    (a new connection, handshake, ping) from another IP succeeds every time.
    Before, the global limit of 256 connections was all the attacker's and
    every legitimate ping failed. The attacker runs on its own CPU
    (cpusplit.py: a real one is on another machine); latency is printed, not
    asserted."""
    with netlab.Lab() as lab:
        node = one_node(lab)
        legit = lab.add_node("legit")
        evil = lab.add_node("evil")
        fds0 = len(os.listdir(f"/proc/{node.proc.pid}/fd"))
        fds = []
        with cpusplit.confine([node.proc.pid]) as split:
            base = []
            for _ in range(5):
                base.append(timed_ping(legit, lab, node))
                time.sleep(0.5)  # spaced as the pings under attack are
            assert all(ok for ok, _ in base), base
            att = subprocess.Popen(["ip", "netns", "exec", evil.ns, "python3", "-c", RECONNECT_LOOP, node.ip,
                                    "10042", "1000", "10"], stdout=subprocess.PIPE, text=True,
                                   preexec_fn=split.attacker_preexec)
            try:
                time.sleep(2)  # the attack is running: every handshake slot it can get is taken
                under = []
                for _ in range(8):
                    fds.append(len(os.listdir(f"/proc/{node.proc.pid}/fd")))
                    under.append(timed_ping(legit, lab, node))
                    time.sleep(0.5)
            finally:
                out, _ = att.communicate(timeout=60)
        b = cpusplit.stats([t for _, t in base])
        u = cpusplit.stats([t for _, t in under])
        print(f"{split.describe()}: attacker opened {out.strip()} connections; legit connect+ping "
              f"median/p95/max {b['median']}/{b['p95']}/{b['max']} ms before, "
              f"{u['median']}/{u['p95']}/{u['max']} ms under attack (median ratio "
              f"{u['median'] / b['median']:.2f}); {sum(ok for ok, _ in under)}/{len(under)} succeeded; "
              f"daemon fds {fds0} -> max {max(fds)}")
        assert all(ok for ok, _ in under), under
        # The attacker holds at most its per-IP handshake slots (8), not the
        # whole connection table (256 before).
        assert max(fds) - fds0 <= 8 + 4, (fds0, fds)
        assert node.alive()
        log = node.log_text()
        assert "too many" in log
        assert "blocked for" in log, "the flood did not block the attacker's IP"
        # The block is in the kernel: a connect from the attacker's IP gets no
        # SYN-ACK (it would be accepted and refused with a RST, or time out in
        # the handshake, were it user space), while the legit IP still connects.
        assert connect_result(evil, node.ip, 10042) == "timeout"
        assert connect_result(legit, node.ip, 10042) == "connected"
