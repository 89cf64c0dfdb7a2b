/* SPDX-License-Identifier: MIT */
/* Mesh logic: announcement codec, IPAM rule, peer table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "announce.h"
#include "err.h"
#include "ipam.h"
#include "multiaddr.h"
#include "mpcheck.h"
#include "nodestate.h"
#include "peertable.h"
#include "reconcile.h"

static void mk_id(struct peerid *id, uint8_t seed)
{
	/* identity multihash of a fake Ed25519 PublicKey protobuf */
	uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

	memset(pb + 4, seed, 32);
	assert_int_equal(peerid_from_pubkey_pb(id, pb, sizeof(pb)), 0);
}

static void mk_ip(struct ann_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->ip) == 1)
		ip->family = 4;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, ip->ip), 1);
		ip->family = 6;
	}
}

static void sample(struct announce *a)
{
	memset(a, 0, sizeof(*a));
	a->seq = 1732000000000001ull;
	strcpy(a->name, "node-a");
	memset(a->wg_pub, 0x42, 32);
	a->wg_port = 10042;
	a->n_claims = 2;
	mk_ip(&a->claims[0].addr, "fd6d:142e:65e7:4cc1::1234");
	a->claims[0].claimed_ms = 1732000000000ull;
	mk_ip(&a->claims[1].addr, "10.42.0.7");
	a->claims[1].claimed_ms = 0;
	a->n_eps = 2;
	mk_ip(&a->eps[0].addr, "192.0.2.1");
	a->eps[0].port = 10042;
	mk_ip(&a->eps[1].addr, "2001:db8::1");
	a->eps[1].port = 51820;
	a->n_acks = 2;
	memcpy(a->acks[0], "\x01\x02\x03\x04", 4);
	memcpy(a->acks[1], "\xaa\xbb\xcc\xdd", 4);
	a->n_la = 1;
	a->la[0].len = (uint8_t)ma_parse(a->la[0].b, sizeof(a->la[0].b), "/ip4/192.0.2.1/tcp/10042", 24);
}

static void test_announce_roundtrip(void **state)
{
	struct announce a, b;
	struct buf out;

	(void)state;
	sample(&a);
	buf_init(&out, 0);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_true(out.len < 200);
	memset(&b, 0xff, sizeof(b));
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.seq, a.seq);
	assert_string_equal(b.name, "node-a");
	assert_memory_equal(b.wg_pub, a.wg_pub, 32);
	assert_int_equal(b.wg_port, 10042);
	assert_int_equal(b.n_claims, 2);
	assert_true(ann_ip_eq(&b.claims[0].addr, &a.claims[0].addr));
	assert_int_equal(b.claims[0].claimed_ms, a.claims[0].claimed_ms);
	assert_true(ann_ip_eq(&b.claims[1].addr, &a.claims[1].addr));
	assert_int_equal(b.n_eps, 2);
	assert_int_equal(b.eps[1].port, 51820);
	assert_true(ann_ip_eq(&b.eps[1].addr, &a.eps[1].addr));
	assert_int_equal(b.n_la, 1);
	assert_int_equal(b.n_acks, 2);
	assert_memory_equal(b.acks[1], "\xaa\xbb\xcc\xdd", 4);
	assert_int_equal(b.la[0].len, 8);
	assert_memory_equal(b.la[0].b, a.la[0].b, 8);
	assert_int_equal(b.members, 0); /* optional: absent */
	a.members = 31;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), 0);
	assert_int_equal(b.members, 31);
	a.members = 0;
	out.len = 0;
	assert_int_equal(ann_encode(&a, &out), 0);

	/* every truncation is rejected, none crashes */
	for (size_t n = 0; n < out.len; n++)
		assert_int_not_equal(ann_decode(out.data, n, &b), 0);
	/* trailing garbage is rejected */
	buf_append_u8(&out, 0xc0);
	assert_int_equal(ann_decode(out.data, out.len, &b), W2W_EPARSE);
	buf_free(&out);
}

