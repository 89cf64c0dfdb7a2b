/* SPDX-License-Identifier: MIT */
/*
 * p2p/swarm inbound admission (issue 15 item 2): swarm_admit_inbound before
 * the host spends anything on a connection, the admission handed over to
 * swarm_conn_add_admitted (or cancelled), and the block list a connection
 * flood earns (its start, its end at swarm_next_deadline / swarm_tick).
 * Virtual clock; no sockets (the kernel filter: test_sock test_blocklist).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "ident.h"
#include "log.h"
#include "iplimit.h"
#include "multiaddr.h"
#include "rng.h"
#include "swarm.h"

#define SEC 1000000ull

static struct rng_seeded seeded;
static struct rng rng;
static int lines;

static void count_line(void *ud, int level, const char *msg)
{
	(void)ud;
	(void)level;
	(void)msg;
	lines++;
}

static struct swarm *mk(struct ident **id, struct wlog *log)
{
	struct swarm_config cfg = { 0 };
	struct swarm *sw;

	rng_seeded_init(&seeded, &rng, 15);
	assert_int_equal(ident_new(id, &rng), 0);
	memset(log, 0, sizeof(*log));
	log->fn = count_line;
	log->max_level = WLOG_DEBUG;
	cfg.identity = *id;
	cfg.rng = &rng;
	cfg.log = log;
	assert_int_equal(swarm_new(&sw, &cfg), 0);
	return sw;
}

static void test_admit_handover(void **state)
{
	struct ident *id;
	struct wlog log;
	struct swarm *sw = mk(&id, &log);
	const uint8_t a[16] = { 10, 0, 0, 1 }, lo[16] = { 127, 0, 0, 1 };
	uint8_t ma[MA_MAX_BIN];
	struct swarm_conn *sc[IPL_HANDSHAKES_PER_IP], *x = NULL;
	uint64_t now = 10 * SEC;
	int n = ma_from_ip(ma, sizeof(ma), 4, a, 4001, true, NULL), r;

	(void)state;
	assert_true(n > 0);
	/* a stranger's handshake slots: admitted and tracked, then refused */
	for (int i = 0; i < IPL_HANDSHAKES_PER_IP; i++) {
		r = swarm_admit_inbound(sw, 4, a, now);
		assert_int_equal(r, 1);
		assert_int_equal(swarm_conn_add_admitted(sw, 4, a, r, ma, (size_t)n, "a", now, &sc[i]), 0);
	}
	assert_int_equal(swarm_admit_inbound(sw, 4, a, now), W2W_ELIMIT);
	/* a connection that goes away gives its slot back */
	swarm_conn_remove(sw, sc[0], now);
	r = swarm_admit_inbound(sw, 4, a, now);
	assert_int_equal(r, 1);
	/* ... and so does an admission the host could not use */
	swarm_admit_cancel(sw, 4, a, r);
	r = swarm_admit_inbound(sw, 4, a, now);
	assert_int_equal(r, 1);
	/* handed over with an address that is not an IP: refused, the slot freed all the same */
	assert_int_equal(swarm_conn_add_admitted(sw, 4, a, r, (const uint8_t *)"\x00", 1, "bad", now, &x), -EINVAL);
	assert_null(x);
	/* ... or with another IP's address */
	r = swarm_admit_inbound(sw, 4, a, now);
	assert_int_equal(r, 1);
	{
		uint8_t mb[MA_MAX_BIN];
		const uint8_t other[16] = { 10, 0, 0, 2 };
		int nb = ma_from_ip(mb, sizeof(mb), 4, other, 4001, true, NULL);

		assert_int_equal(swarm_conn_add_admitted(sw, 4, a, r, mb, (size_t)nb, "b", now, &x), -EINVAL);
	}
	assert_int_equal(swarm_conn_add_admitted(sw, 4, a, 2, ma, (size_t)n, "a", now, &x), -EINVAL);
	r = swarm_admit_inbound(sw, 4, a, now);
	assert_int_equal(r, 1);
	assert_int_equal(swarm_conn_add_admitted(sw, 4, a, r, ma, (size_t)n, "a", now, &sc[0]), 0);
	/* loopback: admitted, not tracked */
	for (int i = 0; i < 50; i++)
		assert_int_equal(swarm_admit_inbound(sw, 4, lo, now), 0);
	assert_int_equal(swarm_admit_inbound(sw, 5, a, now), W2W_EPARSE);
	for (int i = 0; i < IPL_HANDSHAKES_PER_IP; i++)
		swarm_conn_remove(sw, sc[i], now);
	swarm_free(sw);
	ident_free(id);
}

static void test_flood_block_list(void **state)
{
	struct ident *id;
	struct wlog log;
	struct swarm *sw = mk(&id, &log);
	const uint8_t a[16] = { 192, 0, 2, 7 }, b[16] = { 192, 0, 2, 8 };
	uint8_t out[IPL_BLOCKS][16];
	uint64_t now = 10 * SEC;
	uint32_t gen = swarm_blocklist_gen(sw);
	int admitted = 0, refused = 0;

	(void)state;
	assert_int_equal(swarm_blocklist(sw, 4, out, IPL_BLOCKS), 0);
	/* a reconnect loop: every admitted one fails its handshake at once */
	lines = 0;
	for (int i = 0; i < 1000; i++) {
		int r = swarm_admit_inbound(sw, 4, a, now);

		if (r == 1) {
			admitted++;
			swarm_admit_cancel(sw, 4, a, r);
		} else {
			assert_int_equal(r, W2W_ELIMIT);
			refused++;
		}
	}
	assert_int_equal(admitted, IPL_BURST);
	assert_int_equal(refused, 1000 - IPL_BURST);
	/* 984 refusals: the log stays bounded (one site per 10 s, plus the block's line) */
	assert_true(lines <= 2 * WLOG_RL_BURST + 2);
	assert_int_not_equal(swarm_blocklist_gen(sw), gen);
	assert_int_equal(swarm_blocklist(sw, 4, out, IPL_BLOCKS), 1);
	assert_memory_equal(out[0], a, 4);
	assert_int_equal(swarm_blocklist(sw, 6, out, IPL_BLOCKS), 0);
	/* another IP gets in; the block's end is a deadline */
	assert_int_equal(swarm_admit_inbound(sw, 4, b, now), 1);
	swarm_admit_cancel(sw, 4, b, 1);
	assert_true(swarm_next_deadline(sw) <= now + IPL_BLOCK_S * SEC);
	/* still blocked just before the end, not after */
	swarm_tick(sw, now + IPL_BLOCK_S * SEC - 1);
	assert_int_equal(swarm_blocklist(sw, 4, out, IPL_BLOCKS), 1);
	assert_int_equal(swarm_admit_inbound(sw, 4, a, now + IPL_BLOCK_S * SEC - 1), W2W_ELIMIT);
	gen = swarm_blocklist_gen(sw);
	swarm_tick(sw, now + IPL_BLOCK_S * SEC);
	assert_int_not_equal(swarm_blocklist_gen(sw), gen);
	assert_int_equal(swarm_blocklist(sw, 4, out, IPL_BLOCKS), 0);
	assert_int_equal(swarm_admit_inbound(sw, 4, a, now + IPL_BLOCK_S * SEC), 1);
	swarm_admit_cancel(sw, 4, a, 1);
	swarm_free(sw);
	ident_free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admit_handover),
	    cmocka_unit_test(test_flood_block_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
