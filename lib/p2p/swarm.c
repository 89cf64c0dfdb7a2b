/* SPDX-License-Identifier: MIT */
/* Connections, peers, dial backoff and the gossipsub router (see swarm.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"
#include "buf.h"
#include "conn.h"
#include "err.h"
#include "gossipsub.h"
#include "ident.h"
#include "identify.h"
#include "log.h"
#include "multiaddr.h"
#include "pb.h"
#include "varint.h"
#include "ping.h"
#include "iplimit.h"
#include "pnet.h"
#include "swarm.h"

struct swpeer {
	struct peerid id;
	struct swarm_conn *primary;
	unsigned fails;
	uint64_t next_dial;
	int dialing;
	bool gs_added;
	bool gs_kick;
	bool gs_refresh; /* restart our pubsub session with this peer (settle) */
	struct swarm_conn *gs_in; /* conn of the peer's newest pubsub stream: the one we read */
	bool gs_hello;            /* a new stream of ours for a known peer: repeat our subscriptions */
	bool gs_restart;          /* reset our pubsub stream so that the peer opens a new one */
	uint64_t gs_in_wait;      /* since when a pubsub peer has no stream to us (0 = has one) */
	uint64_t gs_restart_at;   /* earliest next restart */
	unsigned gs_restarts;
	uint8_t psk_try;       /* key index for the next dial (swarm_set_psks) */
	uint64_t psk_hold;     /* kept (peer_gc) until then for psk_try to reach the redial */
	bool psk_logged;       /* the fallback to an older key was logged */
	bool admitted; /* gated swarm: swarm_admit() opened gossipsub to it */
	bool gated_hello; /* gated swarm: our subscriptions went out before that */
	struct swpeer *next;
};

struct swarm_conn {
	struct swarm *sw;
	struct conn *c;
	void *user;
	uint8_t remote[MA_MAX_BIN];
	size_t remote_len;
	bool inbound;
	bool ready;
	bool close_req;
	struct swpeer *dial_peer; /* counted in dial_peer->dialing until ready or gone */
	unsigned cand_gen[PNET_MAX_PSKS]; /* generation of each candidate key given to the conn */
	uint8_t psk_idx;                  /* outbound: index (in sw->psks) of the key dialled with */
	struct swpeer *peer;      /* once authenticated */
	struct swarm_conn *next;
	/* the remote IP, for the per-IP limits (iplimit.h) */
	int ip_family; /* 0: none (not an IP address) */
	uint8_t ip[16];
	bool ip_tracked; /* admitted by iplimit: report ready/closed */
};

struct qmsg {
	char *topic;
	uint8_t *data;
	size_t len;
	struct peerid from;
	uint64_t seqno;
};

struct swarm {
	struct swarm_config cfg;
	/* The private network's keys, newest first: n_psks * 32 bytes of guarded
	 * memory (secure_alloc), or NULL. A generation number names each key so
	 * that a connection knows whether its key is still in the list. */
	uint8_t *psks;
	size_t n_psks;
	unsigned psk_gen[PNET_MAX_PSKS];
	unsigned gen_counter;
	uint8_t anon_psk_try; /* psk_try for dials without a /p2p/ ID */
	bool anon_psk_logged;
	struct identify_info *self;
	struct swarm_conn *conns;
	size_t n_conns;
	struct iplimit *ipl;
	uint64_t blocks_logged; /* iplimit_blocks_total already logged */
	struct swpeer *peers;
	struct gs *gs;
	bool kick;
	struct qmsg msgq[SWARM_MSGQ_MAX];
	size_t n_msgq;
	uint64_t dropped_msgs;
	/* Subscription changes of peers, queued like messages (the router must
	 * not be re-entered); grows as needed: bounded by the router's per-peer
	 * topic cap times the peers, and emptied on every settle. */
	struct qsub {
		struct peerid peer;
		char *topic;
		bool subscribed;
	} *subq;
	size_t n_subq, cap_subq;
	int in_settle;
	uint64_t now; /* time of the current entry point, for callbacks */
	char *subs[SWARM_MAX_SUBS]; /* our topics, for the hello on a replacement stream */
	size_t n_subs;
	bool gated; /* admission mode: no pubsub output before swarm_admit() */
	struct {
		struct peerid id;
		uint64_t until;
	} deny[SWARM_MAX_DENY]; /* refused peers (swarm_deny) */
};

static bool denied(const struct swarm *sw, const struct peerid *id, uint64_t now, uint64_t *until)
{
	for (size_t i = 0; i < SWARM_MAX_DENY; i++)
		if (sw->deny[i].until > now && peerid_eq(&sw->deny[i].id, id)) {
			if (until)
				*until = sw->deny[i].until;
			return true;
		}
	return false;
}

static void settle(struct swarm *sw, uint64_t now);

static struct swpeer *peer_find(const struct swarm *sw, const struct peerid *id)
{
	for (struct swpeer *p = sw->peers; p; p = p->next)
		if (peerid_eq(&p->id, id))
			return p;
	return NULL;
}

static struct swpeer *peer_get(struct swarm *sw, const struct peerid *id)
{
	struct swpeer *p = peer_find(sw, id);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = *id;
	p->next = sw->peers;
	sw->peers = p;
	return p;
}

/* Peers with no connection, no dial and no backoff left are forgotten. */
static void peer_gc(struct swarm *sw, uint64_t now)
{
	for (struct swpeer **pp = &sw->peers; *pp;) {
		struct swpeer *p = *pp;

		if (!p->primary && !p->dialing && p->next_dial <= now && p->psk_hold <= now) {
			bool used = false;

			for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next)
				if (sc->peer == p || sc->dial_peer == p)
					used = true;
			if (!used) {
				*pp = p->next;
				free(p);
				continue;
			}
		}
		pp = &p->next;
	}
}

static void emit(struct swarm *sw, struct swarm_event *ev)
{
	if (sw->cfg.on_event)
		sw->cfg.on_event(sw->cfg.ud, ev);
}

/* ---- gossipsub glue ---- */

