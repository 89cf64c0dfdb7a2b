/* SPDX-License-Identifier: MIT */
/*
 * One libp2p connection, sans-IO: the upgrade pipeline of libp2p specs
 * connections/README.md and the per-stream protocol dispatch on top.
 *
 *   TCP bytes <-> pnet (PSK) <-> mss "/noise" <-> Noise XX <-> mss "/yamux/1.0.0" <-> yamux
 *
 * Both roles. The dialer is the initiator of every stage (mss, Noise, yamux
 * client). The whole upgrade must finish within handshake_timeout_us: a wrong
 * PSK is not detected by pnet itself, only by this deadline or by the garbage
 * the next stage reads (libp2p specs pnet/Private-Networks-PSK-V1.md).
 *
 * Once yamux runs, every inbound stream negotiates its protocol with mss
 * (responder): /ipfs/id/1.0.0 (identify answer), /ipfs/ping/1.0.0 (echo),
 * /meshsub/1.1.0 and /meshsub/1.0.0 (bytes go to the host), and, when
 * enabled, /w2w/echo/1.0.0 (a diagnostic echo); "na" for anything else. We
 * run identify as initiator on every connection and report what the peer said.
 * Each of these protocols is one entry of the table in conn_proto.c
 * (struct stream_proto, conn_int.h).
 *
 * The host feeds socket bytes (conn_feed), writes conn_output() to the socket
 * and acknowledges it (conn_consume), runs conn_tick() at conn_next_deadline().
 * Output is bounded: when the socket does not drain, yamux is not pulled, its
 * per-stream queues fill, the stream handlers stop consuming, and yamux stops
 * granting window to the peer. Events arrive through one callback, invoked
 * from inside conn_* calls; the callback must not free the conn.
 */
#ifndef W2W_P2P_CONN_H
#define W2W_P2P_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct ident;
struct identify_info;
struct peerid;
struct rng;
struct wlog;
struct conn;

#define CONN_ECHO_PROTO_ID "/w2w/echo/1.0.0"
#define CONN_DEFAULT_HANDSHAKE_US (10ull * 1000 * 1000)
#define CONN_OUT_HIGH (256u * 1024) /* stop pulling yamux above this much unsent output */
#define CONN_IN_MAX (1024u * 1024)  /* decrypted bytes held between stages */

enum conn_state {
	CONN_S_PNET,      /* waiting for the peer's pnet nonce */
	CONN_S_MSS_SEC,   /* negotiating /noise */
	CONN_S_NOISE,     /* Noise XX handshake */
	CONN_S_MSS_MUX,   /* negotiating /yamux/1.0.0 */
	CONN_S_READY,     /* yamux session running */
	CONN_S_CLOSING,   /* GoAway queued; close once the output is flushed */
	CONN_S_FAILED,
};

enum conn_ev_type {
	CONN_EV_READY = 1,   /* muxer up; conn_peer() is the authenticated peer */
	CONN_EV_IDENTIFY,    /* info: what the peer told us (peer ID checked) */
	CONN_EV_PING,        /* rtt_us of a conn_ping() */
	CONN_EV_PING_FAILED, /* err */
	CONN_EV_GS_OUT,      /* our /meshsub stream is negotiated: gs_proto 10 or 11 */
	CONN_EV_GS_IN_OPEN,  /* the peer opened its /meshsub stream: gs_proto */
	CONN_EV_GS_IN,       /* data, len: bytes from the peer's /meshsub stream */
	CONN_EV_GS_CLOSED,   /* one of the /meshsub streams ended */
};

struct conn_event {
	enum conn_ev_type type;
	int err;
	uint64_t rtt_us;
	int gs_proto;
	const struct identify_info *info;
	const uint8_t *data;
	size_t len;
	bool peer_stream; /* GS_CLOSED: the stream the peer opened (else ours) */
	bool current;     /* GS_CLOSED: our stream in use (not one we replaced) */
};

struct conn_callbacks {
	void *ud;
	void (*on_event)(void *ud, struct conn *c, const struct conn_event *ev);
	/* Our /meshsub stream can take bytes: append what is queued for this peer to out. */
	void (*gs_pull)(void *ud, struct conn *c, struct buf *out);
};

