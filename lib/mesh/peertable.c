/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "peertable.h"

struct pt_tomb {
	struct peerid id;
	uint64_t seq;      /* the LEAVING announcement's */
	uint64_t until_us; /* kept until then */
};

struct peertable {
	struct pt_entry *e; /* sorted by id bytes (len first, then memcmp) */
	size_t n, cap, max;
	struct pt_tomb *tombs; /* unsorted, at most PT_MAX_TOMBS */
	size_t n_tombs, cap_tombs;
	uint64_t tomb_ttl_us;
};

struct peertable *pt_new(size_t max_entries)
{
	struct peertable *pt = calloc(1, sizeof(*pt));

	if (pt) {
		pt->max = max_entries ? max_entries : PT_MAX_DEFAULT;
		pt->tomb_ttl_us = PT_TOMB_TTL_DEFAULT_US;
	}
	return pt;
}

void pt_set_tombstone_ttl(struct peertable *pt, uint64_t ttl_us)
{
	pt->tomb_ttl_us = ttl_us;
}

void pt_free(struct peertable *pt)
{
	if (!pt)
		return;
	free(pt->e);
	free(pt->tombs);
	free(pt);
}

/* Index of id, or of where it would be inserted (with *found = false). */
static size_t locate(const struct peertable *pt, const struct peerid *id, bool *found)
{
	size_t lo = 0, hi = pt->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = peerid_cmp(&pt->e[mid].id, id);

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
	if (a->has_next != b->has_next || (a->has_next && memcmp(a->wg_next, b->wg_next, 32) != 0))
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

static struct pt_tomb *tomb_find(const struct peertable *pt, const struct peerid *id)
{
	for (size_t i = 0; i < pt->n_tombs; i++)
		if (peerid_cmp(&pt->tombs[i].id, id) == 0)
			return &pt->tombs[i];
	return NULL;
}

bool pt_tombstone(const struct peertable *pt, const struct peerid *id, uint64_t now_us, uint64_t *seq)
{
	const struct pt_tomb *t = tomb_find(pt, id);

	if (!t || now_us >= t->until_us)
		return false;
	if (seq)
		*seq = t->seq;
	return true;
}

/* Records (or raises) id's tombstone. Expired ones are dropped first; when
 * still full, the one that expires first makes room. A failed allocation
 * keeps the table as it was (the leave itself still happens). */
static void tomb_put(struct peertable *pt, const struct peerid *id, uint64_t seq, uint64_t now_us)
{
	struct pt_tomb *t = tomb_find(pt, id);

	if (!t) {
		for (size_t i = 0; i < pt->n_tombs;)
			if (now_us >= pt->tombs[i].until_us)
				pt->tombs[i] = pt->tombs[--pt->n_tombs];
			else
				i++;
		if (pt->n_tombs >= PT_MAX_TOMBS) {
			size_t k = 0;

			for (size_t i = 1; i < pt->n_tombs; i++)
				if (pt->tombs[i].until_us < pt->tombs[k].until_us)
					k = i;
			t = &pt->tombs[k];
		} else {
			if (pt->n_tombs == pt->cap_tombs) {
				size_t nc = pt->cap_tombs ? pt->cap_tombs * 2 : 8;
				struct pt_tomb *nt = realloc(pt->tombs, nc * sizeof(*nt));

				if (!nt)
					return;
				pt->tombs = nt;
				pt->cap_tombs = nc;
			}
			t = &pt->tombs[pt->n_tombs++];
		}
		t->id = *id;
		t->seq = 0;
	}
	if (seq > t->seq)
		t->seq = seq;
	t->until_us = now_us + pt->tomb_ttl_us;
}

/* Does a (another author's announcement) use a key that o holds or announced
 * as its next one (key rotation, docs/mesh.md "Key rotation")? The first to
 * announce a key, current or next, keeps it. */
static bool key_taken(const struct announce *o, const struct announce *a)
{
	if (!memcmp(o->wg_pub, a->wg_pub, 32) || (o->has_next && !memcmp(o->wg_next, a->wg_pub, 32)))
		return true;
	return a->has_next &&
	       (!memcmp(o->wg_pub, a->wg_next, 32) || (o->has_next && !memcmp(o->wg_next, a->wg_next, 32)));
}

int pt_apply(struct peertable *pt, const struct peerid *self, const struct peerid *author,
	     const struct announce *a, uint64_t now_us)
{
	struct pt_entry *e;
	bool found;
	size_t i;

	if (self && peerid_cmp(self, author) == 0)
		return PT_SELF;
	i = locate(pt, author, &found);
	if (found && a->seq <= pt->e[i].ann.seq)
		return PT_STALE;
	if (a->flags & ANN_F_LEAVING) {
		/* also for an author we do not hold: its older announcements may
		 * still be on their way */
		tomb_put(pt, author, a->seq, now_us);
		if (found)
			remove_at(pt, i);
		return found ? PT_LEFT : PT_STALE;
	}
	if (!found) {
		uint64_t left;

		/* An announcement from before its leave: ignored. A newer one is the
		 * node back (seq is its wall clock): the tombstone goes. */
		if (pt_tombstone(pt, author, now_us, &left) && a->seq <= left)
			return PT_STALE;
		for (size_t k = 0; k < pt->n_tombs; k++)
			if (peerid_cmp(&pt->tombs[k].id, author) == 0) {
				pt->tombs[k] = pt->tombs[--pt->n_tombs];
				break;
			}
	}
	/* One WireGuard key, one node: a second author announcing a key already
	 * held by a live entry would hijack its traffic. The first holder keeps it. */
	for (size_t j = 0; j < pt->n; j++)
		if (j != i || !found)
			if (peerid_cmp(&pt->e[j].id, author) != 0 && key_taken(&pt->e[j].ann, a))
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

bool pt_promote_next(struct peertable *pt, const struct peerid *id)
{
	bool found;
	size_t i = locate(pt, id, &found);
	struct pt_entry *e;

	if (!found || !pt->e[i].ann.has_next)
		return false;
	e = &pt->e[i];
	/* the same rule as pt_apply: a key another node holds stays its own; a
	 * next key two nodes announce is nobody's until its owner announces it */
	for (size_t j = 0; j < pt->n; j++)
		if (j != i && (memcmp(pt->e[j].ann.wg_pub, e->ann.wg_next, 32) == 0 ||
			       (pt->e[j].ann.has_next && memcmp(pt->e[j].ann.wg_next, e->ann.wg_next, 32) == 0)))
			return false;
	memcpy(e->ann.wg_pub, e->ann.wg_next, 32);
	e->ann.has_next = false;
	memset(e->ann.wg_next, 0, 32);
	return true;
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
