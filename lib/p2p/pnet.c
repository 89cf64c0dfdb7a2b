/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "pnet.h"
#include "prim.h"
#include "rng.h"
#include "secmem.h"

/* mss spec: the dialer's first message, length-prefixed (varint 19). */
static const uint8_t mss_header[PNET_PROBE_LEN] = "\x13/multistream/1.0.0\n";

struct pnet {
	uint8_t *keys; /* n_keys * PNET_PSK_LEN bytes of secure memory */
	size_t n_keys;
	uint8_t *psk;  /* the selected key (inside keys), NULL before the selection */
	int sel;       /* its index, -1 before */
	uint8_t probe[PNET_PROBE_LEN]; /* ciphertext held until the selection */
	size_t probe_len;
	uint8_t n_out[PNET_NONCE_LEN];
	uint8_t n_in[PNET_NONCE_LEN];
	size_t n_in_len;  /* nonce bytes received so far */
	uint64_t off_out; /* keystream position, outbound */
	uint64_t off_in;  /* keystream position, inbound */
	uint64_t timeout_us;
	uint64_t deadline; /* UINT64_MAX = none */
	bool started;
	int err; /* sticky failure */
	const char *reason;
	const struct rng *rng;
	const struct wlog *log;
};

int pnet_new(struct pnet **ret, const struct pnet_config *cfg)
{
	struct pnet *p = NULL;
	int r = 0;

	size_t n = cfg && cfg->n_psks ? cfg->n_psks : 1;

	if (!cfg || (cfg->n_psks ? !cfg->psks : !cfg->psk) || n > PNET_MAX_PSKS)
		return W2W_EPARSE;
	for (size_t i = 0; cfg->n_psks && i < n; i++)
		if (!cfg->psks[i])
			return W2W_EPARSE;
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	p->keys = secure_alloc(n * PNET_PSK_LEN);
	if (!p->keys) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(p->keys + i * PNET_PSK_LEN, cfg->n_psks ? cfg->psks[i] : cfg->psk, PNET_PSK_LEN);
	p->n_keys = n;
	p->sel = -1;
	if (n == 1) {
		p->psk = p->keys;
		p->sel = 0;
	}
	p->timeout_us = cfg->timeout_us ? cfg->timeout_us : PNET_DEFAULT_TIMEOUT_US;
	p->deadline = UINT64_MAX;
	p->rng = cfg->rng;
	p->log = cfg->log;
	p->reason = "";
	*ret = p;
	p = NULL;
out:
	pnet_free(p);
	return r;
}

void pnet_free(struct pnet *p)
{
	if (!p)
		return;
	secure_free(p->keys);
	secure_wipe(p->probe, sizeof(p->probe));
	free(p);
}

static int fail(struct pnet *p, int err, const char *reason)
{
	if (!p->err) {
		p->err = err;
		p->reason = reason;
		log_debug(p->log, "pnet: %s", reason);
	}
	return p->err;
}

int pnet_start(struct pnet *p, uint64_t now_us, struct buf *wire)
{
	int r;

	if (p->started)
		return W2W_ESTATE;
	/* pnet spec: a fresh random 24-byte nonce per connection, sent in clear at once. */
	rng_fill(p->rng, p->n_out, PNET_NONCE_LEN);
	r = buf_append(wire, p->n_out, PNET_NONCE_LEN);
	if (r < 0)
		return r;
	p->started = true;
	p->deadline = now_us > UINT64_MAX - p->timeout_us ? UINT64_MAX : now_us + p->timeout_us;
	return 0;
}

int pnet_encrypt(struct pnet *p, void *data, size_t n)
{
	if (!p->started || !p->psk)
		return W2W_ESTATE;
	if (p->err)
		return p->err;
	prim_xsalsa20_xor(data, data, n, p->n_out, p->off_out, p->psk);
	p->off_out += n;
	return 0;
}

int pnet_write(struct pnet *p, const void *in, size_t n, struct buf *wire)
{
	uint8_t *dst;
	int r;

	if (!p->started || !p->psk)
		return W2W_ESTATE;
	if (p->err)
		return p->err;
	if (n == 0)
		return 0;
	r = buf_reserve(wire, n);
	if (r < 0)
		return r;
	dst = buf_extend(wire, n);
	prim_xsalsa20_xor(dst, in, n, p->n_out, p->off_out, p->psk);
	p->off_out += n;
	return 0;
}

