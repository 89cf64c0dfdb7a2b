/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ident.h"
#include "log.h"
#include "noise.h"
#include "pb.h"
#include "peerid.h"
#include "prim.h"
#include "rd.h"
#include "rng.h"
#include "secmem.h"

#define DHLEN 32
#define HASHLEN 32

/* ---------------------------------------------------------------------------
 * Noise core (Noise spec rev 34 §5): CipherState, SymmetricState and the XX
 * HandshakeState. Everything secret lives in one secure_alloc block.
 */

struct noise_cs {
	uint8_t k[32];
	uint64_t n;
	bool has_k;
};

struct hs_secret {
	struct noise_cs cs; /* the handshake's CipherState */
	uint8_t ck[HASHLEN];
	uint8_t h[HASHLEN];
	uint8_t s[DHLEN]; /* static private */
	uint8_t e[DHLEN]; /* ephemeral private */
	uint8_t dh[DHLEN];
};

struct noise_hs {
	struct hs_secret *sec;
	uint8_t s_pub[DHLEN];
	uint8_t e_pub[DHLEN];
	uint8_t rs[DHLEN];
	uint8_t re[DHLEN];
	bool has_rs;
	bool initiator;
	bool failed;
	int msg; /* index of the next handshake message, 0..3 (3 = done) */
	const struct rng *rng;
};

/* Where the next bytes of b go; NULL (not NULL + 0) while nothing is allocated. */
static uint8_t *buf_tail(struct buf *b)
{
	return b->data ? b->data + b->len : NULL;
}

static void mix_hash(struct hs_secret *s, const uint8_t *d, size_t n)
{
	prim_sha256_2(s->h, s->h, HASHLEN, d, n);
}

static int mix_key_dh(struct noise_hs *hs, const uint8_t priv[DHLEN], const uint8_t pub[DHLEN])
{
	struct hs_secret *s = hs->sec;
	int r;

	/* DH(): an all-zero result means a low-order point; refuse it. */
	r = prim_x25519(s->dh, priv, pub);
	if (r < 0)
		return r;
	/* MixKey (§5.2): ck, temp_k = HKDF(ck, ikm); HASHLEN is 32, no truncation. */
	prim_hkdf2(s->ck, s->cs.k, s->ck, s->dh, DHLEN);
	secure_wipe(s->dh, DHLEN);
	s->cs.has_k = true;
	s->cs.n = 0;
	return 0;
}

/* EncryptAndHash (§5.2): appends the ciphertext of p (plaintext if no key yet). */
static int encrypt_and_hash(struct hs_secret *s, const uint8_t *p, size_t n, struct buf *out)
{
	size_t clen = n + (s->cs.has_k ? NOISE_TAG_LEN : 0);
	uint8_t *c;
	int r;

	if (s->cs.has_k && s->cs.n == UINT64_MAX)
		return W2W_ELIMIT;
	r = buf_reserve(out, clen);
	if (r < 0)
		return r;
	c = buf_extend(out, clen);
	if (s->cs.has_k)
		prim_aead_encrypt(c, s->cs.k, s->cs.n++, s->h, HASHLEN, p, n);
	else if (n)
		memcpy(c, p, n);
	mix_hash(s, c, clen);
	return 0;
}

/* DecryptAndHash (§5.2) into out (n - 16 bytes, or n without a key). */
static int decrypt_and_hash(struct hs_secret *s, const uint8_t *c, size_t n, uint8_t *out)
{
	int r;

	if (s->cs.has_k) {
		if (s->cs.n == UINT64_MAX)
			return W2W_ELIMIT;
		r = prim_aead_decrypt(out, s->cs.k, s->cs.n, s->h, HASHLEN, c, n);
		if (r < 0)
			return r;
		s->cs.n++;
	} else if (n) {
		memcpy(out, c, n);
	}
	mix_hash(s, c, n);
	return 0;
}

