/* SPDX-License-Identifier: MIT */
/* hex, base64, base58btc, base32, uvarint and protobuf against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b32.h"
#include "b58.h"
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "godur.h"
#include "hex.h"
#include "pb.h"
#include "rd.h"
#include "varint.h"
#include "testutil.h"

static void test_hex(void **state)
{
	uint8_t in[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff}, out[8];
	char txt[16];

	(void)state;
	assert_int_equal(hex_encode(txt, in, sizeof(in)), 12);
	assert_string_equal(txt, "0001abcdefff");
	assert_int_equal(hex_decode(out, sizeof(out), "0001ABCDefff", 12), 6);
	assert_memory_equal(out, in, 6);
	assert_int_equal(hex_encode(txt, in, 0), 0);
	assert_string_equal(txt, "");
	assert_int_equal(hex_decode(out, sizeof(out), "abc", 3), W2W_EPARSE);
	assert_int_equal(hex_decode(out, sizeof(out), "0g", 2), W2W_EPARSE);
	assert_int_equal(hex_decode(out, sizeof(out), " 0", 2), W2W_EPARSE);
	assert_int_equal(hex_decode(out, 2, "000102", 6), W2W_ELIMIT);
	/* Nothing is written on failure. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(hex_decode(out, sizeof(out), "00zz", 4), W2W_EPARSE);
	assert_int_equal(out[0], 0x55);
}

/* RFC 4648 section 10 test vectors. */
static const char *const rfc_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
/* Base32 vectors of the same section, lowercased and without padding (multibase 'b'). */
static const char *const rfc_b32[] = {"", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"};

static void test_b64(void **state)
{
	char txt[32];
	uint8_t out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(rfc_in) / sizeof(rfc_in[0]); i++) {
		size_t n = strlen(rfc_in[i]);
		assert_int_equal(b64_encode(txt, sizeof(txt), (const uint8_t *)rfc_in[i], n), strlen(rfc_b64[i]));
		assert_string_equal(txt, rfc_b64[i]);
		assert_int_equal(b64_decode(out, sizeof(out), rfc_b64[i], strlen(rfc_b64[i])), n);
		assert_memory_equal(out, rfc_in[i], n);
	}
	/* All 64 symbols, both directions. */
	uint8_t all[48];
	for (int i = 0; i < 48; i++)
		all[i] = (uint8_t)(i * 5 + 3);
	char big[80];
	assert_int_equal(b64_encode(big, sizeof(big), all, sizeof(all)), 64);
	assert_int_equal(b64_decode(out, sizeof(out), big, 64), W2W_ELIMIT);
	uint8_t back[48];
	assert_int_equal(b64_decode(back, sizeof(back), big, 64), 48);
	assert_memory_equal(back, all, 48);
	/* Strictness. */
	assert_int_equal(b64_decode(out, sizeof(out), "Zg=", 3), W2W_EPARSE);   /* unpadded */
	assert_int_equal(b64_decode(out, sizeof(out), "Zh==", 4), W2W_EPARSE);  /* non-zero spare bits */
	assert_int_equal(b64_decode(out, sizeof(out), "Zm9=", 4), W2W_EPARSE);  /* non-zero spare bits */
	assert_int_equal(b64_decode(out, sizeof(out), "Zg==Zg==", 8), W2W_EPARSE); /* padding inside */
	assert_int_equal(b64_decode(out, sizeof(out), "Z===", 4), W2W_EPARSE);
	assert_int_equal(b64_decode(out, sizeof(out), "====", 4), W2W_EPARSE);
	assert_int_equal(b64_decode(out, sizeof(out), "Zm9v\n", 5), W2W_EPARSE);
	assert_int_equal(b64_decode(out, sizeof(out), "Zm-v", 4), W2W_EPARSE); /* URL alphabet */
	assert_int_equal(b64_decode(out, sizeof(out), "Zm=v", 4), W2W_EPARSE);
	assert_int_equal(b64_encode(txt, 8, (const uint8_t *)"foobar", 6), W2W_ELIMIT); /* no room for NUL */
	assert_int_equal(b64_encode(txt, 9, (const uint8_t *)"foobar", 6), 8);
}

