/* SPDX-License-Identifier: MIT */
/*
 * Keys and identities for tools: WireGuard keys exactly as `wg genkey` and
 * `wg pubkey` make them, libp2p private-network keys (swarm.key) and libp2p
 * Ed25519 identities (the PrivateKey protobuf go-libp2p and js-libp2p store).
 *
 * Every key crosses this API as text, in the form the config file and wg(8)
 * use: standard padded base64 (WireGuard keys, PSK, the identity protobuf) or
 * swarm.key text. The library decodes and encodes secrets in constant time
 * (libsodium), never through a general-purpose codec.
 *
 * Text outputs are NUL-terminated; functions return the text length, or
 * -ENOSPC when cap is too small (nothing useful is written then). Output
 * buffers that receive a secret are the caller's to protect: wipe them with
 * w2w_wipe() when done.
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

enum {
	W2W_SWARM_KEY_TEXT_MAX = 128, /* a swarm.key file and a NUL */
	/* base64 of the longest accepted identity (the 100-byte legacy form) and a
	 * NUL; a generated identity is 92 characters (68 bytes). */
	W2W_IDENTITY_TEXT_MAX = 137,
};

/* New WireGuard private key (clamped), base64. Returns 44, -ENOSPC, -ENOMEM. */
W2W_EXPORT int w2w_wg_genkey(char *out, size_t cap);
/*
 * Public key of a base64 private key (exactly 44 characters, NUL-terminated;
 * the caller trims whitespace). Returns 44, W2W_EPARSE for a malformed key,
 * -ENOSPC, -ENOMEM.
 */
W2W_EXPORT int w2w_wg_pubkey(char *out, size_t cap, const char *priv);
/* New random 32-byte PSK as swarm.key text (/key/swarm/psk/1.0.0/ /base16/
 * lowercase hex, final newline). Returns its length (96), -ENOSPC, -ENOMEM. */
W2W_EXPORT int w2w_swarm_key_generate(char *out, size_t cap);
/* New Ed25519 identity: the PrivateKey protobuf in base64 (the value of
 * [P2P] PrivateKey). Returns 92, -ENOSPC, -ENOMEM. */
W2W_EXPORT int w2w_identity_generate(char *out, size_t cap);
/*
 * Validates an identity (PrivateKey protobuf, Ed25519, in base64) and writes
 * its peer ID ("12D3KooW..."). Returns the ID's length, W2W_EPARSE, -ENOSPC.
 */
W2W_EXPORT int w2w_identity_peer_id(char *out, size_t cap, const char *key);
/* Standard padded base64 of len bytes, in constant time (fit for secrets:
 * tools use it to turn a raw PrivateKey file into the text this API takes).
 * Returns the text length or -ENOSPC. */
W2W_EXPORT int w2w_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len);
/* The reverse, strict (padding, no whitespace, one spelling per byte string)
 * and in constant time: tools use it to write a PrivateKey file in the raw
 * form go-libp2p and js-libp2p read. Returns the byte count, W2W_EPARSE,
 * -ENOSPC (no partial result is left in out). */
W2W_EXPORT int w2w_base64_decode(uint8_t *out, size_t cap, const char *text);
/* Zeroes memory in a way the compiler keeps. */
W2W_EXPORT void w2w_wipe(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
