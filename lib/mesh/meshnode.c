/* SPDX-License-Identifier: MIT */
/*
 * The mesh node engine (meshnode.h): announcements, the peer table, IPAM
 * driving, the first-handshake rule, restart grace, expiry and redial, with
 * time as an input. Rules and their reasons: docs/mesh.md.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "degree.h"
#include "err.h"
#include "handshake.h"
#include "meshnode.h"
#include "multiaddr.h"
#include "nat.h"
#include "pairpsk.h"
#include "reconcile.h"
#include "relay.h"
#include "secmem.h"
#include "rotate.h"
#include "upgrade.h"

/* A kicked initiator (RECONCILE_F_KICK) is re-evaluated after this: its
 * keepalive for the handshake goes back to the configured one. */
#define MN_KICK_RECHECK_US (1000ull * 1000)
/* NAT punches of the higher key of a pair wait this long (docs/nat.md). */
#define MN_PUNCH_STAGGER_US (300ull * 1000)

enum mn_timer {
	T_ASSIGNED,      /* report the address chosen at start, from the loop */
	T_GRACE,         /* end of the restart grace: drop peers that stayed silent */
	T_ANNOUNCE,      /* the schedule (warm-up, then every refresh interval) */
	T_ANNOUNCE_SOON, /* coalesced extra announcement */
	T_RECONCILE,
	T_SAVE,
	T_EXPIRE,
	T_REDIAL,
	T_PROBE,          /* the liveness schedule: one probe per period */
	T_PROBE_DEADLINE, /* the running probe was not answered in time */
	T_NAT_SCAN,       /* reflection reports from our device's endpoints (docs/nat.md) */
	T_ADMIT,          /* admission mode: token deadlines and expiries */
	T_ROTATE,         /* key rotation: repeat the next key, then switch (or retry the switch) */
	T_ROTATE_SCHED,   /* the next scheduled key rotation (WireguardKeyRotation) */
	T_TRIM,           /* bounded degree: above DEG_CONN_HIGH connections (deg_trim) */
	T_COUNT,
};

enum mn_run { MN_IDLE, MN_RUNNING, MN_LEAVING };

struct mn_peer {
	struct peerid id;
	struct ann_ip ip; /* remote IP of the last libp2p connection */
	bool has_ip;
	bool connected;
	uint64_t last_alive_us; /* our own proof: probe answered or connection up (0: none) */
	bool up_pending; /* new node: MN_EV_PEER_UP once a device routing it is applied */
	struct hs_peer hs;
	bool has_punched; /* NAT punch (docs/nat.md): the public endpoint we last sent to */
	struct ann_endpoint punched;
	uint64_t punched_at;
	uint64_t punch_due_us; /* a staggered punch (the higher key) goes out then */
	uint64_t wg_rx, wg_rx_at_us; /* its WireGuard rx bytes, when they last grew (proof of life) */
	bool want_relay; /* we ask for a relay to it (rq) */
	bool relayed;    /* a relay offered the pair: relay_ep is its port for us */
	bool relay_forced;
	struct peerid relay_by;
	struct ann_endpoint relay_ep;
	struct upg_pair upg; /* upgrade to a direct path (upgrade.h) */
	bool upg_force;      /* write the direct endpoint over a roamed one */
	/* admission mode: its connection showed a valid token (identify) by
	 * adm_deadline_us, and its token expires at tok_exp_s (Unix s, 0: never) */
	bool admitted;
	uint64_t adm_deadline_us;
	uint64_t tok_exp_s;
	/* it switched to the next key it announced (docs/mesh.md "Key rotation"):
	 * until a handshake with that key, or ROT_WAIT_US, it initiates, not we */
	uint64_t rot_since;
	/* a directed announcement is due to it since (0: none; see soon_direct) */
	uint64_t direct_since;
	bool subscribed; /* connected, and its subscription to our topic arrived (mn_on_subscribed) */
	uint64_t conn_since_us; /* its connection came up then (bounded degree: trim) */
};

/* A pair we relay (docs/nat.md "Relays"). */
struct mn_relay {
	uint8_t a[ANN_SEEN_KEY_LEN], b[ANN_SEEN_KEY_LEN];
	uint16_t pa, pb;
	void *handle;
	/* no longer asked for since then (0: asked for): withdrawn from `ry`,
	 * still forwarding until RELAY_LINGER_US (relay.h) */
	uint64_t closing_at;
	uint16_t sa, sb; /* source ports the members' datagrams came from (mn_ops.relay_seen) */
};

struct mn_report {
	struct peerid id;
	uint64_t seq;   /* the announcement of id we held when its probe failed */
	uint64_t at_us;
};

struct mesh_node {
	struct mn_config cfg;
	char name[ANN_NAME_MAX + 1];
	char ifname[16];
	struct mn_ops ops;
	void *ud;
	enum mn_run run;
	bool ann_flood; /* T_ANNOUNCE_SOON must flood (not only directed sends) */

	struct peertable *pt;
	struct nodestate st;
	bool has_claim;
	struct ann_claim claim;
	uint64_t seq;
	bool joined;
	/* the node last found claiming our pinned address as pinned (alarm once per episode) */
	bool pin_conflict;
	struct peerid pin_rival;
	struct mn_peer *peers;
	/* open-addressing index into peers (slot: index + 1, 0 empty; peers are
	 * never removed): peer_find is called per table entry in every
	 * reconcile, which a linear search made O(N^2) */
	uint32_t *pidx;
	size_t pidx_cap;
	size_t n_peers;
	struct ann_ip observed[MN_MAX_OBSERVED];
	size_t n_observed;
	bool wg_applied_once;
	/* the address gate waits for a pair's role to settle, which a handshake
	 * or endpoint on the device may do: only then re-read it periodically */
	bool gate_dev_wait;
	/* ...and the handshake is imminent (a higher-key waiter whose ack went
	 * out and which the other acks: it promotes itself on our ack): re-read
	 * sooner, 5 ms doubling to MN_GATE_RECHECK_US (0: not in that state) */
	uint64_t gate_hs_delay;
	bool hs_dirty; /* peers were configured: announce the acks once applied */
	uint64_t wg_retry_us; /* backoff after a failed apply (0: the last one worked) */
	uint64_t wg_retry_at; /* when that retry is due */
	uint64_t started_us;
	/* the address gate (docs/mesh.md "Joining fast"): a new claim is kept
	 * off the interface until we know the mesh */
	bool gated;
	uint64_t new_author_us; /* last PT_NEW */
	uint64_t announce_step_us;
	uint64_t due[T_COUNT]; /* UINT64_MAX: disarmed */
	/* bounded degree (degree.h): where the next round of dials of known
	 * addresses of members we do not know starts; the last flood */
	size_t unknown_cursor;
	uint64_t flooded_us;
	bool flooded_alone; /* that flood went out with no connection up (publish_msg) */
	size_t members_hint; /* the largest member count announced lately */
	uint64_t self_hash;  /* FNV-1a of our peer ID: our phase in a flood gap */

	/* liveness (docs/mesh.md "Liveness") */
	uint64_t probe_us, probe_timeout_us, probe_phase_us;
	struct {
		bool active, redialed;
		struct peerid id;
		uint64_t seq;
	} pr;
	struct mn_report reports[MN_MAX_REPORTS];
	size_t n_reports;
	bool has_suspect; /* reported by another, alive by our proof: probed next */
	struct peerid suspect;
	struct mn_report dropped[MN_MAX_REPORTS]; /* nodes we removed as unreachable lately */
	size_t n_dropped;
	uint64_t now_us; /* the input's time, for peer table callbacks */

	/* NAT traversal (docs/nat.md) */
	struct nat_self nat;
	bool nat_behind;
	uint8_t n_seen; /* our reflection reports */
	struct ann_seen seen[ANN_MAX_SEEN];
	struct mn_relay relays[RELAY_MAX_PAIRS];
	size_t n_relays;
	/* a relay saw our WireGuard packets come from a port other than our
	 * public endpoint's: our NAT maps per destination (docs/nat.md "Upgrade") */
	bool relay_sym;
	bool relay_full_logged;
	/* Per-pair WireGuard PSKs (pairpsk.h, mn_set_psks): our network PSKs,
	 * newest first, in guarded memory, and their key IDs; none = off. */
	uint8_t *psks;
	size_t n_psks;
	uint8_t kids[PAIRPSK_MAX_KEYS][PAIRPSK_KID_LEN];
	const char *pt_why; /* the PEER_DOWN message of on_revoked */

	/* admission mode (docs/mesh.md "Admission"); adm NULL: open mode */
	struct admit *adm;
	uint8_t tok[ANN_BLOB_MAX];
	size_t tok_len;
	size_t rev_rot; /* the first revocation our next announcement relays */
	/* an admission removal ended the restart grace: the device must lose the
	 * peer now, and it may be one the table never listed since the restart */
	bool grace_over;
	/* WireGuard key rotation (docs/mesh.md "Key rotation", rotate.h) */
	uint8_t pub[32]; /* our announced key; cfg.wg_pub points here */
	enum { ROT_IDLE, ROT_PENDING, ROT_SWITCHING } rot;
	bool rot_repeated;      /* the next key went out a second time (half the lead) */
	uint64_t rot_started_us;
	uint8_t next_pub[32];
	uint64_t rot_count;
	uint64_t rot_kick_until; /* after our switch: peers get a keepalive (0 -> N starts a handshake) */
	struct rot_retired retired; /* peer keys rotated out: removed even during the restart grace */
};

uint64_t mn_default_expiry_ms(uint64_t announce_ms)
{
	return 3 * announce_ms + MN_EXPIRY_SLACK_MS;
}

uint64_t mn_announce_step(uint64_t prev_us, uint64_t interval_us)
{
	uint64_t step = prev_us ? prev_us * 2 : MN_WARMUP_FIRST_US;

	if (step > MN_WARMUP_LAST_US || step > interval_us)
		step = interval_us;
	return step;
}

/* ---- deadlines ---- */

static void arm_at(struct mesh_node *m, enum mn_timer t, uint64_t when)
{
	m->due[t] = when;
}

/* Arms t unless it is already due sooner (coalescing). Nothing is armed
 * unless running: a leaving node must not publish a normal announcement
 * after its LEAVING one (that would put it back into its peers' tables). */
static void soon(struct mesh_node *m, enum mn_timer t, uint64_t now, uint64_t delay_us)
{
	if (m->run != MN_RUNNING)
		return;
	if (t == T_ANNOUNCE_SOON)
		m->ann_flood = true;
	if (m->due[t] > now + delay_us)
		m->due[t] = now + delay_us;
}

static void disarm_all(struct mesh_node *m)
{
	for (int i = 0; i < T_COUNT; i++)
		m->due[i] = UINT64_MAX;
}

uint64_t mn_next_deadline(const struct mesh_node *m)
{
	uint64_t d = UINT64_MAX;

	for (int i = 0; i < T_COUNT; i++)
		if (m->due[i] < d)
			d = m->due[i];
	return d;
}

/* ---- events ---- */

static void emit(struct mesh_node *m, enum mn_event_type type, const struct peerid *peer, const char *name,
		 const struct ann_ip *addr, const char *message, int err)
{
	struct mn_event ev = {type, peer, name, addr, message, err, NULL, NULL};

	if (m->ops.event)
		m->ops.event(m->ud, &ev);
}

static void id_str(const struct peerid *id, char *out, size_t cap)
{
	if (peerid_to_b58(out, cap, id) < 0 && cap)
		out[0] = '\0';
}

/* ---- connection bookkeeping ---- */

static size_t pid_hash(const struct peerid *id)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a over the ID's last bytes (the key hash) */

	for (size_t i = id->len > 16 ? id->len - 16 : 0; i < id->len; i++)
		h = (h ^ id->b[i]) * 1099511628211ull;
	return (size_t)h;
}

static struct mn_peer *peer_find(const struct mesh_node *m, const struct peerid *id)
{
	if (!m->pidx_cap) {
		for (size_t i = 0; i < m->n_peers; i++)
			if (peerid_eq(&m->peers[i].id, id))
				return &m->peers[i];
		return NULL;
	}
	for (size_t h = pid_hash(id) & (m->pidx_cap - 1);; h = (h + 1) & (m->pidx_cap - 1)) {
		uint32_t k = m->pidx[h];

		if (!k)
			return NULL;
		if (peerid_eq(&m->peers[k - 1].id, id))
			return &m->peers[k - 1];
	}
}

/* Keeps the index at most half full; without memory peer_find scans. */
static void pidx_add(struct mesh_node *m, size_t i)
{
	if (2 * m->n_peers > m->pidx_cap) {
		size_t cap = m->pidx_cap ? 2 * m->pidx_cap : 64;
		uint32_t *t = calloc(cap, sizeof(*t));

		free(m->pidx);
		m->pidx = t;
		m->pidx_cap = t ? cap : 0;
		if (!t)
			return;
		for (size_t j = 0; j < m->n_peers; j++) {
			size_t h = pid_hash(&m->peers[j].id) & (cap - 1);

			while (t[h])
				h = (h + 1) & (cap - 1);
			t[h] = (uint32_t)j + 1;
		}
		return;
	}
	{
		size_t h = pid_hash(&m->peers[i].id) & (m->pidx_cap - 1);

		while (m->pidx[h])
			h = (h + 1) & (m->pidx_cap - 1);
		m->pidx[h] = (uint32_t)i + 1;
	}
}

/* Invalidates pointers returned earlier (the array may move). */
static struct mn_peer *peer_get(struct mesh_node *m, const struct peerid *id)
{
	struct mn_peer *c = peer_find(m, id);

	if (c || m->n_peers >= MN_MAX_PEERS)
		return c;
	c = realloc(m->peers, (m->n_peers + 1) * sizeof(*c));
	if (!c)
		return NULL;
	m->peers = c;
	c = &m->peers[m->n_peers++];
	memset(c, 0, sizeof(*c));
	c->id = *id;
	pidx_add(m, m->n_peers - 1);
	return c;
}

bool mn_connected(const struct mesh_node *m, const struct peerid *peer)
{
	const struct mn_peer *c = peer_find(m, peer);

	return c && c->connected;
}

size_t mn_connected_count(const struct mesh_node *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_peers; i++)
		n += m->peers[i].connected;
	return n;
}

/* ---- state ---- */

static void learn_peer_addr(struct mesh_node *m, const char *ma, uint64_t now)
{
	if (nodestate_add_peer(&m->st, ma) == 1)
		soon(m, T_SAVE, now, MN_SOON_SAVE_US);
}

void mn_save(struct mesh_node *m)
{
	m->st.has_claim = m->has_claim && !m->cfg.has_static;
	if (m->st.has_claim)
		m->st.claim = m->claim;
	if (m->ops.save)
		m->ops.save(m->ud, &m->st);
}

/* ---- announcements ---- */

static bool established(struct mesh_node *m, const uint8_t *wg_pub)
{
	return m->ops.established && m->ops.established(m->ud, wg_pub);
}

/* The acks (handshake.h): the ones a peer needs first, then the ones that
 * may help, the least acked first within each, at most ANN_MAX_ACKS. True
 * when a peer that was never acked had to be left out (more peers joined at
 * once than an announcement has room for): the caller announces again soon
 * rather than leave it to the schedule, seconds away. */
static bool add_acks(struct mesh_node *m, struct announce *a, uint64_t now, const struct mn_peer *only)
{
	enum { LEVELS = 4 }; /* acks_sent 0, 1, 2, then 3 and more */
	bool left_out = false;

	for (int rank = 1; rank <= 2; rank++)
		for (unsigned level = 0; level < LEVELS; level++)
			for (size_t i = 0; i < m->n_peers; i++) {
				struct hs_peer *k = &m->peers[i].hs;
				unsigned sent = k->acks_sent < LEVELS - 1 ? k->acks_sent : LEVELS - 1;

				if ((only && &m->peers[i] != only) || !k->configured || sent != level ||
				    hs_ack_rank(m->cfg.wg_pub, k, established(m, k->wg_pub), now) != rank)
					continue;
				if (a->n_acks == ANN_MAX_ACKS) {
					left_out |= k->acks_sent == 0;
					continue;
				}
				log_debug(m->cfg.log, "handshake: ack %02x%02x", k->wg_pub[0], k->wg_pub[1]);
				memcpy(a->acks[a->n_acks++], k->wg_pub, ANN_ACK_LEN);
				k->acks_sent++;
			}
	return left_out;
}

static void adm_fill(struct mesh_node *m, struct ann_adm *x);
static size_t deg_members(const struct mesh_node *m);

/* With a bounded degree (degree.h) acks never cause a flood of their own:
 * acking each of N peers costs N / ANN_MAX_ACKS floods of N members each
 * (a cold start of 1000: 60 floods per node). They ride on the floods that
 * go out anyway and on directed sends to connected peers; a pair whose ack
 * does not arrive falls back to hs_plan's promotion (HS_PROMOTE_FALLBACK_US). */
