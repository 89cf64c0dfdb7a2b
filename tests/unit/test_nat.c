/* SPDX-License-Identifier: MIT */
/* NAT traversal policy (lib/mesh/nat.h, docs/nat.md): reflection reports
 * (forged, stale, bogus, disagreeing), NAT detection, roles, and the
 * announcement fields that carry them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "announce.h"
#include "buf.h"
#include "err.h"
#include "nat.h"
#include "peertable.h"
#include "relay.h"
#include "upgrade.h"

static struct ann_endpoint ep4(const char *ip, uint16_t port)
{
	struct ann_endpoint e;

	memset(&e, 0, sizeof(e));
	e.addr.family = 4;
	assert_int_equal(inet_pton(AF_INET, ip, e.addr.ip), 1);
	e.port = port;
	return e;
}

static struct ann_seen seen_of(const uint8_t *key, const char *ip, uint16_t port)
{
	struct ann_seen s;

	memcpy(s.key, key, ANN_SEEN_KEY_LEN);
	s.ep = ep4(ip, port);
	return s;
}

static uint8_t self_pub[32], rep_lo[32], rep_hi[32], other[32];

static int keys(void **state)
{
	(void)state;
	memset(self_pub, 0x55, 32);
	memset(rep_lo, 0x10, 32);
	memset(rep_hi, 0x90, 32);
	memset(other, 0x66, 32);
	return 0;
}

static void test_reports_forged_and_bogus(void **state)
{
	struct nat_self st = {0};
	struct ann_seen s = seen_of(self_pub, "198.51.100.7", 24000);
	struct ann_seen not_us = seen_of(other, "198.51.100.7", 24000);

	(void)state;
	/* about someone else: not ours to take */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &not_us, 3, true, false), NAT_IGNORE);
	/* from a member without a WireGuard session with us: it cannot have
	 * seen our packets (a forged or relayed claim) */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &s, -1, true, false), NAT_REJECT_NOSESSION);
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &s, NAT_SESSION_MAX_S + 1, true, false),
			 NAT_REJECT_NOSESSION);
	assert_false(st.has_wep);
	/* implausible addresses: loopback, unspecified, multicast, broadcast, port 0 */
	const char *bad[] = {"127.0.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "0.1.2.3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ann_seen b = seen_of(self_pub, bad[i], 24000);

		assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &b, 3, true, false), NAT_REJECT_BOGUS);
	}
	struct ann_seen p0 = seen_of(self_pub, "198.51.100.7", 0);
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &p0, 3, true, false), NAT_REJECT_BOGUS);
	assert_false(st.has_wep);
	/* the real one */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &s, 3, true, false), NAT_ACCEPT);
	assert_true(st.has_wep);
	assert_int_equal(st.wep.port, 24000);
	assert_memory_equal(st.reporter, rep_lo, 32);
	/* the same again: nothing new (no re-announcement) */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &s, 3, true, true), NAT_IGNORE);
}

static void test_reports_follow_one_reporter(void **state)
{
	struct nat_self st = {0};
	struct ann_seen a = seen_of(self_pub, "198.51.100.7", 24000);
	struct ann_seen b = seen_of(self_pub, "198.51.100.7", 25000);
	struct ann_seen c = seen_of(self_pub, "198.51.100.7", 26000);

	(void)state;
	assert_int_equal(nat_on_report(&st, self_pub, rep_hi, &a, 3, true, false), NAT_ACCEPT);
	/* a lower key takes over (deterministic choice) */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &b, 3, true, true), NAT_ACCEPT);
	assert_int_equal(st.wep.port, 25000);
	/* a higher key that sees another port of the same IP: symmetric NAT, and
	 * it does not flip our endpoint (that would make the other reporter
	 * report again, and so on) */
	assert_int_equal(nat_on_report(&st, self_pub, rep_hi, &a, 3, true, true), NAT_DISAGREE);
	assert_true(st.symmetric);
	assert_int_equal(st.wep.port, 25000);
	/* the followed reporter sees a new mapping (conntrack flushed): taken */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &c, 3, true, true), NAT_ACCEPT);
	assert_int_equal(st.wep.port, 26000);
	/* the followed reporter lost its session: another one is followed */
	assert_int_equal(nat_on_report(&st, self_pub, rep_hi, &a, 3, true, false), NAT_ACCEPT);
	assert_memory_equal(st.reporter, rep_hi, 32);
	/* a NATed reporter (even with a lower key) does not displace a public
	 * one: after our mapping changes it cannot hear us any more */
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &b, 3, false, true), NAT_DISAGREE);
	assert_int_equal(st.wep.port, 24000);
	/* a public one displaces a NATed one */
	memset(&st, 0, sizeof(st));
	assert_int_equal(nat_on_report(&st, self_pub, rep_lo, &b, 3, false, false), NAT_ACCEPT);
	assert_int_equal(nat_on_report(&st, self_pub, rep_hi, &c, 3, true, true), NAT_ACCEPT);
	assert_int_equal(st.wep.port, 26000);
}

