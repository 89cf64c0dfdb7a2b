/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "rd.h"

const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

bool rd_skip(struct rd *r, size_t n)
{
	return rd_take(r, n) != NULL;
}

bool rd_sub(struct rd *r, size_t n, struct rd *out)
{
	const uint8_t *p = rd_take(r, n);

	rd_init(out, p, p ? n : 0);
	if (!p)
		out->err = true;
	return p != NULL;
}

int rd_peek(const struct rd *r)
{
	if (r->err || r->off >= r->len)
		return -1;
	return r->p[r->off];
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_be16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t rd_be32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}
