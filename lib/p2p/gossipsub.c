/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub v1.1 router, sans-IO. Behaviour follows libp2p specs
 * pubsub/gossipsub/gossipsub-v1.0.md (mesh, fanout, gossip, heartbeat) and
 * gossipsub-v1.1.md (PRUNE backoff, peer exchange, flood publishing), with the
 * message rules of pubsub/README.md (StrictSign, seen cache).
 *
 * Left out on purpose (trusted private network, PSK-gated): peer scoring and
 * everything that depends on it (opportunistic grafting, D_score/D_out
 * selection, gossip/graylist thresholds), direct peers, IDONTWANT (1.2) and
 * extensions (1.3). Abuse is bounded by hard limits instead: per-RPC element
 * caps, per-heartbeat IHAVE/IWANT budgets, per-peer topic and queue caps, and
 * dropping a peer that breaks the protocol or keeps violating backoff.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "gossipsub.h"
#include "gs_cache.h"
#include "gsrpc.h"
#include "ident.h"
#include "log.h"
#include "peerid.h"
#include "rng.h"
#include "varint.h"

#define SEQNO_LEN 8
#define SIG_LEN IDENT_SIG_LEN
#define IWANT_TX_MAX 3 /* replies per message ID per peer (go/js GossipSubGossipRetransmission) */

/* ---- state ------------------------------------------------------------- */

struct backoff {
	uint8_t id[GS_PEERID_MAX];
	size_t len;
	uint64_t until;
};

struct gs_peer;

struct parr {
	struct gs_peer **p;
	size_t n, cap;
};

struct gs_topic {
	char *name;
	size_t len;
	bool subscribed;
	struct parr mesh, fanout;
	uint64_t last_pub;
	struct backoff *bo;
	size_t n_bo, cap_bo;
	size_t n_peers; /* peers subscribed to it */
};

struct gs_peer {
	uint8_t id[GS_PEERID_MAX];
	size_t id_len;
	uint32_t serial;
	enum gs_proto proto;
	bool dead, notify;
	struct buf in, out;
	struct gs_topic **topics;
	size_t n_topics;
	/* per-heartbeat budgets */
	unsigned hb_ihave, hb_asked, hb_served, hb_invalid, hb_resets;
	unsigned flaps;
};

struct gs {
	struct gs_config cfg;
	const struct ident *id;
	const struct rng *rng;
	const struct wlog *log;
	struct gs_peer **peers;
	size_t n_peers;
	uint32_t next_serial;
	struct gs_topic **topics;
	size_t n_topics;
	struct gs_seen seen;
	struct gs_mcache mc;
	uint64_t seqno;
	uint64_t next_hb;
	int depth; /* > 0 while inside a public call: callbacks re-entering get -EBUSY */
	bool dead_peers;
	struct gs_stats st;
};

void gs_config_default(struct gs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->d = 6;
	c->d_lo = 4;
	c->d_hi = 12;
	c->d_lazy = 6;
	c->heartbeat_us = 1000000;
	c->fanout_ttl_us = 60000000;
	c->mcache_len = 5;
	c->mcache_gossip = 3;
	c->seen_ttl_us = 120000000;
	c->prune_backoff_us = 60000000;
	c->unsub_backoff_us = 10000000;
	c->px_peers = 16;
	c->accept_px = true;
	c->flood_publish = true;
	c->msgid_fn = GS_MSGID_FROM_SEQNO;
	c->max_rpc_size = 1 << 20;
	c->max_msg_size = (1 << 20) - 4096;
	c->max_queued = 8u << 20;
	c->max_ihave_ids = 5000;
	c->max_ihave_msgs = 10;
	c->max_iwant_ids = 5000;
	c->max_gossip_ids = 5000;
	c->max_topics_per_peer = 128;
	c->max_topics = 4096;
	c->max_peers = 1024;
	c->max_graft_flaps = 10;
	c->max_seen = 1 << 16;
	c->max_mcache_bytes = 64u << 20;
	c->max_invalid_msgs = 32;
	c->max_stream_resets = 4;
}

/* ---- helpers ----------------------------------------------------------- */

static bool parr_has(const struct parr *a, const struct gs_peer *p)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] == p)
			return true;
	return false;
}

static int parr_add(struct parr *a, struct gs_peer *p)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct gs_peer **n = realloc(a->p, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->p = n;
		a->cap = cap;
	}
	a->p[a->n++] = p;
	return 0;
}

static bool parr_del(struct parr *a, const struct gs_peer *p)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->p[i] == p) {
			a->p[i] = a->p[--a->n];
			return true;
		}
	}
	return false;
}

static void shuffle(struct gs *gs, struct gs_peer **a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(gs->rng, i);
		struct gs_peer *t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

static struct gs_peer *peer_find(const struct gs *gs, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < gs->n_peers; i++) {
		struct gs_peer *p = gs->peers[i];

		if (!p->dead && p->id_len == len && memcmp(p->id, id, len) == 0)
			return p;
	}
	return NULL;
}

static struct gs_topic *topic_find(const struct gs *gs, const void *name, size_t len)
{
	for (size_t i = 0; i < gs->n_topics; i++) {
		struct gs_topic *t = gs->topics[i];

		if (t->len == len && memcmp(t->name, name, len) == 0)
			return t;
	}
	return NULL;
}

static struct gs_topic *topic_get(struct gs *gs, const void *name, size_t len)
{
	struct gs_topic *t = topic_find(gs, name, len), **n;

	if (t)
		return t;
	/* Names are kept as C strings for the API: no empty names, no NUL inside. */
	if (len == 0 || len > GS_TOPIC_MAX || memchr(name, 0, len) || gs->n_topics >= gs->cfg.max_topics)
		return NULL;
	n = realloc(gs->topics, (gs->n_topics + 1) * sizeof(*n));
	if (!n)
		return NULL;
	gs->topics = n;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->name = malloc(len + 1);
	if (!t->name) {
		free(t);
		return NULL;
	}
	memcpy(t->name, name, len);
	t->name[len] = 0;
	t->len = len;
	gs->topics[gs->n_topics++] = t;
	return t;
}

static void topic_free(struct gs_topic *t)
{
	if (!t)
		return;
	free(t->mesh.p);
	free(t->fanout.p);
	free(t->bo);
	free(t->name);
	free(t);
}

static bool peer_has_topic(const struct gs_peer *p, const struct gs_topic *t)
{
	for (size_t i = 0; i < p->n_topics; i++)
		if (p->topics[i] == t)
			return true;
	return false;
}

static struct backoff *backoff_find(struct gs_topic *t, const struct gs_peer *p)
{
	for (size_t i = 0; i < t->n_bo; i++)
		if (t->bo[i].len == p->id_len && memcmp(t->bo[i].id, p->id, p->id_len) == 0)
			return &t->bo[i];
	return NULL;
}

