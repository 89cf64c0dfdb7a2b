/* SPDX-License-Identifier: MIT */
/* See strbuf.h. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void strbuf_add(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t want;
		char *np;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = 1;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		/* Doubling from 1 KiB: with max a power of two, the whole of max is usable. */
		want = b->cap ? b->cap * 2 : 1024;
		while (want < b->len + (size_t)n + 1)
			want *= 2;
		np = !b->max || want <= b->max ? realloc(b->p, want) : NULL;
		if (!np) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = want;
	}
}

char *strbuf_done(struct strbuf *b)
{
	if (b->err) {
		free(b->p);
		b->p = NULL;
		return NULL;
	}
	return b->p;
}
