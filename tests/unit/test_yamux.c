/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "yamux.h"
#include "testutil.h"

/* ---- helpers ---- */

static void frame(uint8_t out[12], uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	struct yamux_hdr h = {0, type, flags, id, len};

	yamux_hdr_encode(out, &h);
}

static struct yamux *mk(bool client, uint32_t max_inbound)
{
	struct yamux_config cfg = {.client = client, .max_inbound = max_inbound};
	struct yamux *s = NULL;

	assert_int_equal(yamux_new(&s, &cfg), 0);
	return s;
}

static void feed_frame(struct yamux *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t len, int want)
{
	uint8_t h[12];

	frame(h, type, flags, id, len);
	assert_int_equal(yamux_feed(s, h, 12, 0), want);
}

/* Pulls everything pending into a fresh buffer (caller frees). */
static struct buf pull_all(struct yamux *s)
{
	struct buf b;

	buf_init(&b, 0);
	while (yamux_pull(s, &b, 1u << 20) > 0)
		;
	return b;
}

static int next_ev(struct yamux *s, struct yamux_stream **st)
{
	struct yamux_event ev;

	if (!yamux_next_event(s, &ev))
		return YAMUX_EV_NONE;
	if (st)
		*st = ev.stream;
	return (int)ev.type;
}

/* xorshift64*: deterministic test randomness. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

/* ---- vectors ---- */

static void test_frame_vectors(void **state)
{
	/* libp2p.md 13.E, from the spec's header layout. */
	static const struct {
		uint8_t type;
		uint16_t flags;
		uint32_t id, len;
		const char *hex;
	} v[] = {
		{YAMUX_WINDOW_UPDATE, YAMUX_SYN, 1, 0, "00 01 0001 00000001 00000000"},
		{YAMUX_WINDOW_UPDATE, YAMUX_ACK, 2, 0, "00 01 0002 00000002 00000000"},
		{YAMUX_WINDOW_UPDATE, YAMUX_FIN, 1, 0, "00 01 0004 00000001 00000000"},
		{YAMUX_DATA, 0, 3, 5, "00 00 0000 00000003 00000005"},
		{YAMUX_PING, YAMUX_SYN, 0, 0, "00 02 0001 00000000 00000000"},
		{YAMUX_PING, YAMUX_ACK, 0, 0, "00 02 0002 00000000 00000000"},
		{YAMUX_GO_AWAY, 0, 0, 0, "00 03 0000 00000000 00000000"},
		{YAMUX_WINDOW_UPDATE, YAMUX_RST, 0x01020304, 0xa0b0c0d0, "00 01 0008 01020304 a0b0c0d0"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t want[12], got[12];
		struct yamux_hdr h;

		assert_int_equal(unhex(want, sizeof(want), v[i].hex), 12);
		frame(got, v[i].type, v[i].flags, v[i].id, v[i].len);
		assert_memory_equal(got, want, 12);
		assert_int_equal(yamux_hdr_decode(want, &h), 0);
		assert_int_equal(h.type, v[i].type);
		assert_int_equal(h.flags, v[i].flags);
		assert_int_equal(h.stream_id, v[i].id);
		assert_int_equal(h.length, v[i].len);
	}
}

static void test_bad_headers(void **state)
{
	uint8_t h[12];
	struct yamux_hdr out = {0};
	struct yamux *s;
	struct buf b;

	(void)state;
	unhex(h, sizeof(h), "01 00 0000 00000001 00000000"); /* version 1 */
	assert_int_equal(yamux_hdr_decode(h, &out), W2W_EPROTO);
	unhex(h, sizeof(h), "00 04 0000 00000001 00000000"); /* type 4 */
	assert_int_equal(yamux_hdr_decode(h, &out), W2W_EPROTO);

	s = mk(false, 0);
	assert_int_equal(yamux_feed(s, h, 12, 0), W2W_EPROTO);
	assert_int_equal(yamux_feed(s, h, 1, 0), W2W_EPROTO); /* sticky */
	b = pull_all(s);
	assert_int_equal(b.len, 12); /* GoAway(protocol error) */
	unhex(h, sizeof(h), "00 03 0000 00000000 00000001");
	assert_memory_equal(b.data, h, 12);
	buf_free(&b);
	yamux_free(s);

	/* Data on stream 0, and a SYN of our own parity, are fatal. */
	s = mk(false, 0);
	feed_frame(s, YAMUX_DATA, 0, 0, 0, W2W_EPROTO);
	yamux_free(s);
	s = mk(false, 0);
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 2, 0, W2W_EPROTO);
	yamux_free(s);
	s = mk(true, 0);
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 3, 0, W2W_EPROTO);
	yamux_free(s);
	/* A second SYN for an open stream. */
	s = mk(false, 0);
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 1, 0, 0);
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 1, 0, W2W_EPROTO);
	yamux_free(s);
}

