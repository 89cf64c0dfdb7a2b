/* SPDX-License-Identifier: MIT */
/*
 * A bounded parser for the one HTTP/1.x request the metrics endpoint serves
 * (RFC 9112 section 3: request-line, then header fields up to an empty line).
 * Input is whatever a local client sent; nothing beyond HTTPREQ_MAX bytes is
 * ever looked at. Headers are skipped, not interpreted: the answer is always
 * "Connection: close", so neither keep-alive nor a body matters.
 */
#ifndef W2W_TOOLS_HTTPREQ_H
#define W2W_TOOLS_HTTPREQ_H

#include <stddef.h>

#define HTTPREQ_MAX 4096     /* request-line + headers */
#define HTTPREQ_PATH_MAX 256 /* the target's path, query dropped */

struct httpreq {
	int head;                        /* HEAD rather than GET */
	char path[HTTPREQ_PATH_MAX + 1]; /* "/metrics" */
};

/*
 * Parses buf[0..len). Returns 1 with *out filled when the request is complete
 * (through the empty line), 0 when more bytes are needed (len < HTTPREQ_MAX),
 * or a negative HTTP status to answer with: -400 (malformed), -405 (a method
 * other than GET/HEAD), -414 (target too long), -431 (no end within
 * HTTPREQ_MAX bytes), -505 (not HTTP/1.x).
 */
int httpreq_parse(const char *buf, size_t len, struct httpreq *out);

#endif
