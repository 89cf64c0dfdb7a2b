/* SPDX-License-Identifier: MIT */
/*
 * Synchronous wrappers over the asynchronous kernel WireGuard backend and
 * rtnetlink (wgbackend.h, rtnl.h) for the programs that run inside the VM
 * (tests/vm/test_kernel_wg.c, tests/bench/bench_wg_kernel.c): start an
 * operation, then drive the reactor until its callback ran or the timeout
 * passed.
 */
#ifndef W2W_TESTS_KSYNC_H
#define W2W_TESTS_KSYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "reactor.h"
#include "rtnl.h"
#include "wgbackend.h"
#include "wgdev.h"

/* What a callback reported. */
struct ksync_res {
	bool done;
	int err;
	struct wgdevice *dev;   /* ksync_get_cb: the caller frees it */
	struct rtnl_link link;  /* ksync_link_cb */
	struct rtnl_addr *addrs; /* ksync_list_cb: malloc'ed, the caller frees it */
	size_t naddrs;
};

/* The reactor every wait below drives. */
void ksync_init(struct reactor *r);
/* Drives the reactor until *flag is set (true) or timeout_ms passes (false). */
bool ksync_run_until(const bool *flag, int timeout_ms);

/* Callbacks filling a struct ksync_res (ud). */
void ksync_get_cb(void *ud, int err, struct wgdevice *dev);
void ksync_done_cb(void *ud, int err);
void ksync_link_cb(void *ud, int err, const struct rtnl_link *l);
void ksync_list_cb(void *ud, int err, const struct rtnl_addr *a, size_t n);

/* ret: what starting the operation returned. Its error, or the callback's
 * error, or -ETIMEDOUT. */
int ksync_wait(struct ksync_res *res, int ret, int timeout_ms);

/* The device (NULL on error, *err set), a set, a link created or adopted. */
struct wgdevice *ksync_get_dev(struct wgbackend *be, const char *ifname, int timeout_ms, int *err);
int ksync_set_dev(struct wgbackend *be, const struct wgdevice *dev, int timeout_ms);
int ksync_link_ensure(struct rtnl *rt, const char *name, const char *kind, struct rtnl_link *out);

#endif
