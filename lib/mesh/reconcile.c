/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "pairpsk.h"
#include "reconcile.h"
#include "secmem.h"

static const struct ipam_range *range_for(const struct reconcile_in *in, uint8_t family)
{
	return family == 4 ? in->range4 : in->range6;
}

/* True when the claim (ip, t) by owner beats every other claim on ip. */
static bool wins(const struct reconcile_in *in, const struct ann_ip *ip, uint64_t t, const struct peerid *owner)
{
	for (size_t i = 0; i < in->n_self_claims; i++)
		if (ann_ip_eq(&in->self_claims[i].addr, ip) &&
		    (in->self_pinned || ipam_claim_cmp(in->self_claims[i].claimed_ms, in->self, t, owner) < 0))
			return false;
	for (size_t i = 0; i < pt_count(in->pt); i++) {
		const struct pt_entry *e = pt_at(in->pt, i);

		if (peerid_eq(&e->id, owner))
			continue;
		for (unsigned j = 0; j < e->ann.n_claims; j++)
			if (ann_ip_eq(&e->ann.claims[j].addr, ip) &&
			    ipam_claim_cmp(e->ann.claims[j].claimed_ms, &e->id, t, owner) < 0)
				return false;
	}
	return true;
}

/*
 * The same verdict as wins() for every claim of a reconcile, from one sorted
 * index instead of a scan of the whole table per claim: wins() made a
 * reconcile O(N^2) in the mesh size, which dominated the CPU of the 150- to
 * 1000-node simulations (tests/sim/sim_scale.c, perf: reconcile_desired ->
 * wins ~50 %). Claims sorted by address, then by ipam_claim_cmp (the best
 * first); a claim wins when the best claim on its address by another owner
 * (our own claims always count as another's) does not beat it.
 */
struct wclaim {
	struct ann_ip ip;
	uint64_t t;
	const struct peerid *owner;
	bool self;
};

static int ip_cmp(const struct ann_ip *a, const struct ann_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16);
}

static int wclaim_cmp(const void *pa, const void *pb)
{
	const struct wclaim *a = pa, *b = pb;
	int c = ip_cmp(&a->ip, &b->ip);

	return c ? c : ipam_claim_cmp(a->t, a->owner, b->t, b->owner);
}

struct windex {
	struct wclaim *v;
	size_t n;
};

static bool windex_build(const struct reconcile_in *in, struct windex *w)
{
	size_t n = in->n_self_claims;

	for (size_t i = 0; i < pt_count(in->pt); i++)
		n += pt_at(in->pt, i)->ann.n_claims;
	w->n = 0;
	w->v = malloc((n ? n : 1) * sizeof(*w->v));
	if (!w->v)
		return false;
	for (size_t i = 0; i < in->n_self_claims; i++)
		w->v[w->n++] = (struct wclaim){in->self_claims[i].addr, in->self_claims[i].claimed_ms, in->self, true};
	for (size_t i = 0; i < pt_count(in->pt); i++) {
		const struct pt_entry *e = pt_at(in->pt, i);

		for (unsigned j = 0; j < e->ann.n_claims; j++)
			w->v[w->n++] = (struct wclaim){e->ann.claims[j].addr, e->ann.claims[j].claimed_ms, &e->id, false};
	}
	qsort(w->v, w->n, sizeof(*w->v), wclaim_cmp);
	return true;
}

