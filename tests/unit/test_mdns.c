/* SPDX-License-Identifier: MIT */
/* DNS message codec and the mDNS discovery engine, against packets captured from js-libp2p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsmsg.h"
#include "err.h"
#include "hex.h"
#include "mdns.h"
#include "mdns_fixtures.h"
#include "multiaddr.h"
#include "peerid.h"
#include "rng.h"

#define SEC 1000000ull

static size_t unhex(uint8_t *out, size_t cap, const char *h)
{
	int n = hex_decode(out, cap, h, strlen(h));

	assert_true(n > 0);
	return (size_t)n;
}

static void fake_peer(struct peerid *id, uint32_t k)
{
	uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

	for (int i = 0; i < 32; i++)
		pb[4 + i] = (uint8_t)(k >> (8 * (i % 4))) ^ (uint8_t)(i * 37);
	assert_int_equal(peerid_from_pubkey_pb(id, pb, sizeof(pb)), 0);
}

static void name(struct dns_name *n, const char *s)
{
	assert_int_equal(dns_name_from_text(n, s), 0);
}

static void addr_text(const struct mdns_found *f, size_t i, char *out, size_t cap)
{
	assert_true(ma_format(out, cap, f->addr[i], f->addr_len[i]) > 0);
}

/* --- codec --- */

static void test_js_query(void **state)
{
	uint8_t pkt[64], out[64];
	size_t n = unhex(pkt, sizeof(pkt), JS_QUERY_HEX);
	static struct dns_msg m;
	struct dns_name svc;
	struct dnsw w;
	char text[DNS_TEXT_MAX];

	(void)state;
	assert_int_equal(dns_parse(&m, pkt, n), 0);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.nq, 1);
	assert_int_equal(m.nrr, 0);
	name(&svc, "_p2p._udp.local.");
	assert_true(dns_name_eq(&m.q[0].name, &svc));
	assert_int_equal(m.q[0].type, DNS_T_PTR);
	assert_int_equal(m.q[0].qclass, DNS_C_IN);
	assert_int_equal(dns_name_to_text(text, sizeof(text), &m.q[0].name), 15);
	assert_string_equal(text, "_p2p._udp.local");
	assert_int_equal(dns_name_to_text(text, 15, &m.q[0].name), -ENOSPC);
	/* Our builder makes the same bytes. */
	dnsw_init(&w, out, sizeof(out), 0, 0);
	dnsw_question(&w, &svc, DNS_T_PTR, DNS_C_IN);
	assert_int_equal(dnsw_finish(&w), (int)n);
	assert_memory_equal(out, pkt, n);
}

