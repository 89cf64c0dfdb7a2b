/* SPDX-License-Identifier: MIT */
/* wg/wgdev: the WireGuard device data model. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wgdev.h"

static void key(uint8_t k[WGDEV_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < WGDEV_KEY_LEN; i++)
		k[i] = (uint8_t)(seed * 31 + i);
}

static struct wgallowedip *aip(struct wgpeer *p, const char *text)
{
	struct wgallowedip *a = wgpeer_add_allowedip(p);

	assert_non_null(a);
	assert_true(wgallowedip_parse(a, text, strlen(text)));
	return a;
}

static void test_name(void **state)
{
	struct wgdevice *d = wgdev_new();

	(void)state;
	assert_int_equal(wgdev_set_name(d, "wg0"), 0);
	assert_string_equal(d->name, "wg0");
	assert_int_equal(wgdev_set_name(d, "0123456789abcdef"), -EINVAL); /* 16 chars */
	assert_int_equal(wgdev_set_name(d, "0123456789abcde"), 0);
	assert_int_equal(wgdev_set_name(d, ""), -EINVAL);
	assert_int_equal(wgdev_set_name(d, "a/b"), -EINVAL);
	assert_int_equal(wgdev_set_name(d, "a b"), -EINVAL);
	assert_int_equal(wgdev_set_name(d, ".."), -EINVAL);
	assert_string_equal(d->name, "0123456789abcde");
	wgdev_free(d);
	wgdev_free(NULL);
}

