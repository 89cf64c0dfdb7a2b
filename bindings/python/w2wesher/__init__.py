# SPDX-License-Identifier: MIT
"""Python bindings of libw2wesher (cffi, ABI mode): a WireGuard full mesh over
libp2p gossipsub. See bindings/python/README.md and docs/api.md.

    Loop       the event-loop contract on asyncio (or Loop.blocking())
    Config     node configuration (INI file, setters); ConfigError
    Node       a mesh node: start/stop/leave/join, events, snapshot()
    Host       a libp2p host (P2PHost): listen/dial/ping/publish/subscribe
    wg         WireGuard sync: wg.Device, wg.Config
    ipam       overlay addresses as nodes choose them
    admission  operator key, tokens, revocations (admission control)
    keys       wg_genkey, wg_pubkey, swarm_key_generate, identity_generate, identity_peer_id

Exceptions derive from W2wError (see _native). Log lines and events go to the
`logging` logger "w2wesher" (children .node, .p2p, .wg) unless a log=
callback is given.
"""
from . import admission, ipam, keys, wg
from ._native import (LIB_PATH, AuthError, ClosedError, Error, LimitError, ParseError, ProtocolError,
                      ProtocolTimeoutError, PskError, StateError, W2wError, W2wOSError, error, error_class, lib,
                      strerror, text)
from ._version import __version__
from .config import Config, ConfigError
from .keys import identity_generate, identity_peer_id, swarm_key_generate, wg_genkey, wg_pubkey
from .loop import Loop
from .node import Event, Metric, Node, PeerInfo, Snapshot
from .p2p import Host, P2PEvent, P2PHost

__all__ = [
    "AuthError", "ClosedError", "admission", "Config", "ConfigError", "Error", "Event", "Host", "LIB_PATH", "LimitError",
    "Loop", "Metric", "Node", "P2PEvent", "P2PHost", "ParseError", "PeerInfo", "ProtocolError", "ProtocolTimeoutError",
    "PskError", "Snapshot", "StateError", "W2wError", "W2wOSError", "__version__", "error", "error_class",
    "identity_generate", "identity_peer_id", "ipam", "keys", "lib", "strerror", "swarm_key_generate", "version",
    "wg", "wg_genkey", "wg_pubkey",
]


def version() -> str:
    """The version of the library actually loaded (w2w_version())."""
    return text(lib.w2w_version())