static void test_js_response(void **state)
{
	uint8_t pkt[512], out[512];
	size_t n = unhex(pkt, sizeof(pkt), JS_RESPONSE_HEX), off = 0, sl;
	static struct dns_msg m;
	struct dns_name svc, inst;
	const uint8_t *s;
	struct dnsw w;

	(void)state;
	assert_int_equal(dns_parse(&m, pkt, n), 0);
	assert_int_equal(m.flags, DNS_F_QR | DNS_F_AA);
	assert_int_equal(m.nq, 0);
	assert_int_equal(m.nrr, 2);
	name(&svc, "_p2p._udp.local");
	name(&inst, JS_PEER_NAME "._p2p._udp.local");
	assert_int_equal(m.rr[0].type, DNS_T_PTR);
	assert_int_equal(m.rr[0].section, DNS_AN);
	assert_int_equal(m.rr[0].ttl, 120);
	assert_true(dns_name_eq(&m.rr[0].name, &svc));
	assert_true(dns_name_eq(&m.rr[0].u.target, &inst));
	assert_int_equal(m.rr[1].type, DNS_T_TXT);
	assert_int_equal(m.rr[1].section, DNS_AN);
	assert_true(dns_name_eq(&m.rr[1].name, &inst));
	assert_int_equal(dns_txt_next(m.rr[1].rdata, m.rr[1].rdlen, &off, &s, &sl), 1);
	assert_int_equal(sl, strlen("dnsaddr=/ip4/127.0.0.1/tcp/4001/p2p/" JS_PEER_ID));
	assert_memory_equal(s, "dnsaddr=/ip4/127.0.0.1/tcp/4001/p2p/" JS_PEER_ID, sl);
	assert_int_equal(dns_txt_next(m.rr[1].rdata, m.rr[1].rdlen, &off, &s, &sl), 0);
	/* Re-encoding gives the captured bytes back. */
	dnsw_init(&w, out, sizeof(out), m.id, m.flags);
	for (size_t i = 0; i < m.nrr; i++)
		dnsw_rr(&w, &m.rr[i]);
	assert_int_equal(dnsw_finish(&w), (int)n);
	assert_memory_equal(out, pkt, n);
	/* Every truncation fails cleanly. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(dns_parse(&m, pkt, k), W2W_EPARSE);
}

/* Header with qd/an counts, then the bytes given. */
static size_t mk(uint8_t *out, uint16_t qd, uint16_t an, const char *body_hex)
{
	uint8_t h[12] = {0, 0, 0x84, 0, (uint8_t)(qd >> 8), (uint8_t)qd, (uint8_t)(an >> 8), (uint8_t)an,
	                 0, 0, 0,    0};

	memcpy(out, h, 12);
	return 12 + (*body_hex ? unhex(out + 12, 1000, body_hex) : 0);
}

static void test_compression(void **state)
{
	uint8_t p[1200];
	static struct dns_msg m;
	struct dns_name want;
	size_t n;

	(void)state;
	/* Question _p2p._udp.local at 12; answer owner = pointer to 12, PTR
	 * target "abc" + pointer to 12 (how avahi and go write). */
	n = mk(p, 1, 1,
	       "045f703270045f756470056c6f63616c00000c0001"
	       "c00c000c000100000078000603616263c00c");
	assert_int_equal(dns_parse(&m, p, n), 0);
	name(&want, "abc._p2p._udp.local");
	assert_true(dns_name_eq(&m.rr[0].u.target, &want));
	name(&want, "_P2P._UDP.LOCAL");
	assert_true(dns_name_eq(&m.rr[0].name, &want));
	/* A pointer to itself, forward, into the header, and a two-pointer loop. */
	n = mk(p, 1, 0, "c00c000c0001");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 1, 0, "c00e000c000100");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 1, 0, "c002000c0001");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 2, 0,
	       "0161c010000c0001"
	       "0162c00c000c0001");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	/* Extended label types (01xxxxxx, 10xxxxxx). */
	n = mk(p, 1, 0, "4100000c0001");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 1, 0, "8100000c0001");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	/* Counts larger than the message, trailing bytes. */
	n = mk(p, 0, 0xffff, "");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 1, 0, "00000c0001ff");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 1, 0, "00000c0001");
	assert_int_equal(dns_parse(&m, p, n), 0);
	/* A record with the wrong rdata size; a TXT string running past its rdata. */
	n = mk(p, 0, 1, "0000010001000000780003010203");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	n = mk(p, 0, 1, "00001000010000007800020561");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
	/* PTR rdata longer than its name. */
	n = mk(p, 0, 1, "00000c000100000078000200ff");
	assert_int_equal(dns_parse(&m, p, n), W2W_EPARSE);
}

/* The shape go-libp2p (zeroconf) and avahi answer with: PTR in the answers;
 * TXT, SRV, A and AAAA in the additional records; names compressed; cache-flush
 * bits. Also tests/fuzz/corpus/dnsmsg/compressed-go-style. */
#define GO_STYLE_HEX                                                                                         \
	"000084000000000100000004045f703270045f756470056c6f63616c00000c00010000007800070470656572c00cc02700" \
	"10800100000078005857646e73616464723d2f6970342f31302e302e302e352f7463702f343030312f7032702f3132"     \
	"44334b6f6f574631336a48384a4669794174717a726f504e37776f6e516e646a643336567869335344724745336f6e"     \
	"367972c0270021800100000078000d000000000fa10468737431c00c0468737431c00c000180010000007800040a00"     \
	"00050468737431c00c001c800100000078001000000000000000000000000000000001"