static void gs_on_message(void *ud, const struct gs_message *m)
{
	struct swarm *sw = ud;
	struct qmsg *q;

	/* The router must not be re-entered from its callbacks: queue, deliver after. */
	if (sw->n_msgq >= sizeof(sw->msgq) / sizeof(sw->msgq[0])) {
		sw->dropped_msgs++;
		return;
	}
	q = &sw->msgq[sw->n_msgq];
	memset(q, 0, sizeof(*q));
	q->topic = mem_strdup(m->topic, m->topic_len);
	q->data = malloc(m->len ? m->len : 1);
	if (!q->topic || !q->data || peerid_from_bytes(&q->from, m->from, m->from_len) < 0) {
		free(q->topic);
		free(q->data);
		sw->dropped_msgs++;
		return;
	}
	memcpy(q->data, m->data, m->len);
	q->len = m->len;
	q->seqno = m->seqno;
	sw->n_msgq++;
}

static void gs_on_output(void *ud, const uint8_t *peer, size_t len)
{
	struct swarm *sw = ud;
	struct peerid id;
	struct swpeer *p;

	if (peerid_from_bytes(&id, peer, len) < 0)
		return;
	p = peer_find(sw, &id);
	if (p) {
		p->gs_kick = true;
		sw->kick = true;
	}
}

static enum gs_verdict gs_validate(void *ud, const struct gs_message *m)
{
	struct swarm *sw = ud;

	return sw->cfg.validate ? sw->cfg.validate(sw->cfg.validate_ud, m) : GS_ACCEPT;
}

void swarm_set_validator(struct swarm *sw, enum gs_verdict (*fn)(void *ud, const struct gs_message *m), void *ud)
{
	sw->cfg.validate = fn;
	sw->cfg.validate_ud = ud;
}

static void gs_on_subscription(void *ud, const uint8_t *peer, size_t len, const char *topic, size_t topic_len,
			       bool subscribed)
{
	struct swarm *sw = ud;
	struct qsub *q;

	if (sw->n_subq == sw->cap_subq) {
		size_t cap = sw->cap_subq ? sw->cap_subq * 2 : 16;
		struct qsub *n = realloc(sw->subq, cap * sizeof(*n));

		if (!n)
			return; /* out of memory: the event is lost, the subscription is not */
		sw->subq = n;
		sw->cap_subq = cap;
	}
	q = &sw->subq[sw->n_subq];
	if (peerid_from_bytes(&q->peer, peer, len) < 0)
		return;
	q->topic = mem_strdup(topic, topic_len); /* a slice of the RPC */
	if (!q->topic)
		return;
	q->subscribed = subscribed;
	sw->n_subq++;
}

static void gs_on_drop(void *ud, const uint8_t *peer, size_t len, enum gs_drop_reason why)
{
	struct swarm *sw = ud;
	struct peerid id;
	struct swpeer *p;

	if (peerid_from_bytes(&id, peer, len) < 0)
		return;
	p = peer_find(sw, &id);
	if (!p)
		return;
	p->gs_added = false;
	log_info(sw->cfg.log, "gossipsub dropped a peer (%s): closing its connection",
		 why == GS_DROP_PROTOCOL ? "protocol violation" : "abuse");
	if (p->primary)
		p->primary->close_req = true;
}

#define GS_IN_GRACE_US (2500ull * 1000) /* how long a pubsub peer may go without a stream to us */

/* When the pubsub watchdog of p fires (UINT64_MAX: not armed). */
static uint64_t gs_watchdog_due(const struct swpeer *p)
{
	uint64_t t;

	if (!p->gs_added || p->gs_in || !p->gs_in_wait || !p->primary)
		return UINT64_MAX;
	t = p->gs_in_wait + GS_IN_GRACE_US;
	return t > p->gs_restart_at ? t : p->gs_restart_at;
}

static void gs_ensure(struct swarm *sw, struct swpeer *p, int proto, uint64_t now)
{
	if (!sw->gs || p->gs_added)
		return;
	if (gs_add_peer(sw->gs, p->id.b, p->id.len, proto == GS_MESHSUB_10 ? GS_MESHSUB_10 : GS_MESHSUB_11,
			now) == 0) {
		p->gs_added = true;
		p->gs_restarts = 0;
		if (!p->gs_in && !p->gs_in_wait)
			p->gs_in_wait = now ? now : 1;
	}
}

/*
 * The first RPC on a new pubsub stream carries all our subscriptions (go's
 * hello packet, js's sendSubscriptions). The router sends it when a peer is
 * added; when only our stream was replaced (the connection changed) the peer
 * may have forgotten them, so we repeat them: RPC{ repeated SubOpts{subscribe=1, topicid=2} }.
 */
static void put_hello(const struct swarm *sw, struct buf *out)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < sw->n_subs; i++) {
		struct buf so;

		buf_init(&so, GS_TOPIC_MAX + 16);
		if (pb_put_varint(&so, 1, 1) == 0 && pb_put_string(&so, 2, sw->subs[i]) == 0)
			pb_put_bytes(&b, 1, so.data, so.len);
		buf_free(&so);
	}
	if (b.len && uvarint_put(out, b.len) == 0)
		buf_append(out, b.data, b.len);
	buf_free(&b);
}

static void conn_gs_pull(void *ud, struct conn *c, struct buf *out)
{
	struct swarm_conn *sc = ud;
	struct swpeer *p = sc->peer;

	(void)c;
	if (!sc->sw->gs || !p || !p->gs_added || p->primary != sc)
		return;
	if (sc->sw->gated && !p->admitted) {
		/* Before its token is checked a peer gets our subscriptions only (a
		 * constant topic name): it then knows at once that we take the topic,
		 * so what it publishes meanwhile is queued for us instead of lost
		 * (without this, joins in admission mode took ~100 ms longer). */
		if (!p->gated_hello) {
			p->gated_hello = true;
			put_hello(sc->sw, out);
		}
		return;
	}
	if (p->gs_hello) {
		p->gs_hello = false;
		put_hello(sc->sw, out);
	}
	gs_take_output(sc->sw->gs, p->id.b, p->id.len, out);
}

/* ---- connection events ---- */

