/* SPDX-License-Identifier: MIT */
/*
 * The messages of the kernel's WireGuard generic netlink family
 * (linux/wireguard.h), built and parsed without I/O (the socket side is
 * lib/os/wg_kernel.h):
 *
 *  - get_device: WG_CMD_GET_DEVICE is a dump; a device with many peers arrives
 *    in several messages, and one peer's allowed IPs may continue in the next
 *    message (the same public key again): the parts are reassembled into one
 *    struct wgdevice. An interrupted dump (NLM_F_DUMP_INTR) starts over.
 *  - set_device: WG_CMD_SET_DEVICE split into messages of NL_MSG_BUF bytes the
 *    way wireguard-tools' ipc-linux.h splits them: device fields in the first
 *    message only; as many peers per message as fit; a peer whose allowed IPs
 *    do not fit continues in the next message with only its public key (and
 *    UPDATE_ONLY, so a continuation never creates a peer the first part was
 *    told not to create) — never REPLACE_ALLOWEDIPS again, which would drop
 *    the part already sent. Messages go one at a time, each acknowledged; the
 *    first error stops the set and is reported.
 */
#ifndef W2W_WG_WGGENL_H
#define W2W_WG_WGGENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlattr.h"
#include "wgdev.h"

/* Bounds on what one GET_DEVICE may return (the kernel's own peer limit is
 * 1 << 20): memory stays bounded whatever the replies say. */
#define WGK_MAX_PEERS (1u << 20)
#define WGK_MAX_ALLOWEDIPS (1u << 22)

struct wgk_cursor {
	const struct wgpeer *peer;     /* next peer to put; NULL before the first message / when done */
	const struct wgallowedip *aip; /* next allowed IP of peer when it continues */
	bool started;                  /* the first message (device fields) was built */
	unsigned msgs;                 /* messages built so far */
};

/* An interface name the kernel accepts (1..15 bytes, no '/'). */
bool wgk_name_ok(const char *name);
/* Checks a set request before anything is sent: name, allowed IP families and
 * prefix lengths, endpoint families. 0 or -EINVAL. */
int wgk_check_set(const struct wgdevice *dev);
/* Builds the next WG_CMD_SET_DEVICE message for dev into buf (cap bytes, at
 * least 512). Returns 1 with *out set, 0 when everything was sent, -EMSGSIZE
 * when a single peer cannot fit in cap (no progress). */
int wgk_build_set(const struct wgdevice *dev, uint16_t family, struct wgk_cursor *cur, void *buf, size_t cap,
                  struct nlmsghdr **out);

/* Builds the GET_DEVICE dump request for ifname. NULL if the name is invalid. */
struct nlmsghdr *wgk_build_get(void *buf, uint16_t family, const char *ifname);
/* Reassembly state of one dump. */
struct wgk_get_ctx {
	struct wgdevice *dev; /* caller-allocated (wgdev_new) */
	size_t npeers, naips;
};
/* Merges one part of a GET_DEVICE dump into ctx->dev (a peer continuing from
 * the previous part is recognised by its public key). 0, W2W_EPARSE on a
 * malformed message or attribute, W2W_ELIMIT past WGK_MAX_*, -ENOMEM. On error
 * the device holds what was merged so far (the caller drops it). */
int wgk_parse_get(const struct nlmsghdr *nlh, uint16_t family, struct wgk_get_ctx *ctx);
/* Checks the whole reassembled device once the dump ended: a public key may
 * appear only once (a part continues the previous part's last peer, never an
 * earlier one). 0, W2W_EPARSE, -ENOMEM. */
int wgk_get_finish(struct wgk_get_ctx *ctx);

#endif