static void test_go_style(void **state)
{
	uint8_t pkt[512];
	size_t n = unhex(pkt, sizeof(pkt), GO_STYLE_HEX);
	static struct dns_msg m;
	struct dns_name want;
	struct mdns *e;
	struct mdns_cfg cfg = {.version = 1, .peer_name = "me", .query = true};
	struct peerid self, js;
	struct mdns_found f;
	char t[MA_MAX_TEXT];

	(void)state;
	assert_int_equal(dns_parse(&m, pkt, n), 0);
	assert_int_equal(m.nrr, 5);
	name(&want, "peer._p2p._udp.local");
	assert_true(dns_name_eq(&m.rr[0].u.target, &want));
	assert_true(dns_name_eq(&m.rr[1].name, &want));
	assert_int_equal(m.rr[1].rclass, DNS_C_IN | DNS_CLASS_TOP);
	assert_int_equal(m.rr[2].type, DNS_T_SRV);
	assert_int_equal(m.rr[2].u.srv.port, 4001);
	name(&want, "hst1._p2p._udp.local");
	assert_true(dns_name_eq(&m.rr[2].u.srv.target, &want));
	assert_int_equal(m.rr[3].type, DNS_T_A);
	assert_int_equal(m.rr[3].u.ip[0], 10);
	assert_int_equal(m.rr[4].type, DNS_T_AAAA);
	assert_int_equal(m.rr[4].section, DNS_AR);
	fake_peer(&self, 5);
	cfg.self = &self;
	assert_int_equal(mdns_new(&e, &cfg, 0), 0);
	mdns_input(e, pkt, n, MDNS_PORT, 0);
	assert_int_equal(mdns_poll_event(e, &f, 0), 1);
	assert_int_equal(peerid_parse(&js, JS_PEER_ID, strlen(JS_PEER_ID)), 0);
	assert_true(peerid_eq(&f.peer, &js));
	addr_text(&f, 0, t, sizeof(t));
	assert_string_equal(t, "/ip4/10.0.0.5/tcp/4001");
	mdns_free(e);
}

static void test_name_limits(void **state)
{
	static struct dns_msg m;
	struct dns_name nm;
	char s[400], hexs[2400];
	uint8_t p[1400];
	size_t o = 0;

	(void)state;
	assert_int_equal(dns_name_from_text(&nm, "a..b"), W2W_EPARSE);
	assert_int_equal(dns_name_from_text(&nm, ".a"), W2W_EPARSE);
	memset(s, 'a', 64);
	s[64] = 0;
	assert_int_equal(dns_name_from_text(&nm, s), W2W_EPARSE);
	s[63] = 0;
	assert_int_equal(dns_name_from_text(&nm, s), 0);
	/* 4 x 63-byte labels = 257 bytes in wire form: too long. */
	for (int i = 1; i < 4; i++) {
		s[64 * i - 1] = '.';
		memset(s + 64 * i, 'a', 63);
	}
	s[255] = 0;
	assert_int_equal(dns_name_from_text(&nm, s), W2W_EPARSE);
	/* The same through compression: a 254-byte name, then one more label pointing at it. */
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;

		o += (size_t)snprintf(hexs + o, sizeof(hexs) - o, "%02x", len);
		for (int i = 0; i < len; i++)
			o += (size_t)snprintf(hexs + o, sizeof(hexs) - o, "61");
	}
	o += (size_t)snprintf(hexs + o, sizeof(hexs) - o, "00000c0001");
	assert_int_equal(dns_parse(&m, p, mk(p, 1, 0, hexs)), 0);
	assert_int_equal(m.q[0].name.len, 255);
	snprintf(hexs + o, sizeof(hexs) - o, "0162c00c000c0001");
	assert_int_equal(dns_parse(&m, p, mk(p, 2, 0, hexs)), W2W_EPARSE);
	/* Escaped text of hostile bytes. */
	nm.len = 5;
	memcpy(nm.b, "\x03\x01.\\\x00", 5);
	assert_int_equal(dns_name_to_text(s, sizeof(s), &nm), 12);
	assert_string_equal(s, "\\001\\046\\092");
}

