# SPDX-License-Identifier: MIT
"""The Pythonic surface of issue 14: the exception hierarchy (W2wError, a
class per W2W_E* code, OSError subclasses for errnos), W2W_EPSK from a wrong
swarm key, logging through the "w2wesher" logger, `async with`, gossipsub's
SUBSCRIBED events, the IPAM API against the nodes' rule, and w2wesher.wg on
a real wireguard-go device (root; else skipped)."""
import asyncio
import errno
import logging
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import w2wesher
from w2wesher import (Config, ConfigError, Host, LimitError, Loop, Node, ParseError, PskError, StateError,
                      W2wError, W2wOSError, ipam, keys, wg)

LOCAL = "/ip4/127.0.0.1/tcp/0"


def run(coro, timeout=60):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def test_exception_classes():
    e = w2wesher.error(-errno.ECONNREFUSED, "dial x")
    assert isinstance(e, W2wOSError) and isinstance(e, ConnectionRefusedError) and isinstance(e, W2wError)
    assert e.errno == errno.ECONNREFUSED and e.code == -errno.ECONNREFUSED and str(e) == "dial x: Connection refused"
    e = w2wesher.error(-errno.EADDRINUSE)
    assert type(e) is W2wOSError and isinstance(e, OSError) and e.errno == errno.EADDRINUSE
    for code, cls in ((w2wesher.lib.W2W_EPARSE, ParseError), (w2wesher.lib.W2W_ELIMIT, LimitError),
                      (w2wesher.lib.W2W_ESTATE, StateError), (w2wesher.lib.W2W_EPSK, PskError)):
        e = w2wesher.error(code)
        assert type(e) is cls and e.errno is None and not isinstance(e, OSError)
    assert isinstance(w2wesher.error(w2wesher.lib.W2W_EPARSE), ValueError)
    assert isinstance(w2wesher.error(w2wesher.lib.W2W_ETIMEDOUT), TimeoutError)
    assert w2wesher.Error is W2wError  # the old name
    assert w2wesher.strerror(w2wesher.lib.W2W_EPSK) == "swarm key mismatch (private network)"


def test_config_errors_have_both_classes(tmp_path):
    with pytest.raises(ConfigError) as e:
        Config.load(tmp_path / "missing.conf")
    assert isinstance(e.value, FileNotFoundError) and e.value.errno == errno.ENOENT
    (tmp_path / "bad.conf").write_text("[Wireguard]\nListenPort = banana\n")
    with pytest.raises(ConfigError) as e:
        Config.load(tmp_path / "bad.conf")
    assert isinstance(e.value, ParseError) and "bad.conf:2" in str(e.value)


def test_wrong_swarm_key_is_psk_error():
    async def main():
        async with Host(swarm_key=os.urandom(32)) as a, \
                Host(swarm_key=os.urandom(32), options={"handshake_timeout_ms": 3000}) as b:
            a.listen(LOCAL)
            with pytest.raises(PskError) as e:
                await b.connect(a.listen_addrs[0])
            assert e.value.code == w2wesher.lib.W2W_EPSK and "wrong swarm key" in str(e.value)
            port = a.listen_addrs[0].split("/")[4]
        async with Host() as c:  # a's port is closed now
            with pytest.raises(ConnectionRefusedError):
                await c.connect(f"/ip4/127.0.0.1/tcp/{port}")
    run(main())


def test_logging_and_async_with(caplog):
    """Library log lines reach the "w2wesher.p2p" logger at the logging level
    that maps their syslog level; `async with` frees the hosts; objects made
    without a Loop share Loop.default()."""
    async def main():
        caplog.set_level(logging.DEBUG, logger="w2wesher")
        async with Host() as a, Host() as b:
            assert a._loop is b._loop is Loop.default()
            a.listen(LOCAL)
            await b.connect(a.listen_addrs[0])
            await asyncio.sleep(0.1)
        assert a._ptr is None and b._ptr is None
        await asyncio.sleep(0)
    run(main())
    recs = [r for r in caplog.records if r.name == "w2wesher.p2p"]
    assert recs, "no library log line reached logging"
    assert any("upgraded" in r.getMessage() for r in recs), [r.getMessage() for r in recs][:20]
    assert {r.levelno for r in recs} <= {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR}


