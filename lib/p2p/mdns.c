/* SPDX-License-Identifier: MIT */
#include "mdns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define DNSADDR "dnsaddr="
#define DNSADDR_LEN 8
#define TXT_STR_MAX 255                  /* RFC 6763 6.1 */
#define REEMIT_US (300ull * 1000 * 1000) /* a known, unchanged peer is re-announced after 5 min */

struct cand {
	bool used;
	bool pending; /* an event is due (rate limited) */
	struct peerid peer;
	uint64_t last_seen, expires, last_emit;
	size_t naddrs;
	uint8_t addr[MDNS_MAX_PEER_ADDRS][MDNS_ADDR_BIN_MAX];
	size_t addr_len[MDNS_MAX_PEER_ADDRS];
};

struct mdns {
	struct peerid self;
	char name[64];
	struct dns_name svc, inst;
	bool respond, query;
	uint64_t interval, next_query;
	bool resp_pending;
	uint64_t resp_due; /* earliest time the pending response may go out */
	uint64_t last_resp;
	bool resp_sent;
	unsigned burst, tokens;
	uint64_t token_us, next_token;
	size_t nown;
	uint8_t own[MDNS_MAX_OWN_ADDRS][TXT_STR_MAX];
	size_t own_len[MDNS_MAX_OWN_ADDRS];
	struct cand cand[MDNS_MAX_CANDIDATES];
	struct mdns_stats st;
	struct dns_msg msg; /* parse scratch: too large for the stack */
};

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int mdns_new(struct mdns **ret, const struct mdns_cfg *cfg, uint64_t now_us)
{
	struct mdns *m;

	if (!cfg || cfg->version < 1 || !cfg->self || cfg->self->len == 0 ||
	    (cfg->query_interval_us && cfg->query_interval_us < MDNS_MIN_INTERVAL_US) ||
	    (cfg->peer_name && !name_ok(cfg->peer_name)) || (!cfg->peer_name && !cfg->rng_fill))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->self = *cfg->self;
	if (cfg->peer_name) {
		strcpy(m->name, cfg->peer_name);
	} else {
		static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789";
		uint8_t r[MDNS_PEER_NAME_LEN];

		cfg->rng_fill(cfg->rng_ud, r, sizeof(r));
		for (size_t i = 0; i < sizeof(r); i++)
			m->name[i] = cs[r[i] % 36];
		m->name[MDNS_PEER_NAME_LEN] = 0;
	}
	if (dns_name_from_text(&m->svc, MDNS_SERVICE) < 0 ||
	    dns_name_prepend(&m->inst, (const uint8_t *)m->name, strlen(m->name), &m->svc) < 0) {
		free(m);
		return -EINVAL;
	}
	m->respond = cfg->respond;
	m->query = cfg->query;
	m->interval = cfg->query_interval_us ? cfg->query_interval_us : MDNS_DEFAULT_INTERVAL_US;
	m->next_query = now_us;
	m->burst = cfg->emit_burst ? cfg->emit_burst : 8;
	m->tokens = m->burst;
	m->token_us = cfg->emit_interval_us ? cfg->emit_interval_us : 1000000;
	m->next_token = now_us + m->token_us;
	*ret = m;
	return 0;
}

struct mdns *mdns_free(struct mdns *m)
{
	free(m);
	return NULL;
}

const char *mdns_peer_name(const struct mdns *m)
{
	return m->name;
}

const struct mdns_stats *mdns_stats(const struct mdns *m)
{
	return &m->st;
}

size_t mdns_candidates(const struct mdns *m)
{
	size_t n = 0;

	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++)
		n += m->cand[i].used;
	return n;
}

/* addr (binary, no /p2p) || /p2p/<peer>, as "dnsaddr=<text>"; the string length or -1. */
static int dnsaddr_text(uint8_t *out, const uint8_t *a, size_t alen, const struct peerid *peer)
{
	uint8_t bin[MA_MAX_BIN];
	char text[MA_MAX_TEXT];
	int n;

	if (alen + 3 + peer->len > sizeof(bin))
		return -1;
	memcpy(bin, a, alen);
	bin[alen] = 0xa5; /* uvarint(421) = /p2p */
	bin[alen + 1] = 0x03;
	bin[alen + 2] = peer->len;
	memcpy(bin + alen + 3, peer->b, peer->len);
	n = ma_format(text, sizeof(text), bin, alen + 3 + peer->len);
	if (n < 0 || DNSADDR_LEN + (size_t)n > TXT_STR_MAX)
		return -1;
	memcpy(out, DNSADDR, DNSADDR_LEN);
	memcpy(out + DNSADDR_LEN, text, (size_t)n);
	return DNSADDR_LEN + n;
}

