/* SPDX-License-Identifier: MIT */
/*
 * Scale: N simulated w2wesher nodes, each one real mesh node engine
 * (lib/mesh/meshnode.h) and one real gossipsub router (lib/p2p/gossipsub.h)
 * with a real Ed25519 identity, on one virtual clock. The engine's
 * announcements go out with gs_publish; the RPC bytes each router emits
 * travel over a virtual network to the peer's router (gs_on_bytes), which
 * hands verified messages to its engine (mn_on_message). Nothing reads a
 * clock; every random choice comes from seeded RNGs, so a run is a pure
 * function of its parameters (checked: the suite runs the scenario twice).
 *
 * The network. Each ordered pair of nodes has a one-way latency of
 * LAT_MIN_US..LAT_MAX_US (fixed per pair, seeded) plus 0..JITTER_US per
 * write; writes on one connection stay in order (TCP). A write is cut into
 * MSS-sized segments; each segment is lost with probability LOSS_PPM and then
 * retransmitted after an RTO: it costs its bytes again and delays the
 * segment and everything behind it on that connection (head-of-line
 * blocking), as on TCP. Nothing is lost for good: gossipsub runs on TCP.
 *
 * Connections are made as the engine asks: its dial op is the host's
 * w2w_p2p_dial, modelled on lib/p2p/swarm.c -- a dial to a connected or
 * already dialling peer is dropped (-EALREADY), one inside the peer's dial
 * backoff too (-EAGAIN; 1 s doubling to 5 min after each failure), a
 * connection is up CONNECT_RTTS round trips after the dial (TCP, multistream,
 * PSK, Noise XX, yamux), and a node at SWARM_MAX_CONNS (the swarm's default
 * limit) refuses new connections (the dialer backs off). Two dials crossing
 * become one connection (both pay the handshake). Once up, both routers get
 * gs_add_peer, both engines mn_on_connected and mn_on_observed (identify).
 *
 * Bytes are counted as they would be on the underlay, per node, rx + tx:
 * each write of RPC bytes that gossipsub emitted costs per segment
 * WIRE_SEG_OVERHEAD (Ethernet 14 + IPv4 20 + TCP with timestamps 32) and once
 * per write YAMUX_HDR + NOISE_OVERHEAD (yamux frame header 12, Noise length
 * prefix 2 + Poly1305 tag 16), and every second segment is acknowledged by a
 * bare ACK (WIRE_SEG_OVERHEAD bytes, delayed ACK), and a write of one
 * segment always gets its own ACK. A connection costs CONN_SETUP_BYTES per
 * side (TCP handshake and close, multistream-select, PSK nonce, Noise XX with
 * the identity keys, yamux, identify with the signed peer record, the
 * gossipsub stream opens: an estimate from the protocol sizes, not a capture),
 * a refused one REFUSED_BYTES per side. Liveness (docs/mesh.md "Liveness"):
 * every node probes one member per PROBE_US (PeerExpiry / 6) with a yamux
 * ping on the existing connection, answered by a pong and ACKed; the target
 * walks the ring as the engine's does (rank + 1 + period mod (n - 1)).
 * These constants are what make the totals comparable with the netns
 * benchmark (tests/bench/bench_mesh.py counts underlay rx + tx bytes).
 *
 * WireGuard is modelled only as far as the engine sees it: the apply op
 * records, per peer, whether the desired device has it, routes its address
 * and gives an endpoint; the diff (added/removed/updated) is reported back
 * after APPLY_US (--apply-ms), one apply at a time, a newer desired device
 * replacing one that waits (as lib/core/wgsync coalesces); `established` is true when our device gives the peer an
 * endpoint or the peer's device gives us one with our address routed (its
 * initiation reached us), as in tests/unit/mesh_harness.c. Device applies and
 * peers per device are counted.
 *
 * Ed25519 verification: each distinct signed message is verified for real
 * once; the same bytes arriving at the other N-1 nodes hit a cache of
 * verdicts (ident_verify is wrapped at link time, see meson.build), which
 * keeps 1000 nodes affordable without changing any result.
 *
 * The engine's hangup op (bounded degree, lib/mesh/degree.h) closes the
 * connection at both ends (queued until the input returns); its probe op is
 * a ping answered over the connection after a round trip if the target runs
 * (a silently dead node keeps its connections in the others' view and never
 * answers).
 *
 * Usage: sim_scale [--check N] [--settle S] [--idle S] [--hub 0|1] [--spread S] [--directed 0|1]
 *                                      the suite test (cold start of N = 50, settle 60 s, idle
 *                                      120 s, no publish while idle, a join, a silent death
 *                                      gone from every table within PeerExpiry; then N = 30 twice)
 *        sim_scale --bench [--idle S] [--apply-ms MS] [--cold-max N] [--steady-max N] [--hub 0|1] [--spread S] [N...]
 *                                      the benchmark tables (default N = 100 300 1000)
 * --hub 1: every node bootstraps from node 0 (else from a random earlier
 * node); --spread S: the cold start's nodes start within S seconds (1).
 * SIM_SCALE_DEBUG=1 prints, every 100 ms of virtual time while converging,
 * the bytes in flight, the routers' memory and the RPC counters, and where
 * the missing announcements are: the nodes known to nobody (with their
 * connections, refused dials, publishes, and how many routers delivered a
 * message of theirs), the nodes without a connection, and for the node that
 * knows fewest, of each missing author whether its router delivered one.
 * SIM_SCALE_WATCH=i prints node i's dials, connections, refusals and
 * hangups; SIM_SCALE_LIMIT=S gives up converging after S s of virtual time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "degree.h"
#include "gossipsub.h"
#include "ident.h"
#include "meshnode.h"
#include "multiaddr.h"
#include "rng.h"

#define SEC 1000000ull
#define MS 1000ull
#define TOPIC "w2w:announces"       /* lib/core/node.c */
#define ANNOUNCE_US (60 * SEC)      /* AnnounceInterval default (lib/core/config_priv.h DEF_ANNOUNCE_MS) */
#define REFRESH_US (3600 * SEC)   /* RefreshInterval default (docs/configuration.md) */
#define WALL0_US 1700000000000000ull /* the wall clock at virtual time 0 */
#define RANGE "10.42.0.0/16"

/* network */
#define LAT_MIN_US (1 * MS)
#define LAT_MAX_US (40 * MS)
#define JITTER_US (5 * MS)
#define LOSS_PPM 5000 /* 0.5 % of segments */
#define RTO_US (200 * MS)
#define MSS 1448
/* The network is not bandwidth-limited, so a message storm costs memory
 * instead of time: past this many RPC bytes in flight the run stops and
 * reports the storm (bounded memory; see the Scale section of docs/mesh.md). */
#define INFLIGHT_CAP (1500ull * 1000 * 1000)
#define CONNECT_RTTS 3 /* TCP 1, multistream + PSK + Noise XX 1.5, yamux/identify 0.5 */
#define APPLY_US (2 * MS)
#define SWARM_MAX_CONNS 256               /* lib/p2p/swarm.h SWARM_DEFAULT_MAX_CONNS */
#define BACKOFF_US (1 * SEC)              /* SWARM_DEFAULT_BACKOFF_US */
#define BACKOFF_MAX_US (5 * 60 * SEC)     /* SWARM_DEFAULT_BACKOFF_MAX_US */
#define KEEPALIVE_US (35 * SEC)           /* probe period: PeerExpiry (210 s) / MN_PROBE_DIV */

/* wire bytes */
#define WIRE_SEG_OVERHEAD 66 /* Ethernet 14 + IPv4 20 + TCP 20 + timestamps 12 */
#define YAMUX_HDR 12
#define NOISE_OVERHEAD 18
#define CONN_SETUP_BYTES 3000 /* per side, see above */
#define REFUSED_BYTES 300     /* per side: SYN/SYN-ACK/ACK, PSK nonce, FIN/ACK */
/* one probe: the prober's ping and the ACK of the pong, the target's pong */
#define PROBE_PING_BYTES (YAMUX_HDR + NOISE_OVERHEAD + WIRE_SEG_OVERHEAD)
#define PROBE_PROBER_TX (PROBE_PING_BYTES + WIRE_SEG_OVERHEAD)
#define PROBE_TARGET_TX PROBE_PING_BYTES

enum ev_kind { EV_WAKE, EV_BYTES, EV_CONNECT, EV_APPLIED, EV_PONG };

struct ev {
	uint64_t t, seq;
	uint32_t kind : 8, gen : 24;
	int from, to;
	uint8_t *data;
	size_t len;
	struct wgdiff_stats st;
};

/* Per ordered pair (i, j): i's view of j. */
struct pair {
	uint64_t last_t;    /* FIFO: the last delivery time of a write i -> j */
	uint64_t next_dial; /* i's backoff for j */
	uint32_t gen;       /* connection generation */
	uint8_t link, dialing, fails, dirty;
	uint8_t dev;        /* DEV_* : j on i's WireGuard device */
};

enum { DEV_PEER = 1, DEV_ROUTED = 2, DEV_ENDPOINT = 4 };

struct counters {
	uint64_t rx, tx;
};