static void test_builder_limits(void **state)
{
	uint8_t buf[64];
	struct dns_name nm;
	struct dnsw w;
	const uint8_t *strs[1];
	size_t lens[1] = {256};
	static uint8_t big[300];

	(void)state;
	name(&nm, "_p2p._udp.local");
	dnsw_init(&w, buf, 20, 0, 0);
	dnsw_question(&w, &nm, DNS_T_PTR, DNS_C_IN);
	assert_int_equal(dnsw_finish(&w), W2W_ELIMIT);
	dnsw_init(&w, buf, sizeof(buf), 0, 0);
	strs[0] = big;
	dnsw_txt(&w, DNS_AN, &nm, DNS_C_IN, 1, strs, lens, 1);
	assert_int_equal(dnsw_finish(&w), W2W_EPARSE);
	/* Sections out of order. */
	dnsw_init(&w, buf, sizeof(buf), 0, 0);
	dnsw_raw(&w, DNS_AR, &nm, 99, DNS_C_IN, 1, NULL, 0);
	dnsw_question(&w, &nm, DNS_T_PTR, DNS_C_IN);
	assert_int_equal(dnsw_finish(&w), W2W_EPARSE);
}

/* --- engine --- */

struct node {
	struct rng_seeded rs;
	struct rng rng;
	struct peerid id;
	struct mdns *m;
};

static void node_init(struct node *n, uint32_t k, const char *addr, uint64_t now)
{
	struct mdns_cfg cfg = {.version = 1, .respond = true, .query = true};
	uint8_t bin[MA_MAX_BIN];
	const uint8_t *a[1] = {bin};
	size_t l[1];
	int r;

	rng_seeded_init(&n->rs, &n->rng, k);
	fake_peer(&n->id, k);
	cfg.self = &n->id;
	cfg.rng_fill = n->rng.fill;
	cfg.rng_ud = n->rng.ud;
	assert_int_equal(mdns_new(&n->m, &cfg, now), 0);
	assert_int_equal(strlen(mdns_peer_name(n->m)), MDNS_PEER_NAME_LEN);
	if (addr) {
		r = ma_parse(bin, sizeof(bin), addr, strlen(addr));
		assert_true(r > 0);
		l[0] = (size_t)r;
		assert_int_equal(mdns_set_addrs(n->m, a, l, 1, now), 1);
	}
}

