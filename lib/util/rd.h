/* SPDX-License-Identifier: MIT */
/*
 * Bounded reader: every parser of untrusted input reads through this (the
 * c-ares ares_buf idea). A failed read sets a sticky error and returns zeros,
 * so a parser can read a whole structure and check rd_ok() once at the end.
 */
#ifndef W2W_UTIL_RD_H
#define W2W_UTIL_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
};

static inline void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = (const uint8_t *)p;
	r->len = len;
	r->off = 0;
	r->err = false;
}
static inline size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}
static inline bool rd_ok(const struct rd *r)
{
	return !r->err;
}
static inline bool rd_eof(const struct rd *r)
{
	return r->off == r->len;
}

uint8_t rd_u8(struct rd *r);
uint16_t rd_be16(struct rd *r);
uint32_t rd_be32(struct rd *r);
/* Returns a pointer to the next n bytes and advances; NULL on short input. */
const uint8_t *rd_take(struct rd *r, size_t n);
bool rd_skip(struct rd *r, size_t n);
/* Sub-reader over the next n bytes (advances this one). */
bool rd_sub(struct rd *r, size_t n, struct rd *out);
/* Peeks without consuming; -1 at end. */
int rd_peek(const struct rd *r);
/* Marks the reader failed (used by parsers on semantic errors). */
static inline void rd_fail(struct rd *r)
{
	r->err = true;
}

#endif