static void test_open_write_ack(void **state)
{
	struct yamux *c = mk(true, 0), *sv = mk(false, 0);
	struct yamux_stream *st = NULL, *in = NULL, *st3 = NULL;
	uint8_t want[64], rbuf[16];
	struct buf b;
	size_t n;

	(void)state;
	assert_int_equal(yamux_stream_open(c, (void *)0x1, &st), 0);
	assert_int_equal(yamux_stream_id(st), 1);
	assert_ptr_equal(yamux_stream_user(st), (void *)0x1);
	assert_true(yamux_want_write(c));
	/* SYN rides on the first Data frame. */
	assert_int_equal(yamux_stream_write(st, "hello", 5), 5);
	b = pull_all(c);
	n = unhex(want, sizeof(want), "00 00 0001 00000001 00000005 68656c6c6f");
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	assert_false(yamux_want_write(c));

	/* A stream without data opens with WindowUpdate(SYN). */
	assert_int_equal(yamux_stream_open(c, NULL, &st3), 0);
	assert_int_equal(yamux_stream_id(st3), 3);
	assert_int_equal(yamux_pull(c, &b, 1000), 12);
	n = unhex(want, sizeof(want), "00 01 0001 00000003 00000000");
	assert_memory_equal(b.data + b.len - 12, want, 12);

	/* Split delivery, one byte at a time. */
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(yamux_feed(sv, b.data + i, 1, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(sv, &in), YAMUX_EV_OPENED);
	assert_int_equal(yamux_stream_id(in), 1);
	assert_true(yamux_stream_inbound(in));
	assert_int_equal(next_ev(sv, NULL), YAMUX_EV_READABLE);
	assert_int_equal(next_ev(sv, &st3), YAMUX_EV_OPENED);
	assert_int_equal(yamux_stream_id(st3), 3);
	assert_int_equal(next_ev(sv, NULL), YAMUX_EV_NONE);
	assert_int_equal(yamux_stream_read(in, rbuf, sizeof(rbuf)), 5);
	assert_memory_equal(rbuf, "hello", 5);
	assert_int_equal(yamux_stream_read(in, rbuf, sizeof(rbuf)), -EAGAIN);
	/* go-style immediate ACKs. */
	b = pull_all(sv);
	n = unhex(want, sizeof(want), "00 01 0002 00000001 00000000");
	assert_int_equal(b.len, 24);
	assert_true(memcmp(b.data, want, 12) == 0 || memcmp(b.data + 12, want, 12) == 0);
	buf_free(&b);
	assert_int_equal(yamux_stream_count(sv), 2);
	yamux_stream_free(in);
	yamux_stream_free(st3);
	/* Freed before finishing: reset. */
	b = pull_all(sv);
	assert_int_equal(b.len, 24);
	assert_int_equal(b.data[3], YAMUX_RST);
	assert_int_equal(yamux_stream_count(sv), 0);
	buf_free(&b);
	yamux_free(c);
	yamux_free(sv);
}

static void test_ping(void **state)
{
	struct yamux *s = mk(true, 0);
	struct yamux_event ev;
	uint8_t want[12], h[12];
	struct buf b;

	(void)state;
	/* Every SYN ping gets an ACK with the same value. */
	unhex(h, sizeof(h), "00 02 0001 00000000 0000002a");
	assert_int_equal(yamux_feed(s, h, 12, 0), 0);
	assert_int_equal(yamux_feed(s, h, 12, 0), 0);
	b = pull_all(s);
	unhex(want, sizeof(want), "00 02 0002 00000000 0000002a");
	assert_int_equal(b.len, 24);
	assert_memory_equal(b.data, want, 12);
	assert_memory_equal(b.data + 12, want, 12);
	buf_free(&b);

	/* Our ping: RTT from the matching ACK only. */
	assert_int_equal(yamux_ping(s, 1000), 0);
	assert_int_equal(yamux_ping(s, 1000), W2W_ESTATE);
	b = pull_all(s);
	assert_int_equal(b.len, 12);
	assert_int_equal(b.data[1], YAMUX_PING);
	assert_int_equal(b.data[3], YAMUX_SYN);
	memcpy(h, b.data, 12);
	buf_free(&b);
	assert_int_equal(yamux_next_deadline(s), 1000 + YAMUX_DEFAULT_PING_TIMEOUT_US);
	h[3] = YAMUX_ACK;
	h[11] ^= 0x80; /* wrong value: ignored */
	assert_int_equal(yamux_feed(s, h, 12, 2000), 0);
	assert_false(yamux_next_event(s, &ev));
	h[11] ^= 0x80;
	assert_int_equal(yamux_feed(s, h, 12, 3500), 0);
	assert_true(yamux_next_event(s, &ev));
	assert_int_equal(ev.type, YAMUX_EV_PING);
	assert_int_equal(ev.rtt_us, 2500);
	assert_int_equal(yamux_rtt_us(s), 2500);
	assert_int_equal(yamux_next_deadline(s), UINT64_MAX);

	/* An unanswered ping times out the session. */
	assert_int_equal(yamux_ping(s, 10000), 0);
	assert_int_equal(yamux_tick(s, 10000 + YAMUX_DEFAULT_PING_TIMEOUT_US - 1), 0);
	assert_int_equal(yamux_tick(s, 10000 + YAMUX_DEFAULT_PING_TIMEOUT_US), W2W_ETIMEDOUT);
	assert_int_equal(yamux_error(s), W2W_ETIMEDOUT);
	yamux_free(s);
}

static void test_keepalive(void **state)
{
	struct yamux_config cfg = {.client = true, .keepalive_us = 30000000};
	struct yamux *s;
	struct buf b;

	(void)state;
	assert_int_equal(yamux_new(&s, &cfg), 0);
	assert_int_equal(yamux_next_deadline(s), 0); /* first ping at once */
	assert_int_equal(yamux_tick(s, 5), 0);
	b = pull_all(s);
	assert_int_equal(b.len, 12);
	b.data[3] = YAMUX_ACK;
	assert_int_equal(yamux_feed(s, b.data, 12, 105), 0);
	assert_int_equal(yamux_rtt_us(s), 100);
	assert_int_equal(yamux_next_deadline(s), 5 + 30000000);
	buf_free(&b);
	assert_int_equal(yamux_tick(s, 5 + 29999999), 0);
	assert_false(yamux_want_write(s));
	assert_int_equal(yamux_tick(s, 5 + 30000000), 0);
	assert_true(yamux_want_write(s));
	yamux_free(s);
}

static void test_goaway(void **state)
{
	struct yamux *s = mk(false, 0);
	struct yamux_stream *st = NULL;
	struct yamux_event ev;
	uint8_t want[12];
	struct buf b;

	(void)state;
	assert_int_equal(yamux_close(s, YAMUX_GOAWAY_NORMAL), 0);
	assert_int_equal(yamux_stream_open(s, NULL, &st), W2W_ECLOSED);
	b = pull_all(s);
	unhex(want, sizeof(want), "00 03 0000 00000000 00000000");
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, want, 12);
	buf_free(&b);
	/* After our GoAway, new streams are refused with RST. */
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 7, 0, 0);
	assert_false(yamux_next_event(s, &ev));
	b = pull_all(s);
	unhex(want, sizeof(want), "00 01 0008 00000007 00000000");
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, want, 12);
	buf_free(&b);
	yamux_free(s);

	/* The peer's GoAway: reported once, and no more opens. */
	s = mk(true, 0);
	assert_int_equal(yamux_stream_open(s, NULL, &st), 0);
	feed_frame(s, YAMUX_GO_AWAY, 0, 0, 2, 0);
	assert_true(yamux_next_event(s, &ev));
	assert_int_equal(ev.type, YAMUX_EV_GOAWAY);
	assert_int_equal(ev.code, 2);
	assert_true(yamux_goaway_received(s));
	assert_int_equal(yamux_stream_open(s, NULL, &st), W2W_ECLOSED);
	/* Existing streams may finish. */
	assert_int_equal(yamux_stream_write(st, "x", 1), 1);
	yamux_free(s);
}