static void test_engine_js(void **state)
{
	struct node a;
	uint8_t pkt[512], out[MDNS_PKT_MAX];
	size_t n;
	struct mdns_found f;
	struct peerid js;
	char t[MA_MAX_TEXT];
	static struct dns_msg d;
	int len;

	(void)state;
	node_init(&a, 1, "/ip4/10.1.2.3/tcp/4001", 0);
	/* First: our query, then our own answer (the spec: answer your own query). */
	len = mdns_poll_send(a.m, out, sizeof(out), 0);
	n = unhex(pkt, sizeof(pkt), JS_QUERY_HEX);
	assert_int_equal(len, (int)n);
	assert_memory_equal(out, pkt, n);
	len = mdns_poll_send(a.m, out, sizeof(out), 0);
	assert_true(len > 0);
	assert_int_equal(mdns_poll_send(a.m, out, sizeof(out), 0), 0);
	assert_int_equal(mdns_next_deadline(a.m), MDNS_DEFAULT_INTERVAL_US);
	/* The js answer, from port 5353: a candidate with the js peer ID and address. */
	n = unhex(pkt, sizeof(pkt), JS_RESPONSE_HEX);
	mdns_input(a.m, pkt, n, 40000, SEC);
	assert_int_equal(mdns_candidates(a.m), 0); /* RFC 6762 11: wrong source port */
	mdns_input(a.m, pkt, n, MDNS_PORT, SEC);
	assert_int_equal(mdns_poll_event(a.m, &f, SEC), 1);
	assert_int_equal(peerid_parse(&js, JS_PEER_ID, strlen(JS_PEER_ID)), 0);
	assert_true(peerid_eq(&f.peer, &js));
	assert_int_equal(f.naddrs, 1);
	addr_text(&f, 0, t, sizeof(t));
	assert_string_equal(t, "/ip4/127.0.0.1/tcp/4001");
	assert_int_equal(mdns_poll_event(a.m, &f, SEC), 0);
	/* The same again: no new event (unchanged, recently announced). */
	mdns_input(a.m, pkt, n, MDNS_PORT, 2 * SEC);
	assert_int_equal(mdns_poll_event(a.m, &f, 2 * SEC), 0);
	/* The js query gets our answer, at most once a second. */
	n = unhex(pkt, sizeof(pkt), JS_QUERY_HEX);
	mdns_input(a.m, pkt, n, MDNS_PORT, 2 * SEC);
	len = mdns_poll_send(a.m, out, sizeof(out), 2 * SEC);
	assert_true(len > 0);
	assert_int_equal(dns_parse(&d, out, (size_t)len), 0);
	assert_int_equal(d.flags, DNS_F_QR | DNS_F_AA);
	assert_int_equal(d.nrr, 2);
	assert_int_equal(d.rr[0].type, DNS_T_PTR);
	assert_int_equal(d.rr[1].type, DNS_T_TXT);
	assert_int_equal(d.rr[1].section, DNS_AR);
	{
		size_t off = 0, sl;
		const uint8_t *s;
		char want[200], id[PEERID_STR_MAX];

		peerid_to_b58(id, sizeof(id), &a.id);
		snprintf(want, sizeof(want), "dnsaddr=/ip4/10.1.2.3/tcp/4001/p2p/%s", id);
		assert_int_equal(dns_txt_next(d.rr[1].rdata, d.rr[1].rdlen, &off, &s, &sl), 1);
		assert_int_equal(sl, strlen(want));
		assert_memory_equal(s, want, sl);
		assert_int_equal(dns_txt_next(d.rr[1].rdata, d.rr[1].rdlen, &off, &s, &sl), 0);
	}
	for (int i = 0; i < 100; i++)
		mdns_input(a.m, pkt, n, MDNS_PORT, 2 * SEC + 1000 * (uint64_t)i);
	assert_int_equal(mdns_poll_send(a.m, out, sizeof(out), 2 * SEC + 100000), 0);
	assert_int_equal(mdns_next_deadline(a.m), 3 * SEC);
	assert_true(mdns_poll_send(a.m, out, sizeof(out), 3 * SEC) > 0);
	/* Goodbye from js (TTL 0) forgets it; expiry does too. */
	n = unhex(pkt, sizeof(pkt), JS_RESPONSE_HEX);
	pkt[12 + 17 + 4 + 3] = 0; /* PTR TTL 120 -> 0 */
	assert_int_equal(mdns_candidates(a.m), 1);
	mdns_input(a.m, pkt, n, MDNS_PORT, 4 * SEC);
	assert_int_equal(mdns_candidates(a.m), 0);
	pkt[12 + 17 + 4 + 3] = 120;
	mdns_input(a.m, pkt, n, MDNS_PORT, 5 * SEC);
	assert_int_equal(mdns_candidates(a.m), 1);
	mdns_tick(a.m, 5 * SEC + 120 * SEC);
	assert_int_equal(mdns_candidates(a.m), 0);
	mdns_free(a.m);
}

static void test_engine_pair(void **state)
{
	struct node a, b;
	uint8_t out[MDNS_PKT_MAX];
	struct mdns_found f;
	char t[MA_MAX_TEXT];
	int len;

	(void)state;
	node_init(&a, 1, "/ip4/10.0.0.1/tcp/4001", 0);
	node_init(&b, 2, "/ip6/fd00::2/tcp/4002", 0);
	/* Everything each sends reaches both (multicast loop). */
	for (int round = 0; round < 4; round++) {
		struct node *from = round % 2 ? &b : &a;

		while ((len = mdns_poll_send(from->m, out, sizeof(out), 0)) > 0) {
			mdns_input(a.m, out, (size_t)len, MDNS_PORT, 0);
			mdns_input(b.m, out, (size_t)len, MDNS_PORT, 0);
		}
	}
	assert_int_equal(mdns_poll_event(a.m, &f, 0), 1);
	assert_true(peerid_eq(&f.peer, &b.id));
	addr_text(&f, 0, t, sizeof(t));
	assert_string_equal(t, "/ip6/fd00::2/tcp/4002");
	assert_int_equal(mdns_poll_event(a.m, &f, 0), 0);
	assert_int_equal(mdns_poll_event(b.m, &f, 0), 1);
	assert_true(peerid_eq(&f.peer, &a.id));
	assert_int_equal(mdns_poll_event(b.m, &f, 0), 0);
	assert_true(mdns_stats(a.m)->rx_self > 0);
	assert_int_equal(mdns_candidates(a.m), 1);
	mdns_free(a.m);
	mdns_free(b.m);
}

