# SPDX-License-Identifier: MIT
"""Mesh node names through the real glibc resolver (issue 12 section 2).

Every lookup runs `getent` or `ping` inside a node's network namespace in a
private mount namespace that holds what an installed system would have:
its own /etc/nsswitch.conf (`hosts: files w2wesher`), libnss_w2wesher.so.2 in
the multiarch libdir (a read-only overlay of the build's module over
/usr/lib/<triplet>), and /run/w2wesher/wesh0.sock and wesh0.names.sock pointing
at that node's control socket (0660) and lookup socket (0666). Nothing on the
host changes. docs/operations.md "Node names"."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sysconfig
import time

import pytest

import netlab
from test_harden import ask
from test_mesh import full_mesh, ma_ip4_tcp, msgpack_announcement, start_mesh

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))

# the multiarch libdir glibc searches, where `meson install --prefix=/usr` puts the module
LIBDIR = "/usr/lib/" + (sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")
DOMAIN = "wesh0.w2w"
USER = 12345  # any local user: neither the daemon's user nor its group, no capabilities


def names_sock(node):
    """The daemon's lookup socket, next to its control socket (X.sock -> X.names.sock)."""
    return node.sock[:-len(".sock")] + ".names.sock"


def _module_dir(lab):
    d = os.path.join(lab.tmp, "nss")
    if not os.path.isdir(d):
        os.makedirs(d)
        so = os.path.join(netlab.find_build(), "tools", "nss", "libnss_w2wesher.so.2")
        shutil.copy(so, d)
        with open(os.path.join(d, "nsswitch.conf"), "w") as f:
            f.write("passwd: files\ngroup: files\nhosts: files w2wesher\n")
    return d


