# SPDX-License-Identifier: MIT
"""The C side: cffi (ABI mode) declarations of the public headers
(include/w2wesher/*.h, wg.h aside) and the loaded libw2wesher.

CDEF is written by hand (ABI mode needs no compiler at run time) and checked
against the headers by tests/test_abi.py: every function's C type, every
constant's value and every struct's size and offsets, the latter as the C
compiler lays them out (tests/abi_probe.c).

The library is found, in order: $W2W_LIB (the path of libw2wesher.so), the
build directories build/, build-py/, build-test/ of this checkout, the
system's libw2wesher.so.0.
"""
import os
import re

from cffi import FFI

CDEF = r"""
/* error.h, common.h */
enum {
	W2W_EBASE = -1000, W2W_EPARSE = -1001, W2W_EPROTO = -1002, W2W_EAUTH = -1003,
	W2W_ELIMIT = -1004, W2W_ESTATE = -1005, W2W_ETIMEDOUT = -1006, W2W_ECLOSED = -1007,
	W2W_ELAST = -1099,
};
const char *w2w_strerror(int err);
enum { W2W_LOG_ERR = 3, W2W_LOG_WARNING = 4, W2W_LOG_NOTICE = 5, W2W_LOG_INFO = 6, W2W_LOG_DEBUG = 7 };
typedef void (*w2w_log_fn)(void *ud, int level, const char *msg);
#define W2W_WG_KEY_TEXT_MAX 45
#define W2W_PEER_ID_TEXT_MAX 96
enum w2w_backend { W2W_BACKEND_AUTO = 0, W2W_BACKEND_KERNEL = 1, W2W_BACKEND_USERSPACE = 2 };
const char *w2w_version(void);
void w2w_free(void *p);

/* loop.h */
enum { W2W_IO_READ = 1, W2W_IO_WRITE = 2, W2W_IO_ERROR = 4 };
struct w2w_watch { int fd; int events; };
enum { W2W_LOOP_OPS_VERSION = 1 };
struct w2w_loop_ops {
	unsigned version;
	void *ud;
	void (*watch)(void *ud, int fd, int events);
	void (*set_deadline)(void *ud, int64_t when_us);
};
struct w2w_loop;
int w2w_loop_new(struct w2w_loop **ret, const struct w2w_loop_ops *ops);
struct w2w_loop *w2w_loop_free(struct w2w_loop *loop);
int w2w_loop_process(struct w2w_loop *loop, const struct w2w_watch *ready, size_t n);
size_t w2w_loop_get_watches(struct w2w_loop *loop, struct w2w_watch *out, size_t cap);
int64_t w2w_loop_next_deadline(struct w2w_loop *loop);
int w2w_loop_timeout(struct w2w_loop *loop);
int w2w_loop_run(struct w2w_loop *loop, int timeout_ms);
void w2w_loop_break(struct w2w_loop *loop);
uint64_t w2w_now_us(void);

/* keys.h */
enum { W2W_SWARM_KEY_TEXT_MAX = 128, W2W_IDENTITY_TEXT_MAX = 137 };
int w2w_wg_genkey(char *out, size_t cap);
int w2w_wg_pubkey(char *out, size_t cap, const char *priv);
int w2w_swarm_key_generate(char *out, size_t cap);
int w2w_identity_generate(char *out, size_t cap);
int w2w_identity_peer_id(char *out, size_t cap, const char *key);
int w2w_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len);
int w2w_base64_decode(uint8_t *out, size_t cap, const char *text);
void w2w_wipe(void *p, size_t len);

/* config.h */
struct w2w_config;
enum { W2W_CONFIG_GENERATE = 1, W2W_CONFIG_ENV = 2 };
int w2w_config_new(struct w2w_config **ret);
struct w2w_config *w2w_config_free(struct w2w_config *cfg);
int w2w_config_load(struct w2w_config *cfg, const char *path, unsigned flags);
int w2w_config_check(struct w2w_config *cfg);
int w2w_config_generate_secrets(struct w2w_config *cfg);
const char *w2w_config_error(const struct w2w_config *cfg);
int w2w_config_set(struct w2w_config *cfg, const char *section, const char *key, const char *value);
int w2w_config_set_psk(struct w2w_config *cfg, const char *b64);
int w2w_config_set_p2p_private_key(struct w2w_config *cfg, const char *b64);
int w2w_config_set_wg_private_key(struct w2w_config *cfg, const char *b64);
int w2w_config_set_listen_addr(struct w2w_config *cfg, const char *multiaddr);
int w2w_config_add_bootstrap(struct w2w_config *cfg, const char *multiaddr);
int w2w_config_set_announce_interval_ms(struct w2w_config *cfg, uint64_t ms);
int w2w_config_set_interface(struct w2w_config *cfg, const char *ifname);
int w2w_config_set_listen_port(struct w2w_config *cfg, unsigned port);
int w2w_config_set_network_range(struct w2w_config *cfg, const char *cidr);
int w2w_config_set_node_name(struct w2w_config *cfg, const char *name);
int w2w_config_set_keepalive_s(struct w2w_config *cfg, int seconds);
int w2w_config_set_mtu(struct w2w_config *cfg, unsigned mtu);
int w2w_config_set_backend(struct w2w_config *cfg, enum w2w_backend backend);
int w2w_config_set_address(struct w2w_config *cfg, const char *ip);
int w2w_config_set_state_dir(struct w2w_config *cfg, const char *path);
int w2w_config_set_log_level(struct w2w_config *cfg, const char *level);
int w2w_config_set_peer_expiry_ms(struct w2w_config *cfg, uint64_t ms);
int w2w_config_set_control_socket(struct w2w_config *cfg, const char *path);
int w2w_config_set_mdns(struct w2w_config *cfg, int on);
int w2w_config_set_mdns_interfaces(struct w2w_config *cfg, const char *list);
int w2w_config_set_mdns_interval_ms(struct w2w_config *cfg, uint64_t ms);
int w2w_config_mdns(const struct w2w_config *cfg);
const char *w2w_config_mdns_interfaces(const struct w2w_config *cfg);
uint64_t w2w_config_mdns_interval_ms(const struct w2w_config *cfg);
const char *w2w_config_path(const struct w2w_config *cfg);
const char *w2w_config_interface(const struct w2w_config *cfg);
unsigned w2w_config_listen_port(const struct w2w_config *cfg);
const char *w2w_config_listen_addr(const struct w2w_config *cfg);
size_t w2w_config_bootstrap_count(const struct w2w_config *cfg);
const char *w2w_config_bootstrap(const struct w2w_config *cfg, size_t i);
const char *w2w_config_node_name(const struct w2w_config *cfg);
unsigned w2w_config_mtu(const struct w2w_config *cfg);
enum w2w_backend w2w_config_backend(const struct w2w_config *cfg);
const char *w2w_config_state_dir(const struct w2w_config *cfg);
const char *w2w_config_control_socket(const struct w2w_config *cfg);
int w2w_config_log_level(const struct w2w_config *cfg);
int w2w_config_peer_id(const struct w2w_config *cfg, char *out, size_t cap);
int w2w_config_wg_public_key(const struct w2w_config *cfg, char *out, size_t cap);
int w2w_config_dump(const struct w2w_config *cfg, char **out);

/* node.h */
enum w2w_node_event_type {
	W2W_NODE_EV_LISTENING = 1, W2W_NODE_EV_JOINED, W2W_NODE_EV_PEER_UP, W2W_NODE_EV_PEER_DOWN,
	W2W_NODE_EV_ADDRESS_ASSIGNED, W2W_NODE_EV_KEY_ROTATED, W2W_NODE_EV_WG_APPLIED, W2W_NODE_EV_ERROR,
	W2W_NODE_EV_STOPPED,
};
struct w2w_node_event;
struct w2w_node;
typedef void (*w2w_node_event_fn)(void *ud, const struct w2w_node_event *ev);
enum w2w_node_event_type w2w_node_event_type(const struct w2w_node_event *ev);
const char *w2w_node_event_type_name(enum w2w_node_event_type t);
const char *w2w_node_event_peer_id(const struct w2w_node_event *ev);
const char *w2w_node_event_name(const struct w2w_node_event *ev);
const char *w2w_node_event_address(const struct w2w_node_event *ev);
const char *w2w_node_event_message(const struct w2w_node_event *ev);
int w2w_node_event_error(const struct w2w_node_event *ev);
int w2w_node_new(struct w2w_node **ret, struct w2w_loop *loop, const struct w2w_config *cfg,
		 w2w_node_event_fn fn, void *ud);
struct w2w_node *w2w_node_free(struct w2w_node *node);
int w2w_node_set_log(struct w2w_node *node, w2w_log_fn fn, void *ud, int max_level);
int w2w_node_start(struct w2w_node *node);
int w2w_node_join(struct w2w_node *node, const char *multiaddr);
int w2w_node_stop(struct w2w_node *node);
int w2w_node_leave(struct w2w_node *node);
int w2w_node_rotate_wg_key(struct w2w_node *node);
struct w2w_snapshot;
struct w2w_snapshot *w2w_node_snapshot(struct w2w_node *node);
struct w2w_snapshot *w2w_snapshot_free(struct w2w_snapshot *s);
size_t w2w_snapshot_peer_count(const struct w2w_snapshot *s);
const char *w2w_snapshot_name(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_peer_id(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_address(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_endpoint(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_wg_public_key(const struct w2w_snapshot *s, size_t i);
int64_t w2w_snapshot_last_handshake(const struct w2w_snapshot *s, size_t i);
uint64_t w2w_snapshot_rx_bytes(const struct w2w_snapshot *s, size_t i);
uint64_t w2w_snapshot_tx_bytes(const struct w2w_snapshot *s, size_t i);
int w2w_snapshot_connected(const struct w2w_snapshot *s, size_t i);
size_t w2w_snapshot_join_addr_count(const struct w2w_snapshot *s);
const char *w2w_snapshot_join_addr(const struct w2w_snapshot *s, size_t i);

/* p2p.h */
struct w2w_p2p;
enum w2w_p2p_event_type {
	W2W_P2P_EV_LISTENING = 1, W2W_P2P_EV_CONNECTED, W2W_P2P_EV_DISCONNECTED, W2W_P2P_EV_DIAL_FAILED,
	W2W_P2P_EV_IDENTIFY, W2W_P2P_EV_PING, W2W_P2P_EV_PING_FAILED, W2W_P2P_EV_MESSAGE,
};
struct w2w_p2p_event;
typedef void (*w2w_p2p_event_fn)(void *ud, const struct w2w_p2p_event *ev);
enum w2w_p2p_event_type w2w_p2p_event_type(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_type_name(enum w2w_p2p_event_type t);
const char *w2w_p2p_event_peer_id(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_addr(const struct w2w_p2p_event *ev);
int w2w_p2p_event_inbound(const struct w2w_p2p_event *ev);
int w2w_p2p_event_error(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_message(const struct w2w_p2p_event *ev);
uint64_t w2w_p2p_event_rtt_us(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_agent_version(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_protocol_version(const struct w2w_p2p_event *ev);
size_t w2w_p2p_event_protocol_count(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_protocol(const struct w2w_p2p_event *ev, size_t i);
size_t w2w_p2p_event_listen_addr_count(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_listen_addr(const struct w2w_p2p_event *ev, size_t i);
const char *w2w_p2p_event_observed_addr(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_from(const struct w2w_p2p_event *ev);
const char *w2w_p2p_event_topic(const struct w2w_p2p_event *ev);
const uint8_t *w2w_p2p_event_data(const struct w2w_p2p_event *ev, size_t *len);
uint64_t w2w_p2p_event_seqno(const struct w2w_p2p_event *ev);
int w2w_p2p_new(struct w2w_p2p **ret, struct w2w_loop *loop, const char *key, const char *swarm_key,
		w2w_p2p_event_fn fn, void *ud);
struct w2w_p2p *w2w_p2p_free(struct w2w_p2p *h);
int w2w_p2p_set_log(struct w2w_p2p *h, w2w_log_fn fn, void *ud, int max_level);
enum w2w_p2p_option {
	W2W_P2P_OPT_GOSSIPSUB = 1, W2W_P2P_OPT_ECHO, W2W_P2P_OPT_MSGID_JS, W2W_P2P_OPT_MAX_CONNS,
	W2W_P2P_OPT_MAX_STREAMS, W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS, W2W_P2P_OPT_KEEPALIVE_MS,
	W2W_P2P_OPT_DIAL_BACKOFF_MS,
};
int w2w_p2p_set_option(struct w2w_p2p *h, int option, int64_t value);
const char *w2w_p2p_peer_id(const struct w2w_p2p *h);
int w2w_p2p_listen(struct w2w_p2p *h, const char *multiaddr);
int w2w_p2p_listen_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);
int w2w_p2p_dial(struct w2w_p2p *h, const char *multiaddr);
int w2w_p2p_ping(struct w2w_p2p *h, const char *peer_id);
int w2w_p2p_hangup(struct w2w_p2p *h, const char *peer_id);
size_t w2w_p2p_connection_count(const struct w2w_p2p *h);
int w2w_p2p_observed_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);
int w2w_p2p_subscribe(struct w2w_p2p *h, const char *topic);
int w2w_p2p_unsubscribe(struct w2w_p2p *h, const char *topic);
int w2w_p2p_publish(struct w2w_p2p *h, const char *topic, const void *data, size_t len);
"""
ffi = FFI()
ffi.cdef(CDEF)

