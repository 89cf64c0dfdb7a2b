/* SPDX-License-Identifier: MIT */
/*
 * The swarm, sans-IO: every connection of one libp2p host, the peers behind
 * them and the gossipsub router on top. The host (core/p2phost.c) owns the
 * sockets: it adds a connection per TCP socket, feeds bytes, writes
 * swarm_conn_output(), and closes the socket once swarm_conn_done().
 *
 *  - One connection per peer (libp2p specs connections/README.md leaves this
 *    to implementations): when two connections to one peer are up (both dialled
 *    at once), the one dialled by the lower peer ID (bytewise) is kept on both
 *    sides; the other is closed with GoAway.
 *  - Dial backoff per peer: after a failed dial, no new dial before
 *    base * 2^(fails-1) (capped); a success resets it.
 *  - Limits: connections (inbound ones beyond the limit are refused at once),
 *    streams per connection, bytes buffered per connection (conn.h).
 */
#ifndef W2W_P2P_SWARM_H
#define W2W_P2P_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossipsub.h"
#include "peerid.h"

struct ident;
struct identify_info;
struct rng;
struct wlog;
struct swarm;
struct swarm_conn;

#define SWARM_DEFAULT_MAX_CONNS 256
#define SWARM_DEFAULT_BACKOFF_US (1000ull * 1000)
#define SWARM_DEFAULT_BACKOFF_MAX_US (5ull * 60 * 1000 * 1000)
#define SWARM_MAX_LISTEN_ADDRS 8
#define SWARM_MSGQ_MAX 1024 /* messages held between router and host callback */
#define SWARM_MAX_SUBS 64   /* our topics repeated on a replacement pubsub stream */

enum swarm_ev_type {
	SWARM_EV_CONNECTED = 1, /* conn upgraded; peer set */
	SWARM_EV_DISCONNECTED,  /* conn gone (reason); peer set when known */
	SWARM_EV_IDENTIFY,      /* info */
	SWARM_EV_PING,          /* rtt_us */
	SWARM_EV_PING_FAILED,   /* err */
	SWARM_EV_MESSAGE,       /* msg */
	SWARM_EV_SUBSCRIPTION,  /* peer, topic, subscribed: a peer's subscription changed */
};

struct swarm_event {
	enum swarm_ev_type type;
	const struct peerid *peer;
	struct swarm_conn *conn;
	int err;
	const char *reason;
	uint64_t rtt_us;
	const struct identify_info *info;
	const struct gs_message *msg;
	const char *topic;
	bool subscribed;
};

struct swarm_config {
	const struct ident *identity;
	const uint8_t *psk; /* 32 bytes or NULL; copied (more keys: swarm_set_psks) */
	const struct rng *rng;
	const struct wlog *log;
	uint32_t max_conns;            /* 0 = default */
	uint32_t max_streams;          /* per conn and direction; 0 = yamux default */
	uint64_t handshake_timeout_us; /* 0 = conn default */
	uint64_t keepalive_us;         /* yamux pings; 0 = none */
	uint64_t backoff_us, backoff_max_us;
	bool echo;                     /* serve /w2w/echo/1.0.0 */
	bool gossipsub;
	const struct gs_config *gs;    /* NULL = gs_config_default */
	const char *agent_version;
	void (*on_event)(void *ud, const struct swarm_event *ev);
	void *ud;
	/* Application validation of gossipsub messages before they are delivered, cached and
	 * forwarded (gossipsub.h gs_callbacks.validate); NULL accepts all. Called with validate_ud. */
	enum gs_verdict (*validate)(void *ud, const struct gs_message *m);
	void *validate_ud;
};

int swarm_new(struct swarm **ret, const struct swarm_config *cfg);
void swarm_free(struct swarm *sw);
/* Replaces swarm_config.validate / validate_ud. */
void swarm_set_validator(struct swarm *sw, enum gs_verdict (*fn)(void *ud, const struct gs_message *m), void *ud);

/*
 * Network PSK rotation (docs/operations.md): replaces the private network's
 * keys with n (1..PNET_MAX_PSKS) keys, newest first; copied. Inbound
 * connections may use any of them (pnet.h picks); dials use the newest, and
 * a dial that fails during the handshake is retried once at once with the
 * next older key (swarm_conn_psk_fallback), then backs off as usual; every
 * peer starts again at the newest key after each call. Connections that use
 * a key no longer in the list are closed: a dropped key admits nobody.
 * 0, -EINVAL (n out of range, or a swarm without a PSK), -ENOMEM.
 */
int swarm_set_psks(struct swarm *sw, const uint8_t *const *keys, size_t n, uint64_t now);
/* Number of keys (0 without a private network). */
size_t swarm_psk_count(const struct swarm *sw);
/*
 * Asked just before swarm_conn_remove(): true when sc is a dial that failed
 * during the handshake with a key that has an older one after it. The host
 * dials the same address again at once; swarm_conn_add uses the older key.
 */
bool swarm_conn_psk_fallback(const struct swarm_conn *sc);

/* Our identify listenAddrs (binary multiaddrs without /p2p). */
int swarm_add_listen_addr(struct swarm *sw, const uint8_t *ma, size_t n);

/*
 * A new TCP connection. remote_ma: the peer's address (binary), expected: the
 * /p2p/ of the dialled address or NULL. W2W_ELIMIT when over max_conns.
 */
int swarm_conn_add(struct swarm *sw, bool initiator, const uint8_t *remote_ma, size_t remote_len,
		   const struct peerid *expected, const char *name, uint64_t now_us, struct swarm_conn **ret);
