/* SPDX-License-Identifier: MIT */
/*
 * base58btc and peer-ID text. Accepted text re-encodes to itself (base58 has
 * one spelling per byte string); any bytes round-trip through encode/decode;
 * a parsed peer ID prints in both forms and parses back equal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b58.h"
#include "peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[B58_MAX_BYTES];
	static char txt[B58_ENCODED_MAX(B58_MAX_BYTES) + 1];
	struct peerid id, back;
	int n, t;

	n = b58_decode(bin, sizeof(bin), (const char *)data, size);
	if (n >= 0) {
		t = b58_encode(txt, sizeof(txt), bin, (size_t)n);
		if (t != (int)size || memcmp(txt, data, size) != 0)
			abort();
	}
	if (size <= B58_MAX_BYTES) {
		t = b58_encode(txt, sizeof(txt), data, size);
		if (t < 0 || (size_t)t > B58_ENCODED_MAX(size))
			abort();
		n = b58_decode(bin, sizeof(bin), txt, (size_t)t);
		if (n != (int)size || memcmp(bin, data, size) != 0)
			abort();
	}
	if (peerid_parse(&id, (const char *)data, size) == 0) {
		static char s[PEERID_STR_MAX];
		if (peerid_to_b58(s, sizeof(s), &id) < 0 || peerid_parse(&back, s, strlen(s)) != 0 ||
		    !peerid_eq(&id, &back))
			abort();
		if (peerid_to_cid(s, sizeof(s), &id) < 0 || peerid_parse(&back, s, strlen(s)) != 0 ||
		    !peerid_eq(&id, &back))
			abort();
	}
	return 0;
}