/* True while `p` may not be grafted to t; `slack` adds time (one heartbeat, gossipsub-v1.1.md). */
static bool in_backoff(struct gs_topic *t, const struct gs_peer *p, uint64_t now, uint64_t slack)
{
	struct backoff *b = backoff_find(t, p);

	return b && now < b->until + slack;
}

static void backoff_set(struct gs *gs, struct gs_topic *t, const struct gs_peer *p, uint64_t until)
{
	struct backoff *b = backoff_find(t, p);

	if (!b) {
		if (t->n_bo == t->cap_bo) {
			/* Bounded: at most two entries per peer slot; past that the oldest goes. */
			size_t cap = t->cap_bo ? t->cap_bo * 2 : 8, lim = 2 * (size_t)gs->cfg.max_peers;
			struct backoff *n;

			if (t->cap_bo >= lim) {
				size_t old = 0;

				for (size_t i = 1; i < t->n_bo; i++)
					if (t->bo[i].until < t->bo[old].until)
						old = i;
				t->bo[old] = t->bo[--t->n_bo];
			} else {
				n = realloc(t->bo, cap * sizeof(*n));
				if (!n)
					return;
				t->bo = n;
				t->cap_bo = cap;
			}
		}
		b = &t->bo[t->n_bo++];
		memcpy(b->id, p->id, p->id_len);
		b->len = p->id_len;
		b->until = 0;
	}
	if (until > b->until)
		b->until = until;
}

/* base58 text of a peer ID for logs ("?" if it does not parse). */
static const char *peer_text(const uint8_t *id, size_t len, char out[PEERID_STR_MAX])
{
	struct peerid pid;

	if (peerid_from_bytes(&pid, id, len) < 0 || peerid_to_b58(out, PEERID_STR_MAX, &pid) < 0)
		return "?";
	return out;
}

static void drop_peer(struct gs *gs, struct gs_peer *p, enum gs_drop_reason why, const char *what)
{
	char txt[PEERID_STR_MAX];

	if (p->dead)
		return;
	log_info(gs->log, "gossipsub: dropping peer %s (%s)", peer_text(p->id, p->id_len, txt), what);
	p->dead = true;
	gs->dead_peers = true;
	gs->st.peers_dropped++;
	if (gs->cfg.cb.on_drop)
		gs->cfg.cb.on_drop(gs->cfg.cb.ud, p->id, p->id_len, why);
}

/* Queues one RPC for p; counts a full queue as a drop (go drops too: comm.go). */
static void send_rpc(struct gs *gs, struct gs_peer *p, const struct gsrpc *r)
{
	size_t len0 = p->out.len;
	int e;

	if (p->dead)
		return;
	e = gsrpc_encode_lp(r, gs->cfg.max_rpc_size, &p->out);
	if (e < 0) {
		gs->st.drop_queue_full++;
		return;
	}
	gs->st.rpc_out++;
	gs->st.bytes_out += p->out.len - len0;
	p->notify = true;
}

static bool send_raw_msg(struct gs *gs, struct gs_peer *p, const uint8_t *raw, size_t n)
{
	size_t len0 = p->out.len;

	if (p->dead)
		return false;
	if (gsrpc_frame_raw_msg(raw, n, gs->cfg.max_rpc_size, &p->out) < 0) {
		gs->st.drop_queue_full++;
		return false;
	}
	gs->st.rpc_out++;
	gs->st.bytes_out += p->out.len - len0;
	p->notify = true;
	return true;
}

static struct gsb topic_gsb(const struct gs_topic *t)
{
	return (struct gsb){(const uint8_t *)t->name, t->len};
}

static void send_graft(struct gs *gs, struct gs_peer *p, struct gs_topic *t)
{
	struct gsb g = topic_gsb(t);
	struct gsrpc r = {.graft = &g, .n_graft = 1};

	send_rpc(gs, p, &r);
}

/* PRUNE with backoff and PX (1.1 only; a 1.0 peer gets the bare PRUNE). */
static void send_prune(struct gs *gs, struct gs_peer *p, struct gs_topic *t, uint64_t backoff_us, bool px,
                       uint64_t now)
{
	struct gsrpc_prune pr = {.topic = topic_gsb(t)};
	struct gsrpc r = {.prune = &pr, .n_prune = 1};
	struct gsrpc_px *pxs = NULL;

	backoff_set(gs, t, p, now + backoff_us);
	if (p->proto >= GS_MESHSUB_11) {
		pr.has_backoff = true;
		pr.backoff = backoff_us / 1000000;
		if (px && gs->cfg.px_peers) {
			struct gs_peer **c = malloc(gs->n_peers * sizeof(*c) + 1);
			size_t n = 0;

			pxs = malloc(gs->cfg.px_peers * sizeof(*pxs));
			if (c && pxs) {
				for (size_t i = 0; i < gs->n_peers; i++) {
					struct gs_peer *q = gs->peers[i];

					if (q != p && !q->dead && peer_has_topic(q, t))
						c[n++] = q;
				}
				shuffle(gs, c, n);
				if (n > gs->cfg.px_peers)
					n = gs->cfg.px_peers;
				for (size_t i = 0; i < n; i++)
					pxs[i] = (struct gsrpc_px){{c[i]->id, c[i]->id_len}, {NULL, 0}};
				pr.px = pxs;
				pr.n_px = n;
			}
			free(c);
		}
	}
	send_rpc(gs, p, &r);
	free(pxs);
}

static void send_subs(struct gs *gs, struct gs_peer *p, struct gs_topic *only, bool subscribe)
{
	struct gsrpc_sub *s = malloc((gs->n_topics + 1) * sizeof(*s));
	struct gsrpc r = {0};
	size_t n = 0;

	if (!s)
		return;
	for (size_t i = 0; i < gs->n_topics; i++) {
		struct gs_topic *t = gs->topics[i];

		if (only ? t == only : t->subscribed)
			s[n++] = (struct gsrpc_sub){subscribe, topic_gsb(t)};
	}
	r.subs = s;
	r.n_subs = n;
	if (n)
		send_rpc(gs, p, &r);
	free(s);
}

/* ---- caches (gs_cache.c) ---- */

static void mcache_put(struct gs *gs, const uint8_t *id, size_t len, const struct gs_topic *t,
                       const uint8_t *raw, size_t raw_len)
{
	if (gs_mcache_put(&gs->mc, id, len, t->name, t->len, raw, raw_len) == -ENOSPC)
		gs->st.mcache_full++; /* still delivered and forwarded, just not offered by gossip */
}

/* ---- message handling -------------------------------------------------- */

