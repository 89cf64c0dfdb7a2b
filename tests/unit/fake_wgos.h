/* SPDX-License-Identifier: MIT */
/*
 * An in-memory OS under the WireGuard engine (core/wgsync.h's struct
 * wgsync_os): fake kernel and userspace backends over one device store, and
 * a fake rtnetlink (links with MTU and up state, addresses). No root, no
 * sockets; every operation completes from a reactor timer, never from inside
 * the call, like the real ones (wgbackend.h, rtnl.h).
 *
 * Selecting it:
 *  - an engine:        struct wgsync_config c = {..., .os = &f.os};
 *  - a whole w2w_node
 *    or w2w_wg handle:  loop_set_wg_os(loop, &f.os) before w2w_node_start()
 *                       or w2w_wg_new() (loop_internal.h).
 *
 * Failure injection: fail_op names the next operation to fail ("get", "set",
 * "create", "link_get", "link_set", "link_del", "addr_list", "addr_add",
 * "addr_del"); it fails once with fail_err, then fail_op is cleared.
 */
#ifndef W2W_TESTS_FAKE_WGOS_H
#define W2W_TESTS_FAKE_WGOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wgsync.h"

#define FAKE_WGOS_LINKS 8
#define FAKE_WGOS_ADDRS 16

struct fake_wgos_link {
	bool used;
	char name[16];
	uint32_t ifindex;
	unsigned mtu;
	bool up;
	struct wgdevice *dev; /* the WireGuard device on the link */
	struct rtnl_addr addrs[FAKE_WGOS_ADDRS];
	size_t naddrs;
};

struct fake_wgos {
	struct wgsync_os os; /* what the engine is given */
	struct reactor *r;
	struct fake_wgos_link links[FAKE_WGOS_LINKS];
	uint32_t next_ifindex;
	bool kernel_missing;    /* the kernel backend fails every operation with -EPROTONOSUPPORT */
	bool userspace_running; /* backend auto: "a UAPI socket exists" */
	uint64_t wall_ms;
	const char *fail_op;
	int fail_err;
	/* what happened */
	unsigned gets, sets, creates, forgets, link_sets, link_dels, addr_adds, addr_dels;
	unsigned pending; /* operations queued, not completed */
};

/* r: the reactor of the loop the engine runs on. */
void fake_wgos_init(struct fake_wgos *f, struct reactor *r);
/* Frees the devices. Every backend and link handle must be gone. */
void fake_wgos_clear(struct fake_wgos *f);
/* The link called name, or NULL. */
struct fake_wgos_link *fake_wgos_link(struct fake_wgos *f, const char *name);
/* Adds a link with an empty device (an interface that existed before). */
struct fake_wgos_link *fake_wgos_add_link(struct fake_wgos *f, const char *name);

#endif
