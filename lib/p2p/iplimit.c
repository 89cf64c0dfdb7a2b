/* SPDX-License-Identifier: MIT */
/* Per-IP admission of inbound connections (see iplimit.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "iplimit.h"

#define TOKEN 1000000ull
#define IPL_INDEX (2 * IPL_TABLE) /* a power of two */ /* one connection, in token micro-units (rate per microsecond = IPL_RATE_PER_S) */

struct ipl_entry {
	uint8_t family;
	uint8_t ip[16];
	bool known;
	uint16_t hs, conns;
	uint64_t tokens; /* micro-tokens */
	uint64_t last_us;
	uint16_t strikes;    /* refusals since strike_us */
	uint64_t strike_us;
};

struct ipl_block {
	uint8_t family;
	uint8_t ip[16]; /* the key (see key()) */
	uint64_t until;
};

struct iplimit {
	struct ipl_entry *e;
	size_t n;
	uint16_t *idx; /* IPL_INDEX slots (see find) */
	unsigned hs_unknown; /* handshakes of unknown IPs */
	uint64_t refused;
	struct ipl_block blocks[IPL_BLOCKS];
	size_t n_blocks;
	uint32_t block_gen;
	uint64_t blocks_total;
};

static size_t iplen(int family)
{
	return family == 4 ? 4 : 16;
}

static bool loopback(int family, const uint8_t *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	return family == 4 ? ip[0] == 127 : !memcmp(ip, lo6, 16);
}

/* The unit limited: an IPv4 address, or an IPv6 /64 (one host usually holds a
 * whole /64, as go-libp2p's limiter assumes for its IPv6 subnet limits). */
static const uint8_t *key(int family, const uint8_t *ip, uint8_t *out)
{
	memset(out, 0, 16);
	memcpy(out, ip, family == 4 ? 4 : 8);
	return out;
}

/* The index: open addressing with linear probing over IPL_INDEX slots (twice
 * the table: probes stay short), each 0 or an entry's position + 1, so that
 * an accept under a flood from many addresses costs a few probes, not a scan
 * of IPL_TABLE entries. Not keyed: an attacker choosing its source addresses
 * to collide only brings the lookup back to the scan it replaced. */
static size_t hash(int family, const uint8_t *k)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)family;

	for (int i = 0; i < 8; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return (size_t)(h ^ h >> 29) & (IPL_INDEX - 1);
}

static struct ipl_entry *find(const struct iplimit *l, int family, const uint8_t *ip)
{
	for (size_t s = hash(family, ip), n = 0; l->idx[s] && n < IPL_INDEX; s = (s + 1) & (IPL_INDEX - 1), n++) {
		struct ipl_entry *x = &l->e[l->idx[s] - 1];

		if (x->family == family && !memcmp(x->ip, ip, iplen(family)))
			return x;
	}
	return NULL;
}

static void idx_add(struct iplimit *l, const struct ipl_entry *x)
{
	size_t s = hash(x->family, x->ip);

	while (l->idx[s])
		s = (s + 1) & (IPL_INDEX - 1);
	l->idx[s] = (uint16_t)(x - l->e + 1);
}

