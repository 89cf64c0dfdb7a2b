/* SPDX-License-Identifier: MIT */
/*
 * pnet: known-answer keystream through the engine, pairs over random chunking,
 * wrong key / garbage after the nonce (caught by the next layer), deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "mss.h"
#include "pnet.h"
#include "prim.h"
#include "rng.h"
#include "testutil.h"

struct fixed_rng {
	uint8_t bytes[24];
};

static void fixed_fill(void *ud, void *buf, size_t n)
{
	struct fixed_rng *f = ud;

	assert_true(n <= sizeof(f->bytes));
	memcpy(buf, f->bytes, n);
}

static struct pnet *mk(const uint8_t psk[32], const struct rng *rng)
{
	struct pnet_config cfg = {.psk = psk, .rng = rng};
	struct pnet *p;

	assert_int_equal(pnet_new(&p, &cfg), 0);
	return p;
}

static void test_keystream_vector(void **state)
{
	/* libsodium test/default/stream.c key and nonce: the SHA-256 of the first
	 * 4 MiB of keystream is known. Drive it through the engine as 4 MiB of
	 * zeros written in random pieces, and read it back through a peer. */
	const size_t total = 4194304;
	struct fixed_rng f;
	struct rng fr = {fixed_fill, &f};
	struct rng_seeded rs;
	struct rng r;
	uint8_t psk[32], h[32], want[32];
	uint8_t *zeros = calloc(1, 4096);
	struct buf wire, plain;
	struct pnet *tx, *rx;
	size_t done = 0;

	(void)state;
	assert_non_null(zeros);
	unhex_exact(psk, 32, "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389");
	unhex_exact(f.bytes, 24, "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
	unhex_exact(want, 32, "662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2");
	rng_seeded_init(&rs, &r, 11);
	buf_init(&wire, total + 24);
	buf_init(&plain, total);
	tx = mk(psk, &fr);
	rx = mk(psk, &fr);
	assert_int_equal(pnet_start(tx, 0, &wire), 0);
	assert_int_equal(wire.len, 24);
	assert_memory_equal(wire.data, f.bytes, 24); /* nonce in clear, first */
	while (done < total) {
		size_t n = (size_t)rng_below(&r, 4096) + 1;

		if (n > total - done)
			n = total - done;
		if (rng_below(&r, 2)) {
			assert_int_equal(pnet_write(tx, zeros, n, &wire), 0);
		} else {
			uint8_t *p = buf_extend(&wire, n);

			assert_non_null(p);
			memset(p, 0, n);
			assert_int_equal(pnet_encrypt(tx, p, n), 0);
		}
		done += n;
	}
	prim_sha256(h, wire.data + 24, total);
	assert_memory_equal(h, want, 32);

	/* The receiving side decrypts back to zeros whatever the read sizes. */
	{
		struct buf dummy;
		size_t off = 0;

		buf_init(&dummy, 64);
		assert_int_equal(pnet_start(rx, 0, &dummy), 0);
		while (off < wire.len) {
			size_t n = (size_t)rng_below(&r, 5000) + 1;
			int ret;

			if (n > wire.len - off)
				n = wire.len - off;
			ret = pnet_feed(rx, wire.data + off, n, 1, &plain);
			assert_int_equal(ret, off + n >= 24 ? 1 : 0);
			off += n;
		}
		buf_free(&dummy);
	}
	assert_int_equal(plain.len, total);
	for (size_t i = 0; i < total; i += 4096)
		assert_memory_equal(plain.data + i, zeros, 4096);
	pnet_free(tx);
	pnet_free(rx);
	buf_free(&wire);
	buf_free(&plain);
	free(zeros);
}

struct end {
	struct pnet *p;
	struct buf wire, plain;
};

static void exchange(struct end *a, struct end *b, const struct rng *r)
{
	for (int i = 0; i < 100000 && (a->wire.len || b->wire.len); i++) {
		struct end *src = rng_below(r, 2) ? a : b, *dst = src == a ? b : a;
		size_t n = (size_t)rng_below(r, 700) + 1;

		if (rng_below(r, 3) == 0)
			n = (size_t)rng_below(r, 5) + 1;
		if (n > src->wire.len)
			n = src->wire.len;
		if (n == 0)
			continue;
		assert_true(pnet_feed(dst->p, src->wire.data, n, 1, &dst->plain) >= 0);
		buf_consume(&src->wire, n);
	}
}

