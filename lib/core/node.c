/* SPDX-License-Identifier: MIT */
/*
 * The mesh node (include/w2wesher/node.h): glue between the libp2p host
 * (p2phost, gossipsub topic "w2w:announces"), the deterministic mesh logic
 * (lib/mesh: announcements, peer table, IPAM, reconcile) and the WireGuard
 * interface (wgsync). Rules and their reasons: docs/mesh.md.
 *
 * Everything runs from loop callbacks. Work triggered by an event is never
 * done inline when it can be coalesced: announcements, reconciles and state
 * writes go through short "soon" timers, so a burst of events (a join, a
 * partition healing) costs one publish, one WireGuard diff and one fsync.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "atomicfile.h"
#include "config.h"
#include "err.h"
#include "ident.h"
#include "ipam.h"
#include "log.h"
#include "loop_internal.h"
#include "multiaddr.h"
#include "nodestate.h"
#include "osclock.h"
#include "p2pevent.h"
#include "peerid.h"
#include "peertable.h"
#include "reconcile.h"
#include "secmem.h"
#include "wgkey.h"
#include "wgsync.h"
#include "w2wesher/node.h"
#include "w2wesher/p2p.h"

#define TOPIC "w2w:announces"
#define SOON_ANNOUNCE_US (150 * 1000)   /* coalesces a burst of joins into one publish */
#define SOON_RECONCILE_US (20 * 1000)
#define SOON_SAVE_US (500 * 1000)
#define REDIAL_US (3 * 1000 * 1000)     /* partitions heal within this (+ the host's backoff) */
#define REDIAL_ALONE_US (300 * 1000)
#define REFRESH_US (5 * 1000 * 1000)    /* WireGuard statistics for snapshots */
#define LEAVE_FLUSH_US (400 * 1000)     /* time for the leave announcement to propagate */
#define KEEP_ROAMED_S 180               /* keep an endpoint with a handshake this recent */
#define INITIATOR_FALLBACK_US (5 * 1000 * 1000)
#define ACK_WINDOW_US (10 * 1000 * 1000)
#define WAITER_HOLD_US (10 * 1000 * 1000)
#define MAX_CONNINFO 4096
#define MAX_OBSERVED 3

enum node_state { NS_NEW, NS_RUNNING, NS_LEAVING, NS_STOPPING, NS_STOPPED };

struct conninfo {
	struct peerid id;
	struct ann_ip ip; /* remote IP of the last libp2p connection */
	bool has_ip;
	bool connected;
	bool wg_configured;    /* part of a desired device since configured_at */
	uint64_t configured_at;
	bool wg_applied;       /* ...and that device is applied: we may ack it */
	uint64_t applied_at;
	uint8_t wg_pub[32];
};

struct w2w_node_event {
	enum w2w_node_event_type type;
	const char *peer_id, *name, *address, *message;
	int err;
};

struct w2w_node {
	struct w2w_loop *loop;
	struct reactor *r;
	w2w_node_event_fn fn;
	void *ud;
	w2w_log_fn log_fn;
	void *log_ud;
	int in_cb;
	enum node_state state;
	struct wlog log;

	/* configuration (copied) */
	struct ident *id;
	char peer_id[PEERID_STR_MAX];
	uint8_t *psk;     /* secure memory, 32 bytes */
	uint8_t *wg_priv; /* secure memory, 32 bytes */
	uint8_t wg_pub[32];
	char wg_pub_b64[WG_KEY_B64_LEN + 1];
	char ifname[16];
	char name[ANN_NAME_MAX + 1];
	char listen_addr[MA_MAX_TEXT];
	char state_path[CFG_PATH_MAX + 16];
	char state_dir[CFG_PATH_MAX];
	uint16_t wg_port;
	int keepalive_s;
	unsigned mtu;
	enum w2w_backend backend;
	uint64_t announce_us, expiry_us;
	struct ipam_range range;
	bool has_static;
	struct ann_claim static_claim;

	/* mesh state */
	struct w2w_p2p *p2p;
	struct wgsync *wg;
	struct peertable *pt;
	struct nodestate st;
	bool has_claim;
	struct ann_claim claim;
	uint64_t seq;
	bool joined;
	struct conninfo *ci;
	size_t n_ci;
	struct ann_ip observed[MAX_OBSERVED];
	size_t n_observed;
	struct ann_ip listen_ip; /* family 0 when listening on the unspecified address */
	uint16_t listen_tcp;
	bool wg_applied_once;
	bool ack_dirty; /* peers were added: announce the acks once applied */
	uint64_t started_us;
	uint64_t announce_step_us;

	struct rtimer t_assigned, t_grace, t_announce, t_announce_soon, t_reconcile, t_save, t_expire, t_redial, t_refresh,
		t_leave, t_stopped;
};

/* ---- events and logging ---- */

static void emit(struct w2w_node *n, enum w2w_node_event_type type, const char *peer_id, const char *name,
		 const char *address, const char *message, int err)
{
	struct w2w_node_event ev = {type, peer_id ? peer_id : "", name ? name : "", address ? address : "",
				    message ? message : "", err};

	if (!n->fn)
		return;
	n->in_cb++;
	loop_enter_cb(n->loop);
	n->fn(n->ud, &ev);
	loop_leave_cb(n->loop);
	n->in_cb--;
}

/* Log lines can come from inside any call (start, stop, a WireGuard reply):
 * the guard makes every library call from the host's sink return -EBUSY. */
static void log_sink(void *ud, int level, const char *msg)
{
	struct w2w_node *n = ud;

	if (!n->log_fn)
		return;
	n->in_cb++;
	loop_enter_log(n->loop);
	n->log_fn(n->log_ud, level, msg);
	loop_leave_log(n->loop);
	n->in_cb--;
}

static void p2p_log(void *ud, int level, const char *msg)
{
	struct w2w_node *n = ud;

	wlog_printf(&n->log, level, "p2p: %s", msg);
}

enum w2w_node_event_type w2w_node_event_type(const struct w2w_node_event *ev)
{
	return ev->type;
}

const char *w2w_node_event_type_name(enum w2w_node_event_type t)
{
	switch (t) {
	case W2W_NODE_EV_LISTENING: return "listening";
	case W2W_NODE_EV_JOINED: return "joined";
	case W2W_NODE_EV_PEER_UP: return "peer-up";
	case W2W_NODE_EV_PEER_DOWN: return "peer-down";
	case W2W_NODE_EV_ADDRESS_ASSIGNED: return "address-assigned";
	case W2W_NODE_EV_KEY_ROTATED: return "key-rotated";
	case W2W_NODE_EV_WG_APPLIED: return "wireguard-applied";
	case W2W_NODE_EV_ERROR: return "error";
	case W2W_NODE_EV_STOPPED: return "stopped";
	}
	return "unknown";
}

const char *w2w_node_event_peer_id(const struct w2w_node_event *ev)
{
	return ev->peer_id;
}

const char *w2w_node_event_name(const struct w2w_node_event *ev)
{
	return ev->name;
}

