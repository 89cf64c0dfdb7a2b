/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "ident.h"
#include "identify.h"
#include "multiaddr.h"
#include "pb.h"
#include "peerid.h"
#include "varint.h"
#include "testutil.h"

static size_t ma(uint8_t *out, const char *text)
{
	int n = ma_parse(out, MA_MAX_BIN, text, strlen(text));

	assert_true(n > 0);
	return (size_t)n;
}

static void test_encode_vector(void **state)
{
	struct identify_info *info = malloc(sizeof(*info));
	uint8_t want[64];
	struct buf b;
	size_t n;

	(void)state;
	identify_info_init(info);
	assert_int_equal(identify_add_protocol(info, "/ipfs/id/1.0.0"), 0);
	assert_int_equal(identify_set_versions(info, NULL, "w2w"), 0);
	buf_init(&b, 0);
	assert_int_equal(identify_encode(info, &b), 0);
	/* uvarint(21) || 1a 0e "/ipfs/id/1.0.0" || 32 03 "w2w" */
	n = unhex(want, sizeof(want), "15 1a0e 2f697066732f69642f312e302e30 3203 773277");
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	buf_free(&b);
	free(info);
}

static void fill_full(struct identify_info *info, struct ident *id)
{
	uint8_t a[MA_MAX_BIN];
	size_t n;

	identify_info_init(info);
	assert_int_equal(identify_set_public_key(info, ident_pubkey_pb(id), IDENT_PUBPB_LEN), 0);
	n = ma(a, "/ip4/10.0.0.1/tcp/4001");
	assert_int_equal(identify_add_listen_addr(info, a, n), 0);
	n = ma(a, "/ip6/::1/tcp/4001");
	assert_int_equal(identify_add_listen_addr(info, a, n), 0);
	n = ma(a, "/ip4/1.2.3.4/tcp/55555");
	assert_int_equal(identify_set_observed_addr(info, a, n), 0);
	assert_int_equal(identify_add_protocol(info, "/ipfs/id/1.0.0"), 0);
	assert_int_equal(identify_add_protocol(info, "/ipfs/ping/1.0.0"), 0);
	assert_int_equal(identify_add_protocol(info, "/meshsub/1.1.0"), 0);
	assert_int_equal(identify_set_versions(info, "ipfs/0.1.0", "w2wesher/0.1.0"), 0);
}

static void test_roundtrip_and_observed(void **state)
{
	struct identify_info *in = malloc(sizeof(*in)), *out = malloc(sizeof(*out));
	struct identify_reader rd;
	uint8_t seed[32] = {1, 2, 3};
	struct ident *id = NULL, *other = NULL;
	struct ma_addr obs;
	struct buf b;

	(void)state;
	assert_int_equal(ident_from_seed(&id, seed), 0);
	seed[0] = 9;
	assert_int_equal(ident_from_seed(&other, seed), 0);
	fill_full(in, id);
	buf_init(&b, 0);
	assert_int_equal(identify_encode(in, &b), 0);
	/* uvarint(len) then field 1 first: 0a 24 08 01 12 20 || pk. */
	{
		uint64_t len;
		int hl = uvarint_decode(b.data, b.len, &len);

		assert_int_equal(hl, 2);
		assert_int_equal(len, b.len - 2);
		assert_memory_equal(b.data + 2, "\x0a\x24\x08\x01\x12\x20", 6);
	}

	identify_info_init(out);
	identify_reader_init(&rd);
	assert_int_equal(identify_reader_finish(&rd), W2W_EPROTO); /* nothing yet */
	for (size_t i = 0; i < b.len; i++) {
		assert_int_equal(identify_reader_feed(&rd, b.data + i, 1, out), 0);
		if (i + 1 < b.len)
			assert_int_equal(identify_reader_finish(&rd), W2W_EPROTO); /* partial */
	}
	assert_int_equal(identify_reader_finish(&rd), 0);
	assert_int_equal(out->public_key_len, IDENT_PUBPB_LEN);
	assert_memory_equal(out->public_key, ident_pubkey_pb(id), IDENT_PUBPB_LEN);
	assert_int_equal(out->n_listen_addrs, 2);
	assert_int_equal(out->listen_addrs[1].len, in->listen_addrs[1].len);
	assert_memory_equal(out->listen_addrs[1].b, in->listen_addrs[1].b, in->listen_addrs[1].len);
	assert_int_equal(out->n_protocols, 3);
	assert_string_equal(out->protocols[2], "/meshsub/1.1.0");
	assert_true(identify_has_protocol(out, "/ipfs/ping/1.0.0"));
	assert_false(identify_has_protocol(out, "/meshsub/1.2.0"));
	assert_string_equal(out->protocol_version, "ipfs/0.1.0");
	assert_string_equal(out->agent_version, "w2wesher/0.1.0");
	assert_int_equal(out->dropped, 0);

	assert_int_equal(identify_observed(out, &obs), 0);
	assert_int_equal(obs.kind, MA_KIND_IP4);
	assert_memory_equal(obs.ip, "\x01\x02\x03\x04", 4);
	assert_int_equal(obs.port, 55555);
	assert_true(obs.tcp);

	assert_int_equal(identify_check_peer(out, ident_peerid(id)), 0);
	assert_int_equal(identify_check_peer(out, ident_peerid(other)), W2W_EAUTH);
	out->public_key_len = 0;
	assert_int_equal(identify_check_peer(out, ident_peerid(id)), W2W_EPROTO);
	out->observed_addr.len = 0;
	assert_int_equal(identify_observed(out, &obs), W2W_EPARSE);

	buf_free(&b);
	ident_free(id);
	ident_free(other);
	free(in);
	free(out);
}