static void test_announce_rejects(void **state)
{
	/* {"v":2,...} wrong version; {"v":1} missing fields; not a map */
	const uint8_t v2[] = {0x84, 0xa1, 'v', 0x02, 0xa3, 's', 'e', 'q', 0x01, 0xa2, 'w', 'g', 0xc4, 0x00,
			      0xa4, 'p', 'o', 'r', 't', 0x01};
	const uint8_t only_v[] = {0x81, 0xa1, 'v', 0x01};
	const uint8_t arr[] = {0x91, 0x01};
	struct announce a, b;
	struct buf out;

	(void)state;
	assert_int_equal(ann_decode(v2, sizeof(v2), &b), W2W_EPARSE);
	assert_int_equal(ann_decode(only_v, sizeof(only_v), &b), W2W_EPARSE);
	assert_int_equal(ann_decode(arr, sizeof(arr), &b), W2W_EPARSE);

	/* a name with a control character is refused on decode */
	sample(&a);
	strcpy(a.name, "bad\nname");
	buf_init(&out, 0);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), W2W_EPARSE);
	buf_free(&out);

	/* port 0 is refused */
	sample(&a);
	a.wg_port = 0;
	buf_init(&out, 0);
	assert_int_equal(ann_encode(&a, &out), 0);
	assert_int_equal(ann_decode(out.data, out.len, &b), W2W_EPARSE);
	buf_free(&out);
}

static void test_ipam_range(void **state)
{
	struct ipam_range r;
	char s[64];
	struct ann_ip ip;

	(void)state;
	assert_int_equal(ipam_range_parse(&r, "fd6d:142e:65e7:4cc1::/64"), 0);
	assert_int_equal(r.family, 6);
	assert_int_equal(r.plen, 64);
	assert_int_equal(ipam_capacity(&r), UINT64_MAX);
	ipam_range_str(&r, s, sizeof(s));
	assert_string_equal(s, "fd6d:142e:65e7:4cc1::/64");
	assert_int_equal(ipam_range_parse(&r, "10.42.0.0/16"), 0);
	assert_int_equal(ipam_capacity(&r), 65534);
	assert_int_equal(ipam_range_parse(&r, "10.42.0.1/16"), W2W_EPARSE); /* host bits set */
	assert_int_equal(ipam_range_parse(&r, "10.42.0.0/31"), W2W_EPARSE);
	assert_int_equal(ipam_range_parse(&r, "10.42.0.0"), W2W_EPARSE);
	assert_int_equal(ipam_range_parse(&r, "10.42.0.0/x"), W2W_EPARSE);
	assert_int_equal(ipam_range_parse(&r, "nonsense/8"), W2W_EPARSE);

	assert_int_equal(ipam_range_parse(&r, "10.9.9.0/30"), 0);
	assert_int_equal(ipam_capacity(&r), 2);
	mk_ip(&ip, "10.9.9.0");
	assert_false(ipam_usable(&r, &ip)); /* network */
	mk_ip(&ip, "10.9.9.3");
	assert_false(ipam_usable(&r, &ip)); /* broadcast */
	mk_ip(&ip, "10.9.9.1");
	assert_true(ipam_usable(&r, &ip));
	mk_ip(&ip, "10.9.10.1");
	assert_false(ipam_usable(&r, &ip));
}

static void test_ipam_candidates(void **state)
{
	struct ipam_range r4, r6;
	struct peerid a, b;
	struct ann_ip c1, c2;
	int differ = 0;

	(void)state;
	ipam_range_parse(&r4, "10.42.0.0/24");
	ipam_range_parse(&r6, "fd6d:142e:65e7:4cc1::/64");
	mk_id(&a, 1);
	mk_id(&b, 2);
	for (uint32_t i = 0; i < 200; i++) {
		ipam_candidate(&r4, &a, i, &c1);
		assert_true(ipam_usable(&r4, &c1));
		ipam_candidate(&r4, &a, i, &c2);
		assert_true(ann_ip_eq(&c1, &c2)); /* deterministic */
		ipam_candidate(&r6, &a, i, &c1);
		assert_true(ipam_usable(&r6, &c1));
		ipam_candidate(&r6, &b, i, &c2);
		differ += !ann_ip_eq(&c1, &c2);
	}
	assert_int_equal(differ, 200); /* /64 candidates of two IDs never meet */
}

