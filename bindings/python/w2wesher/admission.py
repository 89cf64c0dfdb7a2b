# SPDX-License-Identifier: MIT
"""Admission control (include/w2wesher/admission.h; docs/security.md "Admission
mode", docs/mesh.md "Admission"): an operator Ed25519 key signs, offline, a
token per admitted node and revocations; nodes configured with
`[P2P] AdmissionKey` accept only peers whose token verifies.

    op = admission.genkey()                       # secret: keep it offline
    cfg.set("P2P", "AdmissionKey", admission.pubkey(op))
    node.set_admission_token(admission.sign(op, peer_id, name="a"))

Secrets come back as Python str, which cannot be wiped: the C buffers they
were copied from are (w2w_wipe).
"""
import dataclasses
from typing import Optional

from ._native import check, ffi, lib
from .keys import _text_out

TOKEN = 1
REVOCATION = 2


def genkey() -> str:
    """A new operator private key: base64 of a random 32-byte Ed25519 seed (a secret)."""
    return _text_out(lib.w2w_admission_genkey, lib.W2W_ADMISSION_KEY_TEXT_MAX)


def pubkey(key: str) -> str:
    """The public key of an operator key: the value of [P2P] AdmissionKey."""
    ckey = ffi.new("char[]", key.strip().encode())
    try:
        return _text_out(lib.w2w_admission_pubkey, lib.W2W_ADMISSION_KEY_TEXT_MAX, ckey)
    finally:
        lib.w2w_wipe(ckey, len(ckey))


def sign(key: str, peer_id: str, name: Optional[str] = None, not_before: int = 0, expires: int = 0) -> str:
    """A token admitting peer_id ("12D3KooW..."), valid from not_before until expires
    (Unix seconds; expires 0: never), with an optional informative name (printable
    ASCII, at most 64 bytes). ParseError for a bad key, peer ID or name."""
    ckey = ffi.new("char[]", key.strip().encode())
    try:
        return _text_out(lib.w2w_admission_sign, lib.W2W_ADMISSION_TEXT_MAX, ckey, peer_id.encode(),
                         name.encode() if name else ffi.NULL, int(not_before), int(expires))
    finally:
        lib.w2w_wipe(ckey, len(ckey))


def revoke(key: str, peer_id: str, when: int) -> str:
    """A revocation of peer_id made at `when` (Unix seconds)."""
    ckey = ffi.new("char[]", key.strip().encode())
    try:
        return _text_out(lib.w2w_admission_revoke, lib.W2W_ADMISSION_TEXT_MAX, ckey, peer_id.encode(), int(when))
    finally:
        lib.w2w_wipe(ckey, len(ckey))


@dataclasses.dataclass(frozen=True)
class Blob:
    """A token or revocation as read by inspect() (its signature NOT checked)."""
    kind: str  # "token" or "revocation"
    peer_id: str
    not_before: int  # a revocation: when it was made
    expires: int  # 0: never


def inspect(blob: str) -> Blob:
    """Reads a token or revocation without checking its signature. ParseError when it is neither."""
    kind = ffi.new("int *")
    nb = ffi.new("int64_t *")
    exp = ffi.new("int64_t *")
    peer = ffi.new("char[]", lib.W2W_PEER_ID_TEXT_MAX)
    check(lib.w2w_admission_inspect(blob.strip().encode(), kind, peer, lib.W2W_PEER_ID_TEXT_MAX, nb, exp),
          "admission inspect")
    return Blob(kind="token" if kind[0] == TOKEN else "revocation" if kind[0] == REVOCATION else str(kind[0]),
                peer_id=ffi.string(peer).decode(), not_before=int(nb[0]), expires=int(exp[0]))
