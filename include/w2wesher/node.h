/* SPDX-License-Identifier: MIT */
/*
 * A mesh node (docs/api.md): the whole of w2wesher for one cluster — the
 * libp2p host in the private network, the announcement topic, the peer
 * table, IPAM and the WireGuard reconcile — driven by a struct w2w_loop.
 *
 * Life cycle: w2w_node_new() -> w2w_node_start() -> ... -> w2w_node_stop()
 * (the interface, its address and its peers stay, so a restarted node
 * resumes seamlessly) or w2w_node_leave() (announces the leave, removes the
 * interface) -> W2W_NODE_EV_STOPPED -> w2w_node_free().
 *
 * Events go to the callback given to w2w_node_new(). They are delivered from
 * inside w2w_loop_process() only, never from inside the w2w_node_* call that
 * caused them (a STOPPED after w2w_node_stop() comes from the loop). From
 * inside the event callback, w2w_node_snapshot() and the event getters work;
 * the calls that change the node (start, join, stop, leave, set_log) return
 * -EBUSY, and so does w2w_loop_process().
 *
 * Log lines go to the sink of w2w_node_set_log(), which may run from inside
 * any w2w_node_* call or w2w_loop_process(); every library call made from
 * inside it returns -EBUSY (docs/api.md, "Logging").
 */
#ifndef W2WESHER_NODE_H
#define W2WESHER_NODE_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/config.h>
#include <w2wesher/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/common.h>
#include <w2wesher/export.h>

enum w2w_node_event_type {
	W2W_NODE_EV_LISTENING = 1,      /* libp2p listener up (address) */
	W2W_NODE_EV_JOINED,             /* first peer table entry learned (peer id, name) */
	W2W_NODE_EV_PEER_UP,            /* a node appeared (peer id, name, address) */
	W2W_NODE_EV_PEER_DOWN,          /* a node left, was reported unreachable or expired (peer id, name; message "left", "unreachable" or "expired") */
	W2W_NODE_EV_ADDRESS_ASSIGNED,   /* our overlay address was chosen or changed (address) */
	W2W_NODE_EV_KEY_ROTATED,        /* our WireGuard key changed: the device holds the new one (peer id, name; message: the new public key, base64) */
	W2W_NODE_EV_WG_APPLIED,         /* the WireGuard device now matches the peer table (message) */
	W2W_NODE_EV_ERROR,              /* something failed (error, message); the node keeps running */
	W2W_NODE_EV_STOPPED,            /* stop or leave finished; the node may be freed */
};

struct w2w_node_event;
struct w2w_node;

typedef void (*w2w_node_event_fn)(void *ud, const struct w2w_node_event *ev);

/* Event getters. Strings are valid only during the callback; "" when the
 * event type has no such field. w2w_node_event_error(): 0 or a negative code. */
W2W_EXPORT enum w2w_node_event_type w2w_node_event_type(const struct w2w_node_event *ev);
/* "listening", "peer-up", ...; "unknown" for a value this library does not know. Static. */
W2W_EXPORT const char *w2w_node_event_type_name(enum w2w_node_event_type t);
W2W_EXPORT const char *w2w_node_event_peer_id(const struct w2w_node_event *ev);
W2W_EXPORT const char *w2w_node_event_name(const struct w2w_node_event *ev);
W2W_EXPORT const char *w2w_node_event_address(const struct w2w_node_event *ev);
W2W_EXPORT const char *w2w_node_event_message(const struct w2w_node_event *ev);
W2W_EXPORT int w2w_node_event_error(const struct w2w_node_event *ev);

/*
 * Creates a node into *ret from a checked configuration holding every secret
 * (see w2w_config_load with W2W_CONFIG_GENERATE). The configuration is
 * copied; fn (may be NULL) receives the events. Nothing touches the network
 * or the system before w2w_node_start(). Returns 0, -EINVAL (NULL ret, loop
 * or cfg), W2W_ESTATE (a secret is missing), W2W_EPARSE (unusable key),
 * -ENOMEM. *ret is written only on success.
 */
W2W_EXPORT int w2w_node_new(struct w2w_node **ret, struct w2w_loop *loop, const struct w2w_config *cfg,
			    w2w_node_event_fn fn, void *ud);
