/* SPDX-License-Identifier: MIT */
/* The reactor and the public loop contract: push hooks, pull watches, timers, run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop_internal.h"
#include "reactor.h"
#include "w2wesher/loop.h"

static int fired[8];
static void tfn(void *ud, uint64_t now)
{
	(void)now;
	fired[(intptr_t)ud]++;
}

static void test_timer_heap_order(void **state)
{
	struct reactor *r = reactor_new();
	struct rtimer t[5];
	uint64_t when[5] = {50, 10, 40, 20, 30};

	(void)state;
	memset(fired, 0, sizeof(fired));
	for (int i = 0; i < 5; i++) {
		rtimer_init(&t[i], tfn, (void *)(intptr_t)i);
		assert_int_equal(reactor_timer_arm(r, &t[i], when[i]), 0);
	}
	assert_int_equal(reactor_next_deadline(r), 10);
	reactor_timer_disarm(r, &t[3]);
	assert_int_equal(reactor_next_deadline(r), 10);
	reactor_run_timers(r, 35);
	assert_int_equal(fired[1], 1);
	assert_int_equal(fired[4], 1);
	assert_int_equal(fired[3], 0);
	assert_int_equal(fired[0] + fired[2], 0);
	assert_int_equal(reactor_next_deadline(r), 40);
	reactor_timer_arm(r, &t[0], 5); /* re-arm earlier */
	assert_int_equal(reactor_next_deadline(r), 5);
	reactor_run_timers(r, 100);
	assert_int_equal(fired[0], 1);
	assert_int_equal(fired[2], 1);
	assert_int_equal(reactor_next_deadline(r), -1);
	assert_int_equal(reactor_free(r), 0);
}

struct hookrec {
	int fd, events, calls;
	int64_t deadline;
};
static void hw(void *ud, int fd, int ev)
{
	struct hookrec *h = ud;
	h->fd = fd;
	h->events = ev;
	h->calls++;
}
static void hd(void *ud, int64_t when)
{
	((struct hookrec *)ud)->deadline = when;
}

static int reads;
static void on_io(void *ud, int fd, int rev, uint64_t now)
{
	char b[16];
	(void)ud;
	(void)now;
	if (rev & W2W_IO_READ) {
		assert_true(read(fd, b, sizeof(b)) > 0);
		reads++;
		w2w_loop_break(ud);
	}
}

static void test_loop_push_and_run(void **state)
{
	struct hookrec h = {0, 0, 0, -2};
	struct w2w_loop_ops ops = {W2W_LOOP_OPS_VERSION, &h, hw, hd, NULL};
	struct w2w_loop_ops bad = {W2W_LOOP_OPS_VERSION + 1, NULL, NULL, NULL, NULL};
	struct w2w_loop_ops zero = {0, NULL, NULL, NULL, NULL};
	struct w2w_loop *l = NULL;
	struct w2w_watch w[4];
	struct rtimer t;
	int p[2];

	(void)state;
	/* a newer ops version than ours, or none, is refused; *ret stays untouched */
	assert_int_equal(w2w_loop_new(&l, &bad), -EINVAL);
	assert_int_equal(w2w_loop_new(&l, &zero), -EINVAL);
	assert_null(l);
	assert_int_equal(w2w_loop_new(NULL, &ops), -EINVAL);
	assert_int_equal(w2w_loop_new(&l, &ops), 0);
	assert_non_null(l);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ, on_io, l), 0);
	assert_int_equal(h.fd, p[0]);
	assert_int_equal(h.events, W2W_IO_READ);
	assert_int_equal(w2w_loop_get_watches(l, w, 4), 1);
	assert_int_equal(w[0].fd, p[0]);
	/* same interest again: no hook call */
	reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ, on_io, l);
	assert_int_equal(h.calls, 1);

	rtimer_init(&t, tfn, (void *)(intptr_t)7);
	reactor_timer_arm(loop_reactor(l), &t, w2w_now_us() + 20000);
	assert_true(h.deadline > 0);
	assert_true(w2w_loop_timeout(l) > 0 && w2w_loop_timeout(l) <= 20);

	/* timeout path: the timer fires inside run, nothing readable */
	fired[7] = 0;
	assert_int_equal(w2w_loop_run(l, 60), 0);
	assert_int_equal(fired[7], 1);
	assert_int_equal(h.deadline, -1);

	/* readable path: the callback breaks the loop */
	reads = 0;
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(w2w_loop_run(l, 5000), 1);
	assert_int_equal(reads, 1);

	reactor_io_del(loop_reactor(l), p[0]);
	assert_int_equal(h.events, 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(w2w_loop_get_watches(l, w, 4), 0);
	assert_null(w2w_loop_free(l));
}

/* The ops run inside the re-entrancy guard: a host that calls back into the
 * loop from its watch op gets -EBUSY instead of a nested dispatch. */
static int op_rc[2];
static struct w2w_loop *op_loop;
static void hw_reenter(void *ud, int fd, int ev)
{
	(void)ud;
	(void)fd;
	(void)ev;
	op_rc[0] = w2w_loop_process(op_loop, NULL, 0);
	op_rc[1] = w2w_loop_run(op_loop, 0);
}

