/* SPDX-License-Identifier: MIT */
/* Base16: lowercase on output, either case on input. */
#ifndef W2W_CODEC_HEX_H
#define W2W_CODEC_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex digits and a NUL to out (room for 2n+1). Returns 2n. */
size_t hex_encode(char *out, const uint8_t *in, size_t n);
/*
 * Decodes exactly len hex digits (either case, no separators) into out.
 * Returns the byte count (len/2), W2W_EPARSE on an odd length or a non-hex
 * character, W2W_ELIMIT when cap is too small. out is written only on success.
 */
int hex_decode(uint8_t *out, size_t cap, const char *in, size_t len);

#endif
