"""Process harness for the interop tier: js-libp2p peers (peer.mjs) and our
`w2wesher p2p` CLI, both speaking JSON lines on stdout.

Every process is started here, tracked by PID and killed by PID at exit.
Every wait is bounded. Traffic stays on 127.0.0.1.
"""
import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

_procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 3
    for p in _procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)


atexit.register(_kill_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def need_node():
    """Exits 77 (SKIP) unless node and the installed js packages are present."""
    if not shutil.which("node"):
        log("SKIP: node not found")
        sys.exit(SKIP)
    if not os.path.isdir(os.path.join(HERE, "node_modules", "libp2p")):
        log("SKIP: tests/interop/node_modules missing (run tools/interop-deps.sh)")
        sys.exit(SKIP)


def check(cond, what, ctx=None):
    """Fails the test (AssertionError "what: ctx") unless cond; logs "ok: what"."""
    if not cond:
        raise AssertionError("%s: %s" % (what, ctx))
    log("ok:", what)


def start(prefix="w2w-interop-", c_node=True):
    """Every test's first step: SKIP without node and the js packages, the CLI
    found (c_node), and a fresh temporary folder, returned."""
    need_node()
    if c_node:
        cli()
    return tempfile.mkdtemp(prefix=prefix)


def write_swarm_key(path, key_hex=None):
    key_hex = key_hex or os.urandom(32).hex()
    with open(path, "w") as f:
        f.write("/key/swarm/psk/1.0.0/\n/base16/\n%s\n" % key_hex.lower())
    return path


class Proc:
    """A child printing JSON lines; lines are queued by a reader thread."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.lines = queue.Queue()
        self.events = []  # everything seen, in order
        self.stderr_lines = []
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1,
                                  env=env, cwd=HERE)
        _procs.append(self.p)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        self._next_id = 1

    def _read(self):
        for line in self.p.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "raw", "line": line}
            self.lines.put(ev)
        self.lines.put({"event": "exit"})

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr_lines.append(line.rstrip())
            if os.environ.get("W2W_INTEROP_VERBOSE"):
                log("[%s] %s" % (self.name, line.rstrip()))

    def wait_event(self, pred, timeout=15.0, what="event"):
        """Returns the first event (seen before or arriving later) with pred(ev)."""
        for ev in self.events:
            if pred(ev) and not ev.get("_used"):
                ev["_used"] = True
                return ev
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("%s: no %s within %.1fs; stderr tail: %s" %
                                   (self.name, what, timeout, self.stderr_lines[-15:]))
            try:
                ev = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.events.append(ev)
            if ev.get("event") == "exit" and not pred(ev):
                raise RuntimeError("%s exited (rc=%s) while waiting for %s; stderr tail: %s" %
                                   (self.name, self.p.wait(), what, self.stderr_lines[-15:]))
            if pred(ev):
                ev["_used"] = True
                return ev

    def drain(self, secs=0.0):
        end = time.time() + secs
        while True:
            try:
                ev = self.lines.get(timeout=max(0.0, end - time.time()))
                self.events.append(ev)
            except queue.Empty:
                return

    def send_line(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def cmd(self, cmd, timeout=30.0, **kw):
        """js peer command; returns its result event (raises on ok=false unless check=False)."""
        check = kw.pop("check", True)
        cid = self._next_id
        self._next_id += 1
        kw.update({"id": cid, "cmd": cmd})
        self.send_line(json.dumps(kw))
        r = self.wait_event(lambda e: e.get("event") == "result" and e.get("id") == cid,
                            timeout, "result of %s" % cmd)
        if check and not r.get("ok"):
            raise RuntimeError("%s: %s failed: %s" % (self.name, cmd, r.get("error")))
        return r

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=5.0):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                os.kill(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        return self.p.returncode


class JsPeer(Proc):
    def __init__(self, name, swarm_key, listen=True, extra=()):
        argv = ["node", os.path.join(HERE, "peer.mjs")] + (["--swarm-key", swarm_key] if swarm_key else [])
        if listen:
            argv += ["--listen", "/ip4/127.0.0.1/tcp/0"]
        argv += list(extra)
        super().__init__(name, argv)
        ev = self.wait_event(lambda e: e.get("event") in ("listening", "fatal"), 30, "listening")
        if ev["event"] == "fatal":
            raise RuntimeError("%s: %s" % (name, ev["error"]))
        self.peer_id = ev["peerId"]
        self.addrs = ev["addrs"]
        self.addr = self.addrs[0] if self.addrs else None


def tcp_port(ma):
    parts = ma.split("/")
    return int(parts[parts.index("tcp") + 1])


def cli():
    path = os.environ.get("W2W_CLI")
    if not path or not os.access(path, os.X_OK):
        log("SKIP: W2W_CLI (the w2wesher binary) not set")
        sys.exit(SKIP)
    return path


_c_nodes = []


def stop_c_nodes():
    """Stops every C node with SIGTERM; each must exit 0 without sanitizer reports."""
    bad = []
    for n in _c_nodes:
        rc = n.stop(timeout=10)
        time.sleep(0.05)
        san = [l for l in n.stderr_lines if "Sanitizer" in l or "runtime error" in l]
        if rc != 0 or san:
            bad.append((n.name, rc, san[:5] or n.stderr_lines[-5:]))
    if bad:
        raise AssertionError("C nodes did not exit cleanly: %s" % bad)
    log("ok: %d C nodes exited cleanly" % len(_c_nodes))


class CNode(Proc):
    """`w2wesher p2p listen` on 127.0.0.1."""

    def __init__(self, name, swarm_key, port=0, extra=()):
        _c_nodes.append(self)
        argv = [cli(), "p2p", "listen"] + (["--swarm-key", swarm_key] if swarm_key else []) + \
            ["--listen", "/ip4/127.0.0.1/tcp/%d" % port] + list(extra)
        super().__init__(name, argv)
        ev = self.wait_event(lambda e: e.get("event") == "listening", 10, "listening")
        self.peer_id = ev["peerId"]
        self.addrs = ev["addrs"]
        self.addr = self.addrs[0]

    def stderr_has(self, text, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            if any(text in l for l in self.stderr_lines):
                return True
            time.sleep(0.05)
        return False


def _run(argv, timeout, **kw):
    """Runs argv to completion (SIGKILL past timeout: rc -9); returns (rc, stdout, stderr)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    _procs.append(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=5)
    return p.returncode, out, err


def run_cli(args, timeout=30):
    """Runs the w2wesher CLI to completion; returns (rc, stdout, stderr)."""
    return _run([cli()] + list(args), timeout)


def sanitized():
    """True when the CLI runs under ASan (its quarantine and redzones inflate RSS)."""
    try:
        out = subprocess.run(["ldd", cli()], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in out


def run_node(script, args, timeout=30):
    return _run(["node", os.path.join(HERE, script)] + list(args), timeout, cwd=HERE)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