/* Message ID (reference: libp2p.md-style digest of go DefaultMsgIdFn / js msgIdFnStrictSign). */
static int msg_id(const struct gs *gs, const struct gsb *from, const struct gsb *key, const uint8_t *seqno,
                  uint8_t *out, size_t cap)
{
	const struct gsb *a = gs->cfg.msgid_fn == GS_MSGID_KEY_SEQNO ? key : from;

	if (a->n + SEQNO_LEN > cap)
		return W2W_ELIMIT;
	memcpy(out, a->p, a->n);
	memcpy(out + a->n, seqno, SEQNO_LEN);
	return (int)(a->n + SEQNO_LEN);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Forwards raw to mesh peers of t (not `except`, not the author). */
static void forward(struct gs *gs, struct gs_topic *t, const struct gs_peer *except, const struct gsb *author,
                    const uint8_t *raw, size_t n)
{
	for (size_t i = 0; i < t->mesh.n; i++) {
		struct gs_peer *q = t->mesh.p[i];

		if (q == except || q->dead)
			continue;
		if (q->id_len == author->n && memcmp(q->id, author->p, author->n) == 0)
			continue;
		if (send_raw_msg(gs, q, raw, n))
			gs->st.forwarded++;
	}
}

/* Returns true when the message was invalid (counted against the peer). */
static bool handle_msg(struct gs *gs, struct gs_peer *from, const struct gsrpc_msg *m, uint64_t now)
{
	const unsigned need = GSRPC_HAS_FROM | GSRPC_HAS_SEQNO | GSRPC_HAS_SIG | GSRPC_HAS_TOPIC;
	uint8_t id[GS_MSGID_MAX];
	const uint8_t *pb;
	struct gsb key;
	struct peerid author, kid;
	struct gs_topic *t;
	struct buf sin;
	size_t pblen;
	int idlen, e;
	char txt[PEERID_STR_MAX], txt2[PEERID_STR_MAX];

	gs->st.msgs_in++;
	/* StrictSign (pubsub/README.md "Signature Policy Options"): from, seqno, signature required. */
	if ((m->has & need) != need || m->seqno.n != SEQNO_LEN || m->signature.n != SIG_LEN) {
		gs->st.drop_unsigned++;
		return true;
	}
	if (m->data.n > gs->cfg.max_msg_size) {
		gs->st.drop_too_large++;
		/* Not silent: a sender just over the limit otherwise never learns why (rate-limited per
		 * call site by util/log.h). */
		log_warn(gs->log, "gossipsub: message via %s: %zu bytes of data, over the limit of %zu: dropped",
		         peer_text(from->id, from->id_len, txt2), m->data.n, gs->cfg.max_msg_size);
		return true;
	}
	if (peerid_from_bytes(&author, m->from.p, m->from.n) < 0) {
		gs->st.drop_author++;
		return true;
	}
	if (peerid_eq(&author, ident_peerid(gs->id))) {
		gs->st.drop_self++;
		return false;
	}
	t = topic_find(gs, m->topic.p, m->topic.n);
	if (!t || !t->subscribed)
		return false; /* go pubsub.go: messages for topics we do not subscribe to are ignored */
	/* The author's key: the `key` field (must hash to `from`), else inlined in `from`. */
	if (m->has & GSRPC_HAS_KEY) {
		if (ident_peerid_from_pubkey_pb(&kid, m->key.p, m->key.n) < 0 || !peerid_eq(&kid, &author)) {
			gs->st.drop_author++;
			return true;
		}
		pb = m->key.p;
		pblen = m->key.n;
	} else if (peerid_pubkey_pb(&author, &pb, &pblen) < 0) {
		gs->st.drop_author++;
		return true;
	}
	key = (struct gsb){pb, pblen};
	idlen = msg_id(gs, &m->from, &key, m->seqno.p, id, sizeof(id));
	if (idlen < 0) {
		gs->st.drop_author++;
		return true;
	}
	if (gs_seen_has(&gs->seen, id, (size_t)idlen)) {
		gs->st.duplicates++;
		return false;
	}
	/* Verify before marking seen, so a forged copy cannot shadow the real message (go pubsub.go). */
	buf_init(&sin, 0);
	e = gsrpc_msg_sign_input(m, &sin);
	if (e >= 0)
		e = ident_verify(pb, pblen, sin.data, sin.len, m->signature.p);
	buf_free(&sin);
	if (e < 0) {
		gs->st.drop_bad_sig++;
		log_debug(gs->log, "gossipsub: message from %s via %s: bad signature, dropped",
		          peer_text(m->from.p, m->from.n, txt), peer_text(from->id, from->id_len, txt2));
		return true;
	}
	gs_seen_add(&gs->seen, id, (size_t)idlen, now);
	{
		struct gs_message d = {
		    .topic = t->name,
		    .topic_len = t->len,
		    .data = m->data.p,
		    .len = m->data.n,
		    .from = m->from.p,
		    .from_len = m->from.n,
		    .seqno = be64(m->seqno.p),
		    .msgid = id,
		    .msgid_len = (size_t)idlen,
		    .via = from->id,
		    .via_len = from->id_len,
		};
		/* Application validation before caching and forwarding (go pubsub.go pushMsg ->
		 * validation -> publishMessage): junk is neither relayed nor offered by IHAVE. It
		 * stays in the seen cache, so its copies are not validated again. */
		enum gs_verdict v = gs->cfg.cb.validate ? gs->cfg.cb.validate(gs->cfg.cb.ud, &d) : GS_ACCEPT;

		if (v == GS_REJECT) {
			gs->st.drop_rejected++;
			log_debug(gs->log, "gossipsub: message from %s via %s rejected by the application",
			          peer_text(m->from.p, m->from.n, txt), peer_text(from->id, from->id_len, txt2));
			return true;
		}
		if (v != GS_ACCEPT) {
			gs->st.drop_ignored++;
			return false;
		}
		mcache_put(gs, id, (size_t)idlen, t, m->raw.p, m->raw.n);
		gs->st.delivered++;
		if (gs->cfg.cb.on_message)
			gs->cfg.cb.on_message(gs->cfg.cb.ud, &d);
	}
	forward(gs, t, from, &m->from, m->raw.p, m->raw.n);
	return false;
}

/* ---- control handling -------------------------------------------------- */

/* A peer just subscribed to t: GRAFT it at once while our mesh for t is below
 * D_lo, instead of at the next heartbeat. The heartbeat would add it anyway
 * (gossipsub-v1.0.md "Mesh Maintenance": below D_lo, select D - |mesh| peers);
 * doing it now means that the first messages of nodes started together are
 * forwarded a heartbeat earlier: a relay's mesh is otherwise empty until its
 * first heartbeat after they connect, and it forwards to nobody. A GRAFT is
 * valid at any time (go and js handle it like a heartbeat's); bounded: at most
 * D_lo peers this way, the heartbeat tops up to D and prunes above D_hi. */
static void graft_early(struct gs *gs, struct gs_topic *t, struct gs_peer *p, uint64_t now)
{
	if (!t->subscribed || t->mesh.n >= gs->cfg.d_lo || parr_has(&t->mesh, p) ||
	    in_backoff(t, p, now, gs->cfg.heartbeat_us))
		return;
	if (parr_add(&t->mesh, p) == 0) {
		gs->st.graft_early++;
		send_graft(gs, p, t);
	}
}

static void handle_subs(struct gs *gs, struct gs_peer *p, const struct gsrpc *r, uint64_t now)
{
	for (size_t i = 0; i < r->n_subs && !p->dead; i++) {
		const struct gsrpc_sub *s = &r->subs[i];
		struct gs_topic *t;

		if (s->subscribe) {
			if (s->topic.n == 0 || s->topic.n > GS_TOPIC_MAX)
				continue;
			t = topic_find(gs, s->topic.p, s->topic.n);
			if (t && peer_has_topic(p, t))
				continue;
			if (p->n_topics >= gs->cfg.max_topics_per_peer) {
				drop_peer(gs, p, GS_DROP_ABUSE, "too many topics");
				return;
			}
			t = topic_get(gs, s->topic.p, s->topic.n);
			if (!t) {
				gs->st.rpc_truncated++; /* router-wide topic cap: ignore, keep the peer */
				continue;
			}
			p->topics[p->n_topics++] = t;
			t->n_peers++;
			if (gs->cfg.cb.on_subscription)
				gs->cfg.cb.on_subscription(gs->cfg.cb.ud, p->id, p->id_len, (const char *)s->topic.p,
							   s->topic.n, true);
			graft_early(gs, t, p, now);
		} else {
			t = topic_find(gs, s->topic.p, s->topic.n);
			if (!t)
				continue;
			for (size_t j = 0; j < p->n_topics; j++) {
				if (p->topics[j] == t) {
					p->topics[j] = p->topics[--p->n_topics];
					t->n_peers--;
					parr_del(&t->mesh, p);
					parr_del(&t->fanout, p);
					if (gs->cfg.cb.on_subscription)
						gs->cfg.cb.on_subscription(gs->cfg.cb.ud, p->id, p->id_len, (const char *)s->topic.p,
									   s->topic.n, false);
					break;
				}
			}
		}
	}
}

static void handle_graft(struct gs *gs, struct gs_peer *p, const struct gsb *topic, uint64_t now)
{
	struct gs_topic *t = topic_find(gs, topic->p, topic->n);

	gs->st.graft_in++;
	if (!t || !t->subscribed)
		return; /* gossipsub-v1.1.md: ignore GRAFTs for topics we are not in (no PRUNE spam) */
	if (parr_has(&t->mesh, p))
		return;
	if (in_backoff(t, p, now, 0)) {
		/* gossipsub-v1.1.md "Prune Backoff": early GRAFT => PRUNE again; repeated => drop. */
		if (++p->flaps > gs->cfg.max_graft_flaps) {
			drop_peer(gs, p, GS_DROP_ABUSE, "GRAFT during backoff");
			return;
		}
		send_prune(gs, p, t, gs->cfg.prune_backoff_us, false, now);
		return;
	}
	if (t->mesh.n >= gs->cfg.d_hi) {
		send_prune(gs, p, t, gs->cfg.prune_backoff_us, true, now);
		return;
	}
	if (!peer_has_topic(p, t) && p->n_topics < gs->cfg.max_topics_per_peer) {
		/* GRAFT implies interest; go records the subscription the same way implicitly. */
		p->topics[p->n_topics++] = t;
		t->n_peers++;
	}
	parr_add(&t->mesh, p);
}

static void handle_prune(struct gs *gs, struct gs_peer *p, const struct gsrpc_prune *pr, uint64_t now)
{
	struct gs_topic *t = topic_find(gs, pr->topic.p, pr->topic.n);
	uint64_t bo = gs->cfg.prune_backoff_us;

	gs->st.prune_in++;
	if (!t)
		return;
	parr_del(&t->mesh, p);
	if (pr->has_backoff && pr->backoff) {
		/* Cap what a peer can impose: a day is far above any sane backoff. */
		bo = pr->backoff > 86400 ? 86400000000ull : pr->backoff * 1000000ull;
	}
	backoff_set(gs, t, p, now + bo);
	if (p->proto >= GS_MESHSUB_11 && pr->n_px && gs->cfg.accept_px && t->subscribed) {
		size_t n = pr->n_px < 64 ? pr->n_px : 64;
		struct gs_px_peer c[64];
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			struct peerid pid;

			if (peerid_from_bytes(&pid, pr->px[i].peer_id.p, pr->px[i].peer_id.n) < 0)
				continue;
			if (peerid_eq(&pid, ident_peerid(gs->id)))
				continue;
			c[k++] = (struct gs_px_peer){pr->px[i].peer_id.p, pr->px[i].peer_id.n,
			                             pr->px[i].record.n ? pr->px[i].record.p : NULL,
			                             pr->px[i].record.n};
		}
		gs->st.px_received += k;
		if (k && gs->cfg.cb.on_px)
			gs->cfg.cb.on_px(gs->cfg.cb.ud, t->name, p->id, p->id_len, c, k);
	}
}

