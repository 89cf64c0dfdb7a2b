# SPDX-License-Identifier: MIT
"""WireGuard sync (include/w2wesher/wg.h, docs/wireguard.md) on a Loop: describe
a desired device, sync it with the fewest changes (`wg syncconf` semantics),
read the actual one — kernel (genetlink) or userspace (wireguard-go, UAPI).

    async with wg.Device("wg0", backend="userspace", create=True) as dev:
        cfg = wg.Config(private_key=key, listen_port=51820)
        cfg.add_peer(peer_pub, endpoint="192.0.2.1:51820", allowed_ips=["10.7.0.2/32"])
        stats = await dev.sync(cfg)         # SyncStats(added=1, ...)
        state = await dev.read()            # DeviceState(public_key, listen_port, peers=[...])
"""
import asyncio
import dataclasses
import logging
from typing import Any, Dict, Iterable, List, Optional, Union

from ._events import LogFn, log_cb as _log_cb, logger_sink, w2w_level_for
from ._native import W2wError, check, error, ffi, lib, text
from ._owned import LoopOwned, Owned
from .config import BACKENDS
from .keys import KeyInput, key_text
from .loop import Loop

_logger = logging.getLogger("w2wesher.wg")


class Config(Owned):
    """A struct w2w_wg_config: the desired device. Secrets stay in the
    library's memory and are wiped when it is closed."""

    _FREE = "w2w_wg_config_free"
    _WHAT = "WireGuard config"

    def __init__(self, private_key: Optional[KeyInput] = None, listen_port: Optional[int] = None,
                 fwmark: Optional[int] = None, mtu: Optional[int] = None,
                 addresses: Iterable[str] = ()) -> None:
        self._ptr: Any = None
        out = ffi.new("struct w2w_wg_config **")
        check(lib.w2w_wg_config_new(out), "wg config new")
        self._ptr = out[0]
        if private_key is not None:
            check(lib.w2w_wg_config_set_private_key(self._ptr, key_text(private_key)), "wg private key")
        if listen_port is not None:
            check(lib.w2w_wg_config_set_listen_port(self._ptr, listen_port), "wg listen port")
        if fwmark is not None:
            check(lib.w2w_wg_config_set_fwmark(self._ptr, fwmark), "wg fwmark")
        if mtu is not None:
            check(lib.w2w_wg_config_set_mtu(self._ptr, mtu), "wg mtu")
        for a in addresses:
            check(lib.w2w_wg_config_add_address(self._ptr, a.encode()), f"wg address {a}")

    @classmethod
    def parse(cls, conf: str) -> "Config":
        """A `wg setconf` file's text. ParseError/LimitError with "line N: why"."""
        self = cls.__new__(cls)
        self._ptr = None
        out = ffi.new("struct w2w_wg_config **")
        err = ffi.new("char[]", 256)
        raw = conf.encode()
        r = int(lib.w2w_wg_config_parse(out, raw, len(raw), err, 256))
        if r < 0:
            raise error(r, f"wg config: {text(err)}" if text(err) else "wg config")
        self._ptr = out[0]
        return self

    def add_peer(self, public_key: str, *, preshared_key: Optional[KeyInput] = None,
                 endpoint: Optional[str] = None, keepalive: Optional[int] = None,
                 allowed_ips: Iterable[str] = ()) -> "Config":
        """Adds a peer (its base64 public key); endpoint "ip:port" (numeric)."""
        p = lib.w2w_wg_config_find_peer(self.ptr, public_key.encode())
        if p == ffi.NULL:
            out = ffi.new("struct w2w_wg_peer **")
            check(lib.w2w_wg_config_add_peer(self.ptr, public_key.encode(), out), f"wg peer {public_key}")
            p = out[0]
        if preshared_key is not None:
            check(lib.w2w_wg_peer_set_preshared_key(p, key_text(preshared_key)), "wg preshared key")
        if endpoint is not None:
            check(lib.w2w_wg_peer_set_endpoint(p, endpoint.encode()), f"wg endpoint {endpoint}")
        if keepalive is not None:
            check(lib.w2w_wg_peer_set_keepalive(p, keepalive), "wg keepalive")
        for a in allowed_ips:
            check(lib.w2w_wg_peer_add_allowed_ip(p, a.encode()), f"wg allowed ip {a}")
        return self



