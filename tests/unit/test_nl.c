/* SPDX-License-Identifier: MIT */
/*
 * Netlink without a kernel: the engine (over its fake transport), the
 * WireGuard SET splitter and GET reassembler, the rtnetlink parsers and the
 * link-ensure state machine, fed with crafted replies (good and malformed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <sys/socket.h>

#include "err.h"
#include "nl.h"
#include "osclock.h"
#include "rtnl.h"
#include "wg_kernel.h"
#include "wgdev.h"

#define FAM 0x1d

/* ---- fake transport ---- */

#define MAXTX 4096
static struct {
	struct nlmsghdr *msg[MAXTX];
	size_t n;
	int fail; /* next send returns this */
} tx;

static int fake_tx(void *ud, const struct nlmsghdr *nlh)
{
	(void)ud;
	if (tx.fail) {
		int f = tx.fail;

		tx.fail = 0;
		return f;
	}
	assert_true(tx.n < MAXTX);
	tx.msg[tx.n] = malloc(nlh->nlmsg_len);
	memcpy(tx.msg[tx.n], nlh, nlh->nlmsg_len);
	tx.n++;
	return 0;
}

static void tx_reset(void)
{
	for (size_t i = 0; i < tx.n; i++)
		free(tx.msg[i]);
	tx.n = 0;
	tx.fail = 0;
}

static struct nlmsghdr *last_tx(void)
{
	assert_true(tx.n > 0);
	return tx.msg[tx.n - 1];
}

static void feed_ack(struct nl_sock *nl, uint32_t seq, int err)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = err;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr);
	e->msg.nlmsg_seq = seq;
	nl_feed(nl, buf, nlh->nlmsg_len, os_now_us());
}

static void feed_done(struct nl_sock *nl, uint32_t seq, int err, uint16_t flags)
{
	uint8_t buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	int *v;

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = seq;
	v = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	*v = err;
	nl_feed(nl, buf, nlh->nlmsg_len, os_now_us());
}

static struct reactor *R;

static void spin(void)
{
	reactor_run_timers(R, os_now_us());
}

static int setup(void **state)
{
	(void)state;
	R = reactor_new();
	tx_reset();
	return R ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tx_reset();
	assert_int_equal(reactor_free(R), 0);
	return 0;
}

/* ---- engine ---- */

struct rec {
	int done, err, msgs, restarts;
	bool close_in_done;
	struct nl_sock *nl;
};

static int rec_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct rec *r = ud;

	(void)nlh;
	r->msgs++;
	return 0;
}

static void rec_restart(void *ud)
{
	struct rec *r = ud;

	r->restarts++;
	r->msgs = 0;
}

static void rec_done(void *ud, int err)
{
	struct rec *r = ud;

	r->done++;
	r->err = err;
	if (r->close_in_done)
		nl_close(r->nl);
}

static const struct nl_req_ops rec_ops = {rec_msg, rec_restart, rec_done};

static struct nlmsghdr *simple_req(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static void test_engine_ack_error_timeout(void **state)
{
	uint8_t buf[64];
	struct nl_sock *nl;
	struct rec a = {0}, b = {0}, c = {0};
	uint32_t sa, sb, sc;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, 0), &rec_ops, &a, 0, &sa), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 101, 0), &rec_ops, &b, 0, &sb), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 102, 0), &rec_ops, &c, 1000, &sc), 0);
	assert_int_equal(tx.n, 3);
	/* ACK requested on plain requests, distinct sequence numbers */
	assert_true(tx.msg[0]->nlmsg_flags & NLM_F_ACK);
	assert_true(tx.msg[0]->nlmsg_flags & NLM_F_REQUEST);
	assert_int_not_equal(sa, sb);
	assert_int_equal(a.done + b.done + c.done, 0); /* never from inside submit */
	/* replies out of order; an unknown sequence is ignored */
	feed_ack(nl, sb, -ENODEV);
	feed_ack(nl, 9999, 0);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.err, -ENODEV);
	feed_ack(nl, sa, 0);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.err, 0);
	assert_int_equal(nl_get_stats(nl)->unknown_seq, 1);
	/* c times out */
	reactor_run_timers(R, os_now_us() + 2000);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.err, W2W_ETIMEDOUT);
	feed_ack(nl, sc, 0); /* late: dropped */
	assert_int_equal(c.done, 1);
	assert_int_equal(nl_pending(nl), 0);
	nl_close(nl);
}