int mdns_set_addrs(struct mdns *m, const uint8_t *const *addrs, const size_t *lens, size_t n, uint64_t now_us)
{
	if (n > MDNS_MAX_OWN_ADDRS)
		return -EINVAL;
	m->nown = 0;
	for (size_t i = 0; i < n; i++) {
		int l;

		if (ma_validate(addrs[i], lens[i]) < 0)
			continue;
		l = dnsaddr_text(m->own[m->nown], addrs[i], lens[i], &m->self);
		if (l > 0)
			m->own_len[m->nown++] = (size_t)l;
	}
	/* New addresses: announce them (RFC 6762 8.3) as soon as the rate limit allows. */
	if (m->respond && m->nown) {
		m->resp_pending = true;
		m->resp_due = now_us;
	}
	return (int)m->nown;
}

static struct cand *find(struct mdns *m, const struct peerid *p)
{
	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++)
		if (m->cand[i].used && peerid_eq(&m->cand[i].peer, p))
			return &m->cand[i];
	return NULL;
}

void mdns_forget(struct mdns *m, const struct peerid *peer)
{
	struct cand *c = find(m, peer);

	if (c)
		c->used = false;
}

/* A free slot, else an expired one, else the least recently seen (counted as an eviction). */
static struct cand *slot(struct mdns *m, uint64_t now)
{
	struct cand *old = NULL;

	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++) {
		struct cand *c = &m->cand[i];

		if (!c->used || c->expires <= now)
			return c;
		if (!old || c->last_seen < old->last_seen)
			old = c;
	}
	m->st.candidates_evicted++;
	return old;
}

static bool same_addrs(const struct cand *c, const struct mdns_found *f)
{
	if (c->naddrs != f->naddrs)
		return false;
	for (size_t i = 0; i < f->naddrs; i++)
		if (c->addr_len[i] != f->addr_len[i] || memcmp(c->addr[i], f->addr[i], f->addr_len[i]))
			return false;
	return true;
}

static void upsert(struct mdns *m, const struct mdns_found *f, uint32_t ttl, uint64_t now)
{
	struct cand *c = find(m, &f->peer);

	if (ttl == 0) { /* goodbye (RFC 6762 10.1) */
		if (c)
			c->used = false;
		return;
	}
	if (ttl > 4500)
		ttl = 4500; /* RFC 6762 10: 75 minutes is the longest TTL anyone uses */
	if (!c) {
		c = slot(m, now);
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->peer = f->peer;
		m->st.candidates_new++;
	}
	c->last_seen = now;
	c->expires = now + (uint64_t)ttl * 1000000;
	if (!c->pending && (!c->last_emit || !same_addrs(c, f) || now >= c->last_emit + REEMIT_US))
		c->pending = true;
	c->naddrs = f->naddrs;
	memcpy(c->addr, f->addr, sizeof(c->addr));
	memcpy(c->addr_len, f->addr_len, sizeof(c->addr_len));
}

/* One "dnsaddr=" string: adds the address to f when valid and of f's peer. */
static void take_addr(struct mdns *m, struct mdns_found *f, const uint8_t *s, size_t len)
{
	uint8_t bin[MA_MAX_BIN];
	struct ma_addr a;
	int n;

	if (len <= DNSADDR_LEN || memcmp(s, DNSADDR, DNSADDR_LEN))
		return; /* other TXT attributes are allowed and ignored */
	n = ma_parse(bin, sizeof(bin), (const char *)s + DNSADDR_LEN, len - DNSADDR_LEN);
	if (n < 0 || ma_decompose(bin, (size_t)n, &a) < 0 || !a.has_peer ||
	    (f->peer.len && !peerid_eq(&f->peer, &a.peer))) {
		m->st.addrs_rejected++;
		return;
	}
	if (!f->peer.len)
		f->peer = a.peer;
	a.has_peer = false;
	if (f->naddrs == MDNS_MAX_PEER_ADDRS)
		return;
	n = ma_compose(f->addr[f->naddrs], MDNS_ADDR_BIN_MAX, &a);
	if (n <= 0) {
		m->st.addrs_rejected++;
		return;
	}
	for (size_t i = 0; i < f->naddrs; i++)
		if (f->addr_len[i] == (size_t)n && !memcmp(f->addr[i], f->addr[f->naddrs], (size_t)n))
			return;
	f->addr_len[f->naddrs++] = (size_t)n;
}