/* Removes x, shifting back the entries after it that probed past its slot. */
static void idx_del(struct iplimit *l, const struct ipl_entry *x)
{
	size_t i = hash(x->family, x->ip), j;

	while (l->idx[i] && l->idx[i] != (uint16_t)(x - l->e + 1))
		i = (i + 1) & (IPL_INDEX - 1);
	if (!l->idx[i])
		return;
	l->idx[i] = 0;
	for (j = (i + 1) & (IPL_INDEX - 1); l->idx[j]; j = (j + 1) & (IPL_INDEX - 1)) {
		const struct ipl_entry *y = &l->e[l->idx[j] - 1];
		size_t home = hash(y->family, y->ip);

		/* y stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		l->idx[i] = l->idx[j];
		l->idx[j] = 0;
		i = j;
	}
}

/* Finds or adds ip; when the table is full, an idle unknown entry (the one
 * least recently used) makes room. NULL: full of live or known entries. */
static struct ipl_entry *get(struct iplimit *l, int family, const uint8_t *ip, uint64_t now)
{
	struct ipl_entry *x = find(l, family, ip), *victim = NULL;

	if (x)
		return x;
	if (l->n < IPL_TABLE) {
		x = &l->e[l->n++];
	} else {
		for (size_t i = 0; i < l->n; i++) {
			struct ipl_entry *c = &l->e[i];

			if (!c->known && !c->conns && (!victim || c->last_us < victim->last_us))
				victim = c;
		}
		if (!victim)
			return NULL;
		x = victim;
		idx_del(l, x);
	}
	memset(x, 0, sizeof(*x));
	x->family = (uint8_t)family;
	memcpy(x->ip, ip, iplen(family));
	idx_add(l, x);
	x->tokens = IPL_BURST * TOKEN;
	x->last_us = now;
	return x;
}

struct iplimit *iplimit_new(void)
{
	struct iplimit *l = calloc(1, sizeof(*l));

	if (l && (!(l->e = calloc(IPL_TABLE, sizeof(*l->e))) || !(l->idx = calloc(IPL_INDEX, sizeof(*l->idx))))) {
		free(l->e);
		free(l);
		l = NULL;
	}
	return l;
}

void iplimit_free(struct iplimit *l)
{
	if (!l)
		return;
	free(l->idx);
	free(l->e);
	free(l);
}

static struct ipl_block *blocked(const struct iplimit *l, int family, const uint8_t *k)
{
	for (size_t i = 0; i < l->n_blocks; i++)
		if (l->blocks[i].family == family && !memcmp(l->blocks[i].ip, k, 16))
			return (struct ipl_block *)&l->blocks[i];
	return NULL;
}

static void unblock_at(struct iplimit *l, size_t i)
{
	l->blocks[i] = l->blocks[--l->n_blocks];
	l->block_gen++;
}

static void block(struct iplimit *l, const struct ipl_entry *x, uint64_t now)
{
	struct ipl_block *b = blocked(l, x->family, x->ip);

	if (!b && l->n_blocks < IPL_BLOCKS)
		b = &l->blocks[l->n_blocks++];
	if (!b) {
		b = &l->blocks[0]; /* full: replace the block that ends first */
		for (size_t i = 1; i < l->n_blocks; i++)
			if (l->blocks[i].until < b->until)
				b = &l->blocks[i];
	}
	b->family = x->family;
	memcpy(b->ip, x->ip, 16);
	b->until = now + IPL_BLOCK_S * 1000000ull;
	l->block_gen++;
	l->blocks_total++;
}

/* A refusal of an unknown IP: IPL_BLOCK_AFTER of them within IPL_STRIKE_US block it. */
static bool strike(struct iplimit *l, struct ipl_entry *x, uint64_t now)
{
	if (x->known)
		return false;
	if (!x->strikes || now - x->strike_us >= IPL_STRIKE_US) {
		x->strikes = 0;
		x->strike_us = now;
	}
	if (++x->strikes < IPL_BLOCK_AFTER)
		return false;
	x->strikes = 0;
	block(l, x, now);
	return true;
}

int iplimit_admit(struct iplimit *l, int family, const uint8_t *ip, uint64_t now, bool *tracked, const char **why)
{
	struct ipl_entry *x;
	uint8_t k[16];

	*tracked = false;
	*why = NULL;
	if ((family != 4 && family != 6) || loopback(family, ip))
		return 0;
	key(family, ip, k);
	if (l->n_blocks && blocked(l, family, k)) {
		*why = "address blocked for a while (connection flood)";
		l->refused++;
		return W2W_ELIMIT;
	}
	x = get(l, family, k, now);
	if (!x) {
		*why = "too many source addresses";
		goto refuse;
	}
	if (!x->known) {
		/* token bucket: IPL_RATE_PER_S per second, at most IPL_BURST saved up */
		uint64_t dt = now > x->last_us ? now - x->last_us : 0;

		x->tokens += dt * IPL_RATE_PER_S;
		if (x->tokens > IPL_BURST * TOKEN)
			x->tokens = IPL_BURST * TOKEN;
		x->last_us = now;
		if (x->tokens < TOKEN) {
			*why = "too many new connections from this address";
			goto refuse;
		}
		if (x->hs >= IPL_HANDSHAKES_PER_IP) {
			*why = "too many handshakes from this address";
			goto refuse;
		}
		if (x->conns >= IPL_CONNS_PER_IP) {
			*why = "too many connections from this address";
			goto refuse;
		}
		if (l->hs_unknown >= IPL_HANDSHAKES) {
			*why = "too many handshakes in progress";
			goto refuse;
		}
		x->tokens -= TOKEN;
		l->hs_unknown++;
	} else if (x->conns >= IPL_CONNS_KNOWN) {
		*why = "too many connections from this address";
		goto refuse;
	}
	x->last_us = now;
	x->hs++;
	x->conns++;
	*tracked = true;
	return 0;
refuse:
	l->refused++;
	if (x && strike(l, x, now))
		*why = "connection flood: address blocked";
	return W2W_ELIMIT;
}

/* Handshakes of x in progress were counted as a stranger's: no more. */
static void become_known(struct iplimit *l, struct ipl_entry *x)
{
	if (x->known)
		return;
	l->hs_unknown -= x->hs < l->hs_unknown ? x->hs : l->hs_unknown;
	x->known = true;
	for (size_t i = 0; i < l->n_blocks; i++) {
		if (l->blocks[i].family == x->family && !memcmp(l->blocks[i].ip, x->ip, 16)) {
			unblock_at(l, i);
			break;
		}
	}
}

void iplimit_ready(struct iplimit *l, int family, const uint8_t *ip)
{
	struct ipl_entry *x = find(l, family, key(family, ip, (uint8_t[16]){0}));

	if (!x || !x->hs)
		return;
	x->hs--;
	if (!x->known && l->hs_unknown)
		l->hs_unknown--;
	become_known(l, x);
}

void iplimit_closed(struct iplimit *l, int family, const uint8_t *ip, bool ready)
{
	struct ipl_entry *x = find(l, family, key(family, ip, (uint8_t[16]){0}));

	if (!x)
		return;
	if (!ready && x->hs) {
		x->hs--;
		if (!x->known && l->hs_unknown)
			l->hs_unknown--;
	}
	if (x->conns)
		x->conns--;
}

void iplimit_mark_known(struct iplimit *l, int family, const uint8_t *ip)
{
	struct ipl_entry *x;

	if ((family != 4 && family != 6) || loopback(family, ip))
		return;
	x = get(l, family, key(family, ip, (uint8_t[16]){0}), 0);
	if (x)
		become_known(l, x);
}

bool iplimit_known(const struct iplimit *l, int family, const uint8_t *ip)
{
	const struct ipl_entry *x = find(l, family, key(family, ip, (uint8_t[16]){0}));

	return x && x->known;
}

unsigned iplimit_handshakes(const struct iplimit *l)
{
	return l->hs_unknown;
}

uint64_t iplimit_refused(const struct iplimit *l)
{
	return l->refused;
}

void iplimit_tick(struct iplimit *l, uint64_t now)
{
	for (size_t i = 0; i < l->n_blocks;) {
		if (now >= l->blocks[i].until)
			unblock_at(l, i);
		else
			i++;
	}
}

uint64_t iplimit_next_expiry(const struct iplimit *l)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < l->n_blocks; i++)
		if (l->blocks[i].until < d)
			d = l->blocks[i].until;
	return d;
}

uint32_t iplimit_block_gen(const struct iplimit *l)
{
	return l->block_gen;
}

size_t iplimit_blocklist(const struct iplimit *l, int family, uint8_t (*out)[16], size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n_blocks && n < cap; i++)
		if (l->blocks[i].family == family)
			memcpy(out[n++], l->blocks[i].ip, 16);
	return n;
}

uint64_t iplimit_blocks_total(const struct iplimit *l)
{
	return l->blocks_total;
}
