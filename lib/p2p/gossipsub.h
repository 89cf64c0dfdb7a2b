/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub v1.1 router, sans-IO (libp2p specs pubsub/gossipsub/gossipsub-v1.0.md,
 * gossipsub-v1.1.md). The host (the swarm) owns connections and streams:
 *
 *  - after identify shows a peer speaks /meshsub/1.1.0 or 1.0.0 and our outbound
 *    stream is negotiated: gs_add_peer(); on disconnect: gs_remove_peer();
 *  - bytes read from the stream the *peer* opened: gs_on_bytes() (LP reassembly
 *    is done here);
 *  - bytes to write on the stream *we* opened: gs_take_output() (on_output tells
 *    when a peer has some); never write on the peer's stream (spec pubsub/README.md);
 *  - timers: gs_heartbeat() at gs_next_deadline().
 *
 * Peers are named by their peer ID bytes (the multihash, as in a Message's
 * `from`). Time is `now_us` (monotonic microseconds); randomness comes from the
 * struct rng given to gs_new. Every public call may invoke callbacks; a call
 * made from inside a callback returns -EBUSY (nothing is done).
 */
#ifndef W2W_P2P_GOSSIPSUB_H
#define W2W_P2P_GOSSIPSUB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct ident;
struct rng;
struct wlog;
struct gs;

#define GS_PROTOCOL_V11 "/meshsub/1.1.0"
#define GS_PROTOCOL_V10 "/meshsub/1.0.0"

enum {
	GS_PEERID_MAX = 64, /* longest peer ID (multihash) accepted */
	GS_TOPIC_MAX = 256, /* longest topic name accepted */
	GS_MSGID_MAX = 128, /* longest message ID accepted in IHAVE/IWANT */
};

enum gs_proto {
	GS_MESHSUB_10 = 10, /* no PRUNE backoff / PX */
	GS_MESHSUB_11 = 11,
};

/* Message-ID function (reference: go DefaultMsgIdFn vs js msgIdFnStrictSign). */
enum gs_msgid_fn {
	GS_MSGID_FROM_SEQNO = 0, /* go: from (peer ID bytes) || seqno */
	GS_MSGID_KEY_SEQNO = 1,  /* js >= 14: author public-key protobuf || seqno */
};

/* A delivered message. Pointers are valid during the callback only. */
struct gs_message {
	const char *topic; /* NUL-terminated */
	size_t topic_len;
	const uint8_t *data;
	size_t len;
	const uint8_t *from; /* the AUTHOR's peer ID bytes (verified by signature) */
	size_t from_len;
	uint64_t seqno;
	const uint8_t *msgid;
	size_t msgid_len;
	const uint8_t *via; /* the peer that forwarded it to us */
	size_t via_len;
};

/* One peer offered by PX in a PRUNE (gossipsub-v1.1.md "Peer Exchange"). */
struct gs_px_peer {
	const uint8_t *peer_id;
	size_t peer_id_len;
	const uint8_t *record; /* signed peer record envelope, or NULL */
	size_t record_len;
};

enum gs_drop_reason {
	GS_DROP_PROTOCOL = 1, /* malformed or oversized RPC */
	GS_DROP_ABUSE = 2,    /* exceeded a limit (topics, flapping, floods) */
};

/* An application validator's verdict (go-libp2p-pubsub ValidationResult). */
enum gs_verdict {
	GS_ACCEPT = 0, /* deliver, cache, forward */
	GS_REJECT = 1, /* invalid: counted against the forwarding peer, not cached, not forwarded */
	GS_IGNORE = 2, /* not wanted, but no fault of the forwarder: dropped silently */
};

