/* SPDX-License-Identifier: MIT */
#include "secmem.h"

#include <limits.h>
#include <sodium.h>

#include "err.h"

int secmem_init(void)
{
	/* sodium_init: 0 first time, 1 when already done, -1 on failure. */
	return sodium_init() < 0 ? W2W_ESTATE : 0;
}

void *secure_alloc(size_t n)
{
	void *p;

	if (secmem_init() < 0)
		return NULL;
	p = sodium_malloc(n ? n : 1);
	if (p)
		sodium_memzero(p, n ? n : 1); /* sodium_malloc fills with 0xdb */
	return p;
}

void secure_free(void *p)
{
	if (p)
		sodium_free(p); /* wipes before unmapping */
}

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

bool ct_eq(const void *a, const void *b, size_t n)
{
	return n == 0 || sodium_memcmp(a, b, n) == 0;
}

bool ct_is_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}

/*
 * Secrets in text form go through libsodium's codecs, whose running time
 * depends on the length only (no table lookups indexed by secret bytes), not
 * through codec/b64.c and codec/hex.c, which are for public data.
 * sodium_base642bin with VARIANT_ORIGINAL is as strict as codec/b64.c: padding
 * required, nothing after it, unused bits zero; with a NULL end pointer any
 * character outside the alphabet fails the whole decode.
 */
int secret_from_b64(uint8_t *out, size_t cap, const char *s, size_t n)
{
	size_t len = 0;

	size_t pad = 0;

	if (secmem_init() < 0)
		return W2W_ESTATE;
	/* Too long for out: told apart from malformed by the length alone (padded
	 * text is 4 characters per 3 bytes), as libsodium 1.0.18 does not say. */
	if (n % 4 == 0) {
		while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
			pad++;
		if (n / 4 * 3 - pad > cap)
			return W2W_ELIMIT;
	}
	if (sodium_base642bin(out, cap, s, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_memzero(out, cap);
		return W2W_EPARSE;
	}
	if (len > INT_MAX)
		return W2W_ELIMIT;
	return (int)len;
}

int secret_from_hex(uint8_t *out, size_t cap, const char *s, size_t n)
{
	size_t len = 0;

	if (secmem_init() < 0)
		return W2W_ESTATE;
	/* sodium_hex2bin accepts an odd tail silently when it ends early: demand
	 * an even count and that every character was consumed. */
	if (n % 2)
		return W2W_EPARSE;
	if (n / 2 > cap)
		return W2W_ELIMIT;
	if (sodium_hex2bin(out, cap, s, n, NULL, &len, NULL) != 0 || len != n / 2) {
		sodium_memzero(out, cap);
		return W2W_EPARSE;
	}
	return (int)len;
}

int secret_to_b64(char *out, size_t cap, const uint8_t *in, size_t n)
{
	size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

	if (secmem_init() < 0)
		return W2W_ESTATE;
	if (need > cap || need - 1 > INT_MAX)
		return W2W_ELIMIT;
	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
	return (int)(need - 1);
}
