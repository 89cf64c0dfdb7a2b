/* SPDX-License-Identifier: MIT */
/*
 * The bounded libp2p degree (lib/mesh/degree.h): up to DEG_FULL_MAX members
 * everyone wants everyone; above, the rule is symmetric, the degree stays
 * bounded whatever N, the graph of wanted pairs is connected with a small
 * diameter, and a join keeps most chords. The engine using it (dials,
 * probes, trims) runs in tests/sim/sim_scale.c at 150 and 1000 nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "announce.h"
#include "buf.h"
#include "degree.h"
#include "meshnode.h"

#define NMAX 2000

static struct peerid ids[NMAX];

static int cmp_id(const void *a, const void *b)
{
	const struct peerid *x = a, *y = b;

	return memcmp(x->b, y->b, 34);
}

/* n peer IDs (identity multihash of an Ed25519 key: 0x00 0x24 0x08 0x01
 * 0x12 0x20 + 32 bytes), sorted: ids[i] has rank i */
static void make_ids(size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		ids[i].len = 38;
		memcpy(ids[i].b, "\x00\x24\x08\x01\x12\x20", 6);
		for (size_t k = 6; k < 38; k++) {
			seed = seed * 1664525u + 1013904223u;
			ids[i].b[k] = (uint8_t)(seed >> 24);
		}
	}
	qsort(ids, n, sizeof(ids[0]), cmp_id);
}

static bool w(size_t n, size_t i, size_t j)
{
	return deg_wanted(n, n, i, j, &ids[i], &ids[j]);
}

static void test_degree_small_is_full(void **state)
{
	(void)state;
	make_ids(DEG_FULL_MAX, 1);
	assert_false(deg_bounded(DEG_FULL_MAX));
	assert_true(deg_bounded(DEG_FULL_MAX + 1));
	for (size_t i = 0; i < DEG_FULL_MAX; i++)
		for (size_t j = 0; j < DEG_FULL_MAX; j++)
			if (i != j)
				assert_true(w(DEG_FULL_MAX, i, j));
	/* a table of 50 but a mesh of 1000 announced (a joiner): bounded,
	 * the ring within the table */
	{
		size_t wanted = 0;

		for (size_t j = 1; j < 50; j++)
			wanted += deg_wanted(50, 1000, 0, j, &ids[0], &ids[j]);
		assert_true(wanted >= 2 * DEG_RING && wanted < 20);
		assert_true(deg_wanted(50, 1000, 0, 1, &ids[0], &ids[1]));   /* ring neighbour */
		assert_true(deg_wanted(50, 1000, 0, 49, &ids[0], &ids[49])); /* across the end */
	}
}

/* BFS over the wanted pairs: the number of hops to the farthest member, or
 * SIZE_MAX when some member is unreachable. */
static size_t diameter_from(size_t n, size_t src)
{
	static size_t dist[NMAX], q[NMAX];
	size_t head = 0, tail = 0, far = 0;

	for (size_t i = 0; i < n; i++)
		dist[i] = SIZE_MAX;
	dist[src] = 0;
	q[tail++] = src;
	while (head < tail) {
		size_t u = q[head++];

		for (size_t v = 0; v < n; v++)
			if (v != u && dist[v] == SIZE_MAX && w(n, u, v)) {
				dist[v] = dist[u] + 1;
				far = dist[v];
				q[tail++] = v;
			}
	}
	return tail == n ? far : SIZE_MAX;
}

static void check_graph(size_t n, uint32_t seed)
{
	size_t total = 0, max = 0;

	make_ids(n, seed);
	for (size_t i = 0; i < n; i++) {
		size_t d = 0;

		for (size_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			assert_int_equal(w(n, i, j), w(n, j, i)); /* symmetric */
			d += w(n, i, j);
		}
		assert_true(d >= 2 * DEG_RING);
		total += d;
		if (d > max)
			max = d;
	}
	/* about 2 DEG_RING + DEG_CHORDS each, whatever N, far below the
	 * connection limit (256) */
	assert_true(total >= n * (2 * DEG_RING + DEG_CHORDS / 2));
	assert_true(total <= n * (2 * DEG_RING + 2 * DEG_CHORDS));
	assert_true(max <= 2 * DEG_RING + 5 * DEG_CHORDS);
	/* connected, and the chords keep gossip paths short */
	for (size_t src = 0; src < n; src += n / 4) {
		size_t d = diameter_from(n, src);

		assert_true(d != SIZE_MAX);
		assert_true(d <= 12);
	}
}

static void test_degree_bounded_graph(void **state)
{
	(void)state;
	check_graph(101, 7);
	check_graph(300, 8);
	check_graph(1000, 9);
	check_graph(2000, 10);
}