static void test_ipam_rule(void **state)
{
	struct ipam_range r;
	struct peerid a, b, c;
	struct ipam_other o[3];
	struct ann_claim cur, out;
	bool changed;

	(void)state;
	mk_id(&a, 1);
	mk_id(&b, 2);
	mk_id(&c, 3);
	/* older claim wins; same time: lower peer ID */
	assert_true(ipam_claim_cmp(10, &b, 20, &a) < 0);
	assert_true(ipam_claim_cmp(20, &a, 20, &b) < 0);
	assert_true(ipam_claim_cmp(20, &b, 20, &a) > 0);

	/* two usable addresses: a holds one, b (newer) collides on it and must move */
	ipam_range_parse(&r, "10.9.9.0/30");
	mk_ip(&cur.addr, "10.9.9.1");
	cur.claimed_ms = 500;
	o[0].ip = cur.addr;
	o[0].claimed_ms = 100;
	o[0].owner = &a;
	assert_int_equal(ipam_pick(&r, &b, &cur, o, 1, 1000, &out, &changed), 0);
	assert_true(changed);
	mk_ip(&cur.addr, "10.9.9.2");
	assert_true(ann_ip_eq(&out.addr, &cur.addr));
	assert_int_equal(out.claimed_ms, 1000);

	/* the older holder keeps its address against the newer claim */
	mk_ip(&cur.addr, "10.9.9.1");
	cur.claimed_ms = 100;
	o[0].claimed_ms = 500;
	o[0].owner = &b;
	assert_int_equal(ipam_pick(&r, &a, &cur, o, 1, 1000, &out, &changed), 0);
	assert_false(changed);
	assert_true(ann_ip_eq(&out.addr, &cur.addr));

	/* full range: the third node gets W2W_ELIMIT */
	mk_ip(&o[0].ip, "10.9.9.1");
	mk_ip(&o[1].ip, "10.9.9.2");
	o[0].owner = &a;
	o[1].owner = &b;
	o[1].claimed_ms = 1;
	assert_int_equal(ipam_pick(&r, &c, NULL, o, 2, 1000, &out, &changed), W2W_ELIMIT);

	/* the winner among several claims on one address */
	o[0].claimed_ms = 7;
	o[1].claimed_ms = 7;
	o[2].claimed_ms = 9;
	o[2].owner = &c;
	o[0].owner = &b;
	o[1].owner = &a;
	assert_int_equal(ipam_winner(o, 3), 1);
}

static void test_ipam_many_nodes_no_duplicates(void **state)
{
	/* 50 nodes join a /26 (62 usable) one after another: all distinct */
	struct ipam_range r;
	struct peerid ids[50];
	struct ipam_other o[50];
	struct ann_claim out;
	bool changed;

	(void)state;
	ipam_range_parse(&r, "10.7.0.0/26");
	for (int i = 0; i < 50; i++) {
		mk_id(&ids[i], (uint8_t)(i + 1));
		assert_int_equal(ipam_pick(&r, &ids[i], NULL, o, (size_t)i, 1000 + (uint64_t)i, &out, &changed), 0);
		for (int j = 0; j < i; j++)
			assert_false(ann_ip_eq(&out.addr, &o[j].ip));
		o[i].ip = out.addr;
		o[i].claimed_ms = out.claimed_ms;
		o[i].owner = &ids[i];
	}
}

