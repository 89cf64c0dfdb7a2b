/* SPDX-License-Identifier: MIT */
/*
 * 50 gossipsub routers in one process on a virtual clock, over an in-memory
 * network with per-frame latency and loss, everything driven by seeded RNGs:
 * the run is a pure function of the seed. Checks that every published message
 * reaches every node exactly once and that meshes stay within D_lo..D_hi;
 * prints hop counts, latencies, duplicates and gossip repairs. The scenario is
 * run twice and must give identical numbers (determinism).
 *
 * Loss model: frames carrying a message (RPC field 2 first, the forwarding
 * fast path) are dropped with probability LOSS -- what a peer with a full send
 * queue or a lossy relay does. Subscriptions and control travel reliably, as on
 * the TCP streams they use in reality; losing them would model a broken stream,
 * which the swarm handles by reconnecting, not the router. In addition, in the
 * random-graph scenario every DEAF_EVERY-th publish makes one random node lose
 * all message frames for DEAF_US, so it can only recover through IHAVE/IWANT
 * gossip afterwards. (Not in the star scenario: there some nodes end with
 * nearly all their connections in the mesh, and gossip, which goes only to
 * non-mesh peers, reaches them too rarely to repair three lost messages in
 * every seed -- a property of gossipsub, see docs/protocol.md.)
 *
 * Scenarios: (1) a ring plus random chords, about 20 connections per node,
 * with churn: while messages are published a random connection is cut every
 * CHURN_EVERY_US (both routers forget the peer, frames in flight are lost) and
 * redialled CHURN_DOWN_US later;
 * (2) every node dials only node 0 and discovers the rest from the PX records in
 * PRUNEs (dialled after the callback returns, as a swarm would).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gossipsub.h"
#include "ident.h"
#include "rng.h"
#include "varint.h"

#define N 50
#define CHORDS                                                                                               \
	10 /* random extra links per node, on top of a ring: degree ~20 > D_hi, so gossip has non-mesh peers \
	    */
#define MSGS 40
#define LOSS_PPM 100000 /* 10 % of message frames */
#define LAT_MIN_US 2000
#define LAT_MAX_US 40000
#define SEC 1000000ull
#define TOPIC "w2w:announces"
#define WARMUP_US (5 * SEC)
#define PUB_EVERY_US (250000ull)
#define TAIL_US (20 * SEC)
#define DEAF_EVERY 4
#define DEAF_US 600000ull
#define CHURN_EVERY_US 200000ull /* random graph: a connection is cut this often while publishing */
#define CHURN_DOWN_US (2 * SEC)

struct ev {
	uint64_t t, seq;
	uint32_t gen; /* connection generation: frames of a cut connection are discarded */
	int from, to;
	uint8_t *data;
	size_t len;
};

struct sim {
	struct ident *id[N];
	struct gs *gs[N];
	struct rng_seeded rs[N];
	struct rng rng[N];
	struct rng_seeded nrs; /* the network's own randomness */
	struct rng nrng;
	bool link[N][N];
	bool dirty[N][N];
	uint64_t last_t[N][N]; /* FIFO per directed link */
	uint64_t deaf_until[N];
	uint32_t gen[N][N];
	struct {
		uint64_t t;
		int a, b;
	} recon[512]; /* cut connections, redialled at t */
	size_t nrecon;
	uint64_t next_churn, cuts;
	struct ev *heap;
	size_t nheap, capheap;
	uint64_t seq, now;
	/* per node, per message */
	int hops[N][MSGS];
	unsigned got[N][MSGS];
	uint64_t pub_at[MSGS];
	int author[MSGS];
	uint64_t lat_sum, lat_max, lat_n;
	uint64_t frames, lost;
	int cur; /* node whose callbacks are running */
	bool fail;
	bool star;         /* bootstrap scenario: everyone dials node 0 only, PX does the rest */
	int pend[4096][2]; /* PX dials requested inside callbacks, made after the call returns */
	size_t npend;
	uint64_t px_dials;
};

struct result {
	uint64_t links, px_dials, low_mesh, cuts;
	uint64_t deliveries, missing, extra, dups, iwant_served, ihave_in, lost, frames, lat_max,
	    hops_hist[16];
	int max_hops;
	double mean_hops, mean_lat_ms;
};

