/* SPDX-License-Identifier: MIT */
/*
 * The cross-platform UAPI text protocol of userspace WireGuard
 * (wireguard.com/xplatform), as wireguard-go speaks it: building requests and
 * parsing responses, no I/O (the socket side is lib/os/wg_uapi.h).
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
#ifndef W2W_WG_WGUAPI_H
#define W2W_WG_WGUAPI_H

#include <stddef.h>

#include "buf.h"
#include "wgdev.h"

/* Interface name -> index (if_nametoindex), 0 when unknown. */
typedef unsigned (*wg_uapi_zone_fn)(const char *name);

#define WG_UAPI_MAX_RESPONSE (64u << 20) /* bytes; ~200k peers */
#define WG_UAPI_MAX_LINE 512u            /* bytes per line, "\n" included */
#define WG_UAPI_MAX_PEERS (1u << 20)
#define WG_UAPI_MAX_ALLOWEDIPS (1u << 22) /* over the whole device */

/* Length of a complete response in data (through the terminating empty line),
 * 0 when more bytes are needed, W2W_EPROTO when data cannot be a valid response
 * (a line longer than WG_UAPI_MAX_LINE). */
long wg_uapi_response_len(const char *data, size_t len);
/* The same, incremental over a growing buffer: *pos and *line (both 0 at
 * first) keep where the scan stopped, so each byte is looked at once. */
long wg_uapi_response_scan(const char *data, size_t len, size_t *pos, size_t *line);

/*
 * Parses a complete `get=1` response (bytes as read, the terminating empty
 * line included). zone resolves an IPv6 zone name to its index (NULL: 0).
 * 0 and *out (caller frees), or: -N for errno=N (N != 0),
 * W2W_EPROTO for malformed or truncated text (no errno line, no final empty
 * line, a bad value, a key out of place), W2W_ELIMIT past the WG_UAPI_MAX_*
 * limits, -ENOMEM. errline (may be NULL) receives the 1-based failing line.
 */
int wg_uapi_parse_get(const char *data, size_t len, const char *ifname, wg_uapi_zone_fn zone, struct wgdevice **out,
		      unsigned *errline);
/* Parses a `set=1` response: 0, -N for errno=N, W2W_EPROTO when malformed/truncated. */
int wg_uapi_parse_set(const char *data, size_t len);
/* Appends the `set=1` request for dev (secrets included: use buf_free_wipe). */
int wg_uapi_build_set(const struct wgdevice *dev, struct buf *out);

#endif
