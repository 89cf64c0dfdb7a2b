/* SPDX-License-Identifier: MIT */
/*
 * Several mesh node engines (lib/mesh/meshnode.h) on one virtual clock, with
 * an in-memory world instead of I/O: announcements reach every node of the
 * publisher's connected component (gossipsub's flood of our own messages,
 * idealised) after MH_LAT_US; a dial connects two nodes of one partition after
 * MH_DIAL_US; a desired WireGuard device is diffed (mesh/wgdiff.h) against the
 * node's device model, applied, and reported back after MH_APPLY_US; a node
 * whose peer configured it with an endpoint counts as having had the
 * handshake; a probe of a connected running node is answered after a round
 * trip. Used by tests/unit/test_meshnode.c and tests/sim/sim_mesh.c.
 */
#ifndef W2W_TESTS_MESH_HARNESS_H
#define W2W_TESTS_MESH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "meshnode.h"

#define MH_MAX 32
#define MH_MAX_KEYS 64 /* keys one node may have over a test (rotation) */
#define MH_LAT_US 5000ull
#define MH_DIAL_US 1000ull
#define MH_APPLY_US 2000ull
#define MH_SEC 1000000ull
#define MH_WALL0_US 1700000000000000ull /* the wall clock at virtual time 0 */

struct mh_world;

struct mh_node {
	struct mh_world *w;
	int idx;
	bool up;
	int part; /* nodes hear each other only within one partition */
	struct peerid id;
	uint8_t wg_priv[32], wg_pub[32];
	struct mesh_node *m;
	struct wgdevice *actual; /* the interface: survives a stop, not a leave */
	struct buf saved;        /* the state file (nodestate encoding) */
	bool connected[MH_MAX];
	bool has_static;
	struct ann_claim static_claim;
	int64_t wall_skew_us; /* added to this node's wall clock (a clock stepped back: negative) */
	/* each apply that adds peers completes while a later one, which changes
	 * nothing, is queued (busy), as wgsync reports when reconciles come
	 * faster than applies */
	bool busy_applies;
	/* what the node reported */
	size_t events[MN_EV_KEY_ROTATED + 1];
	size_t publishes, leaving_publishes, applies, dials, probes;
	size_t dialed[MH_MAX]; /* dials of node j's addresses */
	size_t directs;     /* directed announcements sent (w->directed) */
	uint64_t started_at;
	bool refuse_direct; /* a directed announcement to this node cannot be sent (an older node) */
	size_t ups_unrouted; /* MN_EV_PEER_UP before the device routed the peer */
	bool has_addr;
	struct ann_ip addr;
	uint64_t addr_at; /* first apply that put an address on the interface (0: none yet) */
	bool last_keep_unlisted;
	/* admission mode (w->adm_keys): the token this node presents on every
	 * connection (as identify carries it) and in its announcements; what the
	 * engine decided about each peer node; the revocation set it persisted */
	uint8_t tok[ANN_BLOB_MAX];
	size_t tok_len;
	size_t admitted[MH_MAX], refused[MH_MAX];
	struct buf revoked;
	struct wgdevice *last_desired; /* the last desired device */
	/* per peer node j, from the desired devices: held back entirely (no
	 * allowed IPs), held without an endpoint, first time it was routed */
	bool held_all[MH_MAX], held_endpoint[MH_MAX];
	uint64_t routed_at[MH_MAX]; /* 0: never */
	/* WireGuard's view of the first handshake, per peer node j: the apply
	 * that gave j an endpoint while no handshake was there (this node
	 * initiated); whether that peer had been routed without an endpoint
	 * before (an application packet would have attempted a handshake, and the
	 * 5 s rate limit would suppress this one) and was not re-created */
	uint64_t initiated_at[MH_MAX]; /* 0: never */
	bool rate_limited[MH_MAX];
	size_t recreated[MH_MAX];
	/* re-creates of j while both addresses were on: what an application here
	 * had staged for j was dropped (the loss the address gate prevents) */
	size_t recreated_late[MH_MAX];
	/* key rotation (docs/mesh.md "Key rotation"): every key the node had or
	 * announced as next; the key file; messages to node j dropped (drop_to);
	 * switches while a peer that knows us lacked the next key on its device */
	uint8_t keys[MH_MAX_KEYS][32];
	size_t n_keys;
	uint8_t next_priv[32], next_pub[32];
	bool file_has_next;
	bool persist_fails;
	bool drop_to[MH_MAX];
	size_t rot_unprepared;
	uint64_t rotate_us; /* mn_config.rotate_us at the next mh_start */
};