static int node_of(const struct sim *s, const uint8_t *p, size_t n)
{
	for (int i = 0; i < N; i++) {
		const struct peerid *q = ident_peerid(s->id[i]);

		if (q->len == n && memcmp(q->b, p, n) == 0)
			return i;
	}
	return -1;
}

static void heap_push(struct sim *s, struct ev e)
{
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 1024;
		s->heap = realloc(s->heap, s->capheap * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	size_t i = s->nheap++;

	s->heap[i] = e;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (s->heap[p].t < s->heap[i].t ||
		    (s->heap[p].t == s->heap[i].t && s->heap[p].seq < s->heap[i].seq))
			break;
		struct ev tmp = s->heap[p];

		s->heap[p] = s->heap[i];
		s->heap[i] = tmp;
		i = p;
	}
}

static struct ev heap_pop(struct sim *s)
{
	struct ev top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->nheap && (s->heap[l].t < s->heap[m].t ||
		                     (s->heap[l].t == s->heap[m].t && s->heap[l].seq < s->heap[m].seq)))
			m = l;
		if (r < s->nheap && (s->heap[r].t < s->heap[m].t ||
		                     (s->heap[r].t == s->heap[m].t && s->heap[r].seq < s->heap[m].seq)))
			m = r;
		if (m == i)
			break;
		struct ev tmp = s->heap[m];

		s->heap[m] = s->heap[i];
		s->heap[i] = tmp;
		i = m;
	}
	return top;
}

static void on_message(void *ud, const struct gs_message *m)
{
	struct sim *s = ud;
	int k = -1, via = node_of(s, m->via, m->via_len), author = node_of(s, m->from, m->from_len);

	if (m->len > 4 && memcmp(m->data, "msg-", 4) == 0)
		k = atoi((const char *)m->data +
		         4); /* data is "msg-<k>" followed by padding, NUL-terminated */
	if (k < 0 || k >= MSGS || via < 0 || author != s->author[k]) {
		fprintf(stderr, "node %d: unexpected delivery (k=%d via=%d author=%d)\n", s->cur, k, via,
		        author);
		s->fail = true;
		return;
	}
	s->got[s->cur][k]++;
	s->hops[s->cur][k] = s->hops[via][k] + 1;
	if (s->hops[via][k] < 0)
		s->fail = true; /* forwarded by someone that never delivered it */
	s->lat_sum += s->now - s->pub_at[k];
	s->lat_n++;
	if (s->now - s->pub_at[k] > s->lat_max)
		s->lat_max = s->now - s->pub_at[k];
}

/* A callback may not call into the router (-EBUSY): remember the dial like a swarm would. */
static void on_px(void *ud, const char *topic, const uint8_t *from, size_t from_len,
                  const struct gs_px_peer *p, size_t n)
{
	struct sim *s = ud;

	(void)topic;
	(void)from;
	(void)from_len;
	for (size_t i = 0; i < n; i++) {
		int j = node_of(s, p[i].peer_id, p[i].peer_id_len);

		if (j >= 0 && j != s->cur && !s->link[s->cur][j] && s->npend < 4096) {
			s->pend[s->npend][0] = s->cur;
			s->pend[s->npend][1] = j;
			s->npend++;
		}
	}
}

static void on_output(void *ud, const uint8_t *peer, size_t len)
{
	struct sim *s = ud;
	int j = node_of(s, peer, len);

	if (j >= 0)
		s->dirty[s->cur][j] = true;
}

/* Splits i's output for j into frames and schedules them with latency and loss. */
static void flush(struct sim *s, int i, int j)
{
	const struct peerid *pj = ident_peerid(s->id[j]);
	struct buf b;
	size_t off = 0;

	buf_init(&b, 0);
	if (gs_take_output(s->gs[i], pj->b, pj->len, &b) <= 0) {
		buf_free(&b);
		return;
	}
	while (off < b.len) {
		uint64_t len, t;
		int h = uvarint_decode(b.data + off, b.len - off, &len);
		size_t fl;

		if (h <= 0 || len > b.len - off - (size_t)h) {
			fprintf(stderr, "bad framing from %d\n", i);
			s->fail = true;
			break;
		}
		fl = (size_t)h + (size_t)len;
		s->frames++;
		if (len > 0 && b.data[off + h] == 0x12 &&
		    (rng_below(&s->nrng, 1000000) < LOSS_PPM || s->now < s->deaf_until[j])) {
			s->lost++;
			off += fl;
			continue;
		}
		t = s->now + LAT_MIN_US + rng_below(&s->nrng, LAT_MAX_US - LAT_MIN_US);
		if (t < s->last_t[i][j])
			t = s->last_t[i][j];
		s->last_t[i][j] = t;
		struct ev e = {t, s->seq++, s->gen[i][j], i, j, malloc(fl), fl};

		if (!e.data)
			abort();
		memcpy(e.data, b.data + off, fl);
		heap_push(s, e);
		off += fl;
	}
	buf_free(&b);
}

