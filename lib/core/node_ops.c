/* SPDX-License-Identifier: MIT */
/*
 * The mesh node's side of the engine (lib/mesh/meshnode.h): the ops through
 * which the engine publishes, dials, applies WireGuard, probes, relays and
 * reports events, and the WireGuard sync's completion and refresh timer that
 * feed it back. node.c holds the life cycle and the libp2p events.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "node_internal.h"
#include "node_relay.h"
#include "osclock.h"
#include "p2phost.h"

/* ---- the engine's ops ---- */

static int op_publish(void *ud, const uint8_t *data, size_t len)
{
	struct w2w_node *n = ud;
	int r = n->p2p ? w2w_p2p_publish(n->p2p, NODE_TOPIC, data, len) : W2W_ESTATE;

	if (r < 0)
		n->cnt.ann_out_errors++;
	else
		n->cnt.ann_out++;
	return r;
}

void node_op_dial(void *ud, const uint8_t *ma, size_t len)
{
	struct w2w_node *n = ud;
	int r = n->p2p ? p2ph_dial(n->p2p, ma, len) : W2W_ESTATE;

	if (r < 0 && r != -EALREADY && r != -EAGAIN) {
		char text[MA_MAX_TEXT];

		if (ma_format(text, sizeof(text), ma, len) < 0)
			text[0] = '\0';
		log_debug(&n->log, "dial %s: %s", text, err_str(r));
	}
}

static void op_apply(void *ud, struct wgdevice *desired, const struct ann_claim *claim, uint8_t plen,
		     bool keep_unlisted)
{
	struct w2w_node *n = ud;
	struct rtnl_addr addr;
	size_t naddr = 0;

	if (claim) {
		memset(&addr, 0, sizeof(addr));
		addr.family = claim->addr.family == 4 ? AF_INET : AF_INET6;
		memcpy(addr.addr, claim->addr.ip, claim->addr.family == 4 ? 4 : 16);
		/* the overlay prefix length: the kernel adds the overlay route with it */
		addr.prefixlen = plen;
		naddr = 1;
	}
	wgsync_apply(n->wg, desired, &addr, naddr, keep_unlisted);
}

static bool op_established(void *ud, const uint8_t *wg_pub)
{
	struct w2w_node *n = ud;
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	const struct wgpeer *wp = dev ? wgdev_find_peer(dev, wg_pub) : NULL;

	/* done, or the endpoint is already there (the diff keeps it) */
	return wp && (wp->last_handshake_time.tv_sec || wp->endpoint.addr.sa_family != AF_UNSPEC);
}

static bool op_handshook(void *ud, const uint8_t *wg_pub)
{
	struct w2w_node *n = ud;
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	const struct wgpeer *wp = dev ? wgdev_find_peer(dev, wg_pub) : NULL;

	return wp && wp->last_handshake_time.tv_sec;
}

/* NAT reflection (docs/nat.md): where our device sees the peer, and how old
 * its last handshake is (wall clock: WireGuard reports handshake times so). */
static bool op_wg_peer(void *ud, const uint8_t *wg_pub, struct ann_endpoint *ep, int64_t *hs_age_s, uint64_t *rx)
{
	struct w2w_node *n = ud;
	const struct wgdevice *dev = n->wg ? wgsync_actual(n->wg) : NULL;
	const struct wgpeer *wp = dev ? wgdev_find_peer(dev, wg_pub) : NULL;
	int64_t now_s = (int64_t)(os_wall_us() / 1000000);

	if (!wp)
		return false;
	memset(ep, 0, sizeof(*ep));
	if (wp->endpoint.addr.sa_family == AF_INET) {
		ep->addr.family = 4;
		memcpy(ep->addr.ip, &wp->endpoint.addr4.sin_addr, 4);
		ep->port = ntohs(wp->endpoint.addr4.sin_port);
	} else if (wp->endpoint.addr.sa_family == AF_INET6) {
		ep->addr.family = 6;
		memcpy(ep->addr.ip, &wp->endpoint.addr6.sin6_addr, 16);
		ep->port = ntohs(wp->endpoint.addr6.sin6_port);
	}
	*rx = wp->rx_bytes;
	*hs_age_s = wp->last_handshake_time.tv_sec > 0 && now_s >= wp->last_handshake_time.tv_sec
			    ? now_s - wp->last_handshake_time.tv_sec
			    : -1;
	return true;
}

static int op_relay_open(void *ud, const struct ann_ip *ip_a, const struct ann_ip *ip_b, uint16_t *pa, uint16_t *pb,
			 void **handle)
{
	struct w2w_node *n = ud;

	return node_relay_open(n->r, &n->log, n->relay_rate, ip_a, ip_b, pa, pb, handle);
}

static void op_relay_close(void *ud, void *handle)
{
	struct w2w_node *n = ud;

	node_relay_close(n->r, handle);
}

static void op_relay_seen(void *ud, void *handle, uint16_t *src_a, uint16_t *src_b)
{
	(void)ud;
	node_relay_seen(handle, src_a, src_b);
}

static int op_probe(void *ud, const struct peerid *peer)
{
	struct w2w_node *n = ud;

	return n->p2p ? p2ph_probe(n->p2p, peer) : W2W_ESTATE;
}

/* bounded degree (docs/mesh.md "Scale"): the engine closes a connection
 * neither end wants (mn_on_disconnected may follow from inside, as with probe) */
static void op_hangup(void *ud, const struct peerid *peer)
{
	struct w2w_node *n = ud;

	if (n->p2p)
		p2ph_hangup(n->p2p, peer);
}

