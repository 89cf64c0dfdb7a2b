/* SPDX-License-Identifier: MIT */
/*
 * Peer IDs: the key vectors of libp2p/specs peer-ids/peer-ids.md ("Test
 * vectors" table) and the spec's text examples, the ChainSafe/js-libp2p-noise
 * fixture identities (test/fixtures/peer.ts: legacy 96-byte private keys with
 * the peer IDs js derived), and the bad sha256 ID of go-multiaddr's
 * TestConstructFails. IDs for the non-Ed25519 spec keys were computed with an
 * independent Python model (identity <= 42 bytes, else sha2-256; base58btc).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"
#include "err.h"
#include "ident.h"
#include "peerid.h"
#include "testutil.h"

/* peer-ids.md test vectors: public keys and the IDs they must give. */
static const struct {
	const char *name, *pubpb, *b58, *cid;
} spec_keys[] = {
	{"ed25519", "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	 "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
	 "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"},
	{"secp256k1", "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99",
	 "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
	 "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte"},
	{"ecdsa",
	 "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3"
	 "161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62",
	 "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk", "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64"},
	{"rsa",
	 "080012a60430820222300d06092a864886f70d01010105000382020f003082020a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd475224269bbe1b0203010001",
	 "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG", "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu"},
};

static void test_spec_key_vectors(void **state)
{
	static uint8_t pb[600];
	char txt[PEERID_STR_MAX];
	struct peerid id, back;

	(void)state;
	for (size_t i = 0; i < sizeof(spec_keys) / sizeof(spec_keys[0]); i++) {
		size_t n = unhex(pb, sizeof(pb), spec_keys[i].pubpb);

		assert_int_equal(ident_peerid_from_pubkey_pb(&id, pb, n), 0);
		assert_int_equal(peerid_to_b58(txt, sizeof(txt), &id), strlen(spec_keys[i].b58));
		assert_string_equal(txt, spec_keys[i].b58);
		assert_int_equal(peerid_to_cid(txt, sizeof(txt), &id), strlen(spec_keys[i].cid));
		assert_string_equal(txt, spec_keys[i].cid);
		/* Both text forms parse back to the same ID. */
		assert_int_equal(peerid_parse(&back, spec_keys[i].b58, strlen(spec_keys[i].b58)), 0);
		assert_true(peerid_eq(&id, &back));
		assert_int_equal(peerid_parse(&back, spec_keys[i].cid, strlen(spec_keys[i].cid)), 0);
		assert_true(peerid_eq(&id, &back));
		/* The codec-only constructor agrees for inline keys and refuses hashed ones. */
		if (n <= PEERID_INLINE_MAX) {
			assert_int_equal(peerid_from_pubkey_pb(&back, pb, n), 0);
			assert_true(peerid_eq(&id, &back));
		} else {
			assert_int_equal(peerid_from_pubkey_pb(&back, pb, n), W2W_ELIMIT);
			assert_int_equal(peerid_pubkey_pb(&id, &(const uint8_t *){0}, &(size_t){0}), W2W_EPARSE);
		}
	}
}

static void test_spec_private_key(void **state)
{
	uint8_t priv[68], pub[36], out[68];
	struct ident *me = NULL;
	char txt[PEERID_STR_MAX];
	uint8_t pk[32];

	(void)state;
	unhex(priv, sizeof(priv),
	      "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b"
	      "34b871c3cacf6010f0e42d474fce27e");
	unhex(pub, sizeof(pub), spec_keys[0].pubpb);
	assert_int_equal(ident_from_privkey_pb(&me, priv, sizeof(priv)), 0);
	assert_memory_equal(ident_pubkey_pb(me), pub, 36);
	assert_int_equal(peerid_to_b58(txt, sizeof(txt), ident_peerid(me)), 52);
	assert_string_equal(txt, spec_keys[0].b58);
	assert_int_equal(ident_to_privkey_pb(me, out, sizeof(out)), 68);
	assert_memory_equal(out, priv, 68);
	/* The key can be recovered from an Ed25519 peer ID. */
	assert_int_equal(peerid_ed25519_key(ident_peerid(me), pk), 0);
	assert_memory_equal(pk, pub + 4, 32);
	ident_free(me);
}