/* The connection dialled by the lower peer ID survives (both ends agree). */
static bool keep_first(const struct swarm *sw, const struct swarm_conn *a, const struct swarm_conn *b)
{
	const struct peerid *us = ident_peerid(sw->cfg.identity);
	const struct peerid *da = a->inbound ? a->peer ? &a->peer->id : us : us;
	const struct peerid *db = b->inbound ? b->peer ? &b->peer->id : us : us;
	int cmp;

	if (da == db || peerid_eq(da, db))
		return true; /* same dialer twice: keep the older */
	cmp = memcmp(da->b, db->b, da->len < db->len ? da->len : db->len);
	if (!cmp)
		cmp = (int)da->len - (int)db->len;
	return cmp < 0;
}

static void on_ready(struct swarm *sw, struct swarm_conn *sc, uint64_t now)
{
	const struct peerid *id = conn_peer(sc->c);
	struct swarm_event ev = { .type = SWARM_EV_CONNECTED, .conn = sc };
	struct swpeer *p = peer_get(sw, id);

	if (!p || denied(sw, id, now, NULL)) {
		/* A denied peer (admission mode) costs its handshake and nothing
		 * more: no identify, no CONNECTED, no table. */
		if (p)
			log_debug(sw->cfg.log, "connection from a denied peer: closed");
		conn_close(sc->c, now);
		return;
	}
	sc->peer = p;
	sc->ready = true;
	if (sc->ip_tracked)
		iplimit_ready(sw->ipl, sc->ip_family, sc->ip);
	else if (sc->ip_family && !sc->inbound)
		iplimit_mark_known(sw->ipl, sc->ip_family, sc->ip);
	if (sc->dial_peer) {
		sc->dial_peer->dialing--;
		sc->dial_peer = NULL;
	}
	p->fails = 0;
	p->next_dial = 0;
	ev.peer = &p->id;
	/* The first connection to a peer is its primary before CONNECTED is
	 * reported, so the callback may already ping it or hang up (p2p.h). */
	if (!p->primary)
		p->primary = sc;
	emit(sw, &ev);
	if (p->primary && p->primary != sc) {
		struct swarm_conn *old = p->primary;

		if (keep_first(sw, old, sc)) {
			log_debug(sw->cfg.log, "second connection to the same peer: closing the new one");
			conn_close(sc->c, now);
			return;
		}
		/* The router's state for the peer (subscriptions, mesh) stays: only
		 * our pubsub stream moves to the kept connection (opened once its
		 * identify shows meshsub, or when the peer opens its stream there). */
		log_debug(sw->cfg.log, "second connection to the same peer: closing the old one");
		p->primary = NULL;
		conn_close(old->c, now);
	}
	p->primary = sc;
}

static void on_conn_event(void *ud, struct conn *c, const struct conn_event *ce)
{
	struct swarm_conn *sc = ud;
	struct swarm *sw = sc->sw;
	struct swarm_event ev = { .conn = sc };
	uint64_t now = sw->now;

	(void)c;
	switch (ce->type) {
	case CONN_EV_READY:
		on_ready(sw, sc, now);
		return;
	case CONN_EV_IDENTIFY:
		ev.type = SWARM_EV_IDENTIFY;
		ev.peer = sc->peer ? &sc->peer->id : NULL;
		ev.info = ce->info;
		emit(sw, &ev);
		if (sw->gs && sc->peer && sc->peer->primary == sc &&
		    (identify_has_protocol(ce->info, GS_PROTOCOL_V11) ||
		     identify_has_protocol(ce->info, GS_PROTOCOL_V10)))
			conn_gs_open(sc->c, now);
		return;
	case CONN_EV_PING:
		ev.type = SWARM_EV_PING;
		ev.peer = sc->peer ? &sc->peer->id : NULL;
		ev.rtt_us = ce->rtt_us;
		emit(sw, &ev);
		return;
	case CONN_EV_PING_FAILED:
		ev.type = SWARM_EV_PING_FAILED;
		ev.peer = sc->peer ? &sc->peer->id : NULL;
		ev.err = ce->err;
		emit(sw, &ev);
		return;
	case CONN_EV_GS_OUT:
		if (sw->gs && sc->peer && sc->peer->primary == sc) {
			if (sc->peer->gs_added)
				sc->peer->gs_hello = true; /* a replacement stream */
			gs_ensure(sw, sc->peer, ce->gs_proto, now);
			sc->peer->gs_kick = sw->kick = true;
		}
		return;
	case CONN_EV_GS_IN_OPEN:
		/* The peer's newest pubsub stream is the one we read (go and js
		 * replace older ones the same way), on whichever connection. */
		if (sw->gs && sc->peer) {
			sc->peer->gs_in = sc;
			sc->peer->gs_in_wait = 0;
			sc->peer->gs_restarts = 0;
			gs_ensure(sw, sc->peer, ce->gs_proto, now);
			if (sc->peer->primary)
				conn_gs_open(sc->peer->primary->c, now);
		}
		return;
	case CONN_EV_GS_IN:
		if (sw->gs && sc->peer && sc->peer->gs_added && sc->peer->gs_in == sc &&
		    gs_on_bytes(sw->gs, sc->peer->id.b, sc->peer->id.len, ce->data, ce->len, now) ==
			    GS_STREAM_RESET) {
			/* Only that stream goes (the router logged why); the watchdog
			 * restarts ours if the peer opens no new one (js waits for that). */
			conn_gs_in_reset(sc->c);
			sc->peer->gs_in = NULL;
			sc->peer->gs_in_wait = now ? now : 1;
		}
		return;
	case CONN_EV_GS_CLOSED:
		/* The peer ended the pubsub stream WE opened while the connection
		 * stays: it dropped us (js-libp2p-gossipsub removes a peer, closing
		 * both its streams, when a pubsub stream on another connection to us
		 * failed, e.g. the surplus one of a simultaneous dial). Start over
		 * with a fresh stream: js re-adds us when it arrives. Only our own
		 * current stream counts, so two of our nodes never ping-pong. */
		if (!ce->peer_stream && ce->current && sw->gs && sc->peer && sc->peer->primary == sc &&
		    conn_state(sc->c) == CONN_S_READY)
			sc->peer->gs_refresh = sw->kick = true;
		return;
	}
}

/* ---- public ---- */

