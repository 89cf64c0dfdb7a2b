/* SPDX-License-Identifier: MIT */
/*
 * Base64, RFC 4648 section 4 (standard alphabet, '=' padding). Decoding is
 * strict: length a multiple of 4, padding only at the end, unused bits of the
 * last group zero, no whitespace. So every byte string has exactly one text
 * form, which is what `wg` and Go's encoding/base64 write.
 */
#ifndef W2W_CODEC_B64_H
#define W2W_CODEC_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters for n bytes, without the NUL. */
#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Upper bound of bytes for len characters. */
#define B64_DECODED_MAX(len) (((len) / 4) * 3)

/*
 * Writes the text and a NUL; needs cap >= B64_ENCODED_LEN(n) + 1.
 * Returns the text length, or W2W_ELIMIT (out untouched).
 */
int b64_encode(char *out, size_t cap, const uint8_t *in, size_t n);
/* Returns the decoded length, W2W_EPARSE on malformed text, W2W_ELIMIT if cap is too small. */
int b64_decode(uint8_t *out, size_t cap, const char *in, size_t len);

#endif
