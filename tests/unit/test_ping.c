/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "ping.h"
#include "rng.h"
#include "yamux.h"

static void test_initiator(void **state)
{
	struct rng_seeded s1, s2;
	struct rng r1, r2;
	uint8_t want[PING_SIZE];
	struct ping p;
	struct buf out;

	(void)state;
	rng_seeded_init(&s1, &r1, 7);
	rng_seeded_init(&s2, &r2, 7);
	ping_init(&p, true, 0);
	buf_init(&out, 0);
	assert_int_equal(ping_next_deadline(&p), UINT64_MAX);
	assert_int_equal(ping_send(&p, &r1, 1000, &out), 0);
	assert_int_equal(ping_send(&p, &r1, 1000, &out), W2W_ESTATE);
	/* The payload is the next 32 bytes of the injected RNG. */
	rng_fill(&r2, want, sizeof(want));
	assert_int_equal(out.len, PING_SIZE);
	assert_memory_equal(out.data, want, PING_SIZE);
	assert_true(ping_outstanding(&p));
	assert_int_equal(ping_next_deadline(&p), 1000 + PING_DEFAULT_TIMEOUT_US);
	/* The echo in three pieces; extra bytes are not consumed. */
	assert_int_equal(ping_feed(&p, out.data, 5, 1200, NULL), 5);
	assert_int_equal(ping_feed(&p, out.data + 5, 20, 1300, NULL), 20);
	assert_true(ping_outstanding(&p));
	buf_append(&out, "zz", 2);
	assert_int_equal(ping_feed(&p, out.data + 25, 9, 1750, NULL), 7);
	assert_false(ping_outstanding(&p));
	assert_int_equal(ping_rtt_us(&p), 750);
	assert_int_equal(p.count, 1);
	/* Bytes nobody asked for. */
	assert_int_equal(ping_feed(&p, "zz", 2, 1800, NULL), W2W_EPROTO);
	assert_int_equal(ping_eof(&p), 0);

	/* A second ping on the same stream, echoed wrongly. */
	buf_reset(&out);
	assert_int_equal(ping_send(&p, &r1, 2000, &out), 0);
	out.data[31] ^= 1;
	assert_int_equal(ping_feed(&p, out.data, 31, 2100, NULL), 31);
	assert_int_equal(ping_feed(&p, out.data + 31, 1, 2100, NULL), W2W_EPROTO);
	/* And one that never comes back. */
	ping_init(&p, true, 500);
	buf_reset(&out);
	assert_int_equal(ping_send(&p, &r1, 3000, &out), 0);
	assert_int_equal(ping_tick(&p, 3499), 0);
	assert_int_equal(ping_tick(&p, 3500), W2W_ETIMEDOUT);
	assert_int_equal(ping_eof(&p), W2W_ECLOSED);
	buf_free(&out);
}

static void test_responder(void **state)
{
	uint8_t in[100];
	struct ping p;
	struct buf out, small;

	(void)state;
	for (int i = 0; i < 100; i++)
		in[i] = (uint8_t)(i * 7 + 1);
	ping_init(&p, false, 0);
	assert_int_equal(ping_send(&p, NULL, 0, NULL), W2W_ESTATE);
	buf_init(&out, 0);
	/* 70 bytes in odd pieces: two blocks echoed, 6 bytes held. */
	assert_int_equal(ping_feed(&p, in, 13, 0, &out), 13);
	assert_int_equal(out.len, 0);
	assert_int_equal(ping_feed(&p, in + 13, 50, 0, &out), 50);
	assert_int_equal(out.len, 32);
	assert_int_equal(ping_feed(&p, in + 63, 7, 0, &out), 7);
	assert_int_equal(out.len, 64);
	assert_memory_equal(out.data, in, 64);
	assert_int_equal(p.in_len, 6);
	/* Backpressure: with no room for an echo, the block is not completed. */
	buf_init(&small, 31);
	assert_int_equal(ping_feed(&p, in + 70, 30, 0, &small), 0);
	assert_int_equal(small.len, 0);
	buf_free(&small);
	assert_int_equal(ping_feed(&p, in + 70, 30, 0, &out), 30);
	assert_int_equal(out.len, 96);
	assert_memory_equal(out.data + 64, in + 64, 32);
	assert_int_equal(p.count, 3);
	assert_int_equal(ping_eof(&p), 0);
	buf_free(&out);
}

/* Both roles on top of two yamux sessions, as the swarm composes them. */
static void test_over_yamux(void **state)
{
	struct yamux_config cc = {.client = true}, sc = {.client = false};
	struct yamux *c, *s;
	struct yamux_stream *cs, *ss = NULL;
	struct yamux_event ev;
	struct ping pi, pr;
	struct buf wire, tmp;
	const uint8_t *p;
	size_t n;
	uint64_t now = 1000000;
	int pings = 0;

	(void)state;
	assert_int_equal(yamux_new(&c, &cc), 0);
	assert_int_equal(yamux_new(&s, &sc), 0);
	buf_init(&wire, 0);
	buf_init(&tmp, 0);
	ping_init(&pi, true, 0);
	ping_init(&pr, false, 0);
	assert_int_equal(yamux_stream_open(c, NULL, &cs), 0);
	for (int round = 0; round < 50 && pings < 3; round++) {
		now += 100;
		if (!ping_outstanding(&pi)) {
			buf_reset(&tmp);
			assert_int_equal(ping_send(&pi, NULL, now, &tmp), 0);
			assert_int_equal(yamux_stream_write(cs, tmp.data, tmp.len), PING_SIZE);
		}
		(void)yamux_pull(c, &wire, SIZE_MAX);
		assert_int_equal(yamux_feed(s, wire.data, wire.len, now), 0);
		buf_reset(&wire);
		while (yamux_next_event(s, &ev))
			if (ev.type == YAMUX_EV_OPENED)
				ss = ev.stream;
		if (ss) {
			struct buf echo;

			/* The echo is bounded by what the stream accepts now. */
			buf_init(&echo, yamux_stream_writable(ss));
			yamux_stream_peek(ss, &p, &n);
			yamux_stream_consume(ss, (size_t)ping_feed(&pr, p, n, now, &echo));
			if (echo.len)
				assert_int_equal(yamux_stream_write(ss, echo.data, echo.len), (int)echo.len);
			buf_free(&echo);
		}
		(void)yamux_pull(s, &wire, SIZE_MAX);
		now += 100;
		assert_int_equal(yamux_feed(c, wire.data, wire.len, now), 0);
		buf_reset(&wire);
		yamux_stream_peek(cs, &p, &n);
		if (n) {
			int k = ping_feed(&pi, p, n, now, NULL);

			assert_true(k > 0);
			yamux_stream_consume(cs, (size_t)k);
			if (!ping_outstanding(&pi)) {
				assert_int_equal(ping_rtt_us(&pi), 100);
				pings++;
			}
		}
		while (yamux_next_event(c, &ev))
			;
	}
	assert_int_equal(pings, 3);
	assert_int_equal(pr.count, 3);
	buf_free(&wire);
	buf_free(&tmp);
	yamux_free(c);
	yamux_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator),
		cmocka_unit_test(test_responder),
		cmocka_unit_test(test_over_yamux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
