/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests and fuzz harnesses. Plain C without cmocka
 * (the fuzz targets link it too): a helper given bad test data prints why and
 * aborts, which cmocka reports as a failed test.
 */
#ifndef W2W_TESTS_TESTUTIL_H
#define W2W_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Hex text to bytes; spaces between bytes are allowed ("00 01 0a0b"), either
 * case. Returns the number of bytes. Aborts on anything else (an odd digit,
 * a non-hex character) or when more than cap bytes would be written. Kept
 * independent of the library's hex codec, which test_codec checks with it.
 */
size_t unhex(uint8_t *out, size_t cap, const char *hex);
/* The same, and the text must hold exactly n bytes. */
void unhex_exact(uint8_t *out, size_t n, const char *hex);

#endif
