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
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "degree.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_degree_small_is_full),
	    cmocka_unit_test(test_degree_bounded_graph),
	    cmocka_unit_test(test_degree_join_keeps_chords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
