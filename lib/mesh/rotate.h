/* SPDX-License-Identifier: MIT */
/*
 * WireGuard key rotation (docs/mesh.md "Key rotation"), the parts that are
 * not the engine's timers: the key file that makes a rotation crash-safe, the
 * schedule with its jitter, and the ring of retired peer keys. Sans-IO: the
 * caller reads and writes the file (os/atomicfile.h) and passes time in.
 *
 * The rotating node (meshnode.c drives it):
 *   1. a next key is generated and the key file {base, current, next} is
 *      replaced atomically BEFORE anything uses it;
 *   2. announcements carry the next public key ("nwg"); peers add it as an
 *      extra WireGuard peer without allowed IPs, so they can answer its
 *      first handshake at once;
 *   3. after ROT_LEAD_US the key file becomes {base, current = next} (again
 *      before use), the device switches its private key, and once that
 *      device is applied the announcement carries the new key in "wg";
 *   4. peers move the allowed IPs to the new key on that announcement, or
 *      earlier when they see a handshake with the announced next key (only
 *      the switched device can complete one), and remove the old key at once.
 * A kill between any two steps leaves a key file whose current key is the one
 * the device had or is about to get, and a pending next key is resumed at
 * restart (node.c): peers accept either (step 2 pre-configured the next one).
 */
#ifndef W2W_MESH_ROTATE_H
#define W2W_MESH_ROTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Time between announcing the next key and switching to it: gossip reaches
 * every connected peer in milliseconds; the rest is slack for a peer whose
 * WireGuard apply is slow or whose first copy of the announcement was lost
 * (the announcement is repeated at half the lead). */
#define ROT_LEAD_US (2000ull * 1000)
/* A peer waits this long for the first handshake of a node's new key (the
 * rotating node initiates it) before it sets the endpoint and initiates: the
 * higher key of the pair; the lower one waits ROT_WAIT_LOW_US. */
#define ROT_WAIT_US (3000ull * 1000)
#define ROT_WAIT_LOW_US (300ull * 1000) /* ... the lower key of the pair (docs/mesh.md) */
/* After a switch, every peer has a keepalive for this long (the kick). */
#define ROT_KICK_US (10ull * 1000 * 1000)
/* Retired peer keys are removed from the device even during the restart
 * grace (keep_unlisted); they are forgotten after this. */
#define ROT_RETIRED_KEEP_US (60ull * 1000 * 1000)
#define ROT_MAX_RETIRED 64
/* Scheduled rotation: each period is the interval +- this many percent. */
#define ROT_JITTER_PCT 10
/* The shortest accepted WireguardKeyRotation (a rotation needs its lead). */
#define ROT_MIN_INTERVAL_MS 3000ull

/* ---- the key file (StateDir/wgkey, 0600) ---- */

#define ROT_KEYFILE_LEN 102 /* "W2WK" | version | flags | base 32 | current 32 | next 32 */
#define ROT_KEYFILE_VERSION 1

struct rot_keys {
	uint8_t base_pub[32]; /* the configured key's public key: a changed config key wins over the file */
	uint8_t cur[32];      /* secret: the private key in use */
	bool has_next;
	uint8_t next[32];     /* secret: the announced next key (has_next) */
};

/* Writes exactly ROT_KEYFILE_LEN bytes (the caller wipes them). */
void rot_keyfile_encode(const struct rot_keys *k, uint8_t out[ROT_KEYFILE_LEN]);
/* Strict decode of untrusted bytes; writes *out only on success. W2W_EPARSE. */
int rot_keyfile_decode(const uint8_t *p, size_t n, struct rot_keys *out);

/* ---- the schedule ---- */

/* Delay to the next scheduled rotation: interval_us +- ROT_JITTER_PCT %,
 * spread by seed (the node's ID and a counter, so nodes started together do
 * not rotate together). */
uint64_t rot_sched_delay(uint64_t interval_us, uint64_t seed);

/* ---- retired peer keys ---- */

struct rot_retired {
	size_t n;
	struct {
		uint8_t key[32];
		uint64_t at_us;
	} e[ROT_MAX_RETIRED];
};

/* Remembers key as retired at now (the oldest goes when full; once only). */
void rot_retire(struct rot_retired *r, const uint8_t key[32], uint64_t now);
/* Forgets key (it is in use again: a node that restarted with its old key). */
void rot_unretire(struct rot_retired *r, const uint8_t key[32]);
/* Drops entries older than ROT_RETIRED_KEEP_US. */
void rot_retired_prune(struct rot_retired *r, uint64_t now);

#endif
