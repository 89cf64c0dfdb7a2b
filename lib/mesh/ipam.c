/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ipam.h"
#include "prim.h"

static size_t alen(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

int ipam_range_parse(struct ipam_range *r, const char *s)
{
	char tmp[64], *slash, *end;
	struct ipam_range x;
	unsigned long plen;
	size_t bits;

	if (strlen(s) >= sizeof(tmp))
		return W2W_EPARSE;
	strcpy(tmp, s);
	slash = strchr(tmp, '/');
	if (!slash)
		return W2W_EPARSE;
	*slash = '\0';
	memset(&x, 0, sizeof(x));
	if (inet_pton(AF_INET, tmp, x.net) == 1)
		x.family = 4;
	else if (inet_pton(AF_INET6, tmp, x.net) == 1)
		x.family = 6;
	else
		return W2W_EPARSE;
	if (!slash[1] || slash[1] == '-' || slash[1] == '+')
		return W2W_EPARSE;
	plen = strtoul(slash + 1, &end, 10);
	bits = alen(x.family) * 8;
	if (*end || plen > bits - 2)
		return W2W_EPARSE;
	x.plen = (uint8_t)plen;
	/* host bits must be zero: "10.0.0.1/8" is an address, not a network */
	for (size_t b = plen; b < bits; b++)
		if (x.net[b / 8] & (0x80 >> (b % 8)))
			return W2W_EPARSE;
	*r = x;
	return 0;
}

void ipam_range_str(const struct ipam_range *r, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->net, ip, sizeof(ip));
	snprintf(out, cap, "%s/%u", ip, r->plen);
}

bool ipam_contains(const struct ipam_range *r, const struct ann_ip *ip)
{
	if (ip->family != r->family)
		return false;
	for (size_t b = 0; b < r->plen; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if ((ip->ip[b / 8] & m) != (r->net[b / 8] & m))
			return false;
	}
	return true;
}

static unsigned host_bits(const struct ipam_range *r)
{
	return (unsigned)(alen(r->family) * 8 - r->plen);
}

uint64_t ipam_capacity(const struct ipam_range *r)
{
	unsigned h = host_bits(r);

	if (h >= 64)
		return UINT64_MAX;
	/* minus the network address; IPv4 also loses broadcast */
	return ((uint64_t)1 << h) - (r->family == 4 ? 2 : 1);
}

/* The low 64 host bits of ip (ranges wider than 64 host bits use only these). */
static uint64_t host_of(const struct ipam_range *r, const struct ann_ip *ip)
{
	size_t n = alen(r->family);
	unsigned h = host_bits(r);
	uint64_t v = 0;

	for (size_t i = n >= 8 ? n - 8 : 0; i < n; i++)
		v = (v << 8) | ip->ip[i];
	return h >= 64 ? v : v & (((uint64_t)1 << h) - 1);
}

static void with_host(const struct ipam_range *r, uint64_t host, struct ann_ip *out)
{
	size_t n = alen(r->family);

	memset(out, 0, sizeof(*out));
	out->family = r->family;
	memcpy(out->ip, r->net, n);
	for (size_t i = 0; i < 8 && i < n; i++)
		out->ip[n - 1 - i] |= (uint8_t)(host >> (8 * i));
}

bool ipam_usable(const struct ipam_range *r, const struct ann_ip *ip)
{
	uint64_t h, max;
	unsigned hb = host_bits(r);

	if (!ipam_contains(r, ip))
		return false;
	h = host_of(r, ip);
	if (hb > 64) {
		/* a host part wider than 64 bits is zero only if all of it is */
		for (size_t b = r->plen; b < alen(r->family) * 8 - 64; b++)
			if (ip->ip[b / 8] & (0x80 >> (b % 8)))
				return true;
		return h != 0;
	}
	max = hb == 64 ? UINT64_MAX : ((uint64_t)1 << hb) - 1;
	if (h == 0)
		return false;
	if (r->family == 4 && h == max)
		return false;
	return true;
}

