/* SPDX-License-Identifier: MIT */
/*
 * WireGuard key rotation (docs/mesh.md "Key rotation"): the key file codec,
 * the schedule, the retired-key ring, the "nwg" announcement field, and the
 * engine on a virtual clock (mesh_harness.h) through the races the design
 * names: a lost announcement, a peer offline during the switch, two nodes
 * rotating at once, a rotation during a split brain, a crash and resume, a
 * failing key write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sys/socket.h>

#include "announce.h"
#include "err.h"
#include "mesh_harness.h"
#include "meshnode.h"
#include "peertable.h"
#include "rotate.h"

#define SEC MH_SEC

/* ---- codec, schedule, ring ---- */

static void test_keyfile(void **state)
{
	struct rot_keys k = {0}, back;
	uint8_t raw[ROT_KEYFILE_LEN], bad[ROT_KEYFILE_LEN];

	(void)state;
	memset(k.base_pub, 1, 32);
	memset(k.cur, 2, 32);
	rot_keyfile_encode(&k, raw);
	assert_int_equal(rot_keyfile_decode(raw, sizeof(raw), &back), 0);
	assert_false(back.has_next);
	assert_memory_equal(back.cur, k.cur, 32);
	assert_memory_equal(back.base_pub, k.base_pub, 32);
	k.has_next = true;
	memset(k.next, 3, 32);
	rot_keyfile_encode(&k, raw);
	assert_int_equal(rot_keyfile_decode(raw, sizeof(raw), &back), 0);
	assert_true(back.has_next);
	assert_memory_equal(back.next, k.next, 32);
	/* short, long, magic, version, flags, zero key, next without its flag */
	assert_int_equal(rot_keyfile_decode(raw, sizeof(raw) - 1, &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	bad[0] = 'X';
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	bad[4] = 2;
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	bad[5] = 3;
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	memset(bad + 38, 0, 32);
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	memset(bad + 70, 0, 32);
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
	memcpy(bad, raw, sizeof(bad));
	bad[5] = 0;
	assert_int_equal(rot_keyfile_decode(bad, sizeof(bad), &back), W2W_EPARSE);
}

static void test_schedule(void **state)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)state;
	for (uint64_t seed = 0; seed < 1000; seed++) {
		uint64_t d = rot_sched_delay(100 * SEC, seed);

		assert_true(d >= 90 * SEC && d <= 110 * SEC);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(hi - lo > 15 * SEC); /* spread over the jitter window */
}

static void test_retired_ring(void **state)
{
	struct rot_retired r = {0};
	uint8_t k[32];

	(void)state;
	for (int i = 0; i < ROT_MAX_RETIRED + 10; i++) {
		memset(k, i, 32);
		rot_retire(&r, k, (uint64_t)i * SEC);
	}
	assert_int_equal(r.n, ROT_MAX_RETIRED); /* bounded: the oldest went */
	memset(k, 10, 32);
	assert_memory_equal(r.e[0].key, k, 32);
	rot_retire(&r, k, 100 * SEC); /* once only: refreshed */
	assert_int_equal(r.n, ROT_MAX_RETIRED);
	rot_unretire(&r, k);
	assert_int_equal(r.n, ROT_MAX_RETIRED - 1);
	rot_retired_prune(&r, (ROT_MAX_RETIRED + 9) * SEC + ROT_RETIRED_KEEP_US - 1);
	assert_int_equal(r.n, 1);
}

static void test_ann_next(void **state)
{
	struct announce a, back;
	struct buf b;

	(void)state;
	mh_ann(&a, 1);
	a.has_next = true;
	memset(a.wg_next, 9, 32);
	buf_init(&b, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &b), 0);
	assert_int_equal(ann_decode(b.data, b.len, &back), 0);
	assert_true(back.has_next);
	assert_memory_equal(back.wg_next, a.wg_next, 32);
	/* a bad "nwg" (not 32 bytes) fails the announcement: corrupt the length byte */
	b.data[b.len - 33] = 31;
	assert_int_not_equal(ann_decode(b.data, b.len - 1, &back), 0);
	buf_free(&b);
	/* without the field (older nodes): no next key */
	mh_ann(&a, 1);
	buf_init(&b, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &b), 0);
	assert_int_equal(ann_decode(b.data, b.len, &back), 0);
	assert_false(back.has_next);
	buf_free(&b);
}