static void handle_ihave(struct gs *gs, struct gs_peer *p, const struct gsrpc *r)
{
	struct gsb *want;
	size_t n = 0;

	if (!r->n_ihave)
		return;
	want = malloc(gs->cfg.max_ihave_ids * sizeof(*want) + 1);
	if (!want)
		return;
	for (size_t i = 0; i < r->n_ihave; i++) {
		const struct gsrpc_ihave *h = &r->ihave[i];
		struct gs_topic *t = topic_find(gs, h->topic.p, h->topic.n);

		gs->st.ihave_in++;
		if (++p->hb_ihave > gs->cfg.max_ihave_msgs)
			break; /* go GossipSubMaxIHaveMessages */
		if (!t || !t->subscribed)
			continue;
		for (size_t j = 0; j < h->n_ids; j++) {
			const struct gsb *id = &h->ids[j];
			bool dup = false;

			if (p->hb_asked >= gs->cfg.max_ihave_ids)
				break;
			if (id->n == 0 || id->n > GS_MSGID_MAX || gs_seen_has(&gs->seen, id->p, id->n))
				continue;
			for (size_t k = 0; k < n && !dup; k++)
				dup = want[k].n == id->n && memcmp(want[k].p, id->p, id->n) == 0;
			if (dup)
				continue;
			want[n++] = *id;
			p->hb_asked++;
		}
	}
	if (n) {
		struct gsrpc_iwant iw = {want, n};
		struct gsrpc rr = {.iwant = &iw, .n_iwant = 1};

		send_rpc(gs, p, &rr);
		gs->st.iwant_sent += n;
	}
	free(want);
}

