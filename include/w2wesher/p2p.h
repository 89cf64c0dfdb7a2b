/* SPDX-License-Identifier: MIT */
/*
 * A libp2p host on a w2w_loop: TCP + private network (PSK) + Noise +
 * yamux, answering identify and ping, with gossipsub publish/subscribe.
 * Wire-compatible with go-libp2p and js-libp2p peers that use the same swarm
 * key (docs/protocol.md, "Connections and swarm").
 *
 *   w2w_p2p_new(&h, loop, key_b64, swarm_key_text, on_event, ud);
 *   w2w_p2p_listen(h, "/ip4/0.0.0.0/tcp/4001");
 *   w2w_p2p_dial(h, "/dns4/example.org/tcp/4001/p2p/12D3KooW...");
 *   w2w_p2p_subscribe(h, "w2w:announces");  ...  w2w_loop_run(loop, -1);
 *
 * Nothing blocks: dials, DNS lookups (/dns4, /dns6) and handshakes progress as
 * the host drives the loop, and report through the event callback given to
 * w2w_p2p_new(). Events come from w2w_loop_process() only, never from inside
 * the call that raised them: LISTENING after w2w_p2p_listen() returned, a
 * connection a call found dead while flushing output after that call. Such
 * events are copied and queued (at most 4096; a host that never runs its
 * loop loses the newer ones, with a warning logged). The event callback may
 * call w2w_p2p_* functions except w2w_p2p_free() (what they raise is
 * delivered after the callback returned); w2w_loop_process() returns -EBUSY
 * there.
 *
 * Log lines go to the sink of w2w_p2p_set_log(); every library call made
 * from inside it returns -EBUSY (docs/api.md, "Logging").
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
	W2W_P2P_EV_LISTENING = 1, /* addr: a listen address we bound (with its real port and /p2p/) */
	W2W_P2P_EV_CONNECTED,     /* peer_id, addr, inbound: the peer's first connection is up */
	W2W_P2P_EV_DISCONNECTED,  /* peer_id, addr, error, message: its last connection is gone */
	W2W_P2P_EV_DIAL_FAILED,   /* addr (as dialled), peer_id if it named one, error, message */
	W2W_P2P_EV_IDENTIFY,      /* peer_id, addr, agent/protocol versions, protocols, listen addrs, observed addr */
	W2W_P2P_EV_PING,          /* peer_id, rtt_us */
	W2W_P2P_EV_PING_FAILED,   /* peer_id, error, message */
	W2W_P2P_EV_MESSAGE,       /* from (the author, signature-verified), topic, data, seqno */
	/* peer_id, topic: the peer announced its subscription to topic (gossipsub
	 * SUBOPTS). A publish reaches a peer only once this came for the topic:
	 * w2w_p2p_publish() with no subscriber known sends nothing (docs/api.md). */
	W2W_P2P_EV_SUBSCRIBED,
	W2W_P2P_EV_UNSUBSCRIBED,  /* peer_id, topic: it withdrew that subscription */
};

/* An event, opaque: read it with the getters below during the callback only
 * (every pointer they return dies with the callback). A field the event type
 * does not carry reads as "" (strings), 0 or an empty list. */
struct w2w_p2p_event;

typedef void (*w2w_p2p_event_fn)(void *ud, const struct w2w_p2p_event *ev);

