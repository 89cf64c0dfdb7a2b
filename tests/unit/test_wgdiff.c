/* SPDX-License-Identifier: MIT */
/* wg/wgdiff: desired vs actual -> minimal update, endpoint policy, set-semantics model. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wgdiff.h"

static void key(uint8_t k[WGDEV_KEY_LEN], unsigned seed)
{
	for (int i = 0; i < WGDEV_KEY_LEN; i++)
		k[i] = (uint8_t)(seed * 131 + (unsigned)i * 7 + (seed >> 8));
}

static struct wgpeer *peer(struct wgdevice *d, unsigned seed, const char *ep, const char *aips)
{
	struct wgpeer *p = wgdev_add_peer(d);
	char tmp[256];
	char *save = NULL, *t;

	assert_non_null(p);
	key(p->public_key, seed);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
	if (ep)
		assert_true(wgendpoint_parse(&p->endpoint, ep, strlen(ep)));
	snprintf(tmp, sizeof(tmp), "%s", aips ? aips : "");
	for (t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct wgallowedip *a = wgpeer_add_allowedip(p);

		assert_true(wgallowedip_parse(a, t, strlen(t)));
	}
	return p;
}

static struct wgpeer *find(const struct wgdevice *d, unsigned seed)
{
	uint8_t k[WGDEV_KEY_LEN];

	key(k, seed);
	return wgdev_find_peer(d, k);
}

static struct wgdevice *dev(void)
{
	struct wgdevice *d = wgdev_new();

	assert_non_null(d);
	assert_int_equal(wgdev_set_name(d, "wgt0"), 0);
	return d;
}

/* Applies u to a copy of actual and checks it now matches desired; returns the copy. */
static void check_converges(const struct wgdevice *desired, const struct wgdevice *actual,
			    const struct wgdevice *u)
{
	struct wgdevice *c = wgdev_copy(actual), *u2 = NULL;

	assert_non_null(c);
	assert_int_equal(wgdiff_apply(c, u), 0);
	assert_int_equal(wgdev_config_equal(c, desired), 1);
	assert_int_equal(wgdiff(desired, c, NULL, &u2, NULL), 0);
	assert_true(wgdiff_is_empty(u2));
	wgdev_free(u2);
	wgdev_free(c);
}

static void test_identical_is_empty(void **state)
{
	struct wgdevice *a = dev(), *b = dev(), *u = NULL;
	struct wgdiff_stats st;

	(void)state;
	peer(a, 1, "10.0.0.1:51820", "10.1.0.1/32,fd00::1/128");
	peer(a, 2, "[fd00::2]:51820", "10.1.0.2/32");
	/* actual lists them in another order, allowed IPs reordered and not canonical */
	peer(b, 2, "[fd00::2]:51820", "10.1.0.2/32");
	peer(b, 1, "10.0.0.1:51820", "fd00::1/128,10.1.0.1/32");
	assert_int_equal(wgdiff(a, b, NULL, &u, &st), 0);
	assert_true(wgdiff_is_empty(u));
	assert_int_equal(st.unchanged, 2);
	assert_int_equal(st.added + st.removed + st.updated, 0);
	assert_string_equal(u->name, "wgt0");
	wgdev_free(u);
	wgdev_free(a);
	wgdev_free(b);
}

