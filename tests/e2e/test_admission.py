# SPDX-License-Identifier: MIT
"""Admission mode (issue 16, docs/security.md "Admission mode"): real daemons
in network namespaces, one lab for every case so the whole run stays short.

node1..node4 run in admission mode (AdmissionKey = two operator keys: node4's
token is signed by the second, the key-rotation case). node5 holds the PSK
and runs in open mode: it is refused while it has no token, a token for
another peer ID or an expired one, joins once a valid token is given to the
running daemon (SIGHUP), and is removed everywhere by a revocation published
on one node, which a node that was down learns when it is back and which
survives a restart of every node. A revocation signed by a key the mesh does
not trust is refused."""
import os
import signal
import time

import pytest

import netlab
from test_mesh import full_mesh

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))

DOMAIN = "wesh0.w2w"


def cli(lab, *args, stdin=None, check=True):
    import subprocess
    r = subprocess.run([lab.cli, *args], input=stdin, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"w2wesher {' '.join(args)}: {r.returncode}\n{r.stderr}")
    return r


def peer_ids(node):
    try:
        return {p["peerId"] for p in node.status()["peers"]}
    except (OSError, ValueError, KeyError):
        return None


def resolves(node, name):
    try:
        out = node.request(f"resolve {name}.{DOMAIN}")
    except OSError:
        return None
    return out.startswith(f"{name}.{DOMAIN} ")  # "FQDN ADDRESS"; "" when unknown


def logged(node, text):
    return text in node.log_text()


