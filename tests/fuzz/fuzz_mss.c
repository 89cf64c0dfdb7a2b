/* SPDX-License-Identifier: MIT */
/*
 * multistream-select lines from a peer. Byte 0 picks the role and how the
 * input is chunked; the rest is what the peer sent. Checks: only the
 * documented results, completion implies a protocol from our list, leftovers
 * come from the input, our output is well-formed lines, failure is final.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mss.h"
#include "varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const offer[] = {"/tls/1.0.0", "/noise"};
static const char *const serve[] = {"/yamux/1.0.0", "/noise", "/ipfs/ping/1.0.0"};

static void check_lines(const struct buf *out)
{
	size_t off = 0;

	while (off < out->len) {
		uint64_t len;
		int n = uvarint_decode(out->data + off, out->len - off, &len);

		if (n <= 0 || len == 0 || len > MSS_MAX_LINE || off + (size_t)n + len > out->len)
			abort();
		off += (size_t)n + (size_t)len;
		if (out->data[off - 1] != '\n')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mss_config cfg = {0};
	struct buf out;
	struct mss *m;
	size_t chunk, off = 0, fed = 0;
	int rc = 0;

	if (size < 1)
		return 0;
	cfg.role = data[0] & 1 ? MSS_RESPONDER : MSS_INITIATOR;
	cfg.protocols = cfg.role == MSS_RESPONDER ? serve : offer;
	cfg.n_protocols = cfg.role == MSS_RESPONDER ? 3 : 2;
	chunk = data[0] >> 1; /* 0 = everything at once */
	data++;
	size--;
	buf_init(&out, 1 << 20);
	if (mss_new(&m, &cfg) < 0)
		return 0;
	if (mss_start(m, 0, &out) < 0)
		abort();
	while (off < size) {
		size_t n = chunk ? chunk : size;

		if (n > size - off)
			n = size - off;
		rc = mss_feed(m, data + off, n, 1, &out);
		off += n;
		fed += n;
		if (rc < 0)
			break;
	}
	check_lines(&out);
	if (rc == 1) {
		const uint8_t *lo;
		size_t lolen;
		const char *p = mss_protocol(m);
		int idx = mss_protocol_index(m);

		if (!mss_done(m) || !p || idx < 0 || (size_t)idx >= cfg.n_protocols ||
		    strcmp(p, cfg.protocols[idx]))
			abort();
		mss_leftover(m, &lo, &lolen);
		if (lolen > fed || (lolen && memcmp(lo, data + fed - lolen, lolen) != 0))
			abort();
	} else if (rc < 0) {
		if (rc != W2W_EPROTO && rc != W2W_ELIMIT)
			abort();
		if (mss_done(m) || mss_protocol(m) || !mss_reason(m)[0])
			abort();
		if (mss_feed(m, "\x03na\n", 4, 2, &out) != rc)
			abort();
	} else if (rc != 0 || mss_done(m)) {
		abort();
	}
	mss_free(m);
	buf_free(&out);
	return 0;
}