struct node {
	struct sim *s;
	int idx;
	bool up;
	struct ident *id;
	struct gs *gs;
	struct rng_seeded rs;
	struct rng rng;
	struct mesh_node *m;
	uint8_t wg_priv[32], wg_pub[32];
	uint64_t wake; /* the deadline of the queued EV_WAKE (UINT64_MAX: none) */
	bool touched;
	size_t conns;
	size_t dev_peers;
	bool dev_first;
	bool has_addr;
	struct ann_ip addr;
	struct counters c;
	uint64_t publishes, applies, dials, refused, connects;
	uint64_t directs; /* directed announcements sent (mn_ops.send_to) */
	bool applying;            /* an apply is in flight */
	struct wgdevice *queued;  /* the next desired device, waiting for it */
	bool queued_has_addr, queued_keep;
	struct ann_claim queued_addr;
};

struct pending_msg {
	int to;
	struct peerid author;
	uint8_t *data;
	size_t len;
};

struct sim {
	size_t n; /* nodes allocated */
	struct node *nodes;
	struct pair *pairs; /* n * n */
	struct ipam_range range;
	uint64_t now, seq;
	uint64_t apply_us; /* a WireGuard apply takes this long */
	struct rng_seeded nrs;
	struct rng nrng;
	struct ev *heap;
	size_t nheap, capheap;
	int cur; /* node whose router is running (its callbacks) */
	/* peer id -> node index (open addressing) */
	int *idmap;
	size_t idcap;
	/* (i, j) with output queued */
	uint32_t (*dirty)[2];
	size_t ndirty, capdirty;
	int *touched;
	size_t ntouched;
	int *by_rank; /* node indices sorted by peer ID (the engines' ring) */
	struct pending_msg *pend;
	size_t npend, cappend;
	int (*hang)[2]; /* hangups to carry out (op_hangup) */
	size_t nhang, caphang;
	uint64_t hangups;
	uint64_t next_keepalive;
	uint64_t frames, segments, lost_segments;
	uint64_t inflight, inflight_peak; /* RPC bytes on the wire, now and at most */
	uint64_t storm_at;                 /* 0, or when inflight passed INFLIGHT_CAP */
	bool fail;
	uint8_t *got; /* SIM_SCALE_DEBUG: got[i * n + a]: i's router delivered a message by a */
};

static void die(const char *what)
{
	fprintf(stderr, "sim_scale: %s\n", what);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static struct pair *P(struct sim *s, int i, int j)
{
	return &s->pairs[(size_t)i * s->n + (size_t)j];
}

/* ---- verification cache (ident_verify wrapped at link time) ---- */

int __real_ident_verify(const uint8_t *pubpb, size_t pubpb_len, const void *msg, size_t n, const uint8_t sig[64]);
int __wrap_ident_verify(const uint8_t *pubpb, size_t pubpb_len, const void *msg, size_t n, const uint8_t sig[64]);

struct vc_entry {
	uint8_t sig[64];
	uint64_t h; /* FNV-1a of key and message */
	int verdict;
	bool used;
};

static struct vc_entry *vc;
static size_t vc_cap, vc_n;
static uint64_t vc_real, vc_hits;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static struct vc_entry *vc_slot(struct vc_entry *t, size_t cap, const uint8_t *sig, uint64_t h)
{
	size_t k = (size_t)(h ^ fnv(14695981039346656037ull, sig, 16)) & (cap - 1);

	while (t[k].used && (t[k].h != h || memcmp(t[k].sig, sig, 64) != 0))
		k = (k + 1) & (cap - 1);
	return &t[k];
}

int __wrap_ident_verify(const uint8_t *pubpb, size_t pubpb_len, const void *msg, size_t n, const uint8_t sig[64])
{
	uint64_t h = fnv(fnv(14695981039346656037ull, pubpb, pubpb_len), msg, n);
	struct vc_entry *e;

	if (vc_n * 2 >= vc_cap) {
		size_t cap = vc_cap ? vc_cap * 2 : 1 << 16;
		struct vc_entry *t = calloc(cap, sizeof(*t));

		if (!t)
			die("out of memory");
		for (size_t i = 0; i < vc_cap; i++)
			if (vc[i].used)
				*vc_slot(t, cap, vc[i].sig, vc[i].h) = vc[i];
		free(vc);
		vc = t;
		vc_cap = cap;
	}
	e = vc_slot(vc, vc_cap, sig, h);
	if (e->used) {
		vc_hits++;
		return e->verdict;
	}
	vc_real++;
	e->verdict = __real_ident_verify(pubpb, pubpb_len, msg, n, sig);
	memcpy(e->sig, sig, 64);
	e->h = h;
	e->used = true;
	vc_n++;
	return e->verdict;
}

/* ---- the event queue ---- */

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct sim *s, struct ev e)
{
	size_t i;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 4096;
		s->heap = xrealloc(s->heap, s->capheap * sizeof(*s->heap));
	}
	e.seq = s->seq++;
	i = s->nheap++;
	s->heap[i] = e;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct ev t;

		if (!ev_before(&s->heap[i], &s->heap[p]))
			break;
		t = s->heap[p];
		s->heap[p] = s->heap[i];
		s->heap[i] = t;
		i = p;
	}
}

static struct ev pop(struct sim *s)
{
	struct ev top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ev t;

