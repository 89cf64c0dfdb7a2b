/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard backend over generic netlink (see wg_kernel.h).
 *
 * Interface note: wgbackend.h asks wg_kernel_new() to answer synchronously
 * whether the kernel family exists (-EPROTONOSUPPORT), so that `Backend = auto`
 * can fall back to userspace at construction. Resolving a genetlink family is
 * a netlink round trip; the constructor does that one round trip with a
 * bounded poll (nl_run_until_idle) and every operation afterwards is
 * asynchronous, as the interface requires.
 */
#include <errno.h>
#include <net/if.h>
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

/* struct __kernel_timespec: two 64-bit fields on every architecture. */
#define WGK_TIMESPEC_LEN 16

enum op_kind { OP_GET, OP_SET, OP_LIST };

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
	struct rtnl *rt;            /* opened on the first list_devices: links of kind wireguard */
	struct wgk_op *head, *tail; /* head is the running op */
	bool running;
	struct rtimer kick;
};

static const struct nl_req_ops get_nl_ops, set_nl_ops;

/* ---- message building ---- */

static struct nlmsghdr *genl_put(void *buf, uint16_t family, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = WG_GENL_VERSION;
	return nlh;
}

static bool name_ok(const char *n)
{
	size_t l = n ? strnlen(n, IFNAMSIZ) : 0;

	return l > 0 && l < IFNAMSIZ && !strchr(n, '/');
}

struct nlmsghdr *wgk_build_get(void *buf, uint16_t family, const char *ifname)
{
	struct nlmsghdr *nlh;

