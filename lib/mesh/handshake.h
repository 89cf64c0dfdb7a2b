/* SPDX-License-Identifier: MIT */
/*
 * The first-handshake rule of a new WireGuard pair (docs/mesh.md "First
 * handshakes"), as pure functions of (state, input, now).
 *
 * When both ends of a new pair send their first handshake initiation at about
 * the same moment, the handshakes cross: each side's response is rejected
 * because its own initiation replaced the state it answers, and WireGuard then
 * waits REKEY_TIMEOUT (5 s) before it retries — again and again if the
 * persistent keepalives stay in phase. And an initiation that reaches a node
 * which has not configured us yet is dropped, at the same 5 s cost. So, of a
 * new pair:
 *  - only the side with the lower WireGuard public key initiates; the other
 *    (the waiter) holds back its copy of the endpoint (a peer without an
 *    endpoint cannot initiate) and learns it from the initiator's first
 *    packet; after HS_WAITER_HOLD_US without a handshake it sets it anyway
 *    (one-way reachability, e.g. the initiator behind NAT);
 *  - the initiator waits until the waiter's announcement acks its key ("I have
 *    you in my applied device"), at most HS_INITIATOR_FALLBACK_US (peers of
 *    older versions send no acks); until then it does not even route the
 *    waiter's addresses to it, because a packet sent to a peer without an
 *    endpoint still arms the 5 s timer;
 *  - a node acks a key only once the device holding that peer is applied,
 *    never when it is merely computed, and for HS_ACK_WINDOW_US.
 */
#ifndef W2W_MESH_HANDSHAKE_H
#define W2W_MESH_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "announce.h"

#define HS_INITIATOR_FALLBACK_US (5ull * 1000 * 1000)
#define HS_WAITER_HOLD_US (10ull * 1000 * 1000)
#define HS_ACK_WINDOW_US (10ull * 1000 * 1000)

/* Does announcement a ack the WireGuard key wg_pub (32 bytes)? */
bool hs_acks(const struct announce *a, const uint8_t *wg_pub);

enum hs_hold {
	HS_HOLD_NONE,     /* configure the peer fully */
	HS_HOLD_ENDPOINT, /* waiter: allowed IPs, no endpoint */
	HS_HOLD_ALL,      /* initiator before the ack: not even the allowed IPs */
};

/*
 * What to hold back for peer `a` (first seen `age_us` ago) on a device whose
 * own key is self_pub. `established`: the actual device already has a
 * handshake with the peer or an endpoint for it (the rule is over; the diff
 * keeps what is there). When the result is a hold, *recheck_us is how long
 * until it ends by timeout (the caller re-evaluates then).
 */
enum hs_hold hs_hold(const uint8_t *self_pub, const struct announce *a, bool established, uint64_t age_us,
		     uint64_t *recheck_us);

/*
 * The WireGuard endpoint for a peer: the remote IP of the live libp2p
 * connection (conn_ip, NULL if none) with the peer's announced WireGuard port
 * (the port it listens on, not ours), else its first advertised endpoint. A
 * loopback connection IP (the libp2p connection went through something local:
 * a port forward, a proxy, or the peer is on this host) ranks below an
 * advertised endpoint and is used only when the peer advertises none.
 * False when nothing is known.
 */
bool hs_endpoint(const struct ann_ip *conn_ip, const struct announce *a, struct ann_endpoint *out);

/* Per-peer ack bookkeeping: which key we configured, and whether the device
 * holding it is applied (only then may we ack it). */
struct hs_ack {
	bool configured; /* part of a desired device since configured_at */
	bool applied;    /* ...and that device is applied */
	uint64_t configured_at, applied_at;
	uint8_t wg_pub[32];
};

/* The peer with key wg_pub is part of the desired device computed at now.
 * True when that is new (a new peer or a new key): an ack is owed once applied. */
bool hs_ack_configured(struct hs_ack *s, const uint8_t *wg_pub, uint64_t now);
/* Every desired device so far is applied: a configured peer may now be acked. */
void hs_ack_applied(struct hs_ack *s, uint64_t now);
/* The peer left the device (left, expired). */
void hs_ack_forget(struct hs_ack *s);
/* Do we ack this peer in an announcement built at now? */
bool hs_ack_due(const struct hs_ack *s, uint64_t now);
/*
 * ...and is the ack any use? Only the initiator (the lower key) waits for an
 * ack, and only until the first handshake (established). An announcement
 * carries at most ANN_MAX_ACKS acks: when more peers than that join within
 * HS_ACK_WINDOW_US, acks nobody waits for would push out the ones somebody
 * does, and those initiators would wait for HS_INITIATOR_FALLBACK_US.
 */
bool hs_ack_wanted(const uint8_t *self_pub, const struct hs_ack *s, bool established, uint64_t now);

#endif
