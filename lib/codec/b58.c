/* SPDX-License-Identifier: MIT */
#include "b58.h"

#include <string.h>

#include "err.h"

static const char b58_alpha[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int b58_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
	uint8_t digits[B58_ENCODED_MAX(B58_MAX_BYTES)]; /* base-58 digits, most significant first */
	size_t zeros = 0, ndig = 0, olen;

	if (n > B58_MAX_BYTES)
		return W2W_ELIMIT;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	/* Schoolbook base conversion: digits = digits * 256 + byte, kept little-endian. */
	for (size_t i = zeros; i < n; i++) {
		uint32_t carry = in[i];
		for (size_t j = 0; j < ndig; j++) {
			carry += (uint32_t)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[ndig++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	olen = zeros + ndig;
	if (cap < olen + 1)
		return W2W_ELIMIT;
	memset(out, '1', zeros);
	for (size_t j = 0; j < ndig; j++)
		out[zeros + j] = b58_alpha[digits[ndig - 1 - j]];
	out[olen] = '\0';
	return (int)olen;
}

static int b58_val(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b58_alpha, c);
	return p ? (int)(p - b58_alpha) : -1;
}

int b58_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	uint8_t bytes[B58_MAX_BYTES]; /* little-endian */
	size_t zeros = 0, nb = 0, olen;

	if (len > B58_ENCODED_MAX(B58_MAX_BYTES))
		return W2W_ELIMIT;
	for (size_t i = 0; i < len; i++)
		if (b58_val(in[i]) < 0)
			return W2W_EPARSE;
	while (zeros < len && in[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < len; i++) {
		uint32_t carry = (uint32_t)b58_val(in[i]);
		for (size_t j = 0; j < nb; j++) {
			carry += (uint32_t)bytes[j] * 58;
			bytes[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			if (nb == sizeof(bytes))
				return W2W_ELIMIT;
			bytes[nb++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	olen = zeros + nb;
	if (olen > cap || olen > B58_MAX_BYTES)
		return W2W_ELIMIT;
	memset(out, 0, zeros);
	for (size_t j = 0; j < nb; j++)
		out[zeros + j] = bytes[nb - 1 - j];
	return (int)olen;
}
