/* SPDX-License-Identifier: MIT */
/*
 * The mesh node (include/w2wesher/node.h): glue between the mesh node engine
 * (lib/mesh/meshnode.h, which makes every decision: announcements, peer
 * table, IPAM, first handshakes, restart grace, expiry, redial), the libp2p
 * host (p2phost.h, gossipsub topic "w2w:announces"), the WireGuard interface
 * (wgsync) and the state file. Rules and their reasons: docs/mesh.md.
 *
 * Everything runs from loop callbacks. The engine's deadlines drive one timer
 * (t_mesh), re-armed after every input.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gossipsub.h"
#include "ipam.h"
#include "loop_internal.h"
#include "node_internal.h"
#include "node_relay.h"
#include "nodestate.h"
#include "osclock.h"
#include "p2phost.h"
#include "secmem.h"

#define LEAVE_FLUSH_US (400 * 1000)     /* time for the leave announcement to propagate */
#define KEEP_ROAMED_S 180               /* keep an endpoint with a handshake this recent */

/* ---- events and logging ---- */

void node_emit(struct w2w_node *n, enum w2w_node_event_type type, const char *peer_id, const char *name,
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

	wlog_relay(&n->log, level, "p2p: ", msg); /* limited by the host's own wlog */
}

/* ---- helpers ---- */

void node_id_str(const struct peerid *id, char *out, size_t cap)
{
	if (peerid_to_b58(out, cap, id) < 0 && cap)
		out[0] = '\0';
}

/* After every input to the engine: its earliest deadline drives t_mesh. */
void node_mesh_rearm(struct w2w_node *n)
{
	uint64_t d = n->mesh ? mn_next_deadline(n->mesh) : UINT64_MAX;

	if (d == UINT64_MAX)
		reactor_timer_disarm(n->r, &n->t_mesh);
	else
		reactor_timer_arm(n->r, &n->t_mesh, d);
}

static void on_mesh_timer(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	mn_tick(n->mesh, now);
	node_mesh_rearm(n);
}

/* ---- libp2p events ---- */

/* A failed dial of an mDNS candidate: the engine forgets it, so its next answer
 * (every MDNSInterval) is a new candidate and dialled again, under the engine's
 * token bucket and the host's backoff. A pnet failure reports no peer: the
 * dialled address names it. */
static void mdns_dial_failed(struct w2w_node *n, const struct p2ph_event *ev)
{
	uint8_t bin[MA_MAX_BIN];
	struct peerid pid;
	int len;

	if (ev->peer) {
		nmdns_forget(n->mdns, ev->peer);
		return;
	}
	len = ev->dial_text ? ma_parse(bin, sizeof(bin), ev->dial_text, strlen(ev->dial_text)) : -1;
	if (len > 0 && ma_peer(bin, (size_t)len, &pid) == 0)
		nmdns_forget(n->mdns, &pid);
}

/* gossipsub validation (issue #15): an announcement that does not decode is
 * neither delivered, nor cached, nor forwarded, and counts against the peer
 * that sent it, so junk stops at the first hop instead of every relay holding
 * and passing it on. A future announcement format must keep decoding here
 * (new optional keys, docs/mesh.md) or relays of this version drop it. */
static int validate_msg(void *ud, const char *topic, const uint8_t *data, size_t len)
{
	struct w2w_node *n = ud;
	struct announce a;

	if (strcmp(topic, NODE_TOPIC) != 0)
		return GS_ACCEPT;
	if (ann_decode(data, len, &a) >= 0)
		return GS_ACCEPT;
	log_warn(&n->log, "malformed announcement (%zu bytes): dropped, not forwarded", len);
	return GS_REJECT;
}

