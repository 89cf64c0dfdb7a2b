/* SPDX-License-Identifier: MIT */
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

struct wgdevice *reconcile_desired(const struct reconcile_in *in)
{
	struct wgdevice *dev = wgdev_new();

	if (!dev)
		return NULL;
	if (in->ifname)
		wgdev_set_name(dev, in->ifname);
	dev->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT;
	memcpy(dev->private_key, in->private_key, WGDEV_KEY_LEN);
	dev->listen_port = in->listen_port;

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

			if (!r || !ipam_usable(r, &c->addr) || !wins(in, &c->addr, c->claimed_ms, &e->id))
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
	return dev;
fail:
	wgdev_free(dev);
	return NULL;
}
