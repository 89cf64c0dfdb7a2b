# SPDX-License-Identifier: MIT
"""A libp2p host (include/w2wesher/p2p.h) on a Loop: TCP + private network +
Noise + yamux, identify, ping, gossipsub.

    async def main():
        psk = os.urandom(32)
        async with Host(swarm_key=psk) as a, Host(swarm_key=psk) as b:
            a.listen("/ip4/127.0.0.1/tcp/0")
            peer = await b.connect(a.listen_addrs[0])
            rtt_us = await b.ping(peer)
"""
import dataclasses
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from ._events import EventSource, LogFn, log_cb as _log_cb, logger_sink, w2w_level_for
from ._native import W2wError, check, error, ffi, lib, text
from ._owned import LoopOwned
from .loop import Loop

_logger = logging.getLogger("w2wesher.p2p")

TYPES: Dict[int, str] = {
    lib.W2W_P2P_EV_LISTENING: "listening", lib.W2W_P2P_EV_CONNECTED: "connected",
    lib.W2W_P2P_EV_DISCONNECTED: "disconnected", lib.W2W_P2P_EV_DIAL_FAILED: "dial-failed",
    lib.W2W_P2P_EV_IDENTIFY: "identify", lib.W2W_P2P_EV_PING: "ping", lib.W2W_P2P_EV_PING_FAILED: "ping-failed",
    lib.W2W_P2P_EV_MESSAGE: "message", lib.W2W_P2P_EV_SUBSCRIBED: "subscribed",
    lib.W2W_P2P_EV_UNSUBSCRIBED: "unsubscribed",
}

OPTIONS: Dict[str, int] = {
    "gossipsub": lib.W2W_P2P_OPT_GOSSIPSUB, "echo": lib.W2W_P2P_OPT_ECHO, "msgid_js": lib.W2W_P2P_OPT_MSGID_JS,
    "max_conns": lib.W2W_P2P_OPT_MAX_CONNS, "max_streams": lib.W2W_P2P_OPT_MAX_STREAMS,
    "handshake_timeout_ms": lib.W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS, "keepalive_ms": lib.W2W_P2P_OPT_KEEPALIVE_MS,
    "dial_backoff_ms": lib.W2W_P2P_OPT_DIAL_BACKOFF_MS,
}

Bytes = Union[bytes, bytearray, memoryview]


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
    topic: Optional[str] = None  # MESSAGE, SUBSCRIBED, UNSUBSCRIBED
    data: bytes = b""
    seqno: int = 0


def _opt(p: Any) -> Optional[str]:
    """A getter's string: "" (not carried by this event type) as None."""
    return text(p) or None


def _strs(ev: Any, count: Callable[[Any], int], at: Callable[[Any, int], Any]) -> Tuple[str, ...]:
    return tuple(text(at(ev, i)) for i in range(count(ev)))


def _copy_event(ev: Any) -> P2PEvent:
    code = int(lib.w2w_p2p_event_type(ev))
    n = ffi.new("size_t *")
    data = lib.w2w_p2p_event_data(ev, n)
    return P2PEvent(
        type=TYPES.get(code, "unknown"), code=code, peer_id=_opt(lib.w2w_p2p_event_peer_id(ev)),
        addr=_opt(lib.w2w_p2p_event_addr(ev)), inbound=bool(lib.w2w_p2p_event_inbound(ev)),
        err=int(lib.w2w_p2p_event_error(ev)), reason=_opt(lib.w2w_p2p_event_message(ev)),
        rtt_us=int(lib.w2w_p2p_event_rtt_us(ev)), agent_version=_opt(lib.w2w_p2p_event_agent_version(ev)),
        protocol_version=_opt(lib.w2w_p2p_event_protocol_version(ev)),
        protocols=_strs(ev, lib.w2w_p2p_event_protocol_count, lib.w2w_p2p_event_protocol),
        listen_addrs=_strs(ev, lib.w2w_p2p_event_listen_addr_count, lib.w2w_p2p_event_listen_addr),
        observed_addr=_opt(lib.w2w_p2p_event_observed_addr(ev)), sender=_opt(lib.w2w_p2p_event_from(ev)),
        topic=_opt(lib.w2w_p2p_event_topic(ev)),
        data=bytes(ffi.buffer(data, n[0])) if n[0] else b"", seqno=int(lib.w2w_p2p_event_seqno(ev)))


def _event_cb(ud: Any, ev: Any) -> None:
    host = ffi.from_handle(ud)
    try:
        e = _copy_event(ev)
        host._note(e)
        host._deliver(e)
    except BaseException as exc:
        host._loop._report(exc, "p2p event")


_event_c = ffi.callback("void(void *, const struct w2w_p2p_event *)")(_event_cb)


def _b(s: Union[str, Bytes]) -> bytes:
    return s.encode() if isinstance(s, str) else bytes(s)