static void test_pair_random_chunks(void **state)
{
	uint8_t psk[32], d1[20000], d2[5000];

	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct rng_seeded rs;
		struct rng r;
		struct end a, b;

		rng_seeded_init(&rs, &r, seed);
		rng_fill(&r, psk, sizeof(psk));
		rng_fill(&r, d1, sizeof(d1));
		rng_fill(&r, d2, sizeof(d2));
		a.p = mk(psk, &r);
		b.p = mk(psk, &r);
		buf_init(&a.wire, 1 << 20);
		buf_init(&b.wire, 1 << 20);
		buf_init(&a.plain, 1 << 20);
		buf_init(&b.plain, 1 << 20);
		assert_int_equal(pnet_start(a.p, 0, &a.wire), 0);
		assert_int_equal(pnet_start(b.p, 0, &b.wire), 0);
		/* Data written right after the nonce, in many writes. */
		for (size_t off = 0; off < sizeof(d1);) {
			size_t n = (size_t)rng_below(&r, 300) + 1;

			n = n > sizeof(d1) - off ? sizeof(d1) - off : n;
			assert_int_equal(pnet_write(a.p, d1 + off, n, &a.wire), 0);
			off += n;
		}
		assert_int_equal(pnet_write(b.p, d2, sizeof(d2), &b.wire), 0);
		assert_memory_not_equal(a.wire.data + 24, d1, 64); /* encrypted on the wire */
		exchange(&a, &b, &r);
		assert_true(pnet_ready(a.p) && pnet_ready(b.p));
		assert_int_equal(b.plain.len, sizeof(d1));
		assert_memory_equal(b.plain.data, d1, sizeof(d1));
		assert_int_equal(a.plain.len, sizeof(d2));
		assert_memory_equal(a.plain.data, d2, sizeof(d2));
		assert_int_equal(pnet_next_deadline(a.p), UINT64_MAX);
		pnet_free(a.p);
		pnet_free(b.p);
		buf_free(&a.wire);
		buf_free(&b.wire);
		buf_free(&a.plain);
		buf_free(&b.plain);
	}
}

/* Runs a multistream responder over the bytes pnet decrypted. */
static int mss_over(const struct buf *plain)
{
	const char *protos[] = {"/noise"};
	struct mss_config cfg = {.role = MSS_RESPONDER, .protocols = protos, .n_protocols = 1};
	struct buf out;
	struct mss *m;
	int r;

	buf_init(&out, 1 << 16);
	assert_int_equal(mss_new(&m, &cfg), 0);
	assert_int_equal(mss_start(m, 0, &out), 0);
	r = mss_feed(m, plain->data, plain->len, 1, &out);
	mss_free(m);
	buf_free(&out);
	return r;
}

static void test_wrong_key_and_garbage(void **state)
{
	uint8_t k1[32], k2[32], junk[2000];
	struct rng_seeded rs;
	struct rng r;

	(void)state;
	rng_seeded_init(&rs, &r, 21);
	for (int round = 0; round < 20; round++) {
		struct buf wa, wb, plain;
		struct pnet *a, *b;
		int ret;

		rng_fill(&r, k1, 32);
		rng_fill(&r, k2, 32);
		buf_init(&wa, 1 << 16);
		buf_init(&wb, 1 << 16);
		buf_init(&plain, 1 << 16);
		a = mk(k1, &r);
		b = mk(round % 2 ? k1 : k2, &r);
		assert_int_equal(pnet_start(a, 0, &wa), 0);
		assert_int_equal(pnet_start(b, 0, &wb), 0);
		if (round % 2) {
			/* Same key, but random bytes follow the nonce. */
			rng_fill(&r, junk, sizeof(junk));
			assert_int_equal(buf_append(&wa, junk, sizeof(junk)), 0);
		} else {
			/* Different keys: a real multistream header decrypts to garbage. */
			assert_int_equal(mss_put_line(&plain, MSS_PROTO_ID, strlen(MSS_PROTO_ID)), 0);
			for (int i = 0; i < 200; i++)
				assert_int_equal(mss_put_line(&plain, "/noise", 6), 0);
			assert_int_equal(pnet_write(a, plain.data, plain.len, &wa), 0);
			buf_reset(&plain);
		}
		/* pnet itself cannot tell (pnet spec: no key confirmation)... */
		assert_int_equal(pnet_feed(b, wa.data, wa.len, 1, &plain), 1);
		assert_int_equal(plain.len, wa.len - 24);
		/* ...the layer above fails (or its deadline would). */
		ret = mss_over(&plain);
		assert_true(ret == W2W_EPROTO || ret == W2W_ELIMIT);
		pnet_free(a);
		pnet_free(b);
		buf_free(&wa);
		buf_free(&wb);
		buf_free(&plain);
	}
}