static void test_peertable(void **state)
{
	struct peertable *pt = pt_new(3);
	struct peerid self, a, b, c, d;
	struct announce ann;

	(void)state;
	mk_id(&self, 9);
	mk_id(&a, 1);
	mk_id(&b, 2);
	mk_id(&c, 3);
	mk_id(&d, 4);
	sample(&ann);
	ann.seq = 10;
	assert_int_equal(pt_apply(pt, &self, &self, &ann, 1), PT_SELF);
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 1), PT_NEW);
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 2), PT_STALE); /* replay */
	ann.seq = 9;
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 2), PT_STALE); /* older */
	ann.seq = 11;
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 3), PT_REFRESHED);
	ann.seq = 12;
	ann.wg_port = 999;
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 4), PT_UPDATED);
	assert_int_equal(pt_find(pt, &a)->ann.wg_port, 999);
	assert_int_equal(pt_find(pt, &a)->last_seen_us, 4);

	/* another author with a's WireGuard key is rejected */
	assert_int_equal(pt_apply(pt, &self, &b, &ann, 5), PT_REJECTED);
	ann.wg_pub[0] ^= 1;
	assert_int_equal(pt_apply(pt, &self, &b, &ann, 5), PT_NEW);
	ann.wg_pub[0] ^= 2;
	assert_int_equal(pt_apply(pt, &self, &c, &ann, 100), PT_NEW);
	ann.wg_pub[0] ^= 4;
	assert_int_equal(pt_apply(pt, &self, &d, &ann, 100), PT_REJECTED); /* table full (max 3) */
	assert_int_equal(pt_count(pt), 3);

	/* expiry: a (seen at 4) and b (5) expire, c (100) stays */
	assert_int_equal(pt_expire(pt, 60, 50, NULL, NULL), 2);
	assert_int_equal(pt_count(pt), 1);
	assert_non_null(pt_find(pt, &c));
	assert_int_equal(pt_oldest_seen(pt), 100);

	/* explicit leave removes at once; a stale leave does nothing */
	ann.seq = 13;
	ann.flags = ANN_F_LEAVING;
	assert_int_equal(pt_apply(pt, &self, &c, &ann, 101), PT_LEFT);
	assert_int_equal(pt_count(pt), 0);
	assert_int_equal(pt_apply(pt, &self, &c, &ann, 101), PT_STALE);
	pt_free(pt);
}

/* issue 15 item 9: a replayed or delayed pre-leave announcement must not
 * bring a departed node back; a newer one (the node restarted) does. */
static void test_peertable_tombstone(void **state)
{
	struct peertable *pt = pt_new(0);
	struct peerid self, a, b;
	struct announce ann, before;
	uint64_t left;

	(void)state;
	mk_id(&self, 9);
	mk_id(&a, 1);
	mk_id(&b, 2);
	sample(&ann);
	ann.seq = 100;
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 1), PT_NEW);
	before = ann;
	before.seq = 101; /* published before the leave, delivered after it */
	ann.seq = 102;
	ann.flags = ANN_F_LEAVING;
	assert_int_equal(pt_apply(pt, &self, &a, &ann, 2), PT_LEFT);
	assert_true(pt_tombstone(pt, &a, 3, &left));
	assert_int_equal(left, 102);
	assert_int_equal(pt_apply(pt, &self, &a, &before, 3), PT_STALE);
	before.seq = 100; /* a replay of the one we held */
	assert_int_equal(pt_apply(pt, &self, &a, &before, 4), PT_STALE);
	assert_null(pt_find(pt, &a));
	/* still refused just before the TTL (gossipsub seen-TTL + PeerExpiry) */
	before.seq = 101;
	assert_int_equal(pt_apply(pt, &self, &a, &before, 2 + PT_TOMB_TTL_DEFAULT_US - 1), PT_STALE);
	/* back with a newer seq (a restart): accepted, the tombstone goes */
	before.seq = 103;
	assert_int_equal(pt_apply(pt, &self, &a, &before, 5), PT_NEW);
	assert_false(pt_tombstone(pt, &a, 5, NULL));

	/* LEAVING before any announcement of the author (reordered): tombstoned too */
	ann.seq = 50;
	ann.wg_pub[0] ^= 1;
	assert_int_equal(pt_apply(pt, &self, &b, &ann, 10), PT_STALE);
	before = ann;
	before.flags = 0;
	before.seq = 49;
	assert_int_equal(pt_apply(pt, &self, &b, &before, 11), PT_STALE);
	assert_null(pt_find(pt, &b));
	/* after the TTL the tombstone is gone (bounded memory), an old seq is news again */
	pt_set_tombstone_ttl(pt, 1000);
	ann.seq = 60;
	assert_int_equal(pt_apply(pt, &self, &b, &ann, 20), PT_STALE);
	assert_true(pt_tombstone(pt, &b, 1019, NULL));
	assert_false(pt_tombstone(pt, &b, 1020, NULL));
	assert_int_equal(pt_apply(pt, &self, &b, &before, 1020), PT_NEW);
	pt_free(pt);
}

