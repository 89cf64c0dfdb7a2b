/* SPDX-License-Identifier: MIT */
/* Go time.Duration text (godur.h); the grammar is Go's src/time/format.go
 * ParseDuration, the output its Duration.String(). */
#include "godur.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

/*
 * Go's time.ParseDuration (src/time/format.go), step by step: integers in
 * uint64 with the same overflow checks, the fraction scaled through a double
 * as Go does (f * (unit / scale)), so "0.001s" is 1000000 ns and
 * "2562047h47m16.854775807s" is the largest duration, exactly as in Go.
 */
static const struct {
	const char *u;
	uint64_t mult;
} units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
	{"ms", NS_PER_MS},
	{"s", NS_PER_S},
	{"m", 60 * NS_PER_S},
	{"h", 3600 * NS_PER_S},
};

#define BIG (UINT64_C(1) << 63)

int godur_parse(const char *v, size_t n, long long *ns)
{
	uint64_t d = 0;
	size_t i = 0;
	bool neg = false;

	if (n && (v[0] == '-' || v[0] == '+')) {
		neg = v[0] == '-';
		i = 1;
	}
	if (n - i == 1 && v[i] == '0') {
		*ns = 0;
		return 0;
	}
	if (i == n)
		return GODUR_ESYNTAX;
	while (i < n) {
		uint64_t x = 0, f = 0, mult = 0;
		double scale = 1;
		size_t start = i, ulen = 0;
		bool pre, post = false;

		/* leadingInt: overflow is an error */
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			if (x > (BIG - 1) / 10)
				return GODUR_ERANGE;
			x = x * 10 + (uint64_t)(v[i++] - '0');
			if (x > BIG)
				return GODUR_ERANGE;
		}
		pre = i != start;
		if (i < n && v[i] == '.') {
			bool overflow = false;

			start = ++i;
			/* leadingFraction: digits past int64 precision are dropped */
			while (i < n && v[i] >= '0' && v[i] <= '9') {
				if (!overflow) {
					if (f > (BIG - 1) / 10) {
						overflow = true;
					} else {
						uint64_t y = f * 10 + (uint64_t)(v[i] - '0');

						if (y > BIG) {
							overflow = true;
						} else {
							f = y;
							scale *= 10;
						}
					}
				}
				i++;
			}
			post = i != start;
		}
		if (!pre && !post)
			return GODUR_ESYNTAX;
		while (i + ulen < n && !(v[i + ulen] >= '0' && v[i + ulen] <= '9') && v[i + ulen] != '.')
			ulen++;
		if (!ulen)
			return GODUR_ESYNTAX; /* missing unit */
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strlen(units[u].u) == ulen && !memcmp(units[u].u, v + i, ulen))
				mult = units[u].mult;
		if (!mult)
			return GODUR_EUNIT;
		i += ulen;
		if (x > BIG / mult)
			return GODUR_ERANGE;
		x *= mult;
		if (f > 0) {
			x += (uint64_t)((double)f * ((double)mult / scale));
			if (x > BIG)
				return GODUR_ERANGE;
		}
		d += x;
		if (d > BIG)
			return GODUR_ERANGE;
	}
	if (neg) {
		*ns = d == BIG ? LLONG_MIN : -(long long)d;
		return 0;
	}
	if (d > BIG - 1)
		return GODUR_ERANGE;
	*ns = (long long)d;
	return 0;
}

/* Go's Duration.String() for whole milliseconds: "1m0s", "1h30m0s", "500ms", "1.5s". */
void godur_format_ms(char *out, size_t cap, uint64_t ms)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
	char sec[32];
	int k;

	if (ms == 0) {
		snprintf(out, cap, "0s");
		return;
	}
	if (ms < 1000) {
		snprintf(out, cap, "%llums", (unsigned long long)ms);
		return;
	}
	if (f) {
		k = snprintf(sec, sizeof(sec), "%llu.%03llu", (unsigned long long)s, (unsigned long long)f);
		while (k > 0 && sec[k - 1] == '0')
			sec[--k] = 0;
	} else {
		snprintf(sec, sizeof(sec), "%llu", (unsigned long long)s);
	}
	if (h)
		snprintf(out, cap, "%lluh%llum%ss", (unsigned long long)h, (unsigned long long)m, sec);
	else if (m)
		snprintf(out, cap, "%llum%ss", (unsigned long long)m, sec);
	else
		snprintf(out, cap, "%ss", sec);
}