static void test_window_accounting(void **state)
{
	struct yamux *s = mk(false, 0);
	struct yamux_stream *st = NULL;
	uint8_t *data = malloc(YAMUX_INITIAL_WINDOW + 1);
	uint8_t h[12], want[12];
	struct buf b;

	(void)state;
	memset(data, 0x5a, YAMUX_INITIAL_WINDOW + 1);
	/* A js-yamux 8 style Data frame as large as the whole window. */
	frame(h, YAMUX_DATA, YAMUX_SYN, 1, YAMUX_INITIAL_WINDOW);
	assert_int_equal(yamux_feed(s, h, 12, 0), 0);
	assert_int_equal(yamux_feed(s, data, YAMUX_INITIAL_WINDOW, 0), 0);
	assert_int_equal(next_ev(s, &st), YAMUX_EV_OPENED);
	assert_int_equal(yamux_stream_readable(st), YAMUX_INITIAL_WINDOW);
	b = pull_all(s);
	assert_int_equal(b.len, 12); /* the ACK, no credit yet */
	assert_int_equal(b.data[11], 0);
	buf_free(&b);
	/* Less than half the window consumed: no update. */
	yamux_stream_consume(st, YAMUX_INITIAL_WINDOW / 2 - 1);
	assert_false(yamux_want_write(s));
	/* Half reached: grant exactly what was consumed. */
	yamux_stream_consume(st, 1);
	b = pull_all(s);
	frame(want, YAMUX_WINDOW_UPDATE, 0, 1, YAMUX_INITIAL_WINDOW / 2);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, want, 12);
	buf_free(&b);
	/* The peer may now send that much again, and not one byte more. */
	frame(h, YAMUX_DATA, 0, 1, YAMUX_INITIAL_WINDOW / 2);
	assert_int_equal(yamux_feed(s, h, 12, 0), 0);
	assert_int_equal(yamux_feed(s, data, YAMUX_INITIAL_WINDOW / 2, 0), 0);
	assert_int_equal(yamux_stream_readable(st), YAMUX_INITIAL_WINDOW);
	frame(h, YAMUX_DATA, 0, 1, 1);
	assert_int_equal(yamux_feed(s, h, 12, 0), W2W_EPROTO);
	b = pull_all(s);
	frame(want, YAMUX_GO_AWAY, 0, 0, YAMUX_GOAWAY_PROTO_ERR);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, want, 12);
	buf_free(&b);
	free(data);
	yamux_free(s);
}