static void test_engine_dump_intr(void **state)
{
	uint8_t buf[64], part[64];
	struct nl_sock *nl;
	struct rec a = {0};
	struct nlmsghdr *p;
	uint32_t seq;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, NLM_F_DUMP), &rec_ops, &a, 0, &seq), 0);
	assert_false(tx.msg[0]->nlmsg_flags & NLM_F_ACK);
	p = simple_req(part, 100, NLM_F_MULTI);
	p->nlmsg_seq = seq;
	nl_feed(nl, p, p->nlmsg_len, 0);
	p->nlmsg_flags |= NLM_F_DUMP_INTR;
	nl_feed(nl, p, p->nlmsg_len, 0);
	nl_feed(nl, p, p->nlmsg_len, 0);
	assert_int_equal(a.msgs, 1); /* interrupted parts are drained, not delivered */
	feed_done(nl, seq, 0, 0);
	assert_int_equal(a.done, 0);
	assert_int_equal(a.restarts, 1);
	assert_int_equal(tx.n, 2); /* sent again with a new sequence number */
	assert_int_not_equal(tx.msg[1]->nlmsg_seq, seq);
	seq = tx.msg[1]->nlmsg_seq;
	p->nlmsg_seq = seq;
	p->nlmsg_flags = NLM_F_MULTI;
	nl_feed(nl, p, p->nlmsg_len, 0);
	feed_done(nl, seq, 0, 0);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.msgs, 1);

	/* Interrupted every time: bounded restarts, then -EINTR. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, NLM_F_DUMP), &rec_ops, &a, 0, &seq), 0);
	for (int i = 0; i <= NL_MAX_DUMP_RESTARTS && !a.done; i++)
		feed_done(nl, last_tx()->nlmsg_seq, 0, NLM_F_DUMP_INTR);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.err, -EINTR);
	assert_int_equal(a.restarts, NL_MAX_DUMP_RESTARTS);

	/* An error in DONE's payload fails the dump. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, NLM_F_DUMP), &rec_ops, &a, 0, &seq), 0);
	feed_done(nl, seq, -EMSGSIZE, 0);
	assert_int_equal(a.err, -EMSGSIZE);
	nl_close(nl);
}

static void test_engine_one_dump_at_a_time_and_reentrancy(void **state)
{
	uint8_t buf[64];
	struct nl_sock *nl;
	struct rec a = {0}, b = {0}, c = {0};
	uint32_t sa;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, NLM_F_DUMP), &rec_ops, &a, 0, &sa), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 100, NLM_F_DUMP), &rec_ops, &b, 0, NULL), 0);
	assert_int_equal(tx.n, 1); /* the kernel refuses a second dump on one socket */
	feed_done(nl, sa, 0, 0);
	assert_int_equal(tx.n, 2);
	/* cancel: no callback */
	nl_cancel(nl, &b);
	assert_int_equal(b.done, 0);
	/* a send failure is reported from the reactor, not from submit */
	tx.fail = -EPERM;
	assert_int_equal(nl_submit(nl, simple_req(buf, 101, 0), &rec_ops, &c, 0, NULL), 0);
	assert_int_equal(c.done, 0);
	spin();
	assert_int_equal(c.done, 1);
	assert_int_equal(c.err, -EPERM);
	/* closing the engine from inside a callback */
	memset(&c, 0, sizeof(c));
	c.close_in_done = true;
	c.nl = nl;
	assert_int_equal(nl_submit(nl, simple_req(buf, 101, 0), &rec_ops, &c, 0, &sa), 0);
	assert_int_equal(nl_submit(nl, simple_req(buf, 102, 0), &rec_ops, &a, 0, NULL), 0);
	feed_ack(nl, sa, 0);
	assert_int_equal(c.done, 1);
	/* nl is gone now; the reactor must be clean (checked in teardown) */
}

static void test_attr_parse_policy(void **state)
{
	static const struct nl_policy pol[4] = {
	    [1] = {.type = MNL_TYPE_U32},
	    [2] = {.type = MNL_TYPE_BINARY, .len = 32},
	    [3] = {.type = MNL_TYPE_NUL_STRING},
	};
	const struct nlattr *tb[4];
	uint8_t buf[256], key[32] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	(void)state;
	mnl_attr_put_u32(nlh, 1, 7);
	mnl_attr_put(nlh, 2, 32, key);
	mnl_attr_put_strz(nlh, 3, "wg0");
	mnl_attr_put_u32(nlh, 99, 1); /* unknown: skipped */
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), 0);
	assert_int_equal(mnl_attr_get_u32(tb[1]), 7);
	assert_string_equal(mnl_attr_get_str(tb[3]), "wg0");
	/* wrong length */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put(nlh, 2, 31, key);
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), W2W_EPARSE);
	/* string without NUL */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put(nlh, 3, 3, "wg0");
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), W2W_EPARSE);
	/* u32 of 2 bytes */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put_u16(nlh, 1, 2);
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), W2W_EPARSE);
	/* attribute running past the end */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put_u32(nlh, 1, 7);
	((struct nlattr *)mnl_nlmsg_get_payload(nlh))->nla_len = 200;
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), W2W_EPARSE);
	/* trailing garbage shorter than an attribute header */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put_u32(nlh, 1, 7);
	nlh->nlmsg_len += 2;
	assert_int_equal(nl_attr_parse_msg(nlh, 0, pol, 3, tb), W2W_EPARSE);
	/* message shorter than its fixed header */
	nlh = mnl_nlmsg_put_header(buf);
	assert_int_equal(nl_attr_parse_msg(nlh, 16, pol, 3, tb), W2W_EPARSE);
}

/* ---- WireGuard SET splitting ---- */

static void key_of(uint8_t k[32], uint32_t i, uint8_t salt)
{
	memset(k, salt, 32);
	memcpy(k, &i, 4);
}

static void add_aip4(struct wgpeer *p, uint32_t a, uint8_t cidr)
{
	struct wgallowedip *x = wgpeer_add_allowedip(p);

	x->family = AF_INET;
	x->ip4.s_addr = htonl(a);
	x->cidr = cidr;
	wgallowedip_canon(x);
}

static void add_aip6(struct wgpeer *p, uint32_t tag)
{
	struct wgallowedip *x = wgpeer_add_allowedip(p);

	x->family = AF_INET6;
	x->ip6.s6_addr[0] = 0xfd;
	memcpy(&x->ip6.s6_addr[12], &tag, 4);
	x->cidr = 128;
}

static struct wgdevice *big_dev(size_t n, size_t big)
{
	struct wgdevice *d = wgdev_new();

	wgdev_set_name(d, "wg0");
	d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
	key_of(d->private_key, 0xffffffff, 0x55);
	d->listen_port = 51820;
	d->fwmark = 7;
	for (size_t i = 0; i < n; i++) {
		struct wgpeer *p = wgdev_add_peer(d);

		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
		key_of(p->public_key, (uint32_t)i, 0x11);
		if (i % 2) {
			p->flags |= WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
			key_of(p->preshared_key, (uint32_t)i, 0x22);
			p->persistent_keepalive_interval = 25;
			p->endpoint.addr6.sin6_family = AF_INET6;
			p->endpoint.addr6.sin6_port = htons(1000);
			p->endpoint.addr6.sin6_addr.s6_addr[15] = 1;
		} else {
			p->endpoint.addr4.sin_family = AF_INET;
			p->endpoint.addr4.sin_port = htons(2000);
			p->endpoint.addr4.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		}
		add_aip4(p, 0x0a400000u + (uint32_t)i, 32);
		add_aip6(p, (uint32_t)i);
		if (i == n / 2)
			for (size_t j = 0; j < big; j++)
				add_aip4(p, 0x0b000000u + (uint32_t)(j << 8), 24);
	}
	return d;
}