W2W_EXPORT enum w2w_p2p_event_type w2w_p2p_event_type(const struct w2w_p2p_event *ev);
/* "listening", "connected", ...; "unknown" for a value this library does not know. Static. */
W2W_EXPORT const char *w2w_p2p_event_type_name(enum w2w_p2p_event_type t);
W2W_EXPORT const char *w2w_p2p_event_peer_id(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_addr(const struct w2w_p2p_event *ev);
/* 1 when the peer dialled us. */
W2W_EXPORT int w2w_p2p_event_inbound(const struct w2w_p2p_event *ev);
/* 0 or the negative code of a failure; w2w_p2p_event_message() says it in words. */
W2W_EXPORT int w2w_p2p_event_error(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_message(const struct w2w_p2p_event *ev);
W2W_EXPORT uint64_t w2w_p2p_event_rtt_us(const struct w2w_p2p_event *ev);
/* IDENTIFY. The list getters return NULL for an index past the end. */
W2W_EXPORT const char *w2w_p2p_event_agent_version(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_protocol_version(const struct w2w_p2p_event *ev);
W2W_EXPORT size_t w2w_p2p_event_protocol_count(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_protocol(const struct w2w_p2p_event *ev, size_t i);
W2W_EXPORT size_t w2w_p2p_event_listen_addr_count(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_listen_addr(const struct w2w_p2p_event *ev, size_t i);
/* How the peer sees us (identify observedAddr). */
W2W_EXPORT const char *w2w_p2p_event_observed_addr(const struct w2w_p2p_event *ev);
/* MESSAGE: the author's peer ID, the topic, the payload (*len set; may be NULL with 0). */
W2W_EXPORT const char *w2w_p2p_event_from(const struct w2w_p2p_event *ev);
W2W_EXPORT const char *w2w_p2p_event_topic(const struct w2w_p2p_event *ev);
W2W_EXPORT const uint8_t *w2w_p2p_event_data(const struct w2w_p2p_event *ev, size_t *len);
W2W_EXPORT uint64_t w2w_p2p_event_seqno(const struct w2w_p2p_event *ev);

/*
 * New host into *ret. key: the Ed25519 PrivateKey protobuf in base64, as
 * w2w_identity_generate() writes and [P2P] PrivateKey holds (NULL = a fresh
 * random identity). swarm_key: the private network's PSK, as the text of a
 * swarm.key file or as the base64 of its 32 bytes ([P2P] PSK); NULL = no
 * private network (plain libp2p). Both are decoded in constant time. fn (may
 * be NULL) receives the events. Returns 0, -EINVAL (ret or loop NULL),
 * W2W_EPARSE (bad key or swarm key), -ENOMEM. *ret is written only on success.
 */
W2W_EXPORT int w2w_p2p_new(struct w2w_p2p **ret, struct w2w_loop *loop, const char *key, const char *swarm_key,
			   w2w_p2p_event_fn fn, void *ud);
/* Closes every socket at once (no goodbye); accepts NULL; returns NULL. Not
 * from inside its callbacks. */
W2W_EXPORT struct w2w_p2p *w2w_p2p_free(struct w2w_p2p *h);

/*
 * Network PSK rotation without restart (docs/operations.md "Rotating the
 * network PSK"): swarm_key is the current PSK, next_swarm_key the next one
 * (NULL = none), in either form w2w_p2p_new() takes. With a next PSK, inbound
 * connections may use either key (the host tells them apart by the dialer's
 * first bytes) and dials use the next one first, falling back once to the
 * current one when the handshake fails. Established connections whose key is
 * no longer one of the two are closed. Any time, also before the first
 * listen/dial. Returns 0, -EINVAL (h or swarm_key NULL), W2W_EPARSE (a bad
 * key; nothing changed), W2W_ESTATE (a host made without a swarm key),
 * -EBUSY (inside a log callback), -ENOMEM.
 */
W2W_EXPORT int w2w_p2p_set_psk(struct w2w_p2p *h, const char *swarm_key, const char *next_swarm_key);

/*
 * Sets the log sink (fn NULL: logs are dropped, the default). Messages with
 * level > max_level (W2W_LOG_*) are not even formatted. Returns 0, -EINVAL
 * (h NULL), -EBUSY from inside a log callback.
 */
W2W_EXPORT int w2w_p2p_set_log(struct w2w_p2p *h, w2w_log_fn fn, void *ud, int max_level);

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
/* Before the first listen/dial/subscribe only. Returns 0, W2W_ESTATE (after
 * them), -EINVAL (unknown option or negative value), -EBUSY (inside a log callback). */
W2W_EXPORT int w2w_p2p_set_option(struct w2w_p2p *h, int option, int64_t value);

/* "12D3KooW...", owned by h. */
W2W_EXPORT const char *w2w_p2p_peer_id(const struct w2w_p2p *h);

/* Binds /ip4|ip6/<addr>/tcp/<port> (port 0 = any). Returns 0, W2W_EPARSE,
 * W2W_ELIMIT (8 listeners already), -EBUSY, -errno of socket/bind/listen. */
W2W_EXPORT int w2w_p2p_listen(struct w2w_p2p *h, const char *multiaddr);
/* The i-th listen address with /p2p/<our id>, NUL-terminated. Returns its
 * length, -ERANGE past the end, -ENOSPC when cap is too small. */
W2W_EXPORT int w2w_p2p_listen_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);

/*
 * Connects to /ip4|ip6|dns4|dns6/<host>/tcp/<port>[/p2p/<id>]. With /p2p/ the
 * connection is refused unless the peer proves that ID. Returns 0 when the
 * dial started (CONNECTED or DIAL_FAILED follows), -EALREADY when connected
 * or dialling, -EAGAIN during the dial backoff of that peer, W2W_EPARSE,
 * W2W_ELIMIT (connection limit), -EBUSY, -ENOMEM, -errno of socket/connect.
 */
W2W_EXPORT int w2w_p2p_dial(struct w2w_p2p *h, const char *multiaddr);
/* /ipfs/ping/1.0.0 to a connected peer: PING or PING_FAILED follows. Returns 0,
 * W2W_EPARSE (peer_id), W2W_ESTATE (not connected), -EBUSY, -ENOMEM. */
W2W_EXPORT int w2w_p2p_ping(struct w2w_p2p *h, const char *peer_id);
/* Closes the connection to peer_id (GoAway). Returns 0, W2W_EPARSE,
 * -ENOENT (not connected), -EBUSY. */
W2W_EXPORT int w2w_p2p_hangup(struct w2w_p2p *h, const char *peer_id);
W2W_EXPORT size_t w2w_p2p_connection_count(const struct w2w_p2p *h);
/*
 * Addresses peers reported seeing us at (identify observedAddr), most recent
 * first, distinct, at most 8: the i-th as NUL-terminated text. Returns its
 * length, -ERANGE past the end, -ENOSPC when cap is too small. Hints for NAT:
 * what our address looks like from outside.
 */
W2W_EXPORT int w2w_p2p_observed_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap);

/* gossipsub (StrictSign). Return 0, W2W_ESTATE with gossipsub off, W2W_ELIMIT
 * (topic or message too long, too many topics), -EBUSY, -ENOMEM. */
W2W_EXPORT int w2w_p2p_subscribe(struct w2w_p2p *h, const char *topic);
W2W_EXPORT int w2w_p2p_unsubscribe(struct w2w_p2p *h, const char *topic);
W2W_EXPORT int w2w_p2p_publish(struct w2w_p2p *h, const char *topic, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