int swarm_new(struct swarm **ret, const struct swarm_config *cfg)
{
	struct swarm *sw;
	static const char *const protos[] = { IDENTIFY_PROTO_ID, PING_PROTO_ID };
	char agent[IDENTIFY_MAX_STR];
	int r = -ENOMEM;

	if (!cfg->identity)
		return W2W_EPARSE;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	sw->cfg = *cfg;
	if (cfg->psk) {
		sw->psks = secure_alloc(32);
		if (!sw->psks) {
			free(sw);
			return -ENOMEM;
		}
		memcpy(sw->psks, cfg->psk, 32);
		sw->n_psks = 1;
		sw->psk_gen[0] = ++sw->gen_counter;
	}
	sw->cfg.psk = NULL;
	if (!sw->cfg.max_conns)
		sw->cfg.max_conns = SWARM_DEFAULT_MAX_CONNS;
	if (!sw->cfg.backoff_us)
		sw->cfg.backoff_us = SWARM_DEFAULT_BACKOFF_US;
	if (!sw->cfg.backoff_max_us)
		sw->cfg.backoff_max_us = SWARM_DEFAULT_BACKOFF_MAX_US;
	sw->self = malloc(sizeof(*sw->self));
	sw->ipl = iplimit_new();
	if (!sw->self || !sw->ipl)
		goto fail;
	identify_info_init(sw->self);
	identify_set_public_key(sw->self, ident_pubkey_pb(cfg->identity), IDENT_PUBPB_LEN);
	for (size_t i = 0; i < 2; i++)
		identify_add_protocol(sw->self, protos[i]);
	if (cfg->gossipsub) {
		struct gs_config gc;

		/* identify lists /meshsub/1.x: js and go open pubsub streams only then. */
		identify_add_protocol(sw->self, GS_PROTOCOL_V11);
		identify_add_protocol(sw->self, GS_PROTOCOL_V10);
		if (cfg->gs)
			gc = *cfg->gs;
		else
			gs_config_default(&gc);
		gc.cb.ud = sw;
		gc.cb.on_message = gs_on_message;
		gc.cb.on_output = gs_on_output;
		gc.cb.on_drop = gs_on_drop;
		gc.cb.validate = gs_validate;
		gc.cb.on_subscription = gs_on_subscription;
		gc.cb.on_px = NULL;
		sw->gs = gs_new(&gc, cfg->identity, cfg->rng, cfg->log);
		if (!sw->gs)
			goto fail;
	}
	if (cfg->echo)
		identify_add_protocol(sw->self, CONN_ECHO_PROTO_ID);
	snprintf(agent, sizeof(agent), "%s", cfg->agent_version ? cfg->agent_version : "w2wesher");
	/* identify/README.md: js sends "ipfs/0.1.0"; nobody checks it. */
	identify_set_versions(sw->self, "ipfs/0.1.0", agent);
	sw->cfg.agent_version = NULL;
	*ret = sw;
	return 0;
fail:
	swarm_free(sw);
	return r;
}

void swarm_free(struct swarm *sw)
{
	if (!sw)
		return;
	while (sw->conns) {
		struct swarm_conn *sc = sw->conns;

		sw->conns = sc->next;
		conn_free(sc->c);
		free(sc);
	}
	while (sw->peers) {
		struct swpeer *p = sw->peers;

		sw->peers = p->next;
		free(p);
	}
	iplimit_free(sw->ipl);
	for (size_t i = 0; i < sw->n_msgq; i++) {
		free(sw->msgq[i].topic);
		free(sw->msgq[i].data);
	}
	for (size_t i = 0; i < sw->n_subs; i++)
		free(sw->subs[i]);
	for (size_t i = 0; i < sw->n_subq; i++)
		free(sw->subq[i].topic);
	free(sw->subq);
	gs_free(sw->gs);
	free(sw->self);
	secure_free(sw->psks);
	free(sw);
}

int swarm_add_listen_addr(struct swarm *sw, const uint8_t *ma, size_t n)
{
	for (size_t i = 0; i < sw->self->n_listen_addrs; i++)
		if (sw->self->listen_addrs[i].len == n && !memcmp(sw->self->listen_addrs[i].b, ma, n))
			return 0;
	return identify_add_listen_addr(sw->self, ma, n);
}

/* The refusal log lines take the address as numbers, not a formatted string:
 * under a flood the line is rate-limited (log.h) and the address is then
 * never formatted at all. IPv6: the /64 the limits count. A block has its
 * own line (its own call site, so its own rate-limit budget). */
static void log_refusal(const struct swarm *sw, bool blocked, int family, const uint8_t *ip, const char *why)
{
	if (blocked && family == 4)
		log_warn(sw->cfg.log, "blocking %u.%u.%u.%u: %s", ip[0], ip[1], ip[2], ip[3], why);
	else if (blocked)
		log_warn(sw->cfg.log, "blocking %x:%x:%x:%x::/64: %s", ip[0] << 8 | ip[1], ip[2] << 8 | ip[3],
			 ip[4] << 8 | ip[5], ip[6] << 8 | ip[7], why);
	else if (family == 4)
		log_info(sw->cfg.log, "refusing %u.%u.%u.%u: %s", ip[0], ip[1], ip[2], ip[3], why);
	else
		log_info(sw->cfg.log, "refusing %x:%x:%x:%x::/64: %s", ip[0] << 8 | ip[1], ip[2] << 8 | ip[3],
			 ip[4] << 8 | ip[5], ip[6] << 8 | ip[7], why);
}

/* Handshake slots are apart from established connections (iplimit.h):
 * max_conns bounds the authenticated ones (and our dials); a known IP always
 * gets in, within its per-IP bound. */
static bool over_max_conns(const struct swarm *sw, bool initiator, int family, const uint8_t *ip)
{
	return sw->n_conns - iplimit_handshakes(sw->ipl) >= sw->cfg.max_conns &&
	       !(!initiator && family && iplimit_known(sw->ipl, family, ip));
}

