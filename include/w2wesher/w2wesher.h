/* SPDX-License-Identifier: MIT */
/*
 * libw2wesher — WireGuard full mesh over libp2p gossipsub.
 *
 * Conventions (docs/api.md, "Conventions"):
 *  - int returns: >= 0 success; negative errno for OS failures; library codes
 *    in the W2W_E* band (below -1000). w2w_strerror() describes both. Every
 *    function documents its codes in its header.
 *  - Constructors: int w2w_<obj>_new(struct w2w_<obj> **ret, ...), *ret
 *    written only on success. Destructors accept NULL and return NULL.
 *  - Text into a caller's buffer: its length, or -ENOSPC. An index past the
 *    end: -ERANGE (int functions) or NULL (pointer getters). What the library
 *    allocates for the caller is freed with w2w_free().
 *  - Keys are text (base64, swarm.key), decoded in constant time.
 *  - Events come through a callback given at construction, logs through
 *    w2w_<obj>_set_log(); from a log callback every mutating call is -EBUSY.
 *  - The library never sleeps, never owns a thread and never prints: the host
 *    drives it through the event-loop contract (loop.h).
 */
#ifndef W2WESHER_H
#define W2WESHER_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/common.h>
#include <w2wesher/loop.h>
#include <w2wesher/config.h>
#include <w2wesher/keys.h>
#include <w2wesher/admission.h>
#include <w2wesher/node.h>
#include <w2wesher/p2p.h>
#include <w2wesher/wg.h>
#include <w2wesher/ipam.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>



#ifdef __cplusplus
}
#endif
#endif
