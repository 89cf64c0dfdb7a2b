#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""
WireGuard sync through the library on wireguard-go, in two network namespaces
joined by a veth pair. Devices are created (wireguard-go started), keyed,
addressed and peered only through libw2wesher (tests/netns/wg_apply.c, the
`w2wesher` CLI for keys); Debian's `wg showconf` is the independent witness.

Steps: initial sync (IPv4 + IPv6 ping across the tunnel), a no-op re-sync
(nothing sent), an endpoint change, a roamed endpoint kept by the policy,
a removed peer (ping stops), the peer re-added (ping works again). After
every sync `wg showconf` must show exactly the desired configuration and
`w2wesher wg showconf` must print the same text.

Usage: test_wg_netns.py [--backend kernel] WG_APPLY W2WESHER. Exit 77 when
root, /dev/net/tun, wireguard-go, wg or ip is missing. With --backend kernel
(run inside the VM, tests/vm) the same steps run on kernel WireGuard links
created by the library; the userspace-only steps (roaming check, killing the
implementation) are skipped there.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def need(kernel):
    if os.geteuid() != 0:
        return "not root"
    if kernel:
        if subprocess.run(["modprobe", "wireguard"], capture_output=True).returncode != 0 and \
                not os.path.exists("/sys/module/wireguard"):
            return "no wireguard kernel module"
    elif not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    for tool in (("wg", "ip", "ping") if kernel else ("wireguard-go", "wg", "ip", "ping")):
        if not shutil.which(tool):
            return "no " + tool
    return None


class Fail(Exception):
    pass


