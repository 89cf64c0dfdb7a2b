/* SPDX-License-Identifier: MIT */
/*
 * The one WireGuard engine (core/wgsync.h) on the in-memory OS
 * (fake_wgos.h), no root: apply -> diff -> set -> link -> addresses, backend
 * auto falling back from a kernel without WireGuard, coalescing, injected
 * failures and recovery, remove, and the public API selecting the fake
 * through the loop (the seam a w2w_node test uses too).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "fake_wgos.h"
#include "loop_internal.h"
#include "w2wesher/w2wesher.h"
#include "wgsync.h"

#define K2_B64 "uFmW/sycfx/G0lcqdu2hHVm80gvo5UOxXOS9hajnWjM="

struct ctx {
	struct w2w_loop *loop;
	struct fake_wgos f;
	struct wgsync *ws;
	int calls;
	struct wgsync_result last;
	int removed, remove_err;
	int lost;
};

static void on_done(void *ud, const struct wgsync_result *res)
{
	struct ctx *c = ud;

	c->calls++;
	c->last = *res;
}

static void on_lost(void *ud)
{
	((struct ctx *)ud)->lost++;
}

static void on_removed(void *ud, int err)
{
	struct ctx *c = ud;

	c->removed++;
	c->remove_err = err;
}

/* Runs the loop until *counter reaches want (bounded). */
static void run_until(struct ctx *c, const int *counter, int want)
{
	for (int i = 0; i < 200 && *counter < want; i++)
		w2w_loop_run(c->loop, 5);
	assert_int_equal(*counter, want);
}

static void setup(struct ctx *c, enum w2w_backend backend, unsigned mtu)
{
	struct wgsync_config cfg;

	memset(c, 0, sizeof(*c));
	assert_int_equal(w2w_loop_new(&c->loop, NULL), 0);
	assert_non_null(c->loop);
	fake_wgos_init(&c->f, loop_reactor(c->loop));
	memset(&cfg, 0, sizeof(cfg));
	cfg.ifname = "wgf0";
	cfg.backend = backend;
	cfg.mtu = mtu;
	cfg.keep_roamed_secs = 180;
	cfg.done = on_done;
	cfg.lost = on_lost;
	cfg.ud = c;
	cfg.os = &c->f.os;
	assert_int_equal(wgsync_new(loop_reactor(c->loop), NULL, &cfg, &c->ws), 0);
}

static void teardown(struct ctx *c)
{
	wgsync_free(c->ws);
	assert_int_equal(c->f.pending, 0);
	fake_wgos_clear(&c->f);
	assert_int_equal(w2w_loop_next_deadline(c->loop), -1);
	w2w_loop_free(c->loop);
}

static struct wgdevice *desired(uint8_t peer_byte, const char *aip)
{
	struct wgdevice *d = wgdev_new();
	struct wgpeer *p;
	struct wgallowedip *a;

	assert_non_null(d);
	memset(d->private_key, 0x11, sizeof(d->private_key));
	d->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	d->listen_port = 51820;
	d->flags |= WGDEVICE_HAS_LISTEN_PORT;
	p = wgdev_add_peer(d);
	assert_non_null(p);
	memset(p->public_key, peer_byte, sizeof(p->public_key));
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
	a = wgpeer_add_allowedip(p);
	assert_non_null(a);
	assert_true(wgallowedip_parse(a, aip, strlen(aip)));
	return d;
}

static struct rtnl_addr v4(uint8_t last, uint8_t plen)
{
	struct rtnl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.prefixlen = plen;
	a.addr[0] = 10;
	a.addr[1] = 7;
	a.addr[3] = last;
	return a;
}

/* apply on nothing: auto tries the kernel, which has no WireGuard, falls back
 * to userspace once, creates the interface, sets the device, brings the link
 * up with the MTU and puts exactly the address on it. */
