/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub router with a virtual clock. Two kinds of counterpart: real routers
 * wired back to back (pump()), and a scripted "fake peer" whose RPCs the test
 * builds with the codec and whose received RPCs it decodes (fp_send/fp_recv).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "buf.h"
#include "err.h"
#include "gossipsub.h"
#include "gsrpc.h"
#include "ident.h"
#include "peerid.h"
#include "rng.h"
#include "varint.h"

#define SEC 1000000ull
#define TOPIC "w2w:announces"
#define MAXN 20

/* ---- nodes ------------------------------------------------------------- */

struct node {
	struct gs *gs;
	struct ident *id;
	struct rng_seeded rs;
	struct rng rng;
	int idx;
	/* delivery log */
	unsigned delivered;
	uint8_t last_from[GS_PEERID_MAX];
	size_t last_from_len;
	uint8_t last_data[64];
	size_t last_len;
	uint64_t last_seqno;
	uint8_t last_id[GS_MSGID_MAX];
	size_t last_id_len;
	/* callbacks */
	unsigned px_calls, px_peers, drops;
	uint8_t px[16][GS_PEERID_MAX];
	size_t px_len[16];
	enum gs_drop_reason last_drop;
};

static void on_message(void *ud, const struct gs_message *m)
{
	struct node *n = ud;

	n->delivered++;
	memcpy(n->last_from, m->from, m->from_len);
	n->last_from_len = m->from_len;
	n->last_len = m->len < sizeof(n->last_data) ? m->len : sizeof(n->last_data);
	memcpy(n->last_data, m->data, n->last_len);
	n->last_seqno = m->seqno;
	memcpy(n->last_id, m->msgid, m->msgid_len);
	n->last_id_len = m->msgid_len;
	assert_string_equal(m->topic, TOPIC);
}

static void on_px(void *ud, const char *topic, const uint8_t *from, size_t from_len,
                  const struct gs_px_peer *p, size_t n)
{
	struct node *x = ud;

	(void)topic;
	(void)from;
	(void)from_len;
	x->px_calls++;
	for (size_t i = 0; i < n && x->px_peers < 16; i++, x->px_peers++) {
		memcpy(x->px[x->px_peers], p[i].peer_id, p[i].peer_id_len);
		x->px_len[x->px_peers] = p[i].peer_id_len;
	}
}

static void on_drop(void *ud, const uint8_t *peer, size_t len, enum gs_drop_reason why)
{
	struct node *n = ud;

	(void)peer;
	(void)len;
	n->drops++;
	n->last_drop = why;
}

static struct ident *mkident(int i)
{
	uint8_t seed[32];
	struct ident *id = NULL;

	memset(seed, 0, sizeof(seed));
	seed[0] = (uint8_t)(i + 1);
	seed[1] = 0x5a;
	assert_int_equal(ident_from_seed(&id, seed), 0);
	return id;
}

static void node_init(struct node *n, int i, const struct gs_config *base)
{
	struct gs_config c;

	memset(n, 0, sizeof(*n));
	n->idx = i;
	n->id = mkident(i);
	rng_seeded_init(&n->rs, &n->rng, 1000 + (uint64_t)i);
	if (base)
		c = *base;
	else
		gs_config_default(&c);
	c.cb = (struct gs_callbacks){n, on_message, on_px, NULL, on_drop, NULL, NULL};
	n->gs = gs_new(&c, n->id, &n->rng, NULL);
	assert_non_null(n->gs);
}

static void node_fini(struct node *n)
{
	gs_free(n->gs);
	ident_free(n->id);
}

static const struct peerid *pid(const struct node *n)
{
	return ident_peerid(n->id);
}

static void link2(struct node *a, struct node *b, uint64_t now)
{
	assert_int_equal(gs_add_peer(a->gs, pid(b)->b, pid(b)->len, GS_MESHSUB_11, now), 0);
	assert_int_equal(gs_add_peer(b->gs, pid(a)->b, pid(a)->len, GS_MESHSUB_11, now), 0);
}

/* Moves queued bytes between all linked nodes until quiet (bounded rounds). */
static void pump(struct node *ns, int n, uint64_t now)
{
	struct buf b;

	buf_init(&b, 0);
	for (int round = 0; round < 50; round++) {
		bool moved = false;

		for (int i = 0; i < n; i++) {
			for (int j = 0; j < n; j++) {
				if (i == j)
					continue;
				buf_reset(&b);
				if (gs_take_output(ns[i].gs, pid(&ns[j])->b, pid(&ns[j])->len, &b) > 0) {
					moved = true;
					gs_on_bytes(ns[j].gs, pid(&ns[i])->b, pid(&ns[i])->len, b.data, b.len,
					            now);
				}
			}
		}
		if (!moved)
			break;
	}
	buf_free(&b);
}

static void run(struct node *ns, int n, uint64_t *now, uint64_t until)
{
	for (int guard = 0; *now < until && guard < 100000; guard++) {
		uint64_t next = until;

		for (int i = 0; i < n; i++) {
			gs_heartbeat(ns[i].gs, *now);
			if (gs_next_deadline(ns[i].gs) < next)
				next = gs_next_deadline(ns[i].gs);
		}
		pump(ns, n, *now);
		*now = next > *now ? next : *now + 1;
	}
}

/* ---- fake peer --------------------------------------------------------- */

struct seen_rpc {
	unsigned rpcs, subs, unsubs, msgs, grafts, prunes, ihave_ids, iwant_ids, px;
	bool last_has_backoff;
	uint64_t last_backoff;
	uint8_t ihave[8][GS_MSGID_MAX];
	size_t ihave_len[8];
	struct buf msgraw; /* raw Message bytes of the last message seen */
};

static void fp_send(struct node *to, const struct node *fp, const struct gsrpc *r, uint64_t now)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(gsrpc_encode_lp(r, 0, &b), 0);
	gs_on_bytes(to->gs, pid(fp)->b, pid(fp)->len, b.data, b.len, now);
	buf_free(&b);
}

