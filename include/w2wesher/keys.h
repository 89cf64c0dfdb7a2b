/* SPDX-License-Identifier: MIT */
/*
 * Keys and identities for tools: WireGuard keys exactly as `wg genkey` and
 * `wg pubkey` make them, libp2p private-network keys (swarm.key) and libp2p
 * Ed25519 identities (the PrivateKey protobuf go-libp2p and js-libp2p store).
 *
 * Output buffers that receive a secret are the caller's to protect: wipe
 * them with w2w_wipe() when done.
 */
#ifndef W2WESHER_KEYS_H
#define W2WESHER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/common.h>
#include <w2wesher/export.h>

#define W2W_SWARM_KEY_TEXT_MAX 128 /* a swarm.key file and a NUL */
#define W2W_IDENTITY_LEN 68        /* Ed25519 PrivateKey protobuf as written */
#define W2W_IDENTITY_MAX 100       /* longest accepted (the legacy 96-byte key data form) */

/* New WireGuard private key (clamped), base64 with NUL. Returns 44 or W2W_ELIMIT. */
W2W_EXPORT int w2w_wg_genkey(char *out, size_t cap);
/*
 * Public key of a base64 private key (exactly 44 characters; the caller trims
 * whitespace). Returns 44, W2W_EPARSE for a malformed key, W2W_ELIMIT.
 */
W2W_EXPORT int w2w_wg_pubkey(char *out, size_t cap, const char *priv, size_t len);
/* New random 32-byte PSK as swarm.key text (/key/swarm/psk/1.0.0/ /base16/ hex). Returns its length. */
W2W_EXPORT int w2w_swarm_key_generate(char *out, size_t cap);
/* New Ed25519 identity as a PrivateKey protobuf. Returns 68 or W2W_ELIMIT. */
W2W_EXPORT int w2w_identity_generate(uint8_t *out, size_t cap);
/*
 * Validates a PrivateKey protobuf (Ed25519) and writes its peer ID
 * ("12D3KooW...") with NUL. Returns the text length, W2W_EPARSE, W2W_ELIMIT.
 */
W2W_EXPORT int w2w_identity_peer_id(const uint8_t *pb, size_t len, char *out, size_t cap);
/* Standard padded base64 with NUL. Returns the text length or W2W_ELIMIT. */
W2W_EXPORT int w2w_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len);
/* Zeroes memory in a way the compiler keeps. */
W2W_EXPORT void w2w_wipe(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