static void flush_all(struct sim *s)
{
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (s->dirty[i][j]) {
				s->dirty[i][j] = false;
				flush(s, i, j);
			}
}

static int degree(const struct sim *s, int i)
{
	int d = 0;

	for (int j = 0; j < N; j++)
		d += s->link[i][j];
	return d;
}

static void connect_nodes(struct sim *s, int a, int b)
{
	const struct peerid *pa = ident_peerid(s->id[a]), *pb = ident_peerid(s->id[b]);

	if (a == b || s->link[a][b])
		return;
	s->link[a][b] = s->link[b][a] = true;
	s->cur = a;
	gs_add_peer(s->gs[a], pb->b, pb->len, GS_MESHSUB_11, s->now);
	s->cur = b;
	gs_add_peer(s->gs[b], pa->b, pa->len, GS_MESHSUB_11, s->now);
}

/* Churn: a connection goes down (both routers forget the peer, frames in flight are lost) and is
 * redialled CHURN_DOWN_US later. */
static void cut(struct sim *s, int a, int b)
{
	const struct peerid *pa = ident_peerid(s->id[a]), *pb = ident_peerid(s->id[b]);

	if (!s->link[a][b] || s->nrecon >= sizeof(s->recon) / sizeof(s->recon[0]))
		return;
	s->link[a][b] = s->link[b][a] = false;
	s->gen[a][b]++;
	s->gen[b][a]++;
	s->last_t[a][b] = s->last_t[b][a] = 0;
	s->cur = a;
	if (gs_remove_peer(s->gs[a], pb->b, pb->len) < 0)
		s->fail = true;
	s->cur = b;
	if (gs_remove_peer(s->gs[b], pa->b, pa->len) < 0)
		s->fail = true;
	s->recon[s->nrecon].t = s->now + CHURN_DOWN_US;
	s->recon[s->nrecon].a = a;
	s->recon[s->nrecon].b = b;
	s->nrecon++;
	s->cuts++;
}

static void churn(struct sim *s)
{
	int a = (int)rng_below(&s->nrng, N);

	for (int tries = 0; tries < 4 * N; tries++) {
		int b = (int)rng_below(&s->nrng, N);

		if (s->link[a][b]) {
			cut(s, a, b);
			return;
		}
	}
}

static void redial(struct sim *s)
{
	for (size_t k = 0; k < s->nrecon;) {
		if (s->recon[k].t <= s->now) {
			connect_nodes(s, s->recon[k].a, s->recon[k].b);
			s->recon[k] = s->recon[--s->nrecon];
		} else {
			k++;
		}
	}
}

static void dial_pending(struct sim *s)
{
	for (size_t k = 0; k < s->npend; k++) {
		if (!s->link[s->pend[k][0]][s->pend[k][1]])
			s->px_dials++;
		connect_nodes(s, s->pend[k][0], s->pend[k][1]);
	}
	s->npend = 0;
}

