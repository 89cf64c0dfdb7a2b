/* SPDX-License-Identifier: MIT */
/*
 * WireGuard Curve25519 keys, byte-compatible with wireguard-tools: `wg
 * genkey` is 32 random bytes clamped (k[0] &= 248; k[31] &= 127; k[31] |= 64),
 * `wg pubkey` is X25519(k, 9). Text is standard base64 (44 characters).
 * Callers keep private keys in secure memory (secmem.h).
 */
#ifndef W2W_CRYPTO_WGKEY_H
#define W2W_CRYPTO_WGKEY_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44 /* characters, without NUL */
#define WG_KEY_HEX_LEN 64 /* characters, without NUL (the UAPI form) */

/* Clamps a Curve25519 private scalar in place, as `wg genkey` does. */
void wgkey_clamp(uint8_t k[WG_KEY_LEN]);
/* Random clamped private key from r (NULL = system RNG). */
void wgkey_generate(uint8_t priv[WG_KEY_LEN], const struct rng *r);
/* Public key of a private key. 0, or W2W_EPARSE if the result would be all zero. */
int wgkey_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);
/* Text forms. Keys are secrets: encoded and decoded in constant time
 * (libsodium's sodium_bin2base64/base642bin, bin2hex/hex2bin), never through
 * the general codec, whose table lookups branch on the data. */
/* 44 base64 characters and a NUL into out (room for 45). */
void wgkey_to_b64(char out[WG_KEY_B64_LEN + 1], const uint8_t k[WG_KEY_LEN]);
/* Exactly 44 characters of strict base64 encoding 32 bytes, decoded in
 * constant time (secret_from_b64). 0 or W2W_EPARSE. */
int wgkey_from_b64(uint8_t k[WG_KEY_LEN], const char *s, size_t len);
/* 64 lowercase hex digits and a NUL into out (room for 65). */
void wgkey_to_hex(char out[WG_KEY_HEX_LEN + 1], const uint8_t k[WG_KEY_LEN]);
/* Exactly 64 hex digits (either case). 0 or W2W_EPARSE. */
int wgkey_from_hex(uint8_t k[WG_KEY_LEN], const char *s, size_t len);

#endif
