/* SPDX-License-Identifier: MIT */
/*
 * Randomness is an input. Everything that needs random bytes takes a
 * `const struct rng *`; NULL means the system CSPRNG (libsodium
 * randombytes_buf). Tests and simulations pass a seeded generator instead and
 * get reproducible runs.
 */
#ifndef W2W_CRYPTO_RNG_H
#define W2W_CRYPTO_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	void (*fill)(void *ud, void *buf, size_t n);
	void *ud;
};

/* Fills buf with n random bytes from r (NULL r: libsodium randombytes_buf). Never fails. */
void rng_fill(const struct rng *r, void *buf, size_t n);
uint64_t rng_u64(const struct rng *r);
/* Uniform in [0, bound) without modulo bias; 0 when bound is 0. */
uint64_t rng_below(const struct rng *r, uint64_t bound);

/*
 * Deterministic generator for tests and simulations -- NOT for keys in
 * production. Output is the ChaCha20 (IETF) keystream under
 * key = SHA-256("w2wesher test rng" || le64(seed)), nonce 0, from byte 0 on;
 * it depends only on the seed and the total number of bytes drawn before, not
 * on how draws are split. Usage:
 *	struct rng_seeded s; struct rng r;
 *	rng_seeded_init(&s, &r, 42);  // r.fill/r.ud now point at s
 */
struct rng_seeded {
	uint8_t key[32];
	uint8_t block[64]; /* current keystream block */
	uint32_t counter;  /* index of the next block to generate */
	uint8_t used;      /* bytes of block already handed out (64 = none left) */
};

void rng_seeded_init(struct rng_seeded *s, struct rng *out, uint64_t seed);

#endif