static bool acks_ride(const struct mesh_node *m)
{
	return deg_bounded(deg_members(m));
}

/* to: a directed announcement to that peer only (ops.send_to), else flooded */
static int publish_msg(struct mesh_node *m, uint32_t flags, uint64_t now, const struct mn_peer *to)
{
	struct announce a;
	struct ann_self s = {0};
	uint64_t seq;
	struct buf b;
	int r;

	/* Announce only once our WireGuard device is up: a peer that learns of us
	 * configures us and, if it initiates the first handshake, expects an
	 * answer; an initiation that reaches no device costs a 5 s retry. */
	if (!m->wg_applied_once && !(flags & ANN_F_LEAVING))
		return W2W_ESTATE;
	/* Strictly increasing without persistence: the wall clock, bumped when
	 * two announcements fall in the same microsecond or the clock steps back. */
	seq = m->ops.wall_us(m->ud);
	m->seq = seq > m->seq ? seq : m->seq + 1;
	/* Peers drop a sequence number that is not above the last one they hold:
	 * after a restart with the wall clock stepped back, every announcement
	 * would be ignored until the clock caught up. So a reservation is
	 * persisted before any sequence beyond it goes out, and a restart
	 * continues above it (mn_start). One state write per MN_SEQ_RESERVE_US of
	 * sequence progress. */
	if (m->seq >= m->st.seq_floor) {
		m->st.seq_floor = m->seq + MN_SEQ_RESERVE_US;
		mn_save(m);
	}
	s.seq = m->seq;
	s.flags = flags;
	s.name = m->name;
	s.wg_pub = m->cfg.wg_pub;
	s.wg_port = m->cfg.wg_port;
	s.claim = m->has_claim ? &m->claim : NULL;
	s.listen_ip = &m->cfg.listen_ip;
	s.listen_tcp = m->cfg.listen_tcp;
	s.observed = m->observed;
	s.n_observed = m->n_observed;
	ann_build(&a, &s);
	if (m->nat_behind)
		a.flags |= ANN_F_NAT;
	a.has_wep = m->nat.has_wep;
	a.wep = m->nat.wep;
	a.n_seen = m->n_seen;
	memcpy(a.seen, m->seen, sizeof(a.seen));
	if (m->cfg.relay && !m->nat_behind && m->ops.relay_open)
		a.flags |= ANN_F_RELAY;
	if (m->nat_behind && (m->nat.symmetric || m->relay_sym))
		a.flags |= ANN_F_SYMNAT;
	if (m->gated)
		a.flags |= ANN_F_GATED;
	for (size_t i = 0; i < m->n_relays && a.n_ry < ANN_MAX_RY; i++) {
		if (m->relays[i].closing_at)
			continue;
		memcpy(a.ry[a.n_ry].a, m->relays[i].a, ANN_SEEN_KEY_LEN);
		memcpy(a.ry[a.n_ry].b, m->relays[i].b, ANN_SEEN_KEY_LEN);
		a.ry[a.n_ry].pa = m->relays[i].pa;
		a.ry[a.n_ry].pb = m->relays[i].pb;
		a.ry[a.n_ry].sa = m->relays[i].sa;
		a.ry[a.n_ry].sb = m->relays[i].sb;
		a.n_ry++;
	}
	for (size_t i = 0; i < m->n_peers && a.n_rq < ANN_MAX_RQ; i++) {
		const struct pt_entry *pe = m->peers[i].want_relay ? pt_find(m->pt, &m->peers[i].id) : NULL;

		if (pe)
			memcpy(a.rq[a.n_rq++], pe->ann.wg_pub, ANN_SEEN_KEY_LEN);
	}
	for (size_t i = 0; i < m->n_peers && a.n_up < ANN_MAX_UP; i++) {
		const struct mn_peer *c = &m->peers[i];
		const struct pt_entry *pe = c->relayed && upg_announce(&c->upg, now) ? pt_find(m->pt, &c->id) : NULL;

		if (!pe)
			continue;
		memcpy(a.up[a.n_up].key, pe->ann.wg_pub, ANN_SEEN_KEY_LEN);
		a.up[a.n_up].n = c->upg.n;
		a.up[a.n_up].h = c->upg.h;
		a.n_up++;
	}
	a.n_pk = (uint8_t)m->n_psks;
	memcpy(a.pk, m->kids, sizeof(m->kids[0]) * m->n_psks);
	if (!(flags & ANN_F_LEAVING))
		a.members = (uint32_t)pt_count(m->pt) + 1; /* a joiner's gate waits for as many */
	if (m->rot != ROT_IDLE) {
		a.has_next = true;
		memcpy(a.wg_next, m->next_pub, 32);
	}
	if (!(flags & ANN_F_LEAVING) && add_acks(m, &a, now, to) && !acks_ride(m))
		soon(m, T_ANNOUNCE_SOON, now, MN_SOON_ANNOUNCE_US);
	/* Our unreachable reports of the last probe period (normally this is the
	 * one announcement made at once for the report). */
	for (size_t i = 0; i < m->n_reports; i++) {
		const struct mn_report *rp = &m->reports[i];

		if (now - rp->at_us > m->probe_us || a.n_down >= ANN_MAX_DOWN)
			continue;
		a.down[a.n_down].len = rp->id.len;
		memcpy(a.down[a.n_down].id, rp->id.b, rp->id.len);
		a.down[a.n_down].seq = rp->seq;
		a.n_down++;
	}
	buf_init(&b, ANN_MAX_SIZE);
	if (m->adm || m->tok_len) {
		struct ann_adm *x = malloc(sizeof(*x));

		adm_fill(m, x);
		r = x ? ann_encode_ext(&a, x, &b) : -ENOMEM;
		free(x);
	} else {
		r = ann_encode(&a, &b);
	}
	if (r == 0)
		r = to ? m->ops.send_to(m->ud, &to->id, b.data, b.len) : m->ops.publish(m->ud, b.data, b.len);
	buf_free(&b);
	if (r < 0)
		log_debug(m->cfg.log, "publish: %s", err_str(r));
	else if (!to) { /* a flood reaches everyone a directed one was due to */
		/* One made while no connection is up reached nobody (gossipsub has
		 * no topic peer; a node's first announcement goes out as soon as
		 * its device is up, before its bootstrap dial completes): it does
		 * not space the next flood nor stand for a warm-up (flood_wait,
		 * on_announce). Counted, a joiner of a large cold start waited up
		 * to DEG_QUIET_CAP gaps (4 s at 1000 members) with its warm-ups
		 * skipped, known to nobody (sim_scale, docs/mesh.md "Bounded
		 * libp2p degree"). Up to DEG_FULL_MAX members the rules stay. */
		m->flooded_us = now ? now : 1;
		m->flooded_alone = !mn_connected_count(m);
		m->ann_flood = false;
		for (size_t i = 0; i < m->n_peers; i++)
			m->peers[i].direct_since = 0;
	}
	return r;
}

static int publish(struct mesh_node *m, uint32_t flags, uint64_t now)
{
	return publish_msg(m, flags, now, NULL);
}

/* ---- directed announcements (docs/mesh.md "Scale", issue 10) ----
 * An answer to a new author, our announcement for a new connection and an
 * ack concern one peer; flooded, each costs every node D + 1 copies, N per
 * join. With ops.send_to they go to that peer only: at once when the host
 * can send it (connected, its topic known), else retried every
 * MN_DIRECT_RETRY_US (the connection we dial comes up), flooded after
 * MN_DIRECT_WAIT_US without success. Anything else (our content changed, the schedule) floods. */
static void soon_direct(struct mesh_node *m, struct mn_peer *c, uint64_t now, uint64_t delay_us)
{
	if (!m->ops.send_to || !c) {
		soon(m, T_ANNOUNCE_SOON, now, delay_us);
		return;
	}
	if (m->run != MN_RUNNING)
		return;
	if (!c->direct_since)
		c->direct_since = now ? now : 1;
	if (m->due[T_ANNOUNCE_SOON] > now + delay_us)
		m->due[T_ANNOUNCE_SOON] = now + delay_us;
}

/* Above DEG_GAP_FREE members (degree.h) floods that are not on the schedule
 * are spaced DEG_FLOOD_GAP_US per member apart: each reaches every node
 * D + 1 times, and in a cold start of N every node used to flood for every
 * batch of new authors and after every device apply (acks): N floods of N
 * members each, the storm of docs/mesh.md "Scale". Spaced, what piles up
 * meanwhile (answers, acks, reports) goes out in one, and the whole mesh
 * floods at most 1 / DEG_FLOOD_GAP_US times a second whatever N. True: wait
 * (T_ANNOUNCE_SOON re-armed for the end of the gap). */
static bool flood_wait(struct mesh_node *m, uint64_t now)
{
	size_t n = deg_members(m);
	uint64_t gap = (uint64_t)n * DEG_FLOOD_GAP_US, at;

	if (n <= DEG_GAP_FREE || !m->flooded_us || (deg_bounded(n) && m->flooded_alone))
		return false;
	if (now - m->flooded_us < gap) {
		at = m->flooded_us + gap;
	} else if (deg_bounded(n) && now - m->new_author_us < DEG_QUIET_US && now - m->flooded_us < DEG_QUIET_CAP * gap) {
		/* A bounded mesh: while new authors keep arriving (a cold start,
		 * a healing partition) the answer waits until they pause, so one
		 * flood answers them all; at the latest DEG_QUIET_CAP gaps after
		 * our last flood. */
		at = m->new_author_us + DEG_QUIET_US;
		if (at > m->flooded_us + DEG_QUIET_CAP * gap)
			at = m->flooded_us + DEG_QUIET_CAP * gap;
	} else {
		at = now;
	}
	if (deg_bounded(n)) {
		/* Our slot in the gap (a phase from our peer ID): in a bounded
		 * mesh the answers to one burst of new authors (a join, a cold
		 * start) would otherwise all go out within the same quiet period,
		 * N floods at once (sim_scale at N = 1000: 1.5 GB of RPCs in
		 * flight); spread, the mesh floods about once per DEG_FLOOD_GAP_US.
		 * A timer that fires a little late still counts as in the slot. */
		uint64_t off = (m->self_hash % gap + gap - at % gap) % gap;

		if (off && off < gap - gap / 8)
			at += off;
	}
	if (at <= now)
		return false;
	soon(m, T_ANNOUNCE_SOON, now, at - now);
	return true;
}

static void announce_soon(struct mesh_node *m, uint64_t now)
{
	bool wait = false;

	if (m->ann_flood || !m->ops.send_to) {
		if (!flood_wait(m, now))
			publish(m, 0, now);
		return;
	}
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mn_peer *c = &m->peers[i];

		if (!c->direct_since)
			continue;
		if (c->connected && publish_msg(m, 0, now, c) >= 0) {
			c->direct_since = 0;
			continue;
		}
		/* not connected yet, or the host cannot reach it yet (its
		 * subscription has not arrived): again shortly */
		if (now - c->direct_since < MN_DIRECT_WAIT_US) {
			wait = true;
			continue;
		}
		if (flood_wait(m, now))
			continue;
		publish(m, 0, now); /* reaches the rest too */
		return;
	}
	if (wait && m->due[T_ANNOUNCE_SOON] > now + MN_DIRECT_RETRY_US)
		m->due[T_ANNOUNCE_SOON] = now + MN_DIRECT_RETRY_US;
}

/* The refresh interval for the mesh's size: every refresh of one node costs
 * each node about D received copies, so with n members the interval grows as
 * n / MN_REFRESH_NODES: each node hears about MN_REFRESH_NODES refreshes per
 * RefreshInterval whatever N (flat idle cost, docs/mesh.md "Liveness"). */
static uint64_t refresh_us(const struct mesh_node *m)
{
	uint64_t n = pt_count(m->pt) + 1;

	return n > MN_REFRESH_NODES ? m->cfg.announce_us / MN_REFRESH_NODES * n : m->cfg.announce_us;
}

/* The backstop for lost reports: silence (no announcement, no proof of our
 * own) longer than two and a half refresh intervals, and than PeerExpiry. */
static uint64_t silence_us(const struct mesh_node *m)
{
	uint64_t r = refresh_us(m), s = 2 * r + r / 2;

	return s > m->cfg.expiry_us ? s : m->cfg.expiry_us;
}

static void on_announce(struct mesh_node *m, uint64_t now)
{
	size_t n = deg_members(m);

	/* A bounded-degree mesh (degree.h): the warm-up announcements are the
	 * backstop for answers lost at start, and a warm-up round costs every
	 * node N received announcements: one is skipped when we flooded since
	 * the previous one (that flood carried the same). */
	if (!deg_bounded(n) || !m->flooded_us || m->flooded_alone ||
	    now - m->flooded_us >= (m->announce_step_us ? m->announce_step_us : MN_WARMUP_FIRST_US))
		publish(m, 0, now);
	m->announce_step_us = mn_announce_step(m->announce_step_us, refresh_us(m));
	arm_at(m, T_ANNOUNCE, now + m->announce_step_us);
}

/* ---- IPAM ---- */

static void report_static_conflicts(struct mesh_node *m)
{
	const struct pt_entry *rival = NULL;

	/* A pinned address never moves, and is never routed to another node here
	 * (reconcile_in.self_pinned). A claim time of 0 is not authenticated: any
	 * PSK holder can "pin" our address too, and nodes that pin nothing give it
	 * to the lower peer ID. So raise the alarm: an error line and an error
	 * event, once per conflict (again when it goes away and comes back, or
	 * another node takes it up). */
	for (size_t i = 0; i < pt_count(m->pt) && !rival; i++) {
		const struct pt_entry *e = pt_at(m->pt, i);

		for (unsigned j = 0; j < e->ann.n_claims; j++)
			if (ann_ip_eq(&e->ann.claims[j].addr, &m->cfg.static_claim.addr) &&
			    e->ann.claims[j].claimed_ms == 0) {
				rival = e;
				break;
			}
	}
	if (!rival) {
		m->pin_conflict = false;
		return;
	}
	if (!m->pin_conflict || !peerid_eq(&m->pin_rival, &rival->id)) {
		char id[PEERID_STR_MAX], ip[64], msg[PEERID_STR_MAX + 128];

		m->pin_conflict = true;
		m->pin_rival = rival->id;
		id_str(&rival->id, id, sizeof(id));
		ann_ip_str(&m->cfg.static_claim.addr, ip, sizeof(ip));
		log_err(m->cfg.log,
			"node %s (%s) pins our static address %s too: we keep it; nodes that pin nothing may "
			"route it to the lower peer ID (a PSK holder can forge a pin)",
			rival->ann.name, id, ip);
		snprintf(msg, sizeof(msg), "node %s pins our static address %s too", id, ip);
		emit(m, MN_EV_ERROR, &rival->id, rival->ann.name, &m->cfg.static_claim.addr, msg, W2W_ESTATE);
	}
}

/* Applies the IPAM rule to everyone's claims; moves us when we lost. */
static void check_address(struct mesh_node *m, uint64_t now)
{
	struct ipam_other *o;
	size_t cnt = 0, cap = 0;
	struct ann_claim out;
	bool changed = false;
	int r;

	if (m->cfg.has_static) {
		report_static_conflicts(m);
		return;
	}
	for (size_t i = 0; i < pt_count(m->pt); i++)
		cap += pt_at(m->pt, i)->ann.n_claims;
	o = calloc(cap ? cap : 1, sizeof(*o));
	if (!o)
		return;
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);

		for (unsigned j = 0; j < e->ann.n_claims; j++) {
			o[cnt].ip = e->ann.claims[j].addr;
			o[cnt].claimed_ms = e->ann.claims[j].claimed_ms;
			o[cnt].owner = &e->id;
			cnt++;
		}
	}
	r = ipam_pick(&m->cfg.range, m->cfg.self, m->has_claim ? &m->claim : NULL, o, cnt,
		      m->ops.wall_us(m->ud) / 1000, &out, &changed);
	free(o);
	if (r < 0) {
		if (r == W2W_ELIMIT)
			emit(m, MN_EV_ERROR, NULL, NULL, NULL, "the overlay range is full", r);
		return;
	}
	if (!changed)
		return;
	if (m->has_claim) {
		char old[64], ip[64];

		ann_ip_str(&m->claim.addr, old, sizeof(old));
		ann_ip_str(&out.addr, ip, sizeof(ip));
		log_info(m->cfg.log, "address %s lost to an older claim: moving to %s", old, ip);
	}
	m->claim = out;
	m->has_claim = true;
	if (!m->gated) /* else when the gate opens */
		emit(m, MN_EV_ADDRESS, NULL, m->name, &m->claim.addr, NULL, 0);
	soon(m, T_SAVE, now, MN_SOON_SAVE_US);
	soon(m, T_ANNOUNCE_SOON, now, 0);
	soon(m, T_RECONCILE, now, 0);
}

