/* SPDX-License-Identifier: MIT */
/* crypto/prim: published vectors for every wrapper, plus the properties the
 * Noise and pnet engines rely on (nonce layout, running XSalsa20 offset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "err.h"
#include "prim.h"
#include "rng.h"
#include "testutil.h"

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
	uint8_t w[256];

	assert_true(n <= sizeof(w));
	unhex_exact(w, n, want);
	assert_memory_equal(got, w, n);
}

static void test_sha256_hmac(void **state)
{
	uint8_t out[32];

	(void)state;
	/* FIPS 180-2 "abc". */
	prim_sha256(out, "abc", 3);
	assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	prim_sha256_2(out, "a", 1, "bc", 2);
	assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* Noise: h after MixHash(empty prologue) for Noise_XX_25519_ChaChaPoly_SHA256. */
	prim_sha256_2(out, "Noise_XX_25519_ChaChaPoly_SHA256", 32, "", 0);
	assert_hex(out, 32, "f3d15e6108ed9556171207baa58f97d29a13c6be40595166066e2e0958dc002d");
	/* RFC 4231 test case 2. */
	prim_hmac_sha256(out, "Jefe", 4, "what do ya want for nothing?", 28);
	assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_hkdf(void **state)
{
	/* js-libp2p-noise test/protocol.spec.ts "Test get HKDF". */
	uint8_t ck[32], ikm[64], o1[32], o2[32], o3[32], p1[32], p2[32];

	(void)state;
	unhex_exact(ck, 32, "4e6f6973655f58585f32353531395f58436861436861506f6c795f5348413235");
	unhex_exact(ikm, 64,
		    "a3eae50ea37a47e8a7aa0c7cd8e16528670536dcd538cebfd724fb68ce44f191"
		    "0ad898860666227d4e8dd50d22a9a64d1c0a6f47ace092510161e9e442953da3");
	prim_hkdf3(o1, o2, o3, ck, ikm, sizeof(ikm));
	assert_hex(o1, 32, "cc5659adff12714982f806e2477a8d5ddd071def4c29bb38777b7e37046f6914");
	assert_hex(o2, 32, "a16ada915e551ab623f38be674bb4ef15d428ae9d80688899c9ef9b62ef208fa");
	assert_hex(o3, 32, "ff67bf9727e31b06efc203907e6786667d2c7a74ac412b4d31a80ba3fd766f68");
	/* Two outputs are the first two of three; outputs may alias ck (MixKey does that). */
	prim_hkdf2(p1, p2, ck, ikm, sizeof(ikm));
	assert_memory_equal(p1, o1, 32);
	assert_memory_equal(p2, o2, 32);
	prim_hkdf2(ck, p2, ck, ikm, sizeof(ikm));
	assert_memory_equal(ck, o1, 32);
	assert_memory_equal(p2, o2, 32);
}

static void test_aead_nonce_layout(void **state)
{
	uint8_t key[32], ct[64 + 16], ref[64 + 16], pt[64], back[64];
	uint8_t npub[12] = {0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	unsigned long long clen;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x80 + i);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	/* Noise §12.3: 4 zero bytes then the counter little-endian. */
	prim_aead_encrypt(ct, key, 0x0102030405060708ull, "ad", 2, pt, sizeof(pt));
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, &clen, pt, sizeof(pt), (const uint8_t *)"ad", 2, NULL,
	                                          npub, key);
	assert_int_equal(clen, sizeof(ref));
	assert_memory_equal(ct, ref, sizeof(ref));

	assert_int_equal(prim_aead_decrypt(back, key, 0x0102030405060708ull, "ad", 2, ct, sizeof(ct)), 0);
	assert_memory_equal(back, pt, sizeof(pt));
	/* Wrong nonce, wrong ad, flipped bit, too short. */
	assert_int_equal(prim_aead_decrypt(back, key, 0x0102030405060709ull, "ad", 2, ct, sizeof(ct)),
	                 W2W_EAUTH);
	assert_int_equal(prim_aead_decrypt(back, key, 0x0102030405060708ull, "aD", 2, ct, sizeof(ct)),
	                 W2W_EAUTH);
	ct[10] ^= 1;
	assert_int_equal(prim_aead_decrypt(back, key, 0x0102030405060708ull, "ad", 2, ct, sizeof(ct)),
	                 W2W_EAUTH);
	assert_int_equal(prim_aead_decrypt(back, key, 0, NULL, 0, ct, 15), W2W_EPARSE);
	/* In place, and an empty plaintext (tag only). */
	memcpy(ct, pt, sizeof(pt));
	prim_aead_encrypt(ct, key, 7, NULL, 0, ct, sizeof(pt));
	assert_memory_not_equal(ct, pt, sizeof(pt));
	assert_int_equal(prim_aead_decrypt(ct, key, 7, NULL, 0, ct, sizeof(ct)), 0);
	assert_memory_equal(ct, pt, sizeof(pt));
	prim_aead_encrypt(ct, key, 7, NULL, 0, pt, 0);
	assert_int_equal(prim_aead_decrypt(back, key, 7, NULL, 0, ct, 16), 0);
}