/* Flags and presence of attributes of the first peer in a SET message. */
struct first_peer {
	uint8_t key[32];
	uint32_t flags;
	bool has_endpoint, has_key;
	size_t npeers;
};

static int count_peer(void *ud, const struct nlattr *a)
{
	static const struct nl_policy pol[WGPEER_A_MAX + 1] = {
	    [WGPEER_A_PUBLIC_KEY] = {.type = MNL_TYPE_BINARY, .len = 32},
	    [WGPEER_A_FLAGS] = {.type = MNL_TYPE_U32},
	    [WGPEER_A_ENDPOINT] = {.type = MNL_TYPE_BINARY, .minlen = 16},
	};
	const struct nlattr *tb[WGPEER_A_MAX + 1];
	struct first_peer *f = ud;

	assert_int_equal(nl_attr_parse_nested(a, pol, WGPEER_A_MAX, tb), 0);
	assert_non_null(tb[WGPEER_A_PUBLIC_KEY]);
	if (f->npeers++ == 0) {
		memcpy(f->key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), 32);
		f->flags = tb[WGPEER_A_FLAGS] ? mnl_attr_get_u32(tb[WGPEER_A_FLAGS]) : 0;
		f->has_endpoint = tb[WGPEER_A_ENDPOINT] != NULL;
	}
	return 0;
}

static void inspect_set(const struct nlmsghdr *nlh, bool *has_privkey, struct first_peer *f)
{
	static const struct nl_policy pol[WGDEVICE_A_MAX + 1] = {
	    [WGDEVICE_A_IFNAME] = {.type = MNL_TYPE_NUL_STRING},
	    [WGDEVICE_A_PRIVATE_KEY] = {.type = MNL_TYPE_BINARY, .len = 32},
	    [WGDEVICE_A_PEERS] = {.type = MNL_TYPE_NESTED},
	};
	const struct nlattr *tb[WGDEVICE_A_MAX + 1];
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	assert_int_equal(nlh->nlmsg_type, FAM);
	assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	assert_int_equal(nl_attr_parse_msg(nlh, sizeof(*g), pol, WGDEVICE_A_MAX, tb), 0);
	assert_string_equal(mnl_attr_get_str(tb[WGDEVICE_A_IFNAME]), "wg0");
	*has_privkey = tb[WGDEVICE_A_PRIVATE_KEY] != NULL;
	memset(f, 0, sizeof(*f));
	if (tb[WGDEVICE_A_PEERS])
		assert_int_equal(nl_nest_foreach(tb[WGDEVICE_A_PEERS], count_peer, f), 0);
}

static void test_set_split_1000(void **state)
{
	struct wgdevice *d = big_dev(1000, 500), *back = wgdev_new();
	struct wgk_get_ctx ctx = {.dev = back};
	struct wgk_cursor cur = {0};
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	size_t msgs = 0, conts = 0, peers_seen = 0;
	uint8_t prev_last[32] = {0};
	int r;

	(void)state;
	assert_int_equal(wgk_check_set(d), 0);
	while ((r = wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh)) == 1) {
		bool priv;
		struct first_peer f;

		assert_true(nlh->nlmsg_len <= sizeof(buf));
		inspect_set(nlh, &priv, &f);
		assert_true(priv == (msgs == 0)); /* device fields in the first message only */
		if (msgs > 0 && memcmp(f.key, prev_last, 32) == 0) {
			/* continuation: key (+UPDATE_ONLY), never REPLACE_ALLOWEDIPS or endpoint */
			conts++;
			assert_int_equal(f.flags & WGPEER_F_REPLACE_ALLOWEDIPS, 0);
			assert_false(f.has_endpoint);
		} else if (f.npeers) {
			assert_true(f.flags & WGPEER_F_REPLACE_ALLOWEDIPS);
		}
		peers_seen += f.npeers;
		/* reassemble with the GET parser: same attribute layout */
		assert_int_equal(wgk_parse_get(nlh, FAM, &ctx), 0);
		if (back->last_peer)
			memcpy(prev_last, back->last_peer->public_key, 32);
		msgs++;
		if (cur.peer) /* every message but the last is nearly full */
			assert_true(nlh->nlmsg_len > sizeof(buf) - 200);
	}
	assert_int_equal(r, 0);
	assert_int_equal(cur.msgs, msgs);
	/* ~100 B per peer: between 20 and 60 peers per 4 KiB message */
	assert_true(msgs > 1000 / 60 && msgs < 1000 / 20 + 20);
	assert_true(conts >= 2); /* the 500-IP peer spans messages */
	assert_int_equal(peers_seen, 1000 + conts);
	assert_int_equal(wgdev_peer_count(back), 1000);
	assert_int_equal(wgdev_config_equal(d, back), 1);
	/* nothing more once done */
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 0);
	wgdev_free(d);
	wgdev_free(back);
}

static void test_set_flags_and_checks(void **state)
{
	struct wgdevice *d = wgdev_new();
	struct wgk_cursor cur = {0};
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct wgpeer *p;
	struct first_peer f;
	bool priv;

	(void)state;
	wgdev_set_name(d, "wg0");
	/* device only: one message, no peers nest */
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 1);
	inspect_set(nlh, &priv, &f);
	assert_false(priv);
	assert_int_equal(f.npeers, 0);
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 0);
	/* REMOVE_ME carries key and flag only; UPDATE_ONLY on continuations too */
	p = wgdev_add_peer(d);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
	p->endpoint.addr4.sin_family = AF_INET;
	add_aip4(p, 0x0a000001, 32);
	memset(&cur, 0, sizeof(cur));
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 1);
	inspect_set(nlh, &priv, &f);
	assert_int_equal(f.flags, WGPEER_F_REMOVE_ME);
	assert_false(f.has_endpoint);
	wgdev_free(d);

	d = big_dev(1, 600);
	d->first_peer->flags |= WGPEER_UPDATE_ONLY;
	memset(&cur, 0, sizeof(cur));
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 1);
	inspect_set(nlh, &priv, &f);
	assert_int_equal(f.flags, WGPEER_F_UPDATE_ONLY | WGPEER_F_REPLACE_ALLOWEDIPS);
	assert_int_equal(wgk_build_set(d, FAM, &cur, buf, sizeof(buf), &nlh), 1);
	inspect_set(nlh, &priv, &f);
	assert_int_equal(f.flags, WGPEER_F_UPDATE_ONLY);
	/* invalid requests are refused before anything is built */
	d->first_peer->first_allowedip->cidr = 33;
	assert_int_equal(wgk_check_set(d), -EINVAL);
	d->first_peer->first_allowedip->cidr = 32;
	d->first_peer->endpoint.addr.sa_family = AF_UNIX;
	assert_int_equal(wgk_check_set(d), -EINVAL);
	d->first_peer->endpoint.addr.sa_family = AF_UNSPEC;
	d->name[0] = 0;
	assert_int_equal(wgk_check_set(d), -EINVAL);
	wgdev_free(d);
}

