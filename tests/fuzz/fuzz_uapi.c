/* SPDX-License-Identifier: MIT */
/*
 * UAPI response parsing (os/wg_uapi.h): framing, `get=1` and `set=1`
 * responses. Checks invariants, not just "no crash": a parsed device
 * re-serialised as a set request parses as valid text, and the framing
 * length never exceeds the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wguapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct wgdevice *d = NULL;
	long n = wg_uapi_response_len(s, size);
	int r;

	if (n > 0 && (size_t)n > size)
		abort();
	r = wg_uapi_parse_get(s, size, "fz0", NULL, &d, NULL);
	if (r == 0) {
		struct buf b;
		const struct wgpeer *p;
		const struct wgallowedip *a;

		if (!d || n <= 0 || (size_t)n != size)
			abort(); /* an accepted response is exactly one frame */
		wgdev_for_each_peer(d, p) wgpeer_for_each_allowedip(p, a) if (!wgallowedip_valid(a)) abort();
		buf_init(&b, 0);
		if (wg_uapi_build_set(d, &b) != 0)
			abort();
		if (b.len < 7 || memcmp(b.data, "set=1\n", 6) != 0 || b.data[b.len - 1] != '\n')
			abort();
		buf_free_wipe(&b);
		wgdev_free(d);
	} else if (d) {
		abort(); /* output written only on success */
	}
	r = wg_uapi_parse_set(s, size);
	if (r > 0)
		abort();
	return 0;
}
