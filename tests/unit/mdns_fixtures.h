/* SPDX-License-Identifier: MIT */
/*
 * Datagrams captured on the wire from js-libp2p 2.10.0 with @libp2p/mdns
 * 11.0.47 (multicast-dns 7.2.5, dns-packet 5.6.1), node 20, in a network
 * namespace with multicast on lo: tests/interop/mdnspeer.mjs listening on
 * /ip4/127.0.0.1/tcp/4001, a Python socket joined to 224.0.0.251:5353.
 */
#ifndef W2W_TEST_MDNS_FIXTURES_H
#define W2W_TEST_MDNS_FIXTURES_H

/* The js query, every interval: id 0, flags 0, "_p2p._udp.local PTR IN". */
#define JS_QUERY_HEX "000000000001000000000000045f703270045f756470056c6f63616c00000c0001"

/* The js answer to it: flags 8400, two answers, no compression:
 * _p2p._udp.local PTR <63-char peer-name>._p2p._udp.local (TTL 120) and
 * <peer-name>._p2p._udp.local TXT "dnsaddr=/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWF13j..." (TTL 120). */
#define JS_PEER_ID "12D3KooWF13jH8JFiyAtqzroPN7wonQndjd36Vxi3SDrGE3on6yr"
#define JS_PEER_NAME "9ugccbk0fc6cs7az4x075r8hxj9n6fb8yblpllsydit6imeme8ilbuxqznaw00m"
#define JS_RESPONSE_HEX                                                                                      \
	"000084000000000200000000045f703270045f756470056c6f63616c00000c00010000007800513f3975676363626b"     \
	"30666336637337617a3478303735723868786a396e3666623879626c706c6c737964697436696d656d6538696c6275"     \
	"78717a6e617730306d045f703270045f756470056c6f63616c003f3975676363626b30666336637337617a34783037"     \
	"35723868786a396e3666623879626c706c6c737964697436696d656d6538696c627578717a6e617730306d045f7032"     \
	"70045f756470056c6f63616c000010000100000078005958646e73616464723d2f6970342f3132372e302e302e312f"     \
	"7463702f343030312f7032702f313244334b6f6f574631336a48384a4669794174717a726f504e37776f6e516e646a"     \
	"643336567869335344724745336f6e367972"

#endif