static char last_log[256];
static void capture_log(void *ud, int level, const char *msg)
{
	(void)ud;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void test_huge_frame(void **state)
{
	struct wlog log = {.fn = capture_log, .ud = NULL, .max_level = WLOG_DEBUG};
	struct yamux_config cfg = {.client = false, .log = &log};
	struct yamux *s;
	uint8_t h[12];

	(void)state;
	assert_int_equal(yamux_new(&s, &cfg), 0);
	/* 4 GiB announced: fails on the header, before any body byte, and says why. */
	unhex(h, sizeof(h), "00 00 0001 00000001 ffffffff");
	assert_int_equal(yamux_feed(s, h, 12, 0), W2W_EPROTO);
	assert_non_null(strstr(last_log, "exceeds the receive window"));
	assert_int_equal(yamux_buffered(s), 12); /* just the GoAway */
	yamux_free(s);
	/* Same for a stream we do not know. */
	s = mk(false, 0);
	unhex(h, sizeof(h), "00 00 0000 00000009 ffffffff");
	assert_int_equal(yamux_feed(s, h, 12, 0), W2W_EPROTO);
	yamux_free(s);
}

static void test_syn_flood(void **state)
{
	const size_t n = 10000;
	struct yamux *s = mk(false, 0);
	uint8_t *in = malloc(n * 12);
	size_t acks = 0, rsts = 0, opened = 0;
	struct yamux_stream *st = NULL;
	struct buf b;

	(void)state;
	for (size_t i = 0; i < n; i++)
		frame(in + 12 * i, YAMUX_WINDOW_UPDATE, YAMUX_SYN, (uint32_t)(2 * i + 1), 0);
	assert_int_equal(yamux_feed(s, in, n * 12, 0), 0);
	assert_int_equal(yamux_stream_count(s), YAMUX_DEFAULT_MAX_INBOUND);
	while (next_ev(s, &st) == YAMUX_EV_OPENED)
		opened++;
	assert_int_equal(opened, YAMUX_DEFAULT_MAX_INBOUND);
	b = pull_all(s);
	assert_int_equal(b.len % 12, 0);
	for (size_t off = 0; off < b.len; off += 12) {
		struct yamux_hdr h;

		assert_int_equal(yamux_hdr_decode(b.data + off, &h), 0);
		if (h.flags == YAMUX_ACK)
			acks++;
		else if (h.flags == YAMUX_RST)
			rsts++;
	}
	assert_int_equal(acks, YAMUX_DEFAULT_MAX_INBOUND);
	assert_int_equal(rsts, n - YAMUX_DEFAULT_MAX_INBOUND);
	assert_int_equal(yamux_error(s), 0);
	buf_free(&b);

	/* A peer that keeps flooding without reading our RSTs hits the control cap. */
	for (int round = 0; round < 10 && yamux_error(s) == 0; round++) {
		for (size_t i = 0; i < n; i++)
			frame(in + 12 * i, YAMUX_WINDOW_UPDATE, YAMUX_SYN,
			      (uint32_t)(2 * (n * (round + 1) + i) + 1), 0);
		(void)yamux_feed(s, in, n * 12, 0);
	}
	assert_int_equal(yamux_error(s), W2W_ELIMIT);
	free(in);
	yamux_free(s);
}

static void test_peer_stops_reading(void **state)
{
	struct yamux *c = mk(true, 0), *sv = mk(false, 0);
	struct yamux_stream *st, *in = NULL;
	static uint8_t chunk[100000];
	struct yamux_event ev;
	size_t accepted = 0, framed = 0;
	struct buf b;
	int r;

	(void)state;
	assert_int_equal(yamux_stream_open(c, NULL, &st), 0);
	/* Write until the queue is full; pull everything the window allows. */
	for (int i = 0; i < 100; i++) {
		r = yamux_stream_write(st, chunk, sizeof(chunk));
		if (r == -EAGAIN)
			break;
		assert_true(r > 0);
		accepted += (size_t)r;
		b = pull_all(c);
		framed += b.len;
		assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0);
		buf_free(&b);
	}
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(yamux_stream_writable(st), 0);
	/* The window (256 KiB) went out, the queue (256 KiB) holds the rest. */
	assert_int_equal(accepted, YAMUX_INITIAL_WINDOW + YAMUX_DEFAULT_SENDQ);
	assert_int_equal(yamux_stream_queued(st), YAMUX_DEFAULT_SENDQ);
	assert_true(framed < YAMUX_INITIAL_WINDOW + 12 * 10);
	assert_int_equal(yamux_stream_write(st, chunk, 1), -EAGAIN);
	assert_int_equal(yamux_buffered(c), YAMUX_DEFAULT_SENDQ);
	assert_int_equal(yamux_buffered(sv), YAMUX_INITIAL_WINDOW);
	while (yamux_next_event(c, &ev))
		assert_int_not_equal(ev.type, YAMUX_EV_WRITABLE);

	/* The reader resumes: credit flows, the queue drains, WRITABLE fires. */
	assert_int_equal(next_ev(sv, &in), YAMUX_EV_OPENED);
	yamux_stream_consume(in, YAMUX_INITIAL_WINDOW);
	b = pull_all(sv);
	assert_int_equal(yamux_feed(c, b.data, b.len, 0), 0);
	buf_free(&b);
	b = pull_all(c);
	assert_int_equal(b.len, YAMUX_INITIAL_WINDOW + 12 * 5); /* 64 KiB - 12 byte frames */
	buf_free(&b);
	assert_int_equal(next_ev(c, NULL), YAMUX_EV_WRITABLE);
	assert_int_equal(yamux_stream_writable(st), YAMUX_INITIAL_WINDOW);
	yamux_free(c);
	yamux_free(sv);
}