static void on_p2p_event(void *ud, const struct p2ph_event *ev)
{
	struct w2w_node *n = ud;
	char text[MA_MAX_TEXT + PEERID_STR_MAX] = "?", id[PEERID_STR_MAX] = "?";
	uint64_t now = os_now_us();
	struct ann_ip ip;

	if (n->state != NS_RUNNING && n->state != NS_LEAVING)
		return;
	if (ev->addr && ma_format(text, sizeof(text), ev->addr, ev->addr_len) < 0)
		snprintf(text, sizeof(text), "?");
	if (ev->peer)
		node_id_str(ev->peer, id, sizeof(id));
	switch (ev->type) {
	case W2W_P2P_EV_LISTENING: {
		size_t len = strlen(text);
		uint16_t port = 0;

		/* The bound port, not the configured one: /tcp/0 is announced as the
		 * port the kernel picked (peers that learn of us through a third node
		 * dial it). */
		if (ev->addr && ann_ip_from_ma(ev->addr, ev->addr_len, &ip, &port) && port) {
			n->listen_tcp = port;
			mn_on_listening(n->mesh, port, now);
		}

		snprintf(text + len, sizeof(text) - len, "/p2p/%s", n->peer_id);
		node_emit(n, W2W_NODE_EV_LISTENING, n->peer_id, n->name, text, NULL, 0);
		break;
	}
	case W2W_P2P_EV_CONNECTED:
		if (!ev->peer)
			break;
		log_info(&n->log, "connected to %s (%s, %s)", id, text, ev->inbound ? "inbound" : "outbound");
		mn_on_connected(n->mesh, ev->peer, ev->addr && ann_ip_from_ma(ev->addr, ev->addr_len, &ip, NULL) ? &ip : NULL,
				now);
		break;
	case W2W_P2P_EV_SUBSCRIBED:
		if (ev->peer && ev->topic && !strcmp(ev->topic, NODE_TOPIC))
			mn_on_subscribed(n->mesh, ev->peer, now);
		break;
	case W2W_P2P_EV_DISCONNECTED:
		if (ev->peer)
			mn_on_disconnected(n->mesh, ev->peer);
		nmdns_forget(n->mdns, ev->peer); /* its next mDNS answer is news again */
		log_info(&n->log, "disconnected from %s: %s", id, ev->reason ? ev->reason : "closed");
		break;
	case W2W_P2P_EV_DIAL_FAILED:
		log_debug(&n->log, "dial %s failed: %s", ev->dial_text ? ev->dial_text : "?", ev->reason ? ev->reason : "");
		if (n->mdns)
			mdns_dial_failed(n, ev);
		break;
	case W2W_P2P_EV_PING:
		if (ev->peer)
			mn_on_alive(n->mesh, ev->peer, now);
		break;
	case W2W_P2P_EV_IDENTIFY:
		if (ev->info->observed_addr.len &&
		    ann_ip_from_ma(ev->info->observed_addr.b, ev->info->observed_addr.len, &ip, NULL))
			mn_on_observed(n->mesh, &ip, now);
		if (ev->peer)
			mn_on_identify(n->mesh, ev->peer, ev->info->admission, ev->info->admission_len, now);
		break;
	case W2W_P2P_EV_MESSAGE:
		if (ev->from && ev->topic && !strcmp(ev->topic, NODE_TOPIC)) {
			n->cnt.ann_in++;
			mn_on_message(n->mesh, ev->from, ev->data, ev->len, now);
		}
		break;
	default:
		break;
	}
	node_mesh_rearm(n);
}

/* ---- life cycle ---- */

static void on_stopped_timer(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	n->state = NS_STOPPED;
	node_emit(n, W2W_NODE_EV_STOPPED, n->peer_id, n->name, NULL, NULL, 0);
}

static void disarm_all(struct w2w_node *n)
{
	struct rtimer *ts[] = {&n->t_mesh, &n->t_refresh, &n->t_leave, &n->t_stopped, &n->t_adm, &n->t_upw};

	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		reactor_timer_disarm(n->r, ts[i]);
}

/* Releases sockets and timers; the WireGuard interface is left as it is. */
static void shutdown_node(struct w2w_node *n)
{
	bool save = n->state == NS_RUNNING || n->state == NS_LEAVING;

	disarm_all(n);
	n->mdns = nmdns_free(n->mdns); /* the goodbye goes out while the socket is open */
	if (n->mesh)
		mn_stop(n->mesh);
	if (save && n->mesh)
		mn_save(n->mesh);
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
		node_emit(n, W2W_NODE_EV_ERROR, NULL, NULL, NULL, "removing the interface", err);
	finish_stop(n);
}

