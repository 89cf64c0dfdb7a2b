/* SPDX-License-Identifier: MIT */
/*
 * p2p/conn: two connection engines wired back to back in memory, bytes moved
 * in random short pieces (seeded), virtual clock. Upgrade, identify both
 * ways, ping, wrong PSK (deadline), wrong expected peer, truncated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "err.h"
#include "ident.h"
#include "identify.h"
#include "mss.h"
#include "multiaddr.h"
#include "rng.h"
#include "yamux.h"

struct side {
	struct conn *c;
	int ready, identified, pings, ping_failed, gs_in_open, gs_closed;
	struct identify_info self;
	uint8_t observed[64];
	size_t observed_len;
	char protos[8][64];
	size_t n_protos;
};

static void on_event(void *ud, struct conn *c, const struct conn_event *ev)
{
	struct side *s = ud;

	(void)c;
	switch (ev->type) {
	case CONN_EV_READY:
		s->ready++;
		break;
	case CONN_EV_IDENTIFY:
		s->identified++;
		s->observed_len = ev->info->observed_addr.len;
		memcpy(s->observed, ev->info->observed_addr.b, s->observed_len);
		s->n_protos = ev->info->n_protocols < 8 ? ev->info->n_protocols : 8;
		for (size_t i = 0; i < s->n_protos; i++)
			snprintf(s->protos[i], sizeof(s->protos[i]), "%.*s", (int)sizeof(s->protos[i]) - 1, ev->info->protocols[i]);
		break;
	case CONN_EV_PING:
		s->pings++;
		break;
	case CONN_EV_PING_FAILED:
		s->ping_failed++;
		break;
	case CONN_EV_GS_IN_OPEN:
		s->gs_in_open++;
		break;
	case CONN_EV_GS_CLOSED:
		s->gs_closed++;
		break;
	default:
		break;
	}
}

static struct rng_seeded seeded;
static struct rng rng;
static uint64_t now;

static const uint8_t psk1[32] = { 7, 7, 7 };
static const uint8_t psk2[32] = { 8, 8, 8 };

static void side_new(struct side *s, struct ident *id, bool initiator, const uint8_t *psk,
		     const struct peerid *expect, const uint8_t *remote, size_t rlen)
{
	struct conn_config cc = { 0 };

	memset(s, 0, sizeof(*s));
	identify_info_init(&s->self);
	identify_set_public_key(&s->self, ident_pubkey_pb(id), IDENT_PUBPB_LEN);
	identify_add_protocol(&s->self, "/ipfs/id/1.0.0");
	identify_add_protocol(&s->self, "/ipfs/ping/1.0.0");
	cc.initiator = initiator;
	cc.psk = psk;
	cc.identity = id;
	cc.expected_peer = expect;
	cc.rng = &rng;
	cc.self_info = &s->self;
	cc.remote_ma = remote;
	cc.remote_ma_len = rlen;
	cc.name = initiator ? "I" : "R";
	cc.handshake_timeout_us = 5 * 1000 * 1000;
	cc.gossipsub = true;
	cc.cb.ud = s;
	cc.cb.on_event = on_event;
	assert_int_equal(conn_new(&s->c, &cc, now), 0);
}

/* Moves up to `max` bytes (a random piece) from a's output into b. */
static bool move(struct side *a, struct side *b, size_t max)
{
	const uint8_t *p;
	size_t n, k;

	conn_output(a->c, &p, &n);
	if (!n)
		return false;
	k = 1 + (size_t)rng_below(&rng, max < n ? max : n);
	conn_feed(b->c, p, k, now);
	conn_consume(a->c, k, now);
	return true;
}

/* Moves bytes both ways until nothing moved for a few rounds (or `rounds` ran out). */
static void shuttle(struct side *a, struct side *b, int rounds, size_t piece)
{
	int idle = 0;

	for (int i = 0; i < rounds && idle < 3; i++) {
		bool m1 = move(a, b, piece), m2 = move(b, a, piece);

		idle = m1 || m2 ? 0 : idle + 1;
		now += 100;
		conn_tick(a->c, now);
		conn_tick(b->c, now);
	}
}

