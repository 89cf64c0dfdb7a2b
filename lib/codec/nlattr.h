/* SPDX-License-Identifier: MIT */
/*
 * Netlink message codec, no I/O: bounds checks, attribute validation against
 * a policy, and the generic netlink controller's family lookup message. Used
 * by the rtnetlink and WireGuard genetlink codecs (lib/wg/wggenl.h) and by
 * the socket engine (lib/os/nl.h). Every received attribute is validated here
 * before use.
 */
#ifndef W2W_CODEC_NLATTR_H
#define W2W_CODEC_NLATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* Size of the buffers requests are built in: one page, like wireguard-tools
 * (min(page size, 8192)); the kernel answers dumps in parts of this order. */
#define NL_MSG_BUF 4096
/* Largest request nl_submit() accepts. */
#define NL_MAX_MSG 65536

/* Bounds check of the next message in a datagram of `left` bytes. Use this,
 * not mnl_nlmsg_ok(): that one casts nlmsg_len to int, so a length above
 * INT_MAX passes and the walk jumps out of the buffer (found by fuzzing). */
static inline bool nl_msg_ok(const struct nlmsghdr *nlh, int left)
{
	return left >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned)left;
}

/*
 * Attribute validation. A policy entry per attribute type: the libmnl type to
 * validate with, and for MNL_TYPE_BINARY / MNL_TYPE_STRING an exact (len > 0)
 * or minimum (minlen) payload size. Types beyond maxtype and policy entries with
 * type MNL_TYPE_UNSPEC and no length are skipped (unknown attributes from newer
 * kernels are not an error). tb[0..maxtype] receives the last occurrence of
 * each known attribute.
 */
struct nl_policy {
	uint8_t type;    /* enum mnl_attr_data_type; 0 = ignore */
	uint16_t len;    /* exact payload length (BINARY) */
	uint16_t minlen; /* minimum payload length (BINARY, STRING) */
};

/* Parses the attributes in [buf, buf+len) (already past any fixed header).
 * Returns 0, or W2W_EPARSE on a truncated attribute, trailing garbage or an
 * attribute failing its policy. */
int nl_attr_parse(const void *buf, size_t len, const struct nl_policy *pol, uint16_t maxtype,
                  const struct nlattr **tb);
/* Same over a nested attribute's payload. */
int nl_attr_parse_nested(const struct nlattr *nest, const struct nl_policy *pol, uint16_t maxtype,
                         const struct nlattr **tb);
/* Same over a message's payload after a fixed header of hdrlen bytes; W2W_EPARSE
 * when the message is shorter than the header. */
int nl_attr_parse_msg(const struct nlmsghdr *nlh, size_t hdrlen, const struct nl_policy *pol,
                      uint16_t maxtype, const struct nlattr **tb);

/* Iterates the nested attributes of nest (an array such as WGDEVICE_A_PEERS).
 * fn returns < 0 to stop with that code. W2W_EPARSE on a truncated element or
 * trailing garbage. */
int nl_nest_foreach(const struct nlattr *nest, int (*fn)(void *ud, const struct nlattr *a), void *ud);

/* Generic netlink family lookup (CTRL_CMD_GETFAMILY): builds the request for
 * name into buf (NL_MSG_BUF bytes) and returns it; -EINVAL if name is too long. */
struct nlmsghdr *nl_genl_family_msg(void *buf, const char *name);
/* Parses one reply to that request: 0 and *id, or W2W_EPARSE. The request
 * fails with -ENOENT when the kernel has no such family. */
int nl_genl_family_parse(const struct nlmsghdr *nlh, uint16_t *id);

#endif
