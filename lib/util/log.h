/* SPDX-License-Identifier: MIT */
/*
 * Logging goes to a callback, never to stdout/stderr (the library never
 * prints). A NULL sink drops messages. Never pass secrets to these functions.
 *
 * Every line is rate-limited per call site (its format string): at most
 * WLOG_RL_BURST lines per WLOG_RL_INTERVAL_US, then nothing until the
 * interval ends, when one summary line "<format> ... (N more suppressed)"
 * reports the count. A remote peer can make the node log (a refused
 * connection, a bad frame); it must not be able to flood the log with it
 * (issue 15: 79 MB of stderr in 30 s from a reconnect loop).
 */
#ifndef W2W_UTIL_LOG_H
#define W2W_UTIL_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "w2wesher/log.h"

/* Internal names for the public W2W_LOG_* levels (not syslog.h's LOG_*, which
 * would collide with the first file that includes <syslog.h>). */
enum { WLOG_ERR = W2W_LOG_ERR, WLOG_WARN = W2W_LOG_WARNING, WLOG_INFO = W2W_LOG_INFO, WLOG_DEBUG = W2W_LOG_DEBUG };

enum {
	WLOG_RL_SLOTS = 32, /* call sites tracked at once (the least recent is evicted) */
	WLOG_RL_BURST = 20, /* lines per call site per interval */
};
#define WLOG_RL_INTERVAL_US (10 * 1000 * 1000ull)

/* One call site's budget. */
struct wlog_rl {
	const char *site; /* its format string; NULL: a free slot */
	uint64_t start_us; /* start of its current interval */
	uint32_t n;        /* lines in the interval, logged or not */
	int level;         /* most severe level suppressed (for the summary) */
};

struct wlog {
	void (*fn)(void *ud, int level, const char *msg);
	void *ud;
	int max_level; /* messages with level > max_level are dropped */
	/* Rate-limit state, written through const pointers (the object itself
	 * is never const: the owner embeds it). Zero-initialised. */
	struct wlog_rl rl[WLOG_RL_SLOTS];
};

void wlog_printf(const struct wlog *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* wlog_printf at a given monotonic time (tests drive the clock). */
void wlog_vprintf_at(const struct wlog *l, uint64_t now_us, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* A line already rate-limited by another wlog (a child object's), passed on
 * with a prefix and not limited again: one relay site would otherwise share
 * one budget among every line of the child. */
void wlog_relay(const struct wlog *l, int level, const char *prefix, const char *msg);

#define log_err(l, ...) wlog_printf((l), WLOG_ERR, __VA_ARGS__)
#define log_warn(l, ...) wlog_printf((l), WLOG_WARN, __VA_ARGS__)
#define log_info(l, ...) wlog_printf((l), WLOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) wlog_printf((l), WLOG_DEBUG, __VA_ARGS__)

#endif
