/* SPDX-License-Identifier: MIT */
/* wg/wgconf: the wg setconf/showconf file format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "w2wesher/w2wesher.h"
#include "wgconf.h"

/* Keys from `wg genkey`/`wg pubkey` style base64 (any 32 bytes do for the format). */
#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB1 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PUB2 "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define PSK1 "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="

static const char sample[] = "[Interface]\n"
			     "# comment line\n"
			     "PrivateKey = " PRIV "\n"
			     "ListenPort = 51820\n"
			     "FwMark = 0x2a  # trailing comment\n"
			     "\n"
			     "[Peer]\n"
			     "PublicKey = " PUB1 "\n"
			     "PresharedKey = " PSK1 "\n"
			     "AllowedIPs = 10.192.122.3/32, 10.192.124.1/24\n"
			     "AllowedIPs = fd00::3/128\n"
			     "Endpoint = 192.95.5.67:1234\n"
			     "PersistentKeepalive = 25\n"
			     "\n"
			     "  [ peer ]\r\n"
			     "publickey=" PUB2 "\r\n"
			     "Endpoint = [2607:5300:60:6b0::c05f:543]:2468\n"
			     "AllowedIPs = 10.192.122.4, ::/0\n";

static void test_parse_sample(void **state)
{
	struct wgdevice *d = NULL;
	struct wgconf_err err;
	struct wgpeer *p;
	char t[WGENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(wgconf_parse(sample, strlen(sample), &d, &err), 0);
	assert_int_equal(d->flags, WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK);
	assert_int_equal(d->listen_port, 51820);
	assert_int_equal(d->fwmark, 42);
	assert_int_equal(d->private_key[0], 0xc8);
	assert_int_equal(wgdev_peer_count(d), 2);
	p = d->first_peer;
	assert_true(p->flags & WGPEER_HAS_PUBLIC_KEY);
	assert_true(p->flags & WGPEER_HAS_PRESHARED_KEY);
	assert_true(p->flags & WGPEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(wgpeer_allowedip_count(p), 3);
	wgendpoint_format(t, sizeof(t), &p->endpoint);
	assert_string_equal(t, "192.95.5.67:1234");
	p = p->next_peer;
	assert_int_equal(wgpeer_allowedip_count(p), 2);
	assert_int_equal(p->first_allowedip->cidr, 32); /* bare address = host route */
	assert_int_equal(p->last_allowedip->cidr, 0);
	assert_int_equal(p->last_allowedip->family, AF_INET6);
	wgendpoint_format(t, sizeof(t), &p->endpoint);
	assert_string_equal(t, "[2607:5300:60:6b0::c05f:543]:2468");
	wgdev_free(d);
}

static void test_print_roundtrip(void **state)
{
	struct wgdevice *d = NULL, *d2 = NULL;
	struct buf b, b2;
	static const char expect[] = "[Interface]\n"
				     "ListenPort = 51820\n"
				     "FwMark = 0x2a\n"
				     "PrivateKey = " PRIV "\n"
				     "\n"
				     "[Peer]\n"
				     "PublicKey = " PUB1 "\n"
				     "PresharedKey = " PSK1 "\n"
				     "AllowedIPs = 10.192.122.3/32, 10.192.124.1/24, fd00::3/128\n"
				     "Endpoint = 192.95.5.67:1234\n"
				     "PersistentKeepalive = 25\n"
				     "\n"
				     "[Peer]\n"
				     "PublicKey = " PUB2 "\n"
				     "AllowedIPs = 10.192.122.4/32, ::/0\n"
				     "Endpoint = [2607:5300:60:6b0::c05f:543]:2468\n";

	(void)state;
	buf_init(&b, 0);
	buf_init(&b2, 0);
	assert_int_equal(wgconf_parse(sample, strlen(sample), &d, NULL), 0);
	assert_int_equal(wgconf_print(d, &b), 0);
	assert_int_equal(b.len, strlen(expect));
	assert_memory_equal(b.data, expect, b.len);
	/* what we print parses back to the same configuration and prints identically */
	assert_int_equal(wgconf_parse((const char *)b.data, b.len, &d2, NULL), 0);
	assert_int_equal(wgdev_config_equal(d, d2), 1);
	assert_int_equal(wgconf_print(d2, &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	buf_free_wipe(&b);
	buf_free_wipe(&b2);
	wgdev_free(d);
	wgdev_free(d2);
}

static void test_empty_and_off(void **state)
{
	struct wgdevice *d = NULL;
	struct buf b;
	static const char t[] = "[Interface]\nFwMark = off\n[Peer]\nPublicKey=" PUB1
				"\nAllowedIPs =\nPersistentKeepalive = off\n";

	(void)state;
	assert_int_equal(wgconf_parse(t, strlen(t), &d, NULL), 0);
	assert_true(d->flags & WGDEVICE_HAS_FWMARK);
	assert_int_equal(d->fwmark, 0);
	assert_null(d->first_peer->first_allowedip);
	assert_true(d->first_peer->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE);
	buf_init(&b, 0);
	assert_int_equal(wgconf_print(d, &b), 0);
	assert_int_equal(b.len, strlen("[Interface]\n\n[Peer]\nPublicKey = " PUB1 "\n"));
	buf_free(&b);
	wgdev_free(d);
	assert_int_equal(wgconf_parse("", 0, &d, NULL), 0);
	assert_null(d->first_peer);
	assert_int_equal(d->flags, 0);
	wgdev_free(d);
}

struct bad {
	const char *text;
	unsigned line;
	const char *needle;
};

static void test_errors_with_lines(void **state)
{
	static const struct bad cases[] = {
		{"PrivateKey = " PRIV "\n", 1, "outside"},
		{"[Interface]\nListenPort = 65536\n", 2, "ListenPort"},
		{"[Interface]\nListenPort = -1\n", 2, "ListenPort"},
		{"[Interface]\nPrivateKey = abc\n", 2, "PrivateKey"},
		{"[Interface]\nPrivateKey = " PRIV "x\n", 2, "PrivateKey"},
		{"[Interface]\nAddress = 10.0.0.1/24\n", 2, "wg-quick"},
		{"[Interface]\nMTU = 1420\n", 2, "wg-quick"},
		{"[Interface]\n\n[Peer]\nAllowedIPs = 10.0.0.1/32\n", 3, "without PublicKey"},
		{"[Interface]\n[Peer]\nAllowedIPs = 1.2.3.4/32\n[Peer]\nPublicKey=" PUB1 "\n", 2, "without PublicKey"},
		{"[Peer]\nPublicKey = " PUB1 "\nEndpoint = example.com:51820\n", 3, "host names"},
		{"[Peer]\nPublicKey = " PUB1 "\nAllowedIPs = 10.0.0.0/33\n", 3, "AllowedIPs"},
		{"[Peer]\nPublicKey = " PUB1 "\nAllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n", 3, "empty entry"},
		{"[Peer]\nPublicKey = " PUB1 "\nPersistentKeepalive = 70000\n", 3, "PersistentKeepalive"},
		{"[Peer]\nPublicKey = " PUB1 "\nFoo = bar\n", 3, "unknown key"},
		{"[Peer]\nPublicKey = " PUB1 "\nnonsense\n", 3, "Key = value"},
		{"[Wat]\n", 1, "unknown section"},
		{"[Peer]\nPublicKey = " PUB1 "\n[Peer]\nPublicKey = " PUB1 "\n", 0, "two [Peer]"},
		{"[Interface]\nFwMark = 0x100000000\n", 2, "FwMark"},
		{"[Interface]\nListenPort = 1\0\n", 2, "NUL"},
	};
	static const size_t lens[] = {[18] = 28};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct wgdevice *d = (struct wgdevice *)0x1;
		struct wgconf_err err;
		size_t len = i < sizeof(lens) / sizeof(*lens) && lens[i] ? lens[i] : strlen(cases[i].text);
		int ret = wgconf_parse(cases[i].text, len, &d, &err);

		if (ret != W2W_EPARSE || err.line != cases[i].line || !strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: ret %d line %u msg '%s'", i, ret, err.line, err.msg);
		assert_ptr_equal(d, (struct wgdevice *)0x1); /* output untouched */
	}
}

static void test_limits(void **state)
{
	struct wgdevice *d = NULL;
	struct wgconf_err err;
	char *big = malloc(WGCONF_MAX_LINE + 20);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', WGCONF_MAX_LINE + 20);
	memcpy(big, "[Interface]\n", 12);
	assert_int_equal(wgconf_parse(big, WGCONF_MAX_LINE + 20, &d, &err), W2W_ELIMIT);
	assert_int_equal(err.line, 2);
	free(big);
	assert_int_equal(wgconf_parse("x", (size_t)WGCONF_MAX_SIZE + 1, &d, &err), W2W_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sample),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_empty_and_off),
		cmocka_unit_test(test_errors_with_lines),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
