/* SPDX-License-Identifier: MIT */
/* In-memory world for mesh node engines (mesh_harness.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_harness.h"
#include "multiaddr.h"
#include "wgdiff.h"

enum mh_kind { MH_MSG, MH_CONNECT, MH_APPLIED, MH_PONG };

struct mh_ev {
	uint64_t t, seq;
	int kind;
	int from, to;
	uint8_t *data;
	size_t len;
	struct wgdiff_stats st;
};

static void die(const char *what)
{
	fprintf(stderr, "mesh harness: %s\n", what);
	abort();
}

static void push(struct mh_world *w, int kind, int from, int to, uint64_t delay, const uint8_t *data, size_t len,
		 const struct wgdiff_stats *st)
{
	struct mh_ev *e;

	if (w->nq == w->capq) {
		w->capq = w->capq ? 2 * w->capq : 64;
		w->q = realloc(w->q, w->capq * sizeof(*w->q));
		if (!w->q)
			die("out of memory");
	}
	e = &w->q[w->nq++];
	memset(e, 0, sizeof(*e));
	e->t = w->now + delay;
	e->seq = w->seq++;
	e->kind = kind;
	e->from = from;
	e->to = to;
	if (len) {
		e->data = malloc(len);
		if (!e->data)
			die("out of memory");
		memcpy(e->data, data, len);
		e->len = len;
	}
	if (st)
		e->st = *st;
}

static void underlay_ip(int i, struct ann_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = 4;
	ip->ip[0] = 10;
	ip->ip[3] = (uint8_t)(i + 1);
}

void mh_addr_text(const struct mh_world *w, int i, char *out, size_t cap)
{
	struct ann_ip ip;
	uint8_t b[MA_MAX_BIN];
	int len;

	underlay_ip(i, &ip);
	len = ma_from_ip(b, sizeof(b), 4, ip.ip, 4001, true, &w->nodes[i].id);
	if (len < 0 || ma_format(out, cap, b, (size_t)len) < 0)
		die("multiaddr");
}

static int node_by_pub(const struct mh_world *w, const uint8_t *pub)
{
	for (size_t i = 0; i < w->n; i++)
		if (!memcmp(w->nodes[i].wg_pub, pub, 32))
			return (int)i;
	/* an old or next key of a node that rotates */
	for (size_t i = 0; i < w->n; i++)
		for (size_t k = 0; k < w->nodes[i].n_keys; k++)
			if (!memcmp(w->nodes[i].keys[k], pub, 32))
				return (int)i;
	return -1;
}

static int node_by_id(const struct mh_world *w, const struct peerid *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (peerid_eq(&w->nodes[i].id, id))
			return (int)i;
	return -1;
}

const struct wgpeer *mh_peer_on(const struct mh_world *w, int i, int j)
{
	const struct wgdevice *d = w->nodes[i].actual;

	return d ? wgdev_find_peer(d, w->nodes[j].wg_pub) : NULL;
}

static uint64_t jitter(struct mh_world *w)
{
	if (!w->jitter_us)
		return 0;
	w->rng = w->rng * 1664525u + 1013904223u;
	return (w->rng >> 8) % w->jitter_us;
}

/* ---- the engine's ops ---- */

static int op_publish(void *ud, const uint8_t *data, size_t len)
{
	struct mh_node *x = ud;
	struct mh_world *w = x->w;
	bool seen[MH_MAX] = {false};
	int stack[MH_MAX], sp = 0;
	struct announce a;

	x->publishes++;
	if (ann_decode(data, len, &a) == 0 && (a.flags & ANN_F_LEAVING))
		x->leaving_publishes++;
	/* Every node of the connected component, over live connections. */
	seen[x->idx] = true;
	stack[sp++] = x->idx;
	while (sp) {
		int i = stack[--sp];

		for (size_t j = 0; j < w->n; j++)
			if (!seen[j] && w->nodes[i].connected[j]) {
				seen[j] = true;
				stack[sp++] = (int)j;
				if (x->drop_to[j])
					continue; /* lost (the relay still forwards to the others) */
				push(w, MH_MSG, x->idx, (int)j, MH_LAT_US + w->lat_extra_us[x->idx][j] + jitter(w), data, len, NULL);
			}
	}
	return 0;
}

