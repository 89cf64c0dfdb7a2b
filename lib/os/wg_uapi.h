/* SPDX-License-Identifier: MIT */
/*
 * The userspace WireGuard backend: the cross-platform UAPI text protocol
 * (wireguard.com/xplatform) spoken by wireguard-go over the unix socket
 * <sockdir>/<iface>.sock (sockdir = /var/run/wireguard). One connection per
 * operation, like wg(8); the socket is non-blocking and driven by the reactor.
 * create_device adopts a running implementation (its socket accepts) or
 * starts one (wg_spawn.h); forget_device ends the one this backend started.
 *
 * Protocol codec: lib/wg/wguapi.h.
 */
#ifndef W2W_OS_WG_UAPI_H
#define W2W_OS_WG_UAPI_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "wguapi.h"
#include "wgbackend.h"

#define WG_UAPI_SOCKDIR "/var/run/wireguard"

/* sockdir NULL = WG_UAPI_SOCKDIR (tests pass a private directory). */
int wg_uapi_new(struct reactor *r, const struct wlog *log, const char *sockdir, struct wgbackend **out);


/* The implementation create_device starts (wg_spawn.h) when no socket
 * answers: exe NULL or "" = "wireguard-go" from PATH. 0 or -ENOMEM. */
int wg_uapi_set_exe(struct wgbackend *be, const char *exe);

#endif
