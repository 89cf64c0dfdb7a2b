/* SPDX-License-Identifier: MIT */
/*
 * Admission control (docs/security.md "Admission mode"), sans-IO: operator
 * keys, admission tokens and revocations. No clock, no I/O: times are inputs
 * (Unix seconds), and every parser reads untrusted bytes through struct rd.
 *
 * Operator key: an Ed25519 key pair; its text form is the base64 of the
 * 32-byte seed (private) or of the 32-byte public key, as the other keys of
 * w2wesher. Key ID: the first 8 bytes of BLAKE2b-256("w2wesher admission key
 * id v1" || public key), so a token names the key that signed it and a node
 * configured with several keys (rotation) tries only that one.
 *
 * Wire form of both objects (all integers big-endian):
 *
 *   u8  version      ADM_VERSION (1)
 *   u8  kind         1 token, 2 revocation
 *   8   key ID
 *   u64 time A       token: not-before; revocation: when it was made
 *   u64 time B       token: expiry (0 = never); revocation: 0
 *   u8  peer length  1..PEERID_MAX_LEN, then the binary peer ID
 *   u8  name length  0..ADM_NAME_MAX, then the name (token only; 0 in a revocation)
 *   64  Ed25519 signature over  ADM_DOMAIN || every byte above
 *
 * The domain string separates these signatures from every other use of an
 * Ed25519 key (libp2p records and messages sign with their own prefixes), and
 * the kind byte separates a token from a revocation of the same peer. Text
 * form: standard base64 of the whole blob (one line).
 */
#ifndef W2W_CRYPTO_ADMISSION_H
#define W2W_CRYPTO_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

#define ADM_VERSION 1
#define ADM_KIND_TOKEN 1
#define ADM_KIND_REVOKE 2
#define ADM_DOMAIN "w2wesher admission v1\n"
#define ADM_KEYID_LEN 8
#define ADM_NAME_MAX 64
#define ADM_SIG_LEN 64
#define ADM_HDR_LEN (2 + ADM_KEYID_LEN + 16)
#define ADM_MAX_LEN (ADM_HDR_LEN + 1 + PEERID_MAX_LEN + 1 + ADM_NAME_MAX + ADM_SIG_LEN)
#define ADM_TEXT_MAX (((ADM_MAX_LEN + 2) / 3) * 4 + 1)
#define ADM_MAX_KEYS 8 /* AdmissionKey lines (rotation: old and new at once) */

struct adm_obj {
	uint8_t kind;
	uint8_t key_id[ADM_KEYID_LEN];
	uint64_t t_a, t_b;
	struct peerid peer;
	char name[ADM_NAME_MAX + 1];
	/* the signed bytes (domain excluded) and the signature, for verification */
	uint8_t signed_len;
	uint8_t raw[ADM_MAX_LEN];
};

/* Public key and key ID of a 32-byte seed. */
void adm_pub_from_seed(uint8_t pub[32], const uint8_t seed[32]);
void adm_key_id(uint8_t id[ADM_KEYID_LEN], const uint8_t pub[32]);

/* Signs a token (kind ADM_KIND_TOKEN) or a revocation into out (cap >= ADM_MAX_LEN).
 * Returns the length, W2W_ELIMIT (name too long). */
int adm_sign(uint8_t *out, size_t cap, const uint8_t seed[32], uint8_t kind, const struct peerid *peer,
             const char *name, uint64_t t_a, uint64_t t_b);

/* Strict parse of untrusted bytes (no signature check). 0 or W2W_EPARSE; writes *o only on success. */
int adm_parse(const uint8_t *p, size_t n, struct adm_obj *o);
/* The signature by one of keys (n x 32 bytes) whose ID the object names. 0 or W2W_EAUTH. */
int adm_verify(const struct adm_obj *o, const uint8_t (*keys)[32], size_t n);

/*
 * The whole check of a token presented by `peer` at Unix time now_s: parses,
 * verifies, right kind, same peer, not before not-before - ADM_SKEW_S, not
 * after expiry. 0, or a negative code with *why a static reason.
 */
#define ADM_SKEW_S 300 /* clocks of members may disagree this much */
int adm_check_token(const uint8_t *p, size_t n, const struct peerid *peer, uint64_t now_s,
                    const uint8_t (*keys)[32], size_t nkeys, uint64_t *expires, const char **why);

#endif