static int op_send_to(void *ud, const struct peerid *peer, const uint8_t *data, size_t len)
{
	struct mh_node *x = ud;
	struct mh_world *w = x->w;
	int j = node_by_id(w, peer);

	if (j < 0 || !x->connected[j] || w->nodes[j].refuse_direct)
		return -EAGAIN;
	x->directs++;
	if (!x->drop_to[j])
		push(w, MH_MSG, x->idx, j, MH_LAT_US + w->lat_extra_us[x->idx][j] + jitter(w), data, len, NULL);
	return 0;
}

static void op_dial(void *ud, const uint8_t *ma, size_t len)
{
	struct mh_node *x = ud;
	struct peerid pid;
	int j = -1;

	x->dials++;
	if (ma_peer(ma, len, &pid) < 0 || (j = node_by_id(x->w, &pid)) < 0)
		die("dial of an unknown address");
	x->dialed[j]++;
	push(x->w, MH_CONNECT, x->idx, j, MH_DIAL_US, NULL, 0, NULL);
}

static bool op_established(void *ud, const uint8_t *wg_pub);

static void op_apply(void *ud, struct wgdevice *desired, const struct ann_claim *addr, uint8_t plen,
		     bool keep_unlisted)
{
	struct mh_node *x = ud;
	struct wgdiff_opts o = {.keep_unlisted = keep_unlisted};
	struct wgdevice *update = NULL;
	struct wgdiff_stats st;
	bool had_addr = x->has_addr; /* this apply re-creates peers before it adds an address */

	(void)plen;
	x->applies++;
	for (const struct wgpeer *p = desired->first_peer; p; p = p->next_peer) {
		int j = node_by_pub(x->w, p->public_key);

		if (j < 0)
			die("a peer that is no node");
		if (memcmp(p->public_key, x->w->nodes[j].wg_pub, 32))
			continue; /* an old or next key (rotation): no first-handshake statistics */
		if (!p->first_allowedip)
			x->held_all[j] = true;
		else if (p->endpoint.addr.sa_family == AF_UNSPEC)
			x->held_endpoint[j] = true;
		if (p->first_allowedip && !x->routed_at[j])
			x->routed_at[j] = x->w->now ? x->w->now : 1;
	}
	x->last_keep_unlisted = keep_unlisted;
	x->has_addr = addr != NULL;
	if (addr)
		x->addr = addr->addr;
	if (addr && !x->addr_at)
		x->addr_at = x->w->now ? x->w->now : 1;
	if (!x->actual && !(x->actual = wgdev_new()))
		die("out of memory");
	if (wgdiff(desired, x->actual, &o, &update, &st) < 0)
		die("wgdiff");
	for (const struct wgpeer *p = update->first_peer; p; p = p->next_peer) {
		int j = node_by_pub(x->w, p->public_key);
		const struct wgpeer *had = wgdev_find_peer(x->actual, p->public_key);
		bool recreated = false;

		if (memcmp(p->public_key, x->w->nodes[j].wg_pub, 32))
			continue;

		if (p->flags & WGPEER_REMOVE_ME) {
			if (p->next_peer && !memcmp(p->next_peer->public_key, p->public_key, 32)) {
				x->recreated[j]++;
				if (had_addr && x->w->nodes[j].has_addr)
					x->recreated_late[j]++;
			}
			continue;
		}
		for (const struct wgpeer *q = update->first_peer; q != p; q = q->next_peer)
			recreated |= (q->flags & WGPEER_REMOVE_ME) && !memcmp(q->public_key, p->public_key, 32);
		if (p->endpoint.addr.sa_family == AF_UNSPEC || x->initiated_at[j] ||
		    (had && had->endpoint.addr.sa_family != AF_UNSPEC) || op_established(x, p->public_key))
			continue;
		x->initiated_at[j] = x->w->now ? x->w->now : 1;
		x->rate_limited[j] = had && had->first_allowedip && !recreated;
	}
	if (wgdiff_apply(x->actual, update) < 0)
		die("wgdiff");
	wgdev_free(update);
	wgdev_free(x->last_desired);
	x->last_desired = desired;
	push(x->w, MH_APPLIED, x->idx, x->idx, MH_APPLY_US, NULL, 0, &st);
}

