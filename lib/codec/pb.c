/* SPDX-License-Identifier: MIT */
#include "pb.h"

#include <string.h>

#include "err.h"
#include "varint.h"

int pb_put_tag(struct buf *b, uint32_t field, unsigned wire)
{
	if (field == 0 || field > PB_MAX_FIELD || wire > 7)
		return W2W_EPARSE;
	return uvarint_put(b, (uint64_t)field << 3 | wire);
}

/* Writes tag and value together so a failure leaves b unchanged. */
static int pb_put_tag_then(struct buf *b, uint32_t field, unsigned wire, const uint8_t *v, size_t vn,
			   const void *p, size_t n)
{
	uint8_t tag[UVARINT_BUF_LEN];
	size_t tn;
	int rc;

	if (field == 0 || field > PB_MAX_FIELD)
		return W2W_EPARSE;
	tn = uvarint_encode(tag, (uint64_t)field << 3 | wire);
	if (n > SIZE_MAX - tn - vn)
		return W2W_ELIMIT;
	rc = buf_reserve(b, tn + vn + n);
	if (rc < 0)
		return rc;
	buf_append(b, tag, tn);
	buf_append(b, v, vn);
	if (n)
		buf_append(b, p, n);
	return 0;
}

int pb_put_varint(struct buf *b, uint32_t field, uint64_t v)
{
	uint8_t tmp[UVARINT_BUF_LEN];

	return pb_put_tag_then(b, field, PB_VARINT, tmp, uvarint_encode(tmp, v), NULL, 0);
}

int pb_put_bytes(struct buf *b, uint32_t field, const void *p, size_t n)
{
	uint8_t tmp[UVARINT_BUF_LEN];

	return pb_put_tag_then(b, field, PB_LEN, tmp, uvarint_encode(tmp, n), p, n);
}

int pb_put_string(struct buf *b, uint32_t field, const char *s)
{
	return pb_put_bytes(b, field, s, strlen(s));
}

int pb_put_fixed64(struct buf *b, uint32_t field, uint64_t v)
{
	uint8_t tmp[8];

	for (int i = 0; i < 8; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return pb_put_tag_then(b, field, PB_I64, tmp, 8, NULL, 0);
}

int pb_put_fixed32(struct buf *b, uint32_t field, uint32_t v)
{
	uint8_t tmp[4];

	for (int i = 0; i < 4; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return pb_put_tag_then(b, field, PB_I32, tmp, 4, NULL, 0);
}

bool pb_rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 10; i++) {
		uint8_t c = rd_u8(r);

		if (!rd_ok(r))
			return false;
		/* The 10th byte holds only bit 63: anything more overflows 64 bits. */
		if (i == 9 && c > 1)
			break;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	rd_fail(r);
	return false;
}

int pb_next(struct rd *r, struct pb_field *f)
{
	uint64_t key, v = 0;
	const uint8_t *p = NULL;
	size_t len = 0;
	unsigned wire;

	if (!rd_ok(r))
		return W2W_EPARSE;
	if (rd_eof(r))
		return 0;
	if (!pb_rd_varint(r, &key))
		return W2W_EPARSE;
	wire = (unsigned)(key & 7);
	if (key >> 3 == 0 || key >> 3 > PB_MAX_FIELD)
		goto bad;
	switch (wire) {
	case PB_VARINT:
		if (!pb_rd_varint(r, &v))
			goto bad;
		break;
	case PB_I64:
		p = rd_take(r, 8);
		if (!p)
			goto bad;
		for (int i = 7; i >= 0; i--)
			v = v << 8 | p[i];
		len = 8;
		break;
	case PB_LEN:
		if (!pb_rd_varint(r, &v) || v > rd_left(r))
			goto bad;
		len = (size_t)v;
		p = rd_take(r, len);
		if (!rd_ok(r))
			goto bad;
		break;
	case PB_I32:
		p = rd_take(r, 4);
		if (!p)
			goto bad;
		for (int i = 3; i >= 0; i--)
			v = v << 8 | p[i];
		len = 4;
		break;
	default: /* 3/4 are deprecated groups, 6/7 undefined */
		goto bad;
	}
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint8_t)wire;
	f->v = v;
	f->p = p;
	f->len = len;
	return 1;
bad:
	rd_fail(r);
	return W2W_EPARSE;
}
