/* SPDX-License-Identifier: MIT */
/*
 * Multiaddr text <-> binary. Vectors: multiformats/multiaddr test/multiaddr.feature,
 * multiformats/go-multiaddr multiaddr_test.go (TestStringToBytes, TestBytesToString,
 * TestRoundTrip, TestIPFSvP2P, TestInvalidP2PAddrBytes and the subset of the
 * good/TestConstructFails lists made only of protocols this codec knows).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "multiaddr.h"
#include "peerid.h"
#include "testutil.h"

static const struct {
	const char *text, *hex;
} vec[] = {
	/* multiaddr.feature */
	{"/ip4/192.0.2.42/tcp/443", "04c000022a0601bb"},
	/* go-multiaddr TestStringToBytes / TestBytesToString */
	{"/ip4/127.0.0.1/udp/1234", "047f000001910204d2"},
	{"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"},
	{"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321", "047f000001910204d2047f0000010610e1"},
	/* From the protocol table (code varint, fixed or length-prefixed value). */
	{"/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1"},
	{"/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb"},
	{"/dns6/example.com/udp/53", "370b6578616d706c652e636f6d91020035"},
	{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
	 "047f000001060fa1a503260024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"},
	{"/ip4/127.0.0.1/udp/1234/quic-v1", "047f000001910204d2cd03"},
	{"/ip6zone/x/ip6/fe80::1", "2a017829fe800000000000000000000000000001"},
};

static void test_vectors(void **state)
{
	uint8_t bin[MA_MAX_BIN], want[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = unhex(want, sizeof(want), vec[i].hex);
		int got = ma_parse(bin, sizeof(bin), vec[i].text, strlen(vec[i].text));

		assert_int_equal(got, n);
		assert_memory_equal(bin, want, n);
		assert_int_equal(ma_validate(want, n), 0);
		assert_int_equal(ma_format(txt, sizeof(txt), want, n), strlen(vec[i].text));
		assert_string_equal(txt, vec[i].text);
	}
}

/* Text that must print back unchanged (go TestRoundTrip subset and more). */
static const char *const roundtrip[] = {
	"/ip6/::ffff:127.0.0.1/tcp/111",
	"/ip4/127.0.0.1/tcp/123",
	"/ip4/127.0.0.1/tcp/123/tls",
	"/ip4/127.0.0.1/udp/123",
	"/ip4/127.0.0.1/udp/123/ip6/::",
	"/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP",
	"/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
	"/ip6zone/x%y/ip6/::",
	"/udp/0",
	"/tcp/65535",
	"/ip4/127.0.0.1/tcp/127/tls/ws",
	"/ip4/127.0.0.1/tcp/127/noise",
	"/ip4/127.0.0.1/tcp/127/wss",
	"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV/p2p-circuit",
	"/dnsaddr/bootstrap.libp2p.io/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
	"/dns/localhost/tcp/1/webtransport",
};

static void test_roundtrip(void **state)
{
	uint8_t bin[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];

	(void)state;
	for (size_t i = 0; i < sizeof(roundtrip) / sizeof(roundtrip[0]); i++) {
		int n = ma_parse(bin, sizeof(bin), roundtrip[i], strlen(roundtrip[i]));
		assert_true(n > 0);
		assert_int_equal(ma_format(txt, sizeof(txt), bin, (size_t)n), strlen(roundtrip[i]));
		assert_string_equal(txt, roundtrip[i]);
	}
}

/* Accepted on input, printed in canonical form. */
static const struct {
	const char *in, *out;
} canon[] = {
	/* TestIPFSvP2P */
	{"/ipfs/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP", "/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP"},
	{"/ip4/127.0.0.1/tcp/1234/", "/ip4/127.0.0.1/tcp/1234"},
	/* CIDs from the go good list print as base58btc multihashes. */
	{"/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
	 "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"},
	{"/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
	 "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
	{"/ip6/0:0:0:0:0:0:0:1/tcp/1", "/ip6/::1/tcp/1"},
	{"/ip6/2001:DB8::A/udp/9", "/ip6/2001:db8::a/udp/9"},
	{"/ip6/2001:db8:0:0:1:0:0:1/tcp/1", "/ip6/2001:db8::1:0:0:1/tcp/1"},
	{"/tcp/080", "/tcp/80"},
};

static void test_canonical(void **state)
{
	uint8_t bin[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];

	(void)state;
	for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
		int n = ma_parse(bin, sizeof(bin), canon[i].in, strlen(canon[i].in));
		assert_true(n > 0);
		assert_int_equal(ma_format(txt, sizeof(txt), bin, (size_t)n), strlen(canon[i].out));
		assert_string_equal(txt, canon[i].out);
	}
}