int swarm_admit_inbound(struct swarm *sw, int family, const uint8_t *ip, uint64_t now)
{
	const char *why;
	bool tracked = false;

	sw->now = now;
	if (family != 4 && family != 6)
		return W2W_EPARSE;
	if (over_max_conns(sw, false, family, ip)) {
		log_warn(sw->cfg.log, "connection limit (%u) reached: refusing a connection", sw->cfg.max_conns);
		return W2W_ELIMIT;
	}
	if (iplimit_admit(sw->ipl, family, ip, now, &tracked, &why) < 0) {
		/* a block is worth its own line (its own rate-limit budget too) */
		if (iplimit_blocks_total(sw->ipl) != sw->blocks_logged) {
			char m[96];

			sw->blocks_logged = iplimit_blocks_total(sw->ipl);
			snprintf(m, sizeof(m), "connection flood (%d refused within 1 s): blocked for %d s",
				 IPL_BLOCK_AFTER, IPL_BLOCK_S);
			log_refusal(sw, true, family, ip, m);
		} else {
			log_refusal(sw, false, family, ip, why);
		}
		return W2W_ELIMIT;
	}
	return tracked ? 1 : 0;
}

void swarm_admit_cancel(struct swarm *sw, int family, const uint8_t *ip, int admitted)
{
	if (admitted == 1)
		iplimit_closed(sw->ipl, family, ip, false);
}

static int conn_add(struct swarm *sw, bool initiator, const uint8_t *remote_ma, size_t remote_len,
		    const struct peerid *expected, const char *name, uint64_t now, int admitted, int adm_family,
		    const uint8_t *adm_ip, struct swarm_conn **ret)
{
	struct swarm_conn *sc;
	struct conn_config cc = { 0 };
	struct ma_addr ma;
	int family = 0;
	bool tracked = false;
	const uint8_t *cands[PNET_MAX_PSKS];
	int r;

	sw->now = now;
	if (remote_len > MA_MAX_BIN || ma_decompose(remote_ma, remote_len, &ma) < 0)
		memset(&ma, 0, sizeof(ma));
	else if (ma.kind == MA_KIND_IP4 || ma.kind == MA_KIND_IP6)
		family = ma.kind == MA_KIND_IP4 ? 4 : 6;
	if (admitted >= 0) {
		/* swarm_admit_inbound said yes already (and counted it): the
		 * caller hands that slot over, even when this fails (the host
		 * forgets the socket then). The limits count the IP admitted. */
		tracked = admitted == 1;
		if (initiator || remote_len > MA_MAX_BIN || family != adm_family ||
		    memcmp(ma.ip, adm_ip, family == 4 ? 4 : 16)) {
			if (tracked)
				iplimit_closed(sw->ipl, adm_family, adm_ip, false);
			return remote_len > MA_MAX_BIN ? W2W_EPARSE : -EINVAL;
		}
	} else if (!initiator && family) {
		r = swarm_admit_inbound(sw, family, ma.ip, now);
		if (r < 0)
			return r;
		tracked = r == 1;
	} else if (remote_len > MA_MAX_BIN) {
		return W2W_EPARSE;
	} else if (over_max_conns(sw, initiator, family, ma.ip)) {
		log_warn(sw->cfg.log, "connection limit (%u) reached: refusing %s", sw->cfg.max_conns,
			 name ? name : "?");
		return W2W_ELIMIT;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		if (tracked)
			iplimit_closed(sw->ipl, family, ma.ip, false);
		return -ENOMEM;
	}
	sc->ip_family = family;
	if (family)
		memcpy(sc->ip, ma.ip, 16);
	sc->ip_tracked = tracked;
	sc->sw = sw;
	memcpy(sc->remote, remote_ma, remote_len);
	sc->remote_len = remote_len;
	sc->inbound = !initiator;
	cc.initiator = initiator;
	if (sw->n_psks && initiator) {
		/* Dial with the newest key unless this peer's last dial with it failed. */
		const struct swpeer *tp = expected && expected->len ? peer_find(sw, expected) : NULL;
		size_t i = tp ? tp->psk_try : sw->anon_psk_try;

		if (i >= sw->n_psks)
			i = 0;
		sc->psk_idx = (uint8_t)i;
		sc->cand_gen[0] = sw->psk_gen[i];
		cc.psk = sw->psks + 32 * i;
	} else if (sw->n_psks) {
		for (size_t i = 0; i < sw->n_psks; i++) {
			cands[i] = sw->psks + 32 * i;
			sc->cand_gen[i] = sw->psk_gen[i];
		}
		cc.psk = sw->psks;
		cc.psks = cands;
		cc.n_psks = sw->n_psks;
	}
	cc.identity = sw->cfg.identity;
	cc.expected_peer = expected;
	cc.rng = sw->cfg.rng;
	cc.log = sw->cfg.log;
	cc.handshake_timeout_us = sw->cfg.handshake_timeout_us;
	cc.self_info = sw->self;
	cc.remote_ma = sc->remote;
	cc.remote_ma_len = sc->remote_len;
	cc.gossipsub = sw->gs != NULL;
	cc.echo = sw->cfg.echo;
	cc.max_streams = sw->cfg.max_streams;
	cc.keepalive_us = sw->cfg.keepalive_us;
	cc.name = name;
	cc.cb.ud = sc;
	cc.cb.on_event = on_conn_event;
	cc.cb.gs_pull = conn_gs_pull;
	r = conn_new(&sc->c, &cc, now);
	if (r < 0) {
		if (tracked)
			iplimit_closed(sw->ipl, family, ma.ip, false);
		free(sc);
		return r;
	}
	if (initiator && expected && expected->len) {
		sc->dial_peer = peer_get(sw, expected);
		if (sc->dial_peer && !sc->dial_peer->dialing)
			sc->dial_peer->dialing++; /* a dial not announced by swarm_dial_begin */
		else if (!sc->dial_peer)
			sc->dial_peer = NULL;
	}
	sc->next = sw->conns;
	sw->conns = sc;
	sw->n_conns++;
	*ret = sc;
	return 0;
}

uint32_t swarm_blocklist_gen(const struct swarm *sw)
{
	return iplimit_block_gen(sw->ipl);
}

size_t swarm_blocklist(const struct swarm *sw, int family, uint8_t (*out)[16], size_t cap)
{
	return iplimit_blocklist(sw->ipl, family, out, cap);
}