const char *w2w_node_event_address(const struct w2w_node_event *ev)
{
	return ev->address;
}

const char *w2w_node_event_message(const struct w2w_node_event *ev)
{
	return ev->message;
}

int w2w_node_event_error(const struct w2w_node_event *ev)
{
	return ev->err;
}

/* ---- helpers ---- */

static void ip_str(const struct ann_ip *ip, char *out, size_t cap)
{
	ann_ip_str(ip, out, cap);
}

static void id_str(const struct peerid *id, char *out, size_t cap)
{
	if (peerid_to_b58(out, cap, id) < 0 && cap)
		out[0] = '\0';
}

static void arm_in(struct w2w_node *n, struct rtimer *t, uint64_t delay_us)
{
	reactor_timer_arm(n->r, t, os_now_us() + delay_us);
}

/* Arms t unless it is already due sooner (coalescing). */
static void soon(struct w2w_node *n, struct rtimer *t, uint64_t delay_us)
{
	uint64_t when = os_now_us() + delay_us;

	if (!rtimer_armed(t) || t->when > when)
		reactor_timer_arm(n->r, t, when);
}

static struct conninfo *ci_find(struct w2w_node *n, const struct peerid *id, bool create)
{
	struct conninfo *c;

	for (size_t i = 0; i < n->n_ci; i++)
		if (peerid_eq(&n->ci[i].id, id))
			return &n->ci[i];
	if (!create || n->n_ci >= MAX_CONNINFO)
		return NULL;
	c = realloc(n->ci, (n->n_ci + 1) * sizeof(*c));
	if (!c)
		return NULL;
	n->ci = c;
	c = &n->ci[n->n_ci++];
	memset(c, 0, sizeof(*c));
	c->id = *id;
	return c;
}

/* Text multiaddr -> the IP inside it (ip4/ip6 only). */
static bool ma_text_ip(const char *text, struct ann_ip *ip, uint16_t *port)
{
	uint8_t bin[MA_MAX_BIN];
	struct ma_addr a;
	int len = ma_parse(bin, sizeof(bin), text, strlen(text));

	if (len < 0 || ma_decompose(bin, (size_t)len, &a) < 0)
		return false;
	memset(ip, 0, sizeof(*ip));
	if (a.kind == MA_KIND_IP4) {
		ip->family = 4;
		memcpy(ip->ip, a.ip, 4);
	} else if (a.kind == MA_KIND_IP6) {
		ip->family = 6;
		memcpy(ip->ip, a.ip, 16);
	} else {
		return false;
	}
	if (port)
		*port = a.port;
	return true;
}

static bool ip_unspecified(const struct ann_ip *ip)
{
	static const uint8_t zero[16];

	return memcmp(ip->ip, zero, ip->family == 4 ? 4 : 16) == 0;
}

static bool ip_loopback(const struct ann_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	return ip->family == 4 ? ip->ip[0] == 127 : memcmp(ip->ip, lo6, 16) == 0;
}

/* ---- state directory ---- */

static void save_state(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;
	struct buf b;
	int r;

	(void)now;
	n->st.has_claim = n->has_claim && !n->has_static;
	if (n->st.has_claim)
		n->st.claim = n->claim;
	buf_init(&b, NODESTATE_MAX_SIZE);
	r = nodestate_encode(&n->st, &b);
	if (r == 0)
		r = atomicfile_write(n->state_path, b.data, b.len, 0600);
	if (r < 0)
		log_warn(&n->log, "cannot write %s: %s", n->state_path, err_str(r));
	buf_free(&b);
}

static void load_state(struct w2w_node *n)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	r = atomicfile_read(n->state_path, NODESTATE_MAX_SIZE, &b);
	if (r == 0) {
		struct nodestate tmp;

		nodestate_init(&tmp);
		r = nodestate_decode(b.data, b.len, &tmp);
		if (r < 0) {
			log_warn(&n->log, "%s is damaged (%s): ignoring it; the mesh will tell us again",
				 n->state_path, err_str(r));
		} else {
			/* merged with the configured bootstrap addresses already in n->st */
			for (size_t i = 0; i < tmp.n_peers; i++)
				nodestate_add_peer(&n->st, tmp.peers[i]);
			n->st.has_claim = tmp.has_claim;
			n->st.claim = tmp.claim;
			log_info(&n->log, "state: %zu known peer address(es)%s", tmp.n_peers,
				 tmp.has_claim ? ", a persisted address claim" : "");
		}
		nodestate_free(&tmp);
	} else if (r != -ENOENT) {
		log_warn(&n->log, "cannot read %s: %s", n->state_path, err_str(r));
	}
	buf_free(&b);
}

static void learn_peer_addr(struct w2w_node *n, const char *ma)
{
	if (nodestate_add_peer(&n->st, ma) == 1)
		soon(n, &n->t_save, SOON_SAVE_US);
}

/* ---- announcements ---- */

static void add_ep(struct announce *a, const struct ann_ip *ip, uint16_t port)
{
	for (unsigned i = 0; i < a->n_eps; i++)
		if (ann_ip_eq(&a->eps[i].addr, ip))
			return;
	if (a->n_eps < ANN_MAX_ENDPOINTS) {
		a->eps[a->n_eps].addr = *ip;
		a->eps[a->n_eps].port = port;
		a->n_eps++;
	}
}

static void add_la(struct announce *a, const struct ann_ip *ip, uint16_t port)
{
	uint8_t b[ANN_MA_MAX];
	int len = ma_from_ip(b, sizeof(b), ip->family, ip->ip, port, true, NULL);

	if (len < 0)
		return;
	for (unsigned i = 0; i < a->n_la; i++)
		if (a->la[i].len == len && !memcmp(a->la[i].b, b, (size_t)len))
			return;
	if (a->n_la < ANN_MAX_LISTEN) {
		memcpy(a->la[a->n_la].b, b, (size_t)len);
		a->la[a->n_la].len = (uint8_t)len;
		a->n_la++;
	}
}

static void build_announce(struct w2w_node *n, struct announce *a, uint32_t flags)
{
	uint64_t seq = os_wall_us();

	/* Strictly increasing without persistence: the wall clock, bumped when
	 * two announcements fall in the same microsecond or the clock steps back. */
	n->seq = seq > n->seq ? seq : n->seq + 1;
	memset(a, 0, sizeof(*a));
	a->seq = n->seq;
	a->flags = flags;
	snprintf(a->name, sizeof(a->name), "%s", n->name);
	memcpy(a->wg_pub, n->wg_pub, 32);
	a->wg_port = n->wg_port;
	if (n->has_claim) {
		a->claims[0] = n->claim;
		a->n_claims = 1;
	}
	/* Where others reach us: the address we listen on when it is specific,
	 * and every address peers observed us at (NAT, unspecified listen). */
	if (n->listen_ip.family && !ip_unspecified(&n->listen_ip)) {
		add_ep(a, &n->listen_ip, n->wg_port);
		add_la(a, &n->listen_ip, n->listen_tcp);
	}
	for (size_t i = 0; i < n->n_observed; i++) {
		add_ep(a, &n->observed[i], n->wg_port);
		add_la(a, &n->observed[i], n->listen_tcp);
	}
	for (size_t i = 0; i < n->n_ci && a->n_acks < ANN_MAX_ACKS; i++) {
		const struct conninfo *c = &n->ci[i];

		if (c->wg_configured && c->wg_applied && os_now_us() - c->applied_at < ACK_WINDOW_US)
			memcpy(a->acks[a->n_acks++], c->wg_pub, ANN_ACK_LEN);
	}
}

