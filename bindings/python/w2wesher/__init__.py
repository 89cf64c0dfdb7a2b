# SPDX-License-Identifier: MIT
"""Python bindings of libw2wesher (cffi, ABI mode): a WireGuard full mesh over
libp2p gossipsub. See bindings/python/README.md and docs/api.md.

    Loop       the event-loop contract on asyncio (or Loop.blocking())
    Config     node configuration (INI file, setters); ConfigError
    Node       a mesh node: start/stop/leave/join, events, snapshot()
    P2PHost    a libp2p host: listen/dial/ping/publish/subscribe
    keys       wg_genkey, wg_pubkey, swarm_key_generate, identity_generate, identity_peer_id
"""
from . import keys
from ._native import LIB_PATH, Error, lib, strerror
from .config import Config, ConfigError
from .keys import identity_generate, identity_peer_id, swarm_key_generate, wg_genkey, wg_pubkey
from .loop import Loop
from .node import Event, Node, PeerInfo, Snapshot
from .p2p import P2PEvent, P2PHost

__all__ = [
    "Config", "ConfigError", "Error", "Event", "LIB_PATH", "Loop", "Node", "P2PEvent", "P2PHost", "PeerInfo",
    "Snapshot", "identity_generate", "identity_peer_id", "keys", "strerror", "swarm_key_generate", "version",
    "wg_genkey", "wg_pubkey",
]


def version():
    """The version of the library actually loaded."""
    from ._native import text
    return text(lib.w2w_version())