	if (!name_ok(ifname))
		return NULL;
	nlh = genl_put(buf, family, WG_CMD_GET_DEVICE, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh;
}

static size_t endpoint_len(const union wgendpoint *e)
{
	if (e->addr.sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (e->addr.sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

int wgk_check_set(const struct wgdevice *dev)
{
	const struct wgpeer *p;
	const struct wgallowedip *a;

	if (!dev || !name_ok(dev->name))
		return -EINVAL;
	wgdev_for_each_peer(dev, p)
	{
		if (p->endpoint.addr.sa_family != AF_UNSPEC && !endpoint_len(&p->endpoint))
			return -EINVAL;
		wgpeer_for_each_allowedip(p, a)
		{
			if (!wgallowedip_valid(a))
				return -EINVAL;
		}
	}
	return 0;
}

/* Puts one allowed IP as an element of the WGPEER_A_ALLOWEDIPS array. */
static bool put_allowedip(struct nlmsghdr *nlh, size_t cap, uint16_t idx, const struct wgallowedip *a)
{
	struct nlattr *n = mnl_attr_nest_start_check(nlh, cap, idx);

	if (!n)
		return false;
	if (!mnl_attr_put_u16_check(nlh, cap, WGALLOWEDIP_A_FAMILY, a->family) ||
	    !mnl_attr_put_check(nlh, cap, WGALLOWEDIP_A_IPADDR, a->family == AF_INET ? 4 : 16,
	                        a->family == AF_INET ? (const void *)&a->ip4 : (const void *)&a->ip6) ||
	    !mnl_attr_put_u8_check(nlh, cap, WGALLOWEDIP_A_CIDR_MASK, a->cidr)) {
		mnl_attr_nest_cancel(nlh, n);
		return false;
	}
	mnl_attr_nest_end(nlh, n);
	return true;
}

/*
 * Puts the part of peer p that starts at allowed IP *aip (NULL: the peer's
 * first part, with all its fields). Returns 1 when the whole rest of the peer
 * fit, 0 when it was cut (*aip = first allowed IP not sent; the peer part sent
 * is kept if it holds at least its key and flags), -1 when not even the peer
 * header fit (nothing was added).
 */
static int put_peer(struct nlmsghdr *nlh, size_t cap, uint16_t idx, const struct wgpeer *p,
                    const struct wgallowedip **aip)
{
	bool cont = *aip != NULL;
	struct nlattr *pn, *an;
	uint32_t flags = 0;
	const struct wgallowedip *a;
	uint16_t j = 0;

	pn = mnl_attr_nest_start_check(nlh, cap, idx);
	if (!pn)
		return -1;
	if (!mnl_attr_put_check(nlh, cap, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
		goto cancel;
	if (p->flags & WGPEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;
	if (!cont) {
		if (p->flags & WGPEER_REMOVE_ME)
			flags |= WGPEER_F_REMOVE_ME;
		if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
			flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	}
	if (flags && !mnl_attr_put_u32_check(nlh, cap, WGPEER_A_FLAGS, flags))
		goto cancel;
	if (p->flags & WGPEER_REMOVE_ME) {
		mnl_attr_nest_end(nlh, pn);
		return 1;
	}
	if (!cont) {
		size_t el = endpoint_len(&p->endpoint);

		if ((p->flags & WGPEER_HAS_PRESHARED_KEY) &&
		    !mnl_attr_put_check(nlh, cap, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
			goto cancel;
		if (el && !mnl_attr_put_check(nlh, cap, WGPEER_A_ENDPOINT, el, &p->endpoint))
			goto cancel;
		if ((p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE) &&
		    !mnl_attr_put_u16_check(nlh, cap, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
		                            p->persistent_keepalive_interval))
			goto cancel;
	}
	a = cont ? *aip : p->first_allowedip;
	if (!a) {
		mnl_attr_nest_end(nlh, pn);
		return 1;
	}
	an = mnl_attr_nest_start_check(nlh, cap, WGPEER_A_ALLOWEDIPS);
	if (!an) {
		if (cont)
			goto cancel; /* a continuation without IPs would be empty */
		mnl_attr_nest_end(nlh, pn);
		*aip = a;
		return 0;
	}
	for (; a; a = a->next_allowedip) {
		if (!put_allowedip(nlh, cap, j++, a)) {
			if (j == 1 && cont) {
				mnl_attr_nest_cancel(nlh, an);
				goto cancel;
			}
			if (j == 1)
				mnl_attr_nest_cancel(nlh, an);
			else
				mnl_attr_nest_end(nlh, an);
			mnl_attr_nest_end(nlh, pn);
			*aip = a;
			return 0;
		}
	}
	mnl_attr_nest_end(nlh, an);
	mnl_attr_nest_end(nlh, pn);
	return 1;
cancel:
	mnl_attr_nest_cancel(nlh, pn);
	return -1;
}

int wgk_build_set(const struct wgdevice *dev, uint16_t family, struct wgk_cursor *cur, void *buf, size_t cap,
                  struct nlmsghdr **out)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	uint16_t i = 0;
	bool first = !cur->started, progress = false;

	if (cap < 512 || cap > NL_MAX_MSG)
		return -EINVAL;
	if (cur->started && !cur->peer)
		return 0;
	if (first)
		cur->peer = dev->first_peer;
	nlh = genl_put(buf, family, WG_CMD_SET_DEVICE, NLM_F_ACK);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, dev->name);
	if (first) {
		uint32_t flags = 0;

		if (dev->flags & WGDEVICE_HAS_PRIVATE_KEY)
			mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, dev->private_key);
		if (dev->flags & WGDEVICE_HAS_LISTEN_PORT)
			mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, dev->listen_port);
		if (dev->flags & WGDEVICE_HAS_FWMARK)
			mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, dev->fwmark);
		if (dev->flags & WGDEVICE_REPLACE_PEERS)
			flags |= WGDEVICE_F_REPLACE_PEERS;
		if (flags)
			mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, flags);
		progress = true;
	}
	if (cur->peer) {
		peers = mnl_attr_nest_start_check(nlh, cap, WGDEVICE_A_PEERS);
		if (!peers)
			return -EMSGSIZE;
		while (cur->peer) {
			int r = put_peer(nlh, cap, i, cur->peer, &cur->aip);

			if (r < 0)
				break;
			i++;
			progress = true;
			if (r == 0)
				break; /* cut inside its allowed IPs: continue next message */
			cur->peer = cur->peer->next_peer;
			cur->aip = NULL;
		}
		if (i == 0)
			mnl_attr_nest_cancel(nlh, peers);
		else
			mnl_attr_nest_end(nlh, peers);
	}
	if (!progress)
		return -EMSGSIZE;
	cur->started = true;
	cur->msgs++;
	*out = nlh;
	return 1;
}

/* ---- GET reply parsing ---- */

static const struct nl_policy dev_pol[WGDEVICE_A_MAX + 1] = {
    [WGDEVICE_A_IFINDEX] = {.type = MNL_TYPE_U32},
    [WGDEVICE_A_IFNAME] = {.type = MNL_TYPE_NUL_STRING},
    [WGDEVICE_A_PRIVATE_KEY] = {.type = MNL_TYPE_BINARY, .len = WG_KEY_LEN},
    [WGDEVICE_A_PUBLIC_KEY] = {.type = MNL_TYPE_BINARY, .len = WG_KEY_LEN},
    [WGDEVICE_A_FLAGS] = {.type = MNL_TYPE_U32},
    [WGDEVICE_A_LISTEN_PORT] = {.type = MNL_TYPE_U16},
    [WGDEVICE_A_FWMARK] = {.type = MNL_TYPE_U32},
    [WGDEVICE_A_PEERS] = {.type = MNL_TYPE_NESTED},
};

static const struct nl_policy peer_pol[WGPEER_A_MAX + 1] = {
    [WGPEER_A_PUBLIC_KEY] = {.type = MNL_TYPE_BINARY, .len = WG_KEY_LEN},
    [WGPEER_A_PRESHARED_KEY] = {.type = MNL_TYPE_BINARY, .len = WG_KEY_LEN},
    [WGPEER_A_FLAGS] = {.type = MNL_TYPE_U32},
    [WGPEER_A_ENDPOINT] = {.type = MNL_TYPE_BINARY, .minlen = sizeof(struct sockaddr)},
    [WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = {.type = MNL_TYPE_U16},
    [WGPEER_A_LAST_HANDSHAKE_TIME] = {.type = MNL_TYPE_BINARY, .len = WGK_TIMESPEC_LEN},
    [WGPEER_A_RX_BYTES] = {.type = MNL_TYPE_U64},
    [WGPEER_A_TX_BYTES] = {.type = MNL_TYPE_U64},
    [WGPEER_A_ALLOWEDIPS] = {.type = MNL_TYPE_NESTED},
    [WGPEER_A_PROTOCOL_VERSION] = {.type = MNL_TYPE_U32},
};

static const struct nl_policy aip_pol[WGALLOWEDIP_A_MAX + 1] = {
    [WGALLOWEDIP_A_FAMILY] = {.type = MNL_TYPE_U16},
    [WGALLOWEDIP_A_IPADDR] = {.type = MNL_TYPE_BINARY, .minlen = 4},
    [WGALLOWEDIP_A_CIDR_MASK] = {.type = MNL_TYPE_U8},
};

struct peer_parse {
	struct wgk_get_ctx *ctx;
	struct wgpeer *peer;
};

static int parse_aip(void *ud, const struct nlattr *nest)
{
	struct peer_parse *pp = ud;
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	struct wgallowedip *a;
	uint16_t fam;
	size_t alen;

	if (nl_attr_parse_nested(nest, aip_pol, WGALLOWEDIP_A_MAX, tb) < 0)
		return W2W_EPARSE;
	if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
		return W2W_EPARSE;
	fam = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	if (fam != AF_INET && fam != AF_INET6)
		return W2W_EPARSE;
	alen = fam == AF_INET ? 4 : 16;
	if (mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]) != alen)
		return W2W_EPARSE;
	if (mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]) > alen * 8)
		return W2W_EPARSE;
	if (++pp->ctx->naips > WGK_MAX_ALLOWEDIPS)
		return W2W_ELIMIT;
	a = wgpeer_add_allowedip(pp->peer);
	if (!a)
		return -ENOMEM;
	a->family = fam;
	memcpy(fam == AF_INET ? (void *)&a->ip4 : (void *)&a->ip6,
	       mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), alen);
	a->cidr = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	return 0;
}