		if (l < s->nheap && ev_before(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->nheap && ev_before(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			break;
		t = s->heap[m];
		s->heap[m] = s->heap[i];
		s->heap[i] = t;
		i = m;
	}
	return top;
}

/* ---- lookups ---- */

static size_t id_hash(const uint8_t *p, size_t n)
{
	return (size_t)fnv(14695981039346656037ull, p, n);
}

static void idmap_add(struct sim *s, int i)
{
	const struct peerid *id = ident_peerid(s->nodes[i].id);
	size_t k = id_hash(id->b, id->len) & (s->idcap - 1);

	while (s->idmap[k] >= 0)
		k = (k + 1) & (s->idcap - 1);
	s->idmap[k] = i;
}

static int node_of(const struct sim *s, const uint8_t *p, size_t n)
{
	size_t k = id_hash(p, n) & (s->idcap - 1);

	for (; s->idmap[k] >= 0; k = (k + 1) & (s->idcap - 1)) {
		const struct peerid *id = ident_peerid(s->nodes[s->idmap[k]].id);

		if (id->len == n && memcmp(id->b, p, n) == 0)
			return s->idmap[k];
	}
	return -1;
}

/* WireGuard keys carry their node's index in the first two bytes. */
static int node_by_pub(const struct sim *s, const uint8_t *pub)
{
	size_t i = (size_t)pub[0] | (size_t)pub[1] << 8;

	return i < s->n && memcmp(s->nodes[i].wg_pub, pub, 32) == 0 ? (int)i : -1;
}

static void underlay_ip(int i, struct ann_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = 4;
	ip->ip[0] = 10;
	ip->ip[1] = (uint8_t)((i + 1) >> 16);
	ip->ip[2] = (uint8_t)((i + 1) >> 8);
	ip->ip[3] = (uint8_t)(i + 1);
}

static uint64_t link_latency(int i, int j)
{
	int a = i < j ? i : j, b = i < j ? j : i;
	uint64_t h = fnv(fnv(14695981039346656037ull, &a, sizeof(a)), &b, sizeof(b));

	return LAT_MIN_US + h % (LAT_MAX_US - LAT_MIN_US);
}

static void touch(struct sim *s, int i)
{
	if (!s->nodes[i].touched) {
		s->nodes[i].touched = true;
		s->touched[s->ntouched++] = i;
	}
}

/* ---- bytes on the wire ---- */

static void count(struct sim *s, int i, uint64_t tx, int j, uint64_t rx)
{
	s->nodes[i].c.tx += tx;
	s->nodes[j].c.rx += rx;
}

/* Sends a write of len payload bytes i -> j; returns its delivery time. */
static uint64_t wire_write(struct sim *s, int i, int j, size_t len)
{
	struct pair *p = P(s, i, j);
	size_t segs = (len + YAMUX_HDR + NOISE_OVERHEAD + MSS - 1) / (MSS);
	uint64_t bytes = len + YAMUX_HDR + NOISE_OVERHEAD + segs * WIRE_SEG_OVERHEAD;
	uint64_t acks = segs == 1 ? 1 : (segs + 1) / 2;
	uint64_t t = s->now + link_latency(i, j) + rng_below(&s->nrng, JITTER_US);

	uint64_t rtt = 2 * link_latency(i, j), delay = 0;

	s->frames++;
	s->segments += segs;
	for (size_t k = 0; k < segs; k++) {
		/* A lost segment is sent again: after one round trip when three
		 * more segments follow it (fast retransmit, RFC 5681), else after
		 * the RTO, doubled on each further loss (RFC 6298). The repairs of
		 * one write overlap (SACK), so the write is late by the worst one. */
		uint64_t d = 0, rto = segs - k > 3 ? rtt : RTO_US;

		for (int tries = 0; tries < 8 && rng_below(&s->nrng, 1000000) < LOSS_PPM; tries++) {
			s->lost_segments++;
			d += rto << tries;
			bytes += (k + 1 < segs ? MSS : len + YAMUX_HDR + NOISE_OVERHEAD - k * MSS) + WIRE_SEG_OVERHEAD;
		}
		if (d > delay)
			delay = d;
	}
	t += delay;
	if (t < p->last_t)
		t = p->last_t;
	p->last_t = t;
	count(s, i, bytes, j, bytes);
	count(s, j, acks * WIRE_SEG_OVERHEAD, i, acks * WIRE_SEG_OVERHEAD);
	return t;
}

/* ---- gossipsub callbacks ---- */

static void on_message(void *ud, const struct gs_message *m)
{
	struct sim *s = ud;
	struct pending_msg *pm;

	if (s->npend == s->cappend) {
		s->cappend = s->cappend ? 2 * s->cappend : 256;
		s->pend = xrealloc(s->pend, s->cappend * sizeof(*s->pend));
	}
	pm = &s->pend[s->npend++];
	pm->to = s->cur;
	if (peerid_from_bytes(&pm->author, m->from, m->from_len) < 0)
		die("author");
	pm->data = xrealloc(NULL, m->len);
	memcpy(pm->data, m->data, m->len);
	pm->len = m->len;
	if (s->got) {
		int a = node_of(s, m->from, m->from_len);

		if (a >= 0)
			s->got[(size_t)s->cur * s->n + (size_t)a] = 1;
	}
}

static void on_output(void *ud, const uint8_t *peer, size_t len)
{
	struct sim *s = ud;
	int j = node_of(s, peer, len);
	struct pair *p;

	if (j < 0)
		return;
	p = P(s, s->cur, j);
	if (p->dirty)
		return;
	p->dirty = 1;
	if (s->ndirty == s->capdirty) {
		s->capdirty = s->capdirty ? 2 * s->capdirty : 1024;
		s->dirty = xrealloc(s->dirty, s->capdirty * sizeof(*s->dirty));
	}
	s->dirty[s->ndirty][0] = (uint32_t)s->cur;
	s->dirty[s->ndirty][1] = (uint32_t)j;
	s->ndirty++;
}

static void on_drop(void *ud, const uint8_t *peer, size_t len, enum gs_drop_reason why)
{
	struct sim *s = ud;

	(void)peer;
	(void)len;
	fprintf(stderr, "sim_scale: node %d dropped a peer (%d)\n", s->cur, (int)why);
	s->fail = true;
}

static void flush(struct sim *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t k = 0; k < s->ndirty; k++) {
		int i = (int)s->dirty[k][0], j = (int)s->dirty[k][1];
		struct pair *p = P(s, i, j);
		const struct peerid *pj = ident_peerid(s->nodes[j].id);
		struct ev e = {0};

		p->dirty = 0;
		b.len = 0;
		if (!p->link || gs_take_output(s->nodes[i].gs, pj->b, pj->len, &b) <= 0)
			continue;
		e.t = wire_write(s, i, j, b.len);
		e.kind = EV_BYTES;
		e.gen = p->gen & 0xffffff;
		e.from = i;
		e.to = j;
		e.data = xrealloc(NULL, b.len);
		memcpy(e.data, b.data, b.len);
		e.len = b.len;
		s->inflight += b.len;
		if (s->inflight > s->inflight_peak)
			s->inflight_peak = s->inflight;
		if (s->inflight > INFLIGHT_CAP && !s->storm_at) {
			s->storm_at = s->now ? s->now : 1;
			s->fail = true;
		}
		push(s, e);
	}
	s->ndirty = 0;
	buf_free(&b);
}

static void watch(const struct sim *s, int i, int j, const char *what);

/* ---- the engine's ops ---- */

static int op_publish(void *ud, const uint8_t *data, size_t len)
{
	struct node *x = ud;
	struct sim *s = x->s;
	int prev = s->cur, r;

	x->publishes++;
	s->cur = x->idx;
	r = gs_publish(x->gs, TOPIC, data, len, s->now);
	s->cur = prev;
	return r;
}

/* Directed announcements (mn_ops.send_to; --directed 1, the suite's
 * scale-50-directed; off by default like lib/core/node.c, which does not
 * provide the op yet, see docs/mesh.md "Scale"): each
 * node also subscribes to a topic of its own, named like
 * "w2w:to:<peer ID>" (the length of a real one), and a directed announcement
 * is a gossipsub publish on the recipient's topic, which only it subscribes
 * to: the real router sends it to that peer alone and nobody forwards it. */
static bool directed;
/* the scenario ends with a silent death (the checks) */
static bool death;
/* start patterns: all within spread_us (a cold start; --spread S), or
 * ROLLING_RATE per second; bootstrapping from node 0 (--hub 1) or from a
 * random earlier node */
static uint64_t spread_us = SEC;
static bool hub;

static void direct_topic(int j, char *out, size_t cap)
{
	snprintf(out, cap, "w2w:to:12D3KooW%045d", j);
}

static int op_send_to(void *ud, const struct peerid *peer, const uint8_t *data, size_t len)
{
	struct node *x = ud;
	struct sim *s = x->s;
	int j = node_of(s, peer->b, peer->len), prev = s->cur, r;
	char topic[80];

	if (j < 0 || j == x->idx || !P(s, x->idx, j)->link)
		return -107; /* -ENOTCONN */
	direct_topic(j, topic, sizeof(topic));
	if (!gs_topic_peer_count(x->gs, topic))
		return -11; /* -EAGAIN: its SUBSCRIBE has not arrived (a real host checks the same) */
	x->directs++;
	s->cur = x->idx;
	r = gs_publish(x->gs, topic, data, len, s->now);
	s->cur = prev;
	return r;
}

/* A liveness probe (docs/mesh.md "Liveness"): a yamux ping on the existing
 * connection, answered after a round trip if the target runs (a silently
 * dead node keeps its connections in the others' view and never answers).
 * Its bytes are in keepalive(), the byte model. */
static int op_probe(void *ud, const struct peerid *peer)
{
	struct node *x = ud;
	struct sim *s = x->s;
	int j = node_of(s, peer->b, peer->len);
	struct ev e = {0};

	if (j < 0 || j == x->idx || !P(s, x->idx, j)->link)
		return -107; /* -ENOTCONN */
	e.t = s->now + 2 * link_latency(x->idx, j);
	e.kind = EV_PONG;
	e.gen = P(s, x->idx, j)->gen & 0xffffff;
	e.from = j;
	e.to = x->idx;
	push(s, e);
	return 0;
}

/* The engine closes a connection it does not want (bounded degree): queued,
 * carried out after the input returns. */
static void op_hangup(void *ud, const struct peerid *peer)
{
	struct node *x = ud;
	struct sim *s = x->s;
	int j = node_of(s, peer->b, peer->len);

	if (j < 0 || j == x->idx)
		return;
	if (s->nhang == s->caphang) {
		s->caphang = s->caphang ? 2 * s->caphang : 64;
		s->hang = xrealloc(s->hang, s->caphang * sizeof(*s->hang));
	}
	s->hang[s->nhang][0] = x->idx;
	s->hang[s->nhang][1] = j;
	s->nhang++;
}

static void op_dial(void *ud, const uint8_t *ma, size_t len)
{
	struct node *x = ud;
	struct sim *s = x->s;
	struct peerid pid;
	struct pair *p;
	int j = -1;
	struct ev e = {0};

	x->dials++;
	if (ma_peer(ma, len, &pid) < 0 || (j = node_of(s, pid.b, pid.len)) < 0 || j == x->idx)
		die("dial of an unknown address");
	p = P(s, x->idx, j);
	if (p->link || p->dialing || p->next_dial > s->now) {
		watch(s, x->idx, j, "dial dropped");
		return; /* swarm_dial_begin: -EALREADY / -EAGAIN */
	}
	watch(s, x->idx, j, "dial");
	p->dialing = 1;
	e.t = s->now + CONNECT_RTTS * 2 * link_latency(x->idx, j);
	e.kind = EV_CONNECT;
	e.from = x->idx;
	e.to = j;
	push(s, e);
}

/* Makes `desired` node i's device; the diff against the previous one. */
static void device_set(struct sim *s, struct node *x, struct wgdevice *desired, const struct ann_claim *addr,
		       bool keep_unlisted, struct wgdiff_stats *st)
{
	uint8_t *seen = calloc(s->n, 1);

	if (!seen)
		die("out of memory");
	memset(st, 0, sizeof(*st));
	x->applies++;
	for (const struct wgpeer *p = desired->first_peer; p; p = p->next_peer) {
		int j = node_by_pub(s, p->public_key);
		struct pair *q;
		uint8_t dev = DEV_PEER;

		if (j < 0)
			die("a peer that is no node");
		q = P(s, x->idx, j);
		seen[j] = 1;
		if (p->first_allowedip)
			dev |= DEV_ROUTED;
		if (p->endpoint.addr.sa_family != AF_UNSPEC)
			dev |= DEV_ENDPOINT;
		else
			dev |= q->dev & DEV_ENDPOINT; /* wgdiff keeps a known endpoint */
		if (!q->dev)
			st->added++;
		else if (q->dev != dev)
			st->updated++;
		else
			st->unchanged++;
		q->dev = dev;
	}
	for (size_t j = 0; j < s->n; j++) {
		struct pair *q = P(s, x->idx, (int)j);

		if (q->dev && !seen[j] && !keep_unlisted) {
			q->dev = 0;
			st->removed++;
		}
	}
	free(seen);
	x->dev_peers = 0;
	for (size_t j = 0; j < s->n; j++)
		x->dev_peers += P(s, x->idx, (int)j)->dev != 0;
	if (!x->dev_first || (addr != NULL) != x->has_addr || (addr && !ann_ip_eq(&addr->addr, &x->addr)))
		st->device_changed = true;
	x->dev_first = true;
	x->has_addr = addr != NULL;
	if (addr)
		x->addr = addr->addr;
	wgdev_free(desired);
}

static void apply_start(struct sim *s, struct node *x, struct wgdevice *desired, const struct ann_claim *addr,
			bool keep_unlisted)
{
	struct ev e = {0};

	device_set(s, x, desired, addr, keep_unlisted, &e.st);
	x->applying = 1;
	e.t = s->now + s->apply_us;
	e.kind = EV_APPLIED;
	e.from = e.to = x->idx;
	push(s, e);
}

/* As lib/core/wgsync: one apply at a time; a desired device that arrives
 * meanwhile waits, and a newer one replaces it (coalescing). */
static void op_apply(void *ud, struct wgdevice *desired, const struct ann_claim *addr, uint8_t plen,
		     bool keep_unlisted)
{
	struct node *x = ud;

	(void)plen;
	if (x->applying) {
		wgdev_free(x->queued);
		x->queued = desired;
		x->queued_has_addr = addr != NULL;
		if (addr)
			x->queued_addr = *addr;
		x->queued_keep = keep_unlisted;
		return;
	}
	apply_start(x->s, x, desired, addr, keep_unlisted);
}

static void op_event(void *ud, const struct mn_event *ev)
{
	struct node *x = ud;

	if (ev->type == MN_EV_PEER_DOWN && getenv("SIM_SCALE_TRACE") && ev->peer)
		fprintf(stderr, "t=%.3f node %d: peer %d down (%s)\n", (double)x->s->now / 1e6, x->idx,
			node_of(x->s, ev->peer->b, ev->peer->len), ev->message ? ev->message : "");
	if (ev->type == MN_EV_ERROR) {
		fprintf(stderr, "sim_scale: node %d: %s\n", x->idx, ev->message ? ev->message : "error");
		x->s->fail = true;
	}
}

static bool op_established(void *ud, const uint8_t *wg_pub)
{
	struct node *x = ud;
	struct sim *s = x->s;
	int j = node_by_pub(s, wg_pub);

	if (j < 0 || !(P(s, x->idx, j)->dev & DEV_PEER))
		return false;
	if (P(s, x->idx, j)->dev & DEV_ENDPOINT)
		return true;
	return s->nodes[j].up && (P(s, j, x->idx)->dev & (DEV_ENDPOINT | DEV_ROUTED)) == (DEV_ENDPOINT | DEV_ROUTED);
}

static uint64_t op_wall_us(void *ud)
{
	struct node *x = ud;

	return WALL0_US + x->s->now;
}

static struct mn_ops ops = {
	.publish = op_publish,
	.dial = op_dial,
	.apply = op_apply,
	.event = op_event,
	.established = op_established,
	.wall_us = op_wall_us,
	.hangup = op_hangup,
	.probe = op_probe,
};

/* ---- the world ---- */

static const struct sim *rank_sim;

static int cmp_rank(const void *a, const void *b)
{
	const struct peerid *x = ident_peerid(rank_sim->nodes[*(const int *)a].id);
	const struct peerid *y = ident_peerid(rank_sim->nodes[*(const int *)b].id);
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static uint64_t apply_us = APPLY_US; /* --apply-ms */

static void sim_init(struct sim *s, size_t n, uint64_t seed)
{
	ops.send_to = directed ? op_send_to : NULL;
	struct gs_config c;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->nodes = calloc(n, sizeof(*s->nodes));
	s->pairs = calloc(n * n, sizeof(*s->pairs));
	s->touched = calloc(n, sizeof(*s->touched));
	s->idcap = 1;
	while (s->idcap < 4 * n)
		s->idcap *= 2;
	s->idmap = malloc(s->idcap * sizeof(*s->idmap));
	if (!s->nodes || !s->pairs || !s->touched || !s->idmap || ipam_range_parse(&s->range, RANGE) < 0)
		die("init");
	memset(s->idmap, 0xff, s->idcap * sizeof(*s->idmap));
	rng_seeded_init(&s->nrs, &s->nrng, seed);
	gs_config_default(&c); /* as lib/core/p2phost.c */
	c.cb.ud = s;
	c.cb.on_message = on_message;
	c.cb.on_output = on_output;
	c.cb.on_drop = on_drop;
	for (size_t i = 0; i < n; i++) {
		struct node *x = &s->nodes[i];
		uint8_t sd[32] = {0};

		x->s = s;
		x->idx = (int)i;
		x->wake = UINT64_MAX;
		sd[0] = (uint8_t)i;
		sd[1] = (uint8_t)(i >> 8);
		sd[2] = (uint8_t)seed;
		sd[3] = 0x5c;
		if (ident_from_seed(&x->id, sd) < 0)
			die("identity");
		idmap_add(s, (int)i);
		rng_seeded_init(&x->rs, &x->rng, seed * 100003 + i);
		x->gs = gs_new(&c, x->id, &x->rng, NULL);
		if (!x->gs)
			die("gs_new");
		s->cur = (int)i;
		if (gs_subscribe(x->gs, TOPIC, 0) < 0)
			die("subscribe");
		if (directed) {
			char topic[80];

			direct_topic((int)i, topic, sizeof(topic));
			if (gs_subscribe(x->gs, topic, 0) < 0)
				die("subscribe");
		}
		x->wg_pub[0] = (uint8_t)i;
		x->wg_pub[1] = (uint8_t)(i >> 8);
		for (int k = 2; k < 32; k++)
			x->wg_pub[k] = (uint8_t)(i * 37 + (size_t)k * 11);
		memset(x->wg_priv, (int)(i + 1), 32);
	}
	s->by_rank = malloc(n * sizeof(*s->by_rank));
	if (!s->by_rank)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		s->by_rank[i] = (int)i;
	rank_sim = s;
	qsort(s->by_rank, n, sizeof(*s->by_rank), cmp_rank);
	s->next_keepalive = KEEPALIVE_US;
	s->apply_us = apply_us;
	if (getenv("SIM_SCALE_DEBUG") && !(s->got = calloc(n * n, 1)))
		die("out of memory");
}

static void sim_free(struct sim *s)
{
	free(s->got);
	free(s->by_rank);
	for (size_t i = 0; i < s->n; i++) {
		wgdev_free(s->nodes[i].queued);
		mn_free(s->nodes[i].m);
		gs_free(s->nodes[i].gs);
		ident_free(s->nodes[i].id);
	}
	while (s->nheap)
		free(pop(s).data);
	for (size_t k = 0; k < s->npend; k++)
		free(s->pend[k].data);
	free(s->pend);
	free(s->hang);
	free(s->heap);
	free(s->dirty);
	free(s->touched);
	free(s->idmap);
	free(s->pairs);
	free(s->nodes);
	memset(s, 0, sizeof(*s));
}

static void addr_text(struct sim *s, int i, char *out, size_t cap)
{
	struct ann_ip ip;
	uint8_t b[MA_MAX_BIN];
	int len;

	underlay_ip(i, &ip);
	len = ma_from_ip(b, sizeof(b), 4, ip.ip, 4001, true, ident_peerid(s->nodes[i].id));
	if (len < 0 || ma_format(out, cap, b, (size_t)len) < 0)
		die("multiaddr");
}

static void start(struct sim *s, int i, int bootstrap)
{
	struct node *x = &s->nodes[i];
	struct mn_config c = {0};
	char name[32];

	snprintf(name, sizeof(name), "node-%d", i);
	c.self = ident_peerid(x->id);
	c.name = name;
	c.ifname = "w2w0";
	c.wg_priv = x->wg_priv;
	c.wg_pub = x->wg_pub;
	c.wg_port = 51820;
	c.keepalive_s = 0; /* the default: off (docs/configuration.md) */
	c.range = s->range;
	c.announce_us = REFRESH_US; /* the periodic re-announcement is RefreshInterval now */
	c.expiry_us = mn_default_expiry_ms(ANNOUNCE_US / 1000) * 1000;
	underlay_ip(i, &c.listen_ip);
	c.listen_tcp = 4001;
	if (mn_new(&x->m, &c, &ops, x) < 0)
		die("mn_new");
	if (bootstrap >= 0) {
		char ma[MA_MAX_TEXT];

		addr_text(s, bootstrap, ma, sizeof(ma));
		nodestate_add_peer(mn_state(x->m), ma);
	}
	x->up = true;
	watch(s, i, bootstrap >= 0 ? bootstrap : i, "start, bootstrap");
	mn_start(x->m, s->now);
	touch(s, i);
}

static void deliver_pending(struct sim *s)
{
	/* after the router call returned: the engine may publish (gs_publish) */
	for (size_t k = 0; k < s->npend; k++) {
		struct pending_msg *pm = &s->pend[k];

		if (s->nodes[pm->to].up)
			mn_on_message(s->nodes[pm->to].m, &pm->author, pm->data, pm->len, s->now);
		free(pm->data);
		touch(s, pm->to);
	}
	s->npend = 0;
}

/* The hangups the engines asked for: both ends see the connection close
 * (TCP FIN and its ACK each way). */
static void do_hangups(struct sim *s)
{
	for (size_t k = 0; k < s->nhang; k++) {
		int i = s->hang[k][0], j = s->hang[k][1];
		struct pair *p = P(s, i, j), *q = P(s, j, i);
		struct node *a = &s->nodes[i], *b = &s->nodes[j];

		if (!p->link)
			continue;
		watch(s, i, j, "hangup");
		p->link = q->link = 0;
		p->gen++;
		q->gen++;
		a->conns--;
		b->conns--;
		s->hangups++;
		count(s, i, 2 * WIRE_SEG_OVERHEAD, j, 2 * WIRE_SEG_OVERHEAD);
		count(s, j, 2 * WIRE_SEG_OVERHEAD, i, 2 * WIRE_SEG_OVERHEAD);
		s->cur = i;
		gs_remove_peer(a->gs, ident_peerid(b->id)->b, ident_peerid(b->id)->len);
		s->cur = j;
		gs_remove_peer(b->gs, ident_peerid(a->id)->b, ident_peerid(a->id)->len);
		if (a->up)
			mn_on_disconnected(a->m, ident_peerid(b->id));
		if (b->up)
			mn_on_disconnected(b->m, ident_peerid(a->id));
		touch(s, i);
		touch(s, j);
	}
	s->nhang = 0;
}

/* SIM_SCALE_WATCH=i: the connection events of node i (diagnosis) */
static int watch_node(void)
{
	static int w = -2;

	if (w == -2)
		w = getenv("SIM_SCALE_WATCH") ? atoi(getenv("SIM_SCALE_WATCH")) : -1;
	return w;
}

static void watch(const struct sim *s, int i, int j, const char *what)
{
	if (watch_node() >= 0 && (i == watch_node() || j == watch_node()))
		fprintf(stderr, "watch t=%.4f %d -> %d: %s (conns %zu / %zu, knows %zu / %zu)\n", (double)s->now / 1e6, i, j,
			what, s->nodes[i].conns, s->nodes[j].conns,
			s->nodes[i].m ? pt_count(mn_table(s->nodes[i].m)) : 0,
			s->nodes[j].m ? pt_count(mn_table(s->nodes[j].m)) : 0);
}

static void backoff(struct pair *p, uint64_t now)
{
	uint64_t wait = BACKOFF_US;

	if (p->fails < 255)
		p->fails++;
	for (unsigned i = 1; i < p->fails && wait < BACKOFF_MAX_US; i++)
		wait *= 2;
	p->next_dial = now + (wait > BACKOFF_MAX_US ? BACKOFF_MAX_US : wait);
}

static void connect_done(struct sim *s, int i, int j)
{
	struct node *a = &s->nodes[i], *b = &s->nodes[j];
	struct pair *p = P(s, i, j), *q = P(s, j, i);
	struct ann_ip ip;

	p->dialing = 0;
	watch(s, i, j, "connect done");
	if (!a->up)
		return;
	if (!b->up) {
		count(s, i, REFUSED_BYTES / 2, i, REFUSED_BYTES / 2);
		backoff(p, s->now);
		return;
	}
	if (p->link) {
		/* crossed dials: the second handshake was paid for, one connection stays */
		count(s, i, CONN_SETUP_BYTES, j, CONN_SETUP_BYTES);
		count(s, j, CONN_SETUP_BYTES, i, CONN_SETUP_BYTES);
		return;
	}
	if (a->conns >= SWARM_MAX_CONNS || b->conns >= SWARM_MAX_CONNS) {
		watch(s, i, j, "refused");
		a->refused++;
		count(s, i, REFUSED_BYTES, j, REFUSED_BYTES);
		count(s, j, REFUSED_BYTES, i, REFUSED_BYTES);
		backoff(p, s->now);
		return;
	}
	count(s, i, CONN_SETUP_BYTES, j, CONN_SETUP_BYTES);
	count(s, j, CONN_SETUP_BYTES, i, CONN_SETUP_BYTES);
	p->link = q->link = 1;
	p->gen++;
	q->gen++;
	p->fails = q->fails = 0;
	p->next_dial = q->next_dial = 0;
	p->last_t = q->last_t = 0;
	a->conns++;
	b->conns++;
	a->connects++;
	s->cur = i;
	if (gs_add_peer(a->gs, ident_peerid(b->id)->b, ident_peerid(b->id)->len, GS_MESHSUB_11, s->now) < 0)
		die("gs_add_peer");
	s->cur = j;
	if (gs_add_peer(b->gs, ident_peerid(a->id)->b, ident_peerid(a->id)->len, GS_MESHSUB_11, s->now) < 0)
		die("gs_add_peer");
	underlay_ip(j, &ip);
	mn_on_connected(a->m, ident_peerid(b->id), &ip, s->now);
	underlay_ip(i, &ip);
	mn_on_connected(b->m, ident_peerid(a->id), &ip, s->now);
	/* identify: each tells the other where it sees it */
	underlay_ip(i, &ip);
	mn_on_observed(a->m, &ip, s->now);
	underlay_ip(j, &ip);
	mn_on_observed(b->m, &ip, s->now);
	touch(s, i);
	touch(s, j);
}

static void keepalive(struct sim *s)
{
	uint64_t k = s->now / KEEPALIVE_US;

	if (s->n < 2)
		return;
	for (size_t r = 0; r < s->n; r++) {
		/* the ring of peer IDs, as the engine's probe_step; with a bounded
		 * degree (lib/mesh/degree.h) the target is one of the DEG_RING
		 * ring successors */
		size_t w = deg_bounded(s->n) ? DEG_RING : s->n - 1;
		size_t i = (size_t)s->by_rank[r], j = (size_t)s->by_rank[(r + 1 + (size_t)(k % w)) % s->n];

		if (j != i && P(s, (int)i, (int)j)->link) {
			count(s, (int)i, PROBE_PROBER_TX, (int)j, PROBE_PROBER_TX);
			count(s, (int)j, PROBE_TARGET_TX, (int)i, PROBE_TARGET_TX);
		}
	}
}

static void handle(struct sim *s, struct ev *e)
{
	struct node *to = &s->nodes[e->to];

	switch (e->kind) {
	case EV_WAKE:
		if (e->t != to->wake)
			break; /* superseded */
		to->wake = UINT64_MAX;
		if (!to->up)
			break;
		s->cur = e->to;
		gs_heartbeat(to->gs, s->now);
		if (mn_next_deadline(to->m) <= s->now)
			mn_tick(to->m, s->now);
		touch(s, e->to);
		break;
	case EV_BYTES: {
		const struct peerid *pf = ident_peerid(s->nodes[e->from].id);

		if (!to->up || e->gen != (P(s, e->from, e->to)->gen & 0xffffff) || !P(s, e->from, e->to)->link)
			break; /* the connection is gone */
		s->cur = e->to;
		if (gs_on_bytes(to->gs, pf->b, pf->len, e->data, e->len, s->now) < 0) {
			fprintf(stderr, "sim_scale: node %d rejected bytes from %d\n", e->to, e->from);
			s->fail = true;
		}
		touch(s, e->to);
		break;
	}
	case EV_CONNECT:
		connect_done(s, e->from, e->to);
		break;
	case EV_PONG:
		/* the answer to a probe (op_probe), on the same connection */
		if (to->up && s->nodes[e->from].up && P(s, e->to, e->from)->link &&
		    e->gen == (P(s, e->to, e->from)->gen & 0xffffff)) {
			mn_on_alive(to->m, ident_peerid(s->nodes[e->from].id), s->now);
			touch(s, e->to);
		}
		break;
	case EV_APPLIED: {
		/* busy: another desired device is queued behind this one */
		bool busy = to->queued != NULL;

		to->applying = 0;
		if (to->queued) {
			struct wgdevice *d = to->queued;

			to->queued = NULL;
			apply_start(s, to, d, to->queued_has_addr ? &to->queued_addr : NULL, to->queued_keep);
		}
		if (to->up)
			mn_on_wg_applied(to->m, &e->st, busy, s->now);
		touch(s, e->to);
		break;
	}
	}
	free(e->data);
}

/* Re-arms the wake-ups of the nodes that were touched. */
static void rearm(struct sim *s)
{
	for (size_t k = 0; k < s->ntouched; k++) {
		struct node *x = &s->nodes[s->touched[k]];
		uint64_t d = UINT64_MAX;

		x->touched = false;
		if (x->up) {
			d = gs_next_deadline(x->gs);
			if (mn_next_deadline(x->m) < d)
				d = mn_next_deadline(x->m);
		}
		if (d < s->now)
			d = s->now;
		if (d != x->wake && d != UINT64_MAX) {
			struct ev e = {0};

			e.t = d;
			e.kind = EV_WAKE;
			e.to = x->idx;
			x->wake = d;
			push(s, e);
		} else if (d == UINT64_MAX) {
			x->wake = UINT64_MAX;
		}
	}
	s->ntouched = 0;
}

static void run(struct sim *s, uint64_t until)
{
	for (uint64_t guard = 0; guard < 4000000000ull && !s->fail; guard++) {
		struct ev e;

		rearm(s);
		if (s->next_keepalive <= until && (!s->nheap || s->next_keepalive < s->heap[0].t)) {
			s->now = s->next_keepalive;
			keepalive(s);
			s->next_keepalive += KEEPALIVE_US;
			continue;
		}
		if (!s->nheap || s->heap[0].t > until)
			break;
		e = pop(s);
		s->inflight -= e.len;
		if (e.t > s->now)
			s->now = e.t;
		handle(s, &e);
		deliver_pending(s);
		do_hangups(s);
		deliver_pending(s);
		flush(s);
	}
	if (until > s->now)
		s->now = until;
}

/* ---- checks and figures ---- */

static int cmp_ip(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ann_ip));
}

