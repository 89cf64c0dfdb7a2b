/* SPDX-License-Identifier: MIT */
/*
 * The announcement a node publishes on the `w2w:announces` topic (schema in
 * docs/protocol.md "Announcements"). It travels as the data of a signed
 * gossipsub message, so its author is the message's `from`: nothing in here
 * claims an identity, and the peer table keys entries by that author.
 *
 * Encoding: one msgpack map with short string keys. Version 1; unknown keys
 * are ignored so later versions can add fields; a different "v" is rejected.
 */
#ifndef W2W_MESH_ANNOUNCE_H
#define W2W_MESH_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ANN_VERSION 1
#define ANN_MAX_SIZE 4096      /* decoder refuses anything larger */
#define ANN_NAME_MAX 64        /* bytes, without NUL */
#define ANN_MAX_ADDRS 4        /* overlay addresses (claims) */
#define ANN_MAX_ENDPOINTS 8    /* advertised underlay endpoints */
#define ANN_MAX_LISTEN 4       /* libp2p addresses to dial the author at */
#define ANN_MA_MAX 48          /* bytes of one binary multiaddr (without /p2p/) */
#define ANN_MAX_ACKS 16        /* recently configured WireGuard peers */
#define ANN_ACK_LEN 4          /* bytes of a WireGuard public key in an ack */
#define ANN_MAX_DOWN 8         /* unreachable reports in one announcement */
#define ANN_ID_MAX 44          /* bytes of a binary peer ID (PEERID_MAX_LEN) */
#define ANN_MAX_SEEN 8         /* reflection reports (docs/nat.md) in one announcement */
#define ANN_SEEN_KEY_LEN 8     /* bytes of a WireGuard public key in a reflection report */
#define ANN_MAX_RQ 8           /* relay requests in one announcement (docs/nat.md) */
#define ANN_MAX_RY 8           /* relay allocations in one announcement */
#define ANN_MAX_UP 8           /* direct-path probes of relayed peers (docs/nat.md "Upgrade") */
#define ANN_MAX_PK 2           /* network PSK key IDs (pairpsk.h) */
#define ANN_PK_LEN 8           /* bytes of one key ID */

enum {
	ANN_F_LEAVING = 1u << 0,
	/* The author is behind a NAT (docs/nat.md): it initiates WireGuard
	 * handshakes towards public peers, which wait for them. */
	ANN_F_NAT = 1u << 1,
	/* The author relays WireGuard UDP for NATed members ([P2P] Relay, docs/nat.md). */
	ANN_F_RELAY = 1u << 2,
	/* The author's NAT maps per destination (symmetric, docs/nat.md): no
	 * direct path to it can be punched, relayed pairs with it never probe. */
	ANN_F_SYMNAT = 1u << 3,
	/* The author's overlay address is not on its interface yet (the address
	 * gate, docs/mesh.md "Joining fast"): no application there can have sent
	 * us anything, so a re-create of our peer there drops nothing. A
	 * higher-key waiter that this announcement acks need not wait for the
	 * handshake the author's promotion starts. */
	ANN_F_GATED = 1u << 4,
};

struct ann_ip {
	uint8_t family;   /* 4 or 6 */
	uint8_t ip[16];   /* IPv4 uses the first 4 bytes */
};

struct ann_claim {
	struct ann_ip addr;
	uint64_t claimed_ms; /* wall-clock (Unix ms) time the author first claimed it */
};

struct ann_endpoint {
	struct ann_ip addr;
	uint16_t port;
};