static int parse_endpoint(union wgendpoint *e, const struct nlattr *a)
{
	size_t len = mnl_attr_get_payload_len(a);
	struct sockaddr sa;

	memcpy(&sa, mnl_attr_get_payload(a), sizeof(sa));
	memset(e, 0, sizeof(*e));
	if (sa.sa_family == AF_INET) {
		if (len < sizeof(struct sockaddr_in))
			return W2W_EPARSE;
		memcpy(&e->addr4, mnl_attr_get_payload(a), sizeof(e->addr4));
	} else if (sa.sa_family == AF_INET6) {
		if (len < sizeof(struct sockaddr_in6))
			return W2W_EPARSE;
		memcpy(&e->addr6, mnl_attr_get_payload(a), sizeof(e->addr6));
	} else if (sa.sa_family != AF_UNSPEC) {
		return W2W_EPARSE;
	}
	return 0;
}

static int parse_peer(void *ud, const struct nlattr *nest)
{
	struct wgk_get_ctx *ctx = ud;
	const struct nlattr *tb[WGPEER_A_MAX + 1];
	struct peer_parse pp = {.ctx = ctx};
	struct wgpeer *p;
	int r;

	if (nl_attr_parse_nested(nest, peer_pol, WGPEER_A_MAX, tb) < 0)
		return W2W_EPARSE;
	if (!tb[WGPEER_A_PUBLIC_KEY])
		return W2W_EPARSE;
	p = ctx->dev->last_peer;
	if (p && memcmp(p->public_key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN) == 0) {
		/* The previous part ended inside this peer's allowed IPs. */
	} else {
		if (++ctx->npeers > WGK_MAX_PEERS)
			return W2W_ELIMIT;
		p = wgdev_add_peer(ctx->dev);
		if (!p)
			return -ENOMEM;
		memcpy(p->public_key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
		p->flags |= WGPEER_HAS_PUBLIC_KEY;
	}
	if (tb[WGPEER_A_PRESHARED_KEY]) {
		memcpy(p->preshared_key, mnl_attr_get_payload(tb[WGPEER_A_PRESHARED_KEY]), WG_KEY_LEN);
		if (!wgdev_key_is_zero(p->preshared_key))
			p->flags |= WGPEER_HAS_PRESHARED_KEY;
	}
	if (tb[WGPEER_A_ENDPOINT] && (r = parse_endpoint(&p->endpoint, tb[WGPEER_A_ENDPOINT])) < 0)
		return r;
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
		p->persistent_keepalive_interval =
		    mnl_attr_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
		p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	}
	if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
		int64_t t[2];

		memcpy(t, mnl_attr_get_payload(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(t));
		p->last_handshake_time.tv_sec = t[0];
		p->last_handshake_time.tv_nsec = t[1];
	}
	if (tb[WGPEER_A_RX_BYTES])
		p->rx_bytes = mnl_attr_get_u64(tb[WGPEER_A_RX_BYTES]);
	if (tb[WGPEER_A_TX_BYTES])
		p->tx_bytes = mnl_attr_get_u64(tb[WGPEER_A_TX_BYTES]);
	if (tb[WGPEER_A_ALLOWEDIPS]) {
		pp.peer = p;
		r = nl_nest_foreach(tb[WGPEER_A_ALLOWEDIPS], parse_aip, &pp);
		if (r < 0)
			return r;
	}
	return 0;
}