/* ---- NAT traversal (docs/nat.md, policy in nat.h) ---- */

static bool ep_same(const struct ann_endpoint *a, const struct ann_endpoint *b)
{
	return a->port == b->port && ann_ip_eq(&a->addr, &b->addr);
}

static void ep_str(const struct ann_endpoint *ep, char *out, size_t cap)
{
	char ip[64];

	ann_ip_str(&ep->addr, ip, sizeof(ip));
	snprintf(out, cap, ep->addr.family == 6 ? "[%s]:%u" : "%s:%u", ip, ep->port);
}

/* Our device's last handshake with this key, in seconds (< 0: none). */
static int64_t hs_age_rx(struct mesh_node *m, const uint8_t *wg_pub, struct ann_endpoint *ep, uint64_t *rx)
{
	struct ann_endpoint tmp;
	uint64_t rtmp;
	int64_t age = -1;

	if (!m->ops.wg_peer || !m->ops.wg_peer(m->ud, wg_pub, ep ? ep : &tmp, &age, rx ? rx : &rtmp))
		return -1;
	return age;
}

static int64_t hs_age(struct mesh_node *m, const uint8_t *wg_pub, struct ann_endpoint *ep)
{
	return hs_age_rx(m, wg_pub, ep, NULL);
}

/* Authenticated WireGuard packets from the peer within 3/4 PeerExpiry (its
 * keepalives, or traffic): proof of life without a libp2p connection. */
static bool wg_alive(const struct mesh_node *m, const struct mn_peer *c, uint64_t now)
{
	return c && c->wg_rx_at_us && now - c->wg_rx_at_us < m->cfg.expiry_us / 4 * 3;
}

static void nat_update_behind(struct mesh_node *m, uint64_t now)
{
	bool b = nat_behind(&m->cfg.listen_ip, m->observed, m->n_observed, m->nat.has_wep);

	if (b == m->nat_behind)
		return;
	m->nat_behind = b;
	log_info(m->cfg.log, "nat: %s", b ? "behind a NAT: initiating towards public peers" : "no NAT seen");
	soon(m, T_ANNOUNCE_SOON, now, 0);
	soon(m, T_RECONCILE, now, 0);
}

/*
 * The NAT roles override the first-handshake rule (nat.h). Returns true when
 * the endpoint must be written over a roamed one: a punch towards a public
 * endpoint we have not sent to yet.
 */
static bool relay_available(const struct mesh_node *m)
{
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);

		if ((e->ann.flags & ANN_F_RELAY) && !(e->ann.flags & ANN_F_NAT))
			return true;
	}
	return false;
}

/* Both behind NATs and no handshake RELAY_AFTER_US after the punch (or after
 * configuring it, while its public endpoint is unknown): ask for a relay. */
static void maybe_ask_relay(struct mesh_node *m, struct mn_peer *c, const struct pt_entry *e, uint64_t now)
{
	uint64_t since;
	int64_t age;

	if (!c || c->want_relay || !relay_available(m))
		return;
	age = hs_age(m, e->ann.wg_pub, NULL);
	if (age >= 0 && age <= NAT_SESSION_MAX_S)
		return;
	since = c->has_punched ? c->punched_at : c->hs.configured_at;
	if (now - since < RELAY_AFTER_US) {
		soon(m, T_RECONCILE, now, since + RELAY_AFTER_US - now + 1000);
		return;
	}
	c->want_relay = true;
	c->upg.direct = false;
	log_info(m->cfg.log, "relay: no direct path to %s after %llu s: asking for a relay", e->ann.name,
		 (unsigned long long)((now - since) / 1000000));
	soon(m, T_ANNOUNCE_SOON, now, 0);
}

static bool nat_plan(struct mesh_node *m, struct mn_peer *c, const struct pt_entry *e, struct hs_plan *plan,
		     uint64_t now)
{
	char ep[80];
	enum nat_role role = nat_role(m->nat_behind, &e->ann);

	if (role == NAT_ROLE_PUNCH || role == NAT_ROLE_PENDING)
		maybe_ask_relay(m, c, e, now);
	switch (role) {
	case NAT_ROLE_DEFAULT:
		return false;
	case NAT_ROLE_INITIATE:
		/* We initiate, but only towards a peer that has us configured
		 * (its ack), else our initiation is dropped and retried after 5 s:
		 * the first-handshake rule's reason for acks (handshake.h). A
		 * waiter until now may have attempted a handshake without an
		 * endpoint (an application packet): re-create it, as a promoted
		 * waiter is. */
		if (!plan->established && !plan->endpoint && hs_acks(&e->ann, m->cfg.wg_pub)) {
			plan->endpoint = true;
			plan->recreate = true;
		}
		return false;
	case NAT_ROLE_WAIT:
		/* It initiates: we wait, and ack it so that it knows we can answer
		 * (the first-handshake rule may have made us the initiator, towards
		 * an endpoint that is only its TCP mapping's IP) */
		if (!plan->established) {
			plan->endpoint = false;
			if (c && c->hs.role == HS_ROLE_INITIATOR) {
				c->hs.role = HS_ROLE_WAITER;
				m->hs_dirty = true;
				soon(m, T_ANNOUNCE_SOON, now, 0);
			}
		}
		return false;
	case NAT_ROLE_PENDING:
		if (!plan->established)
			plan->endpoint = false;
		return false;
	case NAT_ROLE_PUNCH:
		plan->endpoint = true;
		if (!c || (c->has_punched && ep_same(&c->punched, &e->ann.wep)))
			return false;
		/* Crossed initiations (both sides within a round trip) both fail
		 * and cost WireGuard's 5 s retry (handshake.h), and both sides
		 * often learn the pair at once (one announcement of a public
		 * member reports both): the higher key punches MN_PUNCH_STAGGER_US
		 * later. The lower key's first datagram opens its own NAT (and is
		 * dropped by the other's, or completes the handshake); the higher
		 * key's then passes. */
		if (memcmp(m->cfg.wg_pub, e->ann.wg_pub, 32) > 0 && !plan->established) {
			if (!c->punch_due_us) {
				c->punch_due_us = now + MN_PUNCH_STAGGER_US;
				soon(m, T_RECONCILE, now, MN_PUNCH_STAGGER_US);
			}
			if (now < c->punch_due_us) {
				plan->endpoint = false;
				return false;
			}
		}
		c->punch_due_us = 0;
		/* Both behind NATs, its public endpoint is new to us: send now (the
		 * other side does the same on the announcement that made the pair
		 * complete, or on its own new endpoint), over a roamed endpoint. */
		c->has_punched = true;
		c->punched = e->ann.wep;
		c->punched_at = now;
		plan->established = false;
		ep_str(&e->ann.wep, ep, sizeof(ep));
		log_info(m->cfg.log, "nat: punching towards %s at %s", e->ann.name, ep);
		return true;
	}
	return false;
}

/* A reflection report of author (its announcement a) about us. */
static void nat_take_reports(struct mesh_node *m, const struct peerid *author, const struct announce *a,
			     uint64_t now)
{
	for (unsigned i = 0; i < a->n_seen; i++) {
		char from[PEERID_STR_MAX], ep[80];
		int64_t age, rep_age;
		enum nat_verdict v;
		bool had_wep;

		if (memcmp(a->seen[i].key, m->cfg.wg_pub, ANN_SEEN_KEY_LEN) != 0)
			continue;
		age = hs_age(m, a->wg_pub, NULL);
		rep_age = m->nat.has_wep ? hs_age(m, m->nat.reporter, NULL) : -1;
		had_wep = m->nat.has_wep;
		v = nat_on_report(&m->nat, m->cfg.wg_pub, a->wg_pub, &a->seen[i], age, !(a->flags & ANN_F_NAT),
				  rep_age >= 0 && rep_age <= NAT_SESSION_MAX_S);
		id_str(author, from, sizeof(from));
		ep_str(&a->seen[i].ep, ep, sizeof(ep));
		switch (v) {
		case NAT_IGNORE:
			break;
		case NAT_ACCEPT:
			log_info(m->cfg.log, "nat: our public WireGuard endpoint is %s (seen by %s, %s)", ep, a->name,
				 from);
			/* Our mapping changed: punch anew towards every NATed peer,
			 * so our NAT opens towards it at once (the peer punches to
			 * our new endpoint when it sees it). Not when first learned:
			 * our punches do not depend on it, and a second punch would
			 * re-create a peer whose first handshake may be under way. */
			if (had_wep)
				for (size_t j = 0; j < m->n_peers; j++)
					m->peers[j].has_punched = false;
			nat_update_behind(m, now);
			soon(m, T_ANNOUNCE_SOON, now, 0);
			soon(m, T_RECONCILE, now, 0);
			break;
		case NAT_REJECT_NOSESSION:
			log_warn(m->cfg.log,
				 "nat: reflection report from %s (%s) rejected: no WireGuard session with it, it "
				 "cannot have seen us at %s",
				 a->name, from, ep);
			break;
		case NAT_REJECT_BOGUS:
			log_warn(m->cfg.log, "nat: reflection report from %s (%s) rejected: implausible endpoint %s",
				 a->name, from, ep);
			break;
		case NAT_DISAGREE:
			log_debug(m->cfg.log, "nat: %s (%s) sees us at %s, another peer elsewhere%s", a->name, from, ep,
				  m->nat.symmetric ? " (symmetric NAT)" : "");
			break;
		}
	}
}

/* The relay saw our datagrams come from port s (0: not yet): is it our public
 * endpoint's? A cone NAT maps our WireGuard socket to one public port for
 * every destination, so the relay and the member that reported our endpoint
 * see the same port; a symmetric NAT gives the relay another. Re-evaluated on
 * every offer: a mapping that just changed (a flush) may disagree for a
 * moment, and only holds the upgrade back that long. */
static void relay_check_mapping(struct mesh_node *m, const struct announce *a, const struct ann_relay *r, uint64_t now)
{
	bool we_a = !memcmp(r->a, m->cfg.wg_pub, ANN_SEEN_KEY_LEN);
	uint16_t s = we_a ? r->sa : r->sb;
	bool sym;

	if (!s || !m->nat.has_wep)
		return;
	sym = s != m->nat.wep.port;
	if (sym == m->relay_sym)
		return;
	m->relay_sym = sym;
	if (sym)
		log_info(m->cfg.log,
			 "nat: relay %s sees our WireGuard packets from port %u, our public endpoint has port %u: our "
			 "NAT maps per destination (symmetric): no direct-path probes",
			 a->name, s, m->nat.wep.port);
	else
		log_info(m->cfg.log, "nat: relay %s sees us at our public port %u: our NAT maps one port for all",
			 a->name, s);
	soon(m, T_ANNOUNCE_SOON, now, 0);
}

/* Relay offers (ry) in the announcement a of author: the pairs with us. */
static void relay_take_offers(struct mesh_node *m, const struct peerid *author, const struct announce *a,
			      uint64_t now)
{
	const struct pt_entry *re = pt_find(m->pt, author);
	struct mn_peer *rc = peer_find(m, author);

	/* offers this relay withdrew */
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mn_peer *c = &m->peers[i];
		bool still = false;

		if (!c->relayed || !peerid_eq(&c->relay_by, author))
			continue;
		for (unsigned j = 0; j < a->n_ry; j++) {
			uint16_t port;
			const uint8_t *pk;
			const struct pt_entry *pe = pt_find(m->pt, &c->id);

			if (pe && relay_check_offer(a, &a->ry[j], m->cfg.wg_pub, &port, &pk) == RELAY_OFFER_OK &&
			    !memcmp(pk, pe->ann.wg_pub, ANN_SEEN_KEY_LEN))
				still = true;
		}
		if (!still) {
			c->relayed = false;
			c->relay_forced = false;
			if (c->upg.direct)
				c->want_relay = false; /* upgraded: the direct endpoint stays */
			else
				c->has_punched = false; /* punch again */
			log_info(m->cfg.log, "relay: %s no longer relays for us", a->name);
			soon(m, T_RECONCILE, now, 0);
		}
	}
	for (unsigned j = 0; j < a->n_ry; j++) {
		char from[PEERID_STR_MAX];
		const uint8_t *pk = NULL;
		uint16_t port = 0;
		enum relay_offer v = relay_check_offer(a, &a->ry[j], m->cfg.wg_pub, &port, &pk);
		const struct pt_entry *pe = NULL;
		struct mn_peer *c;
		struct ann_endpoint rep;

		if (v == RELAY_OFFER_NONE)
			continue;
		id_str(author, from, sizeof(from));
		if (v == RELAY_OFFER_NOT_RELAY || v == RELAY_OFFER_NATED || v == RELAY_OFFER_LOOP) {
			log_warn(m->cfg.log, "relay: offer from %s (%s) ignored: %s", a->name, from,
				 v == RELAY_OFFER_NOT_RELAY ? "it does not announce that it relays"
				 : v == RELAY_OFFER_NATED   ? "it is behind a NAT itself"
							    : "a loop (the pair contains the relay, or us twice)");
			continue;
		}
		for (size_t i = 0; i < pt_count(m->pt) && !pe; i++)
			if (!memcmp(pt_at(m->pt, i)->ann.wg_pub, pk, ANN_SEEN_KEY_LEN))
				pe = pt_at(m->pt, i);
		c = pe ? peer_find(m, &pe->id) : NULL;
		if (c && c->relayed && c->upg.direct)
			continue; /* upgraded: the relay withdraws it once it sees we stopped asking */
		if (!c || !c->want_relay) {
			log_info(m->cfg.log, "relay: offer from %s (%s) for a pair we did not ask for: ignored", a->name,
				 from);
			continue;
		}
		if (!re || !hs_endpoint(rc && rc->has_ip ? &rc->ip : NULL, &re->ann, &rep))
			continue;
		rep.port = port;
		relay_check_mapping(m, a, &a->ry[j], now);
		if (c->relayed && peerid_eq(&c->relay_by, author) && ep_same(&c->relay_ep, &rep))
			continue;
		c->relayed = true;
		c->relay_forced = false;
		c->relay_by = *author;
		c->relay_ep = rep;
		upg_relayed(&c->upg, now);
		c->upg_force = false;
		{
			char ep[80];

			ep_str(&rep, ep, sizeof(ep));
			log_info(m->cfg.log, "relay: reaching %s through %s at %s", pe->ann.name, a->name, ep);
		}
		soon(m, T_RECONCILE, now, 0);
	}
}

/* The member's public IP for locking its relay port: its reported public
 * endpoint, else its libp2p connection's remote IP. */
static bool relay_member_ip(struct mesh_node *m, const struct pt_entry *e, struct ann_ip *ip)
{
	struct mn_peer *c = peer_find(m, &e->id);

	if (e->ann.has_wep) {
		*ip = e->ann.wep.addr;
		return true;
	}
	if (c && c->has_ip) {
		*ip = c->ip;
		return true;
	}
	return false;
}

static void relay_close_at(struct mesh_node *m, size_t i)
{
	if (m->ops.relay_close)
		m->ops.relay_close(m->ud, m->relays[i].handle);
	m->relays[i] = m->relays[--m->n_relays];
}

/* Is r the pair of these two keys, in either order (table order may change)? */
static bool relay_is(const struct mn_relay *r, const uint8_t *x, const uint8_t *y)
{
	return (!memcmp(r->a, x, ANN_SEEN_KEY_LEN) && !memcmp(r->b, y, ANN_SEEN_KEY_LEN)) ||
	       (!memcmp(r->a, y, ANN_SEEN_KEY_LEN) && !memcmp(r->b, x, ANN_SEEN_KEY_LEN));
}