/* ---- WireGuard GET parsing: crafted kernel replies ---- */

/* A GET reply part: device attrs (first part) and peers [from, to). The last
 * peer's allowed IPs are cut after aip_cut entries when aip_cut >= 0, and the
 * part starts with a continuation of peer `from` at allowed IP aip_from. */
static struct nlmsghdr *get_part(void *buf, bool first, uint32_t from, uint32_t to, int aip_from, int aip_cut)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	struct nlattr *peers;
	uint8_t k[32];

	nlh->nlmsg_type = FAM;
	nlh->nlmsg_flags = NLM_F_MULTI;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = 1;
	if (first) {
		mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 5);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
		key_of(k, 0xffffffff, 0x55);
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 32, k);
		mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, 32, k);
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
		mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
	}
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	for (uint32_t i = from; i < to; i++) {
		struct nlattr *p = mnl_attr_nest_start(nlh, (uint16_t)(i - from)), *aips;
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
		int64_t ts[2] = {1700000000, 5};
		int a0 = i == from ? aip_from : 0, a1 = (i + 1 == to && aip_cut >= 0) ? aip_cut : 4;

		key_of(k, i, 0x11);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, k);
		if (a0 == 0) {
			memset(k, 0, 32);
			mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, 32, k);
			mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
			mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 0);
			mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
			mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 100 + i);
			mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 200 + i);
			mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
		}
		aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		for (int j = a0; j < a1; j++) {
			struct nlattr *a = mnl_attr_nest_start(nlh, (uint16_t)j);
			uint32_t ip = htonl(0x0a000000u + (i << 8) + (uint32_t)j);

			mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
			mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, &ip);
			mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
			mnl_attr_nest_end(nlh, a);
		}
		mnl_attr_nest_end(nlh, aips);
		mnl_attr_nest_end(nlh, p);
	}
	mnl_attr_nest_end(nlh, peers);
	return nlh;
}

static void test_get_reassembly(void **state)
{
	uint8_t buf[8192];
	struct wgk_get_ctx ctx = {.dev = wgdev_new()};
	struct wgpeer *p;

	(void)state;
	/* peers 0..2 with peer 2 cut after 1 IP, then 2 continued, then 3..4 */
	assert_int_equal(wgk_parse_get(get_part(buf, true, 0, 3, 0, 1), FAM, &ctx), 0);
	assert_int_equal(wgk_parse_get(get_part(buf, false, 2, 5, 1, -1), FAM, &ctx), 0);
	assert_int_equal(wgdev_peer_count(ctx.dev), 5);
	assert_string_equal(ctx.dev->name, "wg0");
	assert_int_equal(ctx.dev->ifindex, 5);
	assert_int_equal(ctx.dev->listen_port, 51820);
	assert_true(ctx.dev->flags & WGDEVICE_HAS_PRIVATE_KEY);
	wgdev_for_each_peer(ctx.dev, p)
	{
		assert_int_equal(wgpeer_allowedip_count(p), 4);
		assert_false(p->flags & WGPEER_HAS_PRESHARED_KEY); /* all-zero PSK = none */
		assert_int_equal(p->endpoint.addr4.sin_port, htons(9));
		assert_int_equal(p->last_handshake_time.tv_sec, 1700000000);
	}
	assert_int_equal(ctx.dev->first_peer->rx_bytes, 100);
	assert_int_equal(wgk_get_finish(&ctx), 0);
	/* a part repeating an earlier (not the previous) peer: refused at the end */
	assert_int_equal(wgk_parse_get(get_part(buf, false, 0, 1, 0, -1), FAM, &ctx), 0);
	assert_int_equal(wgdev_peer_count(ctx.dev), 6);
	assert_int_equal(wgk_get_finish(&ctx), W2W_EPARSE);
	wgdev_free(ctx.dev);
}