static void test_parse_fails(void **state)
{
	static const char *const bad[] = {
		/* go-multiaddr TestConstructFails (protocols we know) */
		"/ip4", "/ip4/::1", "/ip4/fdpsofodsajfdoisa", "/ip6", "/ip6zone", "/ip6zone/",
		"/ip6zone//ip6/fe80::1", "/udp", "/tcp", "/udp/65536", "/tcp/65536", "/quic-v1/65536",
		"/ip4/127.0.0.1/udp/jfodsajfidosajfoidsa", "/ip4/127.0.0.1/udp", "/ip4/127.0.0.1/tcp/jfodsajfidosajfoidsa",
		"/ip4/127.0.0.1/tcp", "/ip4/127.0.0.1/quic/1234", "/ip4/127.0.0.1/quic-v1/1234", "/ip4/127.0.0.1/ipfs",
		"/ip4/127.0.0.1/ipfs/tcp", "/ip4/127.0.0.1/p2p", "/ip4/127.0.0.1/p2p/tcp", "/ip4/1.2.3.4/tcp/-1", "/", "",
		"/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
		/* more */
		"ip4/1.2.3.4", "/ip4/01.2.3.4", "/ip4/1.2.3.4.5", "/ip4/1.2.3.4//tcp/1", "/sctp/1", "/IP4/1.2.3.4",
		"/tcp/+1", "/tcp/ 1", "/ip6/::1%eth0", "/dns4/", "/ip4/1.2.3.4/tcp/1/p2p/12D3KooWCryG7Mon",
		"/tcp/1//",
	};
	uint8_t bin[MA_MAX_BIN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ma_parse(bin, sizeof(bin), bad[i], strlen(bad[i]));
		if (rc >= 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(rc, W2W_EPARSE);
	}
	/* Embedded NUL bytes. */
	assert_int_equal(ma_parse(bin, sizeof(bin), "/ip4/1.2.3.4\0x/tcp/1", 20), W2W_EPARSE);
	assert_int_equal(ma_parse(bin, sizeof(bin), "/ip6/::1\0/tcp/1", 15), W2W_EPARSE);
	assert_int_equal(ma_parse(bin, sizeof(bin), "/dns4/a\0b/tcp/1", 15), W2W_EPARSE);
	/* A DNS name over 253 bytes. */
	char longname[300] = "/dns4/";
	memset(longname + 6, 'a', 254);
	longname[260] = '\0';
	assert_int_equal(ma_parse(bin, sizeof(bin), longname, strlen(longname)), W2W_EPARSE);
}

static void test_binary_fails(void **state)
{
	static const char *const bad[] = {
		/* go-multiaddr TestInvalidP2PAddrBytes: sha2-256 multihash with a 33-byte digest */
		"a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6",
		"",                     /* empty */
		"047f00",               /* short ip4 */
		"0601",                 /* short port */
		"bc030010c0439831b48218480050", /* onion: unknown to us, cannot be skipped */
		"8400",                 /* non-minimal code varint */
		"3603612f62",           /* dns4 "a/b": a '/' would not print back */
		"360361006200",         /* NUL in a name */
		"3600",                 /* empty name */
		"3605616263",           /* length past the end */
		"a50300",               /* empty p2p value */
		"047f000001ff",         /* truncated code varint */
	};
	uint8_t bin[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];
	struct ma_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(bin, sizeof(bin), bad[i]);
		assert_int_equal(ma_validate(bin, n), W2W_EPARSE);
		assert_int_equal(ma_format(txt, sizeof(txt), bin, n), W2W_EPARSE);
		assert_int_equal(ma_decompose(bin, n, &a), W2W_EPARSE);
	}
}

static void test_limits(void **state)
{
	uint8_t bin[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];
	const char *s = "/ip4/192.0.2.42/tcp/443";
	int n;

	(void)state;
	assert_int_equal(ma_parse(bin, 7, s, strlen(s)), W2W_ELIMIT);
	n = ma_parse(bin, 8, s, strlen(s));
	assert_int_equal(n, 8);
	memset(txt, 'Z', sizeof(txt));
	assert_int_equal(ma_format(txt, strlen(s), bin, 8), W2W_ELIMIT); /* no room for NUL */
	assert_int_equal(txt[0], 'Z'); /* nothing written on failure */
	assert_int_equal(ma_format(txt, strlen(s) + 1, bin, 8), strlen(s));
	assert_int_equal(ma_format(txt, 0, bin, 8), W2W_ELIMIT);
	/* A text address whose binary exceeds MA_MAX_BIN. */
	char big[4000] = "";
	for (int i = 0; i < 90; i++)
		strcat(big, "/ip4/1.2.3.4");
	assert_int_equal(ma_parse(bin, sizeof(bin), big, strlen(big)), W2W_ELIMIT);
	/* The densest binary (2-byte codes with 12-character names) still fits MA_MAX_TEXT. */
	for (size_t i = 0; i + 2 <= MA_MAX_BIN; i += 2) {
		bin[i] = 0xd1; /* 465 webtransport */
		bin[i + 1] = 0x03;
	}
	n = ma_format(txt, sizeof(txt), bin, MA_MAX_BIN);
	assert_int_equal(n, MA_MAX_BIN / 2 * strlen("/webtransport"));
}

