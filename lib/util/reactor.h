/* SPDX-License-Identifier: MIT */
/*
 * The library's internal view of the host event loop: a registry of file
 * descriptors with their wanted events and a heap of timers. It does no I/O
 * and reads no clock: core/loop.c feeds it readiness and the time, and tells
 * the host (push hooks, or pull via reactor_watches/reactor_next_deadline)
 * what to wait for. Every OS object (netlink, UAPI and TCP sockets) registers
 * here, so all of them are driven through the one public loop contract.
 */
#ifndef W2W_UTIL_REACTOR_H
#define W2W_UTIL_REACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "w2wesher/loop.h"

struct reactor;

/* revents: W2W_IO_READ | W2W_IO_WRITE | W2W_IO_ERROR. */
typedef void (*reactor_io_fn)(void *ud, int fd, int revents, uint64_t now_us);
typedef void (*reactor_timer_fn)(void *ud, uint64_t now_us);

struct rtimer {
	uint64_t when;      /* absolute, monotonic microseconds */
	reactor_timer_fn fn;
	void *ud;
	size_t idx;         /* position in the heap; SIZE_MAX when not armed */
};

struct reactor_hooks {
	/* fd interest changed; events == 0: stop watching fd. */
	void (*watch)(void *ud, int fd, int events);
	/* earliest deadline changed; -1: none. */
	void (*deadline)(void *ud, int64_t when_us);
	void *ud;
};

struct reactor *reactor_new(void);
/* All fds and timers must be gone; returns the number still registered (0 = clean). */
size_t reactor_free(struct reactor *r);
void reactor_set_hooks(struct reactor *r, const struct reactor_hooks *h);

/* Registers fd or changes its interest (fn/ud replaced). events may be 0
 * (registered but idle). -ENOMEM, -EINVAL for fd < 0. */
int reactor_io_set(struct reactor *r, int fd, int events, reactor_io_fn fn, void *ud);
/* Changes only the interest of a registered fd. */
int reactor_io_events(struct reactor *r, int fd, int events);
/* Forgets fd (call before close()). Safe from inside its own callback. */
void reactor_io_del(struct reactor *r, int fd);

void rtimer_init(struct rtimer *t, reactor_timer_fn fn, void *ud);
static inline int rtimer_armed(const struct rtimer *t)
{
	return t->idx != (size_t)-1;
}
/* (Re)arms t at when_us. -ENOMEM on heap growth failure. */
int reactor_timer_arm(struct reactor *r, struct rtimer *t, uint64_t when_us);
void reactor_timer_disarm(struct reactor *r, struct rtimer *t);

/* Earliest armed timer, or -1. */
int64_t reactor_next_deadline(const struct reactor *r);
/* Fills up to cap watches with events != 0; returns how many exist in total. */
size_t reactor_watches(const struct reactor *r, struct w2w_watch *out, size_t cap);

/* Delivers readiness of fd (ignored when fd is not registered or not interested). */
void reactor_dispatch_io(struct reactor *r, int fd, int revents, uint64_t now_us);
/* Runs every timer due at now_us (timers armed for <= now during this call run next time). */
void reactor_run_timers(struct reactor *r, uint64_t now_us);

#endif
