/* SPDX-License-Identifier: MIT */
/*
 * Noise: the bare XX core against the cacophony vector, the libp2p handshake
 * against a byte-exact vector cross-checked with js-libp2p-noise, engine pairs
 * over randomly chunked delivery, and the failure paths (wrong peer ID, bad
 * frames, truncated handshake, deadline).
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
#include "ident.h"
#include "mss.h"
#include "noise.h"
#include "pb.h"
#include "peerid.h"
#include "pnet.h"
#include "prim.h"
#include "rng.h"
#include "testutil.h"

static void assert_buf_hex(const struct buf *b, const char *want)
{
	size_t n = strlen(want) / 2;
	uint8_t *w = malloc(n ? n : 1);

	assert_non_null(w);
	unhex_exact(w, n, want);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, w, n);
	free(w);
}

/* An rng that hands out fixed bytes, to inject the vector's ephemeral keys. */
struct fixed_rng {
	uint8_t bytes[64];
	size_t len, off;
};

static void fixed_fill(void *ud, void *buf, size_t n)
{
	struct fixed_rng *f = ud;

	assert_true(f->off + n <= f->len);
	memcpy(buf, f->bytes + f->off, n);
	f->off += n;
}

/* ---- cacophony Noise_XX_25519_ChaChaPoly_SHA256 (haskell-cryptography/cacophony vectors) ---- */

#define CACO_INIT_STATIC "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"
#define CACO_INIT_EPH "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
#define CACO_RESP_STATIC "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"
#define CACO_RESP_EPH "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"

struct vec_msg {
	const char *payload, *ciphertext;
};

struct vec {
	const char *prologue, *init_static, *init_eph, *resp_static, *resp_eph, *hash;
	const struct vec_msg *msgs;
	size_t n_msgs;
};