/* One key, one node, next keys included: a member cannot take another
 * node's key or its announced next key (peertable.h, pt_promote_next). */
static void test_hostile_next(void **state)
{
	struct peertable *pt = pt_new(16);
	struct peerid self, c, m;
	struct announce a;
	uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

	(void)state;
	memset(pb + 4, 1, 32);
	assert_int_equal(peerid_from_pubkey_pb(&self, pb, sizeof(pb)), 0);
	memset(pb + 4, 2, 32);
	assert_int_equal(peerid_from_pubkey_pb(&c, pb, sizeof(pb)), 0);
	memset(pb + 4, 3, 32);
	assert_int_equal(peerid_from_pubkey_pb(&m, pb, sizeof(pb)), 0);
	mh_ann(&a, 0x20); /* C: key 0x20, next 0x21 */
	a.has_next = true;
	memset(a.wg_next, 0x21, 32);
	assert_int_equal(pt_apply(pt, &self, &c, &a, 1), PT_NEW);
	mh_ann(&a, 0x30); /* M, an honest start */
	assert_int_equal(pt_apply(pt, &self, &m, &a, 1), PT_NEW);
	mh_ann(&a, 0x21); /* M announces C's next key as its key: rejected */
	a.seq = 2;
	assert_int_equal(pt_apply(pt, &self, &m, &a, 2), PT_REJECTED);
	mh_ann(&a, 0x30); /* ... or as its own next key: rejected */
	a.seq = 3;
	a.has_next = true;
	memset(a.wg_next, 0x21, 32);
	assert_int_equal(pt_apply(pt, &self, &m, &a, 3), PT_REJECTED);
	mh_ann(&a, 0x30); /* ... or C's current key as its next key: rejected */
	a.seq = 4;
	a.has_next = true;
	memset(a.wg_next, 0x20, 32);
	assert_int_equal(pt_apply(pt, &self, &m, &a, 4), PT_REJECTED);
	assert_false(pt_promote_next(pt, &m));
	/* C switches to its next key */
	mh_ann(&a, 0x21);
	a.seq = 2;
	assert_int_equal(pt_apply(pt, &self, &c, &a, 2), PT_UPDATED);
	assert_memory_equal(pt_find(pt, &c)->ann.wg_pub, a.wg_pub, 32);
	/* the handshake path promotes C only: set a next key again and promote */
	mh_ann(&a, 0x21);
	a.seq = 3;
	a.has_next = true;
	memset(a.wg_next, 0x22, 32);
	assert_int_equal(pt_apply(pt, &self, &c, &a, 3), PT_UPDATED);
	assert_true(pt_promote_next(pt, &c));
	assert_memory_equal(pt_find(pt, &c)->ann.wg_pub, a.wg_next, 32);
	assert_false(pt_find(pt, &c)->ann.has_next);
	pt_free(pt);
}

/* ---- the engine ---- */

/* Every running node's device lists exactly the current keys of the running
 * nodes of its partition, each routing its address. NULL or what is wrong. */
static const char *exact_keys(struct mh_world *w, char *why, size_t cap)
{
	const char *c = mh_converged(w, why, cap);

	if (c)
		return c;
	for (size_t i = 0; i < w->n; i++) {
		size_t want = 0;

		if (!w->nodes[i].up)
			continue;
		for (size_t j = 0; j < w->n; j++)
			want += j != i && w->nodes[j].up && w->nodes[j].part == w->nodes[i].part;
		if (wgdev_peer_count(w->nodes[i].actual) != want) {
			snprintf(why, cap, "node %zu has %zu peers on its device, expected %zu", i,
				 wgdev_peer_count(w->nodes[i].actual), want);
			return why;
		}
	}
	return NULL;
}

