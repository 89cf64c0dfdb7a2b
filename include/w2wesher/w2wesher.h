/* SPDX-License-Identifier: MIT */
/*
 * libw2wesher — WireGuard full mesh over libp2p gossipsub.
 *
 * Conventions (docs/api.md):
 *  - int returns: >= 0 success; negative errno for OS failures; library codes
 *    in the W2W_E* band (below -1000). w2w_strerror() describes both.
 *  - Outputs are written only on success. Destructors accept NULL.
 *  - The library never blocks, never sleeps, never owns a thread and never
 *    prints: the host drives it through the event-loop contract.
 */
#ifndef W2WESHER_H
#define W2WESHER_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/loop.h>
#include <w2wesher/config.h>
#include <w2wesher/keys.h>
#include <w2wesher/node.h>
#include <w2wesher/p2p.h>
#include <w2wesher/wg.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>

/* Library error codes (negative band below any errno). */
enum {
	W2W_EBASE = -1000,
	W2W_EPARSE = -1001,     /* malformed input (config, key, address, message) */
	W2W_EPROTO = -1002,     /* peer violated a protocol */
	W2W_EAUTH = -1003,      /* authentication/signature/peer-ID mismatch */
	W2W_ELIMIT = -1004,     /* a configured resource limit was hit */
	W2W_ESTATE = -1005,     /* call not valid in the object's current state */
	W2W_ETIMEDOUT = -1006,  /* a protocol deadline passed */
	W2W_ECLOSED = -1007,    /* the peer closed the connection/stream */
	W2W_ELAST = -1099,
};

/* "0.1.0"; the version of the library actually loaded. */
W2W_EXPORT const char *w2w_version(void);

/* Describes a return code: a negative errno or a W2W_E* code. Never NULL. */
W2W_EXPORT const char *w2w_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
