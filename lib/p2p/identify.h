/* SPDX-License-Identifier: MIT */
/*
 * /ipfs/id/1.0.0 (libp2p/specs identify/README.md). The responder writes one
 * length-prefixed (uvarint) Identify protobuf and half-closes; the initiator
 * reads messages until EOF (at most IDENTIFY_MAX_MSGS, each at most
 * IDENTIFY_MAX_MSG bytes, as in go and js), merging them: later scalars
 * overwrite, repeated fields append.
 *
 *   message Identify {
 *     optional bytes  publicKey       = 1;   // PublicKey protobuf
 *     repeated bytes  listenAddrs     = 2;   // binary multiaddrs, no /p2p
 *     repeated string protocols       = 3;
 *     optional bytes  observedAddr    = 4;   // how the sender sees the receiver
 *     optional string protocolVersion = 5;
 *     optional string agentVersion    = 6;
 *     optional bytes  signedPeerRecord = 8;  // skipped, as every unknown field
 *   }
 *
 * Decoded entries that exceed our fixed limits (too many, too long, not a
 * valid multiaddr) are dropped one by one and counted, never fail the message.
 */
#ifndef W2W_P2P_IDENTIFY_H
#define W2W_P2P_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct ma_addr;
struct peerid;

#define IDENTIFY_PROTO_ID "/ipfs/id/1.0.0"
#define IDENTIFY_PUSH_PROTO_ID "/ipfs/id/push/1.0.0" /* same message, unsolicited; same reader */
#define IDENTIFY_MAX_MSG 8192 /* js MAX_IDENTIFY_MESSAGE_SIZE, go signedIDSize */
#define IDENTIFY_MAX_MSGS 10  /* go maxMessages, js MAX_IDENTIFY_MESSAGES */
#define IDENTIFY_MAX_KEY 600  /* PublicKey protobuf (RSA-4096 fits) */
#define IDENTIFY_MAX_ADDRS 16
#define IDENTIFY_MAX_ADDR_LEN 128
#define IDENTIFY_MAX_PROTOCOLS 32
#define IDENTIFY_MAX_PROTO_LEN 128 /* with NUL */
#define IDENTIFY_MAX_STR 128       /* version strings with NUL (longer ones are truncated) */
/* w2wesher's admission token (docs/protocol.md "Identify"): field 22359 ("WW"),
 * bytes. Other libp2p implementations skip it as an unknown field. */
#define IDENTIFY_F_ADMISSION 22359
#define IDENTIFY_MAX_ADMISSION 256

struct identify_addr {
	uint16_t len;
	uint8_t b[IDENTIFY_MAX_ADDR_LEN];
};

struct identify_info {
	uint8_t public_key[IDENTIFY_MAX_KEY];
	size_t public_key_len; /* 0 = absent */
	char protocol_version[IDENTIFY_MAX_STR];
	char agent_version[IDENTIFY_MAX_STR];
	struct identify_addr listen_addrs[IDENTIFY_MAX_ADDRS];
	size_t n_listen_addrs;
	struct identify_addr observed_addr; /* len 0 = absent */
	char protocols[IDENTIFY_MAX_PROTOCOLS][IDENTIFY_MAX_PROTO_LEN];
	size_t n_protocols;
	size_t dropped; /* entries not kept because of limits or bad form */
	uint8_t admission[IDENTIFY_MAX_ADMISSION];
	size_t admission_len; /* 0 = absent */
};

/* Empties info (all fields absent). */
void identify_info_init(struct identify_info *info);
/* Builders for our own response; W2W_ELIMIT when a limit is hit, W2W_EPARSE for a bad multiaddr. */
int identify_set_public_key(struct identify_info *info, const uint8_t *pb, size_t n);
int identify_add_listen_addr(struct identify_info *info, const uint8_t *ma, size_t n);
int identify_set_observed_addr(struct identify_info *info, const uint8_t *ma, size_t n);
int identify_add_protocol(struct identify_info *info, const char *proto);
int identify_set_versions(struct identify_info *info, const char *protocol_version, const char *agent_version);
int identify_set_admission(struct identify_info *info, const uint8_t *p, size_t n);
bool identify_has_protocol(const struct identify_info *info, const char *proto);

/*
 * Appends uvarint(len) || Identify protobuf to out (fields in number order).
 * W2W_ELIMIT if the message would exceed IDENTIFY_MAX_MSG; buf errors.
 */
int identify_encode(const struct identify_info *info, struct buf *out);
/*
 * Decodes one Identify protobuf body (no length prefix) and merges it into
 * info. W2W_EPARSE for malformed protobuf, W2W_ELIMIT above IDENTIFY_MAX_MSG.
 * info is left unchanged on error.
 */
int identify_decode(const uint8_t *p, size_t n, struct identify_info *info);

/* Initiator side: accumulates LP-framed messages read from the stream. */
struct identify_reader {
	uint8_t acc[IDENTIFY_MAX_MSG + 2]; /* uvarint(<= 8192) takes 2 bytes */
	size_t acc_len;
	unsigned n_msgs;
};

void identify_reader_init(struct identify_reader *r);
/*
 * Consumes all n bytes, merging each complete message into info. 0, or
 * W2W_EPARSE (bad length prefix or protobuf), W2W_ELIMIT (message too big or
 * more than IDENTIFY_MAX_MSGS).
 */
int identify_reader_feed(struct identify_reader *r, const void *in, size_t n, struct identify_info *info);
/* The peer's FIN arrived: 0 after at least one whole message, W2W_EPROTO otherwise. */
int identify_reader_finish(const struct identify_reader *r);

/*
 * The peer's view of our address (observedAddr) reduced to ip/port: 0,
 * or W2W_EPARSE when absent or not an ip/dns + tcp/udp address.
 */
int identify_observed(const struct identify_info *info, struct ma_addr *out);
/*
 * Checks that publicKey is present and derives the peer ID `expected`
 * (the Noise-authenticated one). 0, W2W_EAUTH on mismatch, W2W_EPROTO if absent.
 */
int identify_check_peer(const struct identify_info *info, const struct peerid *expected);

#endif