/* Tombstones are bounded: PT_MAX_TOMBS, the one expiring first makes room. */
static void test_peertable_tombstone_bound(void **state)
{
	struct peertable *pt = pt_new(0);
	struct peerid self, id;
	struct announce ann;

	(void)state;
	mk_id(&self, 9);
	sample(&ann);
	ann.flags = ANN_F_LEAVING;
	ann.seq = 7;
	memset(&id, 0, sizeof(id));
	id.len = 34;
	for (unsigned i = 0; i < PT_MAX_TOMBS + 10; i++) {
		id.b[0] = (uint8_t)(i >> 8);
		id.b[1] = (uint8_t)i;
		assert_int_equal(pt_apply(pt, &self, &id, &ann, 1 + i), PT_STALE);
	}
	/* the first ten (earliest expiry) made room for the last ten */
	id.b[0] = 0;
	id.b[1] = 0;
	assert_false(pt_tombstone(pt, &id, PT_MAX_TOMBS + 20, NULL));
	id.b[0] = (uint8_t)((PT_MAX_TOMBS + 9) >> 8);
	id.b[1] = (uint8_t)(PT_MAX_TOMBS + 9);
	assert_true(pt_tombstone(pt, &id, PT_MAX_TOMBS + 20, NULL));
	pt_free(pt);
}

static void test_nodestate(void **state)
{
	struct nodestate a, b;
	struct buf out;
	char ma[64];

	(void)state;
	nodestate_init(&a);
	nodestate_init(&b);
	a.has_claim = true;
	mk_ip(&a.claim.addr, "fd6d:142e:65e7:4cc1::77");
	a.claim.claimed_ms = 1234567;
	assert_int_equal(nodestate_add_peer(&a, "/ip4/10.0.0.1/tcp/10042"), 1);
	assert_int_equal(nodestate_add_peer(&a, "/ip4/10.0.0.1/tcp/10042"), 0);
	for (int i = 0; i < NODESTATE_MAX_PEERS + 5; i++) {
		snprintf(ma, sizeof(ma), "/ip4/10.0.%d.%d/tcp/1", i / 256, i % 256);
		nodestate_add_peer(&a, ma);
	}
	assert_int_equal(a.n_peers, NODESTATE_MAX_PEERS); /* bounded, oldest dropped */
	buf_init(&out, 0);
	assert_int_equal(nodestate_encode(&a, &out), 0);
	assert_int_equal(nodestate_decode(out.data, out.len, &b), 0);
	assert_true(b.has_claim);
	assert_true(ann_ip_eq(&a.claim.addr, &b.claim.addr));
	assert_int_equal(b.claim.claimed_ms, 1234567);
	assert_int_equal(b.n_peers, a.n_peers);
	assert_string_equal(b.peers[3], a.peers[3]);
	/* a damaged file is refused and leaves the state untouched */
	assert_int_equal(nodestate_decode(out.data, out.len / 2, &b), W2W_EPARSE);
	assert_int_equal(b.n_peers, a.n_peers);
	buf_free(&out);
	nodestate_free(&a);
	nodestate_free(&b);
}

static int ep_cb(void *ud, const struct pt_entry *e, union wgendpoint *ep)
{
	(void)ud;
	if (e->ann.wg_pub[0] == 0xc3)
		return 0; /* no endpoint known */
	ep->addr4.sin_family = AF_INET;
	ep->addr4.sin_port = htons(e->ann.wg_port);
	inet_pton(AF_INET, "192.0.2.9", &ep->addr4.sin_addr);
	return e->ann.wg_pub[0] == 0xa1 ? RECONCILE_F_RECREATE : 0;
}

static void add_peer(struct peertable *pt, const struct peerid *self, const struct peerid *id, uint8_t key,
		     const char *ip, uint64_t t)
{
	struct announce a;

	memset(&a, 0, sizeof(a));
	a.seq = 1;
	memset(a.wg_pub, key, 32);
	a.wg_port = (uint16_t)(1000 + key);
	a.n_claims = 1;
	mk_ip(&a.claims[0].addr, ip);
	a.claims[0].claimed_ms = t;
	assert_int_equal(pt_apply(pt, self, id, &a, 1), PT_NEW);
}