static void test_should_report(void **state)
{
	struct announce a;
	struct ann_endpoint seen = ep4("198.51.100.7", 24000);

	(void)state;
	memset(&a, 0, sizeof(a));
	a.n_eps = 1;
	a.eps[0] = ep4("198.51.100.7", 10042); /* its guess: IP right, port wrong */
	assert_false(nat_should_report(&a, &seen, -1));                    /* no session: nothing seen */
	assert_false(nat_should_report(&a, &seen, NAT_SESSION_MAX_S + 1)); /* stale */
	assert_true(nat_should_report(&a, &seen, 2));
	/* what it announces already: no report (no traffic for public nodes) */
	a.eps[0] = seen;
	assert_false(nat_should_report(&a, &seen, 2));
	a.eps[0] = ep4("198.51.100.7", 10042);
	a.has_wep = true;
	a.wep = seen;
	assert_false(nat_should_report(&a, &seen, 2));
	struct ann_endpoint lo = ep4("127.0.0.1", 5);
	a.has_wep = false;
	assert_false(nat_should_report(&a, &lo, 2));
}

static void test_behind_and_roles(void **state)
{
	struct ann_ip listen, obs[2];
	struct announce peer;

	(void)state;
	listen = ep4("10.0.0.2", 1).addr;
	obs[0] = ep4("10.0.0.2", 1).addr;
	obs[1] = ep4("198.51.100.7", 1).addr;
	assert_false(nat_behind(&listen, obs, 1, false));
	assert_true(nat_behind(&listen, obs, 2, false));
	assert_true(nat_behind(NULL, NULL, 0, true));
	assert_false(nat_behind(NULL, obs, 2, false)); /* unspecified listen: only a report tells */

	memset(&peer, 0, sizeof(peer));
	assert_int_equal(nat_role(false, &peer), NAT_ROLE_DEFAULT);
	assert_int_equal(nat_role(true, &peer), NAT_ROLE_INITIATE);
	peer.flags = ANN_F_NAT;
	assert_int_equal(nat_role(false, &peer), NAT_ROLE_WAIT);
	assert_int_equal(nat_role(true, &peer), NAT_ROLE_PENDING);
	peer.has_wep = true;
	peer.wep = ep4("198.51.100.8", 27000);
	assert_int_equal(nat_role(true, &peer), NAT_ROLE_PUNCH);
}

