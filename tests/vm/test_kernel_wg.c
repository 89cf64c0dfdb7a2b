/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard over genetlink + rtnetlink, against a real kernel (run
 * inside the VM by vmrun.py; exits 77 where the kernel has no WireGuard).
 *
 *   test_kernel_wg            the checks below, TAP-like output
 *   test_kernel_wg node-init IFACE ADDR4/P ADDR6/P PORT    (prints the public key, hex)
 *   test_kernel_wg node-peer IFACE PUBHEX ENDPOINT AIP[,AIP...]
 *   test_kernel_wg node-del  IFACE PUBHEX
 *   (helpers for netns-ping.sh: every device change goes through the library)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>

#include "nl.h"
#include "osclock.h"
#include "reactor.h"
#include "rtnl.h"
#include "wg_kernel.h"
#include "wgdev.h"

#include "ksync.h"
#include "testutil.h"

static struct reactor *R;
static int failures, checks;
static struct wlog LOG;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		checks++;                                                                                    \
		if (!(cond)) {                                                                               \
			failures++;                                                                          \
			printf("not ok %d - ", checks);                                                      \
			printf(__VA_ARGS__);                                                                 \
			printf("  (%s:%d)\n", __FILE__, __LINE__);                                           \
		} else {                                                                                     \
			printf("ok %d - ", checks);                                                          \
			printf(__VA_ARGS__);                                                                 \
			printf("\n");                                                                        \
		}                                                                                            \
		fflush(stdout);                                                                              \
	} while (0)

static void log_fn(void *ud, int level, const char *msg)
{
	(void)ud;
	fprintf(stderr, "  [log %d] %s\n", level, msg);
}

/* ---- synchronous wrappers over the async API ---- */

struct lres {
	bool done;
	int err;
	char *names;
};

static void list_devs_cb(void *ud, int err, char *names)
{
	struct lres *r = ud;

	r->done = true;
	r->err = err;
	r->names = names;
}

static int rt_done(struct rtnl *rt, int which, const struct rtnl_addr *a)
{
	struct ksync_res r = {0};
	int ret;

	switch (which) {
	case 0:
		ret = rtnl_addr_add(rt, a, ksync_done_cb, &r);
		break;
	case 1:
		ret = rtnl_addr_del(rt, a, ksync_done_cb, &r);
		break;
	case 2:
		ret = rtnl_route_add(rt, a, ksync_done_cb, &r);
		break;
	default:
		ret = rtnl_route_del(rt, a, ksync_done_cb, &r);
		break;
	}
	return ksync_wait(&r, ret, 10000);
}

static bool has_addr(struct rtnl *rt, uint32_t ifindex, const struct rtnl_addr *want)
{
	struct ksync_res r = {0};
	bool found = false;

	if (ksync_wait(&r, rtnl_addr_list(rt, ifindex, AF_UNSPEC, ksync_list_cb, &r), 10000) < 0)
		return false;
	for (size_t i = 0; i < r.naddrs; i++)
		if (r.addrs[i].family == want->family && r.addrs[i].prefixlen == want->prefixlen &&
		    !memcmp(r.addrs[i].addr, want->addr, want->family == AF_INET ? 4 : 16))
			found = true;
	free(r.addrs);
	return found;
}

/* ---- device construction ---- */

static void rand_key(uint8_t k[32], bool clamp)
{
	if (getrandom(k, 32, 0) != 32)
		abort();
	if (clamp) {
		k[0] &= 248;
		k[31] = (k[31] & 127) | 64;
	}
}

static void aip4(struct wgpeer *p, uint32_t host, uint8_t cidr)
{
	struct wgallowedip *a = wgpeer_add_allowedip(p);

	a->family = AF_INET;
	a->ip4.s_addr = htonl(host);
	a->cidr = cidr;
	wgallowedip_canon(a);
}

static void aip6(struct wgpeer *p, uint32_t tag, uint8_t cidr)
{
	struct wgallowedip *a = wgpeer_add_allowedip(p);

	a->family = AF_INET6;
	a->ip6.s6_addr[0] = 0xfd;
	a->ip6.s6_addr[1] = 0x42;
	memcpy(&a->ip6.s6_addr[12], &tag, 4);
	a->cidr = cidr;
	wgallowedip_canon(a);
}

static struct wgdevice *make_dev(const char *name, uint16_t port, size_t npeers, size_t big_aips)
{
	struct wgdevice *d = wgdev_new();

