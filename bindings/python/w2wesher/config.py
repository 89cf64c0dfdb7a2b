# SPDX-License-Identifier: MIT
"""Node configuration (include/w2wesher/config.h, docs/configuration.md).

    cfg = Config.load("/etc/w2wesher/w2wesher.conf", generate=True, env=True)
    cfg.listen_port = 51821            # typed setters validate like the file does
    cfg.set("P2P", "AnnounceInterval", "5s")

Every failure raises ConfigError whose message is the library's, e.g.
"w2wesher.conf:7: [Wireguard] ListenPort: ..." for the file.
"""
from ._native import Error, check, ffi, lib, text
from .keys import key_text


class ConfigError(Error):
    """A configuration failure; str() is w2w_config_error() ("FILE:LINE: ...")
    when the library left a message, else the strerror."""

    def _text(self, context):
        return context or self.strerror


def _b(s):
    return s.encode() if isinstance(s, str) else s


BACKENDS = {"auto": lib.W2W_BACKEND_AUTO, "kernel": lib.W2W_BACKEND_KERNEL,
            "userspace": lib.W2W_BACKEND_USERSPACE}
_BACKEND_NAMES = {v: k for k, v in BACKENDS.items()}
LOG_LEVELS = {3: "error", 4: "warn", 6: "info", 7: "debug"}


