/* SPDX-License-Identifier: MIT */
/*
 * Admission control, below the engine: the token and revocation format
 * (lib/crypto/admission.h: sign, strict parse, verify with several keys,
 * expiry and not-before), the admission set (lib/mesh/admit.h: revocations,
 * persistence), the announcement's admission fields, the config keys and the
 * public API the CLI uses. The engine's filter: test_meshnode.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "w2wesher/w2wesher.h"

#include "admission.h"
#include "admit.h"
#include "announce.h"
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "identify.h"
#include "peerid.h"

static const uint8_t seed_a[32] = {1, 2, 3}, seed_b[32] = {4, 5, 6}, seed_x[32] = {7};

static void peer(struct peerid *id, uint8_t fill)
{
	uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};

	memset(pb + 4, fill, 32);
	assert_int_equal(peerid_from_pubkey_pb(id, pb, sizeof(pb)), 0);
}

static void test_token_roundtrip(void **state)
{
	uint8_t keys[2][32], tok[ADM_MAX_LEN], bad[ADM_MAX_LEN];
	struct peerid p, q;
	struct adm_obj o;
	const char *why = NULL;
	uint64_t exp = 1;
	int n;

	(void)state;
	adm_pub_from_seed(keys[0], seed_a);
	adm_pub_from_seed(keys[1], seed_b);
	peer(&p, 0x11);
	peer(&q, 0x22);
	n = adm_sign(tok, sizeof(tok), seed_b, ADM_KIND_TOKEN, &p, "node-5", 1000, 2000);
	assert_true(n > 0 && n <= ADM_MAX_LEN);
	assert_int_equal(adm_parse(tok, (size_t)n, &o), 0);
	assert_int_equal(o.kind, ADM_KIND_TOKEN);
	assert_string_equal(o.name, "node-5");
	assert_true(peerid_eq(&o.peer, &p));
	/* rotation: either configured key; the key ID picks it */
	assert_int_equal(adm_verify(&o, (const uint8_t(*)[32])keys, 2), 0);
	assert_int_equal(adm_verify(&o, (const uint8_t(*)[32])keys, 1), W2W_EAUTH);
	assert_int_equal(adm_check_token(tok, (size_t)n, &p, 1500, (const uint8_t(*)[32])keys, 2, &exp, &why),
	                 0);
	assert_int_equal(exp, 2000);
	/* expired; not yet valid beyond the skew; another peer; no key; no token */
	assert_int_equal(adm_check_token(tok, (size_t)n, &p, 2000, (const uint8_t(*)[32])keys, 2, NULL, &why),
	                 W2W_EAUTH);
	assert_string_equal(why, "admission token expired");
	assert_int_equal(
	    adm_check_token(tok, (size_t)n, &p, 1000 - ADM_SKEW_S, (const uint8_t(*)[32])keys, 2, NULL, &why),
	    0);
	assert_int_equal(
	    adm_check_token(tok, (size_t)n, &p, 999 - ADM_SKEW_S, (const uint8_t(*)[32])keys, 2, NULL, &why),
	    W2W_EAUTH);
	assert_string_equal(why, "admission token not valid yet");
	assert_int_equal(adm_check_token(tok, (size_t)n, &q, 1500, (const uint8_t(*)[32])keys, 2, NULL, &why),
	                 W2W_EAUTH);
	assert_string_equal(why, "admission token for another peer ID");
	assert_int_equal(adm_check_token(tok, (size_t)n, &p, 1500, (const uint8_t(*)[32])keys, 1, NULL, &why),
	                 W2W_EAUTH);
	assert_int_equal(adm_check_token(tok, 0, &p, 1500, (const uint8_t(*)[32])keys, 2, NULL, &why),
	                 W2W_EAUTH);
	assert_string_equal(why, "no admission token");
	/* every flipped bit breaks it (parse or signature) */
	for (int i = 0; i < n * 8; i++) {
		memcpy(bad, tok, (size_t)n);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_true(
		    adm_check_token(bad, (size_t)n, &p, 1500, (const uint8_t(*)[32])keys, 2, NULL, &why) < 0);
	}
	/* truncated, extended */
	for (int i = 0; i < n; i++)
		assert_int_equal(adm_parse(tok, (size_t)i, &o), W2W_EPARSE);
	memcpy(bad, tok, (size_t)n);
	bad[n] = 0;
	assert_int_equal(adm_parse(bad, (size_t)n + 1, &o), W2W_EPARSE);
	/* a revocation is never a token, even signed by a trusted key */
	n = adm_sign(tok, sizeof(tok), seed_a, ADM_KIND_REVOKE, &p, NULL, 1000, 0);
	assert_true(n > 0);
	assert_true(adm_check_token(tok, (size_t)n, &p, 1500, (const uint8_t(*)[32])keys, 2, NULL, &why) < 0);
	/* names: at most ADM_NAME_MAX */
	assert_int_equal(adm_sign(tok, sizeof(tok), seed_a, ADM_KIND_TOKEN, &p,
	                          "0123456789012345678901234567890123456789012345678901234567890123456789", 0,
	                          0),
	                 W2W_ELIMIT);
}