/* Decodes everything `from` queued for fp into s (accumulating). */
static void fp_recv(struct node *from, const struct node *fp, struct seen_rpc *s)
{
	struct buf b;
	size_t off = 0;

	buf_init(&b, 0);
	gs_take_output(from->gs, pid(fp)->b, pid(fp)->len, &b);
	while (off < b.len) {
		uint64_t len;
		int h = uvarint_decode(b.data + off, b.len - off, &len);
		struct gsrpc r;

		assert_true(h > 0);
		assert_int_equal(gsrpc_decode(b.data + off + h, (size_t)len, NULL, &r), 0);
		s->rpcs++;
		for (size_t i = 0; i < r.n_subs; i++) {
			if (r.subs[i].subscribe)
				s->subs++;
			else
				s->unsubs++;
		}
		s->msgs += r.n_msgs;
		if (r.n_msgs) {
			buf_reset(&s->msgraw);
			buf_append(&s->msgraw, r.msgs[r.n_msgs - 1].raw.p, r.msgs[r.n_msgs - 1].raw.n);
		}
		s->grafts += r.n_graft;
		for (size_t i = 0; i < r.n_prune; i++) {
			s->prunes++;
			s->px += r.prune[i].n_px;
			s->last_backoff = r.prune[i].backoff;
			s->last_has_backoff = r.prune[i].has_backoff;
		}
		for (size_t i = 0; i < r.n_ihave; i++) {
			for (size_t j = 0; j < r.ihave[i].n_ids; j++, s->ihave_ids++) {
				if (s->ihave_ids < 8) {
					memcpy(s->ihave[s->ihave_ids], r.ihave[i].ids[j].p,
					       r.ihave[i].ids[j].n);
					s->ihave_len[s->ihave_ids] = r.ihave[i].ids[j].n;
				}
			}
		}
		for (size_t i = 0; i < r.n_iwant; i++)
			s->iwant_ids += (unsigned)r.iwant[i].n_ids;
		gsrpc_free(&r);
		off += (size_t)h + (size_t)len;
	}
	buf_free(&b);
}

static void fp_sub(struct node *to, const struct node *fp, const char *topic, bool on, uint64_t now)
{
	struct gsrpc_sub s = {on, {(const uint8_t *)topic, strlen(topic)}};
	struct gsrpc r = {.subs = &s, .n_subs = 1};

	fp_send(to, fp, &r, now);
}

static void fp_graft(struct node *to, const struct node *fp, uint64_t now)
{
	struct gsb t = {(const uint8_t *)TOPIC, strlen(TOPIC)};
	struct gsrpc r = {.graft = &t, .n_graft = 1};

	fp_send(to, fp, &r, now);
}

static void fp_prune(struct node *to, const struct node *fp, uint64_t backoff_s, const struct gsrpc_px *px,
                     size_t npx, uint64_t now)
{
	struct gsrpc_prune p = {{(const uint8_t *)TOPIC, strlen(TOPIC)}, px, npx, true, backoff_s};
	struct gsrpc r = {.prune = &p, .n_prune = 1};

	fp_send(to, fp, &r, now);
}

/* A StrictSign message authored by `author` (js style: key included unless nokey). */
static void mkmsg(const struct node *author, const char *data, uint64_t seqno, struct buf *raw, bool nokey,
                  bool tamper)
{
	uint8_t seq[8], sig[64];
	struct gsrpc_msg m = {0};
	struct buf in;

	for (int i = 0; i < 8; i++)
		seq[i] = (uint8_t)(seqno >> (56 - 8 * i));
	m.has = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC;
	m.from = (struct gsb){pid(author)->b, pid(author)->len};
	m.data = (struct gsb){(const uint8_t *)data, strlen(data)};
	m.seqno = (struct gsb){seq, 8};
	m.topic = (struct gsb){(const uint8_t *)TOPIC, strlen(TOPIC)};
	buf_init(&in, 0);
	assert_int_equal(gsrpc_msg_sign_input(&m, &in), 0);
	ident_sign(author->id, in.data, in.len, sig);
	buf_free(&in);
	if (tamper)
		sig[5] ^= 1;
	m.has |= GSRPC_HAS_SIG | (nokey ? 0 : GSRPC_HAS_KEY);
	m.signature = (struct gsb){sig, 64};
	m.key = (struct gsb){ident_pubkey_pb(author->id), IDENT_PUBPB_LEN};
	assert_int_equal(gsrpc_msg_encode(&m, raw), 0);
}

static void fp_msg(struct node *to, const struct node *fp, const struct buf *raw, uint64_t now)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(gsrpc_frame_raw_msg(raw->data, raw->len, 0, &b), 0);
	gs_on_bytes(to->gs, pid(fp)->b, pid(fp)->len, b.data, b.len, now);
	buf_free(&b);
}

/* ---- tests ------------------------------------------------------------- */

/* Two routers: hello, GRAFT, publish; the receiver learns the author, bytes and seqno. */
static void test_two_nodes(void **state)
{
	struct node ns[2];
	uint64_t now = 0;
	struct gs_stats st;

	(void)state;
	node_init(&ns[0], 0, NULL);
	node_init(&ns[1], 1, NULL);
	assert_int_equal(gs_subscribe(ns[0].gs, TOPIC, now), 0);
	assert_int_equal(gs_subscribe(ns[1].gs, TOPIC, now), 0);
	link2(&ns[0], &ns[1], now);
	run(ns, 2, &now, 3 * SEC);
	assert_true(gs_in_mesh(ns[0].gs, TOPIC, pid(&ns[1])->b, pid(&ns[1])->len));
	assert_true(gs_in_mesh(ns[1].gs, TOPIC, pid(&ns[0])->b, pid(&ns[0])->len));
	assert_int_equal(gs_topic_peer_count(ns[0].gs, TOPIC), 1);
	assert_int_equal(gs_topic_peer_count(ns[0].gs, "other"), 0);
	{
		uint8_t ids[4][GS_PEERID_MAX];
		size_t lens[4];

		assert_int_equal(gs_mesh_peers(ns[0].gs, TOPIC, ids, lens, 4), 1);
		assert_int_equal(lens[0], pid(&ns[1])->len);
		assert_memory_equal(ids[0], pid(&ns[1])->b, lens[0]);
		assert_int_equal(gs_mesh_peers(ns[0].gs, "other", ids, lens, 4), 0);
	}

	assert_int_equal(gs_publish(ns[0].gs, TOPIC, "hello", 5, now), 0);
	assert_true(gs_output_pending(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len) > 5);
	pump(ns, 2, now);
	assert_int_equal(gs_output_pending(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len), 0);
	assert_int_equal(ns[1].delivered, 1);
	assert_int_equal(ns[0].delivered, 0); /* no self delivery */
	assert_int_equal(ns[1].last_len, 5);
	assert_memory_equal(ns[1].last_data, "hello", 5);
	assert_int_equal(ns[1].last_from_len, pid(&ns[0])->len);
	assert_memory_equal(ns[1].last_from, pid(&ns[0])->b, pid(&ns[0])->len);
	/* go message ID: from || seqno */
	assert_int_equal(ns[1].last_id_len, pid(&ns[0])->len + 8);
	assert_memory_equal(ns[1].last_id, pid(&ns[0])->b, pid(&ns[0])->len);
	assert_int_equal(ns[1].last_id[ns[1].last_id_len - 1], (uint8_t)ns[1].last_seqno);

	/* A second publish has a fresh seqno; a repeat of the old bytes is a duplicate. */
	uint64_t s1 = ns[1].last_seqno;
	assert_int_equal(gs_publish(ns[0].gs, TOPIC, "again", 5, now), 0);
	pump(ns, 2, now);
	assert_int_equal(ns[1].delivered, 2);
	assert_int_equal(ns[1].last_seqno, s1 + 1);

	/* Re-entrancy and argument checks. */
	assert_int_equal(gs_add_peer(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len, GS_MESHSUB_11, now),
	                 W2W_ESTATE);
	assert_int_equal(gs_add_peer(ns[0].gs, (const uint8_t *)"\x01\x02", 2, GS_MESHSUB_11, now),
	                 W2W_EPARSE);
	assert_int_equal(gs_on_bytes(ns[0].gs, (const uint8_t *)"zz", 2, "x", 1, now), -ENOENT);
	gs_get_stats(ns[1].gs, &st);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.drop_bad_sig + st.drop_unsigned + st.drop_author, 0);

	/* Removing the peer empties the mesh. */
	assert_int_equal(gs_remove_peer(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len), 0);
	assert_int_equal(gs_mesh_count(ns[0].gs, TOPIC), 0);
	assert_int_equal(gs_peer_count(ns[0].gs), 0);
	node_fini(&ns[0]);
	node_fini(&ns[1]);
}