static bool windex_wins(const struct reconcile_in *in, const struct windex *w, const struct ann_ip *ip, uint64_t t,
			const struct peerid *owner)
{
	size_t lo = 0, hi = w->n;

	/* An address we pin beats every claim on it, whatever the order says
	 * (as in wins(); issue #15 item 8). Our own claims are few: a scan. */
	if (in->self_pinned)
		for (size_t i = 0; i < in->n_self_claims; i++)
			if (ann_ip_eq(&in->self_claims[i].addr, ip))
				return false;

	while (lo < hi) { /* the first claim on ip */
		size_t mid = lo + (hi - lo) / 2;

		if (ip_cmp(&w->v[mid].ip, ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < w->n && ip_cmp(&w->v[i].ip, ip) == 0; i++) {
		if (!w->v[i].self && peerid_eq(w->v[i].owner, owner))
			continue;
		return ipam_claim_cmp(w->v[i].t, w->v[i].owner, t, owner) >= 0;
	}
	return true;
}

struct wgdevice *reconcile_desired(const struct reconcile_in *in)
{
	struct wgdevice *dev = wgdev_new();
	struct windex wi = {0};
	bool indexed;

	if (!dev)
		return NULL;
	if (in->ifname)
		wgdev_set_name(dev, in->ifname);
	dev->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT;
	memcpy(dev->private_key, in->private_key, WGDEV_KEY_LEN);
	dev->listen_port = in->listen_port;
	indexed = windex_build(in, &wi); /* else the scan, slower but the same */

	for (size_t i = 0; i < pt_count(in->pt); i++) {
		const struct pt_entry *e = pt_at(in->pt, i);
		struct wgpeer *p = wgdev_add_peer(dev);
		int flags;

		if (!p)
			goto fail;
		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_REPLACE_ALLOWEDIPS;
		memcpy(p->public_key, e->ann.wg_pub, WGDEV_KEY_LEN);
		p->persistent_keepalive_interval = in->keepalive_s;
		flags = in->endpoint ? in->endpoint(in->ud, e, &p->endpoint) : 0;
		if (flags & RECONCILE_F_RECREATE)
			p->flags |= WGDIFF_PEER_RECREATE;
		if (flags & RECONCILE_F_FORCE_EP)
			p->flags |= WGDIFF_PEER_FORCE_ENDPOINT;
		if ((flags & RECONCILE_F_KICK) && !p->persistent_keepalive_interval)
			p->persistent_keepalive_interval = RECONCILE_KICK_KEEPALIVE_S;
		if (in->n_psks && e->ann.n_pk) {
			int k = pairpsk_choose(in->kids, in->n_psks, (const uint8_t(*)[PAIRPSK_KID_LEN])e->ann.pk,
					       e->ann.n_pk);

			/* No common key: none on either side (the peer's choice is symmetric). */
			if (k >= 0) {
				pairpsk_derive(p->preshared_key, in->psks + 32 * (size_t)k, in->self, &e->id);
				p->flags |= WGPEER_HAS_PRESHARED_KEY;
			}
		}
		for (unsigned j = 0; j < e->ann.n_claims; j++) {
			const struct ann_claim *c = &e->ann.claims[j];
			const struct ipam_range *r = range_for(in, c->addr.family);
			struct wgallowedip *a;

			if (!r || !ipam_usable(r, &c->addr) ||
			    !(indexed ? windex_wins(in, &wi, &c->addr, c->claimed_ms, &e->id)
				      : wins(in, &c->addr, c->claimed_ms, &e->id)))
				continue;
			a = wgpeer_add_allowedip(p);
			if (!a)
				goto fail;
			if (c->addr.family == 4) {
				a->family = AF_INET;
				memcpy(&a->ip4, c->addr.ip, 4);
				a->cidr = 32;
			} else {
				a->family = AF_INET6;
				memcpy(&a->ip6, c->addr.ip, 16);
				a->cidr = 128;
			}
		}
		/* No endpoint, no keepalive: it could not be sent, and its arrival later
		 * together with the endpoint (keepalive 0 -> N) makes WireGuard send
		 * one at once, i.e. start the first handshake without waiting for a
		 * retry timer (kernel set_peer, wireguard-go UAPI set). */
		if (p->endpoint.addr.sa_family == AF_UNSPEC)
			p->persistent_keepalive_interval = 0;
	}
	if (wgdev_sort(dev) < 0)
		goto fail;
	free(wi.v);
	return dev;
fail:
	free(wi.v);
	wgdev_free(dev);
	return NULL;
}

void reconcile_endpoint(union wgendpoint *w, const struct ann_endpoint *ep)
{
	memset(w, 0, sizeof(*w));
	if (ep->addr.family == 4) {
		w->addr4.sin_family = AF_INET;
		memcpy(&w->addr4.sin_addr, ep->addr.ip, 4);
		w->addr4.sin_port = htons(ep->port);
	} else if (ep->addr.family == 6) {
		w->addr6.sin6_family = AF_INET6;
		memcpy(&w->addr6.sin6_addr, ep->addr.ip, 16);
		w->addr6.sin6_port = htons(ep->port);
	}
}