static void test_b32(void **state)
{
	char txt[32];
	uint8_t out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(rfc_in) / sizeof(rfc_in[0]); i++) {
		size_t n = strlen(rfc_in[i]);
		assert_int_equal(b32_encode(txt, sizeof(txt), (const uint8_t *)rfc_in[i], n), strlen(rfc_b32[i]));
		assert_string_equal(txt, rfc_b32[i]);
		assert_int_equal(b32_decode(out, sizeof(out), rfc_b32[i], strlen(rfc_b32[i])), n);
		assert_memory_equal(out, rfc_in[i], n);
	}
	assert_int_equal(b32_decode(out, sizeof(out), "MY", 2), W2W_EPARSE);     /* uppercase */
	assert_int_equal(b32_decode(out, sizeof(out), "my======", 8), W2W_EPARSE); /* padding */
	assert_int_equal(b32_decode(out, sizeof(out), "mz", 2), W2W_EPARSE);     /* non-zero spare bits */
	assert_int_equal(b32_decode(out, sizeof(out), "mzx", 3), W2W_EPARSE);    /* impossible length */
	assert_int_equal(b32_decode(out, sizeof(out), "m", 1), W2W_EPARSE);
	assert_int_equal(b32_decode(out, sizeof(out), "m1", 2), W2W_EPARSE);     /* not in alphabet */
	assert_int_equal(b32_decode(out, 5, "mzxw6ytboi", 10), W2W_ELIMIT);
}