int noise_hs_new(struct noise_hs **ret, bool initiator, const uint8_t *prologue, size_t prologue_len,
                 const uint8_t *s_priv, const struct rng *rng)
{
	static const char name[] = NOISE_PROTOCOL_NAME;
	struct noise_hs *hs;

	_Static_assert(sizeof(name) - 1 == HASHLEN, "protocol name is used as h verbatim");
	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	hs->sec = secure_alloc(sizeof(*hs->sec));
	if (!hs->sec) {
		free(hs);
		return -ENOMEM;
	}
	hs->initiator = initiator;
	hs->rng = rng;
	/* InitializeSymmetric (§5.2): the name is exactly HASHLEN bytes, so h = name. */
	memcpy(hs->sec->h, name, HASHLEN);
	memcpy(hs->sec->ck, name, HASHLEN);
	mix_hash(hs->sec, prologue, prologue_len);
	if (s_priv) {
		memcpy(hs->sec->s, s_priv, DHLEN);
		prim_x25519_pub(hs->s_pub, hs->sec->s);
	} else {
		prim_x25519_keypair(hs->s_pub, hs->sec->s, rng);
	}
	*ret = hs;
	return 0;
}

void noise_hs_free(struct noise_hs *hs)
{
	if (!hs)
		return;
	secure_free(hs->sec);
	free(hs);
}

static bool our_turn(const struct noise_hs *hs)
{
	/* XX: the initiator writes messages 0 and 2, the responder message 1. */
	return (hs->msg % 2 == 0) == hs->initiator;
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen, struct buf *msg)
{
	struct hs_secret *s = hs->sec;
	size_t mark = msg->len;
	int r;

	if (hs->failed || hs->msg >= 3 || !our_turn(hs))
		return W2W_ESTATE;
	switch (hs->msg) {
	case 0: /* -> e */
	case 1: /* <- e, ee, s, es */
		prim_x25519_keypair(hs->e_pub, s->e, hs->rng);
		r = buf_append(msg, hs->e_pub, DHLEN);
		if (r < 0)
			goto out;
		mix_hash(s, hs->e_pub, DHLEN);
		if (hs->msg == 1) {
			r = mix_key_dh(hs, s->e, hs->re); /* ee */
			if (r == 0)
				r = encrypt_and_hash(s, hs->s_pub, DHLEN, msg); /* s */
			if (r == 0)
				r = mix_key_dh(hs, s->s, hs->re); /* es (responder side) */
			if (r < 0)
				goto out;
		}
		break;
	case 2: /* -> s, se */
		r = encrypt_and_hash(s, hs->s_pub, DHLEN, msg);
		if (r == 0)
			r = mix_key_dh(hs, s->s, hs->re); /* se (initiator side) */
		if (r < 0)
			goto out;
		break;
	}
	r = encrypt_and_hash(s, payload, plen, msg);
	if (r < 0)
		goto out;
	hs->msg++;
out:
	if (r < 0) {
		msg->len = mark;
		hs->failed = true;
	}
	return r;
}

