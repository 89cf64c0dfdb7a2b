/* SPDX-License-Identifier: MIT */
#include "varint.h"

#include "err.h"

size_t uvarint_encode(uint8_t out[UVARINT_BUF_LEN], uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int uvarint_put(struct buf *b, uint64_t v)
{
	uint8_t tmp[UVARINT_BUF_LEN];

	return buf_append(b, tmp, uvarint_encode(tmp, v));
}

int uvarint_decode(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < UVARINT_MAX_LEN; i++) {
		if (i == n)
			return 0; /* truncated, more may follow */
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			/* A last byte of zero after other bytes is a padded, non-minimal form. */
			if (p[i] == 0 && i > 0)
				return W2W_EPARSE;
			*v = x;
			return (int)i + 1;
		}
	}
	return W2W_EPARSE; /* longer than 9 bytes */
}

bool rd_uvarint(struct rd *r, uint64_t *v)
{
	uint64_t x;
	int n;

	if (r->err)
		return false;
	n = uvarint_decode(r->p + r->off, rd_left(r), &x);
	if (n <= 0) {
		rd_fail(r);
		return false;
	}
	r->off += (size_t)n;
	*v = x;
	return true;
}
