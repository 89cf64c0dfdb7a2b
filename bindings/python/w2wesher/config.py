# SPDX-License-Identifier: MIT
"""Node configuration (include/w2wesher/config.h, docs/configuration.md).

    cfg = Config.load("/etc/w2wesher/w2wesher.conf", generate=True, env=True)
    cfg.listen_port = 51821            # typed setters validate like the file does
    cfg.set("P2P", "AnnounceInterval", "5s")

Every failure raises ConfigError whose message is the library's, e.g.
"w2wesher.conf:7: [Wireguard] ListenPort: ..." for the file. A ConfigError is
also of the class of its code (ParseError, FileNotFoundError, ...).
"""
import os
from typing import Any, Dict, List, Optional, Union

from ._native import W2wError, check, error, ffi, lib, text, text_or_none
from ._owned import Owned
from .keys import KeyInput, key_text


class ConfigError(W2wError):
    """A configuration failure; str() is w2w_config_error() ("FILE:LINE: ...")
    when the library left a message, else the strerror."""

    def _text(self, context: Optional[str]) -> str:
        return context or self.strerror


def _b(s: Union[str, bytes]) -> bytes:
    return s.encode() if isinstance(s, str) else s


BACKENDS: Dict[str, int] = {"auto": lib.W2W_BACKEND_AUTO, "kernel": lib.W2W_BACKEND_KERNEL,
                            "userspace": lib.W2W_BACKEND_USERSPACE}
_BACKEND_NAMES = {v: k for k, v in BACKENDS.items()}
LOG_LEVELS: Dict[int, str] = {3: "error", 4: "warn", 6: "info", 7: "debug"}

PathLike = Union[str, "os.PathLike[str]"]