static const struct vec_msg caco_msgs[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573"},
    {"4d757272617920526f746862617264", "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cba"
                                       "d1f276e038c48378ffce2b65285e08d6b68"
                                       "aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe0"
                                       "9be9b5c412f8a0db50f8814c7194e83f23d"
                                       "bd8d162c9326ad"},
    {"462e20412e20486179656b", "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f1"
                               "69ae80a89be0865b57f58c9fea0"
                               "d4ec82a286427402f113e4b6ae769a1d95941d49b25030"},
    {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
    {"4a65616e2d426170746973746520536179",
     "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
};

/* mcginty/snow tests/vectors/snow.txt, same protocol, other keys and a long prologue (no hash given). */
static const struct vec_msg snow_msgs[] = {
    {"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
     "f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818d03c489139e645d0711a3c9e810d776b46a8"
     "4912463fafa87b884eebf242dc34"},
    {"d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
     "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47b81c6c5f43b025692c24391eefee725c17d8"
     "cb0fbe3e4abb8aedf42c4fd2592d4ea48ac08989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e930612336bd43eae"
     "a04d3c670a0a146691aa9cc9d357872320dc735dbc48580cffb553db"},
    {"77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
     "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f83f72b42837b18e3572f2fdc2b74c331e2368"
     "a545cef54bdca081678ab0e9dd5348122459e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0"},
    {"d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
     "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb69ab2577f3bda0cbf72f879685f6ed25f"},
    {"dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
     "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63e1daebefe8a62a334facc8048ab4ad66"},
};

static const struct vec vectors[] = {
    {"4a6f686e2047616c74" /* "John Galt" */, CACO_INIT_STATIC, CACO_INIT_EPH, CACO_RESP_STATIC, CACO_RESP_EPH,
     "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e", caco_msgs,
     sizeof(caco_msgs) / sizeof(caco_msgs[0])},
    {"5468657265206973206e6f20726967687420616e642077726f6e672e2054686572652773206f6e6c792066756e20616e6420"
     "626f72696e672e",
     "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
     "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
     "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
     "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5", NULL, snow_msgs,
     sizeof(snow_msgs) / sizeof(snow_msgs[0])},
};

static void run_vector(const struct vec *v)
{
	struct fixed_rng fi = {.len = 32}, fr = {.len = 32};
	struct rng ri = {fixed_fill, &fi}, rr = {fixed_fill, &fr};
	uint8_t is[32], rs[32], prologue[128], pl[64], h1[32], h2[32];
	size_t plen_pro = unhex(prologue, sizeof(prologue), v->prologue);
	struct noise_hs *hi, *hr;
	struct noise_cs *is_tx, *is_rx, *rs_tx, *rs_rx;
	struct buf msg, got;

	unhex_exact(is, 32, v->init_static);
	unhex_exact(rs, 32, v->resp_static);
	unhex_exact(fi.bytes, 32, v->init_eph);
	unhex_exact(fr.bytes, 32, v->resp_eph);
	assert_int_equal(noise_hs_new(&hi, true, prologue, plen_pro, is, &ri), 0);
	assert_int_equal(noise_hs_new(&hr, false, prologue, plen_pro, rs, &rr), 0);
	buf_init(&msg, 65535);
	buf_init(&got, 65535);

	for (size_t i = 0; i < 3; i++) {
		struct noise_hs *w = i % 2 == 0 ? hi : hr, *r = i % 2 == 0 ? hr : hi;
		size_t plen = unhex(pl, sizeof(pl), v->msgs[i].payload);

		/* Reading or writing out of turn is refused. */
		assert_int_equal(noise_hs_read(w, pl, plen, &got), W2W_ESTATE);
		assert_int_equal(noise_hs_write(r, pl, plen, &msg), W2W_ESTATE);
		assert_int_equal(noise_hs_write(w, pl, plen, &msg), 0);
		assert_buf_hex(&msg, v->msgs[i].ciphertext);
		assert_int_equal(noise_hs_read(r, msg.data, msg.len, &got), 0);
		assert_int_equal(got.len, plen);
		assert_memory_equal(got.data, pl, plen);
		buf_reset(&msg);
		buf_reset(&got);
	}
	assert_true(noise_hs_done(hi));
	assert_true(noise_hs_done(hr));
	assert_memory_equal(noise_hs_remote_static(hr), noise_hs_static_pub(hi), 32);
	assert_memory_equal(noise_hs_remote_static(hi), noise_hs_static_pub(hr), 32);
	noise_hs_hash(hi, h1);
	noise_hs_hash(hr, h2);
	assert_memory_equal(h1, h2, 32);
	if (v->hash) {
		unhex_exact(pl, 32, v->hash);
		assert_memory_equal(h1, pl, 32);
	}

	assert_int_equal(noise_hs_split(hi, &is_tx, &is_rx), 0);
	assert_int_equal(noise_hs_split(hr, &rs_tx, &rs_rx), 0);
	/* After the handshake the vectors keep alternating: responder, initiator, responder. */
	for (size_t i = 3; i < v->n_msgs; i++) {
		struct noise_cs *tx = i % 2 ? rs_tx : is_tx, *rx = i % 2 ? is_rx : rs_rx;
		size_t plen = unhex(pl, sizeof(pl), v->msgs[i].payload);

		assert_int_equal(noise_cs_encrypt(tx, pl, plen, &msg), 0);
		assert_buf_hex(&msg, v->msgs[i].ciphertext);
		assert_int_equal(noise_cs_decrypt(rx, msg.data, msg.len, &got), 0);
		assert_int_equal(got.len, plen);
		assert_memory_equal(got.data, pl, plen);
		/* A replay (the receive nonce moved on) fails. */
		assert_int_equal(noise_cs_decrypt(rx, msg.data, msg.len, &got), W2W_EAUTH);
		buf_reset(&msg);
		buf_reset(&got);
	}
	noise_cs_free(is_tx);
	noise_cs_free(is_rx);
	noise_cs_free(rs_tx);
	noise_cs_free(rs_rx);
	noise_hs_free(hi);
	noise_hs_free(hr);
	buf_free(&msg);
	buf_free(&got);
}

static void test_xx_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		run_vector(&vectors[i]);
}

static struct noise_hs *hs_fixed(bool initiator, struct fixed_rng *f, struct rng *r)
{
	struct noise_hs *hs;
	uint8_t st[32];

	f->off = 0;
	f->len = 32;
	unhex_exact(f->bytes, 32, initiator ? CACO_INIT_EPH : CACO_RESP_EPH);
	unhex_exact(st, 32, initiator ? CACO_INIT_STATIC : CACO_RESP_STATIC);
	r->fill = fixed_fill;
	r->ud = f;
	assert_int_equal(noise_hs_new(&hs, initiator, NULL, 0, st, r), 0);
	return hs;
}

static void test_hs_tampered(void **state)
{
	struct fixed_rng fi, fr;
	struct rng ri, rr;
	struct noise_hs *hi, *hr;
	struct buf m1, m2, got;
	uint8_t zero[32] = {0};

	(void)state;
	buf_init(&m1, 65535);
	buf_init(&m2, 65535);
	buf_init(&got, 65535);

	/* A low-order initiator ephemeral is refused at the responder's first DH,
	 * nothing is half-written and the failure is final. */
	hr = hs_fixed(false, &fr, &rr);
	assert_int_equal(noise_hs_read(hr, zero, 32, &got), 0);
	assert_int_equal(noise_hs_write(hr, NULL, 0, &m2), W2W_EAUTH);
	assert_int_equal(m2.len, 0);
	assert_int_equal(noise_hs_write(hr, NULL, 0, &m2), W2W_ESTATE);
	noise_hs_free(hr);

	/* A first message shorter than an ephemeral key. */
	hr = hs_fixed(false, &fr, &rr);
	assert_int_equal(noise_hs_read(hr, zero, 31, &got), W2W_EPROTO);
	noise_hs_free(hr);

	/* A valid message 2, then truncated and bit-flipped variants of it. */
	hi = hs_fixed(true, &fi, &ri);
	hr = hs_fixed(false, &fr, &rr);
	assert_int_equal(noise_hs_write(hi, NULL, 0, &m1), 0);
	assert_int_equal(noise_hs_read(hr, m1.data, m1.len, &got), 0);
	assert_int_equal(noise_hs_write(hr, (const uint8_t *)"x", 1, &m2), 0);
	assert_int_equal(m2.len, 32 + 48 + 17);
	noise_hs_free(hr);
	assert_int_equal(noise_hs_read(hi, m2.data, 32 + 48 + 15, &got), W2W_EPROTO);
	noise_hs_free(hi);

	for (size_t pos = 0; pos < m2.len; pos += 7) {
		hi = hs_fixed(true, &fi, &ri);
		buf_reset(&m1);
		assert_int_equal(noise_hs_write(hi, NULL, 0, &m1), 0);
		m2.data[pos] ^= 0x20;
		/* A changed ephemeral changes every key; a changed ciphertext fails its tag. */
		assert_int_equal(noise_hs_read(hi, m2.data, m2.len, &got), W2W_EAUTH);
		assert_false(noise_hs_done(hi));
		m2.data[pos] ^= 0x20;
		noise_hs_free(hi);
	}
	/* Unmodified, it is accepted. */
	hi = hs_fixed(true, &fi, &ri);
	buf_reset(&m1);
	assert_int_equal(noise_hs_write(hi, NULL, 0, &m1), 0);
	assert_int_equal(noise_hs_read(hi, m2.data, m2.len, &got), 0);
	assert_int_equal(got.len, 1);
	assert_int_equal(got.data[0], 'x');
	noise_hs_free(hi);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&got);
}

