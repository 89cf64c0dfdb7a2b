/* SPDX-License-Identifier: MIT */
/* Public key helpers for tools (include/w2wesher/keys.h). */
#include <string.h>

#include "w2wesher/keys.h"

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

	if (!out || cap < WG_KEY_B64_LEN + 1)
		return -ENOSPC;
	if (secmem_init() < 0 || !(k = secure_alloc(WG_KEY_LEN)))
		return -ENOMEM;
	wgkey_generate(k, NULL);
	wgkey_to_b64(out, k);
	secure_free(k);
	return WG_KEY_B64_LEN;
}

int w2w_wg_pubkey(char *out, size_t cap, const char *priv)
{
	uint8_t *k, pub[WG_KEY_LEN];
	int rc;

	if (!priv)
		return W2W_EPARSE;
	if (!out || cap < WG_KEY_B64_LEN + 1)
		return -ENOSPC;
	if (secmem_init() < 0 || !(k = secure_alloc(WG_KEY_LEN)))
		return -ENOMEM;
	rc = wgkey_from_b64(k, priv, strlen(priv));
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

	if (!out || cap < SWARMKEY_TEXT_LEN + 1)
		return -ENOSPC;
	if (secmem_init() < 0 || !(k = secure_alloc(SWARMKEY_LEN)))
		return -ENOMEM;
	rng_fill(NULL, k, SWARMKEY_LEN);
	rc = swarmkey_format(out, cap, k);
	secure_free(k);
	return rc;
}

int w2w_identity_generate(char *out, size_t cap)
{
	struct ident *id = NULL;
	uint8_t pb[IDENT_PRIVPB_LEN];
	int rc;

	if (secmem_init() < 0)
		return -ENOMEM;
	rc = ident_new(&id, NULL);
	if (rc < 0)
		return rc;
	rc = ident_to_privkey_pb(id, pb, sizeof(pb));
	ident_free(id);
	if (rc >= 0)
		rc = secret_to_b64(out, out ? cap : 0, pb, (size_t)rc);
	secure_wipe(pb, sizeof(pb));
	return rc == W2W_ELIMIT ? -ENOSPC : rc;
}

int w2w_identity_peer_id(char *out, size_t cap, const char *key)
{
	struct ident *id = NULL;
	int rc;

	rc = key ? ident_from_privkey_b64(&id, key, strlen(key)) : W2W_EPARSE;
	if (rc < 0)
		return rc;
	rc = peerid_to_b58(out, out ? cap : 0, ident_peerid(id));
	ident_free(id);
	return rc == W2W_ELIMIT ? -ENOSPC : rc;
}

int w2w_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
	int rc = secret_to_b64(out, out ? cap : 0, in, len);

	return rc == W2W_ELIMIT ? -ENOSPC : rc;
}

int w2w_base64_decode(uint8_t *out, size_t cap, const char *text)
{
	int rc;

	if (!text)
		return W2W_EPARSE;
	rc = secret_from_b64(out, out ? cap : 0, text, strlen(text));
	return rc == W2W_ELIMIT ? -ENOSPC : rc;
}

void w2w_wipe(void *p, size_t len)
{
	secure_wipe(p, len);
}
