/* SPDX-License-Identifier: MIT */
/* What other core objects need from a w2w_loop. */
#ifndef W2W_CORE_LOOP_INTERNAL_H
#define W2W_CORE_LOOP_INTERNAL_H

#include "reactor.h"
#include "w2wesher/loop.h"

struct reactor *loop_reactor(struct w2w_loop *loop);
/* Marks entry/exit of library callbacks so re-entrant process calls get -EBUSY. */
void loop_enter_cb(struct w2w_loop *loop);
void loop_leave_cb(struct w2w_loop *loop);

struct wgsync_os;
/* Test seam (never exported): the OS layer under the WireGuard engines of
 * every node and w2w_wg handle created on this loop from now on — an
 * in-memory one in tests (tests/unit/fake_wgos.h), NULL for the real one
 * (core/wgsync.h, docs/wireguard.md). */
void loop_set_wg_os(struct w2w_loop *loop, const struct wgsync_os *os);
const struct wgsync_os *loop_wg_os(const struct w2w_loop *loop);

#endif
