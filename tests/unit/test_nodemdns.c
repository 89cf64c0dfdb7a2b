/* SPDX-License-Identifier: MIT */
/*
 * The node's mDNS policy (lib/core/node_mdns.h): which interfaces it joins,
 * which addresses it advertises (private, shared or link-local IPv4 of those
 * interfaces only, never 0.0.0.0, public, loopback or overlay), and which
 * candidate addresses it dials (on-link only). Address classes from RFC 1918,
 * RFC 6598 and RFC 3927.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "node_mdns.h"

#define IP(a, b, c, d) ((const uint8_t[4]){a, b, c, d})

/* A host: lo, eth0 (LAN, two addresses), wlan0 (public), wesh0 (overlay, multicast as a TUN is),
 * docker0 (down), eth1 (no multicast). */
static const struct mcast_ifaddr host[] = {
    {1, "lo", {127, 0, 0, 1}, 8, true, false, true},
    {2, "eth0", {192, 168, 1, 10}, 24, true, true, false},
    {2, "eth0", {169, 254, 7, 7}, 16, true, true, false},
    {3, "wlan0", {198, 51, 100, 4}, 24, true, true, false},
    {4, "wesh0", {10, 42, 0, 3}, 16, true, true, false},
    {5, "docker0", {172, 17, 0, 1}, 16, false, true, false},
    {6, "eth1", {100, 64, 3, 3}, 10, true, false, false},
};
#define NHOST (sizeof(host) / sizeof(host[0]))

static const struct cfg_prefix overlay = {4, {10, 42, 0, 0}, 16};

static void test_lan_classes(void **state)
{
	(void)state;
	assert_true(nmdns_lan_ip4(IP(10, 0, 0, 1)));
	assert_true(nmdns_lan_ip4(IP(10, 255, 255, 254)));
	assert_true(nmdns_lan_ip4(IP(172, 16, 0, 1)));
	assert_true(nmdns_lan_ip4(IP(172, 31, 255, 1)));
	assert_false(nmdns_lan_ip4(IP(172, 32, 0, 1)));
	assert_false(nmdns_lan_ip4(IP(172, 15, 255, 1)));
	assert_true(nmdns_lan_ip4(IP(192, 168, 0, 1)));
	assert_false(nmdns_lan_ip4(IP(192, 169, 0, 1)));
	assert_true(nmdns_lan_ip4(IP(100, 64, 0, 1)));
	assert_true(nmdns_lan_ip4(IP(100, 127, 255, 1)));
	assert_false(nmdns_lan_ip4(IP(100, 128, 0, 1)));
	assert_true(nmdns_lan_ip4(IP(169, 254, 1, 1)));
	assert_false(nmdns_lan_ip4(IP(0, 0, 0, 0)));
	assert_false(nmdns_lan_ip4(IP(127, 0, 0, 1)));
	assert_false(nmdns_lan_ip4(IP(8, 8, 8, 8)));
	assert_false(nmdns_lan_ip4(IP(224, 0, 0, 251)));
}

static void test_pick_ifaces(void **state)
{
	const char names[][16] = {"wlan0", "eth1", "nosuch", "lo"};
	unsigned ifs[16];
	size_t n;

	(void)state;
	/* Default: up, multicast, not loopback, not our WireGuard interface; eth0 once. */
	n = nmdns_pick_ifaces(host, NHOST, NULL, 0, "wesh0", ifs, 16);
	assert_int_equal(n, 2);
	assert_int_equal(ifs[0], 2);
	assert_int_equal(ifs[1], 3);
	/* Named ones, if they can do multicast: eth1 cannot, lo can't either, nosuch is absent. */
	n = nmdns_pick_ifaces(host, NHOST, names, 4, "wesh0", ifs, 16);
	assert_int_equal(n, 1);
	assert_int_equal(ifs[0], 3);
	/* The cap holds. */
	assert_int_equal(nmdns_pick_ifaces(host, NHOST, NULL, 0, NULL, ifs, 1), 1);
}

static void test_own_addrs(void **state)
{
	const unsigned all[] = {2, 3, 4, 6};
	uint8_t out[16][4];
	size_t n;

	(void)state;
	/* 0.0.0.0: every LAN address of the joined interfaces; not the public one, not the overlay
	 * (even when its interface is joined), not loopback. */
	n = nmdns_own_ip4(host, NHOST, all, 4, IP(0, 0, 0, 0), &overlay, out, 16);
	assert_int_equal(n, 3);
	assert_memory_equal(out[0], IP(192, 168, 1, 10), 4);
	assert_memory_equal(out[1], IP(169, 254, 7, 7), 4);
	assert_memory_equal(out[2], IP(100, 64, 3, 3), 4);
	/* Only eth0 joined. */
	n = nmdns_own_ip4(host, NHOST, all, 1, IP(0, 0, 0, 0), &overlay, out, 16);
	assert_int_equal(n, 2);
	/* Listening on one address: that one, if it is on a joined interface and a LAN address. */
	n = nmdns_own_ip4(host, NHOST, all, 4, IP(169, 254, 7, 7), &overlay, out, 16);
	assert_int_equal(n, 1);
	assert_memory_equal(out[0], IP(169, 254, 7, 7), 4);
	assert_int_equal(nmdns_own_ip4(host, NHOST, all, 4, IP(198, 51, 100, 4), &overlay, out, 16), 0);
	assert_int_equal(nmdns_own_ip4(host, NHOST, all, 1, IP(100, 64, 3, 3), &overlay, out, 16), 0);
	/* An IPv4 overlay inside a LAN range is never advertised. */
	{
		const struct cfg_prefix lan_overlay = {4, {192, 168, 1, 0}, 24};
		const unsigned lan[] = {2, 6};

		n = nmdns_own_ip4(host, NHOST, lan, 2, IP(0, 0, 0, 0), &lan_overlay, out, 16);
		assert_int_equal(n, 2);
		assert_memory_equal(out[0], IP(169, 254, 7, 7), 4);
	}
	assert_int_equal(nmdns_own_ip4(host, NHOST, all, 4, IP(0, 0, 0, 0), &overlay, out, 1), 1);
}

static void test_dialable(void **state)
{
	const unsigned eth0[] = {2};

	(void)state;
	assert_true(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(192, 168, 1, 20), &overlay));
	assert_true(
	    nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(192, 168, 1, 10), &overlay)); /* a node beside us */
	assert_true(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(169, 254, 200, 1), &overlay));
	assert_false(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(192, 168, 1, 0), &overlay)); /* network */
	assert_false(
	    nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(192, 168, 1, 255), &overlay));         /* broadcast */
	assert_false(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(192, 168, 2, 20), &overlay)); /* off-link */
	assert_false(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(8, 8, 8, 8), &overlay));
	assert_false(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(127, 0, 0, 1), &overlay));
	/* On-link of an interface we did not join. */
	assert_false(nmdns_dialable_ip4(host, NHOST, eth0, 1, IP(198, 51, 100, 9), &overlay));
	/* The overlay, even when it is on-link of a joined interface. */
	{
		const unsigned wg[] = {4};

		assert_false(nmdns_dialable_ip4(host, NHOST, wg, 1, IP(10, 42, 0, 9), &overlay));
		assert_true(nmdns_dialable_ip4(host, NHOST, wg, 1, IP(10, 42, 0, 9), NULL));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lan_classes),
	    cmocka_unit_test(test_pick_ifaces),
	    cmocka_unit_test(test_own_addrs),
	    cmocka_unit_test(test_dialable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