static uint8_t *find_bytes(uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

static void test_get_malformed(void **state)
{
	uint8_t buf[8192];
	struct nlmsghdr *nlh;
	int bad = 0;

	(void)state;
	/* Mutate one byte/field at a time in a good message: every variant either
	 * parses or fails with W2W_EPARSE, never crashes (ASan run). */
	for (uint32_t off = sizeof(struct nlmsghdr); off < 600; off++) {
		struct wgk_get_ctx ctx = {.dev = wgdev_new()};
		int r;

		nlh = get_part(buf, true, 0, 2, 0, -1);
		if (off >= nlh->nlmsg_len)
			break;
		buf[off] ^= 0xff;
		r = wgk_parse_get(nlh, FAM, &ctx);
		assert_true(r == 0 || r == W2W_EPARSE);
		bad += r != 0;
		wgdev_free(ctx.dev);
	}
	assert_true(bad > 50);

	/* Specific malformations -> W2W_EPARSE */
	{
		struct wgk_get_ctx ctx = {.dev = wgdev_new()};
		/* WGALLOWEDIP_A_FAMILY attribute: nla_len 6, type 1, AF_INET */
		const uint8_t fam[6] = {6, 0, WGALLOWEDIP_A_FAMILY, 0, AF_INET, 0};
		uint8_t *p;

		/* truncated message (attribute runs past the end) */
		nlh = get_part(buf, true, 0, 2, 0, -1);
		nlh->nlmsg_len -= 3;
		assert_int_equal(wgk_parse_get(nlh, FAM, &ctx), W2W_EPARSE);
		/* wrong family id */
		nlh = get_part(buf, true, 0, 1, 0, -1);
		assert_int_equal(wgk_parse_get(nlh, FAM + 1, &ctx), W2W_EPARSE);
		/* allowed IP family 10 (AF_INET6) with a 4-byte address */
		nlh = get_part(buf, true, 0, 1, 0, -1);
		p = find_bytes((uint8_t *)nlh, nlh->nlmsg_len, fam, sizeof(fam));
		assert_non_null(p);
		p[4] = AF_INET6;
		assert_int_equal(wgk_parse_get(nlh, FAM, &ctx), W2W_EPARSE);
		wgdev_free(ctx.dev);
	}
	{
		/* cidr 33 */
		struct wgk_get_ctx ctx = {.dev = wgdev_new()};
		struct nlmsghdr *m = mnl_nlmsg_put_header(buf);
		struct genlmsghdr *g = mnl_nlmsg_put_extra_header(m, sizeof(*g));
		struct nlattr *ps, *pe, *as, *ae;
		uint8_t k[32] = {1};
		uint32_t ip = 0;

		(void)g;
		m->nlmsg_type = FAM;
		ps = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
		pe = mnl_attr_nest_start(m, 0);
		mnl_attr_put(m, WGPEER_A_PUBLIC_KEY, 32, k);
		as = mnl_attr_nest_start(m, WGPEER_A_ALLOWEDIPS);
		ae = mnl_attr_nest_start(m, 0);
		mnl_attr_put_u16(m, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(m, WGALLOWEDIP_A_IPADDR, 4, &ip);
		mnl_attr_put_u8(m, WGALLOWEDIP_A_CIDR_MASK, 33);
		mnl_attr_nest_end(m, ae);
		mnl_attr_nest_end(m, as);
		mnl_attr_nest_end(m, pe);
		mnl_attr_nest_end(m, ps);
		assert_int_equal(wgk_parse_get(m, FAM, &ctx), W2W_EPARSE);
		wgdev_free(ctx.dev);
	}
	{
		/* a peer without its public key; a peers element that is not a nest */
		struct wgk_get_ctx ctx = {.dev = wgdev_new()};
		struct nlmsghdr *m = mnl_nlmsg_put_header(buf);
		struct nlattr *ps, *pe;

		mnl_nlmsg_put_extra_header(m, sizeof(struct genlmsghdr));
		m->nlmsg_type = FAM;
		ps = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
		pe = mnl_attr_nest_start(m, 0);
		mnl_attr_put_u64(m, WGPEER_A_RX_BYTES, 1);
		mnl_attr_nest_end(m, pe);
		mnl_attr_nest_end(m, ps);
		assert_int_equal(wgk_parse_get(m, FAM, &ctx), W2W_EPARSE);
		m = mnl_nlmsg_put_header(buf);
		mnl_nlmsg_put_extra_header(m, sizeof(struct genlmsghdr));
		m->nlmsg_type = FAM;
		ps = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
		mnl_attr_put_u16(m, 0, 1); /* 2-byte element */
		mnl_attr_nest_end(m, ps);
		assert_int_equal(wgk_parse_get(m, FAM, &ctx), W2W_EPARSE);
		wgdev_free(ctx.dev);
	}
}

/* ---- the backend over the fake engine ---- */

struct bres {
	int done, err;
	struct wgdevice *dev;
};

static void bget(void *ud, int err, struct wgdevice *dev)
{
	struct bres *r = ud;

	r->done++;
	r->err = err;
	r->dev = dev;
}

static void bset(void *ud, int err)
{
	struct bres *r = ud;

	r->done++;
	r->err = err;
}

static void test_backend_fake(void **state)
{
	struct nl_sock *nl;
	struct wgbackend *be;
	struct bres g = {0}, s = {0}, s2 = {0};
	uint8_t buf[8192];
	struct nlmsghdr *nlh;
	struct wgdevice *d;
	size_t n;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(wg_kernel_new_on(nl, FAM, &be), 0);
	assert_string_equal(wgbackend_name(be), "kernel");
	/* get: a two-part dump, reassembled */
	assert_int_equal(wgbackend_get_device(be, "wg0", bget, &g), 0);
	assert_int_equal(tx.n, 0); /* queued, started from the loop */
	spin();
	assert_int_equal(tx.n, 1);
	assert_true(last_tx()->nlmsg_flags & NLM_F_DUMP);
	nlh = get_part(buf, true, 0, 3, 0, 2);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	nlh = get_part(buf, false, 2, 4, 2, -1);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	assert_int_equal(g.done, 0);
	feed_done(nl, last_tx()->nlmsg_seq, 0, 0);
	assert_int_equal(g.done, 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(wgdev_peer_count(g.dev), 4);
	assert_int_equal(wgpeer_allowedip_count(g.dev->first_peer->next_peer->next_peer), 4);
	wgdev_free(g.dev);

	/* an interrupted dump: the backend starts over from an empty device */
	memset(&g, 0, sizeof(g));
	assert_int_equal(wgbackend_get_device(be, "wg0", bget, &g), 0);
	spin();
	n = tx.n;
	nlh = get_part(buf, true, 0, 3, 0, -1);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	nlh = get_part(buf, false, 3, 5, 0, -1);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_done(nl, last_tx()->nlmsg_seq, 0, NLM_F_DUMP_INTR);
	assert_int_equal(g.done, 0);
	assert_int_equal(tx.n, n + 1); /* sent again */
	nlh = get_part(buf, true, 10, 12, 0, -1);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_done(nl, last_tx()->nlmsg_seq, 0, 0);
	assert_int_equal(g.done, 1);
	assert_int_equal(g.err, 0);
	assert_int_equal(wgdev_peer_count(g.dev), 2); /* only the second round */
	wgdev_free(g.dev);

	/* a malformed part: W2W_EPROTO, after the dump drained */
	memset(&g, 0, sizeof(g));
	assert_int_equal(wgbackend_get_device(be, "wg0", bget, &g), 0);
	spin();
	nlh = get_part(buf, true, 0, 1, 0, -1);
	nlh->nlmsg_seq = last_tx()->nlmsg_seq;
	nlh->nlmsg_len -= 5;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_done(nl, last_tx()->nlmsg_seq, 0, 0);
	assert_int_equal(g.err, W2W_EPROTO);
	assert_null(g.dev);

	/* set: 300 peers -> several messages, one in flight at a time */
	d = big_dev(300, 0);
	tx_reset();
	assert_int_equal(wgbackend_set_device(be, d, bset, &s), 0);
	assert_int_equal(wgbackend_set_device(be, d, bset, &s2), 0); /* queued behind */
	spin();
	for (n = 0; n < 100 && !s.done; n++) {
		assert_int_equal(tx.n, n + 1);
		feed_ack(nl, last_tx()->nlmsg_seq, 0);
		assert_int_equal(tx.n, n + 1); /* the next one waits for the loop */
		spin();
	}
	assert_int_equal(s.err, 0);
	assert_true(n > 3);
	assert_int_equal(be->stats.msgs_sent, nl_get_stats(nl)->tx_msgs);
	/* the second set fails on its second message: reported, nothing more sent */
	spin();
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	spin();
	feed_ack(nl, last_tx()->nlmsg_seq, -ENODEV);
	assert_int_equal(s2.done, 1);
	assert_int_equal(s2.err, -ENODEV);
	assert_int_equal(tx.n, n + 2);
	spin();
	assert_int_equal(tx.n, n + 2);
	/* invalid request refused synchronously; free with a queued op: no callback */
	d->name[0] = 0;
	assert_int_equal(wgbackend_set_device(be, d, bset, &s), -EINVAL);
	wgdev_free(d);
	memset(&g, 0, sizeof(g));
	assert_int_equal(wgbackend_get_device(be, "wg0", bget, &g), 0);
	wgbackend_free(be);
	spin();
	assert_int_equal(g.done, 0);
	nl_close(nl);
}

static void test_backend_deadlines(void **state)
{
	struct nl_sock *nl;
	struct wgbackend *be;
	struct bres g = {0}, s = {0};
	struct wgdevice *d = big_dev(300, 0);
	uint64_t t;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(wg_kernel_new_on(nl, FAM, &be), 0);
	assert_int_equal(wgbackend_set_device(be, d, bset, &s), 0);
	assert_int_equal(wgbackend_get_device(be, "wg0", bget, &g), 0);
	spin();
	/* the set goes on while the kernel answers (the backend reads the real
	 * clock, so the per-message renewal itself is not observable here) */
	for (int i = 0; i < 3; i++) {
		t = os_now_us() + 9 * 1000 * 1000;
		reactor_run_timers(R, t);
		assert_int_equal(s.done, 0);
		feed_ack(nl, last_tx()->nlmsg_seq, 0);
		spin();
	}
	/* then the kernel stops answering: the set times out, the queued get
	 * only starts now (its own deadline) */
	reactor_run_timers(R, os_now_us() + WGBACKEND_TIMEOUT_US + 1000 * 1000);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.err, W2W_ETIMEDOUT);
	assert_int_equal(g.done, 0);
	spin();
	assert_true(last_tx()->nlmsg_flags & NLM_F_DUMP);
	feed_ack(nl, last_tx()->nlmsg_seq, -ENODEV);
	assert_int_equal(g.done, 1);
	assert_int_equal(g.err, -ENODEV);
	wgdev_free(d);
	wgbackend_free(be);
	nl_close(nl);
}

/* ---- rtnetlink ---- */

static struct nlmsghdr *newlink(void *buf, uint32_t seq, int ifindex, const char *name, const char *kind,
                                uint32_t mtu, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct nlattr *li;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, li);
	return nlh;
}

struct lres {
	int done, err;
	struct rtnl_link l;
};

static void lcb(void *ud, int err, const struct rtnl_link *l)
{
	struct lres *r = ud;

	r->done++;
	r->err = err;
	if (l)
		r->l = *l;
}

static void test_rtnl_ensure_flow(void **state)
{
	struct nl_sock *nl;
	struct rtnl *rt;
	struct lres r = {0};
	uint8_t buf[1024];
	struct nlmsghdr *nlh;

	(void)state;
	assert_int_equal(nl_open_fake(R, NULL, fake_tx, NULL, &nl), 0);
	assert_int_equal(rtnl_new_on(nl, &rt), 0);
	assert_int_equal(rtnl_link_ensure(rt, "wg0", "wireguard", 0, lcb, &r), 0);
	assert_int_equal(last_tx()->nlmsg_type, RTM_GETLINK);
	feed_ack(nl, last_tx()->nlmsg_seq, -ENODEV);
	/* absent: create with kind and default MTU */
	assert_int_equal(last_tx()->nlmsg_type, RTM_NEWLINK);
	assert_true(last_tx()->nlmsg_flags & NLM_F_CREATE);
	assert_true(last_tx()->nlmsg_flags & NLM_F_EXCL);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	/* re-read: down, MTU ok -> bring up */
	assert_int_equal(last_tx()->nlmsg_type, RTM_GETLINK);
	nlh = newlink(buf, last_tx()->nlmsg_seq, 7, "wg0", "wireguard", 1420, 0);
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	assert_int_equal(last_tx()->nlmsg_type, RTM_NEWLINK);
	{
		struct ifinfomsg *ifi = mnl_nlmsg_get_payload(last_tx());

		assert_int_equal(ifi->ifi_index, 7);
		assert_int_equal(ifi->ifi_flags & IFF_UP, IFF_UP);
		assert_int_equal(ifi->ifi_change, IFF_UP);
	}
	assert_int_equal(r.done, 0);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.l.ifindex, 7);
	assert_true(r.l.flags & IFF_UP);

	/* adopt an existing, up link with the right MTU: one request only */
	memset(&r, 0, sizeof(r));
	tx_reset();
	assert_int_equal(rtnl_link_ensure(rt, "wg0", "wireguard", 0, lcb, &r), 0);
	nlh = newlink(buf, last_tx()->nlmsg_seq, 7, "wg0", "wireguard", 1420, IFF_UP);
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(tx.n, 1);

	/* wrong kind: -EEXIST, nothing deleted */
	memset(&r, 0, sizeof(r));
	tx_reset();
	assert_int_equal(rtnl_link_ensure(rt, "wg0", "wireguard", 0, lcb, &r), 0);
	nlh = newlink(buf, last_tx()->nlmsg_seq, 7, "wg0", "veth", 1500, IFF_UP);
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	assert_int_equal(r.err, -EEXIST);
	assert_int_equal(tx.n, 1);

	/* a malformed reply: W2W_EPARSE, no crash */
	memset(&r, 0, sizeof(r));
	assert_int_equal(rtnl_link_get(rt, "wg0", lcb, &r), 0);
	nlh = newlink(buf, last_tx()->nlmsg_seq, 7, "wg0", "wireguard", 1420, IFF_UP);
	nlh->nlmsg_len -= 4;
	nl_feed(nl, nlh, nlh->nlmsg_len, 0);
	feed_ack(nl, last_tx()->nlmsg_seq, 0);
	assert_int_equal(r.err, W2W_EPARSE);

	/* delete of an absent link is success; address removal likewise */
	{
		struct bres d = {0};
		struct rtnl_addr a = {.ifindex = 7, .family = AF_INET, .prefixlen = 24};

		assert_int_equal(rtnl_link_del(rt, "wg0", bset, &d), 0);
		feed_ack(nl, last_tx()->nlmsg_seq, -ENODEV);
		assert_int_equal(d.err, 0);
		assert_int_equal(rtnl_addr_del(rt, &a, bset, &d), 0);
		feed_ack(nl, last_tx()->nlmsg_seq, -EADDRNOTAVAIL);
		assert_int_equal(d.err, 0);
		assert_int_equal(rtnl_addr_add(rt, &a, bset, &d), 0);
		assert_true(last_tx()->nlmsg_flags & NLM_F_REPLACE);
		feed_ack(nl, last_tx()->nlmsg_seq, -EPERM);
		assert_int_equal(d.err, -EPERM);
		a.prefixlen = 33;
		assert_int_equal(rtnl_addr_add(rt, &a, bset, &d), -EINVAL);
	}
	/* free with a pending op: no callback */
	memset(&r, 0, sizeof(r));
	assert_int_equal(rtnl_link_get(rt, "wg0", lcb, &r), 0);
	rtnl_free(rt);
	assert_int_equal(nl_pending(nl), 0);
	nl_close(nl);
	assert_int_equal(r.done, 0);
}