/* Every running node lists every other, addresses are distinct, every device
 * routes every peer. NULL, or what is wrong. */
static const char *converged(struct sim *s, bool full, char *why, size_t cap)
{
	struct ann_ip *ips = calloc(s->n, sizeof(*ips));
	uint8_t *seen = calloc(s->n, 1);
	size_t up = 0, k = 0;
	const char *r = NULL;

	if (!ips || !seen)
		die("out of memory");
	for (size_t i = 0; i < s->n; i++)
		up += s->nodes[i].up;
	for (size_t i = 0; i < s->n && !r; i++) {
		struct node *x = &s->nodes[i];
		const struct peertable *pt;

		if (!x->up)
			continue;
		pt = mn_table(x->m);
		if (!mn_claim(x->m)) {
			snprintf(why, cap, "node %zu has no address", i);
			r = why;
			break;
		}
		ips[k++] = mn_claim(x->m)->addr;
		if (pt_count(pt) != up - 1) {
			snprintf(why, cap, "node %zu knows %zu of %zu", i, pt_count(pt), up - 1);
			r = why;
			break;
		}
		if (x->dev_peers < up - 1) {
			snprintf(why, cap, "node %zu has %zu of %zu peers on its device", i, x->dev_peers, up - 1);
			r = why;
			break;
		}
		if (!full)
			continue;
		memset(seen, 0, s->n);
		for (size_t e = 0; e < pt_count(pt); e++) {
			int j = node_of(s, pt_at(pt, e)->id.b, pt_at(pt, e)->id.len);

			if (j < 0 || (size_t)j == i || !s->nodes[j].up || seen[j] ||
			    !(P(s, (int)i, j)->dev & DEV_ROUTED)) {
				snprintf(why, cap, "node %zu: entry %zu is wrong or not routed", i, e);
				r = why;
				break;
			}
			seen[j] = 1;
		}
	}
	if (!r) {
		qsort(ips, k, sizeof(*ips), cmp_ip);
		for (size_t i = 1; i < k && !r; i++)
			if (ann_ip_eq(&ips[i - 1], &ips[i])) {
				snprintf(why, cap, "two nodes share an address");
				r = why;
			}
	}
	free(ips);
	free(seen);
	return r;
}

