/* SPDX-License-Identifier: MIT */
/* Gossipsub RPC codec: known bytes both ways, unknown fields, caps, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "buf.h"
#include "err.h"
#include "gsrpc.h"
#include "ident.h"
#include "testutil.h"

static struct gsb S(const char *s) {
	return (struct gsb){(const uint8_t *)s, strlen(s)};
}

static bool
eq(struct gsb a, const void *p, size_t n)
{
	return a.n == n && memcmp(a.p, p, n) == 0;
}

/* libp2p specs pubsub/README.md signing over the spec Ed25519 test key; bytes cross-checked with js. */
static void test_sign_vector(void **state)
{
	uint8_t seed[32], unsigned_msg[128], sig_exp[64], sig[64];
	struct ident *id = NULL;
	struct gsrpc_msg m = {0};
	struct buf b;
	size_t ul;

	(void)state;
	unhex(seed, sizeof(seed), "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d");
	ul = unhex(unsigned_msg, sizeof(unsigned_msg),
	           "0a260024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
	           "120568656c6c6f1a080000000000000001220474657374");
	unhex(sig_exp, sizeof(sig_exp),
	      "f05e62a21b5f1f89b4ab356feb34c493746a2af8ef2fa03b9fd4956fb40d3c27"
	      "9b1eae5153c6b28dce3b2f9bed546dc1cfd5a71513af0aa38ee38d31675ac30f");
	assert_int_equal(ident_from_seed(&id, seed), 0);
	m.has = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC;
	m.from = (struct gsb){ident_peerid(id)->b, ident_peerid(id)->len};
	m.data = S("hello");
	m.seqno = (struct gsb){(const uint8_t *)"\0\0\0\0\0\0\0\1", 8};
	m.topic = S("test");

	buf_init(&b, 0);
	assert_int_equal(gsrpc_msg_sign_input(&m, &b), 0);
	assert_int_equal(b.len, 14 + ul);
	assert_memory_equal(b.data, "libp2p-pubsub:", 14);
	assert_memory_equal(b.data + 14, unsigned_msg, ul);
	assert_int_equal(ident_sign(id, b.data, b.len, sig), 0);
	assert_memory_equal(sig, sig_exp, 64);

	/* Wire Message, go style (no key): unsigned || 2a 40 || signature. */
	m.has |= GSRPC_HAS_SIG;
	m.signature = (struct gsb){sig, 64};
	buf_reset(&b);
	assert_int_equal(gsrpc_msg_encode(&m, &b), 0);
	assert_int_equal(b.len, ul + 2 + 64);
	assert_int_equal(gsrpc_msg_size(&m), b.len);
	assert_memory_equal(b.data, unsigned_msg, ul);
	assert_memory_equal(b.data + ul, "\x2a\x40", 2);
	assert_memory_equal(b.data + ul + 2, sig_exp, 64);
	buf_free(&b);
	ident_free(id);
}

static const char KNOWN_RPC[] = "0a050801120161" /* SubOpts{subscribe, "a"} */
                                "1a12"           /* control */
                                "1a030a0174"     /* GRAFT "t" */
                                "220b0a0174"
                                "12040a020102"
                                "183c"; /* PRUNE "t", PX {01 02}, backoff 60 */

