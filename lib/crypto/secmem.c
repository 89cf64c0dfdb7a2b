/* SPDX-License-Identifier: MIT */
#include "secmem.h"

#include <sodium.h>

#include "err.h"

int secmem_init(void)
{
	/* sodium_init: 0 first time, 1 when already done, -1 on failure. */
	return sodium_init() < 0 ? W2W_ESTATE : 0;
}

void *secure_alloc(size_t n)
{
	void *p;

	if (secmem_init() < 0)
		return NULL;
	p = sodium_malloc(n ? n : 1);
	if (p)
		sodium_memzero(p, n ? n : 1); /* sodium_malloc fills with 0xdb */
	return p;
}

void secure_free(void *p)
{
	if (p)
		sodium_free(p); /* wipes before unmapping */
}

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

bool ct_eq(const void *a, const void *b, size_t n)
{
	return n == 0 || sodium_memcmp(a, b, n) == 0;
}

bool ct_is_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}
