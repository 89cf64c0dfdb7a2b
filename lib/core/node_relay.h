/* SPDX-License-Identifier: MIT */
/* The I/O of a WireGuard relay (docs/nat.md "Relays"): the mesh engine decides
 * which pairs to serve (lib/mesh/relay.h); this forwards their datagrams. */
#ifndef W2W_CORE_NODE_RELAY_H
#define W2W_CORE_NODE_RELAY_H

#include <stdint.h>

#include "announce.h"
#include "log.h"
#include "reactor.h"

struct relay_link;

/* mn_ops.relay_open / relay_close for a node's reactor and log; rate: bytes
 * per second per pair ([P2P] RelayRate; 0: the default). */
int node_relay_open(struct reactor *r, const struct wlog *log, uint64_t rate, const struct ann_ip *ip_a,
		    const struct ann_ip *ip_b, uint16_t *pa, uint16_t *pb, void **handle);
void node_relay_close(struct reactor *r, void *handle);
/* mn_ops.relay_seen: the source port each member's datagrams came from last
 * (0: none yet). A member behind a cone NAT comes from its public WireGuard
 * port; one behind a symmetric NAT from another (docs/nat.md "Upgrade"). */
void node_relay_seen(void *handle, uint16_t *src_a, uint16_t *src_b);

#endif
