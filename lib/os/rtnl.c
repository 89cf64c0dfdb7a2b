/* SPDX-License-Identifier: MIT */
/* rtnetlink: links, addresses, routes (see rtnl.h). */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "err.h"
#include "rtnl.h"

enum op_kind { OP_DONE, OP_LINK_GET, OP_LINK_ENSURE, OP_ADDR_LIST, OP_LINK_LIST };
enum ensure_step { ST_GET, ST_CREATE, ST_REGET, ST_SET };

struct rtnl_op {
	struct rtnl_op *prev, *next;
	struct rtnl *rt;
	enum op_kind kind;
	void *ud; /* the caller's */
	union {
		rtnl_done_cb done;
		rtnl_link_cb link;
		rtnl_addr_list_cb list;
		rtnl_link_list_cb links;
	} cb;
	int ignore_err; /* a negative errno meaning "already so" */
	/* link get / ensure */
	enum ensure_step step;
	bool got_link, created;
	struct rtnl_link link;
	char want_name[RTNL_IFNAMSIZ];
	char want_kind[RTNL_KINDSIZ];
	bool has_kind;
	uint32_t want_mtu;
	/* addr list */
	uint32_t filter_ifindex;
	int filter_family;
	struct rtnl_addr *addrs;
	size_t naddrs, capaddrs;
	/* link list */
	struct rtnl_link *links;
	size_t nlinks, caplinks;
};

struct rtnl {
	struct nl_sock *nl;
	bool own_nl;
	struct rtnl_op *ops;
};

static const struct nl_req_ops op_nl_ops;

static void op_unlink_free(struct rtnl_op *op)
{
	struct rtnl *rt = op->rt;

	if (op->prev)
		op->prev->next = op->next;
	else
		rt->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	free(op->addrs);
	free(op->links);
	free(op);
}

static struct rtnl_op *op_new(struct rtnl *rt, enum op_kind kind, void *ud)
{
	struct rtnl_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->rt = rt;
	op->kind = kind;
	op->ud = ud;
	op->next = rt->ops;
	if (rt->ops)
		rt->ops->prev = op;
	rt->ops = op;
	return op;
}

/* Reports and frees op. */
static void op_complete(struct rtnl_op *op, int err)
{
	void *ud = op->ud;

	switch (op->kind) {
	case OP_DONE: {
		rtnl_done_cb cb = op->cb.done;

		op_unlink_free(op);
		if (cb)
			cb(ud, err);
		break;
	}
	case OP_LINK_GET:
	case OP_LINK_ENSURE: {
		rtnl_link_cb cb = op->cb.link;
		struct rtnl_link l = op->link;

		op_unlink_free(op);
		if (cb)
			cb(ud, err, err ? NULL : &l);
		break;
	}
	case OP_ADDR_LIST: {
		rtnl_addr_list_cb cb = op->cb.list;
		struct rtnl_addr *a = op->addrs;
		size_t n = op->naddrs;

		op->addrs = NULL;
		op_unlink_free(op);
		if (cb)
			cb(ud, err, err ? NULL : a, err ? 0 : n);
		free(a);
		break;
	}
	case OP_LINK_LIST: {
		rtnl_link_list_cb cb = op->cb.links;
		struct rtnl_link *l = op->links;
		size_t n = op->nlinks;

		op->links = NULL;
		op_unlink_free(op);
		if (cb)
			cb(ud, err, err ? NULL : l, err ? 0 : n);
		free(l);
		break;
	}
	}
}

static int op_submit(struct rtnl_op *op, const struct nlmsghdr *nlh)
{
	return nl_submit(op->rt->nl, nlh, &op_nl_ops, op, 0, NULL);
}

/* Starts op with nlh; on failure op is freed and the error returned. */
static int op_start(struct rtnl_op *op, const struct nlmsghdr *nlh)
{
	int r = op_submit(op, nlh);

	if (r < 0)
		op_unlink_free(op);
	return r;
}

