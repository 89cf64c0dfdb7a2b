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

/* Events that may not be delivered yet (loop_may_deliver), each a deep copy
 * in one allocation, delivered in order. */
struct p2pevent_item {
	struct p2pevent_item *next;
	struct w2w_p2p_event ev; /* its pointers point into this allocation */
};

struct p2pevent_q {
	struct p2pevent_item *head, **tail;
	size_t n;
};

void p2pevent_q_init(struct p2pevent_q *q);
/* Appends a copy of ev. 0, or -ENOMEM (W2W_ELIMIT past P2PEVENT_Q_MAX: a host
 * that never runs its loop must not grow without bound). */
#define P2PEVENT_Q_MAX 4096
int p2pevent_q_push(struct p2pevent_q *q, const struct w2w_p2p_event *ev);
/* The oldest item, removed from the queue (the caller frees it), or NULL. */
struct p2pevent_item *p2pevent_q_pop(struct p2pevent_q *q);
void p2pevent_q_clear(struct p2pevent_q *q);

#endif
