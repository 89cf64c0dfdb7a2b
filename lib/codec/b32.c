/* SPDX-License-Identifier: MIT */
#include "b32.h"

#include "err.h"

static const char b32_alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

int b32_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
	size_t olen, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (n > (size_t)INT32_MAX / 8 * 5 - 5)
		return W2W_ELIMIT;
	olen = B32_ENCODED_LEN(n);
	if (cap < olen + 1)
		return W2W_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xfff; /* at most 4 + 8 live bits */
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alpha[(acc >> bits) & 31];
		}
	}
	if (bits)
		out[o++] = b32_alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return (int)o;
}

static int b32_val(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int b32_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	size_t olen, o = 0, rem;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (len > (size_t)INT32_MAX)
		return W2W_ELIMIT;
	/* An unpadded encoder never leaves 1, 3 or 6 characters in the last group. */
	rem = len % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return W2W_EPARSE;
	for (size_t i = 0; i < len; i++)
		if (b32_val(in[i]) < 0)
			return W2W_EPARSE;
	olen = len * 5 / 8;
	/* The trailing bits that do not fill a byte must be zero (canonical form). */
	if (len) {
		unsigned spare = (unsigned)(len * 5 % 8);
		if ((unsigned)b32_val(in[len - 1]) & ((1u << spare) - 1))
			return W2W_EPARSE;
	}
	if (olen > cap)
		return W2W_ELIMIT;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 5 | (uint32_t)b32_val(in[i])) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)olen;
}