static void start_world(struct mh_world *w, size_t n)
{
	char why[160];

	/* a long RefreshInterval: PeerExpiry (the restart grace) is minutes, so a
	 * stale key removed within seconds is removed by rotation, not expiry */
	mh_init(w, n, "10.42.0.0/16", 60 * SEC);
	for (size_t i = 0; i < n; i++)
		mh_start(w, (int)i, i ? 0 : -1);
	mh_run(w, 20 * SEC);
	assert_null(exact_keys(w, why, sizeof(why)));
}

static void test_rotate_basic(void **state)
{
	static struct mh_world w;
	char why[160];
	uint8_t old[32];
	uint64_t t0;

	(void)state;
	start_world(&w, 4);
	memcpy(old, w.nodes[0].wg_pub, 32);
	t0 = w.now;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), -EALREADY);
	assert_true(w.nodes[0].file_has_next); /* persisted before anything else */
	mh_run(&w, t0 + ROT_LEAD_US / 4);
	/* the next key is announced: every peer has it, without allowed IPs */
	for (int i = 1; i < 4; i++) {
		const struct wgpeer *p = wgdev_find_peer(w.nodes[i].actual, w.nodes[0].next_pub);

		assert_non_null(p);
		assert_null(p->first_allowedip);
		assert_int_equal(p->persistent_keepalive_interval, 0);
		assert_int_equal(p->endpoint.addr.sa_family, AF_UNSPEC); /* never initiates to it */
	}
	assert_memory_equal(w.nodes[0].wg_pub, old, 32); /* not switched yet */
	mh_run(&w, t0 + ROT_LEAD_US + 200 * 1000);
	assert_memory_not_equal(w.nodes[0].wg_pub, old, 32);
	assert_false(w.nodes[0].file_has_next);
	assert_int_equal(w.nodes[0].events[MN_EV_KEY_ROTATED], 1);
	assert_memory_equal(mn_wg_pub(w.nodes[0].m), w.nodes[0].wg_pub, 32);
	assert_int_equal(w.nodes[0].rot_unprepared, 0);
	/* the old key is gone from every device at once (not after PeerExpiry) */
	assert_null(exact_keys(&w, why, sizeof(why)));
	for (int i = 1; i < 4; i++)
		assert_null(wgdev_find_peer(w.nodes[i].actual, old));
	mh_free(&w);
}

/* The first copy of the next key is lost to node 1 (the copy at half the
 * lead arrives); node 2 hears nothing of the rotation (in reality: its
 * connection broke): it keeps the old key, and the reconnection's
 * announcement moves it. */
static void test_rotate_lost_announcements(void **state)
{
	static struct mh_world w;
	char why[160];
	uint8_t old[32];
	uint64_t t0;

	(void)state;
	start_world(&w, 4);
	memcpy(old, w.nodes[0].wg_pub, 32);
	w.nodes[0].drop_to[1] = w.nodes[0].drop_to[2] = true;
	t0 = w.now;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, t0 + ROT_LEAD_US / 4);
	assert_null(wgdev_find_peer(w.nodes[1].actual, w.nodes[0].next_pub));
	w.nodes[0].drop_to[1] = false;
	mh_run(&w, t0 + ROT_LEAD_US * 3 / 4);
	assert_non_null(wgdev_find_peer(w.nodes[1].actual, w.nodes[0].next_pub));
	mh_run(&w, t0 + ROT_LEAD_US + 500 * 1000);
	assert_int_equal(w.nodes[0].events[MN_EV_KEY_ROTATED], 1);
	assert_int_equal(w.nodes[0].rot_unprepared, 1); /* node 2 only */
	assert_null(wgdev_find_peer(w.nodes[1].actual, old));
	assert_non_null(wgdev_find_peer(w.nodes[2].actual, old));
	w.nodes[0].drop_to[2] = false;
	mh_partition(&w, 2, 1); /* the broken connection */
	mh_partition(&w, 2, 0);
	mh_run(&w, w.now + 5 * SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* Node 2 heard the next key but lost the switch announcement: it takes the
 * new key from the handshake within about a second. */
static void test_rotate_switch_from_handshake(void **state)
{
	static struct mh_world w;
	char why[160];
	uint64_t t0;

	(void)state;
	start_world(&w, 3);
	t0 = w.now;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, t0 + ROT_LEAD_US - 100 * 1000);
	assert_non_null(wgdev_find_peer(w.nodes[2].actual, w.nodes[0].next_pub));
	w.nodes[0].drop_to[2] = true; /* the switch announcement is lost */
	mh_run(&w, t0 + ROT_LEAD_US + 50 * 1000);
	assert_int_equal(w.nodes[0].events[MN_EV_KEY_ROTATED], 1);
	mh_run(&w, t0 + ROT_LEAD_US + 2 * SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	assert_int_equal(w.nodes[0].rot_unprepared, 0);
	mh_free(&w);
}

/* Node 2 is down during the switch (its interface stays) and comes back in
 * its restart grace: the old key, whose address the new key now routes,
 * leaves its device at once. */
static void test_rotate_peer_offline(void **state)
{
	static struct mh_world w;
	char why[160];
	uint8_t old[32];
	uint64_t t0;

	(void)state;
	start_world(&w, 4);
	memcpy(old, w.nodes[0].wg_pub, 32);
	mh_stop(&w, 2);
	t0 = w.now;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, t0 + ROT_LEAD_US + SEC);
	assert_int_equal(w.nodes[0].rot_unprepared, 0);
	mh_start(&w, 2, 0);
	mh_run(&w, w.now + 10 * SEC);
	assert_true(w.nodes[2].last_keep_unlisted); /* still in its grace */
	assert_null(wgdev_find_peer(w.nodes[2].actual, old));
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* With per-pair PSKs (pairpsk.h) the pre-configured next key carries the
 * pair's PresharedKey (it belongs to the two peer IDs, not to a WireGuard
 * key): without it the new key's first handshake would fail. */
