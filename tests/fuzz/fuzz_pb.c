/* SPDX-License-Identifier: MIT */
/*
 * Protobuf reader: every field lies inside the input, the reader always
 * advances, and a message it accepts fully re-encodes (with minimal varints)
 * into a message that parses to the same fields. Also feeds uvarint_decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pb.h"
#include "rd.h"
#include "varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 4096

static struct pb_field fields[MAX_FIELDS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r;
	struct pb_field f;
	struct buf b;
	size_t count = 0, last = 0;
	uint64_t v;
	int rc;

	rd_init(&r, data, size);
	while ((rc = pb_next(&r, &f)) == 1) {
		if (r.off <= last || r.off > size || f.num == 0)
			abort();
		if (f.wire == PB_LEN && (f.len != f.v || (f.len && (f.p < data || f.p + f.len > data + size))))
			abort();
		last = r.off;
		if (count < MAX_FIELDS)
			fields[count++] = f;
	}
	if (rc == 0 && r.off != size)
		abort();
	if (rc == 0 && count < MAX_FIELDS) {
		buf_init(&b, 0);
		for (size_t i = 0; i < count; i++) {
			switch (fields[i].wire) {
			case PB_VARINT:
				rc = pb_put_varint(&b, fields[i].num, fields[i].v);
				break;
			case PB_I64:
				rc = pb_put_fixed64(&b, fields[i].num, fields[i].v);
				break;
			case PB_I32:
				rc = pb_put_fixed32(&b, fields[i].num, (uint32_t)fields[i].v);
				break;
			default:
				rc = pb_put_bytes(&b, fields[i].num, fields[i].p, fields[i].len);
				break;
			}
			if (rc < 0)
				abort();
		}
		rd_init(&r, b.data, b.len);
		for (size_t i = 0; i < count; i++) {
			if (pb_next(&r, &f) != 1 || f.num != fields[i].num || f.wire != fields[i].wire ||
			    f.v != fields[i].v || f.len != fields[i].len ||
			    (f.len && memcmp(f.p, fields[i].p, f.len) != 0))
				abort();
		}
		if (pb_next(&r, &f) != 0)
			abort();
		buf_free(&b);
	}
	/* Multiformats varint: accepted values re-encode to exactly the bytes read. */
	rc = uvarint_decode(data, size, &v);
	if (rc > 0) {
		uint8_t enc[UVARINT_BUF_LEN];
		if ((size_t)rc > size || uvarint_encode(enc, v) != (size_t)rc || memcmp(enc, data, (size_t)rc) != 0)
			abort();
	}
	return 0;
}