/* js message IDs (key || seqno) and the publish/verify loop with them. */
static void test_msgid_js(void **state)
{
	struct gs_config c;
	struct node ns[2];
	uint64_t now = 0;

	(void)state;
	gs_config_default(&c);
	c.msgid_fn = GS_MSGID_KEY_SEQNO;
	node_init(&ns[0], 0, &c);
	node_init(&ns[1], 1, &c);
	gs_subscribe(ns[0].gs, TOPIC, now);
	gs_subscribe(ns[1].gs, TOPIC, now);
	link2(&ns[0], &ns[1], now);
	run(ns, 2, &now, 2 * SEC);
	gs_publish(ns[0].gs, TOPIC, "x", 1, now);
	pump(ns, 2, now);
	assert_int_equal(ns[1].delivered, 1);
	assert_int_equal(ns[1].last_id_len, IDENT_PUBPB_LEN + 8);
	assert_memory_equal(ns[1].last_id, ident_pubkey_pb(ns[0].id), IDENT_PUBPB_LEN);
	node_fini(&ns[0]);
	node_fini(&ns[1]);
}

/* Fully connected 16 nodes: every mesh stays within D_lo..D_hi and everyone gets everything. */
static void test_mesh_bounds(void **state)
{
	enum { N = 16 };
	struct node *ns = calloc(N, sizeof(*ns));
	uint64_t now = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		node_init(&ns[i], i, NULL);
		gs_subscribe(ns[i].gs, TOPIC, now);
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			link2(&ns[i], &ns[j], now);
	for (int s = 1; s <= 20; s++) {
		run(ns, N, &now, (uint64_t)s * SEC);
		if (s < 3)
			continue;
		for (int i = 0; i < N; i++) {
			size_t m = gs_mesh_count(ns[i].gs, TOPIC);

			assert_true(m >= 4 && m <= 12);
		}
	}
	/* Mesh membership is symmetric once settled. */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (i != j && gs_in_mesh(ns[i].gs, TOPIC, pid(&ns[j])->b, pid(&ns[j])->len))
				assert_true(gs_in_mesh(ns[j].gs, TOPIC, pid(&ns[i])->b, pid(&ns[i])->len));
	gs_publish(ns[3].gs, TOPIC, "m", 1, now);
	run(ns, N, &now, now + 2 * SEC);
	for (int i = 0; i < N; i++)
		assert_int_equal(ns[i].delivered, i == 3 ? 0 : 1);
	for (int i = 0; i < N; i++)
		node_fini(&ns[i]);
	free(ns);
}

/* Nodes started together: a relay forwards the first messages before any
 * heartbeat, because a peer's SUBSCRIBE grafts it while the mesh is below D_lo;
 * at most D_lo peers that way, never one in backoff, the heartbeat tops up to D. */
static void test_graft_on_subscribe(void **state)
{
	enum { N = 9 };
	struct node *ns = calloc(N, sizeof(*ns));
	struct seen_rpc s[N];
	struct gs_stats st;
	uint64_t now = 5 * SEC;
	unsigned grafts = 0;

	(void)state;
	memset(s, 0, sizeof(s));
	for (int i = 0; i < N; i++) {
		node_init(&ns[i], i, NULL);
		buf_init(&s[i].msgraw, 0);
	}
	/* 1. A relay (0) and two nodes that know only it; no heartbeat runs. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(gs_subscribe(ns[i].gs, TOPIC, now), 0);
	link2(&ns[0], &ns[1], now);
	link2(&ns[0], &ns[2], now);
	pump(ns, 3, now);
	assert_true(gs_in_mesh(ns[0].gs, TOPIC, pid(&ns[1])->b, pid(&ns[1])->len));
	assert_true(gs_in_mesh(ns[0].gs, TOPIC, pid(&ns[2])->b, pid(&ns[2])->len));
	assert_true(gs_in_mesh(ns[1].gs, TOPIC, pid(&ns[0])->b, pid(&ns[0])->len));
	assert_int_equal(gs_publish(ns[1].gs, TOPIC, "first", 5, now), 0);
	pump(ns, 3, now);
	assert_int_equal(ns[2].delivered, 1);
	assert_memory_equal(ns[2].last_from, pid(&ns[1])->b, pid(&ns[1])->len);
	gs_get_stats(ns[0].gs, &st);
	assert_int_equal(st.graft_early, 2);

	/* 2. Bounded: six more peers subscribe to the relay (fake peers 3..8):
	 * it grafts only up to D_lo (4) of all eight; the heartbeat does the rest. */
	for (int i = 3; i < N; i++)
		assert_int_equal(gs_add_peer(ns[0].gs, pid(&ns[i])->b, pid(&ns[i])->len, GS_MESHSUB_11, now), 0);
	for (int i = 3; i < N; i++)
		fp_sub(&ns[0], &ns[i], TOPIC, true, now);
	for (int i = 3; i < N; i++) {
		fp_recv(&ns[0], &ns[i], &s[i]);
		grafts += s[i].grafts;
	}
	assert_int_equal(grafts, 2);
	assert_int_equal(gs_mesh_count(ns[0].gs, TOPIC), 4);
	gs_get_stats(ns[0].gs, &st);
	assert_int_equal(st.graft_early, 4);

	/* 3. A peer in backoff is not grafted early: 8 PRUNEs the relay, leaves and
	 * subscribes again while the mesh is below D_lo. */
	for (int i = 1; i < N; i++) {
		if (i == 8)
			continue;
		assert_int_equal(gs_remove_peer(ns[0].gs, pid(&ns[i])->b, pid(&ns[i])->len), 0);
	}
	fp_prune(&ns[0], &ns[8], 60, NULL, 0, now);
	fp_sub(&ns[0], &ns[8], TOPIC, false, now);
	fp_sub(&ns[0], &ns[8], TOPIC, true, now);
	memset(&s[8].grafts, 0, sizeof(s[8].grafts));
	fp_recv(&ns[0], &ns[8], &s[8]);
	assert_int_equal(s[8].grafts, 0);
	assert_int_equal(gs_mesh_count(ns[0].gs, TOPIC), 0);
	gs_get_stats(ns[0].gs, &st);
	assert_int_equal(st.graft_early, 4);
	for (int i = 0; i < N; i++) {
		buf_free(&s[i].msgraw);
		node_fini(&ns[i]);
	}
	free(ns);
}