static void test_rtnl_parsers(void **state)
{
	uint8_t buf[1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct rtnl_addr a;
	struct rtnl_link l;
	uint8_t v6[16] = {0xfd, 0x99, [15] = 1};

	(void)state;
	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 64;
	ifa->ifa_index = 3;
	mnl_attr_put(nlh, IFA_ADDRESS, 16, v6);
	assert_int_equal(rtnl_parse_addr(nlh, &a), 0);
	assert_int_equal(a.ifindex, 3);
	assert_memory_equal(a.addr, v6, 16);
	ifa->ifa_prefixlen = 129;
	assert_int_equal(rtnl_parse_addr(nlh, &a), W2W_EPARSE);
	ifa->ifa_prefixlen = 64;
	ifa->ifa_family = AF_INET; /* 16-byte address for IPv4 */
	assert_int_equal(rtnl_parse_addr(nlh, &a), W2W_EPARSE);
	ifa->ifa_family = AF_PACKET;
	assert_int_equal(rtnl_parse_addr(nlh, &a), 1);
	/* link name longer than IFNAMSIZ */
	nlh = newlink(buf, 1, 2, "abcdefghijklmnopqrstuvwxyz", "wireguard", 1420, 0);
	assert_int_equal(rtnl_parse_link(nlh, &l), W2W_EPARSE);
	nlh = newlink(buf, 1, 0, "wg0", "wireguard", 1420, 0);
	assert_int_equal(rtnl_parse_link(nlh, &l), W2W_EPARSE); /* ifindex 0 */
	nlh = newlink(buf, 1, 2, "wg0", "wireguard", 1420, 0);
	assert_int_equal(rtnl_parse_link(nlh, &l), 0);
	assert_string_equal(l.kind, "wireguard");
	assert_int_equal(l.mtu, 1420);
}

static void test_genl_family(void **state)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	uint16_t id = 0;

	(void)state;
	assert_null(nl_genl_family_msg(buf, "a-name-that-is-far-too-long-for-genl"));
	nlh = nl_genl_family_msg(buf, "wireguard");
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, GENL_ID_CTRL);
	/* the controller's reply has the same layout with CTRL_ATTR_FAMILY_ID added */
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x1d);
	assert_int_equal(nl_genl_family_parse(nlh, &id), 0);
	assert_int_equal(id, 0x1d);
	nlh = nl_genl_family_msg(buf, "wireguard");
	assert_int_equal(nl_genl_family_parse(nlh, &id), W2W_EPARSE); /* no id */
}