/* SIM_SCALE_DEBUG: how many running nodes lack entries, and for the one
 * lacking most, where its missing authors' announcements went. */
static void trace_missing(struct sim *s)
{
	size_t up = 0, bad = 0, worst = 0, wcount = SIZE_MAX;

	for (size_t i = 0; i < s->n; i++)
		up += s->nodes[i].up;
	for (size_t i = 0; i < s->n; i++) {
		size_t c;

		if (!s->nodes[i].up)
			continue;
		c = pt_count(mn_table(s->nodes[i].m));
		if (c != up - 1) {
			bad++;
			if (c < wcount) {
				wcount = c;
				worst = i;
			}
		}
	}
	if (!bad)
		return;
	{
		/* nodes nobody knows, and those without a connection */
		size_t unknown = 0, alone = 0, shown = 0;

		for (size_t a = 0; a < s->n; a++) {
			size_t knowers = 0;

			if (!s->nodes[a].up)
				continue;
			alone += !s->nodes[a].conns;
			for (size_t i = 0; i < s->n; i++)
				knowers += i != a && s->nodes[i].up &&
					   pt_find(mn_table(s->nodes[i].m), ident_peerid(s->nodes[a].id)) != NULL;
			if (!knowers) {
				size_t routed = 0;

				for (size_t i = 0; i < s->n; i++)
					routed += s->got[i * s->n + a];
				unknown++;
				if (shown++ < 8)
					fprintf(stderr,
						"    unknown to all: %zu (conns %zu, knows %zu, refused %" PRIu64
						", publishes %" PRIu64 ", applies %" PRIu64 ", delivered by %zu routers)\n",
						a, s->nodes[a].conns, pt_count(mn_table(s->nodes[a].m)), s->nodes[a].refused,
						s->nodes[a].publishes, s->nodes[a].applies, routed);
			}
		}
		fprintf(stderr, "  trace: %zu nodes known to nobody, %zu without a connection\n", unknown, alone);
	}
	{
		size_t miss = 0, routed = 0, nopub = 0, conn = 0, shown = 0;
		const struct peertable *pt = mn_table(s->nodes[worst].m);

		for (size_t a = 0; a < s->n; a++) {
			if (a == worst || !s->nodes[a].up || pt_find(pt, ident_peerid(s->nodes[a].id)))
				continue;
			miss++;
			routed += s->got[worst * s->n + a];
			nopub += !s->nodes[a].publishes;
			conn += P(s, (int)worst, (int)a)->link;
			if (shown++ < 12)
				fprintf(stderr, "    missing %zu: routed %d publishes %" PRIu64 " connected %d knows it %d\n", a,
					s->got[worst * s->n + a], s->nodes[a].publishes, P(s, (int)worst, (int)a)->link,
					pt_find(mn_table(s->nodes[a].m), ident_peerid(s->nodes[worst].id)) != NULL);
		}
		fprintf(stderr,
			"  trace: %zu nodes incomplete; node %zu knows %zu of %zu: of the %zu missing, %zu delivered by its "
			"router, %zu never published, %zu connected; its conns %zu\n",
			bad, worst, wcount, up - 1, miss, routed, nopub, conn, s->nodes[worst].conns);
	}
}

