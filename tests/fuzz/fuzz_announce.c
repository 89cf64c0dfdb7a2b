/* SPDX-License-Identifier: MIT */
/* Announcement decoder on arbitrary bytes; a successful decode must re-encode and decode identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct announce a, b;
	struct buf out;

	if (ann_decode(data, size, &a) != 0)
		return 0;
	buf_init(&out, 0);
	if (ann_encode(&a, &out) != 0 || ann_decode(out.data, out.len, &b) != 0 || b.seq != a.seq ||
	    b.n_claims != a.n_claims || b.n_eps != a.n_eps || strcmp(a.name, b.name) != 0)
		abort();
	buf_free(&out);
	return 0;
}
