/* SPDX-License-Identifier: MIT */
/*
 * What every public header shares: return codes (error.h), log levels
 * (log.h), the WireGuard backend choice, text sizes, the version and the one
 * deallocator for memory the library hands out. Conventions: docs/api.md.
 */
#ifndef W2WESHER_COMMON_H
#define W2WESHER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/error.h>
#include <w2wesher/log.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>

/* Text sizes including the NUL: a WireGuard key in base64 (44 characters), a
 * libp2p peer ID ("12D3KooW..." is 52; RSA-derived IDs are longer). */
#define W2W_WG_KEY_TEXT_MAX 45
#define W2W_PEER_ID_TEXT_MAX 96

/* Which WireGuard implementation drives an interface (docs/wireguard.md). */
enum w2w_backend {
	W2W_BACKEND_AUTO = 0,
	W2W_BACKEND_KERNEL = 1,    /* the wireguard.ko genetlink family */
	W2W_BACKEND_USERSPACE = 2, /* wireguard-go (any xplatform UAPI implementation) */
};

/* "0.1.0"; the version of the library actually loaded. */
W2W_EXPORT const char *w2w_version(void);

/* Frees memory that a w2w_* function documents as "free with w2w_free()".
 * NULL is accepted. Never use it on objects that have their own _free(). */
W2W_EXPORT void w2w_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
