# SPDX-License-Identifier: MIT
"""Keys against outside references: Debian's `wg pubkey`, the libp2p spec's
Ed25519 test key and a base58btc encoder written here."""
import base64
import re
import shutil
import subprocess

import pytest

import w2wesher
from w2wesher import keys

WG = shutil.which("wg") or "/usr/bin/wg"
SPEC_PRIV_HEX = ("080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
                 "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")
SPEC_PEER_ID = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def wg_pubkey(priv):
    return subprocess.run([WG, "pubkey"], input=priv + "\n", capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not shutil.which("wg"), reason="wireguard-tools (wg) not installed")
def test_pubkey_matches_wg():
    for _ in range(8):
        priv = w2wesher.wg_genkey()
        assert len(priv) == 44 and len(base64.b64decode(priv)) == 32
        assert w2wesher.wg_pubkey(priv) == wg_pubkey(priv)
    # A key made by wg(8) itself, with the whitespace a file read leaves.
    priv = subprocess.run([WG, "genkey"], capture_output=True, text=True, check=True).stdout
    assert w2wesher.wg_pubkey(priv) == wg_pubkey(priv.strip())
    assert w2wesher.wg_pubkey(priv.encode()) == wg_pubkey(priv.strip())


def test_genkey_is_clamped_and_random():
    seen = set()
    for _ in range(16):
        k = base64.b64decode(w2wesher.wg_genkey())
        assert k[0] & 7 == 0 and k[31] & 0x80 == 0 and k[31] & 0x40
        seen.add(k)
    assert len(seen) == 16


@pytest.mark.parametrize("bad", ["", "abc", "A" * 43, "!" * 44, "A" * 45])
def test_pubkey_rejects_malformed(bad):
    with pytest.raises(w2wesher.Error) as e:
        w2wesher.wg_pubkey(bad)
    assert e.value.code == w2wesher.lib.W2W_EPARSE
    assert e.value.errno is None and str(e.value) == w2wesher.strerror(w2wesher.lib.W2W_EPARSE)


def test_swarm_key_format():
    a, b = w2wesher.swarm_key_generate(), w2wesher.swarm_key_generate()
    assert re.fullmatch(r"/key/swarm/psk/1\.0\.0/\n/base16/\n[0-9a-f]{64}\n?", a), a
    assert a != b


def test_identity_peer_id_spec_vector():
    raw = bytes.fromhex(SPEC_PRIV_HEX)
    assert keys.identity_peer_id(raw) == SPEC_PEER_ID
    assert keys.identity_peer_id(base64.b64encode(raw).decode()) == SPEC_PEER_ID


def test_identity_generate():
    text = w2wesher.identity_generate()  # base64, the form of [P2P] PrivateKey
    pb = base64.b64decode(text, validate=True)
    assert len(text) == 92 and len(pb) == 68 and pb[:4] == b"\x08\x01\x12\x40"
    pub_pb = b"\x08\x01\x12\x20" + pb[36:68]
    assert w2wesher.identity_peer_id(text) == b58(b"\x00" + bytes([len(pub_pb)]) + pub_pb)
    assert w2wesher.identity_peer_id(pb) == w2wesher.identity_peer_id(text)
    assert w2wesher.identity_generate() != text


@pytest.mark.parametrize("bad", [b"", b"\x08\x01", bytes(68), b"\x08\x02\x12\x40" + bytes(64), "", "AAAA",
                                 "not base64!"])
def test_identity_rejects_garbage(bad):
    with pytest.raises(w2wesher.Error) as e:
        w2wesher.identity_peer_id(bad)
    assert e.value.code == w2wesher.lib.W2W_EPARSE


def test_strerror_and_version():
    import errno
    assert w2wesher.version() == "0.1.0" or re.fullmatch(r"\d+\.\d+\.\d+", w2wesher.version())
    assert w2wesher.strerror(-errno.ENOENT)
    assert w2wesher.strerror(w2wesher.lib.W2W_EPARSE) != w2wesher.strerror(w2wesher.lib.W2W_ESTATE)
    e = w2wesher.Error(-errno.EACCES)
    assert e.errno == errno.EACCES and str(e) == w2wesher.strerror(-errno.EACCES)


def test_declarations_are_exported():
    """Every function the cdef declares is in lib/core/libw2wesher.map (the ABI)
    and resolves in the loaded library."""
    import os
    from w2wesher import _native
    mapfile = os.path.join(os.path.dirname(__file__), "..", "..", "..", "lib", "core", "libw2wesher.map")
    with open(mapfile) as f:
        exported = set(re.findall(r"^\s*(w2w_\w+);", f.read(), re.M))
    assert set(_native.DECLARED) <= exported, set(_native.DECLARED) - exported
    for name in _native.DECLARED:
        assert getattr(_native.lib, name)


def test_admission_tokens_against_the_cli(tmp_path):
    """w2wesher.admission against `w2wesher admission`: the same public key of
    an operator key, and (Ed25519 signs deterministically) the same token for
    the same fields, which inspect() reads back."""
    import os
    from w2wesher import admission, ParseError
    cli = os.environ.get("W2W_CLI")
    if not cli:
        pytest.skip("W2W_CLI not set (run by meson)")
    op = admission.genkey()
    assert len(base64.b64decode(op)) == 32 and op != admission.genkey()
    keyfile = tmp_path / "op.key"
    keyfile.write_text(op + "\n")
    keyfile.chmod(0o600)
    pub = subprocess.run([cli, "admission", "pubkey"], input=op + "\n", capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    assert admission.pubkey(op) == pub and admission.pubkey(op + "\n") == pub
    peer = w2wesher.identity_peer_id(w2wesher.identity_generate())
    theirs = subprocess.run([cli, "admission", "sign", "--key", str(keyfile), "--peer", peer, "--name", "web1",
                             "--expires", "1h"], capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    blob = admission.inspect(theirs)
    assert blob.kind == "token" and blob.peer_id == peer and blob.expires - blob.not_before == 3600
    assert admission.sign(op, peer, name="web1", not_before=blob.not_before, expires=blob.expires) == theirs
    assert admission.sign(op, peer, name="web2", not_before=blob.not_before, expires=blob.expires) != theirs
    rev = admission.revoke(op, peer, 1_700_000_000)
    assert admission.inspect(rev) == admission.Blob("revocation", peer, 1_700_000_000, 0)
    for bad in (lambda: admission.sign(op, "not-a-peer-id"), lambda: admission.sign(op, peer, name="x" * 65),
                lambda: admission.pubkey("not base64"), lambda: admission.inspect("AAAA")):
        with pytest.raises(ParseError):
            bad()
