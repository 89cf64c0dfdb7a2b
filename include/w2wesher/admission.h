/* SPDX-License-Identifier: MIT */
/*
 * Admission control (docs/security.md "Admission mode", docs/mesh.md
 * "Admission"): an operator Ed25519 key signs, offline, a token per admitted
 * node and revocations; nodes configured with `[P2P] AdmissionKey` accept only
 * peers whose token verifies.
 *
 * Text forms, like the other keys: the operator private key is the base64 of
 * its 32-byte Ed25519 seed (a secret: wipe buffers with w2w_wipe()), the
 * public key the base64 of 32 bytes, tokens and revocations base64 of a
 * signed blob (lib/crypto/admission.h gives the layout). Functions return the
 * text length, -ENOSPC when cap is too small, W2W_EPARSE for malformed input
 * (key, peer ID, name), -ENOMEM.
 */
#ifndef W2WESHER_ADMISSION_H
#define W2WESHER_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/export.h>

enum {
	W2W_ADMISSION_KEY_TEXT_MAX = 45, /* a key and a NUL */
	W2W_ADMISSION_TEXT_MAX = 272,    /* a token or revocation and a NUL */
};

/* A new operator private key (base64 of a random 32-byte seed). */
W2W_EXPORT int w2w_admission_genkey(char *out, size_t cap);
/* Its public key (the value of [P2P] AdmissionKey). */
W2W_EXPORT int w2w_admission_pubkey(char *out, size_t cap, const char *key);
/*
 * A token admitting peer_id ("12D3KooW..."), valid from not_before until
 * expires (Unix seconds; expires 0: never), with an optional name (printable
 * ASCII, at most 64 bytes; NULL or "" for none; informative).
 */
W2W_EXPORT int w2w_admission_sign(char *out, size_t cap, const char *key, const char *peer_id,
                                  const char *name, int64_t not_before, int64_t expires);
/* A revocation of peer_id made at `when` (Unix seconds). */
W2W_EXPORT int w2w_admission_revoke(char *out, size_t cap, const char *key, const char *peer_id,
                                    int64_t when);
/*
 * Reads a token or revocation (no signature check): writes the peer ID into
 * peer_out (cap bytes) and sets *kind (1 token, 2 revocation), *not_before
 * (revocation: when made) and *expires. Returns 0, W2W_EPARSE, -ENOSPC.
 */
W2W_EXPORT int w2w_admission_inspect(const char *text, int *kind, char *peer_out, size_t cap,
                                     int64_t *not_before, int64_t *expires);

#ifdef __cplusplus
}
#endif

#endif
