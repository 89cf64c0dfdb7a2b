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
	/* Private keys pass here too: the constant-time encoder. */
	secret_to_b64(out, WG_KEY_B64_LEN + 1, k, WG_KEY_LEN);
}

/* Strict: exactly a key's worth of text, padded, no ignored characters,
 * unused low bits zero (libsodium rejects those), decoded in constant time. */
static int key_decode(uint8_t k[WG_KEY_LEN], int (*dec)(uint8_t *, size_t, const char *, size_t), const char *s,
		      size_t len, size_t want_len)
{
	uint8_t tmp[WG_KEY_LEN];
	int rc = W2W_EPARSE;

	if (len != want_len)
		goto out;
	if (dec(tmp, sizeof(tmp), s, len) != WG_KEY_LEN)
		goto out;
	memcpy(k, tmp, WG_KEY_LEN);
	rc = 0;
out:
	secure_wipe(tmp, sizeof(tmp));
	return rc;
}

int wgkey_from_b64(uint8_t k[WG_KEY_LEN], const char *s, size_t len)
{
	return key_decode(k, secret_from_b64, s, len, WG_KEY_B64_LEN);
}

void wgkey_to_hex(char out[WG_KEY_HEX_LEN + 1], const uint8_t k[WG_KEY_LEN])
{
	secmem_init();
	sodium_bin2hex(out, WG_KEY_HEX_LEN + 1, k, WG_KEY_LEN);
}

int wgkey_from_hex(uint8_t k[WG_KEY_LEN], const char *s, size_t len)
{
	return key_decode(k, secret_from_hex, s, len, WG_KEY_HEX_LEN);
}
