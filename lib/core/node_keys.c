/* SPDX-License-Identifier: MIT */
/*
 * WireGuard key rotation, the glue's half (docs/mesh.md "Key rotation"): the
 * key file StateDir/wgkey (mesh/rotate.h), written atomically with mode 0600
 * before the engine uses a key, and read at node creation. The engine decides
 * when; this file only generates, persists and swaps keys.
 *
 * The file is tied to the configured [Wireguard] PrivateKey by its public key
 * (base): a node whose configured key changed since the last rotation uses
 * the configured key (the operator replaced it) and ignores the file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "atomicfile.h"
#include "buf.h"
#include "err.h"
#include "osclock.h"
#include "node_internal.h"
#include "rotate.h"
#include "secmem.h"

static int write_keys(struct w2w_node *n, const uint8_t *cur, const uint8_t *next)
{
	struct rot_keys *k;
	uint8_t *raw;
	int r;

	if (!n->key_path[0])
		return W2W_ESTATE;
	k = secure_alloc(sizeof(*k));
	raw = secure_alloc(ROT_KEYFILE_LEN);
	if (!k || !raw) {
		secure_free(k);
		secure_free(raw);
		return -ENOMEM;
	}
	memcpy(k->base_pub, n->wg_base_pub, 32);
	memcpy(k->cur, cur, 32);
	k->has_next = next != NULL;
	if (next)
		memcpy(k->next, next, 32);
	rot_keyfile_encode(k, raw);
	r = os_mkdir_p(n->state_dir, 0700);
	if (r >= 0)
		r = atomicfile_write(n->key_path, raw, ROT_KEYFILE_LEN, 0600);
	secure_free(k);
	secure_free(raw);
	if (r < 0)
		log_err(&n->log, "cannot write %s: %s", n->key_path, err_str(r));
	return r;
}

void node_keys_load(struct w2w_node *n)
{
	struct rot_keys *k;
	struct buf b;
	int r;

	n->has_resume = false;
	if (!n->key_path[0])
		return;
	k = secure_alloc(sizeof(*k));
	if (!k)
		return;
	buf_init(&b, 0);
	r = atomicfile_read(n->key_path, ROT_KEYFILE_LEN + 1, &b);
	if (r == 0)
		r = rot_keyfile_decode(b.data, b.len, k);
	buf_free_wipe(&b);
	if (r == -ENOENT)
		goto out;
	if (r < 0) {
		/* the configured key is the one peers knew before any rotation */
		log_err(&n->log, "%s is damaged (%s): using the configured WireGuard key", n->key_path, err_str(r));
		goto out;
	}
	if (!wgdev_key_equal(k->base_pub, n->wg_base_pub)) {
		log_info(&n->log, "the configured WireGuard PrivateKey changed since the last rotation: using it, "
				  "not %s", n->key_path);
		goto out;
	}
	if (wgkey_public(n->wg_pub, k->cur) < 0 || (k->has_next && wgkey_public(n->resume_pub, k->next) < 0)) {
		log_err(&n->log, "%s holds an invalid key: using the configured one", n->key_path);
		wgkey_public(n->wg_pub, n->wg_priv);
		goto out;
	}
	memcpy(n->wg_priv, k->cur, 32);
	if (k->has_next) {
		memcpy(n->wg_next, k->next, 32);
		n->has_resume = true;
	}
	wgkey_to_b64(n->wg_pub_b64, n->wg_pub);
	log_info(&n->log, "WireGuard key from %s (rotated)%s", n->key_path,
		 k->has_next ? "; a rotation was under way: resuming it" : "");
out:
	secure_free(k);
}

int node_keys_prepare(void *ud, uint8_t next_pub[32])
{
	struct w2w_node *n = ud;
	int r;

	if (!n->key_path[0]) {
		log_err(&n->log, "key rotation needs a StateDir to persist the new key");
		return W2W_ESTATE;
	}
	wgkey_generate(n->wg_next, NULL);
	r = wgkey_public(next_pub, n->wg_next);
	if (r >= 0)
		r = write_keys(n, n->wg_priv, n->wg_next);
	if (r < 0)
		secure_wipe(n->wg_next, 32);
	return r;
}

int node_keys_commit(void *ud)
{
	struct w2w_node *n = ud;
	int r = write_keys(n, n->wg_next, NULL);

	if (r < 0)
		return r;
	memcpy(n->wg_priv, n->wg_next, 32);
	secure_wipe(n->wg_next, 32);
	return 0;
}