static void test_apply_creates_and_configures(void **state)
{
	struct ctx c;
	struct rtnl_addr a = v4(1, 16);
	struct fake_wgos_link *l;

	(void)state;
	setup(&c, W2W_BACKEND_AUTO, 1380);
	c.f.kernel_missing = true;
	assert_string_equal(wgsync_backend_name(c.ws), "none");
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	assert_int_equal(c.calls, 0); /* never from inside the call */
	assert_true(wgsync_busy(c.ws));
	run_until(&c, &c.calls, 1);
	assert_int_equal(c.last.err, 0);
	assert_true(c.last.link_created);
	assert_true(c.last.applied);
	assert_int_equal(c.last.diff.added, 1);
	assert_string_equal(wgsync_backend_name(c.ws), "userspace");
	l = fake_wgos_link(&c.f, "wgf0");
	assert_non_null(l);
	assert_int_equal(wgdev_peer_count(l->dev), 1);
	assert_int_equal(l->dev->listen_port, 51820);
	assert_true(l->up);
	assert_int_equal(l->mtu, 1380);
	assert_int_equal(l->naddrs, 1);
	assert_int_equal(l->addrs[0].addr[3], 1);
	/* the engine reads the device back after a set: gets on the kernel
	 * (-EPROTONOSUPPORT), on userspace (-ENODEV), after the create, then
	 * the read-back */
	for (int i = 0; i < 100 && c.f.gets < 4; i++)
		w2w_loop_run(c.loop, 5);
	for (int i = 0; i < 10; i++)
		w2w_loop_run(c.loop, 2);
	assert_int_equal(c.f.gets, 4);
	assert_int_equal(c.f.creates, 1);
	assert_non_null(wgsync_actual(c.ws));
	assert_int_equal(wgdev_peer_count(wgsync_actual(c.ws)), 1);
	assert_false(wgsync_busy(c.ws));
	teardown(&c);
}

/* The interface deleted from outside (its wireguard-go killed): the periodic
 * refresh finds it gone and says so (the node then reconciles at once: a
 * read never re-creates it), and the next apply re-creates it with its peers. */
static void test_refresh_reports_lost_device(void **state)
{
	struct ctx c;
	struct rtnl_addr a = v4(1, 16);
	struct fake_wgos_link *l;

	(void)state;
	setup(&c, W2W_BACKEND_USERSPACE, 0);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	run_until(&c, &c.calls, 1);
	assert_int_equal(c.last.err, 0);
	for (int i = 0; i < 20; i++)
		w2w_loop_run(c.loop, 2);
	assert_int_equal(c.lost, 0);
	l = fake_wgos_link(&c.f, "wgf0");
	assert_non_null(l);
	wgdev_free(l->dev);
	l->dev = NULL;
	l->used = false;
	assert_int_equal(wgsync_refresh(c.ws), 0);
	run_until(&c, &c.lost, 1);
	assert_int_equal(c.f.creates, 1);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	run_until(&c, &c.calls, 2);
	assert_int_equal(c.last.err, 0);
	assert_true(c.last.link_created);
	assert_int_equal(c.f.creates, 2);
	l = fake_wgos_link(&c.f, "wgf0");
	assert_non_null(l);
	assert_int_equal(wgdev_peer_count(l->dev), 1);
	for (int i = 0; i < 20; i++)
		w2w_loop_run(c.loop, 2);
	assert_int_equal(c.lost, 1);
	teardown(&c);
}

/* Second apply: only what differs goes out; the address set is the truth
 * (the old address goes, the new one comes, an IPv6 link-local stays). */
