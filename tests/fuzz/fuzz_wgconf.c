/* SPDX-License-Identifier: MIT */
/*
 * `wg setconf` file parser (wg/wgconf.h). Invariant: whatever parses
 * prints (showconf layout) and the printed text parses back to the same
 * configuration and prints byte-identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgdevice *d = NULL, *d2 = NULL;
	struct wgconf_err err;
	struct buf b, b2;

	if (wgconf_parse((const char *)data, size, &d, &err) != 0) {
		if (d || strlen(err.msg) == 0)
			abort(); /* errors always say why */
		return 0;
	}
	buf_init(&b, 0);
	buf_init(&b2, 0);
	if (wgconf_print(d, &b) != 0)
		abort();
	if (wgconf_parse((const char *)b.data, b.len, &d2, &err) != 0)
		abort();
	if (wgdev_config_equal(d, d2) != 1)
		abort();
	if (wgconf_print(d2, &b2) != 0 || b.len != b2.len || memcmp(b.data, b2.data, b.len) != 0)
		abort();
	buf_free_wipe(&b);
	buf_free_wipe(&b2);
	wgdev_free(d);
	wgdev_free(d2);
	return 0;
}
