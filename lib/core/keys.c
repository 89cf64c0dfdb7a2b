/* SPDX-License-Identifier: MIT */
/* Public key helpers for tools (include/w2wesher/keys.h). */
#include <string.h>

#include "w2wesher/keys.h"

#include "b64.h"
#include "err.h"
#include "ident.h"
#include "peerid.h"
#include "rng.h"
#include "secmem.h"
#include "swarmkey.h"
#include "wgkey.h"

int w2w_wg_genkey(char *out, size_t cap)
{
	uint8_t *k;

	if (cap < WG_KEY_B64_LEN + 1)
		return W2W_ELIMIT;
	if (secmem_init() < 0 || !(k = secure_alloc(WG_KEY_LEN)))
		return -ENOMEM;
	wgkey_generate(k, NULL);
	wgkey_to_b64(out, k);
	secure_free(k);
	return WG_KEY_B64_LEN;
}

int w2w_wg_pubkey(char *out, size_t cap, const char *priv, size_t len)
{
	uint8_t *k, pub[WG_KEY_LEN];
	int rc;

	if (cap < WG_KEY_B64_LEN + 1)
		return W2W_ELIMIT;
	if (secmem_init() < 0 || !(k = secure_alloc(WG_KEY_LEN)))
		return -ENOMEM;
	rc = wgkey_from_b64(k, priv, len);
	if (rc < 0)
		goto out;
	/* X25519 clamps the scalar itself, so unclamped input gives what `wg pubkey` gives. */
	rc = wgkey_public(pub, k);
	if (rc < 0)
		goto out;
	wgkey_to_b64(out, pub);
	rc = WG_KEY_B64_LEN;
out:
	secure_free(k);
	return rc;
}

int w2w_swarm_key_generate(char *out, size_t cap)
{
	uint8_t *k;
	int rc;

	if (secmem_init() < 0 || !(k = secure_alloc(SWARMKEY_LEN)))
		return -ENOMEM;
	rng_fill(NULL, k, SWARMKEY_LEN);
	rc = swarmkey_format(out, cap, k);
	secure_free(k);
	return rc;
}

int w2w_identity_generate(uint8_t *out, size_t cap)
{
	struct ident *id = NULL;
	int rc;

	if (cap < IDENT_PRIVPB_LEN)
		return W2W_ELIMIT;
	if (secmem_init() < 0)
		return -ENOMEM;
	rc = ident_new(&id, NULL);
	if (rc < 0)
		return rc;
	rc = ident_to_privkey_pb(id, out, cap);
	ident_free(id);
	return rc;
}

int w2w_identity_peer_id(const uint8_t *pb, size_t len, char *out, size_t cap)
{
	struct ident *id = NULL;
	int rc;

	if (secmem_init() < 0)
		return -ENOMEM;
	rc = ident_from_privkey_pb(&id, pb, len);
	if (rc < 0)
		return W2W_EPARSE;
	rc = peerid_to_b58(out, cap, ident_peerid(id));
	ident_free(id);
	return rc;
}

int w2w_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
	return b64_encode(out, cap, in, len);
}

void w2w_wipe(void *p, size_t len)
{
	secure_wipe(p, len);
}
