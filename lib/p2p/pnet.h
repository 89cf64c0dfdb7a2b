/* SPDX-License-Identifier: MIT */
/*
 * libp2p private network (libp2p specs pnet/Private-Networks-PSK-V1.md), sans-IO.
 *
 * Wraps the raw connection byte stream under multistream-select. Each side
 * sends a fresh 24-byte nonce in clear at once, then XORs everything with the
 * XSalsa20(psk, own nonce) keystream; inbound bytes are decrypted with the
 * peer's nonce. Both roles are identical. With one key a wrong key is NOT
 * detected here: the next layer reads garbage, and its handshake deadline ends
 * the connection.
 *
 * Several candidate keys (network PSK rotation, docs/operations.md): the spec
 * gives the receiver no key hint, but the dialer's first bytes after its nonce
 * are the multistream-select header ("\x13/multistream/1.0.0\n", mss spec):
 * known plaintext. pnet_feed() holds those PNET_PROBE_LEN bytes, decrypts them
 * under every candidate (constant-time compare, every candidate tried) and
 * keeps the key that yields the header, for both directions; no match fails
 * the connection at once. Only the listening side (responder) can select: it
 * must hold its own output until then (pnet_selected()); pnet_write before the
 * selection returns W2W_ESTATE. A dialer passes one key (the swarm picks it).
 *
 * Usage:
 *   pnet_new(&p, &cfg); pnet_start(p, now, wire);        // wire += our nonce
 *   pnet_write(p, plain, n, wire);                       // wire += ciphertext
 *   r = pnet_feed(p, bytes_from_socket, n, now, plain);  // plain += cleartext
 *       (r == 1 once the peer's nonce is in; bytes after it are decrypted)
 *   pnet_next_deadline(p) / pnet_tick(p, now) for the nonce deadline.
 */
#ifndef W2W_P2P_PNET_H
#define W2W_P2P_PNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct rng;
struct wlog;
struct pnet;

enum {
	PNET_PSK_LEN = 32,
	PNET_NONCE_LEN = 24,
	PNET_MAX_PSKS = 4,   /* candidates a responder tries (bounded work per connection) */
	PNET_PROBE_LEN = 20, /* varint 19 + "/multistream/1.0.0\n" */
};

#define PNET_DEFAULT_TIMEOUT_US (10ull * 1000 * 1000)

struct pnet_config {
	const uint8_t *psk;     /* PNET_PSK_LEN bytes; copied into secure memory */
	/* Or n_psks (2..PNET_MAX_PSKS) candidates, for a responder (psk unused). */
	const uint8_t *const *psks;
	size_t n_psks;
	const struct rng *rng;  /* nonce source; NULL = system RNG */
	const struct wlog *log; /* may be NULL */
	uint64_t timeout_us;    /* peer nonce deadline after start; 0 = default */
};

/* -ENOMEM, W2W_EPARSE (no psk, or more than PNET_MAX_PSKS candidates). */
int pnet_new(struct pnet **ret, const struct pnet_config *cfg);
/* Wipes the keys. Accepts NULL. */
void pnet_free(struct pnet *p);

/* Appends our nonce to `wire` and arms the deadline. Once only (W2W_ESTATE). */
int pnet_start(struct pnet *p, uint64_t now_us, struct buf *wire);
/*
 * Encrypts n bytes and appends them to `wire` (after pnet_start). Errors from
 * `wire` (W2W_ELIMIT, -ENOMEM) leave the keystream position unchanged.
 */
int pnet_write(struct pnet *p, const void *in, size_t n, struct buf *wire);
/* In-place variant of pnet_write. */
int pnet_encrypt(struct pnet *p, void *data, size_t n);
/*
 * Consumes all n bytes read from the peer: the first 24 are its nonce, the
 * rest are decrypted and appended to `plain`. Returns 1 once the nonce is
 * complete (with several keys: once the key is selected), 0 while waiting for
 * it, < 0 on error (W2W_ELIMIT from `plain`, W2W_ETIMEDOUT when called past
 * the deadline before the nonce arrived, W2W_EAUTH when no candidate key
 * decrypts the peer's multistream header).
 */
int pnet_feed(struct pnet *p, const void *in, size_t n, uint64_t now_us, struct buf *plain);
bool pnet_ready(const struct pnet *p);
/* Absolute deadline (us) for the peer's nonce; UINT64_MAX when none. */
uint64_t pnet_next_deadline(const struct pnet *p);
/* W2W_ETIMEDOUT if now_us is past the deadline, else 0. */
int pnet_tick(struct pnet *p, uint64_t now_us);
/* The key is known: always with one key; with several once the probe matched. */
bool pnet_selected(const struct pnet *p);
/* Index in the candidate list of the selected key (0 with one key), -1 before. */
int pnet_selected_index(const struct pnet *p);
/* Why the engine failed ("" while healthy). */
const char *pnet_reason(const struct pnet *p);

#endif
