/* SPDX-License-Identifier: MIT */
/*
 * The mesh node engine: every decision of a w2wesher node, sans-IO
 * (docs/mesh.md). Inputs are what happened — an announcement arrived, a
 * libp2p connection came up or went down, a peer observed our address, a
 * WireGuard device was applied, time passed — each with `now` (monotonic µs).
 * Outputs go through struct mn_ops: publish an announcement, dial a peer,
 * apply a desired WireGuard device, save the state file, report an event. The
 * engine owns no socket, file or clock (the wall clock, for announcement
 * sequence numbers and IPAM claim times, is an op too), so tests drive it on
 * a virtual clock (tests/unit/test_meshnode.c, tests/sim/sim_mesh.c) and
 * lib/core/node.c is only the glue to p2phost, wgsync and the state file.
 *
 * Timers are deadlines inside the engine: after any input the caller arms one
 * timer at mn_next_deadline() and calls mn_tick() when it fires. Work
 * triggered by an input is coalesced through short "soon" deadlines, so a
 * burst of inputs (a join, a partition healing) costs one publish, one
 * WireGuard diff and one state write.
 *
 * Ops may be called from inside any mn_* input; an op must not call back
 * into the engine (the glue defers such work to the loop).
 */
#ifndef W2W_MESH_MESHNODE_H
#define W2W_MESH_MESHNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "ipam.h"
#include "log.h"
#include "nodestate.h"
#include "peerid.h"
#include "peertable.h"
#include "wgdev.h"
#include "wgdiff.h"

#define MN_SOON_ANNOUNCE_US (150ull * 1000)   /* coalesces a burst of joins into one publish */
#define MN_SOON_RECONCILE_US (20ull * 1000)
#define MN_SOON_SUB_US (10ull * 1000)        /* a new connection's subscription arrived */
#define MN_SOON_SAVE_US (500ull * 1000)
/* A directed answer to a node we are not connected to yet waits this long
 * for the connection (the engine dials new nodes at once) before it falls
 * back to a flood. */
#define MN_DIRECT_WAIT_US (2000ull * 1000)
#define MN_DIRECT_RETRY_US (20ull * 1000)
/* gossipsub's default seen-TTL (lib/p2p/gossipsub.c): the tombstone of a
 * leaver is kept for this plus PeerExpiry (peertable.h). */
#define MN_SEEN_TTL_US (120ull * 1000 * 1000)
/* The address gate of a joiner (docs/mesh.md "Joining fast"): its new
 * address goes on the interface once it knows the mesh and every known node
 * has it configured, at the latest this long after start; */
#define MN_GATE_MAX_US (3000ull * 1000)
/* no new author for this long (the answers to our first announcement come
 * in a burst); */
#define MN_GATE_QUIET_US (100ull * 1000)
/* counts that agree settle the mesh only when every node we know claimed its
 * address at least this long ago (a join; in a cold start all claims are
 * fresh and a young bootstrap node's count is still growing) */
#define MN_GATE_SETTLED_US (2000ull * 1000)
/* re-checked at least this often while closed (each check is a reconcile,
 * whose apply re-reads the device: a handshake there settles a peer); the
 * inputs that may open it re-check it at once, and so does every apply. */
#define MN_GATE_RECHECK_US (50ull * 1000)
/* first re-check while only the handshake the other's promotion starts is awaited (a join's bootstrap pair) */
#define MN_GATE_HS_RECHECK_US (5ull * 1000)
#define MN_SEQ_RESERVE_US (3600ull * 1000 * 1000) /* announcement sequences reserved per state write */
#define MN_REDIAL_US (3ull * 1000 * 1000)     /* partitions heal within this (+ the host's backoff) */
#define MN_REDIAL_ALONE_US (300ull * 1000)
/* A newly announced node with a lower peer ID dials us; we dial it only if no
 * connection came within this (mn_on_message). */
#define MN_DIAL_YIELD_US (250ull * 1000)
/* Alone in the first MN_REDIAL_START_WINDOW_US after start (nodes started
 * together: the bootstrap node may not listen yet), redial this often. */