static void op_save(void *ud, const struct nodestate *st)
{
	struct mh_node *x = ud;

	buf_free(&x->saved);
	buf_init(&x->saved, NODESTATE_MAX_SIZE);
	if (nodestate_encode(st, &x->saved) < 0)
		die("nodestate_encode");
}

static void op_event(void *ud, const struct mn_event *ev)
{
	struct mh_node *x = ud;

	x->events[ev->type]++;
	if (ev->type == MN_EV_PEER_UP && ev->peer) {
		int j = node_by_id(x->w, ev->peer);
		const struct wgpeer *p = j >= 0 ? mh_peer_on(x->w, x->idx, j) : NULL;

		if (!p || !p->first_allowedip)
			x->ups_unrouted++;
	}
}

static bool op_established(void *ud, const uint8_t *wg_pub)
{
	struct mh_node *x = ud;
	struct mh_world *w = x->w;
	int j = node_by_pub(w, wg_pub);
	const struct wgpeer *mine = mh_peer_on(w, x->idx, j), *theirs;

	if (j < 0 || !mine)
		return false;
	if (mine->endpoint.addr.sa_family != AF_UNSPEC)
		return true;
	/* The peer configured us with an endpoint and allowed IPs: its
	 * initiation reached us (one latency later), and we learned its endpoint. */
	theirs = w->nodes[j].up ? mh_peer_on(w, j, x->idx) : NULL;
	return theirs && theirs->endpoint.addr.sa_family != AF_UNSPEC && theirs->first_allowedip &&
	       (!w->nodes[j].initiated_at[x->idx] || w->now - w->nodes[j].initiated_at[x->idx] >= MH_LAT_US);
}

/* A probe: answered one round trip later by a running node of our partition
 * over a live connection (a silent node's connections stay, unanswered). */
static int op_probe(void *ud, const struct peerid *peer)
{
	struct mh_node *x = ud;
	int j = node_by_id(x->w, peer);

	if (j < 0 || !x->connected[j])
		return -1;
	x->probes++;
	push(x->w, MH_PONG, x->idx, j, 2 * MH_LAT_US, NULL, 0, NULL);
	return 0;
}

static uint64_t op_wall_us(void *ud)
{
	struct mh_node *x = ud;

	return (uint64_t)((int64_t)(MH_WALL0_US + x->w->now) + x->wall_skew_us);
}

static int node_of(const struct mh_world *w, const struct peerid *id)
{
	for (size_t j = 0; j < w->n; j++)
		if (peerid_eq(&w->nodes[j].id, id))
			return (int)j;
	return -1;
}

static void op_admit(void *ud, const struct peerid *peer, bool ok)
{
	struct mh_node *x = ud;
	int j = node_of(x->w, peer);

	if (j >= 0)
		(ok ? x->admitted : x->refused)[j]++;
}

static void op_save_revocations(void *ud, const uint8_t *p, size_t n)
{
	struct mh_node *x = ud;

	buf_reset(&x->revoked);
	buf_append(&x->revoked, p, n);
}

/* Key rotation: keys from a counter (unique, never a start key: those are
 * one repeated byte), the key file as two flags. */
static int op_rotate_prepare(void *ud, uint8_t next_pub[32])
{
	struct mh_node *x = ud;

	if (x->persist_fails || x->n_keys + 2 > MH_MAX_KEYS)
		return -EIO;
	memset(x->next_pub, 0x77, 32);
	x->next_pub[0] = 0xee;
	x->next_pub[1] = (uint8_t)x->idx;
	x->next_pub[2] = (uint8_t)x->n_keys;
	memset(x->next_priv, 0x55, 32);
	x->next_priv[1] = (uint8_t)x->idx;
	x->next_priv[2] = (uint8_t)x->n_keys;
	memcpy(x->keys[x->n_keys++], x->next_pub, 32);
	x->file_has_next = true;
	memcpy(next_pub, x->next_pub, 32);
	return 0;
}

static int op_rotate_commit(void *ud)
{
	struct mh_node *x = ud;
	struct mh_world *w = x->w;

	if (x->persist_fails)
		return -EIO;
	/* every running peer of our partition that knows us can answer the first
	 * handshake of the new key: it has it on its device */
	for (size_t j = 0; j < w->n; j++) {
		const struct mh_node *y = &w->nodes[j];

		if ((int)j == x->idx || !y->up || y->part != x->part || !pt_find(mn_table(y->m), &x->id))
			continue;
		if (!y->actual || !wgdev_find_peer(y->actual, x->next_pub))
			x->rot_unprepared++;
	}
	x->file_has_next = false;
	if (x->n_keys < MH_MAX_KEYS)
		memcpy(x->keys[x->n_keys++], x->wg_pub, 32); /* the old key, still on peers' devices */
	memcpy(x->wg_priv, x->next_priv, 32);
	memcpy(x->wg_pub, x->next_pub, 32);
	return 0;
}

