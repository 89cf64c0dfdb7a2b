/* SPDX-License-Identifier: MIT */
#include "rng.h"

#include <sodium.h>
#include <string.h>

#include "secmem.h"

void rng_fill(const struct rng *r, void *buf, size_t n)
{
	if (n == 0)
		return;
	if (r && r->fill) {
		r->fill(r->ud, buf, n);
		return;
	}
	/* randombytes_buf is safe before sodium_init, but init once for its own RNG setup. */
	secmem_init();
	randombytes_buf(buf, n);
}

uint64_t rng_u64(const struct rng *r)
{
	uint8_t b[8];
	uint64_t v = 0;

	rng_fill(r, b, sizeof(b));
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

uint64_t rng_below(const struct rng *r, uint64_t bound)
{
	uint64_t lim, v;

	if (bound == 0)
		return 0;
	/* Reject the top partial range so every residue is equally likely. */
	lim = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;
	do
		v = rng_u64(r);
	while (v > lim);
	return v % bound;
}

static void rng_seeded_fill(void *ud, void *buf, size_t n)
{
	static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	struct rng_seeded *s = ud;
	uint8_t *out = buf;

	while (n) {
		size_t k;

		if (s->used == 64) {
			memset(s->block, 0, sizeof(s->block));
			crypto_stream_chacha20_ietf_xor_ic(s->block, s->block, sizeof(s->block), nonce,
							   s->counter++, s->key);
			s->used = 0;
		}
		k = 64u - s->used;
		if (k > n)
			k = n;
		memcpy(out, s->block + s->used, k);
		s->used = (uint8_t)(s->used + k);
		out += k;
		n -= k;
	}
}

void rng_seeded_init(struct rng_seeded *s, struct rng *out, uint64_t seed)
{
	static const char label[] = "w2wesher test rng";
	uint8_t in[sizeof(label) - 1 + 8];

	memcpy(in, label, sizeof(label) - 1);
	for (int i = 0; i < 8; i++)
		in[sizeof(label) - 1 + i] = (uint8_t)(seed >> (8 * i));
	secmem_init();
	crypto_hash_sha256(s->key, in, sizeof(in));
	s->counter = 0;
	s->used = 64;
	out->fill = rng_seeded_fill;
	out->ud = s;
}
