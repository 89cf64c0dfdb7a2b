/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint's HTTP request parser (tools/httpreq.c): any local
 * process may connect to MetricsAddr. Checks what the daemon relies on: the
 * result is one of the documented values; a complete request has a path that
 * starts with '/', fits, holds no control byte, space or '?'; parsing more of
 * the same bytes never turns a complete request into "need more"; and a
 * prefix never claims completeness the full input would deny (the daemon
 * parses the buffer as it grows).
 */
#include "../../tools/httpreq.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const uint8_t *data, size_t size, struct httpreq *r)
{
	int v;

	memset(r, 0xa5, sizeof(*r));
	v = httpreq_parse((const char *)data, size, r);
	if (v != 1 && v != 0 && v != -400 && v != -405 && v != -414 && v != -431 && v != -505)
		abort();
	if (v == 0 && size >= HTTPREQ_MAX)
		abort();
	if (v == 1) {
		size_t n = strnlen(r->path, sizeof(r->path));

		if (n == sizeof(r->path) || r->path[0] != '/' || (r->head != 0 && r->head != 1))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)r->path[i] <= ' ' || r->path[i] == '?' || r->path[i] == 0x7f)
				abort();
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq a, b;
	int full = parse(data, size, &a);

	/* Byte by byte, as the daemon sees a slow client: the first non-zero
	 * answer is final and equals the answer on the whole input. */
	for (size_t n = 0; n <= size && n <= HTTPREQ_MAX; n++) {
		int v = parse(data, n, &b);

		if (v == 0)
			continue;
		if (v != full || (v == 1 && (strcmp(a.path, b.path) || a.head != b.head)))
			abort();
		break;
	}
	return 0;
}