static int publish(struct w2w_node *n, uint32_t flags)
{
	struct announce a;
	struct buf b;
	int r;

	/* Announce only once our WireGuard device is up: a peer that learns of us
	 * configures us and, if it initiates the first handshake, expects an
	 * answer; an initiation that reaches no device costs a 5 s retry. */
	if (!n->wg_applied_once && !(flags & ANN_F_LEAVING))
		return W2W_ESTATE;

	build_announce(n, &a, flags);
	buf_init(&b, ANN_MAX_SIZE);
	r = ann_encode(&a, &b);
	if (r == 0)
		r = w2w_p2p_publish(n->p2p, TOPIC, b.data, b.len);
	buf_free(&b);
	if (r < 0)
		log_debug(&n->log, "publish: %s", err_str(r));
	return r;
}

static void on_announce_timer(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	publish(n, 0);
	/* Warm-up: 1 s, 2 s and 4 s after start, then every AnnounceInterval. An
	 * announcement published before the relays' gossipsub meshes have formed
	 * is not forwarded (relays forward to mesh peers only); nodes started
	 * together would otherwise meet only at the first full interval. */
	n->announce_step_us = n->announce_step_us ? n->announce_step_us * 2 : 1000000;
	if (n->announce_step_us > 4000000 || n->announce_step_us > n->announce_us)
		n->announce_step_us = n->announce_us;
	arm_in(n, &n->t_announce, n->announce_step_us);
}

static void on_announce_soon(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	publish(n, 0);
}

/* ---- IPAM ---- */

static void check_address(struct w2w_node *n)
{
	struct ipam_other *o;
	size_t cnt = 0, cap = 0;
	struct ann_claim out;
	bool changed = false;
	char ip[64];
	int r;

	if (n->has_static) {
		/* A pinned address never moves; report who else claims it. */
		for (size_t i = 0; i < pt_count(n->pt); i++) {
			const struct pt_entry *e = pt_at(n->pt, i);

			for (unsigned j = 0; j < e->ann.n_claims; j++)
				if (ann_ip_eq(&e->ann.claims[j].addr, &n->static_claim.addr) &&
				    e->ann.claims[j].claimed_ms == 0) {
					char id[PEERID_STR_MAX];

					id_str(&e->id, id, sizeof(id));
					ip_str(&n->static_claim.addr, ip, sizeof(ip));
					log_err(&n->log, "node %s (%s) pins our static address %s too", e->ann.name, id,
						ip);
				}
		}
		return;
	}
	for (size_t i = 0; i < pt_count(n->pt); i++)
		cap += pt_at(n->pt, i)->ann.n_claims;
	o = calloc(cap ? cap : 1, sizeof(*o));
	if (!o)
		return;
	for (size_t i = 0; i < pt_count(n->pt); i++) {
		const struct pt_entry *e = pt_at(n->pt, i);

		for (unsigned j = 0; j < e->ann.n_claims; j++) {
			o[cnt].ip = e->ann.claims[j].addr;
			o[cnt].claimed_ms = e->ann.claims[j].claimed_ms;
			o[cnt].owner = &e->id;
			cnt++;
		}
	}
	r = ipam_pick(&n->range, ident_peerid(n->id), n->has_claim ? &n->claim : NULL, o, cnt, os_wall_ms(), &out,
		      &changed);
	free(o);
	if (r < 0) {
		if (r == W2W_ELIMIT)
			emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, "the overlay range is full", r);
		return;
	}
	if (!changed)
		return;
	if (n->has_claim) {
		char old[64];

		ip_str(&n->claim.addr, old, sizeof(old));
		ip_str(&out.addr, ip, sizeof(ip));
		log_info(&n->log, "address %s lost to an older claim: moving to %s", old, ip);
	}
	n->claim = out;
	n->has_claim = true;
	ip_str(&n->claim.addr, ip, sizeof(ip));
	emit(n, W2W_NODE_EV_ADDRESS_ASSIGNED, n->peer_id, n->name, ip, NULL, 0);
	soon(n, &n->t_save, SOON_SAVE_US);
	soon(n, &n->t_announce_soon, 0);
	soon(n, &n->t_reconcile, 0);
}

/* The address chosen at start (pinned, persisted or first candidate) is
 * reported like every later change, from the loop. */
static void on_initial_address(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;
	char ip[64];

	(void)now;
	if (!n->has_claim)
		return;
	ip_str(&n->claim.addr, ip, sizeof(ip));
	emit(n, W2W_NODE_EV_ADDRESS_ASSIGNED, n->peer_id, n->name, ip, NULL, 0);
}

/* ---- reconcile ---- */

/*
 * First handshakes. When both ends of a new pair send their first handshake
 * initiation at about the same moment, the handshakes cross: each side's
 * response is rejected because its own initiation replaced the state it
 * answers, and wireguard-go then waits for its 5 s retry — again and again if
 * the persistent keepalives stay in phase (seen here). So of a new pair only
 * the side with the lower WireGuard public key initiates: the other holds
 * back our copy of the endpoint (a peer without an endpoint cannot initiate)
 * and learns it from the initiator's first packet. The initiator itself waits
 * until the peer's announcement acks our key ("ack": the peer has us in its
 * device, so the first initiation is not dropped — a dropped one costs the 5 s
 * RekeyTimeout before wireguard-go or the kernel tries again), or at most
 * INITIATOR_FALLBACK_US (peers of older versions send no acks). A waiter that
 * sees no handshake within WAITER_HOLD_US sets the endpoint anyway (one-way
 * reachability, e.g. the initiator behind NAT).
 */
static bool acks_us(const struct w2w_node *n, const struct announce *a)
{
	for (unsigned i = 0; i < a->n_acks; i++)
		if (!memcmp(a->acks[i], n->wg_pub, ANN_ACK_LEN))
			return true;
	return false;
}

enum hold { HOLD_NONE, HOLD_ENDPOINT, HOLD_ALL };

static enum hold hold_endpoint(struct w2w_node *n, const struct pt_entry *e, uint64_t now)
{
	enum hold what;
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	const struct wgpeer *wp = dev ? wgdev_find_peer(dev, e->ann.wg_pub) : NULL;
	uint64_t hold, age = now - e->first_seen_us;

