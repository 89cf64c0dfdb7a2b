# SPDX-License-Identifier: MIT
"""Keys and identities (include/w2wesher/keys.h): WireGuard keys exactly as
`wg genkey` / `wg pubkey` make them, swarm.key files, libp2p Ed25519 identities.

Secrets come back as Python str/bytes, which cannot be wiped: the C buffers
they were copied from are (w2w_wipe).
"""
from ._native import check, ffi, lib


def _text_out(fn, cap, *args):
    buf = ffi.new("char[]", cap)
    try:
        n = check(fn(buf, cap, *args))
        return ffi.string(buf, n).decode()
    finally:
        lib.w2w_wipe(buf, cap)


def wg_genkey():
    """A new WireGuard private key, base64 (44 characters)."""
    return _text_out(lib.w2w_wg_genkey, lib.W2W_WG_KEY_TEXT_MAX)


def wg_pubkey(private_key):
    """The public key of a base64 WireGuard private key (surrounding whitespace ignored)."""
    priv = private_key.strip().encode() if isinstance(private_key, str) else bytes(private_key).strip()
    cpriv = ffi.new("char[]", priv)
    try:
        return _text_out(lib.w2w_wg_pubkey, lib.W2W_WG_KEY_TEXT_MAX, cpriv, len(priv))
    finally:
        lib.w2w_wipe(cpriv, len(priv))


def swarm_key_generate():
    """A new private-network key as the text of a swarm.key file."""
    return _text_out(lib.w2w_swarm_key_generate, lib.W2W_SWARM_KEY_TEXT_MAX)


def identity_generate():
    """A new libp2p Ed25519 identity: the PrivateKey protobuf (68 bytes)."""
    buf = ffi.new("uint8_t[]", lib.W2W_IDENTITY_MAX)
    try:
        n = check(lib.w2w_identity_generate(buf, lib.W2W_IDENTITY_MAX))
        return bytes(ffi.buffer(buf, n))
    finally:
        lib.w2w_wipe(buf, lib.W2W_IDENTITY_MAX)


def identity_peer_id(private_key_pb):
    """The peer ID ("12D3KooW...") of a PrivateKey protobuf; Error (W2W_EPARSE) if it is not one."""
    pb = bytes(private_key_pb)
    cpb = ffi.new("uint8_t[]", max(len(pb), 1))
    ffi.memmove(cpb, pb, len(pb))
    out = ffi.new("char[]", lib.W2W_PEER_ID_TEXT_MAX)
    try:
        n = check(lib.w2w_identity_peer_id(cpb, len(pb), out, lib.W2W_PEER_ID_TEXT_MAX))
        return ffi.string(out, n).decode()
    finally:
        lib.w2w_wipe(cpb, max(len(pb), 1))
