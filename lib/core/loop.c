/* SPDX-License-Identifier: MIT */
/* The public event-loop contract (include/w2wesher/loop.h) over util/reactor. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"
#include "osclock.h"
#include "w2wesher/loop.h"

struct w2w_loop {
	struct reactor *r;
	struct w2w_loop_ops ops;
	int has_ops;
	int in_cb;      /* depth of library callbacks running (events, logs, ops) */
	int in_log;     /* depth of log callbacks running (a subset of in_cb) */
	int processing; /* inside w2w_loop_process */
	int broken;
	const struct wgsync_os *wg_os; /* test seam: loop_set_wg_os() */
	/* Per fd (indexed by fd number): watched by the library, and the host's
	 * pointer (w2w_loop_assign). Grown on demand; fds are small integers. */
	struct fdslot {
		void *ud;
		int watched;
	} *fds;
	size_t n_fds;
};

static struct fdslot *fdslot(struct w2w_loop *l, int fd, int grow)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= l->n_fds) {
		size_t n = l->n_fds ? l->n_fds : 64;
		struct fdslot *p;

		if (!grow)
			return NULL;
		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(l->fds, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + l->n_fds, 0, (n - l->n_fds) * sizeof(*p));
		l->fds = p;
		l->n_fds = n;
	}
	return &l->fds[fd];
}

static void hook_watch(void *ud, int fd, int events)
{
	struct w2w_loop *l = ud;
	/* No memory for the slot: the fd is still watched, only unassignable. */
	struct fdslot *s = fdslot(l, fd, events != 0);
	void *fd_ud = s ? s->ud : NULL;

	if (s)
		s->watched = events != 0;
	if (l->has_ops && (l->ops.watch_fd || l->ops.watch)) {
		l->in_cb++;
		if (l->ops.watch_fd)
			l->ops.watch_fd(l->ops.ud, fd, events, fd_ud);
		else
			l->ops.watch(l->ops.ud, fd, events);
		l->in_cb--;
	}
	if (s && !events)
		s->ud = NULL; /* after the stop call: the fd number may be reused */
}

int w2w_loop_assign(struct w2w_loop *loop, int fd, void *fd_ud)
{
	struct fdslot *s;

	if (!loop || fd < 0)
		return -EINVAL;
	s = fdslot(loop, fd, 0);
	if (!s || !s->watched)
		return -ENOENT;
	s->ud = fd_ud;
	return 0;
}

static void hook_deadline(void *ud, int64_t when)
{
	struct w2w_loop *l = ud;

	if (l->has_ops && l->ops.set_deadline) {
		l->in_cb++;
		l->ops.set_deadline(l->ops.ud, when);
		l->in_cb--;
	}
}

int w2w_loop_new(struct w2w_loop **ret, const struct w2w_loop_ops *ops)
{
	struct w2w_loop *l;
	struct reactor_hooks h;

	/* Every version up to ours: from a version-1 host only the version-1
	 * prefix is read (watch_fd stays NULL). */
	if (!ret || (ops && (ops->version < 1 || ops->version > W2W_LOOP_OPS_VERSION)))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->r = reactor_new();
	if (!l->r) {
		free(l);
		return -ENOMEM;
	}
	if (ops) {
		/* An older host's struct ends where its version did. */
		memcpy(&l->ops, ops, ops->version >= 2 ? sizeof(*ops) : offsetof(struct w2w_loop_ops, watch_fd));
		l->has_ops = 1;
	}
	h.watch = hook_watch;
	h.deadline = hook_deadline;
	h.ud = l;
	reactor_set_hooks(l->r, &h);
	*ret = l;
	return 0;
}

struct w2w_loop *w2w_loop_free(struct w2w_loop *loop)
{
	if (!loop)
		return NULL;
	reactor_free(loop->r);
	free(loop->fds);
	free(loop);
	return NULL;
}

struct reactor *loop_reactor(struct w2w_loop *loop)
{
	return loop->r;
}

void loop_enter_cb(struct w2w_loop *loop)
{
	loop->in_cb++;
}

void loop_leave_cb(struct w2w_loop *loop)
{
	loop->in_cb--;
}