static int run(uint64_t seed, bool star, struct result *res, bool verbose)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct gs_config c;
	uint64_t end, next_pub = WARMUP_US;
	int published = 0, rc = 0;
	size_t guard = 0;

	if (!s)
		return 1;
	memset(res, 0, sizeof(*res));
	rng_seeded_init(&s->nrs, &s->nrng, seed);
	gs_config_default(&c);
	c.cb.ud = s;
	c.cb.on_message = on_message;
	c.cb.on_output = on_output;
	c.cb.on_px = on_px;
	s->star = star;
	for (int i = 0; i < N; i++) {
		uint8_t sd[32] = {0};

		sd[0] = (uint8_t)i;
		sd[1] = (uint8_t)seed;
		sd[2] = 0xa7;
		if (ident_from_seed(&s->id[i], sd) < 0)
			return 1;
		rng_seeded_init(&s->rs[i], &s->rng[i], seed * 1000 + (uint64_t)i);
		s->gs[i] = gs_new(&c, s->id[i], &s->rng[i], NULL);
		if (!s->gs[i])
			return 1;
		s->cur = i;
		gs_subscribe(s->gs[i], TOPIC, 0);
		for (int k = 0; k < MSGS; k++)
			s->hops[i][k] = -1;
	}
	for (int i = 0; i < N; i++) {
		if (star) {
			connect_nodes(s, i, 0);
			continue;
		}
		connect_nodes(s, i, (i + 1) % N);
		for (int k = 0; k < CHORDS; k++)
			connect_nodes(s, i, (int)rng_below(&s->nrng, N));
	}
	flush_all(s);
	end = WARMUP_US + MSGS * PUB_EVERY_US + TAIL_US;
	s->next_churn = WARMUP_US;

	/* Event loop over virtual time; bounded by `end` and by an iteration guard. */
	while (s->now <= end && guard++ < 10000000 && !s->fail) {
		uint64_t next = end + 1;

		if (s->nheap && s->heap[0].t < next)
			next = s->heap[0].t;
		for (int i = 0; i < N; i++)
			if (gs_next_deadline(s->gs[i]) < next)
				next = gs_next_deadline(s->gs[i]);
		if (published < MSGS && next_pub < next)
			next = next_pub;
		if (!star && published < MSGS && s->next_churn < next)
			next = s->next_churn;
		for (size_t k = 0; k < s->nrecon; k++)
			if (s->recon[k].t < next)
				next = s->recon[k].t;
		if (next > end)
			break;
		if (next > s->now)
			s->now = next;
		while (s->nheap && s->heap[0].t <= s->now) {
			struct ev e = heap_pop(s);
			const struct peerid *pf = ident_peerid(s->id[e.from]);

			if (e.gen != s->gen[e.from][e.to]) {
				free(e.data); /* sent on a connection that has since been cut */
				continue;
			}
			s->cur = e.to;
			if (gs_on_bytes(s->gs[e.to], pf->b, pf->len, e.data, e.len, s->now) < 0) {
				fprintf(stderr, "node %d rejected bytes from %d\n", e.to, e.from);
				s->fail = true;
			}
			free(e.data);
		}
		for (int i = 0; i < N; i++) {
			s->cur = i;
			gs_heartbeat(s->gs[i], s->now);
		}
		if (published < MSGS && next_pub <= s->now) {
			int a = (int)rng_below(&s->nrng, N);
			char data[64];

			snprintf(data, sizeof(data), "msg-%d", published);
			s->author[published] = a;
			s->pub_at[published] = s->now;
			s->hops[a][published] = 0;
			if (!s->star && published % DEAF_EVERY == 0) {
				int v = (a + 1 + (int)rng_below(&s->nrng, N - 1)) % N;

				s->deaf_until[v] = s->now + DEAF_US;
			}
			s->cur = a;
			if (gs_publish(s->gs[a], TOPIC, data, strlen(data) + 1, s->now) < 0)
				s->fail = true;
			published++;
			next_pub += PUB_EVERY_US;
		}
		if (!star && published < MSGS && s->next_churn <= s->now) {
			churn(s);
			s->next_churn += CHURN_EVERY_US;
		}
		redial(s);
		dial_pending(s);
		flush_all(s);
	}

	/* Verdicts and numbers. */
	uint64_t hop_sum = 0;

	for (int i = 0; i < N; i++) {
		struct gs_stats st;
		size_t m = gs_mesh_count(s->gs[i], TOPIC);

		gs_get_stats(s->gs[i], &st);
		res->dups += st.duplicates;
		res->iwant_served += st.iwant_served;
		res->ihave_in += st.ihave_in;
		for (int j = 0; j < N; j++)
			res->links += s->link[i][j];
		if (m < c.d_lo)
			res->low_mesh++;
		if (m > c.d_hi || m < c.d_lo) {
			fprintf(stderr, "node %d: mesh size %zu outside [%u, %u]\n", i, m, c.d_lo, c.d_hi);
			rc = 1;
		}
		if (st.drop_bad_sig || st.drop_unsigned || st.drop_author || st.peers_dropped) {
			fprintf(stderr, "node %d: unexpected drops\n", i);
			rc = 1;
		}
		for (int k = 0; k < MSGS; k++) {
			if (i == s->author[k])
				continue;
			if (s->got[i][k] == 0) {
				res->missing++;
				if (verbose)
					fprintf(stderr,
					        "node %d never got message %d (degree %d, mesh %zu, ihave "
					        "%" PRIu64 ", iwant sent %" PRIu64 ")\n",
					        i, k, degree(s, i), m, st.ihave_in, st.iwant_sent);
			} else {
				res->deliveries++;
				res->extra += s->got[i][k] - 1;
				hop_sum += (uint64_t)s->hops[i][k];
				if (s->hops[i][k] > res->max_hops)
					res->max_hops = s->hops[i][k];
				res->hops_hist[s->hops[i][k] < 15 ? s->hops[i][k] : 15]++;
			}
		}
	}
	res->links /= 2;
	res->px_dials = s->px_dials;
	res->cuts = s->cuts;
	res->lost = s->lost;
	res->frames = s->frames;
	res->lat_max = s->lat_max;
	res->mean_hops = res->deliveries ? (double)hop_sum / (double)res->deliveries : 0;
	res->mean_lat_ms = s->lat_n ? (double)s->lat_sum / (double)s->lat_n / 1000.0 : 0;
	if (s->fail || published != MSGS || res->missing || res->extra)
		rc = 1;

	for (int i = 0; i < N; i++) {
		gs_free(s->gs[i]);
		ident_free(s->id[i]);
	}
	while (s->nheap)
		free(heap_pop(s).data);
	free(s->heap);
	free(s);
	return rc;
}

