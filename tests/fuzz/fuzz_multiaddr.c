/* SPDX-License-Identifier: MIT */
/*
 * Multiaddr: the input is tried as binary and as text. Whatever is accepted
 * must round-trip: binary -> text -> binary gives the same bytes, text ->
 * binary -> text -> binary is stable, and decompose/compose agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_binary(const uint8_t *bin, size_t n)
{
	static char txt[MA_MAX_TEXT];
	static uint8_t back[MA_MAX_BIN];
	struct ma_addr a;
	struct peerid peer;
	int t, m;

	if (ma_validate(bin, n) < 0) {
		if (ma_format(txt, sizeof(txt), bin, n) >= 0 || ma_decompose(bin, n, &a) >= 0)
			abort();
		return;
	}
	t = ma_format(txt, sizeof(txt), bin, n);
	if (t < 0 || strlen(txt) != (size_t)t)
		abort();
	m = ma_parse(back, sizeof(back), txt, (size_t)t);
	if (m != (int)n || memcmp(back, bin, n) != 0)
		abort();
	if (ma_decompose(bin, n, &a) == 0) {
		m = ma_compose(back, sizeof(back), &a);
		if (m != (int)n || memcmp(back, bin, n) != 0)
			abort();
		if (a.has_peer && (ma_peer(bin, n, &peer) != 0 || !peerid_eq(&peer, &a.peer)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[MA_MAX_BIN];
	int n;

	check_binary(data, size);
	n = ma_parse(bin, sizeof(bin), (const char *)data, size);
	if (n >= 0) {
		if (n == 0 || (size_t)n > sizeof(bin))
			abort();
		check_binary(bin, (size_t)n);
	}
	return 0;
}
