/* SPDX-License-Identifier: MIT */
/*
 * Admission control for tools and the node (include/w2wesher/admission.h;
 * the node's part: w2w_node_set_admission_token, w2w_node_admission_publish,
 * and the engine's admit/save_revocations ops).
 */
#include <errno.h>
#include <string.h>

#include "w2wesher/admission.h"
#include "w2wesher/config.h"
#include "w2wesher/node.h"

#include "admission.h"
#include "atomicfile.h"
#include "b64.h"
#include "buf.h"
#include "config_priv.h"
#include "err.h"
#include "loop_internal.h"
#include "node_internal.h"
#include "osclock.h"
#include "p2phost.h"
#include "peerid.h"
#include "rng.h"
#include "secmem.h"

/* ---- keys, tokens, revocations ---- */

static int seed_from_text(uint8_t *seed, const char *key)
{
	size_t n;

	if (!key)
		return W2W_EPARSE;
	n = strlen(key);
	while (n && (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' '))
		n--;
	return secret_from_b64(seed, 32, key, n) == 32 ? 0 : W2W_EPARSE;
}

int w2w_admission_genkey(char *out, size_t cap)
{
	uint8_t *seed;
	int r;

	if (!out || cap < W2W_ADMISSION_KEY_TEXT_MAX)
		return -ENOSPC;
	if (secmem_init() < 0 || !(seed = secure_alloc(32)))
		return -ENOMEM;
	rng_fill(NULL, seed, 32);
	r = secret_to_b64(out, cap, seed, 32);
	secure_free(seed);
	return r;
}

int w2w_admission_pubkey(char *out, size_t cap, const char *key)
{
	uint8_t *seed, pub[32];
	int r;

	if (!out || cap < W2W_ADMISSION_KEY_TEXT_MAX)
		return -ENOSPC;
	if (secmem_init() < 0 || !(seed = secure_alloc(32)))
		return -ENOMEM;
	r = seed_from_text(seed, key);
	if (r == 0) {
		adm_pub_from_seed(pub, seed);
		r = b64_encode(out, cap, pub, 32);
	}
	secure_free(seed);
	return r;
}

static int sign_text(char *out, size_t cap, const char *key, const char *peer_id, const char *name,
                     uint8_t kind, uint64_t a, uint64_t b)
{
	uint8_t *seed, blob[ADM_MAX_LEN];
	struct peerid id;
	int r, n;

	if (!out || cap < W2W_ADMISSION_TEXT_MAX)
		return -ENOSPC;
	if (!peer_id || peerid_parse(&id, peer_id, strlen(peer_id)) < 0)
		return W2W_EPARSE;
	if (name) {
		size_t nl = strlen(name);

		if (nl > ADM_NAME_MAX)
			return W2W_EPARSE;
		for (size_t i = 0; i < nl; i++)
			if (name[i] < 0x21 || name[i] > 0x7e)
				return W2W_EPARSE;
	}
	if (secmem_init() < 0 || !(seed = secure_alloc(32)))
		return -ENOMEM;
	r = seed_from_text(seed, key);
	if (r == 0) {
		n = adm_sign(blob, sizeof(blob), seed, kind, &id, name, a, b);
		r = n < 0 ? n : b64_encode(out, cap, blob, (size_t)n);
	}
	secure_free(seed);
	return r;
}

int w2w_admission_sign(char *out, size_t cap, const char *key, const char *peer_id, const char *name,
                       int64_t not_before, int64_t expires)
{
	if (not_before < 0 || expires < 0 || (expires && expires < not_before))
		return W2W_EPARSE;
	return sign_text(out, cap, key, peer_id, name, ADM_KIND_TOKEN, (uint64_t)not_before,
	                 (uint64_t)expires);
}

int w2w_admission_revoke(char *out, size_t cap, const char *key, const char *peer_id, int64_t when)
{
	if (when < 0)
		return W2W_EPARSE;
	return sign_text(out, cap, key, peer_id, NULL, ADM_KIND_REVOKE, (uint64_t)when, 0);
}

static int blob_from_text(uint8_t *blob, size_t cap, const char *text, struct adm_obj *o)
{
	size_t n;
	int len;

	if (!text)
		return W2W_EPARSE;
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (!n || n >= W2W_ADMISSION_TEXT_MAX)
		return W2W_EPARSE;
	len = b64_decode(blob, cap, text, n);
	if (len < 0 || adm_parse(blob, (size_t)len, o) < 0)
		return W2W_EPARSE;
	return len;
}

int w2w_admission_inspect(const char *text, int *kind, char *peer_out, size_t cap, int64_t *not_before,
                          int64_t *expires)
{
	uint8_t blob[ADM_MAX_LEN + 3];
	struct adm_obj o;
	int r = blob_from_text(blob, sizeof(blob), text, &o);

	if (r < 0)
		return r;
	if (!peer_out || peerid_to_b58(peer_out, cap, &o.peer) < 0)
		return -ENOSPC;
	if (kind)
		*kind = o.kind;
	if (not_before)
		*not_before = (int64_t)(o.t_a > INT64_MAX ? INT64_MAX : o.t_a);
	if (expires)
		*expires = (int64_t)(o.t_b > INT64_MAX ? INT64_MAX : o.t_b);
	return 0;
}

const char *w2w_config_admission_token(const struct w2w_config *cfg)
{
	return cfg ? cfg->adm_token : "";
}

