/* SPDX-License-Identifier: MIT */
/*
 * Go time.Duration text, as the Go w2wesher's config file writes it
 * (AnnounceInterval = 1m0s): time.ParseDuration's grammar, [-+]? then one or
 * more <decimal><unit> with units ns, us, µs (U+00B5), μs (U+03BC), ms, s, m,
 * h; "0" alone needs no unit. Pure functions, no allocation.
 */
#ifndef W2W_CODEC_GODUR_H
#define W2W_CODEC_GODUR_H

#include <stddef.h>
#include <stdint.h>

/* Why godur_parse() refused a text (the config turns them into messages). */
enum {
	GODUR_ESYNTAX = -1, /* not a duration (or a number without its unit) */
	GODUR_EUNIT = -2,   /* a unit Go does not know */
	GODUR_ERANGE = -3,  /* beyond int64 nanoseconds, as Go refuses */
};

/* Parses v[0..n) into nanoseconds: 0, or a GODUR_E* code (*ns untouched). */
int godur_parse(const char *v, size_t n, long long *ns);

/* Go's Duration.String() for whole milliseconds ("1m0s", "1h30m0s", "500ms",
 * "1.5s", "0s"), NUL-terminated and truncated to cap like snprintf. */
void godur_format_ms(char *out, size_t cap, uint64_t ms);

#endif