static void test_half_close_and_reset(void **state)
{
	struct yamux *c = mk(true, 0), *sv = mk(false, 0);
	struct yamux_stream *st, *in = NULL, *t = NULL;
	uint8_t rbuf[16];
	struct buf b;

	(void)state;
	assert_int_equal(yamux_stream_open(c, NULL, &st), 0);
	assert_int_equal(yamux_stream_write(st, "ping", 4), 4);
	assert_int_equal(yamux_stream_close(st), 0);
	assert_int_equal(yamux_stream_write(st, "x", 1), W2W_ESTATE);
	b = pull_all(c);
	/* Data(SYN) then a separate WindowUpdate(FIN): never FIN on Data (js-yamux 7). */
	assert_int_equal(b.len, 16 + 12);
	assert_int_equal(b.data[1], YAMUX_DATA);
	assert_int_equal(b.data[3], YAMUX_SYN);
	assert_int_equal(b.data[16 + 1], YAMUX_WINDOW_UPDATE);
	assert_int_equal(b.data[16 + 3], YAMUX_FIN);
	assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(sv, &in), YAMUX_EV_OPENED);
	assert_int_equal(next_ev(sv, NULL), YAMUX_EV_READABLE);
	assert_int_equal(next_ev(sv, NULL), YAMUX_EV_EOF);
	assert_true(yamux_stream_eof(in));
	assert_int_equal(yamux_stream_read(in, rbuf, sizeof(rbuf)), 4);
	assert_int_equal(yamux_stream_read(in, rbuf, sizeof(rbuf)), 0); /* EOF */
	/* The other direction still works. */
	assert_int_equal(yamux_stream_write(in, "pong", 4), 4);
	assert_int_equal(yamux_stream_close(in), 0);
	b = pull_all(sv);
	assert_int_equal(next_ev(sv, &t), YAMUX_EV_CLOSED);
	assert_ptr_equal(t, in);
	assert_true(yamux_stream_done(in));
	yamux_stream_free(in);
	assert_int_equal(yamux_stream_count(sv), 0);
	assert_int_equal(yamux_feed(c, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(c, NULL), YAMUX_EV_READABLE);
	assert_int_equal(next_ev(c, NULL), YAMUX_EV_EOF);
	assert_int_equal(next_ev(c, NULL), YAMUX_EV_CLOSED);
	assert_int_equal(yamux_stream_read(st, rbuf, sizeof(rbuf)), 4);
	assert_memory_equal(rbuf, "pong", 4);
	yamux_stream_free(st);
	assert_int_equal(yamux_stream_count(c), 0);

	/* Reset: the peer sees RESET; reads and writes fail. */
	assert_int_equal(yamux_stream_open(c, NULL, &st), 0);
	assert_int_equal(yamux_stream_write(st, "abc", 3), 3);
	b = pull_all(c);
	assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(sv, &in), YAMUX_EV_OPENED);
	assert_int_equal(yamux_stream_reset(st), 0);
	assert_int_equal(yamux_stream_write(st, "x", 1), W2W_ECLOSED);
	b = pull_all(c);
	assert_int_equal(b.len, 12);
	assert_int_equal(b.data[3], YAMUX_RST);
	assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(sv, &t), YAMUX_EV_RESET); /* READABLE dropped with the data */
	assert_ptr_equal(t, in);
	assert_int_equal(yamux_stream_read(in, rbuf, sizeof(rbuf)), W2W_ECLOSED);
	assert_int_equal(yamux_stream_write(in, "x", 1), W2W_ECLOSED);
	yamux_stream_free(in);
	yamux_stream_free(st);
	assert_int_equal(yamux_stream_count(c), 0);
	assert_int_equal(yamux_stream_count(sv), 0);
	/* Late frames for a forgotten stream are ignored. */
	feed_frame(sv, YAMUX_WINDOW_UPDATE, 0, 3, 100, 0);
	assert_int_equal(yamux_error(sv), 0);
	yamux_free(c);
	yamux_free(sv);
}