/* Runs until converged (checked every `step`), at most `limit`; the time it took or UINT64_MAX. */
static uint64_t converge(struct sim *s, uint64_t limit, const char *phase)
{
	uint64_t t0 = s->now;
	char why[160];
	const char *r = "not checked";

	/* SIM_SCALE_LIMIT=S: give up after S seconds of virtual time (diagnosis) */
	if (getenv("SIM_SCALE_LIMIT") && strtoull(getenv("SIM_SCALE_LIMIT"), NULL, 0) * SEC < limit)
		limit = strtoull(getenv("SIM_SCALE_LIMIT"), NULL, 0) * SEC;
	while (s->now - t0 < limit && !s->fail) {
		run(s, s->now + 100 * MS);
		if (getenv("SIM_SCALE_DEBUG")) {
			size_t qb = 0, gm = 0;

			for (size_t k = 0; k < s->nheap; k++)
				qb += s->heap[k].len;
			struct gs_stats st, sum = {0};
			uint64_t pubs = 0;

			for (size_t i = 0; i < s->n; i++) {
				gm += gs_memory(s->nodes[i].gs);
				gs_get_stats(s->nodes[i].gs, &st);
				sum.bytes_out += st.bytes_out;
				sum.ihave_in += st.ihave_in;
				sum.iwant_in += st.iwant_in;
				sum.msgs_in += st.msgs_in;
				sum.duplicates += st.duplicates;
				sum.rpc_out += st.rpc_out;
				sum.drop_queue_full += st.drop_queue_full;
				sum.rpc_truncated += st.rpc_truncated;
				pubs += s->nodes[i].publishes;
			}
			fprintf(stderr,
				"t=%.1f heap %zu (%zu B) gs %zu B; publishes %" PRIu64 " rpc out %" PRIu64 " bytes out %" PRIu64
				" msgs in %" PRIu64 " dups %" PRIu64 " ihave in %" PRIu64 " iwant in %" PRIu64
				" dropped (queue full) %" PRIu64 " truncated %" PRIu64 "\n",
				(double)s->now / 1e6, s->nheap, qb, gm, pubs, sum.rpc_out, sum.bytes_out, sum.msgs_in,
				sum.duplicates, sum.ihave_in, sum.iwant_in, sum.drop_queue_full, sum.rpc_truncated);
		}
		r = converged(s, false, why, sizeof(why));
		if (!r)
			return s->now - t0;
		if (getenv("SIM_SCALE_DEBUG")) {
			fprintf(stderr, "  not yet: %s\n", r);
			trace_missing(s);
		}
	}
	if (s->storm_at)
		fprintf(stderr, "sim_scale: %s: storm, %.1f GB of RPCs in flight at %.2f s\n", phase,
			(double)s->inflight / 1e9, (double)s->storm_at / 1e6);
	else
		fprintf(stderr, "sim_scale: %s: not converged after %" PRIu64 " s: %s\n", phase,
			(uint64_t)(limit / SEC), s->fail ? "failure" : r);
	s->fail = true;
	return UINT64_MAX;
}

static struct counters total(const struct sim *s, bool include_last)
{
	struct counters c = {0};

	for (size_t i = 0; i < s->n - (include_last ? 0 : 1); i++) {
		c.rx += s->nodes[i].c.rx;
		c.tx += s->nodes[i].c.tx;
	}
	return c;
}

struct result {
	size_t n;
	uint64_t t_start, t_join, t_death;
	double join_bytes_joiner, join_bytes_per_node, idle_bps, idle_bytes_hour;
	uint64_t idle_window_us;
	double conns_mean;
	size_t conns_max, dev_peers_min;
	double applies_per_node_join, publishes_per_node_hour;
	double gs_mesh_mean;
	uint64_t refused;
	double start_publishes, start_bytes; /* per node, until all knew all (or the storm) */
	double start_directs, idle_directs;  /* directed announcements per node: start, idle window */
	uint64_t storm_at;
	double inflight_peak_mb;
	double cpu_s;
	uint64_t vc_real, vc_hits;
};

/*
 * The scenario: N - 1 nodes start, `rate` per second (0: all within one
 * second, a cold start), each bootstrapping from a random earlier one, and
 * run until every node knows every other (t_start, from the last start);
 * unless start_only, then the mesh settles and runs idle for idle_us (bytes per node
 * per hour); then node N joins (bootstrapping from a random node) and runs
 * until every node knows every other again (t_join; bytes of the join over
 * that time and JOIN_TAIL_US after it, less the idle rate).
 */
#define JOIN_TAIL_US (5 * SEC)
#define ROLLING_RATE 50 /* nodes per second */
/* The suite's size: the cold start's CPU grows much faster than N (the
 * join/ack storm, docs/mesh.md "Scale"), ~1 s at 50 against ~30 s at 100. */
