/* SPDX-License-Identifier: MIT */
#include "ident.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

/* PublicKey / PrivateKey protobuf prefixes: Type=Ed25519 (08 01), Data (12 len). */
static const uint8_t pub_hdr[4] = {0x08, 0x01, 0x12, 0x20};
static const uint8_t priv_hdr[4] = {0x08, 0x01, 0x12, 0x40};
static const uint8_t priv_hdr_legacy[4] = {0x08, 0x01, 0x12, 0x60};

struct ident {
	uint8_t *sk; /* libsodium secret key seed||pk (64 bytes), in guarded memory */
	uint8_t pk[32];
	uint8_t pubpb[IDENT_PUBPB_LEN];
	struct peerid peer;
};

void ident_free(struct ident *id)
{
	if (!id)
		return;
	secure_free(id->sk);
	free(id);
}

/* Builds an identity whose secret key is already in sk (ownership passes in). */
static int ident_finish(struct ident **out, uint8_t *sk)
{
	struct ident *id = calloc(1, sizeof(*id));

	if (!id) {
		secure_free(sk);
		return -ENOMEM;
	}
	id->sk = sk;
	memcpy(id->pk, sk + 32, 32);
	pubkey_pb_from_ed25519(id->pubpb, id->pk);
	peerid_from_pubkey_pb(&id->peer, id->pubpb, sizeof(id->pubpb));
	*out = id;
	return 0;
}

int ident_from_seed(struct ident **out, const uint8_t seed[IDENT_SEED_LEN])
{
	uint8_t pk[32];
	uint8_t *sk = secure_alloc(crypto_sign_SECRETKEYBYTES);

	if (!sk)
		return -ENOMEM;
	crypto_sign_seed_keypair(pk, sk, seed);
	return ident_finish(out, sk);
}

int ident_new(struct ident **out, const struct rng *r)
{
	uint8_t *seed = secure_alloc(IDENT_SEED_LEN);
	int rc;

	if (!seed)
		return -ENOMEM;
	rng_fill(r, seed, IDENT_SEED_LEN);
	rc = ident_from_seed(out, seed);
	secure_free(seed);
	return rc;
}

int ident_from_privkey_pb(struct ident **out, const uint8_t *pb, size_t n)
{
	uint8_t pk[32];
	uint8_t *sk = NULL;
	int rc = W2W_EPARSE;

	/*
	 * Only the deterministic encoding is accepted (peer-ids.md "Keys"): type
	 * then data, minimal lengths. Data is seed||pk (64) or legacy seed||pk||pk (96).
	 */
	if (n == 4 + 64) {
		if (memcmp(pb, priv_hdr, 4) != 0)
			goto out;
	} else if (n == 4 + 96) {
		if (memcmp(pb, priv_hdr_legacy, 4) != 0 || memcmp(pb + 36, pb + 68, 32) != 0)
			goto out;
	} else {
		goto out;
	}
	sk = secure_alloc(crypto_sign_SECRETKEYBYTES);
	if (!sk) {
		rc = -ENOMEM;
		goto out;
	}
	/* Re-derive from the seed: a stored public key that does not match is a corrupt key. */
	crypto_sign_seed_keypair(pk, sk, pb + 4);
	if (memcmp(pk, pb + 36, 32) != 0) {
		rc = W2W_EPARSE;
		goto out;
	}
	rc = ident_finish(out, sk);
	sk = NULL;
out:
	secure_free(sk);
	return rc;
}

int ident_to_privkey_pb(const struct ident *id, uint8_t *out, size_t cap)
{
	if (cap < IDENT_PRIVPB_LEN)
		return W2W_ELIMIT;
	memcpy(out, priv_hdr, 4);
	memcpy(out + 4, id->sk, 64);
	return IDENT_PRIVPB_LEN;
}

const uint8_t *ident_pubkey_pb(const struct ident *id)
{
	return id->pubpb;
}

const uint8_t *ident_pubkey(const struct ident *id)
{
	return id->pk;
}

const struct peerid *ident_peerid(const struct ident *id)
{
	return &id->peer;
}

int ident_sign(const struct ident *id, const void *msg, size_t n, uint8_t sig[IDENT_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, n, id->sk);
	return 0;
}

int ident_verify_raw(const uint8_t pk[32], const void *msg, size_t n, const uint8_t sig[IDENT_SIG_LEN])
{
	secmem_init();
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : W2W_EAUTH;
}

int ident_verify(const uint8_t *pubpb, size_t pubpb_len, const void *msg, size_t n,
		 const uint8_t sig[IDENT_SIG_LEN])
{
	uint8_t pk[32];

	if (pubkey_pb_ed25519(pubpb, pubpb_len, pk) < 0)
		return W2W_EPARSE;
	return ident_verify_raw(pk, msg, n, sig);
}

int pubkey_pb_ed25519(const uint8_t *pb, size_t n, uint8_t pk[32])
{
	if (n != IDENT_PUBPB_LEN || memcmp(pb, pub_hdr, 4) != 0)
		return W2W_EPARSE;
	memcpy(pk, pb + 4, 32);
	return 0;
}

void pubkey_pb_from_ed25519(uint8_t pb[IDENT_PUBPB_LEN], const uint8_t pk[32])
{
	memcpy(pb, pub_hdr, 4);
	memcpy(pb + 4, pk, 32);
}

int ident_peerid_from_pubkey_pb(struct peerid *id, const uint8_t *pb, size_t n)
{
	uint8_t digest[crypto_hash_sha256_BYTES];

	if (n == 0)
		return W2W_EPARSE;
	if (n <= PEERID_INLINE_MAX)
		return peerid_from_pubkey_pb(id, pb, n);
	secmem_init();
	crypto_hash_sha256(digest, pb, n);
	peerid_from_sha256(id, digest);
	return 0;
}

int ident_from_privkey_b64(struct ident **out, const char *s, size_t n)
{
	/* Room for the longest accepted form (IDENT_PRIVPB_MAX); longer text fails. */
	uint8_t *buf = secure_alloc(IDENT_PRIVPB_MAX);
	int len, rc = W2W_EPARSE;

	if (!buf)
		return -ENOMEM;
	len = secret_from_b64(buf, IDENT_PRIVPB_MAX, s, n);
	if (len > 0)
		rc = ident_from_privkey_pb(out, buf, (size_t)len) < 0 ? W2W_EPARSE : 0;
	secure_free(buf);
	return rc;
}