static void test_merge_and_unknown_fields(void **state)
{
	struct identify_info *info = malloc(sizeof(*info));
	struct identify_reader rd;
	uint8_t a[MA_MAX_BIN];
	struct buf m1, m2, lp;
	size_t n;

	(void)state;
	/* Message 1: agent, one protocol, a signedPeerRecord (8) and a varint field 9. */
	buf_init(&m1, 0);
	assert_int_equal(pb_put_string(&m1, 3, "/a/1"), 0);
	assert_int_equal(pb_put_string(&m1, 6, "first"), 0);
	assert_int_equal(pb_put_bytes(&m1, 8, "\x01\x02\x03", 3), 0);
	assert_int_equal(pb_put_varint(&m1, 9, 12345), 0);
	/* Message 2: another protocol, a new agent, an address we cannot parse
	 * (dropped alone), a good one, and an observed address. */
	buf_init(&m2, 0);
	n = ma(a, "/ip4/192.168.1.7/tcp/9");
	assert_int_equal(pb_put_bytes(&m2, 2, "\xff\xff\xff", 3), 0);
	assert_int_equal(pb_put_bytes(&m2, 2, a, n), 0);
	assert_int_equal(pb_put_string(&m2, 3, "/b/1"), 0);
	assert_int_equal(pb_put_bytes(&m2, 4, a, n), 0);
	assert_int_equal(pb_put_string(&m2, 6, "second"), 0);

	buf_init(&lp, 0);
	assert_int_equal(uvarint_put(&lp, m1.len), 0);
	assert_int_equal(buf_append(&lp, m1.data, m1.len), 0);
	assert_int_equal(uvarint_put(&lp, m2.len), 0);
	assert_int_equal(buf_append(&lp, m2.data, m2.len), 0);

	identify_info_init(info);
	identify_reader_init(&rd);
	assert_int_equal(identify_reader_feed(&rd, lp.data, lp.len, info), 0);
	assert_int_equal(identify_reader_finish(&rd), 0);
	assert_int_equal(rd.n_msgs, 2);
	assert_int_equal(info->n_protocols, 2);
	assert_string_equal(info->protocols[0], "/a/1");
	assert_string_equal(info->protocols[1], "/b/1");
	assert_string_equal(info->agent_version, "second");
	assert_int_equal(info->n_listen_addrs, 1);
	assert_memory_equal(info->listen_addrs[0].b, a, n);
	assert_int_equal(info->observed_addr.len, n);
	assert_int_equal(info->dropped, 1);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&lp);
	free(info);
}