/* A handshake with key: its owner switched to it, we have it on our device,
 * and the owner can reach us (it has us, with an endpoint). */
static bool op_handshook(void *ud, const uint8_t *key)
{
	struct mh_node *x = ud;
	struct mh_world *w = x->w;
	int j = node_by_pub(w, key);
	const struct mh_node *y;
	const struct wgpeer *p;

	if (j < 0 || j == x->idx)
		return false;
	y = &w->nodes[j];
	if (!y->up || y->part != x->part || memcmp(y->wg_pub, key, 32) || !x->actual || !wgdev_find_peer(x->actual, key))
		return false;
	p = y->actual ? wgdev_find_peer(y->actual, x->wg_pub) : NULL;
	return p && p->endpoint.addr.sa_family != AF_UNSPEC;
}

static const struct mn_ops ops = {
	.rotate_prepare = op_rotate_prepare,
	.rotate_commit = op_rotate_commit,
	.handshook = op_handshook,
	.publish = op_publish,
	.dial = op_dial,
	.apply = op_apply,
	.save = op_save,
	.event = op_event,
	.established = op_established,
	.wall_us = op_wall_us,
	.probe = op_probe,
	.admit = op_admit,
	.save_revocations = op_save_revocations,
};

/* ---- the world ---- */

void mh_init(struct mh_world *w, size_t n, const char *range, uint64_t announce_us)
{
	memset(w, 0, sizeof(*w));
	if (n > MH_MAX || ipam_range_parse(&w->range, range) < 0)
		die("mh_init");
	w->n = n;
	w->announce_us = announce_us;
	w->expiry_us = mn_default_expiry_ms(announce_us / 1000) * 1000;
	for (size_t i = 0; i < n; i++) {
		struct mh_node *x = &w->nodes[i];
		uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

		x->w = w;
		x->idx = (int)i;
		memset(pb + 4, (int)(i + 1), 32);
		pb[5] = 0x5a; /* not a run of one byte, for bytewise orders that are less trivial */
		if (peerid_from_pubkey_pb(&x->id, pb, sizeof(pb)) < 0)
			die("peer id");
		/* WireGuard keys in an order unrelated to the peer IDs */
		memset(x->wg_pub, (int)((i * 37 + 11) & 0xff), 32);
		memset(x->wg_priv, (int)(i + 1), 32);
		buf_init(&x->saved, NODESTATE_MAX_SIZE);
		buf_init(&x->revoked, 1u << 20);
	}
}

void mh_free(struct mh_world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		mn_free(w->nodes[i].m);
		wgdev_free(w->nodes[i].actual);
		wgdev_free(w->nodes[i].last_desired);
		buf_free(&w->nodes[i].saved);
		buf_free(&w->nodes[i].revoked);
	}
	for (size_t i = 0; i < w->nq; i++)
		free(w->q[i].data);
	free(w->q);
}

static void disconnect(struct mh_world *w, int i, int j)
{
	if (!w->nodes[i].connected[j])
		return;
	w->nodes[i].connected[j] = w->nodes[j].connected[i] = false;
	if (w->nodes[i].up)
		mn_on_disconnected(w->nodes[i].m, &w->nodes[j].id);
	if (w->nodes[j].up)
		mn_on_disconnected(w->nodes[j].m, &w->nodes[i].id);
}