/* ChainSafe/js-libp2p-noise test/fixtures/peer.ts: js-generated legacy keys and their IDs. */
static const struct {
	const char *id, *priv, *pub;
} js_peers[] = {
	{"12D3KooWH45PiqBjfnEfDfCD6TqJrpqTBJvQDwGHvjGpaWwms46D",
	 "CAESYBtKXrMwawAARmLScynQUuSwi/gGSkwqDPxi15N3dqDHa4T4iWupkMe5oYGwGH3Hyfvd/QcgSTqg71oYZJadJ6prhPiJa6mQx7mhgbAY"
	 "fcfJ+939ByBJOqDvWhhklp0nqg==",
	 "CAESIGuE+IlrqZDHuaGBsBh9x8n73f0HIEk6oO9aGGSWnSeq"},
	{"12D3KooWP63uzL78BRMpkQ7augMdNi1h3VBrVWZucKjyhzGVaSi1",
	 "CAESYPxO3SHyfc2578hDmfkGGBY255JjiLuVavJWy+9ivlpsxSyVKf36ipyRGL6szGzHuFs5ceEuuGVrPMg/rW2Ch1bFLJUp/fqKnJEYvqzM"
	 "bMe4Wzlx4S64ZWs8yD+tbYKHVg==",
	 "CAESIMUslSn9+oqckRi+rMxsx7hbOXHhLrhlazzIP61tgodW"},
	{"12D3KooWF85R7CM2Wikdtb2sjwnd24e1tgojf3MEWwizmVB8PA6U",
	 "CAESYNXoQ5CnooE939AEqE2JJGPqvhoFJn0xP+j9KwjfOfDkTtPyfn2kJ1gn3uOYTcmoHFU1bbETNtRVuPMi1fmDmqFO0/J+faQnWCfe45hN"
	 "yagcVTVtsRM21FW48yLV+YOaoQ==",
	 "CAESIE7T8n59pCdYJ97jmE3JqBxVNW2xEzbUVbjzItX5g5qh"},
	{"12D3KooWPCofiCjhdtezP4eMnqBjjutFZNHjV39F5LWNrCvaLnzT",
	 "CAESYLhUut01XPu+yIPbtZ3WnxOd26FYuTMRn/BbdFYsZE2KxueKRlo9yIAxmFReoNFUKztUU4G2aUiTbqDQaA6i0MDG54pGWj3IgDGYVF6g"
	 "0VQrO1RTgbZpSJNuoNBoDqLQwA==",
	 "CAESIMbnikZaPciAMZhUXqDRVCs7VFOBtmlIk26g0GgOotDA"},
};

static void test_js_fixture_peers(void **state)
{
	uint8_t priv[100], pub[36], out[68];
	char txt[PEERID_STR_MAX];
	struct peerid parsed;

	(void)state;
	for (size_t i = 0; i < sizeof(js_peers) / sizeof(js_peers[0]); i++) {
		struct ident *id = NULL;

		assert_int_equal(b64_decode(priv, sizeof(priv), js_peers[i].priv, strlen(js_peers[i].priv)), 100);
		assert_int_equal(b64_decode(pub, sizeof(pub), js_peers[i].pub, strlen(js_peers[i].pub)), 36);
		assert_int_equal(ident_from_privkey_pb(&id, priv, sizeof(priv)), 0);
		assert_memory_equal(ident_pubkey_pb(id), pub, 36);
		assert_int_equal(peerid_to_b58(txt, sizeof(txt), ident_peerid(id)), strlen(js_peers[i].id));
		assert_string_equal(txt, js_peers[i].id);
		assert_int_equal(peerid_parse(&parsed, js_peers[i].id, strlen(js_peers[i].id)), 0);
		assert_true(peerid_eq(&parsed, ident_peerid(id)));
		/* Re-encoding writes the modern 64-byte form: seed || pk. */
		assert_int_equal(ident_to_privkey_pb(id, out, sizeof(out)), 68);
		assert_memory_equal(out, "\x08\x01\x12\x40", 4);
		assert_memory_equal(out + 4, priv + 4, 64);
		ident_free(id);
	}
}