	if (wp && (wp->last_handshake_time.tv_sec || wp->endpoint.addr.sa_family != AF_UNSPEC))
		return HOLD_NONE; /* done, or the endpoint is already there (diff keeps it) */
	if (memcmp(n->wg_pub, e->ann.wg_pub, 32) < 0) {
		/* We initiate, as soon as the peer says it has us configured. Until
		 * then not even its allowed IPs: a packet routed to it would make
		 * WireGuard attempt a handshake (without an endpoint it goes nowhere)
		 * and still start the 5 s RekeyTimeout that suppresses the real one. */
		if (acks_us(n, &e->ann))
			return HOLD_NONE;
		hold = INITIATOR_FALLBACK_US;
		what = HOLD_ALL;
	} else {
		/* The waiter keeps the allowed IPs: it must accept the initiator's
		 * packets; its own attempts do not delay the handshake it answers. */
		hold = WAITER_HOLD_US;
		what = HOLD_ENDPOINT;
	}
	if (age >= hold)
		return HOLD_NONE;
	soon(n, &n->t_reconcile, hold - age + 1000);
	return what;
}

static int endpoint_of(void *ud, const struct pt_entry *e, union wgendpoint *ep)
{
	struct w2w_node *n = ud;
	struct conninfo *c = ci_find(n, &e->id, false);
	const struct ann_ip *ip = NULL;
	uint16_t port = e->ann.wg_port;

	switch (hold_endpoint(n, e, os_now_us())) {
	case HOLD_ALL:
		return RECONCILE_F_NO_ALLOWEDIPS;
	case HOLD_ENDPOINT:
		return 0;
	case HOLD_NONE:
		break;
	}

	/* The live libp2p connection's remote IP is the best evidence of where the
	 * node is reachable from here; its announced WireGuard port is the one it
	 * listens on (not ours). Else its advertised endpoints. */
	if (c && c->has_ip && !ip_loopback(&c->ip))
		ip = &c->ip;
	else if (c && c->has_ip)
		ip = &c->ip;
	if (!ip && e->ann.n_eps) {
		ip = &e->ann.eps[0].addr;
		port = e->ann.eps[0].port;
	}
	if (!ip)
		return 0;
	memset(ep, 0, sizeof(*ep));
	if (ip->family == 4) {
		ep->addr4.sin_family = AF_INET;
		memcpy(&ep->addr4.sin_addr, ip->ip, 4);
		ep->addr4.sin_port = htons(port);
	} else {
		ep->addr6.sin6_family = AF_INET6;
		memcpy(&ep->addr6.sin6_addr, ip->ip, 16);
		ep->addr6.sin6_port = htons(port);
	}
	return 0;
}

static void on_reconcile(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;
	struct reconcile_in in;
	struct rtnl_addr addr;
	struct wgdevice *dev;
	size_t naddr = 0;

	(void)now;
	if (n->state != NS_RUNNING)
		return;
	memset(&in, 0, sizeof(in));
	in.ifname = n->ifname;
	in.private_key = n->wg_priv;
	in.listen_port = n->wg_port;
	in.keepalive_s = n->keepalive_s > 0 ? (uint16_t)n->keepalive_s : 0;
	if (n->range.family == 4)
		in.range4 = &n->range;
	else
		in.range6 = &n->range;
	in.self = ident_peerid(n->id);
	in.self_claims = n->has_claim ? &n->claim : NULL;
	in.n_self_claims = n->has_claim ? 1 : 0;
	in.pt = n->pt;
	in.endpoint = endpoint_of;
	in.ud = n;
	for (size_t i = 0; i < pt_count(n->pt); i++) {
		const struct pt_entry *e = pt_at(n->pt, i);
		struct conninfo *c = ci_find(n, &e->id, true);

		if (c && (!c->wg_configured || memcmp(c->wg_pub, e->ann.wg_pub, 32) != 0)) {
			c->wg_configured = true;
			c->wg_applied = false;
			c->configured_at = os_now_us();
			memcpy(c->wg_pub, e->ann.wg_pub, 32);
			n->ack_dirty = true;
		}
	}
	dev = reconcile_desired(&in);
	if (!dev) {
		emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, "reconcile: out of memory", -ENOMEM);
		return;
	}
	if (n->has_claim) {
		memset(&addr, 0, sizeof(addr));
		addr.family = n->claim.addr.family == 4 ? AF_INET : AF_INET6;
		memcpy(addr.addr, n->claim.addr.ip, n->claim.addr.family == 4 ? 4 : 16);
		/* the overlay prefix length: the kernel adds the overlay route with it */
		addr.prefixlen = n->range.plen;
		naddr = 1;
	}
	/* Until a whole PeerExpiry has passed since start, peers on the device that
	 * the table does not list yet are kept: after a restart they are still
	 * there and announce themselves again within an interval (seamless
	 * restart); only then are the ones that stayed silent removed. */
	wgsync_apply(n->wg, dev, &addr, naddr, os_now_us() - n->started_us < n->expiry_us);
}

static void on_wg_done(void *ud, const struct wgsync_result *res)
{
	struct w2w_node *n = ud;
	char msg[160];

	if (res->err < 0) {
		snprintf(msg, sizeof(msg), "WireGuard %s (%s backend)", n->ifname, wgsync_backend_name(n->wg));
		emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, msg, res->err);
		return;
	}
	if (res->diff.added || res->diff.removed || res->diff.updated || res->diff.device_changed ||
	    !n->wg_applied_once) {
		snprintf(msg, sizeof(msg), "%zu added, %zu removed, %zu updated, %zu unchanged (%s)", res->diff.added,
			 res->diff.removed, res->diff.updated, res->diff.unchanged, wgsync_backend_name(n->wg));
		if (!n->wg_applied_once) {
			n->wg_applied_once = true;
			soon(n, &n->t_announce_soon, 0);
		}
		if (n->ack_dirty && !wgsync_busy(n->wg)) {
			/* Every desired device so far is applied: only now may the new
			 * peers be acked (an ack that runs ahead of the device makes the
			 * peer's first initiation hit nothing: a 5 s retry). */
			n->ack_dirty = false;
			for (size_t i = 0; i < n->n_ci; i++)
				if (n->ci[i].wg_configured && !n->ci[i].wg_applied) {
					n->ci[i].wg_applied = true;
					n->ci[i].applied_at = os_now_us();
				}
			soon(n, &n->t_announce_soon, 0);
		}
		emit(n, W2W_NODE_EV_WG_APPLIED, NULL, NULL, NULL, msg, 0);
	}
}

static void on_refresh(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	wgsync_refresh(n->wg);
	/* A full read costs ~330 bytes per peer over UAPI: often for small meshes,
	 * rarely for big ones. */
	arm_in(n, &n->t_refresh, pt_count(n->pt) < 64 ? REFRESH_US / 5 : REFRESH_US * 2);
}

/* ---- peers: expiry and dialling ---- */