static void handle_iwant(struct gs *gs, struct gs_peer *p, const struct gsrpc *r)
{
	for (size_t i = 0; i < r->n_iwant; i++) {
		for (size_t j = 0; j < r->iwant[i].n_ids; j++) {
			const struct gsb *id = &r->iwant[i].ids[j];
			struct gs_mentry *m;
			struct gs_tx *tx;

			gs->st.iwant_in++;
			if (p->hb_served >= gs->cfg.max_iwant_ids)
				return;
			m = gs_mcache_get(&gs->mc, id->p, id->n);
			if (!m)
				continue;
			tx = gs_mcache_tx(&gs->mc, m, p->serial);
			if (!tx)
				continue;
			if (tx->count >= IWANT_TX_MAX)
				continue; /* go/js: at most 3 replies per ID per peer */
			tx->count++;
			p->hb_served++;
			if (send_raw_msg(gs, p, m->raw, m->raw_len))
				gs->st.iwant_served++;
		}
	}
}

/* false: the RPC did not decode; the caller resets the stream. */
static bool handle_rpc(struct gs *gs, struct gs_peer *p, const uint8_t *b, size_t n, uint64_t now)
{
	const struct gsrpc_limits lim = {
	    .max_subs = gs->cfg.max_topics_per_peer + 1,
	    .max_msgs = 1024,
	    .max_ctrl = 1024,
	    .max_ids =
	        gs->cfg.max_ihave_ids > gs->cfg.max_iwant_ids ? gs->cfg.max_ihave_ids : gs->cfg.max_iwant_ids,
	    .max_px = 64,
	};
	struct gsrpc r;

	if (gsrpc_decode(b, n, &lim, &r) < 0)
		return false;
	gs->st.rpc_in++;
	gs->st.rpc_truncated += r.truncated;
	handle_subs(gs, p, &r, now);
	for (size_t i = 0; i < r.n_msgs && !p->dead; i++) {
		/* Forwarders validate before forwarding, so invalid messages come from a faulty or hostile
		 * peer. Past a per-heartbeat budget its messages are ignored unverified until the next
		 * heartbeat: that bounds the verification work, and the connection stays (go and js lower
		 * the peer's score and graylist it, gossipsub-v1.1.md "P4"; they do not hang up). */
		if (p->hb_invalid >= gs->cfg.max_invalid_msgs) {
			gs->st.drop_over_invalid++;
			continue;
		}
		if (handle_msg(gs, p, &r.msgs[i], now) && ++p->hb_invalid == gs->cfg.max_invalid_msgs) {
			char txt[PEERID_STR_MAX];

			log_warn(gs->log, "gossipsub: peer %s sent %u invalid messages: ignoring its messages "
			         "until the next heartbeat", peer_text(p->id, p->id_len, txt), p->hb_invalid);
		}
	}
	if (!p->dead)
		handle_ihave(gs, p, &r);
	if (!p->dead)
		handle_iwant(gs, p, &r);
	for (size_t i = 0; i < r.n_graft && !p->dead; i++)
		handle_graft(gs, p, &r.graft[i], now);
	for (size_t i = 0; i < r.n_prune && !p->dead; i++)
		handle_prune(gs, p, &r.prune[i], now);
	gsrpc_free(&r);
	return true;
}

/* The peer's inbound stream carried something unreadable: forget its partial input and have the
 * host reset that stream; the peer stays unless it keeps doing it. */
static int stream_reset(struct gs *gs, struct gs_peer *p, const char *what, uint64_t len)
{
	char txt[PEERID_STR_MAX];

	gs->st.stream_resets++;
	buf_reset(&p->in);
	if (++p->hb_resets > gs->cfg.max_stream_resets) {
		drop_peer(gs, p, GS_DROP_PROTOCOL, what);
		return W2W_EPROTO;
	}
	log_warn(gs->log, "gossipsub: peer %s: %s (%llu bytes, limit %zu): resetting its stream",
	         peer_text(p->id, p->id_len, txt), what, (unsigned long long)len, gs->cfg.max_rpc_size);
	return GS_STREAM_RESET;
}

/* ---- call bracket: reap dropped peers, notify output ------------------- */

static void peer_free(struct gs_peer *p)
{
	if (!p)
		return;
	buf_free(&p->in);
	buf_free(&p->out);
	free(p->topics);
	free(p);
}

static void peer_detach(struct gs *gs, struct gs_peer *p)
{
	for (size_t i = 0; i < p->n_topics; i++)
		p->topics[i]->n_peers--;
	for (size_t i = 0; i < gs->n_topics; i++) {
		parr_del(&gs->topics[i]->mesh, p);
		parr_del(&gs->topics[i]->fanout, p);
	}
	/* Forget IWANT reply counters keyed by serial lazily: serials are never reused. */
}

static void leave(struct gs *gs)
{
	if (--gs->depth > 0)
		return;
	if (gs->dead_peers) {
		size_t k = 0;

		for (size_t i = 0; i < gs->n_peers; i++) {
			struct gs_peer *p = gs->peers[i];

			if (p->dead) {
				peer_detach(gs, p);
				peer_free(p);
			} else {
				gs->peers[k++] = p;
			}
		}
		gs->n_peers = k;
		gs->dead_peers = false;
	}
	gs->depth++; /* on_output may not re-enter either */
	for (size_t i = 0; i < gs->n_peers; i++) {
		struct gs_peer *p = gs->peers[i];

		if (p->notify) {
			p->notify = false;
			if (gs->cfg.cb.on_output)
				gs->cfg.cb.on_output(gs->cfg.cb.ud, p->id, p->id_len);
		}
	}
	gs->depth--;
}

#define ENTER(gs)                                                                                            \
	do {                                                                                                 \
		if ((gs)->depth > 0)                                                                         \
			return -EBUSY;                                                                       \
		(gs)->depth++;                                                                               \
	} while (0)

/* ---- public API -------------------------------------------------------- */

struct gs *gs_new(const struct gs_config *cfg, const struct ident *id, const struct rng *rng,
                  const struct wlog *log)
{
	struct gs *gs;

	if (!cfg || !id || cfg->mcache_len == 0 || cfg->mcache_gossip > cfg->mcache_len ||
	    cfg->d_lo > cfg->d || cfg->d > cfg->d_hi || cfg->max_rpc_size < 64 || cfg->max_peers == 0)
		return NULL;
	gs = calloc(1, sizeof(*gs));
	if (!gs)
		return NULL;
	gs->cfg = *cfg;
	gs->id = id;
	gs->rng = rng;
	gs->log = log;
	gs_seen_init(&gs->seen, cfg->max_seen, cfg->seen_ttl_us, rng_u64(rng));
	if (gs_mcache_init(&gs->mc, cfg->mcache_len, cfg->max_mcache_bytes, rng_u64(rng)) < 0) {
		free(gs);
		return NULL;
	}
	/* js-style random start; +1 per message keeps them unique per author. */
	gs->seqno = rng_u64(rng) >> 1;
	return gs;
}