/* ---- libp2p handshake vector (X25519 keys from cacophony, Ed25519 identities below) ---- */

/* libp2p specs peer-ids test key; peer 12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq. */
#define INIT_ID_SEED "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
#define INIT_PEER "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
/* js-libp2p-noise test fixture peer 0. */
#define RESP_ID_SEED "1b4a5eb3306b00004662d27329d052e4b08bf8064a4c2a0cfc62d7937776a0c7"
#define RESP_PEER "12D3KooWH45PiqBjfnEfDfCD6TqJrpqTBJvQDwGHvjGpaWwms46D"

#define LP_FRAME1 "0020ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
#define LP_FRAME2                                                                                            \
	"00c895ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b652" \
	"85e08d6b"                                                                                           \
	"68aaa3629a5a8639392490e5b90b20f024c6abdc05d618c61c13a3fe07127982eb5ca742680ca142e47bb868026c30848e" \
	"7173be8d5f"                                                                                         \
	"26fa7cf13b4ae339a863eee1c5c92b95e37d69e5a052723acf9c547858a8ffb0a8b31eb3f0355b30077a2e07f258976c55" \
	"cf86465e4a"                                                                                         \
	"0d67a08449d341433dc2711b794ee63c009009d4af01e3b2b20dd297f4e5a40d1afafcfaa8c513d338"
#define LP_FRAME3                                                                                            \
	"00a8c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8747003d9705848787cec6066d0abe9" \
	"8414c3d6"                                                                                           \
	"e0e8ecd41217ddfdf0afb41507a1be308a2142c5bd7aa4533305677b3e694b63076f9d2df0fe4d73b419771080a6cf96b3" \
	"7385017659"                                                                                         \
	"6856cd9886b5ccf7b92fd0b13c9d40153da17beeda35f1631e57da5fabbc42aaeea8ff1a68839842fe9190823c6eb028c9" \
	"884fd44c75"                                                                                         \
	"67903e49627553dfcf"
#define LP_T_I2R "00235b48e55d361154aa42673722b2a0a4aee1d684a9e7cdc510ea6c6d2721355c8d46e58f"
#define LP_T_R2I "0015bd7220d73c0f7ff50fd460c229eb00798842dfa23d"

static struct ident *ident_hex(const char *seed_hex)
{
	uint8_t seed[32];
	struct ident *id;

	unhex_exact(seed, 32, seed_hex);
	assert_int_equal(ident_from_seed(&id, seed), 0);
	return id;
}

static void assert_peer(const struct peerid *p, const char *want)
{
	struct peerid w;

	assert_non_null(p);
	assert_int_equal(peerid_parse(&w, want, strlen(want)), 0);
	assert_true(peerid_eq(p, &w));
}

static void test_libp2p_vector_initiator(void **state)
{
	struct fixed_rng f = {.len = 32};
	struct rng r = {fixed_fill, &f};
	struct ident *id = ident_hex(INIT_ID_SEED);
	uint8_t st[32], frame2[256];
	struct noise_config cfg = {.initiator = true, .identity = id, .rng = &r, .static_priv = st};
	struct peerid expect;
	struct noise *n;
	struct buf wire, app;
	size_t f2len, klen;
	const uint8_t *key;

	(void)state;
	unhex_exact(st, 32, CACO_INIT_STATIC);
	unhex_exact(f.bytes, 32, CACO_INIT_EPH);
	assert_int_equal(peerid_parse(&expect, RESP_PEER, strlen(RESP_PEER)), 0);
	cfg.expected_peer = &expect;
	buf_init(&wire, 1 << 20);
	buf_init(&app, 1 << 20);
	assert_int_equal(noise_new(&n, &cfg), 0);
	assert_int_equal(noise_write(n, "x", 1, &wire), W2W_ESTATE);
	assert_int_equal(noise_feed(n, "x", 1, 0, &wire, &app), W2W_ESTATE); /* before start */
	assert_int_equal(noise_start(n, 0, &wire), 0);
	assert_int_equal(noise_start(n, 0, &wire), W2W_ESTATE);
	assert_buf_hex(&wire, LP_FRAME1);
	buf_reset(&wire);
	assert_null(noise_remote_peer(n));

	f2len = unhex(frame2, sizeof(frame2), LP_FRAME2);
	assert_int_equal(noise_feed(n, frame2, f2len, 1000, &wire, &app), 1);
	assert_true(noise_established(n));
	assert_int_equal(noise_next_deadline(n), UINT64_MAX);
	assert_buf_hex(&wire, LP_FRAME3);
	assert_int_equal(app.len, 0);
	assert_peer(noise_remote_peer(n), RESP_PEER);
	key = noise_remote_identity_key(n, &klen);
	assert_int_equal(klen, 36);
	assert_memory_equal(key, "\x08\x01\x12\x20\x6b\x84\xf8\x89", 8);

	buf_reset(&wire);
	assert_int_equal(noise_write(n, "/multistream/1.0.0\n", 19, &wire), 0);
	assert_buf_hex(&wire, LP_T_I2R);
	/* The responder's first transport frame decrypts to "hello". */
	f2len = unhex(frame2, sizeof(frame2), LP_T_R2I);
	assert_int_equal(noise_feed(n, frame2, f2len, 2000, &wire, &app), 1);
	assert_int_equal(app.len, 5);
	assert_memory_equal(app.data, "hello", 5);
	noise_free(n);
	ident_free(id);
	buf_free(&wire);
	buf_free(&app);
}