static void test_announce_fields(void **state)
{
	struct announce a, b;
	struct buf out;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.seq = 7;
	a.wg_port = 10042;
	a.flags = ANN_F_NAT;
	a.has_wep = true;
	a.wep = ep4("198.51.100.7", 24000);
	a.n_seen = 2;
	a.seen[0] = seen_of(other, "198.51.100.8", 25000);
	a.seen[1] = seen_of(rep_lo, "203.0.113.1", 10042);
	buf_init(&out, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.flags, ANN_F_NAT);
	assert_true(b.has_wep);
	assert_int_equal(b.wep.port, 24000);
	assert_int_equal(b.n_seen, 2);
	assert_memory_equal(b.seen[1].key, rep_lo, ANN_SEEN_KEY_LEN);
	assert_int_equal(b.seen[1].ep.port, 10042);
	/* relay requests and offers */
	a.n_rq = 1;
	memcpy(a.rq[0], other, ANN_SEEN_KEY_LEN);
	a.n_ry = 1;
	memcpy(a.ry[0].a, rep_lo, ANN_SEEN_KEY_LEN);
	memcpy(a.ry[0].b, rep_hi, ANN_SEEN_KEY_LEN);
	a.ry[0].pa = 40000;
	a.ry[0].pb = 40001;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.n_rq, 1);
	assert_memory_equal(b.rq[0], other, ANN_SEEN_KEY_LEN);
	assert_int_equal(b.n_ry, 1);
	assert_memory_equal(&b.ry[0], &a.ry[0], sizeof(a.ry[0]));
	/* the source ports the relay saw (optional, docs/nat.md "Upgrade") */
	a.ry[0].sa = 24000;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.ry[0].sa, 24000);
	assert_int_equal(b.ry[0].sb, 0);
	a.ry[0].sa = 0;
	a.ry[0].pb = 0; /* a port 0 offer is not encodable */
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), W2W_EPARSE);
	a.n_rq = a.n_ry = 0;
	/* the most reports an announcement may carry fit in its size limit */
	a.n_seen = ANN_MAX_SEEN;
	for (int i = 0; i < ANN_MAX_SEEN; i++) {
		memcpy(a.seen[i].key, other, ANN_SEEN_KEY_LEN);
		a.seen[i].ep.addr.family = 6;
		assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a.seen[i].ep.addr.ip), 1);
		a.seen[i].ep.port = 1;
	}
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.n_seen, ANN_MAX_SEEN);
	/* too many, a port 0: not encodable */
	a.n_seen = ANN_MAX_SEEN + 1;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), W2W_EPARSE);
	a.n_seen = 0;
	a.wep.port = 0;
	assert_int_equal(ann_encode(&a, &out), W2W_EPARSE);
	buf_free(&out);
}

/* Hand-made maps with bad NAT fields: the whole announcement is refused. */
static void test_announce_bad_fields(void **state)
{
	/* {v:1, seq:1, wg:bin32, port:1, wep: bin 5} */
	uint8_t m[128] = {0x85, 0xa1, 'v', 0x01, 0xa3, 's', 'e', 'q', 0x01, 0xa2, 'w', 'g', 0xc4, 0x20};
	size_t n = 14 + 32;
	struct announce b;

	(void)state;
	memcpy(m + n, (uint8_t[]){0xa4, 'p', 'o', 'r', 't', 0x01}, 6);
	n += 6;
	size_t base = n;
	memcpy(m + n, (uint8_t[]){0xa3, 'w', 'e', 'p', 0xc4, 0x05, 1, 2, 3, 4, 5}, 11);
	assert_int_equal(ann_decode(m, base + 11, &b), W2W_EPARSE);
	/* seen: [ {k: bin 3, e: ...} ] -> key of the wrong length */
	uint8_t s[] = {0xa4, 's', 'e', 'e', 'n', 0x91, 0x82, 0xa1, 'k', 0xc4, 0x03, 1, 2, 3,
		       0xa1, 'e', 0xc4, 0x06, 198, 51, 100, 7, 0x5d, 0xc0};
	memcpy(m + base, s, sizeof(s));
	assert_int_equal(ann_decode(m, base + sizeof(s), &b), W2W_EPARSE);
	/* the same with a good key decodes */
	uint8_t g[] = {0xa4, 's', 'e', 'e', 'n', 0x91, 0x82, 0xa1, 'k', 0xc4, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
		       0xa1, 'e', 0xc4, 0x06, 198, 51, 100, 7, 0x5d, 0xc0};
	memcpy(m + base, g, sizeof(g));
	assert_int_equal(ann_decode(m, base + sizeof(g), &b), 0);
	assert_int_equal(b.n_seen, 1);
	assert_int_equal(b.seen[0].ep.port, 0x5dc0);
}