@dataclasses.dataclass(frozen=True)
class PeerState:
    public_key: str
    has_preshared_key: bool
    endpoint: str  # "" when none
    persistent_keepalive: int
    last_handshake: float  # Unix seconds (wall clock), 0 = never
    rx_bytes: int
    tx_bytes: int
    allowed_ips: List[str]


@dataclasses.dataclass(frozen=True)
class DeviceState:
    """A device as read back (its private key is left out: see Device.showconf())."""
    name: str
    public_key: str
    listen_port: int
    fwmark: int
    peers: List[PeerState]


@dataclasses.dataclass(frozen=True)
class SyncStats:
    added: int
    removed: int
    updated: int
    unchanged: int
    endpoints_kept: int
    device_changed: bool
    applied: bool
    msgs_sent: int
    msgs_recv: int
    bytes_sent: int
    bytes_recv: int


def _device_state(dev: Any) -> DeviceState:
    key = ffi.new("char[]", lib.W2W_WG_KEY_TEXT_MAX)
    pub = text(key) if lib.w2w_wg_device_public_key(dev, key, lib.W2W_WG_KEY_TEXT_MAX) >= 0 else ""
    peers = []
    info = ffi.new("struct w2w_wg_peer_info *")
    ip = ffi.new("char[]", 64)
    for i in range(lib.w2w_wg_device_peer_count(dev)):
        info.size = ffi.sizeof("struct w2w_wg_peer_info")
        check(lib.w2w_wg_device_peer(dev, i, info), "wg device peer")
        ips = []
        for j in range(info.n_allowed_ips):
            n = check(lib.w2w_wg_device_allowed_ip(dev, i, j, ip, 64), "wg allowed ip")
            ips.append(str(ffi.string(ip, n).decode()))
        peers.append(PeerState(
            public_key=text(info.public_key), has_preshared_key=bool(info.has_preshared_key),
            endpoint=text(info.endpoint), persistent_keepalive=int(info.persistent_keepalive),
            last_handshake=info.last_handshake_sec + info.last_handshake_nsec / 1e9,
            rx_bytes=int(info.rx_bytes), tx_bytes=int(info.tx_bytes), allowed_ips=ips))
    return DeviceState(name=text(lib.w2w_wg_device_name(dev)), public_key=pub,
                       listen_port=int(lib.w2w_wg_device_listen_port(dev)),
                       fwmark=int(lib.w2w_wg_device_fwmark(dev)), peers=peers)


def _done_cb(ud: Any, err: int) -> None:
    fut = ffi.from_handle(ud)
    if not fut.done():
        fut.get_loop().call_soon(_settle, fut, err, None)


def _read_cb(ud: Any, err: int, dev: Any) -> None:
    fut = ffi.from_handle(ud)
    state = None
    if err >= 0:
        try:
            state = _device_state(dev)
        except W2wError as e:
            err = e.code
        finally:
            lib.w2w_wg_device_free(dev)
    if not fut.done():
        fut.get_loop().call_soon(_settle, fut, err, state)


def _settle(fut: "asyncio.Future[Any]", err: int, value: Any) -> None:
    if fut.done():
        return
    if err < 0:
        fut.set_exception(error(err, "wg"))
    else:
        fut.set_result(value)


_done_c = ffi.callback("void(void *, int)")(_done_cb)
_read_c = ffi.callback("void(void *, int, struct w2w_wg_device *)")(_read_cb)


