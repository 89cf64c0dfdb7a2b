# SPDX-License-Identifier: MIT
"""Operations against real daemons (issue 14): systemd notifications through a
real NOTIFY_SOCKET listener (a path and an abstract name), the watchdog,
RELOADING on SIGHUP, the Prometheus endpoint scraped and parsed with
prometheus_client's text parser, and systemd's / XDG directories.

The daemons run as netlab runs them (nobody, only CAP_NET_ADMIN, own network
and mount namespaces); the listener and the scraper run inside the node's
network namespace (tests/e2e/ops_helper.py)."""
import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

import netlab

HERE = os.path.dirname(os.path.abspath(__file__))
HELPER = os.path.join(HERE, "ops_helper.py")
PY = "/usr/bin/python3"
PORT = 9586

pytestmark = pytest.mark.skipif(netlab.requirements() is not None, reason=str(netlab.requirements()))

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover
    text_string_to_metric_families = None


class Listener:
    """ops_helper.py listen, in the node's network namespace; datagrams queued."""

    def __init__(self, node, addr):
        self.proc = subprocess.Popen(["ip", "netns", "exec", node.ns, PY, HELPER, "listen", addr],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        first = json.loads(self.proc.stdout.readline())
        assert first == {"listening": addr}
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.q.put(json.loads(line))

    def wait_for(self, pred, timeout, what):
        """Returns the first datagram (from now on, or already seen and not yet
        consumed) satisfying pred."""
        end = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.seen):
                if pred(m):
                    del self.seen[: i + 1]
                    return m
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} notification; got {self.seen}")
            try:
                self.seen.append(self.q.get(timeout=left))
            except queue.Empty:
                pass

    def drain(self, settle=0.0):
        time.sleep(settle)
        while True:
            try:
                self.seen.append(self.q.get_nowait())
            except queue.Empty:
                return list(self.seen)

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


def fields(m):
    return dict(l.split("=", 1) for l in m["text"].split("\n") if "=" in l)


def http(node, requests, host="127.0.0.1"):
    r = node.netns_exec(PY, HELPER, "http", host, str(PORT), input=json.dumps(requests), timeout=60)
    return json.loads(r.stdout)


def scrape(node):
    ans = http(node, ["GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain;version=0.0.4\r\n\r\n"])[0]
    assert isinstance(ans, str), ans
    head, _, body = ans.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK\r\n"), head
    assert "Content-Type: text/plain; version=0.0.4" in head, head
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    return fams, body