/* A response as a hostile host may send it: peer-name, TXT strings. */
static size_t fake_response(uint8_t *out, size_t cap, const char *label, const char *const *txt, size_t n,
                            uint32_t ttl)
{
	struct dns_name svc, inst;
	struct dnsw w;
	const uint8_t *s[8];
	size_t l[8];
	int len;

	name(&svc, MDNS_SERVICE);
	assert_int_equal(dns_name_prepend(&inst, (const uint8_t *)label, strlen(label), &svc), 0);
	for (size_t i = 0; i < n; i++) {
		s[i] = (const uint8_t *)txt[i];
		l[i] = strlen(txt[i]);
	}
	dnsw_init(&w, out, cap, 0, DNS_F_QR | DNS_F_AA);
	dnsw_ptr(&w, DNS_AN, &svc, DNS_C_IN, ttl, &inst);
	dnsw_txt(&w, DNS_AN, &inst, DNS_C_IN, ttl, s, l, n);
	len = dnsw_finish(&w);
	assert_true(len > 0);
	return (size_t)len;
}

static void test_hostile_records(void **state)
{
	struct node a;
	uint8_t pkt[MDNS_PKT_MAX];
	struct mdns_found f;
	struct peerid p1, p2;
	char id1[PEERID_STR_MAX], id2[PEERID_STR_MAX], s1[200], s2[200], s3[200];
	const char *txt[4];

	(void)state;
	node_init(&a, 1, NULL, 0);
	fake_peer(&p1, 100);
	fake_peer(&p2, 101);
	peerid_to_b58(id1, sizeof(id1), &p1);
	peerid_to_b58(id2, sizeof(id2), &p2);
	snprintf(s1, sizeof(s1), "dnsaddr=/ip4/10.0.0.9/tcp/1/p2p/%s", id1);
	snprintf(s2, sizeof(s2), "dnsaddr=/ip4/10.0.0.8/tcp/2/p2p/%s", id2); /* another peer: dropped */
	snprintf(s3, sizeof(s3), "dnsaddr=/ip4/10.0.0.7/udp/3/quic-v1/p2p/%s", id1); /* not dialable */
	txt[0] = "swarmkey=nothing-here";
	txt[1] = s1;
	txt[2] = s2;
	txt[3] = s3;
	mdns_input(a.m, pkt, fake_response(pkt, sizeof(pkt), "x", txt, 4, 120), MDNS_PORT, 0);
	assert_int_equal(mdns_poll_event(a.m, &f, 0), 1);
	assert_true(peerid_eq(&f.peer, &p1));
	assert_int_equal(f.naddrs, 1);
	assert_int_equal(mdns_stats(a.m)->addrs_rejected, 2);
	/* No usable address at all: nothing. */
	txt[0] = "dnsaddr=/ip4/999.0.0.1/tcp/1";
	txt[1] = "dnsaddr=/ip4/10.0.0.1/tcp/1"; /* no /p2p */
	mdns_input(a.m, pkt, fake_response(pkt, sizeof(pkt), "y", txt, 2, 120), MDNS_PORT, 0);
	assert_int_equal(mdns_poll_event(a.m, &f, 0), 0);
	/* Our own peer ID under another peer-name: ignored. */
	peerid_to_b58(id1, sizeof(id1), &a.id);
	snprintf(s1, sizeof(s1), "dnsaddr=/ip4/10.0.0.9/tcp/1/p2p/%s", id1);
	txt[0] = s1;
	mdns_input(a.m, pkt, fake_response(pkt, sizeof(pkt), "z", txt, 1, 120), MDNS_PORT, 0);
	assert_int_equal(mdns_poll_event(a.m, &f, 0), 0);
	assert_int_equal(mdns_candidates(a.m), 1);
	/* Garbage. */
	mdns_input(a.m, (const uint8_t *)"\x00\x01", 2, MDNS_PORT, 0);
	assert_int_equal(mdns_stats(a.m)->rx_bad, 1);
	mdns_free(a.m);
}

/* 10,000 distinct fake peers answering within 10 s: a fixed table, and
 * candidate events limited by the token bucket (8 at once, then 1/s). */
