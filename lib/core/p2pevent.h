/* SPDX-License-Identifier: MIT */
/*
 * The layout of the opaque struct w2w_p2p_event (include/w2wesher/p2p.h),
 * shared by the host that fills it (p2phost.c) and the node that consumes it
 * (node.c). Callers outside core/ read it only through the getters
 * (p2pevent.c), so fields may change without an ABI break.
 */
#ifndef W2W_CORE_P2PEVENT_H
#define W2W_CORE_P2PEVENT_H

#include <stddef.h>
#include <stdint.h>

#include "w2wesher/p2p.h"

/* Pointers are valid during the callback only; unused fields are NULL/0. */
struct w2w_p2p_event {
	int type; /* enum w2w_p2p_event_type */
	const char *peer_id;
	const char *addr;
	int inbound;
	int err;
	const char *reason;
	uint64_t rtt_us;
	/* IDENTIFY */
	const char *agent_version;
	const char *protocol_version;
	const char *const *protocols;
	size_t n_protocols;
	const char *const *listen_addrs;
	size_t n_listen_addrs;
	const char *observed_addr; /* how the peer sees us */
	/* MESSAGE */
	const char *from;
	const char *topic;
	const uint8_t *data;
	size_t len;
	uint64_t seqno;
};

#endif