/* Host numbers 1..capacity map onto usable addresses. */
static void nth_usable(const struct ipam_range *r, uint64_t k, struct ann_ip *out)
{
	with_host(r, 1 + k, out);
}

void ipam_candidate(const struct ipam_range *r, const struct peerid *self, uint32_t i, struct ann_ip *out)
{
	static const char dom[] = "w2wesher-ipam-v1";
	uint8_t in[sizeof(dom) - 1 + PEERID_MAX_LEN + 4], h[32];
	size_t n = 0;
	uint64_t v = 0, cap = ipam_capacity(r);

	memcpy(in, dom, sizeof(dom) - 1);
	n += sizeof(dom) - 1;
	memcpy(in + n, self->b, self->len);
	n += self->len;
	in[n++] = (uint8_t)(i >> 24);
	in[n++] = (uint8_t)(i >> 16);
	in[n++] = (uint8_t)(i >> 8);
	in[n++] = (uint8_t)i;
	prim_sha256(h, in, n);
	for (int j = 0; j < 8; j++)
		v = (v << 8) | h[j];
	nth_usable(r, cap == UINT64_MAX ? v % (UINT64_MAX - 1) : v % cap, out);
}

int ipam_claim_cmp(uint64_t a_ms, const struct peerid *pa, uint64_t b_ms, const struct peerid *pb)
{
	int c;

	if (a_ms != b_ms)
		return a_ms < b_ms ? -1 : 1;
	c = memcmp(pa->b, pb->b, pa->len < pb->len ? pa->len : pb->len);
	if (c)
		return c;
	return (int)pa->len - (int)pb->len;
}

size_t ipam_winner(const struct ipam_other *claims, size_t n)
{
	size_t w = 0;

	for (size_t i = 1; i < n; i++)
		if (ipam_claim_cmp(claims[i].claimed_ms, claims[i].owner, claims[w].claimed_ms, claims[w].owner) < 0)
			w = i;
	return w;
}

static bool taken(const struct ann_ip *ip, const struct ipam_other *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ann_ip_eq(ip, &o[i].ip))
			return true;
	return false;
}

int ipam_pick(const struct ipam_range *r, const struct peerid *self, const struct ann_claim *current,
	      const struct ipam_other *others, size_t n, uint64_t now_ms, struct ann_claim *out, bool *changed)
{
	struct ann_claim c;
	uint64_t cap = ipam_capacity(r), start, steps;

	if (current && ipam_usable(r, &current->addr)) {
		bool lost = false;

		for (size_t i = 0; i < n && !lost; i++)
			if (ann_ip_eq(&current->addr, &others[i].ip) &&
			    ipam_claim_cmp(others[i].claimed_ms, others[i].owner, current->claimed_ms, self) < 0)
				lost = true;
		if (!lost) {
			*out = *current;
			*changed = false;
			return 0;
		}
	}
	memset(&c, 0, sizeof(c));
	c.claimed_ms = now_ms;
	for (uint32_t i = 0; i < IPAM_CANDIDATES; i++) {
		ipam_candidate(r, self, i, &c.addr);
		if (!taken(&c.addr, others, n) && !(current && ann_ip_eq(&c.addr, &current->addr)))
			goto found;
	}
	/* Small or crowded range: walk from our first candidate. */
	ipam_candidate(r, self, 0, &c.addr);
	start = host_of(r, &c.addr) - 1;
	steps = cap < IPAM_SCAN_MAX ? cap : IPAM_SCAN_MAX;
	for (uint64_t k = 0; k < steps; k++) {
		nth_usable(r, (start + k) % cap, &c.addr);
		if (!taken(&c.addr, others, n) && !(current && ann_ip_eq(&c.addr, &current->addr)))
			goto found;
	}
	return W2W_ELIMIT;
found:
	*out = c;
	*changed = true;
	return 0;
}