/* ---- parsers ---- */

int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out)
{
	static const struct nl_policy pol[IFLA_LINKINFO + 1] = {
	    [IFLA_IFNAME] = {.type = MNL_TYPE_NUL_STRING},
	    [IFLA_MTU] = {.type = MNL_TYPE_U32},
	    [IFLA_LINKINFO] = {.type = MNL_TYPE_NESTED},
	};
	static const struct nl_policy ipol[IFLA_INFO_KIND + 1] = {
	    [IFLA_INFO_KIND] = {.type = MNL_TYPE_STRING},
	};
	const struct nlattr *tb[IFLA_LINKINFO + 1], *itb[IFLA_INFO_KIND + 1];
	const struct ifinfomsg *ifi;
	struct rtnl_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return W2W_EPARSE;
	if (nl_attr_parse_msg(nlh, sizeof(*ifi), pol, IFLA_LINKINFO, tb) < 0)
		return W2W_EPARSE;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(&l, 0, sizeof(l));
	l.ifindex = (uint32_t)ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	if (l.ifindex == 0 || !tb[IFLA_IFNAME])
		return W2W_EPARSE;
	if (mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > RTNL_IFNAMSIZ)
		return W2W_EPARSE;
	strcpy(l.name, mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU])
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_LINKINFO]) {
		if (nl_attr_parse_nested(tb[IFLA_LINKINFO], ipol, IFLA_INFO_KIND, itb) < 0)
			return W2W_EPARSE;
		if (itb[IFLA_INFO_KIND]) {
			/* STRING: may or may not carry its NUL; copy bounded. */
			size_t n = mnl_attr_get_payload_len(itb[IFLA_INFO_KIND]);
			const char *s = mnl_attr_get_payload(itb[IFLA_INFO_KIND]);

			n = strnlen(s, n);
			if (n >= sizeof(l.kind))
				return W2W_EPARSE;
			memcpy(l.kind, s, n);
		}
	}
	*out = l;
	return 0;
}

int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out)
{
	static const struct nl_policy pol[IFA_LOCAL + 1] = {
	    [IFA_ADDRESS] = {.type = MNL_TYPE_BINARY, .minlen = 4},
	    [IFA_LOCAL] = {.type = MNL_TYPE_BINARY, .minlen = 4},
	};
	const struct nlattr *tb[IFA_LOCAL + 1], *a;
	const struct ifaddrmsg *ifa;
	struct rtnl_addr r;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return W2W_EPARSE;
	if (nl_attr_parse_msg(nlh, sizeof(*ifa), pol, IFA_LOCAL, tb) < 0)
		return W2W_EPARSE;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 1;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	if (ifa->ifa_prefixlen > alen * 8)
		return W2W_EPARSE;
	/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's
	 * on point-to-point links); IPv6 only sends IFA_ADDRESS. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return W2W_EPARSE;
	memset(&r, 0, sizeof(r));
	r.ifindex = ifa->ifa_index;
	r.family = ifa->ifa_family;
	r.prefixlen = ifa->ifa_prefixlen;
	memcpy(r.addr, mnl_attr_get_payload(a), alen);
	*out = r;
	return 0;
}

/* ---- engine callbacks ---- */

