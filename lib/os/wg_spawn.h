/* SPDX-License-Identifier: MIT */
/*
 * Starting a userspace WireGuard implementation (wireguard-go) without
 * blocking: `exe <ifname>` runs in the foreground (WG_PROCESS_FOREGROUND=1,
 * so the PID stays ours) with stdin/stdout/stderr on /dev/null; a timer then
 * polls (every WG_SPAWN_POLL_FAST_US at first, then WG_SPAWN_POLL_US) until its
 * UAPI socket accepts a connection.
 * The userspace backend (wg_uapi.h) uses it as its create_device hook.
 */
#ifndef W2W_OS_WG_SPAWN_H
#define W2W_OS_WG_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "reactor.h"

/* One rule for every caller (docs/wireguard.md): wireguard-go normally
 * answers within ~100 ms; a cold start on a loaded machine (a CI VM, the
 * first run after boot) can take seconds, and nothing waits on this
 * synchronously. 10 s, the same bound as every backend operation
 * (WGBACKEND_TIMEOUT_US). */
#define WG_SPAWN_TIMEOUT_US (10ull * 1000 * 1000)
#define WG_SPAWN_POLL_US 10000ull
/* The first WG_SPAWN_FAST_US are polled every WG_SPAWN_POLL_FAST_US: the
 * socket usually appears 15-30 ms after the start, and the node announces
 * itself only once its device is up (a 10 ms poll cost 5 ms on average). */
#define WG_SPAWN_FAST_US 100000ull
#define WG_SPAWN_POLL_FAST_US 2000ull

struct wg_spawn;

/* err 0 and the PID once the socket accepts; or the error (exec failed, the
 * process exited first: -ECHILD, W2W_ETIMEDOUT), the process then killed and
 * reaped. Runs from a reactor timer, never from inside wg_spawn_start(). */
typedef void (*wg_spawn_cb)(void *ud, int err, pid_t pid);

/*
 * exe NULL or "" = "wireguard-go" (searched in PATH); sockpath: the UAPI
 * socket the process will create. Needs /dev/net/tun (checked first: -ENODEV).
 * 0 and *out (freed by the callback's return: do not use it after), or a
 * negative error and no callback.
 */
int wg_spawn_start(struct reactor *r, const struct wlog *log, const char *exe, const char *ifname,
		   const char *sockpath, wg_spawn_cb cb, void *ud, struct wg_spawn **out);
/* Stops waiting without a callback. The process keeps running (a later
 * engine adopts the interface it serves). NULL is fine. */
void wg_spawn_cancel(struct wg_spawn *s);

#endif