static void test_admit_set(void **state)
{
	uint8_t keys[1][32], rv[ADM_MAX_LEN], tok[ADM_MAX_LEN];
	struct admit a, b;
	struct peerid p, q, got;
	struct buf f;
	const char *why;
	int n, m;

	(void)state;
	adm_pub_from_seed(keys[0], seed_a);
	peer(&p, 0x11);
	peer(&q, 0x22);
	assert_int_equal(admit_init(&a, (const uint8_t(*)[32])keys, 1), 0);
	n = adm_sign(rv, sizeof(rv), seed_a, ADM_KIND_REVOKE, &p, NULL, 50, 0);
	m = adm_sign(tok, sizeof(tok), seed_a, ADM_KIND_TOKEN, &p, NULL, 0, 0);
	assert_int_equal(admit_check(&a, &p, tok, (size_t)m, 100, NULL, &why), 0);
	assert_int_equal(admit_add(&a, rv, (size_t)n, &got), 1);
	assert_true(peerid_eq(&got, &p));
	assert_int_equal(admit_add(&a, rv, (size_t)n, NULL), 0);
	assert_int_equal(admit_check(&a, &p, tok, (size_t)m, 100, NULL, &why), W2W_EAUTH);
	assert_string_equal(why, "revoked");
	/* forged and malformed revocations */
	n = adm_sign(rv, sizeof(rv), seed_x, ADM_KIND_REVOKE, &q, NULL, 50, 0);
	assert_int_equal(admit_add(&a, rv, (size_t)n, NULL), W2W_EAUTH);
	assert_int_equal(admit_add(&a, tok, (size_t)m, NULL), W2W_EPARSE);
	assert_false(admit_revoked(&a, &q));
	/* persisted and loaded back; a damaged tail keeps what precedes it */
	buf_init(&f, 1u << 20);
	assert_int_equal(admit_encode(&a, &f), 0);
	assert_int_equal(admit_init(&b, (const uint8_t(*)[32])keys, 1), 0);
	assert_int_equal(admit_load(&b, f.data, f.len), 1);
	assert_true(admit_revoked(&b, &p));
	admit_fini(&b);
	assert_int_equal(admit_init(&b, (const uint8_t(*)[32])keys, 1), 0);
	assert_int_equal(admit_load(&b, f.data, f.len - 1), 0);
	assert_int_equal(admit_load(&b, (const uint8_t *)"junk", 4), W2W_EPARSE);
	admit_fini(&b);
	/* a node with other keys trusts none of it */
	adm_pub_from_seed(keys[0], seed_b);
	assert_int_equal(admit_init(&b, (const uint8_t(*)[32])keys, 1), 0);
	assert_int_equal(admit_load(&b, f.data, f.len), 0);
	admit_fini(&b);
	buf_free(&f);
	admit_fini(&a);
}

static void test_announce_fields(void **state)
{
	struct announce a, back;
	struct ann_adm x, y;
	struct buf b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.seq = 5;
	a.wg_port = 51820;
	memset(a.wg_pub, 3, 32);
	memset(&x, 0, sizeof(x));
	x.tok_len = 100;
	memset(x.tok, 0xab, 100);
	x.n_rev = ANN_MAX_REVOKE;
	for (int i = 0; i < ANN_MAX_REVOKE; i++) {
		x.rev[i].len = ADM_MAX_LEN;
		memset(x.rev[i].b, i, ADM_MAX_LEN);
	}
	buf_init(&b, ANN_MAX_SIZE);
	/* the most an announcement carries still fits an older decoder's limit */
	assert_int_equal(ann_encode_ext(&a, &x, &b), 0);
	assert_true(b.len <= ANN_MAX_SIZE);
	/* old decoders ignore the new keys */
	assert_int_equal(ann_decode(b.data, b.len, &back), 0);
	assert_int_equal(back.seq, 5);
	assert_int_equal(ann_decode_adm(b.data, b.len, &y), 0);
	assert_int_equal(y.tok_len, 100);
	assert_memory_equal(y.tok, x.tok, 100);
	assert_int_equal(y.n_rev, ANN_MAX_REVOKE);
	assert_memory_equal(y.rev[3].b, x.rev[3].b, ADM_MAX_LEN);
	/* without them: empty */
	buf_reset(&b);
	assert_int_equal(ann_encode(&a, &b), 0);
	assert_int_equal(ann_decode_adm(b.data, b.len, &y), 0);
	assert_int_equal(y.tok_len, 0);
	assert_int_equal(y.n_rev, 0);
	buf_free(&b);
	assert_true(ADM_MAX_LEN <= ANN_BLOB_MAX);
}