static void test_upgrade_random_pieces(void **state)
{
	struct ident *ia, *ib;
	uint8_t ra[64], rb[64];
	int la, lb;
	const uint8_t lo[4] = { 127, 0, 0, 1 };

	(void)state;
	for (size_t piece = 1; piece <= 4096; piece *= 8) {
		struct side a, b;

		rng_seeded_init(&seeded, &rng, piece);
		assert_int_equal(ident_new(&ia, &rng), 0);
		assert_int_equal(ident_new(&ib, &rng), 0);
		la = ma_from_ip(ra, sizeof(ra), 4, lo, 4001, true, NULL);
		lb = ma_from_ip(rb, sizeof(rb), 4, lo, 50000, true, NULL);
		side_new(&a, ia, true, psk1, ident_peerid(ib), ra, (size_t)la);
		side_new(&b, ib, false, psk1, NULL, rb, (size_t)lb);
		shuttle(&a, &b, 200000, piece);
		assert_int_equal(conn_error(a.c), 0);
		assert_int_equal(conn_error(b.c), 0);
		assert_int_equal(a.ready, 1);
		assert_int_equal(b.ready, 1);
		assert_true(peerid_eq(conn_peer(a.c), ident_peerid(ib)));
		assert_true(peerid_eq(conn_peer(b.c), ident_peerid(ia)));
		assert_int_equal(a.identified, 1);
		assert_int_equal(b.identified, 1);
		/* Each side reports how the other saw it. */
		assert_int_equal(a.observed_len, (size_t)lb);
		assert_memory_equal(a.observed, rb, (size_t)lb);
		assert_memory_equal(b.observed, ra, (size_t)la);
		assert_string_equal(a.protos[1], "/ipfs/ping/1.0.0");
		assert_int_equal(conn_ping(a.c, now), 0);
		assert_int_equal(conn_ping(b.c, now), 0);
		shuttle(&a, &b, 200000, piece);
		assert_int_equal(a.pings, 1);
		assert_int_equal(b.pings, 1);
		/* A liveness probe: one yamux ping, answered by b's muxer; only the
		 * prober hears of it. */
		assert_int_equal(conn_probe(a.c, now), 0);
		shuttle(&a, &b, 200000, piece);
		assert_int_equal(a.pings, 2);
		assert_int_equal(b.pings, 1);
		assert_int_equal(conn_error(a.c), 0);
		/* Graceful close: GoAway, then done once flushed. */
		conn_close(a.c, now);
		shuttle(&a, &b, 1000, piece);
		assert_true(conn_done(a.c));
		assert_true(conn_memory(b.c) < 8u << 20);
		conn_free(a.c);
		conn_free(b.c);
		ident_free(ia);
		ident_free(ib);
	}
}

/*
 * Network PSK rotation: a responder holding two keys upgrades with a dialer
 * using either (its eager mss header held until the key is known, random
 * pieces), and refuses a third key at once, before any deadline.
 */
static void test_candidate_keys(void **state)
{
	static const uint8_t psk3[32] = { 9, 9, 9 };
	const uint8_t *both[2] = { psk1, psk2 };
	const uint8_t *dial[3] = { psk1, psk2, psk3 };
	struct ident *ia, *ib;
	struct side a, b;

	(void)state;
	rng_seeded_init(&seeded, &rng, 7);
	assert_int_equal(ident_new(&ia, &rng), 0);
	assert_int_equal(ident_new(&ib, &rng), 0);
	for (int k = 0; k < 3; k++) {
		const uint8_t *p;
		size_t n;
		uint64_t t0;

		side_new(&a, ia, true, dial[k], NULL, NULL, 0);
		side_new(&b, ib, false, NULL, NULL, NULL, 0);
		/* side_new gave b no key: make it the two-key responder. */
		conn_free(b.c);
		{
			struct conn_config cc = { 0 };

			cc.psks = both;
			cc.n_psks = 2;
			cc.identity = ib;
			cc.rng = &rng;
			cc.self_info = &b.self;
			cc.name = "R2";
			cc.handshake_timeout_us = 5 * 1000 * 1000;
			cc.cb.ud = &b;
			cc.cb.on_event = on_event;
			assert_int_equal(conn_new(&b.c, &cc, now), 0);
		}
		/* Only the nonce goes out before the dialer has spoken. */
		conn_output(b.c, &p, &n);
		assert_int_equal(n, 24);
		assert_int_equal(conn_psk_index(b.c), -1);
		t0 = now;
		shuttle(&a, &b, 10000, 7);
		if (k < 2) {
			assert_int_equal(a.ready, 1);
			assert_int_equal(b.ready, 1);
			assert_int_equal(conn_psk_index(b.c), k);
		} else {
			assert_int_equal(b.ready, 0);
			assert_int_equal(conn_error(b.c), W2W_EPSK);
			assert_non_null(strstr(conn_reason(b.c), "wrong swarm key"));
			assert_true(now - t0 < 1000 * 1000); /* at once, not at the deadline */
		}
		conn_free(a.c);
		conn_free(b.c);
	}
	ident_free(ia);
	ident_free(ib);
}