def resolver(node, *cmd, user=None, timeout=20, socks=None):
    """Runs cmd in node's netns through the system resolver path, with node's
    control and lookup sockets as /run/w2wesher/wesh0.sock and wesh0.names.sock
    (or socks: {file name: path}); returns (returncode, stdout + stderr, seconds).
    user: run as that uid and gid, no supplementary groups and (not root) no
    capabilities."""
    d = _module_dir(node.lab)
    run = " ".join("'" + c.replace("'", "'\\''") + "'" for c in cmd)
    if user is not None:
        run = f"setpriv --reuid {user} --regid {user} --clear-groups {run}"
    script = (
        "set -e\n"
        f"mount -t overlay overlay -o lowerdir={d}:{LIBDIR} {LIBDIR}\n"
        f"mount --bind {d}/nsswitch.conf /etc/nsswitch.conf\n"
        "mount -t tmpfs -o mode=0755 tmpfs /run\n"
        "mkdir -m 0755 /run/w2wesher\n"
        + "".join(f"ln -s {path} /run/w2wesher/{name}\n"
                  for name, path in (socks or {"wesh0.sock": node.sock,
                                                  "wesh0.names.sock": names_sock(node)}).items()) +
        "set +e\n"
        f"{run}\n"
    )
    t0 = time.monotonic()
    r = subprocess.run(["ip", "netns", "exec", node.ns, "unshare", "--mount", "--propagation", "private",
                        "sh", "-c", script], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


def getent(node, name, **kw):
    """The address getent hosts prints for name, or None (exit code 2: not found)."""
    rc, out, _ = resolver(node, "getent", "hosts", "--", name, **kw)
    assert rc in (0, 2) and (rc == 2 or out), (rc, out)
    return out.split()[0] if rc == 0 else None


def dns_names(node):
    st = node.status()
    return {st["self"]["name"]: st["self"]["dns"], **{p["name"]: p["dns"] for p in st["peers"]}}


def test_names_resolve_leave_and_no_daemon():
    with netlab.Lab() as lab:
        nodes = start_mesh(lab, 3)
        ips = full_mesh(lab, nodes)
        # status --json: every node's resolvable name, its own included
        for n in nodes:
            names = dns_names(n)
            assert names == {m.name: f"{m.name}.{DOMAIN}" for m in nodes}, names
        # getent for every node from every node, and in any case / absolute form
        for a in nodes:
            for b in nodes:
                assert getent(a, f"{b.name}.{DOMAIN}") == ips[b], (a.name, b.name)
        assert getent(nodes[0], f"NODE2.Wesh0.W2W.") == ips[nodes[1]]
        # reverse: an overlay address gives the node's name
        for b in nodes:
            rc, out, _ = resolver(nodes[0], "getent", "hosts", ips[b])
            assert rc == 0 and out.split()[1:] == [f"{b.name}.{DOMAIN}"], out
        # no bare names (they would shadow real hosts), no other domain
        assert getent(nodes[0], "node2") is None
        assert getent(nodes[0], "node2.wesh1.w2w") is None
        # the two sockets: control for owner and group, lookup for everyone
        for n in nodes:
            assert os.stat(n.sock).st_mode & 0o777 == 0o660
            assert os.stat(names_sock(n)).st_mode & 0o777 == 0o666
        # any local user resolves, through the lookup socket
        for a in nodes:
            for b in nodes:
                assert getent(a, f"{b.name}.{DOMAIN}", user=USER) == ips[b], (a.name, b.name)
        rc, out, _ = resolver(nodes[0], "getent", "hosts", ips[nodes[2]], user=USER)
        assert rc == 0 and out.split()[1:] == [f"node3.{DOMAIN}"], out
        # ping by name, through getaddrinfo. iputils ping drops every capability
        # before resolving: as root (no CAP_DAC_OVERRIDE left), as the daemon's
        # user and as any user, it resolves through the 0666 lookup socket.
        for a, b, user in ((nodes[0], nodes[1], USER), (nodes[2], nodes[0], USER),
                           (nodes[1], nodes[2], netlab.NOBODY), (nodes[0], nodes[1], None)):
            rc, out, _ = resolver(a, "ping", "-c1", "-W3", f"{b.name}.{DOMAIN}", user=user)
            assert rc == 0 and ips[b] in out, (user, out)
        # ssh by name (getaddrinfo, as ping). ssh needs a passwd entry, so as
        # nobody, with only the lookup socket offered: it resolves, then finds
        # nothing listening on port 22
        rc, out, _ = resolver(nodes[0], "ssh", "-v", "-F", "/dev/null", "-o", "BatchMode=yes", "-o",
                              "ConnectTimeout=3", f"node2.{DOMAIN}", "true", user=netlab.NOBODY,
                              socks={"wesh0.names.sock": names_sock(nodes[0])})
        assert rc == 255 and f"[{ips[nodes[1]]}] port 22" in out and "Connection refused" in out, out
        assert "Could not resolve" not in out, out
        # that user cannot control the daemon: not through the lookup socket
        # (an error answer), not through the control socket (no access)
        for req in ("status", "leave", "join-info"):
            rc, out, _ = resolver(nodes[0], lab.cli, req, "--socket", "/run/w2wesher/wesh0.names.sock", user=USER)
            assert rc != 0 and "not on the lookup socket" in out, (req, out)
            rc, out, _ = resolver(nodes[0], lab.cli, req, "--socket", "/run/w2wesher/wesh0.sock", user=USER)
            assert rc != 0 and "ermission denied" in out, (req, out)
        assert nodes[0].alive() and len(nodes[0].status()["peers"]) == 2
        # without the lookup socket (w2wesherd --private-names): only the control
        # socket's owner and group (here nobody) and root resolve; others get "not found"
        ctl_only = {"wesh0.sock": nodes[0].sock}
        assert getent(nodes[0], f"node2.{DOMAIN}", user=netlab.NOBODY, socks=ctl_only) == ips[nodes[1]]
        assert getent(nodes[0], f"node2.{DOMAIN}", socks=ctl_only) == ips[nodes[1]]
        assert getent(nodes[0], f"node2.{DOMAIN}", user=USER, socks=ctl_only) is None
        # a leave stops resolution at once
        nodes[2].request("leave")
        t0 = time.monotonic()
        lab.wait(lambda: getent(nodes[0], f"node3.{DOMAIN}", user=USER) is None, 10, step=0.05,
                 what="node3 to stop resolving")
        print(f"measured: node3 stopped resolving {time.monotonic() - t0:.2f}s after its leave")
        assert getent(nodes[0], f"node2.{DOMAIN}") == ips[nodes[1]]
        # no daemon: a hung one (SIGSTOP), a killed one (stale socket), a stopped one (no socket)
        d = nodes[1]
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            rc, out, secs = resolver(d, "getent", "hosts", f"node1.{DOMAIN}")
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        assert rc == 2, out
        print(f"measured: lookup with a hung daemon: not found after {secs * 1000:.0f} ms (whole resolver run)")
        d.kill()
        rc, out, secs = resolver(d, "getent", "hosts", f"node1.{DOMAIN}")
        assert rc == 2, out
        print(f"measured: lookup with a killed daemon: not found after {secs * 1000:.0f} ms")
        os.unlink(d.sock)
        os.unlink(names_sock(d))
        rc, out, secs = resolver(d, "getent", "hosts", f"node1.{DOMAIN}")
        assert rc == 2, out
        print(f"measured: lookup without a daemon: not found after {secs * 1000:.0f} ms")


def test_name_collision_and_hostile_names():
    """Two nodes announce one name: the lower peer ID keeps it, the other gets
    <name>-<last 8 of its peer ID>, with a warning. A member announcing
    hostile names never gets them resolved; a rename moves the name."""
    with netlab.Lab(range_="10.89.0.0/24") as lab:
        first = lab.add_node()
        first.write_config()
        first.start()
        boot = first.multiaddr()
        nodes = [first]
        for i, nm in enumerate(("node2", "node2")):
            n = lab.add_node(f"dup{i}")
            n.write_config(bootstrap=[boot], node_name=nm)
            n.start()
            nodes.append(n)
        ips = full_mesh(lab, nodes)
        a, b = nodes[1], nodes[2]
        win, lose = (a, b) if a.peer_id < b.peer_id else (b, a)
        derived = f"node2-{lose.peer_id[-8:].lower()}.{DOMAIN}"
        for n in nodes:
            st = n.status()
            by_id = {st["self"]["peerId"]: st["self"]["dns"], **{p["peerId"]: p["dns"] for p in st["peers"]}}
            assert by_id[win.peer_id] == f"node2.{DOMAIN}" and by_id[lose.peer_id] == derived, by_id
        assert getent(first, f"node2.{DOMAIN}") == ips[win]
        assert getent(first, derived) == ips[lose]
        lab.wait(lambda: f"{lose.peer_id} {derived}" in first.log_text(), 5, what="the collision warning")
        assert first.log_text().count("name collision") == 1  # once, not once per lookup

        # a member publishing hostile names (tests/e2e/test_mesh.py test_malicious_announcements)
        evil = lab.add_node("evil")
        p = subprocess.Popen(["ip", "netns", "exec", evil.ns, lab.cli, "p2p", "listen", "--swarm-key",
                              lab.swarm_key_file(), "--listen", f"/ip4/{evil.ip}/tcp/10042", "--dial",
                              first.multiaddr(), "--topic", "w2w:announces"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        wg = os.urandom(32)
        seq = [int(time.time() * 1e6)]

        def announce(name):
            seq[0] += 1
            # with its listen address: every member can dial and probe it, so
            # nobody reports it unreachable while the test renames it
            ann = msgpack_announcement(seq[0], name, wg, 10042, [(bytes([10, 89, 0, 250]), int(time.time() * 1e3))],
                                       la=[ma_ip4_tcp(evil.ip, 10042)])
            p.stdin.write("hex:" + ann.hex() + "\n")
            p.stdin.flush()

        def evil_entry():
            for q in first.status()["peers"]:
                if q["address"] == "10.89.0.250":
                    return q
            return None

        try:
            time.sleep(2)
            announce("okevil")  # positive control: the injection path works
            lab.wait(lambda: getent(first, f"okevil.{DOMAIN}") == "10.89.0.250", 15, what="okevil to resolve")
            hostile = ["a..b", "trail.", "x" * 64, "-lead", "dot.ted", "sp ace", "ünï"]
            for name in hostile:
                announce(name)
                lab.wait(lambda: (evil_entry() or {}).get("name") == name, 10, what=f"evil renamed {name!r}")
                assert evil_entry()["dns"] is None
                assert getent(first, f"okevil.{DOMAIN}") is None  # the old name went with the rename
                for q in (f"{name}.{DOMAIN}", name, f"{name}{DOMAIN}"):
                    assert getent(first, q) is None, q
            # refused by the announcement decoder already: the peer keeps its last name
            for name in ("ctl\x01\x1b[2Jx", "y" * 300, "nl\nleave"):
                announce(name)
            time.sleep(1)
            assert evil_entry()["name"] == hostile[-1]
            assert "malformed announcement" in first.log_text()
            # names the resolver is asked for are checked before they reach a daemon
            for q in ("node1\n.wesh0.w2w", "node1." + DOMAIN + "\nleave", "z" * 300 + "." + DOMAIN,
                      ".." + DOMAIN, "node1.." + DOMAIN):
                assert getent(first, q) is None, q
            assert first.alive() and getent(first, f"node1.{DOMAIN}") == ips[first]
            announce("okevil2")  # renamed again: resolves under the new name only
            lab.wait(lambda: getent(first, f"okevil2.{DOMAIN}") == "10.89.0.250", 10, what="okevil2")
        finally:
            p.kill()
            p.wait()


def test_two_clusters_one_host():
    """Two clusters with the same node names: each answers under its own
    domain (<Interface>.w2w), and the resolver asks both daemons."""
    import base64
    with netlab.Lab() as lab:
        a = start_mesh(lab, 2)
        ips_a = full_mesh(lab, a)
        lab.psk = base64.b64encode(os.urandom(32)).decode()
        b1, b2 = lab.add_node("b1"), lab.add_node("b2")
        b1.write_config(port=10043, iface="wesh1", node_name="node1")
        b1.start()
        b2.write_config(bootstrap=[b1.multiaddr(10043)], port=10043, iface="wesh1", node_name="node2")
        b2.start()
        ips_b = full_mesh(lab, [b1, b2])
        assert dns_names(b1) == {"node1": "node1.wesh1.w2w", "node2": "node2.wesh1.w2w"}
        both = {"wesh0.sock": a[0].sock, "wesh1.sock": b1.sock}
        for name, want in (("node2.wesh0.w2w", ips_a[a[1]]), ("node2.wesh1.w2w", ips_b[b2]),
                           ("node1.wesh1.w2w", ips_b[b1])):
            rc, out, _ = resolver(a[0], "getent", "hosts", name, socks=both)
            assert rc == 0 and out.split()[0] == want, (name, out)
        assert ips_a[a[1]] != ips_b[b2]



def _ask(path, data):
    """Sends raw bytes, returns the text answered until EOF (test_harden.ask)."""
    return ask(path, data).decode()

def test_lookup_socket_limits():
    """The lookup socket shares the control socket's hardened accept path with
    its own 16 slots: a local user holding them all gets "busy" answers there,
    and the control socket still serves; bad requests get errors; only the two
    lookups are answered."""
    import socket
    with netlab.Lab() as lab:
        nodes = start_mesh(lab, 2)
        ips = full_mesh(lab, nodes)
        n, path = nodes[0], names_sock(nodes[0])
        assert _ask(path, f"resolve node2.{DOMAIN}\n".encode()) == f"node2.{DOMAIN} {ips[nodes[1]]}\n"
        assert _ask(path, f"resolve-addr {ips[nodes[1]]}\n".encode()) == f"node2.{DOMAIN} {ips[nodes[1]]}\n"
        assert _ask(path, b"resolve nosuch.wesh0.w2w\n") == ""
        for req in (b"status\n", b"status json\n", b"join-info json\n", b"join /ip4/127.0.0.1/tcp/1\n",
                    b"leave\n", b"resolve\n", b"\n"):
            assert "not on the lookup socket" in _ask(path, req), req
        assert "NUL" in _ask(path, b"resolve no\0de2.wesh0.w2w\n")
        assert "too long" in _ask(path, b"x" * 2000)
        # idle holders take every lookup slot. A client answered just before may
        # not have been freed yet: a holder told "busy" is replaced by a new one.
        held = []
        try:
            for _ in range(16):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                held.append(s)
            for _ in range(20):
                time.sleep(0.1)
                busy = []
                for i, s in enumerate(held):
                    try:
                        got = s.recv(256, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        continue
                    assert b"busy" in got, got
                    s.close()
                    held[i] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    held[i].connect(path)
                    busy.append(i)
                if not busy:
                    break
            got = _ask(path, f"resolve node2.{DOMAIN}\n".encode())
            assert "busy: too many lookup clients" in got, got
            # the control socket is not starved, and still resolves for its users
            assert len(n.status()["peers"]) == 1
            assert n.request(f"resolve node2.{DOMAIN}") == f"node2.{DOMAIN} {ips[nodes[1]]}\n"
        finally:
            for s in held:
                s.close()
        lab.wait(lambda: _ask(path, f"resolve node2.{DOMAIN}\n".encode()).startswith("node2."), 5,
                 what="lookup slots to free up")
        assert n.alive()
        # w2wesherd --private-names: no lookup socket (a stale one is removed), so
        # only the control socket's owner and group (and root) resolve
        n.kill()
        assert os.path.exists(path)  # stale, from the killed daemon
        n.start(extra_args=["--private-names"])
        lab.wait(lambda: os.path.exists(n.sock) and n.overlay_ip(), 10, what="the restarted daemon")
        assert not os.path.exists(path)
        lab.wait(lambda: getent(n, f"node2.{DOMAIN}", user=netlab.NOBODY) == ips[nodes[1]], 15,
                 what="node2 to resolve again for the daemon's user")
        assert getent(n, f"node2.{DOMAIN}") == ips[nodes[1]]  # root
        assert getent(n, f"node2.{DOMAIN}", user=USER) is None
        n.stop()