	wgdev_set_name(d, name);
	d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
	rand_key(d->private_key, true);
	d->listen_port = port;
	d->fwmark = 0x42;
	for (size_t i = 0; i < npeers; i++) {
		struct wgpeer *p = wgdev_add_peer(d);

		p->flags = WGPEER_HAS_PUBLIC_KEY;
		rand_key(p->public_key, false);
		if (i % 3 == 0) {
			p->flags |= WGPEER_HAS_PRESHARED_KEY;
			rand_key(p->preshared_key, false);
		}
		if (i % 2 == 0) {
			p->endpoint.addr4.sin_family = AF_INET;
			p->endpoint.addr4.sin_port = htons((uint16_t)(10000 + i));
			p->endpoint.addr4.sin_addr.s_addr = htonl(0xc0a80000u + (uint32_t)i);
		} else {
			p->endpoint.addr6.sin6_family = AF_INET6;
			p->endpoint.addr6.sin6_port = htons((uint16_t)(20000 + i));
			p->endpoint.addr6.sin6_addr.s6_addr[0] = 0x20;
			p->endpoint.addr6.sin6_addr.s6_addr[1] = 0x01;
			p->endpoint.addr6.sin6_addr.s6_addr[15] = (uint8_t)i;
		}
		if (i % 4 == 1) {
			p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
			p->persistent_keepalive_interval = 25;
		}
		aip4(p, 0x0a400000u + (uint32_t)i, 32);
		aip6(p, (uint32_t)i, 128);
		if (i == npeers / 2) {
			/* One peer with many allowed IPs: spans several messages each way. */
			for (size_t j = 0; j < big_aips; j++)
				aip4(p, 0x0b000000u + (uint32_t)(j << 8), 24);
		}
	}
	return d;
}

static uint64_t tx_msgs(struct wgbackend *be)
{
	return nl_get_stats(wg_kernel_engine(be))->tx_msgs;
}

static uint64_t rx_msgs(struct wgbackend *be)
{
	return nl_get_stats(wg_kernel_engine(be))->rx_msgs;
}

/* ---- a blocking side channel, to change the device in the middle of a dump ---- */

static struct mnl_socket *side;
static uint16_t side_family;

static int side_set_keepalive(const char *ifname, const uint8_t pub[32], uint16_t ka)
{
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	struct nlattr *peers, *peer;
	ssize_t n;

	nlh->nlmsg_type = side_family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 4242;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, pub);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, ka);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	if (mnl_socket_sendto(side, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(side, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, 4242, 0, NULL, NULL) < 0 ? -errno : 0;
}

static int side_del_link(const char *ifname)
{
	struct mnl_socket *s = mnl_socket_open(NETLINK_ROUTE);
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	ssize_t n;
	int ret = -EIO;

	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 77;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		goto out;
	n = mnl_socket_recvfrom(s, buf, sizeof(buf));
	if (n > 0)
		ret = mnl_cb_run(buf, (size_t)n, 77, 0, NULL, NULL) < 0 ? -errno : 0;
out:
	if (s)
		mnl_socket_close(s);
	return ret;
}

/* Deletes wgt2 right after the engine sent its `after`-th message. */
struct vanish {
	int after, sent, deleted, del_err;
};

static void vanish_hook(void *ud, const struct nlmsghdr *nlh)
{
	struct vanish *v = ud;

	(void)nlh;
	if (++v->sent == v->after) {
		v->deleted++;
		v->del_err = side_del_link("wgt2");
	}
}

struct intr_dump {
	struct wgk_get_ctx ctx;
	uint16_t family;
	const uint8_t *victim;
	int parts, restarts, changed;
	bool done;
	int err;
};

static int intr_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct intr_dump *d = ud;

	d->parts++;
	if (d->parts == 1 && !d->changed) {
		/* Change the device between two parts of the dump. */
		d->changed = 1;
		if (side_set_keepalive(d->ctx.dev->name[0] ? d->ctx.dev->name : "wgt1", d->victim, 7) < 0)
			return -EIO;
	}
	return wgk_parse_get(nlh, d->family, &d->ctx);
}

static void intr_restart(void *ud)
{
	struct intr_dump *d = ud;

	d->restarts++;
	wgdev_free(d->ctx.dev);
	d->ctx.dev = wgdev_new();
	d->ctx.npeers = d->ctx.naips = 0;
}

static void intr_done(void *ud, int err)
{
	struct intr_dump *d = ud;

	d->done = true;
	d->err = err;
}