void gs_free(struct gs *gs)
{
	if (!gs)
		return;
	for (size_t i = 0; i < gs->n_peers; i++)
		peer_free(gs->peers[i]);
	free(gs->peers);
	gs_mcache_free(&gs->mc);
	gs_seen_free(&gs->seen);
	for (size_t i = 0; i < gs->n_topics; i++)
		topic_free(gs->topics[i]);
	free(gs->topics);
	free(gs);
}

int gs_add_peer(struct gs *gs, const uint8_t *peer, size_t peer_len, enum gs_proto proto, uint64_t now_us)
{
	struct gs_peer *p, **n;
	struct peerid pid;
	int e = 0;

	ENTER(gs);
	if (peer_len > GS_PEERID_MAX || peerid_from_bytes(&pid, peer, peer_len) < 0) {
		e = W2W_EPARSE;
		goto out;
	}
	if (peer_find(gs, peer, peer_len)) {
		e = W2W_ESTATE;
		goto out;
	}
	if (gs->n_peers >= gs->cfg.max_peers) {
		e = W2W_ELIMIT;
		goto out;
	}
	n = realloc(gs->peers, (gs->n_peers + 1) * sizeof(*n));
	if (!n) {
		e = -ENOMEM;
		goto out;
	}
	gs->peers = n;
	p = calloc(1, sizeof(*p));
	if (p)
		p->topics = calloc(gs->cfg.max_topics_per_peer + 1, sizeof(*p->topics));
	if (!p || !p->topics) {
		if (p)
			free(p);
		e = -ENOMEM;
		goto out;
	}
	memcpy(p->id, peer, peer_len);
	p->id_len = peer_len;
	p->serial = ++gs->next_serial;
	p->proto = proto == GS_MESHSUB_10 ? GS_MESHSUB_10 : GS_MESHSUB_11;
	buf_init(&p->in, gs->cfg.max_rpc_size + UVARINT_BUF_LEN);
	buf_init(&p->out, gs->cfg.max_queued);
	gs->peers[gs->n_peers++] = p;
	/* The hello: all our subscriptions (pubsub/README.md; go comm.go getHelloPacket). */
	send_subs(gs, p, NULL, true);
	(void)now_us;
out:
	leave(gs);
	return e;
}

int gs_remove_peer(struct gs *gs, const uint8_t *peer, size_t peer_len)
{
	struct gs_peer *p;
	int e = 0;

	ENTER(gs);
	p = peer_find(gs, peer, peer_len);
	if (!p) {
		e = -ENOENT;
		goto out;
	}
	p->dead = true; /* reaped by leave(), without on_drop: the host asked */
	gs->dead_peers = true;
out:
	leave(gs);
	return e;
}

int gs_on_bytes(struct gs *gs, const uint8_t *peer, size_t peer_len, const void *bytes, size_t n,
                uint64_t now_us)
{
	const uint8_t *src = bytes;
	struct gs_peer *p;
	size_t guard = 0, limit;
	int e = 0;

	ENTER(gs);
	p = peer_find(gs, peer, peer_len);
	if (!p) {
		e = -ENOENT;
		goto out;
	}
	gs->st.bytes_in += n;
	/* Each round appends >= 1 byte or consumes >= 1 buffered byte, so it ends within this many rounds. */
	limit = n + p->in.len + 2;
	while (!p->dead && guard++ < limit) {
		size_t room = buf_room(&p->in), take = n < room ? n : room;
		uint64_t len;
		int h;

		if (take) {
			if (buf_append(&p->in, src, take) < 0) {
				e = -ENOMEM;
				break;
			}
			src += take;
			n -= take;
		}
		h = uvarint_decode(p->in.data, p->in.len, &len);
		if (h == 0) {
			if (n == 0)
				break;
			continue;
		}
		if (h < 0 || len > gs->cfg.max_rpc_size) {
			e = stream_reset(gs, p, h < 0 ? "bad frame length" : "RPC too large", h < 0 ? 0 : len);
			break;
		}
		if (p->in.len - (size_t)h < len) {
			if (n == 0)
				break;
			continue;
		}
		/* zero-length frames: skip (go) */
		if (len && !handle_rpc(gs, p, p->in.data + h, (size_t)len, now_us)) {
			e = stream_reset(gs, p, "malformed RPC", len);
			break;
		}
		if (p->dead) {
			e = W2W_EPROTO;
			break;
		}
		buf_consume(&p->in, (size_t)h + (size_t)len);
	}
	if (!p->dead && p->in.len == 0 && p->in.cap > 65536)
		buf_free(&p->in); /* do not sit on a 1 MiB buffer after one big RPC */
out:
	leave(gs);
	return e;
}

int gs_take_output(struct gs *gs, const uint8_t *peer, size_t peer_len, struct buf *out)
{
	struct gs_peer *p;
	int e;

	ENTER(gs);
	p = peer_find(gs, peer, peer_len);
	if (!p) {
		e = -ENOENT;
		goto out;
	}
	{
		/* Move what fits: the stream is a byte stream, so an RPC may be
		 * split here and its rest follows on the next pull. All-or-nothing
		 * stalled a peer forever once its queue outgrew out's cap. */
		size_t n = p->out.len < buf_room(out) ? p->out.len : buf_room(out);

		e = buf_append(out, p->out.data, n);
		if (e >= 0) {
			e = (int)n;
			buf_consume(&p->out, n);
			if (p->out.len == 0 && p->out.cap > 65536)
				buf_free(&p->out);
		}
	}
out:
	leave(gs);
	return e;
}

size_t gs_output_pending(const struct gs *gs, const uint8_t *peer, size_t peer_len)
{
	const struct gs_peer *p = peer_find(gs, peer, peer_len);

	return p ? p->out.len : 0;
}

/* Topic peers eligible for the mesh (not in it, not in backoff), shuffled. */
static size_t candidates(struct gs *gs, struct gs_topic *t, const struct parr *exclude, uint64_t now,
                         struct gs_peer **c)
{
	size_t n = 0;

	for (size_t i = 0; i < gs->n_peers; i++) {
		struct gs_peer *q = gs->peers[i];

		if (q->dead || !peer_has_topic(q, t) || parr_has(exclude, q))
			continue;
		if (in_backoff(t, q, now, gs->cfg.heartbeat_us))
			continue;
		c[n++] = q;
	}
	shuffle(gs, c, n);
	return n;
}

