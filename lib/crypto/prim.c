/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "prim.h"
#include "rng.h"

int prim_init(void)
{
	/* sodium_init returns 1 when already initialised. */
	return sodium_init() < 0 ? -ENOSYS : 0;
}

void prim_sha256(uint8_t out[PRIM_SHA256_LEN], const void *in, size_t n)
{
	crypto_hash_sha256(out, in, n);
}

void prim_sha256_2(uint8_t out[PRIM_SHA256_LEN], const void *a, size_t an, const void *b, size_t bn)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, an);
	crypto_hash_sha256_update(&st, b, bn);
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void prim_hmac_sha256(uint8_t out[PRIM_SHA256_LEN], const void *key, size_t keylen, const void *in, size_t n)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, in, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* HMAC(key, a || b) for the HKDF chaining step. */
static void hmac2(uint8_t out[32], const uint8_t key[32], const uint8_t *a, size_t an, uint8_t b)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, a, an);
	crypto_auth_hmacsha256_update(&st, &b, 1);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Noise spec §4.3 HKDF(chaining_key, input_key_material, num_outputs). */
static void hkdf(uint8_t *o1, uint8_t *o2, uint8_t *o3, const uint8_t ck[32], const void *ikm, size_t n)
{
	uint8_t temp[32], t1[32], t2[32], t3[32];

	prim_hmac_sha256(temp, ck, 32, ikm, n);
	hmac2(t1, temp, NULL, 0, 0x01);
	hmac2(t2, temp, t1, 32, 0x02);
	if (o3)
		hmac2(t3, temp, t2, 32, 0x03);
	/* Outputs last: they may alias ck. */
	memcpy(o1, t1, 32);
	memcpy(o2, t2, 32);
	if (o3)
		memcpy(o3, t3, 32);
	sodium_memzero(temp, sizeof(temp));
	sodium_memzero(t1, sizeof(t1));
	sodium_memzero(t2, sizeof(t2));
	sodium_memzero(t3, sizeof(t3));
}

void prim_hkdf2(uint8_t o1[32], uint8_t o2[32], const uint8_t ck[32], const void *ikm, size_t n)
{
	hkdf(o1, o2, NULL, ck, ikm, n);
}

void prim_hkdf3(uint8_t o1[32], uint8_t o2[32], uint8_t o3[32], const uint8_t ck[32], const void *ikm,
                size_t n)
{
	hkdf(o1, o2, o3, ck, ikm, n);
}

/* Noise spec §12.3: 32 bits of zeros followed by the little-endian 64-bit counter. */
static void noise_nonce(uint8_t out[12], uint64_t n)
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

void prim_aead_encrypt(uint8_t *out, const uint8_t key[32], uint64_t nonce, const void *ad, size_t adlen,
                       const uint8_t *in, size_t n)
{
	uint8_t npub[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	noise_nonce(npub, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, n, ad, adlen, NULL, npub, key);
}

int prim_aead_decrypt(uint8_t *out, const uint8_t key[32], uint64_t nonce, const void *ad, size_t adlen,
                      const uint8_t *in, size_t n)
{
	uint8_t npub[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (n < crypto_aead_chacha20poly1305_IETF_ABYTES)
		return W2W_EPARSE;
	noise_nonce(npub, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, n, ad, adlen, npub, key) != 0) {
		sodium_memzero(out, n - crypto_aead_chacha20poly1305_IETF_ABYTES);
		return W2W_EAUTH;
	}
	return 0;
}

void prim_x25519_keypair(uint8_t pub[32], uint8_t priv[32], const struct rng *rng)
{
	rng_fill(rng, priv, 32);
	crypto_scalarmult_base(pub, priv);
}

void prim_x25519_pub(uint8_t pub[32], const uint8_t priv[32])
{
	crypto_scalarmult_base(pub, priv);
}

int prim_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t r[32];
	int ret = 0;

	/* libsodium returns -1 for an all-zero shared secret (low-order public key). */
	if (crypto_scalarmult(r, priv, pub) != 0 || sodium_is_zero(r, sizeof(r))) {
		ret = W2W_EAUTH;
		goto out;
	}
	memcpy(out, r, 32);
out:
	sodium_memzero(r, sizeof(r));
	return ret;
}

void prim_xsalsa20_xor(uint8_t *out, const uint8_t *in, size_t n, const uint8_t nonce[24], uint64_t off,
                       const uint8_t key[32])
{
	size_t skip = (size_t)(off % 64);

	if (n == 0)
		return;
	if (skip) {
		/* Finish the partially used 64-byte block: generate it whole, use its tail. */
		uint8_t ks[64] = {0};
		size_t k = 64 - skip < n ? 64 - skip : n;

		crypto_stream_xsalsa20_xor_ic(ks, ks, sizeof(ks), nonce, off / 64, key);
		for (size_t i = 0; i < k; i++)
			out[i] = in[i] ^ ks[skip + i];
		sodium_memzero(ks, sizeof(ks));
		out += k;
		in += k;
		n -= k;
		off += k;
	}
	if (n)
		crypto_stream_xsalsa20_xor_ic(out, in, n, nonce, off / 64, key);
}
