# SPDX-License-Identifier: MIT
"""A mesh node (include/w2wesher/node.h) on a Loop.

    async def main():
        async with Node(Config.load("w2wesher.conf", generate=True)) as node:
            node.start()
            async for ev in node.events():
                print(ev.type, ev.name, ev.address)
                if ev.type == "stopped":
                    break
"""
import asyncio
import dataclasses
import logging
from typing import Any, Callable, Dict, List, Optional, Union

from ._events import EventSource, LogFn, log_cb as _log_cb, logger_sink, w2w_level_for
from ._native import StateError, check, ffi, lib, text
from ._owned import LoopOwned
from .config import Config
from .loop import Loop

_logger = logging.getLogger("w2wesher.node")


@dataclasses.dataclass(frozen=True)
class Event:
    """A node event: type is the library's name ("peer-up", "stopped", ...; see TYPES)."""
    type: str
    code: int  # enum w2w_node_event_type
    peer_id: str = ""
    name: str = ""
    address: str = ""
    message: str = ""
    error: int = 0  # W2W_NODE_EV_ERROR: the failing code (see strerror)

    @property
    def strerror(self) -> str:
        return text(lib.w2w_strerror(self.error)) if self.error else ""


# enum w2w_node_event_type -> name, from the library itself (values it does not know read "unknown").
TYPES: Dict[int, str] = {t: text(lib.w2w_node_event_type_name(t)) for t in range(lib.W2W_NODE_EV_LISTENING, 32)
                         if text(lib.w2w_node_event_type_name(t)) != "unknown"}


@dataclasses.dataclass(frozen=True)
class PeerInfo:
    name: str
    peer_id: str
    address: str  # overlay IP ("" before one is chosen)
    endpoint: str  # WireGuard endpoint "ip:port" or ""
    wg_public_key: str
    last_handshake: int  # Unix seconds, 0 = never
    rx_bytes: int
    tx_bytes: int
    connected: bool  # a libp2p connection is up
    # NAT traversal (docs/nat.md): "direct", "punching", "relayed" (via names
    # the relaying member) or "none"; "" for self
    path: str = ""
    via: str = ""
    public_endpoint: str = ""  # learned by reflection, "ip:port" or ""
    nat: int = 0  # 1 behind a NAT, 2 (self only) symmetric-looking, else 0


@dataclasses.dataclass(frozen=True)
class Snapshot:
    self: PeerInfo
    peers: List[PeerInfo]
    join_addrs: List[str]  # multiaddrs another node can join through

    def peer(self, name: Optional[str] = None, peer_id: Optional[str] = None) -> Optional[PeerInfo]:
        for p in self.peers:
            if (name is None or p.name == name) and (peer_id is None or p.peer_id == peer_id):
                return p
        return None


@dataclasses.dataclass(frozen=True)
class Metric:
    """One of the node's metrics (docs/operations.md "Metrics"), as of a snapshot."""
    name: str  # Prometheus conventions: "w2wesher_announcements_received_total"
    help: str
    counter: bool  # True: a counter (only grows since the node was made); False: a gauge
    value: int


def _metrics(s: Any) -> List[Metric]:
    out: List[Metric] = []
    i = 0
    while True:  # until the name getter returns NULL (later versions append)
        name = lib.w2w_snapshot_metric_name(s, i)
        if name == ffi.NULL:
            return out
        out.append(Metric(name=text(name), help=text(lib.w2w_snapshot_metric_help(s, i)),
                          counter=bool(lib.w2w_snapshot_metric_is_counter(s, i)),
                          value=int(lib.w2w_snapshot_metric_value(s, i))))
        i += 1


def _peer_info(s: Any, i: Any) -> PeerInfo:
    return PeerInfo(
        name=text(lib.w2w_snapshot_name(s, i)), peer_id=text(lib.w2w_snapshot_peer_id(s, i)),
        address=text(lib.w2w_snapshot_address(s, i)), endpoint=text(lib.w2w_snapshot_endpoint(s, i)),
        wg_public_key=text(lib.w2w_snapshot_wg_public_key(s, i)),
        last_handshake=int(lib.w2w_snapshot_last_handshake(s, i)), rx_bytes=int(lib.w2w_snapshot_rx_bytes(s, i)),
        tx_bytes=int(lib.w2w_snapshot_tx_bytes(s, i)), connected=bool(lib.w2w_snapshot_connected(s, i)),
        path=text(lib.w2w_snapshot_path(s, i)), via=text(lib.w2w_snapshot_via(s, i)),
        public_endpoint=text(lib.w2w_snapshot_public_endpoint(s, i)), nat=int(lib.w2w_snapshot_nat(s, i)))


