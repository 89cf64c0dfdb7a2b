/* SPDX-License-Identifier: MIT */
/* What a host reads of a mesh node (include/w2wesher/node.h): the event
 * getters, and snapshots (copies, so the caller may keep one across loop
 * iterations). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2phost.h"

struct snap_node {
	char name[ANN_NAME_MAX + 1];
	char peer_id[PEERID_STR_MAX];
	char address[INET6_ADDRSTRLEN];
	char endpoint[WGENDPOINT_STRLEN];
	char wg_pub[WG_KEY_B64_LEN + 1];
	int64_t last_handshake;
	uint64_t rx, tx;
	int connected;
	const char *path;          /* docs/nat.md */
	char public_ep[WGENDPOINT_STRLEN];
	int nat;
	char via[ANN_NAME_MAX + 1]; /* the relaying member's name */
};

static void ep_text(char *out, size_t cap, const struct ann_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN];

	ann_ip_str(&ep->addr, ip, sizeof(ip));
	snprintf(out, cap, ep->addr.family == 6 ? "[%s]:%u" : "%s:%u", ip, ep->port);
}

struct w2w_snapshot {
	struct snap_node self;
	struct snap_node *peers;
	size_t n_peers;
	char (*join)[MA_MAX_TEXT];
	size_t n_join;
	uint64_t metrics[NODE_METRICS_MAX]; /* node_metrics.c */
};

const uint64_t *node_snapshot_metrics(const struct w2w_snapshot *s)
{
	return s->metrics;
}

struct w2w_snapshot *w2w_node_snapshot(struct w2w_node *n)
{
	struct w2w_snapshot *s = calloc(1, sizeof(*s));
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	const struct peertable *pt = mn_table(n->mesh);
	const struct ann_claim *claim = mn_claim(n->mesh);
	size_t np = pt_count(pt), n_obs;
	const struct ann_ip *obs = mn_observed(n->mesh, &n_obs);

	if (!s)
		return NULL;
	snprintf(s->self.name, sizeof(s->self.name), "%s", n->name);
	snprintf(s->self.peer_id, sizeof(s->self.peer_id), "%s", n->peer_id);
	snprintf(s->self.wg_pub, sizeof(s->self.wg_pub), "%s", n->wg_pub_b64);
	if (claim)
		ann_ip_str(&claim->addr, s->self.address, sizeof(s->self.address));
	s->self.path = "";
	s->self.nat = mn_nat_symmetric(n->mesh) ? 2 : mn_nat_behind(n->mesh) ? 1 : 0;
	if (mn_nat_wep(n->mesh))
		ep_text(s->self.public_ep, sizeof(s->self.public_ep), mn_nat_wep(n->mesh));
	s->peers = calloc(np ? np : 1, sizeof(*s->peers));
	s->join = calloc(4, sizeof(*s->join));
	if (!s->peers || !s->join)
		return w2w_snapshot_free(s);
	for (size_t i = 0; i < np; i++) {
		const struct pt_entry *e = pt_at(pt, i);
		struct snap_node *p = &s->peers[i];
		struct wgpeer *wp = dev ? wgdev_find_peer(dev, e->ann.wg_pub) : NULL;

		snprintf(p->name, sizeof(p->name), "%s", e->ann.name);
		if (peerid_to_b58(p->peer_id, sizeof(p->peer_id), &e->id) < 0)
			p->peer_id[0] = '\0';
		wgkey_to_b64(p->wg_pub, e->ann.wg_pub);
		if (e->ann.n_claims)
			ann_ip_str(&e->ann.claims[0].addr, p->address, sizeof(p->address));
		p->connected = mn_connected(n->mesh, &e->id);
		p->nat = (e->ann.flags & ANN_F_NAT) ? 1 : 0;
		if (e->ann.has_wep)
			ep_text(p->public_ep, sizeof(p->public_ep), &e->ann.wep);
		p->path = wp && wp->last_handshake_time.tv_sec > 0 && wp->endpoint.addr.sa_family != AF_UNSPEC
				  ? "direct"
			  : mn_punched(n->mesh, &e->id) ? "punching"
							 : "none";
		if (mn_relayed_by(n->mesh, &e->id)) {
			const struct pt_entry *re = pt_find(pt, mn_relayed_by(n->mesh, &e->id));

			p->path = "relayed";
			snprintf(p->via, sizeof(p->via), "%s", re ? re->ann.name : "?");
		}
		if (wp) {
			if (wgendpoint_format(p->endpoint, sizeof(p->endpoint), &wp->endpoint) < 0)
				p->endpoint[0] = '\0';
			p->last_handshake = wp->last_handshake_time.tv_sec;
			p->rx = wp->rx_bytes;
			p->tx = wp->tx_bytes;
		}
	}
	s->n_peers = np;
	node_metrics_collect(n, s->metrics);
	/* Join addresses: what we listen on when specific, and where peers see us. */
	if (n->p2p) {
		const uint8_t *lma;
		size_t llen;

		for (size_t i = 0; s->n_join < 4 && p2ph_listen_addr(n->p2p, i, &lma, &llen) == 0; i++) {
			struct ann_ip ip;
			uint16_t port;
			uint8_t b[MA_MAX_BIN];
			int len;

			if (!ann_ip_from_ma(lma, llen, &ip, &port) || ann_ip_unspecified(&ip))
				continue;
			len = ma_from_ip(b, sizeof(b), ip.family, ip.ip, port, true, ident_peerid(n->id));
			if (len >= 0 && ma_format(s->join[s->n_join], MA_MAX_TEXT, b, (size_t)len) >= 0)
				s->n_join++;
		}
		for (size_t i = 0; i < n_obs && s->n_join < 4; i++) {
			char ma[MA_MAX_TEXT];
			uint8_t b[MA_MAX_BIN];
			int len = ma_from_ip(b, sizeof(b), obs[i].family, obs[i].ip, n->listen_tcp, true,
					     ident_peerid(n->id));

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

const char *w2w_snapshot_path(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->path : NULL;
}

const char *w2w_snapshot_public_endpoint(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->public_ep : NULL;
}

const char *w2w_snapshot_via(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->via : NULL;
}

int w2w_snapshot_nat(const struct w2w_snapshot *s, size_t i)
{
	const struct snap_node *e = snap_at(s, i);

	return e ? e->nat : 0;
}

size_t w2w_snapshot_join_addr_count(const struct w2w_snapshot *s)
{
	return s->n_join;
}

const char *w2w_snapshot_join_addr(const struct w2w_snapshot *s, size_t i)
{
	return i < s->n_join ? s->join[i] : NULL;
}

/* ---- events ---- */

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
