/* SPDX-License-Identifier: MIT */
/* The admission set (admit.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "err.h"
#include "rd.h"

#define FILE_MAGIC "w2wrv1"

int admit_init(struct admit *a, const uint8_t (*keys)[32], size_t n_keys)
{
	memset(a, 0, sizeof(*a));
	if (n_keys > ADM_MAX_KEYS)
		return W2W_ELIMIT;
	memcpy(a->keys, keys, n_keys * 32);
	a->n_keys = n_keys;
	a->rev = calloc(ADMIT_MAX_REVOKED, sizeof(*a->rev));
	return a->rev ? 0 : -ENOMEM;
}

void admit_fini(struct admit *a)
{
	free(a->rev);
	a->rev = NULL;
	a->n_rev = 0;
}

bool admit_revoked(const struct admit *a, const struct peerid *peer)
{
	for (size_t i = 0; i < a->n_rev; i++)
		if (peerid_eq(&a->rev[i].peer, peer))
			return true;
	return false;
}

int admit_add(struct admit *a, const uint8_t *p, size_t n, struct peerid *peer)
{
	struct adm_obj o;
	struct admit_rev *slot;
	size_t i;

	if (adm_parse(p, n, &o) < 0 || o.kind != ADM_KIND_REVOKE)
		return W2W_EPARSE;
	if (adm_verify(&o, (const uint8_t(*)[32])a->keys, a->n_keys) < 0)
		return W2W_EAUTH;
	if (admit_revoked(a, &o.peer))
		return 0;
	if (a->n_rev < ADMIT_MAX_REVOKED) {
		slot = &a->rev[a->n_rev++];
	} else { /* full: replace the oldest-made one (bounded memory against a key holder's flood) */
		slot = &a->rev[0];
		for (i = 1; i < a->n_rev; i++)
			if (a->rev[i].made_s < slot->made_s)
				slot = &a->rev[i];
	}
	slot->peer = o.peer;
	slot->made_s = o.t_a;
	slot->len = (uint8_t)n;
	memcpy(slot->raw, p, n);
	a->gen++;
	if (peer)
		*peer = o.peer;
	return 1;
}

int admit_check(const struct admit *a, const struct peerid *peer, const uint8_t *tok, size_t n,
                uint64_t now_s, uint64_t *expires, const char **why)
{
	if (admit_revoked(a, peer)) {
		*why = "revoked";
		return W2W_EAUTH;
	}
	return adm_check_token(tok, n, peer, now_s, (const uint8_t(*)[32])a->keys, a->n_keys, expires, why);
}

int admit_encode(const struct admit *a, struct buf *out)
{
	int r = buf_append(out, FILE_MAGIC, strlen(FILE_MAGIC));

	for (size_t i = 0; r >= 0 && i < a->n_rev; i++) {
		r = buf_append_u8(out, a->rev[i].len);
		if (r >= 0)
			r = buf_append(out, a->rev[i].raw, a->rev[i].len);
	}
	return r < 0 ? r : 0;
}

int admit_load(struct admit *a, const uint8_t *p, size_t n)
{
	struct rd r;
	const uint8_t *m;
	int added = 0;

	rd_init(&r, p, n);
	m = rd_take(&r, strlen(FILE_MAGIC));
	if (!m || memcmp(m, FILE_MAGIC, strlen(FILE_MAGIC)))
		return W2W_EPARSE;
	while (!rd_eof(&r)) {
		uint8_t l = rd_u8(&r);
		const uint8_t *b = rd_take(&r, l);

		if (!rd_ok(&r) || !b)
			break;
		if (admit_add(a, b, l, NULL) == 1)
			added++;
	}
	return added;
}
