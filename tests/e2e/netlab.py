# SPDX-License-Identifier: MIT
"""A lab of w2wesher nodes in network namespaces on this machine.

Each node is a network namespace joined to a hub namespace's bridge by a veth
pair (the "underlay", 10.231.<lab>.0/24). Its daemon runs the way a user would
run it: the real `w2wesherd` binary and an INI config file, as an unprivileged
user (nobody) holding only CAP_NET_ADMIN (setpriv ambient capabilities), in a
private mount namespace that gives it

  * its own /run/wireguard (wireguard-go's UAPI sockets are not separated by
    network namespaces), owned by the daemon user;
  * a /dev/net/tun it may open (the host's is mode 0600 root; most
    distributions ship 0666, and this does the same for the node only).

Traffic never leaves the namespaces the lab created. Every process is tracked
by PID and killed on teardown; every namespace is deleted.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

NOBODY = 65534
HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args, check=True, capture=True, timeout=30, **kw):
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def recv_all(s, cap=1 << 20):
    """What the peer sends on socket s until it closes (at most about cap bytes)."""
    out = b""
    while len(out) < cap:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def requirements():
    """None when the lab can run here, else the reason to skip."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    for tool in ("ip", "setpriv", "unshare", "wireguard-go", "ping"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    return None


def find_build():
    d = os.environ.get("W2W_BUILD_DIR")
    if d:
        return d
    root = os.path.dirname(os.path.dirname(HERE))
    for cand in ("build", "build-test"):
        p = os.path.join(root, cand, "tools", "w2wesherd")
        if os.path.exists(p):
            return os.path.join(root, cand)
    raise RuntimeError("no build directory with tools/w2wesherd (set W2W_BUILD_DIR)")