void mh_start(struct mh_world *w, int i, int bootstrap)
{
	struct mh_node *x = &w->nodes[i];
	struct mn_config c = {0};
	char name[32];

	snprintf(name, sizeof(name), "node-%d", i);
	c.self = &x->id;
	c.name = name;
	c.ifname = "w2w0";
	c.wg_priv = x->wg_priv;
	c.wg_pub = x->wg_pub;
	c.wg_port = 51820;
	c.keepalive_s = 25;
	c.range = w->range;
	c.has_static = x->has_static;
	c.static_claim = x->static_claim;
	c.announce_us = w->announce_us;
	c.expiry_us = w->expiry_us;
	underlay_ip(i, &c.listen_ip);
	c.listen_tcp = 4001;
	c.adm_keys = w->adm_keys;
	c.n_adm_keys = w->n_adm_keys;
	c.rotate_us = x->rotate_us;
	mn_free(x->m);
	x->m = NULL;
	x->started_at = w->now;
	{
		struct mn_ops o = ops;

		if (w->directed)
			o.send_to = op_send_to;
		if (mn_new(&x->m, &c, &o, x) < 0)
			die("mn_new");
	}
	if (x->saved.len && nodestate_decode(x->saved.data, x->saved.len, mn_state(x->m)) < 0)
		die("nodestate_decode");
	if (x->revoked.len && mn_load_revocations(x->m, x->revoked.data, x->revoked.len) < 0)
		die("mn_load_revocations");
	mn_set_token(x->m, x->tok, x->tok_len, w->now);
	if (bootstrap >= 0) {
		char ma[MA_MAX_TEXT];

		mh_addr_text(w, bootstrap, ma, sizeof(ma));
		nodestate_add_peer(mn_state(x->m), ma);
	}
	x->up = true;
	mn_start(x->m, w->now);
}

void mh_stop(struct mh_world *w, int i)
{
	struct mh_node *x = &w->nodes[i];

	mn_stop(x->m);
	mn_save(x->m);
	x->up = false;
	for (size_t j = 0; j < w->n; j++)
		disconnect(w, i, (int)j);
}

void mh_leave(struct mh_world *w, int i)
{
	struct mh_node *x = &w->nodes[i];

	mn_leave(x->m, w->now);
	/* the LEAVING announcement propagates before the connections close
	 * (node.c gives it LEAVE_FLUSH_US, 400 ms) */
	mh_run(w, w->now + 400 * 1000);
	mn_release_claim(x->m);
	mh_stop(w, i);
	wgdev_free(x->actual);
	x->actual = NULL;
}

void mh_silence(struct mh_world *w, int i)
{
	w->nodes[i].up = false;
}

void mh_partition(struct mh_world *w, int i, int p)
{
	w->nodes[i].part = p;
	for (size_t j = 0; j < w->n; j++)
		if (w->nodes[j].part != p)
			disconnect(w, i, (int)j);
}

static void deliver(struct mh_world *w, struct mh_ev *e)
{
	struct mh_node *to = &w->nodes[e->to], *from = &w->nodes[e->from];
	struct ann_ip ip;

	switch (e->kind) {
	case MH_MSG:
		/* in flight when the connection went: lost */
		if (to->up && from->part == to->part)
			mn_on_message(to->m, &from->id, e->data, e->len, w->now);
		break;
	case MH_CONNECT:
		if (!to->up || !from->up || from->part != to->part || from->connected[e->to] || e->from == e->to)
			break;
		from->connected[e->to] = to->connected[e->from] = true;
		underlay_ip(e->to, &ip);
		mn_on_connected(from->m, &to->id, &ip, w->now);
		underlay_ip(e->from, &ip);
		mn_on_connected(to->m, &from->id, &ip, w->now);
		/* identify: each side learns the other's token */
		mn_on_identify(from->m, &to->id, to->tok, to->tok_len, w->now);
		mn_on_identify(to->m, &from->id, from->tok, from->tok_len, w->now);
		/* gossipsub's hello (the subscriptions) comes with the connection */
		if (w->subscriptions) {
			mn_on_subscribed(from->m, &to->id, w->now);
			mn_on_subscribed(to->m, &from->id, w->now);
		}
		break;
	case MH_PONG:
		if (from->up && to->up && from->part == to->part && from->connected[e->to])
			mn_on_alive(from->m, &to->id, w->now);
		break;
	case MH_APPLIED: {
		bool busy = false;

		for (size_t k = 0; k < w->nq; k++)
			busy |= w->q[k].kind == MH_APPLIED && w->q[k].to == e->to;
		if (to->busy_applies && e->st.added) {
			struct wgdiff_stats none = {0};

			busy = true;
			push(w, MH_APPLIED, e->to, e->to, MH_APPLY_US, NULL, 0, &none);
		}
		if (to->up)
			mn_on_wg_applied(to->m, &e->st, busy, w->now);
		break;
	}
	}
	w->delivered++;
}

