/* SPDX-License-Identifier: MIT */
/* Admission tokens and revocations (admission.h). */
#include <sodium.h>
#include <string.h>

#include "admission.h"
#include "err.h"
#include "rd.h"

#define KEYID_DOMAIN "w2wesher admission key id v1"

void adm_pub_from_seed(uint8_t pub[32], const uint8_t seed[32])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	crypto_sign_seed_keypair(pub, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

void adm_key_id(uint8_t id[ADM_KEYID_LEN], const uint8_t pub[32])
{
	crypto_generichash_state st;
	uint8_t h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)KEYID_DOMAIN, strlen(KEYID_DOMAIN));
	crypto_generichash_update(&st, pub, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(id, h, ADM_KEYID_LEN);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t rd_be64(struct rd *r)
{
	uint64_t hi = rd_be32(r);

	return hi << 32 | rd_be32(r);
}

/* The signed message: domain || body. */
static void sig_msg(uint8_t *msg, size_t *mlen, const uint8_t *body, size_t n)
{
	memcpy(msg, ADM_DOMAIN, strlen(ADM_DOMAIN));
	memcpy(msg + strlen(ADM_DOMAIN), body, n);
	*mlen = strlen(ADM_DOMAIN) + n;
}

int adm_sign(uint8_t *out, size_t cap, const uint8_t seed[32], uint8_t kind, const struct peerid *peer,
             const char *name, uint64_t t_a, uint64_t t_b)
{
	uint8_t pk[32], sk[crypto_sign_SECRETKEYBYTES], msg[sizeof(ADM_DOMAIN) + ADM_MAX_LEN];
	size_t nl = name ? strlen(name) : 0, n = 0, mlen;

	if (nl > ADM_NAME_MAX || cap < ADM_MAX_LEN || !peer->len || peer->len > PEERID_MAX_LEN)
		return W2W_ELIMIT;
	crypto_sign_seed_keypair(pk, sk, seed);
	out[n++] = ADM_VERSION;
	out[n++] = kind;
	adm_key_id(out + n, pk);
	n += ADM_KEYID_LEN;
	put_be64(out + n, t_a);
	put_be64(out + n + 8, t_b);
	n += 16;
	out[n++] = peer->len;
	memcpy(out + n, peer->b, peer->len);
	n += peer->len;
	out[n++] = (uint8_t)nl;
	if (nl)
		memcpy(out + n, name, nl);
	n += nl;
	sig_msg(msg, &mlen, out, n);
	crypto_sign_detached(out + n, NULL, msg, mlen, sk);
	sodium_memzero(sk, sizeof(sk));
	return (int)(n + ADM_SIG_LEN);
}

int adm_parse(const uint8_t *p, size_t n, struct adm_obj *o)
{
	struct adm_obj t;
	struct rd r;
	const uint8_t *b;
	uint8_t l;

	if (n > ADM_MAX_LEN)
		return W2W_EPARSE;
	memset(&t, 0, sizeof(t));
	rd_init(&r, p, n);
	if (rd_u8(&r) != ADM_VERSION)
		return W2W_EPARSE;
	t.kind = rd_u8(&r);
	b = rd_take(&r, ADM_KEYID_LEN);
	if (b)
		memcpy(t.key_id, b, ADM_KEYID_LEN);
	t.t_a = rd_be64(&r);
	t.t_b = rd_be64(&r);
	l = rd_u8(&r);
	b = rd_take(&r, l);
	if (!rd_ok(&r) || !b || peerid_from_bytes(&t.peer, b, l) < 0)
		return W2W_EPARSE;
	l = rd_u8(&r);
	if (l > ADM_NAME_MAX)
		return W2W_EPARSE;
	b = rd_take(&r, l);
	if (!rd_ok(&r) || (l && !b))
		return W2W_EPARSE;
	for (size_t i = 0; i < l; i++) /* names are DNS-ish labels: printable ASCII only */
		if (b[i] < 0x21 || b[i] > 0x7e)
			return W2W_EPARSE;
	memcpy(t.name, b, l);
	t.signed_len = (uint8_t)r.off;
	if (!rd_take(&r, ADM_SIG_LEN) || !rd_eof(&r))
		return W2W_EPARSE;
	switch (t.kind) {
	case ADM_KIND_TOKEN:
		if (t.t_b && t.t_b < t.t_a)
			return W2W_EPARSE;
		break;
	case ADM_KIND_REVOKE:
		if (l || t.t_b)
			return W2W_EPARSE;
		break;
	default:
		return W2W_EPARSE;
	}
	memcpy(t.raw, p, n);
	*o = t;
	return 0;
}

int adm_verify(const struct adm_obj *o, const uint8_t (*keys)[32], size_t n)
{
	uint8_t msg[sizeof(ADM_DOMAIN) + ADM_MAX_LEN], id[ADM_KEYID_LEN];
	size_t mlen;

	sig_msg(msg, &mlen, o->raw, o->signed_len);
	for (size_t i = 0; i < n; i++) {
		adm_key_id(id, keys[i]);
		if (memcmp(id, o->key_id, ADM_KEYID_LEN))
			continue;
		if (crypto_sign_verify_detached(o->raw + o->signed_len, msg, mlen, keys[i]) == 0)
			return 0;
	}
	return W2W_EAUTH;
}

int adm_check_token(const uint8_t *p, size_t n, const struct peerid *peer, uint64_t now_s,
                    const uint8_t (*keys)[32], size_t nkeys, uint64_t *expires, const char **why)
{
	struct adm_obj o;

	if (!n) {
		*why = "no admission token";
		return W2W_EAUTH;
	}
	if (adm_parse(p, n, &o) < 0 || o.kind != ADM_KIND_TOKEN) {
		*why = "malformed admission token";
		return W2W_EPARSE;
	}
	if (adm_verify(&o, keys, nkeys) < 0) {
		*why = "admission token not signed by an admission key";
		return W2W_EAUTH;
	}
	if (!peerid_eq(&o.peer, peer)) {
		*why = "admission token for another peer ID";
		return W2W_EAUTH;
	}
	if (o.t_a > now_s + ADM_SKEW_S) {
		*why = "admission token not valid yet";
		return W2W_EAUTH;
	}
	if (o.t_b && o.t_b <= now_s) {
		*why = "admission token expired";
		return W2W_EAUTH;
	}
	if (expires)
		*expires = o.t_b;
	return 0;
}
