/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "nat.h"

static bool ep_eq(const struct ann_endpoint *a, const struct ann_endpoint *b)
{
	return a->port == b->port && ann_ip_eq(&a->addr, &b->addr);
}

bool nat_ep_plausible(const struct ann_endpoint *ep)
{
	const uint8_t *b = ep->addr.ip;

	if (!ep->port || (ep->addr.family != 4 && ep->addr.family != 6) || ann_ip_unspecified(&ep->addr))
		return false;
	if (ep->addr.family == 4)
		/* loopback 127/8, multicast 224/4 and above (incl. 255.255.255.255), 0/8 */
		return b[0] != 127 && b[0] < 224 && b[0] != 0;
	/* ::1, ff00::/8 */
	static const uint8_t lo6[16] = {[15] = 1};
	return memcmp(b, lo6, 16) != 0 && b[0] != 0xff;
}

bool nat_ep_announced(const struct announce *a, const struct ann_endpoint *ep)
{
	if (a->has_wep && ep_eq(&a->wep, ep))
		return true;
	for (unsigned i = 0; i < a->n_eps; i++)
		if (ep_eq(&a->eps[i], ep))
			return true;
	return false;
}

bool nat_behind(const struct ann_ip *listen_ip, const struct ann_ip *observed, size_t n_observed, bool has_wep)
{
	if (has_wep)
		return true;
	if (!listen_ip || !listen_ip->family || ann_ip_unspecified(listen_ip))
		return false;
	for (size_t i = 0; i < n_observed; i++)
		if (observed[i].family == listen_ip->family && !ann_ip_eq(&observed[i], listen_ip))
			return true;
	return false;
}

bool nat_should_report(const struct announce *a, const struct ann_endpoint *seen, int64_t hs_age_s)
{
	/* Only what a live session proves, only what the peer does not know. */
	return hs_age_s >= 0 && hs_age_s <= NAT_SESSION_MAX_S && nat_ep_plausible(seen) &&
	       !nat_ep_announced(a, seen);
}

enum nat_verdict nat_on_report(struct nat_self *st, const uint8_t *self_pub, const uint8_t *author_pub,
			       const struct ann_seen *s, int64_t author_hs_age_s, bool author_public,
			       bool reporter_live)
{
	if (memcmp(s->key, self_pub, ANN_SEEN_KEY_LEN) != 0)
		return NAT_IGNORE;
	if (author_hs_age_s < 0 || author_hs_age_s > NAT_SESSION_MAX_S)
		return NAT_REJECT_NOSESSION;
	if (!nat_ep_plausible(&s->ep))
		return NAT_REJECT_BOGUS;
	if (st->has_wep && ep_eq(&st->wep, &s->ep))
		return NAT_IGNORE;
	/* Follow one reporter: the current one (our mapping changed), else a
	 * better one: public beats NATed (after our mapping changes a NATed
	 * reporter no longer hears us, so it could never tell us the new one),
	 * then the lower key. Two reporters that see different ports of one IP
	 * are behind the same NAT's per-destination mappings: symmetric;
	 * following both would make every announcement of ours change what the
	 * other reports. A reporter without a session any more is not followed. */
	if (st->has_wep && reporter_live && memcmp(author_pub, st->reporter, 32) != 0) {
		bool better = (author_public && !st->reporter_public) ||
			      (author_public == st->reporter_public && memcmp(author_pub, st->reporter, 32) < 0);

		if (!better) {
			if (ann_ip_eq(&st->wep.addr, &s->ep.addr))
				st->symmetric = true;
			return NAT_DISAGREE;
		}
	}
	st->has_wep = true;
	st->wep = s->ep;
	memcpy(st->reporter, author_pub, 32);
	st->reporter_public = author_public;
	return NAT_ACCEPT;
}

enum nat_role nat_role(bool self_nat, const struct announce *peer)
{
	bool peer_nat = (peer->flags & ANN_F_NAT) != 0;

	if (!self_nat && !peer_nat)
		return NAT_ROLE_DEFAULT;
	if (self_nat && !peer_nat)
		return NAT_ROLE_INITIATE;
	if (!self_nat)
		return NAT_ROLE_WAIT;
	return peer->has_wep ? NAT_ROLE_PUNCH : NAT_ROLE_PENDING;
}
