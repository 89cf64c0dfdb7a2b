/* SPDX-License-Identifier: MIT */
/*
 * The mesh node's policies (lib/mesh): the first-handshake rule applied
 * by the engine (the rule itself: test_handshake.c), announcement building (ann_build), the announcement
 * schedule, and the engine (meshnode.h) driven on a virtual clock through the
 * in-memory world of mesh_harness.h: IPAM driving, restart grace, expiry,
 * redial, leave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "admission.h"
#include "announce.h"
#include "err.h"
#include "handshake.h"
#include "mesh_harness.h"
#include "meshnode.h"
#include "multiaddr.h"
#include "reconcile.h"

#define SEC MH_SEC

/* ---- ann_build ---- */

static void test_ann_build(void **state)
{
	struct announce a, back;
	struct ann_self s = {0};
	struct ann_claim claim;
	struct ann_ip listen, obs[6];
	uint8_t pub[32];
	struct buf b;
	char t[MA_MAX_TEXT];

	(void)state;
	memset(pub, 7, 32);
	mh_ip(&claim.addr, "10.42.0.9");
	claim.claimed_ms = 1234;
	s.seq = 77;
	s.name = "alpha";
	s.wg_pub = pub;
	s.wg_port = 51820;
	s.listen_tcp = 4001;
	/* unspecified listen address, nothing observed: no endpoints, no claim */
	mh_ip(&listen, "0.0.0.0");
	s.listen_ip = &listen;
	ann_build(&a, &s);
	assert_int_equal(a.n_eps, 0);
	assert_int_equal(a.n_la, 0);
	assert_int_equal(a.n_claims, 0);
	assert_int_equal(a.seq, 77);
	assert_string_equal(a.name, "alpha");
	/* a specific listen address and observed ones, each once */
	mh_ip(&listen, "192.0.2.1");
	mh_ip(&obs[0], "198.51.100.5");
	obs[1] = listen; /* seen where we listen: no duplicate */
	mh_ip(&obs[2], "2001:db8::5");
	s.observed = obs;
	s.n_observed = 3;
	s.claim = &claim;
	ann_build(&a, &s);
	assert_int_equal(a.n_claims, 1);
	assert_true(ann_ip_eq(&a.claims[0].addr, &claim.addr));
	assert_int_equal(a.claims[0].claimed_ms, 1234);
	assert_int_equal(a.n_eps, 3);
	assert_true(ann_ip_eq(&a.eps[0].addr, &listen));
	assert_int_equal(a.eps[0].port, 51820);
	assert_int_equal(a.n_la, 3);
	assert_true(ma_format(t, sizeof(t), a.la[0].b, a.la[0].len) > 0);
	assert_string_equal(t, "/ip4/192.0.2.1/tcp/4001");
	assert_true(ma_format(t, sizeof(t), a.la[2].b, a.la[2].len) > 0);
	assert_string_equal(t, "/ip6/2001:db8::5/tcp/4001");
	/* bounded: at most ANN_MAX_LISTEN libp2p addresses */
	for (int i = 0; i < 6; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		mh_ip(&obs[i], ip);
	}
	s.n_observed = 6;
	ann_build(&a, &s);
	assert_int_equal(a.n_la, ANN_MAX_LISTEN);
	assert_int_equal(a.n_eps, 7);
	/* what it builds encodes and decodes */
	buf_init(&b, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &b), 0);
	assert_int_equal(ann_decode(b.data, b.len, &back), 0);
	assert_int_equal(back.n_la, ANN_MAX_LISTEN);
	buf_free(&b);
}

/* ---- the schedule ---- */

static void test_announce_schedule(void **state)
{
	uint64_t step = 0, t = MN_WARMUP_FIRST_US, times[8];

	(void)state;
	/* announcements at 1, 2, 4 and 8 s after start, then every interval */
	for (int i = 0; i < 8; i++) {
		times[i] = t;
		step = mn_announce_step(step, 60 * SEC);
		t += step;
	}
	assert_int_equal(times[0], 1 * SEC);
	assert_int_equal(times[1], 2 * SEC);
	assert_int_equal(times[2], 4 * SEC);
	assert_int_equal(times[3], 8 * SEC);
	assert_int_equal(times[4], 68 * SEC);
	assert_int_equal(times[5], 128 * SEC);
	/* an interval shorter than the warm-up caps every step */
	assert_int_equal(mn_announce_step(0, 500000), 500000);
	assert_int_equal(mn_announce_step(2 * SEC, 3 * SEC), 3 * SEC);
	assert_int_equal(mn_default_expiry_ms(60000), 210000);
}

/* ---- the engine ---- */

/* Three nodes bootstrapping from node 0, converged. */
static void converged3(struct mh_world *w)
{
	char why[128];

	mh_init(w, 3, "10.42.0.0/16", 10 * SEC);
	for (int i = 0; i < 3; i++)
		mh_start(w, i, i ? 0 : -1);
	mh_run(w, 5 * SEC);
	assert_null(mh_converged(w, why, sizeof(why)));
}

/* Two nodes, one bootstrapping from the other: they meet, each routes the
 * other as soon as it configures it (packets are staged, never dropped), and
 * exactly one of them initiates, towards a node that has it configured. */
