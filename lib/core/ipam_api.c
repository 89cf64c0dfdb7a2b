/* SPDX-License-Identifier: MIT */
/*
 * The public IPAM API (include/w2wesher/ipam.h): text in and out around
 * lib/mesh/ipam.c, the code the mesh engine runs (meshnode.c check_address),
 * so an orchestrator's answer and a node's choice cannot drift apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <w2wesher/ipam.h>

#include "announce.h"
#include "ipam.h"
#include "peerid.h"

struct w2w_ipam_claims {
	size_t n, cap;
	struct ipam_other *o;  /* owner points into ids */
	struct peerid **ids;   /* one allocation per claim: stable across growth */
};

static int parse_ip(struct ann_ip *ip, const char *s)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->ip) == 1)
		ip->family = 4;
	else if (inet_pton(AF_INET6, s, ip->ip) == 1)
		ip->family = 6;
	else
		return W2W_EPARSE;
	return 0;
}

static int parse_id(struct peerid *id, const char *s)
{
	return peerid_parse(id, s, strlen(s)) < 0 ? W2W_EPARSE : 0;
}

static int put_ip(char *out, size_t cap, const struct ann_ip *ip)
{
	char t[INET6_ADDRSTRLEN];
	size_t n;

	ann_ip_str(ip, t, sizeof(t));
	n = strlen(t);
	if (n >= cap)
		return -ENOSPC;
	memcpy(out, t, n + 1);
	return (int)n;
}

int w2w_ipam_candidate(char *out, size_t cap, const char *range, const char *peer_id, uint32_t i)
{
	struct ipam_range r;
	struct peerid id;
	struct ann_ip ip;

	if (!out || !range || !peer_id)
		return -EINVAL;
	if (ipam_range_parse(&r, range) < 0 || parse_id(&id, peer_id) < 0)
		return W2W_EPARSE;
	ipam_candidate(&r, &id, i, &ip);
	return put_ip(out, cap, &ip);
}

int w2w_ipam_claims_new(struct w2w_ipam_claims **ret)
{
	struct w2w_ipam_claims *c;

	if (!ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*ret = c;
	return 0;
}

struct w2w_ipam_claims *w2w_ipam_claims_free(struct w2w_ipam_claims *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		free(c->ids[i]);
	free(c->ids);
	free(c->o);
	free(c);
	return NULL;
}

int w2w_ipam_claims_add(struct w2w_ipam_claims *c, const char *peer_id, const char *address, uint64_t claimed_ms)
{
	struct ann_ip ip;
	struct peerid id, *p;

	if (!c || !peer_id || !address)
		return -EINVAL;
	if (parse_id(&id, peer_id) < 0 || parse_ip(&ip, address) < 0)
		return W2W_EPARSE;
	if (c->n >= (size_t)INT32_MAX)
		return W2W_ELIMIT;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct ipam_other *o = realloc(c->o, cap * sizeof(*o));
		struct peerid **ids;

		if (!o)
			return -ENOMEM;
		c->o = o;
		ids = realloc(c->ids, cap * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		c->ids = ids;
		c->cap = cap;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = id;
	c->ids[c->n] = p;
	c->o[c->n] = (struct ipam_other){ .ip = ip, .claimed_ms = claimed_ms, .owner = p };
	return (int)c->n++;
}

size_t w2w_ipam_claims_count(const struct w2w_ipam_claims *c)
{
	return c ? c->n : 0;
}

int w2w_ipam_winner(const struct w2w_ipam_claims *c, const char *address)
{
	struct ann_ip ip;
	size_t w = SIZE_MAX;

	if (!c || !address)
		return -EINVAL;
	if (parse_ip(&ip, address) < 0)
		return W2W_EPARSE;
	/* ipam_winner's rule over the claims on this address, keeping indexes. */
	for (size_t i = 0; i < c->n; i++) {
		if (!ann_ip_eq(&c->o[i].ip, &ip))
			continue;
		if (w == SIZE_MAX || ipam_claim_cmp(c->o[i].claimed_ms, c->o[i].owner, c->o[w].claimed_ms,
						   c->o[w].owner) < 0)
			w = i;
	}
	return w == SIZE_MAX ? -ENOENT : (int)w;
}

int w2w_ipam_pick(char *out, size_t cap, uint64_t *claimed_ms, const char *range, const char *peer_id,
		  const struct w2w_ipam_claims *c, const char *current, uint64_t current_ms, uint64_t now_ms)
{
	struct ipam_range r;
	struct peerid self;
	struct ann_claim cur, res;
	struct ipam_other *others = NULL;
	size_t n = 0;
	bool changed;
	int rc;

	if (!out || !range || !peer_id)
		return -EINVAL;
	if (ipam_range_parse(&r, range) < 0 || parse_id(&self, peer_id) < 0)
		return W2W_EPARSE;
	if (current) {
		if (parse_ip(&cur.addr, current) < 0)
			return W2W_EPARSE;
		cur.claimed_ms = current_ms;
	}
	if (c && c->n) {
		/* A node's table never holds its own announcement: drop our claims. */
		others = malloc(c->n * sizeof(*others));
		if (!others)
			return -ENOMEM;
		for (size_t i = 0; i < c->n; i++)
			if (!peerid_eq(c->o[i].owner, &self))
				others[n++] = c->o[i];
	}
	rc = ipam_pick(&r, &self, current ? &cur : NULL, others, n, now_ms, &res, &changed);
	free(others);
	if (rc < 0)
		return rc;
	rc = put_ip(out, cap, &res.addr);
	if (rc >= 0 && claimed_ms)
		*claimed_ms = res.claimed_ms;
	return rc;
}