static void on_leave_flushed(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	/* The claim is released with the node: forget it so a later start picks anew. */
	mn_release_claim(n->mesh);
	mn_save(n->mesh);
	n->state = NS_STOPPING;
	n->p2p = w2w_p2p_free(n->p2p);
	if (!n->wg || wgsync_remove(n->wg, on_removed, n) < 0)
		finish_stop(n);
}

/* The engine, configured from cfg (after the node's own fields). */
static int mesh_new(struct w2w_node *n, const struct w2w_config *cfg)
{
	struct mn_config mc;
	uint8_t bin[MA_MAX_BIN];
	int r, blen;

	memset(&mc, 0, sizeof(mc));
	mc.self = ident_peerid(n->id);
	mc.name = n->name;
	mc.ifname = n->ifname;
	mc.wg_priv = n->wg_priv;
	mc.wg_pub = n->wg_pub;
	mc.wg_port = (uint16_t)cfg->listen_port;
	mc.keepalive_s = cfg->keepalive_s > 0 ? (uint16_t)cfg->keepalive_s : 0;
	mc.range.family = (uint8_t)cfg->range.family;
	memcpy(mc.range.net, cfg->range.addr, 16);
	mc.range.plen = (uint8_t)cfg->range.len;
	if (cfg->address_family) {
		mc.has_static = true;
		mc.static_claim.addr.family = (uint8_t)cfg->address_family;
		memcpy(mc.static_claim.addr.ip, cfg->address, 16);
		mc.static_claim.claimed_ms = 0; /* the oldest possible claim: pins win */
	}
	/* the engine's periodic announcement is the rare refresh; AnnounceInterval
	 * (Go's liveness interval) only derives the PeerExpiry default */
	mc.announce_us = cfg->refresh_ms * 1000;
	/* w2w_config_check() derives the default; a config that skipped it gets the same one */
	mc.expiry_us = (cfg->peer_expiry_ms ? cfg->peer_expiry_ms : mn_default_expiry_ms(cfg->announce_ms)) * 1000;
	blen = ma_parse(bin, sizeof(bin), n->listen_addr, strlen(n->listen_addr));
	if (blen < 0 || !ann_ip_from_ma(bin, (size_t)blen, &mc.listen_ip, &n->listen_tcp))
		memset(&mc.listen_ip, 0, sizeof(mc.listen_ip));
	mc.listen_tcp = n->listen_tcp;
	mc.relay = cfg->relay;
	mc.relay_max_pairs = cfg->relay_max_pairs;
	n->relay_rate = cfg->relay_rate;
	mc.rotate_us = cfg->key_rotation_ms * 1000;
	mc.log = &n->log;
	mc.adm_keys = (const uint8_t(*)[32])cfg->adm_keys;
	mc.n_adm_keys = cfg->n_adm_keys;
	r = mn_new(&n->mesh, &mc, &node_mesh_ops, n);
	if (r < 0)
		return r;
	if (node_admission_token(n, cfg->adm_token) == 0)
		mn_set_token(n->mesh, n->adm_tok, n->adm_tok_len, 0);
	/* Bootstrap addresses join the learned ones: both are dialled until connected. */
	for (size_t i = 0; i < cfg->n_bootstrap; i++)
		nodestate_add_peer(mn_state(n->mesh), cfg->bootstrap[i]);
	return 0;
}