int noise_hs_read(struct noise_hs *hs, const uint8_t *m, size_t mlen, struct buf *payload)
{
	struct hs_secret *s = hs->sec;
	size_t plen;
	uint8_t *p;
	int r = W2W_EPROTO;

	if (hs->failed || hs->msg >= 3 || our_turn(hs))
		return W2W_ESTATE;
	if (hs->msg < 2) { /* e */
		if (mlen < DHLEN)
			goto out;
		memcpy(hs->re, m, DHLEN);
		mix_hash(s, hs->re, DHLEN);
		m += DHLEN;
		mlen -= DHLEN;
	}
	if (hs->msg == 1) {
		r = mix_key_dh(hs, s->e, hs->re); /* ee */
		if (r < 0)
			goto out;
	}
	if (hs->msg >= 1) { /* s (encrypted: 32 + 16 bytes) */
		r = W2W_EPROTO;
		if (mlen < DHLEN + NOISE_TAG_LEN + NOISE_TAG_LEN)
			goto out;
		r = decrypt_and_hash(s, m, DHLEN + NOISE_TAG_LEN, hs->rs);
		if (r < 0)
			goto out;
		hs->has_rs = true;
		m += DHLEN + NOISE_TAG_LEN;
		mlen -= DHLEN + NOISE_TAG_LEN;
		/* es on the initiator, se on the responder: our e with their s. */
		r = mix_key_dh(hs, s->e, hs->rs);
		if (r < 0)
			goto out;
	}
	plen = s->cs.has_k ? mlen - NOISE_TAG_LEN : mlen;
	r = buf_reserve(payload, plen);
	if (r < 0)
		goto out;
	p = buf_tail(payload);
	r = decrypt_and_hash(s, m, mlen, p);
	if (r < 0)
		goto out;
	payload->len += plen;
	hs->msg++;
out:
	if (r < 0)
		hs->failed = true;
	return r;
}

bool noise_hs_done(const struct noise_hs *hs)
{
	return hs->msg == 3 && !hs->failed;
}

const uint8_t *noise_hs_static_pub(const struct noise_hs *hs)
{
	return hs->s_pub;
}

const uint8_t *noise_hs_remote_static(const struct noise_hs *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

void noise_hs_hash(const struct noise_hs *hs, uint8_t out[32])
{
	memcpy(out, hs->sec->h, HASHLEN);
}

/* Split (§5.2): temp_k1, temp_k2 = HKDF(ck, zerolen); the initiator sends with k1. */
static void split_into(const struct noise_hs *hs, struct noise_cs *send, struct noise_cs *recv)
{
	struct noise_cs *c1 = hs->initiator ? send : recv, *c2 = hs->initiator ? recv : send;
	uint8_t zero = 0;

	prim_hkdf2(c1->k, c2->k, hs->sec->ck, &zero, 0);
	c1->n = c2->n = 0;
	c1->has_k = c2->has_k = true;
}

int noise_hs_split(struct noise_hs *hs, struct noise_cs **send, struct noise_cs **recv)
{
	struct noise_cs *tx, *rx;

	if (!noise_hs_done(hs))
		return W2W_ESTATE;
	tx = secure_alloc(sizeof(*tx));
	rx = secure_alloc(sizeof(*rx));
	if (!tx || !rx) {
		secure_free(tx);
		secure_free(rx);
		return -ENOMEM;
	}
	split_into(hs, tx, rx);
	*send = tx;
	*recv = rx;
	return 0;
}

void noise_cs_free(struct noise_cs *cs)
{
	secure_free(cs);
}

int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *in, size_t n, struct buf *out)
{
	uint8_t *c;
	int r;

	/* §5.1: nonce 2^64-1 is reserved; the channel must be rekeyed or closed before. */
	if (cs->n == UINT64_MAX)
		return W2W_ELIMIT;
	r = buf_reserve(out, n + NOISE_TAG_LEN);
	if (r < 0)
		return r;
	c = buf_extend(out, n + NOISE_TAG_LEN);
	prim_aead_encrypt(c, cs->k, cs->n++, NULL, 0, in, n);
	return 0;
}

int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *in, size_t n, struct buf *out)
{
	int r;

	if (n < NOISE_TAG_LEN)
		return W2W_EPARSE;
	if (cs->n == UINT64_MAX)
		return W2W_ELIMIT;
	r = buf_reserve(out, n - NOISE_TAG_LEN);
	if (r < 0)
		return r;
	r = prim_aead_decrypt(buf_tail(out), cs->k, cs->n, NULL, 0, in, n);
	if (r < 0)
		return r;
	out->len += n - NOISE_TAG_LEN;
	cs->n++;
	return 0;
}

