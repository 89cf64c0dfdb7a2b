/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "json.h"

void json_put_str(json_put_fn put, void *ud, const char *s)
{
	const char *run = s ? s : "";
	const char *p = run;

	put(ud, "\"", 1);
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];

		if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
			continue;
		put(ud, run, (size_t)(p - run)); /* the plain run before c */
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		put(ud, esc, 2 + (c < 0x20 || c == 0x7f ? 4 : 0));
		run = p + 1;
	}
	put(ud, run, (size_t)(p - run));
	put(ud, "\"", 1);
}
