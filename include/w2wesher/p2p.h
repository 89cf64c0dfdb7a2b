/* SPDX-License-Identifier: MIT */
/*
 * A libp2p host on a w2w_loop: TCP + private network (PSK) + Noise +
 * yamux, answering identify and ping, with gossipsub publish/subscribe.
 * Wire-compatible with go-libp2p and js-libp2p peers that use the same swarm
 * key (docs/protocol.md, "Connections and swarm").
 *
 *   w2w_p2p_new(&h, loop, key_pb, key_len, swarm_key, swarm_key_len);
 *   w2w_p2p_set_event_cb(h, on_event, ud);
 *   w2w_p2p_listen(h, "/ip4/0.0.0.0/tcp/4001");
 *   w2w_p2p_dial(h, "/dns4/example.org/tcp/4001/p2p/12D3KooW...");
 *   w2w_p2p_subscribe(h, "w2w:announces");  ...  w2w_loop_run(loop, -1);
 *
 * Nothing blocks: dials, DNS lookups (/dns4, /dns6) and handshakes progress as
 * the host drives the loop, and report through the event callback. The
 * callback runs inside w2w_loop_process(); it may call w2w_p2p_* functions
 * except w2w_p2p_free().
 *
 * CONNECTED/DISCONNECTED are per peer: CONNECTED when the first connection to
 * a peer is up, DISCONNECTED when its last one is gone. One connection per
 * peer is kept; the surplus one of a simultaneous dial is closed silently
 * (debug log only). An outbound connection that fails before it is upgraded
 * is reported as DIAL_FAILED with the reason.
 */
#ifndef W2WESHER_P2P_H
#define W2WESHER_P2P_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/common.h>
#include <w2wesher/export.h>

struct w2w_p2p;

enum w2w_p2p_event_type {
	W2W_P2P_EV_LISTENING = 1, /* addr: a listen address we bound (with its real port) */
	W2W_P2P_EV_CONNECTED,     /* peer_id, addr, inbound: the peer's first connection is up */
	W2W_P2P_EV_DISCONNECTED,  /* peer_id, addr, err, reason: its last connection is gone */
	W2W_P2P_EV_DIAL_FAILED,   /* addr (as dialled), err, reason: refused, timeout, wrong peer ID, ... */
	W2W_P2P_EV_IDENTIFY,      /* peer_id, agent/protocol versions, protocols, listen_addrs, observed_addr */
	W2W_P2P_EV_PING,          /* peer_id, rtt_us */
	W2W_P2P_EV_PING_FAILED,   /* peer_id, err */
	W2W_P2P_EV_MESSAGE,       /* from (the author, signature-verified), topic, data, len */
};

/* Pointers are valid during the callback only; unused fields are NULL/0. */
struct w2w_p2p_event {
	int type; /* enum w2w_p2p_event_type */
	const char *peer_id;
	const char *addr;
	int inbound;
	int err;
	const char *reason;
	uint64_t rtt_us;
	/* IDENTIFY */
	const char *agent_version;
	const char *protocol_version;
	const char *const *protocols;
	size_t n_protocols;
	const char *const *listen_addrs;
	size_t n_listen_addrs;
	const char *observed_addr; /* how the peer sees us */
	/* MESSAGE */
	const char *from;
	const char *topic;
	const uint8_t *data;
	size_t len;
	uint64_t seqno;
};

typedef void (*w2w_p2p_event_fn)(void *ud, const struct w2w_p2p_event *ev);
/* level: 3 error, 4 warning, 6 info, 7 debug (syslog numbers). */
typedef void (*w2w_p2p_log_fn)(void *ud, int level, const char *msg);

/*
 * New host. key: Ed25519 PrivateKey protobuf (as w2w_identity_generate()
 * writes; NULL = a fresh random identity). swarm_key: the 32-byte PSK, or the
 * text of a swarm.key file; NULL = no private network (plain libp2p).
 * Returns 0, W2W_EPARSE (bad key), -ENOMEM.
 */
