/* SPDX-License-Identifier: MIT */
/*
 * The `wg setconf` / `wg showconf` configuration file format (wg(8),
 * "CONFIGURATION FILE FORMAT"):
 *
 *   [Interface]            PrivateKey, ListenPort, FwMark ("off" | number, 0x hex allowed)
 *   [Peer] (repeated)      PublicKey (required), PresharedKey, AllowedIPs (comma list, may
 *                          be empty), Endpoint, PersistentKeepalive ("off" | seconds)
 *
 * As wg(8) reads it: section and key names are case-insensitive, all
 * whitespace inside a line is ignored, '#' starts a comment anywhere. Keys
 * are standard base64 (44 characters). Differences, reported as errors with
 * the line number: host names in Endpoint (this layer does no DNS: use a
 * numeric address), wg-quick keys (Address, DNS, MTU, ... — strip them with
 * `wg-quick strip`).
 *
 * The parse result is the *desired* device: HAS_* flags for what the file
 * sets, and every peer carries WGPEER_REPLACE_ALLOWEDIPS (the listed allowed
 * IPs are the whole set), i.e. what `wg setconf` would send without
 * WGDEVICE_REPLACE_PEERS; syncconf semantics come from the diff (wgdiff.h).
 */
#ifndef W2W_WG_WGCONF_H
#define W2W_WG_WGCONF_H

#include <stddef.h>

#include "buf.h"
#include "wgdev.h"

#define WGCONF_MAX_SIZE (64u << 20) /* bytes of text */
#define WGCONF_MAX_LINE 8192u       /* bytes per line */
#define WGCONF_MAX_PEERS (1u << 20)

struct wgconf_err {
	unsigned line; /* 1-based; 0 = not tied to a line */
	char msg[128];
};

/* 0 and *out (caller frees with wgdev_free: it holds keys), or W2W_EPARSE /
 * W2W_ELIMIT with err filled, or -ENOMEM. err may be NULL. */
int wgconf_parse(const char *text, size_t len, struct wgdevice **out, struct wgconf_err *err);

/* Appends dev in `wg showconf` layout (peers in list order; the private key
 * is printed: the caller asked for it). 0 or an error from buf. */
int wgconf_print(const struct wgdevice *dev, struct buf *out);

#endif
