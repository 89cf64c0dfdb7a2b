/* SPDX-License-Identifier: MIT */
/*
 * LAN discovery for the mesh node ([P2P] MDNS, docs/operations.md): the
 * mDNS engine (p2p/mdns.h) and its socket (os/mcast.h) on the node's
 * reactor, plus the node's policy around them, which the engine leaves to
 * its caller:
 *
 *  - which interfaces: MDNSInterfaces, or every up, multicast-capable,
 *    non-loopback interface with an IPv4 address except the node's own
 *    WireGuard interface (the overlay is not a LAN);
 *  - what we advertise: the libp2p listen port on the IPv4 addresses of
 *    those interfaces that are private (RFC 1918), shared (RFC 6598, CGNAT)
 *    or link-local (RFC 3927), never 0.0.0.0, a public address, loopback or
 *    an address inside the overlay NetworkRange;
 *  - what we dial: a candidate's /ip4/.../tcp addresses that lie in the
 *    subnet of one of those interfaces (mDNS is link-local, RFC 6762 1, so a
 *    LAN host cannot make us dial elsewhere), through the node's one dial
 *    path (the host's per-peer backoff applies). Inside a private network a
 *    candidate without the PSK fails the pnet handshake and is not a member.
 *
 * A candidate whose dial fails, or whose connection goes away, is forgotten
 * by the engine, so its next mDNS answer (every MDNSInterval) is a new
 * candidate event: mDNS itself is the retry, under the engine's token
 * bucket, and nothing here grows with the number of peers on the LAN.
 * Interfaces and addresses are re-read every NMDNS_RESCAN_US (DHCP, a link
 * coming up); a socket that could not be opened is retried then.
 */
#ifndef W2W_CORE_NODE_MDNS_H
#define W2W_CORE_NODE_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "mcast.h"
#include "peerid.h"

struct reactor;
struct nmdns;

#define NMDNS_RESCAN_US (30ull * 1000 * 1000)
#define NMDNS_MAX_IFADDRS 64 /* interface addresses looked at */

struct nmdns_cfg {
	const struct peerid *self;
	const char (*ifaces)[16]; /* MDNSInterfaces; n_ifaces == 0: every suitable one */
	size_t n_ifaces;
	const char *wg_ifname;            /* never used for mDNS */
	const struct cfg_prefix *overlay; /* never advertised nor dialled */
	uint64_t interval_us;
	const struct wlog *log;
	/* The listen address to advertise (binary, without /p2p): IPv4 only; NULL: none yet. */
	int (*listen_addr)(void *ud, const uint8_t **ma, size_t *len);
	/* Dials a binary multiaddr ending in /p2p/<id>. */
	void (*dial)(void *ud, const uint8_t *ma, size_t len);
	void *ud;
};

/* Starts discovery (a socket that cannot be opened yet is retried later). 0, -EINVAL, -ENOMEM. */
int nmdns_new(struct nmdns **ret, struct reactor *r, const struct nmdns_cfg *cfg);
/* Sends the goodbye (RFC 6762 10.1) and frees. Accepts NULL; returns NULL. */
struct nmdns *nmdns_free(struct nmdns *m);
/* A dial of, or the connection to, peer failed or ended: its next answer is a new candidate. */
void nmdns_forget(struct nmdns *m, const struct peerid *peer);
/* Re-reads interfaces and addresses now (also done every NMDNS_RESCAN_US). */
void nmdns_rescan(struct nmdns *m);

/* ---- the policy, pure (tests/unit/test_nodemdns.c) ---- */

/* 10/8, 172.16/12, 192.168/16, 100.64/10 or 169.254/16. */
bool nmdns_lan_ip4(const uint8_t ip[4]);
/* The interfaces to join (indexes, deduplicated), from the addresses the host has: at most cap. */
size_t nmdns_pick_ifaces(const struct mcast_ifaddr *a, size_t na, const char (*names)[16], size_t nnames,
                         const char *wg_ifname, unsigned *out, size_t cap);
/* The IPv4 addresses to advertise for a listen address ip (0.0.0.0: every one) on the joined
 * interfaces: at most cap, each 4 bytes into out. */
size_t nmdns_own_ip4(const struct mcast_ifaddr *a, size_t na, const unsigned *ifs, size_t nifs,
                     const uint8_t listen_ip[4], const struct cfg_prefix *overlay, uint8_t (*out)[4],
                     size_t cap);
/* Is a candidate's IPv4 address one to dial: inside the subnet (prefix /30 or shorter) of an address
 * of a joined interface, neither that subnet's network nor its broadcast address, not in the overlay. */
bool nmdns_dialable_ip4(const struct mcast_ifaddr *a, size_t na, const unsigned *ifs, size_t nifs,
                        const uint8_t ip[4], const struct cfg_prefix *overlay);

#endif
