/* SPDX-License-Identifier: MIT */
#include "b64.h"

#include "err.h"

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
	size_t olen, o = 0, i = 0;

	if (n > (size_t)INT32_MAX / 4 * 3 - 3)
		return W2W_ELIMIT;
	olen = B64_ENCODED_LEN(n);
	if (cap < olen + 1)
		return W2W_ELIMIT;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = b64_alpha[(v >> 6) & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alpha[v >> 18];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = b64_alpha[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int b64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	size_t pad = 0, olen, o = 0;

	if (len % 4)
		return W2W_EPARSE;
	if (len > (size_t)INT32_MAX)
		return W2W_ELIMIT;
	if (len >= 4 && in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	/* Every other character must be in the alphabet ('=' only as padding). */
	for (size_t i = 0; i < len - pad; i++)
		if (b64_val(in[i]) < 0)
			return W2W_EPARSE;
	/* Canonical form: the bits the padding leaves unused must be zero. */
	if (pad == 1 && (b64_val(in[len - 2]) & 3))
		return W2W_EPARSE;
	if (pad == 2 && (b64_val(in[len - 3]) & 15))
		return W2W_EPARSE;
	olen = len / 4 * 3 - pad;
	if (olen > cap)
		return W2W_ELIMIT;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		for (size_t j = 0; j < 4; j++)
			v = v << 6 | (uint32_t)(in[i + j] == '=' ? 0 : b64_val(in[i + j]));
		/* Straight into out: decoded bytes may be key material, leave no stack copy. */
		for (int j = 2; j >= 0 && o < olen; j--)
			out[o++] = (uint8_t)(v >> (8 * j));
	}
	return (int)olen;
}