void loop_enter_log(struct w2w_loop *loop)
{
	loop->in_cb++;
	loop->in_log++;
}

void loop_leave_log(struct w2w_loop *loop)
{
	loop->in_log--;
	loop->in_cb--;
}

bool loop_in_log(const struct w2w_loop *loop)
{
	return loop->in_log > 0;
}

bool loop_may_deliver(const struct w2w_loop *loop)
{
	return loop->processing && !loop->in_cb;
}

int w2w_loop_process(struct w2w_loop *loop, const struct w2w_watch *ready, size_t n)
{
	uint64_t now;

	if (loop->in_cb || loop->processing)
		return -EBUSY;
	loop->processing = 1;
	now = os_now_us();
	for (size_t i = 0; i < n; i++)
		reactor_dispatch_io(loop->r, ready[i].fd, ready[i].events, now);
	reactor_run_timers(loop->r, os_now_us());
	loop->processing = 0;
	return 0;
}

size_t w2w_loop_get_watches(struct w2w_loop *loop, struct w2w_watch *out, size_t cap)
{
	return reactor_watches(loop->r, out, cap);
}

int64_t w2w_loop_next_deadline(struct w2w_loop *loop)
{
	return reactor_next_deadline(loop->r);
}

int w2w_loop_timeout(struct w2w_loop *loop)
{
	int64_t d = reactor_next_deadline(loop->r);
	uint64_t now;

	if (d < 0)
		return -1;
	now = os_now_us();
	if ((uint64_t)d <= now)
		return 0;
	if ((uint64_t)d - now > (uint64_t)1000 * 0x7fffffff)
		return 0x7fffffff;
	return (int)(((uint64_t)d - now + 999) / 1000);
}

void w2w_loop_break(struct w2w_loop *loop)
{
	loop->broken = 1;
}

int w2w_loop_run(struct w2w_loop *loop, int timeout_ms)
{
	uint64_t end = timeout_ms >= 0 ? os_now_us() + (uint64_t)timeout_ms * 1000 : 0;
	struct w2w_watch *w = NULL, *ready = NULL;
	int *rev = NULL;
	size_t cap = 0;
	int ret = 0;

	if (loop->in_cb || loop->processing)
		return -EBUSY;
	loop->broken = 0;
	for (;;) {
		size_t n = reactor_watches(loop->r, w, cap), nready = 0;
		int t = w2w_loop_timeout(loop), r;

		if (n > cap) {
			size_t ncap = n * 2;
			void *a = realloc(w, ncap * sizeof(*w)), *b, *c;

			if (!a) { ret = -ENOMEM; break; }
			w = a;
			b = realloc(ready, ncap * sizeof(*ready));
			if (!b) { ret = -ENOMEM; break; }
			ready = b;
			c = realloc(rev, ncap * sizeof(*rev));
			if (!c) { ret = -ENOMEM; break; }
			rev = c;
			cap = ncap;
			continue;
		}
		if (timeout_ms >= 0) {
			uint64_t now = os_now_us();
			int left = now >= end ? 0 : (int)((end - now + 999) / 1000);

			if (t < 0 || t > left)
				t = left;
		}
		r = os_poll(w, n, rev, t);
		if (r < 0) {
			ret = r;
			break;
		}
		for (size_t i = 0; i < n && r > 0; i++) {
			if (rev[i]) {
				ready[nready].fd = w[i].fd;
				ready[nready].events = rev[i];
				nready++;
			}
		}
		w2w_loop_process(loop, ready, nready);
		if (loop->broken) {
			ret = 1;
			break;
		}
		if (timeout_ms >= 0 && os_now_us() >= end) {
			ret = 0;
			break;
		}
	}
	free(w);
	free(ready);
	free(rev);
	return ret;
}

uint64_t w2w_now_us(void)
{
	return os_now_us();
}

void loop_set_wg_os(struct w2w_loop *loop, const struct wgsync_os *os)
{
	loop->wg_os = os;
}

const struct wgsync_os *loop_wg_os(const struct w2w_loop *loop)
{
	return loop->wg_os;
}
