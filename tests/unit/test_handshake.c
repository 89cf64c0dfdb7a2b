/* SPDX-License-Identifier: MIT */
/*
 * The first-handshake rule (lib/mesh/handshake.h) as pure functions: roles at
 * first configuration (join: one side pre-acked), two waiters (cold start),
 * promotion and its re-arm, the fallbacks, which acks go out. The engine
 * applying it on a virtual clock: test_meshnode.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "handshake.h"
#include "mesh_harness.h"

#define SEC (1000ull * 1000)

static void ack(struct announce *a, const uint8_t *key)
{
	memcpy(a->acks[a->n_acks++], key, ANN_ACK_LEN);
}

static void test_hs_acks(void **state)
{
	struct announce a;
	uint8_t k[32];

	(void)state;
	mh_ann(&a, 1);
	memset(k, 0x42, 32);
	assert_false(hs_acks(&a, k));
	ack(&a, k);
	assert_true(hs_acks(&a, k));
	k[3] ^= 1; /* an ack is the first ANN_ACK_LEN bytes */
	assert_false(hs_acks(&a, k));
}

/* Join: the other already acks us when we first configure it -> we initiate
 * at once, with no re-create; it (configured us first, saw no ack) waits. */
static void test_hs_join_preacked(void **state)
{
	struct hs_peer s = {0};
	struct announce a;
	struct hs_plan p;
	uint8_t self[32];

	(void)state;
	for (int lower = 0; lower < 2; lower++) { /* key order does not matter here */
		memset(self, lower ? 0x10 : 0x90, 32);
		mh_ann(&a, 0x50);
		ack(&a, self);
		memset(&s, 0, sizeof(s));
		assert_true(hs_configured(&s, self, &a, 100));
		assert_int_equal(s.role, HS_ROLE_INITIATOR);
		p = hs_plan(&s, self, &a, false, 100);
		assert_true(p.endpoint);
		assert_false(p.recreate);
		assert_int_equal(p.recheck_us, 0);
		/* an initiator acks nobody: its ack would promote the waiter */
		hs_applied(&s, 200);
		assert_int_equal(hs_ack_rank(self, &s, false, 200), 0);
		/* the role stays even when later announcements drop the ack */
		a.n_acks = 0;
		assert_false(hs_configured(&s, self, &a, 300));
		assert_true(hs_plan(&s, self, &a, false, 300).endpoint);
	}
}

/* The other side of the join: configured without an ack -> waiter; no
 * endpoint, allowed IPs (the plan only governs the endpoint); it acks. */
static void test_hs_waiter(void **state)
{
	struct hs_peer s = {0};
	struct announce a;
	struct hs_plan p;
	uint8_t self[32];

	(void)state;
	memset(self, 0x90, 32); /* the higher key */
	mh_ann(&a, 0x50);
	assert_true(hs_configured(&s, self, &a, 1000));
	assert_int_equal(s.role, HS_ROLE_WAITER);
	p = hs_plan(&s, self, &a, false, 1000 + 3 * SEC);
	assert_false(p.endpoint);
	assert_int_equal(p.recheck_us, HS_WAITER_HOLD_US - 3 * SEC);
	/* computed is not applied: no ack yet */
	assert_int_equal(hs_ack_rank(self, &s, false, 1000), 0);
	hs_applied(&s, 2000);
	assert_int_equal(hs_ack_rank(self, &s, false, 2000), 1); /* a lower key: it needs our ack */
	assert_int_equal(hs_ack_rank(self, &s, false, 2000 + HS_ACK_WINDOW_US - 1), 1);
	assert_int_equal(hs_ack_rank(self, &s, false, 2000 + HS_ACK_WINDOW_US), 0);
	assert_int_equal(hs_ack_rank(self, &s, true, 2000), 0); /* handshake done */
	/* the higher key ignores acks: the lower one initiates */
	ack(&a, self);
	assert_false(hs_plan(&s, self, &a, false, 1000 + 4 * SEC).endpoint);
	assert_int_equal(s.role, HS_ROLE_WAITER);
	/* the initiation arrived: the rule is over, the diff keeps the learned endpoint */
	p = hs_plan(&s, self, &a, true, 1000 + 4 * SEC);
	assert_true(p.endpoint);
	assert_false(p.recreate);
	/* one-way reachability: after the hold it sets the endpoint itself, and
	 * does not re-create (its retransmit timer sends what is staged) */
	p = hs_plan(&s, self, &a, false, 1000 + HS_WAITER_HOLD_US);
	assert_true(p.endpoint);
	assert_false(p.recreate);
	/* a higher key gets a lower-priority ack */
	memset(self, 0x10, 32);
	memset(&s, 0, sizeof(s));
	mh_ann(&a, 0x50);
	hs_configured(&s, self, &a, 0);
	hs_applied(&s, 10);
	assert_int_equal(hs_ack_rank(self, &s, false, 10), 2);
}

