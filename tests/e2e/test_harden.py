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
        out = b""
        while len(out) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


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

        assert json.loads(ask(node.sock, b"sta\0tus json\n"))["error"].startswith("bad request")
        assert json.loads(ask(node.sock, b"x" * 5000))["error"] == "request too long"
        assert json.loads(ask(node.sock, b"x" * 5000 + b"\n"))["error"] == "request too long"

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
done = 0
while done < n and time.monotonic() < end:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((ip, port))
        s.sendall(os.urandom(64) if done % 2 else b"")  # garbage, or nothing at all
    except OSError:
        pass
    s.close()
    done += 1
print(done)
"""


def test_reconnect_loop_log_bounded():
    """A reconnect loop before authentication (no PSK): the daemon's log grows
    by a bounded amount, not by lines per connection."""
    with netlab.Lab() as lab:
        node = one_node(lab)
        time.sleep(1)
        before = os.path.getsize(node.log)
        r = node.netns_exec("python3", "-c", FLOOD, node.ip, "10042", "3000", timeout=90)
        done = int(r.stdout)
        assert done == 3000, r.stdout
        time.sleep(1)
        grown = os.path.getsize(node.log) - before
        assert node.alive()
        assert "self" in node.status()
        print(f"{done} refused connections: the log grew by {grown} bytes")
        # Unlimited, each connection logged about two lines (~200 bytes): 600 kB here.
        assert grown < 64 * 1024, node.log_text()[-3000:]


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