int wgk_parse_get(const struct nlmsghdr *nlh, uint16_t family, struct wgk_get_ctx *ctx)
{
	const struct nlattr *tb[WGDEVICE_A_MAX + 1];
	struct wgdevice *dev = ctx->dev;

	if (nlh->nlmsg_type != family)
		return W2W_EPARSE;
	if (nl_attr_parse_msg(nlh, sizeof(struct genlmsghdr), dev_pol, WGDEVICE_A_MAX, tb) < 0)
		return W2W_EPARSE;
	if (tb[WGDEVICE_A_IFINDEX])
		dev->ifindex = mnl_attr_get_u32(tb[WGDEVICE_A_IFINDEX]);
	if (tb[WGDEVICE_A_IFNAME]) {
		if (mnl_attr_get_payload_len(tb[WGDEVICE_A_IFNAME]) > sizeof(dev->name))
			return W2W_EPARSE;
		strcpy(dev->name, mnl_attr_get_str(tb[WGDEVICE_A_IFNAME]));
	}
	if (tb[WGDEVICE_A_PRIVATE_KEY]) {
		memcpy(dev->private_key, mnl_attr_get_payload(tb[WGDEVICE_A_PRIVATE_KEY]), WG_KEY_LEN);
		if (!wgdev_key_is_zero(dev->private_key))
			dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	}
	if (tb[WGDEVICE_A_PUBLIC_KEY]) {
		memcpy(dev->public_key, mnl_attr_get_payload(tb[WGDEVICE_A_PUBLIC_KEY]), WG_KEY_LEN);
		if (!wgdev_key_is_zero(dev->public_key))
			dev->flags |= WGDEVICE_HAS_PUBLIC_KEY;
	}
	if (tb[WGDEVICE_A_LISTEN_PORT]) {
		dev->listen_port = mnl_attr_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
		dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
	}
	if (tb[WGDEVICE_A_FWMARK]) {
		dev->fwmark = mnl_attr_get_u32(tb[WGDEVICE_A_FWMARK]);
		dev->flags |= WGDEVICE_HAS_FWMARK;
	}
	if (tb[WGDEVICE_A_PEERS])
		return nl_nest_foreach(tb[WGDEVICE_A_PEERS], parse_peer, ctx);
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, WG_KEY_LEN);
}

