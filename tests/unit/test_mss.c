/* SPDX-License-Identifier: MIT */
/*
 * multistream-select 1.0: byte forms, both roles over random chunking,
 * pipelined/coalesced input with leftovers, "na" and "ls", every error path.
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
#include "rng.h"
#include "testutil.h"

#define HDR "\x13/multistream/1.0.0\n"
#define HDR_LEN 20

static void assert_buf_hex(const struct buf *b, const char *want)
{
	uint8_t w[512];
	size_t n = unhex(w, sizeof(w), want);

	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, w, n);
}

static struct mss *mk(enum mss_role role, const char *const *protos, size_t n)
{
	struct mss_config cfg = {.role = role, .protocols = protos, .n_protocols = n};
	struct mss *m;

	assert_int_equal(mss_new(&m, &cfg), 0);
	return m;
}

static void test_byte_forms(void **state)
{
	const char *noise[] = {"/noise"};
	struct buf out;
	struct mss *m;

	(void)state;
	buf_init(&out, 4096);
	/* Initiator: header and first proposal in one write. */
	m = mk(MSS_INITIATOR, noise, 1);
	assert_int_equal(mss_start(m, 0, &out), 0);
	assert_buf_hex(&out, "132f6d756c746973747265616d2f312e302e300a"
	                     "072f6e6f6973650a");
	assert_int_equal(mss_start(m, 0, &out), W2W_ESTATE);
	mss_free(m);
	/* Responder: the header once, then "na" and an echo. */
	buf_reset(&out);
	m = mk(MSS_RESPONDER, noise, 1);
	assert_int_equal(mss_start(m, 0, &out), 0);
	assert_buf_hex(&out, "132f6d756c746973747265616d2f312e302e300a");
	buf_reset(&out);
	assert_int_equal(mss_feed(m, HDR "\x0b/tls/1.0.0\n", HDR_LEN + 12, 1, &out), 0);
	assert_buf_hex(&out, "036e610a");
	buf_reset(&out);
	assert_int_equal(mss_feed(m, "\x07/noise\n", 8, 2, &out), 1);
	assert_buf_hex(&out, "072f6e6f6973650a");
	assert_string_equal(mss_protocol(m), "/noise");
	assert_int_equal(mss_protocol_index(m), 0);
	mss_free(m);
	/* Longer ids used later in the stack. */
	buf_reset(&out);
	assert_int_equal(mss_put_line(&out, "/ipfs/ping/1.0.0", 16), 0);
	assert_buf_hex(&out, "112f697066732f70696e672f312e302e300a");
	buf_free(&out);
}

struct peer {
	struct mss *m;
	struct buf out;
	int rc;
};

/* Moves bytes both ways in random chunk sizes until both sides are quiet. */
static void exchange(struct peer *a, struct peer *b, const struct rng *r)
{
	for (int i = 0; i < 100000 && (a->out.len || b->out.len) && a->rc >= 0 && b->rc >= 0; i++) {
		struct peer *src = rng_below(r, 2) ? a : b, *dst = src == a ? b : a;
		size_t n = (size_t)rng_below(r, 40) + 1;

		if (n > src->out.len)
			n = src->out.len;
		if (n == 0)
			continue;
		dst->rc = mss_feed(dst->m, src->out.data, n, 1, &dst->out);
		buf_consume(&src->out, n);
	}
}

