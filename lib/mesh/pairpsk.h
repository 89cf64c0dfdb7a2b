/* SPDX-License-Identifier: MIT */
/*
 * Per-pair WireGuard preshared keys (docs/mesh.md "Per-pair preshared keys",
 * docs/security.md). Each pair of nodes puts a PresharedKey derived from the
 * network PSK and the two peer IDs on its WireGuard peers, so that a recorded
 * WireGuard session cannot be decrypted later by breaking Curve25519 alone
 * (WireGuard whitepaper §5.2: the PSK is mixed into the handshake). It costs
 * no message: both ends derive the same key.
 *
 *   pair PSK = HMAC-SHA256(key = network PSK,
 *                          "w2wesher pair-psk v1" || len(lo) || lo || len(hi) || hi)
 *   lo, hi   = the two binary peer IDs, sorted (length, then bytes)
 *   key ID   = HMAC-SHA256(key = network PSK, "w2wesher pair-psk key id v1")[0..8)
 *
 * A node that uses pair PSKs announces the key IDs of the network PSKs it
 * holds (newest first, announce.h "pk"); the pair uses a derived PSK only when
 * both announce key IDs, from the key pairpsk_choose() picks on both sides
 * alike. A node of an older version (no "pk") and a node with [Node] PairPSK
 * = false get no PSK from anyone, as before.
 */
#ifndef W2W_MESH_PAIRPSK_H
#define W2W_MESH_PAIRPSK_H

#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

#define PAIRPSK_KID_LEN 8
#define PAIRPSK_MAX_KEYS 2 /* current and next network PSK */

void pairpsk_kid(uint8_t kid[PAIRPSK_KID_LEN], const uint8_t psk[32]);
/* The pair's PresharedKey under network PSK psk; the same for (a, b) and (b, a). */
void pairpsk_derive(uint8_t out[32], const uint8_t psk[32], const struct peerid *a, const struct peerid *b);
/*
 * Which of our keys (index into mine, newest first) the pair uses, given the
 * peer's announced key IDs (theirs, newest first); -1 when none is common
 * (no PSK). Symmetric: both ends pick the same key. One common key: that one.
 * Two: the one both list first, else (the lists disagree on the order) the
 * one with the smaller key ID.
 */
int pairpsk_choose(const uint8_t (*mine)[PAIRPSK_KID_LEN], size_t n_mine, const uint8_t (*theirs)[PAIRPSK_KID_LEN],
		   size_t n_theirs);

#endif
