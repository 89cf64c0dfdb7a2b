/* SPDX-License-Identifier: MIT */
/* Synchronous waits on the kernel backend and rtnetlink (ksync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ksync.h"
#include "osclock.h"

static struct reactor *R;

void ksync_init(struct reactor *r)
{
	R = r;
}

bool ksync_run_until(const bool *flag, int timeout_ms)
{
	uint64_t end = os_now_us() + (uint64_t)timeout_ms * 1000;

	while (!*flag) {
		struct w2w_watch w[16];
		int rev[16], t, r;
		size_t n = reactor_watches(R, w, 16);
		int64_t d = reactor_next_deadline(R);
		uint64_t now = os_now_us();

		if (now >= end)
			return false;
		t = (int)((end - now) / 1000) + 1;
		if (d >= 0 && (uint64_t)d <= now)
			t = 0;
		else if (d >= 0 && (int)(((uint64_t)d - now + 999) / 1000) < t)
			t = (int)(((uint64_t)d - now + 999) / 1000);
		if (n > 16)
			n = 16;
		r = os_poll(w, n, rev, t);
		now = os_now_us();
		for (size_t i = 0; r > 0 && i < n; i++)
			if (rev[i])
				reactor_dispatch_io(R, w[i].fd, rev[i], now);
		reactor_run_timers(R, os_now_us());
	}
	return true;
}

void ksync_get_cb(void *ud, int err, struct wgdevice *dev)
{
	struct ksync_res *r = ud;

	r->done = true;
	r->err = err;
	r->dev = dev;
}

void ksync_done_cb(void *ud, int err)
{
	struct ksync_res *r = ud;

	r->done = true;
	r->err = err;
}

void ksync_link_cb(void *ud, int err, const struct rtnl_link *l)
{
	struct ksync_res *r = ud;

	r->done = true;
	r->err = err;
	if (l)
		r->link = *l;
}

void ksync_list_cb(void *ud, int err, const struct rtnl_addr *a, size_t n)
{
	struct ksync_res *r = ud;

	r->done = true;
	r->err = err;
	r->naddrs = 0;
	if (n && (r->addrs = malloc(n * sizeof(*a)))) {
		memcpy(r->addrs, a, n * sizeof(*a));
		r->naddrs = n;
	} else if (n) {
		r->err = -ENOMEM;
	}
}

int ksync_wait(struct ksync_res *r, int ret, int timeout_ms)
{
	if (ret < 0)
		return ret;
	if (!ksync_run_until(&r->done, timeout_ms))
		return -ETIMEDOUT;
	return r->err;
}

struct wgdevice *ksync_get_dev(struct wgbackend *be, const char *ifname, int timeout_ms, int *err)
{
	struct ksync_res r = {0};

	*err = ksync_wait(&r, wgbackend_get_device(be, ifname, ksync_get_cb, &r), timeout_ms);
	if (*err < 0) {
		wgdev_free(r.dev);
		return NULL;
	}
	return r.dev;
}

int ksync_set_dev(struct wgbackend *be, const struct wgdevice *dev, int timeout_ms)
{
	struct ksync_res r = {0};

	return ksync_wait(&r, wgbackend_set_device(be, dev, ksync_done_cb, &r), timeout_ms);
}

int ksync_link_ensure(struct rtnl *rt, const char *name, const char *kind, struct rtnl_link *out)
{
	struct ksync_res r = {0};
	int e = ksync_wait(&r, rtnl_link_ensure(rt, name, kind, 0, ksync_link_cb, &r), 10000);

	if (e == 0 && out)
		*out = r.link;
	return e;
}
