/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard backend over generic netlink (see wg_kernel.h).
 *
 * The genetlink family id is resolved asynchronously: the constructor only
 * queues CTRL_CMD_GETFAMILY, and operations wait in the queue until the
 * answer arrives. A kernel without WireGuard fails every operation with
 * -EPROTONOSUPPORT; the engine (core/wgsync.c) then falls back to userspace
 * under Backend = auto. The library never blocks.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include "err.h"
#include "osclock.h"
#include "rtnl.h"
#include "wg_kernel.h"

enum op_kind { OP_GET, OP_SET, OP_LIST, OP_CREATE };

struct wgk_op {
	struct wgk_op *next;
	enum op_kind kind;
	void *ud;
	wgbackend_get_cb get_cb;
	wgbackend_set_cb set_cb;
	wgbackend_list_cb list_cb;
	char *names; /* LIST result */
	char ifname[IFNAMSIZ];
	uint64_t deadline;
	int err; /* set when the op cannot start: reported from the kick timer */
	/* GET */
	struct wgk_get_ctx ctx;
	/* SET */
	struct wgdevice *req;
	struct wgk_cursor cur;
	bool await_next; /* acknowledged; the next message goes out from the kick timer */
};

struct wgk {
	struct wgbackend base; /* first: the backend header */
	struct nl_sock *nl;
	bool own_nl;
	uint16_t family;
	int fam_state; /* 1 resolved, 0 lookup pending, < 0 the lookup's error */
	bool fam_got;
	struct rtnl *rt;            /* opened on the first list_devices: links of kind wireguard */
	struct wgk_op *head, *tail; /* head is the running op */
	bool running;
	struct rtimer kick;
};

static const struct nl_req_ops get_nl_ops, set_nl_ops;

/* ---- the backend ---- */

static void refresh_stats(struct wgk *k)
{
	const struct nl_stats *s = nl_get_stats(k->nl);

	k->base.stats.msgs_sent = s->tx_msgs;
	k->base.stats.msgs_recv = s->rx_msgs;
	k->base.stats.bytes_sent = s->tx_bytes;
	k->base.stats.bytes_recv = s->rx_bytes;
}

static void op_free(struct wgk_op *op)
{
	if (!op)
		return;
	wgdev_free(op->ctx.dev);
	wgdev_free(op->req); /* wipes the keys */
	free(op->names);
	free(op);
}

static void kick_soon(struct wgk *k)
{
	if (!rtimer_armed(&k->kick))
		reactor_timer_arm(k->base.r, &k->kick, 0);
}

static int map_err(int err)
{
	if (err == W2W_EPARSE)
		return W2W_EPROTO;
	return err;
}

/* Pops the running op, arranges the next one, then reports. The callback
 * may free the backend: nothing touches k after it. */
static void op_finish(struct wgk *k, int err)
{
	struct wgk_op *op = k->head;
	struct wgdevice *dev = NULL;

	k->head = op->next;
	if (!k->head)
		k->tail = NULL;
	k->running = false;
	if (k->head)
		kick_soon(k);
	err = map_err(err);
	refresh_stats(k);
	if (err < 0)
		k->base.stats.ops_failed++;
	else
		k->base.stats.ops_done++;
	if (err == -ENODEV)
		log_debug(k->base.log, "wg-kernel: no WireGuard interface %s", op->ifname);
	else if (err < 0)
		log_warn(k->base.log, "wg-kernel: %s on %s failed: %s",
		         op->kind == OP_GET      ? "get"
		         : op->kind == OP_SET    ? "set"
		         : op->kind == OP_CREATE ? "create"
		                                 : "list",
		         op->ifname, err_str(err));
	if (op->kind == OP_GET) {
		wgbackend_get_cb cb = op->get_cb;
		void *ud = op->ud;

		if (err >= 0) {
			dev = op->ctx.dev;
			op->ctx.dev = NULL;
		}
		op_free(op);
		cb(ud, err, dev);
	} else if (op->kind == OP_LIST) {
		wgbackend_list_cb cb = op->list_cb;
		void *ud = op->ud;
		char *names = err >= 0 ? op->names : NULL;

		op->names = NULL;
		op_free(op);
		cb(ud, err, names);
	} else { /* OP_SET, OP_CREATE */
		wgbackend_set_cb cb = op->set_cb;
		void *ud = op->ud;

		op_free(op);
		cb(ud, err);
	}
}

static uint64_t op_timeout(const struct wgk_op *op)
{
	uint64_t now = os_now_us();

	return op->deadline > now ? op->deadline - now : 1;
}

