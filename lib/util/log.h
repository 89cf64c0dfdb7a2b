/* SPDX-License-Identifier: MIT */
/*
 * Logging goes to a callback, never to stdout/stderr (the library never
 * prints). A NULL sink drops messages. Never pass secrets to these functions.
 */
#ifndef W2W_UTIL_LOG_H
#define W2W_UTIL_LOG_H

#include "w2wesher/log.h"

/* Internal names for the public W2W_LOG_* levels (not syslog.h's LOG_*, which
 * would collide with the first file that includes <syslog.h>). */
enum { WLOG_ERR = W2W_LOG_ERR, WLOG_WARN = W2W_LOG_WARNING, WLOG_INFO = W2W_LOG_INFO, WLOG_DEBUG = W2W_LOG_DEBUG };

struct wlog {
	void (*fn)(void *ud, int level, const char *msg);
	void *ud;
	int max_level; /* messages with level > max_level are dropped */
};

void wlog_printf(const struct wlog *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(l, ...) wlog_printf((l), WLOG_ERR, __VA_ARGS__)
#define log_warn(l, ...) wlog_printf((l), WLOG_WARN, __VA_ARGS__)
#define log_info(l, ...) wlog_printf((l), WLOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) wlog_printf((l), WLOG_DEBUG, __VA_ARGS__)

#endif
