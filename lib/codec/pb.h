/* SPDX-License-Identifier: MIT */
/*
 * Minimal protobuf wire format (proto2/proto3 encoding). The writer appends
 * fields to a capped buffer; callers write fields in ascending number order,
 * which makes the encoding deterministic (signed libp2p structures rely on
 * it). The reader yields every field of wire type 0, 1, 2 or 5, so callers
 * switch on the numbers they know and ignore the rest (libp2p peers add fields
 * freely); groups (3/4), field number 0 and lengths past the end are errors.
 */
#ifndef W2W_CODEC_PB_H
#define W2W_CODEC_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rd.h"

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };
#define PB_MAX_FIELD 0x1fffffffu /* 2^29 - 1 */

int pb_put_varint(struct buf *b, uint32_t field, uint64_t v);
/* Length-delimited field (bytes, string or an already encoded sub-message). */
int pb_put_bytes(struct buf *b, uint32_t field, const void *p, size_t n);
int pb_put_string(struct buf *b, uint32_t field, const char *s);
int pb_put_fixed64(struct buf *b, uint32_t field, uint64_t v);
int pb_put_fixed32(struct buf *b, uint32_t field, uint32_t v);
/* Just the key byte(s): (field << 3) | wire. */
int pb_put_tag(struct buf *b, uint32_t field, unsigned wire);

struct pb_field {
	uint32_t num;
	uint8_t wire;     /* PB_VARINT, PB_I64, PB_LEN or PB_I32 */
	uint64_t v;       /* value for VARINT/I64/I32 (fixed ones little-endian decoded); length for LEN */
	const uint8_t *p; /* LEN: the bytes (points into the reader's input); I64/I32: the raw bytes */
	size_t len;       /* LEN: byte count; I64: 8; I32: 4; VARINT: 0 */
};

/*
 * Reads the next field. Returns 1 with *f filled, 0 at the clean end of the
 * input, W2W_EPARSE on malformed input (and marks r failed). Varints may be up
 * to 10 bytes (the 10th carrying only bit 63) and need not be minimal, as in
 * every protobuf implementation.
 */
int pb_next(struct rd *r, struct pb_field *f);
/* Reads a protobuf varint (<= 10 bytes) from r; false (sticky error) on bad input. */
bool pb_rd_varint(struct rd *r, uint64_t *v);

#endif