static void test_pair_random_chunks(void **state)
{
	const char *offer[] = {"/tls/1.0.0", "/meshsub/1.3.0", "/noise"};
	const char *serve[] = {"/yamux/1.0.0", "/noise"};

	(void)state;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		struct rng_seeded rs;
		struct rng r;
		struct peer a = {0}, b = {0};
		const uint8_t *lo;
		size_t lolen;

		rng_seeded_init(&rs, &r, seed);
		buf_init(&a.out, 1 << 16);
		buf_init(&b.out, 1 << 16);
		a.m = mk(MSS_INITIATOR, offer, 3);
		b.m = mk(MSS_RESPONDER, serve, 2);
		assert_int_equal(mss_start(a.m, 0, &a.out), 0);
		/* Half the runs: a js-style listener that only speaks after reading. */
		if (seed % 2)
			assert_int_equal(mss_start(b.m, 0, &b.out), 0);
		else {
			struct buf tmp;

			buf_init(&tmp, 64);
			assert_int_equal(mss_start(b.m, 0, &tmp), 0);
			buf_free(&tmp);
			b.rc = mss_feed(b.m, a.out.data, 1, 1, &b.out);
			buf_consume(&a.out, 1);
			assert_int_equal(b.out.len, 0);
			/* Now the header goes out in answer. */
			assert_int_equal(mss_put_line(&b.out, MSS_PROTO_ID, strlen(MSS_PROTO_ID)), 0);
		}
		exchange(&a, &b, &r);
		assert_int_equal(a.rc, 1);
		assert_int_equal(b.rc, 1);
		assert_string_equal(mss_protocol(a.m), "/noise");
		assert_string_equal(mss_protocol(b.m), "/noise");
		assert_int_equal(mss_protocol_index(a.m), 2);
		assert_int_equal(mss_protocol_index(b.m), 1);
		mss_leftover(a.m, &lo, &lolen);
		assert_int_equal(lolen, 0);
		mss_leftover(b.m, &lo, &lolen);
		assert_int_equal(lolen, 0);
		assert_int_equal(mss_next_deadline(a.m), UINT64_MAX);
		mss_free(a.m);
		mss_free(b.m);
		buf_free(&a.out);
		buf_free(&b.out);
	}
}

static void test_pipelined_leftovers(void **state)
{
	const char *ping[] = {"/ipfs/ping/1.0.0"};
	const char *serve[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};
	uint8_t app[100];
	struct buf in, out;
	const uint8_t *lo;
	size_t lolen;
	struct mss *m;

	(void)state;
	for (size_t i = 0; i < sizeof(app); i++)
		app[i] = (uint8_t)(i * 13 + 1);
	buf_init(&in, 4096);
	buf_init(&out, 4096);

	/* go lazy select: header + proposal + first data in one read, at every split point. */
	assert_int_equal(mss_put_line(&in, MSS_PROTO_ID, strlen(MSS_PROTO_ID)), 0);
	assert_int_equal(mss_put_line(&in, ping[0], strlen(ping[0])), 0);
	assert_int_equal(buf_append(&in, app, sizeof(app)), 0);
	for (size_t cut = 0; cut <= in.len; cut++) {
		int r1, r2;

		m = mk(MSS_RESPONDER, serve, 2);
		buf_reset(&out);
		assert_int_equal(mss_start(m, 0, &out), 0);
		r1 = mss_feed(m, in.data, cut, 1, &out);
		r2 = mss_feed(m, in.data + cut, in.len - cut, 2, &out);
		assert_true(r1 == 0 || r1 == 1);
		assert_int_equal(r2, 1);
		assert_string_equal(mss_protocol(m), "/ipfs/ping/1.0.0");
		mss_leftover(m, &lo, &lolen);
		assert_int_equal(lolen, sizeof(app));
		assert_memory_equal(lo, app, sizeof(app));
		mss_leftover_consume(m, 40);
		mss_leftover(m, &lo, &lolen);
		assert_int_equal(lolen, sizeof(app) - 40);
		assert_memory_equal(lo, app + 40, lolen);
		/* Later input lands behind it. */
		assert_int_equal(mss_feed(m, "zz", 2, 3, &out), 1);
		mss_leftover(m, &lo, &lolen);
		assert_int_equal(lolen, sizeof(app) - 40 + 2);
		assert_memory_equal(lo + lolen - 2, "zz", 2);
		mss_free(m);
	}

	/* Initiator: the listener's header, "na", the echo and the first frames coalesced. */
	{
		const char *offer[] = {"/mplex/6.7.0", "/yamux/1.0.0"};

		m = mk(MSS_INITIATOR, offer, 2);
		buf_reset(&out);
		buf_reset(&in);
		assert_int_equal(mss_start(m, 0, &out), 0);
		buf_reset(&out);
		assert_int_equal(mss_put_line(&in, MSS_PROTO_ID, strlen(MSS_PROTO_ID)), 0);
		assert_int_equal(mss_put_line(&in, "na", 2), 0);
		assert_int_equal(mss_put_line(&in, "/yamux/1.0.0", 12), 0);
		assert_int_equal(buf_append(&in, "\x00\x02\x00\x01", 4), 0);
		assert_int_equal(mss_feed(m, in.data, in.len, 1, &out), 1);
		/* The second proposal went out alone, without the header. */
		assert_buf_hex(&out, "0d2f79616d75782f312e302e300a");
		mss_leftover(m, &lo, &lolen);
		assert_int_equal(lolen, 4);
		assert_memory_equal(lo, "\x00\x02\x00\x01", 4);
		mss_free(m);
	}
	buf_free(&in);
	buf_free(&out);
}