static void test_free_after_close_flushes(void **state)
{
	struct yamux *c = mk(true, 0), *sv = mk(false, 0);
	struct yamux_stream *st, *in = NULL;
	uint8_t rbuf[8];
	struct buf b;

	(void)state;
	assert_int_equal(yamux_stream_open(c, NULL, &st), 0);
	b = pull_all(c);
	assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(next_ev(sv, &in), YAMUX_EV_OPENED);
	/* An identify responder: write, FIN, forget. */
	assert_int_equal(yamux_stream_write(in, "answer", 6), 6);
	assert_int_equal(yamux_stream_close(in), 0);
	yamux_stream_free(in);
	assert_int_equal(yamux_stream_count(sv), 1);
	b = pull_all(sv);
	assert_int_equal(yamux_stream_count(sv), 0);
	assert_int_equal(yamux_feed(c, b.data, b.len, 0), 0);
	buf_free(&b);
	assert_int_equal(yamux_stream_read(st, rbuf, sizeof(rbuf)), 6);
	assert_memory_equal(rbuf, "answer", 6);
	assert_int_equal(yamux_stream_read(st, rbuf, sizeof(rbuf)), 0);
	yamux_stream_free(st); /* not finished on our side: RST */
	b = pull_all(c);
	assert_int_equal(b.len, 12);
	assert_int_equal(b.data[3], YAMUX_RST);
	assert_int_equal(yamux_feed(sv, b.data, b.len, 0), 0); /* ignored */
	assert_int_equal(yamux_error(sv), 0);
	buf_free(&b);
	yamux_free(c);
	yamux_free(sv);
}

static void test_credit_on_flagged_updates(void **state)
{
	struct yamux *c = mk(true, 0);
	struct yamux_stream *st = NULL;
	static uint8_t data[400000];
	uint8_t h[12 + 5], want[12];
	struct buf b;

	(void)state;
	assert_int_equal(yamux_stream_open(c, NULL, &st), 0);
	assert_int_equal(yamux_stream_write(st, data, YAMUX_DEFAULT_SENDQ), (int)YAMUX_DEFAULT_SENDQ);
	b = pull_all(c);
	assert_int_equal(b.len, YAMUX_INITIAL_WINDOW + 5 * 12);
	buf_free(&b);
	assert_int_equal(yamux_stream_write(st, data, 100000), 100000);
	assert_false(yamux_want_write(c)); /* window used up */
	/* Credit on a frame that also carries ACK counts (libp2p.md P11). */
	feed_frame(c, YAMUX_WINDOW_UPDATE, YAMUX_ACK, 1, 70000, 0);
	b = pull_all(c);
	assert_int_equal(b.len, 70000 + 2 * 12);
	buf_free(&b);
	feed_frame(c, YAMUX_WINDOW_UPDATE, YAMUX_FIN, 1, 30000, 0);
	assert_true(yamux_stream_eof(st));
	b = pull_all(c);
	assert_int_equal(b.len, 30000 + 12);
	buf_free(&b);

	/* A Data frame with RST still has its payload: the ping behind it is parsed. */
	frame(h, YAMUX_DATA, YAMUX_RST, 1, 5);
	memcpy(h + 12, "abcde", 5);
	assert_int_equal(yamux_feed(c, h, sizeof(h), 0), 0);
	feed_frame(c, YAMUX_PING, YAMUX_SYN, 0, 77, 0);
	assert_true(yamux_stream_is_reset(st));
	assert_int_equal(next_ev(c, NULL), YAMUX_EV_RESET);
	b = pull_all(c);
	frame(want, YAMUX_PING, YAMUX_ACK, 0, 77);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, want, 12);
	buf_free(&b);
	yamux_free(c);
}

static void test_outbound_limit(void **state)
{
	struct yamux_config cfg = {.client = false, .max_outbound = 3};
	struct yamux_stream *st[4] = {0};
	struct yamux *s;

	(void)state;
	assert_int_equal(yamux_new(&s, &cfg), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(yamux_stream_open(s, NULL, &st[i]), 0);
		assert_int_equal(yamux_stream_id(st[i]), 2 + 2 * i); /* server: even IDs */
	}
	assert_int_equal(yamux_stream_open(s, NULL, &st[3]), W2W_ELIMIT);
	/* Freed before anything went out: no RST needed, the slot is free again. */
	yamux_stream_free(st[1]);
	assert_int_equal(yamux_stream_count(s), 2);
	assert_int_equal(yamux_stream_open(s, NULL, &st[3]), 0);
	assert_int_equal(yamux_stream_id(st[3]), 8);
	yamux_free(s);
}

