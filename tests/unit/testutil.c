/* SPDX-License-Identifier: MIT */
/* Test helpers (see testutil.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static void bad(const char *why, const char *hex)
{
	fprintf(stderr, "unhex: %s in test data \"%s\"\n", why, hex);
	abort();
}

size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	for (const char *p = hex; *p;) {
		char two[3];

		if (*p == ' ') {
			p++;
			continue;
		}
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			bad("not a hex byte", hex);
		if (n == cap)
			bad("more bytes than the buffer holds", hex);
		two[0] = p[0];
		two[1] = p[1];
		two[2] = 0;
		out[n++] = (uint8_t)strtoul(two, NULL, 16);
		p += 2;
	}
	return n;
}

void unhex_exact(uint8_t *out, size_t n, const char *hex)
{
	if (unhex(out, n, hex) != n)
		bad("fewer bytes than expected", hex);
}
