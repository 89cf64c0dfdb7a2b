/* SPDX-License-Identifier: MIT */
/* INI tokenizer: every token must lie inside the input and lines must advance. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *base = (const char *)data, *why;
	struct ini p;
	struct ini_tok t;
	unsigned last = 0, guard = 0;
	int rc;

	ini_init(&p, data, size);
	while ((rc = ini_next(&p, &t, &why)) == 1) {
		if (t.line != last + 1 || t.off + t.len > size || t.end > size || t.end < t.off + t.len)
			abort();
		if (t.name && (t.name < base || t.name + t.name_len > base + size))
			abort();
		if (t.value && (t.value < base || t.value + t.value_len > base + size))
			abort();
		if (t.kind == INI_KEY && (!t.name_len || !t.value))
			abort();
		last = t.line;
		if (++guard > INI_MAX_LINES)
			abort();
	}
	if (rc < 0 && !why)
		abort();
	return 0;
}
