/* SPDX-License-Identifier: MIT */
/* /ipfs/ping/1.0.0 engine (libp2p/specs ping/ping.md). */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ping.h"
#include "rng.h"

void ping_init(struct ping *p, bool initiator, uint64_t timeout_us)
{
	memset(p, 0, sizeof(*p));
	p->initiator = initiator;
	p->timeout_us = timeout_us ? timeout_us : PING_DEFAULT_TIMEOUT_US;
}

int ping_send(struct ping *p, const struct rng *rng, uint64_t now_us, struct buf *out)
{
	uint8_t v[PING_SIZE];
	int r;

	if (!p->initiator || p->outstanding)
		return W2W_ESTATE;
	/* ping.md: the payload is 32 random bytes; the echo must match. */
	rng_fill(rng, v, sizeof(v));
	r = buf_append(out, v, sizeof(v));
	if (r < 0)
		return r;
	memcpy(p->sent, v, sizeof(v));
	p->outstanding = true;
	p->sent_at_us = now_us;
	p->in_len = 0;
	return 0;
}

static int feed_initiator(struct ping *p, const uint8_t *in, size_t n, uint64_t now_us)
{
	size_t take;

	if (n == 0)
		return 0;
	if (!p->outstanding)
		return W2W_EPROTO; /* bytes nobody asked for */
	take = PING_SIZE - p->in_len;
	if (take > n)
		take = n;
	/* Compare as we go, so a wrong echo fails at its first byte. */
	if (memcmp(p->sent + p->in_len, in, take) != 0)
		return W2W_EPROTO;
	p->in_len += take;
	if (p->in_len == PING_SIZE) {
		p->outstanding = false;
		p->in_len = 0;
		p->rtt_us = now_us > p->sent_at_us ? now_us - p->sent_at_us : 1;
		p->count++;
	}
	return (int)take;
}

static int feed_responder(struct ping *p, const uint8_t *in, size_t n, struct buf *out)
{
	size_t used = 0;

	while (used < n) {
		size_t take = PING_SIZE - p->in_len;

		/* Only take a block's last byte when its echo fits: the host
		 * bounds `out`, and unconsumed input backs up to the peer. */
		if (take > n - used)
			take = n - used;
		if (p->in_len + take == PING_SIZE && buf_room(out) < PING_SIZE)
			break;
		memcpy(p->in + p->in_len, in + used, take);
		p->in_len += take;
		used += take;
		if (p->in_len == PING_SIZE) {
			int r = buf_append(out, p->in, PING_SIZE);

			if (r < 0)
				return r;
			p->in_len = 0;
			p->count++;
		}
	}
	return (int)used;
}

int ping_feed(struct ping *p, const void *in, size_t n, uint64_t now_us, struct buf *out)
{
	if (n > PING_SIZE * 1024)
		n = PING_SIZE * 1024; /* keeps the return value in range */
	if (p->initiator)
		return feed_initiator(p, in, n, now_us);
	return feed_responder(p, in, n, out);
}

bool ping_outstanding(const struct ping *p)
{
	return p->outstanding;
}

uint64_t ping_rtt_us(const struct ping *p)
{
	return p->rtt_us;
}

uint64_t ping_next_deadline(const struct ping *p)
{
	return p->outstanding ? p->sent_at_us + p->timeout_us : UINT64_MAX;
}

int ping_tick(struct ping *p, uint64_t now_us)
{
	if (p->outstanding && now_us >= p->sent_at_us + p->timeout_us)
		return W2W_ETIMEDOUT;
	return 0;
}

int ping_eof(struct ping *p)
{
	if (p->initiator && p->outstanding)
		return W2W_ECLOSED;
	p->in_len = 0;
	return 0;
}
