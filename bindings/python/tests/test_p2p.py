# SPDX-License-Identifier: MIT
"""P2PHost pairs on 127.0.0.1 driven by asyncio through the push contract
(add_reader/add_writer/call_at), and one in blocking (pull) mode."""
import asyncio
import errno
import os
import signal
import subprocess
import json

import pytest

import w2wesher
from w2wesher import Error, Loop, P2PHost, PskError
from w2wesher import P2PHost as Host

LOCAL = "/ip4/127.0.0.1/tcp/0"


def run(coro, timeout=30):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def test_pair_ping_identify_gossip():
    async def main():
        loop = Loop()
        psk = os.urandom(32)
        a = P2PHost(loop, swarm_key=psk)
        b = P2PHost(loop, key=w2wesher.identity_generate(), swarm_key=w2wesher.swarm_key_generate())
        b.close()  # another network: closed right away, and a new one on the right key
        key = w2wesher.identity_generate()
        b = P2PHost(loop, key=key, swarm_key=psk, options={"keepalive_ms": 0})
        assert b.peer_id == w2wesher.identity_peer_id(key)
        seen_a = []
        a.add_callback(seen_a.append)
        a.listen(LOCAL)
        addrs = a.listen_addrs
        assert len(addrs) == 1 and addrs[0].startswith("/ip4/127.0.0.1/tcp/") and addrs[0].endswith(a.peer_id)
        assert int(addrs[0].split("/")[4]) > 0
        assert loop._readers, "the listener's fd is watched through add_reader"

        identified = b.expect(lambda ev: ev.type == "identify")
        peer = await b.connect(addrs[0])
        assert peer == a.peer_id
        ident = await asyncio.wait_for(identified, 10)
        assert ident.agent_version.startswith("w2wesher/")
        assert "/ipfs/ping/1.0.0" in ident.protocols
        assert b.connection_count == 1

        rtts = [await b.ping(a.peer_id) for _ in range(3)]
        assert all(0 < r < 5_000_000 for r in rtts)
        assert 0 < await a.ping(b.peer_id) < 5_000_000  # the other way, on the same connection
        assert any(ev.type == "connected" and ev.inbound and ev.peer_id == b.peer_id for ev in seen_a)
        assert b.observed_addrs and b.observed_addrs[0].startswith("/ip4/127.0.0.1/tcp/")

        # gossipsub: b publishes, a (subscribed) gets it with b as the verified author.
        a.subscribe("w2w:test")
        b.subscribe("w2w:test")
        got = a.expect(lambda ev: ev.type == "message")
        for _ in range(100):  # until the subscriptions were exchanged
            try:
                b.publish("w2w:test", b"hello \x00 mesh")
            except Error:
                pass
            done, _ = await asyncio.wait([got], timeout=0.1)
            if done:
                break
        msg = got.result()
        assert (msg.sender, msg.topic, msg.data) == (b.peer_id, "w2w:test", b"hello \x00 mesh")

        # hangup: both sides see the connection go.
        gone = a.expect(lambda ev: ev.type == "disconnected" and ev.peer_id == b.peer_id)
        b.hangup(a.peer_id)
        await asyncio.wait_for(gone, 10)
        with pytest.raises(Error) as e:
            b.send_ping(a.peer_id)
        assert e.value.code == w2wesher.lib.W2W_ESTATE
        loop.close()
        assert not loop._readers and not loop._writers and loop._timer is None
    run(main())


def test_wrong_swarm_key_and_refused():
    async def main():
        loop = Loop()
        a = P2PHost(loop, swarm_key=os.urandom(32))
        a.listen(LOCAL)
        b = P2PHost(loop, swarm_key=os.urandom(32), options={"handshake_timeout_ms": 3000})
        with pytest.raises(Error) as e:
            await b.connect(a.listen_addrs[0])
        assert "dial" in str(e.value)
        port = a.listen_addrs[0].split("/")[4]
        a.close()
        lines = []
        c = P2PHost(loop, log=lambda level, msg: lines.append((level, msg)), log_level=6)
        with pytest.raises(Error) as e:
            await c.connect(f"/ip4/127.0.0.1/tcp/{port}")
        await asyncio.sleep(0)  # log lines reach Python from the asyncio loop, like events
        assert any(level == 6 and "failed" in msg for level, msg in lines), lines
        with pytest.raises(Error) as e:
            c.dial("/not/a/multiaddr")
        assert e.value.code == w2wesher.lib.W2W_EPARSE
        d = P2PHost(loop)
        d.listen(LOCAL)
        with pytest.raises(Error) as e:
            c.listen("/ip4/127.0.0.1/tcp/" + d.listen_addrs[0].split("/")[4])
        assert e.value.errno == errno.EADDRINUSE and "listen" in str(e.value)
        loop.close()
    run(main())


