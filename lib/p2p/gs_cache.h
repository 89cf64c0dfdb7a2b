/* SPDX-License-Identifier: MIT */
/*
 * The gossipsub router's memory of messages, by message ID: the seen cache
 * (pubsub/README.md "The Seen Cache": IDs delivered or forwarded lately, so a
 * message is handled once) and the message cache (gossipsub-v1.0.md "Message
 * Cache": the last mcache_len heartbeat windows of messages, offered in IHAVE
 * and served on IWANT). Both index a hash table whose key is random per
 * router, so peers cannot aim their message IDs at one bucket. Every size is
 * capped: the seen cache drops its oldest entry early at `max` entries, the
 * message cache stops taking messages at `max_bytes`.
 */
#ifndef W2W_P2P_GS_CACHE_H
#define W2W_P2P_GS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gs_hnode {
	struct gs_hnode *next;
	uint64_t h;
	const uint8_t *id;
	size_t len;
};

struct gs_htab {
	struct gs_hnode **b;
	size_t nb, n;
	uint64_t key; /* random per router */
};

struct gs_seen_entry;

struct gs_seen {
	struct gs_htab ht;
	struct gs_seen_entry *old, *new; /* FIFO, oldest first: insertion order is expiry order */
	size_t bytes;
	size_t max;
	uint64_t ttl_us;
};

void gs_seen_init(struct gs_seen *s, size_t max, uint64_t ttl_us, uint64_t key);
void gs_seen_free(struct gs_seen *s);
bool gs_seen_has(const struct gs_seen *s, const uint8_t *id, size_t len);
/* Remembers id until now + ttl (best effort: without memory it is not remembered). */
void gs_seen_add(struct gs_seen *s, const uint8_t *id, size_t len, uint64_t now_us);
void gs_seen_expire(struct gs_seen *s, uint64_t now_us);
size_t gs_seen_memory(const struct gs_seen *s);

struct gs_tx {
	uint32_t serial; /* the peer's */
	uint8_t count;
};

struct gs_mentry {
	struct gs_hnode hn;
	char *topic;
	uint8_t *raw; /* the Message as received/signed, forwarded verbatim */
	size_t raw_len;
	struct gs_tx *tx; /* IWANT replies per peer */
	size_t n_tx;
	uint8_t id[];
};

struct gs_mwindow {
	struct gs_mentry **e;
	size_t n, cap;
};

struct gs_mcache {
	struct gs_htab ht;
	struct gs_mwindow *win; /* len windows, [0] newest */
	unsigned len;
	size_t bytes, max_bytes; /* max_bytes 0 = no cap */
};

/* -ENOMEM. */
int gs_mcache_init(struct gs_mcache *c, unsigned windows, size_t max_bytes, uint64_t key);
void gs_mcache_free(struct gs_mcache *c);
struct gs_mentry *gs_mcache_get(const struct gs_mcache *c, const uint8_t *id, size_t len);
/* Into the newest window. 0 (also when already cached), -ENOSPC (max_bytes
 * reached: not cached), -ENOMEM. */
int gs_mcache_put(struct gs_mcache *c, const uint8_t *id, size_t len, const char *topic, size_t topic_len,
		  const uint8_t *raw, size_t raw_len);
/* Heartbeat: the oldest window is forgotten, a new empty one starts. */
void gs_mcache_shift(struct gs_mcache *c);
/* The reply counter of peer `serial` for m (created at 0), NULL without memory. */
struct gs_tx *gs_mcache_tx(struct gs_mcache *c, struct gs_mentry *m, uint32_t serial);
size_t gs_mcache_memory(const struct gs_mcache *c);

#endif
