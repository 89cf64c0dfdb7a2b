/* SPDX-License-Identifier: MIT */
/*
 * Overlay address management without a server (docs/ipam.md).
 *
 * Every node derives an ordered list of candidate addresses from its own peer
 * ID (never its hostname, which is neither unique nor stable), claims the
 * first one nobody else holds, and carries the claim, with the wall-clock
 * time it was first made, in its announcements. Every node applies the same
 * rule to two claims on one address: the older claim wins; on equal times the
 * lower peer ID (bytewise) wins. The loser moves to its next free candidate
 * and re-announces. The same rule settles conflicts found when a split brain
 * heals. A statically pinned address claims time 0, so it beats any dynamic
 * claim.
 */
#ifndef W2W_MESH_IPAM_H
#define W2W_MESH_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "peerid.h"

#define IPAM_CANDIDATES 64    /* hashed candidates tried before a linear scan */
#define IPAM_SCAN_MAX 65536   /* bound on the linear scan of small ranges */

struct ipam_range {
	uint8_t family; /* 4 or 6 */
	uint8_t net[16];
	uint8_t plen;
};

/* "10.42.0.0/16" or "fd00::/64". Host bits must be zero; IPv4 prefix <= 30,
 * IPv6 prefix <= 126 (room for at least two nodes). 0 or W2W_EPARSE. */
int ipam_range_parse(struct ipam_range *r, const char *s);
void ipam_range_str(const struct ipam_range *r, char *out, size_t cap);
bool ipam_contains(const struct ipam_range *r, const struct ann_ip *ip);
/* Usable host addresses: excludes the network address, and for IPv4 the
 * broadcast address; capped at UINT64_MAX. */
uint64_t ipam_capacity(const struct ipam_range *r);
/* True for an address a node may hold (in range, not network/broadcast). */
bool ipam_usable(const struct ipam_range *r, const struct ann_ip *ip);

/* The i-th candidate for the node with this peer ID. */
void ipam_candidate(const struct ipam_range *r, const struct peerid *self, uint32_t i, struct ann_ip *out);

/* <0 when claim a (by pa) beats claim b (by pb), >0 when b wins, 0 if identical. */
int ipam_claim_cmp(uint64_t a_ms, const struct peerid *pa, uint64_t b_ms, const struct peerid *pb);

struct ipam_other {
	struct ann_ip ip;
	uint64_t claimed_ms;
	const struct peerid *owner;
};

/*
 * Chooses our claim given everyone else's. `current` (may be NULL) is the
 * claim we hold or persisted: kept unless another claim on the same address
 * wins over it. Otherwise the first free candidate is claimed at now_ms.
 * Sets *changed when the result differs from current. W2W_ELIMIT when the
 * range is full.
 */
int ipam_pick(const struct ipam_range *r, const struct peerid *self, const struct ann_claim *current,
	      const struct ipam_other *others, size_t n, uint64_t now_ms, struct ann_claim *out, bool *changed);

/* Among claims on one address, the index of the winner (n > 0). */
size_t ipam_winner(const struct ipam_other *claims, size_t n);

#endif