static void test_reconcile(void **state)
{
	struct peertable *pt = pt_new(0);
	struct peerid self, a, b, c, d;
	struct ipam_range r6;
	struct ann_claim mine;
	struct reconcile_in in;
	struct wgdevice *dev;
	struct wgpeer *p;
	uint8_t sk[32], key[32];

	(void)state;
	mk_id(&self, 9);
	mk_id(&a, 1);
	mk_id(&b, 2);
	mk_id(&c, 3);
	mk_id(&d, 4);
	ipam_range_parse(&r6, "fd00::/64");
	mk_ip(&mine.addr, "fd00::9");
	mine.claimed_ms = 50;
	add_peer(pt, &self, &a, 0xa1, "fd00::1", 100);
	add_peer(pt, &self, &b, 0xb2, "fd00::1", 200);  /* loses fd00::1 to a */
	add_peer(pt, &self, &c, 0xc3, "2001:db8::1", 1); /* outside the overlay */
	add_peer(pt, &self, &d, 0xd4, "fd00::9", 60);    /* loses to our older claim */
	memset(sk, 7, sizeof(sk));
	memset(&in, 0, sizeof(in));
	in.ifname = "wtest0";
	in.private_key = sk;
	in.listen_port = 10042;
	in.keepalive_s = 25;
	in.range6 = &r6;
	in.self = &self;
	in.self_claims = &mine;
	in.n_self_claims = 1;
	in.pt = pt;
	in.endpoint = ep_cb;
	dev = reconcile_desired(&in);
	assert_non_null(dev);
	assert_int_equal(wgdev_peer_count(dev), 4);
	assert_int_equal(dev->listen_port, 10042);
	memset(key, 0xa1, 32);
	p = wgdev_find_peer(dev, key);
	assert_non_null(p);
	assert_int_equal(wgpeer_allowedip_count(p), 1);
	assert_int_equal(p->first_allowedip->cidr, 128);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(ntohs(p->endpoint.addr4.sin_port), 1000 + 0xa1);
	assert_true(p->flags & WGDIFF_PEER_RECREATE);
	memset(key, 0xb2, 32);
	assert_int_equal(wgpeer_allowedip_count(wgdev_find_peer(dev, key)), 0);
	assert_false(wgdev_find_peer(dev, key)->flags & WGDIFF_PEER_RECREATE);
	memset(key, 0xc3, 32);
	p = wgdev_find_peer(dev, key);
	assert_int_equal(wgpeer_allowedip_count(p), 0);
	/* no endpoint, no keepalive: it could not be sent */
	assert_int_equal(p->endpoint.addr.sa_family, AF_UNSPEC);
	assert_int_equal(p->persistent_keepalive_interval, 0);
	memset(key, 0xd4, 32);
	assert_int_equal(wgpeer_allowedip_count(wgdev_find_peer(dev, key)), 0);
	wgdev_free(dev);
	pt_free(pt);
}

static void test_mpcheck(void **state)
{
	/* {"a":[1,2]} and friends */
	const uint8_t ok1[] = {0x81, 0xa1, 'a', 0x92, 0x01, 0x02};
	const uint8_t huge_array[] = {0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff};
	const uint8_t huge_map[] = {0xdf, 0x00, 0x10, 0x00, 0x00, 0x01, 0x02};
	const uint8_t trailing[] = {0x01, 0x02};
	const uint8_t reserved[] = {0xc1};
	const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x01};
	const uint8_t bin_short[] = {0xc4, 0x05, 1, 2};

	(void)state;
	assert_true(mp_check(ok1, sizeof(ok1), 4));
	assert_false(mp_check(huge_array, sizeof(huge_array), 4));
	assert_false(mp_check(huge_map, sizeof(huge_map), 4));
	assert_false(mp_check(trailing, sizeof(trailing), 4));
	assert_false(mp_check(reserved, sizeof(reserved), 4));
	assert_false(mp_check(deep, sizeof(deep), 4));
	assert_true(mp_check(deep, sizeof(deep), 6));
	assert_false(mp_check(bin_short, sizeof(bin_short), 4));
	assert_int_equal(ann_decode(huge_array, sizeof(huge_array), NULL), W2W_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announce_roundtrip),
		cmocka_unit_test(test_announce_rejects),
		cmocka_unit_test(test_ipam_range),
		cmocka_unit_test(test_ipam_candidates),
		cmocka_unit_test(test_ipam_rule),
		cmocka_unit_test(test_ipam_many_nodes_no_duplicates),
		cmocka_unit_test(test_peertable),
		cmocka_unit_test(test_peertable_tombstone),
		cmocka_unit_test(test_peertable_tombstone_bound),
		cmocka_unit_test(test_nodestate),
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_mpcheck),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