/* One member more: the chords are those of a pair hash below a threshold
 * that shrinks smoothly, so most stay (no reshuffle of every connection at
 * every join). */
static void test_degree_join_keeps_chords(void **state)
{
	size_t kept = 0, had = 0, n = 1000;

	(void)state;
	make_ids(n, 11);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			size_t d = j - i < n - (j - i) ? j - i : n - (j - i);

			if (d <= DEG_RING + 1 || !w(n, i, j))
				continue; /* chords only (a join may shift ring ranks) */
			had++;
			kept += deg_wanted(n + 1, n + 1, i, j, &ids[i], &ids[j]) ||
				deg_wanted(n + 1, n + 1, i, j + 1, &ids[i], &ids[j]) ||
				deg_wanted(n + 1, n + 1, i + 1, j + 1, &ids[i], &ids[j]);
		}
	assert_true(had > 0);
	assert_true(kept * 100 >= had * 99);
}


/* ---- the engine's trim (lib/mesh/meshnode.c deg_trim) ---- */

#define TRIM_N 220 /* members besides us: a bounded mesh */

static struct {
	bool connected[TRIM_N + 1];
	uint64_t since[TRIM_N + 1];
	size_t conns, hangups, publishes;
	struct mesh_node *m;
} tw;

static int trim_index(const struct peerid *p)
{
	for (int i = 0; i <= TRIM_N; i++)
		if (peerid_eq(&ids[i], p))
			return i;
	return -1;
}

static int t_publish(void *ud, const uint8_t *d, size_t n)
{
	(void)ud;
	(void)d;
	(void)n;
	tw.publishes++;
	return 0;
}

static void t_dial(void *ud, const uint8_t *ma, size_t n)
{
	(void)ud;
	(void)ma;
	(void)n;
}

static void t_apply(void *ud, struct wgdevice *desired, const struct ann_claim *addr, uint8_t plen, bool keep)
{
	(void)ud;
	(void)addr;
	(void)plen;
	(void)keep;
	wgdev_free(desired);
}

static uint64_t t_wall(void *ud)
{
	(void)ud;
	return 1700000000000000ull;
}

/* as lib/core/node_ops.c: the host closes it and reports it at once */
static void t_hangup(void *ud, const struct peerid *peer)
{
	int i = trim_index(peer);

	(void)ud;
	assert_true(i > 0 && tw.connected[i]);
	tw.connected[i] = false;
	tw.conns--;
	tw.hangups++;
	mn_on_disconnected(tw.m, peer);
}

static void trim_ticks(uint64_t now)
{
	for (int k = 0; k < 64 && mn_next_deadline(tw.m) <= now; k++)
		mn_tick(tw.m, now);
}

/* member i's announcement (seq 1), telling a mesh of `members` */
static void trim_announce(int i, uint32_t members, uint64_t now)
{
	struct announce a;
	struct buf b;

	memset(&a, 0, sizeof(a));
	a.seq = 1;
	a.wg_pub[0] = (uint8_t)i;
	a.wg_pub[1] = (uint8_t)(i >> 8);
	a.wg_pub[2] = 0x77;
	a.wg_port = 51820;
	snprintf(a.name, sizeof(a.name), "n%d", i);
	a.members = members;
	buf_init(&b, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &b), 0);
	mn_on_message(tw.m, &ids[i], b.data, b.len, now);
	buf_free(&b);
}

/* us (ids[0]), started at `now`, its device applied */
static void trim_engine(uint64_t now)
{
	static const uint8_t wgpriv[32] = {1}, wgpub[32] = {0xee, 0xee, 0xee};
	static const struct mn_ops ops = {
	    .publish = t_publish, .dial = t_dial, .apply = t_apply, .wall_us = t_wall, .hangup = t_hangup};
	struct mn_config c = {0};
	const struct wgdiff_stats diff = {0};

	memset(&tw, 0, sizeof(tw));
	make_ids(TRIM_N + 1, 99); /* ids[0] is us */
	c.self = &ids[0];
	c.name = "self";
	c.ifname = "w2w0";
	c.wg_priv = wgpriv;
	c.wg_pub = wgpub;
	c.wg_port = 51820;
	c.announce_us = 3600ull * 1000000;
	c.expiry_us = 210ull * 1000000;
	assert_int_equal(ipam_range_parse(&c.range, "10.42.0.0/16"), 0);
	assert_int_equal(mn_new(&tw.m, &c, &ops, NULL), 0);
	mn_start(tw.m, now);
	mn_on_wg_applied(tw.m, &diff, false, now);
}

