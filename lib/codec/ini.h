/* SPDX-License-Identifier: MIT */
/*
 * Bounded INI tokenizer with line numbers. It splits text into lines and
 * classifies each one; it knows nothing about which sections or keys exist.
 *
 * The syntax is the subset of gopkg.in/ini.v1 (the Go w2wesher's parser, with
 * its default options) that a w2wesher config can contain:
 *  - `[Section]` headers; `Key = value` or `Key: value` (first '=' or ':');
 *  - whole-line comments starting with '#' or ';';
 *  - in an unquoted value, '#' or ';' anywhere starts a comment (go-ini's
 *    default, IgnoreInlineComment=false), then one pair of surrounding '"' or
 *    '\'' quotes is removed when the value holds no other quote of that kind;
 *  - a value starting with '`' or '\"\"\"' runs to the last such quote on the line
 *    (this is how go-ini writes values holding '#' or ';');
 *  - names and values are trimmed; CRLF line ends and a UTF-8 BOM are accepted.
 * Not supported, reported as errors: multi-line quoted values and '\'
 * continuation lines, NUL bytes, lines longer than INI_MAX_LINE.
 *
 * Tokens point into the input (no copies, so secrets stay where the caller
 * keeps them).
 */
#ifndef W2W_CODEC_INI_H
#define W2W_CODEC_INI_H

#include <stddef.h>

#include "rd.h"

#define INI_MAX_LINE 4096u    /* bytes per line, without the line end */
#define INI_MAX_LINES 100000u /* lines per file */

enum ini_kind {
	INI_BLANK = 1, /* empty or whitespace only */
	INI_COMMENT,   /* '#' or ';' as the first non-blank character */
	INI_SECTION,   /* name = section name */
	INI_KEY,       /* name = key, value = its value */
};

struct ini_tok {
	enum ini_kind kind;
	unsigned line;    /* 1-based line number */
	size_t off, len;  /* the raw line in the input, without its line end */
	size_t end;       /* offset just past the line end ("\n" or "\r\n") */
	const char *name; /* section or key name (not NUL-terminated) */
	size_t name_len;
	const char *value; /* INI_KEY only (not NUL-terminated; may be empty) */
	size_t value_len;
};

struct ini {
	struct rd r;
	unsigned line;
};

void ini_init(struct ini *p, const void *data, size_t len);

/*
 * Reads the next line into *tok. Returns 1 with a token, 0 at the end of the
 * input, W2W_EPARSE or W2W_ELIMIT on a bad line: then tok->line is the line
 * number and *why (if why is not NULL) a static description. After an error
 * the tokenizer stays failed.
 */
int ini_next(struct ini *p, struct ini_tok *tok, const char **why);

#endif