static void test_ops_guarded(void **state)
{
	struct w2w_loop_ops ops = {W2W_LOOP_OPS_VERSION, NULL, hw_reenter, NULL, NULL};
	int p[2];

	(void)state;
	assert_int_equal(w2w_loop_new(&op_loop, &ops), 0);
	assert_int_equal(pipe(p), 0);
	op_rc[0] = op_rc[1] = 1;
	assert_int_equal(reactor_io_set(loop_reactor(op_loop), p[0], W2W_IO_READ, on_io, op_loop), 0);
	assert_int_equal(op_rc[0], -EBUSY);
	assert_int_equal(op_rc[1], -EBUSY);
	/* outside the op the loop is usable again */
	assert_int_equal(w2w_loop_process(op_loop, NULL, 0), 0);
	reactor_io_del(loop_reactor(op_loop), p[0]);
	close(p[0]);
	close(p[1]);
	op_loop = w2w_loop_free(op_loop);
}

/* A one-shot host timer that fires a little before the deadline (millisecond
 * rounding) must be re-armed for the same deadline, or every timer stalls. */
static void test_early_fire_rearms(void **state)
{
	struct hookrec h = {0, 0, 0, -2};
	struct reactor_hooks hooks = {hw, hd, &h};
	struct reactor *r = reactor_new();
	struct rtimer t;

	(void)state;
	reactor_set_hooks(r, &hooks);
	rtimer_init(&t, tfn, (void *)(intptr_t)6);
	reactor_timer_arm(r, &t, 5000);
	assert_int_equal(h.deadline, 5000);
	h.deadline = -2; /* the host consumed its one-shot timer */
	reactor_run_timers(r, 4600); /* fired 0.4 ms early: nothing due */
	assert_int_equal(h.deadline, 5000);
	reactor_run_timers(r, 5000);
	assert_int_equal(h.deadline, -1);
	assert_int_equal(reactor_free(r), 0);
}

/* ---- per-fd host pointers (w2w_loop_assign, ops version 2) ---- */

struct fdrec {
	int calls, fd, events;
	void *fd_ud;
};
static void hw_fd(void *ud, int fd, int ev, void *fd_ud)
{
	struct fdrec *r = ud;

	r->calls++;
	r->fd = fd;
	r->events = ev;
	r->fd_ud = fd_ud;
}
static int v1_watch_calls;
static void hw_v1(void *ud, int fd, int ev)
{
	(void)ud;
	(void)fd;
	(void)ev;
	v1_watch_calls++;
}
static void no_io(void *ud, int fd, int rev, uint64_t now)
{
	(void)ud;
	(void)fd;
	(void)rev;
	(void)now;
}

static void test_assign(void **state)
{
	struct fdrec rec = {0};
	struct w2w_loop_ops ops = {.version = 2, .ud = &rec, .watch_fd = hw_fd};
	struct w2w_loop_ops v1 = {.version = 1, .watch = hw_v1,
				  /* beyond a version-1 struct: must never be read */
				  .watch_fd = (void (*)(void *, int, int, void *))(uintptr_t)1};
	struct w2w_loop *l;
	int p[2], mine = 42;

	(void)state;
	assert_int_equal(W2W_LOOP_OPS_VERSION, 2);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(w2w_loop_new(&l, &ops), 0);
	assert_int_equal(w2w_loop_assign(l, p[0], &mine), -ENOENT); /* not watched */
	assert_int_equal(w2w_loop_assign(l, -1, &mine), -EINVAL);
	assert_int_equal(reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ, no_io, NULL), 0);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.fd, p[0]);
	assert_null(rec.fd_ud); /* nothing assigned yet */
	assert_int_equal(w2w_loop_assign(l, p[0], &mine), 0);
	assert_int_equal(reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ | W2W_IO_WRITE, no_io, NULL), 0);
	assert_int_equal(rec.calls, 2);
	assert_ptr_equal(rec.fd_ud, &mine);
	assert_int_equal(rec.events, W2W_IO_READ | W2W_IO_WRITE);
	reactor_io_del(loop_reactor(l), p[0]);
	assert_int_equal(rec.calls, 3);
	assert_int_equal(rec.events, 0);
	assert_ptr_equal(rec.fd_ud, &mine); /* the stop call still carries it */
	assert_int_equal(w2w_loop_assign(l, p[0], &mine), -ENOENT);
	/* the same fd number watched again is a new socket: NULL */
	assert_int_equal(reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ, no_io, NULL), 0);
	assert_null(rec.fd_ud);
	/* a high fd number grows the table */
	assert_int_equal(dup2(p[1], 700), 700);
	assert_int_equal(reactor_io_set(loop_reactor(l), 700, W2W_IO_READ, no_io, NULL), 0);
	assert_int_equal(w2w_loop_assign(l, 700, &rec), 0);
	reactor_io_del(loop_reactor(l), 700);
	assert_ptr_equal(rec.fd_ud, &rec);
	reactor_io_del(loop_reactor(l), p[0]);
	assert_null(w2w_loop_free(l));
	close(700);

	/* a version-1 host: its struct ends before watch_fd, so watch is called */
	assert_int_equal(w2w_loop_new(&l, &v1), 0);
	assert_int_equal(reactor_io_set(loop_reactor(l), p[0], W2W_IO_READ, no_io, NULL), 0);
	assert_int_equal(v1_watch_calls, 1);
	assert_int_equal(w2w_loop_assign(l, p[0], &mine), 0); /* harmless without watch_fd */
	reactor_io_del(loop_reactor(l), p[0]);
	assert_int_equal(v1_watch_calls, 2);
	assert_null(w2w_loop_free(l));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_heap_order),
		cmocka_unit_test(test_loop_push_and_run),
		cmocka_unit_test(test_early_fire_rearms),
		cmocka_unit_test(test_ops_guarded),
		cmocka_unit_test(test_assign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
