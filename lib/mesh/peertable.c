/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "peertable.h"

struct peertable {
	struct pt_entry *e; /* sorted by id bytes (len first, then memcmp) */
	size_t n, cap, max;
};

static int id_cmp(const struct peerid *a, const struct peerid *b)
{
	if (a->len != b->len)
		return (int)a->len - (int)b->len;
	return memcmp(a->b, b->b, a->len);
}

struct peertable *pt_new(size_t max_entries)
{
	struct peertable *pt = calloc(1, sizeof(*pt));

	if (pt)
		pt->max = max_entries ? max_entries : PT_MAX_DEFAULT;
	return pt;
}

void pt_free(struct peertable *pt)
{
	if (!pt)
		return;
	free(pt->e);
	free(pt);
}

/* Index of id, or of where it would be inserted (with *found = false). */
static size_t locate(const struct peertable *pt, const struct peerid *id, bool *found)
{
	size_t lo = 0, hi = pt->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = id_cmp(&pt->e[mid].id, id);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void remove_at(struct peertable *pt, size_t i)
{
	memmove(&pt->e[i], &pt->e[i + 1], (pt->n - i - 1) * sizeof(pt->e[0]));
	pt->n--;
}

/* Content equality ignoring the sequence number (field by field: padding is not content). */
static bool same_content(const struct announce *a, const struct announce *b)
{
	if (a->flags != b->flags || strcmp(a->name, b->name) != 0 || memcmp(a->wg_pub, b->wg_pub, 32) != 0 ||
	    a->wg_port != b->wg_port || a->n_claims != b->n_claims || a->n_eps != b->n_eps || a->n_la != b->n_la)
		return false;
	for (unsigned i = 0; i < a->n_la; i++)
		if (a->la[i].len != b->la[i].len || memcmp(a->la[i].b, b->la[i].b, a->la[i].len) != 0)
			return false;
	for (unsigned i = 0; i < a->n_claims; i++)
		if (!ann_ip_eq(&a->claims[i].addr, &b->claims[i].addr) ||
		    a->claims[i].claimed_ms != b->claims[i].claimed_ms)
			return false;
	for (unsigned i = 0; i < a->n_eps; i++)
		if (!ann_ip_eq(&a->eps[i].addr, &b->eps[i].addr) || a->eps[i].port != b->eps[i].port)
			return false;
	/* a new public WireGuard endpoint (docs/nat.md) is a change: punch anew */
	if (a->has_wep != b->has_wep ||
	    (a->has_wep && (!ann_ip_eq(&a->wep.addr, &b->wep.addr) || a->wep.port != b->wep.port)))
		return false;
	/* relay requests and offers (docs/nat.md) */
	if (a->n_rq != b->n_rq || a->n_ry != b->n_ry || memcmp(a->rq, b->rq, sizeof(a->rq[0]) * a->n_rq) != 0 ||
	    memcmp(a->ry, b->ry, sizeof(a->ry[0]) * a->n_ry) != 0)
		return false;
	/* A new network PSK key ID changes the pair's WireGuard PSK (pairpsk.h). */
	if (a->n_pk != b->n_pk || memcmp(a->pk, b->pk, sizeof(a->pk[0]) * a->n_pk) != 0)
		return false;
	return true;
}

int pt_apply(struct peertable *pt, const struct peerid *self, const struct peerid *author,
	     const struct announce *a, uint64_t now_us)
{
	struct pt_entry *e;
	bool found;
	size_t i;

	if (self && id_cmp(self, author) == 0)
		return PT_SELF;
	i = locate(pt, author, &found);
	if (found && a->seq <= pt->e[i].ann.seq)
		return PT_STALE;
	if (a->flags & ANN_F_LEAVING) {
		if (found)
			remove_at(pt, i);
		return found ? PT_LEFT : PT_STALE;
	}
	/* One WireGuard key, one node: a second author announcing a key already
	 * held by a live entry would hijack its traffic. The first holder keeps it. */
	for (size_t j = 0; j < pt->n; j++)
		if (j != i || !found)
			if (id_cmp(&pt->e[j].id, author) != 0 && memcmp(pt->e[j].ann.wg_pub, a->wg_pub, 32) == 0)
				return PT_REJECTED;
	if (found) {
		int r;

		e = &pt->e[i];
		r = same_content(&e->ann, a) ? PT_REFRESHED : PT_UPDATED;
		e->ann = *a;
		e->last_seen_us = now_us;
		return r;
	}
	if (pt->n >= pt->max)
		return PT_REJECTED;
	if (pt->n == pt->cap) {
		size_t ncap = pt->cap ? pt->cap * 2 : 16;
		struct pt_entry *ne = realloc(pt->e, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		pt->e = ne;
		pt->cap = ncap;
	}
	memmove(&pt->e[i + 1], &pt->e[i], (pt->n - i) * sizeof(pt->e[0]));
	pt->n++;
	e = &pt->e[i];
	memset(e, 0, sizeof(*e));
	e->id = *author;
	e->ann = *a;
	e->first_seen_us = e->last_seen_us = now_us;
	return PT_NEW;
}

size_t pt_expire(struct peertable *pt, uint64_t now_us, uint64_t expiry_us,
		 void (*fn)(void *ud, const struct pt_entry *e), void *ud)
{
	size_t removed = 0;

	for (size_t i = 0; i < pt->n;) {
		if (now_us >= pt->e[i].last_seen_us && now_us - pt->e[i].last_seen_us > expiry_us) {
			if (fn)
				fn(ud, &pt->e[i]);
			remove_at(pt, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

bool pt_touch(struct peertable *pt, const struct peerid *id, uint64_t now_us)
{
	bool found;
	size_t i = locate(pt, id, &found);

	if (found && now_us > pt->e[i].last_seen_us)
		pt->e[i].last_seen_us = now_us;
	return found;
}

bool pt_remove(struct peertable *pt, const struct peerid *id, void (*fn)(void *ud, const struct pt_entry *e),
	       void *ud)
{
	bool found;
	size_t i = locate(pt, id, &found);

	if (!found)
		return false;
	if (fn)
		fn(ud, &pt->e[i]);
	remove_at(pt, i);
	return true;
}

size_t pt_rank(const struct peertable *pt, const struct peerid *id)
{
	bool found;

	return locate(pt, id, &found);
}

size_t pt_count(const struct peertable *pt)
{
	return pt->n;
}

const struct pt_entry *pt_at(const struct peertable *pt, size_t i)
{
	return i < pt->n ? &pt->e[i] : NULL;
}

const struct pt_entry *pt_find(const struct peertable *pt, const struct peerid *id)
{
	bool found;
	size_t i = locate(pt, id, &found);

	return found ? &pt->e[i] : NULL;
}

uint64_t pt_oldest_seen(const struct peertable *pt)
{
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < pt->n; i++)
		if (pt->e[i].last_seen_us < m)
			m = pt->e[i].last_seen_us;
	return m;
}
