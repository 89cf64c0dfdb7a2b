#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""[Node] MetricsAddr and the directory defaults, through `w2wesher config
check` (the library's loader, as the daemon uses it).

Usage: test_ops_config.py W2WESHER_BINARY
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

BIN = None
NOBODY = 65534


def check(conf, env=None, as_nobody=False):
    e = {"PATH": "/usr/bin:/bin"}
    e.update(env or {})
    cmd = [BIN, "config", "check", "--allow-open-secrets", conf]
    if as_nobody:
        cmd = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60)


def key(out, name):
    m = re.search(r"^%s = (.*?)\s*; (.*)$" % name, out, re.M)
    return (m.group(1), m.group(2)) if m else None


class OpsConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "w.conf")

    def write(self, node_lines):
        with open(self.conf, "w") as f:
            f.write("[P2P]\n[Node]\n" + "".join(l + "\n" for l in node_lines))
        os.chmod(self.conf, 0o644)

    def test_metrics_addr(self):
        for good in ("127.0.0.1:9586", "[::1]:9586", "0.0.0.0:1", "[fe80::1]:65535"):
            self.write(["MetricsAddr = " + good])
            r = check(self.conf)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(key(r.stdout, "MetricsAddr"), (good, "file line 3"))
        self.write([])
        r = check(self.conf)
        self.assertEqual(key(r.stdout, "MetricsAddr"), ("", "default"))
        for bad in ("localhost:9586", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:9586", "[::1]",
                    "127.0.0.1:95x6", "[127.0.0.1]:80", "1.2.3.4:123456"):
            self.write(["MetricsAddr = " + bad])
            r = check(self.conf)
            self.assertEqual(r.returncode, 1, bad)
            self.assertIn("%s:3: [Node] MetricsAddr: '%s' is not IP:PORT" % (self.conf, bad), r.stderr)
        self.write([])
        r = check(self.conf, env={"W2WESHER_NODE_METRICSADDR": "nope"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("environment W2WESHER_NODE_METRICSADDR", r.stderr)

    def test_systemd_directories(self):
        self.write([])
        r = check(self.conf, env={"STATE_DIRECTORY": "/var/lib/w2wesher/x:/var/lib/other",
                                  "RUNTIME_DIRECTORY": "/run/w2"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(key(r.stdout, "StateDir"), ("/var/lib/w2wesher/x", "environment"))
        self.assertEqual(key(r.stdout, "ControlSocket"), ("/run/w2/wesh0.sock", "environment"))
        # The file and W2WESHER_* win over systemd's variables.
        self.write(["StateDir = /srv/s"])
        r = check(self.conf, env={"STATE_DIRECTORY": "/var/lib/w2wesher/x",
                                  "W2WESHER_NODE_CONTROLSOCKET": "/srv/c.sock", "RUNTIME_DIRECTORY": "/run/w2"})
        self.assertEqual(key(r.stdout, "StateDir")[0], "/srv/s")
        self.assertEqual(key(r.stdout, "ControlSocket")[0], "/srv/c.sock")
        # Relative values are ignored.
        self.write([])
        r = check(self.conf, env={"STATE_DIRECTORY": "relative", "RUNTIME_DIRECTORY": "rel"})
        self.assertEqual(r.returncode, 0, r.stderr)
        if os.geteuid() == 0:
            self.assertEqual(key(r.stdout, "StateDir"), ("/var/lib/w2wesher/wesh0", "default"))

    def test_non_root_fallback(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the check as another user")
        self.write([])
        r = check(self.conf, env={"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/65534"}, as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(key(r.stdout, "StateDir"), ("/home/u/.local/state/w2wesher/wesh0", "default"))
        self.assertEqual(key(r.stdout, "ControlSocket"), ("/run/user/65534/w2wesher/wesh0.sock", "default"))
        r = check(self.conf, env={"HOME": "/home/u", "XDG_STATE_HOME": "/st"}, as_nobody=True)
        self.assertEqual(key(r.stdout, "StateDir")[0], "/st/w2wesher/wesh0")
        self.assertEqual(key(r.stdout, "ControlSocket")[0], "/run/w2wesher/wesh0.sock")
        # root keeps the system paths whatever XDG says.
        r = check(self.conf, env={"HOME": "/root", "XDG_STATE_HOME": "/st"})
        self.assertEqual(key(r.stdout, "StateDir")[0], "/var/lib/w2wesher/wesh0")


if __name__ == "__main__":
    BIN = sys.argv[1]
    unittest.main(argv=sys.argv[:1], verbosity=2)