int pnet_tick(struct pnet *p, uint64_t now_us)
{
	if (p->err)
		return p->err;
	if (p->started && p->n_in_len < PNET_NONCE_LEN && now_us >= p->deadline)
		return fail(p, W2W_ETIMEDOUT, "timed out waiting for the peer's pnet nonce");
	if (p->started && !p->psk && now_us >= p->deadline)
		return fail(p, W2W_ETIMEDOUT, "timed out waiting for the peer's first bytes (key selection)");
	return 0;
}

/*
 * Collects the peer's first PNET_PROBE_LEN bytes and picks the key under which
 * they read as the mss header. Every candidate is tried and compared in
 * constant time (the timing says nothing about which key matched); the
 * decrypted probe is wiped. Returns 1 once selected (the probe is consumed:
 * it decrypts to mss_header), 0 while waiting, < 0 on failure.
 */
static int select_key(struct pnet *p, const uint8_t **src, size_t *n)
{
	uint8_t dec[PNET_PROBE_LEN];
	size_t k = PNET_PROBE_LEN - p->probe_len;
	int found = -1;

	if (k > *n)
		k = *n;
	memcpy(p->probe + p->probe_len, *src, k);
	p->probe_len += k;
	*src += k;
	*n -= k;
	if (p->probe_len < PNET_PROBE_LEN)
		return 0;
	for (size_t i = 0; i < p->n_keys; i++) {
		prim_xsalsa20_xor(dec, p->probe, PNET_PROBE_LEN, p->n_in, 0, p->keys + i * PNET_PSK_LEN);
		if (ct_eq(dec, mss_header, PNET_PROBE_LEN) && found < 0)
			found = (int)i;
	}
	secure_wipe(dec, sizeof(dec));
	secure_wipe(p->probe, sizeof(p->probe));
	if (found < 0)
		return fail(p, W2W_EPSK, "no network PSK decrypts the peer's first bytes (wrong swarm key)");
	p->sel = found;
	p->psk = p->keys + (size_t)found * PNET_PSK_LEN;
	p->off_in = PNET_PROBE_LEN;
	p->deadline = UINT64_MAX;
	log_debug(p->log, "pnet: the peer uses candidate key %d of %zu", found, p->n_keys);
	return 1;
}

int pnet_feed(struct pnet *p, const void *in, size_t n, uint64_t now_us, struct buf *plain)
{
	const uint8_t *src = in;
	uint8_t *dst;
	int r;

	if (!p->started)
		return W2W_ESTATE;
	r = pnet_tick(p, now_us);
	if (r < 0)
		return r;
	if (p->n_in_len < PNET_NONCE_LEN) {
		size_t k = PNET_NONCE_LEN - p->n_in_len;

		if (k > n)
			k = n;
		memcpy(p->n_in + p->n_in_len, src, k);
		p->n_in_len += k;
		src += k;
		n -= k;
		if (p->n_in_len < PNET_NONCE_LEN)
			return 0;
		if (p->psk)
			p->deadline = UINT64_MAX;
	}
	if (!p->psk) {
		r = select_key(p, &src, &n);
		if (r <= 0)
			return r;
		/* The held probe bytes first: they are the start of the stream. */
		r = buf_append(plain, mss_header, PNET_PROBE_LEN);
		if (r < 0)
			return fail(p, r, "no room for decrypted pnet input");
	}
	if (n == 0)
		return 1;
	r = buf_reserve(plain, n);
	if (r < 0)
		return fail(p, r, "no room for decrypted pnet input");
	dst = buf_extend(plain, n);
	prim_xsalsa20_xor(dst, src, n, p->n_in, p->off_in, p->psk);
	p->off_in += n;
	return 1;
}

bool pnet_ready(const struct pnet *p)
{
	return p->n_in_len == PNET_NONCE_LEN && p->psk && !p->err;
}

bool pnet_selected(const struct pnet *p)
{
	return p->psk != NULL;
}

int pnet_selected_index(const struct pnet *p)
{
	return p->sel;
}

uint64_t pnet_next_deadline(const struct pnet *p)
{
	return p->err ? UINT64_MAX : p->deadline;
}

const char *pnet_reason(const struct pnet *p)
{
	return p->reason;
}
