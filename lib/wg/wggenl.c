/* SPDX-License-Identifier: MIT */
/* WireGuard generic netlink messages (wggenl.h), no I/O. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include "err.h"
#include "wggenl.h"

/* struct __kernel_timespec: two 64-bit fields on every architecture. */
#define WGK_TIMESPEC_LEN 16

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

bool wgk_name_ok(const char *n)
{
	size_t l = n ? strnlen(n, IFNAMSIZ) : 0;

	return l > 0 && l < IFNAMSIZ && !strchr(n, '/');
}

struct nlmsghdr *wgk_build_get(void *buf, uint16_t family, const char *ifname)
{
	struct nlmsghdr *nlh;

	if (!wgk_name_ok(ifname))
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

	if (!dev || !wgk_name_ok(dev->name))
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