static void test_libp2p_vector_responder(void **state)
{
	struct fixed_rng f = {.len = 32};
	struct rng r = {fixed_fill, &f};
	struct ident *id = ident_hex(RESP_ID_SEED);
	uint8_t st[32], in[512];
	struct noise_config cfg = {.initiator = false, .identity = id, .rng = &r, .static_priv = st};
	struct noise *n;
	struct buf wire, app;
	size_t len, l2;

	(void)state;
	unhex_exact(st, 32, CACO_RESP_STATIC);
	unhex_exact(f.bytes, 32, CACO_RESP_EPH);
	buf_init(&wire, 1 << 20);
	buf_init(&app, 1 << 20);
	assert_int_equal(noise_new(&n, &cfg), 0);
	assert_int_equal(noise_start(n, 0, &wire), 0);
	assert_int_equal(wire.len, 0); /* the responder speaks second */
	len = unhex(in, sizeof(in), LP_FRAME1);
	assert_int_equal(noise_feed(n, in, len, 10, &wire, &app), 0);
	assert_buf_hex(&wire, LP_FRAME2);
	buf_reset(&wire);
	/* Message 3 and the first transport frame in one read. */
	len = unhex(in, sizeof(in), LP_FRAME3);
	l2 = unhex(in + len, sizeof(in) - len, LP_T_I2R);
	assert_int_equal(noise_feed(n, in, len + l2, 20, &wire, &app), 1);
	assert_int_equal(wire.len, 0);
	assert_peer(noise_remote_peer(n), INIT_PEER);
	assert_int_equal(app.len, 19);
	assert_memory_equal(app.data, "/multistream/1.0.0\n", 19);
	assert_int_equal(noise_write(n, "hello", 5, &wire), 0);
	assert_buf_hex(&wire, LP_T_R2I);
	noise_free(n);
	ident_free(id);
	buf_free(&wire);
	buf_free(&app);
}

/* ---- engine pairs over random chunking ---- */

struct side {
	struct noise *n;
	struct ident *id;
	struct buf wire; /* bytes this side has written, not yet delivered */
	struct buf app;  /* plaintext received */
	int rc;          /* last noise_feed result */
};

static void side_ident(struct side *s, const struct rng *rng, size_t app_cap)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->wire, 4u << 20);
	buf_init(&s->app, app_cap);
	assert_int_equal(ident_new(&s->id, rng), 0);
}

static void side_engine(struct side *s, bool initiator, const struct peerid *expected, const struct rng *rng)
{
	struct noise_config cfg = {
	    .initiator = initiator, .identity = s->id, .rng = rng, .expected_peer = expected};

	assert_int_equal(noise_new(&s->n, &cfg), 0);
}

static void side_free(struct side *s)
{
	noise_free(s->n);
	ident_free(s->id);
	buf_free(&s->wire);
	buf_free(&s->app);
}

/* Delivers up to about `max` bytes from a->wire to b in random chunks. */
static void deliver(struct side *a, struct side *b, const struct rng *r, size_t max, uint64_t now)
{
	size_t moved = 0;

	while (a->wire.len && moved < max && b->rc >= 0) {
		size_t k = (size_t)rng_below(r, 3000) + 1;

		if (rng_below(r, 4) == 0)
			k = (size_t)rng_below(r, 3) + 1; /* tiny reads split the length prefix */
		if (k > a->wire.len)
			k = a->wire.len;
		b->rc = noise_feed(b->n, a->wire.data, k, now, &b->wire, &b->app);
		buf_consume(&a->wire, k);
		moved += k;
	}
}

static void pump(struct side *a, struct side *b, const struct rng *r)
{
	for (int i = 0; i < 100000 && (a->wire.len || b->wire.len) && a->rc >= 0 && b->rc >= 0; i++) {
		deliver(a, b, r, (size_t)rng_below(r, 5000) + 1, 1);
		deliver(b, a, r, (size_t)rng_below(r, 5000) + 1, 1);
	}
}

static void make_pair(struct side *i, struct side *r, const struct rng *rng, bool expect_right)
{
	side_ident(i, rng, 4u << 20);
	side_ident(r, rng, 4u << 20);
	side_engine(i, true, expect_right ? ident_peerid(r->id) : NULL, rng);
	side_engine(r, false, NULL, rng);
	assert_int_equal(noise_start(i->n, 0, &i->wire), 0);
	assert_int_equal(noise_start(r->n, 0, &r->wire), 0);
}

/* Every frame on the wire is <= 65535 bytes; returns the plaintext they carry. */
static size_t check_frames(const struct buf *w)
{
	size_t off = 0, plain = 0;

	while (off < w->len) {
		size_t fl;

		assert_true(off + 2 <= w->len);
		fl = ((size_t)w->data[off] << 8) | w->data[off + 1];
		assert_true(fl >= NOISE_TAG_LEN && fl <= NOISE_MAX_FRAME);
		assert_true(off + 2 + fl <= w->len);
		plain += fl - NOISE_TAG_LEN;
		off += 2 + fl;
	}
	return plain;
}

