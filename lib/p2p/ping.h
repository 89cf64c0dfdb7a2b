/* SPDX-License-Identifier: MIT */
/*
 * /ipfs/ping/1.0.0 (libp2p/specs ping/ping.md), sans-IO, one engine per
 * stream. The initiator writes 32 random bytes and expects exactly those 32
 * back; the responder echoes every 32-byte block until the peer's FIN, then
 * FINs itself. Several pings may follow each other on one stream (go does
 * that; js sends one and closes).
 *
 *   initiator: ping_init(&p, true, 0); ping_send(&p, rng, now, out);
 *              n = ping_feed(&p, in, len, now, NULL);   // consumed bytes
 *              if (!ping_outstanding(&p)) rtt = ping_rtt_us(&p);
 *   responder: ping_init(&p, false, 0);
 *              n = ping_feed(&p, in, len, now, out);    // echo goes to out
 */
#ifndef W2W_P2P_PING_H
#define W2W_P2P_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct rng;

#define PING_PROTO_ID "/ipfs/ping/1.0.0"
#define PING_SIZE 32
#define PING_DEFAULT_TIMEOUT_US (10ull * 1000 * 1000) /* js and go give up after 10 s */

struct ping {
	bool initiator;
	bool outstanding;          /* initiator: waiting for the echo */
	uint8_t sent[PING_SIZE];   /* initiator: the bytes we sent */
	uint8_t in[PING_SIZE];     /* partial block received so far */
	size_t in_len;
	uint64_t sent_at_us;
	uint64_t timeout_us;
	uint64_t rtt_us;           /* last measured round trip */
	uint64_t count;            /* pings answered (initiator) or echoed (responder) */
};

/* timeout_us 0 = PING_DEFAULT_TIMEOUT_US (initiator: per ping). */
void ping_init(struct ping *p, bool initiator, uint64_t timeout_us);
/*
 * Initiator: appends 32 fresh random bytes (rng NULL = system RNG) to out.
 * W2W_ESTATE if a ping is outstanding or p is a responder; buf errors.
 */
int ping_send(struct ping *p, const struct rng *rng, uint64_t now_us, struct buf *out);
/*
 * Consumes bytes from the stream. Initiator: at most what completes the
 * outstanding echo; W2W_EPROTO when the echo differs or bytes arrive
 * unasked (out is unused). Responder: buffers partial blocks and appends each
 * complete block to out, stopping when out has no room for one (so the host
 * applies backpressure by bounding out). Returns the bytes consumed.
 */
int ping_feed(struct ping *p, const void *in, size_t n, uint64_t now_us, struct buf *out);
bool ping_outstanding(const struct ping *p);
uint64_t ping_rtt_us(const struct ping *p);
/* Initiator: end of the outstanding ping's time budget (UINT64_MAX = none). */
uint64_t ping_next_deadline(const struct ping *p);
/* W2W_ETIMEDOUT when the outstanding ping is overdue, else 0. */
int ping_tick(struct ping *p, uint64_t now_us);
/*
 * The peer's FIN arrived. Responder: 0 (a trailing partial block is dropped,
 * as js does). Initiator: W2W_ECLOSED if a ping was still outstanding.
 */
int ping_eof(struct ping *p);

#endif