static void on_expired(void *ud, const struct pt_entry *e)
{
	struct w2w_node *n = ud;
	char id[PEERID_STR_MAX];

	struct conninfo *c = ci_find(n, &e->id, false);

	if (c)
		c->wg_configured = false;
	id_str(&e->id, id, sizeof(id));
	log_info(&n->log, "peer %s (%s) silent for too long: removed", e->ann.name, id);
	emit(n, W2W_NODE_EV_PEER_DOWN, id, e->ann.name, NULL, "expired", 0);
}

static void on_expire(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;
	uint64_t oldest;

	if (pt_expire(n->pt, now, n->expiry_us, on_expired, n) > 0)
		soon(n, &n->t_reconcile, SOON_RECONCILE_US);
	oldest = pt_oldest_seen(n->pt);
	if (oldest != UINT64_MAX)
		reactor_timer_arm(n->r, &n->t_expire, oldest + n->expiry_us + 1000);
}

/* The j-th libp2p address of an announcement as dialable text, ".../p2p/<id>". */
static bool la_text(char *out, size_t cap, const struct announce *a, unsigned j, const char *id)
{
	int len = ma_format(out, cap, a->la[j].b, a->la[j].len);

	if (len <= 0 || (size_t)len + strlen(id) + 6 >= cap)
		return false;
	snprintf(out + len, cap - (size_t)len, "/p2p/%s", id);
	return true;
}

static void dial_text(struct w2w_node *n, const char *ma)
{
	int r = w2w_p2p_dial(n->p2p, ma);

	if (r < 0 && r != -EALREADY && r != -EAGAIN)
		log_debug(&n->log, "dial %s: %s", ma, err_str(r));
}

static void on_redial(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;
	char ma[MA_MAX_TEXT], id[PEERID_STR_MAX];

	(void)now;
	/* Known addresses (bootstrap, learned, persisted) are redialled forever:
	 * the host's per-peer backoff keeps this cheap, and it is what lets a
	 * partition heal without an operator. */
	for (size_t i = 0; i < n->st.n_peers; i++) {
		struct peerid pid;
		uint8_t bin[MA_MAX_BIN];
		int len = ma_parse(bin, sizeof(bin), n->st.peers[i], strlen(n->st.peers[i]));
		struct conninfo *c;

		if (len < 0 || ma_peer(bin, (size_t)len, &pid) < 0)
			continue;
		if (peerid_eq(&pid, ident_peerid(n->id)))
			continue;
		c = ci_find(n, &pid, false);
		if (c && c->connected)
			continue;
		dial_text(n, n->st.peers[i]);
	}
	/* Every node in the table we are not connected to, at its announced addresses. */
	for (size_t i = 0; i < pt_count(n->pt); i++) {
		const struct pt_entry *e = pt_at(n->pt, i);
		struct conninfo *c = ci_find(n, &e->id, false);

		if (c && c->connected)
			continue;
		id_str(&e->id, id, sizeof(id));
		for (unsigned j = 0; j < e->ann.n_la; j++) {
			if (!la_text(ma, sizeof(ma), &e->ann, j, id))
				continue;
			dial_text(n, ma);
			break; /* one address per round; the others on later rounds if it fails */
		}
	}
	/* Alone (nodes started together: the bootstrap node may not listen yet),
	 * retry quickly; once in the mesh, the slow round suffices. */
	arm_in(n, &n->t_redial, w2w_p2p_connection_count(n->p2p) ? REDIAL_US : REDIAL_ALONE_US);
}

/* ---- libp2p events ---- */

static void handle_message(struct w2w_node *n, const struct w2w_p2p_event *ev)
{
	struct peerid author;
	struct announce a;
	char ip[64];
	int r;

	if (!ev->topic || strcmp(ev->topic, TOPIC) != 0)
		return;
	if (peerid_parse(&author, ev->from, strlen(ev->from)) < 0)
		return;
	r = ann_decode(ev->data, ev->len, &a);
	if (r < 0) {
		log_warn(&n->log, "malformed announcement from %s: dropped", ev->from);
		return;
	}
	r = pt_apply(n->pt, ident_peerid(n->id), &author, &a, os_now_us());
	ip[0] = '\0';
	if (a.n_claims)
		ip_str(&a.claims[0].addr, ip, sizeof(ip));
	switch (r) {
	case PT_NEW:
		log_info(&n->log, "peer %s (%s) at %s", a.name, ev->from, ip[0] ? ip : "-");
		if (!n->joined) {
			n->joined = true;
			emit(n, W2W_NODE_EV_JOINED, ev->from, a.name, NULL, NULL, 0);
		}
		emit(n, W2W_NODE_EV_PEER_UP, ev->from, a.name, ip, NULL, 0);
		/* A node we did not know: it does not know us either. Answer with our
		 * own announcement right away, so a joiner learns the whole mesh within
		 * a round trip instead of an AnnounceInterval. */
		soon(n, &n->t_announce_soon, SOON_ANNOUNCE_US);
		break;
	case PT_UPDATED:
		log_debug(&n->log, "peer %s (%s) updated", a.name, ev->from);
		break;
	case PT_REFRESHED:
		/* same content; an ack of our key may still release our endpoint */
		if (acks_us(n, &a))
			soon(n, &n->t_reconcile, 0);
		return;
	case PT_LEFT: {
		struct conninfo *c = ci_find(n, &author, false);

		if (c)
			c->wg_configured = false;
	}
		log_info(&n->log, "peer %s (%s) left", a.name, ev->from);
		emit(n, W2W_NODE_EV_PEER_DOWN, ev->from, a.name, ip, "left", 0);
		break;
	case PT_REJECTED:
		log_warn(&n->log, "announcement from %s rejected (WireGuard key already used by another node, "
				  "or peer table full)", ev->from);
		return;
	default:
		return;
	}
	if (r == PT_NEW || r == PT_UPDATED || r == PT_LEFT) {
		/* learn where to dial it */
		for (unsigned j = 0; j < a.n_la && r != PT_LEFT; j++) {
			char ma[MA_MAX_TEXT];

			if (la_text(ma, sizeof(ma), &a, j, ev->from))
				learn_peer_addr(n, ma);
		}
		check_address(n);
		soon(n, &n->t_reconcile, acks_us(n, &a) ? 0 : SOON_RECONCILE_US);
		if (r == PT_NEW) {
			/* Connect to it now rather than at the next redial round: a direct
			 * connection carries both announcements at once (flood publish) and
			 * gives the WireGuard endpoint. */
			struct conninfo *c = ci_find(n, &author, false);

			char ma[MA_MAX_TEXT];

			if (!(c && c->connected) && a.n_la && la_text(ma, sizeof(ma), &a, 0, ev->from))
				dial_text(n, ma);
		}
		if (!rtimer_armed(&n->t_expire))
			on_expire(n, os_now_us());
	}
}

static void note_observed(struct w2w_node *n, const char *observed)
{
	struct ann_ip ip;

	if (!observed || !ma_text_ip(observed, &ip, NULL) || ip_unspecified(&ip))
		return;
	for (size_t i = 0; i < n->n_observed; i++)
		if (ann_ip_eq(&n->observed[i], &ip))
			return;
	if (n->n_observed == MAX_OBSERVED)
		memmove(&n->observed[0], &n->observed[1], (MAX_OBSERVED - 1) * sizeof(n->observed[0]));
	else
		n->n_observed++;
	n->observed[n->n_observed - 1] = ip;
	soon(n, &n->t_announce_soon, SOON_ANNOUNCE_US);
}