/* ---------------------------------------------------------------------------
 * libp2p handshake payload (libp2p specs noise/README.md "The libp2p Handshake
 * Payload"): NoiseHandshakePayload { bytes identity_key = 1; bytes
 * identity_sig = 2; NoiseExtensions extensions = 4; }.
 */

static void sig_message(uint8_t out[sizeof(NOISE_SIG_PREFIX) - 1 + DHLEN], const uint8_t static_pub[DHLEN])
{
	memcpy(out, NOISE_SIG_PREFIX, sizeof(NOISE_SIG_PREFIX) - 1);
	memcpy(out + sizeof(NOISE_SIG_PREFIX) - 1, static_pub, DHLEN);
}

static int payload_build(struct buf *out, const struct ident *id, const uint8_t static_pub[DHLEN])
{
	uint8_t msg[sizeof(NOISE_SIG_PREFIX) - 1 + DHLEN];
	uint8_t sig[IDENT_SIG_LEN];
	int r;

	sig_message(msg, static_pub);
	r = ident_sign(id, msg, sizeof(msg), sig);
	if (r == 0)
		r = pb_put_bytes(out, 1, ident_pubkey_pb(id), IDENT_PUBPB_LEN);
	if (r == 0)
		r = pb_put_bytes(out, 2, sig, sizeof(sig));
	/* No extensions: we advertise no stream_muxers, so both sides negotiate
	 * the muxer with multistream-select (connections/inlined-muxer-negotiation.md). */
	return r;
}

int noise_payload_verify(const uint8_t *payload, size_t len, const uint8_t remote_static[32],
                         struct peerid *peer_out, uint8_t *key_out, size_t key_cap, size_t *key_len)
{
	uint8_t msg[sizeof(NOISE_SIG_PREFIX) - 1 + DHLEN];
	const uint8_t *key = NULL, *sig = NULL;
	size_t klen = 0, slen = 0;
	struct pb_field f;
	struct peerid pid;
	struct rd r;
	int ret;

	rd_init(&r, payload, len);
	while ((ret = pb_next(&r, &f)) == 1) {
		/* Unknown fields (and extensions, field 4) are skipped: peers add them freely. */
		if (f.num == 1 && f.wire == PB_LEN) {
			key = f.p;
			klen = f.len;
		} else if (f.num == 2 && f.wire == PB_LEN) {
			sig = f.p;
			slen = f.len;
		} else if ((f.num == 1 || f.num == 2) && f.wire != PB_LEN) {
			return W2W_EPROTO;
		}
	}
	if (ret < 0)
		return W2W_EPROTO;
	if (!key || !sig)
		return W2W_EPROTO;
	if (slen != IDENT_SIG_LEN)
		return W2W_EAUTH;
	sig_message(msg, remote_static);
	ret = ident_verify(key, klen, msg, sizeof(msg), sig);
	if (ret < 0)
		return ret == W2W_EPARSE ? W2W_EAUTH : ret;
	ret = ident_peerid_from_pubkey_pb(&pid, key, klen);
	if (ret < 0)
		return W2W_EAUTH;
	if (key_out) {
		if (klen > key_cap)
			return W2W_ELIMIT;
		memcpy(key_out, key, klen);
	}
	if (key_len)
		*key_len = klen;
	if (peer_out)
		*peer_out = pid;
	return 0;
}

/* ---------------------------------------------------------------------------
 * The engine: framing, payloads, peer ID check, deadline, transport.
 */

enum noise_state {
	NS_INIT,
	NS_HANDSHAKE,
	NS_ESTABLISHED,
	NS_FAILED,
};