static void test_flood(void **state)
{
	struct node a, legit;
	uint8_t pkt[MDNS_PKT_MAX];
	struct mdns_found f;
	uint64_t now = 0, events = 0;
	char id[PEERID_STR_MAX], s[200], label[16];
	const char *txt[1] = {s};
	int len;

	(void)state;
	node_init(&a, 1, "/ip4/10.0.0.1/tcp/4001", 0);
	for (uint32_t k = 0; k < 10000; k++) {
		struct peerid p;

		fake_peer(&p, 1000 + k);
		peerid_to_b58(id, sizeof(id), &p);
		snprintf(s, sizeof(s), "dnsaddr=/ip4/10.%u.%u.%u/tcp/4001/p2p/%s", (k >> 16) & 255,
		         (k >> 8) & 255, k & 255, id);
		snprintf(label, sizeof(label), "f%u", k);
		now = (uint64_t)k * 1000; /* 1 ms apart: 10 s in all */
		mdns_input(a.m, pkt, fake_response(pkt, sizeof(pkt), label, txt, 1, 120), MDNS_PORT, now);
		mdns_tick(a.m, now);
		while (mdns_poll_event(a.m, &f, now) == 1)
			events++;
		while (mdns_poll_send(a.m, pkt, sizeof(pkt), now) > 0)
			;
		assert_true(mdns_candidates(a.m) <= MDNS_MAX_CANDIDATES);
	}
	/* burst (8) + one a second over 10 s */
	print_message("flood: %llu candidate events\n", (unsigned long long)events);
	assert_true(events <= 8 + now / SEC + 1);
	assert_true(events >= 8);
	assert_int_equal(mdns_candidates(a.m), MDNS_MAX_CANDIDATES);
	assert_true(mdns_stats(a.m)->candidates_evicted >= 10000 - MDNS_MAX_CANDIDATES);
	/* burst (8) + one a second over 10 s */
	/* After the flood a real peer that answers is announced with the next token. */
	now += 1000;
	node_init(&legit, 7, "/ip4/10.9.9.9/tcp/4001", now);
	while ((len = mdns_poll_send(legit.m, pkt, sizeof(pkt), now)) > 0)
		mdns_input(a.m, pkt, (size_t)len, MDNS_PORT, now);
	{
		bool found = false;

		for (uint64_t t = now; t <= now + SEC + 1000 && !found; t += SEC / 10) {
			mdns_tick(a.m, t);
			while (!found && mdns_poll_event(a.m, &f, t) == 1)
				found = peerid_eq(&f.peer, &legit.id);
		}
		assert_true(found);
	}
	mdns_free(legit.m);
	mdns_free(a.m);
}

static void test_cfg(void **state)
{
	struct mdns *m = NULL;
	struct peerid id;
	struct mdns_cfg cfg = {.version = 1, .peer_name = "abc", .respond = true};

	(void)state;
	assert_int_equal(mdns_new(&m, &cfg, 0), -EINVAL); /* no self */
	fake_peer(&id, 3);
	cfg.self = &id;
	cfg.peer_name = "Bad-Name";
	assert_int_equal(mdns_new(&m, &cfg, 0), -EINVAL);
	cfg.peer_name = "abc";
	cfg.query_interval_us = 1000;
	assert_int_equal(mdns_new(&m, &cfg, 0), -EINVAL);
	cfg.query_interval_us = 0;
	assert_null(m);
	assert_int_equal(mdns_new(&m, &cfg, 0), 0);
	assert_string_equal(mdns_peer_name(m), "abc");
	/* query = false: never sends a query; no addresses: never answers. */
	{
		uint8_t buf[MDNS_PKT_MAX];

		assert_int_equal(mdns_poll_send(m, buf, sizeof(buf), 0), 0);
		assert_int_equal(mdns_poll_send(m, buf, 10, 0), W2W_ELIMIT);
		assert_int_equal(mdns_goodbye(m, buf, sizeof(buf)), 0);
	}
	assert_int_equal(mdns_next_deadline(m), UINT64_MAX);
	assert_null(mdns_free(m));
	assert_null(mdns_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_js_query),
	    cmocka_unit_test(test_js_response),
	    cmocka_unit_test(test_compression),
	    cmocka_unit_test(test_go_style),
	    cmocka_unit_test(test_name_limits),
	    cmocka_unit_test(test_builder_limits),
	    cmocka_unit_test(test_engine_js),
	    cmocka_unit_test(test_engine_pair),
	    cmocka_unit_test(test_hostile_records),
	    cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_cfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
