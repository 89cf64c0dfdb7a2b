/* SPDX-License-Identifier: MIT */
/*
 * Return codes of every libw2wesher function (docs/api.md, "Errors"):
 *  - >= 0: success;
 *  - negative errno (-ENOMEM, -EINVAL, -ENODEV, ...): an OS-level or argument failure;
 *  - W2W_E*: the library's own band, below any errno.
 * w2w_strerror() describes both. Every public header that documents a W2W_E*
 * return includes this one.
 */
#ifndef W2WESHER_ERROR_H
#define W2WESHER_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>

enum {
	W2W_EBASE = -1000,
	W2W_EPARSE = -1001,     /* malformed input (config, key, address, message) */
	W2W_EPROTO = -1002,     /* peer violated a protocol */
	W2W_EAUTH = -1003,      /* authentication/signature/peer-ID mismatch */
	W2W_ELIMIT = -1004,     /* a configured resource limit was hit */
	W2W_ESTATE = -1005,     /* call not valid in the object's current state */
	W2W_ETIMEDOUT = -1006,  /* a protocol deadline passed */
	W2W_ECLOSED = -1007,    /* the peer closed the connection/stream */
	W2W_EPSK = -1008,       /* private network: the peer uses another swarm key (PSK) */
	W2W_ELAST = -1099,
};

/* Describes a return code: 0 ("success"), a negative errno or a W2W_E* code.
 * Never NULL; the string is static. */
W2W_EXPORT const char *w2w_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
