/* SPDX-License-Identifier: MIT */
/*
 * The event-loop contract (docs/api.md): the library never blocks, sleeps or
 * owns a thread. Every socket it uses is non-blocking and registered with a
 * struct w2w_loop, which the host drives in one of three ways:
 *
 *  - push: give w2w_loop_new() ops; the library calls ops->watch when the
 *    interest in an fd changes and ops->set_deadline when its earliest timer
 *    changes. The host calls w2w_loop_process() with the ready fds (or none,
 *    when the deadline passed). The c-ares / curl multi_socket shape.
 *  - pull: after every w2w_loop_process(), ask w2w_loop_get_watches() and
 *    w2w_loop_timeout() and poll() on them.
 *  - batteries: w2w_loop_run() does the pull loop with poll() itself.
 *
 * Several library objects (a mesh node, a WireGuard device, a libp2p host)
 * can share one loop. Times are CLOCK_MONOTONIC microseconds (w2w_now_us()).
 */
#ifndef W2WESHER_LOOP_H
#define W2WESHER_LOOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>

enum {
	W2W_IO_READ = 1,
	W2W_IO_WRITE = 2,
	W2W_IO_ERROR = 4, /* error or hang-up: only ever reported, never requested */
};

/* Frozen, like struct pollfd: an array element both ways (get_watches fills
 * it, process reads it), so it carries no size field (docs/api.md). */
struct w2w_watch {
	int fd;
	int events; /* W2W_IO_* */
};

/* The version of struct w2w_loop_ops this header describes. A later header
 * may append fields and raise it; the library accepts every version from 1 up
 * to its own, so a host built against an older header keeps working. */
enum { W2W_LOOP_OPS_VERSION = 2 };

struct w2w_loop_ops {
	unsigned version; /* W2W_LOOP_OPS_VERSION (1 .. the library's) */
	void *ud;
	/* Start, change (events != 0) or stop (events == 0) watching fd. */
	void (*watch)(void *ud, int fd, int events);
	/* The earliest deadline changed, or a w2w_loop_process() ran: absolute
	 * w2w_now_us() time, or -1 for none. Hosts arm a one-shot timer for it;
	 * it may repeat the previous value (the timer fired a little early). */
	void (*set_deadline)(void *ud, int64_t when_us);
	/* Version 2. When set, called instead of watch, with the host's pointer
	 * for fd (w2w_loop_assign(); NULL until assigned, like the socketp of
	 * curl's CURLMOPT_SOCKETFUNCTION): a host keeps its per-fd watcher there
	 * instead of in a map of its own. After watch_fd(fd, 0, p) the library
	 * forgets p: the same fd number comes back as a new socket with NULL. */
	void (*watch_fd)(void *ud, int fd, int events, void *fd_ud);
};

struct w2w_loop;

/*
 * New loop into *ret. ops may be NULL (pull mode); it is copied. Returns 0,
 * -EINVAL (ret NULL, or ops->version 0 or newer than this library knows),
 * -ENOMEM. *ret is written only on success.
 */
W2W_EXPORT int w2w_loop_new(struct w2w_loop **ret, const struct w2w_loop_ops *ops);
/* Frees the loop; every object registered on it must have been freed first.
 * Accepts NULL; returns NULL. */
W2W_EXPORT struct w2w_loop *w2w_loop_free(struct w2w_loop *loop);

/*
 * Attaches the host's pointer to an fd the library watches (curl_multi_assign):
 * passed to ops->watch_fd for that fd until the library stops watching it.
 * Callable from inside watch_fd (the one library call allowed there). Returns
 * 0, -ENOENT (the library does not watch fd), -ENOMEM, -EINVAL.
 */
W2W_EXPORT int w2w_loop_assign(struct w2w_loop *loop, int fd, void *fd_ud);

/* Handles the given ready fds (n may be 0) and runs every timer that is due.
 * Returns 0, or -EBUSY when called from inside one of the library's callbacks
 * (an event or log callback, or a watch/set_deadline op) or from inside
 * another w2w_loop_process() on the same loop. */
W2W_EXPORT int w2w_loop_process(struct w2w_loop *loop, const struct w2w_watch *ready, size_t n);

/* Pull mode: copies up to cap watches; returns how many exist (may exceed cap). */
W2W_EXPORT size_t w2w_loop_get_watches(struct w2w_loop *loop, struct w2w_watch *out, size_t cap);
/* Absolute deadline in w2w_now_us() time, or -1 when no timer is armed. */
W2W_EXPORT int64_t w2w_loop_next_deadline(struct w2w_loop *loop);
/* Milliseconds until the next deadline (rounded up, >= 0), or -1: poll()'s timeout. */
W2W_EXPORT int w2w_loop_timeout(struct w2w_loop *loop);

/* Runs a poll() loop until w2w_loop_break() is called or timeout_ms passes
 * (-1: no limit). Returns 1 when broken, 0 on timeout, -EBUSY from inside a
 * library callback, -ENOMEM, or poll()'s -errno. */
W2W_EXPORT int w2w_loop_run(struct w2w_loop *loop, int timeout_ms);
/* Makes the innermost w2w_loop_run() return after the current iteration. */
W2W_EXPORT void w2w_loop_break(struct w2w_loop *loop);

/* CLOCK_MONOTONIC in microseconds. */
W2W_EXPORT uint64_t w2w_now_us(void);

#ifdef __cplusplus
}
#endif
#endif
