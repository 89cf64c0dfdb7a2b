/* SPDX-License-Identifier: MIT */
/*
 * yamux stream multiplexer (libp2p/specs yamux/README.md, hashicorp spec),
 * protocol ID /yamux/1.0.0, sans-IO.
 *
 * One session per secured connection: the dialer is the client (odd stream
 * IDs), the listener the server (even IDs). The host moves bytes and time:
 *
 *   yamux_new(&s, &cfg);
 *   yamux_feed(s, in, n, now);            // bytes decrypted from the peer
 *   while (yamux_next_event(s, &ev)) ...  // opened / readable / eof / reset ...
 *   yamux_pull(s, out, room);             // frames to encrypt and send
 *   yamux_tick(s, now) at yamux_next_deadline(s)
 *
 * Streams are owned by the session; each stays valid until the host calls
 * yamux_stream_free() (also for inbound streams announced by
 * YAMUX_EV_OPENED). Outgoing data is queued per stream (bounded: writes
 * return -EAGAIN when the queue is full) and turned into frames only when the
 * host pulls, within the peer's window, so a peer that stops reading cannot
 * make us buffer more than streams x queue size. Incoming Data frames are
 * checked against the window we granted before any byte is buffered.
 *
 * Events are a poll-style queue, so an engine on top of a stream (mss, ping,
 * identify, gossipsub) runs from the host's loop and never re-enters yamux.
 */
#ifndef W2W_P2P_YAMUX_H
#define W2W_P2P_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct wlog;
struct yamux;
struct yamux_stream;

#define YAMUX_PROTO_ID "/yamux/1.0.0"
#define YAMUX_HDR_LEN 12
#define YAMUX_VERSION 0
#define YAMUX_INITIAL_WINDOW (256u * 1024)     /* spec: initial per-stream window */
#define YAMUX_MAX_DATA_FRAME (64u * 1024 - 12) /* our Data payloads (go MaxMessageSize incl. header) */
#define YAMUX_DEFAULT_MAX_INBOUND 256          /* open inbound streams; excess SYNs get RST */
#define YAMUX_DEFAULT_MAX_OUTBOUND 256         /* open outbound streams */
#define YAMUX_DEFAULT_SENDQ (256u * 1024)      /* bytes queued per stream before -EAGAIN */
#define YAMUX_CTRL_MAX (256u * 1024)           /* queued session frames (pongs, RSTs, GoAway) */
#define YAMUX_DEFAULT_PING_TIMEOUT_US (10ull * 1000 * 1000)

enum yamux_type {
	YAMUX_DATA = 0,
	YAMUX_WINDOW_UPDATE = 1,
	YAMUX_PING = 2,
	YAMUX_GO_AWAY = 3,
};

enum yamux_flag {
	YAMUX_SYN = 0x1,
	YAMUX_ACK = 0x2,
	YAMUX_FIN = 0x4,
	YAMUX_RST = 0x8,
};

enum yamux_goaway_code {
	YAMUX_GOAWAY_NORMAL = 0,
	YAMUX_GOAWAY_PROTO_ERR = 1,
	YAMUX_GOAWAY_INTERNAL_ERR = 2,
};

struct yamux_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t stream_id;
	uint32_t length;
};

/* 12-byte big-endian header. */
void yamux_hdr_encode(uint8_t out[YAMUX_HDR_LEN], const struct yamux_hdr *h);
/* Decodes exactly YAMUX_HDR_LEN bytes. 0, or W2W_EPROTO for a bad version/type. */
int yamux_hdr_decode(const uint8_t in[YAMUX_HDR_LEN], struct yamux_hdr *h);

struct yamux_config {
	bool client;                 /* dialer: odd IDs */
	uint32_t max_inbound;        /* 0 = YAMUX_DEFAULT_MAX_INBOUND */
	uint32_t max_outbound;       /* 0 = YAMUX_DEFAULT_MAX_OUTBOUND */
	uint32_t window;             /* receive window per stream: 256 KiB (also for 0) .. 16 MiB */
	uint32_t sendq_max;          /* per-stream send queue; 0 = YAMUX_DEFAULT_SENDQ; <= 16 MiB */
	uint64_t keepalive_us;       /* send a ping this often (first one at once); 0 = never */
	uint64_t ping_timeout_us;    /* no pong within this => W2W_ETIMEDOUT; 0 = default */
	const struct wlog *log;      /* may be NULL */
};

enum yamux_ev_type {
	YAMUX_EV_NONE = 0,
	YAMUX_EV_OPENED,   /* peer opened `stream` (already accepted; free it when done) */
	YAMUX_EV_READABLE, /* `stream` has new bytes (or EOF) to read */
	YAMUX_EV_EOF,      /* peer half-closed `stream` (FIN): reads end once drained */
	YAMUX_EV_WRITABLE, /* a write that returned -EAGAIN can make progress now */
	YAMUX_EV_RESET,    /* the peer reset `stream` (RST): reads and writes now fail */
	YAMUX_EV_CLOSED,   /* FIN sent and FIN received: `stream` is finished, free it */
	YAMUX_EV_PING,     /* a ping we sent was answered: rtt_us */
	YAMUX_EV_GOAWAY,   /* peer sent GoAway(code): no new outbound streams */
};

struct yamux_event {
	enum yamux_ev_type type;
	struct yamux_stream *stream; /* stream events only */
	uint32_t code;               /* GOAWAY: the peer's code */
	uint64_t rtt_us;             /* PING */
};