int wgk_get_finish(struct wgk_get_ctx *ctx)
{
	size_t n = wgdev_peer_count(ctx->dev), i = 0;
	const struct wgpeer *p;
	const uint8_t **keys;
	int ret = 0;

	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	wgdev_for_each_peer(ctx->dev, p) keys[i++] = p->public_key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && ret == 0; i++)
		if (memcmp(keys[i - 1], keys[i], WG_KEY_LEN) == 0)
			ret = W2W_EPARSE;
	free(keys);
	return ret;
}

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
		         op->kind == OP_GET   ? "get"
		         : op->kind == OP_SET ? "set"
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
	} else {
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

static void start_op(struct wgk *k)
{
	struct wgk_op *op = k->head;
	int r;

	if (!op || k->running)
		return;
	k->running = true;
	/* The deadline runs from the start, not from the enqueue: an op queued
	 * behind a long set must not expire while it waits. */
	op->deadline = os_now_us() + WGBACKEND_TIMEOUT_US;
	if (op->err) {
		op_finish(k, op->err);
		return;
	}
	if (op->kind == OP_LIST) {
		r = 0;
		if (!k->rt)
			r = rtnl_new(k->base.r, k->base.log, &k->rt);
		if (r == 0)
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

static int wgk_get_device(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb, void *ud)
{
	struct wgk *k = (struct wgk *)be;
	struct wgk_op *op;

	if (!cb || !name_ok(ifname))
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->kind = OP_GET;
	op->get_cb = cb;
	op->ud = ud;
	strcpy(op->ifname, ifname);
	return enqueue(k, op);
}

static int wgk_set_device(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb, void *ud)
{
	struct wgk *k = (struct wgk *)be;
	struct wgk_op *op;
	int r;

	if (!cb)
		return -EINVAL;
	r = wgk_check_set(dev);
	if (r < 0)
		return r;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->req = wgdev_copy(dev);
	if (!op->req) {
		free(op);
		return -ENOMEM;
	}
	op->kind = OP_SET;
	op->set_cb = cb;
	op->ud = ud;
	strcpy(op->ifname, dev->name);
	return enqueue(k, op);
}

static int wgk_list_devices(struct wgbackend *be, wgbackend_list_cb cb, void *ud)
{
	struct wgk *k = (struct wgk *)be;
	struct wgk_op *op;

	if (!cb)
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->kind = OP_LIST;
	op->list_cb = cb;
	op->ud = ud;
	strcpy(op->ifname, "*");
	return enqueue(k, op);
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
	k->nl = nl;
	k->family = family;
	rtimer_init(&k->kick, on_kick, k);
	*out = &k->base;
	return 0;
}

struct family_lookup {
	int err;
	uint16_t id;
	bool got;
};

static int family_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct family_lookup *f = ud;

	if (nl_genl_family_parse(nlh, &f->id) < 0)
		return W2W_EPARSE;
	f->got = true;
	return 0;
}

static void family_done(void *ud, int err)
{
	struct family_lookup *f = ud;

	f->err = err;
	if (!err && !f->got)
		f->err = W2W_EPROTO;
}

static const struct nl_req_ops family_ops = {
    .msg = family_msg,
    .done = family_done,
};

int wg_kernel_new(struct reactor *r, const struct wlog *log, struct wgbackend **out)
{
	struct family_lookup f = {.err = 1};
	uint8_t buf[NL_MSG_BUF];
	struct wgbackend *be = NULL;
	struct nl_sock *nl;
	int ret;

	ret = nl_open(r, log, NETLINK_GENERIC, &nl);
	if (ret < 0) {
		log_err(log, "wg-kernel: cannot open a generic netlink socket: %s", err_str(ret));
		return ret;
	}
	ret = nl_submit(nl, nl_genl_family_msg(buf, WG_GENL_NAME), &family_ops, &f, 2000 * 1000, NULL);
	if (ret == 0)
		ret = nl_run_until_idle(nl, 2000);
	if (ret == 0)
		ret = f.err > 0 ? W2W_ETIMEDOUT : f.err;
	if (ret == -ENOENT) {
		log_warn(log,
		        "wg-kernel: the kernel has no WireGuard (generic netlink family \"%s\" not found): "
		        "the wireguard kernel module is missing or not loaded (try `modprobe wireguard`)",
		        WG_GENL_NAME);
		ret = -EPROTONOSUPPORT;
	}
	if (ret == 0)
		ret = wg_kernel_new_on(nl, f.id, &be);
	if (ret < 0) {
		if (ret != -EPROTONOSUPPORT)
			log_err(log, "wg-kernel: resolving the WireGuard family failed: %s",
			        err_str(ret));
		nl_close(nl);
		return ret;
	}
	((struct wgk *)be)->own_nl = true;
	*out = be;
	return 0;
}

struct nl_sock *wg_kernel_engine(struct wgbackend *be)
{
	return ((struct wgk *)be)->nl;
}