static void on_p2p_event(void *ud, const struct w2w_p2p_event *ev)
{
	struct w2w_node *n = ud;
	struct peerid pid;
	struct conninfo *c;

	if (n->state != NS_RUNNING && n->state != NS_LEAVING)
		return;
	switch (ev->type) {
	case W2W_P2P_EV_LISTENING:
		emit(n, W2W_NODE_EV_LISTENING, n->peer_id, n->name, ev->addr, NULL, 0);
		break;
	case W2W_P2P_EV_CONNECTED:
		if (!ev->peer_id || peerid_parse(&pid, ev->peer_id, strlen(ev->peer_id)) < 0)
			break;
		c = ci_find(n, &pid, true);
		if (c) {
			c->connected = true;
			c->has_ip = ma_text_ip(ev->addr ? ev->addr : "", &c->ip, NULL);
		}
		log_info(&n->log, "connected to %s (%s, %s)", ev->peer_id, ev->addr ? ev->addr : "?",
			 ev->inbound ? "inbound" : "outbound");
		/* The new peer needs our announcement; gossipsub first has to learn that
		 * it subscribes, so publish shortly (and the regular timer repeats it). */
		soon(n, &n->t_announce_soon, SOON_ANNOUNCE_US);
		soon(n, &n->t_reconcile, SOON_RECONCILE_US);
		break;
	case W2W_P2P_EV_DISCONNECTED:
		if (ev->peer_id && peerid_parse(&pid, ev->peer_id, strlen(ev->peer_id)) == 0) {
			c = ci_find(n, &pid, false);
			if (c)
				c->connected = false;
		}
		log_info(&n->log, "disconnected from %s: %s", ev->peer_id ? ev->peer_id : "?",
			 ev->reason ? ev->reason : "closed");
		break;
	case W2W_P2P_EV_DIAL_FAILED:
		log_debug(&n->log, "dial %s failed: %s", ev->addr ? ev->addr : "?", ev->reason ? ev->reason : "");
		break;
	case W2W_P2P_EV_IDENTIFY:
		note_observed(n, ev->observed_addr);
		break;
	case W2W_P2P_EV_MESSAGE:
		handle_message(n, ev);
		break;
	default:
		break;
	}
}

/* ---- life cycle ---- */

static void on_stopped_timer(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	n->state = NS_STOPPED;
	emit(n, W2W_NODE_EV_STOPPED, n->peer_id, n->name, NULL, NULL, 0);
}

static void disarm_all(struct w2w_node *n)
{
	struct rtimer *ts[] = {&n->t_assigned, &n->t_grace, &n->t_announce, &n->t_announce_soon, &n->t_reconcile, &n->t_save, &n->t_expire,
			       &n->t_redial, &n->t_refresh, &n->t_leave, &n->t_stopped};

	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		reactor_timer_disarm(n->r, ts[i]);
}

/* Releases sockets and timers; the WireGuard interface is left as it is. */
static void shutdown_node(struct w2w_node *n)
{
	bool save = n->state == NS_RUNNING || n->state == NS_LEAVING;

	disarm_all(n);
	if (save && n->state_path[0])
		save_state(n, 0);
	n->p2p = w2w_p2p_free(n->p2p);
	wgsync_free(n->wg);
	n->wg = NULL;
}

static void finish_stop(struct w2w_node *n)
{
	shutdown_node(n);
	n->state = NS_STOPPING;
	/* STOPPED is reported from the loop, never from inside the call. */
	reactor_timer_arm(n->r, &n->t_stopped, 0);
}

static void on_removed(void *ud, int err)
{
	struct w2w_node *n = ud;

	if (err < 0)
		emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, "removing the interface", err);
	finish_stop(n);
}

static void on_leave_flushed(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	/* The claim is released with the node: forget it so a later start picks anew. */
	n->has_claim = false;
	n->st.has_claim = false;
	save_state(n, 0);
	n->state = NS_STOPPING;
	n->p2p = w2w_p2p_free(n->p2p);
	if (!n->wg || wgsync_remove(n->wg, on_removed, n) < 0)
		finish_stop(n);
}

int w2w_node_new(struct w2w_node **out, struct w2w_loop *loop, const struct w2w_config *cfg,
		 w2w_node_event_fn fn, void *ud)
{
	struct w2w_node *n;
	uint8_t pb[IDENT_PRIVPB_LEN];
	int len, r = -ENOMEM;

	if (!loop || !cfg || !out)
		return -EINVAL;
	if (!cfg->id || !cfg->has_wg_priv || !cfg->has_psk)
		return W2W_ESTATE; /* secrets missing: load with W2W_CONFIG_GENERATE */
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->r = loop_reactor(loop);
	n->fn = fn;
	n->ud = ud;
	n->log.fn = log_sink;
	n->log.ud = n;
	n->log.max_level = -1; /* no sink yet (w2w_node_set_log) */
	n->psk = secure_alloc(32);
	n->wg_priv = secure_alloc(32);
	if (!n->psk || !n->wg_priv)
		goto fail;
	memcpy(n->psk, cfg->sec->psk, 32);
	memcpy(n->wg_priv, cfg->sec->wg_priv, 32);
	if (wgkey_public(n->wg_pub, n->wg_priv) < 0) {
		r = W2W_EPARSE;
		goto fail;
	}
	wgkey_to_b64(n->wg_pub_b64, n->wg_pub);
	len = ident_to_privkey_pb(cfg->id, pb, sizeof(pb));
	if (len < 0) {
		r = len;
		goto fail;
	}
	r = ident_from_privkey_pb(&n->id, pb, (size_t)len);
	secure_wipe(pb, sizeof(pb));
	if (r < 0)
		goto fail;
	id_str(ident_peerid(n->id), n->peer_id, sizeof(n->peer_id));
	snprintf(n->ifname, sizeof(n->ifname), "%s", cfg->ifname);
	snprintf(n->name, sizeof(n->name), "%.64s", cfg->node_name);
	snprintf(n->listen_addr, sizeof(n->listen_addr), "%s", cfg->listen_addr);
	snprintf(n->state_dir, sizeof(n->state_dir), "%s", cfg->state_dir);
	if (cfg->state_dir[0])
		snprintf(n->state_path, sizeof(n->state_path), "%s/state", cfg->state_dir);
	n->wg_port = (uint16_t)cfg->listen_port;
	n->keepalive_s = cfg->keepalive_s;
	n->mtu = cfg->mtu;
	n->backend = cfg->backend;
	n->announce_us = cfg->announce_ms * 1000;
	n->expiry_us = (cfg->peer_expiry_ms ? cfg->peer_expiry_ms : 3 * cfg->announce_ms + 10000) * 1000;
	memset(&n->range, 0, sizeof(n->range));
	n->range.family = (uint8_t)cfg->range.family;
	memcpy(n->range.net, cfg->range.addr, 16);
	n->range.plen = (uint8_t)cfg->range.len;
	if (cfg->address_family) {
		n->has_static = true;
		n->static_claim.addr.family = (uint8_t)cfg->address_family;
		memcpy(n->static_claim.addr.ip, cfg->address, 16);
		n->static_claim.claimed_ms = 0; /* the oldest possible claim: pins win */
	}
	if (ma_text_ip(n->listen_addr, &n->listen_ip, &n->listen_tcp) == false)
		memset(&n->listen_ip, 0, sizeof(n->listen_ip));
	n->pt = pt_new(PT_MAX_DEFAULT);
	if (!n->pt) {
		r = -ENOMEM;
		goto fail;
	}
	nodestate_init(&n->st);
	/* Bootstrap addresses join the learned ones: both are dialled until connected. */
	for (size_t i = 0; i < cfg->n_bootstrap; i++)
		nodestate_add_peer(&n->st, cfg->bootstrap[i]);
	rtimer_init(&n->t_announce, on_announce_timer, n);
	rtimer_init(&n->t_announce_soon, on_announce_soon, n);
	rtimer_init(&n->t_reconcile, on_reconcile, n);
	rtimer_init(&n->t_grace, on_reconcile, n);
	rtimer_init(&n->t_assigned, on_initial_address, n);
	rtimer_init(&n->t_save, save_state, n);
	rtimer_init(&n->t_expire, on_expire, n);
	rtimer_init(&n->t_redial, on_redial, n);
	rtimer_init(&n->t_refresh, on_refresh, n);
	rtimer_init(&n->t_leave, on_leave_flushed, n);
	rtimer_init(&n->t_stopped, on_stopped_timer, n);
	n->state = NS_NEW;
	*out = n;
	return 0;
fail:
	w2w_node_free(n);
	return r;
}