/* Frees a node in any state (a running one is stopped without STOPPED and
 * without leaving); NULL is fine. Not from inside its callbacks. Returns NULL. */
W2W_EXPORT struct w2w_node *w2w_node_free(struct w2w_node *node);

/*
 * Sets the log sink (fn NULL: logs are dropped, the default). Messages with
 * level > max_level (W2W_LOG_*) are not even formatted; hosts usually pass
 * w2w_config_log_level(). The sink also receives the node's libp2p host and
 * WireGuard messages. Returns 0, or -EBUSY from inside a library callback.
 */
W2W_EXPORT int w2w_node_set_log(struct w2w_node *node, w2w_log_fn fn, void *ud, int max_level);

/*
 * Creates the state directory and loads it, listens, dials the bootstrap
 * peers; LISTENING and the rest follow from the loop, and so does the
 * WireGuard setup (a failure there is a W2W_NODE_EV_ERROR event). Returns 0,
 * -EBUSY (inside a callback), W2W_ESTATE (already started or stopped: a node
 * starts once), -errno of mkdir (state directory), or what binding the
 * listen address returns (W2W_EPARSE, -EADDRINUSE, ...) or w2w_p2p_new()
 * returns (-ENOMEM). After a failure nothing is left behind and the call may
 * be repeated.
 */
W2W_EXPORT int w2w_node_start(struct w2w_node *node);
/*
 * Adds a bootstrap multiaddr (/ip4/…/tcp/…/p2p/<id>) and dials it when
 * running. Returns 0, -EINVAL (NULL), -EBUSY, W2W_EPARSE (not a multiaddr
 * naming its peer), W2W_ESTATE (stopping or stopped).
 */
W2W_EXPORT int w2w_node_join(struct w2w_node *node, const char *multiaddr);
/*
 * Network PSK rotation without restart (docs/operations.md): takes [P2P]
 * PSK/PSKFile and NextPSKFile from cfg (loaded, e.g. on SIGHUP) and makes
 * them the node's keys. With a next PSK the node accepts both keys and dials
 * with the next one first; connections that use a key it no longer holds are
 * closed. The keys stay inside the library (never as text in the caller).
 * Returns 0, -EINVAL (NULL), -EBUSY (inside a callback), W2W_ESTATE (cfg
 * holds no PSK), -ENOMEM; on failure the node keeps its keys.
 */
W2W_EXPORT int w2w_node_set_psk(struct w2w_node *node, const struct w2w_config *cfg);
/*
 * Stops without leaving: closes connections, keeps the interface, its
 * address and peers; STOPPED follows. Returns 0, -EBUSY, W2W_ESTATE (already
 * stopping or stopped).
 */
W2W_EXPORT int w2w_node_stop(struct w2w_node *node);
/*
 * Announces the leave, waits briefly for it to spread, removes the interface;
 * STOPPED follows. Returns 0, -EBUSY, W2W_ESTATE (not running).
 */
W2W_EXPORT int w2w_node_leave(struct w2w_node *node);
/*
 * Rotates the node's WireGuard key without losing traffic (docs/mesh.md "Key
 * rotation"): generates a new key, persists it atomically in the state
 * directory (StateDir/wgkey, 0600) before using it, announces it, and after a
 * short lead time (2 s) switches the device to it; W2W_NODE_EV_KEY_ROTATED
 * follows with the new public key. The libp2p identity does not change.
 * Returns 0 (started), -EINVAL (NULL), -EBUSY (inside a callback),
 * W2W_ESTATE (not running, or no StateDir), -EALREADY (a rotation is under
 * way), or the error writing the key file.
 */
W2W_EXPORT int w2w_node_rotate_wg_key(struct w2w_node *node);

/*
 * Admission (docs/mesh.md "Admission"). w2w_node_set_admission_token: the
 * token (base64, as `w2wesher admission sign` prints it; NULL or "": none)
 * this node presents from now on, without a restart (a daemon calls it on
 * reload). Returns 0, -EINVAL, -EBUSY, W2W_EPARSE (not a token).
 * w2w_node_admission_publish: a revocation (base64, `w2wesher admission
 * revoke`) to enforce here and gossip to the mesh; persisted in the state
 * directory. Returns 1 (new), 0 (known already), -EINVAL, -EBUSY,
 * W2W_ESTATE (not running, or not in admission mode), W2W_EPARSE (not a
 * revocation), W2W_EAUTH (not signed by one of our AdmissionKeys).
 */
