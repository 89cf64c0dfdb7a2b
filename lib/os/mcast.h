/* SPDX-License-Identifier: MIT */
/*
 * The mDNS socket: non-blocking UDP on 0.0.0.0:5353 joined to 224.0.0.251 on
 * chosen interfaces (RFC 6762 3), registered on the reactor. IPv4 only: what
 * js-libp2p's multicast-dns and most LAN responders use; ff02::fb is left for
 * later.
 *
 * Coexistence: SO_REUSEADDR and SO_REUSEPORT, so avahi-daemon, a js peer and
 * several nodes in one namespace all bind 5353 at once; the kernel delivers
 * every multicast datagram to each of them. IP_MULTICAST_LOOP is on so nodes
 * on one host see each other; the engine drops its own datagrams.
 * IP_MULTICAST_ALL is off: only the group we joined, on the interfaces we
 * joined it on. TTL 255 (RFC 6762 11).
 *
 * Sending goes out once per joined interface (IP_PKTINFO picks it), so each
 * LAN segment gets the datagram; a full socket buffer drops it (mDNS repeats).
 */
#ifndef W2W_OS_MCAST_H
#define W2W_OS_MCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sock.h"

struct reactor;
struct mcast;

#define MCAST_MAX_IFACES 16
#define MCAST_MDNS_PORT 5353
#define MCAST_RX_MAX 9000 /* RFC 6762 17 */
#define MCAST_RX_BATCH 32 /* datagrams read per readiness, so one busy socket cannot starve the loop */

struct mcast_cfg {
	unsigned version; /* 1 */
	/* Interfaces by index; nif == 0: every interface that is up, multicast
	 * capable, has an IPv4 address and is not loopback. */
	const unsigned *ifindex;
	size_t nif;
	uint16_t port; /* 0: 5353 (tests may pick another) */
};

/* src: the sender; ifindex: the interface it arrived on. Never called from inside an mcast_* call. */
typedef void (*mcast_recv_fn)(void *ud, const uint8_t *p, size_t n, const struct sock_ip *src,
                              unsigned ifindex, uint64_t now_us);

/*
 * Opens, joins and registers for reading. 0; -EINVAL (bad cfg, more than
 * MCAST_MAX_IFACES); -ENODEV (no interface could join the group); -ENOMEM;
 * another -errno from socket/bind/setsockopt.
 */
int mcast_new(struct mcast **ret, struct reactor *r, const struct mcast_cfg *cfg, mcast_recv_fn fn, void *ud);
/* Unregisters, leaves the group, closes. Accepts NULL; returns NULL. */
struct mcast *mcast_free(struct mcast *m);
/*
 * Sends one datagram to 224.0.0.251:port on every joined interface. Returns
 * on how many interfaces it went out (>= 1), or the -errno of the last
 * failure when it went out nowhere (-EAGAIN: socket buffer full, -EMSGSIZE).
 */
int mcast_send(struct mcast *m, const void *p, size_t n);
/* The joined interfaces: fills up to cap, returns how many there are. */
size_t mcast_ifaces(const struct mcast *m, unsigned *out, size_t cap);
/* Interface index of a name, -ENODEV when there is none. */
int mcast_ifindex(const char *name);

/* One IPv4 address of an interface (getifaddrs), for the node's choice of
 * interfaces, the addresses it advertises and the candidates it dials. */
struct mcast_ifaddr {
	unsigned ifindex;
	char name[16];
	uint8_t ip[4];
	uint8_t plen; /* prefix length of the address's subnet */
	bool up, multicast, loopback;
};

/* Every IPv4 address of every interface: fills up to cap, returns how many
 * were filled, or -errno when getifaddrs fails. */
int mcast_if_addrs(struct mcast_ifaddr *out, size_t cap);

#endif