static void test_encode_known(void **state)
{
	uint8_t exp[64];
	size_t n = unhex(exp, sizeof(exp), KNOWN_RPC);
	struct gsrpc_sub sub = {true, S("a")};
	struct gsb graft = S("t");
	struct gsrpc_px px = {{(const uint8_t *)"\x01\x02", 2}, {NULL, 0}};
	struct gsrpc_prune pr = {S("t"), &px, 1, true, 60};
	struct gsrpc r = {
	    .subs = &sub, .n_subs = 1, .graft = &graft, .n_graft = 1, .prune = &pr, .n_prune = 1};
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(gsrpc_size(&r), n);
	assert_int_equal(gsrpc_encode(&r, &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, exp, n);
	buf_reset(&b);
	assert_int_equal(gsrpc_encode_lp(&r, 0, &b), 0);
	assert_int_equal(b.len, n + 1);
	assert_int_equal(b.data[0], n);
	/* Over the cap: refused and nothing written. */
	buf_reset(&b);
	assert_int_equal(gsrpc_encode_lp(&r, n - 1, &b), W2W_ELIMIT);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_decode_known(void **state)
{
	uint8_t in[64];
	size_t n = unhex(in, sizeof(in), KNOWN_RPC);
	struct gsrpc r;

	(void)state;
	assert_int_equal(gsrpc_decode(in, n, NULL, &r), 0);
	assert_int_equal(r.n_subs, 1);
	assert_true(r.subs[0].subscribe);
	assert_true(eq(r.subs[0].topic, "a", 1));
	assert_int_equal(r.n_msgs, 0);
	assert_int_equal(r.n_graft, 1);
	assert_true(eq(r.graft[0], "t", 1));
	assert_int_equal(r.n_prune, 1);
	assert_true(eq(r.prune[0].topic, "t", 1));
	assert_true(r.prune[0].has_backoff);
	assert_int_equal(r.prune[0].backoff, 60);
	assert_int_equal(r.prune[0].n_px, 1);
	assert_true(eq(r.prune[0].px[0].peer_id, "\x01\x02", 2));
	assert_int_equal(r.prune[0].px[0].record.n, 0);
	assert_int_equal(r.truncated, 0);
	gsrpc_free(&r);
	gsrpc_free(NULL);
}

/* Round trip of everything we encode, including IHAVE/IWANT and messages. */
static void test_roundtrip(void **state)
{
	struct gsb ids[3] = {S("id-one"), S("id-two"), S("")};
	struct gsrpc_ihave ih = {S("topic"), ids, 2};
	struct gsrpc_iwant iw = {ids, 3};
	struct gsrpc_msg m = {.has = GSRPC_HAS_DATA | GSRPC_HAS_TOPIC, .data = {NULL, 0}, .topic = S("x")};
	struct gsrpc r = {.msgs = &m, .n_msgs = 1, .ihave = &ih, .n_ihave = 1, .iwant = &iw, .n_iwant = 1};
	struct gsrpc d;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(gsrpc_encode(&r, &b), 0);
	assert_int_equal(gsrpc_decode(b.data, b.len, NULL, &d), 0);
	assert_int_equal(d.n_msgs, 1);
	/* present-but-empty data stays present (signatures depend on it) */
	assert_int_equal(d.msgs[0].has, GSRPC_HAS_DATA | GSRPC_HAS_TOPIC);
	assert_int_equal(d.msgs[0].data.n, 0);
	assert_true(eq(d.msgs[0].topic, "x", 1));
	assert_int_equal(d.msgs[0].raw.n, gsrpc_msg_size(&m));
	assert_int_equal(d.n_ihave, 1);
	assert_true(eq(d.ihave[0].topic, "topic", 5));
	assert_int_equal(d.ihave[0].n_ids, 2);
	assert_true(eq(d.ihave[0].ids[1], "id-two", 6));
	assert_int_equal(d.n_iwant, 1);
	assert_int_equal(d.iwant[0].n_ids, 3);
	assert_true(eq(d.iwant[0].ids[0], "id-one", 6));
	assert_int_equal(d.iwant[0].ids[2].n, 0);
	gsrpc_free(&d);

	/* The forwarding fast path frames a cached Message as an RPC. */
	uint8_t raw[] = {0x12, 0x02, 'h', 'i', 0x22, 0x01, 'x'};
	buf_reset(&b);
	assert_int_equal(gsrpc_frame_raw_msg(raw, sizeof(raw), 0, &b), 0);
	assert_int_equal(b.data[0], b.len - 1);
	assert_int_equal(gsrpc_decode(b.data + 1, b.len - 1, NULL, &d), 0);
	assert_int_equal(d.n_msgs, 1);
	assert_true(eq(d.msgs[0].raw, raw, sizeof(raw)));
	assert_true(eq(d.msgs[0].data, "hi", 2));
	gsrpc_free(&d);
	buf_free(&b);
}

/* go v0.16 hello (SubOpts 3/4 explicit false), RPC field 10, IDONTWANT, fixed32/64: all skipped. */
static void test_unknown_fields(void **state)
{
	uint8_t in[128];
	size_t n = unhex(in, sizeof(in),
	                 "0a0e"
	                 "0801"
	                 "120161"
	                 "1800"
	                 "2000"
	                 "2d01020304" /* SubOpts + 3,4 + fixed32 field 5 */
	                 "5200"       /* RPC field 10 (partial) */
	                 "1a0f"
	                 "2a040a020102"
	                 "31"
	                 "0102030405060708" /* control: IDONTWANT, fixed64 6 */
	                 "1a05"
	                 "1a030a0162" /* second control merges */
	                 "f8ff0301"); /* field 65535 varint */
	struct gsrpc r;

	(void)state;
	assert_int_equal(gsrpc_decode(in, n, NULL, &r), 0);
	assert_int_equal(r.n_subs, 1);
	assert_true(r.subs[0].subscribe);
	assert_true(eq(r.subs[0].topic, "a", 1));
	assert_int_equal(r.n_graft, 1);
	assert_true(eq(r.graft[0], "b", 1));
	assert_int_equal(r.n_ihave + r.n_iwant + r.n_prune + r.n_msgs, 0);
	gsrpc_free(&r);
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
	    "0a05080112", /* length past the end */
	    "0801",       /* subscriptions as a varint */
	    "0b",         /* group start */
	    "1a03"
	    "1a0108", /* GRAFT whose topic is a varint... inside a truncated sub-message */
	    "1a04"
	    "22021801", /* PRUNE backoff fine, but ... */
	    "1202"
	    "0a", /* Message with a truncated field */
	    "1a02"
	    "0a00"
	    "ff", /* trailing garbage key */
	};
	struct gsrpc r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t in[32];
		size_t n = unhex(in, sizeof(in), bad[i]);
		int e = gsrpc_decode(in, n, NULL, &r);

		if (i == 4) { /* a well-formed PRUNE with only a backoff: accepted */
			assert_int_equal(e, 0);
			assert_int_equal(r.n_prune, 1);
			assert_int_equal(r.prune[0].backoff, 1);
			gsrpc_free(&r);
			continue;
		}
		assert_int_equal(e, W2W_EPARSE);
	}
	/* empty RPC is fine and allocates nothing */
	assert_int_equal(gsrpc_decode((const uint8_t *)"", 0, NULL, &r), 0);
	assert_null(r.mem);
}

