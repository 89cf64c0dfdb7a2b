/* SPDX-License-Identifier: MIT */
/*
 * Noise frames and the handshake payload from a peer. Byte 0 picks the mode,
 * byte 1 the read size (0 = all at once); the rest is peer input:
 *   0: NoiseHandshakePayload checked against a fixed static key
 *   1: responder engine (fed message 1, message 3, transport frames)
 *   2: initiator engine after message 1 (fed message 2, transport frames)
 *   3: initiator engine after a completed handshake (fed transport frames)
 * Keys are the fixed test-vector keys, so seeds built from the vector frames
 * reach every stage. Checks: only documented results, established implies an
 * authenticated peer, output frames well-formed, failure is final.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ident.h"
#include "noise.h"
#include "peerid.h"
#include "rng.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* X25519 keys from the cacophony XX vector; Ed25519 seeds as in tests/unit/test_noise.c. */
#define INIT_STATIC "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"
#define INIT_EPH "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
#define RESP_STATIC "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"
#define RESP_EPH "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"
#define INIT_ID_SEED "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
#define RESP_ID_SEED "1b4a5eb3306b00004662d27329d052e4b08bf8064a4c2a0cfc62d7937776a0c7"

struct fixed {
	uint8_t key[32];
};

static void fixed_fill(void *ud, void *buf, size_t n)
{
	struct fixed *f = ud;

	/* Only ever asked for one ephemeral key. */
	if (n != 32)
		abort();
	memcpy(buf, f->key, 32);
}

struct party {
	struct fixed f;
	struct rng rng;
	struct ident *id;
	uint8_t st[32];
	struct noise *n;
	struct buf wire, app;
};

static void party_init(struct party *p, bool initiator)
{
	struct noise_config cfg = {.initiator = initiator, .rng = &p->rng, .static_priv = p->st};
	uint8_t seed[32];

	unhex_exact(p->f.key, 32, initiator ? INIT_EPH : RESP_EPH);
	unhex_exact(p->st, 32, initiator ? INIT_STATIC : RESP_STATIC);
	unhex_exact(seed, 32, initiator ? INIT_ID_SEED : RESP_ID_SEED);
	p->rng.fill = fixed_fill;
	p->rng.ud = &p->f;
	if (ident_from_seed(&p->id, seed) < 0)
		abort();
	cfg.identity = p->id;
	if (noise_new(&p->n, &cfg) < 0)
		abort();
	buf_init(&p->wire, 1 << 20);
	buf_init(&p->app, 1 << 20);
	if (noise_start(p->n, 0, &p->wire) < 0)
		abort();
}

static void party_free(struct party *p)
{
	noise_free(p->n);
	ident_free(p->id);
	buf_free(&p->wire);
	buf_free(&p->app);
}

static void check_frames(const struct buf *w)
{
	size_t off = 0;

	while (off < w->len) {
		size_t fl;

		if (off + 2 > w->len)
			abort();
		fl = ((size_t)w->data[off] << 8) | w->data[off + 1];
		off += 2 + fl;
		if (off > w->len)
			abort();
	}
}

static void run_engine(struct party *p, const uint8_t *data, size_t size, size_t chunk)
{
	size_t off = 0;
	int rc = noise_established(p->n) ? 1 : 0;

	while (off < size) {
		size_t k = chunk ? chunk : size;

		if (k > size - off)
			k = size - off;
		rc = noise_feed(p->n, data + off, k, 1, &p->wire, &p->app);
		off += k;
		if (rc < 0)
			break;
	}
	check_frames(&p->wire);
	if (p->app.len > size)
		abort();
	if (rc == 1) {
		size_t klen = 0;

		if (!noise_established(p->n) || !noise_remote_peer(p->n) ||
		    !noise_remote_identity_key(p->n, &klen) || klen == 0)
			abort();
		if (noise_write(p->n, "ping", 4, &p->wire) < 0)
			abort();
	} else if (rc < 0) {
		if (rc != W2W_EAUTH && rc != W2W_EPROTO && rc != W2W_ELIMIT)
			abort();
		if (noise_established(p->n) || noise_remote_peer(p->n) || !noise_reason(p->n)[0])
			abort();
		if (noise_feed(p->n, "\x00\x00", 2, 2, &p->wire, &p->app) != rc)
			abort();
	} else if (rc != 0 || noise_established(p->n)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct party a, b;
	uint8_t mode, chunk;

	if (size < 2)
		return 0;
	mode = data[0] % 4;
	chunk = data[1];
	data += 2;
	size -= 2;

	switch (mode) {
	case 0: {
		uint8_t st[32], key[64];
		struct peerid pid;
		size_t klen = 0;
		int rc;

		/* The responder's static public key from the vector. */
		unhex_exact(st, 32, "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62");
		rc = noise_payload_verify(data, size, st, &pid, key, sizeof(key), &klen);
		if (rc == 0 && (pid.len == 0 || klen == 0 || klen > sizeof(key)))
			abort();
		if (rc != 0 && rc != W2W_EAUTH && rc != W2W_EPROTO && rc != W2W_ELIMIT)
			abort();
		break;
	}
	case 1:
		party_init(&a, false);
		run_engine(&a, data, size, chunk);
		party_free(&a);
		break;
	case 2:
		party_init(&a, true);
		buf_reset(&a.wire);
		run_engine(&a, data, size, chunk);
		party_free(&a);
		break;
	case 3:
		/* Complete a real handshake first, then feed the initiator. */
		party_init(&a, true);
		party_init(&b, false);
		if (noise_feed(b.n, a.wire.data, a.wire.len, 1, &b.wire, &b.app) != 0)
			abort();
		buf_reset(&a.wire);
		if (noise_feed(a.n, b.wire.data, b.wire.len, 1, &a.wire, &a.app) != 1)
			abort();
		if (noise_feed(b.n, a.wire.data, a.wire.len, 1, &b.wire, &b.app) != 1)
			abort();
		buf_reset(&a.wire);
		run_engine(&a, data, size, chunk);
		party_free(&a);
		party_free(&b);
		break;
	}
	return 0;
}