struct mh_ev;

struct mh_world {
	uint64_t now, seq;
	struct ipam_range range;
	uint64_t announce_us, expiry_us;
	size_t n;
	struct mh_node nodes[MH_MAX];
	struct mh_ev *q;
	size_t nq, capq;
	size_t delivered;
	/* optional: each announcement is delayed by a further 0..jitter_us
	 * (seeded, so runs repeat), which reorders them */
	uint64_t jitter_us;
	/* optional: messages from node i to node j take lat_extra_us[i][j] more
	 * (a slow path, or a peer that reads its messages late) */
	uint64_t lat_extra_us[MH_MAX][MH_MAX];
	uint32_t rng;
	/* admission mode for nodes started from now on: the operator keys */
	const uint8_t (*adm_keys)[32];
	size_t n_adm_keys;
	/* nodes started from now on get mn_ops.send_to (directed announcements,
	 * docs/mesh.md "Scale"): delivered to the peer alone when connected and
	 * the peer does not refuse_direct, else -EAGAIN */
	bool directed;
	/* connections report the peer's subscription at once (mn_on_subscribed,
	 * as the daemon's host does when gossipsub's hello arrives) */
	bool subscriptions;
};

/* n nodes (not started) in range ("10.42.0.0/16"); node i has underlay IP
 * 10.0.0.<i+1>, peer ID and WireGuard key from seed i. */
void mh_init(struct mh_world *w, size_t n, const char *range, uint64_t announce_us);
void mh_free(struct mh_world *w);
/* Starts (or restarts) node i with its saved state; bootstrap: a node index to
 * know at start, or -1. */
void mh_start(struct mh_world *w, int i, int bootstrap);
/* Stops node i as w2w_node_stop does (state saved, interface kept). */
void mh_stop(struct mh_world *w, int i);
/* w2w_node_leave: the LEAVING announcement, then stop and remove the interface. */
void mh_leave(struct mh_world *w, int i);
/* Node i dies silently (power cut): it stops answering anything, and its
 * connections stay up, as TCP does until something is sent. */
void mh_silence(struct mh_world *w, int i);
/* Moves node i to partition p: its connections to other partitions drop. */
void mh_partition(struct mh_world *w, int i, int p);
/* Runs the world until virtual time `until` (bounded in steps). */
void mh_run(struct mh_world *w, uint64_t until);
/* Converged: every running node lists every other running node of its
 * partition, addresses are distinct across running nodes, and every running
 * node's device routes each such peer's address to it. NULL, or what is wrong. */
const char *mh_converged(struct mh_world *w, char *why, size_t cap);

/* Node i's /ip4/10.0.0.<i+1>/tcp/4001/p2p/<id>. */
void mh_addr_text(const struct mh_world *w, int i, char *out, size_t cap);
/* Pairs where both sides initiated (crossed handshakes: 5 s each in
 * WireGuard), and initiations a rate limit would have suppressed. */
size_t mh_crossed(const struct mh_world *w);
size_t mh_rate_limited(const struct mh_world *w);
size_t mh_recreated_late(const struct mh_world *w);
/* The peer of node j on node i's device (NULL if absent). */
const struct wgpeer *mh_peer_on(const struct mh_world *w, int i, int j);

/* Test data: an IPv4 or IPv6 address from text (dies on bad text), and a
 * minimal announcement (seq 1, WireGuard key of 32 x `key`, port 51820). */
void mh_ip(struct ann_ip *ip, const char *s);
void mh_ann(struct announce *a, uint8_t key);

#endif
