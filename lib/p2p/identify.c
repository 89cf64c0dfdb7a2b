/* SPDX-License-Identifier: MIT */
/* /ipfs/id/1.0.0 message codec (libp2p/specs identify/README.md). */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ident.h"
#include "identify.h"
#include "multiaddr.h"
#include "pb.h"
#include "peerid.h"
#include "rd.h"
#include "varint.h"

enum {
	F_PUBLIC_KEY = 1,
	F_LISTEN_ADDRS = 2,
	F_PROTOCOLS = 3,
	F_OBSERVED_ADDR = 4,
	F_PROTOCOL_VERSION = 5,
	F_AGENT_VERSION = 6,
};

void identify_info_init(struct identify_info *info)
{
	memset(info, 0, sizeof(*info));
}

static int set_addr(struct identify_addr *a, const uint8_t *ma, size_t n)
{
	if (n == 0 || n > IDENTIFY_MAX_ADDR_LEN)
		return W2W_ELIMIT;
	if (ma_validate(ma, n) < 0)
		return W2W_EPARSE;
	memcpy(a->b, ma, n);
	a->len = (uint16_t)n;
	return 0;
}

int identify_set_admission(struct identify_info *info, const uint8_t *p, size_t n)
{
	if (n > IDENTIFY_MAX_ADMISSION)
		return W2W_ELIMIT;
	if (n)
		memcpy(info->admission, p, n);
	info->admission_len = n;
	return 0;
}

int identify_set_public_key(struct identify_info *info, const uint8_t *pb, size_t n)
{
	if (n == 0 || n > IDENTIFY_MAX_KEY)
		return W2W_ELIMIT;
	memcpy(info->public_key, pb, n);
	info->public_key_len = n;
	return 0;
}

int identify_add_listen_addr(struct identify_info *info, const uint8_t *ma, size_t n)
{
	int r;

	if (info->n_listen_addrs >= IDENTIFY_MAX_ADDRS)
		return W2W_ELIMIT;
	r = set_addr(&info->listen_addrs[info->n_listen_addrs], ma, n);
	if (r < 0)
		return r;
	info->n_listen_addrs++;
	return 0;
}

int identify_set_observed_addr(struct identify_info *info, const uint8_t *ma, size_t n)
{
	return set_addr(&info->observed_addr, ma, n);
}

static int add_protocol(struct identify_info *info, const char *p, size_t n)
{
	if (n == 0 || n >= IDENTIFY_MAX_PROTO_LEN || memchr(p, '\0', n) || memchr(p, '\n', n))
		return W2W_EPARSE;
	if (info->n_protocols >= IDENTIFY_MAX_PROTOCOLS)
		return W2W_ELIMIT;
	memcpy(info->protocols[info->n_protocols], p, n);
	info->protocols[info->n_protocols][n] = '\0';
	info->n_protocols++;
	return 0;
}

int identify_add_protocol(struct identify_info *info, const char *proto)
{
	return add_protocol(info, proto, strlen(proto));
}