# How the events are logged on the "w2wesher.node" logger.
_EVENT_LEVELS = {"error": logging.WARNING, "peer-up": logging.INFO, "peer-down": logging.INFO,
                 "address-assigned": logging.INFO, "joined": logging.INFO, "stopped": logging.INFO}


def _event_cb(ud: Any, ev: Any) -> None:
    node = ffi.from_handle(ud)
    try:
        t = int(lib.w2w_node_event_type(ev))
        node._on_event(Event(
            type=TYPES.get(t, "unknown"), code=t, peer_id=text(lib.w2w_node_event_peer_id(ev)),
            name=text(lib.w2w_node_event_name(ev)), address=text(lib.w2w_node_event_address(ev)),
            message=text(lib.w2w_node_event_message(ev)), error=int(lib.w2w_node_event_error(ev))))
    except BaseException as e:
        node._loop._report(e, "node event")


_event_c = ffi.callback("void(void *, const struct w2w_node_event *)")(_event_cb)


class Node(LoopOwned, EventSource[Event]):
    """A struct w2w_node. The configuration is copied: it may be closed after.

    Node(loop, config) or Node(config) (on Loop.default()). on_event(Event)
    is called for every event; or iterate: `async for ev in node.events()`;
    or `await node.wait_for(pred)`. Events are also logged on the
    "w2wesher.node" logger.

    Log lines with level <= log_level (default: the configuration's LogLevel,
    capped by what the logger would emit) go to log(level, message) when
    given, else to the "w2wesher.node" logger.

    `async with Node(...) as node:` stops the node on exit if it runs (and
    waits for "stopped", at most stop_timeout seconds), then frees it.
    """

    _FREE = "w2w_node_free"
    _WHAT = "node"

    stop_timeout: float = 30.0

    def __init__(self, loop: Union[Loop, Config], config: Optional[Config] = None,
                 on_event: Optional[Callable[[Event], Any]] = None, *, log: Optional[LogFn] = None,
                 log_level: Optional[int] = None) -> None:
        if isinstance(loop, Config):
            config = loop
            loop = Loop.default()
        if config is None:
            raise TypeError("Node(loop, config) or Node(config)")
        self._ptr: Any = None
        self._events_init(loop, on_event)
        self._log_fn: LogFn = log or logger_sink(_logger)
        self._handle = ffi.new_handle(self)
        self._stopped: "Optional[asyncio.Future[Event]]" = loop.aio.create_future() if loop.aio else None
        self.stopped = False
        self.started = False
        out = ffi.new("struct w2w_node **")
        check(lib.w2w_node_new(out, loop.ptr, config.ptr, _event_c, self._handle), "node new")
        self._ptr = out[0]
        loop._register(self)
        level = config.log_level_number if log_level is None else log_level
        if log is None:
            level = min(level, w2w_level_for(_logger))
        check(lib.w2w_node_set_log(self._ptr, _log_cb, self._handle, level), "node set_log")

    def _on_event(self, ev: Event) -> None:
        if ev.code == lib.W2W_NODE_EV_STOPPED:
            self.stopped = True
            if self._stopped is not None and not self._stopped.done():
                self._stopped.set_result(ev)
        lvl = _EVENT_LEVELS.get(ev.type, logging.DEBUG)
        if _logger.isEnabledFor(lvl):
            _logger.log(lvl, "%s %s", ev.type, " ".join(f"{k}={v}" for k, v in dataclasses.asdict(ev).items()
                                                   if v and k not in ("type", "code")))
        self._deliver(ev)

    def start(self) -> None:
        """Loads the state directory, sets up WireGuard, listens, dials the bootstrap peers."""
        check(lib.w2w_node_start(self.ptr), "node start")
        self.started = True

    def join(self, multiaddr: str) -> None:
        """Adds a bootstrap multiaddr (/ip4/…/tcp/…/p2p/…) and dials it."""
        check(lib.w2w_node_join(self.ptr, multiaddr.encode()), f"node join {multiaddr}")

    def stop(self) -> None:
        """Stops without leaving (interface, address and peers stay); "stopped" follows."""
        check(lib.w2w_node_stop(self.ptr), "node stop")

    def leave(self) -> None:
        """Announces the leave and removes the interface; "stopped" follows."""
        check(lib.w2w_node_leave(self.ptr), "node leave")

    def rotate_wg_key(self) -> None:
        """Rotates the WireGuard key without losing traffic: the new key is saved in
        the state directory, announced, and switched to ~2 s later; a "key-rotated"
        event follows, its message the new public key (base64)."""
        check(lib.w2w_node_rotate_wg_key(self.ptr), "node rotate_wg_key")

    def set_psk(self, config: Config) -> None:
        """Network PSK rotation without a restart (w2w_node_set_psk(); docs/operations.md
        "Rotating the network PSK"): takes [P2P] PSK/PSKFile and NextPSKFile from config
        (e.g. Config.load() of the edited file) and makes them the node's keys. With a
        next PSK the node accepts both and dials with the next one first; connections on
        a key it no longer holds are closed. The keys never leave the library.
        StateError when config holds no PSK; on failure the node keeps its keys."""
        check(lib.w2w_node_set_psk(self.ptr, config.ptr), "node set_psk")

    def set_admission_token(self, token: Optional[str]) -> None:
        """The admission token (base64, as admission.sign() or `w2wesher admission sign`
        make it; None or "": none) the node presents from now on, without a restart
        (docs/mesh.md "Admission"). ParseError when it is not a token."""
        check(lib.w2w_node_set_admission_token(self.ptr, token.encode() if token else ffi.NULL),
              "node set_admission_token")

    def admission_publish(self, revocation: str) -> bool:
        """Enforces a revocation (admission.revoke()) here and gossips it to the mesh;
        persisted in the state directory. True when it was new, False when known.
        StateError (not running, or not in admission mode), ParseError (not a
        revocation), AuthError (not signed by one of our AdmissionKeys)."""
        return check(lib.w2w_node_admission_publish(self.ptr, revocation.encode()), "node admission_publish") == 1

    async def wait_stopped(self, timeout: Optional[float] = None) -> Event:
        """Waits for the "stopped" event (returns it)."""
        if self._stopped is None:
            raise StateError(lib.W2W_ESTATE, "wait_stopped() needs an asyncio Loop")
        return await asyncio.wait_for(asyncio.shield(self._stopped), timeout)

    def snapshot(self) -> Snapshot:
        """A copy of the node's view now, as a Snapshot."""
        s = lib.w2w_node_snapshot(self.ptr)
        if s == ffi.NULL:
            raise MemoryError("w2w_node_snapshot")
        try:
            me = _peer_info(s, ffi.cast("size_t", -1))
            peers = [_peer_info(s, i) for i in range(lib.w2w_snapshot_peer_count(s))]
            joins = [text(lib.w2w_snapshot_join_addr(s, i)) for i in range(lib.w2w_snapshot_join_addr_count(s))]
        finally:
            lib.w2w_snapshot_free(s)
        return Snapshot(self=me, peers=peers, join_addrs=joins)

    def metrics(self) -> Dict[str, Metric]:
        """The node's metrics now (counters since the node was made, and gauges), by
        name, in the library's order (w2w_snapshot_metric_*; docs/operations.md
        "Metrics"). Per-peer figures are in snapshot().peers."""
        s = lib.w2w_node_snapshot(self.ptr)
        if s == ffi.NULL:
            raise MemoryError("w2w_node_snapshot")
        try:
            return {m.name: m for m in _metrics(s)}
        finally:
            lib.w2w_snapshot_free(s)

    def close(self) -> None:
        """Frees the node (stop it and wait for "stopped" first to keep the interface
        state consistent; freeing a running node drops its sockets at once)."""
        super().close()

    def _after_free(self) -> None:
        self._events_close()

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._ptr is not None and self.started and not self.stopped:
                try:
                    self.stop()
                except StateError:
                    pass  # stopping or leaving already
                await self.wait_stopped(self.stop_timeout)
        finally:
            self.close()