struct gs_callbacks {
	void *ud;
	/* A message for a topic we subscribe to, first time seen, signature valid. */
	void (*on_message)(void *ud, const struct gs_message *m);
	/* PX candidates from a PRUNE sent by `from`; the host may dial them. */
	void (*on_px)(void *ud, const char *topic, const uint8_t *from, size_t from_len,
	              const struct gs_px_peer *peers, size_t n);
	/* `peer` has output queued (gs_take_output). Optional. */
	void (*on_output)(void *ud, const uint8_t *peer, size_t peer_len);
	/* The router gave up on `peer`: close its connection. It is already removed.
	 * (A broken inbound stream is not a drop: gs_on_bytes returns GS_STREAM_RESET.) */
	void (*on_drop)(void *ud, const uint8_t *peer, size_t peer_len, enum gs_drop_reason why);
	/* Application validation of a message for a subscribed topic, first time seen,
	 * signature already verified, before it is delivered, cached (so offered by
	 * gossip) and forwarded: junk stops at the first hop (go-libp2p-pubsub
	 * validation pipeline, gossipsub-v1.1.md "Extended Validators"). Optional (NULL:
	 * everything accepted). Must not call back into the router. */
	enum gs_verdict (*validate)(void *ud, const struct gs_message *m);
	/* `peer` announced (subscribed true) or withdrew a subscription to
	 * topic; once per change. Optional; called from inside the router. */
	void (*on_subscription)(void *ud, const uint8_t *peer, size_t peer_len, const char *topic, size_t topic_len,
				bool subscribed);
};

struct gs_config {
	/* mesh degree (gossipsub-v1.0.md "Parameters") */
	unsigned d, d_lo, d_hi, d_lazy;
	uint64_t heartbeat_us;
	uint64_t fanout_ttl_us;
	unsigned mcache_len, mcache_gossip; /* history windows kept / gossiped */
	uint64_t seen_ttl_us;
	uint64_t prune_backoff_us, unsub_backoff_us;
	unsigned px_peers;  /* peers offered in a PRUNE (0 = no PX) */
	bool accept_px;     /* report PX offers through on_px */
	bool flood_publish; /* our own messages go to every topic peer */
	enum gs_msgid_fn msgid_fn;
	/* limits */
	size_t max_rpc_size;     /* whole RPC frame, both directions */
	size_t max_msg_size;     /* Message data */
	size_t max_queued;       /* output bytes queued per peer */
	unsigned max_ihave_ids;  /* message IDs we ask for per peer per heartbeat */
	unsigned max_ihave_msgs; /* IHAVE entries we act on per peer per heartbeat */
	unsigned max_iwant_ids;  /* IWANT IDs we serve per peer per heartbeat */
	unsigned max_gossip_ids; /* IDs in one IHAVE we send */
	unsigned max_topics_per_peer;
	unsigned max_topics; /* topics known router-wide */
	unsigned max_peers;
	unsigned max_graft_flaps;  /* GRAFTs during backoff per peer per heartbeat before drop */
	size_t max_seen;           /* seen-cache entries */
	size_t max_mcache_bytes;   /* message-cache payload; past it new messages are not cached */
	unsigned max_invalid_msgs; /* invalid messages (unsigned, bad signature, rejected, ...) per peer per
	                            * heartbeat; past it the peer's messages are ignored unverified until the
	                            * next heartbeat (the connection stays: go/js lower a score instead) */
	unsigned max_stream_resets; /* inbound streams reset (oversized or malformed RPC) per peer per
	                             * heartbeat before the peer is dropped */
	struct gs_callbacks cb;
};

/* Defaults: D=6 D_lo=4 D_hi=12 D_lazy=6, 1 s heartbeat, fanout 60 s, mcache 5/3,
 * seen 2 min, backoff 60 s / 10 s, PX 16, flood publish on, go message IDs,
 * 1 MiB RPCs. */
void gs_config_default(struct gs_config *c);

struct gs_stats {
	uint64_t rpc_in, rpc_out, bytes_in, bytes_out;
	uint64_t msgs_in, delivered, duplicates, forwarded, published;
	uint64_t drop_unsigned;   /* StrictSign: missing from/seqno/signature */
	uint64_t drop_bad_sig;    /* signature did not verify */
	uint64_t drop_author;     /* key does not match from, or unusable from */
	uint64_t drop_too_large;  /* data above max_msg_size */
	uint64_t drop_self;       /* our own message coming back */
	uint64_t drop_queue_full; /* output for a peer over max_queued */
	uint64_t ihave_in, iwant_in, iwant_sent, iwant_served, graft_in, prune_in;
	uint64_t px_received;
	uint64_t peers_dropped;
	uint64_t rpc_truncated; /* elements ignored because of per-RPC caps */
	uint64_t mcache_full;   /* messages not cached: max_mcache_bytes reached */
	uint64_t graft_early;   /* peers grafted on their SUBSCRIBE (mesh below D_lo), not at a heartbeat */
	uint64_t drop_rejected; /* the application validator said GS_REJECT */
	uint64_t drop_ignored;  /* the application validator said GS_IGNORE */
	uint64_t drop_over_invalid; /* ignored unverified: the peer was over max_invalid_msgs */
	uint64_t stream_resets; /* inbound streams given up: oversized frame or malformed RPC */
};

