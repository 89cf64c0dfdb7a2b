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

#endif
