/* SPDX-License-Identifier: MIT */
/* Bounded libp2p degree: see degree.h and docs/mesh.md "Scale". */
#include "degree.h"

#include <string.h>

bool deg_bounded(size_t members)
{
	return members > DEG_FULL_MAX;
}

/* FNV-1a 64: the same value on every node (no secret, no seed), which is what
 * makes the chords symmetric and agreed; a member cannot choose whom it is
 * chorded to except by choosing its key, which costs it nothing it could not
 * get by dialling anyway. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int id_cmp(const struct peerid *a, const struct peerid *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->b, b->b, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

bool deg_wanted(size_t n, size_t members, size_t ra, size_t rb, const struct peerid *a, const struct peerid *b)
{
	size_t d;
	uint64_t h;

	if (members < n)
		members = n;
	if (!deg_bounded(members))
		return true;
	d = ra > rb ? ra - rb : rb - ra;
	if (d > n - d)
		d = n - d;
	if (d <= DEG_RING)
		return true;
	if (id_cmp(a, b) > 0) {
		const struct peerid *t = a;

		a = b;
		b = t;
	}
	h = fnv(fnv(14695981039346656037ull, a->b, a->len), b->b, b->len);
	/* h / 2^64 < DEG_CHORDS / (members - 1), without overflow */
	return (h >> 32) * (uint64_t)(members - 1) < (uint64_t)DEG_CHORDS << 32;
}