static void test_limits(void **state)
{
	struct identify_info *info = malloc(sizeof(*info));
	struct identify_reader rd;
	char proto[32], longstr[300];
	uint8_t one[3] = {0x02, 0x18, 0x01}; /* LP(2) || field 3 varint 1: ignored wire type */
	struct buf m, lp;

	(void)state;
	/* 40 protocols: the first 32 are kept, the rest counted as dropped. */
	buf_init(&m, 0);
	for (int i = 0; i < 40; i++) {
		snprintf(proto, sizeof(proto), "/p/%d", i);
		assert_int_equal(pb_put_string(&m, 3, proto), 0);
	}
	memset(longstr, 'x', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	assert_int_equal(pb_put_string(&m, 6, longstr), 0); /* agent: truncated */
	assert_int_equal(pb_put_string(&m, 3, longstr), 0); /* protocol: too long, dropped */
	identify_info_init(info);
	assert_int_equal(identify_decode(m.data, m.len, info), 0);
	assert_int_equal(info->n_protocols, IDENTIFY_MAX_PROTOCOLS);
	assert_int_equal(info->dropped, 40 - IDENTIFY_MAX_PROTOCOLS + 1);
	assert_int_equal(strlen(info->agent_version), IDENTIFY_MAX_STR - 1);
	buf_free(&m);

	/* Builders refuse past the limits. */
	identify_info_init(info);
	for (int i = 0; i < IDENTIFY_MAX_PROTOCOLS; i++)
		assert_int_equal(identify_add_protocol(info, "/x"), 0);
	assert_int_equal(identify_add_protocol(info, "/x"), W2W_ELIMIT);
	assert_int_equal(identify_add_protocol(info, longstr), W2W_EPARSE);
	assert_int_equal(identify_add_listen_addr(info, (const uint8_t *)"\xff", 1), W2W_EPARSE);

	/* An announced message above 8 KiB fails on its prefix. */
	buf_init(&lp, 0);
	assert_int_equal(uvarint_put(&lp, IDENTIFY_MAX_MSG + 1), 0);
	identify_reader_init(&rd);
	assert_int_equal(identify_reader_feed(&rd, lp.data, lp.len, info), W2W_ELIMIT);
	buf_free(&lp);
	/* Exactly 8 KiB is fine: one string field filling it. */
	{
		static char big[IDENTIFY_MAX_MSG];
		struct buf body;

		buf_init(&body, 0);
		memset(big, 'y', IDENTIFY_MAX_MSG - 5);
		big[IDENTIFY_MAX_MSG - 5] = '\0';
		assert_int_equal(pb_put_string(&body, 5, big), 0); /* 1 + 2 + 8187 bytes */
		assert_int_equal(pb_put_varint(&body, 7, 1), 0);
		assert_int_equal(body.len, IDENTIFY_MAX_MSG);
		buf_init(&lp, 0);
		assert_int_equal(uvarint_put(&lp, body.len), 0);
		assert_int_equal(buf_append(&lp, body.data, body.len), 0);
		identify_reader_init(&rd);
		assert_int_equal(identify_reader_feed(&rd, lp.data, lp.len, info), 0);
		assert_int_equal(identify_reader_finish(&rd), 0);
		assert_int_equal(identify_decode(body.data, body.len, info), 0);
		buf_free(&lp);
		buf_free(&body);
	}
	/* At most 10 messages. */
	identify_reader_init(&rd);
	for (int i = 0; i < IDENTIFY_MAX_MSGS; i++)
		assert_int_equal(identify_reader_feed(&rd, one, sizeof(one), info), 0);
	assert_int_equal(identify_reader_feed(&rd, one, sizeof(one), info), W2W_ELIMIT);
	free(info);
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
		"0a05 0102",   /* length past the end */
		"0b",          /* group start (wire 3) */
		"00 01",       /* field 0 */
		"1a",          /* key without value */
		"0a ffffffffffffffffff01", /* absurd length */
		"08 ff",       /* truncated varint */
	};
	struct identify_info *info = malloc(sizeof(*info)), *copy = malloc(sizeof(*copy));
	struct identify_reader rd;
	uint8_t in[64];

	(void)state;
	identify_info_init(info);
	assert_int_equal(identify_add_protocol(info, "/keep/1"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(in, sizeof(in), bad[i]);

		memcpy(copy, info, sizeof(*info));
		assert_int_equal(identify_decode(in, n, info), W2W_EPARSE);
		assert_memory_equal(copy, info, sizeof(*info)); /* untouched */
	}
	/* A valid protocol before the garbage is not merged either. */
	unhex(in, sizeof(in), "1a02 2f78 0b");
	assert_int_equal(identify_decode(in, 5, info), W2W_EPARSE);
	assert_int_equal(info->n_protocols, 1);
	/* Through the reader: bad prefix, bad body. */
	identify_reader_init(&rd);
	unhex(in, sizeof(in), "80 00"); /* non-minimal uvarint */
	assert_int_equal(identify_reader_feed(&rd, in, 2, info), W2W_EPARSE);
	identify_reader_init(&rd);
	unhex(in, sizeof(in), "01 0b");
	assert_int_equal(identify_reader_feed(&rd, in, 2, info), W2W_EPARSE);
	free(info);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_vector),
		cmocka_unit_test(test_roundtrip_and_observed),
		cmocka_unit_test(test_merge_and_unknown_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
