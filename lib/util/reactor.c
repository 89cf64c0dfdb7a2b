/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor.h"

struct io_ent {
	reactor_io_fn fn;
	void *ud;
	int events;
	int used;
};

struct reactor {
	struct io_ent *io;   /* indexed by fd: fds are small dense integers */
	size_t io_cap;
	size_t io_count;
	struct rtimer **heap;
	size_t heap_len, heap_cap;
	struct reactor_hooks hooks;
	int64_t last_deadline;
};

struct reactor *reactor_new(void)
{
	struct reactor *r = calloc(1, sizeof(*r));

	if (r)
		r->last_deadline = -1;
	return r;
}

size_t reactor_free(struct reactor *r)
{
	size_t left;

	if (!r)
		return 0;
	left = r->io_count + r->heap_len;
	for (size_t i = 0; i < r->heap_len; i++)
		r->heap[i]->idx = (size_t)-1;
	free(r->io);
	free(r->heap);
	free(r);
	return left;
}

void reactor_set_hooks(struct reactor *r, const struct reactor_hooks *h)
{
	if (h)
		r->hooks = *h;
	else
		memset(&r->hooks, 0, sizeof(r->hooks));
}

static void notify_watch(struct reactor *r, int fd, int events)
{
	if (r->hooks.watch)
		r->hooks.watch(r->hooks.ud, fd, events);
}

static void notify_deadline(struct reactor *r)
{
	int64_t d = reactor_next_deadline(r);

	if (d != r->last_deadline) {
		r->last_deadline = d;
		if (r->hooks.deadline)
			r->hooks.deadline(r->hooks.ud, d);
	}
}

int reactor_io_set(struct reactor *r, int fd, int events, reactor_io_fn fn, void *ud)
{
	struct io_ent *e;
	int old;

	if (fd < 0)
		return -EINVAL;
	if ((size_t)fd >= r->io_cap) {
		size_t ncap = r->io_cap ? r->io_cap : 16;
		struct io_ent *n;

		while (ncap <= (size_t)fd)
			ncap *= 2;
		n = realloc(r->io, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memset(n + r->io_cap, 0, (ncap - r->io_cap) * sizeof(*n));
		r->io = n;
		r->io_cap = ncap;
	}
	e = &r->io[fd];
	old = e->used ? e->events : 0;
	if (!e->used)
		r->io_count++;
	e->used = 1;
	e->fn = fn;
	e->ud = ud;
	e->events = events & (W2W_IO_READ | W2W_IO_WRITE);
	if (e->events != old)
		notify_watch(r, fd, e->events);
	return 0;
}

int reactor_io_events(struct reactor *r, int fd, int events)
{
	struct io_ent *e;

	if (fd < 0 || (size_t)fd >= r->io_cap || !r->io[fd].used)
		return -ENOENT;
	e = &r->io[fd];
	events &= W2W_IO_READ | W2W_IO_WRITE;
	if (e->events != events) {
		e->events = events;
		notify_watch(r, fd, events);
	}
	return 0;
}

void reactor_io_del(struct reactor *r, int fd)
{
	struct io_ent *e;

	if (fd < 0 || (size_t)fd >= r->io_cap || !r->io[fd].used)
		return;
	e = &r->io[fd];
	if (e->events)
		notify_watch(r, fd, 0);
	memset(e, 0, sizeof(*e));
	r->io_count--;
}

void rtimer_init(struct rtimer *t, reactor_timer_fn fn, void *ud)
{
	t->when = 0;
	t->fn = fn;
	t->ud = ud;
	t->idx = (size_t)-1;
}

static void heap_swap(struct reactor *r, size_t a, size_t b)
{
	struct rtimer *t = r->heap[a];

	r->heap[a] = r->heap[b];
	r->heap[b] = t;
	r->heap[a]->idx = a;
	r->heap[b]->idx = b;
}

static void heap_up(struct reactor *r, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (r->heap[p]->when <= r->heap[i]->when)
			break;
		heap_swap(r, p, i);
		i = p;
	}
}

static void heap_down(struct reactor *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->heap_len && r->heap[l]->when < r->heap[m]->when)
			m = l;
		if (l + 1 < r->heap_len && r->heap[l + 1]->when < r->heap[m]->when)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(r, i, m);
		i = m;
	}
}

static void heap_remove(struct reactor *r, struct rtimer *t)
{
	size_t i = t->idx, last = r->heap_len - 1;

	if (i != last) {
		heap_swap(r, i, last);
		r->heap_len--;
		heap_down(r, i);
		heap_up(r, i);
	} else {
		r->heap_len--;
	}
	t->idx = (size_t)-1;
}

int reactor_timer_arm(struct reactor *r, struct rtimer *t, uint64_t when_us)
{
	if (rtimer_armed(t)) {
		t->when = when_us;
		heap_down(r, t->idx);
		heap_up(r, t->idx);
		notify_deadline(r);
		return 0;
	}
	if (r->heap_len == r->heap_cap) {
		size_t ncap = r->heap_cap ? r->heap_cap * 2 : 16;
		struct rtimer **n = realloc(r->heap, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->heap = n;
		r->heap_cap = ncap;
	}
	t->when = when_us;
	t->idx = r->heap_len;
	r->heap[r->heap_len++] = t;
	heap_up(r, t->idx);
	notify_deadline(r);
	return 0;
}

void reactor_timer_disarm(struct reactor *r, struct rtimer *t)
{
	if (!rtimer_armed(t))
		return;
	heap_remove(r, t);
	notify_deadline(r);
}

int64_t reactor_next_deadline(const struct reactor *r)
{
	return r->heap_len ? (int64_t)r->heap[0]->when : -1;
}

size_t reactor_watches(const struct reactor *r, struct w2w_watch *out, size_t cap)
{
	size_t n = 0;

	for (size_t fd = 0; fd < r->io_cap; fd++) {
		if (!r->io[fd].used || !r->io[fd].events)
			continue;
		if (n < cap) {
			out[n].fd = (int)fd;
			out[n].events = r->io[fd].events;
		}
		n++;
	}
	return n;
}

void reactor_dispatch_io(struct reactor *r, int fd, int revents, uint64_t now_us)
{
	struct io_ent *e;

	if (fd < 0 || (size_t)fd >= r->io_cap || !r->io[fd].used)
		return;
	e = &r->io[fd];
	/* Errors and hangups are always delivered: the owner must learn of them. */
	revents &= e->events | W2W_IO_ERROR;
	if (revents && e->fn)
		e->fn(e->ud, fd, revents, now_us);
}

void reactor_run_timers(struct reactor *r, uint64_t now_us)
{
	/* Bounded: a timer re-armed for a time <= now inside its callback would
	 * otherwise spin forever; it runs on the next call instead. */
	size_t budget = r->heap_len;

	while (budget-- > 0 && r->heap_len && r->heap[0]->when <= now_us) {
		struct rtimer *t = r->heap[0];

		heap_remove(r, t);
		if (t->fn)
			t->fn(t->ud, now_us);
	}
	/* Always tell the host, even when the earliest deadline did not change:
	 * its timer is one-shot (libuv, asyncio call_at) and may have fired a
	 * little before the deadline on our microsecond clock (millisecond
	 * rounding), in which case nothing ran and the same deadline must be
	 * armed again — otherwise every timer would stall. */
	r->last_deadline = -2;
	notify_deadline(r);
}