struct w2w_node *w2w_node_free(struct w2w_node *n)
{
	if (!n)
		return NULL;
	shutdown_node(n);
	pt_free(n->pt);
	nodestate_free(&n->st);
	ident_free(n->id);
	secure_free(n->psk);
	secure_free(n->wg_priv);
	free(n->ci);
	free(n);
	return NULL;
}

int w2w_node_set_log(struct w2w_node *n, w2w_log_fn fn, void *ud, int max_level)
{
	if (!n)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	n->log_fn = fn;
	n->log_ud = ud;
	n->log.max_level = fn ? max_level : -1;
	if (n->p2p)
		w2w_p2p_set_log(n->p2p, p2p_log, n, n->log.max_level);
	return 0;
}

int w2w_node_start(struct w2w_node *n)
{
	struct wgsync_config wc;
	char ip[64], key[2 * IDENT_PRIVPB_LEN], psk[64];
	uint8_t pb[IDENT_PRIVPB_LEN];
	int len, r;

	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state != NS_NEW)
		return W2W_ESTATE;
	if (n->state_dir[0]) {
		r = os_mkdir_p(n->state_dir, 0700);
		if (r < 0) {
			log_err(&n->log, "state directory %s: %s", n->state_dir, err_str(r));
			return r;
		}
		load_state(n);
	}

	/* Our address: pinned, else the persisted claim (with its original time),
	 * else our first candidate; the mesh's claims may move it later. */
	if (n->has_static) {
		n->claim = n->static_claim;
		n->has_claim = true;
	} else if (n->st.has_claim && ipam_usable(&n->range, &n->st.claim.addr)) {
		n->claim = n->st.claim;
		n->has_claim = true;
	} else {
		bool changed;

		if (ipam_pick(&n->range, ident_peerid(n->id), NULL, NULL, 0, os_wall_ms(), &n->claim, &changed) == 0)
			n->has_claim = true;
	}

	memset(&wc, 0, sizeof(wc));
	wc.ifname = n->ifname;
	wc.backend = n->backend;
	wc.mtu = n->mtu;
	wc.keep_roamed_secs = KEEP_ROAMED_S;
	wc.done = on_wg_done;
	wc.ud = n;
	wc.os = loop_wg_os(n->loop); /* NULL but in tests (docs/wireguard.md) */
	r = wgsync_new(n->r, &n->log, &wc, &n->wg);
	if (r < 0) {
		log_err(&n->log, "netlink: %s", err_str(r));
		return r;
	}

	len = ident_to_privkey_pb(n->id, pb, sizeof(pb));
	if (len < 0)
		return len;
	/* The host takes keys as text, like every public API (decoded in constant time). */
	r = secret_to_b64(key, sizeof(key), pb, (size_t)len);
	if (r >= 0)
		r = secret_to_b64(psk, sizeof(psk), n->psk, 32);
	if (r >= 0)
		r = w2w_p2p_new(&n->p2p, n->loop, key, psk, on_p2p_event, n);
	secure_wipe(pb, sizeof(pb));
	secure_wipe(key, sizeof(key));
	secure_wipe(psk, sizeof(psk));
	if (r < 0)
		return r;
	w2w_p2p_set_log(n->p2p, p2p_log, n, n->log.max_level);
	/* A refused first dial (peers starting together) is retried within 250 ms;
	 * the host's backoff still grows from there for peers that stay away. */
	w2w_p2p_set_option(n->p2p, W2W_P2P_OPT_DIAL_BACKOFF_MS, 250);
	n->state = NS_RUNNING;
	n->started_us = os_now_us();
	r = w2w_p2p_listen(n->p2p, n->listen_addr);
	if (r < 0) {
		log_err(&n->log, "cannot listen on %s: %s", n->listen_addr, err_str(r));
		n->state = NS_NEW;
		n->p2p = w2w_p2p_free(n->p2p);
		wgsync_free(n->wg);
		n->wg = NULL;
		return r;
	}
	r = w2w_p2p_subscribe(n->p2p, TOPIC);
	if (r < 0)
		log_err(&n->log, "subscribe %s: %s", TOPIC, err_str(r));

	if (n->has_claim) {
		ip_str(&n->claim.addr, ip, sizeof(ip));
		log_info(&n->log, "node %s, peer %s, address %s, WireGuard %s", n->name, n->peer_id, ip,
			 n->wg_pub_b64);
	}
	for (size_t i = 0; i < n->st.n_peers; i++)
		dial_text(n, n->st.peers[i]);
	soon(n, &n->t_reconcile, 0);
	n->announce_step_us = 0;
	arm_in(n, &n->t_announce, 1000000 < n->announce_us ? 1000000 : n->announce_us);
	arm_in(n, &n->t_redial, REDIAL_ALONE_US);
	arm_in(n, &n->t_refresh, REFRESH_US);
	/* the end of the restart grace period: drop peers that stayed silent */
	reactor_timer_arm(n->r, &n->t_grace, n->started_us + n->expiry_us + 1000);
	if (n->has_claim)
		reactor_timer_arm(n->r, &n->t_assigned, 0);
	return 0;
}