/* Bitcoin Core src/test/data/base58_encode_decode.json. */
static const struct {
	const char *hex, *b58;
} b58_vec[] = {
	{"", ""},
	{"61", "2g"},
	{"626262", "a3gV"},
	{"636363", "aPEr"},
	{"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
	{"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
	{"516b6fcd0f", "ABnLTmg"},
	{"bf4f89001e670274dd", "3SEo3LWLoPntC"},
	{"572e4794", "3EFU7m"},
	{"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
	{"10c8511e", "Rt5zm"},
	{"00000000000000000000", "1111111111"},
};

static void test_b58(void **state)
{
	uint8_t bin[64], out[64];
	char txt[128];

	(void)state;
	for (size_t i = 0; i < sizeof(b58_vec) / sizeof(b58_vec[0]); i++) {
		size_t n = unhex(bin, sizeof(bin), b58_vec[i].hex);
		assert_int_equal(b58_encode(txt, sizeof(txt), bin, n), strlen(b58_vec[i].b58));
		assert_string_equal(txt, b58_vec[i].b58);
		assert_int_equal(b58_decode(out, sizeof(out), b58_vec[i].b58, strlen(b58_vec[i].b58)), n);
		assert_memory_equal(out, bin, n);
	}
	assert_int_equal(b58_decode(out, sizeof(out), "0", 1), W2W_EPARSE); /* not in the alphabet */
	assert_int_equal(b58_decode(out, sizeof(out), "O", 1), W2W_EPARSE);
	assert_int_equal(b58_decode(out, sizeof(out), "I", 1), W2W_EPARSE);
	assert_int_equal(b58_decode(out, sizeof(out), "l", 1), W2W_EPARSE);
	assert_int_equal(b58_decode(out, sizeof(out), "a\0b", 3), W2W_EPARSE);
	assert_int_equal(b58_decode(out, 3, "2cFupjhnEsSn59qHXstmK2ffpLv2", 28), W2W_ELIMIT);
	assert_int_equal(b58_encode(txt, 5, bin, 10), W2W_ELIMIT);
	/* Size limit: B58_MAX_BYTES encodes, one more does not. */
	uint8_t max[B58_MAX_BYTES + 1];
	char big[B58_ENCODED_MAX(B58_MAX_BYTES + 1) + 1];
	memset(max, 0xff, sizeof(max));
	int n = b58_encode(big, sizeof(big), max, B58_MAX_BYTES);
	assert_true(n > 0);
	uint8_t back[B58_MAX_BYTES];
	assert_int_equal(b58_decode(back, sizeof(back), big, (size_t)n), B58_MAX_BYTES);
	assert_memory_equal(back, max, B58_MAX_BYTES);
	assert_int_equal(b58_encode(big, sizeof(big), max, B58_MAX_BYTES + 1), W2W_ELIMIT);
}

static void test_uvarint(void **state)
{
	/* Examples from multiformats/unsigned-varint README and go-varint. */
	static const struct {
		uint64_t v;
		const char *hex;
	} vec[] = {
		{0, "00"},         {1, "01"},       {127, "7f"},     {128, "8001"},
		{255, "ff01"},     {300, "ac02"},   {16384, "808001"}, {273, "9102"},
		{421, "a503"},     {0x7fffffffffffffffull, "ffffffffffffffff7f"},
	};
	uint8_t enc[UVARINT_BUF_LEN], bin[16];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = unhex(bin, sizeof(bin), vec[i].hex);
		assert_int_equal(uvarint_encode(enc, vec[i].v), n);
		assert_memory_equal(enc, bin, n);
		assert_int_equal(uvarint_decode(bin, n, &v), n);
		assert_true(v == vec[i].v);
		/* Every proper prefix is "need more". */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(uvarint_decode(bin, k, &v), 0);
	}
	/* 2^63 needs 10 bytes: encodable (protobuf) but beyond the multiformats limit. */
	assert_int_equal(uvarint_encode(enc, 1ull << 63), 10);
	assert_int_equal(uvarint_decode(enc, 10, &v), W2W_EPARSE);
	/* Non-minimal forms. */
	v = 99;
	assert_int_equal(uvarint_decode((const uint8_t *)"\x80\x00", 2, &v), W2W_EPARSE);
	assert_int_equal(uvarint_decode((const uint8_t *)"\x81\x00", 2, &v), W2W_EPARSE);
	assert_int_equal(uvarint_decode((const uint8_t *)"\xff\x80\x00", 3, &v), W2W_EPARSE);
	assert_true(v == 99);
	/* Trailing bytes are not consumed. */
	assert_int_equal(uvarint_decode((const uint8_t *)"\x05\x06", 2, &v), 1);
	assert_true(v == 5);

	struct buf b;
	struct rd r;
	buf_init(&b, 0);
	assert_int_equal(uvarint_put(&b, 300), 0);
	assert_int_equal(uvarint_put(&b, 1), 0);
	rd_init(&r, b.data, b.len);
	assert_true(rd_uvarint(&r, &v));
	assert_true(v == 300);
	assert_true(rd_uvarint(&r, &v));
	assert_true(v == 1);
	assert_false(rd_uvarint(&r, &v));
	assert_false(rd_ok(&r));
	buf_free(&b);
	buf_init(&b, 1);
	assert_int_equal(uvarint_put(&b, 300), W2W_ELIMIT);
	buf_free(&b);
}

static void test_pb_roundtrip(void **state)
{
	struct buf b;
	struct rd r;
	struct pb_field f;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(pb_put_varint(&b, 1, 1), 0);
	assert_int_equal(pb_put_bytes(&b, 2, "\x01\x02", 2), 0);
	assert_int_equal(pb_put_string(&b, 3, ""), 0);
	assert_int_equal(pb_put_fixed64(&b, 4, 0x0102030405060708ull), 0);
	assert_int_equal(pb_put_fixed32(&b, 5, 0xa0b0c0d0u), 0);
	assert_int_equal(pb_put_varint(&b, 1000, UINT64_MAX), 0);
	assert_int_equal(pb_put_varint(&b, 0, 1), W2W_EPARSE);
	assert_int_equal(pb_put_varint(&b, PB_MAX_FIELD + 1, 1), W2W_EPARSE);
	/* Encoding of the first two fields is the libp2p key-protobuf shape. */
	assert_memory_equal(b.data, "\x08\x01\x12\x02\x01\x02\x1a\x00", 8);

	rd_init(&r, b.data, b.len);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wire, PB_VARINT);
	assert_true(f.v == 1);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(f.wire, PB_LEN);
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.p, "\x01\x02", 2);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 3);
	assert_int_equal(f.len, 0); /* present but empty */
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wire, PB_I64);
	assert_true(f.v == 0x0102030405060708ull);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.wire, PB_I32);
	assert_true(f.v == 0xa0b0c0d0u);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 1000);
	assert_true(f.v == UINT64_MAX); /* a 10-byte varint */
	assert_int_equal(pb_next(&r, &f), 0);
	assert_int_equal(pb_next(&r, &f), 0);
	buf_free(&b);

	/* A failed write leaves the buffer unchanged. */
	buf_init(&b, 5);
	assert_int_equal(pb_put_bytes(&b, 1, "abcd", 4), W2W_ELIMIT);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static int pb_count(const char *hex)
{
	uint8_t bin[64];
	size_t n = unhex(bin, sizeof(bin), hex);
	struct rd r;
	struct pb_field f;
	int rc, count = 0;

	rd_init(&r, bin, n);
	while ((rc = pb_next(&r, &f)) == 1)
		count++;
	return rc < 0 ? rc : count;
}

