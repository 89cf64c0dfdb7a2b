# SPDX-License-Identifier: MIT
"""Keys and identities (include/w2wesher/keys.h): WireGuard keys exactly as
`wg genkey` / `wg pubkey` make them, swarm.key files, libp2p Ed25519 identities.

Secrets come back as Python str/bytes, which cannot be wiped: the C buffers
they were copied from are (w2w_wipe).
"""
from typing import Any, Callable, Union

from ._native import check, ffi, lib

# A key argument: its text (base64, or a swarm.key file) or the raw bytes.
KeyInput = Union[str, bytes, bytearray, memoryview]


def _text_out(fn: Callable[..., int], cap: int, *args: Any) -> str:
    buf = ffi.new("char[]", cap)
    try:
        n = check(fn(buf, cap, *args))
        return str(ffi.string(buf, n).decode())
    finally:
        lib.w2w_wipe(buf, cap)


def wg_genkey() -> str:
    """A new WireGuard private key, base64 (44 characters)."""
    return _text_out(lib.w2w_wg_genkey, lib.W2W_WG_KEY_TEXT_MAX)


def key_text(key: KeyInput) -> bytes:
    """A key as the C API takes it: str passes as is (base64, or swarm.key
    text); bytes are raw key material, encoded to base64 in constant time."""
    if isinstance(key, str):
        return key.encode()
    raw = bytes(key)
    out = ffi.new("char[]", len(raw) * 4 // 3 + 8)
    try:
        n = check(lib.w2w_base64_encode(out, len(out), raw, len(raw)))
        return bytes(ffi.string(out, n))
    finally:
        lib.w2w_wipe(out, len(out))


def wg_pubkey(private_key: KeyInput) -> str:
    """The public key of a base64 WireGuard private key (surrounding whitespace ignored)."""
    priv = private_key.strip().encode() if isinstance(private_key, str) else bytes(private_key).strip()
    cpriv = ffi.new("char[]", priv)
    try:
        return _text_out(lib.w2w_wg_pubkey, lib.W2W_WG_KEY_TEXT_MAX, cpriv)
    finally:
        lib.w2w_wipe(cpriv, len(priv))


def swarm_key_generate() -> str:
    """A new private-network key as the text of a swarm.key file."""
    return _text_out(lib.w2w_swarm_key_generate, lib.W2W_SWARM_KEY_TEXT_MAX)


def identity_generate() -> str:
    """A new libp2p Ed25519 identity: the base64 of its PrivateKey protobuf
    (68 bytes), the form of [P2P] PrivateKey and of the C API."""
    return _text_out(lib.w2w_identity_generate, lib.W2W_IDENTITY_TEXT_MAX)


def identity_peer_id(private_key: KeyInput) -> str:
    """The peer ID ("12D3KooW...") of an identity: its base64 text (str) or the
    raw PrivateKey protobuf (bytes). ParseError (W2W_EPARSE) if it is not one."""
    ckey = ffi.new("char[]", key_text(private_key))
    try:
        return _text_out(lib.w2w_identity_peer_id, lib.W2W_PEER_ID_TEXT_MAX, ckey)
    finally:
        lib.w2w_wipe(ckey, len(ckey))