class Node:
    def __init__(self, lab, idx, name):
        self.lab = lab
        self.idx = idx
        self.name = name
        self.ns = f"{lab.prefix}n{idx}"
        self.ip = f"10.231.{lab.subnet}.{idx + 1}"
        self.dir = os.path.join(lab.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chown(self.dir, NOBODY, NOBODY)
        self.config = os.path.join(self.dir, "w2wesher.conf")
        self.sock = os.path.join(self.dir, "control.sock")
        self.log = os.path.join(self.dir, "daemon.log")
        self.proc = None
        self.holder = None
        self.peer_id = None

    # -- configuration -------------------------------------------------
    def gen_keys(self):
        """Keys made by the CLI before the daemon starts, so the peer ID is known
        without racing the daemon's own write-back of generated secrets."""
        keyfile = os.path.join(self.dir, "p2p.key")
        r = sh(self.lab.cli, "identity", "--key", keyfile)
        self.peer_id = r.stdout.split()[-1]
        with open(keyfile, "rb") as f:
            p2p = base64.b64encode(f.read()).decode()
        wg = sh(self.lab.cli, "genkey").stdout.strip()
        return p2p, wg

    def write_config(self, bootstrap=(), extra=None, p2p_key=None, wg_key=None, port=10042, iface="wesh0",
                     node_name=None):
        lab = self.lab
        if p2p_key is None and wg_key is None:
            p2p_key, wg_key = self.gen_keys()
        lines = [
            "# written by tests/e2e/netlab.py",
            "[P2P]",
            f"PSK = {lab.psk}",
            f"ListenAddr = /ip4/{self.ip}/tcp/{port}",
            f"AnnounceInterval = {lab.announce}",
        ]
        if p2p_key:
            lines.append(f"PrivateKey = {p2p_key}")
        if bootstrap:
            lines.append("Bootstrap = " + ",".join(bootstrap))
        lines += [
            "[Wireguard]",
            f"Interface = {iface}",
            f"ListenPort = {port}",
            f"NetworkRange = {lab.range}",
            f"NodeName = {node_name or self.name}",
            f"PersistentKeepalive = {lab.keepalive}",
            f"Backend = {lab.backend}",
        ]
        if wg_key:
            lines.append(f"PrivateKey = {wg_key}")
        lines += [
            "[Node]",
            f"StateDir = {self.dir}/state",
            f"ControlSocket = {self.sock}",
            f"PeerExpiry = {lab.expiry}",
            "LogLevel = debug",
        ]
        for sect, kv in (extra or {}).items():
            lines.append(f"[{sect}]")
            lines += [f"{k} = {v}" for k, v in kv.items()]
        # Sections may repeat above; the parser merges them only if it allows
        # that, so callers put extras in sections not used here.
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chown(self.config, NOBODY, NOBODY)
        os.chmod(self.config, 0o600)

    def set_keys(self, section, **kv):
        """Sets (or with None removes) keys of [section] in the config written above."""
        with open(self.config) as f:
            lines = [ln for ln in f.read().splitlines() if not any(ln.startswith(k + " =") for k in kv)]
        i = lines.index(f"[{section}]") + 1
        lines[i:i] = [f"{k} = {v}" for k, v in kv.items() if v is not None]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def identity(self):
        """Peer ID from the config (the CLI derives it like the daemon does)."""
        r = sh(self.lab.cli, "config", "check", self.config)
        for line in r.stdout.splitlines():
            if line.startswith("peer-id:"):
                self.peer_id = line.split()[1]
                return self.peer_id
        raise RuntimeError(f"no peer ID in `config check` output:\n{r.stdout}")

    def multiaddr(self, port=10042):
        return f"/ip4/{self.ip}/tcp/{port}/p2p/{self.peer_id or self.identity()}"

    # -- processes -----------------------------------------------------
    def netns_exec(self, *args, **kw):
        return sh("ip", "netns", "exec", self.ns, *args, **kw)

    def procs(self):
        """(pid, comm) of every process in the node's private mount namespace."""
        try:
            mnt = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
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

    def _holder(self):
        """A long-lived process owning the node's private mount namespace, so a
        restarted daemon finds the wireguard-go (and its UAPI socket) that the
        previous one started: the userspace analogue of an interface that
        outlives the daemon."""
        if self.holder and self.holder.poll() is None:
            return self.holder.pid
        script = (
            "set -e\n"
            f"mkdir -p {self.dir}/dev\n"
            f"mount -t tmpfs -o mode=0755 tmpfs {self.dir}/dev\n"
            f"mknod -m 0666 {self.dir}/dev/tun c 10 200\n"
            f"mount --bind {self.dir}/dev/tun /dev/net/tun\n"
            "mkdir -p /run/wireguard\n"
            f"mount -t tmpfs -o mode=0755,uid={NOBODY},gid={NOBODY} tmpfs /run/wireguard\n"
            "echo ready\n"
            "exec sleep 100000\n"
        )
        self.holder = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        if self.holder.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{self.name}: cannot set up the private mount namespace")
        return self.holder.pid

    def nsenter(self):
        return ["nsenter", "--target", str(self._holder()), "--mount", "--net"]

    def start(self, extra_args=(), env=None):
        assert self.proc is None
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.nsenter() + ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
                              "--inh-caps", "+net_admin", "--ambient-caps", "+net_admin",
                              self.lab.daemon, "--config", self.config, *extra_args],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, **(env or {})))
        logf.close()
        self.lab.procs.add(self)

    def teardown(self):
        """Kills every process in the node's mount namespace (all ours: the
        holder, daemons, wireguard-go)."""
        self.kill()
        if not self.holder:
            return
        try:
            mnt = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
        except OSError:
            mnt = None
        if mnt:
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) != os.getpid():
                    try:
                        if os.readlink(f"/proc/{pid}/ns/mnt") == mnt:
                            os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
        try:
            self.holder.kill()
            self.holder.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.holder = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """SIGTERM: stop without leaving. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        rc = self.proc.returncode
        self.proc = None
        self.lab.procs.discard(self)
        return rc

    def kill(self):
        """SIGKILL the daemon (its wireguard-go, in its own session, survives
        like a kernel interface would)."""
        if self.proc is None:
            return
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=5)
        self.proc = None
        self.lab.procs.discard(self)

    # -- control socket ------------------------------------------------
    def request(self, line, timeout=3.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(line.encode() + b"\n")
            return recv_all(s).decode()
        finally:
            s.close()

    def status(self):
        return json.loads(self.request("status json"))

    def overlay_ip(self):
        try:
            return self.status()["self"]["address"] or None
        except (OSError, ValueError, KeyError):
            return None

    def ping(self, ip, count=1, wait=1):
        r = self.netns_exec("ping", "-c", str(count), "-W", str(wait), "-n", "-q", ip, check=False,
                            timeout=count * wait + 10)
        return r.returncode == 0

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wg(self, *args):
        """Debian's wg inside the node (its netns and mount namespace)."""
        return sh(*self.nsenter(), "wg", *args, check=False, env=dict(os.environ, WG_COLOR_MODE="never"))

    def wg_peers(self, iface="wesh0"):
        return set(self.wg("show", iface, "peers").stdout.split())