static void test_relay_offers(void **state)
{
	struct announce r;
	struct ann_relay e;
	uint16_t port = 0;
	const uint8_t *pk = NULL;

	(void)state;
	memset(&r, 0, sizeof(r));
	memcpy(r.wg_pub, rep_lo, 32);
	memcpy(e.a, self_pub, ANN_SEEN_KEY_LEN);
	memcpy(e.b, other, ANN_SEEN_KEY_LEN);
	e.pa = 40000;
	e.pb = 40001;
	/* a member announcing a relay it does not offer (no flag) */
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_NOT_RELAY);
	r.flags = ANN_F_RELAY | ANN_F_NAT;
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_NATED);
	r.flags = ANN_F_RELAY;
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_OK);
	assert_int_equal(port, 40000);
	assert_memory_equal(pk, other, ANN_SEEN_KEY_LEN);
	/* we are b: our port is pb */
	memcpy(e.a, other, ANN_SEEN_KEY_LEN);
	memcpy(e.b, self_pub, ANN_SEEN_KEY_LEN);
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_OK);
	assert_int_equal(port, 40001);
	/* loops: A via B via A (the relay is the other end), us with us */
	memcpy(e.a, rep_lo, ANN_SEEN_KEY_LEN);
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_LOOP);
	memcpy(e.a, self_pub, ANN_SEEN_KEY_LEN);
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_LOOP);
	/* not about us */
	memcpy(e.a, other, ANN_SEEN_KEY_LEN);
	memcpy(e.b, rep_hi, ANN_SEEN_KEY_LEN);
	assert_int_equal(relay_check_offer(&r, &e, self_pub, &port, &pk), RELAY_OFFER_NONE);
}

static void mk_id(struct peerid *id, uint8_t seed)
{
	uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

	memset(pb + 4, seed, 32);
	assert_int_equal(peerid_from_pubkey_pb(id, pb, sizeof(pb)), 0);
}

/* A relay serves only mutual requests: nobody can be made a target (or the
 * relay a free bandwidth source towards it) without asking. */
static void test_relay_wanted_mutual(void **state)
{
	struct peertable *pt = pt_new(16);
	struct peerid ids[3];
	struct announce a[3];
	struct relay_want w[4];

	(void)state;
	assert_non_null(pt);
	for (int i = 0; i < 3; i++) {
		mk_id(&ids[i], (uint8_t)(i + 1));
		memset(&a[i], 0, sizeof(a[i]));
		a[i].seq = 1;
		a[i].wg_port = 1;
		memset(a[i].wg_pub, 0x20 + i, 32);
	}
	/* 0 asks for 1, 1 does not ask: nothing; 2 asks for 0, 0 does not: nothing */
	memcpy(a[0].rq[a[0].n_rq++], a[1].wg_pub, ANN_SEEN_KEY_LEN);
	memcpy(a[2].rq[a[2].n_rq++], a[0].wg_pub, ANN_SEEN_KEY_LEN);
	for (int i = 0; i < 3; i++)
		assert_true(pt_apply(pt, NULL, &ids[i], &a[i], 1) >= 0);
	assert_int_equal(relay_wanted(pt, w, 4), 0);
	/* 1 asks for 0 too: one pair */
	a[1].seq = 2;
	memcpy(a[1].rq[a[1].n_rq++], a[0].wg_pub, ANN_SEEN_KEY_LEN);
	assert_true(pt_apply(pt, NULL, &ids[1], &a[1], 2) >= 0);
	assert_int_equal(relay_wanted(pt, w, 4), 1);
	assert_true(relay_asks(&w[0].a->ann, w[0].b->ann.wg_pub) && relay_asks(&w[0].b->ann, w[0].a->ann.wg_pub));
	pt_free(pt);
}

static void test_relay_budget(void **state)
{
	/* the default and a configured rate ([P2P] RelayRate) */
	static const uint64_t rates[] = {RELAY_DEFAULT_RATE, RELAY_MIN_RATE, 100ull << 20};

	(void)state;
	assert_int_equal(relay_burst(RELAY_DEFAULT_RATE), 1u << 20);
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct relay_bucket b = {0};
		uint64_t t = 1000000, sent = 0, rate = rates[r], burst = relay_burst(rate);

		/* a burst, then the rate: never more than burst + rate x time */
		while (relay_budget_take(&b, 1400, t, rate))
			sent += 1400;
		assert_true(sent <= burst && sent > burst - 1400);
		for (int i = 0; i < 1000; i++) {
			t += 1000; /* 1 ms */
			while (relay_budget_take(&b, 1400, t, rate))
				sent += 1400;
		}
		assert_true(sent <= burst + rate); /* one second */
		assert_true(sent >= burst + rate / 10 * 9);
		/* a long pause refills to the burst, not more */
		t += 3600ull * 1000000;
		sent = 0;
		while (relay_budget_take(&b, 1400, t, rate))
			sent += 1400;
		assert_true(sent <= burst);
	}
}

