# SPDX-License-Identifier: MIT
"""Config: files, setters and errors as Python exceptions with the library's
"FILE:LINE: [Section] Key: ..." message."""
import base64
import errno
import os
import stat

import pytest

import w2wesher
from w2wesher import Config, ConfigError

GOOD = """[P2P]
PSK = {psk}
ListenAddr = /ip4/127.0.0.1/tcp/10042
AnnounceInterval = 5s
[Wireguard]
Interface = wtest0
ListenPort = 51820
NetworkRange = 10.77.0.0/24
NodeName = alpha
"""


@pytest.fixture
def psk():
    return base64.b64encode(os.urandom(32)).decode()


def write(tmp_path, text, name="w2wesher.conf"):
    p = tmp_path / name
    p.write_text(text)
    p.chmod(0o600)  # a file holding secrets must not be world-readable
    return str(p)


def test_load_good_file(tmp_path, psk):
    path = write(tmp_path, GOOD.format(psk=psk))
    cfg = Config.load(path)
    assert cfg.path == path
    assert cfg.interface == "wtest0" and cfg.listen_port == 51820 and cfg.node_name == "alpha"
    assert cfg.listen_addr == "/ip4/127.0.0.1/tcp/10042"
    assert cfg.backend == "auto" and cfg.bootstrap == []
    dump = cfg.dump()
    assert psk not in dump and "<redacted>" in dump and "wtest0" in dump
    with pytest.raises(ConfigError) as e:  # no private key in the file, and not generated
        cfg.peer_id
    assert e.value.code == w2wesher.lib.W2W_ESTATE


@pytest.mark.parametrize("line,lineno,words", [
    ("ListenPort = 70000", 7, ["[Wireguard]", "ListenPort"]),
    ("listenport = 1", 7, ["unknown key", "ListenPort"]),
    ("NetworkRange = 10.77.0.1/24", 8, ["NetworkRange", "10.77.0.0/24"]),
])
def test_file_errors_name_file_and_line(tmp_path, psk, line, lineno, words):
    text = GOOD.format(psk=psk).splitlines()
    key = line.split("=")[0].strip()
    idx = [i for i, l in enumerate(text) if l.split("=")[0].strip().lower() == key.lower()][0]
    text[idx] = line
    path = write(tmp_path, "\n".join(text) + "\n")
    with pytest.raises(ConfigError) as e:
        Config.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:{idx + 1}: "), msg
    for w in words:
        assert w in msg, msg
    assert e.value.code == w2wesher.lib.W2W_EPARSE and e.value.errno is None


def test_unknown_section(tmp_path, psk):
    path = write(tmp_path, GOOD.format(psk=psk) + "[Bogus]\nX = 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:10: .*Bogus"):
        Config.load(path)


def test_missing_file_is_enoent(tmp_path):
    with pytest.raises(ConfigError) as e:
        Config.load(str(tmp_path / "nope.conf"))
    assert e.value.errno == errno.ENOENT and e.value.code == -errno.ENOENT
    assert isinstance(e.value, w2wesher.Error)


def test_generate_writes_back(tmp_path, psk):
    path = write(tmp_path, "# keep me\n" + GOOD.format(psk=psk))
    cfg = Config.load(path, generate=True)
    pid, pub = cfg.peer_id, cfg.wg_public_key
    assert pid.startswith("12D3KooW") and len(pub) == 44
    text = open(path).read()
    assert text.startswith("# keep me\n") and "PrivateKey" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Config.load(path)  # the same identity from the written file
    assert again.peer_id == pid and again.wg_public_key == pub
    assert w2wesher.wg_pubkey([l.split("=", 1)[1].strip() for l in text.splitlines()
                               if l.startswith("PrivateKey") and "12D3" not in l][-1]) == pub


def test_environment_overrides(tmp_path, psk, monkeypatch):
    path = write(tmp_path, GOOD.format(psk=psk))
    monkeypatch.setenv("W2WESHER_WIREGUARD_LISTENPORT", "40000")
    assert Config.load(path).listen_port == 51820
    assert Config.load(path, env=True).listen_port == 40000
    monkeypatch.setenv("W2WESHER_WIREGUARD_LISTENPORT", "x")
    with pytest.raises(ConfigError, match="W2WESHER_WIREGUARD_LISTENPORT"):
        Config.load(path, env=True)


