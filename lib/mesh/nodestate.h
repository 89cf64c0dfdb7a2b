/* SPDX-License-Identifier: MIT */
/*
 * What a node persists in its state directory so a restart resumes without
 * asking anyone (docs/operations.md "State directory"): the overlay address it
 * claimed, with the original claim time (so a restart keeps its seniority in
 * the IPAM rule), and every peer multiaddr it learned (so partitions heal by
 * redialling them). Encoded as one msgpack map, version 1; the file is
 * replaced atomically by the caller.
 */
#ifndef W2W_MESH_NODESTATE_H
#define W2W_MESH_NODESTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "announce.h"
#include "buf.h"

#define NODESTATE_MAX_SIZE (256 * 1024)
#define NODESTATE_MAX_PEERS 1024
#define NODESTATE_ADDR_MAX 256 /* multiaddr text */

struct nodestate {
	bool has_claim;
	struct ann_claim claim;
	/* Announcement sequence numbers below this were or may have been used: a
	 * restart continues above it, even if the wall clock stepped back (key
	 * "seq", optional; 0 = none). */
	uint64_t seq_floor;
	size_t n_peers;
	char (*peers)[NODESTATE_ADDR_MAX]; /* multiaddr text, /p2p/ included */
};

void nodestate_init(struct nodestate *s);
void nodestate_free(struct nodestate *s);
/* Adds a peer multiaddr unless present; drops the oldest past NODESTATE_MAX_PEERS. Returns 1 if added. */
int nodestate_add_peer(struct nodestate *s, const char *multiaddr);
int nodestate_encode(const struct nodestate *s, struct buf *out);
/* Untrusted bytes (the file may be damaged): W2W_EPARSE without touching *s. */
int nodestate_decode(const uint8_t *p, size_t n, struct nodestate *s);

#endif
