/* SPDX-License-Identifier: MIT */
/* Node names for the resolver (tools/dnsnames.h): labels, collisions, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/dnsnames.h"

#define A "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaAAAAAAAA"
#define B "12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbBBBBBBBB"
#define C "12D3KooWCcccccccccccccccccccccccccccccccccccCcCcCcCc"

static void test_labels(void **state)
{
	static const char *const bad[] = {"", "a..b", "trail.", "a.b", "-x", "x-", "sp ace", "ctl\x01", "\xc3\xa9t\xc3\xa9",
	                                  "x_y", "nl\nx"};
	char big[65];

	(void)state;
	assert_true(dns_label_ok("node2", 5));
	assert_true(dns_label_ok("Node-2", 6));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dns_label_ok(bad[i], strlen(bad[i])));
	memset(big, 'x', 64);
	big[64] = 0;
	assert_false(dns_label_ok(big, 64));
	assert_true(dns_label_ok(big, 63));
}

static void test_names_and_find(void **state)
{
	const char *names[] = {"node1", "a..b", "Node3", NULL, "self"};
	const char *pids[] = {A, B, C, "12D3KooWD", "12D3KooWE"};
	struct dnsnames dn;
	size_t i = 99;

	(void)state;
	assert_int_equal(dnsnames_compute(&dn, 5, names, pids, "wesh0.w2w"), 0);
	assert_string_equal(dnsnames_at(&dn, 0)->fqdn, "node1.wesh0.w2w");
	assert_string_equal(dnsnames_at(&dn, 1)->fqdn, "");
	assert_string_equal(dnsnames_at(&dn, 2)->fqdn, "node3.wesh0.w2w");
	assert_string_equal(dnsnames_at(&dn, 3)->fqdn, "");
	assert_string_equal(dnsnames_at(&dn, W2W_SNAPSHOT_SELF)->fqdn, "self.wesh0.w2w");
	assert_int_equal(dnsnames_find(&dn, "NODE3.wesh0.w2w.", &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(dnsnames_find(&dn, "self.wesh0.w2w", &i), 0);
	assert_true(i == W2W_SNAPSHOT_SELF);
	assert_int_equal(dnsnames_find(&dn, "node3", &i), -1);
	assert_int_equal(dnsnames_find(&dn, "node3.wesh0.w2w..", &i), -1);
	assert_int_equal(dnsnames_find(&dn, "node3.wesh1.w2w", &i), -1);
	assert_int_equal(dnsnames_find(&dn, "", &i), -1);
	assert_int_equal(dnsnames_find(&dn, ".", &i), -1);
	dnsnames_free(&dn);
	/* no domain: no names */
	assert_int_equal(dnsnames_compute(&dn, 5, names, pids, ""), 0);
	assert_string_equal(dnsnames_at(&dn, 0)->fqdn, "");
	dnsnames_free(&dn);
}

static void test_collisions(void **state)
{
	/* B and C (self) announce node2 in two spellings: B, the lower ID, keeps it. */
	const char *names[] = {"node2", "NODE2", "x"};
	const char *pids[] = {C, B, A};
	struct dnsnames dn;

	(void)state;
	assert_int_equal(dnsnames_compute(&dn, 3, names, pids, "w.w2w"), 0);
	assert_string_equal(dnsnames_at(&dn, 1)->fqdn, "node2.w.w2w");
	assert_false(dnsnames_at(&dn, 1)->renamed);
	assert_string_equal(dnsnames_at(&dn, 0)->fqdn, "node2-cccccccc.w.w2w");
	assert_true(dnsnames_at(&dn, 0)->renamed);
	dnsnames_free(&dn);
	/* the order of the table does not matter */
	{
		const char *n2[] = {"NODE2", "node2", "x"};
		const char *p2[] = {B, C, A};

		assert_int_equal(dnsnames_compute(&dn, 3, n2, p2, "w.w2w"), 0);
		assert_string_equal(dnsnames_at(&dn, 0)->fqdn, "node2.w.w2w");
		assert_string_equal(dnsnames_at(&dn, 1)->fqdn, "node2-cccccccc.w.w2w");
		dnsnames_free(&dn);
	}
	/* someone announcing the derived name takes it from the loser: nobody gets it twice */
	{
		const char *n3[] = {"node2", "node2", "node2-cccccccc"};
		const char *p3[] = {B, C, A};

		assert_int_equal(dnsnames_compute(&dn, 3, n3, p3, "w.w2w"), 0);
		assert_string_equal(dnsnames_at(&dn, 0)->fqdn, "node2.w.w2w");
		assert_string_equal(dnsnames_at(&dn, 1)->fqdn, "");
		assert_true(dnsnames_at(&dn, 1)->clash);
		assert_string_equal(dnsnames_at(&dn, 2)->fqdn, "node2-cccccccc.w.w2w");
		dnsnames_free(&dn);
	}
	/* a 63-byte label is cut so that the derived name stays a label */
	{
		char big[64];
		const char *n4[] = {big, big};
		const char *p4[] = {A, B};
		struct dnsnames d4;

		memset(big, 'q', 63);
		big[63] = 0;
		assert_int_equal(dnsnames_compute(&d4, 2, n4, p4, "w.w2w"), 0);
		assert_int_equal(strlen(d4.name[1].fqdn), 63 + strlen(".w.w2w"));
		assert_non_null(strstr(d4.name[1].fqdn, "q-bbbbbbbb.w.w2w"));
		dnsnames_free(&d4);
	}
}

/* A full table (4096 nodes, the peer table's default cap) all announcing one
 * name: one keeps it, every other one gets its own derived name. */
static void test_big_table(void **state)
{
	enum { N = 4096 };
	static char pidbuf[N][32];
	static const char *names[N], *pids[N];
	struct dnsnames dn;
	size_t i, plain = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(pidbuf[i], sizeof(pidbuf[i]), "12D3KooW%08zu", (i * 7919) % N);
		pids[i] = pidbuf[i];
		names[i] = "n";
	}
	assert_int_equal(dnsnames_compute(&dn, N, names, pids, "w.w2w"), 0);
	for (i = 0; i < N; i++) {
		assert_true(dn.name[i].fqdn[0]);
		if (!dn.name[i].renamed) {
			plain++;
			assert_string_equal(pids[i], "12D3KooW00000000");
		}
	}
	assert_int_equal(plain, 1);
	assert_int_equal(dnsnames_find(&dn, "n-00004095.w.w2w", &i), 0);
	assert_string_equal(pids[i], "12D3KooW00004095");
	dnsnames_free(&dn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_names_and_find),
	    cmocka_unit_test(test_collisions),
	    cmocka_unit_test(test_big_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
