/* SPDX-License-Identifier: MIT */
/*
 * libp2p Noise secure channel (libp2p specs noise/README.md), sans-IO:
 * Noise_XX_25519_ChaChaPoly_SHA256, empty prologue, frames are a 2-byte
 * big-endian length + Noise message (<= 65535 bytes).
 *
 * Handshake (§ "Handshake"): msg1 I->R `e` (empty payload); msg2 R->I
 * `e, ee, s, es` + responder payload; msg3 I->R `s, se` + initiator payload.
 * The payload is NoiseHandshakePayload{identity_key=1, identity_sig=2,
 * extensions=4}; identity_sig is Ed25519 over "noise-libp2p-static-key:" ||
 * static X25519 public key. We send no extensions (so peers negotiate the
 * muxer with multistream-select) and skip theirs.
 *
 *   noise_new(&n, &cfg); noise_start(n, now, wire);   // initiator: wire += msg1
 *   r = noise_feed(n, in, len, now, wire, app);       // wire += handshake msgs,
 *                                                     // app += decrypted data
 *   r == 1: established; noise_remote_peer(n) is the authenticated peer.
 *   noise_write(n, data, len, wire);                  // encrypt + frame
 */
#ifndef W2W_P2P_NOISE_H
#define W2W_P2P_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct ident;
struct peerid;
struct rng;
struct wlog;
struct noise;

#define NOISE_PROTO_ID "/noise"
#define NOISE_PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256"
#define NOISE_MAX_FRAME 65535u
#define NOISE_TAG_LEN 16u
#define NOISE_MAX_PLAINTEXT (NOISE_MAX_FRAME - NOISE_TAG_LEN) /* 65519 */
#define NOISE_SIG_PREFIX "noise-libp2p-static-key:"
#define NOISE_DEFAULT_TIMEOUT_US (10ull * 1000 * 1000)

struct noise_config {
	bool initiator;
	const struct ident *identity;       /* our Ed25519 identity (signs the static key); must outlive n */
	const struct peerid *expected_peer; /* dialled /p2p/<id>: W2W_EAUTH unless it matches; NULL = any */
	const struct rng *rng;              /* ephemeral/static keys; NULL = system RNG */
	const struct wlog *log;             /* may be NULL */
	uint64_t timeout_us;                /* handshake deadline after start; 0 = default */
	/* Test hooks (leave NULL/0): fixed X25519 static private key, prologue. */
	const uint8_t *static_priv;
	const uint8_t *prologue;
	size_t prologue_len;
};

/* -ENOMEM; W2W_EPARSE (missing identity). */
int noise_new(struct noise **ret, const struct noise_config *cfg);
/* Wipes every key. Accepts NULL. */
void noise_free(struct noise *n);

/* Arms the deadline; the initiator appends frame(msg1) to `wire`. Once only. */
int noise_start(struct noise *n, uint64_t now_us, struct buf *wire);
/*
 * Consumes all len bytes from the peer. Handshake messages we must send go to
 * `wire`; transport plaintext (possibly in the same call as the last handshake
 * message) goes to `app`. Returns 1 once established, 0 while handshaking,
 * < 0 on failure: W2W_EAUTH (decryption failed, bad signature, peer ID
 * mismatch), W2W_EPROTO (malformed message or payload), W2W_ELIMIT (output
 * buffer full), W2W_ETIMEDOUT. Any failure is final.
 */
int noise_feed(struct noise *n, const void *in, size_t len, uint64_t now_us, struct buf *wire,
               struct buf *app);
bool noise_established(const struct noise *n);
/* Encrypts len bytes into one or more frames (<= NOISE_MAX_PLAINTEXT each) on `wire`.
 * W2W_ESTATE before the handshake is complete. */
int noise_write(struct noise *n, const void *in, size_t len, struct buf *wire);
/* Authenticated remote peer ID / public-key protobuf; NULL before established. */
const struct peerid *noise_remote_peer(const struct noise *n);
const uint8_t *noise_remote_identity_key(const struct noise *n, size_t *len);
uint64_t noise_next_deadline(const struct noise *n);
int noise_tick(struct noise *n, uint64_t now_us);
const char *noise_reason(const struct noise *n);

/*
 * The bare Noise XX core, exposed for vector tests (cacophony) and the
 * payload fuzzer. Payloads are raw bytes here; the libp2p payload is built
 * and checked by the engine above.
 */
struct noise_hs;
struct noise_cs;
/* s_priv: fixed static key or NULL (generated from rng). Ephemerals come from rng. */
int noise_hs_new(struct noise_hs **ret, bool initiator, const uint8_t *prologue, size_t prologue_len,
                 const uint8_t *s_priv, const struct rng *rng);
void noise_hs_free(struct noise_hs *hs);
/* Next handshake message (unframed) with `payload` appended to `msg`. */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen, struct buf *msg);
/* Processes the peer's next handshake message; the payload goes to `payload`. */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t mlen, struct buf *payload);
/* True after the 3rd message was written or read. */
bool noise_hs_done(const struct noise_hs *hs);
const uint8_t *noise_hs_static_pub(const struct noise_hs *hs);
const uint8_t *noise_hs_remote_static(const struct noise_hs *hs); /* NULL until known */
void noise_hs_hash(const struct noise_hs *hs, uint8_t out[32]);
/* After done: our send and receive cipher states (Split, Noise spec §5.2). */
int noise_hs_split(struct noise_hs *hs, struct noise_cs **send, struct noise_cs **recv);
void noise_cs_free(struct noise_cs *cs);
/* Transport message: out += ciphertext (n + 16 bytes), ad empty. */
int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *in, size_t n, struct buf *out);
/* out += plaintext; W2W_EAUTH on a bad tag, W2W_EPARSE if n < 16. */
int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *in, size_t n, struct buf *out);

/* Payload codec (exposed for tests/fuzzing): parse identity_key/identity_sig,
 * skip extensions and unknown fields; verify the signature over the static key. */
int noise_payload_verify(const uint8_t *payload, size_t len, const uint8_t remote_static[32],
                         struct peerid *peer_out, uint8_t *key_out, size_t key_cap, size_t *key_len);

#endif