/* A PRUNE's backoff is honoured: no GRAFT to that peer before it ends (+ slack), then re-GRAFT. */
static void test_backoff(void **state)
{
	struct node a, f;
	struct seen_rpc s;
	uint64_t now = 0;

	(void)state;
	node_init(&a, 0, NULL);
	node_init(&f, 1, NULL); /* only its identity is used */
	memset(&s, 0, sizeof(s));
	buf_init(&s.msgraw, 0);
	gs_subscribe(a.gs, TOPIC, now);
	assert_int_equal(gs_add_peer(a.gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now), 0);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.subs, 1); /* the hello */
	fp_sub(&a, &f, TOPIC, true, now);
	gs_heartbeat(a.gs, now);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.grafts, 1);
	assert_true(gs_in_mesh(a.gs, TOPIC, pid(&f)->b, pid(&f)->len));

	fp_prune(&a, &f, 30, NULL, 0, now);
	assert_int_equal(gs_topic_peer_count(a.gs, TOPIC), 1); /* still subscribed, just not in the mesh */
	assert_false(gs_in_mesh(a.gs, TOPIC, pid(&f)->b, pid(&f)->len));
	for (uint64_t t = 1; t <= 29; t++) {
		now = t * SEC;
		gs_heartbeat(a.gs, now);
	}
	fp_recv(&a, &f, &s);
	assert_int_equal(s.grafts, 1); /* still in backoff (slack of one heartbeat) */

	/* Their early GRAFT is answered with PRUNE and not accepted. */
	fp_graft(&a, &f, now);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.prunes, 1);
	assert_int_equal(s.last_backoff, 60);
	assert_false(gs_in_mesh(a.gs, TOPIC, pid(&f)->b, pid(&f)->len));
	/* ...which restarted our backoff to 60 s (until 89 s, +1 heartbeat slack): nothing before 90 s. */
	for (uint64_t t = 30; t <= 89; t++)
		gs_heartbeat(a.gs, t * SEC);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.grafts, 1);
	for (uint64_t t = 90; t <= 92; t++)
		gs_heartbeat(a.gs, t * SEC);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.grafts, 2);
	assert_true(gs_in_mesh(a.gs, TOPIC, pid(&f)->b, pid(&f)->len));
	buf_free(&s.msgraw);
	node_fini(&a);
	node_fini(&f);
}

/* PX: offers in a PRUNE reach on_px; the host dials them and they join the mesh. We send PX when full. */
static void test_px(void **state)
{
	struct gs_config c;
	struct node ns[5];
	struct seen_rpc s;
	uint64_t now = 0;
	struct gsrpc_px px[2];

	(void)state;
	gs_config_default(&c);
	c.d_lo = 1;
	c.d = 2;
	c.d_hi = 2;
	for (int i = 0; i < 5; i++)
		node_init(&ns[i], i, &c);
	memset(&s, 0, sizeof(s));
	buf_init(&s.msgraw, 0);
	/* ns[1] plays the fake peer for ns[0]; it offers ns[2], ns[3] and ns[0] itself (ignored). */
	gs_subscribe(ns[0].gs, TOPIC, now);
	gs_add_peer(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len, GS_MESHSUB_11, now);
	fp_sub(&ns[0], &ns[1], TOPIC, true, now);
	gs_heartbeat(ns[0].gs, now);
	px[0] = (struct gsrpc_px){{pid(&ns[2])->b, pid(&ns[2])->len}, {NULL, 0}};
	px[1] = (struct gsrpc_px){{pid(&ns[0])->b, pid(&ns[0])->len}, {NULL, 0}};
	fp_prune(&ns[0], &ns[1], 60, px, 2, now);
	assert_int_equal(ns[0].px_calls, 1);
	assert_int_equal(ns[0].px_peers, 1);
	assert_memory_equal(ns[0].px[0], pid(&ns[2])->b, pid(&ns[2])->len);
	/* "Dial" the offer: ns[0] and ns[2] as real routers. */
	gs_subscribe(ns[2].gs, TOPIC, now);
	{
		struct node pair[2] = {ns[0], ns[2]};

		link2(&pair[0], &pair[1], now);
		run(pair, 2, &now, 3 * SEC);
		assert_true(gs_in_mesh(ns[0].gs, TOPIC, pid(&ns[2])->b, pid(&ns[2])->len));
	}

	/* ns[4] (fake) GRAFTs a node whose mesh is full (D_hi = 2): PRUNE carries PX. */
	gs_add_peer(ns[2].gs, pid(&ns[3])->b, pid(&ns[3])->len, GS_MESHSUB_11, now);
	gs_add_peer(ns[2].gs, pid(&ns[4])->b, pid(&ns[4])->len, GS_MESHSUB_11, now);
	fp_sub(&ns[2], &ns[3], TOPIC, true, now);
	fp_sub(&ns[2], &ns[4], TOPIC, true, now);
	fp_graft(&ns[2], &ns[3], now);
	assert_int_equal(gs_mesh_count(ns[2].gs, TOPIC), 2);
	fp_recv(&ns[2], &ns[4], &s);
	fp_graft(&ns[2], &ns[4], now);
	fp_recv(&ns[2], &ns[4], &s);
	assert_int_equal(s.prunes, 1);
	assert_int_equal(s.px, 2); /* the other two topic peers */
	assert_int_equal(gs_mesh_count(ns[2].gs, TOPIC), 2);
	buf_free(&s.msgraw);
	for (int i = 0; i < 5; i++)
		node_fini(&ns[i]);
}

/* IHAVE/IWANT: a peer outside the mesh learns of a message by IHAVE and fetches it; and we fetch
 * a message we missed from a peer's IHAVE. */
