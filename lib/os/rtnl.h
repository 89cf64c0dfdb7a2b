/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink, asynchronous and idempotent: the link a WireGuard device lives on
 * (kernel `wireguard` link, or the TUN interface wireguard-go made), its MTU,
 * its up state, its IPv4/IPv6 addresses and the route of the overlay prefix.
 * Independent of any WireGuard backend.
 *
 * Every operation queues requests on the engine and reports once through its
 * callback (never from inside the call that started it). Idempotent means:
 * adding what exists, or removing what is absent, succeeds.
 */
#ifndef W2W_OS_RTNL_H
#define W2W_OS_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"

#define RTNL_DEFAULT_MTU 1420
#define RTNL_IFNAMSIZ 16
#define RTNL_KINDSIZ 32
/* Cap on the addresses collected by one rtnl_addr_list(). */
#define RTNL_MAX_ADDRS 4096

struct rtnl;

struct rtnl_link {
	uint32_t ifindex;
	uint32_t mtu;
	uint32_t flags; /* IFF_* (IFF_UP, ...) */
	char name[RTNL_IFNAMSIZ];
	char kind[RTNL_KINDSIZ]; /* IFLA_INFO_KIND; "" when none (e.g. TUN reports "tun") */
};

struct rtnl_addr {
	uint32_t ifindex;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t addr[16]; /* 4 or 16 bytes used */
};

typedef void (*rtnl_done_cb)(void *ud, int err);
typedef void (*rtnl_link_cb)(void *ud, int err, const struct rtnl_link *link);
typedef void (*rtnl_addr_list_cb)(void *ud, int err, const struct rtnl_addr *addrs, size_t n);
typedef void (*rtnl_link_list_cb)(void *ud, int err, const struct rtnl_link *links, size_t n);

/* Opens its own NETLINK_ROUTE engine on r. */
int rtnl_new(struct reactor *r, const struct wlog *log, struct rtnl **out);
/* Uses an existing engine (not owned: tests pass a fake one). */
int rtnl_new_on(struct nl_sock *nl, struct rtnl **out);
/* Pending operations are dropped without callbacks. NULL is fine. */
void rtnl_free(struct rtnl *rt);

/* Reads a link by name; -ENODEV when absent. */
int rtnl_link_get(struct rtnl *rt, const char *ifname, rtnl_link_cb cb, void *ud);
/*
 * Creates link ifname of the given kind, or adopts the existing one (the kind
 * must match: -EEXIST otherwise; kind NULL only adopts, -ENODEV when absent),
 * then sets mtu (0: RTNL_DEFAULT_MTU) and brings it up, touching only what
 * differs. Never deletes anything. cb gets the final link.
 */
int rtnl_link_ensure(struct rtnl *rt, const char *ifname, const char *kind, uint32_t mtu, rtnl_link_cb cb,
                     void *ud);
/* Lists the links (of the given kind, NULL: all), at most RTNL_MAX_ADDRS. */
int rtnl_link_list(struct rtnl *rt, const char *kind, rtnl_link_list_cb cb, void *ud);
/* Sets MTU (0: unchanged) and up/down. */
int rtnl_link_set(struct rtnl *rt, uint32_t ifindex, uint32_t mtu, bool up, rtnl_done_cb cb, void *ud);
/* Deletes a link; absent is success. Only ever on explicit request: deleting
 * a populated kernel WireGuard link costs ~12 ms per peer. */
int rtnl_link_del(struct rtnl *rt, const char *ifname, rtnl_done_cb cb, void *ud);

/* Adds (or refreshes) an address; present already is success. */
int rtnl_addr_add(struct rtnl *rt, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud);
/* Removes an address; absent is success. */
int rtnl_addr_del(struct rtnl *rt, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud);
/* Lists the addresses of ifindex (0: all links) of family (AF_UNSPEC: both). */
int rtnl_addr_list(struct rtnl *rt, uint32_t ifindex, int family, rtnl_addr_list_cb cb, void *ud);

/* Adds or replaces the link-scope route prefix/prefixlen via ifindex (main table). */
int rtnl_route_add(struct rtnl *rt, const struct rtnl_addr *prefix, rtnl_done_cb cb, void *ud);
/* Removes it; absent is success. */
int rtnl_route_del(struct rtnl *rt, const struct rtnl_addr *prefix, rtnl_done_cb cb, void *ud);

/* Parsers of kernel replies (exposed for tests and fuzzing). 0 or W2W_EPARSE;
 * 1 from rtnl_parse_addr when the message is valid but not an IPv4/IPv6 address. */
int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out);
int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out);

#endif