struct conn_config {
	bool initiator;
	const uint8_t *psk;                   /* 32 bytes, NULL = no private network */
	/* A responder's candidate keys during a network PSK rotation (2..PNET_MAX_PSKS,
	 * pnet.h): pnet picks the one the dialer uses; psk is then unused. */
	const uint8_t *const *psks;
	size_t n_psks;
	const struct ident *identity;
	const struct peerid *expected_peer;   /* dialled /p2p/<id>; NULL = any */
	const struct rng *rng;
	const struct wlog *log;
	uint64_t handshake_timeout_us;        /* 0 = CONN_DEFAULT_HANDSHAKE_US */
	/* Our identify answer: public key, listen addrs, protocols, versions.
	 * Kept by reference (must outlive the conn); observedAddr is set per conn. */
	const struct identify_info *self_info;
	const uint8_t *remote_ma;             /* the peer's address as we see it (binary) */
	size_t remote_ma_len;
	bool gossipsub;                       /* serve /meshsub/1.1.0 and 1.0.0 */
	bool echo;                            /* serve CONN_ECHO_PROTO_ID */
	uint32_t max_streams;                 /* per direction; 0 = yamux default */
	uint64_t keepalive_us;                /* yamux ping interval; 0 = none */
	const char *name;                     /* for log lines, e.g. "127.0.0.1:4001" */
	struct conn_callbacks cb;
};

/* Starts the pipeline (our pnet nonce / first mss bytes go to the output). -ENOMEM, W2W_EPARSE. */
int conn_new(struct conn **ret, const struct conn_config *cfg, uint64_t now_us);
void conn_free(struct conn *c);

/* Bytes from the socket. 0, or < 0 when the connection failed (conn_reason says why). */
int conn_feed(struct conn *c, const void *in, size_t n, uint64_t now_us);
/* The socket reached EOF or failed (err < 0): fails the connection. */
void conn_eof(struct conn *c, int err);
/* Bytes to write to the socket, and how many were written. */
void conn_output(const struct conn *c, const uint8_t **p, size_t *n);
void conn_consume(struct conn *c, size_t n, uint64_t now_us);
int conn_tick(struct conn *c, uint64_t now_us);
uint64_t conn_next_deadline(const struct conn *c);

/* One /ipfs/ping/1.0.0 round trip (CONN_EV_PING or CONN_EV_PING_FAILED follows). */
int conn_ping(struct conn *c, uint64_t now_us);
/* A liveness probe: one yamux ping (CONN_EV_PING when answered; no answer
 * within the muxer's ping timeout fails the connection). W2W_ESTATE when the
 * connection is not ready. */
int conn_probe(struct conn *c, uint64_t now_us);
/* Opens our /meshsub stream (CONN_EV_GS_OUT when negotiated). Idempotent. */
int conn_gs_open(struct conn *c, uint64_t now_us);
/* Ends our /meshsub stream (queued bytes, then FIN; hard: reset at once);
 * conn_gs_open starts a fresh one. */
void conn_gs_reset(struct conn *c, bool hard, uint64_t now_us);
/* Called from the CONN_EV_GS_IN callback: reset the peer's /meshsub stream that
 * delivered the bytes (unreadable: gossipsub.h GS_STREAM_RESET); the connection
 * and our own stream stay. */
void conn_gs_in_reset(struct conn *c);
/* gossipsub has output for this peer: pull it when the stream can take it. */
void conn_gs_kick(struct conn *c, uint64_t now_us);
/* Graceful close: GoAway(0), then the host closes once conn_done(). */
void conn_close(struct conn *c, uint64_t now_us);
/* True when the host should close the socket (failed, or closed and flushed). */
bool conn_done(const struct conn *c);

/* Test hook: bytes straight into the secure channel, bypassing yamux (bad-input tests). */
int conn_write_raw(struct conn *c, const void *p, size_t n);

enum conn_state conn_state(const struct conn *c);
const struct peerid *conn_peer(const struct conn *c); /* NULL before Noise completes */
int conn_error(const struct conn *c);
const char *conn_reason(const struct conn *c);
/* Which candidate key (conn_config.psks) the peer uses: 0 with one key, -1 before it is known. */
int conn_psk_index(const struct conn *c);
/* The name given in conn_config (for logs). */
const char *conn_name(const struct conn *c);
size_t conn_stream_count(const struct conn *c);
/* Heap bytes held (buffers), for bounded-memory tests. */
size_t conn_memory(const struct conn *c);

#endif
