/* SPDX-License-Identifier: MIT */
/*
 * JSON strings for the tools: one escaping rule for `w2wesher p2p listen`'s
 * event lines (cmd_p2p.c) and the daemon's control replies (ctlproto.c).
 */
#ifndef W2W_TOOLS_JSON_H
#define W2W_TOOLS_JSON_H

#include <stddef.h>

/* Receives n bytes of output (no NUL). */
typedef void (*json_put_fn)(void *ud, const char *p, size_t n);

/*
 * Writes s (NULL: "") as a quoted JSON string through put. '"' and '\' are
 * escaped, and every control character as \u00XX: U+0000..U+001F as RFC 8259
 * §7 requires, and DEL (0x7f) too, so that no terminal control byte reaches
 * a log or a terminal. Other bytes pass as they are (UTF-8 stays UTF-8).
 */
void json_put_str(json_put_fn put, void *ud, const char *s);

#endif
