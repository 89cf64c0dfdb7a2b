# SPDX-License-Identifier: MIT
"""The C side: cffi (ABI mode) declarations of the public headers
(include/w2wesher/*.h) and the loaded libw2wesher; the exception classes.

CDEF is written by hand (ABI mode needs no compiler at run time) and checked
against the headers by tests/test_abi.py: every function's C type, every
constant's value and every struct's size and offsets, the latter as the C
compiler lays them out (tests/abi/abi_probe.c).

The library is found, in order (see _candidates()):
  1. $W2W_LIB, the path of a libw2wesher.so (tests set it to the build's);
  2. $W2W_BUILD_DIR/lib/core/libw2wesher.so, a meson build directory;
  3. the installed library by its soname: next to this package when meson
     installed both (_version.LIBDIR), ctypes.util.find_library() (the
     ldconfig cache), pkg-config's libdir for libw2wesher, and last the bare
     soname (the dynamic loader's own search: LD_LIBRARY_PATH, ...).
A checkout's build tree is never used unless 1 or 2 asks for it.
"""
import ctypes.util
import errno as _errno
import os
import re
import subprocess
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from cffi import FFI

from . import _version

SONAME = "libw2wesher.so.0"

CDEF = r"""
/* error.h, common.h */
enum {
	W2W_EBASE = -1000, W2W_EPARSE = -1001, W2W_EPROTO = -1002, W2W_EAUTH = -1003,
	W2W_ELIMIT = -1004, W2W_ESTATE = -1005, W2W_ETIMEDOUT = -1006, W2W_ECLOSED = -1007, W2W_EPSK = -1008,
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
enum { W2W_LOOP_OPS_VERSION = 2 };
struct w2w_loop_ops {
	unsigned version;
	void *ud;
	void (*watch)(void *ud, int fd, int events);
	void (*set_deadline)(void *ud, int64_t when_us);
	void (*watch_fd)(void *ud, int fd, int events, void *fd_ud);
};
struct w2w_loop;
int w2w_loop_new(struct w2w_loop **ret, const struct w2w_loop_ops *ops);
struct w2w_loop *w2w_loop_free(struct w2w_loop *loop);
int w2w_loop_assign(struct w2w_loop *loop, int fd, void *fd_ud);
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
enum { W2W_CONFIG_GENERATE = 1, W2W_CONFIG_ENV = 2, W2W_CONFIG_ALLOW_OPEN_SECRETS = 4 };
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
const char *w2w_config_dns_domain(const struct w2w_config *cfg);
int w2w_config_set_dns_domain(struct w2w_config *cfg, const char *domain);
const char *w2w_config_admission_token(const struct w2w_config *cfg);
const char *w2w_config_metrics_addr(const struct w2w_config *cfg);
int w2w_config_set_metrics_addr(struct w2w_config *cfg, const char *addr);

/* admission.h */
enum { W2W_ADMISSION_KEY_TEXT_MAX = 45, W2W_ADMISSION_TEXT_MAX = 272 };
int w2w_admission_genkey(char *out, size_t cap);
int w2w_admission_pubkey(char *out, size_t cap, const char *key);
int w2w_admission_sign(char *out, size_t cap, const char *key, const char *peer_id,
		       const char *name, int64_t not_before, int64_t expires);
int w2w_admission_revoke(char *out, size_t cap, const char *key, const char *peer_id, int64_t when);
int w2w_admission_inspect(const char *text, int *kind, char *peer_out, size_t cap,
			  int64_t *not_before, int64_t *expires);

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
int w2w_node_set_psk(struct w2w_node *node, const struct w2w_config *cfg);
int w2w_node_set_admission_token(struct w2w_node *node, const char *token);
int w2w_node_admission_publish(struct w2w_node *node, const char *revocation);
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
const char *w2w_snapshot_path(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_via(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_public_endpoint(const struct w2w_snapshot *s, size_t i);
int w2w_snapshot_nat(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_metric_name(const struct w2w_snapshot *s, size_t i);
const char *w2w_snapshot_metric_help(const struct w2w_snapshot *s, size_t i);
int w2w_snapshot_metric_is_counter(const struct w2w_snapshot *s, size_t i);
uint64_t w2w_snapshot_metric_value(const struct w2w_snapshot *s, size_t i);

/* p2p.h */
struct w2w_p2p;
enum w2w_p2p_event_type {
	W2W_P2P_EV_LISTENING = 1, W2W_P2P_EV_CONNECTED, W2W_P2P_EV_DISCONNECTED, W2W_P2P_EV_DIAL_FAILED,
	W2W_P2P_EV_IDENTIFY, W2W_P2P_EV_PING, W2W_P2P_EV_PING_FAILED, W2W_P2P_EV_MESSAGE,
	W2W_P2P_EV_SUBSCRIBED, W2W_P2P_EV_UNSUBSCRIBED,
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
int w2w_p2p_set_psk(struct w2w_p2p *h, const char *swarm_key, const char *next_swarm_key);
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

/* ipam.h */
enum { W2W_IP_TEXT_MAX = 46 };
int w2w_ipam_candidate(char *out, size_t cap, const char *range, const char *peer_id, uint32_t i);
struct w2w_ipam_claims;
int w2w_ipam_claims_new(struct w2w_ipam_claims **ret);
struct w2w_ipam_claims *w2w_ipam_claims_free(struct w2w_ipam_claims *c);
int w2w_ipam_claims_add(struct w2w_ipam_claims *c, const char *peer_id, const char *address, uint64_t claimed_ms);
size_t w2w_ipam_claims_count(const struct w2w_ipam_claims *c);
int w2w_ipam_winner(const struct w2w_ipam_claims *c, const char *address);
int w2w_ipam_pick(char *out, size_t cap, uint64_t *claimed_ms, const char *range, const char *peer_id,
		  const struct w2w_ipam_claims *c, const char *current, uint64_t current_ms, uint64_t now_ms);

/* wg.h */
struct w2w_wg;
struct w2w_wg_config;
struct w2w_wg_peer;
struct w2w_wg_device;
#define W2W_WG_OPTS_VERSION 2
struct w2w_wg_opts {
	unsigned version;
	enum w2w_backend backend;
	int create;
	const char *wireguard_go;
	const char *uapi_dir;
	unsigned keep_roamed_secs;
	int keep_unlisted_peers;
	int cache_device;
};
int w2w_wg_new(struct w2w_wg **ret, struct w2w_loop *loop, const char *ifname, const struct w2w_wg_opts *opts);
struct w2w_wg *w2w_wg_free(struct w2w_wg *wg);
int w2w_wg_set_log(struct w2w_wg *wg, w2w_log_fn fn, void *ud, int max_level);
const char *w2w_wg_backend_name(const struct w2w_wg *wg);
const char *w2w_wg_ifname(const struct w2w_wg *wg);
int w2w_wg_userspace_pid(const struct w2w_wg *wg);
int w2w_wg_list(struct w2w_wg *wg, char **out);
typedef void (*w2w_wg_done_fn)(void *ud, int err);
typedef void (*w2w_wg_read_fn)(void *ud, int err, struct w2w_wg_device *dev);
int w2w_wg_sync(struct w2w_wg *wg, const struct w2w_wg_config *cfg, w2w_wg_done_fn cb, void *ud);
int w2w_wg_read(struct w2w_wg *wg, w2w_wg_read_fn cb, void *ud);
int w2w_wg_sync_run(struct w2w_wg *wg, const struct w2w_wg_config *cfg, int timeout_ms);
int w2w_wg_read_run(struct w2w_wg *wg, struct w2w_wg_device **out, int timeout_ms);
struct w2w_wg_sync_stats {
	uint32_t size;
	size_t added, removed, updated, unchanged;
	size_t endpoints_kept;
	int device_changed;
	int applied;
	uint64_t msgs_sent, msgs_recv, bytes_sent, bytes_recv;
};
int w2w_wg_last_sync_stats(const struct w2w_wg *wg, struct w2w_wg_sync_stats *out);
int w2w_wg_config_new(struct w2w_wg_config **ret);
struct w2w_wg_config *w2w_wg_config_free(struct w2w_wg_config *cfg);
int w2w_wg_config_parse(struct w2w_wg_config **ret, const char *text, size_t len, char *err, size_t errcap);
int w2w_wg_config_set_private_key(struct w2w_wg_config *cfg, const char *key);
int w2w_wg_config_set_listen_port(struct w2w_wg_config *cfg, uint16_t port);
int w2w_wg_config_set_fwmark(struct w2w_wg_config *cfg, uint32_t fwmark);
int w2w_wg_config_set_mtu(struct w2w_wg_config *cfg, unsigned mtu);
int w2w_wg_config_add_address(struct w2w_wg_config *cfg, const char *cidr);
int w2w_wg_config_add_peer(struct w2w_wg_config *cfg, const char *public_key, struct w2w_wg_peer **out);
struct w2w_wg_peer *w2w_wg_config_find_peer(struct w2w_wg_config *cfg, const char *public_key);
int w2w_wg_peer_set_preshared_key(struct w2w_wg_peer *peer, const char *psk);
int w2w_wg_peer_set_endpoint(struct w2w_wg_peer *peer, const char *endpoint);
int w2w_wg_peer_set_keepalive(struct w2w_wg_peer *peer, uint16_t seconds);
int w2w_wg_peer_add_allowed_ip(struct w2w_wg_peer *peer, const char *cidr);
struct w2w_wg_peer_info {
	uint32_t size;
	char public_key[45];
	int has_preshared_key;
	char endpoint[72];
	uint16_t persistent_keepalive;
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	size_t n_allowed_ips;
};
struct w2w_wg_device *w2w_wg_device_free(struct w2w_wg_device *dev);
const char *w2w_wg_device_name(const struct w2w_wg_device *dev);
int w2w_wg_device_public_key(const struct w2w_wg_device *dev, char *out, size_t cap);
int w2w_wg_device_private_key(const struct w2w_wg_device *dev, char *out, size_t cap);
uint16_t w2w_wg_device_listen_port(const struct w2w_wg_device *dev);
uint32_t w2w_wg_device_fwmark(const struct w2w_wg_device *dev);
size_t w2w_wg_device_peer_count(const struct w2w_wg_device *dev);
int w2w_wg_device_peer(const struct w2w_wg_device *dev, size_t i, struct w2w_wg_peer_info *out);
int w2w_wg_device_allowed_ip(const struct w2w_wg_device *dev, size_t i, size_t j, char *out, size_t cap);
int w2w_wg_device_showconf(const struct w2w_wg_device *dev, char **out, size_t *len);
"""
ffi = FFI()
ffi.cdef(CDEF)