#define MN_REDIAL_START_US (50ull * 1000)
#define MN_REDIAL_START_WINDOW_US (1000ull * 1000)
#define MN_WARMUP_FIRST_US (1000ull * 1000)   /* first announcement after start */
#define MN_WARMUP_LAST_US (4000ull * 1000)    /* longest warm-up step */
/* PeerExpiry = 3 x AnnounceInterval + this: three missed announcements plus slack for gossip delay */
#define MN_EXPIRY_SLACK_MS 30000ull
#define MN_WG_RETRY_FIRST_US (1000ull * 1000) /* a failed WireGuard apply is retried after this, */
#define MN_WG_RETRY_MAX_US (30ull * 1000 * 1000) /* doubling up to this */
#define MN_MAX_PEERS 4096                     /* connection bookkeeping entries */
#define MN_MAX_OBSERVED 3
/* Liveness (docs/mesh.md "Liveness"): one probe per period, PeerExpiry / MN_PROBE_DIV
 * apart, answered within min(MN_PROBE_TIMEOUT_US, PeerExpiry / 4). A dead node is probed
 * within two periods, so it is reported within PeerExpiry / 3 + the timeout. */
#define MN_PROBE_DIV 6
#define MN_PROBE_MIN_US (100ull * 1000)
#define MN_PROBE_TIMEOUT_US (5ull * 1000 * 1000)
#define MN_MAX_REPORTS ANN_MAX_DOWN
/* Refreshes per RefreshInterval a node hears, whatever N (the interval grows with N above this). */
#define MN_REFRESH_NODES 10
/* NAT reflection (docs/nat.md): our device's endpoints are scanned this often
 * (x 40 above 64 peers); the glue re-reads the device every 250 ms while a
 * peer waits for its first handshake, else every second. */
#define MN_NAT_SCAN_US (250ull * 1000)
/* Admission mode: a connected peer's identify must show a valid token within this. */
#define MN_ADMIT_TIMEOUT_US (5ull * 1000 * 1000)

/* The PeerExpiry default for an AnnounceInterval (docs/configuration.md):
 * the Go-era bound, 3 x interval + 30 s. */
uint64_t mn_default_expiry_ms(uint64_t announce_ms);

/*
 * The announcement schedule: the delay from one scheduled announcement to the
 * next, given the previous delay (0 after the first). The first goes out
 * MN_WARMUP_FIRST_US after start, then the delays are 1, 2 and 4 s
 * (announcements 1, 2, 4 and 8 s after start: the backstop for announcements
 * lost at start; nodes started together meet through their first
 * announcements, forwarded by a relay that grafts them on subscription,
 * docs/mesh.md "Joining fast"), then `interval_us`; never more than interval_us.
 */
uint64_t mn_announce_step(uint64_t prev_us, uint64_t interval_us);

enum mn_event_type {
	MN_EV_JOINED = 1,     /* peer, name: the first node we heard of */
	MN_EV_PEER_UP,        /* peer, name, addr: a new node, routed (its device is applied) */
	MN_EV_PEER_DOWN,      /* peer, name, addr (may be NULL), message: "left", "unreachable", "expired",
			       * or (admission mode) "admission revoked", "admission token expired", ... */
	MN_EV_ADDRESS,        /* addr: our overlay address (at start and after every move) */
	MN_EV_WG_APPLIED,     /* diff: a device with changes (or the first) is applied */
	MN_EV_ERROR,          /* message, err */
	MN_EV_KEY_ROTATED,    /* wg_pub: our new WireGuard public key, now on the applied device */
};

struct mn_event {
	enum mn_event_type type;
	const struct peerid *peer; /* NULL: this node */
	const char *name;
	const struct ann_ip *addr;
	const char *message;
	int err;
	const struct wgdiff_stats *diff;
	const uint8_t *wg_pub; /* MN_EV_KEY_ROTATED: 32 bytes */
};