/* ---- the real socket path (host kernel, no privileges needed) ---- */

static bool run_until(const int *flag, int timeout_ms)
{
	uint64_t end = os_now_us() + (uint64_t)timeout_ms * 1000;

	while (!*flag && os_now_us() < end) {
		struct w2w_watch w[8];
		int rev[8];
		size_t n = reactor_watches(R, w, 8);

		if (os_poll(w, n > 8 ? 8 : n, rev, 50) > 0)
			for (size_t i = 0; i < n && i < 8; i++)
				if (rev[i])
					reactor_dispatch_io(R, w[i].fd, rev[i], os_now_us());
		reactor_run_timers(R, os_now_us());
	}
	return *flag != 0;
}

struct llres {
	int done, err;
	size_t n;
	bool has_lo;
};

static void llcb(void *ud, int err, const struct rtnl_link *l, size_t n)
{
	struct llres *r = ud;

	r->done++;
	r->err = err;
	r->n = n;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, "lo"))
			r->has_lo = true;
}

struct fres {
	int done, err;
	uint16_t id;
	bool got;
};

static int fmsg(void *ud, const struct nlmsghdr *nlh)
{
	struct fres *f = ud;

	f->got = nl_genl_family_parse(nlh, &f->id) == 0;
	return 0;
}