/* The mesh's per-pair WireGuard PSKs follow the network PSKs (mesh/pairpsk.h). */
static int mesh_psks(struct w2w_node *n)
{
	const uint8_t *keys[2];
	size_t k = 0;

	if (!n->pair_psk)
		return 0;
	if (n->has_next_psk)
		keys[k++] = n->psk + 32;
	keys[k++] = n->psk;
	return mn_set_psks(n->mesh, keys, k, os_now_us());
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
	n->psk = secure_alloc(64);
	n->wg_priv = secure_alloc(32);
	n->wg_next = secure_alloc(32);
	if (!n->psk || !n->wg_priv || !n->wg_next)
		goto fail;
	memcpy(n->psk, cfg->sec->psk, 32);
	if (cfg->has_next_psk && !ct_eq(cfg->sec->psk, cfg->sec->next_psk, 32)) {
		memcpy(n->psk + 32, cfg->sec->next_psk, 32);
		n->has_next_psk = true;
	}
	memcpy(n->wg_priv, cfg->sec->wg_priv, 32);
	if (wgkey_public(n->wg_pub, n->wg_priv) < 0) {
		r = W2W_EPARSE;
		goto fail;
	}
	memcpy(n->wg_base_pub, n->wg_pub, 32);
	wgkey_to_b64(n->wg_pub_b64, n->wg_pub);
	if (cfg->state_dir[0]) {
		/* a rotated key (and one under way) wins over the configured one */
		snprintf(n->key_path, sizeof(n->key_path), "%s/wgkey", cfg->state_dir);
		node_keys_load(n);
	}
	len = ident_to_privkey_pb(cfg->id, pb, sizeof(pb));
	if (len < 0) {
		r = len;
		goto fail;
	}
	r = ident_from_privkey_pb(&n->id, pb, (size_t)len);
	secure_wipe(pb, sizeof(pb));
	if (r < 0)
		goto fail;
	node_id_str(ident_peerid(n->id), n->peer_id, sizeof(n->peer_id));
	snprintf(n->ifname, sizeof(n->ifname), "%s", cfg->ifname);
	snprintf(n->name, sizeof(n->name), "%.64s", cfg->node_name);
	snprintf(n->listen_addr, sizeof(n->listen_addr), "%s", cfg->listen_addr);
	snprintf(n->state_dir, sizeof(n->state_dir), "%s", cfg->state_dir);
	if (cfg->state_dir[0])
		snprintf(n->state_path, sizeof(n->state_path), "%s/state", cfg->state_dir);
	n->mtu = cfg->mtu;
	n->backend = cfg->backend;
	n->mdns_on = cfg->mdns;
	memcpy(n->mdns_ifaces, cfg->mdns_ifaces, sizeof(n->mdns_ifaces));
	n->n_mdns_ifaces = cfg->n_mdns_ifaces;
	n->mdns_interval_us = cfg->mdns_interval_ms * 1000;
	n->range = cfg->range;
	n->pair_psk = cfg->pair_psk;
	r = mesh_new(n, cfg);
	if (r >= 0)
		r = mesh_psks(n);
	if (r < 0)
		goto fail;
	rtimer_init(&n->t_mesh, on_mesh_timer, n);
	rtimer_init(&n->t_refresh, node_on_refresh, n);
	rtimer_init(&n->t_leave, on_leave_flushed, n);
	rtimer_init(&n->t_stopped, on_stopped_timer, n);
	node_admission_init(n);
	node_upgrade_init(n);
	n->state = NS_NEW;
	*out = n;
	return 0;
fail:
	w2w_node_free(n);
	return r;
}

int w2w_node_set_psk(struct w2w_node *n, const struct w2w_config *cfg)
{
	char psk[64], next[64];
	bool has_next;
	int r = 0;

	if (!n || !cfg)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (!cfg->has_psk)
		return W2W_ESTATE;
	has_next = cfg->has_next_psk && !ct_eq(cfg->sec->psk, cfg->sec->next_psk, 32);
	if (n->p2p) {
		r = secret_to_b64(psk, sizeof(psk), cfg->sec->psk, 32);
		if (r >= 0 && has_next)
			r = secret_to_b64(next, sizeof(next), cfg->sec->next_psk, 32);
		if (r >= 0)
			r = w2w_p2p_set_psk(n->p2p, psk, has_next ? next : NULL);
		secure_wipe(psk, sizeof(psk));
		secure_wipe(next, sizeof(next));
		if (r < 0)
			return r;
	}
	memcpy(n->psk, cfg->sec->psk, 32);
	secure_wipe(n->psk + 32, 32);
	if (has_next)
		memcpy(n->psk + 32, cfg->sec->next_psk, 32);
	n->has_next_psk = has_next;
	r = mesh_psks(n);
	node_mesh_rearm(n);
	if (r < 0)
		return r;
	log_info(&n->log, "network PSK reloaded: %s", has_next ? "current and next key (rotation in progress)"
								   : "one key");
	return 0;
}

