/* SPDX-License-Identifier: MIT */
/*
 * The one WireGuard sync engine (docs/wireguard.md): both the public
 * w2w_wg_* API (core/wg.c) and the node use it. It keeps one interface equal
 * to a desired state, asynchronously on the reactor, one job at a time:
 *
 *   sync:   [choose backend] -> get -> [-ENODEV: create, get] -> diff
 *           (lib/wg/wgdiff.h) -> [set] -> [link MTU/up] -> [addresses] -> done
 *   read:   [choose backend] -> get -> done
 *   remove: [forget (backend hook)] -> delete the link -> done
 *
 * One rule for each point the two former engines disagreed on:
 *  - backend auto: chosen at the first job, once: a running userspace
 *    implementation (its UAPI socket exists) wins, else the kernel if its
 *    genetlink family resolves, else userspace;
 *  - creating a missing interface: unless adopt_only, through the backend's
 *    create_device hook (kernel link of kind wireguard / start wireguard-go,
 *    within WG_SPAWN_TIMEOUT_US);
 *  - addresses: a job that carries an address set (set_addrs) makes the
 *    link's addresses exactly that set (IPv6 link-local kept); a job without
 *    one never touches addresses;
 *  - the link is brought up (with the MTU, when one is given) whenever the job
 *    has an MTU or an address set;
 *  - the endpoint policy's wall clock comes from the OS layer (wall_ms).
 *
 * Jobs queued with wgsync_apply() are coalesced: an apply that is still
 * queued is replaced by a newer one. Callbacks run from reactor timers, never
 * from inside the call that queued the job.
 */
#ifndef W2W_CORE_WGSYNC_H
#define W2W_CORE_WGSYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "reactor.h"
#include "rtnl.h"
#include "w2wesher/common.h"
#include "wgbackend.h"
#include "wgdev.h"
#include "wgdiff.h"

struct wgsync;
struct wgsync_config;

struct wgsync_result {
	int err;
	struct wgdiff_stats diff;
	bool link_created; /* the create_device hook ran */
	bool applied;      /* a set was sent */
};

/*
 * The OS below the engine: backends, links and addresses, the wall clock.
 * NULL in wgsync_config (and in a loop, see loop_set_wg_os) is the real one,
 * wgsync_os_real. Tests substitute an in-memory one (tests/unit/fake_wgos.h):
 * the seam that lets a whole w2w_node run in tests/unit without root.
 * Every asynchronous function follows the wgbackend.h / rtnl.h contract.
 */
struct wgsync_os {
	void *ctx;
	/* A backend of kind W2W_BACKEND_KERNEL or W2W_BACKEND_USERSPACE. */
	int (*backend_new)(void *ctx, enum w2w_backend kind, struct reactor *r, const struct wlog *log,
			   const struct wgsync_config *cfg, struct wgbackend **out);
	/* Backend auto: does a userspace implementation serve ifname already? */
	bool (*userspace_running)(void *ctx, const struct wgsync_config *cfg);
	/* Links and addresses (rtnl.h semantics) on a handle from link_open. */
	int (*link_open)(void *ctx, struct reactor *r, const struct wlog *log, void **out);
	void (*link_close)(void *lk);
	int (*link_get)(void *lk, const char *ifname, rtnl_link_cb cb, void *ud);
	int (*link_set)(void *lk, uint32_t ifindex, uint32_t mtu, bool up, rtnl_done_cb cb, void *ud);
	int (*link_del)(void *lk, const char *ifname, rtnl_done_cb cb, void *ud);
	int (*addr_list)(void *lk, uint32_t ifindex, rtnl_addr_list_cb cb, void *ud);
	int (*addr_add)(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud);
	int (*addr_del)(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud);
	/* CLOCK_REALTIME in ms (handshake times are wall clock). */
	uint64_t (*wall_ms)(void *ctx);
};

extern const struct wgsync_os wgsync_os_real;

struct wgsync_config {
	const char *ifname;
	enum w2w_backend backend;
	unsigned mtu;                /* of wgsync_apply jobs; 0: leave the MTU */
	unsigned keep_roamed_secs;   /* endpoint policy of wg/wgdiff.h */
	const char *uapi_sockdir;    /* NULL: /var/run/wireguard */
	const char *wireguard_go;    /* NULL: "wireguard-go" from PATH */
	/* Result of wgsync_apply jobs. */
	void (*done)(void *ud, const struct wgsync_result *res);
	void *ud;
	/* Optional: a read or refresh found the interface gone (-ENODEV; deleted
	 * from outside, its userspace implementation killed). Reads never
	 * re-create it; the next apply does. */
	void (*lost)(void *ud);
	bool adopt_only;   /* never create a missing interface: -ENODEV */
	/* Diff against the device as last read plus the sets applied since,
	 * instead of reading it again (only for the device's only writer; a
	 * failed job drops it, wgsync_read refreshes it). */
	bool cache_device;
	const struct wgsync_os *os; /* NULL: wgsync_os_real */
};

