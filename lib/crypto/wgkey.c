/* SPDX-License-Identifier: MIT */
#include "wgkey.h"

#include <sodium.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

void wgkey_clamp(uint8_t k[WG_KEY_LEN])
{
	/* RFC 7748 section 5 / wireguard-tools curve25519_clamp_secret. */
	k[0] &= 248;
	k[31] = (uint8_t)((k[31] & 127) | 64);
}

void wgkey_generate(uint8_t priv[WG_KEY_LEN], const struct rng *r)
{
	rng_fill(r, priv, WG_KEY_LEN);
	wgkey_clamp(priv);
}

int wgkey_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	uint8_t tmp[WG_KEY_LEN];
	int rc = 0;

	secmem_init();
	/* libsodium clamps the scalar itself, as `wg pubkey` does. */
	if (crypto_scalarmult_curve25519_base(tmp, priv) != 0)
		rc = W2W_EPARSE;
	else
		memcpy(pub, tmp, WG_KEY_LEN);
	secure_wipe(tmp, sizeof(tmp));
	return rc;
}

void wgkey_to_b64(char out[WG_KEY_B64_LEN + 1], const uint8_t k[WG_KEY_LEN])
{
	secmem_init();
	sodium_bin2base64(out, WG_KEY_B64_LEN + 1, k, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* Copies tmp to k when the decoder (rc) succeeded with exactly a key and
 * consumed all len characters; wipes tmp either way. */
static int key_decoded(uint8_t k[WG_KEY_LEN], uint8_t tmp[WG_KEY_LEN], int rc, size_t n, const char *end,
		       const char *s, size_t len)
{
	int ret = W2W_EPARSE;

	if (rc == 0 && n == WG_KEY_LEN && end == s + len) {
		memcpy(k, tmp, WG_KEY_LEN);
		ret = 0;
	}
	secure_wipe(tmp, WG_KEY_LEN);
	return ret;
}

int wgkey_from_b64(uint8_t k[WG_KEY_LEN], const char *s, size_t len)
{
	uint8_t tmp[WG_KEY_LEN];
	const char *end = NULL;
	size_t n = 0;
	int rc;

	secmem_init();
	if (len != WG_KEY_B64_LEN)
		return W2W_EPARSE;
	/* Strict: padded, no ignored characters, unused low bits zero (libsodium
	 * rejects those), all 44 characters consumed. */
	rc = sodium_base642bin(tmp, sizeof(tmp), s, len, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL);
	return key_decoded(k, tmp, rc, n, end, s, len);
}

void wgkey_to_hex(char out[WG_KEY_HEX_LEN + 1], const uint8_t k[WG_KEY_LEN])
{
	sodium_bin2hex(out, WG_KEY_HEX_LEN + 1, k, WG_KEY_LEN);
}

int wgkey_from_hex(uint8_t k[WG_KEY_LEN], const char *s, size_t len)
{
	uint8_t tmp[WG_KEY_LEN];
	const char *end = NULL;
	size_t n = 0;
	int rc;

	secmem_init();
	if (len != WG_KEY_HEX_LEN)
		return W2W_EPARSE;
	rc = sodium_hex2bin(tmp, sizeof(tmp), s, len, NULL, &n, &end);
	return key_decoded(k, tmp, rc, n, end, s, len);
}
