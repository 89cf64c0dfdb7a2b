/* SPDX-License-Identifier: MIT */
/*
 * The first-handshake rule of a new WireGuard pair (docs/mesh.md "First
 * handshakes"), as pure functions of (state, input, now).
 *
 * What WireGuard does (kernel send.c, wireguard-go send.go), and what it costs:
 *  - a packet routed to a peer without a session is staged (up to 128 per
 *    peer) and a handshake initiation is attempted; the staged packets go out
 *    once a session exists. So a peer should get its allowed IPs as soon as it
 *    is configured: its packets wait instead of being dropped;
 *  - the attempt sets last_sent_handshake even when it cannot be sent (no
 *    endpoint), and any new initiation within REKEY_TIMEOUT (5 s) of it is
 *    suppressed; the retransmit timer retries after 5 s + jitter;
 *  - an initiation that reaches a node which has not configured us is dropped
 *    silently (5 s); crossed initiations (both sides within ~1 RTT) both fail
 *    (5 s + jitter, again and again when in phase);
 *  - removing and re-adding a peer resets its handshake state (and drops its
 *    staged packets).
 *
 * So exactly one side of a pair initiates, and only towards a node that has it
 * configured; the other (the waiter) has no endpoint (a peer without one cannot
 * initiate) and learns it from the incoming initiation:
 *  - an ack ("I have your key in my applied device, and I wait for you")
 *    travels in announcements; a node acks a key only once the device holding
 *    that peer is applied, for HS_ACK_WINDOW_US, and only while it waits;
 *  - the role is decided when a peer is first configured: if the other's
 *    announcement already acks us, we initiate at once (the other configured
 *    us before we configured it, so it cannot have seen an ack from us: it is
 *    a waiter); otherwise we wait. Both cannot initiate this way;
 *  - two waiters (both configured the other before its ack arrived: a cold
 *    start): the lower key becomes the initiator when the other's ack arrives
 *    (the higher key ignores acks). It may already have attempted a handshake
 *    without an endpoint (an application packet), which rate-limits the real
 *    one for 5 s: so it re-creates the peer (removed and re-added in one
 *    update) if the peer still has no endpoint and no handshake. The packets
 *    staged in that short window are the only ones this rule can lose;
 *  - fallbacks for peers that send no acks (older versions) or one-way
 *    reachability: a lower-key waiter promotes itself after
 *    HS_PROMOTE_FALLBACK_US, a higher-key one sets the endpoint after
 *    HS_WAITER_HOLD_US (staggered: the two never start together).
 */
#ifndef W2W_MESH_HANDSHAKE_H
#define W2W_MESH_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "announce.h"

#define HS_PROMOTE_FALLBACK_US (5ull * 1000 * 1000)
#define HS_WAITER_HOLD_US (10ull * 1000 * 1000)
#define HS_ACK_WINDOW_US (10ull * 1000 * 1000)

/* Does announcement a ack the WireGuard key wg_pub (32 bytes)? */
bool hs_acks(const struct announce *a, const uint8_t *wg_pub);

enum hs_role {
	HS_ROLE_NONE,      /* not configured */
	HS_ROLE_WAITER,    /* no endpoint; acks the peer; learns the endpoint from its initiation */
	HS_ROLE_INITIATOR, /* endpoint set: initiates */
};

/* Per-peer state of the rule. Zero-initialised = not configured. */
struct hs_peer {
	bool configured; /* part of a desired device since configured_at */
	bool applied;    /* ...and that device is applied (only then may we ack it) */
	bool promoted;   /* a waiter that became the initiator: re-arm (re-create) */
	enum hs_role role;
	unsigned acks_sent; /* announcements that carried our ack (the least acked go first) */
	uint64_t configured_at, applied_at;
	uint8_t wg_pub[32];
};

/*
 * The peer with key a->wg_pub (a: its latest announcement) is part of the
 * desired device computed at now, on a device whose own key is self_pub.
 * When that is new (a new peer or a new key) its role is decided (initiator
 * iff a already acks us) and true is returned: an ack may be owed once
 * applied.
 */
bool hs_configured(struct hs_peer *s, const uint8_t *self_pub, const struct announce *a, uint64_t now);
/* Every desired device so far is applied: a configured peer may now be acked. */
void hs_applied(struct hs_peer *s, uint64_t now);
/* The peer left the device (left, expired). */
void hs_forget(struct hs_peer *s);

/* How to configure a peer now (allowed IPs always: packets are staged). */
struct hs_plan {
	bool endpoint;       /* set its endpoint (initiate, unless established) */
	bool established;    /* the rule is over (as passed in) */
	bool recreate;       /* re-create it if it has no endpoint and no handshake yet */
	uint64_t recheck_us; /* > 0: re-evaluate after this long (a fallback ends) */
};

/*
 * The plan for a configured peer (hs_configured first), given its latest
 * announcement a. `established`: the actual device already has a handshake
 * with the peer or an endpoint for it (the rule is over; the diff keeps what
 * is there). A waiter may be promoted here (the lower key, by the other's ack
 * or the fallback).
 */
struct hs_plan hs_plan(struct hs_peer *s, const uint8_t *self_pub, const struct announce *a, bool established,
		       uint64_t now);

/*
 * Do we ack this peer in an announcement built at now? 0: no. 1: yes, and it
 * needs it (a lower key: a waiter too, it becomes the initiator on our ack).
 * 2: yes, it may help (a higher key that has not configured us yet initiates
 * at once on our ack). An announcement carries at most ANN_MAX_ACKS acks: the
 * needed ones go first, the least acked first among them; when some are left
 * out, another announcement follows shortly (meshnode.c).
 */
int hs_ack_rank(const uint8_t *self_pub, const struct hs_peer *s, bool established, uint64_t now);

/*
 * The WireGuard endpoint for a peer: its announced public WireGuard endpoint
 * (`wep`, learned by reflection, docs/nat.md), else the remote IP of the live libp2p
 * connection (conn_ip, NULL if none) with the peer's announced WireGuard port
 * (the port it listens on, not ours), else its first advertised endpoint. A
 * loopback connection IP (the libp2p connection went through something local:
 * a port forward, a proxy, or the peer is on this host) ranks below an
 * advertised endpoint and is used only when the peer advertises none.
 * False when nothing is known.
 */
bool hs_endpoint(const struct ann_ip *conn_ip, const struct announce *a, struct ann_endpoint *out);

#endif