static void test_apply_diff_and_addresses(void **state)
{
	struct ctx c;
	struct rtnl_addr a1 = v4(1, 16), a2 = v4(9, 16), ll;
	struct fake_wgos_link *l;
	unsigned sets, link_sets;

	(void)state;
	setup(&c, W2W_BACKEND_KERNEL, 1420);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a1, 1, false), 0);
	run_until(&c, &c.calls, 1);
	assert_int_equal(c.last.err, 0);
	assert_string_equal(wgsync_backend_name(c.ws), "kernel");
	l = fake_wgos_link(&c.f, "wgf0");
	memset(&ll, 0, sizeof(ll));
	ll.family = AF_INET6;
	ll.prefixlen = 64;
	ll.addr[0] = 0xfe;
	ll.addr[1] = 0x80;
	ll.addr[15] = 1;
	ll.ifindex = l->ifindex;
	l->addrs[l->naddrs++] = ll;
	sets = c.f.sets;
	link_sets = c.f.link_sets;
	/* same device: no set; the link step is not repeated for the same MTU */
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a2, 1, false), 0);
	run_until(&c, &c.calls, 2);
	assert_int_equal(c.last.err, 0);
	assert_false(c.last.applied);
	assert_int_equal(c.last.diff.unchanged, 1);
	assert_int_equal(c.f.sets, sets);
	assert_int_equal(c.f.link_sets, link_sets);
	assert_int_equal(l->naddrs, 2);
	for (size_t i = 0; i < l->naddrs; i++)
		assert_true(l->addrs[i].family == AF_INET6 || l->addrs[i].addr[3] == 9);
	/* another peer: one removed, one added */
	assert_int_equal(wgsync_apply(c.ws, desired(0x33, "10.7.0.3/32"), &a2, 1, false), 0);
	run_until(&c, &c.calls, 3);
	assert_int_equal(c.last.diff.added, 1);
	assert_int_equal(c.last.diff.removed, 1);
	assert_int_equal(l->dev->first_peer->public_key[0], 0x33);
	/* keep_unlisted: a new peer joins, the unlisted one stays */
	assert_int_equal(wgsync_apply(c.ws, desired(0x44, "10.7.0.4/32"), &a2, 1, true), 0);
	run_until(&c, &c.calls, 4);
	assert_int_equal(c.last.diff.removed, 0);
	assert_int_equal(wgdev_peer_count(l->dev), 2);
	teardown(&c);
}

/* Applies queued before the engine runs are coalesced: the newest wins. */
static void test_apply_coalesces(void **state)
{
	struct ctx c;

	(void)state;
	setup(&c, W2W_BACKEND_USERSPACE, 0);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), NULL, 0, false), 0);
	assert_int_equal(wgsync_apply(c.ws, desired(0x55, "10.7.0.5/32"), NULL, 0, false), 0);
	run_until(&c, &c.calls, 1);
	for (int i = 0; i < 20; i++)
		w2w_loop_run(c.loop, 2);
	assert_int_equal(c.calls, 1);
	assert_int_equal(fake_wgos_link(&c.f, "wgf0")->dev->first_peer->public_key[0], 0x55);
	teardown(&c);
}

/* An injected failure is reported, and the next apply recovers from a fresh
 * read; the backend never gets a create under adopt_only. */
static void test_injected_failures(void **state)
{
	struct ctx c;
	struct rtnl_addr a = v4(1, 16);
	struct fake_wgos_link *l;

	(void)state;
	setup(&c, W2W_BACKEND_KERNEL, 1420);
	c.f.fail_op = "set";
	c.f.fail_err = -EIO;
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	run_until(&c, &c.calls, 1);
	assert_int_equal(c.last.err, -EIO);
	l = fake_wgos_link(&c.f, "wgf0");
	assert_non_null(l); /* created before the set failed */
	assert_int_equal(wgdev_peer_count(l->dev), 0);
	assert_int_equal(l->naddrs, 0);
	c.f.fail_op = "addr_add";
	c.f.fail_err = -EADDRNOTAVAIL;
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	run_until(&c, &c.calls, 2);
	assert_int_equal(c.last.err, -EADDRNOTAVAIL);
	assert_int_equal(wgdev_peer_count(l->dev), 1);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), 0);
	run_until(&c, &c.calls, 3);
	assert_int_equal(c.last.err, 0);
	assert_int_equal(l->naddrs, 1);
	assert_true(l->up);
	/* remove: the backend's forget hook, then the link goes */
	assert_int_equal(wgsync_remove(c.ws, on_removed, &c), 0);
	assert_int_equal(wgsync_apply(c.ws, desired(0x22, "10.7.0.2/32"), &a, 1, false), W2W_ESTATE);
	run_until(&c, &c.removed, 1);
	assert_int_equal(c.remove_err, 0);
	assert_null(fake_wgos_link(&c.f, "wgf0"));
	assert_int_equal(c.f.link_dels, 1);
	teardown(&c);
}