static void test_spec_text_examples(void **state)
{
	/* peer-ids.md "String representation" examples. */
	static const char qm[] = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
	static const char cid[] = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
	static const char ed[] = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
	struct peerid a, b;
	char txt[PEERID_STR_MAX];
	uint8_t pk[32];
	const uint8_t *pb;
	size_t pbn;

	(void)state;
	assert_int_equal(peerid_parse(&a, qm, strlen(qm)), 0);
	assert_int_equal(a.len, 34);
	assert_int_equal(a.b[0], MH_SHA2_256);
	assert_int_equal(peerid_parse(&b, cid, strlen(cid)), 0);
	assert_true(peerid_eq(&a, &b));
	assert_int_equal(peerid_to_cid(txt, sizeof(txt), &a), strlen(cid));
	assert_string_equal(txt, cid);
	assert_int_equal(peerid_ed25519_key(&a, pk), W2W_EPARSE);

	assert_int_equal(peerid_parse(&a, ed, strlen(ed)), 0);
	assert_int_equal(a.len, 38);
	assert_int_equal(peerid_ed25519_key(&a, pk), 0);
	assert_int_equal(peerid_pubkey_pb(&a, &pb, &pbn), 0);
	assert_int_equal(pbn, 36);
	assert_memory_equal(pb, "\x08\x01\x12\x20", 4);
	assert_int_equal(peerid_to_b58(txt, sizeof(txt), &a), strlen(ed));
	assert_string_equal(txt, ed);
	assert_false(peerid_eq(&a, &b));
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"Q",
		"Qm",
		/* go-multiaddr TestConstructFails: sha256 multihash with a digest longer than 32 bytes */
		"QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
		"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S",   /* truncated */
		"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA1", /* extra byte */
		"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S0", /* '0' not base58 */
		"zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",   /* base58 CID (multibase z): unsupported */
		"BAFZBEIE5745RPV2M6TJYUUGYWY4D5EWRQGQQHFNF445HE3OMZPJBX5XQXE", /* uppercase base32 */
		"bafybeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",  /* codec dag-pb, not libp2p-key */
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx",   /* truncated CID */
		"xyz",
	};
	struct peerid id;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(peerid_parse(&id, bad[i], strlen(bad[i])), W2W_EPARSE);
}

static void test_from_bytes(void **state)
{
	uint8_t b[64];
	struct peerid id;
	size_t n;

	(void)state;
	n = unhex(b, sizeof(b), "0024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
	assert_int_equal(peerid_from_bytes(&id, b, n), 0);
	assert_int_equal(peerid_from_bytes(&id, b, n - 1), W2W_EPARSE);
	b[1] = 43; /* identity longer than 42 */
	assert_int_equal(peerid_from_bytes(&id, b, n), W2W_EPARSE);
	b[0] = 0x13; /* sha2-512 is not a peer ID hash */
	b[1] = 0x24;
	assert_int_equal(peerid_from_bytes(&id, b, n), W2W_EPARSE);
	assert_int_equal(peerid_from_bytes(&id, b, 0), W2W_EPARSE);
	/* An empty identity multihash (found by fuzzing) holds no key. */
	assert_int_equal(peerid_from_bytes(&id, (const uint8_t *)"\x00\x00", 2), W2W_EPARSE);
	assert_int_equal(peerid_from_pubkey_pb(&id, b, 0), W2W_EPARSE);
	b[0] = 0x12;
	b[1] = 0x20;
	assert_int_equal(peerid_from_bytes(&id, b, 34), 0);
	b[1] = 0x21;
	assert_int_equal(peerid_from_bytes(&id, b, 35), W2W_EPARSE);
	/* Small buffers are refused, not overrun. */
	char small[10];
	assert_int_equal(peerid_to_b58(small, sizeof(small), &id), W2W_ELIMIT);
	assert_int_equal(peerid_to_cid(small, sizeof(small), &id), W2W_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_key_vectors), cmocka_unit_test(test_spec_private_key),
		cmocka_unit_test(test_js_fixture_peers), cmocka_unit_test(test_spec_text_examples),
		cmocka_unit_test(test_parse_rejects),    cmocka_unit_test(test_from_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