/* Free text: keep at most IDENTIFY_MAX_STR-1 bytes, stop at a NUL. */
static void set_str(char dst[IDENTIFY_MAX_STR], const void *p, size_t n)
{
	const char *nul = memchr(p, '\0', n);

	if (nul)
		n = (size_t)(nul - (const char *)p);
	if (n >= IDENTIFY_MAX_STR)
		n = IDENTIFY_MAX_STR - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

int identify_set_versions(struct identify_info *info, const char *protocol_version, const char *agent_version)
{
	if (protocol_version)
		set_str(info->protocol_version, protocol_version, strlen(protocol_version));
	if (agent_version)
		set_str(info->agent_version, agent_version, strlen(agent_version));
	return 0;
}

bool identify_has_protocol(const struct identify_info *info, const char *proto)
{
	for (size_t i = 0; i < info->n_protocols; i++)
		if (strcmp(info->protocols[i], proto) == 0)
			return true;
	return false;
}

int identify_encode(const struct identify_info *info, struct buf *out)
{
	struct buf m;
	int r;

	buf_init(&m, IDENTIFY_MAX_MSG);
	/* Fields in number order, so the encoding is deterministic. */
	r = 0;
	if (info->public_key_len)
		r = pb_put_bytes(&m, F_PUBLIC_KEY, info->public_key, info->public_key_len);
	for (size_t i = 0; r >= 0 && i < info->n_listen_addrs; i++)
		r = pb_put_bytes(&m, F_LISTEN_ADDRS, info->listen_addrs[i].b, info->listen_addrs[i].len);
	for (size_t i = 0; r >= 0 && i < info->n_protocols; i++)
		r = pb_put_string(&m, F_PROTOCOLS, info->protocols[i]);
	if (r >= 0 && info->observed_addr.len)
		r = pb_put_bytes(&m, F_OBSERVED_ADDR, info->observed_addr.b, info->observed_addr.len);
	if (r >= 0 && info->protocol_version[0])
		r = pb_put_string(&m, F_PROTOCOL_VERSION, info->protocol_version);
	if (r >= 0 && info->agent_version[0])
		r = pb_put_string(&m, F_AGENT_VERSION, info->agent_version);
	if (r >= 0 && info->admission_len)
		r = pb_put_bytes(&m, IDENTIFY_F_ADMISSION, info->admission, info->admission_len);
	if (r < 0)
		goto out;
	{
		size_t old = out->len;

		r = uvarint_put(out, m.len);
		if (r >= 0)
			r = buf_append(out, m.data, m.len);
		if (r < 0)
			out->len = old;
	}
out:
	buf_free(&m);
	return r < 0 ? r : 0;
}

/*
 * Merges one message: scalars overwrite, repeated fields append. Entries that
 * do not fit our limits or are not valid multiaddrs are dropped one by one
 * (libp2p.md: peers send address kinds we do not know; skip them alone).
 */
static int decode_into(const uint8_t *p, size_t n, struct identify_info *info)
{
	struct pb_field f;
	struct rd r;
	int k;

	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.wire != PB_LEN)
			continue; /* every field we know is length-delimited */
		switch (f.num) {
		case F_PUBLIC_KEY:
			if (identify_set_public_key(info, f.p, f.len) < 0)
				info->dropped++;
			break;
		case F_LISTEN_ADDRS:
			if (identify_add_listen_addr(info, f.p, f.len) < 0)
				info->dropped++;
			break;
		case F_PROTOCOLS:
			if (add_protocol(info, (const char *)f.p, f.len) < 0)
				info->dropped++;
			break;
		case F_OBSERVED_ADDR:
			if (identify_set_observed_addr(info, f.p, f.len) < 0)
				info->dropped++;
			break;
		case F_PROTOCOL_VERSION:
			set_str(info->protocol_version, f.p, f.len);
			break;
		case F_AGENT_VERSION:
			set_str(info->agent_version, f.p, f.len);
			break;
		case IDENTIFY_F_ADMISSION:
			if (identify_set_admission(info, f.p, f.len) < 0)
				info->dropped++;
			break;
		default:
			break; /* signedPeerRecord (8) and anything newer */
		}
	}
	return k < 0 ? W2W_EPARSE : 0;
}

int identify_decode(const uint8_t *p, size_t n, struct identify_info *info)
{
	struct pb_field f;
	struct rd r;
	int k;

	if (n > IDENTIFY_MAX_MSG)
		return W2W_ELIMIT;
	/* Validate the whole protobuf first, so info changes only on success. */
	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1)
		;
	if (k < 0)
		return W2W_EPARSE;
	return decode_into(p, n, info);
}

void identify_reader_init(struct identify_reader *r)
{
	r->acc_len = 0;
	r->n_msgs = 0;
}

int identify_reader_feed(struct identify_reader *r, const void *in, size_t n, struct identify_info *info)
{
	const uint8_t *p = in;

	while (n > 0) {
		size_t take = sizeof(r->acc) - r->acc_len;
		uint64_t len;
		int hl, e;

		if (take > n)
			take = n;
		memcpy(r->acc + r->acc_len, p, take);
		r->acc_len += take;
		p += take;
		n -= take;
		/* Process every complete message in the accumulator. */
		for (;;) {
			hl = uvarint_decode(r->acc, r->acc_len, &len);
			if (hl == 0)
				break;
			if (hl < 0)
				return W2W_EPARSE;
			if (len > IDENTIFY_MAX_MSG)
				return W2W_ELIMIT;
			if (r->acc_len - (size_t)hl < len)
				break;
			if (r->n_msgs >= IDENTIFY_MAX_MSGS)
				return W2W_ELIMIT;
			e = identify_decode(r->acc + hl, (size_t)len, info);
			if (e < 0)
				return e;
			r->n_msgs++;
			memmove(r->acc, r->acc + hl + len, r->acc_len - hl - (size_t)len);
			r->acc_len -= (size_t)hl + (size_t)len;
		}
		/* Room is guaranteed: a pending message plus prefix fits acc. */
	}
	return 0;
}

int identify_reader_finish(const struct identify_reader *r)
{
	if (r->acc_len != 0 || r->n_msgs == 0)
		return W2W_EPROTO;
	return 0;
}

int identify_observed(const struct identify_info *info, struct ma_addr *out)
{
	if (info->observed_addr.len == 0)
		return W2W_EPARSE;
	return ma_decompose(info->observed_addr.b, info->observed_addr.len, out);
}

int identify_check_peer(const struct identify_info *info, const struct peerid *expected)
{
	struct peerid got;

	if (info->public_key_len == 0)
		return W2W_EPROTO;
	if (ident_peerid_from_pubkey_pb(&got, info->public_key, info->public_key_len) < 0)
		return W2W_EAUTH;
	return peerid_eq(&got, expected) ? 0 : W2W_EAUTH;
}