static void pub_done(void *ud, int err)
{
	int *r = ud;

	*r = err;
}

/* The public API on the same engine, the fake selected through the loop. */
static void test_public_api_on_fake(void **state)
{
	struct w2w_loop *loop = NULL;
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_BACKEND_AUTO};
	struct w2w_wg_sync_stats st = {.size = sizeof(st)};
	struct w2w_wg_config *cfg = NULL;
	struct w2w_wg_peer *p = NULL;
	struct w2w_wg *wg = NULL;
	struct fake_wgos f;
	int r = 1;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	fake_wgos_init(&f, loop_reactor(loop));
	f.userspace_running = true;
	loop_set_wg_os(loop, &f.os);
	assert_int_equal(w2w_wg_new(&wg, loop, "wgp0", &o), 0);
	assert_string_equal(w2w_wg_backend_name(wg), "userspace");
	assert_int_equal(w2w_wg_config_new(&cfg), 0);
	assert_int_equal(w2w_wg_config_add_peer(cfg, K2_B64, &p), 0);
	assert_int_equal(w2w_wg_peer_add_allowed_ip(p, "10.9.0.2/32"), 0);
	/* opts.create is 0: a missing interface is -ENODEV, like `wg setconf` */
	assert_int_equal(w2w_wg_sync_run(wg, cfg, 2000), -ENODEV);
	assert_int_equal(f.creates, 0);
	/* an existing one is synced; no address described: addresses untouched */
	fake_wgos_add_link(&f, "wgp0");
	assert_int_equal(w2w_wg_sync(wg, cfg, pub_done, &r), 0);
	for (int i = 0; i < 200 && r == 1; i++)
		w2w_loop_run(loop, 5);
	assert_int_equal(r, 0);
	assert_int_equal(w2w_wg_last_sync_stats(wg, &st), 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.applied, 1);
	assert_int_equal(f.link_sets, 0);
	assert_int_equal(wgdev_peer_count(fake_wgos_link(&f, "wgp0")->dev), 1);
	w2w_wg_config_free(cfg);
	w2w_wg_free(wg);
	assert_int_equal(f.pending, 0);
	fake_wgos_clear(&f);
	w2w_loop_free(loop);
}

/* ---- direct-path probes (wgsync_probe, docs/nat.md "Upgrade") ---- */

static int probes;
static int probe_err;
static bool probe_sent;
static uint64_t probe_window;

static void on_probe(void *ud, int err, bool sent, uint64_t window_us)
{
	(void)ud;
	probes++;
	probe_err = err;
	probe_sent = sent;
	probe_window = window_us;
}

static union wgendpoint ep_v4(uint8_t last, uint16_t port)
{
	union wgendpoint e;

	memset(&e, 0, sizeof(e));
	e.addr4.sin_family = AF_INET;
	e.addr4.sin_addr.s_addr = htonl(0xc6336400u | last); /* 198.51.100.x */
	e.addr4.sin_port = htons(port);
	return e;
}

static bool ep_is(const union wgendpoint *e, uint8_t last, uint16_t port)
{
	return e->addr.sa_family == AF_INET && e->addr4.sin_port == htons(port) &&
	       e->addr4.sin_addr.s_addr == htonl(0xc6336400u | last);
}

