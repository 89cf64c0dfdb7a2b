/* SPDX-License-Identifier: MIT */
/* The state-file decoder on arbitrary bytes (a damaged or hostile state file). */
#include <stdint.h>
#include <stdlib.h>

#include "nodestate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodestate s, t;
	struct buf out;

	nodestate_init(&s);
	nodestate_init(&t);
	if (nodestate_decode(data, size, &s) == 0) {
		buf_init(&out, 0);
		if (nodestate_encode(&s, &out) != 0 || nodestate_decode(out.data, out.len, &t) != 0 ||
		    t.n_peers != s.n_peers || t.has_claim != s.has_claim)
			abort();
		buf_free(&out);
	}
	nodestate_free(&s);
	nodestate_free(&t);
	return 0;
}