static void test_x25519(void **state)
{
	/* RFC 7748 §6.1. */
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32], zero[32] = {0}, one[32] = {1};

	(void)state;
	unhex_exact(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex_exact(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	prim_x25519_pub(apub, a);
	prim_x25519_pub(bpub, b);
	assert_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(prim_x25519(s1, a, bpub), 0);
	assert_int_equal(prim_x25519(s2, b, apub), 0);
	assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(s1, s2, 32);
	/* Low-order points give an all-zero secret: refused, output untouched. */
	memset(s1, 0xee, sizeof(s1));
	assert_int_equal(prim_x25519(s1, a, zero), W2W_EAUTH);
	assert_int_equal(prim_x25519(s1, a, one), W2W_EAUTH);
	assert_int_equal(s1[0], 0xee);
}

static void test_x25519_keypair_rng(void **state)
{
	struct rng_seeded s1, s2;
	struct rng r1, r2;
	uint8_t pub1[32], priv1[32], pub2[32], priv2[32], chk[32];

	(void)state;
	rng_seeded_init(&s1, &r1, 5);
	rng_seeded_init(&s2, &r2, 5);
	prim_x25519_keypair(pub1, priv1, &r1);
	prim_x25519_keypair(pub2, priv2, &r2);
	assert_memory_equal(priv1, priv2, 32); /* the private key is the rng output */
	assert_memory_equal(pub1, pub2, 32);
	prim_x25519_pub(chk, priv1);
	assert_memory_equal(chk, pub1, 32);
	prim_x25519_keypair(pub2, priv2, NULL);
	assert_memory_not_equal(priv1, priv2, 32);
}

static void test_xsalsa20_vector(void **state)
{
	/* libsodium test/default/stream.c: SHA-256 of the first 4 MiB of
	 * XSalsa20(firstkey, nonce), here produced in odd-sized pieces with a
	 * running offset, as pnet does. */
	const size_t total = 4194304;
	uint8_t key[32], nonce[24], h[32];
	uint8_t *ks = calloc(1, total);
	struct rng_seeded s;
	struct rng r;
	size_t off = 0;

	(void)state;
	assert_non_null(ks);
	unhex_exact(key, 32, "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389");
	unhex_exact(nonce, 24, "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
	rng_seeded_init(&s, &r, 1);
	while (off < total) {
		size_t n = (size_t)rng_below(&r, 300) + 1;

		if (n > total - off)
			n = total - off;
		prim_xsalsa20_xor(ks + off, ks + off, n, nonce, off, key);
		off += n;
	}
	prim_sha256(h, ks, total);
	assert_hex(h, 32, "662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2");
	free(ks);
}

static void test_xsalsa20_offsets(void **state)
{
	uint8_t key[32], nonce[24], pt[1000], one[1000], piece[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	memset(key, 0x42, sizeof(key));
	memset(nonce, 0x24, sizeof(nonce));
	prim_xsalsa20_xor(one, pt, sizeof(pt), nonce, 0, key);
	/* Every split point, including inside and at the edges of 64-byte blocks. */
	for (size_t cut = 0; cut <= 200; cut++) {
		prim_xsalsa20_xor(piece, pt, cut, nonce, 0, key);
		prim_xsalsa20_xor(piece + cut, pt + cut, sizeof(pt) - cut, nonce, cut, key);
		assert_memory_equal(piece, one, sizeof(pt));
	}
	/* A 1-byte piece inside a block, then decrypting back. */
	prim_xsalsa20_xor(piece, one + 130, 1, nonce, 130, key);
	assert_int_equal(piece[0], pt[130]);
	prim_xsalsa20_xor(piece, pt, 0, nonce, 5, key); /* n == 0 is a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_hmac),        cmocka_unit_test(test_hkdf),
	    cmocka_unit_test(test_aead_nonce_layout),  cmocka_unit_test(test_x25519),
	    cmocka_unit_test(test_x25519_keypair_rng), cmocka_unit_test(test_xsalsa20_vector),
	    cmocka_unit_test(test_xsalsa20_offsets),
	};

	if (prim_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
