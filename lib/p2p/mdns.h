/* SPDX-License-Identifier: MIT */
/*
 * libp2p mDNS peer discovery (libp2p/specs discovery/mdns.md over RFC 6762),
 * sans-IO, interoperable with js-libp2p's @libp2p/mdns and go-libp2p.
 *
 * Inputs: datagrams received on 224.0.0.251:5353 (mdns_input) and the time
 * (mdns_tick). Outputs: datagrams for the group (mdns_poll_send), "candidate
 * found" events (mdns_poll_event) and the next deadline. The engine does no
 * I/O, reads no clock and allocates only in mdns_new.
 *
 * On the wire (what js-libp2p 2.x / @libp2p/mdns 11 sends and accepts):
 *   query:    id 0, flags 0, one question "_p2p._udp.local PTR IN", every
 *             query interval (js: 10 s) and at start;
 *   response: flags QR|AA, answer "_p2p._udp.local PTR <peer-name>._p2p._udp.local"
 *             (TTL 120) and a TXT record of that instance holding one
 *             "dnsaddr=<multiaddr>/p2p/<peer ID>" string per address. js puts
 *             the TXT in the answers, the spec in the additional records; we
 *             send it in the additional records and read both.
 *   peer-name: a random lower-case alphanumeric label (js: 63 characters,
 *             spec: at least 32), never the peer ID; it is how a node
 *             recognises its own answers coming back.
 *
 * What we send is our peer ID and the addresses the node gives us, nothing
 * else: no swarm key, no node name, no WireGuard key. The service name stays
 * "_p2p._udp.local" inside a private network: the spec's "_p2p-<fingerprint>"
 * variant is implemented by neither js nor go, and the pnet handshake, not
 * discovery, decides who gets in.
 *
 * Bounded against a hostile LAN: at most MDNS_MAX_CANDIDATES peers are
 * remembered (least recently seen evicted first, entries expire with the
 * record TTL), candidate events are rate limited by a token bucket
 * (burst cfg.emit_burst, one more every cfg.emit_interval_us), and we
 * answer at most once a second (RFC 6762 6: a record is multicast at most
 * once per second), however many queries arrive.
 */
#ifndef W2W_P2P_MDNS_H
#define W2W_P2P_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"
#include "multiaddr.h"
#include "peerid.h"

#define MDNS_PORT 5353
#define MDNS_SERVICE "_p2p._udp.local"
#define MDNS_TTL 120          /* seconds, what js sends */
#define MDNS_PEER_NAME_LEN 32 /* our peer-name label (spec: >= 32) */
#define MDNS_PKT_MAX 1400     /* what we send: one unfragmented datagram */
#define MDNS_MAX_OWN_ADDRS 16
#define MDNS_MAX_CANDIDATES 64 /* table size (fixed, allocated once) */
#define MDNS_MAX_PEER_ADDRS 8  /* addresses kept per candidate */
#define MDNS_ADDR_BIN_MAX 64   /* longer binary addresses (without /p2p) are dropped */
#define MDNS_DEFAULT_INTERVAL_US (10ull * 1000 * 1000)
#define MDNS_MIN_INTERVAL_US (1000ull * 1000)
#define MDNS_RESPONSE_GAP_US (1000ull * 1000)

struct mdns_cfg {
	unsigned version;          /* 1 */
	const struct peerid *self; /* required */
	/* Lower-case alphanumeric, 1..63 characters; NULL: a random one from rng_fill. */
	const char *peer_name;
	uint64_t query_interval_us; /* 0: MDNS_DEFAULT_INTERVAL_US; below MDNS_MIN_INTERVAL_US: EINVAL */
	unsigned emit_burst;        /* 0: 8 */
	uint64_t emit_interval_us;  /* 0: 1 s */
	bool respond;               /* answer queries with our records (js "broadcast") */
	bool query;                 /* send queries (otherwise only answer) */
	/* Random bytes for the peer-name (sans-IO: the caller owns the RNG). */
	void (*rng_fill)(void *ud, void *buf, size_t n);
	void *rng_ud;
};

/* A discovered candidate: the peer and its addresses (binary multiaddrs without /p2p). */
struct mdns_found {
	struct peerid peer;
	size_t naddrs;
	uint8_t addr[MDNS_MAX_PEER_ADDRS][MDNS_ADDR_BIN_MAX];
	size_t addr_len[MDNS_MAX_PEER_ADDRS];
};

struct mdns_stats {
	uint64_t rx, rx_bad, rx_self, queries_answered, responses_seen;
	uint64_t candidates_new, candidates_evicted, events, events_suppressed, addrs_rejected;
};

struct mdns;

/* 0, -EINVAL (bad cfg), -ENOMEM. Starts at now_us: the first query is due at once. */
int mdns_new(struct mdns **ret, const struct mdns_cfg *cfg, uint64_t now_us);
/* Accepts NULL; returns NULL. */
struct mdns *mdns_free(struct mdns *m);

/*
 * The addresses we advertise: binary multiaddrs without /p2p (the engine adds
 * /p2p/<self>). Each is validated (ma_validate) and must fit one TXT string;
 * others are skipped. Returns how many were taken, or -EINVAL (n too large).
 * The caller decides which addresses belong on the LAN (js sends only private
 * and loopback ones; see docs/protocol.md).
 */
int mdns_set_addrs(struct mdns *m, const uint8_t *const *addrs, const size_t *lens, size_t n,
                   uint64_t now_us);

/*
 * One received datagram. src_port is the UDP source port: responses from
 * another port are ignored (RFC 6762 11). Never fails: bad input is counted
 * in the stats and dropped.
 */
void mdns_input(struct mdns *m, const uint8_t *pkt, size_t len, uint16_t src_port, uint64_t now_us);
/* Runs timers (query interval, expiry, token refill). */
void mdns_tick(struct mdns *m, uint64_t now_us);
/* Absolute time of the next thing to do (UINT64_MAX: none); call mdns_tick then. */
uint64_t mdns_next_deadline(const struct mdns *m);

/*
 * The next datagram to send to the group, if any: its length (> 0), 0 when
 * nothing is due, W2W_ELIMIT when cap < MDNS_PKT_MAX.
 */
int mdns_poll_send(struct mdns *m, uint8_t *buf, size_t cap, uint64_t now_us);
/* The next candidate event: 1 and *out filled, 0 when none is due. */
int mdns_poll_event(struct mdns *m, struct mdns_found *out, uint64_t now_us);
/* A response with TTL 0 for our records (RFC 6762 10.1 goodbye), to send before stopping. Length or
 * W2W_ELIMIT. */
int mdns_goodbye(struct mdns *m, uint8_t *buf, size_t cap);

/* Forgets a candidate (e.g. it turned out to be unreachable). */
void mdns_forget(struct mdns *m, const struct peerid *peer);
const struct mdns_stats *mdns_stats(const struct mdns *m);
size_t mdns_candidates(const struct mdns *m);
/* Our peer-name label (NUL-terminated). */
const char *mdns_peer_name(const struct mdns *m);

#endif
