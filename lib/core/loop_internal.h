/* SPDX-License-Identifier: MIT */
/* What other core objects need from a w2w_loop. */
#ifndef W2W_CORE_LOOP_INTERNAL_H
#define W2W_CORE_LOOP_INTERNAL_H

#include <stdbool.h>

#include "reactor.h"
#include "w2wesher/loop.h"

struct reactor *loop_reactor(struct w2w_loop *loop);
/* Marks entry/exit of library callbacks so re-entrant process calls get -EBUSY. */
void loop_enter_cb(struct w2w_loop *loop);
void loop_leave_cb(struct w2w_loop *loop);
/*
 * Log sinks: a log line can come from deep inside an engine (half-way through
 * a state change), so while one is delivered every library call on objects of
 * this loop returns -EBUSY, not only w2w_loop_process() (docs/api.md,
 * "Logging"). Events, delivered at safe points, only take loop_enter_cb().
 */
void loop_enter_log(struct w2w_loop *loop);
void loop_leave_log(struct w2w_loop *loop);
bool loop_in_log(const struct w2w_loop *loop);
/*
 * True when an event may be delivered now: inside w2w_loop_process() and in
 * no library callback. Otherwise (inside an API call, or a callback that
 * called the API) an object queues it and delivers it from a timer, so that
 * events never come from inside the call that caused them (docs/api.md).
 */
bool loop_may_deliver(const struct w2w_loop *loop);

struct wgsync_os;
/* Test seam (never exported): the OS layer under the WireGuard engines of
 * every node and w2w_wg handle created on this loop from now on — an
 * in-memory one in tests (tests/unit/fake_wgos.h), NULL for the real one
 * (core/wgsync.h, docs/wireguard.md). */
void loop_set_wg_os(struct w2w_loop *loop, const struct wgsync_os *os);
const struct wgsync_os *loop_wg_os(const struct w2w_loop *loop);

#endif