static void test_small_reads(void **state)
{
	const size_t total = 1u << 20;
	struct yamux *s = mk(false, 0);
	struct yamux_stream *st = NULL;
	static uint8_t chunk[YAMUX_INITIAL_WINDOW];
	size_t sent = 0, got = 0, credit = YAMUX_INITIAL_WINDOW;
	uint8_t h[12], rbuf[7];
	int guard = 0;

	(void)state;
	feed_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 1, 0, 0);
	assert_int_equal(next_ev(s, &st), YAMUX_EV_OPENED);
	/* The peer sends whatever credit it has; we read 7 bytes at a time. */
	while (got < total && guard++ < 1000000) {
		struct buf b;

		if (credit > 0 && sent < total) {
			size_t n = credit < total - sent ? credit : total - sent;

			for (size_t i = 0; i < n; i++)
				chunk[i] = (uint8_t)((sent + i) * 131 >> 3);
			frame(h, YAMUX_DATA, 0, 1, (uint32_t)n);
			assert_int_equal(yamux_feed(s, h, 12, 0), 0);
			assert_int_equal(yamux_feed(s, chunk, n, 0), 0);
			sent += n;
			credit -= n;
		}
		for (int k = 0; k < 1000; k++) {
			int r = yamux_stream_read(st, rbuf, sizeof(rbuf));

			if (r == -EAGAIN)
				break;
			assert_true(r > 0);
			for (int i = 0; i < r; i++)
				assert_int_equal(rbuf[i], (uint8_t)((got + (size_t)i) * 131 >> 3));
			got += (size_t)r;
		}
		assert_true(yamux_buffered(s) <= YAMUX_INITIAL_WINDOW);
		b = pull_all(s);
		for (size_t off = 0; off < b.len; off += 12) {
			struct yamux_hdr wu;

			assert_int_equal(yamux_hdr_decode(b.data + off, &wu), 0);
			if (wu.type == YAMUX_WINDOW_UPDATE)
				credit += wu.length;
		}
		buf_free(&b);
	}
	assert_int_equal(got, total);
	assert_int_equal(yamux_error(s), 0);
	yamux_free(s);
}

static void test_js_open_before_ack(void **state)
{
	struct yamux *s = mk(false, 0);
	struct yamux_stream *st = NULL;
	uint8_t in[12 * 2 + 3], rbuf[8];

	(void)state;
	/* js: WindowUpdate(SYN) then Data at once, without waiting for our ACK. */
	frame(in, YAMUX_WINDOW_UPDATE, YAMUX_SYN, 1, 0);
	frame(in + 12, YAMUX_DATA, 0, 1, 3);
	memcpy(in + 24, "xyz", 3);
	assert_int_equal(yamux_feed(s, in, sizeof(in), 0), 0);
	assert_int_equal(next_ev(s, &st), YAMUX_EV_OPENED);
	assert_int_equal(yamux_stream_read(st, rbuf, sizeof(rbuf)), 3);
	assert_memory_equal(rbuf, "xyz", 3);
	yamux_free(s);
}

/* ---- two sessions end to end ---- */

#define E2E_STREAMS 20
#define E2E_BYTES (1u << 20)

struct e2e_out {
	struct yamux_stream *st;
	uint8_t *data;
	size_t sent, echoed;
	uint32_t sum_sent, sum_echo;
	bool closed, done;
};

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Moves a random amount of output of `from` into `to`, in random pieces. */
static void pump(struct yamux *from, struct yamux *to, struct buf *wire)
{
	size_t max = 1 + rnd() % 70000;
	size_t off = 0;

	(void)yamux_pull(from, wire, max);
	while (off < wire->len) {
		size_t n = 1 + rnd() % 9000;

		if (n > wire->len - off)
			n = wire->len - off;
		assert_int_equal(yamux_feed(to, wire->data + off, n, 0), 0);
		off += n;
	}
	buf_reset(wire);
}

static void server_echo(struct yamux *sv, struct yamux_stream **open, size_t n_open)
{
	for (size_t i = 0; i < n_open; i++) {
		struct yamux_stream *st = open[i];
		const uint8_t *p;
		size_t n;
		int w;

		if (!st || yamux_stream_done(st))
			continue;
		yamux_stream_peek(st, &p, &n);
		if (n > 0) {
			if (rnd() % 4 == 0 && n > 1)
				n = 1 + rnd() % n; /* short writes */
			w = yamux_stream_write(st, p, n);
			if (w > 0)
				yamux_stream_consume(st, (size_t)w);
			else
				assert_int_equal(w, -EAGAIN);
		}
		yamux_stream_peek(st, &p, &n);
		if (n == 0 && yamux_stream_eof(st) && yamux_stream_writable(st) > 0)
			assert_int_equal(yamux_stream_close(st), 0);
	}
	(void)sv;
}

