/* SPDX-License-Identifier: MIT */
/*
 * Key protobufs as read from files and the network: PrivateKey (identity
 * file), PublicKey (Noise/identify/pubsub), binary peer IDs. A private key
 * that loads re-encodes to its canonical 68-byte form with the same seed and
 * signs verifiably; a public key that parses yields the matching peer ID.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ident *id = NULL;
	struct peerid pid, pid2;
	uint8_t pk[32], out[IDENT_PRIVPB_LEN], sig[IDENT_SIG_LEN];
	const uint8_t *pb;
	size_t pbn;

	if (ident_from_privkey_pb(&id, data, size) == 0) {
		if (size != 68 && size != 100)
			abort();
		if (ident_to_privkey_pb(id, out, sizeof(out)) != IDENT_PRIVPB_LEN || memcmp(out + 4, data + 4, 64) != 0)
			abort();
		ident_sign(id, data, size, sig);
		if (ident_verify(ident_pubkey_pb(id), IDENT_PUBPB_LEN, data, size, sig) != 0)
			abort();
		ident_free(id);
	}
	if (pubkey_pb_ed25519(data, size, pk) == 0) {
		if (ident_peerid_from_pubkey_pb(&pid, data, size) != 0 || peerid_ed25519_key(&pid, pk) != 0 ||
		    memcmp(pk, data + 4, 32) != 0)
			abort();
		/* A random "signature" must not verify (2^-252 false-failure odds ignored). */
		memset(sig, 0x42, sizeof(sig));
		if (ident_verify(data, size, data, size, sig) == 0)
			abort();
	}
	if (size && ident_peerid_from_pubkey_pb(&pid, data, size) != 0)
		abort();
	if (peerid_from_bytes(&pid, data, size) == 0) {
		if (pid.len != size)
			abort();
		if (peerid_pubkey_pb(&pid, &pb, &pbn) == 0) {
			if (ident_peerid_from_pubkey_pb(&pid2, pb, pbn) != 0 || !peerid_eq(&pid, &pid2))
				abort();
		}
	}
	return 0;
}
