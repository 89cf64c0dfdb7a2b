/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "err.h"
#include "rotate.h"

static const uint8_t magic[4] = {'W', '2', 'W', 'K'};

void rot_keyfile_encode(const struct rot_keys *k, uint8_t out[ROT_KEYFILE_LEN])
{
	memcpy(out, magic, 4);
	out[4] = ROT_KEYFILE_VERSION;
	out[5] = k->has_next ? 1 : 0;
	memcpy(out + 6, k->base_pub, 32);
	memcpy(out + 38, k->cur, 32);
	if (k->has_next)
		memcpy(out + 70, k->next, 32);
	else
		memset(out + 70, 0, 32);
}

static bool zero32(const uint8_t *p)
{
	uint8_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= p[i];
	return acc == 0;
}

int rot_keyfile_decode(const uint8_t *p, size_t n, struct rot_keys *out)
{
	if (n != ROT_KEYFILE_LEN || memcmp(p, magic, 4) != 0 || p[4] != ROT_KEYFILE_VERSION || p[5] > 1)
		return W2W_EPARSE;
	/* an all-zero key is no key; a next key only with its flag */
	if (zero32(p + 38) || (p[5] ? zero32(p + 70) : !zero32(p + 70)))
		return W2W_EPARSE;
	memcpy(out->base_pub, p + 6, 32);
	memcpy(out->cur, p + 38, 32);
	out->has_next = p[5] != 0;
	if (out->has_next)
		memcpy(out->next, p + 70, 32);
	else
		memset(out->next, 0, 32);
	return 0;
}

uint64_t rot_sched_delay(uint64_t interval_us, uint64_t seed)
{
	uint64_t span = interval_us / 100 * ROT_JITTER_PCT, h = seed;

	/* splitmix64: spreads consecutive seeds */
	h += 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	if (!span)
		return interval_us;
	return interval_us - span + h % (2 * span + 1);
}

void rot_retire(struct rot_retired *r, const uint8_t key[32], uint64_t now)
{
	for (size_t i = 0; i < r->n; i++)
		if (!memcmp(r->e[i].key, key, 32)) {
			r->e[i].at_us = now;
			return;
		}
	if (r->n == ROT_MAX_RETIRED) {
		memmove(&r->e[0], &r->e[1], (ROT_MAX_RETIRED - 1) * sizeof(r->e[0]));
		r->n--;
	}
	memcpy(r->e[r->n].key, key, 32);
	r->e[r->n].at_us = now;
	r->n++;
}

void rot_unretire(struct rot_retired *r, const uint8_t key[32])
{
	for (size_t i = 0; i < r->n; i++)
		if (!memcmp(r->e[i].key, key, 32)) {
			memmove(&r->e[i], &r->e[i + 1], (r->n - i - 1) * sizeof(r->e[0]));
			r->n--;
			return;
		}
}

void rot_retired_prune(struct rot_retired *r, uint64_t now)
{
	size_t j = 0;

	for (size_t i = 0; i < r->n; i++)
		if (now - r->e[i].at_us < ROT_RETIRED_KEEP_US)
			r->e[j++] = r->e[i];
	r->n = j;
}