static void emit_gossip(struct gs *gs, struct gs_topic *t, struct gs_peer **c)
{
	size_t nids = 0, np = 0, want;
	struct gsb *ids;

	for (unsigned w = 0; w < gs->cfg.mcache_gossip; w++)
		nids += gs->mc.win[w].n;
	if (!nids)
		return;
	ids = malloc(nids * sizeof(*ids));
	if (!ids)
		return;
	nids = 0;
	for (unsigned w = 0; w < gs->cfg.mcache_gossip; w++) {
		for (size_t i = 0; i < gs->mc.win[w].n && nids < gs->cfg.max_gossip_ids; i++) {
			const struct gs_mentry *m = gs->mc.win[w].e[i];

			if (strcmp(m->topic, t->name) == 0)
				ids[nids++] = (struct gsb){m->id, m->hn.len};
		}
	}
	if (nids) {
		for (size_t i = 0; i < gs->n_peers; i++) {
			struct gs_peer *q = gs->peers[i];

			if (!q->dead && peer_has_topic(q, t) && !parr_has(&t->mesh, q) &&
			    !parr_has(&t->fanout, q))
				c[np++] = q;
		}
		shuffle(gs, c, np);
		/* gossipsub-v1.1.md "Adaptive Gossip Dissemination": max(D_lazy, factor 0.25 x eligible). */
		want = np / 4 > gs->cfg.d_lazy ? np / 4 : gs->cfg.d_lazy;
		if (want > np)
			want = np;
		for (size_t i = 0; i < want; i++) {
			struct gsrpc_ihave h = {topic_gsb(t), ids, nids};
			struct gsrpc r = {.ihave = &h, .n_ihave = 1};

			send_rpc(gs, c[i], &r);
		}
	}
	free(ids);
}

static void heartbeat_topic(struct gs *gs, struct gs_topic *t, struct gs_peer **c, uint64_t now)
{
	const struct gs_config *k = &gs->cfg;

	if (t->subscribed) {
		if (t->mesh.n < k->d_lo) {
			size_t n = candidates(gs, t, &t->mesh, now, c);

			for (size_t i = 0; i < n && t->mesh.n < k->d; i++) {
				if (parr_add(&t->mesh, c[i]) == 0)
					send_graft(gs, c[i], t);
			}
		} else if (t->mesh.n > k->d_hi) {
			/* Keep D at random (no scores to rank by), PRUNE the rest with PX. */
			size_t n = t->mesh.n;

			memcpy(c, t->mesh.p, n * sizeof(*c));
			shuffle(gs, c, n);
			for (size_t i = k->d; i < n; i++) {
				parr_del(&t->mesh, c[i]);
				send_prune(gs, c[i], t, k->prune_backoff_us, true, now);
			}
		}
	} else if (t->fanout.n || t->last_pub) {
		if (t->last_pub + k->fanout_ttl_us < now) {
			t->fanout.n = 0;
			t->last_pub = 0;
		} else if (t->fanout.n < k->d) {
			struct parr none = {0};
			size_t n = candidates(gs, t, &none, now, c);

			for (size_t i = 0; i < n && t->fanout.n < k->d; i++)
				if (!parr_has(&t->fanout, c[i]))
					parr_add(&t->fanout, c[i]);
		}
	}
	if (t->subscribed || t->fanout.n)
		emit_gossip(gs, t, c);
	/* Expire backoffs (kept one heartbeat longer, matching the slack above). */
	for (size_t i = 0; i < t->n_bo;) {
		if (t->bo[i].until + k->heartbeat_us <= now)
			t->bo[i] = t->bo[--t->n_bo];
		else
			i++;
	}
}

void gs_heartbeat(struct gs *gs, uint64_t now_us)
{
	struct gs_peer **c;
	size_t k = 0;

	if (gs->depth > 0 || now_us < gs->next_hb)
		return;
	gs->depth++;
	gs->next_hb = now_us + gs->cfg.heartbeat_us;
	c = malloc((gs->n_peers + 1) * sizeof(*c));
	if (c) {
		for (size_t i = 0; i < gs->n_topics; i++)
			heartbeat_topic(gs, gs->topics[i], c, now_us);
		free(c);
	}
	gs_mcache_shift(&gs->mc);
	gs_seen_expire(&gs->seen, now_us);
	for (size_t i = 0; i < gs->n_peers; i++) {
		struct gs_peer *p = gs->peers[i];

		p->hb_ihave = p->hb_asked = p->hb_served = p->hb_invalid = p->hb_resets = 0;
		if (p->flaps)
			p->flaps--; /* forgive slowly: one violation per heartbeat is tolerated */
	}
	/* Forget topics nobody uses any more. */
	for (size_t i = 0; i < gs->n_topics; i++) {
		struct gs_topic *t = gs->topics[i];

		if (!t->subscribed && !t->n_peers && !t->fanout.n && !t->last_pub && !t->n_bo && !t->mesh.n)
			topic_free(t);
		else
			gs->topics[k++] = t;
	}
	gs->n_topics = k;
	leave(gs);
}

uint64_t gs_next_deadline(const struct gs *gs)
{
	return gs->next_hb;
}

int gs_subscribe(struct gs *gs, const char *topic, uint64_t now_us)
{
	struct gs_topic *t;
	struct gs_peer **c = NULL;
	int e = 0;

	ENTER(gs);
	t = topic_get(gs, topic, strlen(topic));
	if (!t) {
		e = W2W_ELIMIT;
		goto out;
	}
	if (t->subscribed)
		goto out;
	t->subscribed = true;
	for (size_t i = 0; i < gs->n_peers; i++)
		send_subs(gs, gs->peers[i], t, true);
	/* gossipsub-v1.0.md "Subscribe": fanout peers first, topped up to D. */
	c = malloc((gs->n_peers + 1) * sizeof(*c));
	if (!c) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->fanout.n && t->mesh.n < gs->cfg.d; i++) {
		struct gs_peer *q = t->fanout.p[i];

		if (!q->dead && !in_backoff(t, q, now_us, 0) && parr_add(&t->mesh, q) == 0)
			send_graft(gs, q, t);
	}
	t->fanout.n = 0;
	t->last_pub = 0;
	{
		size_t n = candidates(gs, t, &t->mesh, now_us, c);

		for (size_t i = 0; i < n && t->mesh.n < gs->cfg.d; i++)
			if (parr_add(&t->mesh, c[i]) == 0)
				send_graft(gs, c[i], t);
	}
out:
	free(c);
	leave(gs);
	return e;
}