/*
 * New router. `id` is our Ed25519 identity (kept by reference, must outlive the
 * router); rng and log may be NULL (system RNG, no logs) and are kept by reference.
 */
struct gs *gs_new(const struct gs_config *cfg, const struct ident *id, const struct rng *rng,
                  const struct wlog *log);
void gs_free(struct gs *gs);

/* W2W_ELIMIT (max_peers), W2W_ESTATE (already present), W2W_EPARSE (bad ID). Queues the hello
 * (our subscriptions). */
int gs_add_peer(struct gs *gs, const uint8_t *peer, size_t peer_len, enum gs_proto proto, uint64_t now_us);
/* Forgets the peer (mesh, fanout, queued output). Backoffs against it are kept. */
int gs_remove_peer(struct gs *gs, const uint8_t *peer, size_t peer_len);

/*
 * Bytes read from the peer's inbound stream, in any chunking. Returns 0, or
 * W2W_EPROTO / W2W_ELIMIT when the peer was dropped (on_drop was called),
 * -ENOENT for an unknown peer, or GS_STREAM_RESET: a frame over max_rpc_size,
 * a bad length prefix or an undecodable RPC. The partial input is discarded and
 * the peer stays (mesh, subscriptions, our stream to it); the host resets that
 * inbound stream and feeds whatever stream the peer opens next (go-libp2p-pubsub
 * comm.go handleNewStream resets the stream on a read error and keeps the peer).
 */
#define GS_STREAM_RESET (-EPIPE)
int gs_on_bytes(struct gs *gs, const uint8_t *peer, size_t peer_len, const void *bytes, size_t n,
                uint64_t now_us);

/* Moves the bytes queued for peer into out (appended). Returns bytes moved or < 0. */
int gs_take_output(struct gs *gs, const uint8_t *peer, size_t peer_len, struct buf *out);
/* Bytes queued for peer (0 for an unknown peer). */
size_t gs_output_pending(const struct gs *gs, const uint8_t *peer, size_t peer_len);

/* Runs the heartbeat if due (any `now` is fine; it does nothing when early). */
void gs_heartbeat(struct gs *gs, uint64_t now_us);
uint64_t gs_next_deadline(const struct gs *gs);

int gs_subscribe(struct gs *gs, const char *topic, uint64_t now_us);
int gs_unsubscribe(struct gs *gs, const char *topic, uint64_t now_us);

/* Signs (StrictSign) and sends. Returns 0; W2W_ELIMIT if data is too large. */
int gs_publish(struct gs *gs, const char *topic, const void *data, size_t len, uint64_t now_us);

void gs_get_stats(const struct gs *gs, struct gs_stats *out);

/* Introspection (tests, snapshots). */
size_t gs_peer_count(const struct gs *gs);
size_t gs_mesh_count(const struct gs *gs, const char *topic);
/* Peers that announced a subscription to topic (whether or not in our mesh). */
size_t gs_topic_peer_count(const struct gs *gs, const char *topic);
bool gs_in_mesh(const struct gs *gs, const char *topic, const uint8_t *peer, size_t peer_len);
/* Copies up to max mesh peer IDs of topic into ids[i] (GS_PEERID_MAX bytes each). */
size_t gs_mesh_peers(const struct gs *gs, const char *topic, uint8_t (*ids)[GS_PEERID_MAX], size_t *lens,
                     size_t max);
size_t gs_topic_count(const struct gs *gs);
/* Approximate heap bytes held by the router (for bounded-memory tests). */
size_t gs_memory(const struct gs *gs);

#endif
