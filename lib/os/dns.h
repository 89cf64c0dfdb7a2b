/* SPDX-License-Identifier: MIT */
/*
 * Name resolution on the reactor, with c-ares: /dns4 and /dns6 dials (and
 * AF_UNSPEC, for /dns once the multiaddr decomposer accepts it).
 *
 * One resolver per user (a p2p host): it owns one c-ares channel, registers
 * the channel's UDP/TCP sockets with the reactor and its retry timeout as a
 * reactor timer, so a lookup never blocks, polls or owns a thread, and two
 * loops on two threads share nothing (docs/api.md). c-ares over glibc's
 * getaddrinfo_a, which this replaces: getaddrinfo_a has no fd to wait on (it
 * was polled every 5 ms), runs on a glibc helper thread, and a request freed
 * while running had to be parked in a process-global list until glibc let go.
 * Writing a resolver ourselves would mean resolv.conf and hosts parsing, search
 * domains, retries over several servers, TCP fallback on truncation and
 * answer validation: c-ares (Debian's libc-ares2) does all of that and is made
 * for exactly this fd + timeout loop contract.
 *
 * Results are delivered from a reactor callback (an fd or timer of this
 * resolver), never from inside dns_resolve(). At most DNS_MAX_QUERIES lookups
 * run at once per resolver, cancelled ones included until c-ares ends them
 * (each is bounded by timeout_ms and tries).
 *
 * The channel reads /etc/resolv.conf and the hosts file when it is created;
 * it is created for a lookup that finds no channel or an idle one, so a
 * changed resolv.conf is seen by the next burst of dials.
 */
#ifndef W2W_OS_DNS_H
#define W2W_OS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sock.h"

struct reactor;
struct dns;
struct dns_query;

#define DNS_MAX_QUERIES 16
#define DNS_MAX_ADDRS 8
#define DNS_DEFAULT_TIMEOUT_MS 2000 /* first try; c-ares doubles it per round over the servers */
#define DNS_DEFAULT_TRIES 2

struct dns_config {
	/* "ip[:port],..." (c-ares ares_set_servers_ports_csv); NULL = resolv.conf's. */
	const char *servers;
	bool no_hosts_file;  /* DNS only: skip the hosts file */
	unsigned timeout_ms; /* 0 = DNS_DEFAULT_TIMEOUT_MS */
	unsigned tries;      /* 0 = DNS_DEFAULT_TRIES */
};

/*
 * err < 0: -ENOENT (no such name, or no address of the family asked for),
 * -ETIMEDOUT (no server answered), -ENOMEM, -EIO (any other resolver failure).
 * Else ips[0..n) (1 <= n <= DNS_MAX_ADDRS) in the resolver's order, each with
 * the port asked for. ips is valid during the call only; now_us is the
 * loop's time of the callback.
 */
typedef void (*dns_done_fn)(void *ud, int err, const struct sock_ip *ips, size_t n, uint64_t now_us);

/* cfg NULL = the system's configuration. -ENOMEM. The channel is made lazily. */
int dns_new(struct dns **ret, struct reactor *r, const struct dns_config *cfg);
/* Ends every lookup; their callbacks do not run. Accepts NULL; returns NULL. */
struct dns *dns_free(struct dns *d);

/*
 * Starts a lookup of host for family AF_INET (A), AF_INET6 (AAAA) or
 * AF_UNSPEC (either). *q identifies it for dns_cancel until fn ran.
 * 0, -EINVAL (empty or too long a name, other family), W2W_ELIMIT
 * (DNS_MAX_QUERIES running), -ENOMEM, -EIO (the channel could not be made,
 * e.g. a bad servers string).
 */
int dns_resolve(struct dns *d, const char *host, int family, uint16_t port, uint64_t now_us, dns_done_fn fn,
		void *ud, struct dns_query **q);
/* fn will not run. q is invalid afterwards. Accepts NULL. */
void dns_cancel(struct dns_query *q);
/* Lookups c-ares still runs, cancelled ones included (tests). */
size_t dns_running(const struct dns *d);

#endif