/* ---- upgrade of relayed pairs (upgrade.h, docs/nat.md "Upgrade") ---- */

#define S (1000ull * 1000)

static struct announce natted_peer(void)
{
	struct announce p;

	memset(&p, 0, sizeof(p));
	p.flags = ANN_F_NAT;
	p.has_wep = true;
	p.wep = ep4("198.51.100.8", 27000);
	return p;
}

static void test_upgrade_eligible(void **state)
{
	struct announce p = natted_peer();

	(void)state;
	assert_true(upg_eligible(true, true, true, false, &p));
	assert_false(upg_eligible(false, true, true, false, &p)); /* not relayed */
	assert_false(upg_eligible(true, false, true, false, &p)); /* we are public */
	assert_false(upg_eligible(true, true, false, false, &p)); /* our public endpoint unknown */
	assert_false(upg_eligible(true, true, true, true, &p));   /* our NAT is symmetric */
	p.flags |= ANN_F_SYMNAT;                                   /* its NAT is symmetric */
	assert_false(upg_eligible(true, true, true, false, &p));
	p = natted_peer();
	p.has_wep = false; /* its public endpoint unknown */
	assert_false(upg_eligible(true, true, true, false, &p));
	p = natted_peer();
	p.flags = 0; /* public: never relayed through a relay to begin with */
	assert_false(upg_eligible(true, true, true, false, &p));
}

static void test_upgrade_schedule(void **state)
{
	struct upg_pair u = {0};
	uint64_t wait, t = 100 * S;

	(void)state;
	/* not relayed: nothing to do */
	assert_false(upg_round_due(&u, rep_lo, rep_hi, t, &wait));
	upg_relayed(&u, t);
	/* the higher key never opens a round: it answers */
	assert_false(upg_round_due(&u, rep_hi, rep_lo, t + 3600 * S, &wait));
	/* the lower key: UPG_FIRST_US after the relay carries the pair */
	assert_false(upg_round_due(&u, rep_lo, rep_hi, t + UPG_FIRST_US - 1, &wait));
	assert_int_equal(wait, 1);
	assert_true(upg_round_due(&u, rep_lo, rep_hi, t + UPG_FIRST_US, &wait));
	assert_int_equal(wait, UPG_PERIOD_US);
	assert_false(upg_round_due(&u, rep_lo, rep_hi, t + UPG_FIRST_US + 1, &wait));
	/* then every period for UPG_FAST_ROUNDS rounds, then backing off to the cap */
	t += UPG_FIRST_US;
	for (int r = 2; r <= UPG_FAST_ROUNDS; r++) {
		t += UPG_PERIOD_US;
		assert_true(upg_round_due(&u, rep_lo, rep_hi, t, &wait));
	}
	assert_int_equal(wait, UPG_PERIOD_US);
	t += UPG_PERIOD_US;
	assert_true(upg_round_due(&u, rep_lo, rep_hi, t, &wait));
	assert_int_equal(wait, 2 * UPG_PERIOD_US);
	assert_int_equal(upg_period(UPG_FAST_ROUNDS + 2), 4 * UPG_PERIOD_US);
	assert_int_equal(upg_period(1000), UPG_PERIOD_MAX_US);
	/* a new relay session starts over; the probe counter goes on */
	assert_int_equal(upg_probed(&u, 0, t), 1);
	upg_relayed(&u, t + S);
	assert_int_equal(u.rounds, 0);
	assert_int_equal(upg_probed(&u, 0, t + 2 * S), 2);
	assert_true(upg_announce(&u, t + 2 * S));
	assert_false(upg_announce(&u, t + 2 * S + UPG_ANNOUNCE_US));
}

