/* SPDX-License-Identifier: MIT */
#include "peerid.h"

#include <string.h>

#include "b32.h"
#include "b58.h"
#include "err.h"
#include "varint.h"

int peerid_from_bytes(struct peerid *id, const uint8_t *p, size_t n)
{
	uint64_t code, len;
	int a, b;

	/* Both multihash header fields are uvarints (multiformats/multihash). */
	a = uvarint_decode(p, n, &code);
	if (a <= 0)
		return W2W_EPARSE;
	b = uvarint_decode(p + a, n - (size_t)a, &len);
	if (b <= 0 || len != n - (size_t)a - (size_t)b)
		return W2W_EPARSE;
	/* peer-ids.md: identity for keys of <= 42 bytes, sha2-256 otherwise. */
	if (code == MH_IDENTITY) {
		/* An empty identity multihash carries no key: not a peer ID. */
		if (len == 0 || len > PEERID_INLINE_MAX)
			return W2W_EPARSE;
	} else if (code == MH_SHA2_256) {
		if (len != 32)
			return W2W_EPARSE;
	} else {
		return W2W_EPARSE;
	}
	id->len = (uint8_t)n;
	memcpy(id->b, p, n);
	memset(id->b + n, 0, sizeof(id->b) - n);
	return 0;
}

int peerid_from_pubkey_pb(struct peerid *id, const uint8_t *pb, size_t n)
{
	if (n == 0)
		return W2W_EPARSE;
	if (n > PEERID_INLINE_MAX)
		return W2W_ELIMIT;
	memset(id, 0, sizeof(*id));
	id->b[0] = MH_IDENTITY;
	id->b[1] = (uint8_t)n; /* < 128: a one-byte uvarint */
	memcpy(id->b + 2, pb, n);
	id->len = (uint8_t)(n + 2);
	return 0;
}

void peerid_from_sha256(struct peerid *id, const uint8_t digest[32])
{
	memset(id, 0, sizeof(*id));
	id->b[0] = MH_SHA2_256;
	id->b[1] = 32;
	memcpy(id->b + 2, digest, 32);
	id->len = 34;
}

int peerid_to_b58(char *out, size_t cap, const struct peerid *id)
{
	if (id->len == 0)
		return W2W_EPARSE;
	return b58_encode(out, cap, id->b, id->len);
}

int peerid_to_cid(char *out, size_t cap, const struct peerid *id)
{
	uint8_t cid[2 + PEERID_MAX_LEN];
	int n;

	if (id->len == 0)
		return W2W_EPARSE;
	if (cap < 2)
		return W2W_ELIMIT;
	/* CIDv1: uvarint version 1, uvarint codec libp2p-key, multihash (peer-ids.md "String representation"). */
	cid[0] = 0x01;
	cid[1] = MULTICODEC_LIBP2P_KEY;
	memcpy(cid + 2, id->b, id->len);
	n = b32_encode(out + 1, cap - 1, cid, (size_t)id->len + 2);
	if (n < 0)
		return n;
	out[0] = 'b'; /* multibase prefix: base32 lowercase, no padding */
	return n + 1;
}

int peerid_parse(struct peerid *id, const char *s, size_t len)
{
	uint8_t tmp[B58_MAX_BYTES];
	uint64_t ver, codec;
	int n, a, b;

	if (len == 0)
		return W2W_EPARSE;
	/* peer-ids.md: "1..." or "Qm..." are bare base58btc multihashes; else a multibase CID. */
	if (s[0] == '1' || (len >= 2 && s[0] == 'Q' && s[1] == 'm')) {
		n = b58_decode(tmp, sizeof(tmp), s, len);
		if (n < 0)
			return W2W_EPARSE;
		return peerid_from_bytes(id, tmp, (size_t)n);
	}
	if (s[0] != 'b' || len - 1 > B32_ENCODED_LEN(sizeof(tmp)))
		return W2W_EPARSE;
	n = b32_decode(tmp, sizeof(tmp), s + 1, len - 1);
	if (n < 0)
		return W2W_EPARSE;
	a = uvarint_decode(tmp, (size_t)n, &ver);
	if (a <= 0 || ver != 1)
		return W2W_EPARSE;
	b = uvarint_decode(tmp + a, (size_t)n - (size_t)a, &codec);
	if (b <= 0 || codec != MULTICODEC_LIBP2P_KEY)
		return W2W_EPARSE;
	return peerid_from_bytes(id, tmp + a + b, (size_t)n - (size_t)a - (size_t)b);
}

bool peerid_eq(const struct peerid *a, const struct peerid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

int peerid_cmp(const struct peerid *a, const struct peerid *b)
{
	if (a->len != b->len)
		return (int)a->len - (int)b->len;
	return memcmp(a->b, b->b, a->len);
}

int peerid_pubkey_pb(const struct peerid *id, const uint8_t **pb, size_t *n)
{
	if (id->len < 2 || id->b[0] != MH_IDENTITY || id->b[1] != id->len - 2)
		return W2W_EPARSE;
	*pb = id->b + 2;
	*n = id->len - 2u;
	return 0;
}

int peerid_ed25519_key(const struct peerid *id, uint8_t pk[32])
{
	static const uint8_t hdr[] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};

	if (id->len != sizeof(hdr) + 32 || memcmp(id->b, hdr, sizeof(hdr)) != 0)
		return W2W_EPARSE;
	memcpy(pk, id->b + sizeof(hdr), 32);
	return 0;
}