/* A relay serves the pairs that ask for each other (relay.h). */
static void relay_sync(struct mesh_node *m, uint64_t now)
{
	struct relay_want w[RELAY_MAX_PAIRS * 4];
	size_t nw = 0;
	/* [P2P] RelayMaxPairs; pairs that linger after they were given up count */
	size_t max_pairs = m->cfg.relay_max_pairs && m->cfg.relay_max_pairs <= RELAY_MAX_PAIRS ? m->cfg.relay_max_pairs
											: RELAY_DEFAULT_PAIRS;
	bool changed = false;

	if (m->cfg.relay && !m->nat_behind && m->ops.relay_open)
		nw = relay_wanted(m->pt, w, sizeof(w) / sizeof(w[0]));
	for (size_t i = 0; i < m->n_relays;) {
		bool keep = false;

		for (size_t k = 0; k < nw && !keep; k++)
			keep = relay_is(&m->relays[i], w[k].a->ann.wg_pub, w[k].b->ann.wg_pub);
		if (keep && m->relays[i].closing_at) {
			m->relays[i].closing_at = 0; /* asked for again: offered again */
			changed = true;
		}
		if (!keep && !m->relays[i].closing_at) {
			/* Withdrawn from `ry` now, closed later: a member that just
			 * went direct (docs/nat.md "Upgrade") may still have packets
			 * on their way here, or send some before its peer switches. */
			m->relays[i].closing_at = now ? now : 1;
			changed = true;
			log_info(m->cfg.log, "relay: pair on ports %u/%u no longer asked for: closing in %llu s",
				 m->relays[i].pa, m->relays[i].pb, (unsigned long long)(RELAY_LINGER_US / 1000000));
		}
		if (keep || now - m->relays[i].closing_at < RELAY_LINGER_US) {
			if (!keep)
				soon(m, T_RECONCILE, now, m->relays[i].closing_at + RELAY_LINGER_US - now + 1000);
			i++;
			continue;
		}
		log_info(m->cfg.log, "relay: pair on ports %u/%u closed (no longer asked for)", m->relays[i].pa,
			 m->relays[i].pb);
		relay_close_at(m, i);
		changed = true;
	}
	for (size_t k = 0; k < nw; k++) {
		struct ann_ip ia, ib;
		struct mn_relay *r;
		bool have = false;

		for (size_t i = 0; i < m->n_relays && !have; i++)
			have = relay_is(&m->relays[i], w[k].a->ann.wg_pub, w[k].b->ann.wg_pub);
		if (have)
			continue;
		if (m->n_relays >= max_pairs) {
			if (!m->relay_full_logged)
				log_warn(m->cfg.log, "relay: budget of %zu pairs used: not relaying %s <-> %s", max_pairs,
					 w[k].a->ann.name, w[k].b->ann.name);
			m->relay_full_logged = true;
			continue;
		}
		if (!relay_member_ip(m, w[k].a, &ia) || !relay_member_ip(m, w[k].b, &ib))
			continue;
		r = &m->relays[m->n_relays];
		memset(r, 0, sizeof(*r));
		if (m->ops.relay_open(m->ud, &ia, &ib, &r->pa, &r->pb, &r->handle) < 0)
			continue;
		memcpy(r->a, w[k].a->ann.wg_pub, ANN_SEEN_KEY_LEN);
		memcpy(r->b, w[k].b->ann.wg_pub, ANN_SEEN_KEY_LEN);
		m->n_relays++;
		log_info(m->cfg.log, "relay: forwarding %s <-> %s on ports %u/%u", w[k].a->ann.name, w[k].b->ann.name,
			 r->pa, r->pb);
		changed = true;
	}
	if (m->n_relays < max_pairs)
		m->relay_full_logged = false;
	if (changed)
		soon(m, T_ANNOUNCE_SOON, now, 0);
}

/* ---- upgrade of relayed pairs to a direct path (docs/nat.md "Upgrade", upgrade.h) ---- */

static bool upg_ok(const struct mesh_node *m, const struct mn_peer *c, const struct pt_entry *e)
{
	return m->ops.wg_probe && upg_eligible(c->relayed, m->nat_behind, m->nat.has_wep,
					       m->nat.symmetric || m->relay_sym, &e->ann);
}

/* One probe (hop h of its round): a device operation of the glue, which then
 * watches the device (mn_on_direct_seen); announced in `up`. */
static void upg_probe(struct mesh_node *m, struct mn_peer *c, const struct pt_entry *e, uint8_t h, uint64_t now)
{
	char ep[80];
	uint32_t n = upg_probed(&c->upg, h, now);
	int r = m->ops.wg_probe(m->ud, e->ann.wg_pub, &e->ann.wep, &c->relay_ep);

	ep_str(&e->ann.wep, ep, sizeof(ep));
	log_debug(m->cfg.log, "nat: probing %s directly at %s (probe %u, hop %u of the round)%s", e->ann.name, ep, n,
		  h, r < 0 ? ": not sent" : "");
	soon(m, T_ANNOUNCE_SOON, now, 0);
}

/* The device showed the peer at its public endpoint while relayed. */
static void upg_went_direct(struct mesh_node *m, struct mn_peer *c, const struct pt_entry *e, uint64_t now)
{
	const struct pt_entry *re = pt_find(m->pt, &c->relay_by);
	char ep[80];

	ep_str(&e->ann.wep, ep, sizeof(ep));
	log_info(m->cfg.log, "nat: %s reachable directly at %s: leaving relay %s", e->ann.name, ep,
		 re ? re->ann.name : "(gone)");
	/* no more `rq`: the relay withdraws the pair (and forwards what is
	 * still in flight for RELAY_LINGER_US); the direct endpoint is written
	 * over a relayed packet's roam until the pair settled */
	c->want_relay = false;
	c->has_punched = true;
	c->punched = e->ann.wep;
	c->punched_at = now;
	c->upg_force = true;
	soon(m, T_ANNOUNCE_SOON, now, 0);
	soon(m, T_RECONCILE, now, 0);
}

/* From nat_scan: the device's endpoint ep for the peer. */
static void upg_check(struct mesh_node *m, struct mn_peer *c, const struct pt_entry *e, const struct ann_endpoint *ep,
		      uint64_t now)
{
	uint64_t wait;

	if (!e->ann.has_wep)
		return;
	if (c->relayed && !c->upg.direct && c->relay_forced) {
		/* the relay's endpoint was written; seeing the peer at its public
		 * one now means WireGuard roamed there on a direct packet */
		if (upg_on_device(&c->upg, &e->ann.wep, &c->relay_ep, ep, now)) {
			upg_went_direct(m, c, e, now);
			return;
		}
	}
	if (!c->relayed && !c->want_relay &&
	    upg_dead(&c->upg, c->wg_rx_at_us, m->cfg.keepalive_s ? m->cfg.keepalive_s : NAT_KEEPALIVE_S, now) &&
	    relay_available(m)) {
		/* fallback (docs/nat.md "Upgrade"): the relay again, and rounds */
		log_info(m->cfg.log, "nat: nothing from %s on its direct path for %llu s: asking for a relay again",
			 e->ann.name, (unsigned long long)((now - c->wg_rx_at_us) / 1000000));
		c->upg.direct = false;
		c->want_relay = true;
		soon(m, T_ANNOUNCE_SOON, now, 0);
		return;
	}
	if (upg_reforce(&c->upg, &e->ann.wep, ep, now) && !c->upg_force) {
		log_debug(m->cfg.log, "nat: %s: a relayed packet roamed us back: direct again", e->ann.name);
		c->upg_force = true;
		soon(m, T_RECONCILE, now, 0);
	}
	if (c->relay_forced && c->upg.relay_seen && upg_ok(m, c, e) && upg_round_due(&c->upg, m->cfg.wg_pub, e->ann.wg_pub, now, &wait))
		upg_probe(m, c, e, 0, now);
}

/* Probes of author (announcement a) to us: answer a new one with ours. */
static void upg_take_probes(struct mesh_node *m, const struct peerid *author, const struct announce *a, uint64_t now)
{
	const struct pt_entry *e = pt_find(m->pt, author);
	struct mn_peer *c = peer_find(m, author);

	for (unsigned i = 0; i < a->n_up && e && c; i++) {
		if (memcmp(a->up[i].key, m->cfg.wg_pub, ANN_SEEN_KEY_LEN) != 0)
			continue;
		if (upg_should_answer(&c->upg, &a->up[i], upg_ok(m, c, e) && c->relay_forced && c->upg.relay_seen, now))
			upg_probe(m, c, e, (uint8_t)(a->up[i].h + 1), now);
	}
}

void mn_on_direct_seen(struct mesh_node *m, const uint8_t *wg_pub, uint64_t now)
{
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		struct mn_peer *c;

		if (memcmp(e->ann.wg_pub, wg_pub, 32) != 0)
			continue;
		c = peer_find(m, &e->id);
		if (c && e->ann.has_wep && c->relayed && c->relay_forced &&
		    upg_on_device(&c->upg, &e->ann.wep, &c->relay_ep, &e->ann.wep, now))
			upg_went_direct(m, c, e, now);
		return;
	}
}

/* A relay announces where its members' datagrams come from (relay_check_mapping). */
static void relay_poll_seen(struct mesh_node *m, uint64_t now)
{
	bool changed = false;

	for (size_t i = 0; i < m->n_relays && m->ops.relay_seen; i++) {
		struct mn_relay *r = &m->relays[i];
		uint16_t sa = 0, sb = 0;

		m->ops.relay_seen(m->ud, r->handle, &sa, &sb);
		if (sa != r->sa || sb != r->sb) {
			r->sa = sa;
			r->sb = sb;
			changed = true;
		}
	}
	if (changed)
		soon(m, T_ANNOUNCE_SOON, now, 0);
}

/* Our reflection reports: where our device sees peers that do not know it. */
static void nat_scan(struct mesh_node *m, uint64_t now)
{
	struct ann_seen seen[ANN_MAX_SEEN];
	uint8_t n = 0;

	if (m->run != MN_RUNNING)
		return;
	relay_poll_seen(m, now);
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < pt_count(m->pt) && n < ANN_MAX_SEEN; i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		struct ann_endpoint ep;
		int64_t age;

		struct mn_peer *c = peer_find(m, &e->id);
		uint64_t rx = 0;

		memset(&ep, 0, sizeof(ep));
		age = hs_age_rx(m, e->ann.wg_pub, &ep, &rx);
		if (c && rx != c->wg_rx) {
			c->wg_rx = rx;
			if (rx)
				c->wg_rx_at_us = now;
		}
		if (c)
			upg_check(m, c, e, &ep, now);
		if (!nat_should_report(&e->ann, &ep, age))
			continue;
		memcpy(seen[n].key, e->ann.wg_pub, ANN_SEEN_KEY_LEN);
		seen[n].ep = ep;
		n++;
	}
	if (n != m->n_seen || memcmp(seen, m->seen, sizeof(seen)) != 0) {
		m->n_seen = n;
		memcpy(m->seen, seen, sizeof(seen));
		if (n)
			soon(m, T_ANNOUNCE_SOON, now, 0);
	}
	arm_at(m, T_NAT_SCAN, now + (pt_count(m->pt) < 64 ? MN_NAT_SCAN_US : 40 * MN_NAT_SCAN_US));
}

/* ---- reconcile ---- */

struct ep_ctx {
	struct mesh_node *m;
	uint64_t now;
};

static int endpoint_of(void *ud, const struct pt_entry *e, union wgendpoint *ep)
{
	struct ep_ctx *x = ud;
	struct mesh_node *m = x->m;
	struct mn_peer *c = peer_find(m, &e->id);
	struct ann_endpoint to;
	struct hs_plan plan = {.endpoint = true};
	bool force;

	/* A node that rotated its key initiates the first handshake of the new
	 * key itself (it kicks every peer at its switch): no endpoint here, so we
	 * never initiate too (crossed initiations both fail for 5 s); our packets
	 * wait in WireGuard's staging queue for its handshake. Without one after a
	 * wait (its initiation was lost, or it switched while we did, each waiting
	 * for the other), we initiate: the lower key of the pair after
	 * ROT_WAIT_LOW_US, the higher after ROT_WAIT_US, so not both at once. */
	if (c && c->rot_since) {
		/* never at once: its kick may be under way (crossed initiations) */
		uint64_t wait = memcmp(m->pub, e->ann.wg_pub, 32) < 0 ? ROT_WAIT_LOW_US : ROT_WAIT_US;

		if (established(m, e->ann.wg_pub)) {
			c->rot_since = 0;
		} else if (x->now - c->rot_since < wait) {
			soon(m, T_RECONCILE, x->now, c->rot_since + wait - x->now);
			return 0;
		} else if (hs_endpoint(c->has_ip ? &c->ip : NULL, &e->ann, &to)) {
			c->rot_since = 0;
			log_debug(m->cfg.log, "handshake: %s: no handshake with its new key yet: initiating", e->ann.name);
			reconcile_endpoint(ep, &to);
			/* re-created: a packet of ours routed to it while it had no
			 * endpoint made WireGuard attempt a handshake, whose 5 s rate
			 * limit would suppress this one (handshake.h) */
			return RECONCILE_F_KICK | RECONCILE_F_RECREATE;
		}
	}
	/* c exists (reconcile() configured every entry) unless the bookkeeping
	 * is full: then no rule, the endpoint at once */
	if (c) {
		enum hs_role was = c->hs.role;

		plan = hs_plan(&c->hs, m->cfg.wg_pub, &e->ann, established(m, e->ann.wg_pub), x->now);
		if (was != c->hs.role)
			log_debug(m->cfg.log, "handshake: %s: initiator now (%s)", e->ann.name,
				  hs_acks(&e->ann, m->cfg.wg_pub) ? "acked" : "fallback");
	}
	if (plan.recheck_us)
		soon(m, T_RECONCILE, x->now, plan.recheck_us + 1000);
	if (c && c->upg.direct && e->ann.has_wep && (c->relayed || upg_settling(&c->upg, x->now))) {
		/* upgraded (docs/nat.md "Upgrade"): its public endpoint, written
		 * again over a late relayed packet's roam while settling */
		to = e->ann.wep;
		force = c->upg_force;
		c->upg_force = false;
		plan.endpoint = true;
		if (force)
			plan.established = false;
	} else if (c && c->relayed) {
		/* through the relay's port for us (docs/nat.md "Relays"), written
		 * over the roamed endpoint once */
		to = c->relay_ep;
		force = !c->relay_forced;
		c->relay_forced = true;
		plan.endpoint = true;
		if (force)
			plan.established = false;
	} else {
		force = nat_plan(m, c, e, &plan, x->now);
	}
	if (!plan.endpoint || (!(c && (c->relayed || (c->upg.direct && upg_settling(&c->upg, x->now)))) &&
			       !hs_endpoint(c && c->has_ip ? &c->ip : NULL, &e->ann, &to)))
		return 0;
	reconcile_endpoint(ep, &to);
	if (plan.established)
		return 0;
	/* We initiate: with PersistentKeepalive off nothing would start the
	 * handshake until the application sends, and the waiter, which has no
	 * endpoint, cannot. A keepalive for the handshake; once it is done
	 * (endpoint on the device), the configured one again. */
	soon(m, T_RECONCILE, x->now, MN_KICK_RECHECK_US);
	return RECONCILE_F_KICK | (plan.recreate ? RECONCILE_F_RECREATE : 0) | (force ? RECONCILE_F_FORCE_EP : 0);
}

/*
 * The address gate. A packet an application sends to a node we do not know
 * yet goes to no WireGuard peer and is dropped (wireguard-go and the kernel
 * stage packets only for a configured peer), and so is a packet we staged for
 * a peer re-created on promotion (handshake.h); applications probe a new node
 * as soon as its address answers. So a joiner with a new claim keeps it off
 * the interface until it knows the mesh — at least as many members as any
 * announcement counts, and either every node it knows counts exactly as many
 * and claimed its address MN_GATE_SETTLED_US ago (a settled mesh: a join) or
 * no new author for MN_GATE_QUIET_US (nodes started together, whose counts
 * still grow; an older version counting none), and every member it is
 * connected to has announced itself —
 * and every node it knows has it configured with its handshake role settled:
 * we initiate (it acked us, so it waits for us), or a handshake or endpoint
 * is on the device. Then its first packets to any of them are staged during
 * the handshake, and theirs to us too. At the latest after MN_GATE_MAX_US
 * (a dead node in an announcement's count, an unreachable bootstrap).
 */
