/* SPDX-License-Identifier: MIT */
/*
 * N mesh node engines (lib/mesh/meshnode.h) on one virtual clock, in the
 * in-memory world of tests/unit/mesh_harness.h (announcements flooded over the
 * connection graph, dials, a WireGuard device model fed by the real wgdiff).
 * One scenario, each phase checked for convergence — every running node lists
 * every other running node of its partition, addresses are distinct, and every
 * device routes each peer's address to that peer:
 *  1. joins: nodes start one after another, each bootstrapping from a random
 *     earlier one, in a range small enough that hashed candidates collide;
 *  2. a forced IPAM collision: a node restarts with another's address
 *     persisted under a younger claim; the older claim keeps it, the loser moves;
 *  3. leaves: some nodes leave; everyone drops them at once;
 *  4. restarts: some nodes stop and start again; they keep their addresses;
 *  5. a partition longer than PeerExpiry: each side converges alone (the other
 *     side expires), a node joining one side takes an address held on the
 *     other with a younger claim (split brain); the partition heals and the
 *     whole mesh reconverges, the younger claim moving;
 *  6. idle: a stretch of PeerExpiry in which nobody may be dropped, with the
 *     probes and announcements counted (it also ends the restart grace of the
 *     newcomer, which keeps unlisted peers on its device);
 *  7. a silent death: a node stops answering without closing anything; every
 *     other node drops it, from its table and its device, within PeerExpiry
 *     (a probe fails, the report spreads).
 * Announcements take 5 to 45 ms (seeded), so they arrive out of order. The
 * scenario runs twice and must give identical figures (determinism).
 * Everything is bounded in virtual time; nothing reads a clock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_harness.h"

#define N 24
#define SEC MH_SEC
#define ANNOUNCE_US (10 * SEC)
#define RANGE "10.42.0.0/26" /* 62 addresses for 24 nodes: the hashed candidates collide */
#define CONVERGE_LIMIT_US (60 * SEC)
#define STEP_US (50 * 1000)
#define JITTER_US (40 * 1000) /* announcements take 5 to 45 ms, so they overtake each other */

struct figures {
	uint64_t t_join, t_collision, t_leave, t_restart, t_split, t_heal, t_silent;
	size_t idle_probes, idle_publishes;
	size_t moves, publishes, dials, applies;
	uint8_t addrs[N];
};

static int failed;