static void test_pb_malformed(void **state)
{
	(void)state;
	assert_int_equal(pb_count(""), 0);
	assert_int_equal(pb_count("0801"), 1);
	assert_int_equal(pb_count("0801" "9a0500" "1d01020304" "2101020304050607080801"), 5);
	assert_int_equal(pb_count("0b0c"), W2W_EPARSE);     /* group start / end */
	assert_int_equal(pb_count("0c"), W2W_EPARSE);
	assert_int_equal(pb_count("0001"), W2W_EPARSE);     /* field 0 */
	assert_int_equal(pb_count("0e00"), W2W_EPARSE);     /* wire type 6 */
	assert_int_equal(pb_count("0f00"), W2W_EPARSE);     /* wire type 7 */
	assert_int_equal(pb_count("1203aabb"), W2W_EPARSE); /* length past the end */
	assert_int_equal(pb_count("12"), W2W_EPARSE);       /* length missing */
	assert_int_equal(pb_count("08"), W2W_EPARSE);       /* value missing */
	assert_int_equal(pb_count("0880"), W2W_EPARSE);     /* varint truncated */
	assert_int_equal(pb_count("1d0102"), W2W_EPARSE);   /* fixed32 short */
	assert_int_equal(pb_count("09010203"), W2W_EPARSE); /* fixed64 short */
	/* Ten-byte varints: 10th byte 01 is bit 63; 02 overflows. */
	assert_int_equal(pb_count("08ffffffffffffffffff01"), 1);
	assert_int_equal(pb_count("08ffffffffffffffffff02"), W2W_EPARSE);
	assert_int_equal(pb_count("08ffffffffffffffffffff01"), W2W_EPARSE);
	/* Huge length (2^63) must not wrap. */
	assert_int_equal(pb_count("1280808080808080808001"), W2W_EPARSE);
	/* Non-minimal varints are legal protobuf. */
	assert_int_equal(pb_count("088100"), 1);
}

/* Go's own table (src/time/time_test.go parseDurationTests and
 * parseDurationErrorTests): the same nanoseconds, the same refusals. */