def test_node_async_with_and_events_logged(tmp_path, caplog):
    async def main():
        caplog.set_level(logging.INFO, logger="w2wesher")
        cfg = Config()
        cfg.network_range = "10.78.0.0/24"
        cfg.state_dir = str(tmp_path / "state")
        cfg.generate_secrets()
        cfg.check()
        async with Node(cfg) as node:  # on Loop.default()
            node.stop()  # never started: "stopped" from the loop
            ev = await node.wait_stopped(5)
            assert ev.type == "stopped"
        assert node._ptr is None
        with pytest.raises(StateError):
            node.snapshot()
    run(main())
    assert any(r.name == "w2wesher.node" and r.getMessage().startswith("stopped") for r in caplog.records)


def test_subscribed_events():
    """SUBSCRIBED/UNSUBSCRIBED (C API rough edge a): a publisher can wait for a
    subscriber before publishing instead of losing the message."""
    async def main():
        async with Host() as a, Host() as b:
            a.listen(LOCAL)
            a.subscribe("t")
            b.subscribe("t")
            seen = []
            a.add_callback(lambda ev: ev.type in ("subscribed", "unsubscribed") and seen.append(ev))
            await b.connect(a.listen_addrs[0])
            assert await a.wait_subscribed("t", timeout=10) == b.peer_id
            assert await b.wait_subscribed("t", a.peer_id, timeout=10) == a.peer_id
            assert a.subscribers("t") == [b.peer_id]
            got = b.expect(lambda ev: ev.type == "message")
            await asyncio.sleep(1.2)  # a heartbeat: b in a's mesh
            a.publish("t", b"x")
            assert (await asyncio.wait_for(got, 10)).data == b"x"
            gone = a.expect(lambda ev: ev.type == "unsubscribed")
            b.unsubscribe("t")
            ev = await asyncio.wait_for(gone, 10)
            assert ev.peer_id == b.peer_id and ev.topic == "t" and a.subscribers("t") == []
            await asyncio.sleep(0)
            assert [e.type for e in seen] == ["subscribed", "unsubscribed"]
    run(main())