def _b64(raw: bytes) -> bytes:
    """Bytes to the base64 text the C API takes for keys (constant-time encoder)."""
    out = ffi.new("char[]", len(raw) * 4 // 3 + 8)
    n = check(lib.w2w_base64_encode(out, len(out), raw, len(raw)))
    return bytes(ffi.string(out, n))


def _swarm_key_arg(swarm_key: Union[str, Bytes, None]) -> Any:
    """A swarm key as the C API takes it: str as is (swarm.key text or base64),
    32 raw bytes as base64, other bytes as swarm.key text; None -> NULL."""
    if swarm_key is None:
        return ffi.NULL
    if isinstance(swarm_key, str):
        return swarm_key.encode()
    raw = bytes(swarm_key)
    return _b64(raw) if len(raw) == 32 else raw


class P2PHost(LoopOwned, EventSource[P2PEvent]):
    """A struct w2w_p2p (also importable as Host).

    loop: the Loop (None: Loop.default()). key: the identity as the C API
    takes it, the base64 of an Ed25519 PrivateKey protobuf
    (keys.identity_generate()), or the raw protobuf as bytes; None for a fresh
    identity. swarm_key: a swarm.key file's text or the base64 PSK (str), or
    the 32 raw bytes; None for no private network. options: {"gossipsub": 0,
    ...} (OPTIONS), applied before anything else. log(level, message): the
    host's log lines (calls into the library from it raise -EBUSY); without
    it they go to the "w2wesher.p2p" logger.

    `async with Host(...) as h:` closes the host on exit.
    """

    _FREE = "w2w_p2p_free"
    _WHAT = "host"

    def __init__(self, loop: Optional[Loop] = None, key: Union[str, Bytes, None] = None,
                 swarm_key: Union[str, Bytes, None] = None, *, options: Optional[Mapping[str, int]] = None,
                 on_event: Optional[Callable[[P2PEvent], Any]] = None, log: Optional[LogFn] = None,
                 log_level: Optional[int] = None) -> None:
        self._ptr: Any = None
        loop = loop or Loop.default()
        self._events_init(loop, on_event)
        self._handle = ffi.new_handle(self)
        self._log_fn: LogFn = log or logger_sink(_logger)
        self._subscribers: Dict[str, set[str]] = {}  # topic -> peers subscribed (SUBSCRIBED events)
        out = ffi.new("struct w2w_p2p **")
        k = key.encode() if isinstance(key, str) else _b64(bytes(key)) if key is not None else ffi.NULL
        sk = _swarm_key_arg(swarm_key)
        check(lib.w2w_p2p_new(out, loop.ptr, k, sk, _event_c, self._handle), "p2p new")
        self._ptr = out[0]
        loop._register(self)
        for name, value in (options or {}).items():
            check(lib.w2w_p2p_set_option(self._ptr, OPTIONS[name], int(value)), f"option {name}")
        if log_level is None:
            log_level = 6 if log else w2w_level_for(_logger)
        check(lib.w2w_p2p_set_log(self._ptr, _log_cb, self._handle, log_level), "p2p set_log")

    def set_psk(self, swarm_key: Union[str, Bytes], next_swarm_key: Union[str, Bytes, None] = None) -> None:
        """Network PSK rotation without a restart (w2w_p2p_set_psk(); docs/operations.md
        "Rotating the network PSK"). swarm_key: the current PSK, next_swarm_key the next
        one (None: none), each in the forms the constructor takes. With a next PSK,
        inbound connections may use either key and dials try the next one first,
        falling back once to the current one; established connections whose key is
        no longer one of the two are closed ("disconnected" follows). ParseError for
        a bad key (nothing changed), StateError on a host made without a swarm key."""
        if swarm_key is None:
            raise TypeError("set_psk(swarm_key, next_swarm_key=None): swarm_key is required")
        check(lib.w2w_p2p_set_psk(self.ptr, _swarm_key_arg(swarm_key), _swarm_key_arg(next_swarm_key)),
              "p2p set_psk")

    def _note(self, ev: P2PEvent) -> None:
        """Keeps the subscriptions peers announced (subscribers())."""
        if ev.code == lib.W2W_P2P_EV_SUBSCRIBED and ev.topic and ev.peer_id:
            self._subscribers.setdefault(ev.topic, set()).add(ev.peer_id)
        elif ev.code == lib.W2W_P2P_EV_UNSUBSCRIBED and ev.topic and ev.peer_id:
            self._subscribers.get(ev.topic, set()).discard(ev.peer_id)
        elif ev.code == lib.W2W_P2P_EV_DISCONNECTED and ev.peer_id:
            for peers in self._subscribers.values():
                peers.discard(ev.peer_id)

    @property
    def peer_id(self) -> str:
        return text(lib.w2w_p2p_peer_id(self.ptr))

    def listen(self, multiaddr: Union[str, bytes]) -> None:
        """Binds /ip4|ip6/<addr>/tcp/<port> (port 0: any); see listen_addrs."""
        check(lib.w2w_p2p_listen(self.ptr, _b(multiaddr)), f"listen {multiaddr!s}")

    def _addr_list(self, fn: Callable[[Any, int, Any, int], int]) -> List[str]:
        out = ffi.new("char[]", 1024)
        res: List[str] = []
        while True:
            r = int(fn(self.ptr, len(res), out, 1024))
            if r == -34:  # -ERANGE: past the end
                return res
            check(r)
            res.append(ffi.string(out, r).decode())

    @property
    def listen_addrs(self) -> List[str]:
        """The listen addresses with /p2p/<our id>."""
        return self._addr_list(lib.w2w_p2p_listen_addr)

    @property
    def observed_addrs(self) -> List[str]:
        """Where peers reported seeing us (identify), most recent first."""
        return self._addr_list(lib.w2w_p2p_observed_addr)

    @property
    def connection_count(self) -> int:
        return int(lib.w2w_p2p_connection_count(self.ptr))

    def dial(self, multiaddr: str) -> None:
        """Starts a dial; "connected" or "dial-failed" follows. W2wOSError(-EALREADY)
        when connected or dialling, (-EAGAIN) during the backoff."""
        check(lib.w2w_p2p_dial(self.ptr, _b(multiaddr)), f"dial {multiaddr}")

    async def connect(self, multiaddr: str, timeout: float = 15) -> str:
        """Dials and waits: returns the peer ID, raises the failure's exception
        (PskError for another swarm key, ConnectionRefusedError, ...) with the reason."""
        want = multiaddr.rsplit("/p2p/", 1)[1] if "/p2p/" in multiaddr else None

        def pred(ev: P2PEvent) -> bool:
            return ((ev.code == lib.W2W_P2P_EV_CONNECTED and (want is None or ev.peer_id == want))
                    or (ev.code == lib.W2W_P2P_EV_DIAL_FAILED and ev.addr == multiaddr))
        fut = self.expect(pred)
        try:
            self.dial(multiaddr)
        except W2wError:
            fut.cancel()
            raise
        ev = await self.wait_for(pred, timeout, fut)
        if ev.code == lib.W2W_P2P_EV_DIAL_FAILED:
            raise error(ev.err or lib.W2W_ECLOSED, f"dial {multiaddr}: {ev.reason}")
        return ev.peer_id or ""

    def send_ping(self, peer_id: str) -> None:
        """Sends /ipfs/ping/1.0.0 to a connected peer; "ping" or "ping-failed" follows."""
        check(lib.w2w_p2p_ping(self.ptr, _b(peer_id)), f"ping {peer_id}")

    async def ping(self, peer_id: str, timeout: float = 10) -> int:
        """Pings a connected peer: the round trip in microseconds."""
        def pred(ev: P2PEvent) -> bool:
            return ev.code in (lib.W2W_P2P_EV_PING, lib.W2W_P2P_EV_PING_FAILED) and ev.peer_id == peer_id
        fut = self.expect(pred)
        try:
            self.send_ping(peer_id)
        except W2wError:
            fut.cancel()
            raise
        ev = await self.wait_for(pred, timeout, fut)
        if ev.code == lib.W2W_P2P_EV_PING_FAILED:
            raise error(ev.err or lib.W2W_ETIMEDOUT, f"ping {peer_id}")
        return ev.rtt_us

    def hangup(self, peer_id: str) -> None:
        check(lib.w2w_p2p_hangup(self.ptr, _b(peer_id)), f"hangup {peer_id}")

    def subscribe(self, topic: str) -> None:
        check(lib.w2w_p2p_subscribe(self.ptr, _b(topic)), f"subscribe {topic}")

    def unsubscribe(self, topic: str) -> None:
        check(lib.w2w_p2p_unsubscribe(self.ptr, _b(topic)), f"unsubscribe {topic}")

    def subscribers(self, topic: str) -> List[str]:
        """The connected peers that announced a subscription to topic (from
        the "subscribed"/"unsubscribed" events), sorted."""
        return sorted(self._subscribers.get(topic, ()))

    async def wait_subscribed(self, topic: str, peer_id: Optional[str] = None, timeout: float = 10) -> str:
        """Waits until a peer (peer_id, or any) is known to subscribe to topic;
        returns its peer ID. A publish before that reaches nobody (docs/api.md)."""
        def have() -> Optional[str]:
            subs = self._subscribers.get(topic, set())
            if peer_id is not None:
                return peer_id if peer_id in subs else None
            return min(subs) if subs else None
        got = have()
        if got is not None:
            return got
        ev = await self.wait_for(lambda e: e.code == lib.W2W_P2P_EV_SUBSCRIBED and e.topic == topic
                                 and (peer_id is None or e.peer_id == peer_id), timeout)
        return ev.peer_id or ""

    def publish(self, topic: str, data: Union[str, Bytes]) -> None:
        """Signs and hands the message to the router: it goes to the peers whose
        subscription is known (see wait_subscribed())."""
        raw = _b(data)
        check(lib.w2w_p2p_publish(self.ptr, _b(topic), raw, len(raw)), f"publish {topic}")

    def close(self) -> None:
        """Closes every connection at once (no goodbye) and frees the host."""
        super().close()

    def _after_free(self) -> None:
        self._events_close()


Host = P2PHost
