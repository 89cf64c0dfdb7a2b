/* SPDX-License-Identifier: MIT */
/*
 * Overlay address management (IPAM) as the nodes do it, for orchestration
 * that wants to pre-compute or check addresses (docs/api.md "IPAM",
 * docs/mesh.md). These are the functions a running node calls itself, so the
 * answers are the node's:
 *
 *  - every node derives an ordered list of candidate addresses from its own
 *    peer ID (w2w_ipam_candidate);
 *  - two claims on one address: the older claim wins; on equal times the
 *    lower peer ID (binary multihash, bytewise) wins; a pinned address
 *    claims time 0 (w2w_ipam_winner);
 *  - a node keeps the address it holds unless it lost it, else claims its
 *    first candidate nobody else holds (w2w_ipam_pick).
 *
 * Addresses and ranges are text ("10.42.0.7", "10.42.0.0/16", "fd00::/64"),
 * peer IDs base58 ("12D3KooW…") or CIDv1, times Unix milliseconds.
 */
#ifndef W2WESHER_IPAM_H
#define W2WESHER_IPAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/error.h>
#include <w2wesher/export.h>

/* Room for an address as text (INET6_ADDRSTRLEN). */
enum { W2W_IP_TEXT_MAX = 46 };

/*
 * The i-th candidate (0 first) of the node with this peer ID in range, into
 * out. Returns its length, W2W_EPARSE (range or peer ID), -ENOSPC, -EINVAL.
 */
W2W_EXPORT int w2w_ipam_candidate(char *out, size_t cap, const char *range, const char *peer_id, uint32_t i);

/* A set of claims (address, claimant, time), as nodes learn them from announcements. */
struct w2w_ipam_claims;

/* An empty set into *ret: 0 or -ENOMEM (-EINVAL for ret NULL). */
W2W_EXPORT int w2w_ipam_claims_new(struct w2w_ipam_claims **ret);
/* Accepts NULL; returns NULL. */
W2W_EXPORT struct w2w_ipam_claims *w2w_ipam_claims_free(struct w2w_ipam_claims *c);
/* Adds peer_id's claim on address, first made at claimed_ms (0: pinned).
 * Returns its index (>= 0), W2W_EPARSE, -ENOMEM, -EINVAL. */
W2W_EXPORT int w2w_ipam_claims_add(struct w2w_ipam_claims *c, const char *peer_id, const char *address,
				   uint64_t claimed_ms);
W2W_EXPORT size_t w2w_ipam_claims_count(const struct w2w_ipam_claims *c);

/*
 * The conflict rule: among the claims on address, the index (as added) of the
 * one that holds it. Returns the index, -ENOENT when no claim is on address,
 * W2W_EPARSE, -EINVAL.
 */
W2W_EXPORT int w2w_ipam_winner(const struct w2w_ipam_claims *c, const char *address);

/*
 * Which address the node peer_id holds in range given the others' claims
 * (claims by peer_id itself in c are ignored; c may be NULL: nobody else).
 * current (NULL: none) is the address the node holds, claimed at current_ms:
 * kept unless another claim on it wins. Otherwise the first candidate no
 * claim is on, claimed at now_ms. The address goes into out, its claim time
 * into *claimed_ms (may be NULL). Returns the length, W2W_ELIMIT (the range is
 * full), W2W_EPARSE, -ENOSPC, -ENOMEM, -EINVAL.
 */
W2W_EXPORT int w2w_ipam_pick(char *out, size_t cap, uint64_t *claimed_ms, const char *range, const char *peer_id,
			     const struct w2w_ipam_claims *c, const char *current, uint64_t current_ms,
			     uint64_t now_ms);

#ifdef __cplusplus
}
#endif
#endif