int w2w_node_join(struct w2w_node *n, const char *ma)
{
	uint8_t bin[MA_MAX_BIN];
	struct peerid pid;
	int len;

	if (!n || !ma)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	len = ma_parse(bin, sizeof(bin), ma, strlen(ma));
	if (len < 0 || ma_peer(bin, (size_t)len, &pid) < 0)
		return W2W_EPARSE; /* a bootstrap address must name its peer (/p2p/<id>) */
	if (n->state != NS_RUNNING && n->state != NS_NEW)
		return W2W_ESTATE;
	learn_peer_addr(n, ma);
	if (n->state == NS_RUNNING)
		dial_text(n, ma);
	return 0;
}

int w2w_node_stop(struct w2w_node *n)
{
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state == NS_NEW) {
		n->state = NS_STOPPING;
		reactor_timer_arm(n->r, &n->t_stopped, 0);
		return 0;
	}
	if (n->state != NS_RUNNING && n->state != NS_LEAVING)
		return W2W_ESTATE;
	log_info(&n->log, "stopping; %s keeps its address and peers", n->ifname);
	finish_stop(n);
	return 0;
}

int w2w_node_leave(struct w2w_node *n)
{
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state != NS_RUNNING)
		return W2W_ESTATE;
	log_info(&n->log, "leaving the mesh");
	publish(n, ANN_F_LEAVING);
	n->state = NS_LEAVING;
	disarm_all(n);
	arm_in(n, &n->t_leave, LEAVE_FLUSH_US);
	return 0;
}

/* ---- snapshots ---- */

struct snap_node {
	char name[ANN_NAME_MAX + 1];
	char peer_id[PEERID_STR_MAX];
	char address[INET6_ADDRSTRLEN];
	char endpoint[WGENDPOINT_STRLEN];
	char wg_pub[WG_KEY_B64_LEN + 1];
	int64_t last_handshake;
	uint64_t rx, tx;
	int connected;
};

struct w2w_snapshot {
	struct snap_node self;
	struct snap_node *peers;
	size_t n_peers;
	char (*join)[MA_MAX_TEXT];
	size_t n_join;
};

struct w2w_snapshot *w2w_node_snapshot(struct w2w_node *n)
{
	struct w2w_snapshot *s = calloc(1, sizeof(*s));
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	size_t np = pt_count(n->pt);

	if (!s)
		return NULL;
	snprintf(s->self.name, sizeof(s->self.name), "%s", n->name);
	snprintf(s->self.peer_id, sizeof(s->self.peer_id), "%s", n->peer_id);
	snprintf(s->self.wg_pub, sizeof(s->self.wg_pub), "%s", n->wg_pub_b64);
	if (n->has_claim)
		ip_str(&n->claim.addr, s->self.address, sizeof(s->self.address));
	s->peers = calloc(np ? np : 1, sizeof(*s->peers));
	s->join = calloc(4, sizeof(*s->join));
	if (!s->peers || !s->join)
		return w2w_snapshot_free(s);
	for (size_t i = 0; i < np; i++) {
		const struct pt_entry *e = pt_at(n->pt, i);
		struct snap_node *p = &s->peers[i];
		struct conninfo *c = ci_find(n, &e->id, false);
		struct wgpeer *wp = dev ? wgdev_find_peer(dev, e->ann.wg_pub) : NULL;

		snprintf(p->name, sizeof(p->name), "%s", e->ann.name);
		id_str(&e->id, p->peer_id, sizeof(p->peer_id));
		wgkey_to_b64(p->wg_pub, e->ann.wg_pub);
		if (e->ann.n_claims)
			ip_str(&e->ann.claims[0].addr, p->address, sizeof(p->address));
		p->connected = c && c->connected;
		if (wp) {
			if (wgendpoint_format(p->endpoint, sizeof(p->endpoint), &wp->endpoint) < 0)
				p->endpoint[0] = '\0';
			p->last_handshake = wp->last_handshake_time.tv_sec;
			p->rx = wp->rx_bytes;
			p->tx = wp->tx_bytes;
		}
	}
	s->n_peers = np;
	/* Join addresses: what we listen on when specific, and where peers see us. */
	if (n->p2p) {
		for (size_t i = 0; s->n_join < 4; i++) {
			char ma[MA_MAX_TEXT];
			struct ann_ip ip;

			if (w2w_p2p_listen_addr(n->p2p, i, ma, sizeof(ma)) < 0)
				break;
			if (ma_text_ip(ma, &ip, NULL) && ip_unspecified(&ip))
				continue;
			snprintf(s->join[s->n_join++], MA_MAX_TEXT, "%s", ma);
		}
		for (size_t i = 0; i < n->n_observed && s->n_join < 4; i++) {
			char ma[MA_MAX_TEXT];
			uint8_t b[MA_MAX_BIN];
			int len = ma_from_ip(b, sizeof(b), n->observed[i].family, n->observed[i].ip, n->listen_tcp,
					     true, ident_peerid(n->id));

			if (len < 0 || ma_format(ma, sizeof(ma), b, (size_t)len) < 0)
				continue;
			bool dup = false;
			for (size_t j = 0; j < s->n_join; j++)
				dup |= !strcmp(s->join[j], ma);
			if (!dup)
				snprintf(s->join[s->n_join++], MA_MAX_TEXT, "%s", ma);
		}
	}
	return s;
}

struct w2w_snapshot *w2w_snapshot_free(struct w2w_snapshot *s)
{
	if (!s)
		return NULL;
	free(s->peers);
	free(s->join);
	free(s);
	return NULL;
}

/* NULL past the end: string getters return NULL, numeric ones 0 (node.h). */
static const struct snap_node *snap_at(const struct w2w_snapshot *s, size_t i)
{
	if (i == W2W_SNAPSHOT_SELF)
		return &s->self;
	return i < s->n_peers ? &s->peers[i] : NULL;
}

size_t w2w_snapshot_peer_count(const struct w2w_snapshot *s)
{
	return s->n_peers;
}

const char *w2w_snapshot_name(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->name : NULL;
}

const char *w2w_snapshot_peer_id(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->peer_id : NULL;
}

const char *w2w_snapshot_address(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->address : NULL;
}

const char *w2w_snapshot_endpoint(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->endpoint : NULL;
}

const char *w2w_snapshot_wg_public_key(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->wg_pub : NULL;
}

int64_t w2w_snapshot_last_handshake(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->last_handshake : 0;
}

uint64_t w2w_snapshot_rx_bytes(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->rx : 0;
}

uint64_t w2w_snapshot_tx_bytes(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->tx : 0;
}

int w2w_snapshot_connected(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->connected : 0;
}

size_t w2w_snapshot_join_addr_count(const struct w2w_snapshot *s)
{
	return s->n_join;
}

const char *w2w_snapshot_join_addr(const struct w2w_snapshot *s, size_t i)
{
	return i < s->n_join ? s->join[i] : NULL;
}
