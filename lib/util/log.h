/* SPDX-License-Identifier: MIT */
/*
 * Logging goes to a callback, never to stdout/stderr (the library never
 * prints). A NULL sink drops messages. Never pass secrets to these functions.
 */
#ifndef W2W_UTIL_LOG_H
#define W2W_UTIL_LOG_H

enum { LOG_ERR = 3, LOG_WARN = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

struct wlog {
	void (*fn)(void *ud, int level, const char *msg);
	void *ud;
	int max_level; /* messages with level > max_level are dropped */
};

void wlog_printf(const struct wlog *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(l, ...) wlog_printf((l), LOG_ERR, __VA_ARGS__)
#define log_warn(l, ...) wlog_printf((l), LOG_WARN, __VA_ARGS__)
#define log_info(l, ...) wlog_printf((l), LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) wlog_printf((l), LOG_DEBUG, __VA_ARGS__)

#endif
