# SPDX-License-Identifier: MIT
"""NAT traversal (issue 13, docs/nat.md): real w2wesherd daemons behind
netfilter NATs in network namespaces (tests/e2e/natlab.py)."""
import subprocess
import time

import pytest

import natlab

pytestmark = pytest.mark.skipif(natlab.requirements() is not None, reason=str(natlab.requirements()))

REFLECT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7000))
s.settimeout(10)
for _ in range(int(sys.argv[1])):
    data, src = s.recvfrom(100)
    s.sendto(f"{src[0]}:{src[1]}".encode(), src)
"""

SEND = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 10042))
s.settimeout(5)
for dst in sys.argv[1:]:
    s.sendto(b"x", (dst, 7000))
    print(s.recvfrom(100)[0].decode())
"""


def seen_from(lab, node, servers):
    """The public ip:port each server sees for one socket of node."""
    procs = [subprocess.Popen(["ip", "netns", "exec", s.ns, "/usr/bin/python3", "-c", REFLECT, "1"])
             for s in servers]
    time.sleep(0.3)
    try:
        out = node.netns_exec("/usr/bin/python3", "-c", SEND, *[s.ip for s in servers]).stdout.split()
    finally:
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return out


def test_fixture_nat_kinds():
    """The fixture itself: a cone NAT maps one socket to one public port for
    every destination (not the node's own port); a symmetric one to a port per
    destination; a conntrack flush changes the cone's port."""
    with natlab.NatLab() as lab:
        s1, s2 = lab.add_public(), lab.add_public()
        c = lab.add_natted(natlab.CONE)
        y = lab.add_natted(natlab.SYMMETRIC)
        cone = seen_from(lab, c, [s1, s2])
        assert len(cone) == 2 and cone[0] == cone[1], cone
        assert cone[0].startswith(c.router.wan_ip + ":") and not cone[0].endswith(":10042")
        sym = seen_from(lab, y, [s1, s2])
        assert len(sym) == 2 and sym[0] != sym[1] and sym[0].split(":")[0] == y.router.wan_ip, sym
        c.router.flush()
        after = seen_from(lab, c, [s1])
        assert after and after[0] != cone[0], (cone, after)