static void fail(const char *what)
{
	fprintf(stderr, "sim_mesh: %s\n", what);
	failed = 1;
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* Runs until converged; the virtual time it took (or fails). */
static uint64_t converge(struct mh_world *w, const char *phase)
{
	uint64_t t0 = w->now;
	char why[160];
	const char *r = "never checked";

	while (w->now - t0 < CONVERGE_LIMIT_US) {
		mh_run(w, w->now + STEP_US);
		r = mh_converged(w, why, sizeof(why));
		if (!r)
			return w->now - t0;
	}
	fprintf(stderr, "sim_mesh: %s: not converged after %" PRIu64 " s: %s\n", phase, (uint64_t)(CONVERGE_LIMIT_US / SEC), r);
	failed = 1;
	return UINT64_MAX;
}

static const struct ann_ip *addr_of(struct mh_world *w, int i)
{
	const struct ann_claim *c = mn_claim(w->nodes[i].m);

	return c ? &c->addr : NULL;
}

static void scenario(struct mh_world *w, struct figures *f)
{
	uint32_t seed = 42;
	struct ann_ip kept[3], held;
	int victim, loser, fresh;
	size_t moves_before;

	memset(f, 0, sizeof(*f));
	mh_init(w, N, RANGE, ANNOUNCE_US);
	w->jitter_us = JITTER_US;
	w->rng = 7;

	/* 1. joins: all but the last node, one every 200 ms */
	for (int i = 0; i < N - 1; i++) {
		mh_start(w, i, i ? (int)(lcg(&seed) % (uint32_t)i) : -1);
		mh_run(w, w->now + 200 * 1000);
	}
	f->t_join = converge(w, "joins");

	/* 2. node 2 restarts with node 1's address persisted under a younger claim */
	victim = 1;
	loser = 2;
	held = *addr_of(w, victim);
	mh_stop(w, loser);
	{
		struct nodestate st;

		nodestate_init(&st);
		if (nodestate_decode(w->nodes[loser].saved.data, w->nodes[loser].saved.len, &st) < 0)
			fail("state of the loser");
		st.has_claim = true;
		st.claim.addr = held;
		st.claim.claimed_ms = (MH_WALL0_US + w->now) / 1000;
		buf_free(&w->nodes[loser].saved);
		buf_init(&w->nodes[loser].saved, NODESTATE_MAX_SIZE);
		if (nodestate_encode(&st, &w->nodes[loser].saved) < 0)
			fail("state encode");
		nodestate_free(&st);
	}
	moves_before = w->nodes[loser].events[MN_EV_ADDRESS];
	mh_start(w, loser, -1);
	f->t_collision = converge(w, "collision");
	if (!ann_ip_eq(addr_of(w, victim), &held))
		fail("the older claim lost its address");
	if (ann_ip_eq(addr_of(w, loser), &held) || w->nodes[loser].events[MN_EV_ADDRESS] != moves_before + 2)
		fail("the younger claim did not move exactly once");

	/* 3. three nodes leave */
	for (int i = 3; i < 6; i++)
		mh_leave(w, i);
	for (int i = 0; i < N - 1; i++)
		if (w->nodes[i].up && pt_count(mn_table(w->nodes[i].m)) != (size_t)(N - 1 - 3 - 1))
			fail("a left node is still listed right after the leave");
	f->t_leave = converge(w, "leaves");

	/* 4. three nodes restart, two seconds down */
	for (int i = 0; i < 3; i++) {
		kept[i] = *addr_of(w, 6 + i);
		mh_stop(w, 6 + i);
	}
	mh_run(w, w->now + 2 * SEC);
	for (int i = 0; i < 3; i++)
		mh_start(w, 6 + i, -1);
	f->t_restart = converge(w, "restarts");
	for (int i = 0; i < 3; i++)
		if (!ann_ip_eq(addr_of(w, 6 + i), &kept[i]))
			fail("a restarted node lost its address");

	/* 5. split: odd nodes on one side, longer than PeerExpiry */
	for (int i = 1; i < N; i += 2)
		mh_partition(w, i, 1);
	mh_run(w, w->now + w->expiry_us + 2 * ANNOUNCE_US);
	f->t_split = converge(w, "split");
	/* a newcomer on side 1 takes an address held on side 0 (node 0) with a younger claim */
	fresh = N - 1;
	w->nodes[fresh].part = 1;
	held = *addr_of(w, 0);
	{
		struct nodestate st;

		nodestate_init(&st);
		st.has_claim = true;
		st.claim.addr = held;
		st.claim.claimed_ms = (MH_WALL0_US + w->now) / 1000;
		if (nodestate_encode(&st, &w->nodes[fresh].saved) < 0)
			fail("state encode");
		nodestate_free(&st);
	}
	mh_start(w, fresh, 1);
	mh_run(w, w->now + 5 * SEC);
	if (mh_converged(w, (char[160]){0}, 160) == NULL || !ann_ip_eq(addr_of(w, fresh), &held))
		fail("the split brain collision should stand while the sides cannot see each other");
	/* heal */
	for (int i = 0; i < N; i++)
		w->nodes[i].part = 0;
	f->t_heal = converge(w, "heal");
	if (!ann_ip_eq(addr_of(w, 0), &held) || ann_ip_eq(addr_of(w, fresh), &held))
		fail("after the heal the older claim must keep the address");

	/* 6. idle for one PeerExpiry: nobody dropped */
	{
		size_t down = 0, probes = 0, pubs = 0;

		mh_run(w, w->now + 5 * SEC);
		for (int i = 0; i < N; i++) {
			down += w->nodes[i].events[MN_EV_PEER_DOWN];
			probes += w->nodes[i].probes;
			pubs += w->nodes[i].publishes;
		}
		mh_run(w, w->now + w->expiry_us);
		for (int i = 0; i < N; i++) {
			down -= w->nodes[i].events[MN_EV_PEER_DOWN];
			f->idle_probes += w->nodes[i].probes;
			f->idle_publishes += w->nodes[i].publishes;
		}
		f->idle_probes -= probes;
		f->idle_publishes -= pubs;
		if (down != 0)
			fail("a live node was dropped while idle");
		if (mh_converged(w, (char[160]){0}, 160))
			fail("not converged after idling");
	}

	/* 7. node 7 dies silently: gone from every table and device within PeerExpiry */
	{
		uint64_t t0 = w->now;
		bool gone = false;

		mh_silence(w, 7);
		while (!gone && w->now - t0 <= w->expiry_us) {
			mh_run(w, w->now + STEP_US);
			gone = true;
			for (int i = 0; i < N && gone; i++)
				if (i != 7 && w->nodes[i].up && (pt_find(mn_table(w->nodes[i].m), &w->nodes[7].id) ||
								 mh_peer_on(w, i, 7)))
					gone = false;
		}
		if (!gone)
			fail("a silently dead node is still listed after PeerExpiry");
		f->t_silent = w->now - t0;
		if (mh_converged(w, (char[160]){0}, 160))
			fail("not converged after the silent death");
	}

	for (int i = 0; i < N; i++) {
		const struct mh_node *x = &w->nodes[i];

		f->moves += x->events[MN_EV_ADDRESS];
		f->publishes += x->publishes;
		f->dials += x->dials;
		f->applies += x->applies;
		f->addrs[i] = x->up && addr_of(w, i) ? addr_of(w, i)->ip[3] : 0;
	}
	mh_free(w);
}

int main(void)
{
	static struct mh_world w;
	struct figures a, b;

	scenario(&w, &a);
	printf("nodes %d, range %s, AnnounceInterval %" PRIu64 " s, PeerExpiry %" PRIu64 " s, announcement "
	       "latency 5-45 ms (virtual time)\n",
	       N, RANGE, (uint64_t)(ANNOUNCE_US / SEC), mn_default_expiry_ms(ANNOUNCE_US / 1000) / 1000);
	printf("converged after: joins %.2f s, collision %.2f s, leaves %.2f s, restarts %.2f s, split %.2f s, "
	       "heal %.2f s\n",
	       a.t_join / 1e6, a.t_collision / 1e6, a.t_leave / 1e6, a.t_restart / 1e6, a.t_split / 1e6,
	       a.t_heal / 1e6);
	printf("idle for one PeerExpiry: %zu probes, %zu announcements (%d nodes); a silent death removed "
	       "from every table and device after %.2f s\n",
	       a.idle_probes, a.idle_publishes, N - 3, a.t_silent / 1e6);
	printf("address events %zu (nodes started %d), publishes %zu, dials %zu, device applies %zu\n", a.moves,
	       N + 1 + 3, a.publishes, a.dials, a.applies);
	scenario(&w, &b);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		fail("two runs of the same scenario differ");
	if (failed) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("1 passed, 0 failed\n");
	return 0;
}
