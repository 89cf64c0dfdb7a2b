/* SPDX-License-Identifier: MIT */
/*
 * The userspace WireGuard backend: the cross-platform UAPI text protocol
 * (wireguard.com/xplatform) spoken by wireguard-go over the unix socket
 * <sockdir>/<iface>.sock (sockdir = /var/run/wireguard). One connection per
 * operation, like wg(8); the socket is non-blocking and driven by the reactor.
 *
 * Protocol codec: lib/wg/wguapi.h.
 */
#ifndef W2W_OS_WG_UAPI_H
#define W2W_OS_WG_UAPI_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "wguapi.h"
#include "wgbackend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"

/* sockdir NULL = WG_UAPI_SOCKDIR (tests pass a private directory). */
int wg_uapi_new(struct reactor *r, const struct wlog *log, const char *sockdir, struct wgbackend **out);

/* <sockdir>/<ifname>.sock into out; -ENAMETOOLONG / -EINVAL. */
int wg_uapi_sock_path(const struct wgbackend *be, const char *ifname, char *out, size_t cap);

/*
 * Starts `exe <ifname>` (exe NULL = "wireguard-go", searched in PATH) in the
 * foreground (WG_PROCESS_FOREGROUND=1, so the PID stays ours), stdin/stdout/
 * stderr on /dev/null, and waits without blocking — a timer polls for its
 * socket — until the UAPI socket accepts connections. cb gets the PID on
 * success; on failure (exec failed, the process exited, timeout_us passed:
 * W2W_ETIMEDOUT) the process is killed and reaped and cb gets the error.
 * Needs /dev/net/tun (checked first: -ENODEV if missing).
 * Same queue contract as the other operations (see wgbackend.h).
 */
typedef void (*wg_uapi_spawn_cb)(void *ud, int err, pid_t pid);
int wg_uapi_spawn(struct wgbackend *be, const char *ifname, const char *exe, uint64_t timeout_us,
		  wg_uapi_spawn_cb cb, void *ud);

/* SIGTERM to a PID from wg_uapi_spawn, then waits up to wait_ms for it
 * (blocking, for tools and tests only), then SIGKILL. 0 or -errno. */
int wg_uapi_stop(pid_t pid, int wait_ms);

#endif