/* ---- the node ---- */

static void adm_flush(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	(void)now;
	/* Outside the engine: what the host raises (a DISCONNECTED) may enter it. */
	for (size_t i = 0; i < n->n_admq && n->p2p; i++) {
		if (n->admq[i].ok)
			p2ph_admit(n->p2p, &n->admq[i].id);
		else
			p2ph_deny(n->p2p, &n->admq[i].id, NODE_DENY_US);
	}
	n->n_admq = 0;
}

void node_op_admit(void *ud, const struct peerid *peer, bool ok)
{
	struct w2w_node *n = ud;

	if (n->n_admq == NODE_ADMQ_MAX) { /* a burst: the oldest decision waits for the next check */
		memmove(&n->admq[0], &n->admq[1], (NODE_ADMQ_MAX - 1) * sizeof(n->admq[0]));
		n->n_admq--;
	}
	n->admq[n->n_admq].id = *peer;
	n->admq[n->n_admq].ok = ok;
	n->n_admq++;
	reactor_timer_arm(n->r, &n->t_adm, 0);
}

void node_save_revocations(void *ud, const uint8_t *p, size_t len)
{
	struct w2w_node *n = ud;
	char path[sizeof(n->state_dir) + 16];
	int r;

	if (!n->state_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/revocations", n->state_dir);
	r = atomicfile_write(path, p, len, 0600);
	if (r < 0)
		log_warn(&n->log, "cannot write %s: %s", path, err_str(r));
}

void node_admission_init(struct w2w_node *n)
{
	rtimer_init(&n->t_adm, adm_flush, n);
}

/* At start, before the engine runs: our token, the persisted revocations. */
void node_admission_start(struct w2w_node *n)
{
	char path[sizeof(n->state_dir) + 16];
	struct buf b;
	int r;

	p2ph_set_admission(n->p2p, mn_admission(n->mesh), n->adm_tok, n->adm_tok_len);
	if (mn_admission(n->mesh) && !n->adm_tok_len)
		log_warn(&n->log, "admission mode without an AdmissionToken: other admission-mode nodes refuse this one");
	if (!mn_admission(n->mesh) || !n->state_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/revocations", n->state_dir);
	buf_init(&b, 0);
	r = atomicfile_read(path, 1u << 20, &b);
	if (r == 0) {
		r = mn_load_revocations(n->mesh, b.data, b.len);
		if (r < 0)
			log_warn(&n->log, "%s is damaged: ignoring it", path);
		else
			log_info(&n->log, "admission: %zu revocation(s) loaded",
			         mn_revocation_count(n->mesh));
	} else if (r != -ENOENT) {
		log_warn(&n->log, "cannot read %s: %s", path, err_str(r));
	}
	buf_free(&b);
}

/* Our token from text: checked against our peer ID (a warning only: the
 * operator may have configured it before the key). */
int node_admission_token(struct w2w_node *n, const char *text)
{
	uint8_t blob[ADM_MAX_LEN + 3];
	struct adm_obj o;
	int len = 0;

	if (text && *text) {
		len = blob_from_text(blob, sizeof(blob), text, &o);
		if (len < 0 || o.kind != ADM_KIND_TOKEN)
			return W2W_EPARSE;
		if (!peerid_eq(&o.peer, ident_peerid(n->id))) {
			log_warn(
			    &n->log,
			    "AdmissionToken is for another peer ID: admission-mode peers will refuse us");
		} else if (o.t_b && o.t_b <= os_wall_us() / 1000000) {
			log_warn(&n->log, "AdmissionToken expired: admission-mode peers will refuse us");
		}
	}
	memcpy(n->adm_tok, blob, (size_t)len);
	n->adm_tok_len = (size_t)len;
	return 0;
}

int w2w_node_set_admission_token(struct w2w_node *n, const char *text)
{
	int r;

	if (!n)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	r = node_admission_token(n, text);
	if (r < 0)
		return r;
	mn_set_token(n->mesh, n->adm_tok, n->adm_tok_len, os_now_us());
	if (n->p2p)
		p2ph_set_admission(n->p2p, mn_admission(n->mesh), n->adm_tok, n->adm_tok_len);
	log_info(&n->log, "admission token %s", n->adm_tok_len ? "set" : "cleared");
	if (mn_next_deadline(n->mesh) != UINT64_MAX)
		reactor_timer_arm(n->r, &n->t_mesh, mn_next_deadline(n->mesh));
	return 0;
}

int w2w_node_admission_publish(struct w2w_node *n, const char *text)
{
	uint8_t blob[ADM_MAX_LEN + 3];
	struct adm_obj o;
	int len, r;

	if (!n)
		return -EINVAL;
	if (n->in_cb || loop_in_log(n->loop))
		return -EBUSY;
	if (n->state != NS_RUNNING || !mn_admission(n->mesh))
		return W2W_ESTATE;
	len = blob_from_text(blob, sizeof(blob), text, &o);
	if (len < 0 || o.kind != ADM_KIND_REVOKE)
		return W2W_EPARSE;
	r = mn_add_revocation(n->mesh, blob, (size_t)len, os_now_us());
	if (mn_next_deadline(n->mesh) != UINT64_MAX)
		reactor_timer_arm(n->r, &n->t_mesh, mn_next_deadline(n->mesh));
	return r < 0 ? r : r == 1 ? 1 : 0;
}