def test_setters_and_errors():
    cfg = Config()
    cfg.listen_port = 40001
    cfg.interface = "wpy0"
    cfg.mtu = 1380
    cfg.backend = "userspace"
    cfg.log_level = "debug"
    cfg.node_name = "beta"
    cfg.network_range = "fd00:1::/64"
    cfg.address = "fd00:1::7"
    cfg.announce_interval_ms = 2000
    cfg.set("Wireguard", "PersistentKeepalive", "5s")
    cfg.add_bootstrap("/ip4/192.0.2.1/tcp/10042/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq")
    assert (cfg.listen_port, cfg.interface, cfg.mtu, cfg.backend, cfg.log_level, cfg.node_name) == \
        (40001, "wpy0", 1380, "userspace", "debug", "beta")
    assert len(cfg.bootstrap) == 1
    for attr, bad in (("listen_port", 70000), ("interface", "a/b"), ("mtu", 10), ("log_level", "loud"),
                      ("network_range", "fd00:1::1/64"), ("address", "not-an-ip")):
        with pytest.raises(ConfigError) as e:
            setattr(cfg, attr, bad)
        assert str(e.value) and e.value.code == w2wesher.lib.W2W_EPARSE, (attr, str(e.value))
    with pytest.raises(ConfigError, match="ListenPort"):
        cfg.set("Wireguard", "ListenPort", "abc")
    with pytest.raises(ConfigError):
        cfg.add_bootstrap("/ip4/192.0.2.1/tcp/10042")  # no /p2p/
    with pytest.raises(ConfigError):
        cfg.set_psk(b"short")
    # Failed setters changed nothing.
    assert cfg.listen_port == 40001 and cfg.interface == "wpy0"
    # Values that only conflict together fail in check().
    cfg.address = "10.0.0.1"
    with pytest.raises(ConfigError, match=r"Address: 10\.0\.0\.1 is outside NetworkRange fd00:1::/64"):
        cfg.check()


def test_mdns_keys():
    cfg = Config()
    assert (cfg.mdns, cfg.mdns_interfaces, cfg.mdns_interval_ms) == (False, "", 10000)
    cfg.mdns = True
    cfg.mdns_interfaces = "eth0, br0"
    cfg.mdns_interval_ms = 5000
    assert (cfg.mdns, cfg.mdns_interfaces, cfg.mdns_interval_ms) == (True, "eth0,br0", 5000)
    with pytest.raises(ConfigError, match=r"\[P2P\] MDNSInterval: '500ms' is out of range"):
        cfg.mdns_interval_ms = 500
    with pytest.raises(ConfigError, match="MDNSInterfaces"):
        cfg.mdns_interfaces = "eth0,eth0"
    with pytest.raises(ConfigError, match="not true or false"):
        cfg.set("P2P", "MDNS", "perhaps")
    assert (cfg.mdns, cfg.mdns_interfaces, cfg.mdns_interval_ms) == (True, "eth0,br0", 5000)
    cfg.mdns_interfaces = None
    assert cfg.mdns_interfaces == ""


def test_secrets_in_memory():
    cfg = Config()
    ident = w2wesher.identity_generate()
    cfg.set_p2p_private_key(ident)
    assert cfg.peer_id == w2wesher.identity_peer_id(ident)
    priv = w2wesher.wg_genkey()
    cfg.set_wg_private_key(priv)
    assert cfg.wg_public_key == w2wesher.wg_pubkey(priv)
    cfg.set_wg_private_key(base64.b64decode(w2wesher.wg_genkey()))
    assert cfg.wg_public_key != w2wesher.wg_pubkey(priv)
    cfg.set_psk(os.urandom(32))  # raw bytes: the binding hands the C API their base64
    cfg.set_psk(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(ConfigError, match="32 bytes"):
        cfg.set_psk(base64.b64encode(os.urandom(31)).decode())
    cfg.check()
    cfg.close()
    with pytest.raises(ConfigError):
        cfg.interface