static int set_send_next(struct wgk *k, struct wgk_op *op)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	int r = wgk_build_set(op->req, k->family, &op->cur, buf, sizeof(buf), &nlh);

	if (r == 1) {
		r = nl_submit(k->nl, nlh, &set_nl_ops, k, op_timeout(op), NULL);
		if (r == 0)
			r = 1;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

static void list_links_cb(void *ud, int err, const struct rtnl_link *links, size_t n)
{
	struct wgk *k = ud;
	struct wgk_op *op = k->head;
	size_t len = 1;
	char *p;

	if (err < 0) {
		op_finish(k, err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		len += strlen(links[i].name) + 1;
	op->names = p = malloc(len);
	if (!p) {
		op_finish(k, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(links[i].name) + 1;

		memcpy(p, links[i].name, l);
		p += l;
	}
	*p = '\0';
	op_finish(k, 0);
}

static void created_cb(void *ud, int err, const struct rtnl_link *link)
{
	(void)link;
	op_finish(ud, err);
}

static void start_op(struct wgk *k)
{
	struct wgk_op *op = k->head;
	int r;

	if (!op || k->running || k->fam_state == 0)
		return; /* the family lookup's answer kicks again */
	k->running = true;
	/* The deadline runs from the start, not from the enqueue: an op queued
	 * behind a long set must not expire while it waits. */
	op->deadline = os_now_us() + WGBACKEND_TIMEOUT_US;
	if (op->err || k->fam_state < 0) {
		op_finish(k, op->err ? op->err : k->fam_state);
		return;
	}
	if (op->kind == OP_LIST || op->kind == OP_CREATE) {
		r = 0;
		if (!k->rt)
			r = rtnl_new(k->base.r, k->base.log, &k->rt);
		if (r == 0 && op->kind == OP_CREATE)
			/* RTM_NEWLINK kind "wireguard" (adopted when it exists), up */
			r = rtnl_link_ensure(k->rt, op->ifname, "wireguard", 0, created_cb, k);
		else if (r == 0)
			r = rtnl_link_list(k->rt, "wireguard", list_links_cb, k);
	} else if (op->kind == OP_GET) {
		uint8_t buf[NL_MSG_BUF];
		struct nlmsghdr *nlh = wgk_build_get(buf, k->family, op->ifname);

		op->ctx.dev = wgdev_new();
		if (!op->ctx.dev) {
			op_finish(k, -ENOMEM);
			return;
		}
		r = nl_submit(k->nl, nlh, &get_nl_ops, k, op_timeout(op), NULL);
	} else {
		r = set_send_next(k, op);
		if (r == 0)
			r = -EINVAL; /* the first message always exists */
	}
	if (r < 0)
		op_finish(k, r);
}

static void on_kick(void *ud, uint64_t now_us)
{
	struct wgk *k = ud;
	struct wgk_op *op = k->head;

	(void)now_us;
	if (k->running && op && op->kind == OP_SET && op->await_next) {
		int r;

		op->await_next = false;
		r = set_send_next(k, op);
		if (r <= 0)
			op_finish(k, r);
		return;
	}
	start_op(k);
}

static int get_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct wgk *k = ud;

	return wgk_parse_get(nlh, k->family, &k->head->ctx);
}

static void get_restart(void *ud)
{
	struct wgk *k = ud;
	struct wgk_op *op = k->head;

	/* The device changed during the dump: start from an empty one. */
	wgdev_free(op->ctx.dev);
	op->ctx.dev = wgdev_new();
	op->ctx.npeers = op->ctx.naips = 0;
	if (!op->ctx.dev) {
		/* Fail the op at once; the engine's request is cancelled. */
		nl_cancel(k->nl, k);
		op_finish(k, -ENOMEM);
	}
}

static void get_done(void *ud, int err)
{
	struct wgk *k = ud;

	if (err == 0 && k->head->ctx.dev->name[0] == '\0')
		err = W2W_EPROTO; /* a dump without the device */
	if (err == 0)
		err = wgk_get_finish(&k->head->ctx);
	op_finish(k, err);
}

static void set_done(void *ud, int err)
{
	struct wgk *k = ud;

	if (err < 0) {
		op_finish(k, err);
		return;
	}
	/* Each acknowledged message is progress: the deadline bounds one round
	 * trip, so a 10k-peer set (~250 messages, seconds on a slow machine)
	 * cannot expire while the kernel keeps answering. */
	k->head->deadline = os_now_us() + WGBACKEND_TIMEOUT_US;
	/* The next message goes out from the loop, not from here: the kernel
	 * answers a SET inside sendto(), so chaining here would run a whole
	 * 250-message update inside one I/O callback and starve the host's other
	 * fds for as long (seconds on a slow machine). */
	k->head->await_next = true;
	kick_soon(k);
}

static const struct nl_req_ops get_nl_ops = {
    .msg = get_msg,
    .restart = get_restart,
    .done = get_done,
};

static const struct nl_req_ops set_nl_ops = {
    .done = set_done,
};

static int enqueue(struct wgk *k, struct wgk_op *op)
{
	if (k->tail)
		k->tail->next = op;
	else
		k->head = op;
	k->tail = op;
	kick_soon(k);
	return 0;
}

/* A queued operation on ifname ("*": all); NULL on allocation failure. */
static struct wgk_op *op_new(enum op_kind kind, const char *ifname, void *ud)
{
	struct wgk_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	op->ud = ud;
	snprintf(op->ifname, sizeof(op->ifname), "%s", ifname);
	return op;
}

static int wgk_get_device(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb, void *ud)
{
	struct wgk_op *op;

	if (!cb || !wgk_name_ok(ifname))
		return -EINVAL;
	op = op_new(OP_GET, ifname, ud);
	if (!op)
		return -ENOMEM;
	op->get_cb = cb;
	return enqueue((struct wgk *)be, op);
}

static int wgk_set_device(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb, void *ud)
{
	struct wgk_op *op;
	int r;

	if (!cb)
		return -EINVAL;
	r = wgk_check_set(dev);
	if (r < 0)
		return r;
	op = op_new(OP_SET, dev->name, ud);
	if (!op)
		return -ENOMEM;
	op->req = wgdev_copy(dev);
	if (!op->req) {
		free(op);
		return -ENOMEM;
	}
	op->set_cb = cb;
	return enqueue((struct wgk *)be, op);
}

static int wgk_list_devices(struct wgbackend *be, wgbackend_list_cb cb, void *ud)
{
	struct wgk_op *op;

	if (!cb)
		return -EINVAL;
	op = op_new(OP_LIST, "*", ud);
	if (!op)
		return -ENOMEM;
	op->list_cb = cb;
	return enqueue((struct wgk *)be, op);
}

static int wgk_create(struct wgbackend *be, const char *ifname, wgbackend_set_cb cb, void *ud)
{
	struct wgk_op *op;

	if (!cb || !wgk_name_ok(ifname))
		return -EINVAL;
	op = op_new(OP_CREATE, ifname, ud);
	if (!op)
		return -ENOMEM;
	op->set_cb = cb;
	return enqueue((struct wgk *)be, op);
}

static void wgk_free(struct wgbackend *be)
{
	struct wgk *k = (struct wgk *)be;

	if (!k)
		return;
	rtnl_free(k->rt);
	nl_cancel(k->nl, k);
	reactor_timer_disarm(k->base.r, &k->kick);
	while (k->head) {
		struct wgk_op *op = k->head;

		k->head = op->next;
		op_free(op);
	}
	if (k->own_nl)
		nl_close(k->nl);
	free(k);
}

static const struct wgbackend_ops wgk_ops = {
    .name = "kernel",
    .get_device = wgk_get_device,
    .set_device = wgk_set_device,
    .list_devices = wgk_list_devices,
    .create_device = wgk_create,
    .free = wgk_free,
};

int wg_kernel_new_on(struct nl_sock *nl, uint16_t family, struct wgbackend **out)
{
	struct wgk *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->base.ops = &wgk_ops;
	k->base.r = nl_reactor(nl);
	k->base.log = nl_log(nl);
	k->base.child_pid = -1;
	k->nl = nl;
	k->family = family;
	k->fam_state = 1;
	rtimer_init(&k->kick, on_kick, k);
	*out = &k->base;
	return 0;
}

static int family_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct wgk *k = ud;

	if (nl_genl_family_parse(nlh, &k->family) < 0)
		return W2W_EPARSE;
	k->fam_got = true;
	return 0;
}

static void family_done(void *ud, int err)
{
	struct wgk *k = ud;

	if (!err && !k->fam_got)
		err = W2W_EPROTO;
	if (err == -ENOENT) {
		log_warn(k->base.log,
		         "wg-kernel: the kernel has no WireGuard (generic netlink family \"%s\" not found): "
		         "the wireguard kernel module is missing or not loaded (try `modprobe wireguard`)",
		         WG_GENL_NAME);
		err = -EPROTONOSUPPORT;
	} else if (err < 0) {
		log_err(k->base.log, "wg-kernel: resolving the WireGuard family failed: %s", err_str(err));
	}
	k->fam_state = err < 0 ? err : 1;
	kick_soon(k); /* queued operations go, or fail with the lookup's error */
}

static const struct nl_req_ops family_ops = {
    .msg = family_msg,
    .done = family_done,
};

int wg_kernel_new(struct reactor *r, const struct wlog *log, struct wgbackend **out)
{
	uint8_t buf[NL_MSG_BUF];
	struct wgbackend *be = NULL;
	struct nl_sock *nl;
	struct wgk *k;
	int ret;

	ret = nl_open(r, log, NETLINK_GENERIC, &nl);
	if (ret < 0) {
		log_err(log, "wg-kernel: cannot open a generic netlink socket: %s", err_str(ret));
		return ret;
	}
	ret = wg_kernel_new_on(nl, 0, &be);
	if (ret < 0) {
		nl_close(nl);
		return ret;
	}
	k = (struct wgk *)be;
	k->own_nl = true;
	k->fam_state = 0;
	ret = nl_submit(nl, nl_genl_family_msg(buf, WG_GENL_NAME), &family_ops, k, 0, NULL);
	if (ret < 0) {
		wgk_free(be);
		return ret;
	}
	*out = be;
	return 0;
}

struct nl_sock *wg_kernel_engine(struct wgbackend *be)
{
	return ((struct wgk *)be)->nl;
}