static void test_rotate_pair_psk(void **state)
{
	static struct mh_world w;
	static const uint8_t net[32] = {7, 7, 7};
	const uint8_t *keys[1] = {net};
	char why[160];
	uint64_t t0;

	(void)state;
	mh_init(&w, 3, "10.42.0.0/16", 60 * SEC);
	for (int i = 0; i < 3; i++) {
		mh_start(&w, i, i ? 0 : -1);
		assert_int_equal(mn_set_psks(w.nodes[i].m, keys, 1, w.now), 0);
	}
	mh_run(&w, 20 * SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	t0 = w.now;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, t0 + ROT_LEAD_US / 4);
	for (int i = 1; i < 3; i++) {
		const struct wgpeer *next = wgdev_find_peer(w.nodes[i].actual, w.nodes[0].next_pub);
		const struct wgpeer *cur = wgdev_find_peer(w.nodes[i].actual, w.nodes[0].wg_pub);

		assert_non_null(next);
		assert_non_null(cur);
		assert_true(cur->flags & WGPEER_HAS_PRESHARED_KEY);
		assert_true(next->flags & WGPEER_HAS_PRESHARED_KEY);
		assert_false(wgdev_key_is_zero(next->preshared_key));
		assert_memory_equal(next->preshared_key, cur->preshared_key, 32);
	}
	mh_run(&w, t0 + ROT_LEAD_US + SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* Nodes 0 and 1 rotate at the same moment (and 2 a little later). */
static void test_rotate_together(void **state)
{
	static struct mh_world w;
	char why[160];

	(void)state;
	start_world(&w, 5);
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	assert_int_equal(mn_rotate(w.nodes[1].m, w.now), 0);
	mh_run(&w, w.now + 300 * 1000);
	assert_int_equal(mn_rotate(w.nodes[2].m, w.now), 0);
	mh_run(&w, w.now + ROT_LEAD_US + SEC);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w.nodes[i].events[MN_EV_KEY_ROTATED], 1);
		assert_int_equal(w.nodes[i].rot_unprepared, 0);
	}
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* A split brain: {0, 1} and {2, 3}. Node 0 rotates twice while apart; after
 * the heal its new key replaces the one the other side still has. */
static void test_rotate_split_brain(void **state)
{
	static struct mh_world w;
	char why[160];

	(void)state;
	start_world(&w, 4);
	mh_partition(&w, 2, 1);
	mh_partition(&w, 3, 1);
	mh_run(&w, w.now + SEC);
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, w.now + ROT_LEAD_US + SEC);
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	assert_int_equal(mn_rotate(w.nodes[3].m, w.now), 0);
	mh_run(&w, w.now + ROT_LEAD_US + SEC);
	assert_int_equal(w.nodes[0].rot_unprepared, 0); /* node 1 was told; 2 and 3 are out of reach */
	mh_partition(&w, 2, 0);
	mh_partition(&w, 3, 0);
	mh_run(&w, w.now + 10 * SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* A crash in the lead time: restarted with the old key and the persisted
 * next key, the node resumes and completes the rotation. A failing key write
 * starts no rotation; a failing switch write is retried. */
static void test_rotate_resume_and_failures(void **state)
{
	static struct mh_world w;
	char why[160];
	uint8_t next[32];

	(void)state;
	start_world(&w, 3);
	w.nodes[0].persist_fails = true;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), -EIO);
	assert_false(mn_rotating(w.nodes[0].m));
	w.nodes[0].persist_fails = false;
	assert_int_equal(mn_rotate(w.nodes[0].m, w.now), 0);
	mh_run(&w, w.now + ROT_LEAD_US / 2 + 100 * 1000);
	mh_stop(&w, 0); /* killed in the lead time */
	assert_true(w.nodes[0].file_has_next);
	memcpy(next, w.nodes[0].next_pub, 32);
	mh_run(&w, w.now + SEC);
	mh_start(&w, 0, 1);
	mn_rotate_resume(w.nodes[0].m, next, w.now);
	assert_true(mn_rotating(w.nodes[0].m));
	w.nodes[0].persist_fails = true; /* the switch cannot be written: retried */
	mh_run(&w, w.now + ROT_LEAD_US + SEC);
	assert_true(mn_rotating(w.nodes[0].m));
	assert_true(w.nodes[0].events[MN_EV_ERROR] > 0);
	w.nodes[0].persist_fails = false;
	mh_run(&w, w.now + 2 * ROT_LEAD_US + SEC);
	assert_false(mn_rotating(w.nodes[0].m));
	assert_memory_equal(w.nodes[0].wg_pub, next, 32);
	mh_run(&w, w.now + 5 * SEC);
	assert_null(exact_keys(&w, why, sizeof(why)));
	mh_free(&w);
}

