# SPDX-License-Identifier: MIT
"""NAT topologies in network namespaces (issue 13), on top of netlab.

The lab's hub bridge is the "internet" (10.231.<lab>.0/24). A public node is an
ordinary netlab node on it. A NATed node sits behind its own router namespace:

    node (10.232.<k>.2, default route via the router)
      |  veth "lan"
    router (lan 10.232.<k>.1, wan 10.231.<lab>.<100+k> on the hub bridge)

The router forwards and does netfilter NAT on its wan side (iptables, the
Debian iptables-nft):

  * ``cone``: UDP is masqueraded to a port in 20000-29999. Without
    --random-fully the kernel reuses the mapping a source (ip, port) already has
    (nf_nat_core.c get_unique_tuple -> find_appropriate_src), so the mapping is
    endpoint-independent, and the public port differs from the node's (10042):
    a peer that guesses "connection IP + announced port" is wrong, discovery is
    needed. TCP is masqueraded plainly.
  * ``symmetric``: ``MASQUERADE --random-fully``: a random port per flow, i.e.
    per destination (endpoint-dependent mapping).

Filtering: inbound packets are forwarded only for conntrack-established flows
(port-restricted), and unsolicited packets to the router itself are dropped in
INPUT *before* conntrack confirms an entry for them; otherwise a peer's early
punch packet would leave an unreplied entry that holds the public port, and
the node's own later packet would be given another port (how Linux-based home
routers behave with a default-drop input policy).

``flush(site)`` runs ``conntrack -F`` in the router: every mapping is gone, the
next packet gets a new random public port (topology 5).
"""
import shutil

import netlab
from netlab import sh

CONE = "cone"
SYMMETRIC = "symmetric"


def requirements():
    err = netlab.requirements()
    if err:
        return err
    for tool in ("iptables", "conntrack"):
        if not shutil.which(tool):
            return f"{tool} not installed (tools/install-deps.sh)"
    return None


class Router:
    def __init__(self, lab, k, kind):
        self.lab = lab
        self.k = k
        self.kind = kind
        self.ns = f"{lab.prefix}r{k}"
        self.wan_ip = f"10.231.{lab.subnet}.{100 + k}"
        self.lan_ip = f"10.232.{k}.1"

    def exec(self, *args, **kw):
        return sh("ip", "netns", "exec", self.ns, *args, **kw)

    def flush(self):
        """Drops every conntrack entry: all NAT mappings change (topology 5)."""
        self.exec("conntrack", "-F", check=False)

    def mappings(self):
        return self.exec("conntrack", "-L", "-p", "udp", check=False).stdout


class NatLab(netlab.Lab):
    def __init__(self, **kw):
        err = requirements()
        if err:
            raise RuntimeError(err)
        super().__init__(**kw)
        self.routers = []

    def add_public(self, name=None):
        return self.add_node(name)

    def add_natted(self, kind, name=None):
        """A node behind its own router of this kind (CONE or SYMMETRIC)."""
        assert kind in (CONE, SYMMETRIC)
        k = len(self.routers) + 1
        r = Router(self, k, kind)
        i = len(self.nodes)
        node = netlab.Node(self, i, name or f"node{i + 1}")
        node.ip = f"10.232.{k}.2"
        node.router = r
        p = self.prefix
        sh("ip", "netns", "add", r.ns)
        sh("ip", "netns", "add", node.ns)
        # wan: a veth from the router to the hub bridge
        # the wan MAC follows netlab's fixed scheme: every node holds a permanent
        # neighbour entry for each 10.231.<lab>.<host> (netlab.Lab.add_node)
        sh("ip", "link", "add", f"{p}w{k}", "address", self.mac(100 + k), "type", "veth", "peer", "name",
           f"{p}x{k}")
        sh("ip", "link", "set", f"{p}w{k}", "netns", r.ns)
        sh("ip", "link", "set", f"{p}x{k}", "netns", self.hub)
        r.exec("ip", "link", "set", f"{p}w{k}", "name", "wan")
        r.exec("ip", "addr", "add", f"{r.wan_ip}/24", "dev", "wan")
        sh("ip", "-n", r.ns, "-batch", "-", input="".join(
            f"neigh replace 10.231.{self.subnet}.{h} lladdr {self.mac(h)} dev wan nud permanent\n"
            for h in range(1, 255) if h != 100 + k))
        sh("ip", "netns", "exec", self.hub, "ip", "link", "set", f"{p}x{k}", "master", "br0")
        sh("ip", "netns", "exec", self.hub, "ip", "link", "set", f"{p}x{k}", "up")
        # lan: a veth from the router to the node
        sh("ip", "link", "add", f"{p}l{k}", "type", "veth", "peer", "name", f"{p}m{k}")
        sh("ip", "link", "set", f"{p}l{k}", "netns", r.ns)
        sh("ip", "link", "set", f"{p}m{k}", "netns", node.ns)
        r.exec("ip", "link", "set", f"{p}l{k}", "name", "lan")
        r.exec("ip", "addr", "add", f"{r.lan_ip}/24", "dev", "lan")
        for dev in ("wan", "lan", "lo"):
            r.exec("ip", "link", "set", dev, "up")
        node.netns_exec("ip", "link", "set", f"{p}m{k}", "name", "eth0")
        node.netns_exec("ip", "addr", "add", f"{node.ip}/24", "dev", "eth0")
        node.netns_exec("ip", "link", "set", "eth0", "up")
        node.netns_exec("ip", "link", "set", "lo", "up")
        node.netns_exec("ip", "route", "add", "default", "via", r.lan_ip)
        # NAT
        r.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        ipt = ("iptables", "-w", "5")
        if kind == CONE:
            r.exec(*ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-p", "udp", "-j", "MASQUERADE",
                   "--to-ports", "20000-29999")
        else:
            r.exec(*ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-p", "udp", "-j", "MASQUERADE",
                   "--random-fully")
        r.exec(*ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
        r.exec(*ipt, "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
               "-j", "ACCEPT")
        r.exec(*ipt, "-A", "FORWARD", "-i", "wan", "-j", "DROP")
        r.exec(*ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP")
        self.routers.append(r)
        self.nodes.append(node)
        return node

    def close(self):
        super().close()
        for r in self.routers:
            sh("ip", "netns", "del", r.ns, check=False)