static void test_upgrade_answer(void **state)
{
	struct upg_pair u = {0};
	struct ann_probe p = {.n = 5, .h = 0};

	(void)state;
	upg_relayed(&u, S);
	/* a new probe of the peer is answered once (announcements repeat it) */
	assert_true(upg_should_answer(&u, &p, true, S));
	assert_false(upg_should_answer(&u, &p, true, S));
	/* the round alternates up to UPG_ROUND_HOPS probes, then ends */
	p.n = 6;
	p.h = UPG_ROUND_HOPS - 2;
	assert_true(upg_should_answer(&u, &p, true, S));
	p.n = 7;
	p.h = UPG_ROUND_HOPS - 1;
	assert_false(upg_should_answer(&u, &p, true, S));
	/* not eligible (e.g. a symmetric NAT): never, but the counter is taken */
	p.n = 8;
	p.h = 0;
	assert_false(upg_should_answer(&u, &p, false, S));
	assert_false(upg_should_answer(&u, &p, true, S));
	/* a member announcing a new counter every time (hop 0) is answered at
	 * most a round's worth per window */
	{
		struct upg_pair v = {0};
		int answered = 0;

		upg_relayed(&v, S);
		for (uint32_t k = 1; k <= 50; k++) {
			struct ann_probe q = {.n = k, .h = 0};

			answered += upg_should_answer(&v, &q, true, S + k * 100000);
		}
		assert_int_equal(answered, UPG_ROUND_HOPS / 2);
		struct ann_probe q = {.n = 1000, .h = 0};
		assert_true(upg_should_answer(&v, &q, true, S + UPG_ANSWER_WINDOW_US + 5 * S));
	}
	/* direct already: no more probes */
	struct ann_endpoint wep = ep4("198.51.100.8", 27000), relay = ep4("203.0.113.1", 40001);
	assert_false(upg_on_device(&u, &wep, &relay, &relay, 2 * S));
	assert_true(upg_on_device(&u, &wep, &relay, &wep, 2 * S));
	p.n = 9;
	assert_false(upg_should_answer(&u, &p, true, S));
	assert_false(upg_announce(&u, 2 * S));
}

static void test_upgrade_detect_and_settle(void **state)
{
	struct upg_pair u = {0};
	struct ann_endpoint wep = ep4("198.51.100.8", 27000), relay = ep4("203.0.113.1", 40001), none;
	uint64_t wait;

	(void)state;
	memset(&none, 0, sizeof(none));
	/* not relayed: the device showing its public endpoint is no upgrade */
	assert_false(upg_on_device(&u, &wep, &relay, &wep, S));
	upg_relayed(&u, S);
	/* before the device showed the relay's endpoint, its public one is what
	 * the failed punch wrote, not a roam */
	assert_false(upg_on_device(&u, &wep, &relay, &wep, 2 * S));
	assert_false(upg_on_device(&u, &wep, &relay, &relay, 2 * S));
	assert_false(upg_on_device(&u, &wep, &relay, &none, 2 * S));
	assert_false(upg_reforce(&u, &wep, &relay, 2 * S)); /* relayed: the relay's endpoint is right */
	/* the device roamed to its public endpoint: direct, once */
	assert_true(upg_on_device(&u, &wep, &relay, &wep, 3 * S));
	assert_true(u.direct);
	assert_false(upg_on_device(&u, &wep, &relay, &wep, 3 * S + 1));
	/* no flapping: a relayed packet in flight roams us back: the direct
	 * endpoint is written again while settling, never afterwards */
	assert_true(upg_reforce(&u, &wep, &relay, 4 * S));
	assert_false(upg_reforce(&u, &wep, &wep, 4 * S));
	assert_true(upg_settling(&u, 3 * S + UPG_SETTLE_US - 1));
	assert_false(upg_reforce(&u, &wep, &relay, 3 * S + UPG_SETTLE_US));
	/* direct: no rounds any more */
	assert_false(upg_round_due(&u, rep_lo, rep_hi, 3600 * S, &wait));
	/* the direct path dies: nothing from the peer for twice the longest a
	 * live peer is silent (max(keepalive, WireGuard's passive 10 s)) */
	assert_false(upg_dead(&u, 3 * S, 5, 3 * S + UPG_SETTLE_US - 1)); /* settling */
	assert_false(upg_dead(&u, 20 * S, 5, 20 * S + 2 * 10 * S + UPG_DEAD_SLACK_US));
	assert_true(upg_dead(&u, 20 * S, 5, 20 * S + 2 * 10 * S + UPG_DEAD_SLACK_US + 1));
	assert_false(upg_dead(&u, 20 * S, 25, 20 * S + 2 * 10 * S + UPG_DEAD_SLACK_US + 1));
	assert_true(upg_dead(&u, 20 * S, 25, 20 * S + 2 * 25 * S + UPG_DEAD_SLACK_US + 1));
	assert_true(upg_dead(&u, 0, 5, 3 * S + 2 * 10 * S + UPG_DEAD_SLACK_US + 1)); /* never heard */
	/* fallback: the direct path died, the pair is relayed again: rounds
	 * again, and the device at the relay is no upgrade */
	upg_relayed(&u, 100 * S);
	assert_false(u.direct);
	assert_false(upg_on_device(&u, &wep, &relay, &wep, 101 * S));
	assert_false(upg_on_device(&u, &wep, &relay, &relay, 101 * S));
	assert_true(upg_round_due(&u, rep_lo, rep_hi, 100 * S + UPG_FIRST_US, &wait));
	assert_false(upg_dead(&u, 0, 5, 1000 * S)); /* relayed: not direct */
}