static const struct nl_req_ops intr_ops = {intr_msg, intr_restart, intr_done};

/* ---- the checks ---- */

static void test_all(void)
{
	struct wgbackend *be = NULL;
	struct rtnl *rt = NULL;
	struct rtnl_link l1, l2;
	struct wgdevice *want, *got, *one;
	struct rtnl_addr a4 = {0}, a6 = {0}, r4 = {0};
	uint64_t t0, tx0, rx0;
	int e;

	e = wg_kernel_new(R, &LOG, &be);
	if (e == -EPROTONOSUPPORT) {
		printf("# no kernel WireGuard here: skip\n");
		exit(77);
	}
	CHECK(e == 0, "wg_kernel_new resolves the wireguard family (%d)", e);
	if (e)
		return;
	CHECK(rtnl_new(R, &LOG, &rt) == 0, "rtnl_new");

	/* Link: create, then ensure again (idempotent, same link). */
	e = ksync_link_ensure(rt, "wgt0", "wireguard", &l1);
	CHECK(e == 0 && l1.ifindex > 0, "create wireguard link wgt0 (%d, ifindex %u)", e, l1.ifindex);
	CHECK(l1.mtu == 1420 && (l1.flags & IFF_UP), "wgt0 has MTU 1420 and is up (mtu %u flags %#x)", l1.mtu,
	      l1.flags);
	e = ksync_link_ensure(rt, "wgt0", "wireguard", &l2);
	CHECK(e == 0 && l2.ifindex == l1.ifindex, "ensure again adopts the same link (%d)", e);
	CHECK(!strcmp(l2.kind, "wireguard"), "kind read back: %s", l2.kind);
	e = ksync_link_ensure(rt, "lo", "wireguard", NULL);
	CHECK(e == -EEXIST, "ensure refuses an existing link of another kind (%d)", e);
	{
		struct ksync_res r = {0};

		e = ksync_wait(&r, rtnl_link_get(rt, "nosuch0", ksync_link_cb, &r), 5000);
		CHECK(e == -ENODEV, "get of an absent link: -ENODEV (%d)", e);
	}

	/* Addresses and route, each twice (idempotent). */
	a4.ifindex = a6.ifindex = r4.ifindex = l1.ifindex;
	a4.family = AF_INET;
	a4.prefixlen = 16;
	inet_pton(AF_INET, "10.77.0.1", a4.addr);
	a6.family = AF_INET6;
	a6.prefixlen = 64;
	inet_pton(AF_INET6, "fd77::1", a6.addr);
	r4.family = AF_INET;
	r4.prefixlen = 16;
	inet_pton(AF_INET, "10.78.3.4", r4.addr); /* host bits are masked */
	CHECK(rt_done(rt, 0, &a4) == 0 && rt_done(rt, 0, &a4) == 0, "add IPv4 address twice");
	CHECK(rt_done(rt, 0, &a6) == 0 && rt_done(rt, 0, &a6) == 0, "add IPv6 address twice");
	CHECK(has_addr(rt, l1.ifindex, &a4) && has_addr(rt, l1.ifindex, &a6), "both addresses listed");
	CHECK(rt_done(rt, 2, &r4) == 0 && rt_done(rt, 2, &r4) == 0, "add overlay route twice");
	CHECK(rt_done(rt, 3, &r4) == 0 && rt_done(rt, 3, &r4) == 0, "remove overlay route twice");
	CHECK(rt_done(rt, 1, &a4) == 0 && rt_done(rt, 1, &a4) == 0, "remove IPv4 address twice");
	CHECK(!has_addr(rt, l1.ifindex, &a4) && has_addr(rt, l1.ifindex, &a6), "IPv4 gone, IPv6 stays");

	/* Small device: keys, port, fwmark, peers (PSK, v4/v6 endpoints, keepalive). */
	want = make_dev("wgt0", 51820, 5, 0);
	e = ksync_set_dev(be, want, 60000);
	CHECK(e == 0, "set a 5-peer device (%d)", e);
	got = ksync_get_dev(be, "wgt0", 60000, &e);
	CHECK(e == 0 && got, "get it back (%d)", e);
	CHECK(got && wgdev_config_equal(want, got) == 1, "read back equals what was set");
	CHECK(got && got->ifindex == l1.ifindex && (got->flags & WGDEVICE_HAS_PUBLIC_KEY),
	      "ifindex and public key reported");
	wgdev_free(got);

	/* Remove one peer; replace another's allowed IPs. */
	one = wgdev_new();
	wgdev_set_name(one, "wgt0");
	{
		struct wgpeer *p = wgdev_add_peer(one), *q = wgdev_add_peer(one), *w;

		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
		memcpy(p->public_key, want->first_peer->public_key, 32);
		w = want->first_peer->next_peer;
		q->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
		memcpy(q->public_key, w->public_key, 32);
		aip4(q, 0x0a990000u, 16);
	}
	e = ksync_set_dev(be, one, 60000);
	got = ksync_get_dev(be, "wgt0", 60000, &e);
	{
		struct wgpeer *w = got ? wgdev_find_peer(got, one->last_peer->public_key) : NULL;

		CHECK(got && wgdev_peer_count(got) == 4 && !wgdev_find_peer(got, one->first_peer->public_key),
		      "REMOVE_ME removed exactly one peer");
		CHECK(w && wgpeer_allowedip_count(w) == 1 && w->first_allowedip->cidr == 16,
		      "REPLACE_ALLOWEDIPS replaced the allowed IPs");
	}
	wgdev_free(got);
	wgdev_free(one);
	/* UPDATE_ONLY never creates a peer. */
	one = wgdev_new();
	wgdev_set_name(one, "wgt0");
	{
		struct wgpeer *p = wgdev_add_peer(one);

		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_UPDATE_ONLY;
		rand_key(p->public_key, false);
		aip4(p, 0x0a980000u, 16);
	}
	e = ksync_set_dev(be, one, 60000);
	got = ksync_get_dev(be, "wgt0", 60000, &e);
	CHECK(e == 0 && got && wgdev_peer_count(got) == 4, "UPDATE_ONLY of an unknown peer creates nothing");
	wgdev_free(got);
	wgdev_free(one);
	wgdev_free(want);

	/* Errors: absent interface. */
	got = ksync_get_dev(be, "nosuch0", 60000, &e);
	CHECK(e == -ENODEV && !got, "get of an absent interface: -ENODEV (%d)", e);
	one = make_dev("nosuch0", 51822, 1, 0);
	e = ksync_set_dev(be, one, 60000);
	CHECK(e == -ENODEV, "set of an absent interface: -ENODEV (%d)", e);
	wgdev_free(one);

	/* 1,000 peers, one with 300 allowed IPs: multi-message set and dump. */
	CHECK(ksync_link_ensure(rt, "wgt1", "wireguard", &l2) == 0, "create wgt1");
	want = make_dev("wgt1", 51821, 1000, 300);
	tx0 = tx_msgs(be);
	t0 = os_now_us();
	e = ksync_set_dev(be, want, 60000);
	CHECK(e == 0, "set 1000 peers (%d): %llu messages, %.0f ms", e,
	      (unsigned long long)(tx_msgs(be) - tx0), (double)(os_now_us() - t0) / 1000);
	CHECK(tx_msgs(be) - tx0 > 20, "the set was split across several messages");
	rx0 = rx_msgs(be);
	t0 = os_now_us();
	got = ksync_get_dev(be, "wgt1", 60000, &e);
	CHECK(e == 0 && got && wgdev_peer_count(got) == 1000, "dump 1000 peers (%d): %llu parts, %.0f ms", e,
	      (unsigned long long)(rx_msgs(be) - rx0), (double)(os_now_us() - t0) / 1000);
	CHECK(rx_msgs(be) - rx0 > 2, "the dump came in several parts");
	CHECK(got && wgdev_config_equal(want, got) == 1, "1000-peer device read back identical");
	wgdev_free(got);

	/* One peer changed: a handful of messages, the others untouched. */
	one = wgdev_new();
	wgdev_set_name(one, "wgt1");
	{
		struct wgpeer *src = want->first_peer->next_peer->next_peer;
		struct wgpeer *p = wgdev_add_peer(one);

		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_UPDATE_ONLY;
		memcpy(p->public_key, src->public_key, 32);
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_port = htons(4444);
		p->endpoint.addr4.sin_addr.s_addr = htonl(0xc6336401u);
		src->endpoint = p->endpoint; /* the expected state */
	}
	tx0 = tx_msgs(be);
	t0 = os_now_us();
	e = ksync_set_dev(be, one, 60000);
	CHECK(e == 0 && tx_msgs(be) - tx0 == 1, "one-peer change: %llu message(s), %.2f ms",
	      (unsigned long long)(tx_msgs(be) - tx0), (double)(os_now_us() - t0) / 1000);
	wgdev_free(one);
	got = ksync_get_dev(be, "wgt1", 60000, &e);
	CHECK(e == 0 && got && wgdev_config_equal(want, got) == 1, "only that peer changed");
	wgdev_free(got);

	/* A dump interrupted by a change (NLM_F_DUMP_INTR) restarts and ends consistent. */
	side = mnl_socket_open(NETLINK_GENERIC);
	if (side && mnl_socket_bind(side, 0, MNL_SOCKET_AUTOPID) == 0) {
		struct intr_dump d = {0};
		uint8_t buf[NL_MSG_BUF];
		struct wgpeer *victim = want->last_peer;

		/* The backend resolved the family; resolve it here too. */
		struct nlmsghdr *nlh = nl_genl_family_msg(buf, WG_GENL_NAME);
		char rb[8192];
		ssize_t n;

		nlh->nlmsg_seq = 1;
		mnl_socket_sendto(side, nlh, nlh->nlmsg_len);
		n = mnl_socket_recvfrom(side, rb, sizeof(rb));
		if (n > 0)
			nl_genl_family_parse((struct nlmsghdr *)rb, &side_family);
		d.family = side_family;
		d.victim = victim->public_key;
		d.ctx.dev = wgdev_new();
		nlh = wgk_build_get(buf, side_family, "wgt1");
		e = nl_submit(wg_kernel_engine(be), nlh, &intr_ops, &d, 30000000, NULL);
		ksync_run_until(&d.done, 30000);
		victim->persistent_keepalive_interval = 7;
		victim->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
		CHECK(d.done && d.err == 0 && d.restarts >= 1,
		      "interrupted dump restarted (%d restarts, err %d)", d.restarts, d.err);
		CHECK(wgdev_config_equal(want, d.ctx.dev) == 1,
		      "restarted dump shows the change, nothing torn");
		wgdev_free(d.ctx.dev);
		mnl_socket_close(side);
	} else {
		CHECK(0, "side netlink socket");
	}

	/* An interface that vanishes in the middle of a multi-message set: the
	 * set reports -ENODEV (nothing hangs, no silent partial success). */
	CHECK(ksync_link_ensure(rt, "wgt2", "wireguard", NULL) == 0, "create wgt2");
	{
		struct wgdevice *big = make_dev("wgt2", 51823, 600, 0);
		struct vanish v = {.after = 3};

		nl_set_sent_hook(wg_kernel_engine(be), vanish_hook, &v);
		e = ksync_set_dev(be, big, 60000);
		nl_set_sent_hook(wg_kernel_engine(be), NULL, NULL);
		CHECK(v.deleted == 1 && v.del_err == 0, "wgt2 deleted after the 3rd SET message (%d)",
		      v.del_err);
		CHECK(e == -ENODEV, "the set reports -ENODEV (%d) after %d messages", e, v.sent);
		got = ksync_get_dev(be, "wgt2", 60000, &e);
		CHECK(e == -ENODEV && !got, "and a get too (%d)", e);
		wgdev_free(big);
	}

	/* Listing: the two wireguard links, nothing else. */
	{
		struct lres lr = {0};
		int n = 0, have0 = 0, have1 = 0;

		e = wgbackend_list_devices(be, list_devs_cb, &lr);
		CHECK(e == 0 && ksync_run_until(&lr.done, 10000) && lr.err == 0, "list_devices (%d)", lr.err);
		for (char *p = lr.names; p && *p; p += strlen(p) + 1, n++) {
			have0 |= !strcmp(p, "wgt0");
			have1 |= !strcmp(p, "wgt1");
		}
		CHECK(n == 2 && have0 && have1, "lists exactly wgt0 and wgt1 (%d names)", n);
		free(lr.names);
	}

	/* Simulated restart: new sockets, adopt wgt1 with its 1000 peers. */
	wgbackend_free(be);
	rtnl_free(rt);
	CHECK(reactor_watches(R, NULL, 0) == 0, "old sockets unregistered");
	CHECK(wg_kernel_new(R, &LOG, &be) == 0 && rtnl_new(R, &LOG, &rt) == 0, "new backend after restart");
	{
		struct rtnl_link l3;

		e = ksync_link_ensure(rt, "wgt1", "wireguard", &l3);
		CHECK(e == 0 && l3.ifindex == l2.ifindex, "adopted the existing wgt1 (same ifindex)");
	}
	got = ksync_get_dev(be, "wgt1", 60000, &e);
	CHECK(e == 0 && got && wgdev_config_equal(want, got) == 1, "its 1000 peers survived the restart");
	wgdev_free(got);
	wgdev_free(want);

	/* Only an explicit delete removes a link (the small one; never the 1000-peer one). */
	{
		struct ksync_res r = {0}, r2 = {0};

		e = ksync_wait(&r, rtnl_link_del(rt, "wgt0", ksync_done_cb, &r), 10000);
		CHECK(e == 0, "delete wgt0");
		e = ksync_wait(&r2, rtnl_link_del(rt, "wgt0", ksync_done_cb, &r2), 10000);
		CHECK(e == 0, "delete again: absent is success");
	}
	wgbackend_free(be);
	rtnl_free(rt);
}

