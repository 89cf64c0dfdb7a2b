/* SPDX-License-Identifier: MIT */
/* Format: msgpack spec (github.com/msgpack/msgpack/blob/master/spec.md), "Formats". */
#include "mpcheck.h"
#include "rd.h"

static uint64_t rd_len(struct rd *r, unsigned bytes)
{
	switch (bytes) {
	case 1: return rd_u8(r);
	case 2: return rd_be16(r);
	default: return rd_be32(r);
	}
}

static bool obj(struct rd *r, unsigned depth)
{
	uint8_t t;
	uint64_t cnt = 0, len;
	bool map = false;

	if (depth == 0)
		return false;
	t = rd_u8(r);
	if (!rd_ok(r))
		return false;
	if (t <= 0x7f || t >= 0xe0 || (t >= 0xc0 && t <= 0xc3 && t != 0xc1))
		return true; /* fixint, nil, bool */
	if (t >= 0xa0 && t <= 0xbf)
		return rd_skip(r, t & 0x1f);
	if (t >= 0x80 && t <= 0x8f) {
		cnt = t & 0x0f;
		map = true;
	} else if (t >= 0x90 && t <= 0x9f) {
		cnt = t & 0x0f;
	} else {
		switch (t) {
		case 0xc4: case 0xd9: len = rd_len(r, 1); return rd_ok(r) && rd_skip(r, len);
		case 0xc5: case 0xda: len = rd_len(r, 2); return rd_ok(r) && rd_skip(r, len);
		case 0xc6: case 0xdb: len = rd_len(r, 4); return rd_ok(r) && rd_skip(r, len);
		case 0xc7: len = rd_len(r, 1); return rd_ok(r) && rd_skip(r, len + 1);
		case 0xc8: len = rd_len(r, 2); return rd_ok(r) && rd_skip(r, len + 1);
		case 0xc9: len = rd_len(r, 4); return rd_ok(r) && rd_skip(r, len + 1);
		case 0xca: return rd_skip(r, 4);
		case 0xcb: return rd_skip(r, 8);
		case 0xcc: case 0xd0: return rd_skip(r, 1);
		case 0xcd: case 0xd1: return rd_skip(r, 2);
		case 0xce: case 0xd2: return rd_skip(r, 4);
		case 0xcf: case 0xd3: return rd_skip(r, 8);
		case 0xd4: return rd_skip(r, 2);
		case 0xd5: return rd_skip(r, 3);
		case 0xd6: return rd_skip(r, 5);
		case 0xd7: return rd_skip(r, 9);
		case 0xd8: return rd_skip(r, 17);
		case 0xdc: cnt = rd_len(r, 2); break;
		case 0xdd: cnt = rd_len(r, 4); break;
		case 0xde: cnt = rd_len(r, 2); map = true; break;
		case 0xdf: cnt = rd_len(r, 4); map = true; break;
		default: return false; /* 0xc1: never used */
		}
		if (!rd_ok(r))
			return false;
	}
	if (map)
		cnt *= 2;
	if (cnt > rd_left(r))
		return false; /* declares more elements than there are bytes */
	for (uint64_t i = 0; i < cnt; i++)
		if (!obj(r, depth - 1))
			return false;
	return true;
}

bool mp_check(const uint8_t *p, size_t n, unsigned max_depth)
{
	struct rd r;

	rd_init(&r, p, n);
	return obj(&r, max_depth) && rd_ok(&r) && rd_eof(&r);
}