class Device(LoopOwned):
    """A struct w2w_wg: a handle on the WireGuard interface ifname (which need
    not exist yet) on a Loop (None: Loop.default()).

    backend: "auto", "kernel" or "userspace"; create: sync creates a missing
    interface (kernel link, or starts wireguard-go, which outlives the
    handle); wireguard_go, uapi_dir: the userspace implementation and its
    socket directory; keep_roamed_secs, keep_unlisted_peers, cache_device:
    see wg.h. Log lines go to log(level, message) or the "w2wesher.wg" logger.
    `async with Device(...)` closes the handle on exit (the interface stays).
    """

    _FREE = "w2w_wg_free"
    _WHAT = "WireGuard handle"

    def __init__(self, ifname: str, loop: Optional[Loop] = None, *, backend: Union[str, int] = "auto",
                 create: bool = False, wireguard_go: Optional[str] = None, uapi_dir: Optional[str] = None,
                 keep_roamed_secs: int = 0, keep_unlisted_peers: bool = False, cache_device: bool = False,
                 log: Optional[LogFn] = None, log_level: Optional[int] = None) -> None:
        self._ptr: Any = None
        self._loop = loop or Loop.default()
        self._log_fn: LogFn = log or logger_sink(_logger)
        self._handle = ffi.new_handle(self)
        self._pending: Dict[int, Any] = {}  # handles of futures the library holds
        self._strs = [ffi.new("char[]", s.encode()) if s is not None else ffi.NULL
                      for s in (wireguard_go, uapi_dir)]
        opts = ffi.new("struct w2w_wg_opts *")
        opts.version = lib.W2W_WG_OPTS_VERSION
        opts.backend = BACKENDS[backend] if isinstance(backend, str) else backend
        opts.create = int(create)
        opts.wireguard_go = self._strs[0]
        opts.uapi_dir = self._strs[1]
        opts.keep_roamed_secs = keep_roamed_secs
        opts.keep_unlisted_peers = int(keep_unlisted_peers)
        opts.cache_device = int(cache_device)
        out = ffi.new("struct w2w_wg **")
        check(lib.w2w_wg_new(out, self._loop.ptr, ifname.encode(), opts), f"wg {ifname}")
        self._ptr = out[0]
        self._loop._register(self)
        if log_level is None:
            log_level = 6 if log else w2w_level_for(_logger)
        check(lib.w2w_wg_set_log(self._ptr, _log_cb, self._handle, log_level), "wg set_log")

    @property
    def backend(self) -> str:
        """"kernel" or "userspace"."""
        return text(lib.w2w_wg_backend_name(self.ptr))

    @property
    def ifname(self) -> str:
        return text(lib.w2w_wg_ifname(self.ptr))

    @property
    def userspace_pid(self) -> Optional[int]:
        """The PID of the userspace implementation this handle started, or None."""
        pid = int(lib.w2w_wg_userspace_pid(self.ptr))
        return pid if pid > 0 else None

    def _future(self) -> "tuple[asyncio.Future[Any], Any]":
        fut: "asyncio.Future[Any]" = self._loop.asyncio_loop.create_future()
        h = ffi.new_handle(fut)
        self._pending[id(fut)] = h
        fut.add_done_callback(lambda f: self._pending.pop(id(f), None))
        return fut, h

    async def sync(self, config: Config) -> SyncStats:
        """Makes the device equal to config with the fewest changes; returns
        what changed. -ENODEV (no interface, create False), ... as exceptions."""
        fut, h = self._future()
        check(lib.w2w_wg_sync(self.ptr, config.ptr, _done_c, h), "wg sync")
        await fut
        st = ffi.new("struct w2w_wg_sync_stats *")
        st.size = ffi.sizeof("struct w2w_wg_sync_stats")
        check(lib.w2w_wg_last_sync_stats(self.ptr, st), "wg stats")
        return SyncStats(added=int(st.added), removed=int(st.removed), updated=int(st.updated),
                         unchanged=int(st.unchanged), endpoints_kept=int(st.endpoints_kept),
                         device_changed=bool(st.device_changed), applied=bool(st.applied),
                         msgs_sent=int(st.msgs_sent), msgs_recv=int(st.msgs_recv),
                         bytes_sent=int(st.bytes_sent), bytes_recv=int(st.bytes_recv))

    async def read(self) -> DeviceState:
        """The actual device."""
        fut, h = self._future()
        check(lib.w2w_wg_read(self.ptr, _read_c, h), "wg read")
        state: DeviceState = await fut
        return state

    def close(self) -> None:
        """Drops pending operations (their awaits are cancelled) and frees the
        handle; never deletes the interface or stops wireguard-go."""
        super().close()

    def _after_free(self) -> None:
        for h in list(self._pending.values()):
            fut = ffi.from_handle(h)
            if not fut.done():
                fut.cancel()