static void test_ls(void **state)
{
	const char *serve[] = {"/a", "/bc"};
	struct buf out;
	struct mss *m;

	(void)state;
	buf_init(&out, 4096);
	m = mk(MSS_RESPONDER, serve, 2);
	assert_int_equal(mss_start(m, 0, &out), 0);
	buf_reset(&out);
	assert_int_equal(mss_feed(m, HDR "\x03ls\n", HDR_LEN + 4, 1, &out), 0);
	/* One message: LP("/a\n") LP("/bc\n") "\n". */
	assert_buf_hex(&out, "0a"
	                     "032f610a"
	                     "042f62630a"
	                     "0a");
	assert_false(mss_done(m));
	mss_free(m);
	buf_free(&out);
}

static int feed_responder(const void *in, size_t n)
{
	const char *serve[] = {"/noise"};
	struct buf out;
	struct mss *m;
	int r;

	buf_init(&out, 1 << 16);
	m = mk(MSS_RESPONDER, serve, 1);
	assert_int_equal(mss_start(m, 0, &out), 0);
	r = mss_feed(m, in, n, 1, &out);
	if (r < 0) {
		assert_false(mss_done(m));
		assert_true(mss_reason(m)[0] != '\0');
		/* Failure is final. */
		assert_int_equal(mss_feed(m, HDR, HDR_LEN, 2, &out), r);
	}
	mss_free(m);
	buf_free(&out);
	return r;
}

static int feed_initiator(const void *in, size_t n)
{
	const char *offer[] = {"/tls/1.0.0", "/noise"};
	struct buf out;
	struct mss *m;
	int r;

	buf_init(&out, 1 << 16);
	m = mk(MSS_INITIATOR, offer, 2);
	assert_int_equal(mss_start(m, 0, &out), 0);
	r = mss_feed(m, in, n, 1, &out);
	mss_free(m);
	buf_free(&out);
	return r;
}