static int op_msg(void *ud, const struct nlmsghdr *nlh)
{
	struct rtnl_op *op = ud;

	if (op->kind == OP_LINK_GET || op->kind == OP_LINK_ENSURE) {
		struct rtnl_link l;

		if (nlh->nlmsg_type != RTM_NEWLINK)
			return 0;
		if (rtnl_parse_link(nlh, &l) < 0)
			return W2W_EPARSE;
		op->link = l;
		op->got_link = true;
		return 0;
	}
	if (op->kind == OP_LINK_LIST) {
		struct rtnl_link l;

		if (nlh->nlmsg_type != RTM_NEWLINK)
			return 0;
		if (rtnl_parse_link(nlh, &l) < 0)
			return W2W_EPARSE;
		if (op->has_kind && strcmp(l.kind, op->want_kind) != 0)
			return 0;
		if (op->nlinks == op->caplinks) {
			size_t ncap = op->caplinks ? op->caplinks * 2 : 8;
			struct rtnl_link *n;

			if (ncap > RTNL_MAX_ADDRS)
				return W2W_ELIMIT;
			n = realloc(op->links, ncap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			op->links = n;
			op->caplinks = ncap;
		}
		op->links[op->nlinks++] = l;
		return 0;
	}
	if (op->kind == OP_ADDR_LIST) {
		struct rtnl_addr a;
		int r;

		if (nlh->nlmsg_type != RTM_NEWADDR)
			return 0;
		r = rtnl_parse_addr(nlh, &a);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
		if (op->filter_ifindex && a.ifindex != op->filter_ifindex)
			return 0;
		if (op->filter_family != AF_UNSPEC && a.family != op->filter_family)
			return 0;
		if (op->naddrs == op->capaddrs) {
			size_t ncap = op->capaddrs ? op->capaddrs * 2 : 8;
			struct rtnl_addr *n;

			if (ncap > RTNL_MAX_ADDRS)
				return W2W_ELIMIT;
			n = realloc(op->addrs, ncap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			op->addrs = n;
			op->capaddrs = ncap;
		}
		op->addrs[op->naddrs++] = a;
	}
	return 0;
}

static void op_restart(void *ud)
{
	struct rtnl_op *op = ud;

	op->naddrs = 0;
	op->nlinks = 0;
}

static struct nlmsghdr *msg_link_get(void *buf, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static struct nlmsghdr *msg_link_set(void *buf, uint32_t ifindex, uint32_t mtu, bool up)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

/* Advances the ensure state machine; returns <0 to finish with that error, 0
 * when a request is in flight, 1 when done. */
static int ensure_next(struct rtnl_op *op, int err)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;

	switch (op->step) {
	case ST_GET:
	case ST_REGET:
		if (err == -ENODEV && op->step == ST_GET && op->has_kind) {
			struct ifinfomsg *ifi;
			struct nlattr *li;

			nlh = mnl_nlmsg_put_header(buf);
			nlh->nlmsg_type = RTM_NEWLINK;
			nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
			ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
			ifi->ifi_family = AF_UNSPEC;
			mnl_attr_put_strz(nlh, IFLA_IFNAME, op->want_name);
			mnl_attr_put_u32(nlh, IFLA_MTU, op->want_mtu);
			li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
			mnl_attr_put_strz(nlh, IFLA_INFO_KIND, op->want_kind);
			mnl_attr_nest_end(nlh, li);
			op->step = ST_CREATE;
			return op_submit(op, nlh);
		}
		if (err < 0)
			return err;
		if (!op->got_link)
			return W2W_EPARSE; /* an ACK without the link */
		if (op->kind == OP_LINK_GET)
			return 1;
		if (op->has_kind && strcmp(op->link.kind, op->want_kind) != 0) {
			log_warn(nl_log(op->rt->nl), "rtnl: %s exists with kind '%s', not '%s'",
			         op->want_name, op->link.kind, op->want_kind);
			return -EEXIST;
		}
		if (op->link.mtu == op->want_mtu && (op->link.flags & IFF_UP))
			return 1;
		nlh = msg_link_set(buf, op->link.ifindex, op->link.mtu == op->want_mtu ? 0 : op->want_mtu,
		                   true);
		op->step = ST_SET;
		return op_submit(op, nlh);
	case ST_CREATE:
		/* EEXIST: someone created it between our GET and NEWLINK; adopt it. */
		if (err < 0 && err != -EEXIST) {
			if (err == -EOPNOTSUPP)
				log_err(nl_log(op->rt->nl),
				        "rtnl: the kernel cannot create links of kind '%s' "
				        "(module not loaded?)",
				        op->want_kind);
			return err;
		}
		op->created = err == 0;
		op->got_link = false;
		op->step = ST_REGET;
		return op_submit(op, msg_link_get(buf, op->want_name));
	case ST_SET:
		if (err < 0)
			return err;
		op->link.mtu = op->want_mtu;
		op->link.flags |= IFF_UP;
		return 1;
	}
	return -EINVAL;
}

static void op_done(void *ud, int err)
{
	struct rtnl_op *op = ud;

	if (op->kind == OP_LINK_ENSURE || op->kind == OP_LINK_GET) {
		int r = ensure_next(op, err);

		if (r != 0)
			op_complete(op, r < 0 ? r : 0);
		return;
	}
	if (err == op->ignore_err)
		err = 0;
	op_complete(op, err);
}

static const struct nl_req_ops op_nl_ops = {
    .msg = op_msg,
    .restart = op_restart,
    .done = op_done,
};

/* ---- public ---- */

int rtnl_new_on(struct nl_sock *nl, struct rtnl **out)
{
	struct rtnl *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	rt->nl = nl;
	*out = rt;
	return 0;
}

int rtnl_new(struct reactor *r, const struct wlog *log, struct rtnl **out)
{
	struct nl_sock *nl;
	struct rtnl *rt;
	int ret = nl_open(r, log, NETLINK_ROUTE, &nl);

	if (ret < 0)
		return ret;
	ret = rtnl_new_on(nl, &rt);
	if (ret < 0) {
		nl_close(nl);
		return ret;
	}
	rt->own_nl = true;
	*out = rt;
	return 0;
}

void rtnl_free(struct rtnl *rt)
{
	if (!rt)
		return;
	while (rt->ops) {
		struct rtnl_op *op = rt->ops;

		nl_cancel(rt->nl, op);
		op_unlink_free(op);
	}
	if (rt->own_nl)
		nl_close(rt->nl);
	free(rt);
}

static bool name_ok(const char *n)
{
	size_t l = n ? strlen(n) : 0;

	return l > 0 && l < RTNL_IFNAMSIZ && !strchr(n, '/');
}

static int link_get_or_ensure(struct rtnl *rt, const char *ifname, const char *kind, uint32_t mtu,
                              rtnl_link_cb cb, void *ud, enum op_kind k)
{
	uint8_t buf[NL_MSG_BUF];
	struct rtnl_op *op;

	if (!name_ok(ifname) || (kind && strlen(kind) >= RTNL_KINDSIZ))
		return -EINVAL;
	op = op_new(rt, k, ud);
	if (!op)
		return -ENOMEM;
	op->cb.link = cb;
	strcpy(op->want_name, ifname);
	if (kind) {
		strcpy(op->want_kind, kind);
		op->has_kind = true;
	}
	op->want_mtu = mtu ? mtu : RTNL_DEFAULT_MTU;
	op->step = ST_GET;
	return op_start(op, msg_link_get(buf, ifname));
}

int rtnl_link_get(struct rtnl *rt, const char *ifname, rtnl_link_cb cb, void *ud)
{
	return link_get_or_ensure(rt, ifname, NULL, 0, cb, ud, OP_LINK_GET);
}

int rtnl_link_ensure(struct rtnl *rt, const char *ifname, const char *kind, uint32_t mtu, rtnl_link_cb cb,
                     void *ud)
{
	return link_get_or_ensure(rt, ifname, kind, mtu, cb, ud, OP_LINK_ENSURE);
}

int rtnl_link_list(struct rtnl *rt, const char *kind, rtnl_link_list_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl_op *op;

	if (kind && strlen(kind) >= RTNL_KINDSIZ)
		return -EINVAL;
	op = op_new(rt, OP_LINK_LIST, ud);
	if (!op)
		return -ENOMEM;
	op->cb.links = cb;
	if (kind) {
		strcpy(op->want_kind, kind);
		op->has_kind = true;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return op_start(op, nlh);
}

static struct rtnl_op *done_op(struct rtnl *rt, rtnl_done_cb cb, void *ud, int ignore)
{
	struct rtnl_op *op = op_new(rt, OP_DONE, ud);

	if (op) {
		op->cb.done = cb;
		op->ignore_err = ignore;
	}
	return op;
}

int rtnl_link_set(struct rtnl *rt, uint32_t ifindex, uint32_t mtu, bool up, rtnl_done_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct rtnl_op *op;

	if (!ifindex)
		return -EINVAL;
	op = done_op(rt, cb, ud, 1);
	if (!op)
		return -ENOMEM;
	return op_start(op, msg_link_set(buf, ifindex, mtu, up));
}

int rtnl_link_del(struct rtnl *rt, const char *ifname, rtnl_done_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct rtnl_op *op;

	if (!name_ok(ifname))
		return -EINVAL;
	op = done_op(rt, cb, ud, -ENODEV);
	if (!op)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return op_start(op, nlh);
}

static int addr_check(const struct rtnl_addr *a)
{
	if (!a || !a->ifindex)
		return -EINVAL;
	if (a->family == AF_INET)
		return a->prefixlen <= 32 ? 4 : -EINVAL;
	if (a->family == AF_INET6)
		return a->prefixlen <= 128 ? 16 : -EINVAL;
	return -EAFNOSUPPORT;
}

static int addr_op(struct rtnl *rt, const struct rtnl_addr *a, bool add, rtnl_done_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct rtnl_op *op;
	int alen = addr_check(a);

	if (alen < 0)
		return alen;
	/* Deleting an absent address: EADDRNOTAVAIL. */
	op = done_op(rt, cb, ud, add ? 1 : -EADDRNOTAVAIL);
	if (!op)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	/* CREATE|REPLACE: re-adding an existing address succeeds. */
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = a->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, (size_t)alen, a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, (size_t)alen, a->addr);
	if (add && a->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD); /* usable at once */
	return op_start(op, nlh);
}

int rtnl_addr_add(struct rtnl *rt, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return addr_op(rt, a, true, cb, ud);
}

int rtnl_addr_del(struct rtnl *rt, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return addr_op(rt, a, false, cb, ud);
}

int rtnl_addr_list(struct rtnl *rt, uint32_t ifindex, int family, rtnl_addr_list_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct rtnl_op *op;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	op = op_new(rt, OP_ADDR_LIST, ud);
	if (!op)
		return -ENOMEM;
	op->cb.list = cb;
	op->filter_ifindex = ifindex;
	op->filter_family = family;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	return op_start(op, nlh);
}

static int route_op(struct rtnl *rt, const struct rtnl_addr *p, bool add, rtnl_done_cb cb, void *ud)
{
	uint8_t buf[NL_MSG_BUF];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct rtnl_op *op;
	uint8_t dst[16];
	int alen = addr_check(p);

	if (alen < 0)
		return alen;
	op = done_op(rt, cb, ud, add ? 1 : -ESRCH);
	if (!op)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = p->family;
	rtm->rtm_dst_len = p->prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	/* The kernel refuses a destination with host bits set. */
	memcpy(dst, p->addr, (size_t)alen);
	for (int i = 0; i < alen; i++) {
		int keep = (int)p->prefixlen - i * 8;

		if (keep <= 0)
			dst[i] = 0;
		else if (keep < 8)
			dst[i] &= (uint8_t)(0xff << (8 - keep));
	}
	mnl_attr_put(nlh, RTA_DST, (size_t)alen, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, p->ifindex);
	return op_start(op, nlh);
}

int rtnl_route_add(struct rtnl *rt, const struct rtnl_addr *prefix, rtnl_done_cb cb, void *ud)
{
	return route_op(rt, prefix, true, cb, ud);
}

int rtnl_route_del(struct rtnl *rt, const struct rtnl_addr *prefix, rtnl_done_cb cb, void *ud)
{
	return route_op(rt, prefix, false, cb, ud);
}
