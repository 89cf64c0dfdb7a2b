/* SPDX-License-Identifier: MIT */
#include "hex.h"

#include "err.h"

static const char hex_digits[] = "0123456789abcdef";

size_t hex_encode(char *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 2 * n;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	if (len % 2)
		return W2W_EPARSE;
	/* Validate everything first: out is written only on success. */
	for (size_t i = 0; i < len; i++)
		if (hex_val(in[i]) < 0)
			return W2W_EPARSE;
	if (len / 2 > cap || len / 2 > (size_t)INT32_MAX)
		return W2W_ELIMIT;
	for (size_t i = 0; i < len / 2; i++)
		out[i] = (uint8_t)(hex_val(in[2 * i]) << 4 | hex_val(in[2 * i + 1]));
	return (int)(len / 2);
}