static void test_pair_random_chunks(void **state)
{
	const size_t big = 300000, small = 70000;
	uint8_t *d1 = malloc(big), *d2 = malloc(small);

	(void)state;
	assert_non_null(d1);
	assert_non_null(d2);
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct rng_seeded rs;
		struct rng rng;
		struct side a, b;

		rng_seeded_init(&rs, &rng, seed);
		make_pair(&a, &b, &rng, seed % 2 == 0);
		pump(&a, &b, &rng);
		assert_int_equal(a.rc, 1);
		assert_int_equal(b.rc, 1);
		assert_true(noise_established(a.n) && noise_established(b.n));
		assert_true(peerid_eq(noise_remote_peer(a.n), ident_peerid(b.id)));
		assert_true(peerid_eq(noise_remote_peer(b.n), ident_peerid(a.id)));
		assert_string_equal(noise_reason(a.n), "");

		rng_fill(&rng, d1, big);
		rng_fill(&rng, d2, small);
		assert_int_equal(noise_write(a.n, d1, big, &a.wire), 0);
		assert_int_equal(noise_write(a.n, "", 0, &a.wire), 0); /* no empty frames */
		assert_int_equal(check_frames(&a.wire), big);
		assert_int_equal(a.wire.len, big + 5 * (2 + NOISE_TAG_LEN)); /* ceil(300000 / 65519) = 5 */
		assert_int_equal(noise_write(b.n, d2, small, &b.wire), 0);
		assert_int_equal(noise_write(b.n, d2, 1, &b.wire), 0);
		pump(&a, &b, &rng);
		assert_int_equal(a.rc, 1);
		assert_int_equal(b.rc, 1);
		assert_int_equal(b.app.len, big);
		assert_memory_equal(b.app.data, d1, big);
		assert_int_equal(a.app.len, small + 1);
		assert_memory_equal(a.app.data, d2, small);
		assert_int_equal(a.app.data[small], d2[0]);
		side_free(&a);
		side_free(&b);
	}
	free(d1);
	free(d2);
}

static void test_wrong_peer_id(void **state)
{
	struct rng_seeded rs;
	struct rng rng;
	struct side a, b;
	struct ident *other;

	(void)state;
	rng_seeded_init(&rs, &rng, 77);
	side_ident(&a, &rng, 1 << 20);
	side_ident(&b, &rng, 1 << 20);
	assert_int_equal(ident_new(&other, &rng), 0);
	/* We dialled /p2p/<other> but b answered. */
	side_engine(&a, true, ident_peerid(other), &rng);
	side_engine(&b, false, NULL, &rng);
	assert_int_equal(noise_start(a.n, 0, &a.wire), 0);
	assert_int_equal(noise_start(b.n, 0, &b.wire), 0);
	pump(&a, &b, &rng);
	assert_int_equal(a.rc, W2W_EAUTH);
	assert_false(noise_established(a.n));
	assert_null(noise_remote_peer(a.n));
	assert_int_equal(a.wire.len, 0); /* message 3 was never sent */
	assert_int_equal(b.rc, 0);       /* b is left waiting; its deadline ends it */
	assert_true(strstr(noise_reason(a.n), "peer ID") != NULL);
	assert_int_equal(noise_write(a.n, "x", 1, &a.wire), W2W_EAUTH);
	assert_int_equal(noise_feed(a.n, "x", 1, 2, &a.wire, &a.app), W2W_EAUTH);
	assert_int_equal(noise_tick(b.n, NOISE_DEFAULT_TIMEOUT_US), W2W_ETIMEDOUT);
	ident_free(other);
	side_free(&a);
	side_free(&b);
}

/* A 65535-byte frame of random bytes at each stage. */
static void random_frame(struct buf *b, const struct rng *r)
{
	uint8_t *p;

	buf_reset(b);
	assert_int_equal(buf_append_be16(b, 0xffff), 0);
	p = buf_extend(b, 0xffff);
	assert_non_null(p);
	rng_fill(r, p, 0xffff);
}

static void test_garbage_frames(void **state)
{
	struct rng_seeded rs;
	struct rng rng;
	struct side a, b;
	struct buf junk;

	(void)state;
	rng_seeded_init(&rs, &rng, 99);
	buf_init(&junk, 2 + 65535);

	/* As message 2: fails authentication. */
	make_pair(&a, &b, &rng, false);
	random_frame(&junk, &rng);
	assert_int_equal(noise_feed(a.n, junk.data, junk.len, 1, &a.wire, &a.app), W2W_EAUTH);
	assert_int_equal(a.app.len, 0);
	side_free(&a);
	side_free(&b);

	/* As message 1 it is indistinguishable from a key plus an ignored
	 * payload (so the responder answers), and as message 3 it fails. */
	make_pair(&a, &b, &rng, false);
	random_frame(&junk, &rng);
	assert_int_equal(noise_feed(b.n, junk.data, junk.len, 1, &b.wire, &b.app), 0);
	assert_true(b.wire.len > 0);
	random_frame(&junk, &rng);
	assert_int_equal(noise_feed(b.n, junk.data, junk.len, 1, &b.wire, &b.app), W2W_EAUTH);
	side_free(&a);
	side_free(&b);

	/* Too short for message 2. */
	make_pair(&a, &b, &rng, false);
	assert_int_equal(noise_feed(a.n,
	                            "\x00\x0a"
	                            "0123456789",
	                            12, 1, &a.wire, &a.app),
	                 W2W_EPROTO);
	side_free(&a);
	side_free(&b);

	/* After the handshake: random, empty and replayed transport frames. */
	for (int kind = 0; kind < 3; kind++) {
		make_pair(&a, &b, &rng, false);
		pump(&a, &b, &rng);
		assert_int_equal(b.rc, 1);
		if (kind == 0) {
			random_frame(&junk, &rng);
		} else if (kind == 1) {
			buf_reset(&junk);
			assert_int_equal(buf_append_be16(&junk, 0), 0);
		} else {
			buf_reset(&junk);
			assert_int_equal(noise_write(a.n, "abc", 3, &junk), 0);
			assert_int_equal(noise_feed(b.n, junk.data, junk.len, 1, &b.wire, &b.app), 1);
		}
		assert_int_equal(noise_feed(b.n, junk.data, junk.len, 1, &b.wire, &b.app), W2W_EAUTH);
		assert_int_equal(b.app.len, kind == 2 ? 3 : 0);
		assert_false(noise_established(b.n));
		assert_int_equal(noise_write(b.n, "x", 1, &b.wire), W2W_EAUTH);
		side_free(&a);
		side_free(&b);
	}
	buf_free(&junk);
}

