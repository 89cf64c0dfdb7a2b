/* SPDX-License-Identifier: MIT */
/*
 * The layout of the public structs and the value of the public constants as
 * the C compiler sees them, as JSON, for tests/test_abi.py: the Python
 * bindings' hand-written CDEF (w2wesher/_native.py) must agree with it, so a
 * header change that the CDEF misses fails a test instead of corrupting
 * memory. Add every struct and constant the CDEF declares here.
 */
#include <stddef.h>
#include <stdio.h>

#include <w2wesher/w2wesher.h>

#define FIELD(s, f) printf("%s\"%s.%s\": %zu", first ? "" : ", ", #s, #f, offsetof(struct s, f)), first = 0
#define SIZE(s) printf("%s\"%s\": %zu", first ? "" : ", ", #s, sizeof(struct s)), first = 0
#define CONST(c) printf("%s\"%s\": %lld", first ? "" : ", ", #c, (long long)(c)), first = 0

int main(void)
{
	int first = 1;

	printf("{\"sizeof\": {");
	SIZE(w2w_watch);
	SIZE(w2w_loop_ops);
	SIZE(w2w_wg_opts);
	SIZE(w2w_wg_sync_stats);
	SIZE(w2w_wg_peer_info);
	printf("},\n \"offsetof\": {");
	first = 1;
	FIELD(w2w_watch, fd);
	FIELD(w2w_watch, events);
	FIELD(w2w_loop_ops, version);
	FIELD(w2w_loop_ops, ud);
	FIELD(w2w_loop_ops, watch);
	FIELD(w2w_loop_ops, set_deadline);
	FIELD(w2w_loop_ops, watch_fd);
	FIELD(w2w_wg_opts, version);
	FIELD(w2w_wg_opts, backend);
	FIELD(w2w_wg_opts, create);
	FIELD(w2w_wg_opts, wireguard_go);
	FIELD(w2w_wg_opts, uapi_dir);
	FIELD(w2w_wg_opts, keep_roamed_secs);
	FIELD(w2w_wg_opts, keep_unlisted_peers);
	FIELD(w2w_wg_opts, cache_device);
	FIELD(w2w_wg_sync_stats, size);
	FIELD(w2w_wg_sync_stats, added);
	FIELD(w2w_wg_sync_stats, removed);
	FIELD(w2w_wg_sync_stats, updated);
	FIELD(w2w_wg_sync_stats, unchanged);
	FIELD(w2w_wg_sync_stats, endpoints_kept);
	FIELD(w2w_wg_sync_stats, device_changed);
	FIELD(w2w_wg_sync_stats, applied);
	FIELD(w2w_wg_sync_stats, msgs_sent);
	FIELD(w2w_wg_sync_stats, msgs_recv);
	FIELD(w2w_wg_sync_stats, bytes_sent);
	FIELD(w2w_wg_sync_stats, bytes_recv);
	FIELD(w2w_wg_peer_info, size);
	FIELD(w2w_wg_peer_info, public_key);
	FIELD(w2w_wg_peer_info, has_preshared_key);
	FIELD(w2w_wg_peer_info, endpoint);
	FIELD(w2w_wg_peer_info, persistent_keepalive);
	FIELD(w2w_wg_peer_info, last_handshake_sec);
	FIELD(w2w_wg_peer_info, last_handshake_nsec);
	FIELD(w2w_wg_peer_info, rx_bytes);
	FIELD(w2w_wg_peer_info, tx_bytes);
	FIELD(w2w_wg_peer_info, n_allowed_ips);
	printf("},\n \"const\": {");
	first = 1;
	/* error.h, log.h, common.h */
	CONST(W2W_EBASE);
	CONST(W2W_EPARSE);
	CONST(W2W_EPROTO);
	CONST(W2W_EAUTH);
	CONST(W2W_ELIMIT);
	CONST(W2W_ESTATE);
	CONST(W2W_ETIMEDOUT);
	CONST(W2W_ECLOSED);
	CONST(W2W_EPSK);
	CONST(W2W_ELAST);
	CONST(W2W_LOG_ERR);
	CONST(W2W_LOG_WARNING);
	CONST(W2W_LOG_NOTICE);
	CONST(W2W_LOG_INFO);
	CONST(W2W_LOG_DEBUG);
	CONST(W2W_WG_KEY_TEXT_MAX);
	CONST(W2W_PEER_ID_TEXT_MAX);
	CONST(W2W_BACKEND_AUTO);
	CONST(W2W_BACKEND_KERNEL);
	CONST(W2W_BACKEND_USERSPACE);
	/* loop.h */
	CONST(W2W_IO_READ);
	CONST(W2W_IO_WRITE);
	CONST(W2W_IO_ERROR);
	CONST(W2W_LOOP_OPS_VERSION);
	/* keys.h */
	CONST(W2W_SWARM_KEY_TEXT_MAX);
	CONST(W2W_IDENTITY_TEXT_MAX);
	/* config.h */
	CONST(W2W_CONFIG_GENERATE);
	CONST(W2W_CONFIG_ENV);
	CONST(W2W_CONFIG_ALLOW_OPEN_SECRETS);
	/* admission.h */
	CONST(W2W_ADMISSION_KEY_TEXT_MAX);
	CONST(W2W_ADMISSION_TEXT_MAX);
	/* node.h */
	CONST(W2W_NODE_EV_LISTENING);
	CONST(W2W_NODE_EV_JOINED);
	CONST(W2W_NODE_EV_PEER_UP);
	CONST(W2W_NODE_EV_PEER_DOWN);
	CONST(W2W_NODE_EV_ADDRESS_ASSIGNED);
	CONST(W2W_NODE_EV_KEY_ROTATED);
	CONST(W2W_NODE_EV_WG_APPLIED);
	CONST(W2W_NODE_EV_ERROR);
	CONST(W2W_NODE_EV_STOPPED);
	/* p2p.h */
	CONST(W2W_P2P_EV_LISTENING);
	CONST(W2W_P2P_EV_CONNECTED);
	CONST(W2W_P2P_EV_DISCONNECTED);
	CONST(W2W_P2P_EV_DIAL_FAILED);
	CONST(W2W_P2P_EV_IDENTIFY);
	CONST(W2W_P2P_EV_PING);
	CONST(W2W_P2P_EV_PING_FAILED);
	CONST(W2W_P2P_EV_MESSAGE);
	CONST(W2W_P2P_EV_SUBSCRIBED);
	CONST(W2W_P2P_EV_UNSUBSCRIBED);
	CONST(W2W_P2P_OPT_GOSSIPSUB);
	CONST(W2W_P2P_OPT_ECHO);
	CONST(W2W_P2P_OPT_MSGID_JS);
	CONST(W2W_P2P_OPT_MAX_CONNS);
	CONST(W2W_P2P_OPT_MAX_STREAMS);
	CONST(W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS);
	CONST(W2W_P2P_OPT_KEEPALIVE_MS);
	CONST(W2W_P2P_OPT_DIAL_BACKOFF_MS);
	/* wg.h, ipam.h */
	CONST(W2W_WG_OPTS_VERSION);
	CONST(W2W_IP_TEXT_MAX);
	printf("}}\n");
	return ferror(stdout) ? 1 : 0;
}
