/* SPDX-License-Identifier: MIT */
/* Per-IP admission of inbound connections (lib/p2p/iplimit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "iplimit.h"

#define SEC 1000000ull

static const uint8_t *ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	static uint8_t ip[8][16];
	static int k;
	uint8_t *p = ip[k++ % 8];

	memset(p, 0, 16);
	p[0] = a, p[1] = b, p[2] = c, p[3] = d;
	return p;
}

static int admit(struct iplimit *l, int fam, const uint8_t *ip, uint64_t now, bool *tracked)
{
	const char *why;
	bool t;
	int r = iplimit_admit(l, fam, ip, now, tracked ? tracked : &t, &why);

	assert_true(r == 0 ? why == NULL : why != NULL);
	return r;
}

static void test_per_ip_handshakes_and_rate(void **state)
{
	struct iplimit *l = iplimit_new();
	uint8_t a[16], b[16];
	bool tracked;
	uint64_t now = 100 * SEC;

	(void)state;
	memcpy(a, ip4(10, 0, 0, 1), 16); /* ip4() reuses 8 buffers */
	memcpy(b, ip4(10, 0, 0, 2), 16);
	assert_non_null(l);
	/* 8 handshakes at once from one IP, not a 9th; another IP is not affected */
	for (int i = 0; i < IPL_HANDSHAKES_PER_IP; i++) {
		assert_int_equal(admit(l, 4, a, now, &tracked), 0);
		assert_true(tracked);
	}
	assert_int_equal(admit(l, 4, a, now, NULL), W2W_ELIMIT);
	assert_int_equal(admit(l, 4, b, now, NULL), 0);
	assert_int_equal(iplimit_handshakes(l), 9);
	/* they fail the handshake: slots free, but the bucket (burst 16) is nearly empty */
	for (int i = 0; i < IPL_HANDSHAKES_PER_IP; i++)
		iplimit_closed(l, 4, a, false);
	assert_int_equal(iplimit_handshakes(l), 1);
	int ok = 0;
	/* (40 tries: 100 at once would be a flood, and block the IP: test_flood_blocks) */
	for (int i = 0; i < 40; i++) {
		if (admit(l, 4, a, now, NULL) == 0) {
			ok++;
			iplimit_closed(l, 4, a, false);
		}
	}
	assert_int_equal(ok, IPL_BURST - IPL_HANDSHAKES_PER_IP - 1 + 1); /* 16 tokens: 8 + 1 refused + 8 */
	/* one second later: IPL_RATE_PER_S more */
	now += SEC;
	ok = 0;
	for (int i = 0; i < 40; i++) {
		if (admit(l, 4, a, now, NULL) == 0) {
			ok++;
			iplimit_closed(l, 4, a, false);
		}
	}
	assert_int_equal(ok, IPL_RATE_PER_S);
	assert_int_equal(iplimit_refused(l), 1 + 32 + 32);
	assert_int_equal(iplimit_blocks_total(l), 0);
	iplimit_free(l);
}