struct w2w_node *w2w_node_free(struct w2w_node *n)
{
	if (!n)
		return NULL;
	shutdown_node(n);
	mn_free(n->mesh);
	ident_free(n->id);
	secure_free(n->psk);
	secure_free(n->wg_priv);
	secure_free(n->wg_next);
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

static int mdns_listen_addr(void *ud, const uint8_t **ma, size_t *len)
{
	struct w2w_node *n = ud;

	return n->p2p ? p2ph_listen_addr(n->p2p, 0, ma, len) : -ENOENT;
}

/* LAN discovery (node_mdns.h): an add-on, so a failure is logged and the node runs on. */
static void mdns_start(struct w2w_node *n)
{
	struct nmdns_cfg mc = {
	    .self = ident_peerid(n->id),
	    .ifaces = (const char (*)[16])n->mdns_ifaces,
	    .n_ifaces = n->n_mdns_ifaces,
	    .wg_ifname = n->ifname,
	    .overlay = &n->range,
	    .interval_us = n->mdns_interval_us,
	    .log = &n->log,
	    .listen_addr = mdns_listen_addr,
	    .dial = node_op_dial,
	    .ud = n,
	};
	int r = nmdns_new(&n->mdns, n->r, &mc);

	if (r < 0)
		log_err(&n->log, "mDNS: %s; running without LAN discovery", err_str(r));
}

int w2w_node_start(struct w2w_node *n)
{
	struct wgsync_config wc;
	const struct ann_claim *claim;
	char ip[64], key[2 * IDENT_PRIVPB_LEN], psk[64], next[64];
	uint8_t pb[IDENT_PRIVPB_LEN];
	int len, r;

	if (!n)
		return -EINVAL;
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
		node_load_state(n);
	}

	memset(&wc, 0, sizeof(wc));
	wc.ifname = n->ifname;
	wc.backend = n->backend;
	wc.mtu = n->mtu;
	wc.keep_roamed_secs = KEEP_ROAMED_S;
	wc.done = node_on_wg_done;
	wc.lost = node_on_wg_lost;
	wc.ud = n;
	wc.os = loop_wg_os(n->loop); /* NULL but in tests (docs/wireguard.md) */
	r = wgsync_new(n->r, &n->log, &wc, &n->wg);
	if (r < 0) {
		log_err(&n->log, "netlink: %s", err_str(r));
		goto fail;
	}

	len = ident_to_privkey_pb(n->id, pb, sizeof(pb));
	if (len < 0) {
		r = len;
		goto fail;
	}
	/* The host takes keys as text, like every public API (decoded in constant time). */
	r = secret_to_b64(key, sizeof(key), pb, (size_t)len);
	if (r >= 0)
		r = secret_to_b64(psk, sizeof(psk), n->psk, 32);
	if (r >= 0 && n->has_next_psk)
		r = secret_to_b64(next, sizeof(next), n->psk + 32, 32);
	if (r >= 0)
		r = w2w_p2p_new(&n->p2p, n->loop, key, psk, NULL, NULL);
	if (r >= 0 && n->has_next_psk)
		r = w2w_p2p_set_psk(n->p2p, psk, next);
	secure_wipe(pb, sizeof(pb));
	secure_wipe(key, sizeof(key));
	secure_wipe(psk, sizeof(psk));
	secure_wipe(next, sizeof(next));
	if (r < 0)
		goto fail;
	p2ph_set_event_cb(n->p2p, on_p2p_event, n); /* the binary events (p2phost.h) */
	p2ph_set_validator(n->p2p, validate_msg, n);
	node_admission_start(n);
	w2w_p2p_set_log(n->p2p, p2p_log, n, n->log.max_level);
	/* A refused first dial (peers starting together: the bootstrap node may
	 * not listen yet) is retried within 50 ms (the engine redials that often
	 * in its first second alone); the host's backoff doubles from there
	 * (50, 100, 200 ms, ...) for peers that stay away. */
	w2w_p2p_set_option(n->p2p, W2W_P2P_OPT_DIAL_BACKOFF_MS, 50);
	/* No periodic keepalive per connection: a cost per peer, never flat in
	 * N. The engine's probes (one per period, docs/mesh.md "Liveness") tell
	 * a dead peer instead. */
	w2w_p2p_set_option(n->p2p, W2W_P2P_OPT_KEEPALIVE_MS, 0);
	n->state = NS_RUNNING;
	r = w2w_p2p_listen(n->p2p, n->listen_addr);
	if (r < 0) {
		log_err(&n->log, "cannot listen on %s: %s", n->listen_addr, err_str(r));
		goto fail;
	}
	r = w2w_p2p_subscribe(n->p2p, NODE_TOPIC);
	if (r < 0)
		log_err(&n->log, "subscribe %s: %s", NODE_TOPIC, err_str(r));

