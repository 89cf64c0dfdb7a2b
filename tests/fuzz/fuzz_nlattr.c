/* SPDX-License-Identifier: MIT */
/*
 * Netlink replies from the kernel (os/nl.h, os/wg_kernel.h, os/rtnl.h): the
 * input is a datagram of netlink messages.
 *  1. every message goes through each parser (WireGuard GET_DEVICE part with
 *     its own type as the family id, RTM_NEWLINK, RTM_NEWADDR, genl family);
 *  2. invariant: when all parts parse, the device rebuilt as SET_DEVICE
 *     messages (split at 4 KiB) parses back to the same configuration;
 *  3. the datagram is fed to the engine as the reply to a pending
 *     GET_DEVICE of the kernel backend (sequence numbers rewritten to match).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/wireguard.h>

#include "nl.h"
#include "osclock.h"
#include "rtnl.h"
#include "wg_kernel.h"
#include "wgdev.h"

#define FAM 0x1d

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t sent_seq;

static int fake_tx(void *ud, const struct nlmsghdr *nlh)
{
	(void)ud;
	sent_seq = nlh->nlmsg_seq;
	return 0;
}

static void get_cb(void *ud, int err, struct wgdevice *dev)
{
	*(int *)ud = 1;
	if ((err == 0) != (dev != NULL))
		abort();
	wgdev_free(dev);
}

static void roundtrip(const struct wgdevice *dev)
{
	struct wgdevice *copy = wgdev_copy(dev), *back = wgdev_new();
	struct wgk_get_ctx ctx = {.dev = back};
	struct wgk_cursor cur = {0};
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	int r;

	if (!copy || !back)
		abort();
	wgdev_set_name(copy, "fz0"); /* names are not part of the configuration */
	if (wgk_check_set(copy) < 0)
		abort(); /* whatever the parser accepts must be sendable */
	while ((r = wgk_build_set(copy, FAM, &cur, buf, sizeof(buf), &nlh)) == 1) {
		if (nlh->nlmsg_len > sizeof(buf) || wgk_parse_get(nlh, FAM, &ctx) < 0)
			abort();
	}
	if (r < 0 || wgdev_config_equal(copy, back) != 1)
		abort();
	wgdev_free(copy);
	wgdev_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	const struct nlmsghdr *nlh;
	struct wgk_get_ctx ctx = {.dev = wgdev_new()};
	int left = size > 1 << 20 ? 1 << 20 : (int)size, ok = 1, nmsg = 0;

	if (!buf || !ctx.dev)
		abort();
	memcpy(buf, data, size);
	nlh = (const struct nlmsghdr *)buf;
	while (nl_msg_ok(nlh, left)) {
		struct rtnl_link l;
		struct rtnl_addr a;
		uint16_t id;

		if (wgk_parse_get(nlh, nlh->nlmsg_type, &ctx) < 0)
			ok = 0;
		rtnl_parse_link(nlh, &l);
		rtnl_parse_addr(nlh, &a);
		nl_genl_family_parse(nlh, &id);
		nmsg++;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	if (ok && nmsg && wgk_get_finish(&ctx) == 0)
		roundtrip(ctx.dev);
	wgdev_free(ctx.dev);

	/* The engine and the backend on the same bytes. */
	{
		struct reactor *r = reactor_new();
		struct nl_sock *nl;
		struct wgbackend *be;
		int done = 0;

		if (!r || nl_open_fake(r, NULL, fake_tx, NULL, &nl) < 0 || wg_kernel_new_on(nl, FAM, &be) < 0)
			abort();
		if (wgbackend_get_device(be, "fz0", get_cb, &done) < 0)
			abort();
		reactor_run_timers(r, os_now_us()); /* starts the op */
		memcpy(buf, data, size);
		left = size > 1 << 20 ? 1 << 20 : (int)size;
		for (struct nlmsghdr *m = (struct nlmsghdr *)buf; nl_msg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left))
			m->nlmsg_seq = sent_seq;
		nl_feed(nl, buf, size, 0);
		if (!done) {
			/* end the dump if the input did not */
			struct nlmsghdr d = {.nlmsg_len = sizeof(d) + 4, .nlmsg_type = NLMSG_DONE};
			uint8_t db[sizeof(d) + 4] = {0};

			d.nlmsg_seq = sent_seq;
			memcpy(db, &d, sizeof(d));
			nl_feed(nl, db, sizeof(db), 0);
		}
		wgbackend_free(be);
		nl_close(nl);
		if (reactor_free(r) != 0)
			abort();
	}
	free(buf);
	return 0;
}