static void test_known_and_global(void **state)
{
	struct iplimit *l = iplimit_new();
	uint8_t peer[16], lo[16];
	uint64_t now = 5 * SEC;
	bool tracked;

	(void)state;
	memcpy(peer, ip4(10, 0, 0, 7), 16); /* ip4() reuses 8 buffers */
	memcpy(lo, ip4(127, 0, 0, 1), 16);
	/* a connection from peer completes its handshake: the IP is known */
	assert_int_equal(admit(l, 4, peer, now, &tracked), 0);
	iplimit_ready(l, 4, peer);
	assert_true(iplimit_known(l, 4, peer));
	assert_int_equal(iplimit_handshakes(l), 0);
	/* strangers fill every handshake slot (8 IPs x 8) */
	for (int i = 0; i < IPL_HANDSHAKES / IPL_HANDSHAKES_PER_IP; i++)
		for (int k = 0; k < IPL_HANDSHAKES_PER_IP; k++)
			assert_int_equal(admit(l, 4, ip4(192, 0, 2, (uint8_t)(i + 1)), now, NULL), 0);
	assert_int_equal(iplimit_handshakes(l), IPL_HANDSHAKES);
	assert_int_equal(admit(l, 4, ip4(192, 0, 2, 100), now, NULL), W2W_ELIMIT);
	/* the known peer still gets in, 30 times at once (no rate limit for it) */
	for (int i = 0; i < 30; i++)
		assert_int_equal(admit(l, 4, peer, now, NULL), 0);
	assert_int_equal(iplimit_handshakes(l), IPL_HANDSHAKES);
	/* ... up to its own bound */
	for (int i = 31; i < IPL_CONNS_KNOWN; i++)
		assert_int_equal(admit(l, 4, peer, now, NULL), 0);
	assert_int_equal(admit(l, 4, peer, now, NULL), W2W_ELIMIT);
	/* loopback is never limited, nor tracked */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(admit(l, 4, lo, now, &tracked), 0);
		assert_false(tracked);
	}
	/* an IP we dialled ourselves is known too */
	iplimit_mark_known(l, 4, ip4(10, 0, 0, 8));
	assert_int_equal(admit(l, 4, ip4(10, 0, 0, 8), now, NULL), 0);
	iplimit_free(l);
}

static void test_ipv6_prefix_and_table(void **state)
{
	struct iplimit *l = iplimit_new();
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
	uint64_t now = SEC;

	(void)state;
	/* one /64 is one unit: varying the interface ID does not get around the limit */
	for (int i = 0; i < IPL_HANDSHAKES_PER_IP; i++) {
		v6[15] = (uint8_t)i;
		assert_int_equal(admit(l, 6, v6, now, NULL), 0);
	}
	v6[15] = 200;
	assert_int_equal(admit(l, 6, v6, now, NULL), W2W_ELIMIT);
	/* the table forgets idle strangers to make room: 5000 IPs one after the
	 * other; the known IPs and the busy /64 stay (the index survives the evictions) */
	for (int i = 0; i < 40; i++)
		iplimit_mark_known(l, 4, ip4(10, 9, 0, (uint8_t)i));
	for (int i = 0; i < 5000; i++) {
		const uint8_t *x = ip4(172, 16, (uint8_t)(i >> 8), (uint8_t)i);

		assert_int_equal(admit(l, 4, x, now + (uint64_t)i, NULL), 0);
		iplimit_closed(l, 4, x, false);
		if (i % 97 == 0)
			for (int k = 0; k < 40; k++)
				assert_true(iplimit_known(l, 4, ip4(10, 9, 0, (uint8_t)k)));
	}
	for (int k = 0; k < 40; k++)
		assert_true(iplimit_known(l, 4, ip4(10, 9, 0, (uint8_t)k)));
	assert_false(iplimit_known(l, 4, ip4(10, 9, 1, 0)));
	assert_int_equal(admit(l, 6, v6, now, NULL), W2W_ELIMIT);
	iplimit_free(l);
}

/* Refuses ip n times at now (after its burst is spent); how many were refused. */
static int hammer(struct iplimit *l, int fam, const uint8_t *ip, uint64_t now, int n)
{
	int refused = 0;

	for (int i = 0; i < n; i++) {
		if (admit(l, fam, ip, now, NULL) == 0)
			iplimit_closed(l, fam, ip, false);
		else
			refused++;
	}
	return refused;
}