/* The identify field that carries a token: encoded, decoded, over-long dropped. */
static void test_identify_field(void **state)
{
	struct identify_info *in = calloc(2, sizeof(*in)), *out = in + 1;
	uint8_t big[IDENTIFY_MAX_ADMISSION + 1] = {0};
	struct buf b;

	(void)state;
	assert_non_null(in);
	identify_info_init(in);
	assert_int_equal(identify_set_admission(in, (const uint8_t *)"tok", 3), 0);
	assert_int_equal(identify_set_admission(out, big, sizeof(big)), W2W_ELIMIT);
	buf_init(&b, 2 * IDENTIFY_MAX_MSG);
	assert_int_equal(identify_encode(in, &b), 0);
	identify_info_init(out);
	assert_int_equal(identify_decode(b.data + 1, b.len - 1, out), 0); /* past the 1-byte length prefix */
	assert_int_equal(out->admission_len, 3);
	assert_memory_equal(out->admission, "tok", 3);
	buf_free(&b);
	free(in);
}

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_api_and_config(void **state)
{
	char key[W2W_ADMISSION_KEY_TEXT_MAX], pub[W2W_ADMISSION_KEY_TEXT_MAX],
	    pub2[W2W_ADMISSION_KEY_TEXT_MAX];
	char tok[W2W_ADMISSION_TEXT_MAX], pid[128], text[2048], dir[] = "/tmp/w2w-adm-XXXXXX", path[64];
	const char *id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
	struct w2w_config *c = NULL;
	int64_t nb, ex;
	int kind;

	(void)state;
	assert_int_equal(w2w_admission_genkey(key, sizeof(key)), 44);
	assert_int_equal(w2w_admission_pubkey(pub, sizeof(pub), key), 44);
	assert_int_equal(w2w_admission_genkey(key, sizeof(key)), 44);
	assert_int_equal(w2w_admission_pubkey(pub2, sizeof(pub2), key), 44);
	assert_int_equal(w2w_admission_pubkey(pub2, sizeof(pub2), "nope"), W2W_EPARSE);
	assert_int_equal(w2w_admission_genkey(key, 10), -ENOSPC);
	assert_true(w2w_admission_sign(tok, sizeof(tok), key, id, "n5", 100, 200) > 0);
	assert_int_equal(w2w_admission_inspect(tok, &kind, pid, sizeof(pid), &nb, &ex), 0);
	assert_int_equal(kind, 1);
	assert_string_equal(pid, id);
	assert_int_equal(nb, 100);
	assert_int_equal(ex, 200);
	assert_int_equal(w2w_admission_sign(tok, sizeof(tok), key, "12D3bad", NULL, 0, 0), W2W_EPARSE);
	assert_int_equal(w2w_admission_sign(tok, sizeof(tok), key, id, "two words", 0, 0), W2W_EPARSE);
	assert_int_equal(w2w_admission_sign(tok, sizeof(tok), key, id, NULL, 200, 100), W2W_EPARSE);
	assert_true(w2w_admission_revoke(tok, sizeof(tok), key, id, 5) > 0);
	assert_int_equal(w2w_admission_inspect(tok, &kind, pid, sizeof(pid), &nb, &ex), 0);
	assert_int_equal(kind, 2);
	assert_int_equal(w2w_admission_inspect("AAAA", &kind, pid, sizeof(pid), &nb, &ex), W2W_EPARSE);

	/* config: a key list (rotation), a token; errors name file and line */
	assert_true(w2w_admission_sign(tok, sizeof(tok), key, id, NULL, 0, 0) > 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	snprintf(text, sizeof(text), "[P2P]\nAdmissionKey = %s , %s\nAdmissionToken = %s\n", pub, pub2, tok);
	write_file(path, text);
	assert_int_equal(w2w_config_new(&c), 0);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_string_equal(w2w_config_admission_token(c), tok);
	w2w_config_free(c);
	snprintf(text, sizeof(text), "[P2P]\n\nAdmissionKey = %s, notakey\n", pub);
	write_file(path, text);
	assert_int_equal(w2w_config_new(&c), 0);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(
	    strstr(w2w_config_error(c), "c.conf:3: [P2P] AdmissionKey: 'notakey' is not an admission"));
	w2w_config_free(c);
	snprintf(text, sizeof(text), "[P2P]\nAdmissionToken = %s\n", pub);
	write_file(path, text);
	assert_int_equal(w2w_config_new(&c), 0);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), ":2: [P2P] AdmissionToken: not an admission token"));
	w2w_config_free(c);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_roundtrip), cmocka_unit_test(test_admit_set),
	    cmocka_unit_test(test_announce_fields), cmocka_unit_test(test_identify_field),
	    cmocka_unit_test(test_api_and_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
