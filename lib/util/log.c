/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void wlog_printf(const struct wlog *l, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!l || !l->fn || level > l->max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->fn(l->ud, level, msg);
}
