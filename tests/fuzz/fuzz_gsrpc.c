/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub RPC decoder and router input path.
 *  1. The input as one RPC: if it decodes, every view lies inside the input,
 *     and encode -> decode reproduces the same elements (round trip).
 *  2. The input as a stream from a peer: a fresh router (subscribed to "test",
 *     the topic of the corpus' signed message) must survive it, stay within its
 *     limits, and still accept a peer afterwards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gossipsub.h"
#include "gsrpc.h"
#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct gsb v, const uint8_t *data, size_t size)
{
	if (v.n && (v.p < data || v.p + v.n > data + size))
		abort();
}

static void same(struct gsb a, struct gsb b)
{
	if (a.n != b.n || (a.n && memcmp(a.p, b.p, a.n) != 0))
		abort();
}

static void check_ids(const struct gsb *a, const struct gsb *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		same(a[i], b[i]);
}

static void roundtrip(const uint8_t *data, size_t size)
{
	const struct gsrpc_limits lim = {64, 64, 64, 256, 32};
	struct gsrpc r, d;
	struct buf b;

	if (gsrpc_decode(data, size, &lim, &r) < 0)
		return;
	for (size_t i = 0; i < r.n_subs; i++)
		inside(r.subs[i].topic, data, size);
	for (size_t i = 0; i < r.n_msgs; i++) {
		inside(r.msgs[i].raw, data, size);
		inside(r.msgs[i].data, data, size);
		inside(r.msgs[i].signature, data, size);
	}
	if (r.n_subs > 64 || r.n_msgs > 64 || r.n_ihave + r.n_iwant + r.n_graft + r.n_prune > 64)
		abort();
	buf_init(&b, 0);
	if (gsrpc_encode(&r, &b) < 0 || b.len != gsrpc_size(&r))
		abort();
	if (gsrpc_decode(b.data, b.len, NULL, &d) < 0)
		abort();
	if (d.n_subs != r.n_subs || d.n_msgs != r.n_msgs || d.n_ihave != r.n_ihave ||
	    d.n_iwant != r.n_iwant || d.n_graft != r.n_graft || d.n_prune != r.n_prune || d.truncated)
		abort();
	for (size_t i = 0; i < r.n_subs; i++) {
		if (d.subs[i].subscribe != r.subs[i].subscribe)
			abort();
		same(d.subs[i].topic, r.subs[i].topic);
	}
	for (size_t i = 0; i < r.n_msgs; i++) {
		if (d.msgs[i].has != r.msgs[i].has)
			abort();
		same(d.msgs[i].from, r.msgs[i].from);
		same(d.msgs[i].data, r.msgs[i].data);
		same(d.msgs[i].seqno, r.msgs[i].seqno);
		same(d.msgs[i].topic, r.msgs[i].topic);
		same(d.msgs[i].signature, r.msgs[i].signature);
		same(d.msgs[i].key, r.msgs[i].key);
	}
	for (size_t i = 0; i < r.n_ihave; i++) {
		same(d.ihave[i].topic, r.ihave[i].topic);
		if (d.ihave[i].n_ids != r.ihave[i].n_ids)
			abort();
		check_ids(d.ihave[i].ids, r.ihave[i].ids, r.ihave[i].n_ids);
	}
	for (size_t i = 0; i < r.n_iwant; i++) {
		if (d.iwant[i].n_ids != r.iwant[i].n_ids)
			abort();
		check_ids(d.iwant[i].ids, r.iwant[i].ids, r.iwant[i].n_ids);
	}
	for (size_t i = 0; i < r.n_graft; i++)
		same(d.graft[i], r.graft[i]);
	for (size_t i = 0; i < r.n_prune; i++) {
		if (d.prune[i].n_px != r.prune[i].n_px || d.prune[i].has_backoff != r.prune[i].has_backoff ||
		    d.prune[i].backoff != r.prune[i].backoff)
			abort();
		same(d.prune[i].topic, r.prune[i].topic);
		for (size_t j = 0; j < r.prune[i].n_px; j++) {
			same(d.prune[i].px[j].peer_id, r.prune[i].px[j].peer_id);
			same(d.prune[i].px[j].record, r.prune[i].px[j].record);
		}
	}
	gsrpc_free(&d);
	gsrpc_free(&r);
	buf_free(&b);
}

static void router(const uint8_t *data, size_t size)
{
	static struct ident *me, *peer;
	uint8_t seed[32] = {1};
	struct gs_config c;
	struct gs *gs;
	struct buf out;
	size_t half = size / 2;

	if (!me) {
		if (ident_from_seed(&me, seed) < 0)
			abort();
		seed[0] = 2;
		if (ident_from_seed(&peer, seed) < 0)
			abort();
	}
	gs_config_default(&c);
	c.max_rpc_size = 64 * 1024;
	c.max_topics_per_peer = 16;
	gs = gs_new(&c, me, NULL, NULL);
	if (!gs)
		abort();
	const struct peerid *p = ident_peerid(peer);

	gs_subscribe(gs, "test", 0);
	if (gs_add_peer(gs, p->b, p->len, GS_MESHSUB_11, 0) < 0)
		abort();
	/* Two chunks, a heartbeat between them: exercises reassembly and timers. */
	gs_on_bytes(gs, p->b, p->len, data, half, 1000);
	gs_heartbeat(gs, 2000000);
	gs_on_bytes(gs, p->b, p->len, data + half, size - half, 2000001);
	gs_heartbeat(gs, 3000000);
	buf_init(&out, 0);
	gs_take_output(gs, p->b, p->len, &out);
	if (gs_topic_count(gs) > 1 + 16 + 1)
		abort();
	buf_free(&out);
	gs_remove_peer(gs, p->b, p->len);
	if (gs_add_peer(gs, p->b, p->len, GS_MESHSUB_11, 4000000) < 0 || gs_peer_count(gs) != 1)
		abort();
	gs_free(gs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	roundtrip(data, size);
	router(data, size);
	return 0;
}