/*
 * Inbound admission before the host spends anything on the connection (issue
 * 15: a reconnect flood from one IP must cost the daemon as little as
 * possible): the connection limit and the per-IP limits (iplimit.h) for a
 * connection from ip (family 4 or 6). 1: admitted and tracked, 0: admitted
 * (not tracked: loopback), W2W_ELIMIT: refused (the log line is
 * rate-limited; the host closes the socket with a RST and forgets it).
 * An admitted connection goes on with swarm_conn_add_admitted(admitted), or
 * swarm_admit_cancel(admitted) when the host cannot take it after all.
 */
int swarm_admit_inbound(struct swarm *sw, int family, const uint8_t *ip, uint64_t now_us);
void swarm_admit_cancel(struct swarm *sw, int family, const uint8_t *ip, int admitted);
/* The IPs blocked after a connection flood (iplimit.h "Blocking"): the host
 * drops their SYNs in the kernel (sock_set_blocklist on its listeners) and
 * updates that filter whenever swarm_blocklist_gen changes (a block begins
 * in swarm_admit_inbound, ends in swarm_tick, at swarm_next_deadline).
 * out: IPv4 first 4 bytes, IPv6 the /64 (first 8 bytes); returns how many. */
uint32_t swarm_blocklist_gen(const struct swarm *sw);
size_t swarm_blocklist(const struct swarm *sw, int family, uint8_t (*out)[16], size_t cap);
/* swarm_conn_add for an inbound connection from ip that swarm_admit_inbound
 * admitted (admitted: its result, 0 or 1). The admission is handed over even
 * when this fails; -EINVAL when remote_ma does not hold that IP. */
int swarm_conn_add_admitted(struct swarm *sw, int family, const uint8_t *ip, int admitted, const uint8_t *remote_ma,
			    size_t remote_len, const char *name, uint64_t now_us, struct swarm_conn **ret);
/* Socket bytes; socket EOF/error. */
void swarm_conn_feed(struct swarm *sw, struct swarm_conn *sc, const void *in, size_t n, uint64_t now_us);
void swarm_conn_eof(struct swarm *sw, struct swarm_conn *sc, int err, uint64_t now_us);
void swarm_conn_output(const struct swarm_conn *sc, const uint8_t **p, size_t *n);
void swarm_conn_consume(struct swarm *sw, struct swarm_conn *sc, size_t n, uint64_t now_us);
/* The host should close the socket, then call swarm_conn_remove. */
bool swarm_conn_done(const struct swarm_conn *sc);
/* Forgets the connection (emits DISCONNECTED); sc is invalid afterwards. */
void swarm_conn_remove(struct swarm *sw, struct swarm_conn *sc, uint64_t now_us);
void swarm_conn_set_user(struct swarm_conn *sc, void *user);
void *swarm_conn_user(const struct swarm_conn *sc);
const uint8_t *swarm_conn_remote(const struct swarm_conn *sc, size_t *len);
bool swarm_conn_inbound(const struct swarm_conn *sc);
/* Number of connections. */
size_t swarm_conn_count(const struct swarm *sw);

/*
 * Should the host dial `peer` now? 0: yes (dial started is recorded),
 * -EALREADY: connected or being dialled, -EAGAIN: in backoff (*retry_at set).
 * peer may be NULL (address without /p2p/): always 0.
 */
int swarm_dial_begin(struct swarm *sw, const struct peerid *peer, uint64_t now_us, uint64_t *retry_at);
/* A dial that never produced a connection (resolve/connect failed). */
void swarm_dial_failed(struct swarm *sw, const struct peerid *peer, uint64_t now_us);
/* Upgraded connections to peer that are still open (READY, not closing). */
size_t swarm_peer_conns(const struct swarm *sw, const struct peerid *peer);
/* The gossipsub router's counters (zero when gossipsub is off). */
void swarm_gs_stats(const struct swarm *sw, struct gs_stats *out);

int swarm_ping(struct swarm *sw, const struct peerid *peer, uint64_t now_us);
/* A liveness probe on the peer's primary connection (conn_probe): SWARM_EV_PING
 * when answered. W2W_ESTATE when not connected. */
int swarm_probe(struct swarm *sw, const struct peerid *peer, uint64_t now_us);
/* Graceful close of every connection to peer. */
int swarm_hangup(struct swarm *sw, const struct peerid *peer, uint64_t now_us);

/*
 * Admission mode (docs/mesh.md "Admission"): a gated swarm sends a peer only
 * our subscriptions (a hello) until swarm_admit() says its token checked
 * out; what the router queues meanwhile goes out then. The
 * token we present rides in our identify answer (identify.h). swarm_deny()
 * hangs up on a peer and closes its connections right after the handshake
 * until `until` (dials to it wait too); the deny list holds SWARM_MAX_DENY
 * peers, the oldest entry making room.
 */
#define SWARM_MAX_DENY 64
void swarm_set_gated(struct swarm *sw, bool gated);
int swarm_set_admission(struct swarm *sw, const uint8_t *p, size_t n);
int swarm_admit(struct swarm *sw, const struct peerid *peer, uint64_t now_us);
int swarm_deny(struct swarm *sw, const struct peerid *peer, uint64_t until_us, uint64_t now_us);

int swarm_subscribe(struct swarm *sw, const char *topic, uint64_t now_us);
int swarm_unsubscribe(struct swarm *sw, const char *topic, uint64_t now_us);
int swarm_publish(struct swarm *sw, const char *topic, const void *data, size_t len, uint64_t now_us);

void swarm_tick(struct swarm *sw, uint64_t now_us);
uint64_t swarm_next_deadline(const struct swarm *sw);

#endif
