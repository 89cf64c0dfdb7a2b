/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard backend interface (the wireguard-tools ipc.h facade made
 * asynchronous): one vtable, two implementations — wg_kernel.h (genetlink,
 * linux/wireguard.h) and wg_uapi.h (the userspace text protocol of
 * wireguard-go, wireguard.com/xplatform). Everything above this line (diff,
 * public API, CLI) is backend-agnostic.
 *
 * Asynchronous because netlink and UAPI sockets are non-blocking and driven by
 * the host loop through the reactor the backend was created with.
 *
 * Backend-specific steps of the engine (core/wgsync.h) are hooks here, never
 * name compares: create_device (kernel: an RTM_NEWLINK of kind "wireguard";
 * userspace: start wireguard-go and wait for its socket) and forget_device
 * (userspace: end the wireguard-go this backend started).
 *
 * Contract for every backend:
 *  - A submitting call returns 0 when the operation was queued; its callback
 *    then runs exactly once, later, from a reactor callback (never from inside
 *    the submitting call). A negative return means it was not queued and the
 *    callback will never run.
 *  - Operations run in submission order, one at a time per backend (a get
 *    queued after a set sees the set applied).
 *  - Every operation has a deadline (WGBACKEND_TIMEOUT_US unless the backend
 *    documents another; the UAPI backend adds 4 us per request byte); when it
 *    passes the callback gets W2W_ETIMEDOUT.
 *  - Errors: -ENODEV no such interface (or it vanished mid-operation);
 *    -EPROTONOSUPPORT the backend is unavailable (kernel family missing: the
 *    kernel backend learns that asynchronously, so its first operation reports
 *    it; the engine then falls back to userspace under Backend = auto);
 *    W2W_EPROTO malformed or truncated reply; other negative errno as reported
 *    by the kernel / the userspace implementation (UAPI `errno=N` -> -N).
 *  - set_device never partially succeeds silently: if a set was split across
 *    several messages and one failed, the callback reports that error (the
 *    device may then hold part of the update; the caller re-reads and
 *    re-diffs).
 *  - free() drops queued operations without calling their callbacks and
 *    unregisters every fd and timer from the reactor. A callback may free the
 *    backend (the backend must not touch itself after calling back then).
 *  - Secrets (private and preshared keys) in request buffers are wiped once
 *    sent; they are never logged.
 */
#ifndef W2W_OS_WGBACKEND_H
#define W2W_OS_WGBACKEND_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "reactor.h"
#include "wgdev.h"

#define WGBACKEND_TIMEOUT_US (10ull * 1000 * 1000)

struct wgbackend;

/* dev: the device as read (owned by the callee: free it with wgdev_free()); NULL when err < 0.
 * Peers arrive in the backend's order (call wgdev_sort() for a canonical one). */
typedef void (*wgbackend_get_cb)(void *ud, int err, struct wgdevice *dev);
typedef void (*wgbackend_set_cb)(void *ud, int err);
/* names: NUL-separated interface names ending with an empty string ("wg0\0wg1\0\0"),
 * owned by the callee (free()); NULL when err < 0. */
typedef void (*wgbackend_list_cb)(void *ud, int err, char *names);

/* Traffic counters of the control channel (what the benchmark prints). */
struct wgbackend_stats {
	uint64_t msgs_sent, msgs_recv;   /* netlink messages / UAPI requests and responses */
	uint64_t bytes_sent, bytes_recv; /* bytes written to / read from the socket */
	uint64_t ops_done, ops_failed;
};

struct wgbackend_ops {
	const char *name; /* "kernel", "userspace" */
	int (*get_device)(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb, void *ud);
	/* dev->name selects the interface; the request is copied before returning. */
	int (*set_device)(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb, void *ud);
	/* Optional (NULL: -EOPNOTSUPP). */
	int (*list_devices)(struct wgbackend *be, wgbackend_list_cb cb, void *ud);
	/* Optional (NULL: -EOPNOTSUPP): makes interface ifname exist so that
	 * get_device finds it. Existing already is success. Same queue contract. */
	int (*create_device)(struct wgbackend *be, const char *ifname, wgbackend_set_cb cb, void *ud);
	/* Optional: ifname is about to be deleted; stop what this backend started
	 * to serve it (userspace: SIGTERM to the wireguard-go it spawned).
	 * Synchronous, never blocks. */
	void (*forget_device)(struct wgbackend *be, const char *ifname);
	void (*free)(struct wgbackend *be);
};

/* Every backend object starts with this header. Constructors follow one shape:
 *   int wg_<name>_new(struct reactor *r, const struct wlog *log, ..., struct wgbackend **out);
 * (none waits for I/O: the kernel backend learns that the genetlink family is
 * missing at its first operation, -EPROTONOSUPPORT). */
struct wgbackend {
	const struct wgbackend_ops *ops;
	struct reactor *r;
	const struct wlog *log; /* may be NULL; must outlive the backend */
	struct wgbackend_stats stats;
	int child_pid; /* the userspace implementation this backend started, or -1 */
};

static inline int wgbackend_get_device(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb,
				       void *ud)
{
	return be->ops->get_device(be, ifname, cb, ud);
}

static inline int wgbackend_set_device(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb,
				       void *ud)
{
	return be->ops->set_device(be, dev, cb, ud);
}

static inline int wgbackend_list_devices(struct wgbackend *be, wgbackend_list_cb cb, void *ud)
{
	if (!be->ops->list_devices)
		return -EOPNOTSUPP;
	return be->ops->list_devices(be, cb, ud);
}

static inline const struct wgbackend_stats *wgbackend_stats(const struct wgbackend *be)
{
	return &be->stats;
}

static inline const char *wgbackend_name(const struct wgbackend *be)
{
	return be->ops->name;
}

static inline int wgbackend_create_device(struct wgbackend *be, const char *ifname, wgbackend_set_cb cb,
					  void *ud)
{
	if (!be->ops->create_device)
		return -EOPNOTSUPP;
	return be->ops->create_device(be, ifname, cb, ud);
}

static inline void wgbackend_forget_device(struct wgbackend *be, const char *ifname)
{
	if (be->ops->forget_device)
		be->ops->forget_device(be, ifname);
}

/* NULL is fine. */
static inline void wgbackend_free(struct wgbackend *be)
{
	if (be)
		be->ops->free(be);
}

#endif
