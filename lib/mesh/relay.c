/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "relay.h"

bool relay_asks(const struct announce *a, const uint8_t *wg_pub)
{
	for (unsigned i = 0; i < a->n_rq; i++)
		if (memcmp(a->rq[i], wg_pub, ANN_SEEN_KEY_LEN) == 0)
			return true;
	return false;
}

size_t relay_wanted(const struct peertable *pt, struct relay_want *out, size_t cap)
{
	size_t n = 0, cnt = pt_count(pt);

	for (size_t i = 0; i < cnt && n < cap; i++) {
		const struct pt_entry *a = pt_at(pt, i);

		if (!a->ann.n_rq)
			continue;
		for (size_t j = i + 1; j < cnt && n < cap; j++) {
			const struct pt_entry *b = pt_at(pt, j);

			if (relay_asks(&a->ann, b->ann.wg_pub) && relay_asks(&b->ann, a->ann.wg_pub)) {
				out[n].a = a;
				out[n].b = b;
				n++;
			}
		}
	}
	return n;
}

enum relay_offer relay_check_offer(const struct announce *ra, const struct ann_relay *r, const uint8_t *self_pub,
				   uint16_t *port, const uint8_t **peer_key)
{
	bool we_a = memcmp(r->a, self_pub, ANN_SEEN_KEY_LEN) == 0;
	bool we_b = memcmp(r->b, self_pub, ANN_SEEN_KEY_LEN) == 0;

	if (!we_a && !we_b)
		return RELAY_OFFER_NONE;
	if (!(ra->flags & ANN_F_RELAY))
		return RELAY_OFFER_NOT_RELAY;
	if (ra->flags & ANN_F_NAT)
		return RELAY_OFFER_NATED;
	/* us with us, or a pair that has the relay as one end: traffic would go
	 * round in a loop (A via B via A) */
	if ((we_a && we_b) || memcmp(r->a, ra->wg_pub, ANN_SEEN_KEY_LEN) == 0 ||
	    memcmp(r->b, ra->wg_pub, ANN_SEEN_KEY_LEN) == 0)
		return RELAY_OFFER_LOOP;
	*port = we_a ? r->pa : r->pb;
	*peer_key = we_a ? r->b : r->a;
	return RELAY_OFFER_OK;
}

uint64_t relay_burst(uint64_t rate)
{
	/* a quarter second (1 MiB at the default 4 MiB/s), never less than a
	 * few of WireGuard's largest datagrams */
	return rate / 4 > 16 * RELAY_DATAGRAM_MAX ? rate / 4 : 16 * RELAY_DATAGRAM_MAX;
}

bool relay_budget_take(struct relay_bucket *b, size_t bytes, uint64_t now_us, uint64_t rate)
{
	uint64_t burst = relay_burst(rate);

	if (!b->started) {
		b->started = true;
		b->tokens = burst;
		b->last_us = now_us;
	}
	if (now_us > b->last_us) {
		uint64_t dt = now_us - b->last_us;
		/* a second refills the bucket (and bounds the product: rate <= 1 GiB) */
		uint64_t add = dt >= 1000000 ? burst : dt * rate / 1000000;

		b->tokens = b->tokens + add > burst ? burst : b->tokens + add;
		b->last_us = now_us;
	}
	if (bytes > b->tokens)
		return false;
	b->tokens -= bytes;
	return true;
}