#define SUITE_N 50
/* Idle per node, rx + tx: this simulation gives 15-17 B/s flat in N once
 * the start-up is over (tests/bench/README.md); a publish in the window or
 * a start-up still running shows as kB/s. */
#define IDLE_MAX_BPS 100

static int scenario(size_t n, unsigned rate, uint64_t settle_us, uint64_t idle_us, bool start_only, uint64_t seed,
		    struct result *res, bool verbose)
{
	uint64_t pubs0 = 0, pubs1 = 0, *hist = NULL;
	size_t nhist = 0;
	static struct sim s;
	struct counters c0, c1;
	uint64_t w0;
	uint32_t lcg = (uint32_t)seed;
	clock_t cpu0 = clock();
	char why[160];
	int joiner = (int)n - 1;

	memset(res, 0, sizeof(*res));
	res->n = n;
	vc_real = vc_hits = 0;
	sim_init(&s, n, seed);
	for (int i = 0; i < joiner; i++) {
		lcg = lcg * 1664525u + 1013904223u;
		/* --hub: every node bootstraps from node 0 (one bootstrap address
		 * in every configuration), else from a random earlier node */
		start(&s, i, i ? (hub ? 0 : (int)((lcg >> 8) % (uint32_t)i)) : -1);
		run(&s, s.now + (rate ? SEC / rate : spread_us / (uint64_t)joiner));
	}
	res->t_start = converge(&s, 20 * 60 * SEC, "start");
	c0 = total(&s, false);
	for (int i = 0; i < joiner; i++)
		res->start_publishes += (double)s.nodes[i].publishes / (double)joiner;
	for (int i = 0; i < joiner; i++)
		res->start_directs += (double)s.nodes[i].directs / (double)joiner;
	res->start_bytes = (double)(c0.rx + c0.tx) / (double)joiner;
	if (s.fail || start_only)
		goto out;
	if (verbose)
		fprintf(stderr, "  [%zu] started, converged after %.2f s (CPU %.1f s)\n", n, (double)res->t_start / 1e6,
			(double)(clock() - cpu0) / CLOCKS_PER_SEC);

	run(&s, s.now + settle_us);
	c0 = total(&s, false);
	w0 = s.now;
	for (int i = 0; i < joiner; i++) {
		pubs0 += s.nodes[i].publishes;
		res->idle_directs -= (double)s.nodes[i].directs;
	}
	/* sampled every 100 ms: the join's baseline is the same phase one interval earlier */
	nhist = idle_us / (100 * MS) + 1;
	hist = calloc(nhist, sizeof(*hist));
	if (!hist)
		die("out of memory");
	for (size_t k = 0; k < nhist; k++) {
		if (k)
			run(&s, w0 + k * 100 * MS);
		c1 = total(&s, false);
		hist[k] = c1.rx + c1.tx;
	}
	for (int i = 0; i < joiner; i++) {
		pubs1 += s.nodes[i].publishes;
		res->idle_directs += (double)s.nodes[i].directs;
	}
	res->publishes_per_node_hour = (double)(pubs1 - pubs0) / (double)joiner * 3600e6 / (double)idle_us;
	res->idle_window_us = s.now - w0;
	res->idle_bps = (double)((c1.rx + c1.tx) - (c0.rx + c0.tx)) / (double)(n - 1) /
			((double)res->idle_window_us / 1e6);
	res->idle_bytes_hour = res->idle_bps * 3600.0;
	if (verbose)
		fprintf(stderr, "  [%zu] settled and idle (CPU %.1f s)\n", n, (double)(clock() - cpu0) / CLOCKS_PER_SEC);
	if (converged(&s, true, why, sizeof(why))) {
		fprintf(stderr, "sim_scale: idle: %s\n", why);
		s.fail = true;
		goto out;
	}

	/* the join */
	{
		uint64_t applies0 = 0, applies1 = 0;
		struct counters j0 = s.nodes[joiner].c, j1;
		uint64_t wj0 = s.now, win;

		for (int i = 0; i < joiner; i++)
			applies0 += s.nodes[i].applies;
		c0 = total(&s, false);
		lcg = lcg * 1664525u + 1013904223u;
		start(&s, joiner, (int)((lcg >> 8) % (uint32_t)joiner));
		res->t_join = converge(&s, 10 * 60 * SEC, "join");
		if (s.fail)
			goto out;
		run(&s, s.now + JOIN_TAIL_US);
		win = s.now - wj0;
		c1 = total(&s, false);
		j1 = s.nodes[joiner].c;
		for (int i = 0; i < joiner; i++)
			applies1 += s.nodes[i].applies;
		res->join_bytes_joiner = (double)((j1.rx + j1.tx) - (j0.rx + j0.tx));
		/* less what the same nodes sent and received over the same length of
		 * time one AnnounceInterval earlier (the same phase of their
		 * schedules and of the pings), else the mean idle rate */
		if (win <= ANNOUNCE_US && idle_us >= ANNOUNCE_US && win % (100 * MS) == 0) {
			size_t b0 = (size_t)((wj0 - ANNOUNCE_US - w0) / (100 * MS)), b1 = b0 + (size_t)(win / (100 * MS));

			res->join_bytes_per_node = (double)((c1.rx + c1.tx) - (c0.rx + c0.tx) - (hist[b1] - hist[b0])) /
						   (double)joiner;
		} else {
			res->join_bytes_per_node = (double)((c1.rx + c1.tx) - (c0.rx + c0.tx)) / (double)joiner -
						   res->idle_bps * ((double)win / 1e6);
		}
		res->applies_per_node_join = (double)(applies1 - applies0) / (double)joiner;
	}
	if (converged(&s, true, why, sizeof(why))) {
		fprintf(stderr, "sim_scale: after the join: %s\n", why);
		s.fail = true;
		goto out;
	}
	if (verbose) {
		double cm = 0;

		for (size_t i = 0; i < n; i++)
			cm += (double)s.nodes[i].conns / (double)n;
		fprintf(stderr,
			"  [%zu] start %.2f s, %.1f publishes and %.2f MB per node; idle %.0f B/s per node; join %.2f s, "
			"%.0f B per existing node, %.0f B joiner; conns %.1f (CPU %.1f s)\n",
			n, (double)res->t_start / 1e6, res->start_publishes, res->start_bytes / 1e6, res->idle_bps,
			(double)res->t_join / 1e6, res->join_bytes_per_node, res->join_bytes_joiner,
			cm, (double)(clock() - cpu0) / CLOCKS_PER_SEC);
	}
	if (death) {
		/* A node dies silently (no LEAVING, its connections stay open in
		 * the others' view): every table must drop it within PeerExpiry. */
		uint64_t expiry = mn_default_expiry_ms(ANNOUNCE_US / 1000) * 1000;

		lcg = lcg * 1664525u + 1013904223u;
		s.nodes[(lcg >> 8) % (uint32_t)joiner].up = false;
		res->t_death = converge(&s, expiry, "silent death");
		if (s.fail)
			goto out;
	}
out:
	{
		size_t sum = 0, gsum = 0;

		res->dev_peers_min = SIZE_MAX;
		for (size_t i = 0; i < n; i++) {
			struct node *x = &s.nodes[i];

			sum += x->conns;
			if (x->conns > res->conns_max)
				res->conns_max = x->conns;
			if (x->dev_peers < res->dev_peers_min)
				res->dev_peers_min = x->dev_peers;
			res->refused += x->refused;
			gsum += gs_mesh_count(x->gs, TOPIC);
		}
		res->conns_mean = (double)sum / (double)n;
		res->gs_mesh_mean = (double)gsum / (double)n;
	}
	free(hist);
	res->storm_at = s.storm_at;
	res->inflight_peak_mb = (double)s.inflight_peak / 1e6;
	res->cpu_s = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
	res->vc_real = vc_real;
	res->vc_hits = vc_hits;
	{
		int fail = s.fail;

		sim_free(&s);
		return fail ? 1 : 0;
	}
}

static void print_row(const struct result *r)
{
	printf("| %4zu | %7.2f s | %6.1f | %7.2f | %6.2f s | %9.0f | %9.0f | %8.0f | %10.2f | %9.1f | %6.1f | %5.1f / %3zu "
	       "| %6" PRIu64 " | %5.1f | %7.1f | %6.1f |\n",
	       r->n, (double)r->t_start / 1e6, r->start_publishes, r->start_bytes / 1e6, (double)r->t_join / 1e6,
	       r->join_bytes_per_node, r->join_bytes_joiner,
	       r->idle_bps, r->idle_bytes_hour / 1e6, r->publishes_per_node_hour, r->applies_per_node_join,
	       r->conns_mean, r->conns_max, r->refused, r->gs_mesh_mean, r->inflight_peak_mb, r->cpu_s);
	fflush(stdout);
}