static void test_gossip_repair(void **state)
{
	struct gs_config c;
	struct node a, f;
	struct seen_rpc s;
	uint64_t now = 0;
	struct buf raw;

	(void)state;
	gs_config_default(&c);
	c.flood_publish = false; /* so the message goes to the mesh only and f misses it */
	node_init(&a, 0, &c);
	node_init(&f, 1, NULL);
	memset(&s, 0, sizeof(s));
	buf_init(&s.msgraw, 0);
	buf_init(&raw, 0);
	gs_subscribe(a.gs, TOPIC, now);
	gs_add_peer(a.gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
	fp_sub(&a, &f, TOPIC, true, now);
	gs_heartbeat(a.gs, now);
	fp_prune(&a, &f, 60, NULL, 0, now); /* f leaves a's mesh but stays a topic peer */
	fp_recv(&a, &f, &s);
	assert_int_equal(gs_publish(a.gs, TOPIC, "lost", 4, now), 0);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.msgs, 0);
	gs_heartbeat(a.gs, now + SEC);
	fp_recv(&a, &f, &s);
	assert_int_equal(s.ihave_ids, 1);
	{
		struct gsb id = {s.ihave[0], s.ihave_len[0]};
		struct gsrpc_iwant iw = {&id, 1};
		struct gsrpc r = {.iwant = &iw, .n_iwant = 1};

		/* Served at most 3 times per ID per peer (go/js retransmission limit). */
		for (int i = 0; i < 5; i++)
			fp_send(&a, &f, &r, now + SEC);
	}
	fp_recv(&a, &f, &s);
	assert_int_equal(s.msgs, 3);
	/* The fetched message is a valid signed message from a: verify by feeding it to a third router. */
	{
		struct node b;

		node_init(&b, 2, NULL);
		gs_subscribe(b.gs, TOPIC, now);
		gs_add_peer(b.gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
		fp_msg(&b, &f, &s.msgraw, now);
		assert_int_equal(b.delivered, 1);
		assert_memory_equal(b.last_data, "lost", 4);
		assert_memory_equal(b.last_from, pid(&a)->b, pid(&a)->len);
		node_fini(&b);
	}

	/* Other direction: f has a message (authored by f) that a never got; f announces it. */
	mkmsg(&f, "from f", 77, &raw, false, false);
	{
		uint8_t id[GS_MSGID_MAX];
		struct gsb gid = {id, pid(&f)->len + 8};
		struct gsrpc_ihave ih = {{(const uint8_t *)TOPIC, strlen(TOPIC)}, &gid, 1};
		struct gsrpc r = {.ihave = &ih, .n_ihave = 1};

		memcpy(id, pid(&f)->b, pid(&f)->len);
		memcpy(id + pid(&f)->len, "\0\0\0\0\0\0\0\x4d", 8);
		s.iwant_ids = 0;
		fp_send(&a, &f, &r, now + SEC);
		fp_recv(&a, &f, &s);
		assert_int_equal(s.iwant_ids, 1);
	}
	fp_msg(&a, &f, &raw, now + SEC);
	assert_int_equal(a.delivered, 1);
	assert_int_equal(a.last_seqno, 77);
	buf_free(&raw);
	buf_free(&s.msgraw);
	node_fini(&a);
	node_fini(&f);
}

/* Unsigned, badly signed and author-mismatched messages are dropped and counted; a forged copy
 * does not stop the genuine message with the same ID. */
static void test_bad_messages(void **state)
{
	struct node a, f, g;
	struct gs_stats st;
	struct buf raw;
	uint64_t now = 0;

	(void)state;
	node_init(&a, 0, NULL);
	node_init(&f, 1, NULL);
	node_init(&g, 2, NULL);
	buf_init(&raw, 0);
	gs_subscribe(a.gs, TOPIC, now);
	gs_add_peer(a.gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);

	mkmsg(&g, "forged", 5, &raw, false, true); /* bad signature */
	fp_msg(&a, &f, &raw, now);
	buf_reset(&raw);
	{
		/* key of f, from of g: author mismatch */
		uint8_t seq[8] = {0, 0, 0, 0, 0, 0, 0, 5}, sig[64] = {0};
		struct gsrpc_msg m = {
		    .has = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC |
		           GSRPC_HAS_SIG | GSRPC_HAS_KEY,
		    .from = {pid(&g)->b, pid(&g)->len},
		    .data = {(const uint8_t *)"x", 1},
		    .seqno = {seq, 8},
		    .topic = {(const uint8_t *)TOPIC, strlen(TOPIC)},
		    .signature = {sig, 64},
		    .key = {ident_pubkey_pb(f.id), IDENT_PUBPB_LEN},
		};
		gsrpc_msg_encode(&m, &raw);
		fp_msg(&a, &f, &raw, now);
		/* unsigned: same without signature and key */
		m.has &= ~(unsigned)(GSRPC_HAS_SIG | GSRPC_HAS_KEY);
		buf_reset(&raw);
		gsrpc_msg_encode(&m, &raw);
		fp_msg(&a, &f, &raw, now);
		/* 4-byte seqno */
		m.has |= GSRPC_HAS_SIG;
		m.seqno.n = 4;
		buf_reset(&raw);
		gsrpc_msg_encode(&m, &raw);
		fp_msg(&a, &f, &raw, now);
	}
	assert_int_equal(a.delivered, 0);
	/* The genuine message from g with seqno 5 (same ID as the forgery), go style without key. */
	buf_reset(&raw);
	mkmsg(&g, "genuine", 5, &raw, true, false);
	fp_msg(&a, &f, &raw, now);
	assert_int_equal(a.delivered, 1);
	assert_memory_equal(a.last_data, "genuine", 7);
	assert_memory_equal(a.last_from, pid(&g)->b, pid(&g)->len); /* author, not forwarder */
	fp_msg(&a, &f, &raw, now);                                  /* duplicate */
	/* Our own message coming back is dropped. */
	buf_reset(&raw);
	mkmsg(&a, "mine", 9, &raw, false, false);
	fp_msg(&a, &f, &raw, now);
	assert_int_equal(a.delivered, 1);
	gs_get_stats(a.gs, &st);
	assert_int_equal(st.drop_bad_sig, 1);
	assert_int_equal(st.drop_author, 1);
	assert_int_equal(st.drop_unsigned, 2);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.drop_self, 1);
	assert_int_equal(gs_peer_count(a.gs), 1); /* bad messages are not a protocol violation */
	buf_free(&raw);
	node_fini(&a);
	node_fini(&f);
	node_fini(&g);
}