static void test_wrong_psk_and_peer(void **state)
{
	struct ident *ia, *ib, *ic;
	struct side a, b;

	(void)state;
	rng_seeded_init(&seeded, &rng, 99);
	assert_int_equal(ident_new(&ia, &rng), 0);
	assert_int_equal(ident_new(&ib, &rng), 0);
	assert_int_equal(ident_new(&ic, &rng), 0);

	/* Another swarm key: garbage for mss, or the deadline. */
	side_new(&a, ia, true, psk1, NULL, NULL, 0);
	side_new(&b, ib, false, psk2, NULL, NULL, 0);
	for (int i = 0; i < 100 && !(conn_done(a.c) && conn_done(b.c)); i++) {
		move(&a, &b, 512);
		move(&b, &a, 512);
		now += 200 * 1000;
		conn_tick(a.c, now);
		conn_tick(b.c, now);
	}
	assert_true(conn_done(a.c) && conn_done(b.c));
	assert_int_equal(a.ready + b.ready, 0);
	assert_non_null(strstr(conn_reason(b.c), "wrong swarm key?"));
	/* One cause, one code: both ends report the swarm key, not a limit or a close. */
	assert_int_equal(conn_error(a.c), W2W_EPSK);
	assert_int_equal(conn_error(b.c), W2W_EPSK);
	conn_free(a.c);
	conn_free(b.c);

	/* Expected peer C, reached B: the dialer refuses. */
	side_new(&a, ia, true, psk1, ident_peerid(ic), NULL, 0);
	side_new(&b, ib, false, psk1, NULL, NULL, 0);
	shuttle(&a, &b, 10000, 64);
	assert_int_equal(conn_error(a.c), W2W_EAUTH);
	assert_non_null(strstr(conn_reason(a.c), "wrong peer ID"));
	assert_int_equal(a.ready, 0);
	conn_free(a.c);
	conn_free(b.c);

	/* The peer goes away mid-handshake. */
	side_new(&a, ia, true, psk1, NULL, NULL, 0);
	side_new(&b, ib, false, psk1, NULL, NULL, 0);
	move(&a, &b, 30);
	conn_eof(b.c, 0);
	assert_true(conn_done(b.c));
	assert_non_null(strstr(conn_reason(b.c), "during the handshake"));
	conn_free(a.c);
	conn_free(b.c);
	ident_free(ia);
	ident_free(ib);
	ident_free(ic);
}

static void ready_pair(struct side *a, struct side *b, struct ident *ia, struct ident *ib)
{
	side_new(a, ia, true, psk1, NULL, NULL, 0);
	side_new(b, ib, false, psk1, NULL, NULL, 0);
	shuttle(a, b, 100000, 4096);
	assert_int_equal(a->ready + b->ready, 2);
}

static void test_yamux_abuse(void **state)
{
	struct ident *ia, *ib;
	struct side a, b;
	uint8_t hdr[YAMUX_HDR_LEN];
	struct yamux_hdr yh = { 0 };

	(void)state;
	rng_seeded_init(&seeded, &rng, 7);
	assert_int_equal(ident_new(&ia, &rng), 0);
	assert_int_equal(ident_new(&ib, &rng), 0);

	/* 10,000 streams opened at once: at most 256 accepted, the rest get RST,
	 * the session survives and memory stays bounded. */
	ready_pair(&a, &b, ia, ib);
	for (uint32_t i = 0; i < 10000; i++) {
		yh.type = YAMUX_WINDOW_UPDATE;
		yh.flags = YAMUX_SYN;
		yh.stream_id = 1001 + 2 * i; /* client IDs are odd */
		yamux_hdr_encode(hdr, &yh);
		assert_int_equal(conn_write_raw(a.c, hdr, sizeof(hdr)), 0);
		if (i % 500 == 499)
			shuttle(&a, &b, 100000, 65536);
	}
	shuttle(&a, &b, 100000, 65536);
	assert_int_equal(conn_error(b.c), 0);
	assert_true(conn_stream_count(b.c) <= 256 + 2);
	assert_true(conn_memory(b.c) < 16u << 20);
	assert_int_equal(conn_ping(b.c, now), 0);
	shuttle(&a, &b, 100000, 65536);
	assert_int_equal(b.pings, 1);
	conn_free(a.c);
	conn_free(b.c);

	/* A Data frame announcing 4 GiB: a protocol error, nothing allocated. */
	ready_pair(&a, &b, ia, ib);
	yh.type = YAMUX_DATA;
	yh.flags = YAMUX_SYN;
	yh.stream_id = 99;
	yh.length = 0xffffffffu;
	yamux_hdr_encode(hdr, &yh);
	assert_int_equal(conn_write_raw(a.c, hdr, sizeof(hdr)), 0);
	shuttle(&a, &b, 1000, 65536);
	assert_true(conn_done(b.c));
	assert_non_null(strstr(conn_reason(b.c), "yamux"));
	assert_true(conn_memory(b.c) < 8u << 20);
	conn_free(a.c);
	conn_free(b.c);
	ident_free(ia);
	ident_free(ib);
}