static void on_response(struct mdns *m, const struct dns_msg *d, uint64_t now)
{
	struct mdns_found f;

	m->st.responses_seen++;
	for (size_t i = 0; i < d->nrr; i++) {
		const struct dns_rr *p = &d->rr[i];
		const uint8_t *label;
		size_t llen;
		struct dns_name rest;

		if (p->type != DNS_T_PTR || !dns_name_eq(&p->name, &m->svc))
			continue;
		if (!dns_name_split(&p->u.target, &label, &llen, &rest) || !dns_name_eq(&rest, &m->svc))
			continue;
		if (dns_name_eq(&p->u.target, &m->inst)) {
			m->st.rx_self++;
			continue;
		}
		memset(&f, 0, sizeof(f));
		for (size_t k = 0; k < d->nrr; k++) {
			const struct dns_rr *t = &d->rr[k];
			size_t off = 0, sl;
			const uint8_t *s;

			if (t->type != DNS_T_TXT || !dns_name_eq(&t->name, &p->u.target))
				continue;
			while (dns_txt_next(t->rdata, t->rdlen, &off, &s, &sl) > 0)
				take_addr(m, &f, s, sl);
		}
		if (!f.peer.len)
			continue;
		if (peerid_eq(&f.peer, &m->self)) {
			m->st.rx_self++;
			continue;
		}
		upsert(m, &f, p->ttl, now);
	}
}

static void on_query(struct mdns *m, const struct dns_msg *d, uint64_t now)
{
	bool want = false;

	for (size_t i = 0; i < d->nq; i++) {
		const struct dns_question *q = &d->q[i];
		uint16_t cls = q->qclass & ~DNS_CLASS_TOP;

		if (cls != DNS_C_IN && cls != DNS_T_ANY)
			continue;
		if (dns_name_eq(&q->name, &m->svc) && (q->type == DNS_T_PTR || q->type == DNS_T_ANY))
			want = true;
		if (dns_name_eq(&q->name, &m->inst) && (q->type == DNS_T_TXT || q->type == DNS_T_ANY))
			want = true;
	}
	if (!want)
		return;
	/* Known-answer suppression (RFC 6762 7.1): the querier already holds our
	 * PTR with at least half its TTL left. */
	for (size_t i = 0; i < d->nrr; i++) {
		const struct dns_rr *a = &d->rr[i];

		if (a->section == DNS_AN && a->type == DNS_T_PTR && dns_name_eq(&a->name, &m->svc) &&
		    dns_name_eq(&a->u.target, &m->inst) && a->ttl >= MDNS_TTL / 2)
			return;
	}
	m->st.queries_answered++;
	if (!m->resp_pending) {
		m->resp_pending = true;
		m->resp_due = now;
	}
}

void mdns_input(struct mdns *m, const uint8_t *pkt, size_t len, uint16_t src_port, uint64_t now_us)
{
	struct dns_msg *d = &m->msg;

	m->st.rx++;
	if (dns_parse(d, pkt, len) < 0) {
		m->st.rx_bad++;
		return;
	}
	/* RFC 6762 18.3, 18.11: other opcodes and rcodes are silently ignored. */
	if ((d->flags & DNS_F_OPCODE) || (d->flags & DNS_F_RCODE))
		return;
	if (d->flags & DNS_F_QR) {
		if (src_port != MDNS_PORT)
			return; /* RFC 6762 11 */
		on_response(m, d, now_us);
	} else if (m->respond && m->nown) {
		on_query(m, d, now_us);
	}
}

static void refill(struct mdns *m, uint64_t now)
{
	if (m->tokens >= m->burst) {
		m->next_token = now + m->token_us;
		return;
	}
	if (now >= m->next_token) {
		uint64_t k = (now - m->next_token) / m->token_us + 1;

		m->tokens = (uint64_t)m->tokens + k >= m->burst ? m->burst : m->tokens + (unsigned)k;
		m->next_token += k * m->token_us;
	}
}

void mdns_tick(struct mdns *m, uint64_t now_us)
{
	refill(m, now_us);
	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++)
		if (m->cand[i].used && m->cand[i].expires <= now_us)
			m->cand[i].used = false;
}

