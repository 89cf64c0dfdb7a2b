/* SPDX-License-Identifier: MIT */
/*
 * The userspace WireGuard backend: the cross-platform UAPI text protocol
 * (wireguard.com/xplatform) spoken by wireguard-go over the unix socket
 * <sockdir>/<iface>.sock (sockdir = /var/run/wireguard). One connection per
 * operation, like wg(8); the socket is non-blocking and driven by the reactor.
 *
 * Protocol facts used here:
 *  - request "get=1\n\n"; response: "key=value\n" lines, then "errno=N\n",
 *    then an empty line. Keys (hex keys, 64 lowercase digits): private_key,
 *    listen_port, fwmark, then per peer public_key (starts the peer),
 *    preshared_key, protocol_version, endpoint (a.b.c.d:port | [v6]:port),
 *    last_handshake_time_sec/_nsec, rx_bytes, tx_bytes,
 *    persistent_keepalive_interval, allowed_ip (addr/cidr). Unknown keys are
 *    skipped (forward compatibility, as wg(8) does).
 *  - request "set=1\n" + keys (private_key, listen_port, fwmark,
 *    replace_peers=true, public_key, remove=true, update_only=true,
 *    preshared_key, endpoint, persistent_keepalive_interval,
 *    replace_allowed_ips=true, allowed_ip) + "\n"; response "errno=N\n\n".
 *  - errno=0 is success; any other value N is reported as -N.
 */
#ifndef W2W_OS_WG_UAPI_H
#define W2W_OS_WG_UAPI_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "wgbackend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"
#define WG_UAPI_MAX_RESPONSE (64u << 20) /* bytes; ~200k peers */
#define WG_UAPI_MAX_LINE 512u            /* bytes per line, "\n" included */
#define WG_UAPI_MAX_PEERS (1u << 20)
#define WG_UAPI_MAX_ALLOWEDIPS (1u << 22) /* over the whole device */

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

/* --- Pure protocol functions (used by the engine, tests and fuzzers) --- */

/* Length of a complete response in data (through the terminating empty line),
 * 0 when more bytes are needed, W2W_EPROTO when data cannot be a valid response
 * (a line longer than WG_UAPI_MAX_LINE). */
long wg_uapi_response_len(const char *data, size_t len);

/*
 * Parses a complete `get=1` response (bytes as read, the terminating empty
 * line included). 0 and *out (caller frees), or: -N for errno=N (N != 0),
 * W2W_EPROTO for malformed or truncated text (no errno line, no final empty
 * line, a bad value, a key out of place), W2W_ELIMIT past the WG_UAPI_MAX_*
 * limits, -ENOMEM. errline (may be NULL) receives the 1-based failing line.
 */
int wg_uapi_parse_get(const char *data, size_t len, const char *ifname, struct wgdevice **out,
		      unsigned *errline);
/* Parses a `set=1` response: 0, -N for errno=N, W2W_EPROTO when malformed/truncated. */
int wg_uapi_parse_set(const char *data, size_t len);
/* Appends the `set=1` request for dev (secrets included: use buf_free_wipe). */
int wg_uapi_build_set(const struct wgdevice *dev, struct buf *out);

#endif