static int parse_str(uint8_t bin[MA_MAX_BIN], const char *s)
{
	return ma_parse(bin, MA_MAX_BIN, s, strlen(s));
}

static void test_decompose(void **state)
{
	static const char *id = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
	uint8_t bin[MA_MAX_BIN], bin2[MA_MAX_BIN];
	char txt[MA_MAX_TEXT];
	struct ma_addr a;
	struct peerid peer, p2;
	int n, m;

	(void)state;
	assert_int_equal(peerid_parse(&peer, id, strlen(id)), 0);

	n = parse_str(bin, "/ip4/10.1.2.3/tcp/10042/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
	assert_true(n > 0);
	assert_int_equal(ma_decompose(bin, (size_t)n, &a), 0);
	assert_int_equal(a.kind, MA_KIND_IP4);
	assert_memory_equal(a.ip, "\x0a\x01\x02\x03", 4);
	assert_string_equal(a.host, "10.1.2.3");
	assert_int_equal(a.port, 10042);
	assert_true(a.tcp);
	assert_true(a.has_peer);
	assert_true(peerid_eq(&a.peer, &peer));
	m = ma_compose(bin2, sizeof(bin2), &a);
	assert_int_equal(m, n);
	assert_memory_equal(bin2, bin, (size_t)n);
	assert_int_equal(ma_peer(bin, (size_t)n, &p2), 0);
	assert_true(peerid_eq(&p2, &peer));

	n = parse_str(bin, "/ip6/fd6d:142e:65e7:4cc1::1/udp/51820");
	assert_true(n > 0);
	assert_int_equal(ma_decompose(bin, (size_t)n, &a), 0);
	assert_int_equal(a.kind, MA_KIND_IP6);
	assert_string_equal(a.host, "fd6d:142e:65e7:4cc1::1");
	assert_false(a.tcp);
	assert_int_equal(a.port, 51820);
	assert_false(a.has_peer);
	assert_int_equal(ma_peer(bin, (size_t)n, &p2), W2W_EPARSE);
	m = ma_from_ip(bin2, sizeof(bin2), 6, a.ip, 51820, false, NULL);
	assert_int_equal(m, n);
	assert_memory_equal(bin2, bin, (size_t)n);

	n = parse_str(bin, "/dns6/node.example/tcp/1");
	assert_true(n > 0);
	assert_int_equal(ma_decompose(bin, (size_t)n, &a), 0);
	assert_int_equal(a.kind, MA_KIND_DNS6);
	assert_string_equal(a.host, "node.example");
	m = ma_compose(bin2, sizeof(bin2), &a);
	assert_int_equal(m, n);
	assert_memory_equal(bin2, bin, (size_t)n);

	/* Builder output formats as expected. */
	m = ma_from_ip(bin2, sizeof(bin2), 4, (const uint8_t *)"\x7f\x00\x00\x01", 4001, true, &peer);
	assert_true(m > 0);
	assert_true(ma_format(txt, sizeof(txt), bin2, (size_t)m) > 0);
	assert_string_equal(txt, "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
	assert_int_equal(ma_from_ip(bin2, 10, 4, (const uint8_t *)"\x7f\x00\x00\x01", 4001, true, &peer), W2W_ELIMIT);
	assert_int_equal(ma_from_ip(bin2, sizeof(bin2), 5, (const uint8_t *)"\x7f\x00\x00\x01", 1, true, NULL),
			 W2W_EPARSE);

	/* Shapes a dialer cannot use are refused so the caller skips them. */
	static const char *const skip[] = {
		"/ip4/1.2.3.4/udp/1/quic-v1", "/ip4/1.2.3.4", "/ip4/1.2.3.4/tcp/1/ws",
		"/ip6zone/x/ip6/fe80::1/tcp/1", "/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
		"/dns/x/tcp/1", "/dnsaddr/x", "/tcp/1/ip4/1.2.3.4", "/ip4/1.2.3.4/tcp/1/tcp/2",
		"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit",
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		n = ma_parse(bin, sizeof(bin), skip[i], strlen(skip[i]));
		assert_true(n > 0);
		assert_int_equal(ma_decompose(bin, (size_t)n, &a), W2W_EPARSE);
	}
	memset(&a, 0, sizeof(a));
	a.kind = MA_KIND_DNS4; /* empty host */
	assert_int_equal(ma_compose(bin2, sizeof(bin2), &a), W2W_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),      cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_canonical),    cmocka_unit_test(test_parse_fails),
		cmocka_unit_test(test_binary_fails), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_decompose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