int gs_unsubscribe(struct gs *gs, const char *topic, uint64_t now_us)
{
	struct gs_topic *t;
	int e = 0;

	ENTER(gs);
	t = topic_find(gs, topic, strlen(topic));
	if (!t || !t->subscribed)
		goto out;
	t->subscribed = false;
	for (size_t i = 0; i < gs->n_peers; i++)
		send_subs(gs, gs->peers[i], t, false);
	/* gossipsub-v1.1.md: PRUNE the mesh with the (shorter) unsubscribe backoff. */
	for (size_t i = 0; i < t->mesh.n; i++)
		send_prune(gs, t->mesh.p[i], t, gs->cfg.unsub_backoff_us, true, now_us);
	t->mesh.n = 0;
out:
	leave(gs);
	return e;
}

int gs_publish(struct gs *gs, const char *topic, const void *data, size_t len, uint64_t now_us)
{
	const struct peerid *me = ident_peerid(gs->id);
	uint8_t seq[SEQNO_LEN], sig[SIG_LEN], id[GS_MSGID_MAX];
	struct gsrpc_msg m = {0};
	struct gs_topic *t;
	struct buf sin, raw;
	struct gsb key = {ident_pubkey_pb(gs->id), IDENT_PUBPB_LEN};
	int e, idlen;

	ENTER(gs);
	buf_init(&sin, 0);
	buf_init(&raw, 0);
	if (len > gs->cfg.max_msg_size || strlen(topic) == 0 || strlen(topic) > GS_TOPIC_MAX) {
		e = W2W_ELIMIT;
		goto out;
	}
	t = topic_get(gs, topic, strlen(topic));
	if (!t) {
		e = W2W_ELIMIT;
		goto out;
	}
	gs->seqno++;
	for (int i = 0; i < 8; i++)
		seq[i] = (uint8_t)(gs->seqno >> (56 - 8 * i));
	/* pubsub/README.md "Message Signing": sign from|data|seqno|topic, then add signature and key. */
	m.has = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC;
	m.from = (struct gsb){me->b, me->len};
	m.data = (struct gsb){data, len};
	m.seqno = (struct gsb){seq, SEQNO_LEN};
	m.topic = topic_gsb(t);
	e = gsrpc_msg_sign_input(&m, &sin);
	if (e < 0)
		goto out;
	ident_sign(gs->id, sin.data, sin.len, sig);
	m.has |= GSRPC_HAS_SIG | GSRPC_HAS_KEY; /* key included, as js does; go accepts it */
	m.signature = (struct gsb){sig, SIG_LEN};
	m.key = key;
	e = gsrpc_msg_encode(&m, &raw);
	if (e < 0)
		goto out;
	if (raw.len + 16 > gs->cfg.max_rpc_size) {
		e = W2W_ELIMIT;
		goto out;
	}
	idlen = msg_id(gs, &m.from, &key, seq, id, sizeof(id));
	if (idlen < 0) {
		e = idlen;
		goto out;
	}
	gs_seen_add(&gs->seen, id, (size_t)idlen, now_us);
	mcache_put(gs, id, (size_t)idlen, t, raw.data, raw.len);
	gs->st.published++;
	if (gs->cfg.flood_publish) {
		/* gossipsub-v1.1.md "Flood Publishing": every topic peer gets our own messages. */
		for (size_t i = 0; i < gs->n_peers; i++)
			if (peer_has_topic(gs->peers[i], t))
				send_raw_msg(gs, gs->peers[i], raw.data, raw.len);
	} else {
		if (!t->subscribed) {
			if (t->fanout.n < gs->cfg.d) {
				struct gs_peer **c = malloc((gs->n_peers + 1) * sizeof(*c));
				struct parr none = {0};
				size_t n = c ? candidates(gs, t, &none, now_us, c) : 0;

				for (size_t i = 0; i < n && t->fanout.n < gs->cfg.d; i++)
					if (!parr_has(&t->fanout, c[i]))
						parr_add(&t->fanout, c[i]);
				free(c);
			}
		}
		const struct parr *to = t->subscribed ? &t->mesh : &t->fanout;

		for (size_t i = 0; i < to->n; i++)
			send_raw_msg(gs, to->p[i], raw.data, raw.len);
	}
	if (!t->subscribed)
		t->last_pub = now_us ? now_us : 1;
	e = 0;
out:
	buf_free(&sin);
	buf_free(&raw);
	leave(gs);
	return e;
}

void gs_get_stats(const struct gs *gs, struct gs_stats *out)
{
	*out = gs->st;
}

size_t gs_peer_count(const struct gs *gs)
{
	size_t n = 0;

	for (size_t i = 0; i < gs->n_peers; i++)
		n += !gs->peers[i]->dead;
	return n;
}

size_t gs_mesh_count(const struct gs *gs, const char *topic)
{
	const struct gs_topic *t = topic_find(gs, topic, strlen(topic));

	return t ? t->mesh.n : 0;
}

size_t gs_topic_peer_count(const struct gs *gs, const char *topic)
{
	const struct gs_topic *t = topic_find(gs, topic, strlen(topic));
	size_t n = 0;

	for (size_t i = 0; t && i < gs->n_peers; i++)
		n += !gs->peers[i]->dead && peer_has_topic(gs->peers[i], t);
	return n;
}

bool gs_in_mesh(const struct gs *gs, const char *topic, const uint8_t *peer, size_t peer_len)
{
	const struct gs_topic *t = topic_find(gs, topic, strlen(topic));
	const struct gs_peer *p = peer_find(gs, peer, peer_len);

	return t && p && parr_has(&t->mesh, p);
}

size_t gs_mesh_peers(const struct gs *gs, const char *topic, uint8_t (*ids)[GS_PEERID_MAX], size_t *lens,
                     size_t max)
{
	const struct gs_topic *t = topic_find(gs, topic, strlen(topic));
	size_t n = 0;

	for (size_t i = 0; t && i < t->mesh.n && n < max; i++, n++) {
		memcpy(ids[n], t->mesh.p[i]->id, t->mesh.p[i]->id_len);
		lens[n] = t->mesh.p[i]->id_len;
	}
	return n;
}

size_t gs_topic_count(const struct gs *gs)
{
	return gs->n_topics;
}

size_t gs_memory(const struct gs *gs)
{
	size_t m = sizeof(*gs) + gs_mcache_memory(&gs->mc) + gs_seen_memory(&gs->seen);

	for (size_t i = 0; i < gs->n_peers; i++) {
		const struct gs_peer *p = gs->peers[i];

		m += sizeof(*p) + p->in.cap + p->out.cap + (gs->cfg.max_topics_per_peer + 1) * sizeof(void *);
	}
	for (size_t i = 0; i < gs->n_topics; i++) {
		const struct gs_topic *t = gs->topics[i];

		m += sizeof(*t) + t->len + 1 + (t->mesh.cap + t->fanout.cap) * sizeof(void *) +
		     t->cap_bo * sizeof(struct backoff);
	}
	return m + gs->n_topics * sizeof(void *);
}