void mh_run(struct mh_world *w, uint64_t until)
{
	for (long step = 0; step < 10000000; step++) {
		uint64_t tq = UINT64_MAX, tn = UINT64_MAX;
		size_t qi = 0;
		int ni = -1;

		for (size_t k = 0; k < w->nq; k++)
			if (w->q[k].t < tq || (w->q[k].t == tq && w->q[k].seq < w->q[qi].seq)) {
				tq = w->q[k].t;
				qi = k;
			}
		for (size_t i = 0; i < w->n; i++) {
			uint64_t d = w->nodes[i].up ? mn_next_deadline(w->nodes[i].m) : UINT64_MAX;

			if (d < tn) {
				tn = d;
				ni = (int)i;
			}
		}
		if ((tq < tn ? tq : tn) > until)
			break;
		if (tq <= tn) {
			struct mh_ev e = w->q[qi];

			w->q[qi] = w->q[--w->nq];
			if (e.t > w->now)
				w->now = e.t;
			deliver(w, &e);
			free(e.data);
		} else {
			if (tn > w->now)
				w->now = tn;
			mn_tick(w->nodes[ni].m, w->now);
		}
	}
	if (until > w->now)
		w->now = until;
}

static bool routes_to(const struct wgpeer *p, const struct ann_ip *ip)
{
	const struct wgallowedip *a;

	for (a = p ? p->first_allowedip : NULL; a; a = a->next_allowedip) {
		if (a->family == AF_INET && ip->family == 4 && a->cidr == 32 && !memcmp(&a->ip4, ip->ip, 4))
			return true;
		if (a->family == AF_INET6 && ip->family == 6 && a->cidr == 128 && !memcmp(&a->ip6, ip->ip, 16))
			return true;
	}
	return false;
}

const char *mh_converged(struct mh_world *w, char *why, size_t cap)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct mh_node *x = &w->nodes[i];
		const struct ann_claim *ci;
		size_t want = 0;

		if (!x->up)
			continue;
		ci = mn_claim(x->m);
		if (!ci) {
			snprintf(why, cap, "node %zu has no address", i);
			return why;
		}
		for (size_t j = 0; j < w->n; j++) {
			const struct mh_node *y = &w->nodes[j];
			const struct ann_claim *cj;

			if (j == i || !y->up)
				continue;
			cj = mn_claim(y->m);
			if (cj && ann_ip_eq(&ci->addr, &cj->addr)) {
				snprintf(why, cap, "nodes %zu and %zu share an address", i, j);
				return why;
			}
			if (y->part != x->part)
				continue;
			want++;
			if (!pt_find(mn_table(x->m), &y->id)) {
				snprintf(why, cap, "node %zu does not know node %zu", i, j);
				return why;
			}
			if (!cj || !routes_to(mh_peer_on(w, (int)i, (int)j), &cj->addr)) {
				snprintf(why, cap, "node %zu does not route node %zu's address to it", i, j);
				return why;
			}
		}
		if (pt_count(mn_table(x->m)) != want) {
			snprintf(why, cap, "node %zu lists %zu peers, expected %zu", i, pt_count(mn_table(x->m)), want);
			return why;
		}
	}
	return NULL;
}

size_t mh_crossed(const struct mh_world *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++)
		for (size_t j = i + 1; j < w->n; j++)
			n += w->nodes[i].initiated_at[j] && w->nodes[j].initiated_at[i];
	return n;
}

size_t mh_recreated_late(const struct mh_world *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++)
		for (size_t j = 0; j < w->n; j++)
			n += w->nodes[i].recreated_late[j];
	return n;
}

size_t mh_rate_limited(const struct mh_world *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n; i++)
		for (size_t j = 0; j < w->n; j++)
			n += w->nodes[i].rate_limited[j];
	return n;
}

void mh_ip(struct ann_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->ip) == 1) {
		ip->family = 4;
	} else {
		if (inet_pton(AF_INET6, s, ip->ip) != 1)
			die("mh_ip: not an IP address");
		ip->family = 6;
	}
}

void mh_ann(struct announce *a, uint8_t key)
{
	memset(a, 0, sizeof(*a));
	a->seq = 1;
	memset(a->wg_pub, key, 32);
	a->wg_port = 51820;
}
