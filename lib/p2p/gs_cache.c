/* SPDX-License-Identifier: MIT */
/* Seen cache and message cache of the gossipsub router (see gs_cache.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gs_cache.h"

/* ---- hash table over message IDs ---- */

static uint64_t hash_id(uint64_t key, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ key;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct gs_hnode *ht_find(const struct gs_htab *t, const uint8_t *id, size_t len)
{
	uint64_t h;

	if (!t->nb)
		return NULL;
	h = hash_id(t->key, id, len);
	for (struct gs_hnode *n = t->b[h & (t->nb - 1)]; n; n = n->next)
		if (n->h == h && n->len == len && memcmp(n->id, id, len) == 0)
			return n;
	return NULL;
}

static int ht_insert(struct gs_htab *t, struct gs_hnode *n)
{
	if (t->n + 1 > t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 64;
		struct gs_hnode **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nb; i++) {
			struct gs_hnode *x = t->b[i], *next;

			for (; x; x = next) {
				next = x->next;
				x->next = b[x->h & (nb - 1)];
				b[x->h & (nb - 1)] = x;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	n->h = hash_id(t->key, n->id, n->len);
	n->next = t->b[n->h & (t->nb - 1)];
	t->b[n->h & (t->nb - 1)] = n;
	t->n++;
	return 0;
}

static void ht_remove(struct gs_htab *t, struct gs_hnode *n)
{
	struct gs_hnode **pp = &t->b[n->h & (t->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
	}
}

/* ---- seen cache ---- */

struct gs_seen_entry {
	struct gs_hnode hn;
	struct gs_seen_entry *newer;
	uint64_t until;
	uint8_t id[];
};

void gs_seen_init(struct gs_seen *s, size_t max, uint64_t ttl_us, uint64_t key)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->ttl_us = ttl_us;
	s->ht.key = key;
}

static void seen_pop(struct gs_seen *s)
{
	struct gs_seen_entry *e = s->old;

	s->old = e->newer;
	if (!s->old)
		s->new = NULL;
	ht_remove(&s->ht, &e->hn);
	s->bytes -= sizeof(*e) + e->hn.len;
	free(e);
}

void gs_seen_free(struct gs_seen *s)
{
	while (s->old)
		seen_pop(s);
	free(s->ht.b);
	s->ht.b = NULL;
	s->ht.nb = 0;
}

bool gs_seen_has(const struct gs_seen *s, const uint8_t *id, size_t len)
{
	return ht_find(&s->ht, id, len) != NULL;
}

void gs_seen_add(struct gs_seen *s, const uint8_t *id, size_t len, uint64_t now)
{
	struct gs_seen_entry *e;

	if (s->ht.n >= s->max && s->old)
		seen_pop(s); /* full: forget the oldest early rather than grow */
	e = malloc(sizeof(*e) + len);
	if (!e)
		return;
	memcpy(e->id, id, len);
	e->hn.id = e->id;
	e->hn.len = len;
	e->newer = NULL;
	e->until = now + s->ttl_us;
	if (ht_insert(&s->ht, &e->hn) < 0) {
		free(e);
		return;
	}
	if (s->new)
		s->new->newer = e;
	else
		s->old = e;
	s->new = e;
	s->bytes += sizeof(*e) + len;
}

void gs_seen_expire(struct gs_seen *s, uint64_t now)
{
	while (s->old && s->old->until <= now)
		seen_pop(s);
}

size_t gs_seen_memory(const struct gs_seen *s)
{
	return s->bytes + s->ht.nb * sizeof(void *);
}

/* ---- message cache ---- */

int gs_mcache_init(struct gs_mcache *c, unsigned windows, size_t max_bytes, uint64_t key)
{
	memset(c, 0, sizeof(*c));
	c->win = calloc(windows, sizeof(*c->win));
	if (!c->win)
		return -ENOMEM;
	c->len = windows;
	c->max_bytes = max_bytes;
	c->ht.key = key;
	return 0;
}

static void mentry_free(struct gs_mcache *c, struct gs_mentry *m)
{
	ht_remove(&c->ht, &m->hn);
	c->bytes -= sizeof(*m) + m->hn.len + m->raw_len + strlen(m->topic) + 1 + m->n_tx * sizeof(*m->tx);
	free(m->tx);
	free(m->raw);
	free(m->topic);
	free(m);
}

void gs_mcache_free(struct gs_mcache *c)
{
	if (!c->win)
		return;
	for (size_t i = 0; i < c->len; i++) {
		for (size_t j = 0; j < c->win[i].n; j++)
			mentry_free(c, c->win[i].e[j]);
		free(c->win[i].e);
	}
	free(c->win);
	c->win = NULL;
	free(c->ht.b);
	c->ht.b = NULL;
	c->ht.nb = 0;
}

struct gs_mentry *gs_mcache_get(const struct gs_mcache *c, const uint8_t *id, size_t len)
{
	/* hn is the first member: the node is the entry. */
	return (struct gs_mentry *)ht_find(&c->ht, id, len);
}

int gs_mcache_put(struct gs_mcache *c, const uint8_t *id, size_t len, const char *topic, size_t topic_len,
		  const uint8_t *raw, size_t raw_len)
{
	struct gs_mwindow *w = &c->win[0];
	struct gs_mentry *m;

	if (ht_find(&c->ht, id, len))
		return 0;
	if (c->max_bytes && c->bytes + raw_len > c->max_bytes)
		return -ENOSPC;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct gs_mentry **e = realloc(w->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		w->e = e;
		w->cap = cap;
	}
	m = calloc(1, sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	memcpy(m->id, id, len);
	m->hn.id = m->id;
	m->hn.len = len;
	m->raw = malloc(raw_len ? raw_len : 1);
	m->topic = mem_strdup(topic, topic_len);
	if (!m->raw || !m->topic || ht_insert(&c->ht, &m->hn) < 0) {
		free(m->raw);
		free(m->topic);
		free(m);
		return -ENOMEM;
	}
	memcpy(m->raw, raw, raw_len);
	m->raw_len = raw_len;
	w->e[w->n++] = m;
	c->bytes += sizeof(*m) + len + raw_len + strlen(m->topic) + 1; /* as mentry_free takes it back */
	return 0;
}

void gs_mcache_shift(struct gs_mcache *c)
{
	struct gs_mwindow last = c->win[c->len - 1];

	for (size_t i = 0; i < last.n; i++)
		mentry_free(c, last.e[i]);
	memmove(&c->win[1], &c->win[0], (c->len - 1) * sizeof(*c->win));
	c->win[0] = last;
	c->win[0].n = 0;
}

struct gs_tx *gs_mcache_tx(struct gs_mcache *c, struct gs_mentry *m, uint32_t serial)
{
	struct gs_tx *n;

	for (size_t k = 0; k < m->n_tx; k++)
		if (m->tx[k].serial == serial)
			return &m->tx[k];
	n = realloc(m->tx, (m->n_tx + 1) * sizeof(*n));
	if (!n)
		return NULL;
	m->tx = n;
	m->tx[m->n_tx] = (struct gs_tx){ serial, 0 };
	c->bytes += sizeof(*n);
	return &m->tx[m->n_tx++];
}

size_t gs_mcache_memory(const struct gs_mcache *c)
{
	size_t m = c->bytes + c->ht.nb * sizeof(void *);

	for (size_t i = 0; i < c->len; i++)
		m += c->win[i].cap * sizeof(void *);
	return m;
}