/* In a cold start of hundreds, nodes connect to a node faster than its trim
 * (DEG_TRIM_AGE_US) closes the unwanted connections; without room kept, a
 * node reached the host's limit (256) and refused a joiner whose only
 * bootstrap it was (sim_scale at N = 1000: ~70 nodes alone and unknown).
 * Above DEG_CONN_HIGH the engine closes the oldest unwanted connections at
 * once; the wanted ones, and those of peers it does not know yet, stay. */
static void test_degree_trim_keeps_room(void **state)
{
	uint64_t now = 1000000, t0;
	size_t wanted = 0, max_conns = 0;

	(void)state;
	trim_engine(now);
	/* the table: TRIM_N members, each announcing the mesh's size */
	for (int i = 1; i <= TRIM_N; i++)
		trim_announce(i, TRIM_N + 1, now);
	assert_int_equal(pt_count(mn_table(tw.m)), TRIM_N);
	/* all of them connect within 220 ms, long before DEG_TRIM_AGE_US */
	t0 = now;
	for (int i = 1; i <= TRIM_N; i++) {
		now = t0 + (uint64_t)i * 1000;
		tw.connected[i] = true;
		tw.since[i] = now;
		tw.conns++;
		mn_on_connected(tw.m, &ids[i], NULL, now);
		trim_ticks(now);
		if (tw.conns > max_conns)
			max_conns = tw.conns;
	}
	assert_true(now - t0 < DEG_TRIM_AGE_US);
	assert_true(max_conns <= DEG_CONN_HIGH);
	assert_int_equal(tw.conns, DEG_CONN_HIGH);
	assert_int_equal(tw.hangups, TRIM_N - DEG_CONN_HIGH);
	/* every wanted connection stayed; the closed ones are the oldest unwanted */
	for (int i = 1; i <= TRIM_N; i++) {
		size_t r0 = pt_rank(mn_table(tw.m), &ids[0]), ri = pt_rank(mn_table(tw.m), &ids[i]);
		bool want = deg_wanted(TRIM_N + 1, TRIM_N + 1, r0, ri >= r0 ? ri + 1 : ri, &ids[0], &ids[i]);

		wanted += want;
		if (want)
			assert_true(tw.connected[i]);
	}
	assert_true(wanted >= DEG_TRIM_MIN);
	for (int i = 1; i <= TRIM_N; i++)
		for (int j = 1; j <= TRIM_N; j++)
			if (!tw.connected[i] && tw.connected[j] && tw.since[j] < tw.since[i]) {
				size_t r0 = pt_rank(mn_table(tw.m), &ids[0]), rj = pt_rank(mn_table(tw.m), &ids[j]);

				/* an older connection kept: only a wanted one */
				assert_true(deg_wanted(TRIM_N + 1, TRIM_N + 1, r0, rj >= r0 ? rj + 1 : rj, &ids[0], &ids[j]));
			}
	mn_free(tw.m);
}

/* A node's first announcement goes out once its device is up, before its
 * bootstrap dial completes: it reaches nobody. It must not count as a flood:
 * once connected to a bounded mesh whose authors keep arriving (a cold
 * start of 1000: a gap of 1 s, the quiet period capped at 4 gaps), the node
 * announces itself at once, not gaps later with its warm-ups skipped (it
 * stayed unknown to every node meanwhile, sim_scale). */
static void test_degree_lonely_publish_is_no_flood(void **state)
{
	uint64_t now = 1000000, conn_at;
	size_t first;

	(void)state;
	trim_engine(now);
	trim_ticks(now);
	assert_int_equal(tw.publishes, 1); /* alone: reached nobody */
	first = tw.publishes;
	/* the bootstrap connection, then the answers of a mesh of 1000, one
	 * new author every 2 ms */
	now += 300000;
	conn_at = now;
	tw.connected[1] = true;
	tw.conns = 1;
	mn_on_connected(tw.m, &ids[1], NULL, now);
	for (int i = 1; i <= TRIM_N; i++) {
		now = conn_at + 10000 + (uint64_t)i * 2000;
		trim_announce(i, 1000, now);
		trim_ticks(now);
		if (tw.publishes > first)
			break;
	}
	assert_true(tw.publishes > first);
	assert_true(now - conn_at <= 300000);
	mn_free(tw.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_degree_small_is_full),
	    cmocka_unit_test(test_degree_bounded_graph),
	    cmocka_unit_test(test_degree_join_keeps_chords),
	    cmocka_unit_test(test_degree_trim_keeps_room),
	    cmocka_unit_test(test_degree_lonely_publish_is_no_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