static uint64_t op_wall_us(void *ud)
{
	(void)ud;
	return os_wall_us();
}

static void op_event(void *ud, const struct mn_event *ev)
{
	static const enum w2w_node_event_type map[] = {
		[MN_EV_JOINED] = W2W_NODE_EV_JOINED,         [MN_EV_PEER_UP] = W2W_NODE_EV_PEER_UP,
		[MN_EV_PEER_DOWN] = W2W_NODE_EV_PEER_DOWN,   [MN_EV_ADDRESS] = W2W_NODE_EV_ADDRESS_ASSIGNED,
		[MN_EV_WG_APPLIED] = W2W_NODE_EV_WG_APPLIED, [MN_EV_ERROR] = W2W_NODE_EV_ERROR,
		[MN_EV_KEY_ROTATED] = W2W_NODE_EV_KEY_ROTATED,
	};
	struct w2w_node *n = ud;
	char id[PEERID_STR_MAX] = "", ip[64] = "", msg[160];
	const char *message = ev->message;

	if (ev->peer)
		node_id_str(ev->peer, id, sizeof(id));
	if (ev->addr)
		ann_ip_str(ev->addr, ip, sizeof(ip));
	if (ev->type == MN_EV_PEER_UP)
		n->cnt.peers_up++;
	else if (ev->type == MN_EV_PEER_DOWN && message)
		*(!strcmp(message, "expired") ? &n->cnt.peers_expired
		  : !strcmp(message, "left")  ? &n->cnt.peers_left
		                              : &n->cnt.peers_unreachable) += 1;
	if (ev->type == MN_EV_KEY_ROTATED) {
		/* the new public key, in the snapshot and the event's message */
		memcpy(n->wg_pub, ev->wg_pub, 32);
		wgkey_to_b64(n->wg_pub_b64, n->wg_pub);
		log_info(&n->log, "WireGuard key rotated: %s", n->wg_pub_b64);
		node_emit(n, W2W_NODE_EV_KEY_ROTATED, n->peer_id, n->name, NULL, n->wg_pub_b64, 0);
		return;
	}
	if (ev->type == MN_EV_WG_APPLIED) {
		snprintf(msg, sizeof(msg), "%zu added, %zu removed, %zu updated, %zu unchanged (%s)", ev->diff->added,
			 ev->diff->removed, ev->diff->updated, ev->diff->unchanged, wgsync_backend_name(n->wg));
		message = msg;
	}
	node_emit(n, map[ev->type], ev->peer ? id : ev->type == MN_EV_ADDRESS ? n->peer_id : NULL, ev->name,
	     ev->addr ? ip : NULL, message, ev->err);
}

const struct mn_ops node_mesh_ops = {
	.publish = op_publish,
	.dial = node_op_dial,
	.apply = op_apply,
	.save = node_save_state,
	.event = op_event,
	.established = op_established,
	.wall_us = op_wall_us,
	.probe = op_probe,
	.wg_peer = op_wg_peer,
	.relay_open = op_relay_open,
	.relay_close = op_relay_close,
	.relay_seen = op_relay_seen,
	.admit = node_op_admit,
	.save_revocations = node_save_revocations,
	.rotate_prepare = node_keys_prepare,
	.rotate_commit = node_keys_commit,
	.handshook = op_handshook,
	.hangup = op_hangup,
	.wg_probe = node_op_wg_probe,
};

/* ---- WireGuard ---- */

void node_on_wg_done(void *ud, const struct wgsync_result *res)
{
	struct w2w_node *n = ud;
	char msg[160];

	n->cnt.reconcile_runs++;
	if (res->err < 0) {
		n->cnt.reconcile_errors++;
		snprintf(msg, sizeof(msg), "WireGuard %s (%s backend)", n->ifname, wgsync_backend_name(n->wg));
		node_emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, msg, res->err);
		mn_on_wg_failed(n->mesh, os_now_us());
		node_mesh_rearm(n);
		return;
	}
	n->wg_lost = false;
	mn_on_wg_applied(n->mesh, &res->diff, wgsync_busy(n->wg), os_now_us());
	node_mesh_rearm(n);
}

void node_on_wg_lost(void *ud)
{
	struct w2w_node *n = ud;

	if (!n->wg_lost)
		log_info(&n->log, "wireguard %s: the interface is gone: re-creating it", n->ifname);
	n->wg_lost = true;
	mn_on_wg_lost(n->mesh, os_now_us());
	node_mesh_rearm(n);
}

void node_on_refresh(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	const struct wgdevice *dev = wgsync_actual(n->wg);
	const struct wgpeer *wp;
	bool pending = false;
	uint64_t next;

	wgsync_refresh(n->wg);
	/* A full read costs ~330 bytes per peer over UAPI: often for small meshes,
	 * rarely for big ones. While a peer has no handshake yet, 4 times as
	 * often: its first handshake is what NAT reflection reports (docs/nat.md),
	 * and every read it waits delays a punch. */
	if (dev)
		wgdev_for_each_peer(dev, wp) pending |= wp->last_handshake_time.tv_sec <= 0;
	next = pt_count(mn_table(n->mesh)) < 64 ? NODE_REFRESH_US / 5 : NODE_REFRESH_US * 2;
	if (pending && pt_count(mn_table(n->mesh)) < 64)
		next = NODE_REFRESH_US / 20;
	reactor_timer_arm(n->r, &n->t_refresh, now + next);
}
