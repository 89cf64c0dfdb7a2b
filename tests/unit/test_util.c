/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	struct wlog l = {.fn = sink, .ud = NULL, .max_level = WLOG_INFO};

	(void)state;
	log_debug(&l, "dropped %d", 1);
	assert_int_equal(seen_level, 0);
	log_warn(&l, "kept %d", 2);
	assert_int_equal(seen_level, WLOG_WARN);
	assert_string_equal(seen_msg, "kept 2");
	log_err(NULL, "no sink is fine");
	assert_string_equal(err_str(W2W_EPARSE), "malformed input");
}

static unsigned n_lines;
static char last_lines[4][160];
static void count_sink(void *ud, int level, const char *msg)
{
	(void)ud;
	(void)level;
	snprintf(last_lines[n_lines % 4], sizeof(last_lines[0]), "%s", msg);
	n_lines++;
}

/* The rate limiter keys on the format pointer: the test passes the same
 * pointer from several places, so the format cannot be a literal here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wmissing-format-attribute"
static void at(const struct wlog *l, uint64_t now_us, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wlog_vprintf_at(l, now_us, level, fmt, ap);
	va_end(ap);
}
#pragma GCC diagnostic pop

#define SITE_A "refused %s: %d"
#define SITE_B "other site %d"

/* Issue 15: per call site, WLOG_RL_BURST lines per interval, then one summary. */
static void test_log_rate_limit(void **state)
{
	struct wlog l = {.fn = count_sink, .max_level = WLOG_INFO};
	const char *site_a = SITE_A, *site_b = SITE_B;
	uint64_t t = 5000000000ull;

	(void)state;
	n_lines = 0;
	for (int i = 0; i < 1000; i++)
		at(&l, t + (uint64_t)i, WLOG_WARN, site_a, "peer-text", i);
	assert_int_equal(n_lines, WLOG_RL_BURST);
	assert_string_equal(last_lines[(n_lines - 1) % 4], "refused peer-text: 19");
	/* Another call site has its own budget; levels filtered out are not counted. */
	at(&l, t + 1000, WLOG_INFO, site_b, 1);
	assert_int_equal(n_lines, WLOG_RL_BURST + 1);
	for (int i = 0; i < 100; i++)
		at(&l, t + 2000, WLOG_DEBUG, site_b, i);
	assert_int_equal(n_lines, WLOG_RL_BURST + 1);
	/* Still in the interval: nothing. */
	at(&l, t + WLOG_RL_INTERVAL_US - 1, WLOG_WARN, site_a, "x", 0);
	assert_int_equal(n_lines, WLOG_RL_BURST + 1);
	/* Interval over: one summary (site label, never the arguments), then the line. */
	at(&l, t + WLOG_RL_INTERVAL_US, WLOG_WARN, site_a, "y", 1);
	assert_int_equal(n_lines, WLOG_RL_BURST + 3);
	assert_string_equal(last_lines[(n_lines - 2) % 4], "refused *: * ... (981 more suppressed)");
	assert_string_equal(last_lines[(n_lines - 1) % 4], "refused y: 1");

	/* More call sites than slots: bounded, every line of a fresh site is logged. */
	{
		static const char *fmts[] = {"a%d", "b%d", "c%d", "d%d", "e%d", "f%d", "g%d", "h%d", "i%d", "j%d",
		                             "k%d", "l%d", "m%d", "n%d", "o%d", "p%d", "q%d", "r%d", "s%d", "t%d",
		                             "u%d", "v%d", "w%d", "x%d", "y%d", "z%d", "A%d", "B%d", "C%d", "D%d",
		                             "E%d", "F%d", "G%d", "H%d", "I%d", "J%d", "K%d", "L%d", "M%d", "N%d"};
		unsigned before = n_lines;

		for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
			at(&l, t + WLOG_RL_INTERVAL_US + 10 + i, WLOG_INFO, fmts[i], (int)i);
		/* 40 lines; evicting site A (which had nothing suppressed) adds no summary. */
		assert_int_equal(n_lines - before, 40);
	}
	/* Relayed lines (limited by the child's wlog already) are not limited again. */
	n_lines = 0;
	for (int i = 0; i < 100; i++)
		wlog_relay(&l, WLOG_INFO, "p2p: ", "line");
	assert_int_equal(n_lines, 100);
	assert_string_equal(last_lines[3], "p2p: line");
	wlog_relay(&l, WLOG_DEBUG, "p2p: ", "filtered");
	assert_int_equal(n_lines, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grow_and_cap),
		cmocka_unit_test(test_rd_bounds),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_rate_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
