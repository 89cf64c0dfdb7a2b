# SPDX-License-Identifier: MIT
"""A libp2p host (include/w2wesher/p2p.h) on a Loop: TCP + private network +
Noise + yamux, identify, ping, gossipsub.

    async def main():
        loop = Loop()
        a = P2PHost(loop, swarm_key=psk)
        a.listen("/ip4/127.0.0.1/tcp/0")
        b = P2PHost(loop, swarm_key=psk)
        peer = await b.connect(a.listen_addrs[0])
        rtt_us = await b.ping(peer)
"""
import dataclasses
from typing import Optional, Tuple

from ._events import EventSource, log_cb as _log_cb
from ._native import Error, check, ffi, lib, text

TYPES = {
    lib.W2W_P2P_EV_LISTENING: "listening", lib.W2W_P2P_EV_CONNECTED: "connected",
    lib.W2W_P2P_EV_DISCONNECTED: "disconnected", lib.W2W_P2P_EV_DIAL_FAILED: "dial-failed",
    lib.W2W_P2P_EV_IDENTIFY: "identify", lib.W2W_P2P_EV_PING: "ping", lib.W2W_P2P_EV_PING_FAILED: "ping-failed",
    lib.W2W_P2P_EV_MESSAGE: "message",
}

OPTIONS = {
    "gossipsub": lib.W2W_P2P_OPT_GOSSIPSUB, "echo": lib.W2W_P2P_OPT_ECHO, "msgid_js": lib.W2W_P2P_OPT_MSGID_JS,
    "max_conns": lib.W2W_P2P_OPT_MAX_CONNS, "max_streams": lib.W2W_P2P_OPT_MAX_STREAMS,
    "handshake_timeout_ms": lib.W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS, "keepalive_ms": lib.W2W_P2P_OPT_KEEPALIVE_MS,
    "dial_backoff_ms": lib.W2W_P2P_OPT_DIAL_BACKOFF_MS,
}


@dataclasses.dataclass(frozen=True)
class P2PEvent:
    """A struct w2w_p2p_event, copied through its getters. type: one of TYPES'
    values. Fields the event type does not carry are None (strings), 0 or ()."""
    type: str
    code: int
    peer_id: Optional[str] = None
    addr: Optional[str] = None
    inbound: bool = False
    err: int = 0
    reason: Optional[str] = None
    rtt_us: int = 0
    agent_version: Optional[str] = None
    protocol_version: Optional[str] = None
    protocols: Tuple[str, ...] = ()
    listen_addrs: Tuple[str, ...] = ()
    observed_addr: Optional[str] = None
    sender: Optional[str] = None  # MESSAGE: the author ("from" in C), signature-verified
    topic: Optional[str] = None
    data: bytes = b""
    seqno: int = 0


def _opt(p):
    """A getter's string: "" (not carried by this event type) as None."""
    return text(p) or None


def _strs(ev, count, at):
    return tuple(text(at(ev, i)) for i in range(count(ev)))


def _copy_event(ev):
    code = lib.w2w_p2p_event_type(ev)
    n = ffi.new("size_t *")
    data = lib.w2w_p2p_event_data(ev, n)
    return P2PEvent(
        type=TYPES.get(code, "unknown"), code=code, peer_id=_opt(lib.w2w_p2p_event_peer_id(ev)),
        addr=_opt(lib.w2w_p2p_event_addr(ev)), inbound=bool(lib.w2w_p2p_event_inbound(ev)),
        err=lib.w2w_p2p_event_error(ev), reason=_opt(lib.w2w_p2p_event_message(ev)),
        rtt_us=lib.w2w_p2p_event_rtt_us(ev), agent_version=_opt(lib.w2w_p2p_event_agent_version(ev)),
        protocol_version=_opt(lib.w2w_p2p_event_protocol_version(ev)),
        protocols=_strs(ev, lib.w2w_p2p_event_protocol_count, lib.w2w_p2p_event_protocol),
        listen_addrs=_strs(ev, lib.w2w_p2p_event_listen_addr_count, lib.w2w_p2p_event_listen_addr),
        observed_addr=_opt(lib.w2w_p2p_event_observed_addr(ev)), sender=_opt(lib.w2w_p2p_event_from(ev)),
        topic=_opt(lib.w2w_p2p_event_topic(ev)),
        data=bytes(ffi.buffer(data, n[0])) if n[0] else b"", seqno=lib.w2w_p2p_event_seqno(ev))


@ffi.callback("void(void *, const struct w2w_p2p_event *)")
def _event_cb(ud, ev):
    host = ffi.from_handle(ud)
    try:
        host._deliver(_copy_event(ev))
    except BaseException as e:
        host._loop._report(e, "p2p event")


