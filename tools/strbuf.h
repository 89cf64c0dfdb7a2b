/* SPDX-License-Identifier: MIT */
/*
 * A growable text buffer filled printf-style, for the tools' answers: the
 * control socket's replies (ctlproto.c) and the metrics page (dops.c). The
 * first failure (no memory, or past max) sticks: later adds do nothing and
 * strbuf_done() returns NULL.
 */
#ifndef W2W_TOOLS_STRBUF_H
#define W2W_TOOLS_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	size_t max; /* the most it may allocate; 0: no limit */
	int err;
};

void strbuf_add(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (malloc'ed, the caller frees it), or NULL after a failure (b's memory freed). */
char *strbuf_done(struct strbuf *b);

#endif
