/* SPDX-License-Identifier: MIT */
/*
 * A mesh node (docs/api.md): the whole of w2wesher for one cluster — the
 * libp2p host in the private network, the announcement topic, the peer
 * table, IPAM and the WireGuard reconcile — driven by a struct w2w_loop.
 *
 * Life cycle: w2w_node_new() -> w2w_node_start() -> ... -> w2w_node_stop()
 * (the interface, its address and its peers stay, so a restarted node
 * resumes seamlessly) or w2w_node_leave() (announces the leave, removes the
 * interface) -> W2W_EVENT_STOPPED -> w2w_node_free().
 *
 * Calls made from inside the event callback that would re-enter the node
 * return -EBUSY (w2w_node_snapshot() and the event getters are fine).
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

enum w2w_event_type {
	W2W_EVENT_LOG = 1,          /* a log line (level + message) */
	W2W_EVENT_LISTENING,        /* libp2p listener up (address) */
	W2W_EVENT_JOINED,           /* first peer table entry learned */
	W2W_EVENT_PEER_UP,          /* a node appeared (peer id, name, address) */
	W2W_EVENT_PEER_DOWN,        /* a node left or expired (peer id, name) */
	W2W_EVENT_ADDRESS_ASSIGNED, /* our overlay address was chosen or changed (address) */
	W2W_EVENT_KEY_ROTATED,      /* our WireGuard key changed */
	W2W_EVENT_WG_APPLIED,       /* the WireGuard device now matches the peer table */
	W2W_EVENT_ERROR,            /* something failed (error code + message); the node keeps running */
	W2W_EVENT_STOPPED,          /* stop or leave finished; the node may be freed */
};

struct w2w_event;
struct w2w_node;

typedef void (*w2w_event_fn)(void *ud, const struct w2w_event *ev);

/* Event getters; strings valid only during the callback, "" when not applicable. */
W2W_EXPORT enum w2w_event_type w2w_event_type(const struct w2w_event *ev);
W2W_EXPORT const char *w2w_event_type_name(enum w2w_event_type t);
W2W_EXPORT const char *w2w_event_peer_id(const struct w2w_event *ev);
W2W_EXPORT const char *w2w_event_name(const struct w2w_event *ev);
W2W_EXPORT const char *w2w_event_address(const struct w2w_event *ev);
W2W_EXPORT const char *w2w_event_message(const struct w2w_event *ev);
W2W_EXPORT int w2w_event_error(const struct w2w_event *ev);
W2W_EXPORT int w2w_event_log_level(const struct w2w_event *ev); /* 3 err .. 7 debug */

/*
 * Creates a node from a checked configuration holding every secret (see
 * w2w_config_load with W2W_CONFIG_GENERATE). The configuration is copied.
 * Nothing touches the network or the system before w2w_node_start().
 */
W2W_EXPORT int w2w_node_new(struct w2w_loop *loop, const struct w2w_config *cfg, w2w_event_fn fn, void *ud,
			    struct w2w_node **out);
/* Frees a stopped (or never started) node; NULL is fine. Returns NULL. */
W2W_EXPORT struct w2w_node *w2w_node_free(struct w2w_node *node);

/* Loads the state directory, sets up WireGuard, listens, dials the bootstrap peers. */
W2W_EXPORT int w2w_node_start(struct w2w_node *node);
/* Adds a bootstrap multiaddr at run time (/ip4/…/tcp/…/p2p/…) and dials it. */
W2W_EXPORT int w2w_node_join(struct w2w_node *node, const char *multiaddr);
/* Stops without leaving: closes connections, keeps interface, address and peers. */
W2W_EXPORT int w2w_node_stop(struct w2w_node *node);
/* Announces the leave, removes the interface, then stops. */
W2W_EXPORT int w2w_node_leave(struct w2w_node *node);

/* Snapshots: a copy of the node's view at the time of the call. */
struct w2w_snapshot;
W2W_EXPORT struct w2w_snapshot *w2w_node_snapshot(struct w2w_node *node);
W2W_EXPORT struct w2w_snapshot *w2w_snapshot_free(struct w2w_snapshot *s);

/* Self: i = W2W_SNAPSHOT_SELF; peers: 0 .. w2w_snapshot_peer_count()-1. */
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

#ifdef __cplusplus
}
#endif
#endif
