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

struct pnet {
	uint8_t *psk; /* PNET_PSK_LEN bytes of secure memory */
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

	if (!cfg || !cfg->psk)
		return W2W_EPARSE;
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	p->psk = secure_alloc(PNET_PSK_LEN);
	if (!p->psk) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(p->psk, cfg->psk, PNET_PSK_LEN);
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
	secure_free(p->psk);
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
	if (!p->started)
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

	if (!p->started)
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
	return 0;
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
		p->deadline = UINT64_MAX;
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
	return p->n_in_len == PNET_NONCE_LEN && !p->err;
}

uint64_t pnet_next_deadline(const struct pnet *p)
{
	return p->err ? UINT64_MAX : p->deadline;
}

const char *pnet_reason(const struct pnet *p)
{
	return p->reason;
}
