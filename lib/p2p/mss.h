/* SPDX-License-Identifier: MIT */
/*
 * multistream-select 1.0 (multiformats/multistream-select README), sans-IO.
 *
 * One engine per negotiation: on a raw/pnet connection (security), inside
 * Noise (muxer) and on every yamux stream (application protocol). Messages are
 * uvarint(len) || text || '\n' with len <= 1024 including the newline.
 *
 * Initiator: mss_start() writes "/multistream/1.0.0\n" and the first proposal
 * in one write (it never waits for the listener to speak first); on "na" it
 * proposes the next entry. Responder: mss_start() writes the header once
 * (eagerly, like go); answers each proposal with an echo (supported) or "na",
 * "ls" with the supported list. Input may be split, coalesced or pipelined:
 * bytes after the final negotiation line are kept and handed to the next layer
 * via mss_leftover().
 *
 *   mss_new(&m, &cfg); mss_start(m, now, out);
 *   r = mss_feed(m, in, n, now, out);      // out += replies/proposals
 *   if (r == 1) { proto = mss_protocol(m); mss_leftover(m, &p, &len); }
 */
#ifndef W2W_P2P_MSS_H
#define W2W_P2P_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct wlog;
struct mss;

#define MSS_PROTO_ID "/multistream/1.0.0"
#define MSS_MAX_LINE 1024 /* bytes incl. '\n' (go lpReadBuf, js MAX_PROTOCOL_LENGTH) */
#define MSS_DEFAULT_TIMEOUT_US (10ull * 1000 * 1000)
#define MSS_MAX_PROTOCOLS 32

enum mss_role {
	MSS_INITIATOR,
	MSS_RESPONDER,
};

struct mss_config {
	enum mss_role role;
	/* Initiator: proposals in order of preference. Responder: supported set.
	 * Strings are copied; each 1..1023 bytes without '\n'. At most MSS_MAX_PROTOCOLS. */
	const char *const *protocols;
	size_t n_protocols;
	const struct wlog *log; /* may be NULL */
	uint64_t timeout_us;    /* negotiation deadline after start; 0 = default */
};

/* -ENOMEM; W2W_EPARSE for a bad protocol list. */
int mss_new(struct mss **ret, const struct mss_config *cfg);
void mss_free(struct mss *m);

/* Arms the deadline and appends the opening bytes to `out`. Once only. */
int mss_start(struct mss *m, uint64_t now_us, struct buf *out);
/*
 * Consumes all n bytes from the peer; appends our answers/proposals to `out`.
 * Returns 1 when negotiation is complete (also on later calls: further input
 * is then appended to the leftover), 0 while negotiating, < 0 on failure:
 * W2W_EPROTO (bad header, malformed line, unexpected answer, every proposal
 * rejected), W2W_ELIMIT (line over 1024 bytes, more than 64 refused proposals,
 * over 1 MiB buffered), W2W_ETIMEDOUT.
 */
int mss_feed(struct mss *m, const void *in, size_t n, uint64_t now_us, struct buf *out);
bool mss_done(const struct mss *m);
/* Negotiated protocol (a copy owned by m) and its index in the config list; NULL/-1 before. */
const char *mss_protocol(const struct mss *m);
int mss_protocol_index(const struct mss *m);
/* Bytes received after the last negotiation line: belong to the next layer. */
void mss_leftover(const struct mss *m, const uint8_t **p, size_t *len);
/* Drops n leftover bytes (after the caller moved them on). */
void mss_leftover_consume(struct mss *m, size_t n);
uint64_t mss_next_deadline(const struct mss *m);
int mss_tick(struct mss *m, uint64_t now_us);
const char *mss_reason(const struct mss *m);
/* True once the peer's "/multistream/1.0.0" line arrived intact. Over a
 * private network (pnet) this is the first plaintext a wrong swarm key would
 * garble, so conn.c tells "wrong swarm key" (W2W_EPSK) from other failures by it. */
bool mss_header_seen(const struct mss *m);

/* Appends one LP-framed line "uvarint(len+1) text \n" (also for tests). */
int mss_put_line(struct buf *out, const char *text, size_t len);

#endif
