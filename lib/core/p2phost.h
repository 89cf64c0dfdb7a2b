/* SPDX-License-Identifier: MIT */
/*
 * The libp2p host's internal binary interface, for the node (node.c): events
 * and calls carry struct peerid and binary multiaddrs, so the node never
 * parses back the text the public API (include/w2wesher/p2p.h) prints. The
 * public w2w_p2p_* events are a text rendering of these (p2phost.c).
 */
#ifndef W2W_CORE_P2PHOST_H
#define W2W_CORE_P2PHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identify.h"
#include "peerid.h"
#include "w2wesher/p2p.h"

/* Pointers are valid during the callback only; unused fields are NULL/0. */
struct p2ph_event {
	int type;                  /* enum w2w_p2p_event_type */
	const struct peerid *peer; /* the remote peer, when known */
	const uint8_t *addr;       /* binary multiaddr: the connection's remote address; */
	size_t addr_len;           /* LISTENING: the bound address (without /p2p/) */
	const char *dial_text;     /* DIAL_FAILED: the address as dialled */
	int inbound;
	int err;
	const char *reason;
	uint64_t rtt_us;
	const struct identify_info *info; /* IDENTIFY */
	const struct peerid *from;        /* MESSAGE: the verified author (NULL if unreadable) */
	const char *topic;
	const uint8_t *data;
	size_t len;
	uint64_t seqno;
};

typedef void (*p2ph_event_fn)(void *ud, const struct p2ph_event *ev);

/* Events in binary form; replaces the text callback given to w2w_p2p_new. */
void p2ph_set_event_cb(struct w2w_p2p *h, p2ph_event_fn fn, void *ud);
/* Dials a binary multiaddr; returns what w2w_p2p_dial returns. */
int p2ph_dial(struct w2w_p2p *h, const uint8_t *ma, size_t len);
/* The i-th listen address, binary, without /p2p/: 0, or -ENOENT past the end. */
int p2ph_listen_addr(const struct w2w_p2p *h, size_t i, const uint8_t **ma, size_t *len);
struct gs_stats;
/* The host's gossipsub counters (metrics, node_metrics.c). */
void p2ph_gs_stats(const struct w2w_p2p *h, struct gs_stats *out);
const struct peerid *p2ph_peer(const struct w2w_p2p *h);
/* A liveness probe of a connected peer (one yamux ping on its connection):
 * W2W_P2P_EV_PING follows when answered; without an answer the connection
 * fails (DISCONNECTED). W2W_ESTATE when not connected. The event may be
 * delivered from inside this call. */
int p2ph_probe(struct w2w_p2p *h, const struct peerid *peer);
/* Closes our connections to peer (the engine's bounded degree, docs/mesh.md
 * "Scale"); the disconnect event may be delivered from inside this call. */
int p2ph_hangup(struct w2w_p2p *h, const struct peerid *peer);
/* Validates gossipsub messages before they are delivered, cached and forwarded
 * (gossipsub.h gs_callbacks.validate): fn returns GS_ACCEPT, GS_REJECT or GS_IGNORE
 * for (topic, data). Called from inside the host; must not call back into it. */
typedef int (*p2ph_validate_fn)(void *ud, const char *topic, const uint8_t *data, size_t len);
void p2ph_set_validator(struct w2w_p2p *h, p2ph_validate_fn fn, void *ud);
/* Admission mode (swarm.h): gated = no pubsub bytes to a peer before
 * p2ph_admit(); tok (n bytes, may be 0) is the token our identify answer
 * carries. p2ph_deny closes the peer's connections and refuses new ones for
 * for_us. */
int p2ph_set_admission(struct w2w_p2p *h, bool gated, const uint8_t *tok, size_t n);
int p2ph_admit(struct w2w_p2p *h, const struct peerid *peer);
int p2ph_deny(struct w2w_p2p *h, const struct peerid *peer, uint64_t for_us);

#endif
