/* SPDX-License-Identifier: MIT */
/*
 * A listener during a network PSK rotation (p2p/pnet.h): a conn engine with
 * two candidate keys reads what a dialer sends from its first byte: the nonce,
 * the 20 bytes that pick the key, then multistream-select and Noise. Byte 0:
 * bits 0-1 choose how the rest goes out: 0 raw (nonce and ciphertext as given),
 * 1/2 encrypted under candidate 0/1 behind a fixed nonce (so the fuzzer
 * reaches past the key selection with plaintext seeds), 3 under a key that is
 * no candidate; bits 2-7 the chunk size. Checks: the engine stays healthy or
 * fails with a reason; memory stays bounded; everything is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ident.h"
#include "identify.h"
#include "pnet.h"
#include "prim.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t k0[32] = { 0x42 }, k1[32] = { 0x43 }, k2[32] = { 0x44 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 2 }, nonce[24] = { 9, 8, 7 };
	const uint8_t *cands[2] = { k0, k1 }, *keys[4] = { NULL, k0, k1, k2 };
	struct rng_seeded s;
	struct rng r;
	struct ident *id = NULL;
	struct identify_info info;
	struct conn_config cc = { 0 };
	struct conn *c = NULL;
	uint64_t now = 1000000;
	uint8_t *wire;
	size_t chunk, n;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	chunk = 1 + (size_t)(data[0] >> 2) * 4;
	data++;
	size--;
	rng_seeded_init(&s, &r, 1);
	if (ident_from_seed(&id, seed) < 0)
		abort();
	identify_info_init(&info);
	identify_set_public_key(&info, ident_pubkey_pb(id), IDENT_PUBPB_LEN);
	cc.psks = cands;
	cc.n_psks = 2;
	cc.rng = &r;
	cc.self_info = &info;
	cc.identity = id;
	cc.name = "fuzz";
	if (conn_new(&c, &cc, now) < 0)
		abort();
	n = mode ? size + 24 : size;
	wire = malloc(n ? n : 1);
	if (!wire)
		abort();
	if (mode) {
		memcpy(wire, nonce, 24);
		prim_xsalsa20_xor(wire + 24, data, size, nonce, 0, keys[mode]);
	} else if (size) {
		memcpy(wire, data, size);
	}
	for (size_t off = 0; off < n && !conn_done(c); off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		const uint8_t *p;
		size_t nb;

		now += 1000;
		conn_feed(c, wire + off, k, now);
		conn_output(c, &p, &nb);
		conn_consume(c, nb, now);
	}
	if (mode == 3 && size >= PNET_PROBE_LEN && !conn_done(c))
		abort(); /* no candidate key: refused as soon as the 20 bytes are in */
	if (mode && mode < 3 && size >= PNET_PROBE_LEN && !memcmp(data, "\x13/multistream/1.0.0\n", 20) &&
	    conn_psk_index(c) != mode - 1)
		abort(); /* the header under candidate i picks candidate i */
	now += 60ull * 1000 * 1000;
	conn_tick(c, now);
	if (conn_done(c) && conn_reason(c)[0] == 0)
		abort();
	if (conn_memory(c) > (64u << 20))
		abort();
	free(wire);
	conn_free(c);
	ident_free(id);
	return 0;
}
