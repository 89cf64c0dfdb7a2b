/* SPDX-License-Identifier: MIT */
/*
 * Configuration loader on top of the INI tokenizer: any input either loads
 * and dumps, or fails with a "name:LINE: ..." message. Secrets never show in
 * the dump.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct w2w_config *c = NULL;
	char *dump = NULL;
	int rc;

	if (w2w_config_new(&c) < 0)
		abort();
	rc = config_parse_text(c, "fuzz.ini", (const char *)data, size);
	if (rc < 0) {
		if (strncmp(w2w_config_error(c), "fuzz.ini:", 9) != 0)
			abort();
	} else {
		if (w2w_config_dump(c, &dump) <= 0)
			abort();
		if (c->has_psk && memmem(dump, strlen(dump), "PSK = <redacted>", 16) == NULL)
			abort();
		free(dump);
	}
	w2w_config_free(c);
	return 0;
}
