/* SPDX-License-Identifier: MIT */
/*
 * Multiaddr (multiformats/multiaddr) text <-> binary. Binary is a sequence of
 * uvarint(code) || value; fixed-size values are raw, variable ones carry a
 * uvarint length. Known protocols: ip4 (4), tcp (6), ip6 (41), ip6zone (42),
 * dns (53), dns4 (54), dns6 (55), dnsaddr (56), udp (273), p2p (421, text
 * alias "ipfs" accepted on input), and the value-less p2p-circuit, tls, noise,
 * quic, quic-v1, webtransport, ws, wss. An unknown code cannot be skipped (its
 * size is unknown), so a whole address with one is rejected: callers drop that
 * address, never the message that carried it.
 *
 * p2p values are peer-ID multihashes; text output is base58btc, text input is
 * base58btc or CIDv1. ip6 is printed in RFC 5952 form (compressed, lowercase).
 */
#ifndef W2W_CODEC_MULTIADDR_H
#define W2W_CODEC_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

#define MA_MAX_BIN 400  /* bytes; longer binary addresses are refused */
/* Characters with NUL; enough for any binary of MA_MAX_BIN bytes (at most 6.5 characters a byte). */
#define MA_MAX_TEXT 4096

enum {
	MA_IP4 = 4,
	MA_TCP = 6,
	MA_IP6 = 41,
	MA_IP6ZONE = 42,
	MA_DNS = 53,
	MA_DNS4 = 54,
	MA_DNS6 = 55,
	MA_DNSADDR = 56,
	MA_UDP = 273,
	MA_P2P = 421,
};

/* Text to binary. Returns the binary length, W2W_EPARSE or W2W_ELIMIT. */
int ma_parse(uint8_t *out, size_t cap, const char *s, size_t len);
/* Binary to text with NUL. Returns the text length, W2W_EPARSE or W2W_ELIMIT. */
int ma_format(char *out, size_t cap, const uint8_t *p, size_t n);
/* 0 when the binary is a well-formed address of known protocols, else W2W_EPARSE. */
int ma_validate(const uint8_t *p, size_t n);

/* One address reduced to what a dialer needs. */
enum ma_kind { MA_KIND_NONE = 0, MA_KIND_IP4, MA_KIND_IP6, MA_KIND_DNS4, MA_KIND_DNS6 };
#define MA_HOST_MAX 254 /* DNS name with NUL */

struct ma_addr {
	int kind;                /* enum ma_kind */
	uint8_t ip[16];          /* IP4: first 4 bytes; IP6: all 16 (network order) */
	char host[MA_HOST_MAX];  /* DNS4/DNS6: the name; IP kinds: the address as text */
	uint16_t port;
	bool tcp;                /* true = /tcp, false = /udp */
	bool has_peer;
	struct peerid peer;
};

/*
 * Accepts exactly <ip4|ip6|dns4|dns6>/<tcp|udp>/<port>[/p2p/<id>]; anything
 * else (quic-v1, ws, ip6zone, circuit ...) is W2W_EPARSE so the caller skips it.
 */
int ma_decompose(const uint8_t *p, size_t n, struct ma_addr *out);
/* The inverse of ma_decompose (host text is ignored for IP kinds). Returns the binary length. */
int ma_compose(uint8_t *out, size_t cap, const struct ma_addr *a);
/*
 * Convenience builder: /ip4|ip6/<ip>/tcp|udp/<port>[/p2p/<peer>]. family is 4
 * or 6, ip holds 4 or 16 bytes in network order, peer may be NULL.
 */
int ma_from_ip(uint8_t *out, size_t cap, int family, const uint8_t *ip, uint16_t port, bool tcp,
	       const struct peerid *peer);
/* Finds the trailing /p2p/ component: 0 and *peer set, or W2W_EPARSE when absent/malformed. */
int ma_peer(const uint8_t *p, size_t n, struct peerid *peer);

#endif