struct mn_ops {
	/* An encoded announcement for the topic; < 0 when it could not go out. */
	int (*publish)(void *ud, const uint8_t *data, size_t len);
	/* Dial a binary multiaddr ending in /p2p/<id>. */
	void (*dial)(void *ud, const uint8_t *ma, size_t len);
	/* Make the WireGuard device `desired` (ownership passes) with our overlay
	 * address `addr` (NULL: none) and prefix length plen. keep_unlisted: keep
	 * peers the device has but desired lacks (restart grace). */
	void (*apply)(void *ud, struct wgdevice *desired, const struct ann_claim *addr, uint8_t plen,
		      bool keep_unlisted);
	/* Persist st (address claim and known peer addresses). */
	void (*save)(void *ud, const struct nodestate *st);
	void (*event)(void *ud, const struct mn_event *ev);
	/* Has the actual device a handshake with, or an endpoint for, this peer key? */
	bool (*established)(void *ud, const uint8_t *wg_pub);
	/* Wall clock, Unix µs (announcement sequence numbers, IPAM claim times). */
	uint64_t (*wall_us)(void *ud);
	/* A liveness probe of a connected peer (one round trip on the existing
	 * connection); mn_on_alive follows when it is answered. < 0: not
	 * connected. Optional: without it, connected peers count as answering. */
	int (*probe)(void *ud, const struct peerid *peer);
	/* NAT traversal (docs/nat.md), optional: the actual device's endpoint for
	 * this peer key (family 0: none), the age of its last handshake in
	 * seconds (< 0: none) and its rx bytes (growing rx is proof of life for
	 * the liveness rule). False: not on the device. */
	bool (*wg_peer)(void *ud, const uint8_t *wg_pub, struct ann_endpoint *ep, int64_t *hs_age_s, uint64_t *rx);
	/* Relays (docs/nat.md), optional: forward WireGuard UDP between the
	 * members at public IPs ip_a and ip_b from two new UDP ports (*pa for a,
	 * *pb for b); *handle names it for relay_close. < 0: failed. */
	int (*relay_open)(void *ud, const struct ann_ip *ip_a, const struct ann_ip *ip_b, uint16_t *pa, uint16_t *pb,
			  void **handle);
	void (*relay_close)(void *ud, void *handle);
	/* Admission mode (optional): ok, the peer's connection showed a valid
	 * token (let gossipsub talk to it); !ok, close its connections and
	 * refuse it for a short while. */
	void (*admit)(void *ud, const struct peerid *peer, bool ok);
	/* Admission mode: persist the revocation set (admit_encode's bytes). */
	void (*save_revocations)(void *ud, const uint8_t *p, size_t n);
	/* WireGuard key rotation (docs/mesh.md "Key rotation", rotate.h), optional
	 * (without them mn_rotate is -ENOTSUP). prepare: generate a next key and
	 * persist {current, next} atomically before returning; its public key into
	 * next_pub. commit: persist {current = next} atomically, then make the
	 * buffer cfg.wg_priv points at hold the next key. < 0: nothing changed. */
	int (*rotate_prepare)(void *ud, uint8_t next_pub[32]);
	int (*rotate_commit)(void *ud);
	/* Has the actual device completed a handshake with this peer key? A
	 * handshake with a node's announced next key proves it switched. */
	bool (*handshook)(void *ud, const uint8_t *wg_pub);
	/* Directed announcements (optional; docs/mesh.md "Scale"): send an
	 * encoded announcement to one connected peer only (e.g. on that peer's
	 * own topic), not flooded. < 0: not sent yet (not connected, or the
	 * peer's subscription not seen yet): the engine retries, then floods.
	 * Without it every announcement is flooded. */
	int (*send_to)(void *ud, const struct peerid *peer, const uint8_t *data, size_t len);
	/* Bounded degree (docs/mesh.md "Scale", degree.h), optional: close our
	 * libp2p connections to this peer (a connection neither end wants in
	 * a large mesh, so that the connection limit leaves room for
	 * newcomers). mn_on_disconnected follows, possibly from inside the
	 * call (as with probe; the engine tolerates that here). */
	void (*hangup)(void *ud, const struct peerid *peer);
	/* Upgrade of a relayed pair (docs/nat.md "Upgrade"), optional: set the
	 * peer's endpoint to `direct` and kick a keepalive, then set it back to
	 * `back` as soon as the keepalive left; afterwards watch the device for
	 * a while and call mn_on_direct_seen when it shows the peer at `direct`
	 * (WireGuard roamed there on a direct packet). < 0: not queued. */
	int (*wg_probe)(void *ud, const uint8_t *wg_pub, const struct ann_endpoint *direct,
			const struct ann_endpoint *back);
	/* Relays, optional: the source port each member of a relay_open pair
	 * last sent from (0: none yet), announced so that a member can tell
	 * whether its NAT maps per destination (docs/nat.md "Upgrade"). */
	void (*relay_seen)(void *ud, void *handle, uint16_t *src_a, uint16_t *src_b);
};

