/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "err.h"
#include "ini.h"

static const char *find_any(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]))
			return s + i;
	return NULL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* Last occurrence of the quote q (qlen bytes) in s[0..n). */
static const char *rfind(const char *s, size_t n, const char *q, size_t qlen)
{
	if (n < qlen)
		return NULL;
	for (size_t i = n - qlen + 1; i-- > 0;)
		if (!memcmp(s + i, q, qlen))
			return s + i;
	return NULL;
}

/* go-ini hasSurroundedQuote: first and last byte are q and no other q inside. */
static int surrounded(const char *s, size_t n, char q)
{
	return n >= 2 && s[0] == q && s[n - 1] == q && !memchr(s + 1, q, n - 2);
}

void ini_init(struct ini *p, const void *data, size_t len)
{
	rd_init(&p->r, data, len);
	p->line = 0;
	/* go-ini skips a UTF-8 byte order mark; editors on some systems write one. */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		rd_skip(&p->r, 3);
}

static int parse_value(struct ini_tok *tok, const char *v, size_t n, const char **why)
{
	const char *q = NULL, *close;
	size_t qlen = 0;

	while (n && is_blank(*v)) {
		v++;
		n--;
	}
	if (n > 3 && !memcmp(v, "\"\"\"", 3)) {
		q = "\"\"\"";
		qlen = 3;
	} else if (n && v[0] == '`') {
		q = "`";
		qlen = 1;
	}
	if (q) {
		/* go-ini takes everything up to the last closing quote on the line. */
		close = rfind(v + qlen, n - qlen, q, qlen);
		if (!close) {
			*why = "unterminated quoted value (multi-line values are not supported)";
			return W2W_EPARSE;
		}
		tok->value = v + qlen;
		tok->value_len = (size_t)(close - (v + qlen));
		return 0;
	}
	trim(&v, &n);
	if (n && v[n - 1] == '\\') {
		/* go-ini would join the next line; no w2wesher value needs that. */
		*why = "'\\' line continuation is not supported";
		return W2W_EPARSE;
	}
	close = find_any(v, n, "#;");
	if (close) {
		n = (size_t)(close - v);
		trim(&v, &n);
	}
	if (surrounded(v, n, '"') || surrounded(v, n, '\'')) {
		v++;
		n -= 2;
	}
	tok->value = v;
	tok->value_len = n;
	return 0;
}

static int parse_line(struct ini_tok *tok, const char *s, size_t n, const char **why)
{
	const char *d, *rest;
	size_t rest_len;

	trim(&s, &n);
	if (!n) {
		tok->kind = INI_BLANK;
		return 0;
	}
	if (s[0] == '#' || s[0] == ';') {
		tok->kind = INI_COMMENT;
		return 0;
	}
	if (s[0] == '[') {
		d = memchr(s, ']', n);
		if (!d) {
			*why = "section header without closing ']'";
			return W2W_EPARSE;
		}
		tok->kind = INI_SECTION;
		tok->name = s + 1;
		tok->name_len = (size_t)(d - s - 1);
		trim(&tok->name, &tok->name_len);
		if (!tok->name_len) {
			*why = "empty section name";
			return W2W_EPARSE;
		}
		rest = d + 1;
		rest_len = n - (size_t)(rest - s);
		trim(&rest, &rest_len);
		if (rest_len && rest[0] != '#' && rest[0] != ';') {
			*why = "unexpected text after the section header";
			return W2W_EPARSE;
		}
		return 0;
	}
	if (s[0] == '"' || s[0] == '`') {
		*why = "quoted key names are not supported";
		return W2W_EPARSE;
	}
	d = find_any(s, n, "=:");
	if (!d) {
		*why = "expected 'Key = value', '[Section]' or a comment";
		return W2W_EPARSE;
	}
	tok->kind = INI_KEY;
	tok->name = s;
	tok->name_len = (size_t)(d - s);
	trim(&tok->name, &tok->name_len);
	if (!tok->name_len) {
		*why = "empty key name";
		return W2W_EPARSE;
	}
	return parse_value(tok, d + 1, n - (size_t)(d + 1 - s), why);
}

int ini_next(struct ini *p, struct ini_tok *tok, const char **why)
{
	const char *dummy, *s;
	size_t start, left, len, take;
	const uint8_t *nl;
	int rc;

	if (!why)
		why = &dummy;
	memset(tok, 0, sizeof(*tok));
	tok->line = p->line;
	if (!rd_ok(&p->r)) {
		*why = "tokenizer already failed";
		return W2W_EPARSE;
	}
	if (rd_eof(&p->r))
		return 0;
	if (p->line >= INI_MAX_LINES) {
		rd_fail(&p->r);
		*why = "too many lines";
		return W2W_ELIMIT;
	}
	tok->line = ++p->line;
	start = p->r.off;
	left = rd_left(&p->r);
	nl = memchr(p->r.p + start, '\n', left);
	len = nl ? (size_t)(nl - (p->r.p + start)) : left;
	take = nl ? len + 1 : len;
	s = (const char *)rd_take(&p->r, take);
	if (!s) {
		*why = "short read";
		return W2W_EPARSE;
	}
	if (len && s[len - 1] == '\r')
		len--;
	tok->off = start;
	tok->len = len;
	tok->end = p->r.off;
	if (len > INI_MAX_LINE) {
		rd_fail(&p->r);
		*why = "line too long";
		return W2W_ELIMIT;
	}
	if (memchr(s, '\0', len)) {
		rd_fail(&p->r);
		*why = "NUL byte in line";
		return W2W_EPARSE;
	}
	rc = parse_line(tok, s, len, why);
	if (rc < 0) {
		rd_fail(&p->r);
		return rc;
	}
	return 1;
}