W2W_EXPORT int w2w_p2p_new(struct w2w_p2p **ret, struct w2w_loop *loop, const uint8_t *key, size_t key_len,
			   const void *swarm_key, size_t swarm_key_len);
/* Closes every socket at once (no goodbye); accepts NULL; returns NULL. */
W2W_EXPORT struct w2w_p2p *w2w_p2p_free(struct w2w_p2p *h);

W2W_EXPORT void w2w_p2p_set_event_cb(struct w2w_p2p *h, w2w_p2p_event_fn fn, void *ud);
W2W_EXPORT void w2w_p2p_set_log_cb(struct w2w_p2p *h, w2w_p2p_log_fn fn, void *ud, int max_level);

enum w2w_p2p_option {
	W2W_P2P_OPT_GOSSIPSUB = 1,        /* 0/1, default 1 */
	W2W_P2P_OPT_ECHO,                 /* 0/1: serve /w2w/echo/1.0.0 (diagnostics), default 0 */
	W2W_P2P_OPT_MSGID_JS,             /* 0: message ID from||seqno (go), 1: key||seqno (js >= 14) */
	W2W_P2P_OPT_MAX_CONNS,            /* default 256 */
	W2W_P2P_OPT_MAX_STREAMS,          /* per connection and direction, default 256 */
	W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS, /* whole upgrade, default 10000 */
	W2W_P2P_OPT_KEEPALIVE_MS,         /* yamux ping interval, default 30000; 0 = off */
	W2W_P2P_OPT_DIAL_BACKOFF_MS,      /* first backoff after a failed dial, default 1000 */
};
/* Before the first listen/dial/subscribe only (W2W_ESTATE after); -EINVAL for unknown options. */
W2W_EXPORT int w2w_p2p_set_option(struct w2w_p2p *h, int option, int64_t value);

/* "12D3KooW..." */
W2W_EXPORT const char *w2w_p2p_peer_id(const struct w2w_p2p *h);

/* Binds /ip4|ip6/<addr>/tcp/<port> (port 0 = any). 0, W2W_EPARSE, -errno. */
W2W_EXPORT int w2w_p2p_listen(struct w2w_p2p *h, const char *multiaddr);
/* The i-th listen address with /p2p/<our id> (text, NUL). Its length, -ENOENT past the end, W2W_ELIMIT. */
W2W_EXPORT int w2w_p2p_listen_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);

/*
 * Connects to /ip4|ip6|dns4|dns6/<host>/tcp/<port>[/p2p/<id>]. With /p2p/ the
 * connection is refused unless the peer proves that ID. Returns 0 when the
 * dial started (CONNECTED or DIAL_FAILED follows), -EALREADY when connected
 * or dialling, -EAGAIN during the dial backoff of that peer, W2W_EPARSE.
 */
W2W_EXPORT int w2w_p2p_dial(struct w2w_p2p *h, const char *multiaddr);
/* /ipfs/ping/1.0.0 to a connected peer: PING or PING_FAILED follows. W2W_ESTATE if not connected. */
W2W_EXPORT int w2w_p2p_ping(struct w2w_p2p *h, const char *peer_id);
/* Closes the connection to peer_id (GoAway). */
W2W_EXPORT int w2w_p2p_hangup(struct w2w_p2p *h, const char *peer_id);
W2W_EXPORT size_t w2w_p2p_connection_count(const struct w2w_p2p *h);
/*
 * Addresses peers reported seeing us at (identify observedAddr), most recent
 * first, distinct, at most 8: the i-th as text. Its length, -ENOENT past the end,
 * W2W_ELIMIT. Hints for NAT: what our address looks like from outside.
 */
W2W_EXPORT int w2w_p2p_observed_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);

/* gossipsub (StrictSign). W2W_ESTATE with gossipsub off. */
W2W_EXPORT int w2w_p2p_subscribe(struct w2w_p2p *h, const char *topic);
W2W_EXPORT int w2w_p2p_unsubscribe(struct w2w_p2p *h, const char *topic);
W2W_EXPORT int w2w_p2p_publish(struct w2w_p2p *h, const char *topic, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