int swarm_conn_add(struct swarm *sw, bool initiator, const uint8_t *remote_ma, size_t remote_len,
		   const struct peerid *expected, const char *name, uint64_t now, struct swarm_conn **ret)
{
	return conn_add(sw, initiator, remote_ma, remote_len, expected, name, now, -1, 0, NULL, ret);
}

int swarm_conn_add_admitted(struct swarm *sw, int family, const uint8_t *ip, int admitted, const uint8_t *remote_ma,
			    size_t remote_len, const char *name, uint64_t now, struct swarm_conn **ret)
{
	if ((family != 4 && family != 6) || (admitted != 0 && admitted != 1))
		return -EINVAL; /* not something swarm_admit_inbound returned: nothing to hand over */
	return conn_add(sw, false, remote_ma, remote_len, NULL, name, now, admitted, family, ip, ret);
}

void swarm_conn_feed(struct swarm *sw, struct swarm_conn *sc, const void *in, size_t n, uint64_t now)
{
	sw->now = now;
	conn_feed(sc->c, in, n, now);
	settle(sw, now);
}

void swarm_conn_eof(struct swarm *sw, struct swarm_conn *sc, int err, uint64_t now)
{
	sw->now = now;
	conn_eof(sc->c, err);
	settle(sw, now);
}

void swarm_conn_output(const struct swarm_conn *sc, const uint8_t **p, size_t *n)
{
	conn_output(sc->c, p, n);
}

void swarm_conn_consume(struct swarm *sw, struct swarm_conn *sc, size_t n, uint64_t now)
{
	sw->now = now;
	conn_consume(sc->c, n, now);
	settle(sw, now);
}

bool swarm_conn_done(const struct swarm_conn *sc)
{
	return conn_done(sc->c);
}

void swarm_conn_remove(struct swarm *sw, struct swarm_conn *sc, uint64_t now)
{
	struct swarm_event ev = { .type = SWARM_EV_DISCONNECTED, .conn = sc };
	struct swpeer *p = sc->peer;

	for (struct swarm_conn **pp = &sw->conns; *pp; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			sw->n_conns--;
			break;
		}
	}
	if (sc->ip_tracked)
		iplimit_closed(sw->ipl, sc->ip_family, sc->ip, sc->ready);
	if (!sc->inbound && !sc->ready && sw->n_psks > 1) {
		/* The key fallback of a dial (swarm_set_psks): next older key, or back to the newest. */
		bool older = swarm_conn_psk_fallback(sc);
		uint8_t next = older ? (uint8_t)(sc->psk_idx + 1) : 0;
		bool *logged = sc->dial_peer ? &sc->dial_peer->psk_logged : &sw->anon_psk_logged;

		if (sc->dial_peer) {
			sc->dial_peer->psk_try = next;
			sc->dial_peer->psk_hold = next ? now + sw->cfg.backoff_max_us : 0;
		} else
			sw->anon_psk_try = next;
		if (older && !*logged) {
			*logged = true;
			log_info(sw->cfg.log, "%s: the handshake with the newest network PSK failed; "
				 "retrying with the older one (peer not rotated yet?)", conn_name(sc->c));
		}
		if (older && sc->dial_peer) {
			/* Retried at once by the host: no backoff for this one. */
			sc->dial_peer->dialing--;
			sc->dial_peer->next_dial = now;
			sc->dial_peer = NULL;
		}
	}
	if (sc->dial_peer) {
		struct swpeer *dp = sc->dial_peer;
		uint64_t wait = sw->cfg.backoff_us;

		/* A dial that never got through the upgrade: back off. */
		dp->dialing--;
		dp->fails++;
		for (unsigned i = 1; i < dp->fails && wait < sw->cfg.backoff_max_us; i++)
			wait *= 2;
		if (wait > sw->cfg.backoff_max_us)
			wait = sw->cfg.backoff_max_us;
		dp->next_dial = now + wait;
	}
	if (p && p->gs_in == sc) {
		/* The peer's pubsub stream to us died with this connection: the
		 * watchdog in swarm_tick restarts ours if no new one comes. */
		p->gs_in = NULL;
		p->gs_in_wait = now;
	}
	if (p && p->primary == sc) {
		p->primary = NULL;
		/* Another live connection to the peer takes over. */
		for (struct swarm_conn *o = sw->conns; o; o = o->next) {
			if (o->peer == p && o->ready && conn_state(o->c) == CONN_S_READY) {
				p->primary = o;
				break;
			}
		}
		if (!p->primary)
			p->admitted = p->gated_hello = false; /* a new connection proves its token again */
		if (p->primary && p->gs_added) {
			conn_gs_open(p->primary->c, now);
		} else if (p->gs_added && sw->gs) {
			gs_remove_peer(sw->gs, p->id.b, p->id.len);
			p->gs_added = false;
		}
	}
	ev.peer = p ? &p->id : NULL;
	ev.err = conn_error(sc->c);
	ev.reason = conn_reason(sc->c);
	emit(sw, &ev);
	conn_free(sc->c);
	free(sc);
	peer_gc(sw, now);
	settle(sw, now);
}

bool swarm_conn_psk_fallback(const struct swarm_conn *sc)
{
	const struct swarm *sw = sc->sw;

	/* Only while the key it used is still the one at psk_idx (no reload since). */
	return !sc->inbound && !sc->ready && (size_t)sc->psk_idx + 1 < sw->n_psks &&
	       sw->psk_gen[sc->psk_idx] == sc->cand_gen[0];
}

size_t swarm_psk_count(const struct swarm *sw)
{
	return sw->n_psks;
}

/* Generation of the key a connection uses (0 = not known yet). */
static unsigned conn_gen(const struct swarm_conn *sc)
{
	int i = conn_psk_index(sc->c);

	return i >= 0 && i < PNET_MAX_PSKS ? sc->cand_gen[i] : 0;
}

