/* SPDX-License-Identifier: MIT */
/*
 * The names mesh nodes resolve under (docs/operations.md "Node names"),
 * computed from a snapshot of the node (public API only), for the daemon's
 * `resolve` request and the `dns` field of `status json`.
 *
 * Node names are announced by any PSK holder, so they are hostile input: only
 * a name that is one DNS label (RFC 1035 2.3.1 "LDH": letters, digits and
 * inner hyphens, 1 to 63 bytes, no dot) gets a DNS name, <label>.<domain> in
 * lower case. Everything else (control characters, dots, `..`, a trailing
 * dot, 64 bytes and more) gets none and never reaches a resolver.
 *
 * Collisions (two nodes announcing one label, case-insensitively): the node
 * with the lowest peer ID (byte order of the base58 text) keeps <label>; every
 * other one is <label>-<last 8 characters of its peer ID, lower case>, with
 * the label cut to 54 bytes so the result stays a label. (The first 8
 * characters would not do: every Ed25519 peer ID starts with "12D3KooW".) A
 * derived name that equals any other node's name resolves for nobody.
 * Every node computes the same names from the same peer table.
 */
#ifndef W2W_TOOLS_DNSNAMES_H
#define W2W_TOOLS_DNSNAMES_H

#include <stdbool.h>
#include <stddef.h>

#include <w2wesher/w2wesher.h>

#define DNS_LABEL_MAX 63
#define DNS_NAME_MAX 253 /* RFC 1035 2.3.4, without the trailing dot */

struct dnsname {
	char fqdn[DNS_NAME_MAX + 1]; /* "" when the node has no resolvable name */
	bool renamed;                /* lost a collision: fqdn holds the derived name */
	bool clash;                  /* lost a collision and the derived name clashed too */
};

struct dnsnames {
	size_t peers;         /* entries: peers + 1, the last one is the node itself */
	struct dnsname *name; /* malloc'ed */
};

/* True when s[0..n) is one LDH label of 1 to 63 bytes. */
bool dns_label_ok(const char *s, size_t n);

/* Fills dn for the snapshot's nodes under domain ("" gives no names). 0, or
 * -ENOMEM. Free with dnsnames_free(). */
int dnsnames_build(struct dnsnames *dn, const struct w2w_snapshot *s, const char *domain);
/* The same from n (>= 1) nodes' names (NULL: none) and peer IDs, the node
 * itself last. */
int dnsnames_compute(struct dnsnames *dn, size_t n, const char *const *names, const char *const *peer_ids,
                     const char *domain);
void dnsnames_free(struct dnsnames *dn);

/* The entry of snapshot index i (W2W_SNAPSHOT_SELF for the node itself). */
const struct dnsname *dnsnames_at(const struct dnsnames *dn, size_t i);

/* Finds the node called name (one trailing dot allowed, any case): 0 with
 * its snapshot index in *idx (W2W_SNAPSHOT_SELF for the node itself), or -1. */
int dnsnames_find(const struct dnsnames *dn, const char *name, size_t *idx);

#endif