static bool gate_open(struct mesh_node *m, uint64_t now, bool verbose)
{
	uint32_t want = 0;
	bool agree = true; /* every node we know counts exactly the members we know */
	uint64_t wall = m->ops.wall_us(m->ud), hs_delay = m->gate_hs_delay;

	m->gate_dev_wait = false;
	m->gate_hs_delay = 0;
	if (now - m->started_us >= MN_GATE_MAX_US) {
		if (verbose)
			log_info(m->cfg.log, "address gate: open after %llu ms (%zu members known)",
				 (unsigned long long)((now - m->started_us) / 1000), pt_count(m->pt) + 1);
		return true;
	}
	if (!pt_count(m->pt))
		return false;
	/* A member we are connected to (its subscription to our topic arrived)
	 * but whose announcement has not: our bootstrap node, which announces
	 * itself MN_SOON_ANNOUNCE_US after our connection but forwards the other
	 * newcomers' announcements at once. Two newcomers that know only each
	 * other agree on a count of two; neither is routed by the bootstrap node
	 * yet. */
	for (size_t i = 0; i < m->n_peers; i++) {
		const struct mn_peer *c = &m->peers[i];

		if (c->connected && c->subscribed && !pt_find(m->pt, &c->id)) {
			if (verbose)
				log_debug(m->cfg.log, "address gate: a connected member has not announced itself yet");
			return false;
		}
	}
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		const struct mn_peer *c = peer_find(m, &e->id);

		if (e->ann.members > want)
			want = e->ann.members;
		if (e->ann.members != pt_count(m->pt) + 1)
			agree = false;
		/* A young node's count is still growing: two newcomers and a
		 * bootstrap node that knows only them agree on three. Its claim
		 * time says how young it is (a static Address claims at 0). */
		if (!e->ann.n_claims || e->ann.claims[0].claimed_ms * 1000 + MN_GATE_SETTLED_US > wall)
			agree = false;
		if (!c || !c->hs.configured || !c->hs.applied) {
			if (verbose)
				log_debug(m->cfg.log, "address gate: %s not %s yet", e->ann.name,
					  c && c->hs.configured ? "applied" : "configured");
			return false;
		}
		/* Settled: we initiate; or a handshake or endpoint is there. A
		 * higher-key waiter waits for the handshake the other's promotion
		 * starts: the promotion re-creates the peer there, dropping what an
		 * ungated node's application staged for us (docs/mesh.md). Not
		 * when the announcement that acks us says the other is behind its
		 * own gate: nothing is staged there, and it opens only once our
		 * ack has promoted it (its re-create goes before its address, in
		 * one apply). What our application sends is staged here and goes
		 * out once its initiation arrives. */
		bool higher = memcmp(m->cfg.wg_pub, e->ann.wg_pub, 32) > 0;
		bool acked = c->hs.acks_sent && hs_acks(&e->ann, m->cfg.wg_pub);

		if (!(c->hs.role == HS_ROLE_INITIATOR || (higher && acked && (e->ann.flags & ANN_F_GATED)) ||
		      established(m, e->ann.wg_pub))) {
			m->gate_dev_wait = true;
			if (higher && acked)
				m->gate_hs_delay = hs_delay ? hs_delay * 2 : MN_GATE_HS_RECHECK_US;
			if (verbose)
				log_debug(m->cfg.log, "address gate: %s: role not settled (%s key, acks sent %u, acked %d)",
					  e->ann.name, higher ? "higher" : "lower",
					  (unsigned)c->hs.acks_sent, hs_acks(&e->ann, m->cfg.wg_pub));
			return false;
		}
	}
	if (pt_count(m->pt) + 1 < want || (!agree && now - m->new_author_us < MN_GATE_QUIET_US)) {
		if (verbose)
			log_debug(m->cfg.log, "address gate: %zu members known, %u counted, %s", pt_count(m->pt) + 1,
				  want, agree ? "counts agree" : "counts differ: quiet period");
		return false;
	}
	if (verbose)
		log_info(m->cfg.log, "address gate: open after %llu ms (%zu members known, every one ready)",
			 (unsigned long long)((now - m->started_us) / 1000), pt_count(m->pt) + 1);
	return true;
}

/* ---- key rotation: peers (docs/mesh.md "Key rotation") ---- */

static void rotate_applied(struct mesh_node *m, uint64_t now);

/* A handshake with a node's announced next key proves that its device switched
 * (only that private key can complete one): take the new key now, without
 * waiting for its announcement (lost, or slower than the handshake). True
 * while some node's next key is still pending (polled until it switches). */
static bool promote_switched(struct mesh_node *m, uint64_t now)
{
	bool pending = false;

	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		uint8_t old[32];

		if (!e->ann.has_next || !memcmp(e->ann.wg_next, e->ann.wg_pub, 32))
			continue;
		if (!m->ops.handshook || !m->ops.handshook(m->ud, e->ann.wg_next)) {
			pending = true;
			continue;
		}
		memcpy(old, e->ann.wg_pub, 32);
		if (pt_promote_next(m->pt, &e->id)) {
			struct mn_peer *c = peer_get(m, &e->id);

			if (c)
				c->rot_since = now;
			rot_retire(&m->retired, old, now);
			log_info(m->cfg.log, "peer %s switched to its next WireGuard key (handshake seen)", e->ann.name);
		}
	}
	return pending;
}

/* Adds to the desired device each node's announced next key (no allowed IPs,
 * no endpoint, no keepalive: it only answers that node's first handshake
 * after its switch), and a removal of every retired key the device may still
 * hold. After our own switch, every peer's keepalive is set to 0 in the
 * switching device and back on (the configured one, else
 * RECONCILE_KICK_KEEPALIVE_S) for ROT_KICK_US: keepalive 0 -> N makes
 * WireGuard send one at once, i.e. start the new key's handshake with every
 * peer now, not at the first packet, so a peer never has to initiate to us. */
static int add_rotation_peers(struct mesh_node *m, struct wgdevice *dev, uint64_t now)
{
	rot_retired_prune(&m->retired, now);
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		const struct wgpeer *cur;
		struct wgpeer *p;

		if (!e->ann.has_next || wgdev_find_peer(dev, e->ann.wg_next) ||
		    !memcmp(e->ann.wg_next, m->pub, 32) || !memcmp(e->ann.wg_next, m->next_pub, 32))
			continue;
		p = wgdev_add_peer(dev);
		if (!p)
			return -ENOMEM;
		memcpy(p->public_key, e->ann.wg_next, 32);
		/* no endpoint either: only the switched node initiates to us */
		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PERSISTENT_KEEPALIVE;
		/* the pair's PresharedKey (pairpsk.h) belongs to the two peer IDs,
		 * not to a WireGuard key: the next key's handshake needs the same */
		cur = wgdev_find_peer(dev, e->ann.wg_pub);
		if (cur && (cur->flags & WGPEER_HAS_PRESHARED_KEY)) {
			memcpy(p->preshared_key, cur->preshared_key, 32);
			p->flags |= WGPEER_HAS_PRESHARED_KEY;
		}
	}
	for (size_t i = 0; i < m->retired.n; i++) {
		struct wgpeer *p;

		if (wgdev_find_peer(dev, m->retired.e[i].key))
			continue; /* in use again (a node that came back with its old key) */
		p = wgdev_add_peer(dev);
		if (!p)
			return -ENOMEM;
		memcpy(p->public_key, m->retired.e[i].key, 32);
		p->flags = WGPEER_HAS_PUBLIC_KEY | WGDIFF_PEER_REMOVE;
	}
	if (m->rot == ROT_SWITCHING || now < m->rot_kick_until) {
		struct wgpeer *p;

		if (now < m->rot_kick_until) /* then the configured keepalive again */
			soon(m, T_RECONCILE, now, m->rot_kick_until - now + 1000);

		wgdev_for_each_peer(dev, p)
		{
			if (!p->first_allowedip || p->endpoint.addr.sa_family == AF_UNSPEC)
				continue; /* a next key or a removal; a waiter (no endpoint) cannot send */
			p->persistent_keepalive_interval =
			    m->rot == ROT_SWITCHING ? 0
			    : m->cfg.keepalive_s   ? m->cfg.keepalive_s
						   : RECONCILE_KICK_KEEPALIVE_S;
		}
	}
	return 0;
}

static void reconcile(struct mesh_node *m, uint64_t now)
{
	struct reconcile_in in;
	struct ep_ctx x = {m, now};
	struct wgdevice *dev;

	if (m->run != MN_RUNNING)
		return;
	relay_sync(m, now);
	memset(&in, 0, sizeof(in));
	in.ifname = m->ifname;
	in.private_key = m->cfg.wg_priv;
	in.listen_port = m->cfg.wg_port;
	in.keepalive_s = m->cfg.keepalive_s;
	/* behind a NAT the mapping must stay open (nat.h) */
	if (!in.keepalive_s && m->nat_behind)
		in.keepalive_s = NAT_KEEPALIVE_S;
	if (m->cfg.range.family == 4)
		in.range4 = &m->cfg.range;
	else
		in.range6 = &m->cfg.range;
	in.self = m->cfg.self;
	in.self_claims = m->has_claim ? &m->claim : NULL;
	in.n_self_claims = m->has_claim ? 1 : 0;
	in.self_pinned = m->cfg.has_static;
	in.pt = m->pt;
	in.endpoint = endpoint_of;
	in.ud = &x;
	in.psks = m->psks;
	in.kids = (const uint8_t(*)[8])m->kids;
	in.n_psks = m->n_psks;
	if (promote_switched(m, now))
		soon(m, T_RECONCILE, now, ROT_LEAD_US / 2); /* until it switches: watch for its handshake */
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		struct mn_peer *c = peer_get(m, &e->id);

		if (c && hs_configured(&c->hs, m->cfg.wg_pub, &e->ann, now)) {
			/* a rotated key needs no ack: its node initiates (endpoint_of) */
			m->hs_dirty |= !c->rot_since;
			log_debug(m->cfg.log, "handshake: %s: %s", e->ann.name,
				  c->rot_since                   ? "rotated key (it initiates)"
				  : c->hs.role == HS_ROLE_INITIATOR ? "initiator (it acks us)"
								    : "waiter");
		}
	}
	dev = reconcile_desired(&in);
	if (dev && add_rotation_peers(m, dev, now) < 0) {
		wgdev_free(dev);
		dev = NULL;
	}
	if (!dev) {
		emit(m, MN_EV_ERROR, NULL, NULL, NULL, "reconcile: out of memory", -ENOMEM);
		return;
	}
	/* Until a whole PeerExpiry has passed since start, peers on the device that
	 * the table does not list yet are kept: after a restart they are still
	 * there and announce themselves again once reconnected (seamless
	 * restart); only then are the ones that stayed silent removed. */
	if (m->gated) {
		if (gate_open(m, now, true)) {
			m->gated = false;
			if (m->has_claim)
				emit(m, MN_EV_ADDRESS, NULL, m->name, &m->claim.addr, NULL, 0);
		} else {
			/* events re-check it too (messages, the apply that settles a
			 * peer); this catches the rest: the quiet period's end, a
			 * handshake seen on the device, the cap */
			uint64_t at = !m->gate_dev_wait ? UINT64_MAX
				      : now + (m->gate_hs_delay && m->gate_hs_delay < MN_GATE_RECHECK_US ? m->gate_hs_delay
												: MN_GATE_RECHECK_US),
				 quiet = m->new_author_us + MN_GATE_QUIET_US;

			/* Each re-check re-reads the device (a UAPI or netlink dump
			 * of every peer): only while a handshake there may settle
			 * the gate. What else holds it (our own apply, a member not
			 * announced or configured yet, fewer members than counted)
			 * moves with messages and applies, which re-check at once. */
			if (quiet > now && quiet < at)
				at = quiet;
			if (m->started_us + MN_GATE_MAX_US < at)
				at = m->started_us + MN_GATE_MAX_US;
			/* not while applies fail (wireguard-go killed, the interface
			 * deleted): every failed apply doubles the retry backoff
			 * (mn_on_wg_failed), and re-checks every 50 ms would push it to
			 * its 30 s cap within a second; the backoff drives the retries */
			if (!m->wg_retry_us)
				soon(m, T_RECONCILE, now, at > now ? at - now : 0);
		}
	}
	m->ops.apply(m->ud, dev, m->has_claim && !m->gated ? &m->claim : NULL, m->cfg.range.plen,
		     !m->grace_over && now - m->started_us < m->cfg.expiry_us);
}

/* Every desired device so far is applied: peer-up for the new nodes in it
 * (configured by a reconcile, so routed now). */
static void emit_ups(struct mesh_node *m)
{
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mn_peer *c = &m->peers[i];
		const struct pt_entry *e;

		if (!c->up_pending || !c->hs.configured)
			continue;
		c->up_pending = false;
		e = pt_find(m->pt, &c->id);
		if (e)
			emit(m, MN_EV_PEER_UP, &e->id, e->ann.name, e->ann.n_claims ? &e->ann.claims[0].addr : NULL,
			     NULL, 0);
	}
}

void mn_on_wg_applied(struct mesh_node *m, const struct wgdiff_stats *diff, bool busy, uint64_t now)
{
	struct mn_event ev = {.type = MN_EV_WG_APPLIED, .diff = diff};

	m->wg_retry_us = 0;
	if (m->rot == ROT_SWITCHING && !busy && m->run == MN_RUNNING)
		rotate_applied(m, now);
	if (m->hs_dirty && !busy) {
		/* Every desired device so far is applied: only now may the new
		 * peers be acked (an ack that runs ahead of the device makes the
		 * peer's first initiation hit nothing: a 5 s retry). Also after an
		 * apply that changed nothing: the device that added the peers may
		 * have completed while a later apply was queued (busy). */
		bool due = false;

		m->hs_dirty = false;
		for (size_t i = 0; i < m->n_peers; i++) {
			struct hs_peer *k = &m->peers[i].hs;

			/* a joiner's address gate waits for this (gate_open) */
			if (m->gated && k->configured && !k->applied)
				soon(m, T_RECONCILE, now, 0);
			hs_applied(k, now);
			if (k->configured && hs_ack_rank(m->cfg.wg_pub, k, established(m, k->wg_pub), now) > 0) {
				due = true;
				/* the ack concerns that peer only */
				if (m->ops.send_to && (!acks_ride(m) || m->peers[i].connected))
					soon_direct(m, &m->peers[i], now, 0);
			}
		}
		/* only when an ack is due: a peer taken back with its session
		 * still on the device (a refuted report) needs none */
		if (due && !m->ops.send_to && !acks_ride(m))
			soon(m, T_ANNOUNCE_SOON, now, 0);
	}
	if (!busy)
		emit_ups(m);
	/* The gate's checks in reconcile see the device as the previous apply
	 * read it; this one read it just now (a handshake, an endpoint): if the
	 * gate can open, open it now rather than at the next re-check. */
	if (m->gated && !busy && m->run == MN_RUNNING && gate_open(m, now, false))
		soon(m, T_RECONCILE, now, 0);
	if (!(diff->added || diff->removed || diff->updated || diff->device_changed || !m->wg_applied_once))
		return;
	if (!m->wg_applied_once) {
		m->wg_applied_once = true;
		soon(m, T_ANNOUNCE_SOON, now, 0);
	}
	if (m->ops.event)
		m->ops.event(m->ud, &ev);
}

/* ---- expiry and dialling ---- */

static void on_expired(void *ud, const struct pt_entry *e)
{
	struct mesh_node *m = ud;
	struct mn_peer *c = peer_find(m, &e->id);
	char id[PEERID_STR_MAX];

	if (c) {
		hs_forget(&c->hs);
		c->up_pending = false;
	}
	id_str(&e->id, id, sizeof(id));
	log_info(m->cfg.log, "peer %s (%s) silent for too long: removed", e->ann.name, id);
	emit(m, MN_EV_PEER_DOWN, &e->id, e->ann.name, NULL, "expired", 0);
}

static void expire(struct mesh_node *m, uint64_t now)
{
	uint64_t oldest;

	if (pt_expire(m->pt, now, silence_us(m), on_expired, m) > 0)
		soon(m, T_RECONCILE, now, MN_SOON_RECONCILE_US);
	oldest = pt_oldest_seen(m->pt);
	if (oldest != UINT64_MAX && m->run == MN_RUNNING)
		arm_at(m, T_EXPIRE, oldest + silence_us(m) + 1000);
}

/* The j-th libp2p address of an announcement with /p2p/<author>, binary. */
static int la_dialable(uint8_t *out, size_t cap, const struct announce *a, unsigned j, const struct peerid *author)
{
	struct ma_addr ma;

	if (ma_decompose(a->la[j].b, a->la[j].len, &ma) < 0)
		return W2W_EPARSE;
	ma.has_peer = true;
	ma.peer = *author;
	return ma_compose(out, cap, &ma);
}

static void dial(struct mesh_node *m, const uint8_t *ma, size_t len)
{
	if (m->ops.dial)
		m->ops.dial(m->ud, ma, len);
}

/* ---- bounded degree (degree.h, docs/mesh.md "Scale") ---- */

/* The mesh's size as far as we can tell: the table and us, or the largest
 * member count announced (a joiner learns it from its first announcement,
 * long before its table is complete). Not the persisted addresses: they
 * include members long gone. */
static size_t deg_members(const struct mesh_node *m)
{
	size_t n = pt_count(m->pt) + 1;

	return n > m->members_hint ? n : m->members_hint;
}

/* Do we want a libp2p connection to this member of the table? */
static bool want_conn(const struct mesh_node *m, const struct peerid *id)
{
	size_t n = pt_count(m->pt) + 1, rs, ri;

	if (!deg_bounded(deg_members(m)))
		return true;
	rs = pt_rank(m->pt, m->cfg.self);
	ri = pt_rank(m->pt, id);
	return deg_wanted(n, deg_members(m), rs, ri >= rs ? ri + 1 : ri, m->cfg.self, id);
}

/* Dials a known address (text) unless it is ours or its peer is connected;
 * with a bounded degree, a member we know only if wanted, and one we do not
 * know (a bootstrap address, a member gone or beyond a partition) only
 * within *budget (decremented; NULL: no bound). */