static void fdone(void *ud, int err)
{
	struct fres *f = ud;

	f->done++;
	f->err = err;
}

static const struct nl_req_ops fops = {fmsg, NULL, fdone};

struct kget {
	int done;
	int err;
};

static void kget_cb(void *ud, int err, struct wgdevice *dev)
{
	struct kget *k = ud;

	k->done = 1;
	k->err = err;
	wgdev_free(dev);
}

static void test_real_sockets(void **state)
{
	struct kget kg = {0};
	struct nl_sock *nl = NULL, *gnl = NULL;
	struct rtnl *rt;
	struct lres r = {0}, r2 = {0};
	struct llres ll = {0};
	struct fres f = {0}, fw = {0};
	struct wgbackend *be = NULL;
	uint8_t buf[NL_MSG_BUF];
	int e;

	(void)state;
	if (nl_open(R, NULL, NETLINK_ROUTE, &nl) < 0 || nl_open(R, NULL, NETLINK_GENERIC, &gnl) < 0) {
		nl_close(nl);
		skip();
	}
	assert_true(nl_fd(nl) >= 0);
	assert_int_equal(rtnl_new_on(nl, &rt), 0);
	assert_int_equal(rtnl_link_get(rt, "lo", lcb, &r), 0);
	assert_true(run_until(&r.done, 5000));
	assert_int_equal(r.err, 0);
	assert_string_equal(r.l.name, "lo");
	assert_true(r.l.ifindex > 0);
	assert_int_equal(rtnl_link_get(rt, "w2wnosuch0", lcb, &r2), 0);
	assert_true(run_until(&r2.done, 5000));
	assert_int_equal(r2.err, -ENODEV);
	assert_int_equal(rtnl_link_list(rt, NULL, llcb, &ll), 0);
	assert_true(run_until(&ll.done, 5000));
	assert_int_equal(ll.err, 0);
	assert_true(ll.has_lo);
	assert_true(nl_get_stats(nl)->rx_msgs >= 3);
	/* generic netlink: the controller resolves itself; "wireguard" maps to
	 * -EPROTONOSUPPORT at the first operation of the kernel backend exactly
	 * when the family is absent (wg_kernel_new itself never waits) */
	assert_int_equal(nl_submit(gnl, nl_genl_family_msg(buf, "nlctrl"), &fops, &f, 0, NULL), 0);
	assert_true(run_until(&f.done, 5000));
	assert_int_equal(f.err, 0);
	assert_true(f.got);
	assert_int_equal(f.id, GENL_ID_CTRL);
	assert_int_equal(nl_submit(gnl, nl_genl_family_msg(buf, WG_GENL_NAME), &fops, &fw, 0, NULL), 0);
	assert_true(run_until(&fw.done, 5000));
	e = wg_kernel_new(R, NULL, &be);
	assert_int_equal(e, 0);
	assert_int_equal(wgbackend_get_device(be, "w2wt-none0", kget_cb, &kg), 0);
	assert_false(kg.done); /* never from inside the call */
	assert_true(run_until(&kg.done, 5000));
	assert_int_equal(kg.err, fw.err == -ENOENT ? -EPROTONOSUPPORT : -ENODEV);
	wgbackend_free(be);
	rtnl_free(rt);
	nl_close(nl);
	nl_close(gnl);
}

/* A receive buffer too small for the replies: the kernel drops some and
 * reports ENOBUFS; every request still completes (ok, or -ENOBUFS). */
static void test_real_enobufs(void **state)
{
	struct nl_sock *nl;
	struct rtnl *rt;
	struct lres r[NL_MAX_INFLIGHT];
	int small = 1, all = 0, ok = 0, nobufs = 0;

	(void)state;
	if (nl_open(R, NULL, NETLINK_ROUTE, &nl) < 0)
		skip();
	assert_int_equal(rtnl_new_on(nl, &rt), 0);
	assert_int_equal(setsockopt(nl_fd(nl), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < NL_MAX_INFLIGHT; i++)
		assert_int_equal(rtnl_link_get(rt, "lo", lcb, &r[i]), 0);
	for (int t = 0; t < 100 && !all; t++) {
		run_until(&all, 20);
		all = 1;
		for (int i = 0; i < NL_MAX_INFLIGHT; i++)
			all &= r[i].done == 1;
	}
	assert_true(all);
	for (int i = 0; i < NL_MAX_INFLIGHT; i++) {
		ok += r[i].err == 0;
		nobufs += r[i].err == -ENOBUFS;
	}
	assert_int_equal(ok + nobufs, NL_MAX_INFLIGHT);
	assert_true(nobufs > 0);
	assert_true(nl_get_stats(nl)->enobufs > 0);
	/* the socket still works afterwards */
	{
		int big = 1 << 20;
		struct lres again = {0};

		setsockopt(nl_fd(nl), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		assert_int_equal(rtnl_link_get(rt, "lo", lcb, &again), 0);
		assert_true(run_until(&again.done, 5000));
		assert_int_equal(again.err, 0);
	}
	rtnl_free(rt);
	nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_engine_ack_error_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_dump_intr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_one_dump_at_a_time_and_reentrancy, setup, teardown),
	    cmocka_unit_test(test_attr_parse_policy),
	    cmocka_unit_test_setup_teardown(test_set_split_1000, setup, teardown),
	    cmocka_unit_test(test_set_flags_and_checks),
	    cmocka_unit_test(test_get_reassembly),
	    cmocka_unit_test(test_get_malformed),
	    cmocka_unit_test_setup_teardown(test_backend_fake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backend_deadlines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rtnl_ensure_flow, setup, teardown),
	    cmocka_unit_test(test_rtnl_parsers),
	    cmocka_unit_test(test_genl_family),
	    cmocka_unit_test_setup_teardown(test_real_sockets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_real_enobufs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
