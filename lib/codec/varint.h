/* SPDX-License-Identifier: MIT */
/*
 * Unsigned varint (multiformats/unsigned-varint; same bytes as a protobuf
 * varint): 7 bits per byte, least significant group first, 0x80 = more.
 *
 * uvarint_decode() follows the multiformats rules: at most UVARINT_MAX_LEN (9)
 * bytes, so values up to 2^63-1, and the encoding must be minimal (no trailing
 * zero groups) -- a peer cannot give one number two spellings. Protobuf
 * varints may be 10 bytes and non-minimal; pb.h has its own reader for them.
 */
#ifndef W2W_CODEC_VARINT_H
#define W2W_CODEC_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rd.h"

#define UVARINT_MAX_LEN 9  /* multiformats decoding limit */
#define UVARINT_BUF_LEN 10 /* any uint64_t encodes in this many bytes */

/* Encodes v (any uint64_t; >= 2^63 takes 10 bytes) into out. Returns the byte count. */
size_t uvarint_encode(uint8_t out[UVARINT_BUF_LEN], uint64_t v);
/* Appends uvarint(v) to b. 0 or buf_append's error. */
int uvarint_put(struct buf *b, uint64_t v);
/*
 * Decodes from p[0..n). Returns the bytes consumed (> 0), 0 when the input
 * ends inside a still-valid varint (need more), or W2W_EPARSE when it is longer
 * than 9 bytes or not minimal. *v is written only on success.
 */
int uvarint_decode(const uint8_t *p, size_t n, uint64_t *v);
/* Reads one uvarint from r; false (sticky error) on short or invalid input. */
bool rd_uvarint(struct rd *r, uint64_t *v);

#endif