static void test_upgrade_announce_field(void **state)
{
	struct announce a, b;
	struct buf out;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.seq = 7;
	a.wg_port = 10042;
	a.flags = ANN_F_NAT | ANN_F_SYMNAT;
	a.n_up = 2;
	memcpy(a.up[0].key, other, ANN_SEEN_KEY_LEN);
	a.up[0].n = 4000000000u;
	a.up[0].h = 3;
	memcpy(a.up[1].key, rep_lo, ANN_SEEN_KEY_LEN);
	a.up[1].n = 1;
	buf_init(&out, ANN_MAX_SIZE);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.flags, ANN_F_NAT | ANN_F_SYMNAT);
	assert_int_equal(b.n_up, 2);
	assert_memory_equal(&b.up[0], &a.up[0], sizeof(a.up[0]));
	assert_memory_equal(&b.up[1], &a.up[1], sizeof(a.up[1]));
	a.n_up = ANN_MAX_UP + 1;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), W2W_EPARSE);
	buf_free(&out);

	/* hand-made: {v:1, seq:1, wg:bin32, port:1, up: [...]} */
	uint8_t m[160] = {0x85, 0xa1, 'v', 0x01, 0xa3, 's', 'e', 'q', 0x01, 0xa2, 'w', 'g', 0xc4, 0x20};
	size_t n = 14 + 32;

	memcpy(m + n, (uint8_t[]){0xa4, 'p', 'o', 'r', 't', 0x01}, 6);
	n += 6;
	uint8_t good[] = {0xa2, 'u', 'p', 0x91, 0x83, 0xa1, 'k', 0xc4, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
			  0xa1, 'n', 0x05, 0xa1, 'h', 0x01};
	memcpy(m + n, good, sizeof(good));
	assert_int_equal(ann_decode(m, n + sizeof(good), &b), 0);
	assert_int_equal(b.n_up, 1);
	assert_int_equal(b.up[0].n, 5);
	assert_int_equal(b.up[0].h, 1);
	/* a hop beyond a byte, a missing counter: the announcement is refused */
	uint8_t big[] = {0xa2, 'u', 'p', 0x91, 0x83, 0xa1, 'k', 0xc4, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
			 0xa1, 'n', 0x05, 0xa1, 'h', 0xcd, 0x01, 0x00};
	memcpy(m + n, big, sizeof(big));
	assert_int_equal(ann_decode(m, n + sizeof(big), &b), W2W_EPARSE);
	uint8_t miss[] = {0xa2, 'u', 'p', 0x91, 0x82, 0xa1, 'k', 0xc4, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
			  0xa1, 'h', 0x01};
	memcpy(m + n, miss, sizeof(miss));
	assert_int_equal(ann_decode(m, n + sizeof(miss), &b), W2W_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reports_forged_and_bogus),
		cmocka_unit_test(test_reports_follow_one_reporter),
		cmocka_unit_test(test_should_report),
		cmocka_unit_test(test_behind_and_roles),
		cmocka_unit_test(test_announce_fields),
		cmocka_unit_test(test_announce_bad_fields),
		cmocka_unit_test(test_relay_offers),
		cmocka_unit_test(test_relay_wanted_mutual),
		cmocka_unit_test(test_relay_budget),
		cmocka_unit_test(test_upgrade_eligible),
		cmocka_unit_test(test_upgrade_schedule),
		cmocka_unit_test(test_upgrade_answer),
		cmocka_unit_test(test_upgrade_detect_and_settle),
		cmocka_unit_test(test_upgrade_announce_field),
	};

	return cmocka_run_group_tests(tests, keys, NULL);
}
