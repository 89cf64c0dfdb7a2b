/* SPDX-License-Identifier: MIT */
/*
 * yamux session fed arbitrary peer bytes in arbitrary pieces, with a host
 * that reads, writes, closes, resets and frees streams as the input decides.
 * Checks that memory stays within the configured limits whatever arrives.
 * Input: byte 0 = role and split seed, the rest is the peer's byte stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "yamux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 8
#define MAX_OUT 4

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamux_config cfg = {.max_inbound = MAX_IN, .max_outbound = MAX_OUT, .keepalive_us = 1000};
	struct yamux_stream *mine[MAX_IN + MAX_OUT];
	size_t n_mine = 0, off = 1;
	uint8_t scratch[4096];
	struct yamux *s;
	struct buf out;
	uint32_t x;
	uint64_t now = 0;

	if (size < 1)
		return 0;
	cfg.client = data[0] & 1;
	x = 0x9e3779b9u ^ data[0];
	if (yamux_new(&s, &cfg) < 0)
		return 0;
	buf_init(&out, 1 << 20);
	for (int i = 0; i < 2; i++) {
		struct yamux_stream *st;

		if (yamux_stream_open(s, NULL, &st) == 0) {
			mine[n_mine++] = st;
			(void)yamux_stream_write(st, "hello", 5);
		}
	}
	while (off < size) {
		size_t n = 1 + next(&x) % 64;
		struct yamux_event ev;
		int r;

		if (n > size - off)
			n = size - off;
		now += 100;
		r = yamux_feed(s, data + off, n, now);
		off += n;
		if (r == 0)
			r = yamux_tick(s, now);
		while (yamux_next_event(s, &ev)) {
			if (ev.type == YAMUX_EV_OPENED) {
				if (n_mine >= MAX_IN + MAX_OUT)
					abort(); /* more streams than the limits allow */
				mine[n_mine++] = ev.stream;
			}
		}
		for (size_t i = 0; i < n_mine;) {
			struct yamux_stream *st = mine[i];
			uint32_t op = next(&x) % 16;

			if (yamux_stream_readable(st) > 256 * 1024)
				abort(); /* beyond the window we granted */
			while (yamux_stream_read(st, scratch, sizeof(scratch)) > 0)
				;
			if (op < 6)
				(void)yamux_stream_write(st, scratch, 1 + next(&x) % sizeof(scratch));
			else if (op == 6)
				(void)yamux_stream_close(st);
			else if (op == 7)
				(void)yamux_stream_reset(st);
			if (op == 8 || yamux_stream_done(st)) {
				yamux_stream_free(st);
				mine[i] = mine[--n_mine];
				continue;
			}
			i++;
		}
		if (next(&x) % 4 == 0)
			(void)yamux_ping(s, now);
		buf_reset(&out);
		{
			size_t max = 1 + next(&x) % 100000;

			if ((size_t)yamux_pull(s, &out, max) != out.len || out.len > max)
				abort();
		}
		if (yamux_stream_count(s) > MAX_IN + MAX_OUT)
			abort();
		if (r < 0)
			break;
	}
	yamux_close(s, 0);
	buf_reset(&out);
	(void)yamux_pull(s, &out, SIZE_MAX);
	buf_free(&out);
	yamux_free(s);
	return 0;
}