/* A relayed peer (endpoint: the relay, keepalive 5 s) is probed: two sets
 * (the direct endpoint with the keepalive 0 -> N; the endpoint back), reads
 * between them until the keepalive left (the fake never sends: all polls),
 * and the device ends as it was. A peer at its direct endpoint already is
 * left alone; a missing one is -ENOENT; a failed direct set still puts the
 * endpoint back. */
static void test_probe(void **state)
{
	struct ctx c;
	struct rtnl_addr a = v4(1, 16);
	struct wgdevice *d = desired(0x22, "10.7.0.2/32");
	struct wgsync_probe p;
	struct fake_wgos_link *l;
	struct wgpeer *wp;
	unsigned sets, gets;

	(void)state;
	setup(&c, W2W_BACKEND_USERSPACE, 0);
	d->first_peer->endpoint = ep_v4(1, 40001); /* the relay's port */
	d->first_peer->persistent_keepalive_interval = 5;
	d->first_peer->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	assert_int_equal(wgsync_apply(c.ws, d, &a, 1, false), 0);
	run_until(&c, &c.calls, 1);
	for (int i = 0; i < 20; i++)
		w2w_loop_run(c.loop, 2);
	l = fake_wgos_link(&c.f, "wgf0");
	memset(&p, 0, sizeof(p));
	memset(p.key, 0x22, 32);
	wp = wgdev_find_peer(l->dev, p.key);
	assert_non_null(wp);
	p.direct = ep_v4(8, 27000);
	p.back = ep_v4(99, 1); /* not used: the device had an endpoint */
	p.keepalive_s = 25;
	sets = c.f.sets;
	gets = c.f.gets;
	probes = 0;
	assert_int_equal(wgsync_probe(c.ws, &p, on_probe, NULL), 0);
	run_until(&c, &probes, 1);
	assert_int_equal(probe_err, 0);
	assert_false(probe_sent);
	assert_true(probe_window > 0);
	assert_int_equal(c.f.sets - sets, 2);
	assert_int_equal(c.f.gets - gets, 1 + WGSYNC_PROBE_POLLS);
	wp = wgdev_find_peer(l->dev, p.key);
	assert_true(ep_is(&wp->endpoint, 1, 40001));
	assert_int_equal(wp->persistent_keepalive_interval, 5);

	/* roamed to the direct endpoint already: nothing set */
	wp->endpoint = p.direct;
	sets = c.f.sets;
	probes = 0;
	assert_int_equal(wgsync_probe(c.ws, &p, on_probe, NULL), 0);
	run_until(&c, &probes, 1);
	assert_int_equal(probe_err, 0);
	assert_int_equal(probe_window, 0);
	assert_int_equal(c.f.sets, sets);
	assert_true(ep_is(&wp->endpoint, 8, 27000));

	/* the direct set fails: the set back still goes out */
	wp->endpoint = ep_v4(1, 40001);
	sets = c.f.sets;
	c.f.fail_op = "set";
	c.f.fail_err = -EIO;
	probes = 0;
	assert_int_equal(wgsync_probe(c.ws, &p, on_probe, NULL), 0);
	run_until(&c, &probes, 1);
	assert_int_equal(probe_err, 0);
	assert_int_equal(c.f.sets - sets, 2);
	assert_true(ep_is(&wp->endpoint, 1, 40001));

	/* not on the device */
	memset(p.key, 0x33, 32);
	probes = 0;
	assert_int_equal(wgsync_probe(c.ws, &p, on_probe, NULL), 0);
	run_until(&c, &probes, 1);
	assert_int_equal(probe_err, -ENOENT);
	for (int i = 0; i < 20; i++)
		w2w_loop_run(c.loop, 2);
	teardown(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_creates_and_configures),
		cmocka_unit_test(test_refresh_reports_lost_device),
		cmocka_unit_test(test_apply_diff_and_addresses),
		cmocka_unit_test(test_apply_coalesces),
		cmocka_unit_test(test_injected_failures),
		cmocka_unit_test(test_public_api_on_fake),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