def run(cmd, check=True, timeout=30, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise Fail("command failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p


def ns(name, *cmd, **kw):
    return run(["ip", "netns", "exec", name] + list(cmd), **kw)


def canon(text):
    """A showconf-format text as a comparable value: device keys + a set of peers,
    each with sorted allowed IPs (wireguard-go lists peers in map order)."""
    dev, peers, cur = {}, [], None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.lower() == "[interface]":
            cur = dev
            continue
        if line.lower() == "[peer]":
            cur = {}
            peers.append(cur)
            continue
        k, v = [x.strip() for x in line.split("=", 1)]
        k = k.lower()
        if k == "allowedips":
            cur.setdefault(k, [])
            cur[k] += [a.strip() for a in v.split(",") if a.strip()]
        else:
            cur[k] = v
    for p in peers:
        p["allowedips"] = tuple(sorted(p.get("allowedips", [])))
        p.setdefault("persistentkeepalive", "off")
    frozen = frozenset(tuple(sorted(p.items())) for p in peers)
    return (tuple(sorted(dev.items())), frozen)


def conf(priv, port, peers):
    out = ["[Interface]", "PrivateKey = %s" % priv, "ListenPort = %d" % port, ""]
    for p in peers:
        out.append("[Peer]")
        out.append("PublicKey = %s" % p["pub"])
        out.append("AllowedIPs = %s" % ", ".join(p["aips"]))
        if p.get("ep"):
            out.append("Endpoint = %s" % p["ep"])
        if p.get("ka"):
            out.append("PersistentKeepalive = %d" % p["ka"])
        out.append("")
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    backend = "userspace"
    if args[:1] == ["--backend"]:
        backend = args[1]
        args = args[2:]
    kernel = backend == "kernel"
    why = need(kernel)
    if why:
        print("SKIP: " + why)
        return SKIP
    wg_apply, w2w = os.path.abspath(args[0]), os.path.abspath(args[1])
    tag = "%05d" % (os.getpid() % 100000)
    nsa, nsb = "w2wA" + tag, "w2wB" + tag
    ifa, ifb = "w2wa" + tag, "w2wb" + tag  # distinct: /var/run/wireguard is shared
    tmp = tempfile.mkdtemp(prefix="w2w-netns-")
    pids = []
    created = []
    extra_ifs = []

    def cleanup():
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 3
        for pid in pids:
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for n in created:
            if kernel:  # kernel links die with their namespace; delete them first anyway
                subprocess.run(["ip", "-n", n, "link", "del", ifa if n == nsa else ifb], capture_output=True)
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        for i in [ifa, ifb] + extra_ifs:
            try:
                os.unlink("/var/run/wireguard/%s.sock" % i)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)

    def sigterm(*_):
        cleanup()
        sys.exit(1)

    signal.signal(signal.SIGTERM, sigterm)
    try:
        for n in (nsa, nsb):
            run(["ip", "netns", "add", n])
            created.append(n)
            ns(n, "ip", "link", "set", "lo", "up")
        run(["ip", "link", "add", "vA" + tag, "netns", nsa, "type", "veth", "peer", "vB" + tag, "netns", nsb])
        ns(nsa, "ip", "addr", "add", "192.168.77.1/24", "dev", "vA" + tag)
        ns(nsb, "ip", "addr", "add", "192.168.77.2/24", "dev", "vB" + tag)
        ns(nsa, "ip", "addr", "add", "fd77::1/64", "dev", "vA" + tag, "nodad")
        ns(nsb, "ip", "addr", "add", "fd77::2/64", "dev", "vB" + tag, "nodad")
        ns(nsa, "ip", "link", "set", "vA" + tag, "up")
        ns(nsb, "ip", "link", "set", "vB" + tag, "up")

        def key():
            priv = run([w2w, "genkey"]).stdout.strip()
            pub = run([w2w, "pubkey"], input=priv + "\n").stdout.strip()
            return priv, pub

        (pa, ka), (pb, kb) = key(), key()
        a_peer_b = {"pub": kb, "aips": ["10.77.0.2/32", "fd77:1::2/128"], "ep": "192.168.77.2:51821", "ka": 25}
        b_peer_a = {"pub": ka, "aips": ["10.77.0.1/32", "fd77:1::1/128"], "ep": "192.168.77.1:51820"}
        step = [0]

        def apply(nsn, ifn, text, addr, extra=()):
            step[0] += 1
            path = os.path.join(tmp, "%s-%d.conf" % (ifn, step[0]))
            with open(path, "w") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(text)
            args = [wg_apply, ifn, path, "--mtu", "1420", "--backend", backend]
            for a in addr:
                args += ["--addr", a]
            out = ns(nsn, *(args + list(extra))).stdout
            res = dict(l.split("=", 1) for l in out.split())
            if "pid" in res and int(res["pid"]) not in pids:
                pids.append(int(res["pid"]))
            if res.get("backend") != backend:
                raise Fail("unexpected backend %r" % res.get("backend"))
            return {k: (int(v) if v.lstrip("-").isdigit() else v) for k, v in res.items()}

        def check_conf(nsn, ifn, text, what):
            theirs = ns(nsn, "wg", "showconf", ifn).stdout
            ours = ns(nsn, w2w, "wg", "showconf", ifn).stdout
            if canon(theirs) != canon(text):
                raise Fail("%s: wg showconf differs from the desired config\n--- desired\n%s\n--- wg\n%s"
                           % (what, text, theirs))
            if canon(ours) != canon(theirs):
                raise Fail("%s: w2wesher wg showconf differs from wg showconf\n%s\n---\n%s" % (what, ours, theirs))
            if kernel and ours != theirs:  # the kernel dumps peers in a stable order: byte-exact
                raise Fail("%s: showconf texts differ byte-wise:\n%s\n---\n%s" % (what, ours, theirs))
            return theirs, ours

        def ping(nsn, addr, v6=False, tries=12):
            # A handshake that hit a closed port is retried after REKEY_TIMEOUT (5 s):
            # allow ~12 s, one probe a second, before calling the tunnel dead.
            cmd = ["ping"] + (["-6"] if v6 else []) + ["-c", "1", "-W", "1", addr]
            for _ in range(tries):
                if ns(nsn, *cmd, check=False, timeout=10).returncode == 0:
                    return True
            return False

        addr_a = ["10.77.0.1/24", "fd77:1::1/64"]
        addr_b = ["10.77.0.2/24", "fd77:1::2/64"]

        # 1. create and configure both ends through the library
        ca = conf(pa, 51820, [a_peer_b])
        cb = conf(pb, 51821, [b_peer_a])
        r = apply(nsa, ifa, ca, addr_a)
        assert r["added"] == 1 and r["applied"] == 1, r
        theirs, ours = check_conf(nsa, ifa, ca, "initial A")
        if theirs != ours:  # one peer: the order is fixed, so the text must be byte-identical
            raise Fail("showconf texts differ byte-wise:\n%s\n---\n%s" % (ours, theirs))
        r = apply(nsb, ifb, cb, addr_b)
        check_conf(nsb, ifb, cb, "initial B")
        link = ns(nsa, "ip", "-o", "addr", "show", "dev", ifa).stdout
        if "10.77.0.1/24" not in link or "fd77:1::1/64" not in link:
            raise Fail("interface addresses missing:\n" + link)
        if "mtu 1420" not in ns(nsa, "ip", "link", "show", ifa).stdout:
            raise Fail("MTU not applied")
        if not ping(nsa, "10.77.0.2"):
            raise Fail("IPv4 ping across the tunnel failed")
        if not ping(nsa, "fd77:1::2", v6=True):
            raise Fail("IPv6 ping across the tunnel failed")
        print("ok 1 - created via the library, IPv4 and IPv6 ping across the tunnel")

        # 2. re-sync the same config: nothing to change, no set sent
        r = apply(nsa, ifa, ca, addr_a)
        if r["applied"] != 0 or r["unchanged"] != 1:
            raise Fail("no-op sync changed something: %r" % r)
        print("ok 2 - re-sync of an identical config sends no set")

        # 3. change A's endpoint for B to B's IPv6 address
        a_peer_b6 = dict(a_peer_b, ep="[fd77::2]:51821")
        ca6 = conf(pa, 51820, [a_peer_b6])
        r = apply(nsa, ifa, ca6, addr_a)
        if r["updated"] != 1 or r["added"] or r["removed"]:
            raise Fail("endpoint change was not a single update: %r" % r)
        check_conf(nsa, ifa, ca6, "endpoint change")
        if not ping(nsa, "10.77.0.2"):
            raise Fail("ping after endpoint change failed")
        print("ok 3 - endpoint changed with one peer update, ping still works")

        # 4. B now talks to A from its IPv4 address, so A roamed B's endpoint back to
        #    IPv4; with a keep-roamed policy the sync keeps it, without one it rewrites.
        #    Step 3's pings made B roam its endpoint for A to [fd77::1]:51820; B's
        #    desired config says 192.168.77.1:51820, so a sync without the policy
        #    writes it back, and B's next packets reach A over IPv4.
        bend = ns(nsb, "wg", "show", ifb, "endpoints").stdout
        r = apply(nsb, ifb, cb, addr_b)
        if "[fd77::1]:51820" in bend and r["updated"] != 1:
            raise Fail("B's roamed endpoint was not rewritten without a policy: %r" % r)
        check_conf(nsb, ifb, cb, "B endpoint restored")
        ping(nsb, "10.77.0.1")
        cur = ns(nsa, "wg", "show", ifa, "endpoints").stdout
        if kernel and "192.168.77.2:51821" not in cur:
            raise Fail("the kernel did not roam A's endpoint for B: %s" % cur)
        if "192.168.77.2:51821" in cur:
            r = apply(nsa, ifa, ca6, addr_a, extra=["--keep-roamed", "120"])
            if r["endpoints_kept"] != 1 or r["applied"] != 0:
                raise Fail("roamed endpoint not kept by the policy: %r" % r)
            if "192.168.77.2:51821" not in ns(nsa, "wg", "show", ifa, "endpoints").stdout:
                raise Fail("policy should have left the roamed endpoint alone")
            r = apply(nsa, ifa, ca6, addr_a)
            if r["updated"] != 1:
                raise Fail("without the policy the desired endpoint must be written: %r" % r)
            print("ok 4 - roamed endpoint kept by the policy, rewritten without it")
        else:
            print("ok 4 # SKIP the device did not roam (%s)" % cur.strip())

        # 5. remove B from A: ping must stop
        cnone = conf(pa, 51820, [])
        r = apply(nsa, ifa, cnone, addr_a)
        if r["removed"] != 1 or r["applied"] != 1:
            raise Fail("peer removal: %r" % r)
        check_conf(nsa, ifa, cnone, "peer removed")
        if ping(nsa, "10.77.0.2", tries=3):
            raise Fail("ping still works after the peer was removed")
        print("ok 5 - peer removed, ping stops")

        # 6. re-add: ping works again
        r = apply(nsa, ifa, ca, addr_a)
        if r["added"] != 1:
            raise Fail("re-add: %r" % r)
        check_conf(nsa, ifa, ca, "peer re-added")
        if not ping(nsa, "10.77.0.2") or not ping(nsa, "fd77:1::2", v6=True):
            raise Fail("ping after re-adding the peer failed")
        print("ok 6 - peer re-added, IPv4 and IPv6 ping work again")

        # 7. w2wesher wg syncconf (CLI) on the running device: a PSK and a second peer
        psk = run([w2w, "genkey"]).stdout.strip()  # any 32 random bytes in base64
        extra_priv, extra_pub = key()
        cfull = conf(pa, 51820, [dict(a_peer_b), {"pub": extra_pub, "aips": ["10.77.0.9/32"]}]).replace(
            "PublicKey = %s\n" % kb, "PublicKey = %s\nPresharedKey = %s\n" % (kb, psk))
        path = os.path.join(tmp, "full.conf")
        with open(path, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(cfull)
        ns(nsa, w2w, "wg", "syncconf", "--backend", backend, ifa, path)
        check_conf(nsa, ifa, cfull, "cli syncconf")
        print("ok 7 - w2wesher wg syncconf matches wg showconf")

        if kernel:
            # 8. kernel: the link is adopted after a "restart" (a new process, nothing deleted)
            p = ns(nsa, wg_apply, ifa, path, "--create", "0", "--backend", backend)
            check_conf(nsa, ifa, cfull, "adopted link")
            if "applied=0" not in p.stdout:
                raise Fail("adopting an up-to-date link changed something: %s" % p.stdout)
            print("ok 8 - kernel link adopted by a new process with nothing to change")
            return 0
        # 8. the implementation dies: a sync without create reports the missing
        #    device; with create it starts a new one and configures it again
        apid = pids[0]
        os.kill(apid, signal.SIGTERM)
        # wait until it is gone (or a zombie): until then it may still hold its port
        # (wireguard-go then answers the new one's set with errno=-98, EADDRINUSE)
        for _ in range(100):
            try:
                with open("/proc/%d/stat" % apid) as f:
                    if f.read().split(") ", 1)[1].startswith("Z"):
                        break
            except OSError:
                break
            time.sleep(0.05)
        p = ns(nsa, wg_apply, ifa, os.path.join(tmp, "full.conf"), "--create", "0", check=False)
        if p.returncode == 0 or "No such device" not in p.stderr:
            raise Fail("sync of a vanished device: rc %d, %s" % (p.returncode, p.stderr))
        r = apply(nsa, ifa, ca, addr_a)
        if r["added"] != 1 or len(pids) < 3:
            raise Fail("restart: %r" % r)
        check_conf(nsa, ifa, ca, "after restart")
        if not ping(nsa, "10.77.0.2"):
            raise Fail("ping after restarting the implementation failed")
        print("ok 8 - vanished device reported (-ENODEV); recreated and reconfigured with create")

        # 9. '"' and '\\' are legal in Linux interface names: `w2wesher wg show
        #    --json` still prints valid JSON with the name intact
        odd = 'w"\\' + tag
        extra_ifs.append(odd)
        apply(nsa, odd, "[Interface]\nListenPort = 51829\n", [])
        out = ns(nsa, w2w, "wg", "show", odd, "--json", "--backend", backend).stdout
        try:
            shown = json.loads(out)
        except ValueError as e:
            raise Fail("wg show --json of %r is not JSON (%s): %s" % (odd, e, out))
        if shown.get("interface") != odd:
            raise Fail("wg show --json names %r, not %r" % (shown.get("interface"), odd))
        print("ok 9 - an interface name with a quote and a backslash is escaped in wg show --json")
        return 0
    except (Fail, AssertionError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