static void test_endpoint_text(void **state)
{
	static const char *good[] = {"1.2.3.4:51820", "[::1]:1", "[fe80::1%3]:65535", "[2001:db8::5]:0",
				     "255.255.255.255:9"};
	static const char *bad[] = {"1.2.3.4",     "1.2.3.4:",   "1.2.3.4:65536", "[::1]:",  "[::1]",
				    "::1:5",       "host.example:1", "1.2.3:4",   "[::1]x5", "[]:1",
				    "[::1%x]:2",   ":5",         "1.2.3.4:-1",    "[1.2.3.4]:5"};
	union wgendpoint ep, ep2;
	char out[WGENDPOINT_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		assert_true(wgendpoint_parse(&ep, good[i], strlen(good[i])));
		assert_int_equal(wgendpoint_format(out, sizeof(out), &ep), (int)strlen(good[i]));
		assert_string_equal(out, good[i]);
		assert_true(wgendpoint_parse(&ep2, out, strlen(out)));
		assert_true(wgendpoint_equal(&ep, &ep2));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(wgendpoint_parse(&ep, bad[i], strlen(bad[i])));
	assert_true(wgendpoint_parse(&ep, "10.0.0.1:5", 10));
	assert_true(wgendpoint_parse(&ep2, "10.0.0.1:6", 10));
	assert_false(wgendpoint_equal(&ep, &ep2));
	assert_int_equal(wgendpoint_format(out, 5, &ep), -ENOSPC);
	memset(&ep, 0, sizeof(ep));
	assert_int_equal(wgendpoint_format(out, sizeof(out), &ep), -EINVAL);
}

static void test_allowedip_canon_sort(void **state)
{
	struct wgdevice *d = wgdev_new();
	struct wgpeer *p = wgdev_add_peer(d), *q;
	struct wgdevice *c;
	struct wgallowedip a;
	char out[WGALLOWEDIP_STRLEN];

	(void)state;
	assert_false(wgallowedip_parse(&a, "10.0.0.0/33", 11));
	assert_false(wgallowedip_parse(&a, "::/129", 6));
	assert_false(wgallowedip_parse(&a, "10.0.0.0", 8));
	assert_false(wgallowedip_parse(&a, "10.0.0.0/", 9));
	aip(p, "fd00::1/64");
	aip(p, "10.1.2.3/24");
	aip(p, "10.1.2.0/24"); /* duplicate after canonicalisation */
	aip(p, "0.0.0.0/0");
	aip(p, "10.1.2.3/32");
	c = wgdev_copy(d);
	assert_non_null(c);
	q = c->first_peer; /* unsorted copy: compared as a set below */
	assert_int_equal(wgdev_sort(d), 0);
	assert_int_equal(wgpeer_allowedip_count(p), 4);
	assert_int_equal(wgallowedip_format(out, sizeof(out), p->first_allowedip), 9);
	assert_string_equal(out, "0.0.0.0/0");
	wgallowedip_format(out, sizeof(out), p->first_allowedip->next_allowedip);
	assert_string_equal(out, "10.1.2.0/24");
	wgallowedip_format(out, sizeof(out), p->first_allowedip->next_allowedip->next_allowedip);
	assert_string_equal(out, "10.1.2.3/32");
	wgallowedip_format(out, sizeof(out), p->last_allowedip);
	assert_string_equal(out, "fd00::/64");
	assert_true(wgpeer_allowedips_equal(p, q));
	aip(q, "10.9.9.9/32");
	assert_false(wgpeer_allowedips_equal(p, q));
	wgdev_free(c);
	wgdev_free(d);
}

static void test_sort_copy_equal(void **state)
{
	struct wgdevice *a = wgdev_new(), *b;
	struct wgpeer *p;
	uint8_t k[WGDEV_KEY_LEN];

	(void)state;
	for (int i = 9; i >= 0; i--) {
		p = wgdev_add_peer(a);
		key(p->public_key, (uint8_t)i);
		p->flags = WGPEER_HAS_PUBLIC_KEY;
		aip(p, i % 2 ? "10.0.0.0/8" : "fd00::/8");
	}
	key(a->private_key, 77);
	a->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	b = wgdev_copy(a);
	assert_non_null(b);
	assert_int_equal(wgdev_config_equal(a, b), 1);
	assert_int_equal(wgdev_sort(b), 0);
	assert_int_equal(wgdev_peer_count(b), 10);
	for (p = b->first_peer; p->next_peer; p = p->next_peer)
		assert_true(wgpeer_cmp(p, p->next_peer) < 0);
	assert_ptr_equal(b->last_peer, p);
	assert_int_equal(wgdev_config_equal(a, b), 1); /* order does not matter */
	key(k, 3);
	p = wgdev_find_peer(b, k);
	assert_non_null(p);
	p->persistent_keepalive_interval = 25;
	assert_int_equal(wgdev_config_equal(a, b), 0);
	p->persistent_keepalive_interval = 0;
	p->flags |= WGPEER_HAS_PRESHARED_KEY;
	key(p->preshared_key, 1);
	assert_int_equal(wgdev_config_equal(a, b), 0);
	p->flags &= ~(uint32_t)WGPEER_HAS_PRESHARED_KEY;
	assert_int_equal(wgdev_config_equal(a, b), 1);
	b->listen_port = 5;
	b->flags |= WGDEVICE_HAS_LISTEN_PORT;
	assert_int_equal(wgdev_config_equal(a, b), 0);
	b->listen_port = 0;
	assert_int_equal(wgdev_config_equal(a, b), 1);
	b->private_key[0] ^= 1;
	assert_int_equal(wgdev_config_equal(a, b), 0);
	wgdev_free(a);
	wgdev_free(b);
}

static void test_keys(void **state)
{
	uint8_t z[WGDEV_KEY_LEN] = {0}, k[WGDEV_KEY_LEN];

	(void)state;
	key(k, 1);
	assert_true(wgdev_key_is_zero(z));
	assert_false(wgdev_key_is_zero(k));
	assert_true(wgdev_key_equal(k, k));
	assert_false(wgdev_key_equal(k, z));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_endpoint_text),
		cmocka_unit_test(test_allowedip_canon_sort),
		cmocka_unit_test(test_sort_copy_equal),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