static void test_caps(void **state)
{
	struct gsb ids[10];
	struct gsrpc_iwant iw[2] = {{ids, 10}, {ids, 2}};
	struct gsb grafts[3] = {S("g1"), S("g2"), S("g3")};
	struct gsrpc r = {.iwant = iw, .n_iwant = 2, .graft = grafts, .n_graft = 3};
	struct gsrpc_limits lim = {.max_ids = 3, .max_ctrl = 2};
	char names[10][4];
	struct gsrpc d;
	struct buf b;

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], sizeof(names[i]), "i%d", i);
		ids[i] = S(names[i]);
	}
	buf_init(&b, 0);
	assert_int_equal(gsrpc_encode(&r, &b), 0);
	assert_int_equal(gsrpc_decode(b.data, b.len, &lim, &d), 0);
	/* 2 control entries kept (both IWANTs), 3 IDs over them, the rest counted */
	assert_int_equal(d.n_iwant, 2);
	assert_int_equal(d.iwant[0].n_ids, 3);
	assert_int_equal(d.iwant[1].n_ids, 0);
	assert_true(eq(d.iwant[0].ids[2], "i2", 2));
	assert_int_equal(d.n_graft, 0);
	assert_int_equal(d.truncated, 7 + 2 + 3);
	gsrpc_free(&d);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_vector),    cmocka_unit_test(test_encode_known),
	    cmocka_unit_test(test_decode_known),   cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_unknown_fields), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
