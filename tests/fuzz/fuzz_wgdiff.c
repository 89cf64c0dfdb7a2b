/* SPDX-License-Identifier: MIT */
/*
 * The diff engine (wg/wgdiff.h) on arbitrary pairs of devices: the input is
 * two `wg setconf` texts (desired, actual) separated by a line "===". Both
 * are normalised the way a device stores them (wgdiff_apply onto an empty
 * device: one owner per allowed IP). Invariants: the update never replaces
 * all peers, holds exactly added + removed + updated entries, and applying it
 * converges: the diff of desired against the result is empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgconf.h"
#include "wgdiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wgdevice *load(const char *p, size_t n)
{
	struct wgdevice *d = NULL, *canon;

	if (wgconf_parse(p, n, &d, NULL) != 0)
		return NULL;
	canon = wgdev_new();
	if (!canon || wgdiff_apply(canon, d) != 0)
		abort();
	wgdev_free(d);
	return canon;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *sep = NULL;
	struct wgdevice *des = NULL, *act = NULL, *upd = NULL, *upd2 = NULL;
	struct wgdiff_opts o = {.now_sec = 1000, .keep_roamed_secs = 0};
	struct wgdiff_stats st;

	for (size_t i = 0; i + 5 <= size; i++) {
		if (memcmp(s + i, "\n===\n", 5) == 0) {
			sep = s + i;
			break;
		}
	}
	if (!sep)
		return 0;
	des = load(s, (size_t)(sep - s) + 1);
	act = load(sep + 5, size - (size_t)(sep - s) - 5);
	if (!des || !act)
		goto out;
	if (wgdiff(des, act, &o, &upd, &st) != 0)
		goto out; /* e.g. -EINVAL on duplicate keys is fine */
	if (upd->flags & WGDEVICE_REPLACE_PEERS)
		abort();
	if (wgdev_peer_count(upd) != st.added + st.removed + st.updated)
		abort();
	if (wgdiff_apply(act, upd) != 0)
		abort();
	if (wgdiff(des, act, &o, &upd2, NULL) != 0 || !wgdiff_is_empty(upd2))
		abort();
out:
	wgdev_free(des);
	wgdev_free(act);
	wgdev_free(upd);
	wgdev_free(upd2);
	return 0;
}
