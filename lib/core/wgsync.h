/* SPDX-License-Identifier: MIT */
/*
 * Keeps one WireGuard interface equal to a desired state: the link exists and
 * is up with its MTU (created, or adopted after a restart — never deleted and
 * recreated), exactly the desired overlay addresses are on it (each with the
 * overlay prefix length, so the kernel installs the overlay route), and the
 * WireGuard device matches the desired one through the minimal diff
 * (mesh/wgdiff.h). Backend: kernel genetlink, or wireguard-go over UAPI
 * (started when its socket is missing). Asynchronous on the reactor.
 *
 * wgsync_apply() may be called at any time; calls that arrive while a cycle
 * runs are coalesced: the newest desired state is applied next.
 */
#ifndef W2W_CORE_WGSYNC_H
#define W2W_CORE_WGSYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "reactor.h"
#include "rtnl.h"
#include "wgdev.h"
#include "wgdiff.h"
#include "w2wesher/config.h"

#define WGSYNC_MAX_ADDRS 4

struct wgsync;

struct wgsync_result {
	int err;
	struct wgdiff_stats diff;
	bool link_created;
};

struct wgsync_config {
	const char *ifname;
	enum w2w_backend backend;
	unsigned mtu;
	unsigned keep_roamed_secs;   /* endpoint policy of mesh/wgdiff.h */
	const char *uapi_sockdir;    /* NULL: /var/run/wireguard */
	const char *wireguard_go;    /* NULL: "wireguard-go" from PATH */
	void (*done)(void *ud, const struct wgsync_result *res);
	void *ud;
};

int wgsync_new(struct reactor *r, const struct wlog *log, const struct wgsync_config *cfg, struct wgsync **out);
void wgsync_free(struct wgsync *ws);

/* Takes ownership of desired (freed by wgsync). addrs: desired interface addresses.
 * keep_unlisted: leave peers that desired does not list (a restarted node that
 * has not yet heard from everyone must not drop their sessions). */
int wgsync_apply(struct wgsync *ws, struct wgdevice *desired, const struct rtnl_addr *addrs, size_t n,
		 bool keep_unlisted);
/* Re-reads the device (statistics for snapshots); done() is not called. */
int wgsync_refresh(struct wgsync *ws);
/* The device as last read (NULL before the first read). */
const struct wgdevice *wgsync_actual(const struct wgsync *ws);
const char *wgsync_backend_name(const struct wgsync *ws);
bool wgsync_busy(const struct wgsync *ws);

/* Leaving: deletes the link (kernel) or stops wireguard-go (userspace). done(ud, err). */
int wgsync_remove(struct wgsync *ws, void (*done)(void *ud, int err), void *ud);

#endif