/* Cold start: both configured the other before its ack; the lower key
 * becomes the initiator on the other's ack, with a re-create (re-arm);
 * without acks, after the promote fallback; the higher one never. */
static void test_hs_cold_start(void **state)
{
	struct hs_peer lo = {0}, hi = {0};
	struct announce a_lo, a_hi;
	struct hs_plan p;
	uint8_t k_lo[32], k_hi[32];

	(void)state;
	memset(k_lo, 0x10, 32);
	memset(k_hi, 0x90, 32);
	mh_ann(&a_lo, 0x10);
	mh_ann(&a_hi, 0x90);
	assert_true(hs_configured(&lo, k_lo, &a_hi, 0)); /* lo's view of hi */
	assert_true(hs_configured(&hi, k_hi, &a_lo, 0));
	assert_int_equal(lo.role, HS_ROLE_WAITER);
	assert_int_equal(hi.role, HS_ROLE_WAITER);
	assert_false(hs_plan(&lo, k_lo, &a_hi, false, 10).endpoint);
	assert_false(hs_plan(&hi, k_hi, &a_lo, false, 10).endpoint);
	/* both applied: both ack (lo's ack of hi only helps, hi's is needed) */
	hs_applied(&lo, 20);
	hs_applied(&hi, 20);
	assert_int_equal(hs_ack_rank(k_lo, &lo, false, 20), 2);
	assert_int_equal(hs_ack_rank(k_hi, &hi, false, 20), 1);
	ack(&a_lo, k_hi);
	ack(&a_hi, k_lo);
	/* hi sees lo's ack: nothing */
	assert_false(hs_plan(&hi, k_hi, &a_lo, false, 30).endpoint);
	/* lo sees hi's ack: initiates, re-creating the peer */
	p = hs_plan(&lo, k_lo, &a_hi, false, 30);
	assert_true(p.endpoint);
	assert_true(p.recreate);
	assert_int_equal(lo.role, HS_ROLE_INITIATOR);
	assert_true(lo.promoted);
	assert_int_equal(hs_ack_rank(k_lo, &lo, false, 30), 0); /* no more acks from it */
	/* re-create is asked for until the handshake (the diff does it once:
	 * only a peer without endpoint and handshake is re-created) */
	assert_true(hs_plan(&lo, k_lo, &a_hi, false, 40).recreate);
	p = hs_plan(&lo, k_lo, &a_hi, true, 50);
	assert_true(p.endpoint);
	assert_false(p.recreate);
	/* no ack ever (a peer of an older version): the lower key promotes
	 * itself after HS_PROMOTE_FALLBACK_US, well before the higher key's hold */
	memset(&lo, 0, sizeof(lo));
	mh_ann(&a_hi, 0x90);
	hs_configured(&lo, k_lo, &a_hi, 0);
	p = hs_plan(&lo, k_lo, &a_hi, false, HS_PROMOTE_FALLBACK_US - 1);
	assert_false(p.endpoint);
	assert_int_equal(p.recheck_us, 1);
	p = hs_plan(&lo, k_lo, &a_hi, false, HS_PROMOTE_FALLBACK_US);
	assert_true(p.endpoint);
	assert_true(p.recreate);
	assert_true(HS_PROMOTE_FALLBACK_US + 2 * SEC < HS_WAITER_HOLD_US);
}

/* Crossing: at most one side of a pair initiates, whatever the order in which
 * configurations and acks happen. Every interleaving of the two nodes' steps
 * (configure, apply+ack, see the other's latest announcement) is tried. */