/* 0, -EINVAL (bad name), -ENOMEM. No I/O yet: the first job chooses the backend. */
int wgsync_new(struct reactor *r, const struct wlog *log, const struct wgsync_config *cfg, struct wgsync **out);
/* Drops queued jobs without callbacks; safe from inside a callback. NULL is fine. */
void wgsync_free(struct wgsync *ws);

/* The node's job: takes ownership of desired (freed by wgsync); addrs: the
 * link's addresses (set_addrs: always); cfg.mtu; result through cfg.done;
 * keep_unlisted: leave peers that desired does not list (a restarted node
 * that has not yet heard from everyone must not drop their sessions). After
 * a set the device is read back (wgsync_actual). 0, -ENOMEM, W2W_ESTATE while
 * removing. */
int wgsync_apply(struct wgsync *ws, struct wgdevice *desired, const struct rtnl_addr *addrs, size_t n,
		 bool keep_unlisted);

/* A job of the public API: desired is copied. */
struct wgsync_job {
	const struct wgdevice *desired;
	unsigned mtu;
	const struct rtnl_addr *addrs;
	size_t n_addrs;
	bool set_addrs;
	bool keep_unlisted;
};
typedef void (*wgsync_done_fn)(void *ud, const struct wgsync_result *res);
typedef void (*wgsync_read_fn)(void *ud, int err, struct wgdevice *dev);
int wgsync_sync(struct wgsync *ws, const struct wgsync_job *job, wgsync_done_fn cb, void *ud);
/* dev is the callee's (wgdev_free); NULL when err < 0. */
int wgsync_read(struct wgsync *ws, wgsync_read_fn cb, void *ud);

/* Re-reads the device (statistics for snapshots); no callback. 0 when there
 * is nothing to read yet. */
int wgsync_refresh(struct wgsync *ws);
/* The device as last read (NULL before the first read). */
const struct wgdevice *wgsync_actual(const struct wgsync *ws);
const char *wgsync_ifname(const struct wgsync *ws);
/* "kernel", "userspace", or "none" before the first job. */
const char *wgsync_backend_name(const struct wgsync *ws);
/* A job runs or waits. */
bool wgsync_busy(const struct wgsync *ws);
/* Control traffic of the backend (zeros before the first job). */
struct wgbackend_stats wgsync_backend_stats(const struct wgsync *ws);
/* The userspace implementation the engine started, or -1. */
int wgsync_child_pid(const struct wgsync *ws);
/* The backend (NULL before the first job): list_devices for the public API. */
struct wgbackend *wgsync_backend(struct wgsync *ws);
/* Chooses the backend now (what the first job would do); 0 or its error. */
int wgsync_choose_backend(struct wgsync *ws);

/*
 * A direct-path probe of a relayed peer (docs/nat.md "Upgrade"): one job, no
 * diff. Reads the device (the peer's tx bytes and keepalive), sets the peer's
 * endpoint to `direct` with its persistent keepalive switched 0 -> N in the
 * same set (WireGuard sends a keepalive at once, which opens our NAT towards
 * `direct`), re-reads until the peer's tx bytes grew (the keepalive left:
 * both implementations read the endpoint when the packet is sent, not when
 * it is queued) or WGSYNC_PROBE_POLLS reads, then sets the endpoint back to
 * `back`. Only what is sent between the two sets takes the direct path.
 * `back` is the endpoint the device had before (the caller's `back` only
 * when it had none); a peer already at `direct` (WireGuard roamed there) is
 * left alone. cb(ud, err, sent, window_us): sent, the tx bytes grew before
 * the restore. -ENOENT:
 * the peer is not on the device (nothing was set).
 */
#define WGSYNC_PROBE_POLLS 8
struct wgsync_probe {
	uint8_t key[32];
	union wgendpoint direct, back;
	uint16_t keepalive_s; /* the kick's interval when the peer has none */
};
/* window_us: from sending the direct set to the end of the set back (the
 * most the direct endpoint was on the device; 0 when nothing was set). */
typedef void (*wgsync_probe_fn)(void *ud, int err, bool sent, uint64_t window_us);
int wgsync_probe(struct wgsync *ws, const struct wgsync_probe *p, wgsync_probe_fn cb, void *ud);

/* Leaving: drops queued jobs, then ends what serves the interface (backend
 * hook) and deletes the link. done(ud, err). */
int wgsync_remove(struct wgsync *ws, void (*done)(void *ud, int err), void *ud);

#endif