static void test_flood_blocks(void **state)
{
	struct iplimit *l = iplimit_new();
	uint8_t a[16], b[16], out[IPL_BLOCKS][16];
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8};
	uint64_t now = 50 * SEC;
	uint32_t gen;
	const char *why;
	bool t;

	(void)state;
	memcpy(a, ip4(10, 0, 0, 1), 16);
	memcpy(b, ip4(10, 0, 0, 2), 16);
	/* refusals spread out (a dialler with backoff, or slow retries) never block */
	for (int s = 0; s < 10; s++)
		hammer(l, 4, a, now + (uint64_t)s * (SEC + 1), IPL_BLOCK_AFTER - 1 + IPL_RATE_PER_S);
	assert_int_equal(iplimit_blocks_total(l), 0);
	assert_int_equal(iplimit_next_expiry(l), UINT64_MAX);
	/* a flood: IPL_BLOCK_AFTER refusals within a second block the IP */
	now += 20 * SEC;
	gen = iplimit_block_gen(l);
	hammer(l, 4, a, now, IPL_BURST + IPL_BLOCK_AFTER);
	assert_int_equal(iplimit_blocks_total(l), 1);
	assert_int_not_equal(iplimit_block_gen(l), gen);
	assert_int_equal(iplimit_blocklist(l, 4, out, IPL_BLOCKS), 1);
	assert_memory_equal(out[0], a, 16);
	assert_int_equal(iplimit_blocklist(l, 6, out, IPL_BLOCKS), 0);
	assert_int_equal(iplimit_next_expiry(l), now + IPL_BLOCK_S * SEC);
	/* blocked even with a full bucket (the refusals do not extend the block) */
	assert_int_equal(iplimit_admit(l, 4, a, now + 20 * SEC, &t, &why), W2W_ELIMIT);
	assert_non_null(strstr(why, "blocked"));
	assert_int_equal(iplimit_next_expiry(l), now + IPL_BLOCK_S * SEC);
	/* another IP is not affected */
	assert_int_equal(admit(l, 4, b, now, NULL), 0);
	iplimit_closed(l, 4, b, false);
	/* the block ends */
	gen = iplimit_block_gen(l);
	iplimit_tick(l, now + IPL_BLOCK_S * SEC - 1);
	assert_int_equal(iplimit_block_gen(l), gen);
	iplimit_tick(l, now + IPL_BLOCK_S * SEC);
	assert_int_not_equal(iplimit_block_gen(l), gen);
	assert_int_equal(iplimit_blocklist(l, 4, out, IPL_BLOCKS), 0);
	assert_int_equal(admit(l, 4, a, now + IPL_BLOCK_S * SEC, NULL), 0);
	iplimit_closed(l, 4, a, false);

	/* an IPv6 /64 floods: the list holds its prefix; becoming known unblocks it */
	now += 100 * SEC;
	hammer(l, 6, v6, now, IPL_BURST + IPL_BLOCK_AFTER);
	assert_int_equal(iplimit_blocklist(l, 6, out, IPL_BLOCKS), 1);
	assert_memory_equal(out[0], v6, 8);
	assert_memory_equal(out[0] + 8, (uint8_t[8]){0}, 8);
	gen = iplimit_block_gen(l);
	iplimit_mark_known(l, 6, v6);
	assert_int_not_equal(iplimit_block_gen(l), gen);
	assert_int_equal(iplimit_blocklist(l, 6, out, IPL_BLOCKS), 0);
	/* a known IP is never blocked (no rate limit; refused only over IPL_CONNS_KNOWN) */
	for (int i = 0; i < IPL_CONNS_KNOWN; i++)
		assert_int_equal(admit(l, 6, v6, now, NULL), 0);
	assert_int_equal(hammer(l, 6, v6, now, 500), 500);
	assert_int_equal(iplimit_blocklist(l, 6, out, IPL_BLOCKS), 0);

	/* bounded: IPL_BLOCKS at once, a new one replaces the one ending first */
	for (int i = 0; i <= IPL_BLOCKS; i++)
		hammer(l, 4, ip4(198, 51, 100, (uint8_t)i), now + (uint64_t)i, IPL_BURST + IPL_BLOCK_AFTER);
	assert_int_equal(iplimit_blocklist(l, 4, out, IPL_BLOCKS), IPL_BLOCKS);
	for (int i = 0; i < IPL_BLOCKS; i++)
		assert_false(out[i][0] == 198 && out[i][3] == 0);
	assert_int_equal(iplimit_next_expiry(l), now + 1 + IPL_BLOCK_S * SEC);
	iplimit_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_ip_handshakes_and_rate),
	    cmocka_unit_test(test_known_and_global),
	    cmocka_unit_test(test_ipv6_prefix_and_table),
	    cmocka_unit_test(test_flood_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