# The functions declared above (tests compare them with the library's exports).
DECLARED = sorted(set(re.findall(r"\b(w2w_\w+)\(", CDEF)) - {"w2w_log_fn", "w2w_node_event_fn", "w2w_p2p_event_fn"})

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))


def _candidates():
    env = os.environ.get("W2W_LIB")
    if env:
        return [env]
    # Fixed names, not "any build*": a sanitizer build cannot be loaded into a plain python.
    found = [os.path.join(_ROOT, d, "lib", "core", "libw2wesher.so") for d in ("build", "build-py", "build-test")]
    return [p for p in found if os.path.exists(p)] + ["libw2wesher.so.0"]


def _load():
    errors = []
    for path in _candidates():
        try:
            return ffi.dlopen(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise OSError("cannot load libw2wesher (set W2W_LIB to its path): " + "; ".join(errors))


lib, LIB_PATH = _load()


class Error(Exception):
    """A failing libw2wesher call. code: the negative return (a -errno or a
    W2W_E* code); errno: set for OS failures; strerror: w2w_strerror(code)."""

    def __init__(self, code, context=None):
        self.code = code
        self.errno = -code if -1000 < code < 0 else None
        self.strerror = ffi.string(lib.w2w_strerror(code)).decode()
        super().__init__(self._text(context))

    def _text(self, context):
        return f"{context}: {self.strerror}" if context else self.strerror


def check(r, message=None, exc=Error):
    """Raises exc for a negative return; returns r otherwise."""
    if r < 0:
        raise exc(r, message)
    return r


def text(p):
    """A C string (NULL -> None) as str."""
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


def strerror(code):
    return ffi.string(lib.w2w_strerror(code)).decode()
