/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard backend: generic netlink family "wireguard"
 * (linux/wireguard.h) on the non-blocking engine of nl.h, behind the
 * wgbackend.h interface.
 *
 * Message codec: lib/wg/wggenl.h. Deadlines (WGBACKEND_TIMEOUT_US) run from the start of an operation, not
 * from its enqueue, and a set's is renewed by every acknowledged message:
 * it detects a stalled kernel, it does not cap a large update.
 */
#ifndef W2W_OS_WG_KERNEL_H
#define W2W_OS_WG_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"
#include "wggenl.h"
#include "wgbackend.h"

/* Opens a genetlink socket on r and queues the lookup of the "wireguard"
 * family; never waits for it. Operations queue behind the lookup; when the
 * kernel has no WireGuard module they fail with -EPROTONOSUPPORT (logged
 * once). Fails only when the socket cannot be opened. */
int wg_kernel_new(struct reactor *r, const struct wlog *log, struct wgbackend **out);
/* Test seam: a backend on an existing engine (not owned) with a known
 * family id; no I/O at construction. */
int wg_kernel_new_on(struct nl_sock *nl, uint16_t family, struct wgbackend **out);
/* The engine (for its statistics). */
struct nl_sock *wg_kernel_engine(struct wgbackend *be);

#endif
