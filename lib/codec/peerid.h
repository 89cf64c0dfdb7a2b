/* SPDX-License-Identifier: MIT */
/*
 * libp2p peer IDs (libp2p/specs peer-ids/peer-ids.md): the multihash of a
 * PublicKey protobuf -- identity multihash (00 || len || protobuf) when the
 * protobuf is at most 42 bytes (every Ed25519 key: 38-byte IDs, text
 * "12D3KooW..."), sha2-256 (12 20 || digest) otherwise ("Qm...").
 *
 * Text forms: base58btc of the multihash (what go and js print), and CIDv1
 * (version 1, multicodec libp2p-key 0x72) in multibase base32 ('b' prefix,
 * "bafz..."). peerid_parse() accepts both.
 *
 * The codec layer has no hash function: peerid_from_pubkey_pb() handles only
 * keys that take the identity multihash; ident_peerid_from_pubkey_pb() in
 * crypto/ident.h applies the full rule including sha2-256.
 */
#ifndef W2W_CODEC_PEERID_H
#define W2W_CODEC_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERID_MAX_LEN 44          /* 00 2a + 42-byte protobuf */
#define PEERID_INLINE_MAX 42       /* largest protobuf put inline (identity multihash) */
#define PEERID_STR_MAX 96          /* either text form, with NUL */
#define MH_IDENTITY 0x00
#define MH_SHA2_256 0x12
#define MULTICODEC_LIBP2P_KEY 0x72

struct peerid {
	uint8_t len; /* bytes used in b; 0 = unset */
	uint8_t b[PEERID_MAX_LEN];
};

/*
 * Validates a binary peer ID: identity multihash (length 1..42) or sha2-256
 * (32-byte digest), nothing else, no trailing bytes. 0 or W2W_EPARSE.
 */
int peerid_from_bytes(struct peerid *id, const uint8_t *p, size_t n);
/* Identity-multihash peer ID of a PublicKey protobuf of <= 42 bytes; W2W_ELIMIT if longer. */
int peerid_from_pubkey_pb(struct peerid *id, const uint8_t *pb, size_t n);
/* sha2-256 peer ID from an already computed digest of the protobuf. */
void peerid_from_sha256(struct peerid *id, const uint8_t digest[32]);

/* base58btc text ("12D3KooW..."), NUL-terminated. Returns the length or W2W_ELIMIT. */
int peerid_to_b58(char *out, size_t cap, const struct peerid *id);
/* CIDv1 text ("bafz..."), NUL-terminated. Returns the length or W2W_ELIMIT. */
int peerid_to_cid(char *out, size_t cap, const struct peerid *id);
/*
 * Parses either text form: a base58btc multihash (starts with '1' or 'Q') or a
 * base32 CIDv1 with codec libp2p-key. Other multibases (base36 "k...",
 * base58 "z...") are not accepted. 0 or W2W_EPARSE.
 */
int peerid_parse(struct peerid *id, const char *s, size_t len);

bool peerid_eq(const struct peerid *a, const struct peerid *b);
/* A total order (length, then bytes): < 0, 0, > 0 like memcmp. */
int peerid_cmp(const struct peerid *a, const struct peerid *b);
/* The inlined PublicKey protobuf of an identity peer ID; W2W_EPARSE for hashed IDs. */
int peerid_pubkey_pb(const struct peerid *id, const uint8_t **pb, size_t *n);
/* The Ed25519 public key inside an identity peer ID (pb 08 01 12 20 || pk); W2W_EPARSE otherwise. */
int peerid_ed25519_key(const struct peerid *id, uint8_t pk[32]);

#endif