/* Pointers must stay valid for the engine's life; strings are copied. */
struct mn_config {
	const struct peerid *self;
	const char *name;
	const char *ifname;
	const uint8_t *wg_priv; /* 32 bytes (secure memory of the caller) */
	const uint8_t *wg_pub;  /* 32 bytes */
	uint16_t wg_port;
	uint16_t keepalive_s;
	struct ipam_range range;
	bool has_static;
	struct ann_claim static_claim; /* a pinned address: claim time 0 */
	uint64_t announce_us; /* the periodic re-announcement (RefreshInterval) */
	uint64_t expiry_us;
	struct ann_ip listen_ip; /* family 0 or unspecified: every address */
	bool relay; /* [P2P] Relay: offer relaying when public (docs/nat.md) */
	unsigned relay_max_pairs; /* [P2P] RelayMaxPairs (0: RELAY_DEFAULT_PAIRS, at most RELAY_MAX_PAIRS) */
	uint16_t listen_tcp;
	uint64_t rotate_us; /* scheduled WireGuard key rotation (WireguardKeyRotation); 0: off */
	const struct wlog *log;
	/* Admission mode when n_adm_keys > 0: the operator public keys */
	const uint8_t (*adm_keys)[32];
	size_t n_adm_keys;
};

struct mesh_node;

int mn_new(struct mesh_node **ret, const struct mn_config *cfg, const struct mn_ops *ops, void *ud);
void mn_free(struct mesh_node *m);
/*
 * Per-pair WireGuard PSKs (pairpsk.h): our network PSKs, newest first (n <=
 * PAIRPSK_MAX_KEYS, copied into guarded memory); n = 0 turns them off. We
 * announce their key IDs and give every peer that announces key IDs too the
 * PresharedKey derived from the key both hold. Any time (before mn_start
 * too); announces and reconciles soon. 0, -EINVAL, -ENOMEM.
 */
int mn_set_psks(struct mesh_node *m, const uint8_t *const *keys, size_t n, uint64_t now);

/* The state to persist; before mn_start the caller merges the loaded file and
 * the bootstrap addresses into it. */
struct nodestate *mn_state(struct mesh_node *m);

/* Starts: picks our address (pinned, else the persisted claim, else our
 * first candidate), dials every known address and arms the schedule. */
void mn_start(struct mesh_node *m, uint64_t now);
/* Stops every timer (the caller saves with mn_save if it wants to). */
void mn_stop(struct mesh_node *m);
/* Publishes the LEAVING announcement and stops every timer; later inputs
 * update the table but arm nothing. */
int mn_leave(struct mesh_node *m, uint64_t now);
/* Forgets our claim (released with a leave), so a later start picks anew. */
void mn_release_claim(struct mesh_node *m);
/* Writes the state now through ops->save. */
void mn_save(struct mesh_node *m);

/* A peer address (text, /p2p/ required) to remember and, when running, dial. W2W_EPARSE. */
int mn_add_peer_addr(struct mesh_node *m, const char *multiaddr, bool dial, uint64_t now);

/* A verified message on the announcement topic by `author`. */
void mn_on_message(struct mesh_node *m, const struct peerid *author, const uint8_t *data, size_t len,
		   uint64_t now);
/* The peer's first libp2p connection is up; remote: its IP (NULL if not IP). */
void mn_on_connected(struct mesh_node *m, const struct peerid *peer, const struct ann_ip *remote, uint64_t now);
/* The connected peer's subscription to the announcement topic arrived: it can
 * take our announcement now (optional input; without it the announcement for
 * a new connection goes out MN_SOON_ANNOUNCE_US after mn_on_connected). */
void mn_on_subscribed(struct mesh_node *m, const struct peerid *peer, uint64_t now);
void mn_on_disconnected(struct mesh_node *m, const struct peerid *peer);
/* A peer observed us at ip (identify). */
void mn_on_observed(struct mesh_node *m, const struct ann_ip *ip, uint64_t now);
/* The host listens on TCP port `port` (the bound one: a configured /tcp/0
 * becomes a real port only here). Announcements carry it from now on. */
void mn_on_listening(struct mesh_node *m, uint16_t port, uint64_t now);
/* Applying the last desired device failed (the ERROR event is the caller's):
 * reconcile again after MN_WG_RETRY_FIRST_US, doubling to MN_WG_RETRY_MAX_US
 * until an apply succeeds. */
