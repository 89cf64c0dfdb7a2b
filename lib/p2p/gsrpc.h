/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub RPC protobuf (go-libp2p-pubsub pb/rpc.proto, libp2p specs
 * pubsub/README.md "The RPC"), decoded into views that point into the input
 * bytes and encoded from the same views. Only what /meshsub/1.0.0 and 1.1.0
 * use is kept; unknown fields (1.2 IDONTWANT, 1.3 extensions, go's partial
 * messages) are skipped, as protobuf requires.
 *
 * Decoding is two-pass: the first pass validates the whole RPC and counts its
 * elements, the second fills one allocation sized from those counts, so memory
 * is bounded by the RPC size and the caps in struct gsrpc_limits (elements past
 * a cap are skipped and counted in `truncated`).
 */
#ifndef W2W_P2P_GSRPC_H
#define W2W_P2P_GSRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* A byte view: into the decoded input, or into caller memory when encoding. */
struct gsb {
	const uint8_t *p;
	size_t n;
};

struct gsrpc_sub {
	bool subscribe;
	struct gsb topic;
};

/* Presence bits of struct gsrpc_msg (proto2 presence matters for signatures). */
enum {
	GSRPC_HAS_FROM = 1u << 0,
	GSRPC_HAS_DATA = 1u << 1,
	GSRPC_HAS_SEQNO = 1u << 2,
	GSRPC_HAS_TOPIC = 1u << 3,
	GSRPC_HAS_SIG = 1u << 4,
	GSRPC_HAS_KEY = 1u << 5,
};

struct gsrpc_msg {
	unsigned has; /* GSRPC_HAS_* */
	struct gsb from, data, seqno, topic, signature, key;
	struct gsb raw; /* decode only: the whole Message encoding as received */
};

struct gsrpc_ihave {
	struct gsb topic;
	const struct gsb *ids;
	size_t n_ids;
};

struct gsrpc_iwant {
	const struct gsb *ids;
	size_t n_ids;
};

struct gsrpc_px {
	struct gsb peer_id;
	struct gsb record; /* signed peer record envelope; n == 0 when absent */
};

struct gsrpc_prune {
	struct gsb topic;
	const struct gsrpc_px *px;
	size_t n_px;
	bool has_backoff;
	uint64_t backoff; /* seconds (gossipsub v1.1) */
};

struct gsrpc {
	const struct gsrpc_sub *subs;
	size_t n_subs;
	const struct gsrpc_msg *msgs;
	size_t n_msgs;
	const struct gsrpc_ihave *ihave;
	size_t n_ihave;
	const struct gsrpc_iwant *iwant;
	size_t n_iwant;
	const struct gsb *graft; /* topics */
	size_t n_graft;
	const struct gsrpc_prune *prune;
	size_t n_prune;
	size_t truncated; /* decode: elements skipped because of a cap */
	void *mem;        /* decode: the single allocation, freed by gsrpc_free */
};

/* Caps applied while decoding; 0 means "no cap" for that kind. */
struct gsrpc_limits {
	size_t max_subs;
	size_t max_msgs;
	size_t max_ctrl; /* IHAVE + IWANT + GRAFT + PRUNE entries */
	size_t max_ids;  /* message IDs over all IHAVE and IWANT entries */
	size_t max_px;   /* PX records over all PRUNE entries */
};

/*
 * Decodes one RPC (without its LP length prefix). Views point into p, which
 * must outlive *out. Returns 0, W2W_EPARSE on malformed protobuf (nothing
 * allocated), -ENOMEM. Call gsrpc_free afterwards on success.
 */
int gsrpc_decode(const uint8_t *p, size_t n, const struct gsrpc_limits *lim, struct gsrpc *out);
void gsrpc_free(struct gsrpc *r);

/* Bytes gsrpc_encode appends (without an LP prefix). */
size_t gsrpc_size(const struct gsrpc *r);
/* Appends the encoding of r; fields in ascending order. W2W_ELIMIT / -ENOMEM. */
int gsrpc_encode(const struct gsrpc *r, struct buf *out);
/* Appends uvarint(size) || encoding; W2W_ELIMIT if the RPC is larger than max (0 = no cap). */
int gsrpc_encode_lp(const struct gsrpc *r, size_t max, struct buf *out);

/* Encoding of a Message alone (the `raw` form a router caches and forwards). */
size_t gsrpc_msg_size(const struct gsrpc_msg *m);
int gsrpc_msg_encode(const struct gsrpc_msg *m, struct buf *out);
/*
 * Appends the StrictSign input: "libp2p-pubsub:" || Message{from, data, seqno,
 * topic} re-encoded with exactly the fields present (libp2p specs
 * pubsub/README.md "Message Signing").
 */
int gsrpc_msg_sign_input(const struct gsrpc_msg *m, struct buf *out);

/*
 * Appends one RPC frame carrying only an already-encoded Message (uvarint len
 * || 0x12 uvarint(n) raw): the fast path for forwarding a cached message.
 */
int gsrpc_frame_raw_msg(const uint8_t *raw, size_t n, size_t max, struct buf *out);

#endif
