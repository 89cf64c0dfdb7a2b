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

#include <w2wesher/common.h>
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



#ifdef __cplusplus
}
#endif
#endif
