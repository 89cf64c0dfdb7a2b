/* SPDX-License-Identifier: MIT */
/*
 * Identify: the whole input through the LP reader (split at a point chosen
 * by byte 0) and as one protobuf body. Whatever decodes must re-encode and
 * decode to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "identify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strings(const struct identify_info *in)
{
	if (!memchr(in->agent_version, '\0', IDENTIFY_MAX_STR) ||
	    !memchr(in->protocol_version, '\0', IDENTIFY_MAX_STR))
		abort();
	if (in->n_protocols > IDENTIFY_MAX_PROTOCOLS || in->n_listen_addrs > IDENTIFY_MAX_ADDRS ||
	    in->public_key_len > IDENTIFY_MAX_KEY || in->observed_addr.len > IDENTIFY_MAX_ADDR_LEN)
		abort();
	for (size_t i = 0; i < in->n_protocols; i++)
		if (!memchr(in->protocols[i], '\0', IDENTIFY_MAX_PROTO_LEN))
			abort();
}

static void roundtrip(const struct identify_info *in)
{
	struct identify_info *again = malloc(sizeof(*again));
	struct identify_reader *rd = malloc(sizeof(*rd));
	struct buf b;

	if (!again || !rd)
		abort();
	check_strings(in);
	buf_init(&b, 2 * IDENTIFY_MAX_MSG);
	identify_info_init(again);
	identify_reader_init(rd);
	if (identify_encode(in, &b) == 0) {
		if (identify_reader_feed(rd, b.data, b.len, again) != 0 || identify_reader_finish(rd) != 0)
			abort();
		if (again->n_protocols != in->n_protocols || again->n_listen_addrs != in->n_listen_addrs ||
		    again->public_key_len != in->public_key_len || again->observed_addr.len != in->observed_addr.len ||
		    strcmp(again->agent_version, in->agent_version) != 0 || again->dropped != 0 ||
		    again->admission_len != in->admission_len ||
		    memcmp(again->admission, in->admission, in->admission_len) != 0)
			abort();
		for (size_t i = 0; i < in->n_protocols; i++)
			if (strcmp(again->protocols[i], in->protocols[i]) != 0)
				abort();
	}
	buf_free(&b);
	free(again);
	free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct identify_info *info = malloc(sizeof(*info));
	struct identify_reader *rd = malloc(sizeof(*rd));
	size_t cut;

	if (!info || !rd)
		abort();
	identify_info_init(info);
	identify_reader_init(rd);
	cut = size ? data[0] % (size + 1) : 0;
	if (identify_reader_feed(rd, data, cut, info) == 0 &&
	    identify_reader_feed(rd, data + cut, size - cut, info) == 0) {
		(void)identify_reader_finish(rd);
		roundtrip(info);
	}
	identify_info_init(info);
	if (identify_decode(data, size, info) == 0)
		roundtrip(info);
	free(info);
	free(rd);
	return 0;
}
