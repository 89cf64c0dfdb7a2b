/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection (issue #15), the c-ares/systemd technique: each
 * scenario runs once to count its allocations, then once for every N with
 * exactly the Nth allocation failing. It must not crash, must not leak (ASan's
 * leak check in the sanitizer run), and must report the failure as an error or
 * carry on without the failed piece; state stays usable (each scenario ends by
 * freeing everything, through the normal destructors).
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (meson.build):
 * every allocation of the library code linked into this binary goes through
 * the wrappers below. Allocations inside shared libraries (libsodium,
 * msgpack-c, libc's strdup) are not counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "conn.h"
#include "identify.h"
#include "multiaddr.h"
#include "gossipsub.h"
#include "gsrpc.h"
#include "ident.h"
#include "iplimit.h"
#include "meshnode.h"
#include "peerid.h"
#include "wgdev.h"
#include "rng.h"
#include "w2wesher/config.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);

static long fail_at = -1; /* index of the allocation to fail, -1: none */
static long seen;         /* allocations since arm() */
static bool fired;

static bool fail_now(void)
{
	if (fail_at >= 0 && seen++ == fail_at) {
		fired = true;
		return true;
	}
	if (fail_at < 0)
		seen++;
	return false;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t sz)
{
	return fail_now() ? NULL : __real_calloc(n, sz);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

static void arm(long n)
{
	fail_at = n;
	seen = 0;
	fired = false;
}

/* Runs fn with no failure to count, then with each allocation failing once. */
static void every_n(void (*fn)(void), const char *what)
{
	long total;

	arm(-1);
	fn();
	total = seen;
	assert_true(total > 0);
	for (long i = 0; i < total; i++) {
		arm(i);
		fn();
		assert_true(fired);
	}
	arm(-1);
	printf("%s: %ld allocations, each failed once\n", what, total);
}

/* ---- scenarios ---- */

#define TOPIC "t"
#define SEC 1000000ull

static struct ident *ids[2];

/* Moves every queued byte between the two routers (bounded rounds). */
static void pump(struct gs **g, uint64_t now)
{
	for (int round = 0; round < 8; round++) {
		bool moved = false;

		for (int i = 0; i < 2; i++) {
			const struct peerid *to = ident_peerid(ids[1 - i]);
			struct buf b;

			buf_init(&b, 1 << 20);
			if (gs_take_output(g[i], to->b, to->len, &b) > 0) {
				const struct peerid *from = ident_peerid(ids[i]);

				gs_on_bytes(g[1 - i], from->b, from->len, b.data, b.len, now);
				moved = true;
			}
			buf_free(&b);
		}
		if (!moved)
			break;
	}
}

static void scen_gossipsub(void)
{
	struct gs_config c;
	struct gs *g[2] = {NULL, NULL};
	uint64_t now = SEC;

	gs_config_default(&c);
	for (int i = 0; i < 2; i++)
		g[i] = gs_new(&c, ids[i], NULL, NULL);
	if (!g[0] || !g[1])
		goto out;
	for (int i = 0; i < 2; i++) {
		const struct peerid *p = ident_peerid(ids[1 - i]);

		gs_subscribe(g[i], TOPIC, now);
		gs_add_peer(g[i], p->b, p->len, GS_MESHSUB_11, now);
	}
	pump(g, now);
	for (int k = 0; k < 3; k++) {
		now += SEC;
		gs_heartbeat(g[0], now);
		gs_heartbeat(g[1], now);
		gs_publish(g[k % 2], TOPIC, "hello", 5, now);
		pump(g, now);
	}
	/* the router still answers whatever happened */
	(void)gs_peer_count(g[0]);
	(void)gs_memory(g[1]);
	gs_unsubscribe(g[0], TOPIC, now);
	pump(g, now);
out:
	gs_free(g[0]);
	gs_free(g[1]);
}

static void scen_gsrpc(void)
{
	static const uint8_t id1[] = "0123456789", id2[] = "abcdefghij";
	struct gsrpc_sub subs[2] = {{true, {(const uint8_t *)"a", 1}}, {false, {(const uint8_t *)"bb", 2}}};
	struct gsb want[2] = {{id1, 10}, {id2, 10}};
	struct gsrpc_iwant iw = {want, 2};
	struct gsrpc r = {.subs = subs, .n_subs = 2, .iwant = &iw, .n_iwant = 1};
	const struct gsrpc_limits lim = {64, 64, 64, 256, 32};
	struct gsrpc d;
	struct buf b;

	buf_init(&b, 1 << 20);
	if (gsrpc_encode_lp(&r, 1 << 20, &b) == 0 && b.len > 1 &&
	    gsrpc_decode(b.data + 1, b.len - 1, &lim, &d) == 0) {
		assert_int_equal(d.n_subs, 2);
		gsrpc_free(&d);
	}
	buf_free(&b);
}

static const char conf[] = "[P2P]\n"
			   "PSK = MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"
			   "ListenAddr = /ip4/0.0.0.0/tcp/10042\n"
			   "Bootstrap = /ip4/192.0.2.1/tcp/10042/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA\n"
			   "[Wireguard]\n"
			   "Interface = wesh0\n"
			   "ListenPort = 51820\n"
			   "NetworkRange = 10.42.0.0/16\n"
			   "NodeName = alpha\n"
			   "[Node]\n"
			   "PeerExpiry = 30s\n";

static void scen_config(void)
{
	struct w2w_config *c = NULL;

	if (w2w_config_new(&c) < 0)
		return;
	(void)config_parse_text(c, "test.conf", conf, sizeof(conf) - 1);
	w2w_config_free(c);
}

static void scen_iplimit(void)
{
	struct iplimit *l = iplimit_new();
	uint8_t ip[16] = {10, 0, 0, 1};
	bool tracked;
	const char *why;

	if (!l)
		return;
	for (int i = 0; i < 4; i++) {
		ip[3] = (uint8_t)i;
		if (iplimit_admit(l, 4, ip, SEC, &tracked, &why) == 0 && tracked)
			iplimit_ready(l, 4, ip);
	}
	iplimit_free(l);
}

/* Two connections over the full upgrade (pnet, Noise, yamux, identify), then a
 * ping and the pubsub streams, then close. */
static void on_conn_ev(void *ud, struct conn *c, const struct conn_event *ev)
{
	(void)ud;
	(void)c;
	(void)ev;
}

static void scen_conn(void)
{
	static const uint8_t psk[32] = {7, 7, 7};
	static const uint8_t lo[4] = {127, 0, 0, 1};
	struct identify_info self[2];
	struct conn *c[2] = {NULL, NULL};
	uint8_t ma[2][64];
	int ml[2];
	uint64_t now = SEC;

	for (int i = 0; i < 2; i++) {
		struct conn_config cc = {0};

		ml[i] = ma_from_ip(ma[i], sizeof(ma[i]), 4, lo, (uint16_t)(4001 + i), true, NULL);
		identify_info_init(&self[i]);
		identify_set_public_key(&self[i], ident_pubkey_pb(ids[i]), IDENT_PUBPB_LEN);
		identify_add_protocol(&self[i], "/ipfs/ping/1.0.0");
		cc.initiator = i == 0;
		cc.psk = psk;
		cc.identity = ids[i];
		cc.expected_peer = i == 0 ? ident_peerid(ids[1]) : NULL;
		cc.self_info = &self[i];
		cc.remote_ma = ma[1 - i];
		cc.remote_ma_len = ml[1 - i] > 0 ? (size_t)ml[1 - i] : 0;
		cc.name = i ? "R" : "I";
		cc.handshake_timeout_us = 5 * SEC;
		cc.gossipsub = true;
		cc.cb.on_event = on_conn_ev;
		if (conn_new(&c[i], &cc, now) < 0)
			goto out;
	}
	for (int round = 0, idle = 0; round < 200 && idle < 3; round++) {
		bool moved = false;

		for (int i = 0; i < 2; i++) {
			const uint8_t *p;
			size_t n;

			conn_output(c[i], &p, &n);
			if (n) {
				conn_feed(c[1 - i], p, n, now);
				conn_consume(c[i], n, now);
				moved = true;
			}
		}
		idle = moved ? 0 : idle + 1;
		if (round == 20) {
			conn_ping(c[0], now);
			conn_gs_open(c[0], now);
			conn_gs_open(c[1], now);
		}
		now += 1000;
		conn_tick(c[0], now);
		conn_tick(c[1], now);
	}
	conn_close(c[0], now);
out:
	conn_free(c[0]);
	conn_free(c[1]);
}

/* The mesh engine: start, our WireGuard device applied, a peer's announcement,
 * its connection, timers for a while, a leave. */
static int m_publish(void *ud, const uint8_t *d, size_t n)
{
	(void)ud;
	(void)d;
	(void)n;
	return 0;
}

static void m_dial(void *ud, const uint8_t *ma, size_t n)
{
	(void)ud;
	(void)ma;
	(void)n;
}

static void m_apply(void *ud, struct wgdevice *desired, const struct ann_claim *addr, uint8_t plen, bool keep)
{
	(void)ud;
	(void)addr;
	(void)plen;
	(void)keep;
	wgdev_free(desired);
}

static uint64_t m_wall(void *ud)
{
	(void)ud;
	return 1700000000000000ull;
}

static void scen_mesh(void)
{
	static const uint8_t wgpriv[32] = {1}, wgpub[32] = {2};
	const struct mn_ops ops = {.publish = m_publish, .dial = m_dial, .apply = m_apply, .wall_us = m_wall};
	struct mn_config c = {0};
	struct mesh_node *m = NULL;
	struct announce a;
	struct buf b;
	struct ann_ip remote;
	const struct wgdiff_stats diff = {0};
	uint64_t now = SEC;

	c.self = ident_peerid(ids[0]);
	c.name = "a";
	c.ifname = "w2w0";
	c.wg_priv = wgpriv;
	c.wg_pub = wgpub;
	c.wg_port = 51820;
	c.announce_us = 2 * SEC;
	c.expiry_us = 8 * SEC;
	if (ipam_range_parse(&c.range, "10.42.0.0/16") < 0 || mn_new(&m, &c, &ops, NULL) < 0)
		return;
	(void)mn_add_peer_addr(m, "/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
			       false, now);
	mn_start(m, now);
	mn_on_wg_applied(m, &diff, false, now);
	memset(&a, 0, sizeof(a));
	a.seq = 5;
	memset(a.wg_pub, 9, 32);
	a.wg_port = 51820;
	snprintf(a.name, sizeof(a.name), "b");
	a.n_claims = 1;
	a.claims[0].addr.family = 4;
	memcpy(a.claims[0].addr.ip, (const uint8_t[]){10, 42, 0, 9}, 4);
	a.claims[0].claimed_ms = 1;
	buf_init(&b, ANN_MAX_SIZE);
	if (ann_encode(&a, &b) == 0)
		mn_on_message(m, ident_peerid(ids[1]), b.data, b.len, now);
	buf_free(&b);
	memset(&remote, 0, sizeof(remote));
	remote.family = 4;
	memcpy(remote.ip, (const uint8_t[]){192, 0, 2, 2}, 4);
	mn_on_connected(m, ident_peerid(ids[1]), &remote, now);
	for (int i = 0; i < 50; i++) {
		uint64_t d = mn_next_deadline(m);

		if (d == UINT64_MAX || d > now + 20 * SEC)
			break;
		now = d > now ? d : now + 1;
		mn_tick(m, now);
		mn_on_wg_applied(m, &diff, false, now);
	}
	(void)mn_leave(m, now);
	mn_free(m);
}

static void test_gossipsub(void **state)
{
	(void)state;
	every_n(scen_gossipsub, "gossipsub: two routers, subscribe, publish, heartbeats");
}

static void test_gsrpc(void **state)
{
	(void)state;
	every_n(scen_gsrpc, "gsrpc: encode and decode");
}

static void test_config(void **state)
{
	(void)state;
	every_n(scen_config, "config: parse a file");
}

static void test_conn(void **state)
{
	(void)state;
	every_n(scen_conn, "conn: upgrade, identify, ping, pubsub streams, close");
}

static void test_mesh(void **state)
{
	(void)state;
	every_n(scen_mesh, "mesh engine: start, a peer, timers, leave");
}

static void test_iplimit(void **state)
{
	(void)state;
	every_n(scen_iplimit, "iplimit");
}

int main(void)
{
	uint8_t seed[32] = {1};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gsrpc),
	    cmocka_unit_test(test_iplimit),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_gossipsub),
	    cmocka_unit_test(test_conn),
	    cmocka_unit_test(test_mesh),
	};
	int r;

	if (ident_from_seed(&ids[0], seed) < 0)
		return 1;
	seed[0] = 2;
	if (ident_from_seed(&ids[1], seed) < 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ident_free(ids[0]);
	ident_free(ids[1]);
	return r;
}
