/* SPDX-License-Identifier: MIT */
/*
 * The node's libp2p identity: an Ed25519 key pair (libp2p/specs
 * peer-ids/peer-ids.md). Encodings, all deterministic:
 *   PublicKey protobuf  08 01 12 20 || pk[32]             (36 bytes)
 *   PrivateKey protobuf 08 01 12 40 || seed[32] || pk[32] (68 bytes)
 * The legacy PrivateKey form with 96 data bytes (seed || pk || pk) is accepted
 * after checking the two public-key copies agree. Loaded keys are checked: the
 * stored public key must be the one the seed derives.
 *
 * The secret key lives in libsodium guarded memory and is wiped by
 * ident_free(). Signatures are plain Ed25519 (RFC 8032) over the message.
 */
#ifndef W2W_CRYPTO_IDENT_H
#define W2W_CRYPTO_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "peerid.h"
#include "rng.h"

#define IDENT_PUBPB_LEN 36
#define IDENT_PRIVPB_LEN 68
#define IDENT_PRIVPB_MAX 100 /* the legacy seed||pk||pk form */
#define IDENT_SIG_LEN 64
#define IDENT_SEED_LEN 32
#define KEYTYPE_ED25519 1

struct ident;

/* New random identity (seed drawn from r; NULL = system RNG). 0 or -ENOMEM. */
int ident_new(struct ident **out, const struct rng *r);
/* Identity from a 32-byte Ed25519 seed (tests, simulations, derived keys). */
int ident_from_seed(struct ident **out, const uint8_t seed[IDENT_SEED_LEN]);
/* From a PrivateKey protobuf (68 or legacy 100 bytes). W2W_EPARSE on anything else. */
int ident_from_privkey_pb(struct ident **out, const uint8_t *pb, size_t n);
/*
 * Writes the 68-byte PrivateKey protobuf -- a secret: keep it in secure
 * memory and wipe it after use. Returns 68 or W2W_ELIMIT.
 */
int ident_to_privkey_pb(const struct ident *id, uint8_t *out, size_t cap);
/* Wipes and frees; NULL is fine. */
void ident_free(struct ident *id);

/* The 36-byte PublicKey protobuf. */
const uint8_t *ident_pubkey_pb(const struct ident *id);
/* The raw 32-byte Ed25519 public key. */
const uint8_t *ident_pubkey(const struct ident *id);
const struct peerid *ident_peerid(const struct ident *id);

/* Ed25519 signature over msg. 0 (cannot fail with a valid identity). */
int ident_sign(const struct ident *id, const void *msg, size_t n, uint8_t sig[IDENT_SIG_LEN]);
/*
 * Verifies sig over msg with the key in a PublicKey protobuf. 0 if valid,
 * W2W_EAUTH if not, W2W_EPARSE if the protobuf is not an Ed25519 key.
 */
int ident_verify(const uint8_t *pubpb, size_t pubpb_len, const void *msg, size_t n,
		 const uint8_t sig[IDENT_SIG_LEN]);
/* Same with a raw 32-byte Ed25519 key. */
int ident_verify_raw(const uint8_t pk[32], const void *msg, size_t n, const uint8_t sig[IDENT_SIG_LEN]);

/*
 * Parses a PublicKey protobuf; accepts only the canonical Ed25519 form
 * (08 01 12 20 || pk). 0 with pk set, or W2W_EPARSE.
 */
int pubkey_pb_ed25519(const uint8_t *pb, size_t n, uint8_t pk[32]);
/* Writes the 36-byte PublicKey protobuf of an Ed25519 key. */
void pubkey_pb_from_ed25519(uint8_t pb[IDENT_PUBPB_LEN], const uint8_t pk[32]);
/* Peer ID of any PublicKey protobuf: identity multihash up to 42 bytes, sha2-256 above. */
int ident_peerid_from_pubkey_pb(struct peerid *id, const uint8_t *pb, size_t n);

/* The same from its base64 text (the config file's and the public API's
 * form), decoded in constant time into wiped memory. 0 or W2W_EPARSE. */
int ident_from_privkey_b64(struct ident **out, const char *s, size_t n);

#endif