/* -ENOMEM. */
int yamux_new(struct yamux **ret, const struct yamux_config *cfg);
/* Frees the session and every stream (no frames are sent; call yamux_close and pull first). */
void yamux_free(struct yamux *s);

/*
 * Consumes all n bytes received from the peer (frames may be split or
 * coalesced anyhow). Returns 0, or the session error (also on every later
 * call): W2W_EPROTO (peer broke the protocol; GoAway(1) is queued), W2W_ELIMIT
 * (the peer makes us queue too many control frames), -ENOMEM, W2W_ETIMEDOUT.
 * After an error only yamux_pull (to flush the GoAway) and yamux_free remain useful.
 */
int yamux_feed(struct yamux *s, const void *in, size_t n, uint64_t now_us);
/*
 * Appends whole frames, at most `max` bytes (and what `out` has room for),
 * to `out`. Returns the byte count appended (0 = nothing to send now).
 */
int yamux_pull(struct yamux *s, struct buf *out, size_t max);
/* True when yamux_pull would append something (given room). */
bool yamux_want_write(const struct yamux *s);
/* Next event, or false when none is pending. */
bool yamux_next_event(struct yamux *s, struct yamux_event *ev);
/* Absolute deadline for yamux_tick (UINT64_MAX = none). */
uint64_t yamux_next_deadline(const struct yamux *s);
/* Runs timers: keepalive pings, ping timeout (W2W_ETIMEDOUT). Returns 0 or the session error. */
int yamux_tick(struct yamux *s, uint64_t now_us);
/* Sends a ping now (RTT reported by YAMUX_EV_PING). W2W_ESTATE if one is outstanding. */
int yamux_ping(struct yamux *s, uint64_t now_us);
/* Last measured round-trip time (0 = none yet). */
uint64_t yamux_rtt_us(const struct yamux *s);
/* Queues GoAway(code); afterwards peer SYNs are refused with RST and opens fail. */
int yamux_close(struct yamux *s, uint32_t code);
/* 0 while healthy, else the session error. */
int yamux_error(const struct yamux *s);
bool yamux_goaway_received(const struct yamux *s);
size_t yamux_stream_count(const struct yamux *s);
/* Bytes held by the session: stream receive buffers and send queues plus queued session frames. */
size_t yamux_buffered(const struct yamux *s);

/*
 * Opens an outbound stream; the SYN goes out with the next pull and data may
 * follow before the peer's ACK. W2W_ELIMIT (max_outbound), W2W_ECLOSED (GoAway
 * sent or received), W2W_ESTATE (session failed), -ENOMEM.
 */
int yamux_stream_open(struct yamux *s, void *user, struct yamux_stream **ret);
/*
 * Queues up to n bytes (the bytes that fit the stream's send queue). Returns
 * the count accepted (> 0), -EAGAIN when none fit (YAMUX_EV_WRITABLE follows),
 * W2W_ESTATE after yamux_stream_close, W2W_ECLOSED after a reset or once the
 * session failed. 0 for n == 0.
 */
int yamux_stream_write(struct yamux_stream *st, const void *p, size_t n);
/*
 * Copies up to n buffered bytes out. Returns the count (> 0), 0 at EOF (peer
 * sent FIN and everything was read), -EAGAIN when nothing is buffered yet,
 * W2W_ECLOSED after a reset.
 */
int yamux_stream_read(struct yamux_stream *st, void *p, size_t n);
/* Zero-copy read: the buffered bytes (valid until the next call into the session). */
void yamux_stream_peek(const struct yamux_stream *st, const uint8_t **p, size_t *n);
/* Marks n peeked bytes read (window credit flows back to the peer). */
void yamux_stream_consume(struct yamux_stream *st, size_t n);
/*
 * Half-close: FIN after the queued data, on a WindowUpdate of its own (never
 * on a Data frame: js-yamux 7 would drop that frame's data). Reading stays
 * possible. Idempotent.
 */
int yamux_stream_close(struct yamux_stream *st);
/* Abort both directions (WindowUpdate RST); queued and buffered bytes are dropped. */
int yamux_stream_reset(struct yamux_stream *st);
/*
 * Releases the host's handle. A stream that is finished, or half-closed by us,
 * is forgotten quietly (queued data and the FIN still go out); any other is
 * reset first. The pointer is invalid afterwards. NULL is accepted.
 */
void yamux_stream_free(struct yamux_stream *st);

uint32_t yamux_stream_id(const struct yamux_stream *st);
bool yamux_stream_inbound(const struct yamux_stream *st);
void *yamux_stream_user(const struct yamux_stream *st);
void yamux_stream_set_user(struct yamux_stream *st, void *user);
/* Bytes buffered for reading. */
size_t yamux_stream_readable(const struct yamux_stream *st);
/* Bytes yamux_stream_write would accept now. */
size_t yamux_stream_writable(const struct yamux_stream *st);
/* Bytes queued and not yet framed. */
size_t yamux_stream_queued(const struct yamux_stream *st);
/* Peer sent FIN / stream reset / finished (both FINs or a reset). */
bool yamux_stream_eof(const struct yamux_stream *st);
bool yamux_stream_is_reset(const struct yamux_stream *st);
bool yamux_stream_done(const struct yamux_stream *st);

#endif