static void test_e2e_20_streams(void **state)
{
	struct yamux *c = mk(true, 0), *sv = mk(false, 0);
	struct yamux_stream *sv_open[E2E_STREAMS] = {0};
	struct e2e_out o[E2E_STREAMS];
	size_t sv_closed = 0, done = 0, n_sv_open = 0;
	uint8_t *rbuf = malloc(1 << 16);
	struct buf wire;
	int rounds;

	(void)state;
	buf_init(&wire, 0);
	memset(o, 0, sizeof(o));
	for (int i = 0; i < E2E_STREAMS; i++) {
		o[i].data = malloc(E2E_BYTES);
		for (size_t k = 0; k < E2E_BYTES; k += 8) {
			uint64_t v = rnd();

			memcpy(o[i].data + k, &v, 8);
		}
		o[i].sum_sent = fnv(2166136261u, o[i].data, E2E_BYTES);
		o[i].sum_echo = 2166136261u;
		assert_int_equal(yamux_stream_open(c, &o[i], &o[i].st), 0);
	}
	for (rounds = 0; rounds < 200000 && (done < E2E_STREAMS || sv_closed < E2E_STREAMS); rounds++) {
		struct yamux_event ev;

		for (int i = 0; i < E2E_STREAMS; i++) {
			struct e2e_out *x = &o[i];
			int r;

			if (x->done)
				continue;
			if (x->sent < E2E_BYTES) {
				size_t n = 1 + rnd() % 50000;

				if (n > E2E_BYTES - x->sent)
					n = E2E_BYTES - x->sent;
				r = yamux_stream_write(x->st, x->data + x->sent, n);
				if (r > 0)
					x->sent += (size_t)r;
				else
					assert_int_equal(r, -EAGAIN);
			} else if (!x->closed) {
				assert_int_equal(yamux_stream_close(x->st), 0);
				x->closed = true;
			}
			while ((r = yamux_stream_read(x->st, rbuf, 1 + rnd() % (1 << 16))) > 0) {
				assert_true(x->echoed + (size_t)r <= E2E_BYTES);
				assert_memory_equal(rbuf, x->data + x->echoed, (size_t)r);
				x->sum_echo = fnv(x->sum_echo, rbuf, (size_t)r);
				x->echoed += (size_t)r;
			}
			if (r == 0 && x->echoed == E2E_BYTES) {
				assert_int_equal(x->sum_echo, x->sum_sent);
				x->done = true;
				done++;
			} else {
				assert_true(r == -EAGAIN || r == 0);
			}
		}
		pump(c, sv, &wire);
		while (yamux_next_event(sv, &ev)) {
			if (ev.type == YAMUX_EV_OPENED) {
				assert_true(n_sv_open < E2E_STREAMS);
				sv_open[n_sv_open++] = ev.stream;
			} else if (ev.type == YAMUX_EV_CLOSED) {
				for (size_t k = 0; k < n_sv_open; k++)
					if (sv_open[k] == ev.stream)
						sv_open[k] = NULL;
				yamux_stream_free(ev.stream);
				sv_closed++;
			}
			assert_int_not_equal(ev.type, YAMUX_EV_RESET);
		}
		server_echo(sv, sv_open, n_sv_open);
		pump(sv, c, &wire);
		while (yamux_next_event(c, &ev)) {
			assert_int_not_equal(ev.type, YAMUX_EV_RESET);
			assert_int_not_equal(ev.type, YAMUX_EV_OPENED);
		}
	}
	assert_int_equal(done, E2E_STREAMS);
	assert_int_equal(sv_closed, E2E_STREAMS);
	assert_int_equal(yamux_stream_count(sv), 0);
	for (int i = 0; i < E2E_STREAMS; i++) {
		assert_true(yamux_stream_done(o[i].st));
		yamux_stream_free(o[i].st);
		free(o[i].data);
	}
	assert_int_equal(yamux_stream_count(c), 0);
	assert_int_equal(yamux_error(c), 0);
	assert_int_equal(yamux_error(sv), 0);
	buf_free(&wire);
	free(rbuf);
	yamux_free(c);
	yamux_free(sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_vectors),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_open_write_ack),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_window_accounting),
		cmocka_unit_test(test_huge_frame),
		cmocka_unit_test(test_syn_flood),
		cmocka_unit_test(test_peer_stops_reading),
		cmocka_unit_test(test_half_close_and_reset),
		cmocka_unit_test(test_free_after_close_flushes),
		cmocka_unit_test(test_credit_on_flagged_updates),
		cmocka_unit_test(test_js_open_before_ack),
		cmocka_unit_test(test_outbound_limit),
		cmocka_unit_test(test_small_reads),
		cmocka_unit_test(test_e2e_20_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
