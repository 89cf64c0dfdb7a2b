/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "upgrade.h"

static bool ep_eq(const struct ann_endpoint *a, const struct ann_endpoint *b)
{
	return a->port == b->port && a->addr.family && ann_ip_eq(&a->addr, &b->addr);
}

bool upg_eligible(bool relayed, bool self_nat, bool self_has_wep, bool self_symmetric, const struct announce *peer)
{
	return relayed && self_nat && self_has_wep && !self_symmetric && (peer->flags & ANN_F_NAT) &&
	       !(peer->flags & ANN_F_SYMNAT) && peer->has_wep;
}

void upg_relayed(struct upg_pair *u, uint64_t now)
{
	u->relayed_at = now ? now : 1;
	u->next_us = 0;
	u->rounds = 0;
	u->probed_at = 0;
	u->relay_seen = false;
	u->direct = false;
	u->direct_at = 0;
}

uint64_t upg_period(uint32_t rounds)
{
	uint64_t p = UPG_PERIOD_US;

	/* A pair that stays relayed after a few rounds is most likely behind a
	 * NAT we could not classify (one reporter cannot reveal a symmetric
	 * NAT): back off hard, each failed probe may lose what is sent in its
	 * window. */
	for (uint32_t r = UPG_FAST_ROUNDS; r < rounds && p < UPG_PERIOD_MAX_US; r++)
		p *= 2;
	return p < UPG_PERIOD_MAX_US ? p : UPG_PERIOD_MAX_US;
}

bool upg_round_due(struct upg_pair *u, const uint8_t *self_pub, const uint8_t *peer_pub, uint64_t now,
		   uint64_t *wait_us)
{
	*wait_us = 0;
	if (!u->relayed_at || u->direct || memcmp(self_pub, peer_pub, 32) >= 0)
		return false;
	if (!u->next_us)
		u->next_us = u->relayed_at + UPG_FIRST_US;
	if (now < u->next_us) {
		*wait_us = u->next_us - now;
		return false;
	}
	u->rounds++;
	u->next_us = now + upg_period(u->rounds);
	*wait_us = u->next_us - now;
	return true;
}

uint32_t upg_probed(struct upg_pair *u, uint8_t h, uint64_t now)
{
	u->n++;
	if (!u->n) /* 0 never names a probe */
		u->n = 1;
	u->h = h;
	u->probed_at = now ? now : 1;
	return u->n;
}

bool upg_should_answer(struct upg_pair *u, const struct ann_probe *p, bool eligible, uint64_t now)
{
	bool fresh = !u->seen_n || p->n != u->answered_n;

	u->seen_n = true;
	u->answered_n = p->n;
	/* an announcement repeats its entries: only a new counter is a new
	 * probe; the round ends after UPG_ROUND_HOPS probes */
	if (!fresh || !eligible || u->direct || (unsigned)p->h + 1 >= UPG_ROUND_HOPS)
		return false;
	if (!u->answer_window_at || now - u->answer_window_at >= UPG_ANSWER_WINDOW_US) {
		u->answer_window_at = now ? now : 1;
		u->answers = 0;
	}
	if (u->answers >= UPG_ROUND_HOPS / 2)
		return false;
	u->answers++;
	return true;
}

bool upg_announce(const struct upg_pair *u, uint64_t now)
{
	return u->probed_at && !u->direct && now - u->probed_at < UPG_ANNOUNCE_US;
}

bool upg_on_device(struct upg_pair *u, const struct ann_endpoint *wep, const struct ann_endpoint *relay_ep,
		   const struct ann_endpoint *dev_ep, uint64_t now)
{
	if (u->direct || !u->relayed_at)
		return false;
	if (ep_eq(relay_ep, dev_ep))
		u->relay_seen = true;
	if (!u->relay_seen || !ep_eq(wep, dev_ep))
		return false;
	u->direct = true;
	u->direct_at = now ? now : 1;
	return true;
}

bool upg_settling(const struct upg_pair *u, uint64_t now)
{
	return u->direct && now - u->direct_at < UPG_SETTLE_US;
}

bool upg_dead(const struct upg_pair *u, uint64_t rx_at_us, unsigned keepalive_s, uint64_t now)
{
	uint64_t quiet = (uint64_t)(keepalive_s > 10 ? keepalive_s : 10) * 1000000 * UPG_DEAD_INTERVALS +
			 UPG_DEAD_SLACK_US;
	uint64_t since = rx_at_us > u->direct_at ? rx_at_us : u->direct_at;

	return u->direct && !upg_settling(u, now) && now > since && now - since > quiet;
}

bool upg_reforce(const struct upg_pair *u, const struct ann_endpoint *wep, const struct ann_endpoint *dev_ep,
		 uint64_t now)
{
	return upg_settling(u, now) && !ep_eq(wep, dev_ep);
}
