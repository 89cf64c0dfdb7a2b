/* SPDX-License-Identifier: MIT */
/*
 * Strict base64, base32 and hex decoders: accepted text re-encodes to exactly
 * itself (base64/base32: one spelling per byte string; hex: after lowercasing),
 * and arbitrary bytes round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b32.h"
#include "b64.h"
#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[FUZZ_MAX];
	static char txt[2 * FUZZ_MAX + 16];
	const char *s = (const char *)data;
	int n, t;

	if (size > FUZZ_MAX)
		return 0;
	n = b64_decode(bin, sizeof(bin), s, size);
	if (n >= 0) {
		t = b64_encode(txt, sizeof(txt), bin, (size_t)n);
		if (t != (int)size || memcmp(txt, s, size) != 0)
			abort();
	}
	n = b32_decode(bin, sizeof(bin), s, size);
	if (n >= 0) {
		t = b32_encode(txt, sizeof(txt), bin, (size_t)n);
		if (t != (int)size || memcmp(txt, s, size) != 0)
			abort();
	}
	n = hex_decode(bin, sizeof(bin), s, size);
	if (n >= 0) {
		hex_encode(txt, bin, (size_t)n);
		for (size_t i = 0; i < size; i++) {
			char c = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] + 32) : s[i];
			if (txt[i] != c)
				abort();
		}
	}
	/* Bytes -> text -> bytes. */
	t = b64_encode(txt, sizeof(txt), data, size);
	if (t != (int)B64_ENCODED_LEN(size) || b64_decode(bin, sizeof(bin), txt, (size_t)t) != (int)size ||
	    memcmp(bin, data, size) != 0)
		abort();
	t = b32_encode(txt, sizeof(txt), data, size);
	if (t != (int)B32_ENCODED_LEN(size) || b32_decode(bin, sizeof(bin), txt, (size_t)t) != (int)size ||
	    memcmp(bin, data, size) != 0)
		abort();
	return 0;
}
