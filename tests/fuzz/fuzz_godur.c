/* SPDX-License-Identifier: MIT */
/*
 * Go durations (codec/godur.c), as the config file's AnnounceInterval,
 * PersistentKeepalive and PeerExpiry are read and dumped: any text parses or
 * is refused without touching the result; an accepted whole number of
 * milliseconds formats to a text that parses back to the same value and
 * formats to itself; and any millisecond count survives format -> parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "godur.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_MS 1000000LL

static void round_trip_ms(uint64_t ms)
{
	char a[64], b[64];
	long long ns;

	godur_format_ms(a, sizeof(a), ms);
	if (godur_parse(a, strlen(a), &ns) != 0 || ns < 0 || (uint64_t)ns / NS_PER_MS != ms || ns % NS_PER_MS)
		abort();
	godur_format_ms(b, sizeof(b), (uint64_t)ns / NS_PER_MS);
	if (strcmp(a, b) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long ns = 0x5a5a5a5a;
	uint64_t ms = 0;
	int rc;

	if (size > 4096)
		return 0;
	rc = godur_parse((const char *)data, size, &ns);
	if (rc < 0) {
		if (ns != 0x5a5a5a5a || (rc != GODUR_ESYNTAX && rc != GODUR_EUNIT && rc != GODUR_ERANGE))
			abort();
	} else if (rc != 0) {
		abort();
	} else if (ns >= 0 && ns % NS_PER_MS == 0) {
		round_trip_ms((uint64_t)ns / NS_PER_MS);
	}
	/* The first bytes as a millisecond count within int64 nanoseconds. */
	memcpy(&ms, data, size < sizeof(ms) ? size : sizeof(ms));
	round_trip_ms(ms % ((uint64_t)INT64_MAX / NS_PER_MS + 1));
	return 0;
}
