/* SPDX-License-Identifier: MIT */
/* See httpreq.h. */
#include "httpreq.h"

#include <string.h>

/* RFC 9110 5.6.2 tchar, for the method token. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the header section: the first empty line (CRLF CRLF, or bare LFs,
 * which RFC 9112 2.2 lets a recipient accept). Index past it, or 0. */
static size_t header_end(const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int httpreq_parse(const char *buf, size_t len, struct httpreq *out)
{
	size_t end, i = 0, m, t0, tl, pl;

	if (len > HTTPREQ_MAX)
		len = HTTPREQ_MAX;
	end = header_end(buf, len);
	if (!end)
		return len >= HTTPREQ_MAX ? -431 : 0;
	/* method SP request-target SP HTTP-version CRLF */
	while (i < end && tchar((unsigned char)buf[i]))
		i++;
	m = i;
	if (!m || i >= end || buf[i] != ' ')
		return -400;
	t0 = ++i;
	while (i < end && buf[i] != ' ' && (unsigned char)buf[i] > ' ' && buf[i] != 0x7f)
		i++;
	tl = i - t0;
	if (!tl || i >= end || buf[i] != ' ')
		return -400;
	i++;
	if (end - i < 10 || memcmp(buf + i, "HTTP/", 5) != 0)
		return -400;
	if (memcmp(buf + i + 5, "1.", 2) != 0 || buf[i + 7] < '0' || buf[i + 7] > '9')
		return -505;
	i += 8;
	if (buf[i] == '\r')
		i++;
	if (buf[i] != '\n')
		return -400;
	/* Header lines: no NUL or other control byte but HTAB (RFC 9110 5.5). */
	for (i++; i < end; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return -400;
	}
	if (m == 3 && !memcmp(buf, "GET", 3))
		out->head = 0;
	else if (m == 4 && !memcmp(buf, "HEAD", 4))
		out->head = 1;
	else
		return -405;
	/* origin-form only (RFC 9112 3.2.1); the query is ignored. */
	if (buf[t0] != '/')
		return -400;
	pl = 0;
	while (pl < tl && buf[t0 + pl] != '?')
		pl++;
	if (pl > HTTPREQ_PATH_MAX)
		return -414;
	memcpy(out->path, buf + t0, pl);
	out->path[pl] = 0;
	return 1;
}