static void test_states_and_deadline(void **state)
{
	uint8_t psk[32] = {1}, nonce[24] = {2};
	struct pnet_config cfg = {.psk = psk, .timeout_us = 1000};
	struct buf wire, plain;
	struct pnet *p;

	(void)state;
	buf_init(&wire, 100);
	buf_init(&plain, 10);
	assert_int_equal(pnet_new(&p, &(struct pnet_config){.psk = NULL}), W2W_EPARSE);
	assert_int_equal(pnet_new(&p, &cfg), 0);
	assert_int_equal(pnet_next_deadline(p), UINT64_MAX);
	assert_int_equal(pnet_write(p, "x", 1, &wire), W2W_ESTATE);
	assert_int_equal(pnet_feed(p, nonce, 24, 0, &plain), W2W_ESTATE);
	assert_int_equal(pnet_start(p, 5000, &wire), 0);
	assert_int_equal(pnet_start(p, 5000, &wire), W2W_ESTATE);
	assert_int_equal(pnet_next_deadline(p), 6000);
	/* Part of the nonce, then time runs out. */
	assert_int_equal(pnet_feed(p, nonce, 10, 5500, &plain), 0);
	assert_false(pnet_ready(p));
	assert_int_equal(pnet_tick(p, 5999), 0);
	assert_int_equal(pnet_tick(p, 6000), W2W_ETIMEDOUT);
	assert_int_equal(pnet_feed(p, nonce + 10, 14, 6001, &plain), W2W_ETIMEDOUT);
	assert_true(strstr(pnet_reason(p), "nonce") != NULL);
	pnet_free(p);

	/* Nonce in time: no deadline any more; a full output buffer is an error. */
	buf_reset(&wire);
	assert_int_equal(pnet_new(&p, &cfg), 0);
	assert_int_equal(pnet_start(p, 0, &wire), 0);
	assert_int_equal(pnet_feed(p, nonce, 23, 10, &plain), 0);
	assert_int_equal(pnet_feed(p, nonce + 23, 1, 20, &plain), 1);
	assert_true(pnet_ready(p));
	assert_int_equal(pnet_tick(p, 1u << 30), 0);
	assert_int_equal(pnet_feed(p, "0123456789a", 11, 30, &plain), W2W_ELIMIT);
	assert_int_equal(plain.len, 0);
	assert_int_equal(pnet_write(p, "x", 1, &wire), W2W_ELIMIT); /* failures are final */
	pnet_free(p);
	pnet_free(NULL);

	/* A write refused by a full buffer leaves the keystream where it was. */
	{
		struct fixed_rng f = {{7}};
		struct rng fr = {fixed_fill, &f};
		struct pnet *q;
		struct buf w2;

		cfg.rng = &fr;
		buf_init(&w2, 100);
		buf_reset(&wire);
		wire.max = 24 + 3;
		assert_int_equal(pnet_new(&p, &cfg), 0);
		assert_int_equal(pnet_new(&q, &cfg), 0);
		assert_int_equal(pnet_start(p, 0, &wire), 0);
		assert_int_equal(pnet_start(q, 0, &w2), 0);
		assert_int_equal(pnet_write(p, "abcd", 4, &wire), W2W_ELIMIT);
		assert_int_equal(wire.len, 24);
		wire.max = 100;
		assert_int_equal(pnet_write(p, "abcd", 4, &wire), 0);
		assert_int_equal(pnet_write(q, "abcd", 4, &w2), 0);
		assert_int_equal(wire.len, 28);
		assert_memory_equal(wire.data, w2.data, 28);
		pnet_free(p);
		pnet_free(q);
		buf_free(&w2);
	}
	buf_free(&wire);
	buf_free(&plain);
}

/*
 * Network PSK rotation: a responder with several candidate keys picks the one
 * the dialer uses from its first bytes (the mss header), answers with it, and
 * refuses a dialer whose key is none of them. Fed whole and one byte at a time.
 */
