/* SPDX-License-Identifier: MIT */
/*
 * Base32, RFC 4648 section 6 alphabet in lowercase, without padding: the
 * multibase 'b' encoding (the prefix is not part of this codec). Decoding is
 * strict: lowercase only, no '=', a length that a padding-free encoder can
 * produce, unused trailing bits zero.
 */
#ifndef W2W_CODEC_B32_H
#define W2W_CODEC_B32_H

#include <stddef.h>
#include <stdint.h>

/* Characters for n bytes, without the NUL. */
#define B32_ENCODED_LEN(n) (((n) * 8 + 4) / 5)

/* Writes the text and a NUL. Returns the text length, or W2W_ELIMIT. */
int b32_encode(char *out, size_t cap, const uint8_t *in, size_t n);
/* Returns the decoded length, W2W_EPARSE on malformed text, W2W_ELIMIT if cap is too small. */
int b32_decode(uint8_t *out, size_t cap, const char *in, size_t len);

#endif