static void test_hs_never_both(void **state)
{
	uint8_t k[2][32];

	(void)state;
	memset(k[0], 0x10, 32);
	memset(k[1], 0x90, 32);
	/* each node: 0 configure, 1 applied (acks from now on), 2 re-plan; the
	 * interleaving: a bit mask choosing which node steps next */
	for (unsigned mask = 0; mask < 64; mask++) {
		struct hs_peer s[2] = {{0}};
		int step[2] = {0, 0};
		bool acking[2] = {false, false}, init[2] = {false, false};

		for (int t = 0; t < 6; t++) {
			int i = (mask >> t) & 1, o = 1 - i;
			struct announce view;

			if (step[i] > 2)
				i = o, o = 1 - i;
			/* i's view of o: o's announcement, acking i iff o acks now */
			mh_ann(&view, k[o][0]);
			if (acking[o] && hs_ack_rank(k[o], &s[o], false, 1000) > 0)
				ack(&view, k[i]);
			switch (step[i]++) {
			case 0:
				hs_configured(&s[i], k[i], &view, 0);
				break;
			case 1:
				hs_applied(&s[i], 10);
				acking[i] = true;
				break;
			default:
				break;
			}
			if (s[i].configured)
				init[i] |= hs_plan(&s[i], k[i], &view, false, 1000).endpoint;
		}
		assert_false(init[0] && init[1]);
	}
}

static void test_hs_forget(void **state)
{
	struct hs_peer s = {0};
	struct announce a;
	uint8_t self[32];

	(void)state;
	memset(self, 0x90, 32);
	mh_ann(&a, 0x50);
	hs_configured(&s, self, &a, 0);
	hs_applied(&s, 5);
	assert_int_equal(hs_ack_rank(self, &s, false, 5), 1);
	hs_forget(&s);
	assert_int_equal(hs_ack_rank(self, &s, false, 5), 0);
	/* it comes back: configured anew, role decided anew */
	ack(&a, self);
	assert_true(hs_configured(&s, self, &a, 100));
	assert_int_equal(s.role, HS_ROLE_INITIATOR);
	/* a new key for the same node is a new peer */
	memset(a.wg_pub, 0x51, 32);
	a.n_acks = 0;
	assert_true(hs_configured(&s, self, &a, 200));
	assert_int_equal(s.role, HS_ROLE_WAITER);
}

static void test_hs_endpoint(void **state)
{
	struct announce a;
	struct ann_ip conn, lo;
	struct ann_endpoint ep;

	(void)state;
	mh_ann(&a, 1);
	a.wg_port = 40000;
	mh_ip(&conn, "192.0.2.7");
	mh_ip(&lo, "127.0.0.1");
	/* nothing known */
	assert_false(hs_endpoint(NULL, &a, &ep));
	/* the connection's IP with the ANNOUNCED WireGuard port */
	assert_true(hs_endpoint(&conn, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &conn));
	assert_int_equal(ep.port, 40000);
	/* an advertised endpoint when there is no connection */
	a.n_eps = 1;
	mh_ip(&a.eps[0].addr, "198.51.100.1");
	a.eps[0].port = 41000;
	assert_true(hs_endpoint(NULL, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &a.eps[0].addr));
	assert_int_equal(ep.port, 41000);
	/* the connection beats the advertised endpoint ... */
	assert_true(hs_endpoint(&conn, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &conn));
	/* ... unless it is loopback (a local forward): then the advertised one */
	assert_true(hs_endpoint(&lo, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &a.eps[0].addr));
	/* loopback when it is all there is */
	a.n_eps = 0;
	assert_true(hs_endpoint(&lo, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &lo));
	assert_int_equal(ep.port, 40000);
	mh_ip(&lo, "::1");
	a.n_eps = 1;
	assert_true(hs_endpoint(&lo, &a, &ep));
	assert_true(ann_ip_eq(&ep.addr, &a.eps[0].addr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hs_acks),
		cmocka_unit_test(test_hs_join_preacked),
		cmocka_unit_test(test_hs_waiter),
		cmocka_unit_test(test_hs_cold_start),
		cmocka_unit_test(test_hs_never_both),
		cmocka_unit_test(test_hs_forget),
		cmocka_unit_test(test_hs_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
