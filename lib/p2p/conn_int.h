/* SPDX-License-Identifier: MIT */
/*
 * Inside struct conn (conn.h), shared by its three files:
 *
 *   conn.c         the upgrade pipeline (pnet, mss, Noise, mss, yamux) and the
 *                  session pump that turns yamux events into stream calls;
 *   conn_stream.c  one yamux stream: pending output, per-stream multistream
 *                  negotiation, and dispatch through the protocol table;
 *   conn_proto.c   the table: identify, ping, gossipsub and the diagnostic
 *                  echo, each a `struct stream_proto`.
 *
 * A new stream protocol (circuit relay, DCUtR, an admission check) is one
 * more `struct stream_proto` in conn_proto.c's table; nothing in conn.c or
 * conn_stream.c names a protocol.
 */
#ifndef W2W_P2P_CONN_INT_H
#define W2W_P2P_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "peerid.h"

struct cstream;
struct mss;
struct yamux_stream;

#define STREAM_PEND_MAX (2u * 1024 * 1024)
#define STREAM_PEND_SOFT (64u * 1024) /* echo handlers stop consuming above this */
#define STREAM_NEGOTIATE_US (10ull * 1000 * 1000)

/*
 * One stream protocol. `in` below is yamux_stream_inbound(): the peer opened
 * the stream (we answer), else we opened it (we asked). A handler may free the
 * stream (cs_free, cs_abort); the caller checks cs_alive() afterwards. The
 * stream is "done" (cs->done) once the handler expects nothing more: the
 * generic code then consumes and drops whatever still arrives and frees the
 * stream when yamux ends it. Every hook but on_open may be NULL.
 */
struct stream_proto {
	const char *id;                        /* multistream protocol id */
	/* Offered to peers on this connection? NULL = always. */
	bool (*offered)(const struct conn *c);
	/* The yamux session is up (before CONN_EV_READY): open what this protocol
	 * runs on every connection or what was asked for before the muxer. */
	void (*on_mux_up)(struct conn *c, uint64_t now);
	/* Negotiated (either side). */
	void (*on_open)(struct cstream *cs, uint64_t now);
	/* Readable bytes; *used = how many were taken (0: stall until WRITABLE).
	 * NULL: everything is consumed and ignored. */
	void (*on_data)(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used);
	/* The peer's FIN, after every byte was read. NULL: done, and our FIN once
	 * the pending output went out. */
	void (*on_eof)(struct cstream *cs, uint64_t now);
	/* yamux can take more of this stream's output. */
	void (*on_writable)(struct cstream *cs, uint64_t now);
	/* yamux reset (reset) or closed both halves of a stream not yet done.
	 * true: handled (the handler freed or kept cs); false: the caller frees. */
	bool (*on_closed)(struct cstream *cs, bool reset, uint64_t now);
	/* A stream we opened for this protocol died before it was negotiated
	 * (refused, reset, EOF or timed out): err says how. */
	void (*on_open_failed)(struct conn *c, int err);
	/* Timers of a negotiated stream: next deadline, and the tick (may free cs). */
	uint64_t (*deadline)(const struct cstream *cs);
	void (*tick)(struct cstream *cs, uint64_t now);
};

/* The table, in the order offered to peers (conn_proto.c). */
extern const struct stream_proto *const conn_protos[];
extern const size_t conn_n_protos;

struct cstream {
	struct conn *c;
	struct yamux_stream *st;
	const struct stream_proto *proto; /* negotiated protocol; NULL while negotiating */
	const struct stream_proto *want;  /* ours: what we opened it for; NULL for the peer's */
	bool done;                        /* the handler expects nothing more */
	struct mss *mss;                  /* negotiation (and its leftover bytes) */
	void *state;                      /* the protocol's, freed with the stream */
	size_t state_size;
	struct buf pend; /* bytes yamux did not take yet */
	bool fin_after_pend;
	bool free_after_fin; /* nothing more to do after our FIN: forget the stream */
	bool fin_sent;       /* our half is closed (cs_fin) */
	struct cstream *next;
};

struct conn {
	struct conn_config cfg;
	enum conn_state st;
	int err;
	char reason[160];
	char name[64];
	uint64_t hs_deadline;
	struct pnet *pnet;
	struct mss *mss;
	struct noise *noise;
	struct yamux *mux;
	struct peerid expected;
	bool has_expected;
	struct peerid peer;
	struct buf out;   /* socket bytes to write */
	struct buf plain; /* after pnet */
	struct buf app;   /* after noise */
	struct buf tmp;   /* scratch for one stage's output */
	struct buf tmp2;
	struct cstream *streams;
	/* Protocol state kept per connection (conn_proto.c). */
	struct cstream *gs_out;
	int pings_waiting; /* conn_ping calls not yet started (no muxer yet) */
	bool probe_out;    /* a conn_probe yamux ping waits for its answer */
	bool gs_want;
	bool gs_in_reset; /* conn_gs_in_reset during CONN_EV_GS_IN */
	bool pumping, repump;
	/* A responder with several candidate keys holds its eager mss header
	 * until pnet knows the key (pnet.h). */
	uint8_t held[32];
	size_t held_len;
};

/* conn.c */
void conn_emit(struct conn *c, const struct conn_event *ev);
/* Runs the session until yamux and the streams have nothing more to do. */
void conn_pump(struct conn *c, uint64_t now);

/* conn_stream.c: one stream. */
void cs_free(struct cstream *cs);
/* conn_free: forgets every stream without touching the yamux session. */
void cs_drop_all(struct conn *c);
/* Drops the stream: reset unless finished. */
void cs_abort(struct cstream *cs);
bool cs_alive(const struct conn *c, const struct cstream *cs);
/* Pushes pending bytes into yamux; FIN when asked and drained. */
void cs_flush(struct cstream *cs);
int cs_send(struct cstream *cs, const uint8_t *p, size_t n);
/* FIN once everything pending went out. */
void cs_close_after(struct cstream *cs);
/* FIN now (our half; the peer may still send). */
void cs_fin(struct cstream *cs);
/* Delivers what is readable (negotiation, handler, EOF); may free cs. */
void cs_readable(struct cstream *cs, uint64_t now);
/* The peer's FIN, once everything was read. */
void cs_eof(struct cstream *cs, uint64_t now);
/* Opens a stream for `want` offering ids[0..n) (initiator). */
int cs_open(struct conn *c, const struct stream_proto *want, const char *const *ids, size_t n, uint64_t now,
	    struct cstream **ret);
/* The peer opened st: negotiate one of the offered protocols (responder). */
void cs_accept(struct conn *c, struct yamux_stream *st, uint64_t now);
/* yamux reset or closed the stream (after the handler had its say). */
void cs_closed(struct cstream *cs, bool reset, uint64_t now);
void cs_writable(struct cstream *cs, uint64_t now);
/* Timers of every stream: negotiation timeouts and the protocols' own. */
void cs_tick_all(struct conn *c, uint64_t now);
uint64_t cs_deadline_all(const struct conn *c);
size_t cs_memory(const struct cstream *cs);

#endif