static void candidate_run(const uint8_t *dial_key, const uint8_t *const *cands, size_t n, int want, size_t chunk)
{
	static const char hello[] = "\x13/multistream/1.0.0\n\x07/noise\n";
	struct pnet_config dc = {.psk = dial_key}, rc = {.psks = cands, .n_psks = n};
	struct buf dw, rw, plain, back;
	struct pnet *d, *r;
	int got = 0;

	buf_init(&dw, 1024);
	buf_init(&rw, 1024);
	buf_init(&plain, 1024);
	buf_init(&back, 1024);
	assert_int_equal(pnet_new(&d, &dc), 0);
	assert_int_equal(pnet_new(&r, &rc), 0);
	assert_int_equal(pnet_start(d, 0, &dw), 0);
	assert_int_equal(pnet_start(r, 0, &rw), 0);
	assert_false(pnet_selected(r));
	assert_int_equal(pnet_selected_index(r), -1);
	/* The responder cannot write before it knows the key. */
	assert_int_equal(pnet_write(r, "x", 1, &rw), W2W_ESTATE);
	assert_int_equal(pnet_write(d, hello, sizeof(hello) - 1, &dw), 0);
	for (size_t off = 0; off < dw.len && got >= 0; off += chunk) {
		size_t k = dw.len - off < chunk ? dw.len - off : chunk;

		got = pnet_feed(r, dw.data + off, k, 1, &plain);
		if (off + k < 24 + PNET_PROBE_LEN)
			assert_true(got <= 0 && !pnet_ready(r));
	}
	if (want < 0) {
		assert_int_equal(got, W2W_EPSK);
		assert_non_null(strstr(pnet_reason(r), "wrong swarm key"));
		assert_int_equal(plain.len, 0);
		assert_false(pnet_ready(r));
	} else {
		assert_int_equal(got, 1);
		assert_true(pnet_ready(r) && pnet_selected(r));
		assert_int_equal(pnet_selected_index(r), want);
		assert_int_equal(plain.len, sizeof(hello) - 1);
		assert_memory_equal(plain.data, hello, plain.len);
		/* The answer, under the selected key, reads back at the dialer. */
		assert_int_equal(pnet_write(r, "\x13/multistream/1.0.0\n", 20, &rw), 0);
		assert_int_equal(pnet_feed(d, rw.data, rw.len, 2, &back), 1);
		assert_int_equal(back.len, 20);
		assert_memory_equal(back.data, "\x13/multistream/1.0.0\n", 20);
	}
	pnet_free(d);
	pnet_free(r);
	buf_free(&dw);
	buf_free(&rw);
	buf_free(&plain);
	buf_free(&back);
}

static void test_candidates(void **state)
{
	uint8_t a[32], b[32], c[32], e[32];
	const uint8_t *ab[2] = {a, b}, *four[4] = {c, e, a, b}, *five[5] = {a, b, c, e, a};
	struct pnet_config bad = {.psks = five, .n_psks = 5};
	struct pnet *p;
	size_t chunks[] = {1, 7, 1000};

	(void)state;
	memset(a, 0xa1, 32);
	memset(b, 0xb2, 32);
	memset(c, 0xc3, 32);
	memset(e, 0xe4, 32);
	for (size_t i = 0; i < 3; i++) {
		candidate_run(a, ab, 2, 0, chunks[i]);
		candidate_run(b, ab, 2, 1, chunks[i]);
		candidate_run(c, ab, 2, -1, chunks[i]);
		candidate_run(b, four, 4, 3, chunks[i]);
	}
	/* Bounded: at most PNET_MAX_PSKS candidates. */
	assert_int_equal(pnet_new(&p, &bad), W2W_EPARSE);
	bad.n_psks = 2;
	five[1] = NULL;
	assert_int_equal(pnet_new(&p, &bad), W2W_EPARSE);
}

/* A responder choosing its key still has the whole deadline for the dialer's first bytes. */
static void test_candidates_deadline(void **state)
{
	uint8_t a[32] = {1}, b[32] = {2}, nonce[24] = {3};
	const uint8_t *ab[2] = {a, b};
	struct pnet_config rc = {.psks = ab, .n_psks = 2, .timeout_us = 1000};
	struct buf wire, plain;
	struct pnet *p;

	(void)state;
	buf_init(&wire, 100);
	buf_init(&plain, 100);
	assert_int_equal(pnet_new(&p, &rc), 0);
	assert_int_equal(pnet_start(p, 0, &wire), 0);
	assert_int_equal(pnet_feed(p, nonce, 24, 10, &plain), 0);
	assert_int_equal(pnet_feed(p, "0123456789", 10, 20, &plain), 0);
	assert_int_equal(pnet_next_deadline(p), 1000);
	assert_int_equal(pnet_tick(p, 999), 0);
	assert_int_equal(pnet_tick(p, 1000), W2W_ETIMEDOUT);
	assert_non_null(strstr(pnet_reason(p), "key selection"));
	pnet_free(p);
	buf_free(&wire);
	buf_free(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_candidates),
	    cmocka_unit_test(test_candidates_deadline),
	    cmocka_unit_test(test_keystream_vector),
	    cmocka_unit_test(test_pair_random_chunks),
	    cmocka_unit_test(test_wrong_key_and_garbage),
	    cmocka_unit_test(test_states_and_deadline),
	};

	if (prim_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