/* Hostile input: the offender is dropped or bounded, memory stays bounded, the router keeps working. */
static void test_abuse(void **state)
{
	struct node ns[2], f;
	struct seen_rpc s;
	struct buf b;
	uint64_t now = 0;
	size_t mem0;

	(void)state;
	node_init(&ns[0], 0, NULL);
	node_init(&ns[1], 1, NULL);
	node_init(&f, 2, NULL);
	memset(&s, 0, sizeof(s));
	buf_init(&s.msgraw, 0);
	buf_init(&b, 0);
	gs_subscribe(ns[0].gs, TOPIC, now);
	gs_subscribe(ns[1].gs, TOPIC, now);
	link2(&ns[0], &ns[1], now);
	run(ns, 2, &now, 2 * SEC);
	mem0 = gs_memory(ns[0].gs);

	/* 1. Oversized RPC: the length prefix alone resets the stream; the peer stays (go comm.go), and
	 *    what it sends on its next stream is read. */
	gs_add_peer(ns[0].gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
	{
		uint8_t hdr[10];
		size_t h = uvarint_encode(hdr, (2u << 20));

		assert_int_equal(gs_on_bytes(ns[0].gs, pid(&f)->b, pid(&f)->len, hdr, h, now), GS_STREAM_RESET);
		assert_int_equal(ns[0].drops, 0);
		assert_int_equal(gs_peer_count(ns[0].gs), 2);
		fp_sub(&ns[0], &f, TOPIC, true, now);
		assert_int_equal(gs_topic_peer_count(ns[0].gs, TOPIC), 2);
	}
	/* 2. Garbage (a protobuf group) also resets the stream; a peer that keeps doing it (over
	 *    max_stream_resets per heartbeat) is dropped. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(gs_on_bytes(ns[0].gs, pid(&f)->b, pid(&f)->len, "\x01\x0b", 2, now),
		                 GS_STREAM_RESET);
	assert_int_equal(ns[0].drops, 0);
	assert_int_equal(gs_on_bytes(ns[0].gs, pid(&f)->b, pid(&f)->len, "\x01\x0b", 2, now), W2W_EPROTO);
	assert_int_equal(ns[0].drops, 1);
	assert_int_equal(ns[0].last_drop, GS_DROP_PROTOCOL);
	{
		struct gs_stats st;

		gs_get_stats(ns[0].gs, &st);
		assert_int_equal(st.stream_resets, 5);
	}

	/* 3. 10,000 topic subscriptions (in one RPC, then in many): dropped, topics forgotten. */
	gs_add_peer(ns[0].gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
	{
		static char names[10000][12];
		struct gsrpc_sub *subs = calloc(10000, sizeof(*subs));

		for (int i = 0; i < 10000; i++) {
			snprintf(names[i], sizeof(names[i]), "t%d", i);
			subs[i] = (struct gsrpc_sub){true, {(const uint8_t *)names[i], strlen(names[i])}};
		}
		for (int i = 0; i < 10000 && gs_peer_count(ns[0].gs) == 2; i += 100) {
			struct gsrpc r = {.subs = subs + i, .n_subs = 100};

			fp_send(&ns[0], &f, &r, now);
		}
		assert_int_equal(ns[0].drops, 2);
		assert_int_equal(ns[0].last_drop, GS_DROP_ABUSE);
		free(subs);
	}
	gs_heartbeat(ns[0].gs, now + SEC);
	now += SEC;
	assert_true(gs_topic_count(ns[0].gs) <= 2);

	/* 4. GRAFT/PRUNE flapping: bounded, then dropped. */
	gs_add_peer(ns[0].gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
	fp_sub(&ns[0], &f, TOPIC, true, now);
	for (int i = 0; i < 1000 && gs_peer_count(ns[0].gs) == 2; i++) {
		fp_graft(&ns[0], &f, now);
		fp_prune(&ns[0], &f, 1, NULL, 0, now);
	}
	assert_int_equal(ns[0].drops, 3);
	assert_int_equal(gs_peer_count(ns[0].gs), 1);

	/* 5. 10,000 IWANTs for a message we have and for unknown IDs: at most 3 replies, no drop. */
	gs_add_peer(ns[0].gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, now);
	fp_sub(&ns[0], &f, TOPIC, true, now);
	gs_publish(ns[0].gs, TOPIC, "cached", 6, now);
	pump(ns, 2, now);
	fp_recv(&ns[0], &f, &s); /* hello + flood-published copy */
	assert_int_equal(s.msgs, 1);
	{
		struct gsb *ids = calloc(10000, sizeof(*ids));
		static uint8_t junk[10000][8];

		assert_memory_equal(ns[1].last_data, "cached", 6);
		for (int i = 0; i < 10000; i++) {
			memcpy(junk[i], &i, sizeof(i));
			ids[i] = (i % 2) ? (struct gsb){junk[i], 8}
			                 : (struct gsb){ns[1].last_id, ns[1].last_id_len};
		}
		for (int k = 0; k < 10000; k += 2500) {
			struct gsrpc_iwant iw = {ids + k, 2500};
			struct gsrpc r = {.iwant = &iw, .n_iwant = 1};

			fp_send(&ns[0], &f, &r, now);
		}
		free(ids);
	}
	fp_recv(&ns[0], &f, &s);
	assert_int_equal(s.msgs, 1 + 3);
	assert_int_equal(gs_peer_count(ns[0].gs), 2);

	/* 6. A flood of forged messages: verification stops at the per-heartbeat budget, the rest is
	 *    ignored unverified; the peer stays (go/js lower a score) and is heard again after the
	 *    heartbeat. */
	{
		struct gs_stats st0, st1;
		struct buf raw, stream;

		gs_get_stats(ns[0].gs, &st0);
		buf_init(&raw, 0);
		buf_init(&stream, 0);
		for (int i = 0; i < 100; i++) {
			buf_reset(&raw);
			mkmsg(&ns[1], "forged", 1000 + (uint64_t)i, &raw, false, true);
			assert_int_equal(gsrpc_frame_raw_msg(raw.data, raw.len, 0, &stream), 0);
		}
		assert_int_equal(gs_on_bytes(ns[0].gs, pid(&f)->b, pid(&f)->len, stream.data, stream.len, now),
		                 0);
		gs_get_stats(ns[0].gs, &st1);
		assert_int_equal(st1.drop_bad_sig - st0.drop_bad_sig, 32);
		assert_int_equal(st1.drop_over_invalid - st0.drop_over_invalid, 68);
		assert_int_equal(ns[0].drops, 3);
		assert_int_equal(gs_peer_count(ns[0].gs), 2);
		/* After the heartbeat its messages are verified again: a genuine one is delivered. */
		gs_heartbeat(ns[0].gs, now + SEC);
		now += SEC;
		{
			unsigned d0 = ns[0].delivered;

			buf_reset(&raw);
			buf_reset(&stream);
			mkmsg(&ns[1], "genuine", 5000, &raw, false, false);
			assert_int_equal(gsrpc_frame_raw_msg(raw.data, raw.len, 0, &stream), 0);
			assert_int_equal(
			    gs_on_bytes(ns[0].gs, pid(&f)->b, pid(&f)->len, stream.data, stream.len, now), 0);
			assert_int_equal(ns[0].delivered, d0 + 1);
		}
		gs_remove_peer(ns[0].gs, pid(&f)->b, pid(&f)->len);
		buf_free(&raw);
		buf_free(&stream);
	}

	/* The router still serves the honest peer, and memory is back near where it was. */
	gs_heartbeat(ns[0].gs, now + SEC);
	now += SEC;
	gs_publish(ns[0].gs, TOPIC, "still here", 10, now);
	pump(ns, 2, now);
	assert_int_equal(ns[1].delivered, 2);
	assert_memory_equal(ns[1].last_data, "still here", 10);
	assert_true(gs_memory(ns[0].gs) < mem0 + 256 * 1024);
	buf_free(&b);
	buf_free(&s.msgraw);
	node_fini(&ns[0]);
	node_fini(&ns[1]);
	node_fini(&f);
}

/* The application validator runs before a message is cached and forwarded: a relay that rejects
 * junk does not pass it on (not by forwarding, not by gossip), and counts it against the sender. */
static enum gs_verdict no_junk(void *ud, const struct gs_message *m)
{
	(void)ud;
	if (m->len >= 4 && !memcmp(m->data, "junk", 4))
		return GS_REJECT;
	if (m->len >= 4 && !memcmp(m->data, "skip", 4))
		return GS_IGNORE;
	return GS_ACCEPT;
}

static void test_validate(void **state)
{
	struct node ns[3];
	struct gs_config c;
	struct gs_stats st;
	uint64_t now = 0;
	size_t mem0;

	(void)state;
	gs_config_default(&c);
	for (int i = 0; i < 3; i++) {
		node_init(&ns[i], i, NULL);
		gs_subscribe(ns[i].gs, TOPIC, now);
	}
	/* the relay, b = ns[1], with the validator */
	gs_free(ns[1].gs);
	c.cb = (struct gs_callbacks){&ns[1], on_message, on_px, NULL, on_drop, no_junk, NULL};
	ns[1].gs = gs_new(&c, ns[1].id, &ns[1].rng, NULL);
	assert_non_null(ns[1].gs);
	gs_subscribe(ns[1].gs, TOPIC, now);
	link2(&ns[0], &ns[1], now);
	link2(&ns[1], &ns[2], now);
	run(ns, 3, &now, 2 * SEC);
	mem0 = gs_memory(ns[1].gs);

	assert_int_equal(gs_publish(ns[0].gs, TOPIC, "skip me", 7, now), 0);
	pump(ns, 3, now);
	for (int i = 0; i < 40; i++) { /* over max_invalid_msgs: a's later junk is ignored unverified */
		static uint8_t junk[100000];

		memcpy(junk, "junk", 4);
		junk[4] = (uint8_t)i;
		assert_int_equal(gs_publish(ns[0].gs, TOPIC, junk, sizeof(junk), now), 0);
		pump(ns, 3, now);
	}
	run(ns, 3, &now, now + 5 * SEC); /* heartbeats: gossip would offer what b cached */
	assert_int_equal(ns[1].delivered, 0);
	assert_int_equal(ns[2].delivered, 0);
	gs_get_stats(ns[1].gs, &st);
	assert_int_equal(st.drop_rejected, 32);
	assert_int_equal(st.drop_over_invalid, 8);
	assert_int_equal(st.drop_ignored, 1);
	assert_int_equal(st.forwarded, 0);
	assert_int_equal(ns[1].drops, 0); /* the connection stays */
	assert_true(gs_memory(ns[1].gs) < mem0 + 64 * 1024); /* nothing of 4 MB junk kept */

	assert_int_equal(gs_publish(ns[0].gs, TOPIC, "good", 4, now), 0);
	pump(ns, 3, now);
	assert_int_equal(ns[1].delivered, 1);
	assert_int_equal(ns[2].delivered, 1);
	assert_memory_equal(ns[2].last_data, "good", 4);
	for (int i = 0; i < 3; i++)
		node_fini(&ns[i]);
}

/* Byte-at-a-time input is reassembled; fanout publishing to a topic we do not join. */
static void test_chunking_fanout(void **state)
{
	struct gs_config c;
	struct node ns[3];
	uint64_t now = 0;
	struct buf b;

	(void)state;
	gs_config_default(&c);
	c.flood_publish = false;
	for (int i = 0; i < 3; i++)
		node_init(&ns[i], i, &c);
	gs_subscribe(ns[1].gs, TOPIC, now);
	gs_subscribe(ns[2].gs, TOPIC, now);
	link2(&ns[0], &ns[1], now);
	link2(&ns[0], &ns[2], now);
	link2(&ns[1], &ns[2], now);
	run(ns, 3, &now, 2 * SEC);
	/* ns[0] is not subscribed: publish goes to fanout peers. */
	assert_int_equal(gs_publish(ns[0].gs, TOPIC, "fan", 3, now), 0);
	buf_init(&b, 0);
	gs_take_output(ns[0].gs, pid(&ns[1])->b, pid(&ns[1])->len, &b);
	assert_true(b.len > 0);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(gs_on_bytes(ns[1].gs, pid(&ns[0])->b, pid(&ns[0])->len, b.data + i, 1, now),
		                 0);
	assert_int_equal(ns[1].delivered, 1);
	pump(ns, 3, now);
	assert_int_equal(ns[2].delivered, 1);
	assert_int_equal(ns[0].delivered, 0);
	/* Fanout expires after its TTL. */
	run(ns, 3, &now, now + 62 * SEC);
	assert_int_equal(gs_topic_count(ns[0].gs), 1); /* still known: peers subscribe to it */
	buf_free(&b);
	for (int i = 0; i < 3; i++)
		node_fini(&ns[i]);
}

/* Many frames in one read are all processed in that call (zero-length frames are skipped, as go does). */
static void test_many_frames(void **state)
{
	struct gsrpc_sub sub = {true, {(const uint8_t *)TOPIC, strlen(TOPIC)}};
	struct gsb g = {(const uint8_t *)TOPIC, strlen(TOPIC)};
	struct gsrpc rs = {.subs = &sub, .n_subs = 1}, rg = {.graft = &g, .n_graft = 1};
	struct node a, f;
	struct buf b;
	struct gs_stats st;

	(void)state;
	node_init(&a, 0, NULL);
	node_init(&f, 1, NULL);
	gs_subscribe(a.gs, TOPIC, 0);
	gs_add_peer(a.gs, pid(&f)->b, pid(&f)->len, GS_MESHSUB_11, 0);
	buf_init(&b, 0);
	for (int i = 0; i < 300; i++)
		buf_append_u8(&b, 0);
	assert_int_equal(gsrpc_encode_lp(&rs, 0, &b), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(gsrpc_encode_lp(&rs, 0, &b), 0); /* repeated subscriptions: idempotent */
	assert_int_equal(gsrpc_encode_lp(&rg, 0, &b), 0);
	assert_int_equal(gs_on_bytes(a.gs, pid(&f)->b, pid(&f)->len, b.data, b.len, 0), 0);
	gs_get_stats(a.gs, &st);
	assert_int_equal(st.rpc_in, 202);
	assert_int_equal(st.graft_in, 1);
	assert_true(gs_in_mesh(a.gs, TOPIC, pid(&f)->b, pid(&f)->len));
	assert_int_equal(gs_topic_count(a.gs), 1);
	buf_free(&b);
	node_fini(&a);
	node_fini(&f);
}

/* The message cache has a byte cap: beyond it messages still flow but are not kept for gossip. */
static void test_mcache_cap(void **state)
{
	struct gs_config c;
	struct node ns[2];
	struct gs_stats st;
	uint8_t big[600];
	uint64_t now = 0;
	size_t mem_small;

	(void)state;
	gs_config_default(&c);
	c.max_mcache_bytes = 4000;
	node_init(&ns[0], 0, &c);
	node_init(&ns[1], 1, &c);
	gs_subscribe(ns[0].gs, TOPIC, now);
	gs_subscribe(ns[1].gs, TOPIC, now);
	link2(&ns[0], &ns[1], now);
	run(ns, 2, &now, 2 * SEC);
	memset(big, 0x42, sizeof(big));
	for (int i = 0; i < 5; i++) {
		gs_publish(ns[0].gs, TOPIC, big, sizeof(big), now);
		pump(ns, 2, now);
	}
	mem_small = gs_memory(ns[0].gs);
	for (int i = 0; i < 50; i++) {
		gs_publish(ns[0].gs, TOPIC, big, sizeof(big), now);
		pump(ns, 2, now);
	}
	assert_int_equal(ns[1].delivered, 55);
	gs_get_stats(ns[0].gs, &st);
	assert_true(st.mcache_full >= 45);
	gs_get_stats(ns[1].gs, &st);
	assert_true(st.mcache_full >= 45);
	assert_true(gs_memory(ns[0].gs) < mem_small + 8192); /* seen IDs grow a little, payloads do not */
	node_fini(&ns[0]);
	node_fini(&ns[1]);
}

/* A /meshsub/1.0.0 peer gets PRUNEs without backoff or PX; unsubscribing announces it and PRUNEs the mesh
 * with the 10 s unsubscribe backoff. */
static void test_v10_unsubscribe(void **state)
{
	struct gs_config c;
	struct node a, f10, f11, g;
	struct seen_rpc s10, s11, sg;
	uint64_t now = 0;

	(void)state;
	gs_config_default(&c);
	c.d_lo = 1;
	c.d = 1;
	c.d_hi = 1;
	node_init(&a, 0, &c);
	node_init(&f10, 1, NULL);
	node_init(&f11, 2, NULL);
	node_init(&g, 3, NULL);
	memset(&s10, 0, sizeof(s10));
	memset(&s11, 0, sizeof(s11));
	memset(&sg, 0, sizeof(sg));
	buf_init(&s10.msgraw, 0);
	buf_init(&s11.msgraw, 0);
	buf_init(&sg.msgraw, 0);
	gs_subscribe(a.gs, TOPIC, now);
	gs_add_peer(a.gs, pid(&f11)->b, pid(&f11)->len, GS_MESHSUB_11, now);
	gs_add_peer(a.gs, pid(&f10)->b, pid(&f10)->len, GS_MESHSUB_10, now);
	gs_add_peer(a.gs, pid(&g)->b, pid(&g)->len, GS_MESHSUB_11, now);
	/* g subscribes first: grafted on it (the mesh was below D_lo), the mesh (D_hi = 1) is now full */
	fp_sub(&a, &g, TOPIC, true, now);
	fp_sub(&a, &f11, TOPIC, true, now);
	fp_sub(&a, &f10, TOPIC, true, now);
	fp_graft(&a, &g, now);
	fp_graft(&a, &f10, now);
	fp_graft(&a, &f11, now);
	fp_recv(&a, &f10, &s10);
	fp_recv(&a, &f11, &s11);
	assert_int_equal(s10.prunes, 1);
	assert_false(s10.last_has_backoff);
	assert_int_equal(s10.px, 0);
	assert_int_equal(s11.prunes, 1);
	assert_true(s11.last_has_backoff);
	assert_int_equal(s11.last_backoff, 60);
	assert_int_equal(s11.px, 2); /* g and f10 */

	/* Unsubscribe: everyone hears it, the mesh peer g gets PRUNE with backoff 10. */
	fp_recv(&a, &g, &sg);
	assert_int_equal(gs_unsubscribe(a.gs, TOPIC, now), 0);
	assert_int_equal(gs_mesh_count(a.gs, TOPIC), 0);
	fp_recv(&a, &g, &sg);
	fp_recv(&a, &f10, &s10);
	assert_int_equal(sg.unsubs, 1);
	assert_int_equal(s10.unsubs, 1);
	assert_int_equal(sg.prunes, 1);
	assert_int_equal(sg.last_backoff, 10);
	/* Not subscribed: GRAFTs are ignored (no PRUNE spam, gossipsub-v1.1). */
	fp_graft(&a, &g, now);
	fp_recv(&a, &g, &sg);
	assert_int_equal(sg.prunes, 1);
	assert_int_equal(gs_mesh_count(a.gs, TOPIC), 0);
	buf_free(&s10.msgraw);
	buf_free(&s11.msgraw);
	buf_free(&sg.msgraw);
	node_fini(&a);
	node_fini(&f10);
	node_fini(&f11);
	node_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_nodes),
	    cmocka_unit_test(test_msgid_js),
	    cmocka_unit_test(test_mesh_bounds),
	    cmocka_unit_test(test_graft_on_subscribe),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_px),
	    cmocka_unit_test(test_gossip_repair),
	    cmocka_unit_test(test_bad_messages),
	    cmocka_unit_test(test_abuse),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_chunking_fanout),
	    cmocka_unit_test(test_many_frames),
	    cmocka_unit_test(test_mcache_cap),
	    cmocka_unit_test(test_v10_unsubscribe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