class Config(Owned):
    """A struct w2w_config (defaults until loaded or set). Secrets stay in the
    library's locked memory; close() (or garbage collection) wipes them."""

    _FREE = "w2w_config_free"

    def __init__(self, path: Optional[PathLike] = None, *, generate: bool = False, env: bool = False) -> None:
        self._ptr: Any = None
        out = ffi.new("struct w2w_config **")
        check(lib.w2w_config_new(out))
        self._ptr = out[0]
        if path is not None:
            self.load_file(path, generate=generate, env=env)

    @classmethod
    def load(cls, path: PathLike, *, generate: bool = False, env: bool = False) -> "Config":
        """Loads an INI file. generate: create missing secrets and write them back
        into the file; env: apply W2WESHER_<SECTION>_<KEY> variables."""
        return cls(path, generate=generate, env=env)

    @property
    def ptr(self) -> Any:
        if self._ptr is None:
            raise error(lib.W2W_ESTATE, "the configuration is closed", ConfigError)
        return self._ptr

    def _check(self, r: int) -> int:
        if r < 0:
            msg = text(lib.w2w_config_error(self.ptr))
            raise error(r, msg or None, ConfigError)
        return r

    def load_file(self, path: PathLike, *, generate: bool = False, env: bool = False) -> "Config":
        flags = (lib.W2W_CONFIG_GENERATE if generate else 0) | (lib.W2W_CONFIG_ENV if env else 0)
        self._check(lib.w2w_config_load(self.ptr, _b(os.fspath(path)), flags))
        return self

    def check(self) -> "Config":
        """Validates the values together and fills the derived defaults."""
        self._check(lib.w2w_config_check(self.ptr))
        return self

    def generate_secrets(self) -> "Config":
        """Creates missing secrets (PSK, both private keys) in memory only."""
        self._check(lib.w2w_config_generate_secrets(self.ptr))
        return self

    def set(self, section: str, key: str, value: object) -> "Config":
        """Sets one key from its text form, exactly as the file would."""
        self._check(lib.w2w_config_set(self.ptr, _b(section), _b(key), _b(str(value))))
        return self

    def set_psk(self, psk: KeyInput) -> "Config":
        """The network PSK: its base64 text ([P2P] PSK), or the 32 raw bytes."""
        self._check(lib.w2w_config_set_psk(self.ptr, key_text(psk)))
        return self

    def set_p2p_private_key(self, key: KeyInput) -> "Config":
        """The libp2p identity: base64 text (keys.identity_generate()), or the raw PrivateKey protobuf."""
        self._check(lib.w2w_config_set_p2p_private_key(self.ptr, key_text(key)))
        return self

    def set_wg_private_key(self, key: KeyInput) -> "Config":
        """The WireGuard private key: its base64 text, or the 32 raw bytes."""
        self._check(lib.w2w_config_set_wg_private_key(self.ptr, key_text(key)))
        return self

    def add_bootstrap(self, multiaddr: str) -> "Config":
        self._check(lib.w2w_config_add_bootstrap(self.ptr, _b(multiaddr)))
        return self

    # ---- properties: getters where the library has one, setters typed ----

    @property
    def interface(self) -> str:
        return text(lib.w2w_config_interface(self.ptr))

    @interface.setter
    def interface(self, value: str) -> None:
        self._check(lib.w2w_config_set_interface(self.ptr, _b(value)))

    @property
    def listen_port(self) -> int:
        return int(lib.w2w_config_listen_port(self.ptr))

    @listen_port.setter
    def listen_port(self, value: int) -> None:
        self._check(lib.w2w_config_set_listen_port(self.ptr, int(value)))

    @property
    def listen_addr(self) -> str:
        return text(lib.w2w_config_listen_addr(self.ptr))

    @listen_addr.setter
    def listen_addr(self, value: str) -> None:
        self._check(lib.w2w_config_set_listen_addr(self.ptr, _b(value)))

    @property
    def node_name(self) -> str:
        return text(lib.w2w_config_node_name(self.ptr))

    @node_name.setter
    def node_name(self, value: str) -> None:
        self._check(lib.w2w_config_set_node_name(self.ptr, _b(value)))

    @property
    def mtu(self) -> int:
        return int(lib.w2w_config_mtu(self.ptr))

    @mtu.setter
    def mtu(self, value: int) -> None:
        self._check(lib.w2w_config_set_mtu(self.ptr, int(value)))

    @property
    def state_dir(self) -> Optional[str]:
        return text_or_none(lib.w2w_config_state_dir(self.ptr))

    @state_dir.setter
    def state_dir(self, value: str) -> None:
        self._check(lib.w2w_config_set_state_dir(self.ptr, _b(value)))

    @property
    def control_socket(self) -> Optional[str]:
        return text_or_none(lib.w2w_config_control_socket(self.ptr))

    @control_socket.setter
    def control_socket(self, value: str) -> None:
        self._check(lib.w2w_config_set_control_socket(self.ptr, _b(value)))

    @property
    def network_range(self) -> str:
        raise AttributeError("network_range has no getter in the C API (see dump())")

    @network_range.setter
    def network_range(self, value: str) -> None:
        self._check(lib.w2w_config_set_network_range(self.ptr, _b(value)))

    @property
    def mdns(self) -> bool:
        return bool(lib.w2w_config_mdns(self.ptr))

    @mdns.setter
    def mdns(self, value: bool) -> None:
        self._check(lib.w2w_config_set_mdns(self.ptr, 1 if value else 0))

    @property
    def mdns_interfaces(self) -> Optional[str]:
        return text_or_none(lib.w2w_config_mdns_interfaces(self.ptr))

    @mdns_interfaces.setter
    def mdns_interfaces(self, value: Optional[str]) -> None:
        self._check(lib.w2w_config_set_mdns_interfaces(self.ptr, _b(value or "")))

    @property
    def mdns_interval_ms(self) -> int:
        return int(lib.w2w_config_mdns_interval_ms(self.ptr))

    @mdns_interval_ms.setter
    def mdns_interval_ms(self, value: int) -> None:
        self._check(lib.w2w_config_set_mdns_interval_ms(self.ptr, int(value)))

    @property
    def address(self) -> str:
        raise AttributeError("address has no getter in the C API (see dump())")

    @address.setter
    def address(self, value: Optional[str]) -> None:
        self._check(lib.w2w_config_set_address(self.ptr, _b(value or "")))

    @property
    def keepalive_s(self) -> int:
        raise AttributeError("keepalive_s has no getter in the C API (see dump())")

    @keepalive_s.setter
    def keepalive_s(self, value: int) -> None:
        self._check(lib.w2w_config_set_keepalive_s(self.ptr, int(value)))

    @property
    def announce_interval_ms(self) -> int:
        raise AttributeError("announce_interval_ms has no getter in the C API (see dump())")

    @announce_interval_ms.setter
    def announce_interval_ms(self, value: int) -> None:
        self._check(lib.w2w_config_set_announce_interval_ms(self.ptr, int(value)))

    @property
    def peer_expiry_ms(self) -> int:
        raise AttributeError("peer_expiry_ms has no getter in the C API (see dump())")

    @peer_expiry_ms.setter
    def peer_expiry_ms(self, value: int) -> None:
        self._check(lib.w2w_config_set_peer_expiry_ms(self.ptr, int(value)))

    @property
    def backend(self) -> str:
        """"auto", "kernel" or "userspace"."""
        return _BACKEND_NAMES.get(int(lib.w2w_config_backend(self.ptr)), "auto")

    @backend.setter
    def backend(self, value: Union[str, int]) -> None:
        self._check(lib.w2w_config_set_backend(self.ptr, BACKENDS[value] if isinstance(value, str) else value))

    @property
    def log_level(self) -> str:
        return LOG_LEVELS.get(int(lib.w2w_config_log_level(self.ptr)), "info")

    @log_level.setter
    def log_level(self, value: str) -> None:
        self._check(lib.w2w_config_set_log_level(self.ptr, _b(value)))

    @property
    def log_level_number(self) -> int:
        """The log level in syslog numbering (W2W_LOG_*), as w2w_node_set_log() takes it."""
        return int(lib.w2w_config_log_level(self.ptr))

    @property
    def admission_token(self) -> str:
        """[P2P] AdmissionToken as configured ("" = none): what a reload passes to
        Node.set_admission_token()."""
        return text(lib.w2w_config_admission_token(self.ptr))

    @property
    def metrics_addr(self) -> str:
        """[Node] MetricsAddr: "IP:PORT" where w2wesherd serves Prometheus metrics ("" = none)."""
        return text(lib.w2w_config_metrics_addr(self.ptr))

    @metrics_addr.setter
    def metrics_addr(self, value: Optional[str]) -> None:
        self._check(lib.w2w_config_set_metrics_addr(self.ptr, _b(value or "")))

    @property
    def dns_domain(self) -> str:
        """The domain node names resolve under (lower case, no trailing dot; "" before check()); set "" for the default <Interface>.w2w."""
        return text(lib.w2w_config_dns_domain(self.ptr))

    @dns_domain.setter
    def dns_domain(self, value: str) -> None:
        self._check(lib.w2w_config_set_dns_domain(self.ptr, _b(value)))

    @property
    def path(self) -> Optional[str]:
        return text_or_none(lib.w2w_config_path(self.ptr))

    @property
    def bootstrap(self) -> List[str]:
        n = lib.w2w_config_bootstrap_count(self.ptr)
        return [text(lib.w2w_config_bootstrap(self.ptr, i)) for i in range(n)]

    @property
    def peer_id(self) -> str:
        """The node's libp2p peer ID (ConfigError W2W_ESTATE without a private key)."""
        out = ffi.new("char[]", lib.W2W_PEER_ID_TEXT_MAX)
        n = self._check(lib.w2w_config_peer_id(self.ptr, out, lib.W2W_PEER_ID_TEXT_MAX))
        return str(ffi.string(out, n).decode())

    @property
    def wg_public_key(self) -> str:
        out = ffi.new("char[]", lib.W2W_WG_KEY_TEXT_MAX)
        n = self._check(lib.w2w_config_wg_public_key(self.ptr, out, lib.W2W_WG_KEY_TEXT_MAX))
        return str(ffi.string(out, n).decode())

    def dump(self) -> str:
        """The effective configuration as INI text, secrets redacted, origins in comments."""
        out = ffi.new("char **")
        n = self._check(lib.w2w_config_dump(self.ptr, out))
        try:
            return str(ffi.string(out[0], n).decode())
        finally:
            lib.w2w_free(out[0])

