/* SPDX-License-Identifier: MIT */
/*
 * How many messages per second one router verifies and forwards: a node with
 * eight peers (mesh of six) receives pre-signed 200-byte messages from one peer
 * and forwards each to its mesh. Wall-clock time, so a benchmark
 * (`meson test --benchmark`), not a test. Prints one line of numbers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "gossipsub.h"
#include "gsrpc.h"
#include "ident.h"

#define PEERS 8
#define MSGS 20000
#define DATA 200

static struct ident *mkident(int i)
{
	uint8_t seed[32] = {0};
	struct ident *id = NULL;

	seed[0] = (uint8_t)(i + 1);
	seed[1] = 0xbe;
	if (ident_from_seed(&id, seed) < 0)
		abort();
	return id;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One signed Message from `author`, appended to stream as an RPC frame. */
static void signed_frame(const struct ident *author, uint64_t seqno, struct buf *stream)
{
	uint8_t seq[8], sig[64], data[DATA];
	struct gsrpc_msg m = {0};
	struct buf in, raw;

	memset(data, 0x5a, sizeof(data));
	for (int k = 0; k < 8; k++)
		seq[k] = (uint8_t)(seqno >> (56 - 8 * k));
	m.has = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC;
	m.from = (struct gsb){ident_peerid(author)->b, ident_peerid(author)->len};
	m.data = (struct gsb){data, sizeof(data)};
	m.seqno = (struct gsb){seq, 8};
	m.topic = (struct gsb){(const uint8_t *)"bench", 5};
	buf_init(&in, 0);
	buf_init(&raw, 0);
	if (gsrpc_msg_sign_input(&m, &in) < 0)
		abort();
	ident_sign(author, in.data, in.len, sig);
	m.has |= GSRPC_HAS_SIG | GSRPC_HAS_KEY;
	m.signature = (struct gsb){sig, 64};
	m.key = (struct gsb){ident_pubkey_pb(author), IDENT_PUBPB_LEN};
	if (gsrpc_msg_encode(&m, &raw) < 0 || gsrpc_frame_raw_msg(raw.data, raw.len, 0, stream) < 0)
		abort();
	buf_free(&in);
	buf_free(&raw);
}

int main(void)
{
	struct ident *me = mkident(0), *author = mkident(1), *peers[PEERS];
	struct gs_config c;
	struct gs_stats st;
	struct gs *gs;
	struct buf stream, out, sub;
	struct gsrpc_sub s = {true, {(const uint8_t *)"bench", 5}};
	struct gsrpc r = {.subs = &s, .n_subs = 1};
	size_t off = 0;
	double t0, t1;

	gs_config_default(&c);
	gs = gs_new(&c, me, NULL, NULL);
	if (!gs)
		return 1;
	gs_subscribe(gs, "bench", 0);
	buf_init(&sub, 0);
	if (gsrpc_encode_lp(&r, 0, &sub) < 0)
		return 1;
	for (int i = 0; i < PEERS; i++) {
		const struct peerid *p;

		peers[i] = mkident(2 + i);
		p = ident_peerid(peers[i]);
		gs_add_peer(gs, p->b, p->len, GS_MESHSUB_11, 0);
		gs_on_bytes(gs, p->b, p->len, sub.data, sub.len, 0);
	}
	gs_heartbeat(gs, 0);
	buf_init(&stream, 0);
	buf_init(&out, 0);
	for (int i = 0; i < MSGS; i++)
		signed_frame(author, (uint64_t)i + 1, &stream);

	const struct peerid *p0 = ident_peerid(peers[0]);

	t0 = now_s();
	while (off < stream.len) {
		size_t n = stream.len - off < 65536 ? stream.len - off : 65536;

		gs_on_bytes(gs, p0->b, p0->len, stream.data + off, n, 1000);
		off += n;
		for (int i = 0; i < PEERS; i++) {
			buf_reset(&out);
			gs_take_output(gs, ident_peerid(peers[i])->b, ident_peerid(peers[i])->len, &out);
		}
	}
	t1 = now_s();
	gs_get_stats(gs, &st);
	printf("gossipsub verify+forward: %d messages of %d bytes in %.3f s = %.0f msg/s; forwarded %" PRIu64
	       " copies to a mesh of %zu; router memory %zu bytes\n",
	       MSGS, DATA, t1 - t0, (double)MSGS / (t1 - t0), st.forwarded, gs_mesh_count(gs, "bench"),
	       gs_memory(gs));
	buf_free(&stream);
	buf_free(&out);
	buf_free(&sub);
	gs_free(gs);
	for (int i = 0; i < PEERS; i++)
		ident_free(peers[i]);
	ident_free(me);
	ident_free(author);
	return st.delivered == MSGS ? 0 : 1;
}