struct announce {
	uint64_t seq;      /* strictly increasing per author; replays are ignored */
	uint32_t flags;    /* ANN_F_* */
	char name[ANN_NAME_MAX + 1];
	uint8_t wg_pub[32];
	uint16_t wg_port;
	uint8_t n_claims;
	struct ann_claim claims[ANN_MAX_ADDRS];
	uint8_t n_eps;
	struct ann_endpoint eps[ANN_MAX_ENDPOINTS];
	uint8_t n_la;
	struct {
		uint8_t len;
		uint8_t b[ANN_MA_MAX];
	} la[ANN_MAX_LISTEN]; /* binary multiaddrs, /ip4|ip6/…/tcp/… */
	/* First bytes of the WireGuard keys of peers the author configured in the
	 * last seconds: tells a new peer "I can answer your handshake now". */
	uint8_t n_acks;
	uint8_t acks[ANN_MAX_ACKS][ANN_ACK_LEN];
	/* Unreachable reports (docs/mesh.md "Liveness"): the author's probe of
	 * node `id` failed while it held that node's announcement `seq`. */
	uint8_t n_down;
	struct ann_down {
		uint8_t len;
		uint8_t id[ANN_ID_MAX]; /* binary peer ID */
		uint64_t seq;
	} down[ANN_MAX_DOWN];
	/* NAT traversal (docs/nat.md, optional, older nodes ignore both). wep: the
	 * author's public WireGuard endpoint as its peers reported seeing it. */
	bool has_wep;
	struct ann_endpoint wep;
	/* Reflection reports: where the author's WireGuard device sees these
	 * peers (source of their last authenticated packets). */
	uint8_t n_seen;
	struct ann_seen {
		uint8_t key[ANN_SEEN_KEY_LEN]; /* first bytes of the peer's WireGuard key */
		struct ann_endpoint ep;
	} seen[ANN_MAX_SEEN];
	/* Relays (docs/nat.md): peers (key prefixes) the author asks a relay to
	 * connect it with, and, from a relay, the pairs it forwards: member a
	 * sends to the relay's UDP port pa, member b to pb. */
	uint8_t n_rq;
	uint8_t rq[ANN_MAX_RQ][ANN_SEEN_KEY_LEN];
	uint8_t n_ry;
	struct ann_relay {
		uint8_t a[ANN_SEEN_KEY_LEN], b[ANN_SEEN_KEY_LEN];
		uint16_t pa, pb;
		/* optional ("sa", "sb"; 0: not yet): the source port the relay
		 * last saw member a's (b's) datagrams come from */
		uint16_t sa, sb;
	} ry[ANN_MAX_RY];
	/* Upgrade (docs/nat.md "Upgrade"), optional key "up": relayed peers (key
	 * prefixes) the author just sent a direct-path probe to; n counts the
	 * author's probes to that peer (a new n asks it to answer with its own
	 * probe), h is the probe's place in its round (0: opened it). */
	uint8_t n_up;
	struct ann_probe {
		uint8_t key[ANN_SEEN_KEY_LEN];
		uint32_t n;
		uint8_t h;
	} up[ANN_MAX_UP];
	/* Per-pair WireGuard PSKs (mesh/pairpsk.h): key IDs of the network PSKs
	 * the author holds, newest first. Absent (0) = the author uses none. */
	uint8_t n_pk;
	uint8_t pk[ANN_MAX_PK][ANN_PK_LEN];
	/* Members the author knows, itself included (0: not said; optional key
	 * "nm"). A hint for a joiner's address gate (docs/mesh.md "Joining
	 * fast"): it waits until it knows as many. Never a reason to announce. */
	uint32_t members;
	/* WireGuard key rotation (docs/mesh.md "Key rotation"): the public key the
	 * author switches to shortly; peers pre-configure it. Optional ("nwg"). */
	bool has_next;
	uint8_t wg_next[32];
};

/* Appends the msgpack encoding. W2W_EPARSE for an announcement that would not decode. */
int ann_encode(const struct announce *a, struct buf *out);

/* Admission fields (docs/mesh.md "Admission"): the author's admission token
 * ("at") and revocations it relays ("rv"), opaque blobs checked by admit.h.
 * Kept out of struct announce so the peer table does not store them. */
#define ANN_BLOB_MAX 208 /* >= ADM_MAX_LEN */
#define ANN_MAX_REVOKE 8 /* revocations relayed in one announcement */
struct ann_adm {
	uint16_t tok_len;
	uint8_t tok[ANN_BLOB_MAX];
	uint8_t n_rev;
	struct {
		uint8_t len;
		uint8_t b[ANN_BLOB_MAX];
	} rev[ANN_MAX_REVOKE];
};
/* ann_encode with the admission fields (adm NULL or empty: none). */
int ann_encode_ext(const struct announce *a, const struct ann_adm *adm, struct buf *out);
/* The admission fields of an announcement ann_decode accepted; absent ones
 * are empty. W2W_EPARSE when one is malformed. */
int ann_decode_adm(const uint8_t *p, size_t n, struct ann_adm *out);
/* Strict decode of untrusted bytes; writes *out only on success. W2W_EPARSE/W2W_ELIMIT. */
int ann_decode(const uint8_t *p, size_t n, struct announce *out);

bool ann_ip_eq(const struct ann_ip *a, const struct ann_ip *b);
/* The IP (and port) of a binary /ip4|ip6/…/tcp|udp/… multiaddr; false for other kinds. */
bool ann_ip_from_ma(const uint8_t *ma, size_t n, struct ann_ip *ip, uint16_t *port);
/* The unspecified address (0.0.0.0, ::). */
bool ann_ip_unspecified(const struct ann_ip *ip);

/* What a node announces about itself (ann_build). */
struct ann_self {
	uint64_t seq;
	uint32_t flags;
	const char *name;
	const uint8_t *wg_pub; /* 32 bytes */
	uint16_t wg_port;
	const struct ann_claim *claim; /* NULL before we hold an address */
	const struct ann_ip *listen_ip; /* NULL or unspecified: listening on every address */
	uint16_t listen_tcp;            /* our libp2p TCP port */
	const struct ann_ip *observed;  /* where peers saw us (identify) */
	size_t n_observed;
};

/*
 * Builds our announcement: the fields of s, and where others reach us — the
 * address we listen on when it is specific, and every address peers observed
 * us at (NAT, unspecified listen) — as WireGuard endpoints (with our WireGuard
 * port) and libp2p listen addresses (with our TCP port), each once, as many as
 * fit. Acks are the caller's (handshake.h).
 */
void ann_build(struct announce *a, const struct ann_self *s);
/* Adds an endpoint / a libp2p address unless present or full. */
void ann_add_endpoint(struct announce *a, const struct ann_ip *ip, uint16_t port);
void ann_add_listen(struct announce *a, const struct ann_ip *ip, uint16_t tcp_port);
/* "fd00::1" / "10.0.0.1" into out (>= 46 bytes). */
void ann_ip_str(const struct ann_ip *a, char *out, size_t cap);

#endif