def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def _b64(raw):
    """Bytes to the base64 text the C API takes for keys (constant-time encoder)."""
    out = ffi.new("char[]", len(raw) * 4 // 3 + 8)
    n = check(lib.w2w_base64_encode(out, len(out), raw, len(raw)))
    return ffi.string(out, n)


class P2PHost(EventSource):
    """A struct w2w_p2p.

    key: the identity as the C API takes it, the base64 of an Ed25519
    PrivateKey protobuf (keys.identity_generate()), or the raw protobuf as
    bytes; None for a fresh identity. swarm_key: a swarm.key file's text or the
    base64 PSK (str), or the 32 raw bytes; None for no private network.
    options: {"gossipsub": 0, ...} (OPTIONS), applied before anything else.
    log(level, message): the host's log lines (calls into the library from it
    raise Error(-EBUSY)).
    """

    def __init__(self, loop, key=None, swarm_key=None, *, options=None, on_event=None, log=None, log_level=6):
        self._events_init(loop, on_event)
        self._handle = ffi.new_handle(self)
        self._log_fn = log
        out = ffi.new("struct w2w_p2p **")
        k = key.encode() if isinstance(key, str) else _b64(bytes(key)) if key is not None else ffi.NULL
        if isinstance(swarm_key, str):
            sk = swarm_key.encode()
        elif swarm_key is not None:
            raw = bytes(swarm_key)
            sk = _b64(raw) if len(raw) == 32 else raw
        else:
            sk = ffi.NULL
        check(lib.w2w_p2p_new(out, loop.ptr, k, sk, _event_cb, self._handle))
        self._ptr = out[0]
        loop._register(self)
        for name, value in (options or {}).items():
            check(lib.w2w_p2p_set_option(self._ptr, OPTIONS[name], int(value)), f"option {name}")
        if log:
            check(lib.w2w_p2p_set_log(self._ptr, _log_cb, self._handle, log_level))

    @property
    def ptr(self):
        if self._ptr is None:
            raise Error(lib.W2W_ESTATE, "the host is closed")
        return self._ptr

    @property
    def peer_id(self):
        return text(lib.w2w_p2p_peer_id(self.ptr))

    def listen(self, multiaddr):
        """Binds /ip4|ip6/<addr>/tcp/<port> (port 0: any); see listen_addrs."""
        check(lib.w2w_p2p_listen(self.ptr, _b(multiaddr)), f"listen {multiaddr}")

    def _addr_list(self, fn):
        out, res = ffi.new("char[]", 1024), []
        while True:
            r = fn(self.ptr, len(res), out, 1024)
            if r == -34:  # -ERANGE: past the end
                return res
            check(r)
            res.append(ffi.string(out, r).decode())

    @property
    def listen_addrs(self):
        """The listen addresses with /p2p/<our id>."""
        return self._addr_list(lib.w2w_p2p_listen_addr)

    @property
    def observed_addrs(self):
        """Where peers reported seeing us (identify), most recent first."""
        return self._addr_list(lib.w2w_p2p_observed_addr)

    @property
    def connection_count(self):
        return lib.w2w_p2p_connection_count(self.ptr)

    def dial(self, multiaddr):
        """Starts a dial; "connected" or "dial-failed" follows. Error(-EALREADY) when
        connected or dialling, Error(-EAGAIN) during the backoff."""
        check(lib.w2w_p2p_dial(self.ptr, _b(multiaddr)), f"dial {multiaddr}")

    async def connect(self, multiaddr, timeout=15):
        """Dials and waits: returns the peer ID, raises Error with the reason on failure."""
        want = multiaddr.rsplit("/p2p/", 1)[1] if "/p2p/" in multiaddr else None
        pred = (lambda ev: (ev.code == lib.W2W_P2P_EV_CONNECTED and (want is None or ev.peer_id == want))
                or (ev.code == lib.W2W_P2P_EV_DIAL_FAILED and ev.addr == multiaddr))
        fut = self.expect(pred)
        try:
            self.dial(multiaddr)
        except Error:
            fut.cancel()
            raise
        ev = await self.wait_for(pred, timeout, fut)
        if ev.code == lib.W2W_P2P_EV_DIAL_FAILED:
            raise Error(ev.err or lib.W2W_ECLOSED, f"dial {multiaddr}: {ev.reason}")
        return ev.peer_id

    def send_ping(self, peer_id):
        """Sends /ipfs/ping/1.0.0 to a connected peer; "ping" or "ping-failed" follows."""
        check(lib.w2w_p2p_ping(self.ptr, _b(peer_id)), f"ping {peer_id}")

    async def ping(self, peer_id, timeout=10):
        """Pings a connected peer: the round trip in microseconds."""
        pred = (lambda ev: ev.code in (lib.W2W_P2P_EV_PING, lib.W2W_P2P_EV_PING_FAILED)
                and ev.peer_id == peer_id)
        fut = self.expect(pred)
        try:
            self.send_ping(peer_id)
        except Error:
            fut.cancel()
            raise
        ev = await self.wait_for(pred, timeout, fut)
        if ev.code == lib.W2W_P2P_EV_PING_FAILED:
            raise Error(ev.err or lib.W2W_ETIMEDOUT, f"ping {peer_id}")
        return ev.rtt_us

    def hangup(self, peer_id):
        check(lib.w2w_p2p_hangup(self.ptr, _b(peer_id)), f"hangup {peer_id}")

    def subscribe(self, topic):
        check(lib.w2w_p2p_subscribe(self.ptr, _b(topic)), f"subscribe {topic}")

    def unsubscribe(self, topic):
        check(lib.w2w_p2p_unsubscribe(self.ptr, _b(topic)), f"unsubscribe {topic}")

    def publish(self, topic, data):
        data = _b(data)
        check(lib.w2w_p2p_publish(self.ptr, _b(topic), data, len(data)), f"publish {topic}")

    def close(self):
        """Closes every connection at once (no goodbye) and frees the host."""
        if self._ptr is None:
            return

        def free():
            if self._ptr is not None:
                lib.w2w_p2p_free(self._ptr)
                self._ptr = None
            self._events_close()
        self._loop._defer(free)

    def __del__(self):
        try:
            if self._ptr is not None and self._loop._ptr is not None:
                lib.w2w_p2p_free(self._ptr)
                self._ptr = None
        except Exception:
            pass