struct noise {
	enum noise_state st;
	bool initiator;
	struct noise_hs *hs;
	/* Both transport CipherStates share one guarded allocation (each
	 * sodium_malloc costs pages and mappings, per connection). */
	struct noise_keys {
		struct noise_cs tx, rx;
	} *keys;
	struct noise_cs *tx, *rx; /* point into keys */
	const struct ident *id;
	struct peerid expected;
	bool has_expected;
	struct peerid remote;
	uint8_t remote_key[IDENT_PUBPB_LEN];
	size_t remote_key_len;
	struct buf frame; /* a partially received frame (2-byte length + body) */
	uint64_t timeout_us;
	uint64_t deadline;
	int err;
	const char *reason;
	const struct wlog *log;
};

int noise_new(struct noise **ret, const struct noise_config *cfg)
{
	struct noise *n;
	int r;

	if (!cfg || !cfg->identity)
		return W2W_EPARSE;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->st = NS_INIT;
	n->initiator = cfg->initiator;
	n->id = cfg->identity;
	if (cfg->expected_peer && cfg->expected_peer->len) {
		n->expected = *cfg->expected_peer;
		n->has_expected = true;
	}
	n->timeout_us = cfg->timeout_us ? cfg->timeout_us : NOISE_DEFAULT_TIMEOUT_US;
	n->deadline = UINT64_MAX;
	n->log = cfg->log;
	n->reason = "";
	buf_init(&n->frame, 2 + NOISE_MAX_FRAME);
	/* libp2p uses an empty prologue on TCP; the hook exists for the Noise vectors. */
	r = noise_hs_new(&n->hs, cfg->initiator, cfg->prologue, cfg->prologue_len, cfg->static_priv,
	                 cfg->rng);
	if (r < 0) {
		free(n);
		return r;
	}
	*ret = n;
	return 0;
}

void noise_free(struct noise *n)
{
	if (!n)
		return;
	noise_hs_free(n->hs);
	secure_free(n->keys);
	buf_free_wipe(&n->frame);
	free(n);
}

static int fail(struct noise *n, int err, const char *reason)
{
	if (n->st != NS_FAILED) {
		n->st = NS_FAILED;
		n->err = err;
		n->reason = reason;
		n->deadline = UINT64_MAX;
		log_debug(n->log, "noise: %s", reason);
		/* Nothing secret is needed any more. */
		noise_hs_free(n->hs);
		secure_free(n->keys);
		n->hs = NULL;
		n->keys = NULL;
		n->tx = n->rx = NULL;
	}
	return n->err;
}

/* Writes frame(next handshake message carrying `payload`) to wire. */
static int write_hs_frame(struct noise *n, const uint8_t *payload, size_t plen, struct buf *wire)
{
	size_t mark = wire->len, mlen;
	int r;

	r = buf_append_be16(wire, 0);
	if (r == 0)
		r = noise_hs_write(n->hs, payload, plen, wire);
	if (r == 0 && wire->len - mark - 2 > NOISE_MAX_FRAME)
		r = W2W_ELIMIT;
	if (r < 0) {
		wire->len = mark;
		return r;
	}
	mlen = wire->len - mark - 2;
	wire->data[mark] = (uint8_t)(mlen >> 8);
	wire->data[mark + 1] = (uint8_t)mlen;
	return 0;
}

static int write_our_payload(struct noise *n, struct buf *wire)
{
	struct buf pl;
	int r;

	buf_init(&pl, NOISE_MAX_PLAINTEXT);
	r = payload_build(&pl, n->id, noise_hs_static_pub(n->hs));
	if (r == 0)
		r = write_hs_frame(n, pl.data, pl.len, wire);
	buf_free(&pl);
	return r;
}

int noise_start(struct noise *n, uint64_t now_us, struct buf *wire)
{
	int r;

	if (n->st != NS_INIT)
		return W2W_ESTATE;
	/* Message 1 has an empty payload (noise/README.md "Handshake Pattern"). */
	if (n->initiator) {
		r = write_hs_frame(n, NULL, 0, wire);
		if (r < 0)
			return fail(n, r, "cannot write the first handshake message");
	}
	n->st = NS_HANDSHAKE;
	n->deadline = now_us > UINT64_MAX - n->timeout_us ? UINT64_MAX : now_us + n->timeout_us;
	return 0;
}