static void dial_known(struct mesh_node *m, const char *text, size_t *budget)
{
	uint8_t bin[MA_MAX_BIN];
	struct peerid pid;
	int len = ma_parse(bin, sizeof(bin), text, strlen(text));

	if (len < 0 || ma_peer(bin, (size_t)len, &pid) < 0)
		return;
	if (peerid_eq(&pid, m->cfg.self) || mn_connected(m, &pid))
		return;
	if (budget && deg_bounded(deg_members(m))) {
		if (pt_find(m->pt, &pid)) {
			if (!want_conn(m, &pid))
				return;
		} else if (*budget == 0) {
			return;
		} else {
			--*budget;
		}
	}
	dial(m, bin, (size_t)len);
}

/* One round over the known addresses; with a bounded degree those of members
 * we do not know are dialled DEG_UNKNOWN_DIALS at a time, rotating, so a
 * restart or a healing partition of a large mesh does not dial hundreds at once. */
#define DEG_UNKNOWN_DIALS 8
static void dial_known_all(struct mesh_node *m)
{
	size_t budget = DEG_UNKNOWN_DIALS, start = m->st.n_peers ? m->unknown_cursor % m->st.n_peers : 0;

	/* Indexes, not pointers: a dial may report back into the engine's
	 * caller before it returns. */
	for (size_t k = 0; k < m->st.n_peers; k++) {
		size_t i = (start + k) % m->st.n_peers;

		dial_known(m, m->st.peers[i], &budget);
		if (!budget) { /* the wanted members are dialled from the table too */
			m->unknown_cursor = i + 1;
			break;
		}
	}
}

/* A connection deg_trim may close: up, to a member of the table that we do
 * not want, not one we probe or owe a directed announcement. */
static bool trimmable(const struct mesh_node *m, const struct mn_peer *c)
{
	return c->connected && !c->direct_since && !(m->pr.active && peerid_eq(&m->pr.id, &c->id)) &&
	       pt_find(m->pt, &c->id) && !want_conn(m, &c->id);
}

/* With a bounded degree, once DEG_TRIM_MIN wanted connections are up, a
 * connection to a member that neither end wants (a bootstrap node, a member
 * that was a ring neighbour while our table was incomplete) is closed after
 * DEG_TRIM_AGE_US: else a bootstrap node that everyone lists fills its
 * connection limit for good and later newcomers are refused for ever. Not a
 * peer we probe or owe a directed announcement. The rule is symmetric, so
 * the other end does not redial (while the two tables agree).
 * Room for newcomers: above DEG_CONN_HIGH connections the oldest unwanted
 * ones are closed at once, whatever their age (degree.h). */
static void deg_trim(struct mesh_node *m, uint64_t now)
{
	size_t up = 0, conns = 0;

	if (!m->ops.hangup || !deg_bounded(deg_members(m)))
		return;
	for (size_t i = 0; i < m->n_peers; i++) {
		conns += m->peers[i].connected;
		up += m->peers[i].connected && pt_find(m->pt, &m->peers[i].id) && want_conn(m, &m->peers[i].id);
	}
	while (conns > DEG_CONN_HIGH) {
		struct mn_peer *old = NULL;

		for (size_t i = 0; i < m->n_peers; i++)
			if (trimmable(m, &m->peers[i]) && (!old || m->peers[i].conn_since_us < old->conn_since_us))
				old = &m->peers[i];
		if (!old)
			break;
		old->connected = false; /* mn_on_disconnected follows */
		m->ops.hangup(m->ud, &old->id);
		conns--;
	}
	if (up < DEG_TRIM_MIN)
		return;
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mn_peer *c = &m->peers[i];

		if (!trimmable(m, c) || now - c->conn_since_us < DEG_TRIM_AGE_US)
			continue;
		c->connected = false; /* mn_on_disconnected follows */
		m->ops.hangup(m->ud, &c->id);
	}
}

static void redial(struct mesh_node *m, uint64_t now)
{
	deg_trim(m, now);
	/* Known addresses (bootstrap, learned, persisted) are redialled forever:
	 * the host's per-peer backoff keeps this cheap, and it is what lets a
	 * partition heal without an operator. */
	/* the largest member count the table announces (members that left no
	 * longer count) */
	m->members_hint = 0;
	for (size_t i = 0; i < pt_count(m->pt); i++)
		if (pt_at(m->pt, i)->ann.members > m->members_hint)
			m->members_hint = pt_at(m->pt, i)->ann.members;
	dial_known_all(m);
	/* Every node in the table we are not connected to (and want, degree.h),
	 * at its announced addresses. */
	for (size_t i = 0; i < pt_count(m->pt); i++) {
		const struct pt_entry *e = pt_at(m->pt, i);
		uint8_t ma[MA_MAX_BIN];

		if (mn_connected(m, &e->id) || !want_conn(m, &e->id))
			continue;
		for (unsigned j = 0; j < e->ann.n_la; j++) {
			int len = la_dialable(ma, sizeof(ma), &e->ann, j, &e->id);

			if (len < 0)
				continue;
			dial(m, ma, (size_t)len);
			break; /* one address per round; the others on later rounds if it fails */
		}
	}
	/* Alone (nodes started together: the bootstrap node may not listen yet),
	 * retry quickly; once in the mesh, the slow round suffices. */
	arm_at(m, T_REDIAL, now + (mn_connected_count(m)                              ? MN_REDIAL_US
				   : now - m->started_us < MN_REDIAL_START_WINDOW_US ? MN_REDIAL_START_US
										     : MN_REDIAL_ALONE_US));
}

int mn_add_peer_addr(struct mesh_node *m, const char *multiaddr, bool now_dial, uint64_t now)
{
	uint8_t bin[MA_MAX_BIN];
	struct peerid pid;
	int len = ma_parse(bin, sizeof(bin), multiaddr, strlen(multiaddr));

	if (len < 0 || ma_peer(bin, (size_t)len, &pid) < 0)
		return W2W_EPARSE; /* a peer address must name its peer (/p2p/<id>) */
	learn_peer_addr(m, multiaddr, now);
	if (now_dial && m->run == MN_RUNNING)
		dial(m, bin, (size_t)len);
	return 0;
}

/* ---- liveness: probes, reports, refutation (docs/mesh.md "Liveness") ---- */

static void remember(struct mn_report *ring, size_t *n, const struct peerid *id, uint64_t seq, uint64_t now)
{
	if (*n == MN_MAX_REPORTS)
		memmove(&ring[0], &ring[1], (MN_MAX_REPORTS - 1) * sizeof(ring[0]));
	else
		(*n)++;
	ring[*n - 1].id = *id;
	ring[*n - 1].seq = seq;
	ring[*n - 1].at_us = now;
}

/* Did we remove id as unreachable within the last PeerExpiry? */
static bool dropped_lately(const struct mesh_node *m, const struct peerid *id, uint64_t now)
{
	for (size_t i = 0; i < m->n_dropped; i++)
		if (peerid_eq(&m->dropped[i].id, id) && now - m->dropped[i].at_us < m->cfg.expiry_us)
			return true;
	return false;
}

static void on_unreachable(void *ud, const struct pt_entry *e)
{
	struct mesh_node *m = ud;
	struct mn_peer *c = peer_find(m, &e->id);

	if (c) {
		hs_forget(&c->hs);
		c->up_pending = false;
	}
	remember(m->dropped, &m->n_dropped, &e->id, e->ann.seq, m->now_us);
	emit(m, MN_EV_PEER_DOWN, &e->id, e->ann.name, NULL, "unreachable", 0);
}

/* Proof that id is alive: ends a probe of it and restarts its silence. */
static void alive(struct mesh_node *m, const struct peerid *id, uint64_t now)
{
	struct mn_peer *c = peer_get(m, id);

	if (c)
		c->last_alive_us = now;
	pt_touch(m->pt, id, now);
	if (m->pr.active && peerid_eq(&m->pr.id, id)) {
		m->pr.active = false;
		m->due[T_PROBE_DEADLINE] = UINT64_MAX;
	}
}

void mn_on_alive(struct mesh_node *m, const struct peerid *peer, uint64_t now)
{
	if (m->run == MN_IDLE)
		return;
	alive(m, peer, now);
}

uint64_t mn_probe_period(const struct mesh_node *m)
{
	return m->probe_us;
}

uint64_t mn_probe_timeout(const struct mesh_node *m)
{
	return m->probe_timeout_us;
}

/* Delay to our next probe slot: the wall clock modulo the period equals our
 * phase, so every node probes exactly once per wall-clock period and all
 * compute the same period number (probe_step). */
static uint64_t probe_delay(const struct mesh_node *m)
{
	uint64_t w = m->ops.wall_us(m->ud) + m->probe_us - m->probe_phase_us;

	return m->probe_us - w % m->probe_us + 1000; /* + 1 ms: land just past the slot */
}

/* The retry of a probe: a fresh dial of the target's announced address. */
static void probe_redial(struct mesh_node *m)
{
	const struct pt_entry *e = pt_find(m->pt, &m->pr.id);
	uint8_t ma[MA_MAX_BIN];
	int len;

	m->pr.redialed = true;
	if (!e || !e->ann.n_la)
		return;
	len = la_dialable(ma, sizeof(ma), &e->ann, 0, &e->id);
	if (len >= 0)
		dial(m, ma, (size_t)len);
}

/* Probes the member e now (the ring's target, or a suspect). */
static void probe_start(struct mesh_node *m, const struct pt_entry *e, uint64_t now)
{
	struct peerid id;
	bool ok = false;

	id = e->id;
	if ((m->nat_behind || (e->ann.flags & ANN_F_NAT)) && !mn_connected(m, &id) && wg_alive(m, peer_find(m, &id), now)) {
		/* A NAT between us and no libp2p connection (two NATed nodes
		 * cannot dial each other, docs/nat.md): authenticated WireGuard
		 * packets from it lately are the proof of life. Not between
		 * public nodes: a WireGuard device outlives a dead daemon, the
		 * libp2p probe is what tells. A dead NATed node is still reported
		 * by the members connected to it. */
		alive(m, &id, now);
		return;
	}
	m->pr.active = true;
	m->pr.redialed = false;
	m->pr.id = id;
	m->pr.seq = e->ann.seq;
	arm_at(m, T_PROBE_DEADLINE, now + m->probe_timeout_us);
	if (mn_connected(m, &id)) {
		if (!m->ops.probe) {
			alive(m, &id, now); /* no way to ask: the connection counts */
			return;
		}
		ok = m->ops.probe(m->ud, &id) >= 0;
	}
	if (!ok && m->pr.active && !m->pr.redialed)
		probe_redial(m);
}

/*
 * One probe per period. The members (the table and us) sorted by peer ID form
 * a ring; in period k the node at rank r probes rank r + 1 + k mod (n - 1).
 * Within a period that is a permutation, so while the nodes' tables agree every
 * member is probed by exactly one node per period, whatever N: the cost per
 * node is constant and a dead node is found within two periods. Over n - 1
 * periods each node probes every other one (round robin).
 */
static void probe_step(struct mesh_node *m, uint64_t now)
{
	uint64_t k = (m->ops.wall_us(m->ud) + m->probe_us - m->probe_phase_us) / m->probe_us;
	size_t n = pt_count(m->pt), r, t;
	const struct pt_entry *e;

	arm_at(m, T_PROBE, now + probe_delay(m));
	if (n == 0 || m->pr.active)
		return; /* alone, or the last probe still runs (its timeout is longer than a period) */
	if (m->has_suspect) { /* a report we did not take: see take_reports */
		m->has_suspect = false;
		e = pt_find(m->pt, &m->suspect);
		if (e) {
			probe_start(m, e, now);
			return;
		}
	}
	r = pt_rank(m->pt, m->cfg.self);
	/* With a bounded degree (degree.h) the target is one of our DEG_RING
	 * ring successors, all wanted connections: still a permutation per
	 * period (each member probed by exactly one of its predecessors), and
	 * no probe needs a fresh dial. */
	t = (r + 1 + (size_t)(k % (deg_bounded(deg_members(m)) && n > DEG_RING ? DEG_RING : n))) % (n + 1);
	e = pt_at(m->pt, t < r ? t : t - 1);
	if (!e)
		return;
	probe_start(m, e, now);
}

static void report(struct mesh_node *m, const struct peerid *id, uint64_t seq, uint64_t now)
{
	const struct pt_entry *e = pt_find(m->pt, id);
	char ids[PEERID_STR_MAX];

	if (!e || e->ann.seq > seq)
		return; /* gone already, or it announced itself meanwhile */
	remember(m->reports, &m->n_reports, id, seq, now);
	m->now_us = now;
	id_str(id, ids, sizeof(ids));
	log_info(m->cfg.log, "peer %s (%s) does not answer: removed and reported unreachable", e->ann.name, ids);
	pt_remove(m->pt, id, on_unreachable, m);
	soon(m, T_RECONCILE, now, MN_SOON_RECONCILE_US);
	soon(m, T_ANNOUNCE_SOON, now, 0);
}

static void probe_deadline(struct mesh_node *m, uint64_t now)
{
	if (!m->pr.active)
		return;
	m->pr.active = false;
	report(m, &m->pr.id, m->pr.seq, now);
}

/* The unreachable reports in an announcement by `author`. */
static void take_reports(struct mesh_node *m, const struct peerid *author, const struct announce *a, uint64_t now)
{
	for (unsigned i = 0; i < a->n_down; i++) {
		const struct ann_down *d = &a->down[i];
		const struct pt_entry *e;
		const struct mn_peer *c;
		char by[PEERID_STR_MAX], ids[PEERID_STR_MAX];
		struct peerid id;

		if (peerid_from_bytes(&id, d->id, d->len) < 0 || peerid_eq(&id, author))
			continue;
		id_str(author, by, sizeof(by));
		if (peerid_eq(&id, m->cfg.self)) {
			/* Refute: announce again, with a sequence above the reported one. */
			if (m->seq < d->seq)
				m->seq = d->seq;
			log_info(m->cfg.log, "%s reports us unreachable: announcing", by);
			soon(m, T_ANNOUNCE_SOON, now, 0);
			continue;
		}
		e = pt_find(m->pt, &id);
		if (!e || e->ann.seq > d->seq)
			continue; /* unknown, or refuted already */
		c = peer_find(m, &id);
		if (c && c->last_alive_us && now - c->last_alive_us < m->probe_us) {
			/* We have fresh proof of our own that it is alive; but it
			 * may have died since, and the reporter does not probe it
			 * again: probe it ourselves (now, or in our next period), so
			 * that a node that died right after our proof does not stay
			 * listed here until our round robin or the silence backstop
			 * (hours) reaches it (sim_scale's silent death at N = 100).
			 * Not when we hold a newer announcement than the reporter
			 * did: that is a refutation (a partition healing would have
			 * every receiver probe nodes whose connections are still
			 * coming up). */
			if (!m->pr.active) {
				probe_start(m, e, now);
			} else if (!peerid_eq(&m->pr.id, &id)) {
				m->has_suspect = true;
				m->suspect = id;
			}
			continue;
		}
		id_str(&id, ids, sizeof(ids));
		log_info(m->cfg.log, "peer %s (%s) reported unreachable by %s: removed", e->ann.name, ids, by);
		m->now_us = now;
		pt_remove(m->pt, &id, on_unreachable, m);
		soon(m, T_RECONCILE, now, MN_SOON_RECONCILE_US);
	}
}

/* ---- key rotation: our own key (docs/mesh.md "Key rotation") ---- */

static void rotate_begin(struct mesh_node *m, uint64_t now)
{
	m->rot = ROT_PENDING;
	m->rot_repeated = false;
	m->rot_started_us = now;
	m->rot_count++;
	log_info(m->cfg.log, "WireGuard key rotation: announcing the next key, switching in %llu ms",
		 pt_count(m->pt) ? (unsigned long long)(ROT_LEAD_US / 1000) : 0ull);
	soon(m, T_ANNOUNCE_SOON, now, 0);
	/* alone: nobody to tell; else the next key is repeated at half the lead */
	arm_at(m, T_ROTATE, now + (pt_count(m->pt) ? ROT_LEAD_US / 2 : 0));
}

int mn_rotate(struct mesh_node *m, uint64_t now)
{
	int r;

	if (m->run != MN_RUNNING)
		return W2W_ESTATE;
	if (m->rot != ROT_IDLE)
		return -EALREADY;
	if (!m->ops.rotate_prepare || !m->ops.rotate_commit)
		return -ENOTSUP;
	/* persisted before anything uses it: a crash from here on resumes it */
	r = m->ops.rotate_prepare(m->ud, m->next_pub);
	if (r < 0)
		return r;
	rotate_begin(m, now);
	return 0;
}

void mn_rotate_resume(struct mesh_node *m, const uint8_t next_pub[32], uint64_t now)
{
	if (m->run != MN_RUNNING || m->rot != ROT_IDLE)
		return;
	memcpy(m->next_pub, next_pub, 32);
	log_info(m->cfg.log, "WireGuard key rotation: resuming the one a restart interrupted");
	rotate_begin(m, now);
}