/* Raw yamux frame from a into the session (a's own yamux does not know the stream). */
static void raw_frame(struct side *a, uint8_t type, uint16_t flags, uint32_t id, const void *data, uint32_t len)
{
	uint8_t hdr[YAMUX_HDR_LEN];
	struct yamux_hdr yh = { .type = type, .flags = flags, .stream_id = id, .length = len };

	yamux_hdr_encode(hdr, &yh);
	assert_int_equal(conn_write_raw(a->c, hdr, sizeof(hdr)), 0);
	if (len)
		assert_int_equal(conn_write_raw(a->c, data, len), 0);
}

/* The peer opens stream id and negotiates /meshsub/1.1.0 on it (mss lines pipelined). */
static void raw_meshsub(struct side *a, uint32_t id)
{
	struct buf m;

	buf_init(&m, 256);
	assert_int_equal(mss_put_line(&m, MSS_PROTO_ID, strlen(MSS_PROTO_ID)), 0);
	assert_int_equal(mss_put_line(&m, "/meshsub/1.1.0", 14), 0);
	raw_frame(a, YAMUX_DATA, YAMUX_SYN, id, m.data, (uint32_t)m.len);
	buf_free(&m);
}

/*
 * pubsub/README.md: the newest meshsub stream of a peer is the one read. The
 * one it replaced is no longer read, but when the peer half-closes it we
 * close our half too and forget it: replaced streams must not pile up in
 * yamux (256 per direction) for the life of the connection.
 */
static void test_replaced_meshsub_stream(void **state)
{
	struct ident *ia, *ib;
	struct side a, b;
	size_t before;

	(void)state;
	rng_seeded_init(&seeded, &rng, 9);
	assert_int_equal(ident_new(&ia, &rng), 0);
	assert_int_equal(ident_new(&ib, &rng), 0);
	ready_pair(&a, &b, ia, ib);
	shuttle(&a, &b, 100000, 4096); /* identify both ways is over */
	before = conn_stream_count(b.c);
	for (int round = 0; round < 3; round++) {
		uint32_t old = 1001 + 4 * (uint32_t)round, newer = old + 2;

		raw_meshsub(&a, old);
		shuttle(&a, &b, 100000, 4096);
		raw_meshsub(&a, newer);
		shuttle(&a, &b, 100000, 4096);
		/* The peer ends both: the replaced one, then the current one. */
		raw_frame(&a, YAMUX_WINDOW_UPDATE, YAMUX_FIN, old, NULL, 0);
		raw_frame(&a, YAMUX_WINDOW_UPDATE, YAMUX_FIN, newer, NULL, 0);
		shuttle(&a, &b, 100000, 4096);
		assert_int_equal(conn_error(b.c), 0);
		assert_int_equal(b.gs_in_open, 2 * (round + 1));
		/* Only the current stream's end is reported. */
		assert_int_equal(b.gs_closed, round + 1);
		assert_int_equal(conn_stream_count(b.c), before);
	}
	conn_free(a.c);
	conn_free(b.c);
	ident_free(ia);
	ident_free(ib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_random_pieces),
		cmocka_unit_test(test_wrong_psk_and_peer),
		cmocka_unit_test(test_candidate_keys),
		cmocka_unit_test(test_yamux_abuse),
		cmocka_unit_test(test_replaced_meshsub_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