/* ---- helpers for the two-namespace shell test ---- */

static int parse_prefix(const char *s, struct rtnl_addr *a)
{
	char tmp[64];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", s);
	slash = strchr(tmp, '/');
	if (!slash)
		return -1;
	*slash = 0;
	a->prefixlen = (uint8_t)atoi(slash + 1);
	if (inet_pton(AF_INET, tmp, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

static int node(int argc, char **argv)
{
	struct wgbackend *be;
	struct rtnl *rt;
	struct wgdevice *d = wgdev_new();
	int e;

	if (wg_kernel_new(R, &LOG, &be) < 0 || rtnl_new(R, &LOG, &rt) < 0)
		return 1;
	wgdev_set_name(d, argv[2]);
	if (!strcmp(argv[1], "node-init") && argc == 6) {
		struct rtnl_link l;
		struct rtnl_addr a4 = {0}, a6 = {0};
		struct wgdevice *got;

		if ((e = ksync_link_ensure(rt, argv[2], "wireguard", &l)) < 0)
			return fprintf(stderr, "link: %d\n", e), 1;
		a4.ifindex = a6.ifindex = l.ifindex;
		if (parse_prefix(argv[3], &a4) || parse_prefix(argv[4], &a6))
			return 2;
		if (rt_done(rt, 0, &a4) || rt_done(rt, 0, &a6))
			return fprintf(stderr, "addr\n"), 1;
		d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT;
		rand_key(d->private_key, true);
		d->listen_port = (uint16_t)atoi(argv[5]);
		if ((e = ksync_set_dev(be, d, 60000)) < 0)
			return fprintf(stderr, "set: %d\n", e), 1;
		got = ksync_get_dev(be, argv[2], 60000, &e);
		if (!got)
			return fprintf(stderr, "get: %d\n", e), 1;
		for (int i = 0; i < 32; i++)
			printf("%02x", got->public_key[i]);
		printf("\n");
		wgdev_free(got);
	} else if ((!strcmp(argv[1], "node-peer") && argc == 6) ||
	           (!strcmp(argv[1], "node-del") && argc == 4)) {
		struct wgpeer *p = wgdev_add_peer(d);

		p->flags = WGPEER_HAS_PUBLIC_KEY;
		unhex_exact(p->public_key, 32, argv[3]); /* aborts on anything but 64 hex digits */
		if (!strcmp(argv[1], "node-del")) {
			p->flags |= WGPEER_REMOVE_ME;
		} else {
			char *save = NULL, *tok;

			if (!wgendpoint_parse(&p->endpoint, argv[4], strlen(argv[4])))
				return 2;
			p->flags |= WGPEER_REPLACE_ALLOWEDIPS;
			for (tok = strtok_r(argv[5], ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (!wgallowedip_parse(wgpeer_add_allowedip(p), tok, strlen(tok)))
					return 2;
		}
		if ((e = ksync_set_dev(be, d, 60000)) < 0)
			return fprintf(stderr, "set: %d\n", e), 1;
	} else {
		return 2;
	}
	wgdev_free(d);
	wgbackend_free(be);
	rtnl_free(rt);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	LOG.fn = log_fn;
	LOG.max_level = getenv("W2W_DEBUG") ? WLOG_DEBUG : WLOG_WARN;
	R = reactor_new();
	ksync_init(R);
	if (argc > 1) {
		ret = node(argc, argv);
	} else {
		test_all();
		printf("# %d checks, %d failed\n", checks, failures);
		ret = failures ? 1 : 0;
	}
	if (reactor_free(R) != 0 && ret == 0) {
		printf("# reactor not clean at exit\n");
		ret = 1;
	}
	return ret;
}