static void test_add_remove_update(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_stats st;
	struct wgpeer *p;

	(void)state;
	peer(d, 1, "10.0.0.1:1", "10.1.0.1/32");
	peer(d, 2, "10.0.0.2:1", "10.1.0.2/32");
	peer(d, 3, "10.0.0.3:1", "10.1.0.3/32,10.2.0.0/16");
	peer(a, 1, "10.0.0.1:1", "10.1.0.1/32"); /* same */
	peer(a, 3, "10.0.0.3:1", "10.1.0.3/32"); /* allowed IPs grew */
	peer(a, 4, "10.0.0.4:1", "10.1.0.4/32"); /* stale */
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.removed, 1);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.allowedips_replaced, 1);
	assert_false(st.device_changed);
	assert_int_equal(wgdev_peer_count(u), 3);
	assert_int_equal(u->flags & WGDEVICE_REPLACE_PEERS, 0);
	/* removals come first */
	assert_true(u->first_peer->flags & WGPEER_REMOVE_ME);
	assert_memory_equal(u->first_peer->public_key, find(a, 4)->public_key, WGDEV_KEY_LEN);
	p = find(u, 2);
	assert_non_null(p);
	assert_int_equal(wgpeer_allowedip_count(p), 1);
	assert_true(p->endpoint.addr.sa_family == AF_INET);
	p = find(u, 3);
	assert_non_null(p);
	assert_true(p->flags & WGPEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(wgpeer_allowedip_count(p), 2);
	/* only allowed IPs changed: no endpoint, keepalive or PSK in the update */
	assert_int_equal(p->endpoint.addr.sa_family, AF_UNSPEC);
	assert_int_equal(p->flags & (WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_HAS_PRESHARED_KEY), 0);
	assert_null(find(u, 1));
	check_converges(d, a, u);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

/* Re-create (WGDIFF_PEER_RECREATE): a peer without endpoint and handshake is
 * removed and added anew in one update; with either, it is updated as usual. */
static void test_recreate(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_stats st;
	struct wgpeer *p;
	int n = 0;

	(void)state;
	peer(d, 1, "10.0.0.1:1", "10.1.0.1/32")->flags |= WGDIFF_PEER_RECREATE; /* waiter -> initiator */
	peer(d, 2, "10.0.0.2:1", "10.1.0.2/32")->flags |= WGDIFF_PEER_RECREATE; /* learned an endpoint */
	peer(d, 3, "10.0.0.3:1", "10.1.0.3/32")->flags |= WGDIFF_PEER_RECREATE; /* had a handshake */
	peer(d, 4, "10.0.0.4:1", "10.1.0.4/32")->flags |= WGDIFF_PEER_RECREATE; /* not there yet */
	find(d, 1)->persistent_keepalive_interval = 25;
	peer(a, 1, NULL, "10.1.0.1/32");
	peer(a, 2, "10.9.0.2:7", "10.1.0.2/32");
	peer(a, 3, NULL, "10.1.0.3/32")->last_handshake_time.tv_sec = 1700000000;
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_int_equal(st.recreated, 1);
	assert_int_equal(st.updated, 3); /* 1 (re-created), 2 and 3 (endpoint) */
	assert_int_equal(st.unchanged, 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.removed, 0);
	/* peer 1: a removal, then the whole peer right after it */
	for (p = u->first_peer; p; p = p->next_peer) {
		if (memcmp(p->public_key, find(d, 1)->public_key, WGDEV_KEY_LEN))
			continue;
		if (n++ == 0) {
			assert_int_equal(p->flags, WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME);
			assert_non_null(p->next_peer);
			assert_memory_equal(p->next_peer->public_key, p->public_key, WGDEV_KEY_LEN);
		} else {
			assert_false(p->flags & (WGPEER_REMOVE_ME | WGDIFF_PEER_RECREATE));
			assert_int_equal(p->endpoint.addr.sa_family, AF_INET);
			assert_true(p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE);
			assert_int_equal(wgpeer_allowedip_count(p), 1);
		}
	}
	assert_int_equal(n, 2);
	/* the others: no removal */
	for (p = u->first_peer; p; p = p->next_peer)
		if (p->flags & WGPEER_REMOVE_ME)
			assert_memory_equal(p->public_key, find(d, 1)->public_key, WGDEV_KEY_LEN);
	assert_false(find(u, 4)->flags & WGDIFF_PEER_RECREATE);
	/* applied, the device has peer 1 with its endpoint: nothing more to do */
	assert_int_equal(wgdiff_apply(a, u), 0);
	assert_int_equal(find(a, 1)->endpoint.addr.sa_family, AF_INET);
	assert_int_equal(wgpeer_allowedip_count(find(a, 1)), 1);
	wgdev_free(u);
	u = NULL;
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_int_equal(st.recreated, 0);
	assert_int_equal(st.updated, 0);
	assert_true(wgdiff_is_empty(u));
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_keep_unlisted(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_opts o = {.keep_unlisted = true};
	struct wgdiff_stats st;

	(void)state;
	peer(a, 4, "10.0.0.4:1", "10.1.0.4/32");
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_true(wgdiff_is_empty(u));
	assert_int_equal(st.removed, 0);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

/* Key rotation (docs/mesh.md "Key rotation"): keep_unlisted keeps a silent
 * peer, but not one whose every address another desired peer now holds (a
 * rotated-out key), and WGDIFF_PEER_REMOVE removes a key even so. */
static void test_keep_unlisted_superseded(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_opts o = {.keep_unlisted = true};
	struct wgdiff_stats st;
	struct wgpeer *p;
	int removed4 = 0, removed5 = 0, removed6 = 0;

	(void)state;
	peer(a, 4, "10.0.0.4:1", "10.1.0.4/32");             /* rotated out: 7 holds its address */
	peer(a, 5, "10.0.0.5:1", "10.1.0.5/32,10.1.0.55/32"); /* half taken: kept */
	peer(a, 6, NULL, NULL);                              /* no address: kept */
	peer(a, 8, "10.0.0.8:1", "10.1.0.8/32");             /* retired: removed by name */
	peer(d, 7, "10.0.0.4:1", "10.1.0.4/32,10.1.0.5/32");
	p = peer(d, 8, NULL, NULL);
	p->flags |= WGDIFF_PEER_REMOVE;
	p = peer(d, 9, NULL, NULL); /* a removal of a key the device lacks: nothing */
	p->flags |= WGDIFF_PEER_REMOVE;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_int_equal(st.removed, 2);
	assert_int_equal(st.added, 1);
	for (p = u->first_peer; p; p = p->next_peer) {
		uint8_t k[WGDEV_KEY_LEN];

		key(k, 4);
		removed4 += !memcmp(p->public_key, k, WGDEV_KEY_LEN) && (p->flags & WGPEER_REMOVE_ME);
		key(k, 5);
		removed5 += !memcmp(p->public_key, k, WGDEV_KEY_LEN);
		key(k, 6);
		removed6 += !memcmp(p->public_key, k, WGDEV_KEY_LEN);
		key(k, 9);
		assert_false(!memcmp(p->public_key, k, WGDEV_KEY_LEN));
	}
	assert_int_equal(removed4, 1);
	assert_int_equal(removed5, 0);
	assert_int_equal(removed6, 0);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_device_fields(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_stats st;

	(void)state;
	key(a->private_key, 50);
	a->flags |= WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
	a->listen_port = 40000; /* randomly chosen by the device */
	a->fwmark = 7;
	/* desired: same key, "any" port, fwmark 7 -> nothing */
	key(d->private_key, 50);
	d->flags |= WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
	d->listen_port = 0;
	d->fwmark = 7;
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_true(wgdiff_is_empty(u));
	assert_false(st.device_changed);
	wgdev_free(u);
	/* new key, fixed port, fwmark off */
	key(d->private_key, 51);
	d->listen_port = 51820;
	d->fwmark = 0;
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_true(st.device_changed);
	assert_int_equal(u->flags, WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK);
	assert_memory_equal(u->private_key, d->private_key, WGDEV_KEY_LEN);
	assert_int_equal(u->listen_port, 51820);
	assert_int_equal(u->fwmark, 0);
	check_converges(d, a, u);
	wgdev_free(u);
	/* a desired device that does not mention the key leaves it alone */
	d->flags &= ~(uint32_t)WGDEVICE_HAS_PRIVATE_KEY;
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_int_equal(u->flags & WGDEVICE_HAS_PRIVATE_KEY, 0);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_psk_keepalive(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgpeer *pd, *pa, *pu;

	(void)state;
	pd = peer(d, 1, "10.0.0.1:1", "10.1.0.1/32");
	pa = peer(a, 1, "10.0.0.1:1", "10.1.0.1/32");
	pa->flags |= WGPEER_HAS_PRESHARED_KEY;
	key(pa->preshared_key, 9);
	pa->persistent_keepalive_interval = 25;
	/* desired: no PSK, no keepalive -> remove PSK (zero key with flag), keepalive 0 */
	assert_int_equal(wgdiff(d, a, NULL, &u, NULL), 0);
	pu = u->first_peer;
	assert_non_null(pu);
	assert_true(pu->flags & WGPEER_HAS_PRESHARED_KEY);
	assert_true(wgdev_key_is_zero(pu->preshared_key));
	assert_true(pu->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE);
	assert_int_equal(pu->persistent_keepalive_interval, 0);
	assert_int_equal(pu->flags & WGPEER_REPLACE_ALLOWEDIPS, 0);
	assert_null(pu->first_allowedip);
	check_converges(d, a, u);
	wgdev_free(u);
	/* desired sets a PSK and keepalive 25 */
	pd->flags |= WGPEER_HAS_PRESHARED_KEY;
	key(pd->preshared_key, 10);
	pd->persistent_keepalive_interval = 25;
	assert_int_equal(wgdiff(d, a, NULL, &u, NULL), 0);
	pu = u->first_peer;
	assert_memory_equal(pu->preshared_key, pd->preshared_key, WGDEV_KEY_LEN);
	assert_int_equal(pu->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE, 0);
	check_converges(d, a, u);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static bool never_keep(void *ud, const struct wgpeer *d, const struct wgpeer *a, int64_t now)
{
	(*(int *)ud)++;
	return false;
}

static void test_roamed_endpoint_policy(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_opts o = {.now_sec = 1000000, .keep_roamed_secs = 180};
	struct wgdiff_stats st;
	struct wgpeer *pa;
	int calls = 0;

	(void)state;
	peer(d, 1, "10.0.0.1:51820", "10.1.0.1/32");
	pa = peer(a, 1, "192.0.2.7:40001", "10.1.0.1/32"); /* the peer roamed (NAT) */
	/* recent handshake: keep the roamed endpoint */
	pa->last_handshake_time.tv_sec = o.now_sec - 30;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_true(wgdiff_is_empty(u));
	assert_int_equal(st.endpoints_kept, 1);
	wgdev_free(u);
	/* handshake too old: write the desired endpoint */
	pa->last_handshake_time.tv_sec = o.now_sec - 181;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_int_equal(st.endpoints_kept, 0);
	assert_non_null(u->first_peer);
	assert_true(wgendpoint_equal(&u->first_peer->endpoint, &d->first_peer->endpoint));
	wgdev_free(u);
	/* never a handshake: write it */
	pa->last_handshake_time.tv_sec = 0;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_non_null(u->first_peer);
	wgdev_free(u);
	/* handshake in the future (clock step): do not trust it */
	pa->last_handshake_time.tv_sec = o.now_sec + 100;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_non_null(u->first_peer);
	wgdev_free(u);
	/* policy disabled: always overwrite even with a fresh handshake */
	pa->last_handshake_time.tv_sec = o.now_sec;
	o.keep_roamed_secs = 0;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_non_null(u->first_peer);
	wgdev_free(u);
	/* the hook overrides the built-in rule */
	o.keep_roamed_secs = 180;
	o.keep_endpoint = never_keep;
	o.ud = &calls;
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_int_equal(calls, 1);
	assert_non_null(u->first_peer);
	check_converges(d, a, u);
	wgdev_free(u);
	/* same endpoint: the hook is not even asked */
	assert_true(wgendpoint_parse(&pa->endpoint, "10.0.0.1:51820", 14));
	assert_int_equal(wgdiff(d, a, &o, &u, &st), 0);
	assert_int_equal(calls, 1);
	assert_true(wgdiff_is_empty(u));
	wgdev_free(u);
	/* desired without an endpoint never touches the actual one */
	memset(&d->first_peer->endpoint, 0, sizeof(d->first_peer->endpoint));
	assert_true(wgendpoint_parse(&pa->endpoint, "192.0.2.9:1", 11));
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_true(wgdiff_is_empty(u));
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_allowedip_moves_between_peers(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;
	struct wgdiff_stats st;

	(void)state;
	peer(a, 1, "10.0.0.1:1", "10.1.0.1/32,10.9.0.0/16");
	peer(a, 2, "10.0.0.2:1", "10.1.0.2/32");
	peer(d, 1, "10.0.0.1:1", "10.1.0.1/32");
	peer(d, 2, "10.0.0.2:1", "10.1.0.2/32,10.9.0.0/16");
	assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
	assert_int_equal(st.updated, 2);
	assert_int_equal(st.allowedips_replaced, 2);
	check_converges(d, a, u);
	wgdev_free(u);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_errors(void **state)
{
	struct wgdevice *d = dev(), *a = dev(), *u = NULL;

	(void)state;
	peer(d, 1, NULL, "10.1.0.1/32");
	peer(d, 1, NULL, "10.1.0.2/32");
	assert_int_equal(wgdiff(d, a, NULL, &u, NULL), -EINVAL);
	assert_null(u);
	wgdev_free(d);
	d = dev();
	wgdev_add_peer(d); /* no key at all */
	assert_int_equal(wgdiff(d, a, NULL, &u, NULL), -EINVAL);
	wgdev_free(d);
	wgdev_free(a);
}

static void test_apply_model(void **state)
{
	struct wgdevice *d = dev(), *u = dev();
	struct wgpeer *p;

	(void)state;
	peer(d, 1, NULL, "10.1.0.1/32");
	peer(d, 2, NULL, "10.1.0.2/32");
	/* UPDATE_ONLY does not create; REMOVE_ME removes; REPLACE_PEERS clears */
	p = peer(u, 3, NULL, "10.1.0.3/32");
	p->flags |= WGPEER_UPDATE_ONLY;
	p = peer(u, 1, NULL, NULL);
	p->flags |= WGPEER_REMOVE_ME;
	assert_int_equal(wgdiff_apply(d, u), 0);
	assert_int_equal(wgdev_peer_count(d), 1);
	assert_non_null(find(d, 2));
	u->flags |= WGDEVICE_REPLACE_PEERS;
	u->first_peer->flags &= ~(uint32_t)WGPEER_UPDATE_ONLY;
	assert_int_equal(wgdiff_apply(d, u), 0);
	assert_int_equal(wgdev_peer_count(d), 1);
	assert_non_null(find(d, 3));
	wgdev_free(u);
	wgdev_free(d);
}

/* xorshift: deterministic pseudo-random cases */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct wgdevice *random_dev(uint32_t *s, unsigned universe, bool with_key)
{
	struct wgdevice *d = dev(), *canon;

	if (with_key || rnd(s) % 2) {
		key(d->private_key, 1000 + rnd(s) % 3);
		d->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	}
	for (unsigned k = 0; k < universe; k++) {
		char ep[32], aips[128];
		struct wgpeer *p;

		if (rnd(s) % 3 == 0)
			continue;
		snprintf(ep, sizeof(ep), "10.0.%u.%u:%u", k, rnd(s) % 3, 51820 + rnd(s) % 2);
		snprintf(aips, sizeof(aips), "10.%u.%u.0/24,fd00:%x::/64%s", 100 + k, rnd(s) % 3, k,
			 rnd(s) % 2 ? ",10.250.0.0/16" : "");
		p = peer(d, k, ep, aips);
		p->persistent_keepalive_interval = (uint16_t)(rnd(s) % 2 ? 25 : 0);
		if (rnd(s) % 2) {
			key(p->preshared_key, 5000 + rnd(s) % 2);
			p->flags |= WGPEER_HAS_PRESHARED_KEY;
		}
	}
	/* 10.250.0.0/16 can belong to one peer only: let the model give it to
	 * the last claimant, as a device would. */
	canon = dev();
	d->flags &= ~(uint32_t)WGDEVICE_HAS_LISTEN_PORT;
	assert_int_equal(wgdiff_apply(canon, d), 0);
	wgdev_free(d);
	return canon;
}

static void test_random_convergence(void **state)
{
	uint32_t s = 0x12345678;

	(void)state;
	for (int iter = 0; iter < 300; iter++) {
		/* desired always names its key: a desired device without one leaves the key alone */
		struct wgdevice *d = random_dev(&s, 12, true), *a = random_dev(&s, 12, false), *u = NULL;
		struct wgdiff_stats st;
		size_t entries;

		assert_int_equal(wgdiff(d, a, NULL, &u, &st), 0);
		entries = wgdev_peer_count(u);
		assert_int_equal(entries, st.added + st.removed + st.updated);
		assert_int_equal(u->flags & WGDEVICE_REPLACE_PEERS, 0);
		check_converges(d, a, u);
		wgdev_free(u);
		wgdev_free(d);
		wgdev_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_is_empty),
		cmocka_unit_test(test_add_remove_update),
		cmocka_unit_test(test_recreate),
		cmocka_unit_test(test_keep_unlisted),
		cmocka_unit_test(test_keep_unlisted_superseded),
		cmocka_unit_test(test_device_fields),
		cmocka_unit_test(test_psk_keepalive),
		cmocka_unit_test(test_roamed_endpoint_policy),
		cmocka_unit_test(test_allowedip_moves_between_peers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_apply_model),
		cmocka_unit_test(test_random_convergence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
