/* SPDX-License-Identifier: MIT */
/*
 * NAT traversal policy (docs/nat.md), sans-IO: pure functions of the
 * announcements, what our WireGuard device reports (endpoints and handshake
 * ages, read by the caller) and our own NAT state. The engine (meshnode.c)
 * calls them; the glue reads the device.
 *
 *  - Reflection ("where do you see me?"): a node's WireGuard endpoint for a
 *    peer is the source address of that peer's last authenticated packet
 *    (WireGuard roaming). A node reports it in its own signed announcement
 *    (`seen`) when it differs from everything the peer announces, so a NATed
 *    peer learns its public WireGuard ip:port, which differs from its libp2p
 *    TCP mapping.
 *  - A report is accepted only from a peer we have a recent WireGuard session
 *    with (it could only have seen our packets then) and only inside that
 *    peer's own signed announcement: a forged or third-party report is
 *    rejected with a log line and changes nothing.
 *  - The learned endpoint is announced (`wep`) with the NAT flag. The public
 *    endpoint follows one reporter (a public one first: it keeps hearing us
 *    after our mapping changes, a NATed one may not; then the lowest key), so
 *    disagreeing reporters (a symmetric NAT) cannot make it flap.
 *  - Roles: a NATed node initiates towards public peers, which wait (their
 *    guess of its endpoint would be the TCP mapping); two NATed nodes both
 *    send to each other's `wep` at once (the punch), triggered by the
 *    announcement that completes the pair's knowledge, and again whenever a
 *    `wep` changes (a new mapping), overriding the roamed endpoint once.
 */
#ifndef W2W_MESH_NAT_H
#define W2W_MESH_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"

/* A report needs a WireGuard handshake with its author at most this old
 * (WireGuard rekeys every 120 s while traffic flows; keepalives keep it). */
#define NAT_SESSION_MAX_S 180
/* The keepalive a NATed node uses when none is configured: WireGuard's
 * advice behind NAT, below conntrack's 30 s unreplied UDP timeout. */
#define NAT_KEEPALIVE_S 25

/* Is this endpoint plausible as someone's public address (not unspecified,
 * loopback, multicast or broadcast, port non-zero)? */
bool nat_ep_plausible(const struct ann_endpoint *ep);

/* Is ep among what the peer already announces (wep, eps)? */
bool nat_ep_announced(const struct announce *a, const struct ann_endpoint *ep);

/* Are we behind a NAT? Our specific listen IP (NULL/unspecified: unknown)
 * differs from an address a peer observed us at, or a peer reported our
 * WireGuard packets from an endpoint we do not announce. */
bool nat_behind(const struct ann_ip *listen_ip, const struct ann_ip *observed, size_t n_observed, bool has_wep);

/* Should we report to the author of `a` that our device sees it at `seen`,
 * given our last handshake with it hs_age_s ago (< 0: none)? */
bool nat_should_report(const struct announce *a, const struct ann_endpoint *seen, int64_t hs_age_s);

enum nat_verdict {
	NAT_IGNORE = 0,  /* nothing for us, or what we hold already */
	NAT_ACCEPT,      /* take it as our public endpoint */
	NAT_REJECT_NOSESSION, /* the author has no WireGuard session with us: it cannot have seen us */
	NAT_REJECT_BOGUS,     /* an implausible address */
	NAT_DISAGREE,    /* a plausible report that differs from the one we follow (symmetric NAT?) */
};

/* Our state of the learned public WireGuard endpoint. */
struct nat_self {
	bool has_wep;
	struct ann_endpoint wep;
	uint8_t reporter[32]; /* WireGuard key of the author we follow */
	bool reporter_public; /* ...which is not behind a NAT itself */
	bool symmetric;       /* two sessions saw different ports of one IP */
};

/*
 * A report about us (s->key matches self_pub) in the announcement of the
 * author with WireGuard key author_pub; author_hs_age_s: our device's last
 * handshake with it (< 0: none); author_public: it does not announce the NAT
 * flag; reporter_live: the reporter we follow still has a session with us.
 * The verdict, and on NAT_ACCEPT st is updated. A report not about us is
 * NAT_IGNORE.
 */
enum nat_verdict nat_on_report(struct nat_self *st, const uint8_t *self_pub, const uint8_t *author_pub,
			       const struct ann_seen *s, int64_t author_hs_age_s, bool author_public,
			       bool reporter_live);

/* The WireGuard role towards a peer that is not established yet. */
enum nat_role {
	NAT_ROLE_DEFAULT, /* neither behind NAT: the first-handshake rule (handshake.h) */
	NAT_ROLE_INITIATE, /* we are NATed, it is public: we send */
	NAT_ROLE_WAIT,     /* it is NATed, we are public: it sends, we learn its endpoint */
	NAT_ROLE_PUNCH,    /* both NATed, its public endpoint known: both send at once */
	NAT_ROLE_PENDING,  /* both NATed, its public endpoint not known yet */
};

enum nat_role nat_role(bool self_nat, const struct announce *peer);

#endif
