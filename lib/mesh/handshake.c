/* SPDX-License-Identifier: MIT */
/* The first-handshake rule (handshake.h, docs/mesh.md "First handshakes"). */
#include <string.h>

#include "handshake.h"

bool hs_acks(const struct announce *a, const uint8_t *wg_pub)
{
	for (unsigned i = 0; i < a->n_acks; i++)
		if (!memcmp(a->acks[i], wg_pub, ANN_ACK_LEN))
			return true;
	return false;
}

enum hs_hold hs_hold(const uint8_t *self_pub, const struct announce *a, bool established, uint64_t age_us,
		     uint64_t *recheck_us)
{
	enum hs_hold what;
	uint64_t hold;

	if (established)
		return HS_HOLD_NONE;
	if (memcmp(self_pub, a->wg_pub, 32) < 0) {
		/* We initiate, as soon as the peer says it has us configured. Until
		 * then not even its allowed IPs: a packet routed to it would make
		 * WireGuard attempt a handshake (without an endpoint it goes nowhere)
		 * and still start the 5 s RekeyTimeout that suppresses the real one. */
		if (hs_acks(a, self_pub))
			return HS_HOLD_NONE;
		hold = HS_INITIATOR_FALLBACK_US;
		what = HS_HOLD_ALL;
	} else {
		/* The waiter keeps the allowed IPs: it must accept the initiator's
		 * packets; its own attempts do not delay the handshake it answers. */
		hold = HS_WAITER_HOLD_US;
		what = HS_HOLD_ENDPOINT;
	}
	if (age_us >= hold)
		return HS_HOLD_NONE;
	*recheck_us = hold - age_us;
	return what;
}

static bool ip_loopback(const struct ann_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	return ip->family == 4 ? ip->ip[0] == 127 : memcmp(ip->ip, lo6, 16) == 0;
}

bool hs_endpoint(const struct ann_ip *conn_ip, const struct announce *a, struct ann_endpoint *out)
{
	/* The live connection's remote IP is the best evidence of where the node
	 * is reachable from here, unless it is loopback: then the TCP path went
	 * through something local (a port forward, a proxy) and the node's own
	 * advertised endpoint is the better guess. */
	if (conn_ip && (!ip_loopback(conn_ip) || !a->n_eps)) {
		out->addr = *conn_ip;
		out->port = a->wg_port;
		return true;
	}
	if (a->n_eps) {
		*out = a->eps[0];
		return true;
	}
	return false;
}

bool hs_ack_configured(struct hs_ack *s, const uint8_t *wg_pub, uint64_t now)
{
	if (s->configured && !memcmp(s->wg_pub, wg_pub, 32))
		return false;
	s->configured = true;
	s->applied = false;
	s->configured_at = now;
	memcpy(s->wg_pub, wg_pub, 32);
	return true;
}

void hs_ack_applied(struct hs_ack *s, uint64_t now)
{
	if (s->configured && !s->applied) {
		s->applied = true;
		s->applied_at = now;
	}
}

void hs_ack_forget(struct hs_ack *s)
{
	s->configured = false;
}

bool hs_ack_due(const struct hs_ack *s, uint64_t now)
{
	return s->configured && s->applied && now - s->applied_at < HS_ACK_WINDOW_US;
}

bool hs_ack_wanted(const uint8_t *self_pub, const struct hs_ack *s, bool established, uint64_t now)
{
	return hs_ack_due(s, now) && !established && memcmp(s->wg_pub, self_pub, 32) < 0;
}