static void test_godur_parse(void **state)
{
	static const struct {
		const char *in;
		long long ns;
	} ok[] = {
		{"0", 0},
		{"5s", 5000000000LL},
		{"-5s", -5000000000LL},
		{"+5s", 5000000000LL},
		{"-0", 0},
		{"5.6s", 5600000000LL},
		{"5.s", 5000000000LL},
		{".5s", 500000000LL},
		{"1.004s", 1004000000LL},
		{"100.00100s", 100001000000LL},
		{"0.001s", 1000000LL}, /* exact, as Go (a long double sum gave 999999) */
		{"12\xc2\xb5s", 12000LL},
		{"12\xce\xbcs", 12000LL},
		{"13ms", 13000000LL},
		{"3h30m", 12600000000000LL},
		{"10.5s4m", 250500000000LL},
		{"-2m3.4s", -123400000000LL},
		{"1h2m3s4ms5us6ns", 3723004005006LL},
		{"39h9m14.425s", 140954425000000LL},
		{"0.3333333333333333333h", 1200000000000LL},
		{"9007199254740993ns", 9007199254740993LL},
		{"9223372036854775807ns", 9223372036854775807LL},
		{"9223372036854775.807us", 9223372036854775807LL},
		{"9223372036s854ms775us807ns", 9223372036854775807LL},
		{"2562047h47m16.854775807s", 9223372036854775807LL},
		{"-9223372036854775808ns", -9223372036854775807LL - 1},
		{"0.830103483285477580700h", 2988372539827LL},
	};
	static const struct {
		const char *in;
		int rc;
	} bad[] = {
		{"", GODUR_ESYNTAX},
		{"3", GODUR_ESYNTAX},
		{"-", GODUR_ESYNTAX},
		{"s", GODUR_ESYNTAX},
		{".", GODUR_ESYNTAX},
		{"-.", GODUR_ESYNTAX},
		{".s", GODUR_ESYNTAX},
		{"+.s", GODUR_ESYNTAX},
		{"\x85\x85", GODUR_ESYNTAX},
		{"1d", GODUR_EUNIT},
		{"1 s", GODUR_EUNIT},
		{"9223372036854775808ns", GODUR_ERANGE},
		{"-9223372036854775809ns", GODUR_ERANGE},
		{"9223372036854776us", GODUR_ERANGE},
		{"3000000h", GODUR_ERANGE},
		{"9223372036854775.808us", GODUR_ERANGE},
		{"9223372036854ms775us808ns", GODUR_ERANGE},
	};
	long long ns;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ns = 42;
		assert_int_equal(godur_parse(ok[i].in, strlen(ok[i].in), &ns), 0);
		if (ns != ok[i].ns)
			fail_msg("%s: %lld, want %lld", ok[i].in, ns, ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ns = 42;
		if (godur_parse(bad[i].in, strlen(bad[i].in), &ns) != bad[i].rc)
			fail_msg("%s: not refused with %d", bad[i].in, bad[i].rc);
		assert_int_equal(ns, 42); /* untouched */
	}
}

/* Duration.String() of whole milliseconds, and back. */
static void test_godur_format(void **state)
{
	static const struct {
		uint64_t ms;
		const char *out;
	} v[] = {
		{0, "0s"}, {1, "1ms"}, {999, "999ms"}, {1000, "1s"}, {1500, "1.5s"}, {1001, "1.001s"},
		{60000, "1m0s"}, {90000, "1m30s"}, {5400000, "1h30m0s"}, {3723004, "1h2m3.004s"},
		{9223372036854ULL, "2562047h47m16.854s"},
	};
	char out[64];
	long long ns;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		godur_format_ms(out, sizeof(out), v[i].ms);
		assert_string_equal(out, v[i].out);
		assert_int_equal(godur_parse(out, strlen(out), &ns), 0);
		assert_true((uint64_t)ns == v[i].ms * 1000000ULL);
	}
	godur_format_ms(out, 4, 5400000); /* truncated like snprintf */
	assert_string_equal(out, "1h3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),          cmocka_unit_test(test_b64),
		cmocka_unit_test(test_b32),          cmocka_unit_test(test_b58),
		cmocka_unit_test(test_uvarint),      cmocka_unit_test(test_pb_roundtrip),
		cmocka_unit_test(test_pb_malformed),
		cmocka_unit_test(test_godur_parse),  cmocka_unit_test(test_godur_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