static void rotate_step(struct mesh_node *m, uint64_t now)
{
	int r;

	if (m->rot != ROT_PENDING)
		return;
	if (!m->rot_repeated && pt_count(m->pt)) {
		/* a second copy for a peer that missed the first (a lost message,
		 * a connection that was down for a moment) */
		m->rot_repeated = true;
		publish(m, 0, now);
		arm_at(m, T_ROTATE, m->rot_started_us + ROT_LEAD_US);
		return;
	}
	/* persisted before the device uses it (a crash after this restarts with
	 * the new key, which every peer has pre-configured by now) */
	r = m->ops.rotate_commit(m->ud);
	if (r < 0) {
		emit(m, MN_EV_ERROR, NULL, NULL, NULL, "key rotation: cannot persist the new key (retrying)", r);
		arm_at(m, T_ROTATE, now + ROT_LEAD_US);
		return;
	}
	m->rot = ROT_SWITCHING;
	log_info(m->cfg.log, "WireGuard key rotation: switching the device to the new key");
	/* at once, not through T_RECONCILE: an apply completing before this one
	 * is queued must not count as the switch (mn_on_wg_applied) */
	reconcile(m, now);
}

/* The device that holds the new private key is applied: announce the key. */
static void rotate_applied(struct mesh_node *m, uint64_t now)
{
	struct mn_event ev = {.type = MN_EV_KEY_ROTATED, .wg_pub = m->next_pub};

	memcpy(m->pub, m->next_pub, 32);
	m->rot = ROT_IDLE;
	soon(m, T_ANNOUNCE_SOON, now, 0);
	/* the kick (add_rotation_peers), then back to the configured keepalive */
	m->rot_kick_until = now + ROT_KICK_US;
	soon(m, T_RECONCILE, now, 0);
	if (m->ops.event)
		m->ops.event(m->ud, &ev);
}

static void rotate_scheduled(struct mesh_node *m, uint64_t now)
{
	uint64_t seed = m->rot_count;

	for (size_t i = 0; i < m->cfg.self->len; i++)
		seed = seed * 131 + m->cfg.self->b[i];
	arm_at(m, T_ROTATE_SCHED, now + rot_sched_delay(m->cfg.rotate_us, seed));
	if (m->rot == ROT_IDLE) {
		int r = mn_rotate(m, now);

		if (r < 0)
			emit(m, MN_EV_ERROR, NULL, NULL, NULL, "scheduled key rotation failed", r);
	}
}

const uint8_t *mn_wg_pub(const struct mesh_node *m)
{
	return m->pub;
}

bool mn_rotating(const struct mesh_node *m)
{
	return m->rot != ROT_IDLE;
}

/* ---- inputs ---- */

/* ---- admission (docs/mesh.md "Admission") ---- */

static uint64_t wall_s(struct mesh_node *m)
{
	return m->ops.wall_us(m->ud) / 1000000;
}

static void adm_reject(struct mesh_node *m, const struct peerid *peer)
{
	struct mn_peer *c = peer_find(m, peer);

	if (c) {
		c->admitted = false;
		c->adm_deadline_us = 0;
	}
	if (m->ops.admit)
		m->ops.admit(m->ud, peer, false);
}

static void on_revoked(void *ud, const struct pt_entry *e)
{
	struct mesh_node *m = ud;
	struct mn_peer *c = peer_find(m, &e->id);

	if (c) {
		hs_forget(&c->hs);
		c->up_pending = false;
	}
	emit(m, MN_EV_PEER_DOWN, &e->id, e->ann.name, e->ann.n_claims ? &e->ann.claims[0].addr : NULL,
	     m->pt_why, 0);
}

/* Out of the table and off the device at once, connection closed. */
static void adm_remove(struct mesh_node *m, const struct peerid *peer, const char *why, uint64_t now)
{
	char id[PEERID_STR_MAX];

	id_str(peer, id, sizeof(id));
	log_info(m->cfg.log, "peer %s: %s: removed", id, why);
	m->pt_why = why;
	if (pt_remove(m->pt, peer, on_revoked, m))
		soon(m, T_RECONCILE, now, 0);
	if (!m->grace_over && now - m->started_us < m->cfg.expiry_us) {
		m->grace_over = true;
		soon(m, T_RECONCILE, now, 0);
	}
	adm_reject(m, peer);
}

/* A revocation from an announcement, a file or the control socket. */
static int adm_take(struct mesh_node *m, const uint8_t *p, size_t n, bool persist, uint64_t now)
{
	struct peerid peer;
	struct buf b;
	int r = admit_add(m->adm, p, n, &peer);

	if (r != 1)
		return r;
	m->rev_rot = m->adm->n_rev - 1; /* relay the new one first */
	if (persist && m->ops.save_revocations) {
		buf_init(&b, 1u << 20);
		if (admit_encode(m->adm, &b) == 0)
			m->ops.save_revocations(m->ud, b.data, b.len);
		buf_free(&b);
	}
	if (peerid_eq(&peer, m->cfg.self))
		log_err(m->cfg.log, "this node's admission was revoked: the mesh refuses it");
	else
		adm_remove(m, &peer, "admission revoked", now);
	/* pass it on now: the author's neighbours relay it in theirs (gossip
	 * reaches every node within a second, docs/mesh.md) */
	soon(m, T_ANNOUNCE_SOON, now, 0);
	return 1;
}

static void adm_fill(struct mesh_node *m, struct ann_adm *x)
{
	size_t n;

	if (!x)
		return;
	x->tok_len = (uint16_t)m->tok_len;
	memcpy(x->tok, m->tok, m->tok_len);
	x->n_rev = 0;
	if (!m->adm)
		return; /* open mode with a token: admission-mode peers accept us */
	n = m->adm->n_rev < ANN_MAX_REVOKE ? m->adm->n_rev : ANN_MAX_REVOKE;
	x->n_rev = (uint8_t)n;
	/* a window rotating over what we know: every revocation is relayed
	 * within n_rev / ANN_MAX_REVOKE announcements */
	for (size_t i = 0; i < n; i++) {
		const struct admit_rev *rv = &m->adm->rev[(m->rev_rot + i) % m->adm->n_rev];

		x->rev[i].len = rv->len;
		memcpy(x->rev[i].b, rv->raw, rv->len);
	}
	if (m->adm->n_rev)
		m->rev_rot = (m->rev_rot + n) % m->adm->n_rev;
}

/* True when the announcement may go on to the peer table: its revocations
 * are taken first, then the author's token is checked. */
static bool adm_filter(struct mesh_node *m, const struct peerid *author, const uint8_t *data, size_t len,
		       uint64_t now)
{
	struct ann_adm *x = malloc(sizeof(*x));
	struct mn_peer *c;
	const char *why = NULL;
	uint64_t exp = 0;
	bool ok = false;
	char from[PEERID_STR_MAX];

	if (!x || ann_decode_adm(data, len, x) < 0) {
		why = "malformed admission fields";
		goto out;
	}
	for (size_t i = 0; i < x->n_rev; i++)
		adm_take(m, x->rev[i].b, x->rev[i].len, true, now);
	if (peerid_eq(author, m->cfg.self)) {
		ok = true;
		goto out;
	}
	if (admit_check(m->adm, author, x->tok, x->tok_len, wall_s(m), &exp, &why) < 0)
		goto out;
	ok = true;
	c = peer_get(m, author);
	if (c && c->tok_exp_s != exp) {
		c->tok_exp_s = exp;
		if (exp)
			soon(m, T_ADMIT, now, 0);
	}
out:
	free(x);
	if (!ok) {
		id_str(author, from, sizeof(from));
		log_warn(m->cfg.log, "announcement from %s ignored: %s", from, why);
		/* a member we had (its new announcement lacks a valid token) goes too */
		if (pt_find(m->pt, author))
			adm_remove(m, author, why, now);
		else
			adm_reject(m, author);
	}
	return ok;
}

static void adm_sweep(struct mesh_node *m, uint64_t now)
{
	uint64_t ws = wall_s(m), next = UINT64_MAX;

	if (!m->adm)
		return;
	for (size_t i = 0; i < m->n_peers; i++) {
		struct mn_peer *c = &m->peers[i];
		struct peerid id = c->id;

		if (c->connected && !c->admitted && c->adm_deadline_us) {
			if (c->adm_deadline_us <= now) {
				char s[PEERID_STR_MAX];

				id_str(&id, s, sizeof(s));
				log_warn(m->cfg.log, "peer %s showed no admission token in time: disconnected", s);
				adm_reject(m, &id);
				c = &m->peers[i];
			} else if (c->adm_deadline_us < next) {
				next = c->adm_deadline_us;
			}
		}
		if (c->tok_exp_s) {
			if (c->tok_exp_s <= ws) {
				c->tok_exp_s = 0;
				adm_remove(m, &id, "admission token expired", now);
			} else if (now + (c->tok_exp_s - ws) * 1000000 < next) {
				next = now + (c->tok_exp_s - ws) * 1000000;
			}
		}
	}
	if (next != UINT64_MAX && m->run == MN_RUNNING && next < m->due[T_ADMIT])
		arm_at(m, T_ADMIT, next);
}

bool mn_admission(const struct mesh_node *m)
{
	return m->adm != NULL;
}

int mn_set_token(struct mesh_node *m, const uint8_t *tok, size_t n, uint64_t now)
{
	if (n > sizeof(m->tok))
		return W2W_ELIMIT;
	memcpy(m->tok, tok, n);
	m->tok_len = n;
	soon(m, T_ANNOUNCE_SOON, now, 0);
	return 0;
}

int mn_add_revocation(struct mesh_node *m, const uint8_t *p, size_t n, uint64_t now)
{
	if (!m->adm)
		return W2W_ESTATE;
	return adm_take(m, p, n, true, now);
}

int mn_load_revocations(struct mesh_node *m, const uint8_t *p, size_t n)
{
	return m->adm ? admit_load(m->adm, p, n) : W2W_ESTATE;
}

size_t mn_revocation_count(const struct mesh_node *m)
{
	return m->adm ? m->adm->n_rev : 0;
}

void mn_on_identify(struct mesh_node *m, const struct peerid *peer, const uint8_t *tok, size_t n, uint64_t now)
{
	struct mn_peer *c;
	const char *why = NULL;
	uint64_t exp = 0;
	char s[PEERID_STR_MAX];

	if (!m->adm || m->run == MN_IDLE)
		return;
	if (admit_check(m->adm, peer, tok, n, wall_s(m), &exp, &why) < 0) {
		id_str(peer, s, sizeof(s));
		log_warn(m->cfg.log, "peer %s refused: %s", s, why);
		adm_reject(m, peer);
		return;
	}
	c = peer_get(m, peer);
	if (c) {
		c->admitted = true;
		c->adm_deadline_us = 0;
		c->tok_exp_s = exp;
		if (exp)
			soon(m, T_ADMIT, now, 0);
	}
	if (m->ops.admit)
		m->ops.admit(m->ud, peer, true);
}

void mn_on_message(struct mesh_node *m, const struct peerid *author, const uint8_t *data, size_t len,
		   uint64_t now)
{
	char from[PEERID_STR_MAX], ip[64];
	const struct ann_ip *addr = NULL;
	struct announce a;
	uint8_t old_key[32], old_next[32];
	bool had = false, had_next = false, rotated = false;
	int r;

	if (m->run == MN_IDLE)
		return;
	id_str(author, from, sizeof(from));
	r = ann_decode(data, len, &a);
	if (r < 0) {
		log_warn(m->cfg.log, "malformed announcement from %s: dropped", from);
		return;
	}
	if (m->adm && !adm_filter(m, author, data, len, now))
		return;
	{
		const struct pt_entry *was = pt_find(m->pt, author);

		if (was) {
			had = true;
			memcpy(old_key, was->ann.wg_pub, 32);
			had_next = was->ann.has_next;
			memcpy(old_next, was->ann.wg_next, 32);
		}
	}
	r = pt_apply(m->pt, m->cfg.self, author, &a, now);
	if (r == PT_UPDATED && had) {
		/* Key rotation (docs/mesh.md "Key rotation"): a key the node no
		 * longer uses or announces leaves our device now, not after the
		 * restart grace; the allowed IPs move to the new one at once. */
		if (memcmp(old_key, a.wg_pub, 32) != 0) {
			rot_retire(&m->retired, old_key, now);
			rotated = true;
			if (had_next && !memcmp(old_next, a.wg_pub, 32)) {
				/* the key it announced: it initiates (endpoint_of) */
				struct mn_peer *c = peer_get(m, author);

				if (c)
					c->rot_since = now;
			}
		}
		if (had_next && memcmp(old_next, a.wg_pub, 32) != 0 &&
		    (!a.has_next || memcmp(old_next, a.wg_next, 32) != 0))
			rot_retire(&m->retired, old_next, now);
		if (a.has_next && (!had_next || memcmp(old_next, a.wg_next, 32) != 0))
			rotated = true;
	}
	if (r == PT_NEW || r == PT_UPDATED) {
		rot_unretire(&m->retired, a.wg_pub);
		if (a.has_next)
			rot_unretire(&m->retired, a.wg_next);
	}
	/* Its announcement is no proof for a report: it may be what the reporter
	 * held when the probe failed (the reported seq decides). */
	if (r == PT_NEW || r == PT_UPDATED || r == PT_REFRESHED) {
		if (a.members > m->members_hint) /* bounded degree (degree.h) */
			m->members_hint = a.members;
		take_reports(m, author, &a, now);
		nat_take_reports(m, author, &a, now);
		relay_take_offers(m, author, &a, now);
		upg_take_probes(m, author, &a, now);
	}
	ip[0] = '\0';
	if (a.n_claims) {
		addr = &a.claims[0].addr;
		ann_ip_str(addr, ip, sizeof(ip));
	}
	switch (r) {
	case PT_NEW:
		log_info(m->cfg.log, "peer %s (%s) at %s", a.name, from, ip[0] ? ip : "-");
		m->new_author_us = now;
		if (!m->joined) {
			m->joined = true;
			emit(m, MN_EV_JOINED, author, a.name, NULL, NULL, 0);
		}
		/* Peer-up once it is routed (mn_on_wg_applied): an application that
		 * sends to it on the event finds the peer, and its packets are
		 * staged until the handshake instead of dropped. */
		{
			struct mn_peer *c = peer_get(m, author);

			if (c)
				c->up_pending = true;
			else
				emit(m, MN_EV_PEER_UP, author, a.name, addr, NULL, 0);
		}
		/* A node we did not know: it does not know us either. Answer with our
		 * own announcement right away, so a joiner learns the whole mesh within
		 * a round trip instead of a refresh interval. Not a node refuting a
		 * report we acted on: it knows us (N answers would flood the mesh for
		 * every wrong report); a restarted one gets ours on its new connection. */
		if (!dropped_lately(m, author, now))
			soon_direct(m, peer_get(m, author), now, MN_SOON_ANNOUNCE_US);
		break;
	case PT_UPDATED:
		log_debug(m->cfg.log, "peer %s (%s) updated", a.name, from);
		break;
	case PT_REFRESHED:
		/* same content; an ack of our key may still release our endpoint */
		if (hs_acks(&a, m->cfg.wg_pub))
			soon(m, T_RECONCILE, now, 0);
		return;
	case PT_LEFT: {
		struct mn_peer *c = peer_find(m, author);

		if (c) {
			hs_forget(&c->hs);
			c->up_pending = false;
		}
		log_info(m->cfg.log, "peer %s (%s) left", a.name, from);
		emit(m, MN_EV_PEER_DOWN, author, a.name, addr, "left", 0);
		break;
	}
	case PT_REJECTED:
		log_warn(m->cfg.log,
			 "announcement from %s rejected (WireGuard key already used by another node, "
			 "or peer table full)",
			 from);
		return;
	default:
		return;
	}
	/* learn where to dial it */
	for (unsigned j = 0; j < a.n_la && r != PT_LEFT; j++) {
		uint8_t bin[MA_MAX_BIN];
		char text[MA_MAX_TEXT];
		int n = la_dialable(bin, sizeof(bin), &a, j, author);

		if (n >= 0 && ma_format(text, sizeof(text), bin, (size_t)n) >= 0 && strlen(text) < NODESTATE_ADDR_MAX)
			learn_peer_addr(m, text, now);
	}
	check_address(m, now);
	/* At once when it acks our key (we may be its initiator now); other
	 * changes, new nodes included, are coalesced: a node reconciled at once
	 * on its first announcement would often be configured before the
	 * announcement that acks us arrives (a pair of waiters instead of an
	 * initiator at first sight: one more announcement round trip). */
	soon(m, T_RECONCILE, now, hs_acks(&a, m->cfg.wg_pub) || rotated ? 0 : MN_SOON_RECONCILE_US);
	if (r == PT_NEW && !mn_connected(m, author) && a.n_la && want_conn(m, author)) {
		/* Connect to it now rather than at the next redial round: a direct
		 * connection carries both announcements at once (flood publish) and
		 * gives the WireGuard endpoint. Both ends of a pair learn each
		 * other at about the same moment (nodes started together hear of
		 * each other from one relay), and when both dialled, one of the
		 * two connections was closed again: 6-8 surplus Noise handshakes
		 * per node in a cold start of 10, on the busy cores the start
		 * waits for. So while we are starting (behind our address gate)
		 * the lower peer ID dials; the higher one redials
		 * MN_DIAL_YIELD_US later unless that connection came. A member
		 * dials a joiner at once: it hears of the joiner long before the
		 * joiner hears of it, and its announcement (the ack the joiner's
		 * gate waits for) then goes straight to the joiner (joins into 10
		 * took 109 ms instead of 85 with the yield there too). A node
		 * behind a NAT may not be dialable: it dials at once. */
		uint8_t bin[MA_MAX_BIN];
		int n = la_dialable(bin, sizeof(bin), &a, 0, author);

		if (n >= 0 && (!m->gated || m->nat_behind || peerid_cmp(m->cfg.self, author) < 0))
			dial(m, bin, (size_t)n);
		else if (n >= 0)
			soon(m, T_REDIAL, now, MN_DIAL_YIELD_US);
	}
	if (m->due[T_EXPIRE] == UINT64_MAX)
		expire(m, now);
}