def test_admission():
    with netlab.Lab() as lab:
        t0 = time.monotonic()
        d = lab.tmp
        keys = []
        for i in (1, 2, 3):
            path = os.path.join(d, f"op{i}.key")
            with open(path, "w") as f:
                f.write(cli(lab, "admission", "genkey").stdout)
            os.chmod(path, 0o600)
            keys.append((path, cli(lab, "admission", "pubkey", stdin=open(path).read()).stdout.strip()))
        trusted = f"{keys[0][1]}, {keys[1][1]}"  # op3 stays untrusted: the forger

        def token(peer, key=0, expires=None, name=None):
            args = ["admission", "sign", "--key", keys[key][0], "--peer", peer]
            if expires:
                args += ["--expires", expires]
            if name:
                args += ["--name", name]
            return cli(lab, *args).stdout.strip()

        members = [lab.add_node() for _ in range(4)]
        for i, n in enumerate(members):
            n.write_config(bootstrap=[members[0].multiaddr()] if i else ())
            n.set_keys("P2P", AdmissionKey=trusted, AdmissionToken=token(n.peer_id, key=1 if i == 3 else 0, name=n.name))
        for n in members:
            n.start()
        ips = full_mesh(lab, members, timeout=40)
        ids = {n.peer_id for n in members}
        lab.wait(lambda: all(peer_ids(n) == ids - {n.peer_id} for n in members), 20, what="4-node peer tables")

        # -- a PSK holder without a token ---------------------------------
        n5 = lab.add_node()
        n5.write_config(bootstrap=[m.multiaddr() for m in members])
        n5.start()
        lab.wait(lambda: all(logged(m, f"peer {n5.peer_id} refused: no admission token") for m in members), 20,
                 what="every member to refuse node5")
        ip5 = lab.overlay_ips([n5])[n5]

        def outside():
            state = ([n5.peer_id not in (peer_ids(m) or {n5.peer_id}) for m in members],
                     peer_ids(n5),  # it never received a table
                     [resolves(m, "node5") for m in members])
            print("outside:", state)
            return all(state[0]) and not state[1] and not any(state[2])
        assert outside()
        wg5 = n5.wg("show", "wesh0", "public-key").stdout.strip()
        assert all(wg5 not in m.wg_peers() for m in members)
        assert not n5.ping(ips[members[0]], wait=1)
        assert not members[0].ping(ip5, wait=1)
        lab.wait(lambda: logged(n5, f"disconnected from {members[0].peer_id}"), 10,
                 what="node5's connection to be closed")
        assert members[1].ping(ips[members[2]], wait=2)  # the mesh keeps working

        # -- a token for another peer ID, then an expired one: refused -----
        n5.set_keys("P2P", AdmissionToken=token(members[3].peer_id))
        n5.proc.send_signal(signal.SIGHUP)
        lab.wait(lambda: logged(members[0], "admission token for another peer ID"), 20,
                 what="the token for another peer ID to be refused")
        short = token(n5.peer_id, expires="1s")
        time.sleep(1.2)  # the token's own validity, not a wait for the system
        n5.set_keys("P2P", AdmissionToken=short)
        n5.proc.send_signal(signal.SIGHUP)
        lab.wait(lambda: logged(members[0], "admission token expired"), 20, what="the expired token to be refused")
        assert outside()

        # -- a valid token, given to the running daemon: it joins ----------
        n5.set_keys("P2P", AdmissionToken=token(n5.peer_id, expires="1h", name="node5"))
        n5.proc.send_signal(signal.SIGHUP)
        all5 = members + [n5]
        ids5 = ids | {n5.peer_id}
        lab.wait(lambda: all(peer_ids(n) == ids5 - {n.peer_id} for n in all5), 30, what="node5 to join")
        full_mesh(lab, all5, timeout=30)
        assert all(resolves(m, "node5") for m in members)

        # -- revocation, with node4 down ------------------------------------
        members[3].stop()
        rev = os.path.join(d, "node5.rev")
        with open(rev, "w") as f:
            f.write(cli(lab, "admission", "revoke", "--key", keys[0][0], "--peer", n5.peer_id).stdout)
        up = members[:3]
        t_rev = time.monotonic()
        cli(lab, "admission", "publish", "--socket", members[1].sock, rev)

        def revoked(nodes):
            return all(n5.peer_id not in (peer_ids(m) or {n5.peer_id}) and wg5 not in m.wg_peers()
                       and not resolves(m, "node5") for m in nodes)
        lab.wait(lambda: revoked(up), 10, step=0.05, what="the revocation to reach every running node")
        print(f"revocation enforced on {len(up)} nodes after {time.monotonic() - t_rev:.2f} s")
        assert not n5.ping(ips[members[0]], wait=1)
        assert os.path.exists(os.path.join(members[0].dir, "state", "revocations"))

        # node4 was down: it learns the revocation from the others
        members[3].start()
        lab.wait(lambda: peer_ids(members[3]) == ids - {members[3].peer_id}, 30, what="node4 back in the mesh")
        lab.wait(lambda: revoked([members[3]]) and logged(members[3], "admission revoked"), 20,
                 what="node4 to learn the revocation")
        lab.wait(lambda: os.path.exists(os.path.join(members[3].dir, "state", "revocations")), 5,
                 what="node4 to persist it")

        # every member restarts: the revocation holds from the state directory
        for m in members:
            m.stop()
        for m in members:
            m.start()
        lab.wait(lambda: all(peer_ids(n) == ids - {n.peer_id} for n in members), 40, what="the mesh after restart")
        assert all(logged(m, "admission: 1 revocation(s) loaded") for m in members)
        time.sleep(1)  # give node5 (still running, still redialling) a chance to get in
        assert revoked(members)

        # -- a forged revocation (an untrusted key) is refused ---------------
        forged = os.path.join(d, "forged.rev")
        with open(forged, "w") as f:
            f.write(cli(lab, "admission", "revoke", "--key", keys[2][0], "--peer", members[2].peer_id).stdout)
        r = cli(lab, "admission", "publish", "--socket", members[0].sock, forged, check=False)
        assert r.returncode != 0
        time.sleep(0.5)
        assert members[2].peer_id in peer_ids(members[0]) and members[2].peer_id in peer_ids(members[1])
        print(f"admission e2e: {time.monotonic() - t0:.1f} s")
