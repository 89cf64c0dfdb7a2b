/* SPDX-License-Identifier: MIT */
/* The WireGuard key file decoder (StateDir/wgkey, mesh/rotate.h) on arbitrary
 * bytes (a damaged file): a decoded file re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rotate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rot_keys k;
	uint8_t out[ROT_KEYFILE_LEN];

	if (rot_keyfile_decode(data, size, &k) == 0) {
		rot_keyfile_encode(&k, out);
		if (size != ROT_KEYFILE_LEN || memcmp(out, data, size) != 0)
			abort();
	}
	return 0;
}
