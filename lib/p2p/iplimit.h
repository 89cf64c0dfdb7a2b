/* SPDX-License-Identifier: MIT */
/*
 * Per-IP admission of inbound connections, sans-IO (time is an input), in the
 * spirit of go-libp2p's resource manager (p2p/host/resource-manager: limits
 * per scope, and its per-subnet connection limiter): before any
 * authentication, one source IP may hold only a few connections in the
 * handshake and open only a few per second, and handshakes have their own
 * slots, apart from the established connections. An IP from which a
 * connection once completed the handshake (it holds the PSK and a valid
 * identity), or that we reached ourselves, is *known*: it is exempt from the
 * rate and handshake limits, so peers of the mesh get in while a stranger
 * reconnects in a loop. Loopback is not limited (local tools and tests; a
 * local user can do worse than that).
 */
#ifndef W2W_P2P_IPLIMIT_H
#define W2W_P2P_IPLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	IPL_HANDSHAKES_PER_IP = 8, /* inbound connections of one unknown IP in the handshake at once */
	IPL_CONNS_PER_IP = 32,     /* inbound connections of one unknown IP, any state */
	IPL_CONNS_KNOWN = 128,     /* ... of a known IP (several nodes may share one behind NAT) */
	IPL_RATE_PER_S = 8,        /* new inbound connections per unknown IP per second, sustained */
	IPL_BURST = 16,            /* ... and at once */
	IPL_HANDSHAKES = 64,       /* inbound handshakes of unknown IPs at once, all together */
	IPL_TABLE = 1024,          /* IPs (IPv6: /64s) tracked (idle unknown ones are forgotten first) */
	IPL_BLOCK_AFTER = 64,      /* refusals of one unknown IP within IPL_STRIKE_US that block it */
	IPL_BLOCK_S = 30,          /* ... for this long */
	IPL_BLOCKS = 64,           /* IPs blocked at once (a new block replaces the one ending first) */
};
#define IPL_STRIKE_US 1000000ull

/*
 * Blocking (issue 15 item 2). Refusing a connection still costs the daemon
 * the kernel's accept and a RST, and the refused peer reconnects at once: an
 * attacker on one IP in a loop made ~10,000 connections a second, and the
 * daemon's CPU went to refusing them. An unknown IP that keeps going far
 * over its rate (IPL_BLOCK_AFTER refusals within IPL_STRIKE_US, more than 4x
 * the burst: no libp2p dialer with backoff does that) is blocked for
 * IPL_BLOCK_S: the host drops its SYNs in the kernel (a socket filter on the
 * listeners, sock_set_blocklist), so its connects hang in SYN_SENT and cost
 * nothing here. Known IPs are never blocked, and one that becomes known is
 * unblocked; loopback is never limited. iplimit_admit refuses a blocked IP
 * too (without a filter, e.g. in the simulation, the limit still holds).
 */

struct iplimit;

struct iplimit *iplimit_new(void);
void iplimit_free(struct iplimit *l);

/* An inbound connection from ip (family 4: first 4 bytes, 6: 16 bytes).
 * 0: admitted and counted as in the handshake; W2W_ELIMIT: refused, *why says
 * which limit. Not tracked (always 0): loopback. *tracked says whether the
 * caller must report iplimit_ready/iplimit_closed for it. */
int iplimit_admit(struct iplimit *l, int family, const uint8_t *ip, uint64_t now_us, bool *tracked,
		  const char **why);
/* A tracked inbound connection finished its handshake: the IP is known. */
void iplimit_ready(struct iplimit *l, int family, const uint8_t *ip);
/* A tracked inbound connection is gone (ready: whether it had finished the handshake). */
void iplimit_closed(struct iplimit *l, int family, const uint8_t *ip, bool ready);
/* An IP we reached ourselves (an outbound connection completed the handshake). */
void iplimit_mark_known(struct iplimit *l, int family, const uint8_t *ip);
bool iplimit_known(const struct iplimit *l, int family, const uint8_t *ip);
/* Inbound handshakes of unknown IPs in progress. */
unsigned iplimit_handshakes(const struct iplimit *l);
uint64_t iplimit_refused(const struct iplimit *l);

/* Ends the blocks whose time is up. */
void iplimit_tick(struct iplimit *l, uint64_t now_us);
/* When the next block ends; UINT64_MAX: none. */
uint64_t iplimit_next_expiry(const struct iplimit *l);
/* Changes whenever the set of blocked IPs changes. */
uint32_t iplimit_block_gen(const struct iplimit *l);
/* The blocked IPs of a family into out (IPv4: first 4 bytes; IPv6: the /64,
 * first 8 bytes, the rest 0): how many (at most cap). */
size_t iplimit_blocklist(const struct iplimit *l, int family, uint8_t (*out)[16], size_t cap);
uint64_t iplimit_blocks_total(const struct iplimit *l);

#endif