def test_async_iterator_and_callbacks_can_close():
    async def main():
        loop = Loop()
        a = P2PHost(loop)
        a.listen(LOCAL)
        b = P2PHost(loop)
        closed = []

        def on_event(ev):  # runs from the asyncio loop: may call anything, even close()
            if ev.type == "ping":
                b.close()
                closed.append(ev)
        b.add_callback(on_event)
        types = []

        async def collect():
            async for ev in b.events():
                types.append(ev.type)
        task = asyncio.ensure_future(collect())
        await b.connect(a.listen_addrs[0])
        await b.ping(a.peer_id)
        await asyncio.wait_for(task, 10)  # ends when b is closed
        assert types[0] == "connected" and "ping" in types and closed
        loop.close()
    run(main())


def test_interop_with_cli_listener():
    """The Python host pings the C tool's host (another process, another loop)."""
    cli = os.environ.get("W2W_CLI")
    if not cli or not os.path.exists(cli):
        pytest.skip("W2W_CLI not set (tools/w2wesher)")
    p = subprocess.Popen([cli, "p2p", "listen", "--listen", LOCAL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    try:
        addr = json.loads(p.stdout.readline())["addrs"][0]

        async def main():
            loop = Loop()
            h = P2PHost(loop)
            peer = await h.connect(addr)
            assert addr.endswith(peer)
            assert await h.ping(peer) > 0
            loop.close()
        run(main())
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)


def test_blocking_mode():
    """Loop.blocking(): w2w_loop_run() drives two hosts; callbacks run inside the library."""
    loop = Loop.blocking()
    a = P2PHost(loop)
    a.listen(LOCAL)
    b = P2PHost(loop)
    state = {}

    def on_b(ev):
        state.setdefault("events", []).append(ev.type)
        if ev.type in ("connected", "ping", "dial-failed", "ping-failed"):
            state["last"] = ev
            loop.break_()
    b.add_callback(on_b)
    b.dial(a.listen_addrs[0])
    assert loop.run(timeout=10) is True
    assert state["last"].type == "connected"
    # Inside w2w_loop_run, re-entering the loop fails; from here it is fine.
    b.send_ping(a.peer_id)
    assert loop.run(timeout=10) is True
    assert state["last"].type == "ping" and state["last"].rtt_us > 0
    assert loop.watches() and loop.timeout() >= -1
    assert loop.run(timeout=0.05) is False  # nothing breaks it: timeout
    loop.close()


def test_set_psk_rotation():
    """P2PHost.set_psk (w2w_p2p_set_psk): a network moves from key k1 to k2
    without a restart. With k2 as the next key a host accepts dials on either
    key and dials with k2 first; dropping k1 closes the connections on it, and
    a host that holds only k1 is then refused (PskError)."""
    async def main():
        k1, k2 = os.urandom(32), w2wesher.swarm_key_generate()  # raw bytes and swarm.key text
        opts = {"handshake_timeout_ms": 3000, "dial_backoff_ms": 1, "keepalive_ms": 0}
        async with Host(swarm_key=k1, options=opts) as a, Host(swarm_key=k1, options=opts) as b, \
                Host(swarm_key=k2, options=opts) as new, Host(swarm_key=k1, options=opts) as old:
            a.listen(LOCAL)
            addr = a.listen_addrs[0]
            with pytest.raises(PskError):  # before the rotation k2 is another network
                await new.connect(addr)
            assert await b.connect(addr) == a.peer_id
            with pytest.raises(Error) as e:
                a.set_psk("not a key")
            assert e.value.code == w2wesher.lib.W2W_EPARSE
            a.set_psk(k1, k2)
            b.set_psk(k1, k2)
            assert await new.connect(addr) == a.peer_id  # a accepts the next key
            assert b.connection_count == 1  # the connection on k1 stays while k1 is held
            assert 0 < await b.ping(a.peer_id) < 5_000_000
            # k2 only: a closes the connection b made on k1 ...
            gone = b.expect(lambda ev: ev.type == "disconnected" and ev.peer_id == a.peer_id)
            a.set_psk(k2)
            b.set_psk(k2)
            await asyncio.wait_for(gone, 10)
            assert new.connection_count == 1  # ... and keeps the one on k2
            assert 0 < await new.ping(a.peer_id) < 5_000_000
            # b reconnects on k2; a host with only the old key is refused.
            assert await b.connect(addr) == a.peer_id
            with pytest.raises(PskError):
                await old.connect(addr)
        async with Host() as open_host:
            with pytest.raises(Error) as e:
                open_host.set_psk(k1)  # no private network to rotate
            assert e.value.code == w2wesher.lib.W2W_ESTATE
    run(main(), timeout=60)