class Lab:
    count = 0

    def __init__(self, n=0, range_="fd6d:142e:65e7:4cc1::/64", announce="2s", expiry="8s", keepalive="5s",
                 backend="auto"):
        err = requirements()
        if err:
            raise RuntimeError(err)
        build = find_build()
        self.daemon = os.path.join(build, "tools", "w2wesherd")
        self.cli = os.path.join(build, "tools", "w2wesher")
        Lab.count += 1
        self.subnet = (os.getpid() + Lab.count) % 200 + 20
        self.prefix = f"w2w{os.getpid() % 10000}x{Lab.count}"
        self.tmp = tempfile.mkdtemp(prefix="w2w-lab-")
        os.chmod(self.tmp, 0o755)
        self.range = range_
        self.announce = announce
        self.expiry = expiry
        self.keepalive = keepalive
        # auto: kernel WireGuard where the module exists (each node's device lives
        # in its namespace), else wireguard-go
        self.backend = backend
        self.psk = base64.b64encode(os.urandom(32)).decode()
        self.nodes = []
        self.procs = set()
        self.hub = f"{self.prefix}hub"
        sh("ip", "netns", "add", self.hub)
        sh("ip", "netns", "exec", self.hub, "ip", "link", "add", "br0", "type", "bridge")
        sh("ip", "netns", "exec", self.hub, "ip", "link", "set", "br0", "up")
        for _ in range(n):
            self.add_node()

    def add_node(self, name=None):
        i = len(self.nodes)
        node = Node(self, i, name or f"node{i + 1}")
        sh("ip", "netns", "add", node.ns)
        sh("ip", "link", "add", f"{self.prefix}a{i}", "address", self.mac(i + 1), "type", "veth", "peer", "name",
           f"{self.prefix}b{i}")
        sh("ip", "link", "set", f"{self.prefix}a{i}", "netns", node.ns)
        sh("ip", "link", "set", f"{self.prefix}b{i}", "netns", self.hub)
        node.netns_exec("ip", "link", "set", f"{self.prefix}a{i}", "name", "eth0")
        node.netns_exec("ip", "addr", "add", f"{node.ip}/24", "dev", "eth0")
        node.netns_exec("ip", "link", "set", "eth0", "up")
        node.netns_exec("ip", "link", "set", "lo", "up")
        # Static neighbours for the whole /24 (every node's MAC is fixed by its
        # index): the kernel's ARP table is one table for all namespaces, with
        # gc_thresh3 = 1024 dynamic entries by default, and a lab of ~32 nodes
        # (each resolving every other), or several labs at once, overflows it
        # ("neighbor table overflow!": dials and WireGuard handshakes to a new
        # node fail for tens of seconds). Permanent entries are not counted.
        sh("ip", "-n", node.ns, "-batch", "-", input="".join(
            f"neigh replace 10.231.{self.subnet}.{k} lladdr {self.mac(k)} dev eth0 nud permanent\n"
            for k in range(1, 255) if k != i + 1))
        sh("ip", "netns", "exec", self.hub, "ip", "link", "set", f"{self.prefix}b{i}", "master", "br0")
        sh("ip", "netns", "exec", self.hub, "ip", "link", "set", f"{self.prefix}b{i}", "up")
        self.nodes.append(node)
        return node

    def mac(self, host):
        """The fixed MAC of the node at 10.231.<subnet>.<host> (locally administered)."""
        return f"02:77:{self.subnet:02x}:00:{host >> 8:02x}:{host & 0xff:02x}"

    def swarm_key_file(self):
        """The lab's PSK as a swarm.key file (for `w2wesher p2p` tools)."""
        path = os.path.join(self.tmp, "swarm.key")
        with open(path, "w") as f:
            f.write("/key/swarm/psk/1.0.0/\n/base16/\n" + base64.b64decode(self.psk).hex() + "\n")
        return path

    def cut(self, group_a, group_b):
        """Partitions the underlay: drop traffic between the two groups at the bridge."""
        for a in group_a:
            for b in group_b:
                for src, dst in ((a, b), (b, a)):
                    sh("ip", "netns", "exec", src.ns, "ip", "route", "add", "blackhole", f"{dst.ip}/32")

    def heal(self, group_a, group_b):
        for a in group_a:
            for b in group_b:
                for src, dst in ((a, b), (b, a)):
                    sh("ip", "netns", "exec", src.ns, "ip", "route", "del", "blackhole", f"{dst.ip}/32",
                       check=False)

    def wait(self, cond, timeout, step=0.1, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return time.monotonic()
            time.sleep(step)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")

    def overlay_ips(self, nodes, timeout=30):
        """{node: overlay address} once every node of nodes has one."""
        ips = {}

        def ready():
            for n in nodes:
                if n not in ips:
                    ip = n.overlay_ip()
                    if ip:
                        ips[n] = ip
            return len(ips) == len(nodes)

        self.wait(ready, timeout, what="overlay addresses")
        return ips

    def full_mesh(self, nodes, timeout=40, addr_timeout=30):
        """Every node pings every other node's overlay address; returns the addresses.
        On a timeout, prints the pairs that cannot ping and each node's `wg show`."""
        ips = self.overlay_ips(nodes, addr_timeout)

        def all_pairs():
            for a in nodes:
                for b in nodes:
                    if a is not b and not a.ping(ips[b], wait=1):
                        return False
            return True

        try:
            self.wait(all_pairs, timeout, step=0.5, what="all pairs to ping over the overlay")
        except TimeoutError:
            bad = [(a.name, b.name) for a in nodes for b in nodes if a is not b and not a.ping(ips[b], wait=1)]
            print("pairs that cannot ping:", bad)
            for n in nodes:
                print(f"== {n.name} {ips[n]}\n{n.wg('show').stdout}")
            raise
        return ips

    def close(self):
        for node in self.nodes:
            node.teardown()
        for node in self.nodes:
            sh("ip", "netns", "del", node.ns, check=False)
        sh("ip", "netns", "del", self.hub, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def dump_logs(self, lines=40):
        for node in self.nodes:
            try:
                with open(node.log, errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            print(f"----- {node.name} ({node.ns}) daemon log, last {len(tail)} lines -----")
            print("\n".join(tail))

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.dump_logs()
        self.close()