static void print_cold_header(void)
{
	printf("| N | all know all (from the last start) | publishes/node | directed/node | MB/node (rx+tx) | peak MB of RPCs in flight "
	       "| conns mean / max | refused dials | CPU s |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
}

static void print_cold_row(const struct result *r)
{
	if (r->storm_at)
		printf("| %4zu | storm: stopped at %.2f s with %.1f GB in flight | %.1f so far | %.1f so far | %.1f so far | > %.0f "
		       "| %5.1f / %3zu | %" PRIu64 " | %.1f |\n",
		       r->n, (double)r->storm_at / 1e6, r->inflight_peak_mb / 1e3, r->start_publishes, r->start_directs,
		       r->start_bytes / 1e6, r->inflight_peak_mb, r->conns_mean, r->conns_max, r->refused, r->cpu_s);
	else
		printf("| %4zu | %.2f s | %.1f | %.1f | %.2f | %.1f | %5.1f / %3zu | %" PRIu64 " | %.1f |\n", r->n,
		       (double)r->t_start / 1e6, r->start_publishes, r->start_directs, r->start_bytes / 1e6, r->inflight_peak_mb,
		       r->conns_mean, r->conns_max, r->refused, r->cpu_s);
	fflush(stdout);
}

static void print_header(void)
{
	printf("| N | start: all know all | publishes/node | MB/node | join: all know all | join B/node | join B joiner | idle B/s/node | idle MB/node/h "
	       "| publishes/node/h | applies/node/join | conns mean / max | refused | gs mesh | peak MB in flight | CPU s |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

static void print_params(uint64_t settle_us, uint64_t idle_us)
{
	printf("sim_scale: real meshnode + gossipsub engines, virtual clock; AnnounceInterval %" PRIu64
	       " s, PeerExpiry %" PRIu64 " s; one-way latency %" PRIu64 "-%" PRIu64 " ms + 0-%" PRIu64
	       " ms jitter, %.1f %% segment loss (RTO %" PRIu64 " ms); connection limit %d; WireGuard apply %" PRIu64 " ms, one at a time; settle %" PRIu64
	       " s, idle window %" PRIu64 " s\n",
	       (uint64_t)(ANNOUNCE_US / SEC), mn_default_expiry_ms(ANNOUNCE_US / 1000) / 1000,
	       (uint64_t)(LAT_MIN_US / MS), (uint64_t)(LAT_MAX_US / MS), (uint64_t)(JITTER_US / MS), LOSS_PPM / 1e4,
	       (uint64_t)(RTO_US / MS), SWARM_MAX_CONNS, (uint64_t)(apply_us / MS), (uint64_t)(settle_us / SEC), (uint64_t)(idle_us / SEC));
}

int main(int argc, char **argv)
{
	struct result a, b;

	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		/* sim_scale --bench [--idle SECONDS] [N...] */
		/* Idle is periodic (announcement rounds every AnnounceInterval, yamux
		 * pings every 30 s): two whole rounds after one settling round,
		 * scaled to an hour; --idle 3600 measures the hour itself. */
		uint64_t idle_us = 2 * ANNOUNCE_US, settle_us = ANNOUNCE_US;
		size_t ns[16] = {100, 300, 1000}, nn = 3;
		int k = 2, fails = 0;

		size_t steady_max = 300, cold_max = 65000;

		for (; k + 1 < argc && argv[k][0] == '-'; k += 2) {
			if (!strcmp(argv[k], "--idle"))
				idle_us = strtoull(argv[k + 1], NULL, 0) * SEC;
			else if (!strcmp(argv[k], "--steady-max"))
				steady_max = strtoull(argv[k + 1], NULL, 0);
			else if (!strcmp(argv[k], "--apply-ms"))
				apply_us = strtoull(argv[k + 1], NULL, 0) * MS;
			else if (!strcmp(argv[k], "--directed"))
				directed = strtoul(argv[k + 1], NULL, 0) != 0;
			else if (!strcmp(argv[k], "--hub"))
				hub = strtoul(argv[k + 1], NULL, 0) != 0;
			else if (!strcmp(argv[k], "--spread"))
				spread_us = strtoull(argv[k + 1], NULL, 0) * SEC;
			else if (!strcmp(argv[k], "--cold-max"))
				cold_max = strtoull(argv[k + 1], NULL, 0);
			else
				die("usage: sim_scale --bench [--idle S] [--apply-ms MS] [--cold-max N] [--steady-max N] [--directed 0|1] [N...]");
		}
		if (k < argc) {
			nn = 0;
			for (; k < argc && nn < 16; k++)
				ns[nn++] = strtoull(argv[k], NULL, 0);
		}
		print_params(settle_us, idle_us);
		printf("\nCold start: N - 1 nodes started within one second\n\n");
		print_cold_header();
		for (size_t i = 0; i < nn; i++) {
			if (ns[i] < 3 || ns[i] > 65000)
				die("N out of range");
			if (ns[i] > cold_max)
				continue;
			/* a storm is a measured outcome, not a failure of the benchmark */
			if (scenario(ns[i], 0, 0, 0, true, 1, &a, true) != 0 && !a.storm_at) {
				printf("| %zu | FAILED |\n", ns[i]);
				fails++;
				continue;
			}
			print_cold_row(&a);
		}
		printf("\nRolling start (%u nodes per second), then idle and one join\n\n", ROLLING_RATE);
		print_header();
		for (size_t i = 0; i < nn; i++) {
			if (ns[i] > steady_max) {
				printf("| %4zu | not run: above --steady-max %zu (CPU, see tests/bench/README.md) |\n", ns[i],
				       steady_max);
				continue;
			}
			if (scenario(ns[i], ROLLING_RATE, settle_us, idle_us, false, 1, &a, true) != 0) {
				if (a.storm_at)
					printf("| %4zu | storm: %.1f GB of RPCs in flight at %.2f s, %.1f publishes/node, "
					       "%.1f MB/node so far; stopped | | | | | | | | | | | | | %.1f |\n",
					       a.n, a.inflight_peak_mb / 1e3, (double)a.storm_at / 1e6, a.start_publishes,
					       a.start_bytes / 1e6, a.cpu_s);
				else
					printf("| %zu | FAILED |\n", ns[i]);
				fails += !a.storm_at;
				fflush(stdout);
				continue;
			}
			print_row(&a);
		}
		return fails ? 1 : 0;
	}
	/* The check (the suite; --check N for another size, e.g. the `scale-100`
	 * benchmark): a cold start of N nodes (default SUITE_N), converged; a
	 * settle of one AnnounceInterval and an idle window of two (virtual time:
	 * an idle mesh costs little CPU, the cold start's storm is what costs),
	 * in which no node may publish and idle bytes must stay flat
	 * (< IDLE_MAX_BPS per node; docs/mesh.md "Scale"); a join; then 30 nodes
	 * twice (determinism). */
	{
		size_t n = SUITE_N;
		uint64_t settle_us = ANNOUNCE_US, idle_us = 2 * ANNOUNCE_US;

		for (int k = 1; k < argc; k += 2) {
			if (k + 1 < argc && !strcmp(argv[k], "--check"))
				n = strtoull(argv[k + 1], NULL, 0);
			else if (k + 1 < argc && !strcmp(argv[k], "--settle"))
				settle_us = strtoull(argv[k + 1], NULL, 0) * SEC;
			else if (k + 1 < argc && !strcmp(argv[k], "--directed"))
				directed = strtoul(argv[k + 1], NULL, 0) != 0;
			else if (k + 1 < argc && !strcmp(argv[k], "--hub"))
				hub = strtoul(argv[k + 1], NULL, 0) != 0;
			else if (k + 1 < argc && !strcmp(argv[k], "--spread"))
				spread_us = strtoull(argv[k + 1], NULL, 0) * SEC;
			else if (k + 1 < argc && !strcmp(argv[k], "--idle"))
				idle_us = strtoull(argv[k + 1], NULL, 0) * SEC;
			else
				die("usage: sim_scale [--check N] [--settle S] [--idle S] [--directed 0|1] | --bench ...");
		}
		if (n < 3 || n > 65000 || idle_us < 100 * MS)
			die("N or idle out of range");
		print_params(settle_us, idle_us);
		print_header();
		/* Not with directed announcements: a node that got a directed
		 * announcement holds a newer one than the prober that reports the
		 * dead node, takes the report for refuted and keeps the node
		 * (docs/mesh.md "Directed announcements": open) */
		death = !directed;
		if (scenario(n, 0, settle_us, idle_us, false, 1, &a, n > SUITE_N) != 0) {
			printf("FAIL: not converged (see above)\n");
			return 1;
		}
		print_row(&a);
		if (death)
			printf("silent death: gone from every table after %.2f s (PeerExpiry %" PRIu64 " s); connections per node "
		       "%.1f mean, %zu max; WireGuard peers per node >= %zu; %" PRIu64 " refused dials\n",
		       (double)a.t_death / 1e6, mn_default_expiry_ms(ANNOUNCE_US / 1000) / 1000, a.conns_mean, a.conns_max,
		       a.dev_peers_min, a.refused);
		if (a.publishes_per_node_hour != 0 || a.idle_directs != 0 || a.idle_bps >= IDLE_MAX_BPS) {
			printf("FAIL: not idle: %.1f publishes per node per hour, %.0f B/s per node (bound %d)\n",
			       a.publishes_per_node_hour, a.idle_bps, IDLE_MAX_BPS);
			return 1;
		}
	}
	if (scenario(30, 0, 10 * SEC, 30 * SEC, false, 2, &a, false) != 0 ||
	    scenario(30, 0, 10 * SEC, 30 * SEC, false, 2, &b, false) != 0) {
		printf("FAIL: the second run did not converge\n");
		return 1;
	}
	print_row(&b);
	a.cpu_s = b.cpu_s = 0;
	a.vc_real = b.vc_real = a.vc_hits = b.vc_hits = 0;
	if (memcmp(&a, &b, sizeof(a)) != 0) {
		printf("FAIL: two runs of the same scenario differ\n");
		return 1;
	}
	printf("OK: every node knows every other, addresses distinct, every device routes every peer, "
	       "no publish and flat bytes while idle; the 30-node run repeats exactly\n");
	return 0;
}