void mn_on_wg_failed(struct mesh_node *m, uint64_t now);
/* A read of the device found the interface gone: reconcile (re-create it) now. */
void mn_on_wg_lost(struct mesh_node *m, uint64_t now);
/* Proof that peer is alive: our probe of it was answered. */
void mn_on_alive(struct mesh_node *m, const struct peerid *peer, uint64_t now);
/* The probe period and timeout in use (µs). */
uint64_t mn_probe_period(const struct mesh_node *m);
uint64_t mn_probe_timeout(const struct mesh_node *m);
/* A desired device was applied. busy: another one is queued already. */
/* The glue's watch after a probe (mn_ops.wg_probe): the device shows the
 * peer with this key at the direct endpoint of the probe. */
void mn_on_direct_seen(struct mesh_node *m, const uint8_t *wg_pub, uint64_t now);
void mn_on_wg_applied(struct mesh_node *m, const struct wgdiff_stats *diff, bool busy, uint64_t now);

/*
 * Admission mode (docs/mesh.md "Admission"). mn_set_token: the token our
 * announcements carry (n 0: none). mn_add_revocation: a revocation blob
 * (control socket): 1 new (enforced, persisted, relayed), 0 known, < 0 not a
 * revocation signed by one of our keys, W2W_ESTATE in open mode.
 * mn_load_revocations: the persisted set, before mn_start. mn_on_identify:
 * the token the peer's identify answer carried (n 0: none).
 */
bool mn_admission(const struct mesh_node *m);
int mn_set_token(struct mesh_node *m, const uint8_t *tok, size_t n, uint64_t now);
int mn_add_revocation(struct mesh_node *m, const uint8_t *p, size_t n, uint64_t now);
int mn_load_revocations(struct mesh_node *m, const uint8_t *p, size_t n);
size_t mn_revocation_count(const struct mesh_node *m);
void mn_on_identify(struct mesh_node *m, const struct peerid *peer, const uint8_t *tok, size_t n, uint64_t now);

/* The earliest deadline (UINT64_MAX: none), and running what is due. */
uint64_t mn_next_deadline(const struct mesh_node *m);
void mn_tick(struct mesh_node *m, uint64_t now);

/* WireGuard key rotation (docs/mesh.md "Key rotation"): prepare a next key
 * (ops->rotate_prepare), announce it, switch after ROT_LEAD_US. 0, W2W_ESTATE
 * (not running), -EALREADY (a rotation is under way), -ENOTSUP (no ops), or
 * the prepare op's error. */
int mn_rotate(struct mesh_node *m, uint64_t now);
/* After mn_start: a next key persisted before a restart (its public key) is
 * announced and switched to, as if mn_rotate had just prepared it. */
void mn_rotate_resume(struct mesh_node *m, const uint8_t next_pub[32], uint64_t now);
/* Our announced WireGuard public key (32 bytes; changes with a rotation). */
const uint8_t *mn_wg_pub(const struct mesh_node *m);
/* A rotation is under way (its next key is announced). */
bool mn_rotating(const struct mesh_node *m);

/* For snapshots. */
const struct peertable *mn_table(const struct mesh_node *m);
const struct ann_claim *mn_claim(const struct mesh_node *m); /* NULL: none */
bool mn_connected(const struct mesh_node *m, const struct peerid *peer);
size_t mn_connected_count(const struct mesh_node *m);
const struct ann_ip *mn_observed(const struct mesh_node *m, size_t *n);
bool mn_wg_applied_once(const struct mesh_node *m);
/* When we last had proof of our own that peer is alive (probe answered,
 * connection up); 0: never. */
uint64_t mn_last_alive(const struct mesh_node *m, const struct peerid *peer);
/* NAT traversal state (docs/nat.md): are we behind a NAT, our public
 * WireGuard endpoint (NULL: not learned), does it look symmetric. */
bool mn_nat_behind(const struct mesh_node *m);
const struct ann_endpoint *mn_nat_wep(const struct mesh_node *m);
bool mn_nat_symmetric(const struct mesh_node *m);
/* The last NAT punch towards peer (NULL: none). */
const struct ann_endpoint *mn_punched(const struct mesh_node *m, const struct peerid *peer);
/* The member relaying our WireGuard traffic to peer (NULL: none). */
const struct peerid *mn_relayed_by(const struct mesh_node *m, const struct peerid *peer);
/* Pairs this node relays now. */
size_t mn_relay_count(const struct mesh_node *m);

#endif