static int establish(struct noise *n)
{
	if (!noise_hs_done(n->hs))
		return fail(n, W2W_ESTATE, "split before the handshake completed");
	n->keys = secure_alloc(sizeof(*n->keys));
	if (!n->keys)
		return fail(n, -ENOMEM, "out of memory");
	n->tx = &n->keys->tx;
	n->rx = &n->keys->rx;
	split_into(n->hs, n->tx, n->rx);
	noise_hs_free(n->hs);
	n->hs = NULL;
	n->st = NS_ESTABLISHED;
	n->deadline = UINT64_MAX;
	return 0;
}

static int check_remote_payload(struct noise *n, const struct buf *pl)
{
	int r = noise_payload_verify(pl->data, pl->len, noise_hs_remote_static(n->hs), &n->remote,
	                             n->remote_key, sizeof(n->remote_key), &n->remote_key_len);

	if (r == W2W_EAUTH)
		return fail(n, r, "remote identity signature or key rejected");
	if (r < 0)
		return fail(n, W2W_EPROTO, "malformed handshake payload");
	/* Dialled /p2p/<id>: the authenticated identity must be that peer. */
	if (n->has_expected && !peerid_eq(&n->remote, &n->expected))
		return fail(n, W2W_EAUTH, "remote peer ID differs from the dialled /p2p/ ID");
	return 0;
}

static int on_hs_frame(struct noise *n, const uint8_t *m, size_t mlen, struct buf *wire)
{
	struct buf pl;
	int r;

	buf_init(&pl, NOISE_MAX_FRAME);
	r = noise_hs_read(n->hs, m, mlen, &pl);
	if (r < 0) {
		r = fail(n, r == W2W_EAUTH ? W2W_EAUTH : W2W_EPROTO,
		         r == W2W_EAUTH ? "handshake message failed to decrypt"
		                        : "malformed handshake message");
		goto out;
	}
	if (n->initiator) {
		/* msg2 carries the responder's payload; answer with msg3 and split. */
		r = check_remote_payload(n, &pl);
		if (r == 0)
			r = write_our_payload(n, wire);
		if (r < 0) {
			r = fail(n, r, "cannot write the final handshake message");
			goto out;
		}
	} else if (noise_hs_done(n->hs)) {
		r = check_remote_payload(n, &pl);
		if (r < 0)
			goto out;
	} else {
		/* msg1's payload is empty by spec; whatever is there is ignored. */
		r = write_our_payload(n, wire);
		if (r < 0) {
			r = fail(n, r, "cannot write the second handshake message");
			goto out;
		}
	}
	if (noise_hs_done(n->hs))
		r = establish(n);
out:
	buf_free_wipe(&pl);
	return r;
}

/*
 * Next complete frame body from the partial-frame buffer plus *in: 1 with
 * f/flen set, 0 when more input is needed (the tail is buffered), < 0 on
 * allocation failure. Complete frames are used straight from the input; only
 * a frame split across reads is copied.
 */
static int take_frame(struct noise *n, const uint8_t **in, size_t *len, const uint8_t **f, size_t *flen)
{
	size_t fl, k;
	int r;

	if (n->frame.len == 0 && *len >= 2) {
		fl = ((size_t)(*in)[0] << 8) | (*in)[1];
		if (*len >= 2 + fl) {
			*f = *in + 2;
			*flen = fl;
			*in += 2 + fl;
			*len -= 2 + fl;
			return 1;
		}
	}
	if (n->frame.len < 2) {
		k = 2 - n->frame.len < *len ? 2 - n->frame.len : *len;
		r = buf_append(&n->frame, *in, k);
		if (r < 0)
			return r;
		*in += k;
		*len -= k;
		if (n->frame.len < 2)
			return 0;
	}
	fl = ((size_t)n->frame.data[0] << 8) | n->frame.data[1];
	k = 2 + fl - n->frame.len < *len ? 2 + fl - n->frame.len : *len;
	r = buf_append(&n->frame, *in, k);
	if (r < 0)
		return r;
	*in += k;
	*len -= k;
	if (n->frame.len < 2 + fl)
		return 0;
	*f = n->frame.data + 2;
	*flen = fl;
	return 1;
}

