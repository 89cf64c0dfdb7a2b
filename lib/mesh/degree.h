/* SPDX-License-Identifier: MIT */
/*
 * Bounded libp2p degree (docs/mesh.md "Scale", issue 10). Gossip needs a
 * connected libp2p graph, not a complete one: every node used to dial every
 * node it knew, N - 1 connections each, and the swarm refuses connections
 * above its limit (256, lib/p2p/swarm.h), so above 257 nodes some pairs could
 * never connect and a node whose bootstrap peers were full was locked out.
 *
 * Up to DEG_FULL_MAX members (the table and us) nothing changes: every known
 * node is dialled. Above, a node dials only the members it *wants*:
 *  - its ring neighbours: the members sorted by peer ID form a ring, and
 *    the DEG_RING nearest on each side are wanted (a connected graph while
 *    the tables agree, whatever N);
 *  - chords: a pair whose hash of the two peer IDs falls below
 *    DEG_CHORDS / n of the hash range (about DEG_CHORDS per node, random
 *    but the same on every node: a small-world graph, gossip crosses it in
 *    O(log N) hops). The threshold shrinks smoothly as n grows, so a join
 *    drops few chords.
 * Both rules are symmetric (a wants b iff b wants a), so the two ends of a
 * wanted pair both keep it, and the degree is about 2 DEG_RING + DEG_CHORDS
 * whatever N. Pure functions, no state.
 */
#ifndef W2W_MESH_DEGREE_H
#define W2W_MESH_DEGREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

#define DEG_FULL_MAX 100 /* members up to which every node dials every other */
#define DEG_RING 3       /* ring neighbours on each side */
#define DEG_CHORDS 4     /* expected chords per node */
/* Above DEG_GAP_FREE members, unscheduled floods are spaced this much per
 * member (meshnode.c flood_wait): at most 1 / DEG_FLOOD_GAP_US floods a
 * second in the whole mesh. */
#define DEG_GAP_FREE 32
/* Connections neither end wants are closed once this many wanted ones are
 * up, when older than DEG_TRIM_AGE_US (meshnode.c deg_trim). */
#define DEG_TRIM_MIN 4
#define DEG_TRIM_AGE_US (10ull * 1000 * 1000)
/* Room for newcomers: above this many connections, the oldest that neither
 * end wants are closed at once, whatever their age. The host refuses
 * connections above its limit (256, lib/p2p/swarm.h SWARM_DEFAULT_MAX_CONNS);
 * in a cold start of hundreds, early nodes (each dialling every member while
 * it knows at most DEG_FULL_MAX) reached it within a second, and a joiner
 * whose one bootstrap node was full stayed alone and unknown until that
 * node's trim (DEG_TRIM_AGE_US) and its own dial backoff allowed a retry
 * (sim_scale at N = 1000: 70-odd such nodes; docs/mesh.md "Bounded libp2p
 * degree"). Half the host's limit: a burst of 128 newcomers between two
 * trims still gets in. */
#define DEG_CONN_HIGH 128
#define DEG_FLOOD_GAP_US 1000ull
/* Above DEG_FULL_MAX, an answer to new authors also waits until no new
 * author arrived for DEG_QUIET_US, at most DEG_QUIET_CAP gaps. */
#define DEG_QUIET_US (200ull * 1000)
#define DEG_QUIET_CAP 4

/* Above DEG_FULL_MAX members: the degree is bounded. */
bool deg_bounded(size_t members);

/*
 * Does a node want a libp2p connection to another member? n: the members
 * it knows (its table and itself), ra, rb: the two ranks among them (sorted
 * by peer ID, 0 .. n - 1); members: the mesh's size as far as it can tell
 * (at least n; the largest member count announced, which a joiner learns
 * from its first announcement, long before its table is complete); a, b:
 * the two peer IDs. Symmetric in (a, ra) and (b, rb) when both sides know
 * the same; always true when the degree is not bounded.
 */
bool deg_wanted(size_t n, size_t members, size_t ra, size_t rb, const struct peerid *a, const struct peerid *b);

#endif
