/* SPDX-License-Identifier: MIT */
/*
 * What a peer can send inside an established connection: two conn engines
 * (p2p/conn.h) complete the real upgrade in memory (pnet, mss, Noise, mss,
 * yamux; seeded rng, so the same keys every run), then the input goes to the
 * responder as decrypted bytes from the initiator, i.e. raw yamux frames and,
 * inside them, stream negotiation, identify, ping, meshsub and echo traffic.
 * Byte 0 picks the chunk size. Checks: the responder either stays healthy or
 * fails with a reason; its memory stays bounded; everything is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ident.h"
#include "identify.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t psk[32] = { 0x42 };

static void move(struct conn *from, struct conn *to, uint64_t now)
{
	const uint8_t *p;
	size_t n;

	conn_output(from, &p, &n);
	if (n) {
		conn_feed(to, p, n, now);
		conn_consume(from, n, now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed_a[32] = { 1 }, seed_b[32] = { 2 };
	struct rng_seeded s;
	struct rng r;
	struct ident *ia = NULL, *ib = NULL;
	struct identify_info info_a, info_b;
	struct conn_config cc = { 0 };
	struct conn *a = NULL, *b = NULL;
	uint64_t now = 1000000;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = 1 + (size_t)data[0] * 8;
	data++;
	size--;
	rng_seeded_init(&s, &r, 1);
	if (ident_from_seed(&ia, seed_a) < 0 || ident_from_seed(&ib, seed_b) < 0)
		abort();
	identify_info_init(&info_a);
	identify_set_public_key(&info_a, ident_pubkey_pb(ia), IDENT_PUBPB_LEN);
	identify_info_init(&info_b);
	identify_set_public_key(&info_b, ident_pubkey_pb(ib), IDENT_PUBPB_LEN);
	identify_add_protocol(&info_b, "/ipfs/ping/1.0.0");
	cc.psk = psk;
	cc.rng = &r;
	cc.self_info = &info_a;
	cc.gossipsub = true;
	cc.echo = true;
	cc.initiator = true;
	cc.identity = ia;
	if (conn_new(&a, &cc, now) < 0)
		abort();
	cc.initiator = false;
	cc.identity = ib;
	cc.self_info = &info_b;
	if (conn_new(&b, &cc, now) < 0)
		abort();
	/* Upgrade, then let both settle (identify both ways) so that the
	 * initiator has nothing more of its own to send: from here on only the
	 * fuzz input goes from a to b, and b's answers are discarded. */
	for (int i = 0; i < 100; i++) {
		const uint8_t *p;
		size_t na, nb;

		move(a, b, now);
		move(b, a, now);
		conn_output(a, &p, &na);
		conn_output(b, &p, &nb);
		if (!na && !nb && conn_state(a) == CONN_S_READY && conn_state(b) == CONN_S_READY)
			break;
	}
	if (conn_state(a) != CONN_S_READY || conn_state(b) != CONN_S_READY)
		abort();
	for (size_t off = 0; off < size && !conn_done(b); off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		const uint8_t *p;
		size_t nb;

		if (conn_write_raw(a, data + off, n) < 0)
			break;
		now += 1000;
		move(a, b, now);
		conn_output(b, &p, &nb);
		conn_consume(b, nb, now);
		conn_tick(b, now);
	}
	/* Let deadlines fire. */
	now += 60ull * 1000 * 1000;
	conn_tick(b, now);
	if (conn_done(b) && conn_reason(b)[0] == 0)
		abort(); /* every failure names its reason */
	if (conn_memory(b) > (64u << 20))
		abort();
	conn_free(a);
	conn_free(b);
	ident_free(ia);
	ident_free(ib);
	return 0;
}
