/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "err.h"
#include "ini.h"

/* Next token must be a key with this name and value. */
static void expect_key(struct ini *p, unsigned line, const char *name, const char *value)
{
	struct ini_tok t;

	assert_int_equal(ini_next(p, &t, NULL), 1);
	assert_int_equal(t.kind, INI_KEY);
	assert_int_equal(t.line, line);
	assert_int_equal(t.name_len, strlen(name));
	assert_memory_equal(t.name, name, t.name_len);
	assert_int_equal(t.value_len, strlen(value));
	if (t.value_len)
		assert_memory_equal(t.value, value, t.value_len);
}

static void expect_kind(struct ini *p, unsigned line, enum ini_kind kind)
{
	struct ini_tok t;

	assert_int_equal(ini_next(p, &t, NULL), 1);
	assert_int_equal(t.line, line);
	assert_int_equal(t.kind, kind);
}

static void expect_section(struct ini *p, unsigned line, const char *name)
{
	struct ini_tok t;

	assert_int_equal(ini_next(p, &t, NULL), 1);
	assert_int_equal(t.kind, INI_SECTION);
	assert_int_equal(t.line, line);
	assert_int_equal(t.name_len, strlen(name));
	assert_memory_equal(t.name, name, t.name_len);
}

static void test_basic(void **state)
{
	/* What go-ini writes (aligned '='), plus hand-written variations. */
	const char *text = "# w2wesher\n"
	                   "\n"
	                   "[P2P]\n"
	                   "PSK              = c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n"
	                   "Bootstrap        = \n"
	                   "  ; indented comment\n"
	                   "[ Wireguard ]   # trailing comment\n"
	                   "ListenPort: 51820\n"
	                   "Interface=wg0 ; inline comment\n"
	                   "NodeName = \"my host\"\n"
	                   "Quoted = 'a\"b'\n"
	                   "Odd = \"a\"b\"\n"
	                   "Back = `x # y ; z` ignored\n"
	                   "Triple = \"\"\"va`l\"\"\"\n"
	                   "Last=novalue";
	struct ini p;
	struct ini_tok t;

	(void)state;
	ini_init(&p, text, strlen(text));
	expect_kind(&p, 1, INI_COMMENT);
	expect_kind(&p, 2, INI_BLANK);
	expect_section(&p, 3, "P2P");
	expect_key(&p, 4, "PSK", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
	expect_key(&p, 5, "Bootstrap", "");
	expect_kind(&p, 6, INI_COMMENT);
	expect_section(&p, 7, "Wireguard");
	expect_key(&p, 8, "ListenPort", "51820");
	expect_key(&p, 9, "Interface", "wg0");
	expect_key(&p, 10, "NodeName", "my host");
	expect_key(&p, 11, "Quoted", "a\"b");
	expect_key(&p, 12, "Odd", "\"a\"b\""); /* more than two quotes: kept as is */
	expect_key(&p, 13, "Back", "x # y ; z");
	expect_key(&p, 14, "Triple", "va`l");
	expect_key(&p, 15, "Last", "novalue");
	assert_int_equal(ini_next(&p, &t, NULL), 0);
	assert_int_equal(ini_next(&p, &t, NULL), 0);
}

static void test_offsets_crlf_bom(void **state)
{
	const char text[] = "\xef\xbb\xbf[A]\r\nk = v\r\n\r\n";
	struct ini p;
	struct ini_tok t;

	(void)state;
	ini_init(&p, text, sizeof(text) - 1);
	assert_int_equal(ini_next(&p, &t, NULL), 1);
	assert_int_equal(t.kind, INI_SECTION);
	assert_int_equal(t.off, 3);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.end, 8);
	assert_int_equal(ini_next(&p, &t, NULL), 1);
	assert_int_equal(t.kind, INI_KEY);
	assert_int_equal(t.off, 8);
	assert_int_equal(t.len, 5);
	assert_int_equal(t.end, 15);
	assert_int_equal(t.value_len, 1);
	assert_int_equal(t.value[0], 'v');
	expect_kind(&p, 3, INI_BLANK);
	assert_int_equal(ini_next(&p, &t, NULL), 0);
}

/* The line-th line of text must fail with a message containing frag. */
static void expect_error(const char *text, size_t len, unsigned line, const char *frag)
{
	struct ini p;
	struct ini_tok t;
	const char *why = NULL;
	int rc;
	unsigned guard = 0;

	ini_init(&p, text, len);
	while ((rc = ini_next(&p, &t, &why)) == 1)
		assert_true(++guard < 1000);
	assert_true(rc < 0);
	assert_int_equal(t.line, line);
	assert_non_null(why);
	assert_non_null(strstr(why, frag));
	/* Sticky. */
	assert_true(ini_next(&p, &t, NULL) < 0);
}

#define EXPECT_ERROR(lit, line, frag) expect_error(lit, sizeof(lit) - 1, line, frag)

static void test_errors(void **state)
{
	char *big;

	(void)state;
	EXPECT_ERROR("[P2P\n", 1, "']'");
	EXPECT_ERROR("ok=1\n[]\n", 2, "empty section");
	EXPECT_ERROR("[A] junk\n", 1, "after the section");
	EXPECT_ERROR("a=1\nb=2\njustaword\n", 3, "expected");
	EXPECT_ERROR("= value\n", 1, "empty key");
	EXPECT_ERROR("k = `open\n", 1, "unterminated");
	EXPECT_ERROR("k = \"\"\"open\nmore\"\"\"\n", 1, "unterminated");
	EXPECT_ERROR("k = a \\\nb\n", 1, "continuation");
	EXPECT_ERROR("a=1\nk = a\0b\n", 2, "NUL");
	EXPECT_ERROR("\"k\" = 1\n", 1, "quoted key");

	big = malloc(INI_MAX_LINE + 10);
	assert_non_null(big);
	memcpy(big, "#\nk=", 4);
	memset(big + 4, 'a', INI_MAX_LINE + 5);
	big[INI_MAX_LINE + 9] = '\n';
	expect_error(big, INI_MAX_LINE + 10, 2, "too long");
	free(big);
}

static void test_line_limit(void **state)
{
	size_t n = INI_MAX_LINES + 1;
	char *text = malloc(n);
	struct ini p;
	struct ini_tok t;
	unsigned count = 0;
	int rc;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', n);
	ini_init(&p, text, n);
	while ((rc = ini_next(&p, &t, NULL)) == 1)
		count++;
	assert_int_equal(rc, W2W_ELIMIT);
	assert_int_equal(count, INI_MAX_LINES);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_offsets_crlf_bom),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_line_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