void mn_on_connected(struct mesh_node *m, const struct peerid *peer, const struct ann_ip *remote, uint64_t now)
{
	struct mn_peer *c = peer_get(m, peer);

	if (c) {
		c->connected = true;
		c->last_alive_us = now;
		c->conn_since_us = now;
		if (m->adm && !c->admitted) { /* identify must show its token by then */
			c->adm_deadline_us = now + MN_ADMIT_TIMEOUT_US;
			soon(m, T_ADMIT, now, MN_ADMIT_TIMEOUT_US);
		}
		c->has_ip = remote != NULL;
		if (remote)
			c->ip = *remote;
	}
	/* Room for newcomers (bounded degree): above DEG_CONN_HIGH, trim now
	 * rather than at the next redial round (from the loop: the host is
	 * inside its connection handler). */
	if (m->ops.hangup && mn_connected_count(m) > DEG_CONN_HIGH && deg_bounded(deg_members(m)))
		soon(m, T_TRIM, now, 0);
	/* The new peer needs our announcement; gossipsub first has to learn that
	 * it subscribes, so publish shortly (and the regular timer repeats it). */
	soon_direct(m, peer_find(m, peer), now, MN_SOON_ANNOUNCE_US);
	soon(m, T_RECONCILE, now, MN_SOON_RECONCILE_US);
}

/* The connected peer's subscription to our topic arrived (the daemon's host
 * reports it): gossipsub now sends it what we publish, so the announcement a
 * new connection owes goes out now (MN_SOON_SUB_US coalesces a burst of
 * them) instead of MN_SOON_ANNOUNCE_US after the connection, the guess that
 * stays for hosts that do not report subscriptions. A newcomer's address
 * gate waits for its bootstrap node's announcement (gate_open), so this is
 * on the path of every cold start. (Tried before and dropped because
 * tests/stress wg-delete then failed: the cause was a refresh that found the
 * interface gone and retried nothing, mn_on_wg_lost since.) */
void mn_on_subscribed(struct mesh_node *m, const struct peerid *peer, uint64_t now)
{
	struct mn_peer *c = peer_find(m, peer);

	if (!c || !c->connected)
		return;
	if (!c->subscribed && now - c->conn_since_us < MN_SOON_ANNOUNCE_US)
		soon_direct(m, c, now, MN_SOON_SUB_US);
	c->subscribed = true;
}

void mn_on_disconnected(struct mesh_node *m, const struct peerid *peer)
{
	struct mn_peer *c = peer_find(m, peer);

	if (c) {
		c->connected = false;
		c->subscribed = false;
		c->admitted = false;
		c->adm_deadline_us = 0;
	}
	/* A probe whose connection failed gets one fresh dial as its retry. */
	if (m->run == MN_RUNNING && m->pr.active && !m->pr.redialed && peerid_eq(&m->pr.id, peer))
		probe_redial(m);
}

void mn_on_wg_failed(struct mesh_node *m, uint64_t now)
{
	/* The device may hold part of the update (wgbackend.h: a split set fails
	 * as a whole): reconcile again after a backoff, 1 s doubling to 30 s. The
	 * engine below re-reads the device and sends only what is still missing.
	 * Without this a failed apply waited for an unrelated input. */
	if (m->wg_retry_us && now < m->wg_retry_at) {
		/* A reconcile some other input brought forward (a kick's
		 * re-check, an announcement, the address gate) failed before the
		 * retry was due: keep the retry where it was. Doubling on every
		 * failure pushed it to the 30 s cap within seconds, and a deleted
		 * interface stayed down past a minute (tests/stress wg-delete). */
		soon(m, T_RECONCILE, now, m->wg_retry_at - now);
		return;
	}
	m->wg_retry_us = m->wg_retry_us ? m->wg_retry_us * 2 : MN_WG_RETRY_FIRST_US;
	if (m->wg_retry_us > MN_WG_RETRY_MAX_US)
		m->wg_retry_us = MN_WG_RETRY_MAX_US;
	m->wg_retry_at = now + m->wg_retry_us;
	soon(m, T_RECONCILE, now, m->wg_retry_us);
}

void mn_on_wg_lost(struct mesh_node *m, uint64_t now)
{
	/* The interface is gone (deleted from outside, its wireguard-go killed):
	 * the reconcile's apply re-creates it and re-adds every peer. Only reads
	 * had failed so far (the periodic refresh), and they retry nothing:
	 * without this the node waited for an unrelated input (a peer's
	 * announcement) and stayed down for minutes (tests/stress wg-delete).
	 * A retry already pending after a failed apply keeps its backoff. */
	if (m->run == MN_IDLE || (m->wg_retry_us && now < m->wg_retry_at))
		return;
	soon(m, T_RECONCILE, now, 0);
}

void mn_on_listening(struct mesh_node *m, uint16_t port, uint64_t now)
{
	if (!port || port == m->cfg.listen_tcp)
		return;
	m->cfg.listen_tcp = port;
	soon(m, T_ANNOUNCE_SOON, now, MN_SOON_ANNOUNCE_US);
}

void mn_on_observed(struct mesh_node *m, const struct ann_ip *ip, uint64_t now)
{
	if (ann_ip_unspecified(ip))
		return;
	for (size_t i = 0; i < m->n_observed; i++)
		if (ann_ip_eq(&m->observed[i], ip))
			return;
	if (m->n_observed == MN_MAX_OBSERVED)
		memmove(&m->observed[0], &m->observed[1], (MN_MAX_OBSERVED - 1) * sizeof(m->observed[0]));
	else
		m->n_observed++;
	m->observed[m->n_observed - 1] = *ip;
	soon(m, T_ANNOUNCE_SOON, now, MN_SOON_ANNOUNCE_US);
	nat_update_behind(m, now);
}

void mn_tick(struct mesh_node *m, uint64_t now)
{
	/* Earliest first; each fires at most once per tick (a handler that
	 * re-arms for `now` waits for the next tick), so the loop is bounded. */
	bool fired[T_COUNT] = {false};

	for (int round = 0; round < T_COUNT; round++) {
		int t = -1;

		for (int i = 0; i < T_COUNT; i++)
			if (!fired[i] && m->due[i] <= now && (t < 0 || m->due[i] < m->due[t]))
				t = i;
		if (t < 0)
			break;
		fired[t] = true;
		m->due[t] = UINT64_MAX;
		switch ((enum mn_timer)t) {
		case T_ASSIGNED:
			if (m->has_claim)
				emit(m, MN_EV_ADDRESS, NULL, m->name, &m->claim.addr, NULL, 0);
			break;
		case T_GRACE:
		case T_RECONCILE:
			reconcile(m, now);
			break;
		case T_ANNOUNCE:
			on_announce(m, now);
			break;
		case T_ANNOUNCE_SOON:
			announce_soon(m, now);
			break;
		case T_SAVE:
			mn_save(m);
			break;
		case T_EXPIRE:
			expire(m, now);
			break;
		case T_REDIAL:
			redial(m, now);
			break;
		case T_PROBE:
			probe_step(m, now);
			break;
		case T_PROBE_DEADLINE:
			probe_deadline(m, now);
			break;
		case T_NAT_SCAN:
			nat_scan(m, now);
			break;
		case T_ADMIT:
			adm_sweep(m, now);
			break;
		case T_ROTATE:
			rotate_step(m, now);
			break;
		case T_ROTATE_SCHED:
			rotate_scheduled(m, now);
			break;
		case T_TRIM:
			deg_trim(m, now);
			break;
		case T_COUNT:
			break;
		}
	}
}

/* ---- life cycle ---- */

int mn_new(struct mesh_node **ret, const struct mn_config *cfg, const struct mn_ops *ops, void *ud)
{
	struct mesh_node *m;

	if (!cfg->self || !cfg->wg_pub || !cfg->wg_priv || !ops->publish || !ops->apply || !ops->wall_us)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pt = pt_new(PT_MAX_DEFAULT);
	if (!m->pt) {
		free(m);
		return -ENOMEM;
	}
	pt_set_tombstone_ttl(m->pt, MN_SEEN_TTL_US + cfg->expiry_us);
	m->cfg = *cfg;
	snprintf(m->name, sizeof(m->name), "%.64s", cfg->name ? cfg->name : "");
	snprintf(m->ifname, sizeof(m->ifname), "%s", cfg->ifname ? cfg->ifname : "");
	m->cfg.name = m->name;
	m->cfg.ifname = m->ifname;
	m->ops = *ops;
	m->ud = ud;
	memcpy(m->pub, cfg->wg_pub, 32);
	m->cfg.wg_pub = m->pub;
	/* Liveness timing from PeerExpiry (docs/mesh.md "Liveness"). */
	m->probe_us = cfg->expiry_us / MN_PROBE_DIV;
	if (m->probe_us < MN_PROBE_MIN_US)
		m->probe_us = MN_PROBE_MIN_US;
	m->probe_timeout_us = cfg->expiry_us / 4 < MN_PROBE_TIMEOUT_US ? cfg->expiry_us / 4 : MN_PROBE_TIMEOUT_US;
	if (m->probe_timeout_us < MN_PROBE_MIN_US)
		m->probe_timeout_us = MN_PROBE_MIN_US;
	{
		uint64_t h = 1469598103934665603ull; /* FNV-1a of our ID: our slot in the period */

		for (size_t i = 0; i < cfg->self->len; i++)
			h = (h ^ cfg->self->b[i]) * 1099511628211ull;
		m->probe_phase_us = h % m->probe_us;
		m->self_hash = h;
	}
	nodestate_init(&m->st);
	disarm_all(m);
	if (cfg->n_adm_keys) {
		m->adm = calloc(1, sizeof(*m->adm));
		if (!m->adm || admit_init(m->adm, cfg->adm_keys, cfg->n_adm_keys) < 0) {
			free(m->adm);
			m->adm = NULL;
			mn_free(m);
			return -ENOMEM;
		}
	}
	*ret = m;
	return 0;
}

void mn_free(struct mesh_node *m)
{
	if (!m)
		return;
	while (m->n_relays)
		relay_close_at(m, 0);
	pt_free(m->pt);
	nodestate_free(&m->st);
	if (m->adm)
		admit_fini(m->adm);
	free(m->adm);
	free(m->peers);
	free(m->pidx);
	secure_free(m->psks);
	free(m);
}

int mn_set_psks(struct mesh_node *m, const uint8_t *const *keys, size_t n, uint64_t now)
{
	uint8_t *k = NULL;

	if (n > PAIRPSK_MAX_KEYS || (n && !keys))
		return -EINVAL;
	if (n) {
		k = secure_alloc(32 * n);
		if (!k)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(k + 32 * i, keys[i], 32);
		pairpsk_kid(m->kids[i], keys[i]);
	}
	secure_free(m->psks);
	m->psks = k;
	m->n_psks = n;
	/* Peers learn our key IDs from the next announcement; our side of every
	 * pair follows at the next reconcile (docs/mesh.md "Per-pair preshared keys"). */
	soon(m, T_ANNOUNCE_SOON, now, 0);
	soon(m, T_RECONCILE, now, 0);
	return 0;
}

struct nodestate *mn_state(struct mesh_node *m)
{
	return &m->st;
}

void mn_start(struct mesh_node *m, uint64_t now)
{
	/* Our address: pinned, else the persisted claim (with its original time),
	 * else our first candidate; the mesh's claims may move it later. */
	m->gated = false;
	if (m->cfg.has_static) {
		m->claim = m->cfg.static_claim;
		m->has_claim = true;
	} else if (m->st.has_claim && ipam_usable(&m->cfg.range, &m->st.claim.addr)) {
		m->claim = m->st.claim;
		m->has_claim = true;
	} else {
		bool changed;

		/* a new claim, and a mesh to join: the address gate (gate_open) */
		m->gated = m->st.n_peers > 0;

		m->has_claim = ipam_pick(&m->cfg.range, m->cfg.self, NULL, NULL, 0, m->ops.wall_us(m->ud) / 1000,
					 &m->claim, &changed) == 0;
	}
	if (m->seq < m->st.seq_floor)
		m->seq = m->st.seq_floor; /* above every sequence a previous run may have used */
	m->run = MN_RUNNING;
	m->started_us = now;
	m->new_author_us = 0;
	m->flooded_us = 0;
	m->grace_over = false;
	disarm_all(m);
	arm_at(m, T_RECONCILE, now);
	m->announce_step_us = 0;
	arm_at(m, T_ANNOUNCE,
	       now + (MN_WARMUP_FIRST_US < m->cfg.announce_us ? MN_WARMUP_FIRST_US : m->cfg.announce_us));
	arm_at(m, T_REDIAL, now + MN_REDIAL_START_US);
	arm_at(m, T_GRACE, now + m->cfg.expiry_us + 1000);
	m->pr.active = false;
	m->n_reports = 0;
	arm_at(m, T_PROBE, now + probe_delay(m));
	if (m->ops.wg_peer)
		arm_at(m, T_NAT_SCAN, now + MN_NAT_SCAN_US);
	if (m->has_claim && !m->gated)
		arm_at(m, T_ASSIGNED, now);
	m->rot = ROT_IDLE;
	if (m->cfg.rotate_us)
		arm_at(m, T_ROTATE_SCHED, now + rot_sched_delay(m->cfg.rotate_us, m->cfg.self->b[m->cfg.self->len - 1]));
	/* last: whatever the host reports from inside a dial finds the schedule armed */
	dial_known_all(m);
}

void mn_stop(struct mesh_node *m)
{
	m->run = MN_IDLE;
	disarm_all(m);
	while (m->n_relays)
		relay_close_at(m, 0);
}

int mn_leave(struct mesh_node *m, uint64_t now)
{
	int r = publish(m, ANN_F_LEAVING, now);

	m->run = MN_LEAVING;
	disarm_all(m);
	return r;
}

void mn_release_claim(struct mesh_node *m)
{
	m->has_claim = false;
	m->st.has_claim = false;
}

/* ---- for snapshots ---- */

const struct peertable *mn_table(const struct mesh_node *m)
{
	return m->pt;
}

const struct ann_claim *mn_claim(const struct mesh_node *m)
{
	return m->has_claim ? &m->claim : NULL;
}

const struct ann_ip *mn_observed(const struct mesh_node *m, size_t *n)
{
	*n = m->n_observed;
	return m->observed;
}

bool mn_nat_behind(const struct mesh_node *m)
{
	return m->nat_behind;
}

const struct ann_endpoint *mn_nat_wep(const struct mesh_node *m)
{
	return m->nat.has_wep ? &m->nat.wep : NULL;
}

bool mn_nat_symmetric(const struct mesh_node *m)
{
	return m->nat.symmetric || m->relay_sym;
}

const struct ann_endpoint *mn_punched(const struct mesh_node *m, const struct peerid *peer)
{
	const struct mn_peer *c = peer_find(m, peer);

	return c && c->has_punched ? &c->punched : NULL;
}

const struct peerid *mn_relayed_by(const struct mesh_node *m, const struct peerid *peer)
{
	const struct mn_peer *c = peer_find(m, peer);

	return c && c->relayed && !c->upg.direct ? &c->relay_by : NULL;
}

size_t mn_relay_count(const struct mesh_node *m)
{
	return m->n_relays;
}

uint64_t mn_last_alive(const struct mesh_node *m, const struct peerid *peer)
{
	const struct mn_peer *c = peer_find(m, peer);

	return c ? c->last_alive_us : 0;
}

bool mn_wg_applied_once(const struct mesh_node *m)
{
	return m->wg_applied_once;
}