# The functions declared above (tests compare them with the library's exports).
DECLARED = sorted(set(re.findall(r"\b(w2w_\w+)\(", CDEF)) - {
    "w2w_log_fn", "w2w_node_event_fn", "w2w_p2p_event_fn", "w2w_wg_done_fn", "w2w_wg_read_fn"})


def _pkg_config_libdir() -> Optional[str]:
    try:
        r = subprocess.run(["pkg-config", "--variable=libdir", "libw2wesher"], capture_output=True, text=True,
                           timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


def _candidates() -> List[str]:
    """Where the library is looked for, in order (see the module's docstring)."""
    env = os.environ.get("W2W_LIB")
    if env:
        return [env]
    build = os.environ.get("W2W_BUILD_DIR")
    if build:
        return [os.path.join(build, "lib", "core", "libw2wesher.so")]
    found: List[str] = []
    if _version.LIBDIR:
        found.append(os.path.join(_version.LIBDIR, SONAME))
    name = ctypes.util.find_library("w2wesher")
    if name:
        found.append(name)
    libdir = _pkg_config_libdir()
    if libdir:
        found.append(os.path.join(libdir, SONAME))
    found.append(SONAME)
    return list(dict.fromkeys(found))


def _load() -> Tuple[Any, str]:
    errors = []
    for path in _candidates():
        try:
            return ffi.dlopen(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("cannot load libw2wesher (install it, or set W2W_LIB to a libw2wesher.so or W2W_BUILD_DIR "
                      "to a meson build directory): " + "; ".join(errors))


lib: Any
LIB_PATH: str
lib, LIB_PATH = _load()


def _resolve_all() -> None:
    """Looks every declared name up once, now. cffi's ABI-mode library makes
    its attributes lazily under ffi._lock, a non-reentrant lock: a garbage
    collection that runs a finalizer (Config.__del__ -> lib.w2w_config_free)
    while another lookup holds the lock deadlocked the process. Resolved
    attributes are plain instance attributes: no lock. A function this
    library lacks (an older one) stays unresolved and raises AttributeError
    when used, as before."""
    for name in dir(lib):
        try:
            getattr(lib, name)
        except AttributeError:
            pass


_resolve_all()


def strerror(code: int) -> str:
    """w2w_strerror(code): a negative errno or a W2W_E* code in words."""
    return str(ffi.string(lib.w2w_strerror(code)).decode())


class W2wError(Exception):
    """A failing libw2wesher call: the base of every exception the package raises.

    code: the negative return (a -errno or a W2W_E* code); errno: the errno
    for OS failures, else None; strerror: w2w_strerror(code). The class says
    which kind: ParseError, ProtocolError, AuthError, LimitError, StateError,
    ProtocolTimeoutError, ClosedError, PskError for the W2W_E* codes, and an
    OSError subclass (W2wOSError; ConnectionRefusedError, FileNotFoundError, ...
    as Python maps that errno) for a -errno. Construct with error(code) to get
    the right class; W2wError(code) itself keeps the base class.
    """

    code: int
    errno: Optional[int]  # None for the W2W_E* codes (OSError subclasses: always set)
    strerror: str

    def __init__(self, code: int, context: Optional[str] = None) -> None:
        self.code = code
        self.errno = -code if -1000 < code < 0 else None
        self.strerror = strerror(code)
        self._message = self._text(context)
        Exception.__init__(self, self._message)

    def _text(self, context: Optional[str]) -> str:
        return f"{context}: {self.strerror}" if context else self.strerror

    def __str__(self) -> str:
        return self._message

    def __reduce__(self) -> Tuple[Any, ...]:
        return (error, (self.code, None))


Error = W2wError  # the name of earlier releases


class ParseError(W2wError, ValueError):
    """W2W_EPARSE: malformed input (configuration, key, multiaddr, address, message)."""


class ProtocolError(W2wError):
    """W2W_EPROTO: a peer violated a protocol."""


class AuthError(W2wError):
    """W2W_EAUTH: authentication, signature or peer-ID mismatch."""


class LimitError(W2wError):
    """W2W_ELIMIT: a protocol or resource limit was hit (also: the overlay range is full)."""


class StateError(W2wError):
    """W2W_ESTATE: not valid in the object's current state."""


class ProtocolTimeoutError(W2wError, TimeoutError):  # type: ignore[misc]  # errno: Optional here
    """W2W_ETIMEDOUT: a protocol deadline passed."""


class ClosedError(W2wError):
    """W2W_ECLOSED: the peer closed the connection or stream."""


class PskError(W2wError):
    """W2W_EPSK: the peer of a private network uses another swarm key."""


class W2wOSError(W2wError, OSError):  # type: ignore[misc]  # errno: Optional in the base
    """A -errno return: an OS call failed or an argument is wrong. Also an
    OSError (errno, strerror); the subclasses below are also the builtin
    OSError subclass of that errno (FileNotFoundError, ...)."""

    def __init__(self, code: int, context: Optional[str] = None) -> None:
        W2wError.__init__(self, code, context)
        # OSError's own slots, so that OSError's attributes read right.
        OSError.__init__(self, -code, self.strerror)
        self.errno = -code
        self.strerror = strerror(code)

    def __str__(self) -> str:
        return self._message


_BY_W2W: Dict[int, Type[W2wError]] = {
    -1001: ParseError, -1002: ProtocolError, -1003: AuthError, -1004: LimitError, -1005: StateError,
    -1006: ProtocolTimeoutError, -1007: ClosedError, -1008: PskError,
}

# errno -> (W2wOSError + the builtin class Python raises for it), made once.
_BUILTIN_OSERRORS: Dict[int, Type[OSError]] = {
    _errno.ECONNREFUSED: ConnectionRefusedError, _errno.ECONNRESET: ConnectionResetError,
    _errno.ECONNABORTED: ConnectionAbortedError, _errno.EPIPE: BrokenPipeError,
    _errno.ENOENT: FileNotFoundError, _errno.EEXIST: FileExistsError, _errno.EACCES: PermissionError,
    _errno.EPERM: PermissionError, _errno.ETIMEDOUT: TimeoutError, _errno.EINTR: InterruptedError,
    _errno.EAGAIN: BlockingIOError, _errno.EALREADY: BlockingIOError, _errno.EINPROGRESS: BlockingIOError,
    _errno.ECHILD: ChildProcessError, _errno.EISDIR: IsADirectoryError, _errno.ENOTDIR: NotADirectoryError,
    _errno.ESRCH: ProcessLookupError,
}
_OS_CLASSES: Dict[int, Type[W2wOSError]] = {}
for _e, _base in _BUILTIN_OSERRORS.items():
    _OS_CLASSES[_e] = type("W2w" + _base.__name__, (W2wOSError, _base),
                           {"__doc__": f"-{_errno.errorcode[_e]}: W2wOSError and {_base.__name__}.",
                            "__module__": __name__})


def error_class(code: int) -> Type[W2wError]:
    """The exception class of a negative return code."""
    if -1000 < code < 0:
        return _OS_CLASSES.get(-code, W2wOSError)
    return _BY_W2W.get(code, W2wError)


def error(code: int, context: Optional[str] = None, base: Optional[Type[W2wError]] = None) -> W2wError:
    """An exception for code, of its class; with base (ConfigError, ...), of a
    class that is both (made once per pair)."""
    cls = error_class(code)
    if base is not None and not issubclass(cls, base):
        cls = _combined(base, cls)
    return cls(code, context)


_COMBINED: Dict[Tuple[type, type], Type[W2wError]] = {}


def _combined(base: Type[W2wError], cls: Type[W2wError]) -> Type[W2wError]:
    key = (base, cls)
    if key not in _COMBINED:
        _COMBINED[key] = type(base.__name__, (base, cls), {"__module__": base.__module__,
                                                            "__doc__": base.__doc__})
    return _COMBINED[key]


def check(r: int, message: Optional[str] = None, exc: Optional[Type[W2wError]] = None) -> int:
    """Raises the exception of a negative return (of class exc too when
    given); returns r otherwise."""
    if r < 0:
        raise error(r, message, exc)
    return r


def text(p: Any) -> str:
    """A C string as str ("" for NULL)."""
    return "" if p == ffi.NULL else str(ffi.string(p).decode("utf-8", "replace"))


def text_or_none(p: Any) -> Optional[str]:
    """A C string as str, None for NULL."""
    return None if p == ffi.NULL else str(ffi.string(p).decode("utf-8", "replace"))
