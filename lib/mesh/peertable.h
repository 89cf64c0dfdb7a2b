/* SPDX-License-Identifier: MIT */
/*
 * The peer table: what this node believes about every other node, keyed by
 * the gossipsub AUTHOR of the announcement (the signed `from`), never by the
 * peer that forwarded it. Sequence numbers only move forward per author, so
 * replayed or reordered announcements are ignored; silence longer than the
 * expiry removes an entry; an explicit leave removes it at once.
 */
#ifndef W2W_MESH_PEERTABLE_H
#define W2W_MESH_PEERTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "peerid.h"

#define PT_MAX_DEFAULT 4096

struct pt_entry {
	struct peerid id;
	struct announce ann;
	uint64_t first_seen_us;
	uint64_t last_seen_us;
};

enum pt_result {
	PT_NEW = 1,       /* first announcement from this author */
	PT_UPDATED,       /* newer announcement with different content */
	PT_REFRESHED,     /* newer sequence, same content: only liveness changed */
	PT_STALE,         /* sequence not newer than what we have: ignored */
	PT_LEFT,          /* author announced it is leaving: entry removed */
	PT_SELF,          /* our own announcement echoed back: ignored */
	PT_REJECTED,      /* conflicts with another author's WireGuard key, or table full */
};

struct peertable;

/* Tombstones: the last seq of each author that announced LEAVING, kept for
 * the tombstone TTL so that a replayed or delayed announcement from before
 * the leave (gossipsub may deliver one after the LEAVING: another path, a
 * relay's retransmission, a peer that was partitioned) cannot bring the node
 * back. At least gossipsub's seen-TTL (a message is re-deliverable after it)
 * plus PeerExpiry (how long any node may still hold and re-announce about
 * it); the engine sets it (pt_set_tombstone_ttl). At most PT_MAX_TOMBS; when
 * full the one that expires first goes. */
#define PT_MAX_TOMBS 1024
#define PT_TOMB_TTL_DEFAULT_US (330ull * 1000 * 1000) /* 120 s seen-TTL + 3 min 30 s PeerExpiry */

struct peertable *pt_new(size_t max_entries);
void pt_free(struct peertable *pt);

/* Applies a verified announcement by `author`. Returns an enum pt_result. */
int pt_apply(struct peertable *pt, const struct peerid *self, const struct peerid *author,
	     const struct announce *a, uint64_t now_us);

void pt_set_tombstone_ttl(struct peertable *pt, uint64_t ttl_us);
/* The tombstone of id (its LEAVING seq) if one is live at now_us. */
bool pt_tombstone(const struct peertable *pt, const struct peerid *id, uint64_t now_us, uint64_t *seq);
/* Removes entries silent for longer than expiry_us; calls fn (may be NULL)
 * for each before removal. Returns how many were removed. */
size_t pt_expire(struct peertable *pt, uint64_t now_us, uint64_t expiry_us,
		 void (*fn)(void *ud, const struct pt_entry *e), void *ud);

/* Proof of life other than an announcement (our own probe answered): the
 * entry's silence restarts. False when id is not in the table. */
bool pt_touch(struct peertable *pt, const struct peerid *id, uint64_t now_us);
/* Removes id's entry, calling fn (may be NULL) first. False when absent. */
bool pt_remove(struct peertable *pt, const struct peerid *id, void (*fn)(void *ud, const struct pt_entry *e),
	       void *ud);
/* Key rotation (docs/mesh.md "Key rotation"): the node id has switched to the
 * next key it announced (we saw a handshake with it): its entry's key becomes
 * that key. False when absent, no next key, or another entry holds it. */
bool pt_promote_next(struct peertable *pt, const struct peerid *id);
/* How many entries sort before id (the order of pt_at); id need not be present. */
size_t pt_rank(const struct peertable *pt, const struct peerid *id);

size_t pt_count(const struct peertable *pt);
/* Entries in a stable order (by peer ID bytes). */
const struct pt_entry *pt_at(const struct peertable *pt, size_t i);
const struct pt_entry *pt_find(const struct peertable *pt, const struct peerid *id);
/* Earliest last_seen_us among entries (for expiry deadlines), or UINT64_MAX. */
uint64_t pt_oldest_seen(const struct peertable *pt);

#endif