static uint64_t resp_time(const struct mdns *m)
{
	uint64_t t = m->resp_due;

	if (m->resp_sent && t < m->last_resp + MDNS_RESPONSE_GAP_US)
		t = m->last_resp + MDNS_RESPONSE_GAP_US;
	return t;
}

uint64_t mdns_next_deadline(const struct mdns *m)
{
	uint64_t t = UINT64_MAX;
	bool pending = false;

	if (m->query && m->next_query < t)
		t = m->next_query;
	if (m->resp_pending && resp_time(m) < t)
		t = resp_time(m);
	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++) {
		const struct cand *c = &m->cand[i];

		if (!c->used)
			continue;
		if (c->expires < t)
			t = c->expires;
		pending |= c->pending;
	}
	if (pending && m->tokens == 0 && m->next_token < t)
		t = m->next_token;
	return t;
}

static int build_response(struct mdns *m, uint8_t *buf, size_t cap, uint32_t ttl)
{
	struct dnsw w;
	const uint8_t *strs[MDNS_MAX_OWN_ADDRS];
	size_t lens[MDNS_MAX_OWN_ADDRS], n = 0;
	size_t size = 12 + (m->svc.len + 10 + m->inst.len) + (m->inst.len + 10);

	if (cap > MDNS_PKT_MAX)
		cap = MDNS_PKT_MAX;
	for (size_t i = 0; i < m->nown; i++) {
		if (size + 1 + m->own_len[i] > cap)
			continue; /* the rest does not fit one datagram */
		size += 1 + m->own_len[i];
		strs[n] = m->own[i];
		lens[n++] = m->own_len[i];
	}
	dnsw_init(&w, buf, cap, 0, DNS_F_QR | DNS_F_AA);
	/* PTR is a shared record, the TXT a unique one: cache-flush only on the TXT (RFC 6762 10.2). */
	dnsw_ptr(&w, DNS_AN, &m->svc, DNS_C_IN, ttl, &m->inst);
	dnsw_txt(&w, DNS_AR, &m->inst, DNS_C_IN | DNS_CLASS_TOP, ttl, strs, lens, n);
	return dnsw_finish(&w);
}

int mdns_poll_send(struct mdns *m, uint8_t *buf, size_t cap, uint64_t now_us)
{
	if (cap < MDNS_PKT_MAX)
		return W2W_ELIMIT;
	if (m->query && now_us >= m->next_query) {
		struct dnsw w;

		m->next_query = now_us + m->interval;
		/* The spec: a peer answers its own query, so that the others learn
		 * about it passively. */
		if (m->respond && m->nown && !m->resp_pending) {
			m->resp_pending = true;
			m->resp_due = now_us;
		}
		dnsw_init(&w, buf, cap, 0, 0);
		dnsw_question(&w, &m->svc, DNS_T_PTR, DNS_C_IN);
		return dnsw_finish(&w);
	}
	if (m->resp_pending && m->nown && now_us >= resp_time(m)) {
		m->resp_pending = false;
		m->resp_sent = true;
		m->last_resp = now_us;
		return build_response(m, buf, cap, MDNS_TTL);
	}
	return 0;
}

int mdns_goodbye(struct mdns *m, uint8_t *buf, size_t cap)
{
	if (!m->nown)
		return 0;
	return build_response(m, buf, cap, 0);
}

int mdns_poll_event(struct mdns *m, struct mdns_found *out, uint64_t now_us)
{
	struct cand *best = NULL;

	refill(m, now_us);
	for (size_t i = 0; i < MDNS_MAX_CANDIDATES; i++) {
		struct cand *c = &m->cand[i];

		/* Freshest first: a real peer answers every query, a flood's
		 * leftovers go stale, so a flood delays real peers by one query
		 * interval at most once it stops. */
		if (c->used && c->pending && c->expires > now_us && (!best || c->last_seen > best->last_seen))
			best = c;
	}
	if (!best)
		return 0;
	if (m->tokens == 0) {
		m->st.events_suppressed++;
		return 0;
	}
	if (m->tokens == m->burst)
		m->next_token = now_us + m->token_us;
	m->tokens--;
	best->pending = false;
	best->last_emit = now_us;
	memset(out, 0, sizeof(*out));
	out->peer = best->peer;
	out->naddrs = best->naddrs;
	memcpy(out->addr, best->addr, sizeof(out->addr));
	memcpy(out->addr_len, best->addr_len, sizeof(out->addr_len));
	m->st.events++;
	return 1;
}
