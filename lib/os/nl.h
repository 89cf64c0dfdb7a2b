/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking netlink engine on libmnl. One struct nl_sock per bus
 * (NETLINK_ROUTE, NETLINK_GENERIC); its socket is registered with the reactor
 * and never read with a blocking recv.
 *
 * Requests are built by the caller into its own buffer (mnl_nlmsg_put_header
 * & co.) and handed to nl_submit(), which copies them, assigns a sequence
 * number and sends them in submission order. Replies are matched to requests
 * by sequence number as they arrive:
 *
 *  - a plain request gets NLM_F_ACK added and completes on its ACK (or error);
 *    reply messages that precede the ACK (a GET by name) go to ops->msg first;
 *  - a dump (NLM_F_DUMP) completes on NLMSG_DONE; every part goes to ops->msg.
 *    When any part carries NLM_F_DUMP_INTR (the object changed while it was
 *    being dumped), the rest is drained, ops->restart() is told to drop what it
 *    collected and the dump is sent again, at most NL_MAX_DUMP_RESTARTS times
 *    (then the request fails with -EINTR). Only one dump runs per socket at a
 *    time (the kernel refuses a second one), later requests wait their turn.
 *  - every request has its own timeout (W2W_ETIMEDOUT); a reply arriving after
 *    it is dropped as unknown.
 *  - ENOBUFS on the socket means the kernel dropped replies: every sent plain
 *    request fails with -ENOBUFS (the caller re-reads state; our writes are
 *    idempotent) and a running dump is restarted once it ends.
 *
 * Callbacks run from the reactor (or from nl_feed) and may submit, cancel or
 * even close the engine. Every received attribute must be validated before use:
 * nl_attr_parse() does that against a small policy table.
 */
#ifndef W2W_OS_NL_H
#define W2W_OS_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "nlattr.h"
#include "reactor.h"

/* Receive buffer: the kernel sizes dump parts to what we read (capped 32 KiB). */
#define NL_RECV_BUF 65536
/* Plain requests in flight (sent, not yet acknowledged) per socket. */
#define NL_MAX_INFLIGHT 32
#define NL_MAX_DUMP_RESTARTS 8
#define NL_DEFAULT_TIMEOUT_US (5 * 1000 * 1000)

struct nl_sock;

struct nl_req_ops {
	/* One reply message (never ACK, ERROR or DONE). Return >= 0 to go on,
	 * negative to fail the request with that code (the remaining parts are
	 * drained and dropped). NULL: replies are ignored. */
	int (*msg)(void *ud, const struct nlmsghdr *nlh);
	/* Dump interrupted and about to be re-sent: drop everything msg()
	 * collected. NULL: an interrupted dump fails with -EINTR. */
	void (*restart)(void *ud);
	/* Exactly once per request unless cancelled: 0, a negative errno from the
	 * kernel or the socket, -EINTR, or W2W_ETIMEDOUT. */
	void (*done)(void *ud, int err);
};

struct nl_stats {
	uint64_t tx_msgs, rx_msgs; /* netlink messages (all parts, ACKs included) */
	uint64_t tx_bytes, rx_bytes;
	uint64_t dump_restarts, enobufs, timeouts, unknown_seq;
};

/* Opens a non-blocking netlink socket of protocol bus (NETLINK_ROUTE,
 * NETLINK_GENERIC) and registers it with r. log may be NULL. */
int nl_open(struct reactor *r, const struct wlog *log, int bus, struct nl_sock **out);

/* Test seam: an engine without a socket. Requests are handed to tx() instead
 * of being sent (a negative return is the send error); replies are injected
 * with nl_feed(). The tx callback must not re-enter the engine. */
typedef int (*nl_tx_fn)(void *ud, const struct nlmsghdr *nlh);
int nl_open_fake(struct reactor *r, const struct wlog *log, nl_tx_fn tx, void *tx_ud, struct nl_sock **out);

/* Observes every message once it is sent (tracing, tests that act between
 * two messages of one operation). Must not re-enter the engine. NULL clears. */
typedef void (*nl_sent_fn)(void *ud, const struct nlmsghdr *nlh);
void nl_set_sent_hook(struct nl_sock *nl, nl_sent_fn fn, void *ud);

/* Unregisters and closes; pending requests are dropped without callbacks.
 * Safe from inside a callback. NULL is fine. */
void nl_close(struct nl_sock *nl);

/* Queues a copy of nlh (nlmsg_len bytes). NLM_F_REQUEST is set, nlmsg_seq and
 * nlmsg_pid are assigned. timeout_us 0 means NL_DEFAULT_TIMEOUT_US. ops must
 * outlive the request. Returns 0 (and the sequence number in *seq if non-NULL),
 * -EINVAL, -EMSGSIZE or -ENOMEM. Callbacks never run from inside nl_submit. */
int nl_submit(struct nl_sock *nl, const struct nlmsghdr *nlh, const struct nl_req_ops *ops, void *ud,
              uint64_t timeout_us, uint32_t *seq);
/* Drops every pending request whose ud matches, without callbacks. */
void nl_cancel(struct nl_sock *nl, void *ud);
/* Number of pending (queued or in-flight) requests. */
size_t nl_pending(const struct nl_sock *nl);


/* Processes one received datagram (the socket path and tests use it). */
void nl_feed(struct nl_sock *nl, const void *buf, size_t len, uint64_t now_us);

const struct nl_stats *nl_get_stats(const struct nl_sock *nl);
int nl_fd(const struct nl_sock *nl);
struct reactor *nl_reactor(const struct nl_sock *nl);
const struct wlog *nl_log(const struct nl_sock *nl);

#endif
