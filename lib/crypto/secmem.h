/* SPDX-License-Identifier: MIT */
/*
 * Secret storage and comparison. Secrets (private keys, PSKs, session keys)
 * live in libsodium guarded allocations (sodium_malloc: guard pages, mlock,
 * wiped on free) and are compared in constant time.
 */
#ifndef W2W_CRYPTO_SECMEM_H
#define W2W_CRYPTO_SECMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Initialises libsodium once (idempotent, thread-safe). 0 or W2W_ESTATE. */
int secmem_init(void);
/* n bytes of guarded memory, zero-filled; NULL on failure. */
void *secure_alloc(size_t n);
/* Wipes and frees memory from secure_alloc; NULL is fine. */
void secure_free(void *p);
/* Zeroes n bytes in a way the compiler cannot elide. */
void secure_wipe(void *p, size_t n);
/* Constant-time equality of n bytes (time depends on n only). */
bool ct_eq(const void *a, const void *b, size_t n);
/* Constant-time "all n bytes are zero". */
bool ct_is_zero(const void *p, size_t n);

/*
 * Text <-> bytes for secrets, in constant time (libsodium). Base64 is the
 * standard padded alphabet, strict like codec/b64.h (one spelling per byte
 * string: no whitespace, unused bits zero); hex takes either case. Decoders
 * return the byte count, W2W_EPARSE (malformed) or W2W_ELIMIT (more than
 * cap bytes) and leave no partial result in out on failure. secret_to_b64 writes the text
 * and a NUL and returns the text length, or W2W_ELIMIT.
 */
int secret_from_b64(uint8_t *out, size_t cap, const char *s, size_t n);
int secret_from_hex(uint8_t *out, size_t cap, const char *s, size_t n);
int secret_to_b64(char *out, size_t cap, const uint8_t *in, size_t n);

#endif