def value(fams, metric, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


@pytest.fixture
def lab():
    # Each test runs `with lab:`, whose __exit__ prints the daemons' logs when
    # the body raises, then tears the lab down.
    return netlab.Lab()


def test_notify_metrics(lab):
    with lab:
        notify_metrics(lab)


def notify_metrics(lab):
    if text_string_to_metric_families is None:
        pytest.skip("python3-prometheus-client not installed (tools/install-deps.sh)")
    n1, n2 = lab.add_node(), lab.add_node()
    n1.write_config(extra={"Node": {}} if False else None)
    # [Node] is written by netlab; append MetricsAddr to it.
    with open(n1.config) as f:
        text = f.read().replace("[Node]\n", f"[Node]\nMetricsAddr = 127.0.0.1:{PORT}\n", 1)
    with open(n1.config, "w") as f:
        f.write(text)
    n2.write_config(bootstrap=[n1.multiaddr()])
    path = os.path.join(n1.dir, "notify.sock")
    abstract = f"@w2w-ops-{os.getpid()}"
    l1, l2 = Listener(n1, path), Listener(n2, abstract)
    try:
        # n1: a path and a watchdog that is ours; n2: an abstract name and a
        # WATCHDOG_PID of another process (no pings: sd_watchdog_enabled(3)).
        n1.start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        m = l1.wait_for(lambda m: "READY=1" in m["text"].split("\n"), 30, "READY=1 (path socket)")
        assert m["pid"] == n1.proc.pid and m["uid"] == netlab.NOBODY, m
        # READY means: listener bound, interface up, control socket answering.
        assert n1.wg("show", "wesh0").returncode == 0
        assert n1.status()["self"]["peerId"]
        assert "peers up" in fields(m).get("STATUS", ""), m
        n2.start(env={"NOTIFY_SOCKET": abstract, "WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"})
        m2 = l2.wait_for(lambda m: "READY=1" in m["text"].split("\n"), 30, "READY=1 (abstract socket)")
        assert m2["pid"] == n2.proc.pid, m2

        # STATUS= follows the peers.
        l1.wait_for(lambda m: fields(m).get("STATUS", "").startswith("1 peer up"), 30, "STATUS=1 peer up")
        # The watchdog: pings from n1's loop, none from n2 (not its WATCHDOG_PID).
        for _ in range(3):
            l1.wait_for(lambda m: m["text"] == "WATCHDOG=1", 10, "WATCHDOG=1")
        assert not [m for m in l2.drain() if "WATCHDOG=1" in m["text"]]

        # SIGHUP: RELOADING=1 with our CLOCK_MONOTONIC time, then READY=1.
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        n1.proc.send_signal(signal.SIGHUP)
        m = l1.wait_for(lambda m: "RELOADING=1" in m["text"], 10, "RELOADING=1")
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert before <= int(fields(m)["MONOTONIC_USEC"]) <= after, (before, m, after)
        l1.wait_for(lambda m: "READY=1" in m["text"].split("\n"), 10, "READY=1 after the reload")

        # Metrics: a WireGuard handshake first, so the per-peer values move.
        lab.wait(lambda: n1.overlay_ip() and n2.overlay_ip(), 30, what="overlay addresses")
        ip2 = n2.overlay_ip()
        lab.wait(lambda: n1.ping(ip2), 30, what="n1 -> n2 over the overlay")
        pid2 = n2.identity()
        # The daemon reads WireGuard's counters periodically (RefreshInterval
        # for the device): scrape until the handshake shows, bounded.
        got = {}

        def scraped():
            got["fams"], _ = scrape(n1)
            return (value(got["fams"], "w2wesher_peer_last_handshake_seconds", peer_id=pid2) or 0) > 0
        lab.wait(scraped, 30, step=0.5, what="the handshake in the metrics")
        fams = got["fams"]
        assert value(fams, "w2wesher_peers") == 1
        assert value(fams, "w2wesher_peers_connected") == 1
        assert value(fams, "w2wesher_peers_up_total") >= 1
        assert value(fams, "w2wesher_peers_expired_total") == 0
        assert value(fams, "w2wesher_announcements_received_total") >= 1
        assert value(fams, "w2wesher_announcements_sent_total") >= 1
        assert value(fams, "w2wesher_reconcile_runs_total") >= 1
        assert value(fams, "w2wesher_reconcile_errors_total") == 0
        assert value(fams, "w2wesher_state_writes_total") >= 1
        assert value(fams, "w2wesher_gossipsub_messages_received_total") >= 1
        assert value(fams, "w2wesher_gossipsub_rpcs_sent_total") >= 1
        assert fams["w2wesher_announcements_received"].type == "counter"
        assert fams["w2wesher_peers"].type == "gauge"
        assert value(fams, "w2wesher_info", peer_id=n1.identity(), name=n1.name) == 1
        assert value(fams, "w2wesher_peer_connected", peer_id=pid2, name=n2.name) == 1
        assert value(fams, "w2wesher_peer_receive_bytes_total", peer_id=pid2) > 0
        assert value(fams, "w2wesher_peer_transmit_bytes_total", peer_id=pid2) > 0
        assert value(fams, "w2wesher_peer_last_handshake_seconds", peer_id=pid2) > 0
        age = value(fams, "w2wesher_peer_handshake_age_seconds", peer_id=pid2)
        assert age is not None and 0 <= age < 600
        # Counters only grow.
        fams2, _ = scrape(n1)
        assert value(fams2, "w2wesher_gossipsub_rpcs_received_total") >= value(fams, "w2wesher_gossipsub_rpcs_received_total")

        # Bound to 127.0.0.1 only: not on the node's underlay address.
        assert http(n1, ["GET /metrics HTTP/1.1\r\n\r\n"], host=n1.ip)[0] == {"error": "ConnectionRefusedError"}
        # Bounded request parsing: each bad request gets its status, the daemon lives on.
        ans = http(n1, [
            "POST /metrics HTTP/1.1\r\n\r\n",
            "GET /nope HTTP/1.1\r\n\r\n",
            "HEAD /metrics HTTP/1.0\r\n\r\n",
            "GET /metrics HTTP/2.0\r\n\r\n",
            "garbage\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nX: " + "a" * 5000 + "\r\n\r\n",
        ])
        codes = [a.split(" ", 2)[1] if isinstance(a, str) and a.startswith("HTTP/1.1 ") else a for a in ans]
        assert codes == ["405", "404", "200", "505", "400", "431"], ans
        assert ans[2].endswith("\r\n\r\n")  # HEAD: headers only
        assert n1.alive()
        scrape(n1)

        # Stopping: STOPPING=1 before the exit.
        assert n1.stop() == 0
        l1.wait_for(lambda m: "STOPPING=1" in m["text"], 10, "STOPPING=1")
    finally:
        l1.close()
        l2.close()


def strip_dirs(node):
    with open(node.config) as f:
        lines = [l for l in f if not l.startswith(("StateDir", "ControlSocket"))]
    with open(node.config, "w") as f:
        f.writelines(lines)


def mkdir_nobody(path):
    os.makedirs(path, exist_ok=True)
    os.chown(path, netlab.NOBODY, netlab.NOBODY)
    os.chmod(path, 0o700)


def test_directories(lab):
    with lab:
        directories(lab)


def directories(lab):
    # A lone node has nothing to save (its first claim is derived again);
    # a peer gives it a learned address to persist.
    n, peer = lab.add_node(), lab.add_node()
    n.write_config()
    strip_dirs(n)
    peer.write_config(bootstrap=[n.multiaddr()])
    peer.start()
    # systemd's StateDirectory= / RuntimeDirectory= (the unit's settings).
    sd, rd = os.path.join(n.dir, "sd"), os.path.join(n.dir, "rd")
    mkdir_nobody(sd)
    mkdir_nobody(rd)
    base = {"HOME": "/nonexistent", "XDG_STATE_HOME": "", "XDG_RUNTIME_DIR": ""}
    n.start(env=dict(base, STATE_DIRECTORY=sd, RUNTIME_DIRECTORY=rd))
    n.sock = os.path.join(rd, "wesh0.sock")
    lab.wait(lambda: n.overlay_ip() is not None, 30, what="the control socket in $RUNTIME_DIRECTORY")
    lab.wait(lambda: os.path.exists(os.path.join(sd, "state")), 30, what="the state file in $STATE_DIRECTORY")
    assert n.stop() == 0
    # By hand, not root, no StateDir: the XDG base directories.
    home, xrd = os.path.join(n.dir, "home"), os.path.join(n.dir, "xrd")
    mkdir_nobody(home)
    mkdir_nobody(xrd)
    n.start(env=dict(base, HOME=home, XDG_RUNTIME_DIR=xrd))
    n.sock = os.path.join(xrd, "w2wesher", "wesh0.sock")
    lab.wait(lambda: n.overlay_ip() is not None, 30, what="the control socket in $XDG_RUNTIME_DIR/w2wesher")
    state = os.path.join(home, ".local", "state", "w2wesher", "wesh0", "state")
    lab.wait(lambda: os.path.exists(state), 30, what="the state file in ~/.local/state/w2wesher/wesh0")
    assert os.stat(os.path.dirname(state)).st_mode & 0o777 == 0o700
    assert n.stop() == 0