def _peer_bytes(peer_id):
    """base58btc decode (the binary multihash the rule compares)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = 0
    for ch in peer_id:
        n = n * 58 + alphabet.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(peer_id) - len(peer_id.lstrip("1"))) + raw


def test_ipam():
    ids = [keys.identity_peer_id(keys.identity_generate()) for _ in range(3)]
    rng = "10.42.0.0/16"
    c0 = ipam.candidates(rng, ids[0], 4)
    assert len(set(c0)) == 4 and all(a.startswith("10.42.") for a in c0)
    assert ipam.candidate(rng, ids[0], 2) == c0[2]
    assert ipam.candidates(rng, ids[1], 1) != c0[:1]  # derived from the peer ID
    # nobody else: the first candidate, claimed now
    assert ipam.pick(rng, ids[0], now_ms=5) == (c0[0], 5)
    # an older claim on it: the next one
    claims = [ipam.Claim(ids[1], c0[0], 100)]
    assert ipam.pick(rng, ids[0], claims, now_ms=200) == (c0[1], 200)
    # holding it with an older claim: kept, with its time
    assert ipam.pick(rng, ids[0], claims, current=c0[0], current_ms=50, now_ms=200) == (c0[0], 50)
    # a younger one holding it loses: moves
    assert ipam.pick(rng, ids[0], claims, current=c0[0], current_ms=150, now_ms=200) == (c0[1], 200)
    # its own claims are ignored
    assert ipam.pick(rng, ids[0], [ipam.Claim(ids[0], c0[0], 1)], now_ms=7) == (c0[0], 7)
    # the conflict rule: oldest wins, equal times: the lower binary peer ID, pinned (0) beats all
    same = [ipam.Claim(ids[0], "10.42.0.9", 10), ipam.Claim(ids[1], "10.42.0.9", 10),
            ipam.Claim(ids[2], "10.42.0.9", 11)]
    low = min(ids[:2], key=_peer_bytes)
    assert ipam.winner(same, "10.42.0.9").peer_id == low
    assert ipam.winner(same + [ipam.Claim(ids[2], "10.42.0.9", 0)], "10.42.0.9").claimed_ms == 0
    assert ipam.winner(same, "10.42.0.10") is None
    # a full range: LimitError; bad input: ParseError
    tiny = "10.9.9.0/30"  # two usable addresses
    full = [ipam.Claim(ids[1], "10.9.9.1", 1), ipam.Claim(ids[2], "10.9.9.2", 1)]
    with pytest.raises(LimitError):
        ipam.pick(tiny, ids[0], full)
    with pytest.raises(ParseError):
        ipam.candidate("10.42.0.1/16", ids[0], 0)  # host bits set
    with pytest.raises(ParseError):
        ipam.candidate(rng, "not-a-peer-id", 0)
    with pytest.raises(ParseError):
        ipam.winner([ipam.Claim(ids[0], "10.42.0.300", 1)], "10.42.0.1")


def test_wg_config_parse_errors():
    with pytest.raises(ParseError) as e:
        wg.Config.parse("[Interface]\nPrivateKey = nope\n")
    assert "line 2" in str(e.value)
    c = wg.Config.parse(f"[Interface]\nPrivateKey = {keys.wg_genkey()}\nListenPort = 51999\n")
    c.close()


def _wg_requirements():
    if os.geteuid() != 0:
        return "needs root (a network namespace, TUN)"
    if not os.path.exists("/dev/net/tun") or not shutil.which("wireguard-go") or not shutil.which("unshare"):
        return "needs /dev/net/tun, wireguard-go and unshare"
    return None


WG_PROGRAM = r"""
import asyncio, json, os, signal, sys
from w2wesher import keys, wg

async def main(uapi):
    priv, peer = keys.wg_genkey(), keys.wg_pubkey(keys.wg_genkey())
    async with wg.Device("w2wpy0", backend="userspace", create=True) as dev:
        cfg = wg.Config(private_key=priv, listen_port=51999, addresses=["10.55.0.1/24"])
        cfg.add_peer(peer, endpoint="192.0.2.7:51820", keepalive=25, allowed_ips=["10.55.0.2/32"])
        s1 = await dev.sync(cfg)
        s2 = await dev.sync(cfg)  # nothing to do the second time
        st = await dev.read()
        pid = dev.userspace_pid
        out = {"backend": dev.backend, "s1": [s1.added, s1.applied], "s2": [s2.added, s2.unchanged, s2.applied],
               "pub": st.public_key == keys.wg_pubkey(priv), "port": st.listen_port,
               "peers": [[p.public_key == peer, p.endpoint, p.persistent_keepalive, p.allowed_ips]
                         for p in st.peers]}
    if pid:
        os.kill(pid, signal.SIGTERM)
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.skipif(_wg_requirements() is not None, reason=str(_wg_requirements()))
def test_wg_device_userspace():
    """w2wesher.wg syncs and reads back a wireguard-go device in a network
    namespace of its own, with its own /run (wireguard-go's UAPI sockets are
    not separated by network namespaces): nothing outside them is touched."""
    d = tempfile.mkdtemp(prefix="w2w-pywg-")
    try:
        prog = os.path.join(d, "wg_prog.py")
        with open(prog, "w") as f:
            f.write(WG_PROGRAM)
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        r = subprocess.run(["unshare", "-n", "-m", "sh", "-c",
                            'mount -t tmpfs tmpfs /run && mkdir -p /run/wireguard && exec /usr/bin/python3 "$0" "$1"',
                            prog, d], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        import json
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["backend"] == "userspace"
        assert out["s1"] == [1, True] and out["s2"] == [0, 1, False]
        assert out["pub"] and out["port"] == 51999
        assert out["peers"] == [[True, "192.0.2.7:51820", 25, ["10.55.0.2/32"]]]
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
