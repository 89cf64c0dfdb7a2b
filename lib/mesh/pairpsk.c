/* SPDX-License-Identifier: MIT */
/* Per-pair WireGuard preshared keys (see pairpsk.h). */
#include <string.h>

#include "pairpsk.h"
#include "prim.h"
#include "secmem.h"

static const char label_pair[] = "w2wesher pair-psk v1";
static const char label_kid[] = "w2wesher pair-psk key id v1";

void pairpsk_kid(uint8_t kid[PAIRPSK_KID_LEN], const uint8_t psk[32])
{
	uint8_t h[PRIM_SHA256_LEN];

	prim_hmac_sha256(h, psk, 32, label_kid, sizeof(label_kid) - 1);
	memcpy(kid, h, PAIRPSK_KID_LEN);
}

static int id_cmp(const struct peerid *a, const struct peerid *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->b, b->b, a->len);
}

void pairpsk_derive(uint8_t out[32], const uint8_t psk[32], const struct peerid *a, const struct peerid *b)
{
	uint8_t msg[sizeof(label_pair) - 1 + 2 * (1 + PEERID_MAX_LEN)];
	const struct peerid *lo = id_cmp(a, b) <= 0 ? a : b, *hi = lo == a ? b : a;
	size_t n = sizeof(label_pair) - 1;

	memcpy(msg, label_pair, n);
	msg[n++] = (uint8_t)lo->len;
	memcpy(msg + n, lo->b, lo->len);
	n += lo->len;
	msg[n++] = (uint8_t)hi->len;
	memcpy(msg + n, hi->b, hi->len);
	n += hi->len;
	prim_hmac_sha256(out, psk, 32, msg, n);
}

static int find(const uint8_t (*list)[PAIRPSK_KID_LEN], size_t n, const uint8_t *kid)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(list[i], kid, PAIRPSK_KID_LEN))
			return (int)i;
	return -1;
}

int pairpsk_choose(const uint8_t (*mine)[PAIRPSK_KID_LEN], size_t n_mine, const uint8_t (*theirs)[PAIRPSK_KID_LEN],
		   size_t n_theirs)
{
	int common[PAIRPSK_MAX_KEYS], n = 0;

	/* Key IDs are no secret (they name keys, inside the private network). */
	for (size_t i = 0; i < n_mine && n < PAIRPSK_MAX_KEYS; i++)
		if (find(theirs, n_theirs, mine[i]) >= 0 && find(mine, i, mine[i]) < 0)
			common[n++] = (int)i;
	if (n == 0)
		return -1;
	if (n == 1)
		return common[0];
	/* common[] is in our order: our first key is common[0] if it is common at all. */
	if (common[0] == 0 && find(theirs, n_theirs, mine[0]) == 0)
		return 0;
	return memcmp(mine[common[0]], mine[common[1]], PAIRPSK_KID_LEN) <= 0 ? common[0] : common[1];
}