static void test_errors(void **state)
{
	uint8_t big[1100];

	(void)state;
	assert_int_equal(feed_responder("\x13/multistream/2.0.0\n", 20), W2W_EPROTO); /* wrong header */
	assert_int_equal(feed_responder("\x07/noise\n", 8), W2W_EPROTO);              /* no header */
	assert_int_equal(feed_responder("\x13/multistream/1.0.0x", 20), W2W_EPROTO);  /* no newline */
	assert_int_equal(feed_responder("\x00", 1), W2W_EPROTO);                      /* empty message */
	assert_int_equal(feed_responder("\x80\x00", 2), W2W_EPROTO);                  /* non-minimal varint */
	assert_int_equal(feed_responder("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 10), W2W_EPROTO);
	assert_int_equal(feed_responder("\x81\x08", 2), W2W_ELIMIT); /* 1025 > 1024 */
	/* Exactly 1024 bytes including the newline is allowed (then "na"). */
	memcpy(big, HDR, HDR_LEN);
	big[HDR_LEN] = 0x80;
	big[HDR_LEN + 1] = 0x08;
	memset(big + HDR_LEN + 2, 'p', 1023);
	big[HDR_LEN + 2 + 1023] = '\n';
	assert_int_equal(feed_responder(big, HDR_LEN + 2 + 1024), 0);
	/* A peer cycling through refused names is cut off. */
	{
		struct buf many;

		buf_init(&many, 1 << 16);
		assert_int_equal(buf_append(&many, HDR, HDR_LEN), 0);
		for (int i = 0; i < 64; i++)
			assert_int_equal(mss_put_line(&many, "/tls/1.0.0", 10), 0);
		assert_int_equal(feed_responder(many.data, many.len), 0);
		assert_int_equal(mss_put_line(&many, "/tls/1.0.0", 10), 0);
		assert_int_equal(feed_responder(many.data, many.len), W2W_ELIMIT);
		buf_free(&many);
	}
	/* Split inputs that are still incomplete are not errors. */
	assert_int_equal(feed_responder("\x13/multi", 7), 0);
	assert_int_equal(feed_responder("\x81", 1), 0);

	assert_int_equal(feed_initiator(HDR "\x05nope\n", HDR_LEN + 6), W2W_EPROTO); /* unexpected answer */
	assert_int_equal(feed_initiator(HDR "\x03na\n\x03na\n", HDR_LEN + 8), W2W_EPROTO); /* all refused */
	assert_int_equal(feed_initiator(HDR "\x03na\n", HDR_LEN + 4), 0);
	assert_int_equal(feed_initiator("\x03na\n", 4), W2W_EPROTO); /* answer before the header */
	/* An answer for the proposal not currently outstanding. */
	assert_int_equal(feed_initiator(HDR "\x07/noise\n", HDR_LEN + 8), W2W_EPROTO);
}

static void test_config_and_deadline(void **state)
{
	const char *bad1[] = {""};
	const char *bad2[] = {"/a\nb"};
	const char *ok[] = {"/a"};
	char longp[1024];
	const char *bad3[] = {longp};
	struct mss_config cfg = {.role = MSS_INITIATOR, .protocols = ok, .n_protocols = 0};
	struct buf out;
	struct mss *m;

	(void)state;
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(mss_new(&m, &cfg), W2W_EPARSE); /* initiator needs a proposal */
	cfg.n_protocols = 1;
	cfg.protocols = bad1;
	assert_int_equal(mss_new(&m, &cfg), W2W_EPARSE);
	cfg.protocols = bad2;
	assert_int_equal(mss_new(&m, &cfg), W2W_EPARSE);
	cfg.protocols = bad3;
	assert_int_equal(mss_new(&m, &cfg), 0); /* 1023 + '\n' = 1024 is the limit */
	mss_free(m);
	cfg.n_protocols = MSS_MAX_PROTOCOLS + 1;
	assert_int_equal(mss_new(&m, &cfg), W2W_EPARSE);
	/* A responder may serve nothing (answers "na" to everything). */
	cfg.role = MSS_RESPONDER;
	cfg.n_protocols = 0;
	assert_int_equal(mss_new(&m, &cfg), 0);
	mss_free(m);

	cfg.role = MSS_INITIATOR;
	cfg.protocols = ok;
	cfg.n_protocols = 1;
	cfg.timeout_us = 500;
	buf_init(&out, 4096);
	assert_int_equal(mss_new(&m, &cfg), 0);
	assert_int_equal(mss_feed(m, HDR, HDR_LEN, 0, &out), W2W_ESTATE); /* before start */
	assert_int_equal(mss_next_deadline(m), UINT64_MAX);
	assert_int_equal(mss_start(m, 1000, &out), 0);
	assert_int_equal(mss_next_deadline(m), 1500);
	assert_int_equal(mss_feed(m, HDR, HDR_LEN, 1200, &out), 0);
	assert_int_equal(mss_tick(m, 1499), 0);
	assert_int_equal(mss_tick(m, 1500), W2W_ETIMEDOUT);
	assert_int_equal(mss_feed(m, "\x03/a\n", 4, 1501, &out), W2W_ETIMEDOUT);
	assert_false(mss_done(m));
	assert_null(mss_protocol(m));
	mss_free(m);
	mss_free(NULL);

	/* A full output buffer at start leaves it untouched. */
	out.max = out.len + 5;
	assert_int_equal(mss_new(&m, &cfg), 0);
	{
		size_t before = out.len;

		assert_int_equal(mss_start(m, 0, &out), W2W_ELIMIT);
		assert_int_equal(out.len, before);
	}
	mss_free(m);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_byte_forms),
	    cmocka_unit_test(test_pair_random_chunks),
	    cmocka_unit_test(test_pipelined_leftovers),
	    cmocka_unit_test(test_ls),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_config_and_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
