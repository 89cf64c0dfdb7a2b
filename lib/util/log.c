/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* The format string as the summary's label: conversions shown as '*', so the
 * summary names the call site and never holds an argument (which might be
 * peer-controlled text). */
static void site_label(char *out, size_t cap, const char *fmt)
{
	size_t o = 0;

	for (const char *p = fmt; *p && o + 1 < cap; p++) {
		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == '%') {
			out[o++] = '%';
			continue;
		}
		while (*p && !strchr("diouxXeEfFgGaAcspn", *p))
			p++;
		out[o++] = '*';
		if (!*p)
			break;
	}
	out[o] = 0;
}

static void summary(const struct wlog *l, struct wlog_rl *s)
{
	char label[160], msg[256];

	if (s->n <= WLOG_RL_BURST)
		return;
	site_label(label, sizeof(label), s->site);
	snprintf(msg, sizeof(msg), "%s ... (%u more suppressed)", label, (unsigned)(s->n - WLOG_RL_BURST));
	l->fn(l->ud, s->level, msg);
}

void wlog_vprintf_at(const struct wlog *l, uint64_t now_us, int level, const char *fmt, va_list ap)
{
	/* The owner's object is not const (see log.h): the budget is bookkeeping. */
	struct wlog_rl *rl, *s = NULL, *oldest;
	char msg[512];

	if (!l || !l->fn || level > l->max_level)
		return;
	rl = ((struct wlog *)l)->rl;
	oldest = &rl[0];
	/* Close the intervals that ended, with their summaries (bounded: WLOG_RL_SLOTS). */
	for (int i = 0; i < WLOG_RL_SLOTS; i++) {
		if (rl[i].site && now_us - rl[i].start_us >= WLOG_RL_INTERVAL_US) {
			summary(l, &rl[i]);
			rl[i].site = NULL;
		}
		if (rl[i].site == fmt)
			s = &rl[i];
		if (!rl[i].site ? oldest->site != NULL : (oldest->site && rl[i].start_us < oldest->start_us))
			oldest = &rl[i];
	}
	if (!s) {
		s = oldest;
		if (s->site)
			summary(l, s); /* evicted: report what it held back */
		*s = (struct wlog_rl){fmt, now_us, 0, level};
	}
	if (++s->n > WLOG_RL_BURST) {
		if (level < s->level)
			s->level = level;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	l->fn(l->ud, level, msg);
}

void wlog_relay(const struct wlog *l, int level, const char *prefix, const char *msg)
{
	char line[600];

	if (!l || !l->fn || level > l->max_level)
		return;
	snprintf(line, sizeof(line), "%s%s", prefix, msg);
	l->fn(l->ud, level, line);
}

void wlog_printf(const struct wlog *l, int level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (!l || !l->fn || level > l->max_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	va_start(ap, fmt);
	wlog_vprintf_at(l, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, level, fmt, ap);
	va_end(ap);
}
