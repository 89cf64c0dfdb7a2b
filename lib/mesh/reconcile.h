/* SPDX-License-Identifier: MIT */
/*
 * Reconcile, first half: from the peer table (and our own claim) compute the
 * WireGuard device this node should have. The second half — diffing it
 * against the device the kernel or wireguard-go reports and applying only the
 * difference — is wg/wgdiff.h.
 *
 * Rules (docs/design.md "Reconcile"):
 *  - one WireGuard peer per live node, keyed by its announced public key;
 *  - allowed IPs = the node's claimed overlay addresses as /32 or /128, and
 *    only those inside our network range (a node announcing 0.0.0.0/0 or an
 *    address outside the overlay cannot pull other traffic into the tunnel);
 *  - an address claimed by several nodes goes only to the winner of the IPAM
 *    rule (older claim, then lower peer ID), so a newcomer that collides cannot
 *    take traffic from the holder while it moves; if we win it, nobody gets it;
 *  - the endpoint comes from a callback (the node knows the live libp2p
 *    connection's remote IP, announced ports, observed addresses); a peer
 *    without an endpoint gets no persistent keepalive.
 */
#ifndef W2W_MESH_RECONCILE_H
#define W2W_MESH_RECONCILE_H

#include <stdint.h>

#include "ipam.h"
#include "peertable.h"
#include "wgdev.h"
#include "wgdiff.h"

/* Re-create the peer if it has neither an endpoint nor a handshake yet
 * (WGDIFF_PEER_RECREATE; mesh/handshake.h: re-arms a rate-limited first
 * handshake). */
#define RECONCILE_F_RECREATE 1
/* Give the peer a persistent keepalive (keepalive_s, else
 * RECONCILE_KICK_KEEPALIVE_S) even when keepalives are off: a peer whose
 * endpoint and keepalive arrive together (0 -> N) makes WireGuard send a
 * keepalive at once, i.e. start the handshake without waiting for traffic
 * (mesh/handshake.h: the initiator, until the handshake). */
#define RECONCILE_F_KICK 2
#define RECONCILE_KICK_KEEPALIVE_S 25
/* Write the endpoint even over a roamed one (WGDIFF_PEER_FORCE_ENDPOINT). */
#define RECONCILE_F_FORCE_EP 4

struct reconcile_in {
	const char *ifname;
	const uint8_t *private_key;   /* 32 bytes */
	uint16_t listen_port;
	uint16_t keepalive_s;         /* 0 = off */
	const struct ipam_range *range4, *range6; /* either may be NULL */
	const struct peerid *self;
	const struct ann_claim *self_claims;
	size_t n_self_claims;
	/* Our claims are locally pinned (Address=): no other claim on them is ever
	 * routed here, even an equal "static" claim (time 0) by a lower peer ID,
	 * which any PSK holder can forge (docs/security.md). */
	bool self_pinned;
	const struct peertable *pt;
	/* Fills ep for entry e (leave it AF_UNSPEC when no endpoint is known);
	 * returns RECONCILE_F_* flags. */
	int (*endpoint)(void *ud, const struct pt_entry *e, union wgendpoint *ep);
	void *ud;
	/* Per-pair PSKs (pairpsk.h): our network PSKs (n_psks * 32 bytes, newest
	 * first) and their key IDs; n_psks 0 = we use none (no PresharedKey on
	 * any peer). A peer gets one only when it announces key IDs too. */
	const uint8_t *psks;
	const uint8_t (*kids)[8];
	size_t n_psks;
};

/* The desired device (sorted), or NULL on allocation failure. */
struct wgdevice *reconcile_desired(const struct reconcile_in *in);

/* An announced endpoint (IPv4 or IPv6 and a port) as WireGuard's; another
 * family gives the zeroed "no endpoint". */
void reconcile_endpoint(union wgendpoint *w, const struct ann_endpoint *ep);

#endif