static void test_truncated_and_deadline(void **state)
{
	struct rng_seeded rs;
	struct rng rng;
	struct side a, b;
	struct buf tmp;

	(void)state;
	rng_seeded_init(&rs, &rng, 5);
	buf_init(&tmp, 1 << 20);
	make_pair(&a, &b, &rng, false);
	assert_int_equal(noise_next_deadline(a.n), NOISE_DEFAULT_TIMEOUT_US);
	/* Message 1 in full, then only half of message 2 reaches the initiator. */
	assert_int_equal(noise_feed(b.n, a.wire.data, a.wire.len, 1, &b.wire, &b.app), 0);
	assert_int_equal(noise_feed(a.n, b.wire.data, b.wire.len / 2, 2, &a.wire, &a.app), 0);
	assert_int_equal(noise_tick(a.n, NOISE_DEFAULT_TIMEOUT_US - 1), 0);
	assert_int_equal(noise_tick(a.n, NOISE_DEFAULT_TIMEOUT_US), W2W_ETIMEDOUT);
	assert_int_equal(noise_next_deadline(a.n), UINT64_MAX);
	assert_true(strstr(noise_reason(a.n), "timed out") != NULL);
	/* The rest arriving late changes nothing. */
	assert_int_equal(noise_feed(a.n, b.wire.data + b.wire.len / 2, b.wire.len - b.wire.len / 2,
	                            NOISE_DEFAULT_TIMEOUT_US + 1, &tmp, &a.app),
	                 W2W_ETIMEDOUT);
	assert_int_equal(tmp.len, 0);
	/* A feed past the deadline fails without the tick. */
	assert_int_equal(noise_feed(b.n, "\x00", 1, NOISE_DEFAULT_TIMEOUT_US, &b.wire, &b.app),
	                 W2W_ETIMEDOUT);
	side_free(&a);
	side_free(&b);

	/* The application buffer's cap is an error, not an overflow. */
	make_pair(&a, &b, &rng, false);
	pump(&a, &b, &rng);
	b.app.max = 100;
	assert_int_equal(buf_append(&tmp, "0123456789", 10), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(noise_write(a.n, tmp.data, 10, &a.wire), 0);
	assert_int_equal(noise_feed(b.n, a.wire.data, a.wire.len, 1, &b.wire, &b.app), W2W_ELIMIT);
	assert_int_equal(b.app.len, 100);
	side_free(&a);
	side_free(&b);
	buf_free(&tmp);
}

/* ---- the handshake payload ---- */

static void build_payload(struct buf *out, const struct ident *id, const uint8_t st[32], bool ext,
                          int sig_len)
{
	uint8_t msg[24 + 32], sig[64];

	memcpy(msg, NOISE_SIG_PREFIX, 24);
	memcpy(msg + 24, st, 32);
	assert_int_equal(ident_sign(id, msg, sizeof(msg), sig), 0);
	buf_reset(out);
	assert_int_equal(pb_put_bytes(out, 1, ident_pubkey_pb(id), IDENT_PUBPB_LEN), 0);
	if (sig_len >= 0)
		assert_int_equal(pb_put_bytes(out, 2, sig, (size_t)sig_len), 0);
	if (ext) {
		struct buf e;

		buf_init(&e, 256);
		assert_int_equal(pb_put_string(&e, 2, "/yamux/1.0.0"), 0);
		assert_int_equal(pb_put_bytes(out, 4, e.data, e.len), 0);
		assert_int_equal(pb_put_varint(out, 9, 12345), 0); /* unknown field */
		buf_free(&e);
	}
}

static void test_payload_verify(void **state)
{
	struct rng_seeded rs;
	struct rng rng;
	struct ident *id;
	struct peerid p;
	uint8_t st[32], other[32], key[64];
	size_t klen = 0;
	struct buf pl;

	(void)state;
	rng_seeded_init(&rs, &rng, 3);
	assert_int_equal(ident_new(&id, &rng), 0);
	rng_fill(&rng, st, 32);
	rng_fill(&rng, other, 32);
	buf_init(&pl, 4096);

	build_payload(&pl, id, st, true, 64);
	assert_int_equal(noise_payload_verify(pl.data, pl.len, st, &p, key, sizeof(key), &klen), 0);
	assert_true(peerid_eq(&p, ident_peerid(id)));
	assert_int_equal(klen, 36);
	assert_memory_equal(key, ident_pubkey_pb(id), 36);
	/* Signed for another static key. */
	assert_int_equal(noise_payload_verify(pl.data, pl.len, other, NULL, NULL, 0, NULL), W2W_EAUTH);
	/* The key buffer too small. */
	assert_int_equal(noise_payload_verify(pl.data, pl.len, st, NULL, key, 8, &klen), W2W_ELIMIT);
	/* A flipped signature bit (signature starts after 2 + 36 + 2 bytes). */
	pl.data[2 + 36 + 2 + 5] ^= 1;
	assert_int_equal(noise_payload_verify(pl.data, pl.len, st, NULL, NULL, 0, NULL), W2W_EAUTH);
	/* Missing or short signature. */
	build_payload(&pl, id, st, false, -1);
	assert_int_equal(noise_payload_verify(pl.data, pl.len, st, NULL, NULL, 0, NULL), W2W_EPROTO);
	build_payload(&pl, id, st, false, 63);
	assert_int_equal(noise_payload_verify(pl.data, pl.len, st, NULL, NULL, 0, NULL), W2W_EAUTH);
	/* Not protobuf; identity_key with the wrong wire type; unsupported key type. */
	assert_int_equal(noise_payload_verify((const uint8_t *)"\x0b\x01", 2, st, NULL, NULL, 0, NULL),
	                 W2W_EPROTO);
	assert_int_equal(noise_payload_verify((const uint8_t *)"\x08\x01", 2, st, NULL, NULL, 0, NULL),
	                 W2W_EPROTO);
	assert_int_equal(noise_payload_verify(NULL, 0, st, NULL, NULL, 0, NULL), W2W_EPROTO);
	{
		static const uint8_t rsa[] = {0x0a, 0x07, 0x08, 0x00, 0x12, 0x03, 1,
		                              2,    3,    0x12, 0x02, 0xaa, 0xbb};
		uint8_t msg[sizeof(rsa) + 62];

		memcpy(msg, rsa, 9);
		msg[9] = 0x12;
		msg[10] = 64;
		memset(msg + 11, 0x55, 64);
		assert_int_equal(noise_payload_verify(msg, 75, st, NULL, NULL, 0, NULL), W2W_EAUTH);
	}
	buf_free(&pl);
	ident_free(id);
}

/* ---- the whole secure stack: pnet, mss(/noise), Noise, mss(/yamux/1.0.0) ---- */

struct stack {
	bool initiator;
	int stage; /* 0 security mss, 1 noise, 2 muxer mss, 3 ready */
	struct ident *id;
	struct pnet *pn;
	struct mss *sec, *mux;
	struct noise *nz;
	struct buf wire, plain, app, tmp, got;
	const uint8_t *early; /* initiator: sent right after proposing the muxer (lazy) */
	size_t early_len;
	int err;
};

static void st_send_plain(struct stack *s, const struct buf *b)
{
	assert_int_equal(pnet_write(s->pn, b->data, b->len, &s->wire), 0);
}

static void st_send_secure(struct stack *s, const void *p, size_t n)
{
	struct buf f;

	buf_init(&f, 1 << 20);
	assert_int_equal(noise_write(s->nz, p, n, &f), 0);
	st_send_plain(s, &f);
	buf_free(&f);
}

static const char *const sec_offer[] = {"/tls/1.0.0", NOISE_PROTO_ID};
static const char *const mux_list[] = {"/yamux/1.0.0"};

static void st_app(struct stack *s, const uint8_t *p, size_t n)
{
	const uint8_t *lo;
	size_t lolen;
	int r;

	if (s->stage == 3) {
		assert_int_equal(buf_append(&s->got, p, n), 0);
		return;
	}
	buf_reset(&s->tmp);
	r = mss_feed(s->mux, p, n, 1, &s->tmp);
	assert_true(r >= 0);
	if (s->tmp.len)
		st_send_secure(s, s->tmp.data, s->tmp.len);
	if (r == 1) {
		assert_string_equal(mss_protocol(s->mux), "/yamux/1.0.0");
		mss_leftover(s->mux, &lo, &lolen);
		assert_int_equal(buf_append(&s->got, lo, lolen), 0);
		s->stage = 3;
	}
}

static void st_noise(struct stack *s, const uint8_t *p, size_t n)
{
	struct mss_config mc = {
	    .role = s->initiator ? MSS_INITIATOR : MSS_RESPONDER, .protocols = mux_list, .n_protocols = 1};
	int r;

	buf_reset(&s->tmp);
	buf_reset(&s->app);
	r = noise_feed(s->nz, p, n, 1, &s->tmp, &s->app);
	if (r < 0) {
		s->err = r;
		return;
	}
	if (s->tmp.len)
		st_send_plain(s, &s->tmp);
	if (r == 1 && s->stage == 1) {
		s->stage = 2;
		assert_int_equal(mss_new(&s->mux, &mc), 0);
		buf_reset(&s->tmp);
		assert_int_equal(mss_start(s->mux, 1, &s->tmp), 0);
		st_send_secure(s, s->tmp.data, s->tmp.len);
		if (s->initiator && s->early_len)
			st_send_secure(s, s->early, s->early_len);
	}
	if (s->app.len) {
		struct buf a = s->app;

		/* st_app may write through s->tmp; hand it a stable copy. */
		buf_init(&s->app, 4u << 20);
		st_app(s, a.data, a.len);
		buf_free(&a);
	}
}

static void st_recv(struct stack *s, const uint8_t *p, size_t n)
{
	const uint8_t *lo;
	size_t lolen;
	int r;

	if (s->err)
		return;
	buf_reset(&s->plain);
	assert_true(pnet_feed(s->pn, p, n, 1, &s->plain) >= 0);
	if (!s->plain.len)
		return;
	if (s->stage == 0) {
		buf_reset(&s->tmp);
		r = mss_feed(s->sec, s->plain.data, s->plain.len, 1, &s->tmp);
		assert_true(r >= 0);
		if (s->tmp.len)
			st_send_plain(s, &s->tmp);
		if (r == 0)
			return;
		assert_string_equal(mss_protocol(s->sec), NOISE_PROTO_ID);
		s->stage = 1;
		buf_reset(&s->tmp);
		assert_int_equal(noise_start(s->nz, 1, &s->tmp), 0);
		if (s->tmp.len)
			st_send_plain(s, &s->tmp);
		mss_leftover(s->sec, &lo, &lolen);
		if (lolen)
			st_noise(s, lo, lolen);
		return;
	}
	st_noise(s, s->plain.data, s->plain.len);
}

static void st_init(struct stack *s, bool initiator, const uint8_t psk[32], const struct rng *rng)
{
	struct pnet_config pc = {.psk = psk, .rng = rng};
	struct mss_config mc = {.role = initiator ? MSS_INITIATOR : MSS_RESPONDER,
	                        .protocols = initiator ? sec_offer : sec_offer + 1,
	                        .n_protocols = initiator ? 2 : 1};
	struct noise_config nc = {.initiator = initiator, .rng = rng};

	memset(s, 0, sizeof(*s));
	s->initiator = initiator;
	buf_init(&s->wire, 4u << 20);
	buf_init(&s->plain, 4u << 20);
	buf_init(&s->app, 4u << 20);
	buf_init(&s->tmp, 4u << 20);
	buf_init(&s->got, 4u << 20);
	assert_int_equal(ident_new(&s->id, rng), 0);
	nc.identity = s->id;
	assert_int_equal(pnet_new(&s->pn, &pc), 0);
	assert_int_equal(mss_new(&s->sec, &mc), 0);
	assert_int_equal(noise_new(&s->nz, &nc), 0);
	assert_int_equal(pnet_start(s->pn, 0, &s->wire), 0);
	assert_int_equal(mss_start(s->sec, 0, &s->tmp), 0);
	st_send_plain(s, &s->tmp);
}

static void st_free(struct stack *s)
{
	pnet_free(s->pn);
	mss_free(s->sec);
	mss_free(s->mux);
	noise_free(s->nz);
	ident_free(s->id);
	buf_free(&s->wire);
	buf_free(&s->plain);
	buf_free(&s->app);
	buf_free(&s->tmp);
	buf_free(&s->got);
}

static void st_pump(struct stack *a, struct stack *b, const struct rng *r)
{
	for (int i = 0; i < 200000 && (a->wire.len || b->wire.len) && !a->err && !b->err; i++) {
		struct stack *src = rng_below(r, 2) ? a : b, *dst = src == a ? b : a;
		size_t n = (size_t)rng_below(r, 1500) + 1;
		struct buf chunk;

		if (rng_below(r, 3) == 0)
			n = (size_t)rng_below(r, 4) + 1;
		if (n > src->wire.len)
			n = src->wire.len;
		if (n == 0)
			continue;
		/* Copy out first: the receiver may append to its own wire only. */
		buf_init(&chunk, n);
		assert_int_equal(buf_append(&chunk, src->wire.data, n), 0);
		buf_consume(&src->wire, n);
		st_recv(dst, chunk.data, n);
		buf_free(&chunk);
	}
}

static void test_full_stack(void **state)
{
	uint8_t psk[32], early[3000], reply[100000];

	(void)state;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct rng_seeded rs;
		struct rng r;
		struct stack a, b;

		rng_seeded_init(&rs, &r, 1000 + seed);
		rng_fill(&r, psk, sizeof(psk));
		rng_fill(&r, early, sizeof(early));
		rng_fill(&r, reply, sizeof(reply));
		st_init(&a, true, psk, &r);
		st_init(&b, false, psk, &r);
		a.early = early;
		a.early_len = sizeof(early);
		st_pump(&a, &b, &r);
		assert_int_equal(a.err, 0);
		assert_int_equal(b.err, 0);
		assert_int_equal(a.stage, 3);
		assert_int_equal(b.stage, 3);
		assert_true(peerid_eq(noise_remote_peer(a.nz), ident_peerid(b.id)));
		assert_true(peerid_eq(noise_remote_peer(b.nz), ident_peerid(a.id)));
		/* The data pipelined behind the muxer proposal came out as leftover. */
		assert_int_equal(b.got.len, sizeof(early));
		assert_memory_equal(b.got.data, early, sizeof(early));
		st_send_secure(&b, reply, sizeof(reply));
		st_pump(&a, &b, &r);
		assert_int_equal(a.got.len, sizeof(reply));
		assert_memory_equal(a.got.data, reply, sizeof(reply));
		st_free(&a);
		st_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xx_vectors),
	    cmocka_unit_test(test_hs_tampered),
	    cmocka_unit_test(test_libp2p_vector_initiator),
	    cmocka_unit_test(test_libp2p_vector_responder),
	    cmocka_unit_test(test_pair_random_chunks),
	    cmocka_unit_test(test_wrong_peer_id),
	    cmocka_unit_test(test_garbage_frames),
	    cmocka_unit_test(test_truncated_and_deadline),
	    cmocka_unit_test(test_payload_verify),
	    cmocka_unit_test(test_full_stack),
	};

	if (prim_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