	/* Our address (pinned, persisted or first candidate), the first dials and
	 * the schedule: the engine's. */
	mn_start(n->mesh, os_now_us());
	if (n->has_resume) {
		/* killed during a rotation: its next key is persisted (and maybe
		 * pre-configured by peers already): finish it */
		n->has_resume = false;
		mn_rotate_resume(n->mesh, n->resume_pub, os_now_us());
	}
	claim = mn_claim(n->mesh);
	if (claim) {
		ann_ip_str(&claim->addr, ip, sizeof(ip));
		log_info(&n->log, "node %s, peer %s, address %s, WireGuard %s", n->name, n->peer_id, ip,
			 n->wg_pub_b64);
	}
	node_mesh_rearm(n);
	/* soon: the first handshakes are what NAT reflection reports (on_refresh) */
	reactor_timer_arm(n->r, &n->t_refresh, os_now_us() + NODE_REFRESH_US / 20);
	if (n->mdns_on)
		mdns_start(n);
	return 0;
fail:
	/* One exit for every failure, so a retried start begins from scratch
	 * (a second wgsync would leak the first one's netlink sockets). */
	n->state = NS_NEW;
	n->p2p = w2w_p2p_free(n->p2p);
	wgsync_free(n->wg);
	n->wg = NULL;
	return r;
}

int w2w_node_join(struct w2w_node *n, const char *ma)
{
	uint8_t bin[MA_MAX_BIN];
	struct peerid pid;
	int len, r;

	if (!n || !ma)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	len = ma_parse(bin, sizeof(bin), ma, strlen(ma));
	if (len < 0 || ma_peer(bin, (size_t)len, &pid) < 0)
		return W2W_EPARSE; /* a bootstrap address must name its peer (/p2p/<id>) */
	if (n->state != NS_RUNNING && n->state != NS_NEW)
		return W2W_ESTATE;
	r = mn_add_peer_addr(n->mesh, ma, n->state == NS_RUNNING, os_now_us());
	node_mesh_rearm(n);
	return r;
}

int w2w_node_stop(struct w2w_node *n)
{
	if (!n)
		return -EINVAL;
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
	if (!n)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state != NS_RUNNING)
		return W2W_ESTATE;
	log_info(&n->log, "leaving the mesh");
	n->mdns = nmdns_free(n->mdns); /* goodbye: LAN peers forget us now */
	mn_leave(n->mesh, os_now_us());
	n->state = NS_LEAVING;
	disarm_all(n);
	reactor_timer_arm(n->r, &n->t_leave, os_now_us() + LEAVE_FLUSH_US);
	return 0;
}

int w2w_node_rotate_wg_key(struct w2w_node *n)
{
	int r;

	if (!n)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state != NS_RUNNING)
		return W2W_ESTATE;
	r = mn_rotate(n->mesh, os_now_us());
	node_mesh_rearm(n);
	return r;
}
