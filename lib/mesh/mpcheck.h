/* SPDX-License-Identifier: MIT */
/*
 * A bounded pre-check of untrusted msgpack before msgpack-c sees it.
 * msgpack-c's unpacker allocates an array or map for the element count the
 * input *declares*: a 6-byte message declaring 2^32 elements asks for
 * 128 GiB. This walk accepts exactly one well-formed object whose declared
 * counts each fit in the bytes left (every element takes at least one byte)
 * and whose nesting is at most max_depth, so decoding allocates O(n).
 */
#ifndef W2W_MESH_MPCHECK_H
#define W2W_MESH_MPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool mp_check(const uint8_t *p, size_t n, unsigned max_depth);

#endif