static void print(const char *name, const struct result *r)
{
	printf("gossipsub sim (%s): %d nodes, %" PRIu64 " connections (%" PRIu64
	       " dialled from PX), %d messages, "
	       "%.0f%% message-frame loss\n",
	       name, N, r->links, r->px_dials, MSGS, LOSS_PPM / 1e4);
	printf("  connections cut and redialled: %" PRIu64
	       "; nodes with a mesh below D_lo at the end: %" PRIu64 "\n",
	       r->cuts, r->low_mesh);
	printf("  deliveries %" PRIu64 " (expected %d), missing %" PRIu64 ", delivered twice %" PRIu64 "\n",
	       r->deliveries, N * MSGS - MSGS, r->missing, r->extra);
	printf("  hops: mean %.2f, max %d; histogram:", r->mean_hops, r->max_hops);
	for (int h = 1; h <= r->max_hops && h < 16; h++)
		printf(" %d:%" PRIu64, h, r->hops_hist[h]);
	printf("\n  latency: mean %.1f ms, max %.1f ms\n", r->mean_lat_ms, (double)r->lat_max / 1000.0);
	printf("  duplicates received %" PRIu64 " (%.2f per delivery), frames %" PRIu64 ", lost %" PRIu64
	       ", IHAVE %" PRIu64 ", IWANT replies %" PRIu64 "\n",
	       r->dups, r->deliveries ? (double)r->dups / (double)r->deliveries : 0.0, r->frames, r->lost,
	       r->ihave_in, r->iwant_served);
}

/* Optional argument: another seed (the registered test uses the default). */
int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bool star;
	} sc[] = {{"random graph, ~20 links per node", false}, {"bootstrap star + peer exchange", true}};
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 7;
	int fails = 0;

	for (size_t k = 0; k < sizeof(sc) / sizeof(sc[0]); k++) {
		struct result a, b;
		int rc = run(seed, sc[k].star, &a, true);

		print(sc[k].name, &a);
		if (rc) {
			printf("FAIL: not every message reached every node exactly once, or a mesh is out of "
			       "bounds\n");
			fails++;
			continue;
		}
		if (a.lost == 0 || (sc[k].star ? a.px_dials == 0 : a.iwant_served == 0 || a.cuts == 0)) {
			printf("FAIL: the run did not exercise loss and gossip repair (random) or peer "
			       "exchange (star)\n");
			fails++;
			continue;
		}
		/* Same seed, same world: every number must repeat. */
		if (run(seed, sc[k].star, &b, false) != 0 || memcmp(&a, &b, sizeof(a)) != 0) {
			printf("FAIL: the simulation is not deterministic\n");
			fails++;
			continue;
		}
		printf("  OK (deterministic: second run identical)\n");
	}
	return fails ? 1 : 0;
}