int swarm_set_psks(struct swarm *sw, const uint8_t *const *keys, size_t n, uint64_t now)
{
	uint8_t *nk;
	unsigned gen[PNET_MAX_PSKS];
	size_t m = 0;

	if (!sw->n_psks || !n || n > PNET_MAX_PSKS || !keys)
		return -EINVAL;
	nk = secure_alloc(32 * n);
	if (!nk)
		return -ENOMEM;
	sw->now = now;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		if (!keys[i]) {
			secure_free(nk);
			return -EINVAL;
		}
		for (size_t j = 0; j < m; j++)
			dup |= ct_eq(nk + 32 * j, keys[i], 32);
		if (dup)
			continue;
		memcpy(nk + 32 * m, keys[i], 32);
		gen[m] = 0;
		/* A key already in use keeps its generation: its connections stay. */
		for (size_t j = 0; j < sw->n_psks; j++)
			if (ct_eq(sw->psks + 32 * j, keys[i], 32))
				gen[m] = sw->psk_gen[j];
		if (!gen[m])
			gen[m] = ++sw->gen_counter;
		m++;
	}
	secure_free(sw->psks);
	sw->psks = nk;
	sw->n_psks = m;
	memcpy(sw->psk_gen, gen, sizeof(gen[0]) * m);
	for (struct swpeer *p = sw->peers; p; p = p->next) {
		p->psk_try = 0;
		p->psk_logged = false;
	}
	sw->anon_psk_try = 0;
	sw->anon_psk_logged = false;
	for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
		unsigned g = conn_gen(sc);
		bool keep = false;

		if (!g) {
			/* Still choosing among its candidates: all of them must stay. */
			keep = true;
			for (size_t i = 0; i < (sc->inbound ? PNET_MAX_PSKS : 1); i++) {
				bool in = !sc->cand_gen[i];

				for (size_t j = 0; j < m; j++)
					in |= sc->cand_gen[i] == gen[j];
				keep &= in;
			}
		} else {
			for (size_t j = 0; j < m; j++)
				keep |= g == gen[j];
		}
		if (!keep) {
			log_info(sw->cfg.log, "%s: closing, it uses a network PSK that was dropped", conn_name(sc->c));
			conn_close(sc->c, now);
		}
	}
	settle(sw, now);
	return 0;
}

void swarm_conn_set_user(struct swarm_conn *sc, void *user)
{
	sc->user = user;
}

void *swarm_conn_user(const struct swarm_conn *sc)
{
	return sc->user;
}

const uint8_t *swarm_conn_remote(const struct swarm_conn *sc, size_t *len)
{
	*len = sc->remote_len;
	return sc->remote;
}

bool swarm_conn_inbound(const struct swarm_conn *sc)
{
	return sc->inbound;
}

size_t swarm_conn_count(const struct swarm *sw)
{
	return sw->n_conns;
}

int swarm_dial_begin(struct swarm *sw, const struct peerid *peer, uint64_t now, uint64_t *retry_at)
{
	struct swpeer *p;

	if (!peer || !peer->len)
		return 0;
	if (peerid_eq(peer, ident_peerid(sw->cfg.identity)))
		return -EINVAL;
	p = peer_get(sw, peer);
	if (!p)
		return -ENOMEM;
	if (p->primary || p->dialing)
		return -EALREADY;
	if (denied(sw, peer, now, retry_at))
		return -EAGAIN;
	if (p->next_dial > now) {
		if (retry_at)
			*retry_at = p->next_dial;
		return -EAGAIN;
	}
	p->dialing++;
	return 0;
}

void swarm_dial_failed(struct swarm *sw, const struct peerid *peer, uint64_t now)
{
	struct swpeer *p;
	uint64_t wait = sw->cfg.backoff_us;

	if (!peer || !peer->len)
		return;
	p = peer_find(sw, peer);
	if (!p)
		return;
	if (p->dialing > 0)
		p->dialing--;
	p->fails++;
	for (unsigned i = 1; i < p->fails && wait < sw->cfg.backoff_max_us; i++)
		wait *= 2;
	p->next_dial = now + (wait > sw->cfg.backoff_max_us ? sw->cfg.backoff_max_us : wait);
}

size_t swarm_peer_conns(const struct swarm *sw, const struct peerid *peer)
{
	size_t n = 0;

	for (const struct swarm_conn *sc = sw->conns; sc; sc = sc->next)
		if (sc->ready && sc->peer && peerid_eq(&sc->peer->id, peer) && conn_state(sc->c) == CONN_S_READY)
			n++;
	return n;
}

/* A ping-like call on the peer's primary connection (conn_ping, conn_probe). */
static int on_primary(struct swarm *sw, const struct peerid *peer, uint64_t now, int (*op)(struct conn *, uint64_t))
{
	struct swpeer *p = peer_find(sw, peer);
	int r;

	sw->now = now;
	if (!p || !p->primary)
		return W2W_ESTATE;
	r = op(p->primary->c, now);
	settle(sw, now);
	return r;
}

int swarm_ping(struct swarm *sw, const struct peerid *peer, uint64_t now)
{
	return on_primary(sw, peer, now, conn_ping);
}

int swarm_probe(struct swarm *sw, const struct peerid *peer, uint64_t now)
{
	return on_primary(sw, peer, now, conn_probe);
}

int swarm_hangup(struct swarm *sw, const struct peerid *peer, uint64_t now)
{
	int n = 0;

	sw->now = now;
	for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
		if (sc->peer && peerid_eq(&sc->peer->id, peer)) {
			conn_close(sc->c, now);
			n++;
		}
	}
	settle(sw, now);
	return n ? 0 : -ENOENT;
}

void swarm_set_gated(struct swarm *sw, bool gated)
{
	sw->gated = gated;
}

int swarm_set_admission(struct swarm *sw, const uint8_t *p, size_t n)
{
	return identify_set_admission(sw->self, p, n);
}

int swarm_admit(struct swarm *sw, const struct peerid *peer, uint64_t now)
{
	struct swpeer *p = peer_find(sw, peer);

	sw->now = now;
	if (!p || !p->primary)
		return W2W_ESTATE;
	if (!p->admitted) {
		p->admitted = true;
		p->gs_kick = sw->kick = true; /* what the router queued meanwhile goes out now */
	}
	settle(sw, now);
	return 0;
}

int swarm_deny(struct swarm *sw, const struct peerid *peer, uint64_t until, uint64_t now)
{
	size_t slot = 0;

	for (size_t i = 0; i < SWARM_MAX_DENY; i++) {
		if (peerid_eq(&sw->deny[i].id, peer)) {
			slot = i;
			break;
		}
		if (sw->deny[i].until < sw->deny[slot].until)
			slot = i; /* the oldest entry makes room */
	}
	sw->deny[slot].id = *peer;
	sw->deny[slot].until = until;
	return swarm_hangup(sw, peer, now);
}

