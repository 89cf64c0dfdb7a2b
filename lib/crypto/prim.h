/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers over the libsodium primitives the libp2p secure channel needs
 * (pnet's XSalsa20, Noise's SHA-256/HMAC/HKDF, ChaCha20-Poly1305 and X25519),
 * so p2p/ never includes <sodium.h>. No state, no allocation.
 */
#ifndef W2W_CRYPTO_PRIM_H
#define W2W_CRYPTO_PRIM_H

#include <stddef.h>
#include <stdint.h>

struct rng;

enum {
	PRIM_SHA256_LEN = 32,
	PRIM_AEAD_KEY_LEN = 32,
	PRIM_AEAD_TAG_LEN = 16,
	PRIM_X25519_LEN = 32,
	PRIM_XSALSA20_KEY_LEN = 32,
	PRIM_XSALSA20_NONCE_LEN = 24,
};

/* Library start-up (sodium_init); idempotent, thread-safe. < 0 on failure. */
int prim_init(void);

void prim_sha256(uint8_t out[PRIM_SHA256_LEN], const void *in, size_t n);
/* SHA-256(a || b) without concatenating (Noise MixHash). */
void prim_sha256_2(uint8_t out[PRIM_SHA256_LEN], const void *a, size_t an, const void *b, size_t bn);
/* HMAC-SHA-256 with a key of any length (RFC 2104). */
void prim_hmac_sha256(uint8_t out[PRIM_SHA256_LEN], const void *key, size_t keylen, const void *in, size_t n);

/*
 * Noise HKDF (Noise spec §4.3): temp = HMAC(ck, ikm); o1 = HMAC(temp, 0x01);
 * o2 = HMAC(temp, o1 || 0x02); o3 = HMAC(temp, o2 || 0x03). ck is 32 bytes.
 * Outputs may alias ck. Intermediate values are wiped.
 */
void prim_hkdf2(uint8_t o1[32], uint8_t o2[32], const uint8_t ck[32], const void *ikm, size_t n);
void prim_hkdf3(uint8_t o1[32], uint8_t o2[32], uint8_t o3[32], const uint8_t ck[32], const void *ikm,
                size_t n);

/*
 * ChaCha20-Poly1305 IETF with the Noise nonce layout (Noise spec §12.3):
 * 96-bit nonce = 4 zero bytes || little-endian 64-bit counter.
 * encrypt writes n + 16 bytes to out; decrypt reads n >= 16 bytes and writes
 * n - 16 bytes. out may equal in. decrypt returns W2W_EAUTH on a bad tag
 * (out is then zeroed), W2W_EPARSE when n < 16.
 */
void prim_aead_encrypt(uint8_t *out, const uint8_t key[32], uint64_t nonce, const void *ad, size_t adlen,
                       const uint8_t *in, size_t n);
int prim_aead_decrypt(uint8_t *out, const uint8_t key[32], uint64_t nonce, const void *ad, size_t adlen,
                      const uint8_t *in, size_t n);

/* X25519 key pair: priv = 32 bytes from rng (NULL = system RNG), clamped by X25519 itself. */
void prim_x25519_keypair(uint8_t pub[32], uint8_t priv[32], const struct rng *rng);
/* Public key of a private scalar. */
void prim_x25519_pub(uint8_t pub[32], const uint8_t priv[32]);
/* out = X25519(priv, pub); W2W_EAUTH when the result is all zero (low-order point). */
int prim_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]);

/*
 * out = in XOR XSalsa20(key, nonce) keystream starting at byte offset `off`.
 * Any offset and length (partial 64-byte blocks handled), out may equal in.
 * pnet keeps one running offset per direction.
 */
void prim_xsalsa20_xor(uint8_t *out, const uint8_t *in, size_t n, const uint8_t nonce[24], uint64_t off,
                       const uint8_t key[32]);

#endif
