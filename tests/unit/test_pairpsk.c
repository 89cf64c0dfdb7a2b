/* SPDX-License-Identifier: MIT */
/*
 * Per-pair WireGuard PSKs (lib/mesh/pairpsk.h): the derivation is symmetric
 * and separates pairs and network keys; the key choice agrees on both ends;
 * in mesh engines on a virtual clock (mesh_harness) a capable pair gets the
 * same PresharedKey on both devices, a mixed pair (one side without the
 * feature, as a node of an older version) gets none on either, and a network
 * PSK rotation moves the pair to the new key once both hold it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "announce.h"
#include "err.h"
#include "mesh_harness.h"
#include "pairpsk.h"
#include "wgdev.h"

#define SEC MH_SEC

static void test_derive(void **state)
{
	struct peerid a = {.len = 3, .b = {1, 2, 3}}, b = {.len = 3, .b = {1, 2, 4}}, c = {.len = 4, .b = {1, 2, 3}};
	uint8_t k1[32], k2[32], x[32], y[32];

	(void)state;
	memset(k1, 0x11, 32);
	memset(k2, 0x22, 32);
	pairpsk_derive(x, k1, &a, &b);
	pairpsk_derive(y, k1, &b, &a);
	assert_memory_equal(x, y, 32); /* both ends, same key */
	pairpsk_derive(y, k2, &a, &b);
	assert_memory_not_equal(x, y, 32); /* another network PSK */
	pairpsk_derive(y, k1, &a, &c);
	assert_memory_not_equal(x, y, 32); /* another pair */
	pairpsk_derive(y, k1, &b, &c);
	assert_memory_not_equal(x, y, 32);
	pairpsk_kid(x, k1);
	pairpsk_kid(y, k2);
	assert_memory_not_equal(x, y, PAIRPSK_KID_LEN);
}

static void test_choose(void **state)
{
	uint8_t a[8] = {1}, b[8] = {2}, c[8] = {3};
	uint8_t ba[2][8], ab[2][8], aa[1][8], bb[1][8], cc[1][8];

	(void)state;
	memcpy(ba[0], b, 8), memcpy(ba[1], a, 8);
	memcpy(ab[0], a, 8), memcpy(ab[1], b, 8);
	memcpy(aa[0], a, 8), memcpy(bb[0], b, 8), memcpy(cc[0], c, 8);
	/* One side rotated: the old key until both hold the new one. */
	assert_int_equal(pairpsk_choose(ba, 2, aa, 1), 1);
	assert_int_equal(pairpsk_choose(aa, 1, ba, 2), 0);
	/* Both hold both, newest first alike: the new key. */
	assert_int_equal(pairpsk_choose(ba, 2, ba, 2), 0);
	/* Old key dropped on one side: the new key. */
	assert_int_equal(pairpsk_choose(bb, 1, ba, 2), 0);
	assert_int_equal(pairpsk_choose(ba, 2, bb, 1), 0);
	/* The orders disagree: both pick the smaller key ID (a). */
	assert_int_equal(pairpsk_choose(ba, 2, ab, 2), 1);
	assert_int_equal(pairpsk_choose(ab, 2, ba, 2), 0);
	/* Nothing in common, or nothing announced: no PSK. */
	assert_int_equal(pairpsk_choose(aa, 1, cc, 1), -1);
	assert_int_equal(pairpsk_choose(ba, 2, cc, 0), -1);
}

/* The PresharedKey of node j on node i's device: 1 with it in out, 0 without. */
static int psk_on(const struct mh_world *w, int i, int j, uint8_t out[32])
{
	const struct wgpeer *p = mh_peer_on(w, i, j);

	assert_non_null(p);
	if (!(p->flags & WGPEER_HAS_PRESHARED_KEY) || wgdev_key_is_zero(p->preshared_key))
		return 0;
	memcpy(out, p->preshared_key, 32);
	return 1;
}

static void set_keys(struct mh_world *w, int i, const uint8_t *k0, const uint8_t *k1)
{
	const uint8_t *keys[2] = {k0, k1};

	assert_int_equal(mn_set_psks(w->nodes[i].m, keys, k1 ? 2 : 1, w->now), 0);
}

