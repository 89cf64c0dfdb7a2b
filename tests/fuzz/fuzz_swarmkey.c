/* SPDX-License-Identifier: MIT */
/* swarm.key reader: an accepted file re-formats and re-parses to the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarmkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[SWARMKEY_LEN], again[SWARMKEY_LEN];
	char txt[SWARMKEY_TEXT_LEN + 1];

	if (swarmkey_parse(key, (const char *)data, size) != 0)
		return 0;
	if (swarmkey_format(txt, sizeof(txt), key) != SWARMKEY_TEXT_LEN)
		abort();
	if (swarmkey_parse(again, txt, SWARMKEY_TEXT_LEN) != 0 || memcmp(key, again, sizeof(key)) != 0)
		abort();
	return 0;
}
