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

bool hs_configured(struct hs_peer *s, const uint8_t *self_pub, const struct announce *a, uint64_t now)
{
	if (s->configured && !memcmp(s->wg_pub, a->wg_pub, 32))
		return false;
	memset(s, 0, sizeof(*s));
	s->configured = true;
	s->configured_at = now;
	memcpy(s->wg_pub, a->wg_pub, 32);
	/* It acks us before we ever configured it: it has us in its applied
	 * device, so our initiation will be answered, and it cannot have seen an
	 * ack from us (we send none before our device holds it): it waits. */
	s->role = hs_acks(a, self_pub) ? HS_ROLE_INITIATOR : HS_ROLE_WAITER;
	return true;
}

void hs_applied(struct hs_peer *s, uint64_t now)
{
	if (s->configured && !s->applied) {
		s->applied = true;
		s->applied_at = now;
	}
}

void hs_forget(struct hs_peer *s)
{
	memset(s, 0, sizeof(*s));
}

struct hs_plan hs_plan(struct hs_peer *s, const uint8_t *self_pub, const struct announce *a, bool established,
		       uint64_t now)
{
	struct hs_plan p = {0};
	uint64_t age = now - s->configured_at;

	p.established = established;
	if (established || s->role == HS_ROLE_INITIATOR) {
		p.endpoint = true;
		p.recreate = !established && s->promoted;
		return p;
	}
	if (memcmp(self_pub, a->wg_pub, 32) < 0) {
		/* Two waiters: the lower key initiates once the other has it
		 * configured (its ack), or after the fallback (no acks: an older
		 * version). It may have attempted a handshake while it had no
		 * endpoint: re-create the peer so the initiation is not suppressed. */
		if (hs_acks(a, self_pub) || age >= HS_PROMOTE_FALLBACK_US) {
			s->role = HS_ROLE_INITIATOR;
			s->promoted = true;
			p.endpoint = p.recreate = true;
			return p;
		}
		p.recheck_us = HS_PROMOTE_FALLBACK_US - age;
		return p;
	}
	/* The higher key waits for the initiation; after the hold it sets the
	 * endpoint anyway (one-way reachability: the other cannot reach us). Its
	 * own retransmit timer then sends whatever is staged; no re-create,
	 * which would drop it. */
	if (age >= HS_WAITER_HOLD_US) {
		p.endpoint = true;
		return p;
	}
	p.recheck_us = HS_WAITER_HOLD_US - age;
	return p;
}

int hs_ack_rank(const uint8_t *self_pub, const struct hs_peer *s, bool established, uint64_t now)
{
	if (!s->configured || !s->applied || now - s->applied_at >= HS_ACK_WINDOW_US || established ||
	    s->role != HS_ROLE_WAITER)
		return 0;
	return memcmp(s->wg_pub, self_pub, 32) < 0 ? 1 : 2;
}

static bool ip_loopback(const struct ann_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	return ip->family == 4 ? ip->ip[0] == 127 : memcmp(ip->ip, lo6, 16) == 0;
}

bool hs_endpoint(const struct ann_ip *conn_ip, const struct announce *a, struct ann_endpoint *out)
{
	/* A public WireGuard endpoint its peers saw (docs/nat.md) beats any guess:
	 * behind a NAT the TCP connection's mapping has another port. */
	if (a->has_wep) {
		*out = a->wep;
		return true;
	}
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