int noise_tick(struct noise *n, uint64_t now_us)
{
	if (n->st == NS_FAILED)
		return n->err;
	if (n->st == NS_HANDSHAKE && now_us >= n->deadline)
		return fail(n, W2W_ETIMEDOUT, "noise handshake timed out");
	return 0;
}

int noise_feed(struct noise *n, const void *in, size_t len, uint64_t now_us, struct buf *wire,
               struct buf *app)
{
	const uint8_t *p = in;
	const uint8_t *f;
	size_t flen;
	int r;

	if (n->st == NS_INIT)
		return W2W_ESTATE;
	r = noise_tick(n, now_us);
	if (r < 0)
		return r;
	while ((r = take_frame(n, &p, &len, &f, &flen)) != 0) {
		if (r < 0)
			return fail(n, r, "out of memory");
		if (n->st == NS_HANDSHAKE) {
			r = on_hs_frame(n, f, flen, wire);
		} else {
			r = noise_cs_decrypt(n->rx, f, flen, app);
			if (r == W2W_EAUTH || r == W2W_EPARSE)
				r = fail(n, W2W_EAUTH, "transport frame failed to decrypt");
			else if (r < 0)
				r = fail(n, r, "no room for decrypted data");
		}
		/* An idle connection should not keep a 64 KiB frame buffer. */
		if (n->frame.cap > 4096)
			buf_free_wipe(&n->frame);
		buf_reset(&n->frame);
		if (r < 0)
			return r;
	}
	return n->st == NS_ESTABLISHED ? 1 : 0;
}

bool noise_established(const struct noise *n)
{
	return n->st == NS_ESTABLISHED;
}

int noise_write(struct noise *n, const void *in, size_t len, struct buf *wire)
{
	const uint8_t *p = in;
	size_t frames, mark = wire->len;
	int r;

	if (n->st == NS_FAILED)
		return n->err;
	if (n->st != NS_ESTABLISHED)
		return W2W_ESTATE;
	if (len == 0)
		return 0;
	/* Frames carry at most 65535 bytes: 65519 of plaintext plus the tag. */
	frames = (len + NOISE_MAX_PLAINTEXT - 1) / NOISE_MAX_PLAINTEXT;
	if (n->tx->n > UINT64_MAX - 1 - frames)
		return fail(n, W2W_ELIMIT, "send nonce exhausted");
	r = buf_reserve(wire, len + frames * (2 + NOISE_TAG_LEN));
	if (r < 0)
		return r;
	while (len) {
		size_t k = len < NOISE_MAX_PLAINTEXT ? len : NOISE_MAX_PLAINTEXT;

		buf_append_be16(wire, (uint16_t)(k + NOISE_TAG_LEN));
		r = noise_cs_encrypt(n->tx, p, k, wire);
		if (r < 0) {
			wire->len = mark;
			return fail(n, r, "encryption failed");
		}
		p += k;
		len -= k;
	}
	return 0;
}

const struct peerid *noise_remote_peer(const struct noise *n)
{
	return n->st == NS_ESTABLISHED ? &n->remote : NULL;
}

const uint8_t *noise_remote_identity_key(const struct noise *n, size_t *len)
{
	if (n->st != NS_ESTABLISHED)
		return NULL;
	*len = n->remote_key_len;
	return n->remote_key;
}

uint64_t noise_next_deadline(const struct noise *n)
{
	return n->deadline;
}

const char *noise_reason(const struct noise *n)
{
	return n->reason;
}
