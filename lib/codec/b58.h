/* SPDX-License-Identifier: MIT */
/*
 * base58btc (Bitcoin alphabet), as used for peer IDs and multihashes: leading
 * zero bytes become leading '1's. The conversion is quadratic, so both
 * directions refuse inputs beyond B58_MAX_BYTES (peer IDs are <= 44 bytes).
 */
#ifndef W2W_CODEC_B58_H
#define W2W_CODEC_B58_H

#include <stddef.h>
#include <stdint.h>

#define B58_MAX_BYTES 128
/* Characters for n bytes, upper bound, without the NUL (log(256)/log(58) < 1.37). */
#define B58_ENCODED_MAX(n) ((n) * 137 / 100 + 1)

/* Writes the text and a NUL. Returns the text length, or W2W_ELIMIT. */
int b58_encode(char *out, size_t cap, const uint8_t *in, size_t n);
/* Returns the decoded length, W2W_EPARSE on a non-alphabet character, W2W_ELIMIT on size. */
int b58_decode(uint8_t *out, size_t cap, const char *in, size_t len);

#endif