int swarm_subscribe(struct swarm *sw, const char *topic, uint64_t now)
{
	int r;

	sw->now = now;
	if (!sw->gs)
		return W2W_ESTATE;
	r = gs_subscribe(sw->gs, topic, now);
	if (r == 0) {
		size_t i;

		for (i = 0; i < sw->n_subs && strcmp(sw->subs[i], topic); i++)
			;
		if (i == sw->n_subs && sw->n_subs < SWARM_MAX_SUBS && strlen(topic) < GS_TOPIC_MAX) {
			sw->subs[sw->n_subs] = strdup(topic);
			if (sw->subs[sw->n_subs])
				sw->n_subs++;
		}
	}
	settle(sw, now);
	return r;
}

int swarm_unsubscribe(struct swarm *sw, const char *topic, uint64_t now)
{
	int r;

	sw->now = now;
	if (!sw->gs)
		return W2W_ESTATE;
	r = gs_unsubscribe(sw->gs, topic, now);
	for (size_t i = 0; i < sw->n_subs; i++) {
		if (!strcmp(sw->subs[i], topic)) {
			free(sw->subs[i]);
			sw->subs[i] = sw->subs[--sw->n_subs];
			break;
		}
	}
	settle(sw, now);
	return r;
}

int swarm_publish(struct swarm *sw, const char *topic, const void *data, size_t len, uint64_t now)
{
	int r;

	sw->now = now;
	if (!sw->gs)
		return W2W_ESTATE;
	r = gs_publish(sw->gs, topic, data, len, now);
	settle(sw, now);
	return r;
}

void swarm_tick(struct swarm *sw, uint64_t now)
{
	sw->now = now;
	for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next)
		conn_tick(sc->c, now);
	if (sw->gs && gs_next_deadline(sw->gs) <= now)
		gs_heartbeat(sw->gs, now);
	for (struct swpeer *p = sw->peers; p; p = p->next) {
		uint64_t due = gs_watchdog_due(p);

		if (due <= now) {
			/* A pubsub peer without a stream to us. js-libp2p-gossipsub,
			 * when the connection its stream was on went away (the surplus
			 * one of a simultaneous dial), keeps a dead stream and never
			 * opens another; it starts over only after our stream to it
			 * fails. Reset ours (at most every 2 s, then every 30 s). */
			p->gs_restart = sw->kick = true;
			p->gs_restarts++;
			p->gs_restart_at = now + (p->gs_restarts < 5 ? 2 : 30) * 1000000ull;
		}
	}
	peer_gc(sw, now);
	iplimit_tick(sw->ipl, now);
	settle(sw, now);
}

uint64_t swarm_next_deadline(const struct swarm *sw)
{
	uint64_t d = iplimit_next_expiry(sw->ipl); /* a block ends: the host updates its filter */

	for (const struct swpeer *p = sw->peers; p; p = p->next) {
		uint64_t t = gs_watchdog_due(p);

		if (t < d)
			d = t;
	}

	for (const struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
		uint64_t t = conn_next_deadline(sc->c);

		if (t < d)
			d = t;
	}
	if (sw->gs) {
		uint64_t t = gs_next_deadline(sw->gs);

		if (t < d)
			d = t;
	}
	return d;
}

/* Deferred work: router output to streams, queued messages, requested closes. */
static void settle(struct swarm *sw, uint64_t now)
{
	if (sw->in_settle)
		return;
	sw->in_settle = 1;
	for (int round = 0; round < 4; round++) {
		bool again = false;

		if (sw->kick) {
			sw->kick = false;
			for (struct swpeer *p = sw->peers; p; p = p->next) {
				if (p->gs_refresh && p->primary && conn_state(p->primary->c) == CONN_S_READY) {
					/* The router keeps the peer's state (its subscriptions
					 * may not be repeated); our new stream repeats ours. */
					log_debug(sw->cfg.log, "peer closed its pubsub stream: restarting ours");
					conn_gs_reset(p->primary->c, false, now);
					conn_gs_open(p->primary->c, now);
				} else if (p->gs_restart && p->primary && p->gs_added &&
					   conn_state(p->primary->c) == CONN_S_READY) {
					log_debug(sw->cfg.log, "peer's pubsub stream went with a surplus connection: "
						  "resetting ours");
					conn_gs_reset(p->primary->c, true, now);
					conn_gs_open(p->primary->c, now);
				}
				p->gs_refresh = p->gs_restart = false;
				if (p->gs_kick && p->primary) {
					p->gs_kick = false;
					conn_gs_kick(p->primary->c, now);
				}
			}
			again = sw->kick;
		}
		for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
			if (sc->close_req) {
				sc->close_req = false;
				conn_close(sc->c, now);
			}
		}
		for (size_t head = 0; head < sw->n_msgq; head++) {
			struct qmsg q = sw->msgq[head];
			struct gs_message m = { 0 };
			struct swarm_event ev = { .type = SWARM_EV_MESSAGE, .msg = &m };

			m.topic = q.topic;
			m.topic_len = strlen(q.topic);
			m.data = q.data;
			m.len = q.len;
			m.from = q.from.b;
			m.from_len = q.from.len;
			m.seqno = q.seqno;
			ev.peer = &q.from;
			emit(sw, &ev);
			free(q.topic);
			free(q.data);
			again = true;
		}
		sw->n_msgq = 0;
		for (size_t head = 0; head < sw->n_subq; head++) {
			struct qsub q = sw->subq[head];
			struct swarm_event ev = { .type = SWARM_EV_SUBSCRIPTION, .peer = &q.peer, .topic = q.topic,
						  .subscribed = q.subscribed };

			emit(sw, &ev);
			free(q.topic);
			again = true;
		}
		sw->n_subq = 0;
		if (!again)
			break;
	}
	sw->in_settle = 0;
}

void swarm_gs_stats(const struct swarm *sw, struct gs_stats *out)
{
	if (sw->gs)
		gs_get_stats(sw->gs, out);
	else
		memset(out, 0, sizeof(*out));
}