static void test_engine_pair_first_handshake(void **state)
{
	static struct mh_world w;
	char why[128];
	int init;
	const struct wgpeer *p;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
	mh_start(&w, 0, -1);
	mh_start(&w, 1, 0);
	/* nothing is published before the device is up */
	assert_int_equal(w.nodes[0].publishes, 0);
	mh_run(&w, 1000);
	assert_int_equal(w.nodes[0].events[MN_EV_ADDRESS], 1);
	assert_true(w.nodes[1].connected[0]);
	assert_int_equal(w.nodes[0].publishes, 0); /* the first announcement waits for WireGuard... */
	mh_run(&w, 200 * 1000);
	assert_true(w.nodes[0].publishes >= 1); /* ...and goes out once it is applied */
	assert_int_equal(w.nodes[0].events[MN_EV_JOINED], 1);
	assert_int_equal(w.nodes[0].events[MN_EV_PEER_UP], 1);
	assert_int_equal(w.nodes[1].events[MN_EV_PEER_UP], 1);
	mh_run(&w, 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	for (int i = 0; i < 2; i++) {
		assert_false(w.nodes[i].held_all[1 - i]); /* never unrouted */
		assert_true(w.nodes[i].routed_at[1 - i] > 0);
	}
	/* one initiator, not rate-limited, and its initiation found the other ready */
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	assert_true(!w.nodes[0].initiated_at[1] != !w.nodes[1].initiated_at[0]);
	init = w.nodes[0].initiated_at[1] ? 0 : 1;
	assert_true(w.nodes[init].initiated_at[1 - init] > w.nodes[1 - init].routed_at[init] + MH_APPLY_US);
	assert_true(w.nodes[init].initiated_at[1 - init] < 1 * SEC);
	p = mh_peer_on(&w, init, 1 - init);
	assert_non_null(p);
	assert_int_equal(p->endpoint.addr.sa_family, AF_INET);
	assert_int_equal(ntohs(p->endpoint.addr4.sin_port), 51820);
	/* the waiter held its endpoint back: it learns it from the initiation */
	assert_true(w.nodes[1 - init].held_endpoint[init]);
	mh_free(&w);
}

/* Cold start: two nodes that configure each other before either acks (both
 * waiters): the lower key initiates on the other's ack, re-creating the peer
 * it routed without an endpoint (a handshake attempted then would suppress
 * the real one for 5 s); the higher key stays the waiter. Both are behind
 * their address gates (the announcement that acks the higher key says
 * ANN_F_GATED): the higher key may open its gate once it has acked and is
 * acked, without waiting for the handshake that the lower key's promotion
 * starts; the lower key's re-create must still come before its own address,
 * so nothing either side sent is dropped (what the higher key sent waits,
 * staged, for that handshake). */
static void test_engine_cold_start_rearm(void **state)
{
	static struct mh_world w;
	char why[128];
	int lo, hi;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
	lo = memcmp(w.nodes[0].wg_pub, w.nodes[1].wg_pub, 32) < 0 ? 0 : 1;
	hi = 1 - lo;
	/* each knows the other at start: both announce at once, neither acks yet */
	mh_start(&w, lo, hi);
	mh_start(&w, hi, lo);
	mh_run(&w, 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(w.nodes[lo].held_endpoint[hi]);
	assert_true(w.nodes[hi].held_endpoint[lo]);
	assert_true(w.nodes[lo].initiated_at[hi] > 0);
	assert_int_equal(w.nodes[hi].initiated_at[lo], 0);
	assert_int_equal(w.nodes[lo].recreated[hi], 1);
	assert_int_equal(w.nodes[hi].recreated[lo], 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	assert_true(w.nodes[hi].addr_at > 0 && w.nodes[hi].addr_at < MN_GATE_MAX_US / 2);
	assert_true(w.nodes[lo].addr_at >= w.nodes[lo].initiated_at[hi]);
	assert_int_equal(mh_recreated_late(&w), 0);
	/* released by the ack, not by the fallback */
	assert_true(w.nodes[lo].initiated_at[hi] < HS_PROMOTE_FALLBACK_US / 10);
	/* and never again: the re-created peer has its endpoint */
	mh_run(&w, w.now + 20 * SEC);
	assert_int_equal(w.nodes[lo].recreated[hi], 1);
	assert_int_equal(mh_crossed(&w), 0);
	mh_free(&w);
}

/* The same pair with an ungated lower key (the first node: its address is on
 * from the start, so an application there may have staged packets for the
 * newcomer that its promotion's re-create drops): the higher key waits for the
 * handshake, so no re-create comes after both addresses are on. Tried with
 * the newcomer starting at several delays, so that the two end up waiters, and
 * with the newcomer's ack arriving late: without that wait its address would
 * go on at the end of its quiet period, before its ack had promoted the first
 * node. */
static void test_engine_gate_ungated_lower_key(void **state)
{
	static struct mh_world w;
	char why[128];
	size_t waiters = 0;

	(void)state;
	for (uint64_t delay = 0; delay < 40000; delay += 2000) {
		int lo, hi;

		mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
		w.subscriptions = true;
		lo = memcmp(w.nodes[0].wg_pub, w.nodes[1].wg_pub, 32) < 0 ? 0 : 1;
		hi = 1 - lo;
		mh_start(&w, lo, -1);
		mh_run(&w, delay);
		mh_start(&w, hi, lo);
		/* once the first node routes the newcomer, the newcomer's messages
		 * (its ack) reach it only after the newcomer's quiet period */
		while (!w.nodes[lo].routed_at[hi] && w.now < SEC)
			mh_run(&w, w.now + 1000);
		w.lat_extra_us[hi][lo] = 150000;
		mh_run(&w, w.now + 2 * SEC);
		assert_null(mh_converged(&w, why, sizeof(why)));
		waiters += w.nodes[lo].recreated[hi];
		if (mh_recreated_late(&w))
			fail_msg("newcomer %llu us later: the ungated lower key re-created the peer after both "
				 "addresses were on", (unsigned long long)delay);
		assert_int_equal(mh_crossed(&w), 0);
		mh_free(&w);
	}
	assert_true(waiters > 0); /* the case this is about happened */
}

/* The apply that added the peers completes while a later apply (that changes
 * nothing) is queued: the acks still go out once that one completes, and the
 * pair meets by the ack, not by the 5 s fallback. */
static void test_engine_acks_after_busy_apply(void **state)
{
	static struct mh_world w;
	char why[128];
	int lo, hi;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
	lo = memcmp(w.nodes[0].wg_pub, w.nodes[1].wg_pub, 32) < 0 ? 0 : 1;
	hi = 1 - lo;
	w.nodes[0].busy_applies = w.nodes[1].busy_applies = true;
	mh_start(&w, lo, hi);
	mh_start(&w, hi, lo);
	mh_run(&w, 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(w.nodes[lo].initiated_at[hi] > 0);
	assert_true(w.nodes[lo].initiated_at[hi] < HS_PROMOTE_FALLBACK_US / 10);
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	mh_free(&w);
}

/* A node joins a converged mesh: the nodes that learn it from its
 * announcement ack it, and it initiates towards them at once (its first view
 * of them acks it): no re-create, no crossing, no rate limit. */
static void test_engine_join(void **state)
{
	static struct mh_world w;
	char why[128];
	size_t by_joiner = 0;

	(void)state;
	mh_init(&w, 6, "10.42.0.0/16", 60 * SEC);
	for (int i = 0; i < 5; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_start(&w, 5, 0);
	mh_run(&w, w.now + 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	for (int i = 1; i < 5; i++) {
		assert_true(w.nodes[5].routed_at[i] > 0);
		if (w.nodes[5].initiated_at[i]) {
			by_joiner++;
			assert_int_equal(w.nodes[5].recreated[i], 0);
		}
	}
	/* the joiner learns the nodes other than its bootstrap from their answers,
	 * which ack it */
	assert_true(by_joiner >= 3);
	/* peer-up only once the peer is routed: what an application sends on the
	 * event is staged, not dropped */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(w.nodes[i].ups_unrouted, 0);
		assert_int_equal(w.nodes[i].events[MN_EV_PEER_UP], 5); /* each, once */
	}
	mh_free(&w);
}

/* Directed announcements (mn_ops.send_to, docs/mesh.md "Directed
 * announcements"): in a settled mesh a join makes no existing node flood (the
 * answers and acks go to the joiner alone) and still converges; a joiner that
 * cannot be sent to directly (an older node) gets floods, after
 * MN_DIRECT_WAIT_US and not before. */
static void test_engine_directed_join(void **state)
{
	static struct mh_world w;
	char why[128];
	size_t pubs[MH_MAX], directs = 0;

	(void)state;
	for (int refuse = 0; refuse < 2; refuse++) {
		mh_init(&w, 6, "10.42.0.0/16", 60 * SEC);
		w.directed = true;
		for (int i = 0; i < 5; i++)
			mh_start(&w, i, i ? 0 : -1);
		mh_run(&w, 30 * SEC); /* past the warm-up announcements */
		assert_null(mh_converged(&w, why, sizeof(why)));
		for (int i = 0; i < 5; i++)
			pubs[i] = w.nodes[i].publishes;
		w.nodes[5].refuse_direct = refuse;
		mh_start(&w, 5, 0);
		mh_run(&w, w.now + MN_DIRECT_WAIT_US - 100 * 1000);
		for (int i = 0; i < 5; i++) {
			assert_int_equal(w.nodes[i].publishes, pubs[i]); /* no flood yet */
			directs += w.nodes[i].directs;
		}
		mh_run(&w, w.now + 3 * SEC);
		assert_null(mh_converged(&w, why, sizeof(why)));
		if (!refuse) {
			assert_true(directs >= 4);
			for (int i = 0; i < 5; i++)
				assert_int_equal(w.nodes[i].publishes, pubs[i]);
		} else {
			for (int i = 1; i < 5; i++) /* the bootstrap node may have answered on the connection */
				assert_true(w.nodes[i].publishes > pubs[i]);
		}
		mh_free(&w);
	}
}

/* The address gate (docs/mesh.md "Joining fast"): a joiner's new address goes
 * on its interface only once it routes every node of the mesh and every node
 * routes it, its handshake roles settled (no re-create afterwards), so an
 * application's first packet either way is staged, not dropped; well before
 * the gate's cap. The first node, with nobody to join, has its address at once. */
static void test_engine_address_gate(void **state)
{
	static struct mh_world w;
	char why[128];
	uint64_t t0;
	size_t recreated[MH_MAX];

	(void)state;
	mh_init(&w, 6, "10.42.0.0/16", 60 * SEC);
	for (int i = 0; i < 5; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_int_equal(w.nodes[0].addr_at, 1); /* its first apply, at start (now = 0) */
	for (int i = 1; i < 5; i++)
		assert_true(w.nodes[i].addr_at > 1);
	t0 = w.now;
	mh_start(&w, 5, 0);
	assert_int_equal(w.nodes[5].addr_at, 0);
	mh_run(&w, w.now + 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(w.nodes[5].addr_at > t0);
	assert_true(w.nodes[5].addr_at - t0 < MN_GATE_MAX_US / 2);
	for (int j = 0; j < 5; j++) {
		assert_true(w.nodes[5].routed_at[j] && w.nodes[5].routed_at[j] <= w.nodes[5].addr_at);
		assert_true(w.nodes[j].routed_at[5] && w.nodes[j].routed_at[5] <= w.nodes[5].addr_at);
		recreated[j] = w.nodes[5].recreated[j] + w.nodes[j].recreated[5];
	}
	/* nothing re-created from here on (staged packets would be dropped) */
	mh_run(&w, w.now + 20 * SEC);
	for (int j = 0; j < 5; j++)
		assert_int_equal(w.nodes[5].recreated[j] + w.nodes[j].recreated[5], recreated[j]);
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_recreated_late(&w), 0);
	mh_free(&w);
}

/* Nodes started together (issue #10), with the daemon's inputs (each
 * connection reports the peer's subscription, mn_on_subscribed): every
 * ordered pair is routed on both sides before the later of the two addresses
 * goes on the interface, so the first packet either way is staged, not
 * dropped, and no gate waits for its cap; a later join into the settled mesh
 * agrees on the counts and does not wait for the quiet period. */
static void test_engine_cold_start_gate(void **state)
{
	static struct mh_world w;
	char why[128];
	uint64_t t0;

	(void)state;
	mh_init(&w, 9, "10.42.0.0/16", 60 * SEC);
	w.subscriptions = true;
	w.jitter_us = 3000;
	for (int i = 0; i < 8; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	for (int i = 0; i < 8; i++) {
		assert_true(w.nodes[i].addr_at > 0);
		for (int j = 0; j < 8; j++) {
			uint64_t t = w.nodes[i].addr_at > w.nodes[j].addr_at ? w.nodes[i].addr_at : w.nodes[j].addr_at;

			if (i == j)
				continue;
			assert_true(w.nodes[i].routed_at[j] && w.nodes[i].routed_at[j] <= t);
		}
	}
	for (int i = 1; i < 8; i++)
		assert_true(w.nodes[i].addr_at < MN_GATE_MAX_US / 2); /* not the cap */
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	assert_int_equal(mh_recreated_late(&w), 0);
	t0 = w.now;
	mh_start(&w, 8, 0);
	mh_run(&w, w.now + 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(w.nodes[8].addr_at > t0 && w.nodes[8].addr_at - t0 < MN_GATE_QUIET_US);
	for (int j = 0; j < 8; j++) {
		assert_true(w.nodes[8].routed_at[j] && w.nodes[8].routed_at[j] <= w.nodes[8].addr_at);
		assert_true(w.nodes[j].routed_at[8] && w.nodes[j].routed_at[8] <= w.nodes[8].addr_at);
	}
	mh_free(&w);
}

/* Who dials whom (docs/mesh.md "Dial new nodes at once"): nodes started
 * together learn each other at about the same moment, and only the lower peer
 * ID of each pair of newcomers dials (both did, and one of the two connections
 * was closed again: twice the Noise handshakes); the pair still connects. A
 * member of the settled mesh dials a joiner at once, whatever the IDs. */
static void test_engine_dial_once(void **state)
{
	static struct mh_world w;
	char why[128];
	size_t both = 0;
	int joiner = 1;

	(void)state;
	mh_init(&w, 7, "10.42.0.0/16", 60 * SEC);
	w.subscriptions = true;
	/* the joiner has the lowest ID: every member would leave the dial to it */
	for (int i = 2; i < 7; i++)
		if (peerid_cmp(&w.nodes[i].id, &w.nodes[joiner].id) < 0)
			joiner = i;
	for (int i = 0; i < 7; i++)
		if (i != joiner)
			mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 200000); /* before the yield's redial round */
	for (int i = 1; i < 7; i++)
		for (int j = i + 1; j < 7; j++) {
			int lo, hi;

			if (i == joiner || j == joiner)
				continue;
			lo = peerid_cmp(&w.nodes[i].id, &w.nodes[j].id) < 0 ? i : j;
			hi = lo == i ? j : i;
			assert_true(w.nodes[lo].dialed[hi] >= 1);
			both += w.nodes[hi].dialed[lo] > 0;
			assert_true(w.nodes[i].connected[j] && w.nodes[j].connected[i]);
		}
	assert_int_equal(both, 0);
	mh_run(&w, 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	/* the joiner: every member dials it at once, although its ID is lower */
	mh_start(&w, joiner, 0);
	mh_run(&w, w.now + 100000);
	for (int i = 1; i < 7; i++)
		if (i != joiner)
			assert_true(w.nodes[i].dialed[joiner] >= 1);
	mh_run(&w, w.now + 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* The same invariant over many orders of delivery and start times: the
 * bootstrap node announces itself MN_SOON_ANNOUNCE_US after a connection but
 * forwards the others' announcements at once, so a node may hear of another
 * newcomer (whose count agrees with what it knows: two) before it hears of the
 * bootstrap node it is connected to. Its address must not go on then: the
 * bootstrap node does not route it yet, and the first packet between them
 * would be dropped (the benchmark saw it: 89 of 90 first tries). */
static void test_engine_cold_start_gate_orders(void **state)
{
	static struct mh_world w;
	char why[128];

	(void)state;
	for (uint32_t seed = 1; seed <= 64; seed++) {
		mh_init(&w, 6, "10.42.0.0/16", 60 * SEC);
		w.subscriptions = true;
		w.rng = seed;
		w.jitter_us = (seed % 3 + 1) * 4000;
		mh_start(&w, 0, -1);
		for (int i = 1; i < 6; i++) {
			/* the later nodes start up to 80 ms apart, as exec on a busy host does */
			mh_run(&w, w.now + (seed * 7919u + (uint32_t)i * 104729u) % 80000);
			mh_start(&w, i, 0);
		}
		mh_run(&w, 5 * SEC);
		assert_null(mh_converged(&w, why, sizeof(why)));
		for (int i = 0; i < 6; i++)
			for (int j = 0; j < 6; j++) {
				uint64_t t = w.nodes[i].addr_at > w.nodes[j].addr_at ? w.nodes[i].addr_at
										     : w.nodes[j].addr_at;

				if (i == j)
					continue;
				if (!w.nodes[i].routed_at[j] || w.nodes[i].routed_at[j] > t)
					fail_msg("seed %u: node %d routes node %d at %llu us, after both addresses "
						 "were on (%llu us)", seed, i, j,
						 (unsigned long long)w.nodes[i].routed_at[j], (unsigned long long)t);
				if (w.nodes[i].recreated_late[j])
					fail_msg("seed %u: node %d re-created node %d after both addresses were on",
						 seed, i, j);
			}
		mh_free(&w);
	}
}

/* Two nodes pin the same address (a claim time of 0 is not authenticated: a PSK
 * holder can forge a pin). Each keeps it, never routes it to the other (not
 * even the node with the higher peer ID, which loses the tie on nodes that pin
 * nothing), and raises the alarm once, not per announcement (issue #15 item 8). */
static void test_engine_forged_pin(void **state)
{
	static struct mh_world w;
	struct ann_ip pin;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 2 * SEC);
	mh_ip(&pin, "10.42.0.5");
	for (int i = 0; i < 2; i++) {
		w.nodes[i].has_static = true;
		w.nodes[i].static_claim.addr = pin;
		w.nodes[i].static_claim.claimed_ms = 0;
	}
	mh_start(&w, 0, -1);
	mh_start(&w, 1, 0);
	mh_run(&w, 20 * SEC); /* several refreshes */
	for (int i = 0; i < 2; i++) {
		const struct wgpeer *p = mh_peer_on(&w, i, 1 - i);
		const struct wgallowedip *a;

		assert_true(w.nodes[i].has_addr);
		assert_true(ann_ip_eq(&w.nodes[i].addr, &pin));
		assert_int_equal(w.nodes[i].events[MN_EV_ADDRESS], 1); /* never moved */
		assert_int_equal(w.nodes[i].events[MN_EV_ERROR], 1);   /* alarmed once */
		assert_non_null(p);
		for (a = p->first_allowedip; a; a = a->next_allowedip)
			assert_false(a->family == AF_INET && !memcmp(&a->ip4, pin.ip, 4));
	}
	mh_free(&w);
}

/* The wall clock steps back an hour between two runs of a node (issue #15):
 * its sequence numbers come from the wall clock, and peers drop one that is
 * not above what they hold. The persisted reservation keeps them increasing:
 * its announcements are still accepted, and it keeps its address. */
static void test_engine_clock_back(void **state)
{
	static struct mh_world w;
	const struct pt_entry *e;
	struct ann_ip addr;
	uint64_t seq0;
	char why[128];

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 2 * SEC);
	mh_start(&w, 0, -1);
	mh_start(&w, 1, 0);
	mh_run(&w, 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	e = pt_find(mn_table(w.nodes[0].m), &w.nodes[1].id);
	assert_non_null(e);
	seq0 = e->ann.seq;
	addr = w.nodes[1].addr;
	mh_stop(&w, 1);
	w.nodes[1].wall_skew_us = -3600ll * 1000 * 1000;
	mh_start(&w, 1, 0);
	mh_run(&w, w.now + 10 * SEC);
	e = pt_find(mn_table(w.nodes[0].m), &w.nodes[1].id);
	assert_non_null(e);
	assert_true(e->ann.seq > seq0); /* its new announcements were taken */
	assert_true(ann_ip_eq(&w.nodes[1].addr, &addr));
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* A restarted node keeps its address (persisted with its claim time) and its
 * WireGuard peers until one PeerExpiry has passed. */
static void test_engine_restart_grace(void **state)
{
	static struct mh_world w;
	struct ann_ip before;
	char why[128];

	(void)state;
	converged3(&w);
	before = mn_claim(w.nodes[2].m)->addr;
	mh_stop(&w, 2);
	assert_true(w.nodes[2].saved.len > 0);
	mh_run(&w, w.now + SEC);
	mh_start(&w, 2, -1); /* no bootstrap: the persisted peer addresses suffice */
	assert_true(ann_ip_eq(&mn_claim(w.nodes[2].m)->addr, &before));
	mh_run(&w, w.now + 100 * 1000);
	/* peers are kept while the table is still empty */
	assert_true(w.nodes[2].last_keep_unlisted);
	mh_run(&w, w.now + 5 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	/* after one PeerExpiry the grace ends */
	mh_run(&w, w.now + w.expiry_us);
	assert_false(w.nodes[2].last_keep_unlisted);
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* A killed node (its connections close, nothing more is said) is removed
 * within PeerExpiry, from the table and the device: a probe of it fails. */
static void test_engine_expiry(void **state)
{
	static struct mh_world w;
	char why[128];

	(void)state;
	converged3(&w);
	/* node 2 vanishes without a word */
	w.nodes[2].up = false;
	for (int j = 0; j < 2; j++) {
		w.nodes[j].connected[2] = w.nodes[2].connected[j] = false;
		mn_on_disconnected(w.nodes[j].m, &w.nodes[2].id);
	}
	mh_run(&w, w.now + w.expiry_us);
	assert_int_equal(pt_count(mn_table(w.nodes[0].m)), 1);
	assert_int_equal(w.nodes[0].events[MN_EV_PEER_DOWN], 1);
	assert_null(mh_peer_on(&w, 0, 2));
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* A failed WireGuard apply is retried by itself after 1 s, then 2 s, 4 s ...
 * (not only when an unrelated input arrives); a success resets the backoff. */
static void test_engine_wg_retry(void **state)
{
	static struct mh_world w;
	struct mh_node *x;
	size_t before;

	(void)state;
	converged3(&w);
	x = &w.nodes[0];
	mh_run(&w, w.now + 10 * MH_SEC); /* quiet: nothing left to apply */
	before = x->applies;
	mn_on_wg_failed(x->m, w.now);
	assert_true(mn_next_deadline(x->m) <= w.now + MN_WG_RETRY_FIRST_US);
	mh_run(&w, w.now + MN_WG_RETRY_FIRST_US - 1000);
	assert_int_equal(x->applies, before);
	mh_run(&w, w.now + 2000);
	assert_int_equal(x->applies, before + 1);
	/* that retry fails too (reported before the harness's success report
	 * lands): the next retry waits twice as long */
	mn_on_wg_failed(x->m, w.now);
	mh_run(&w, w.now + MN_WG_RETRY_FIRST_US + 1000);
	assert_int_equal(x->applies, before + 1);
	mh_run(&w, w.now + MN_WG_RETRY_FIRST_US);
	assert_int_equal(x->applies, before + 2);
	mh_free(&w);
}

/* The unreachable reports travel in the announcement ("dn") and survive the codec. */
static void test_ann_down_codec(void **state)
{
	struct announce a, b;
	struct buf out;

	(void)state;
	mh_ann(&a, 7);
	a.n_down = 2;
	a.down[0].len = 3;
	memcpy(a.down[0].id, "\x00\x01\x02", 3);
	a.down[0].seq = 42;
	a.down[1].len = ANN_ID_MAX;
	memset(a.down[1].id, 9, ANN_ID_MAX);
	a.down[1].seq = UINT64_MAX;
	buf_init(&out, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.n_down, 2);
	assert_int_equal(b.down[0].len, 3);
	assert_int_equal(b.down[0].seq, 42);
	assert_memory_equal(b.down[1].id, a.down[1].id, ANN_ID_MAX);
	assert_true(b.down[1].seq == UINT64_MAX);
	buf_free(&out);
	/* an empty ID would not decode: refused on encode */
	a.down[0].len = 0;
	buf_init(&out, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &out), W2W_EPARSE);
	buf_free(&out);
}

/* n nodes bootstrapping from node 0 with refresh interval announce_us and
 * PeerExpiry 3m30s, converged. */
static void converged_n(struct mh_world *w, size_t n, uint64_t announce_us)
{
	char why[128];

	mh_init(w, n, "10.42.0.0/16", announce_us);
	w->expiry_us = 210 * SEC; /* the default PeerExpiry, apart from the refresh interval */
	for (size_t i = 0; i < n; i++)
		mh_start(w, (int)i, i ? 0 : -1);
	mh_run(w, 20 * SEC);
	assert_null(mh_converged(w, why, sizeof(why)));
}

/* Idle: no announcement goes out between refreshes, each node sends one probe
 * per period whatever N (flat), and no live node is ever dropped although
 * nobody announces within PeerExpiry. */
static void test_engine_idle_probes_flat(void **state)
{
	static struct mh_world w;
	size_t sizes[2] = {4, 16};
	char why[128];

	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t n = sizes[k], pubs = 0, probes0[MH_MAX], down = 0;
		uint64_t period, periods = 40;

		converged_n(&w, n, 3600 * SEC);
		period = mn_probe_period(w.nodes[0].m);
		assert_true(period == w.expiry_us / MN_PROBE_DIV);
		for (size_t i = 0; i < n; i++) {
			pubs += w.nodes[i].publishes;
			probes0[i] = w.nodes[i].probes;
			down += w.nodes[i].events[MN_EV_PEER_DOWN];
		}
		mh_run(&w, w.now + periods * period); /* 40 periods: longer than PeerExpiry */
		for (size_t i = 0; i < n; i++) {
			size_t p = w.nodes[i].probes - probes0[i];

			assert_true(p >= periods - 1 && p <= periods + 1);
			pubs -= w.nodes[i].publishes;
			down -= w.nodes[i].events[MN_EV_PEER_DOWN];
		}
		assert_int_equal(pubs, 0); /* (unsigned: equal counts before and after) */
		assert_int_equal(down, 0);
		assert_null(mh_converged(&w, why, sizeof(why)));
		mh_free(&w);
	}
}

/* The refresh interval grows with the mesh above MN_REFRESH_NODES members, so
 * the refreshes a node hears per hour do not grow with N. */
static void test_engine_refresh_flat(void **state)
{
	static struct mh_world w;
	size_t sizes[2] = {12, 24};
	double heard[2];

	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t n = sizes[k], before = 0, after = 0;

		converged_n(&w, n, 60 * SEC);
		for (size_t i = 0; i < n; i++)
			before += w.nodes[i].publishes;
		mh_run(&w, w.now + 2400 * SEC);
		for (size_t i = 0; i < n; i++)
			after += w.nodes[i].publishes;
		/* each node hears every other node's refreshes */
		heard[k] = (double)(after - before) * (double)(n - 1) / (double)n;
		mh_free(&w);
	}
	/* 12 nodes: 11 x 2400 / 72 = 367; 24 nodes: 23 x 2400 / 144 = 383 */
	assert_true(heard[1] < 1.3 * heard[0] && heard[0] < 1.3 * heard[1]);
	assert_true(heard[0] > 300 && heard[0] < 450);
}

/* A node that dies silently (connections stay, nothing answers) disappears
 * from every table and device within PeerExpiry: the node whose turn it is
 * probes it, gets no answer, removes it and reports it; the others drop it on
 * the report. Nobody else is dropped. */
static void test_engine_silent_death(void **state)
{
	static struct mh_world w;
	const size_t n = 8;
	size_t reporters = 0;
	uint64_t t0;
	char why[128];

	(void)state;
	converged_n(&w, n, 3600 * SEC);
	t0 = w.now;
	mh_silence(&w, 5);
	for (int step = 0; step < 1000; step++) {
		bool gone = true;

		mh_run(&w, w.now + SEC);
		for (size_t i = 0; i < n; i++)
			if (i != 5 && (pt_find(mn_table(w.nodes[i].m), &w.nodes[5].id) || mh_peer_on(&w, (int)i, 5)))
				gone = false;
		if (gone)
			break;
	}
	assert_true(w.now - t0 <= w.expiry_us);
	for (size_t i = 0; i < n; i++) {
		if (i == 5)
			continue;
		assert_int_equal(pt_count(mn_table(w.nodes[i].m)), n - 2);
		assert_int_equal(w.nodes[i].events[MN_EV_PEER_DOWN], 1);
		reporters += w.nodes[i].publishes > 0;
	}
	assert_true(reporters >= 1);
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* An announcement by `author` (its table entry on node `on`, newer) that
 * reports node `dead` unreachable, delivered to node `to`. */
static void send_report(struct mh_world *w, int author, int on, int dead, int to)
{
	struct announce a = pt_find(mn_table(w->nodes[on].m), &w->nodes[author].id)->ann;
	const struct pt_entry *d = pt_find(mn_table(w->nodes[on].m), &w->nodes[dead].id);
	struct buf out;

	a.seq++;
	a.n_down = 1;
	a.down[0].len = w->nodes[dead].id.len;
	memcpy(a.down[0].id, w->nodes[dead].id.b, a.down[0].len);
	a.down[0].seq = d->ann.seq;
	buf_init(&out, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &out), 0);
	mn_on_message(w->nodes[to].m, &w->nodes[author].id, out.data, out.len, w->now);
	buf_free(&out);
}

/* A wrong report: a node with fresh proof of its own keeps the reported
 * node; one without drops it; the reported node refutes with a newer
 * announcement that puts it back everywhere. A stale report (about an
 * announcement older than the one held) changes nothing. */
static void test_engine_report_refuted(void **state)
{
	static struct mh_world w;
	size_t pubs2, pubs3;
	char why[128];

	(void)state;
	converged_n(&w, 4, 3600 * SEC);
	/* node 1 has just heard from node 2 itself: keeps it */
	mn_on_alive(w.nodes[1].m, &w.nodes[2].id, w.now);
	send_report(&w, 0, 1, 2, 1);
	assert_non_null(pt_find(mn_table(w.nodes[1].m), &w.nodes[2].id));
	/* once node 3's last proof is older than a probe period, it drops it
	 * (its own probes of node 2 come every third period) */
	for (int i = 0; i < 10 && w.now - mn_last_alive(w.nodes[3].m, &w.nodes[2].id) <= mn_probe_period(w.nodes[3].m);
	     i++)
		mh_run(&w, w.now + mn_probe_period(w.nodes[3].m) / 2);
	assert_true(w.now - mn_last_alive(w.nodes[3].m, &w.nodes[2].id) > mn_probe_period(w.nodes[3].m));
	send_report(&w, 0, 3, 2, 3);
	assert_null(pt_find(mn_table(w.nodes[3].m), &w.nodes[2].id));
	assert_int_equal(w.nodes[3].events[MN_EV_PEER_DOWN], 1);
	/* node 2 learns of the report and refutes; node 3 takes it back without
	 * answering it as a joiner (node 2 knows it: no flood per wrong report) */
	pubs2 = w.nodes[2].publishes;
	pubs3 = w.nodes[3].publishes;
	send_report(&w, 0, 1, 2, 2);
	mh_run(&w, w.now + 500 * 1000);
	assert_int_equal(w.nodes[2].publishes, pubs2 + 1);
	assert_non_null(pt_find(mn_table(w.nodes[3].m), &w.nodes[2].id));
	assert_int_equal(w.nodes[3].publishes, pubs3);
	mh_run(&w, w.now + SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	/* a report about the announcement before the refutation: stale, ignored */
	{
		struct announce a = pt_find(mn_table(w.nodes[3].m), &w.nodes[0].id)->ann;
		struct buf out;

		a.seq++;
		a.n_down = 1;
		a.down[0].len = w.nodes[2].id.len;
		memcpy(a.down[0].id, w.nodes[2].id.b, a.down[0].len);
		a.down[0].seq = pt_find(mn_table(w.nodes[3].m), &w.nodes[2].id)->ann.seq - 1;
		buf_init(&out, ANN_MAX_SIZE);
		assert_int_equal(ann_encode(&a, &out), 0);
		mn_on_message(w.nodes[3].m, &w.nodes[0].id, out.data, out.len, w.now);
		buf_free(&out);
	}
	assert_non_null(pt_find(mn_table(w.nodes[3].m), &w.nodes[2].id));
	mh_free(&w);
}

/* Leave: peers drop the node at once; nothing but the LEAVING announcement
 * goes out after it, even when inputs arrive during the flush. */
static void test_engine_leave(void **state)
{
	static struct mh_world w;
	size_t pubs;
	char why[128];

	(void)state;
	converged3(&w);
	pubs = w.nodes[1].publishes;
	assert_int_equal(mn_leave(w.nodes[1].m, w.now), 0);
	assert_int_equal(w.nodes[1].leaving_publishes, 1);
	assert_int_equal(mn_next_deadline(w.nodes[1].m), UINT64_MAX);
	/* inputs during the flush (a new observed address, a new connection) arm nothing */
	{
		struct ann_ip ip;

		mh_ip(&ip, "203.0.113.9");
		mn_on_observed(w.nodes[1].m, &ip, w.now);
		mn_on_connected(w.nodes[1].m, &w.nodes[2].id, &ip, w.now);
	}
	assert_int_equal(mn_next_deadline(w.nodes[1].m), UINT64_MAX);
	mh_run(&w, w.now + 300 * 1000);
	assert_int_equal(w.nodes[1].publishes, pubs + 1);
	assert_int_equal(w.nodes[0].events[MN_EV_PEER_DOWN], 1);
	assert_int_equal(pt_count(mn_table(w.nodes[0].m)), 1);
	mn_release_claim(w.nodes[1].m);
	assert_null(mn_claim(w.nodes[1].m));
	mh_stop(&w, 1);
	mh_run(&w, w.now + 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	mh_free(&w);
}

/* IPAM driving: a node whose persisted address is claimed earlier by another
 * moves, reports the new address and re-announces; a pinned address stays. */
static void test_engine_ipam_collision(void **state)
{
	static struct mh_world w;
	struct nodestate st;
	struct ann_ip a0;
	char why[128];

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 10 * SEC);
	mh_start(&w, 0, -1);
	mh_run(&w, SEC);
	a0 = mn_claim(w.nodes[0].m)->addr;
	/* node 1 persisted node 0's address with a younger claim */
	nodestate_init(&st);
	st.has_claim = true;
	st.claim.addr = a0;
	st.claim.claimed_ms = MH_WALL0_US / 1000 + 500;
	assert_int_equal(nodestate_encode(&st, &w.nodes[1].saved), 0);
	mh_start(&w, 1, 0);
	assert_true(ann_ip_eq(&mn_claim(w.nodes[1].m)->addr, &a0));
	mh_run(&w, w.now + 3 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(ann_ip_eq(&mn_claim(w.nodes[0].m)->addr, &a0)); /* the older claim keeps it */
	assert_false(ann_ip_eq(&mn_claim(w.nodes[1].m)->addr, &a0));
	assert_int_equal(w.nodes[1].events[MN_EV_ADDRESS], 2); /* at start, and the move */
	assert_int_equal(w.nodes[0].events[MN_EV_ADDRESS], 1);
	mh_free(&w);
}

static void test_engine_static_address(void **state)
{
	static struct mh_world w;
	char why[128];

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 10 * SEC);
	w.nodes[1].has_static = true;
	mh_ip(&w.nodes[1].static_claim.addr, "10.42.0.1");
	mh_start(&w, 1, -1);
	mh_start(&w, 0, 1);
	mh_run(&w, 3 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	assert_true(ann_ip_eq(&mn_claim(w.nodes[1].m)->addr, &w.nodes[1].static_claim.addr));
	/* a pinned claim is not persisted: the configuration holds it */
	{
		struct nodestate st;

		nodestate_init(&st);
		mh_stop(&w, 1);
		assert_int_equal(nodestate_decode(w.nodes[1].saved.data, w.nodes[1].saved.len, &st), 0);
		assert_false(st.has_claim);
		assert_int_equal(st.n_peers, 1); /* node 0's address, learned from its announcement */
		nodestate_free(&st);
	}
	mh_free(&w);
}

/* Redial: alone, every 300 ms; connected, every 3 s; never a connected peer. */
static void test_engine_redial(void **state)
{
	static struct mh_world w;
	size_t d0;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
	/* node 1 knows node 0, which is not up yet */
	mh_start(&w, 1, 0);
	assert_int_equal(w.nodes[1].dials, 1); /* at start */
	/* nodes started together: every 50 ms in the first second (the
	 * bootstrap node may not listen yet), then every 300 ms while alone */
	mh_run(&w, MN_REDIAL_START_WINDOW_US - 1);
	assert_int_equal(w.nodes[1].dials, 1 + MN_REDIAL_START_WINDOW_US / MN_REDIAL_START_US - 1);
	mh_run(&w, MN_REDIAL_START_WINDOW_US + 3 * MN_REDIAL_ALONE_US - 1);
	assert_int_equal(w.nodes[1].dials, MN_REDIAL_START_WINDOW_US / MN_REDIAL_START_US + 3); /* 1, 1.3, 1.6 s */
	mh_start(&w, 0, -1);
	mh_run(&w, w.now + MN_REDIAL_ALONE_US + 250 * 1000);
	assert_true(w.nodes[1].connected[0]);
	d0 = w.nodes[1].dials;
	mh_run(&w, 20 * SEC);
	assert_int_equal(w.nodes[1].dials, d0); /* connected: no dial */
	/* the connection drops: the slow round redials within 3 s */
	w.nodes[0].connected[1] = w.nodes[1].connected[0] = false;
	mn_on_disconnected(w.nodes[0].m, &w.nodes[1].id);
	mn_on_disconnected(w.nodes[1].m, &w.nodes[0].id);
	mh_run(&w, w.now + MN_REDIAL_US + 10 * 1000);
	assert_true(w.nodes[1].connected[0] || w.nodes[0].connected[1]);
	mh_free(&w);
}

/* More nodes join at once than an announcement has room for acks
 * (ANN_MAX_ACKS): every pair still meets by acks, not by the 5 s fallback,
 * with one initiator per pair and no rate-limited initiation. */
static void test_engine_many_joiners(void **state)
{
	static struct mh_world w;
	char why[128];
	const char *r = "not run";

	(void)state;
	mh_init(&w, 24, "10.42.0.0/16", 60 * SEC);
	assert_true(w.n > ANN_MAX_ACKS + 2);
	for (size_t i = 0; i < w.n; i++)
		mh_start(&w, (int)i, i ? 0 : -1);
	for (int k = 0; k < 40 && r; k++) {
		mh_run(&w, w.now + 50 * 1000);
		r = mh_converged(&w, why, sizeof(why));
	}
	assert_null(r);
	assert_true(w.now < HS_PROMOTE_FALLBACK_US / 2);
	/* every pair had its initiator within a second: the acks left out of a
	 * full announcement follow in the next one, not at the next warm-up step */
	for (size_t i = 0; i < w.n; i++)
		for (size_t j = 0; j < w.n; j++)
			assert_true(w.nodes[i].initiated_at[j] < 1 * SEC);
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	mh_free(&w);
}

/* Twenty nodes started together: every pair is a pair of waiters, and the
 * highest keys wait for more lower keys than an announcement has room for
 * acks. The acks left out follow in another announcement at once (150 ms),
 * not at the next warm-up step: every pair has its initiator within 1 s. */
static void test_engine_cold_start_many(void **state)
{
	static struct mh_world w;
	char why[128];
	size_t promoted = 0;

	(void)state;
	mh_init(&w, 20, "10.42.0.0/16", 60 * SEC);
	assert_true(w.n > ANN_MAX_ACKS + 1);
	for (size_t i = 0; i < w.n; i++)
		mh_start(&w, (int)i, i ? 0 : 1);
	mh_run(&w, 3 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	for (size_t i = 0; i < w.n; i++)
		for (size_t j = 0; j < w.n; j++) {
			if (i == j)
				continue;
			/* exactly one initiator per pair, within a second */
			assert_true(!w.nodes[i].initiated_at[j] != !w.nodes[j].initiated_at[i]);
			assert_true(w.nodes[i].initiated_at[j] < 1 * SEC);
			promoted += w.nodes[i].recreated[j];
		}
	assert_true(promoted > 0);
	assert_int_equal(mh_crossed(&w), 0);
	assert_int_equal(mh_rate_limited(&w), 0);
	mh_free(&w);
}

/* The default overlay is IPv6 (fd6d:142e:65e7:4cc1::/64): the same rules. */
static void test_engine_ipv6_overlay(void **state)
{
	static struct mh_world w;
	char why[128];

	(void)state;
	mh_init(&w, 5, "fd6d:142e:65e7:4cc1::/64", 60 * SEC);
	for (size_t i = 0; i < w.n; i++)
		mh_start(&w, (int)i, i ? (int)i - 1 : -1); /* a chain of bootstraps */
	mh_run(&w, 2 * SEC);
	assert_null(mh_converged(&w, why, sizeof(why)));
	for (size_t i = 0; i < w.n; i++) {
		assert_int_equal(mn_claim(w.nodes[i].m)->addr.family, 6);
		assert_true(w.nodes[i].has_addr);
	}
	mh_free(&w);
}

/* Garbage on the topic changes nothing (replays: test_mesh.c, peer table). */
static void test_engine_bad_input(void **state)
{
	static struct mh_world w;
	static const uint8_t junk[] = {0x81, 0xa1, 0x76, 0x07};
	size_t n;

	(void)state;
	mh_init(&w, 2, "10.42.0.0/16", 60 * SEC);
	mh_start(&w, 0, -1);
	mh_start(&w, 1, 0);
	mh_run(&w, 2 * SEC);
	n = pt_count(mn_table(w.nodes[0].m));
	mn_on_message(w.nodes[0].m, &w.nodes[1].id, junk, sizeof(junk), w.now);
	mn_on_message(w.nodes[0].m, &w.nodes[1].id, junk, 0, w.now);
	assert_int_equal(pt_count(mn_table(w.nodes[0].m)), n);
	assert_int_equal(w.nodes[0].events[MN_EV_PEER_DOWN], 0);
	/* a peer address must name its peer */
	assert_int_equal(mn_add_peer_addr(w.nodes[0].m, "/ip4/10.0.0.9/tcp/1", true, w.now), W2W_EPARSE);
	mh_free(&w);
}

/* ---- admission mode (docs/mesh.md "Admission") ---- */

static const uint8_t adm_seed[2][32] = {{1, 2, 3, 4}, {9, 8, 7, 6}}; /* the trusted operator keys */
static const uint8_t adm_forger[32] = {42};

static void adm_token(struct mh_world *w, int i, const uint8_t *seed, int peer, uint64_t exp_s)
{
	struct mh_node *x = &w->nodes[i];
	int n = adm_sign(x->tok, sizeof(x->tok), seed, ADM_KIND_TOKEN, &w->nodes[peer].id, "n", 0, exp_s);

	assert_true(n > 0);
	x->tok_len = (size_t)n;
}

static bool in_table(struct mh_world *w, int i, int j)
{
	return pt_find(mn_table(w->nodes[i].m), &w->nodes[j].id) != NULL;
}

/* Four nodes with keys (node 2's token from the second key: rotation) and one
 * without a token: the four see each other, nobody routes node 4, and each
 * refuses its connection. A token for another peer, an expired one and one by
 * an untrusted key are refused the same way. */
static void test_engine_admission(void **state)
{
	static uint8_t keys[2][32];
	struct mh_world w;
	uint64_t wall_s = MH_WALL0_US / MH_SEC;

	(void)state;
	adm_pub_from_seed(keys[0], adm_seed[0]);
	adm_pub_from_seed(keys[1], adm_seed[1]);
	mh_init(&w, 7, "10.42.0.0/16", 30 * SEC);
	w.adm_keys = (const uint8_t(*)[32])keys;
	w.n_adm_keys = 2;
	adm_token(&w, 0, adm_seed[0], 0, 0);
	adm_token(&w, 1, adm_seed[0], 1, 0);
	adm_token(&w, 2, adm_seed[1], 2, wall_s + 3600);
	adm_token(&w, 3, adm_seed[0], 3, 0);
	/* node 4: none; node 5: node 3's token; node 6: signed by an untrusted key */
	adm_token(&w, 5, adm_seed[0], 3, 0);
	adm_token(&w, 6, adm_forger, 6, 0);
	for (int i = 0; i < 7; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 20 * SEC);
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 7; j++) {
			if (i == j)
				continue;
			assert_int_equal(in_table(&w, i, j), j < 4);
			assert_int_equal(mh_peer_on(&w, i, j) != NULL, j < 4);
		}
	}
	for (int j = 4; j < 7; j++)
		assert_true(w.nodes[0].refused[j] >= 1);
	assert_true(w.nodes[0].admitted[1] >= 1);
	assert_int_equal(w.nodes[0].refused[1], 0);
	/* node 2's token expires: removed everywhere when it does */
	mh_free(&w);

	mh_init(&w, 3, "10.42.0.0/16", 30 * SEC);
	w.adm_keys = (const uint8_t(*)[32])keys;
	w.n_adm_keys = 1;
	adm_token(&w, 0, adm_seed[0], 0, 0);
	adm_token(&w, 1, adm_seed[0], 1, 0);
	adm_token(&w, 2, adm_seed[0], 2, wall_s + 30);
	for (int i = 0; i < 3; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 20 * SEC);
	assert_true(in_table(&w, 0, 2) && in_table(&w, 1, 2));
	mh_run(&w, 32 * SEC);
	assert_false(in_table(&w, 0, 2) || in_table(&w, 1, 2));
	assert_null(mh_peer_on(&w, 0, 2));
	assert_true(in_table(&w, 0, 1));
	mh_free(&w);
}

/* A revocation handed to one node reaches the others with its next
 * announcement, is enforced there (table, device, connection), persisted,
 * and holds across a restart from the saved set. A forged one is refused. */
static void test_engine_revocation(void **state)
{
	static uint8_t keys[1][32];
	struct mh_world w;
	uint8_t rev[ADM_MAX_LEN];
	int n;

	(void)state;
	adm_pub_from_seed(keys[0], adm_seed[0]);
	mh_init(&w, 4, "10.42.0.0/16", 30 * SEC);
	w.adm_keys = (const uint8_t(*)[32])keys;
	w.n_adm_keys = 1;
	for (int i = 0; i < 4; i++)
		adm_token(&w, i, adm_seed[0], i, 0);
	for (int i = 0; i < 4; i++)
		mh_start(&w, i, i ? 0 : -1);
	mh_run(&w, 20 * SEC);
	assert_true(in_table(&w, 1, 3) && in_table(&w, 2, 3));
	/* forged: another key */
	n = adm_sign(rev, sizeof(rev), adm_forger, ADM_KIND_REVOKE, &w.nodes[2].id, NULL, 5, 0);
	assert_int_equal(mn_add_revocation(w.nodes[0].m, rev, (size_t)n, w.now), W2W_EAUTH);
	/* a token is not a revocation */
	n = adm_sign(rev, sizeof(rev), adm_seed[0], ADM_KIND_TOKEN, &w.nodes[2].id, NULL, 5, 0);
	assert_true(mn_add_revocation(w.nodes[0].m, rev, (size_t)n, w.now) < 0);
	n = adm_sign(rev, sizeof(rev), adm_seed[0], ADM_KIND_REVOKE, &w.nodes[3].id, NULL, 5, 0);
	assert_int_equal(mn_add_revocation(w.nodes[0].m, rev, (size_t)n, w.now), 1);
	assert_int_equal(mn_add_revocation(w.nodes[0].m, rev, (size_t)n, w.now), 0);
	assert_false(in_table(&w, 0, 3));
	assert_true(w.nodes[0].refused[3] >= 1);
	mh_run(&w, w.now + SEC);
	for (int i = 0; i < 3; i++) {
		assert_false(in_table(&w, i, 3));
		assert_null(mh_peer_on(&w, i, 3));
		assert_true(w.nodes[i].revoked.len > 0);
		assert_true(in_table(&w, i, (i + 1) % 3));
	}
	assert_true(in_table(&w, 0, 2) && in_table(&w, 1, 2));
	/* node 3 keeps announcing: still ignored; after a restart too */
	for (int i = 0; i < 3; i++) {
		mh_stop(&w, i);
		mh_start(&w, i, i ? 0 : 1);
	}
	mh_start(&w, 3, 0);
	mh_run(&w, w.now + 20 * SEC);
	for (int i = 0; i < 3; i++) {
		assert_false(in_table(&w, i, 3));
		assert_true(in_table(&w, i, (i + 1) % 3));
	}
	mh_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ann_build),
		cmocka_unit_test(test_announce_schedule),
		cmocka_unit_test(test_engine_pair_first_handshake),
		cmocka_unit_test(test_engine_cold_start_rearm),
		cmocka_unit_test(test_engine_acks_after_busy_apply),
		cmocka_unit_test(test_engine_join),
		cmocka_unit_test(test_engine_directed_join),
		cmocka_unit_test(test_engine_address_gate),
		cmocka_unit_test(test_engine_cold_start_gate),
		cmocka_unit_test(test_engine_gate_ungated_lower_key),
		cmocka_unit_test(test_engine_cold_start_gate_orders),
		cmocka_unit_test(test_engine_dial_once),
		cmocka_unit_test(test_engine_forged_pin),
		cmocka_unit_test(test_engine_clock_back),
		cmocka_unit_test(test_engine_restart_grace),
		cmocka_unit_test(test_engine_expiry),
		cmocka_unit_test(test_ann_down_codec),
		cmocka_unit_test(test_engine_idle_probes_flat),
		cmocka_unit_test(test_engine_refresh_flat),
		cmocka_unit_test(test_engine_silent_death),
		cmocka_unit_test(test_engine_report_refuted),
		cmocka_unit_test(test_engine_leave),
		cmocka_unit_test(test_engine_ipam_collision),
		cmocka_unit_test(test_engine_static_address),
		cmocka_unit_test(test_engine_redial),
		cmocka_unit_test(test_engine_wg_retry),
		cmocka_unit_test(test_engine_many_joiners),
		cmocka_unit_test(test_engine_cold_start_many),
		cmocka_unit_test(test_engine_ipv6_overlay),
		cmocka_unit_test(test_engine_bad_input),
		cmocka_unit_test(test_engine_admission),
		cmocka_unit_test(test_engine_revocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