class Config:
    """A struct w2w_config (defaults until loaded or set). Secrets stay in the
    library's locked memory; close() (or garbage collection) wipes them."""

    def __init__(self, path=None, *, generate=False, env=False):
        self._ptr = None
        out = ffi.new("struct w2w_config **")
        check(lib.w2w_config_new(out))
        self._ptr = out[0]
        if path is not None:
            self.load_file(path, generate=generate, env=env)

    @classmethod
    def load(cls, path, *, generate=False, env=False):
        """Loads an INI file. generate: create missing secrets and write them back
        into the file; env: apply W2WESHER_<SECTION>_<KEY> variables."""
        return cls(path, generate=generate, env=env)

    @property
    def ptr(self):
        if self._ptr is None:
            raise ConfigError(lib.W2W_ESTATE, "the configuration is closed")
        return self._ptr

    def _check(self, r):
        if r < 0:
            msg = text(lib.w2w_config_error(self.ptr))
            raise ConfigError(r, msg or None)
        return r

    def load_file(self, path, *, generate=False, env=False):
        flags = (lib.W2W_CONFIG_GENERATE if generate else 0) | (lib.W2W_CONFIG_ENV if env else 0)
        self._check(lib.w2w_config_load(self.ptr, _b(str(path)), flags))
        return self

    def check(self):
        """Validates the values together and fills the derived defaults."""
        self._check(lib.w2w_config_check(self.ptr))
        return self

    def generate_secrets(self):
        """Creates missing secrets (PSK, both private keys) in memory only."""
        self._check(lib.w2w_config_generate_secrets(self.ptr))
        return self

    def set(self, section, key, value):
        """Sets one key from its text form, exactly as the file would."""
        self._check(lib.w2w_config_set(self.ptr, _b(section), _b(key), _b(str(value))))
        return self

    def set_psk(self, psk):
        """The network PSK: its base64 text ([P2P] PSK), or the 32 raw bytes."""
        self._check(lib.w2w_config_set_psk(self.ptr, key_text(psk)))
        return self

    def set_p2p_private_key(self, key):
        """The libp2p identity: base64 text (keys.identity_generate()), or the raw PrivateKey protobuf."""
        self._check(lib.w2w_config_set_p2p_private_key(self.ptr, key_text(key)))
        return self

    def set_wg_private_key(self, key):
        """The WireGuard private key: its base64 text, or the 32 raw bytes."""
        self._check(lib.w2w_config_set_wg_private_key(self.ptr, key_text(key)))
        return self

    def add_bootstrap(self, multiaddr):
        self._check(lib.w2w_config_add_bootstrap(self.ptr, _b(multiaddr)))
        return self

    # ---- properties: getters where the library has one, setters typed ----
    def _prop_set(name, conv=None):
        fn = getattr(lib, "w2w_config_set_" + name)

        def setter(self, value):
            self._check(fn(self.ptr, conv(value) if conv else value))
        return setter

    def _str_get(name):
        fn = getattr(lib, "w2w_config_" + name)
        return lambda self: text(fn(self.ptr))

    def _num_get(name):
        fn = getattr(lib, "w2w_config_" + name)
        return lambda self: fn(self.ptr)

    def _write_only(name):
        def getter(self):
            raise AttributeError(f"{name} has no getter in the C API (see dump())")
        return getter

    interface = property(_str_get("interface"), _prop_set("interface", _b))
    listen_port = property(_num_get("listen_port"), _prop_set("listen_port"))
    listen_addr = property(_str_get("listen_addr"), _prop_set("listen_addr", _b))
    node_name = property(_str_get("node_name"), _prop_set("node_name", _b))
    mtu = property(_num_get("mtu"), _prop_set("mtu"))
    state_dir = property(_str_get("state_dir"), _prop_set("state_dir", _b))
    control_socket = property(_str_get("control_socket"), _prop_set("control_socket", _b))
    network_range = property(_write_only("network_range"), _prop_set("network_range", _b))
    mdns = property(lambda self: bool(lib.w2w_config_mdns(self.ptr)), _prop_set("mdns", lambda v: 1 if v else 0))
    mdns_interfaces = property(_str_get("mdns_interfaces"), _prop_set("mdns_interfaces", lambda v: _b(v or "")))
    mdns_interval_ms = property(_num_get("mdns_interval_ms"), _prop_set("mdns_interval_ms"))
    address = property(_write_only("address"), _prop_set("address", lambda v: _b(v or "")))
    keepalive_s = property(_write_only("keepalive_s"), _prop_set("keepalive_s"))
    announce_interval_ms = property(_write_only("announce_interval_ms"), _prop_set("announce_interval_ms"))
    peer_expiry_ms = property(_write_only("peer_expiry_ms"), _prop_set("peer_expiry_ms"))
    backend = property(lambda self: _BACKEND_NAMES.get(lib.w2w_config_backend(self.ptr), "auto"),
                       _prop_set("backend", lambda v: BACKENDS[v] if isinstance(v, str) else v))
    log_level = property(lambda self: LOG_LEVELS.get(lib.w2w_config_log_level(self.ptr), "info"),
                         _prop_set("log_level", _b))
    # syslog numbering (W2W_LOG_*), as w2w_node_set_log() takes it
    log_level_number = property(lambda self: lib.w2w_config_log_level(self.ptr))
    del _prop_set, _str_get, _num_get, _write_only

    @property
    def path(self):
        return text(lib.w2w_config_path(self.ptr))

    @property
    def bootstrap(self):
        n = lib.w2w_config_bootstrap_count(self.ptr)
        return [text(lib.w2w_config_bootstrap(self.ptr, i)) for i in range(n)]

    @property
    def peer_id(self):
        """The node's libp2p peer ID (ConfigError W2W_ESTATE without a private key)."""
        out = ffi.new("char[]", lib.W2W_PEER_ID_TEXT_MAX)
        n = self._check(lib.w2w_config_peer_id(self.ptr, out, lib.W2W_PEER_ID_TEXT_MAX))
        return ffi.string(out, n).decode()

    @property
    def wg_public_key(self):
        out = ffi.new("char[]", lib.W2W_WG_KEY_TEXT_MAX)
        n = self._check(lib.w2w_config_wg_public_key(self.ptr, out, lib.W2W_WG_KEY_TEXT_MAX))
        return ffi.string(out, n).decode()

    def dump(self):
        """The effective configuration as INI text, secrets redacted, origins in comments."""
        out = ffi.new("char **")
        n = self._check(lib.w2w_config_dump(self.ptr, out))
        try:
            return ffi.string(out[0], n).decode()
        finally:
            lib.w2w_free(out[0])

    def close(self):
        if self._ptr is not None:
            lib.w2w_config_free(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