static void test_engines(void **state)
{
	static struct mh_world w;
	uint8_t oldk[32], newk[32], want[32], x[32], y[32], before[32];
	char why[128];
	struct announce a;
	struct buf b;

	(void)state;
	memset(oldk, 0xa0, 32);
	memset(newk, 0xb0, 32);
	mh_init(&w, 3, "10.42.0.0/16", 60 * SEC);
	for (int i = 0; i < 3; i++) {
		mh_start(&w, i, i ? 0 : -1);
		if (i < 2) /* node 2: the feature off, like a node of today's version */
			set_keys(&w, i, oldk, NULL);
	}
	mh_run(&w, 3 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	/* The capable pair: the same derived key on both ends. */
	assert_int_equal(psk_on(&w, 0, 1, x), 1);
	assert_int_equal(psk_on(&w, 1, 0, y), 1);
	assert_memory_equal(x, y, 32);
	pairpsk_derive(want, oldk, &w.nodes[0].id, &w.nodes[1].id);
	assert_memory_equal(x, want, 32);
	/* The mixed pairs: none on either side. */
	assert_int_equal(psk_on(&w, 0, 2, x), 0);
	assert_int_equal(psk_on(&w, 2, 0, x), 0);
	assert_int_equal(psk_on(&w, 1, 2, x), 0);
	assert_int_equal(psk_on(&w, 2, 1, x), 0);

	/* Rotation step 1 on node 0 only: the pair stays on the old key. */
	set_keys(&w, 0, newk, oldk);
	mh_run(&w, w.now + 1 * SEC);
	assert_int_equal(psk_on(&w, 0, 1, before), 1);
	assert_memory_equal(before, want, 32);
	assert_int_equal(psk_on(&w, 1, 0, y), 1);
	assert_memory_equal(y, want, 32);
	/* Node 1 gets the next key too: both move to the new key. */
	set_keys(&w, 1, newk, oldk);
	mh_run(&w, w.now + 1 * SEC);
	pairpsk_derive(want, newk, &w.nodes[0].id, &w.nodes[1].id);
	assert_int_equal(psk_on(&w, 0, 1, x), 1);
	assert_int_equal(psk_on(&w, 1, 0, y), 1);
	assert_memory_equal(x, want, 32);
	assert_memory_equal(y, want, 32);
	assert_memory_not_equal(x, before, 32);
	/* Step 3, the old key dropped: no change for the pair. */
	set_keys(&w, 0, newk, NULL);
	set_keys(&w, 1, newk, NULL);
	mh_run(&w, w.now + 1 * SEC);
	assert_int_equal(psk_on(&w, 0, 1, x), 1);
	assert_memory_equal(x, want, 32);
	assert_int_equal(psk_on(&w, 2, 0, x), 0);
	assert_null(mh_converged(&w, why, sizeof(why)));
	/* Turned off on node 1: the pair drops its PSK on both sides. */
	assert_int_equal(mn_set_psks(w.nodes[1].m, NULL, 0, w.now), 0);
	mh_run(&w, w.now + 1 * SEC);
	assert_int_equal(psk_on(&w, 0, 1, x), 0);
	assert_int_equal(psk_on(&w, 1, 0, x), 0);
	mh_free(&w);

	/* The announcement field round-trips; an old decoder's view (no "pk") is none. */
	mh_ann(&a, 7);
	a.n_pk = 2;
	memset(a.pk[0], 1, ANN_PK_LEN);
	memset(a.pk[1], 2, ANN_PK_LEN);
	buf_init(&b, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &b), 0);
	{
		struct announce d;

		assert_int_equal(ann_decode(b.data, b.len, &d), 0);
		assert_int_equal(d.n_pk, 2);
		assert_memory_equal(d.pk, a.pk, sizeof(a.pk));
	}
	a.n_pk = 3;
	buf_reset(&b);
	assert_int_equal(ann_encode(&a, &b), W2W_EPARSE);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_choose),
	    cmocka_unit_test(test_engines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