/* WireguardKeyRotation: every node rotates on its schedule (with jitter),
 * all at once, for a while; the mesh stays whole with exact key sets. */
static void test_rotate_scheduled(void **state)
{
	static struct mh_world w;
	char why[160];

	(void)state;
	mh_init(&w, 5, "10.42.0.0/16", 60 * SEC);
	for (size_t i = 0; i < 5; i++)
		w.nodes[i].rotate_us = 4 * SEC;
	for (size_t i = 0; i < 5; i++)
		mh_start(&w, (int)i, i ? 0 : -1);
	mh_run(&w, 60 * SEC);
	for (int i = 0; i < 5; i++) {
		assert_true(w.nodes[i].events[MN_EV_KEY_ROTATED] >= 12);
		assert_int_equal(w.nodes[i].rot_unprepared, 0);
	}
	/* settle: no node in a lead time at the end of the check */
	for (int k = 0; k < 600; k++) {
		bool busy = false;

		for (int i = 0; i < 5; i++)
			busy |= mn_rotating(w.nodes[i].m);
		if (!busy && !exact_keys(&w, why, sizeof(why)))
			break;
		mh_run(&w, w.now + 50 * 1000);
	}
	if (exact_keys(&w, why, sizeof(why)))
		fail_msg("%s", why);
	mh_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_retired_ring),
		cmocka_unit_test(test_ann_next),
		cmocka_unit_test(test_hostile_next),
		cmocka_unit_test(test_rotate_basic),
		cmocka_unit_test(test_rotate_lost_announcements),
		cmocka_unit_test(test_rotate_switch_from_handshake),
		cmocka_unit_test(test_rotate_peer_offline),
		cmocka_unit_test(test_rotate_pair_psk),
		cmocka_unit_test(test_rotate_together),
		cmocka_unit_test(test_rotate_split_brain),
		cmocka_unit_test(test_rotate_resume_and_failures),
		cmocka_unit_test(test_rotate_scheduled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