W2W_EXPORT int w2w_node_set_admission_token(struct w2w_node *node, const char *token);
W2W_EXPORT int w2w_node_admission_publish(struct w2w_node *node, const char *revocation);
/* Snapshots: a copy of the node's view at the time of the call; NULL when out
 * of memory. Free with w2w_snapshot_free() (accepts NULL, returns NULL). */
struct w2w_snapshot;
W2W_EXPORT struct w2w_snapshot *w2w_node_snapshot(struct w2w_node *node);
W2W_EXPORT struct w2w_snapshot *w2w_snapshot_free(struct w2w_snapshot *s);

/* Self: i = W2W_SNAPSHOT_SELF; peers: 0 .. w2w_snapshot_peer_count()-1.
 * Strings are owned by the snapshot. An index past the end gives NULL from the
 * string getters and 0 from the numeric ones. */
#define W2W_SNAPSHOT_SELF ((size_t)-1)
W2W_EXPORT size_t w2w_snapshot_peer_count(const struct w2w_snapshot *s);
W2W_EXPORT const char *w2w_snapshot_name(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT const char *w2w_snapshot_peer_id(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT const char *w2w_snapshot_address(const struct w2w_snapshot *s, size_t i);  /* overlay IP */
W2W_EXPORT const char *w2w_snapshot_endpoint(const struct w2w_snapshot *s, size_t i); /* "ip:port" or "" */
W2W_EXPORT const char *w2w_snapshot_wg_public_key(const struct w2w_snapshot *s, size_t i);
/* Unix seconds of the last WireGuard handshake (0 = never). */
W2W_EXPORT int64_t w2w_snapshot_last_handshake(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT uint64_t w2w_snapshot_rx_bytes(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT uint64_t w2w_snapshot_tx_bytes(const struct w2w_snapshot *s, size_t i);
/* 1 when a libp2p connection to the node is up. */
W2W_EXPORT int w2w_snapshot_connected(const struct w2w_snapshot *s, size_t i);
/* The multiaddrs another node can use to join through this one (self only). */
W2W_EXPORT size_t w2w_snapshot_join_addr_count(const struct w2w_snapshot *s);
W2W_EXPORT const char *w2w_snapshot_join_addr(const struct w2w_snapshot *s, size_t i);
/* NAT traversal (docs/nat.md). The WireGuard path to a peer: "direct" (a
 * session, straight to its endpoint), "punching" (both behind NATs, our punch
 * sent, no session yet), "relayed" (through the member w2w_snapshot_via
 * names) or "none"; self: "". */
W2W_EXPORT const char *w2w_snapshot_path(const struct w2w_snapshot *s, size_t i);
/* The name of the member relaying the path ("" when direct). */
W2W_EXPORT const char *w2w_snapshot_via(const struct w2w_snapshot *s, size_t i);
/* The public WireGuard endpoint learned by reflection ("ip:port" or ""): ours
 * (self), or the one a peer announces. */
W2W_EXPORT const char *w2w_snapshot_public_endpoint(const struct w2w_snapshot *s, size_t i);
/* 1 when the node is behind a NAT (self: as we detected it; a peer: as it
 * announces), 2 when ours looks symmetric (self only), else 0. */
W2W_EXPORT int w2w_snapshot_nat(const struct w2w_snapshot *s, size_t i);

/*
 * Metrics (docs/operations.md "Metrics"): counters since w2w_node_new() and
 * gauges, as of the snapshot. Index i = 0, 1, ... until the name getter
 * returns NULL (later versions append). Names and help texts are static and
 * follow the Prometheus conventions ("w2wesher_announcements_received_total");
 * is_counter: 1 for a counter (only grows), 0 for a gauge. Per-peer values
 * (handshake, rx/tx bytes) are the peer getters above.
 */
W2W_EXPORT const char *w2w_snapshot_metric_name(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT const char *w2w_snapshot_metric_help(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT int w2w_snapshot_metric_is_counter(const struct w2w_snapshot *s, size_t i);
W2W_EXPORT uint64_t w2w_snapshot_metric_value(const struct w2w_snapshot *s, size_t i);

#ifdef __cplusplus
}
#endif
#endif
