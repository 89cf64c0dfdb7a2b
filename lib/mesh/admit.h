/* SPDX-License-Identifier: MIT */
/*
 * The admission set of a node in admission mode (docs/mesh.md "Admission"):
 * the operator public keys it trusts and the revocations it knows. Sans-IO;
 * the caller persists admit_encode()'s bytes and feeds them back with
 * admit_load() (every entry is verified again: the file is not trusted more
 * than the network).
 */
#ifndef W2W_MESH_ADMIT_H
#define W2W_MESH_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "buf.h"
#include "peerid.h"

#define ADMIT_MAX_REVOKED 1024 /* known revocations; beyond, the oldest-made is forgotten */

struct admit_rev {
	struct peerid peer;
	uint64_t made_s;
	uint8_t len;
	uint8_t raw[ADM_MAX_LEN];
};

struct admit {
	uint8_t keys[ADM_MAX_KEYS][32];
	size_t n_keys;
	struct admit_rev *rev; /* ADMIT_MAX_REVOKED slots */
	size_t n_rev;
	uint64_t gen; /* bumped on every new revocation */
};

int admit_init(struct admit *a, const uint8_t (*keys)[32], size_t n_keys);
void admit_fini(struct admit *a);
bool admit_revoked(const struct admit *a, const struct peerid *peer);
/* A revocation from the network or a file: 1 new (*peer set), 0 known already,
 * W2W_EPARSE/W2W_EAUTH (not a revocation signed by one of our keys). */
int admit_add(struct admit *a, const uint8_t *p, size_t n, struct peerid *peer);
/* Token check plus revocation (adm_check_token). */
int admit_check(const struct admit *a, const struct peerid *peer, const uint8_t *tok, size_t n,
                uint64_t now_s, uint64_t *expires, const char **why);
/* The persisted form: "w2wrv1" then per revocation a length byte and the blob. */
int admit_encode(const struct admit *a, struct buf *out);
/* Loads a persisted set (untrusted); returns how many were new, or W2W_EPARSE
 * when the header is wrong (entries before a damaged one are kept). */
int admit_load(struct admit *a, const uint8_t *p, size_t n);

#endif
