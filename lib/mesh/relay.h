/* SPDX-License-Identifier: MIT */
/*
 * WireGuard relays for pairs of NATed members with no direct path
 * (docs/nat.md "Relays"), sans-IO: who asks, which pairs a relay serves,
 * which offers a member accepts, and the bandwidth budget.
 *
 *  - A member behind a NAT whose punch to a peer produced no handshake within
 *    RELAY_AFTER_US asks for a relay to that peer (`rq` in its announcement).
 *  - A public member with [P2P] Relay = true (flag ANN_F_RELAY) serves a pair
 *    only when both members ask for each other (nobody can be made a target
 *    without asking), at most RELAY_MAX_PAIRS pairs, from two UDP ports of
 *    its own, each locked to its member's public IP; it announces the pair
 *    and ports (`ry`). It forwards datagrams 1:1 (never more out than in),
 *    within a per-pair token bucket. WireGuard stays end to end: the relay
 *    sees ciphertext.
 *  - A member takes an offer only from a member that announces the relay
 *    flag and is not behind a NAT, for a pair it asked for, whose other end is
 *    not the relay itself and not the member itself (no loop A via B via A).
 */
#ifndef W2W_MESH_RELAY_H
#define W2W_MESH_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "peertable.h"

/* The budget ([P2P] RelayMaxPairs, RelayRate; docs/configuration.md) */
#define RELAY_DEFAULT_PAIRS 8                  /* pairs one relay serves */
#define RELAY_MAX_PAIRS 64                     /* ...at most (the engine's table) */
#define RELAY_DEFAULT_RATE (4ull << 20)        /* bytes per second per pair, both directions */
#define RELAY_MIN_RATE (64ull << 10)
#define RELAY_MAX_RATE (1ull << 30)
/* No handshake this long after the punch: ask. A punch between two cones
 * completes within a round trip once both sides send; 3 s also covers a lost
 * first datagram. */
#define RELAY_AFTER_US (3ull * 1000 * 1000)
/* A pair no longer asked for is withdrawn from `ry` at once but forwarded
 * this much longer: packets of a pair that just went direct (docs/nat.md
 * "Upgrade") may still be on their way, or be sent before the peer switches. */
#define RELAY_LINGER_US (5ull * 1000 * 1000)
#define RELAY_DATAGRAM_MAX 2048                /* WireGuard's largest datagram is MTU + 32 */

/* Does announcement a ask for a relay to the member with this key? */
bool relay_asks(const struct announce *a, const uint8_t *wg_pub);

/* A pair a relay should serve: two table entries asking for each other. */
struct relay_want {
	const struct pt_entry *a, *b;
};

/* Every pair of mutual requests in pt (a before b in table order), at most
 * cap; the caller serves the first RELAY_MAX_PAIRS. */
size_t relay_wanted(const struct peertable *pt, struct relay_want *out, size_t cap);

enum relay_offer {
	RELAY_OFFER_NONE = 0,   /* not about us */
	RELAY_OFFER_OK,         /* *port: ours to send to; *peer_key: the other end */
	RELAY_OFFER_NOT_RELAY,  /* the author does not announce the relay flag */
	RELAY_OFFER_NATED,      /* the author is behind a NAT itself */
	RELAY_OFFER_LOOP,       /* the pair contains the relay, or is us with us */
};

/* One `ry` entry r of the announcement ra (by the member with key ra->wg_pub). */
enum relay_offer relay_check_offer(const struct announce *ra, const struct ann_relay *r, const uint8_t *self_pub,
				   uint16_t *port, const uint8_t **peer_key);

/* Token bucket of rate bytes per second, a quarter second deep: may `bytes`
 * more be forwarded at now? Takes them if so. */
struct relay_bucket {
	uint64_t tokens;
	uint64_t last_us;
	bool started;
};
uint64_t relay_burst(uint64_t rate);
bool relay_budget_take(struct relay_bucket *b, size_t bytes, uint64_t now_us, uint64_t rate);

#endif
