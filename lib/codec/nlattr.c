/* SPDX-License-Identifier: MIT */
/* Netlink attribute validation and the genetlink controller messages (see nlattr.h). */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>

#include "err.h"
#include "nlattr.h"

/* ---- attributes ---- */

static int check_policy(const struct nlattr *a, const struct nl_policy *p)
{
	size_t plen = mnl_attr_get_payload_len(a);

	switch (p->type) {
	case MNL_TYPE_UNSPEC:
		return 0;
	case MNL_TYPE_BINARY:
		if (p->len && plen != p->len)
			return -1;
		if (plen < p->minlen)
			return -1;
		return 0;
	case MNL_TYPE_STRING:
	case MNL_TYPE_NUL_STRING:
		if (mnl_attr_validate(a, (enum mnl_attr_data_type)p->type) < 0)
			return -1;
		return plen < p->minlen ? -1 : 0;
	default:
		return mnl_attr_validate(a, (enum mnl_attr_data_type)p->type) < 0 ? -1 : 0;
	}
}

int nl_attr_parse(const void *buf, size_t len, const struct nl_policy *pol, uint16_t maxtype,
                  const struct nlattr **tb)
{
	const struct nlattr *a = buf;
	int left;

	if (len > INT32_MAX)
		return W2W_EPARSE;
	left = (int)len;
	memset(tb, 0, sizeof(*tb) * ((size_t)maxtype + 1));
	while (mnl_attr_ok(a, left)) {
		uint16_t type = mnl_attr_get_type(a);

		if (type <= maxtype && pol[type].type != MNL_TYPE_UNSPEC) {
			if (check_policy(a, &pol[type]) < 0)
				return W2W_EPARSE;
			tb[type] = a;
		}
		left -= MNL_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const uint8_t *)a + MNL_ALIGN(a->nla_len));
	}
	/* mnl_attr_ok() stops silently at a truncated attribute: that is an error. */
	return left > 0 ? W2W_EPARSE : 0;
}

int nl_attr_parse_nested(const struct nlattr *nest, const struct nl_policy *pol, uint16_t maxtype,
                         const struct nlattr **tb)
{
	return nl_attr_parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), pol, maxtype, tb);
}

int nl_attr_parse_msg(const struct nlmsghdr *nlh, size_t hdrlen, const struct nl_policy *pol,
                      uint16_t maxtype, const struct nlattr **tb)
{
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off = MNL_ALIGN(hdrlen);

	if (nlh->nlmsg_len < sizeof(*nlh) || plen < hdrlen)
		return W2W_EPARSE;
	if (off > plen)
		off = plen;
	return nl_attr_parse((const uint8_t *)mnl_nlmsg_get_payload(nlh) + off, plen - off, pol, maxtype, tb);
}

int nl_nest_foreach(const struct nlattr *nest, int (*fn)(void *ud, const struct nlattr *a), void *ud)
{
	const struct nlattr *a = mnl_attr_get_payload(nest);
	int left = (int)mnl_attr_get_payload_len(nest);

	while (mnl_attr_ok(a, left)) {
		int r;

		/* Every element of an array is itself a nest. */
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return W2W_EPARSE;
		r = fn(ud, a);
		if (r < 0)
			return r;
		left -= MNL_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const uint8_t *)a + MNL_ALIGN(a->nla_len));
	}
	return left > 0 ? W2W_EPARSE : 0;
}

/* ---- generic netlink controller ---- */

struct nlmsghdr *nl_genl_family_msg(void *buf, const char *name)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (!name || strlen(name) >= GENL_NAMSIZ)
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	return nlh;
}

int nl_genl_family_parse(const struct nlmsghdr *nlh, uint16_t *id)
{
	static const struct nl_policy pol[CTRL_ATTR_FAMILY_NAME + 1] = {
	    [CTRL_ATTR_FAMILY_ID] = {.type = MNL_TYPE_U16},
	    [CTRL_ATTR_FAMILY_NAME] = {.type = MNL_TYPE_NUL_STRING},
	};
	const struct nlattr *tb[CTRL_ATTR_FAMILY_NAME + 1];

	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return W2W_EPARSE;
	if (nl_attr_parse_msg(nlh, sizeof(struct genlmsghdr), pol, CTRL_ATTR_FAMILY_NAME, tb) < 0)
		return W2W_EPARSE;
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return W2W_EPARSE;
	*id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}
