/* SPDX-License-Identifier: MIT */
/*
 * A DNS/mDNS datagram from the LAN. Checks: the parser accepts or refuses
 * without reading out of bounds; whatever it accepts re-encodes (names
 * decompressed) into a message that parses to the same questions and records
 * (round trip); the mDNS engine fed the datagram keeps its table bounded and
 * everything it sends parses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "err.h"
#include "mdns.h"
#include "peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_msg a, b;
static uint8_t out[DNS_MSG_MAX];

static void same_name(const struct dns_name *x, const struct dns_name *y)
{
	if (x->len != y->len || memcmp(x->b, y->b, x->len))
		abort();
}

static void round_trip(void)
{
	struct dnsw w;
	int n;

	dnsw_init(&w, out, sizeof(out), a.id, a.flags);
	for (size_t i = 0; i < a.nq; i++)
		dnsw_question(&w, &a.q[i].name, a.q[i].type, a.q[i].qclass);
	for (size_t i = 0; i < a.nrr; i++)
		dnsw_rr(&w, &a.rr[i]);
	n = dnsw_finish(&w);
	if (n == W2W_ELIMIT)
		return; /* decompressed it no longer fits 9000 bytes */
	if (n < 0 || dns_parse(&b, out, (size_t)n) < 0)
		abort();
	if (b.id != a.id || b.flags != a.flags || b.nq != a.nq || b.nrr != a.nrr || b.dropped)
		abort();
	for (size_t i = 0; i < a.nq; i++) {
		same_name(&a.q[i].name, &b.q[i].name);
		if (a.q[i].type != b.q[i].type || a.q[i].qclass != b.q[i].qclass)
			abort();
	}
	for (size_t i = 0; i < a.nrr; i++) {
		const struct dns_rr *x = &a.rr[i], *y = &b.rr[i];

		same_name(&x->name, &y->name);
		if (x->type != y->type || x->rclass != y->rclass || x->ttl != y->ttl ||
		    x->section != y->section)
			abort();
		if (x->type == DNS_T_PTR)
			same_name(&x->u.target, &y->u.target);
		else if (x->type == DNS_T_SRV)
			same_name(&x->u.srv.target, &y->u.srv.target);
		else if (x->rdlen != y->rdlen || memcmp(x->rdata, y->rdata, x->rdlen))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdns *m;
	static struct peerid self;
	static uint64_t now;
	struct mdns_found f;
	int n;

	if (dns_parse(&a, data, size) == 0) {
		for (size_t i = 0; i < a.nq; i++)
			if (a.q[i].name.len == 0)
				abort();
		round_trip();
	}
	if (!m) {
		static const uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20, 1, 2, 3};
		struct mdns_cfg cfg = {
		    .version = 1, .self = &self, .peer_name = "fuzz", .respond = true, .query = true};
		static const uint8_t addr[] = {0x04, 10,   0,    0,
		                               1,    0x06, 0x0f, 0xa1}; /* /ip4/10.0.0.1/tcp/4001 */
		const uint8_t *ap[1] = {addr};
		size_t al[1] = {sizeof(addr)};

		if (peerid_from_pubkey_pb(&self, pb, sizeof(pb)) < 0 || mdns_new(&m, &cfg, 0) < 0)
			abort();
		mdns_set_addrs(m, ap, al, 1, 0);
	}
	now += 100000;
	mdns_input(m, data, size, MDNS_PORT, now);
	mdns_tick(m, now);
	if (mdns_candidates(m) > MDNS_MAX_CANDIDATES)
		abort();
	while (mdns_poll_event(m, &f, now) == 1)
		if (f.naddrs == 0 || f.naddrs > MDNS_MAX_PEER_ADDRS || peerid_eq(&f.peer, &self))
			abort();
	while ((n = mdns_poll_send(m, out, sizeof(out), now)) != 0)
		if (n < 0 || n > MDNS_PKT_MAX || dns_parse(&b, out, (size_t)n) < 0)
			abort();
	return 0;
}
