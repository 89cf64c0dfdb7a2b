/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "rd.h"

static void test_buf_grow_and_cap(void **state)
{
	struct buf b;
	uint8_t x[100];

	(void)state;
	memset(x, 0xab, sizeof(x));
	buf_init(&b, 150);
	assert_int_equal(buf_append(&b, x, 100), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_append(&b, x, 51), W2W_ELIMIT);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_append(&b, x, 50), 0);
	assert_int_equal(buf_append_u8(&b, 1), W2W_ELIMIT);
	buf_consume(&b, 140);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_append_be32(&b, 0x01020304), 0);
	assert_memory_equal(b.data + 10, "\x01\x02\x03\x04", 4);
	assert_int_equal(buf_printf(&b, "%s-%d", "ab", 7), 0);
	assert_memory_equal(b.data + 14, "ab-7", 4);
	buf_free_wipe(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 150);
}

static void test_rd_bounds(void **state)
{
	const uint8_t in[] = {1, 0, 2, 0, 0, 0, 3, 9};
	struct rd r, sub;

	(void)state;
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u8(&r), 1);
	assert_int_equal(rd_be16(&r), 2);
	assert_int_equal(rd_be32(&r), 3);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_peek(&r), 9);
	assert_int_equal(rd_be16(&r), 0); /* only one byte left */
	assert_false(rd_ok(&r));
	assert_int_equal(rd_u8(&r), 0); /* sticky */

	rd_init(&r, in, sizeof(in));
	assert_true(rd_sub(&r, 3, &sub));
	assert_int_equal(rd_left(&sub), 3);
	assert_false(rd_sub(&r, 6, &sub));
	assert_false(rd_ok(&sub));
}

static int seen_level;
static char seen_msg[64];
static void sink(void *ud, int level, const char *msg)
{
	(void)ud;
	seen_level = level;
	strncpy(seen_msg, msg, sizeof(seen_msg) - 1);
}

static void test_log_levels(void **state)
{
	struct wlog l = {sink, NULL, WLOG_INFO};

	(void)state;
	log_debug(&l, "dropped %d", 1);
	assert_int_equal(seen_level, 0);
	log_warn(&l, "kept %d", 2);
	assert_int_equal(seen_level, WLOG_WARN);
	assert_string_equal(seen_msg, "kept 2");
	log_err(NULL, "no sink is fine");
	assert_string_equal(err_str(W2W_EPARSE), "malformed input");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grow_and_cap),
		cmocka_unit_test(test_rd_bounds),
		cmocka_unit_test(test_log_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
