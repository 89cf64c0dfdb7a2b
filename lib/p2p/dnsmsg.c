/* SPDX-License-Identifier: MIT */
#include "dnsmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "rd.h"

#define HDR_LEN 12

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Reads a possibly compressed name at r's position (msg is the whole message
 * for pointers). RFC 1035 4.1.4: a pointer is 11 + 14-bit offset. Pointers
 * must go strictly backwards from the label that holds them, so every jump
 * lands earlier and no loop exists; DNS_MAX_PTRS bounds the work anyway.
 * Label types 01 and 10 (RFC 6891 extended labels) are refused.
 */
static void read_name(struct rd *r, const uint8_t *msg, size_t msglen, struct dns_name *out)
{
	struct rd cur = *r; /* where labels are read from now */
	bool jumped = false;
	unsigned ptrs = 0;
	size_t limit = r->off; /* a pointer must point below this */

	out->len = 0;
	for (;;) {
		size_t at = cur.off;
		uint8_t l = rd_u8(&cur);
		const uint8_t *lab;

		if (!rd_ok(&cur))
			goto fail;
		if ((l & 0xc0) == 0xc0) {
			size_t to = ((size_t)(l & 0x3f) << 8) | rd_u8(&cur);

			if (!rd_ok(&cur) || ++ptrs > DNS_MAX_PTRS || to >= at || to >= limit || to < HDR_LEN)
				goto fail;
			if (!jumped) {
				r->off = cur.off;
				jumped = true;
			}
			limit = to;
			rd_init(&cur, msg, msglen);
			if (!rd_skip(&cur, to))
				goto fail;
			continue;
		}
		if (l & 0xc0)
			goto fail;
		if ((size_t)out->len + 1 + l > DNS_NAME_MAX)
			goto fail;
		out->b[out->len++] = l;
		if (l == 0)
			break;
		if (!(lab = rd_take(&cur, l)))
			goto fail;
		memcpy(out->b + out->len, lab, l);
		out->len += l;
	}
	if (!jumped)
		r->off = cur.off;
	return;
fail:
	out->len = 0;
	rd_fail(r);
}

static int parse_rr(struct rd *r, const uint8_t *p, size_t n, struct dns_rr *rr)
{
	struct rd rdr;

	read_name(r, p, n, &rr->name);
	rr->type = rd_be16(r);
	rr->rclass = rd_be16(r);
	rr->ttl = rd_be32(r);
	rr->rdlen = rd_be16(r);
	if (!rd_ok(r))
		return W2W_EPARSE;
	rr->rdata = r->p + r->off;
	if (!rd_sub(r, rr->rdlen, &rdr))
		return W2W_EPARSE;
	switch (rr->type) {
	case DNS_T_PTR: {
		/* The name may point anywhere earlier in the message: read it with
		 * a reader over the whole message positioned at the rdata. */
		struct rd nr;

		rd_init(&nr, p, (size_t)(rr->rdata - p) + rr->rdlen);
		rd_skip(&nr, (size_t)(rr->rdata - p));
		read_name(&nr, p, n, &rr->u.target);
		if (!rd_ok(&nr) || !rd_eof(&nr))
			return W2W_EPARSE;
		break;
	}
	case DNS_T_SRV: {
		struct rd nr;

		rd_init(&nr, p, (size_t)(rr->rdata - p) + rr->rdlen);
		rd_skip(&nr, (size_t)(rr->rdata - p));
		rr->u.srv.prio = rd_be16(&nr);
		rr->u.srv.weight = rd_be16(&nr);
		rr->u.srv.port = rd_be16(&nr);
		read_name(&nr, p, n, &rr->u.srv.target);
		if (!rd_ok(&nr) || !rd_eof(&nr))
			return W2W_EPARSE;
		break;
	}
	case DNS_T_A:
		if (rr->rdlen != 4)
			return W2W_EPARSE;
		memcpy(rr->u.ip, rr->rdata, 4);
		break;
	case DNS_T_AAAA:
		if (rr->rdlen != 16)
			return W2W_EPARSE;
		memcpy(rr->u.ip, rr->rdata, 16);
		break;
	case DNS_T_TXT: {
		size_t off = 0, sl;
		const uint8_t *s;
		int k;

		while ((k = dns_txt_next(rr->rdata, rr->rdlen, &off, &s, &sl)) > 0)
			;
		if (k < 0)
			return W2W_EPARSE;
		break;
	}
	default:
		break;
	}
	return 0;
}

int dns_parse(struct dns_msg *m, const uint8_t *p, size_t n)
{
	struct rd r;
	uint16_t cnt[4];

	if (n > DNS_MSG_MAX)
		return W2W_EPARSE;
	rd_init(&r, p, n);
	m->id = rd_be16(&r);
	m->flags = rd_be16(&r);
	for (int i = 0; i < 4; i++)
		cnt[i] = rd_be16(&r);
	if (!rd_ok(&r) || cnt[0] > DNS_MAX_Q)
		return W2W_EPARSE;
	m->nq = 0;
	m->nrr = 0;
	m->dropped = 0;
	for (unsigned i = 0; i < cnt[0]; i++) {
		struct dns_question *q = &m->q[m->nq++];

		read_name(&r, p, n, &q->name);
		q->type = rd_be16(&r);
		q->qclass = rd_be16(&r);
		if (!rd_ok(&r))
			return W2W_EPARSE;
	}
	for (unsigned s = 1; s <= 3; s++) {
		for (unsigned i = 0; i < cnt[s]; i++) {
			struct dns_rr tmp, *rr = m->nrr < DNS_MAX_RR ? &m->rr[m->nrr] : &tmp;

			/* Every record takes at least 11 bytes: a count larger than
			 * what is left fails here at once, not after 65535 rounds. */
			if (rd_left(&r) < 11 || parse_rr(&r, p, n, rr) < 0)
				return W2W_EPARSE;
			rr->section = (uint8_t)s;
			if (rr == &tmp)
				m->dropped++;
			else
				m->nrr++;
		}
	}
	return rd_eof(&r) ? 0 : W2W_EPARSE;
}

int dns_txt_next(const uint8_t *rdata, size_t rdlen, size_t *off, const uint8_t **s, size_t *len)
{
	size_t l;

	if (*off >= rdlen)
		return 0;
	l = rdata[*off];
	if (l > rdlen - *off - 1)
		return W2W_EPARSE;
	*s = rdata + *off + 1;
	*len = l;
	*off += 1 + l;
	return 1;
}

int dns_name_from_text(struct dns_name *out, const char *s)
{
	size_t n = strlen(s);

	if (n && s[n - 1] == '.')
		n--;
	out->len = 0;
	while (n) {
		const char *dot = memchr(s, '.', n);
		size_t l = dot ? (size_t)(dot - s) : n;

		if (l == 0 || l > 63 || (size_t)out->len + 1 + l + 1 > DNS_NAME_MAX)
			return W2W_EPARSE;
		out->b[out->len++] = (uint8_t)l;
		memcpy(out->b + out->len, s, l);
		out->len += (uint8_t)l;
		s += l;
		n -= l;
		if (dot) {
			if (n == 1)
				return W2W_EPARSE; /* "a..": empty label */
			s++;
			n--;
		}
	}
	out->b[out->len++] = 0;
	return 0;
}

int dns_name_to_text(char *out, size_t cap, const struct dns_name *nm)
{
	size_t o = 0, i = 0;

	if (cap == 0)
		return -ENOSPC;
	while (i < nm->len && nm->b[i]) {
		uint8_t l = nm->b[i++];

		if (o && o + 1 < cap)
			out[o++] = '.';
		else if (o)
			return -ENOSPC;
		for (uint8_t k = 0; k < l && i < nm->len; k++, i++) {
			uint8_t c = nm->b[i];

			if (c > ' ' && c <= '~' && c != '.' && c != '\\') {
				if (o + 1 >= cap)
					return -ENOSPC;
				out[o++] = (char)c;
			} else {
				if (o + 4 >= cap)
					return -ENOSPC;
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
	}
	if (o == 0) {
		if (cap < 2)
			return -ENOSPC;
		out[o++] = '.';
	}
	out[o] = 0;
	return (int)o;
}

bool dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	/* Label lengths are <= 63 and so never change under lower(). */
	for (size_t i = 0; i < a->len; i++)
		if (lower(a->b[i]) != lower(b->b[i]))
			return false;
	return true;
}

int dns_name_prepend(struct dns_name *out, const uint8_t *label, size_t len, const struct dns_name *rest)
{
	if (len == 0 || len > 63 || 1 + len + rest->len > DNS_NAME_MAX || rest->len == 0)
		return W2W_EPARSE;
	memmove(out->b + 1 + len, rest->b, rest->len);
	out->b[0] = (uint8_t)len;
	memcpy(out->b + 1, label, len);
	out->len = (uint8_t)(1 + len + rest->len);
	return 0;
}

bool dns_name_split(const struct dns_name *n, const uint8_t **label, size_t *len, struct dns_name *rest)
{
	if (n->len < 2 || n->b[0] == 0 || (size_t)n->b[0] + 1 >= n->len)
		return false;
	*label = n->b + 1;
	*len = n->b[0];
	rest->len = (uint8_t)(n->len - 1 - n->b[0]);
	memmove(rest->b, n->b + 1 + n->b[0], rest->len);
	return true;
}

/* --- builder --- */

static void put(struct dnsw *w, const void *p, size_t n)
{
	if (w->err || !n)
		return; /* memcpy(x, NULL, 0) is undefined (empty rdata passes NULL) */
	if (n > w->cap - w->len) {
		w->err = W2W_ELIMIT;
		return;
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void put16(struct dnsw *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(w, b, 2);
}

static void put32(struct dnsw *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

static void put_name(struct dnsw *w, const struct dns_name *n)
{
	if (n->len == 0)
		w->err = w->err ? w->err : W2W_EPARSE;
	put(w, n->b, n->len);
}

void dnsw_init(struct dnsw *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	w->p = buf;
	w->cap = cap < DNS_MSG_MAX ? cap : DNS_MSG_MAX;
	w->len = 0;
	w->err = 0;
	w->section = 0;
	memset(w->counts, 0, sizeof(w->counts));
	put16(w, id);
	put16(w, flags);
	for (int i = 0; i < 4; i++)
		put16(w, 0);
}

static bool count(struct dnsw *w, uint8_t section)
{
	if (section > DNS_AR || section < w->section || w->counts[section] == UINT16_MAX) {
		w->err = w->err ? w->err : W2W_EPARSE;
		return false;
	}
	w->section = section;
	w->counts[section]++;
	return true;
}

void dnsw_question(struct dnsw *w, const struct dns_name *name, uint16_t type, uint16_t qclass)
{
	if (!count(w, 0))
		return;
	put_name(w, name);
	put16(w, type);
	put16(w, qclass);
}

static void rr_head(struct dnsw *w, const struct dns_name *name, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	put_name(w, name);
	put16(w, type);
	put16(w, rclass);
	put32(w, ttl);
}

void dnsw_raw(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t type, uint16_t rclass,
              uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	if (section == 0 || !count(w, section))
		return;
	if (rdlen > UINT16_MAX) {
		w->err = w->err ? w->err : W2W_EPARSE;
		return;
	}
	rr_head(w, name, type, rclass, ttl);
	put16(w, (uint16_t)rdlen);
	put(w, rdata, rdlen);
}

void dnsw_ptr(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              const struct dns_name *target)
{
	dnsw_raw(w, section, name, DNS_T_PTR, rclass, ttl, target->b, target->len);
	if (target->len == 0)
		w->err = w->err ? w->err : W2W_EPARSE;
}

void dnsw_txt(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              const uint8_t *const *strs, const size_t *lens, size_t n)
{
	size_t total = n ? 0 : 1;

	for (size_t i = 0; i < n; i++) {
		if (lens[i] > 255) {
			w->err = w->err ? w->err : W2W_EPARSE;
			return;
		}
		total += 1 + lens[i];
	}
	if (section == 0 || total > UINT16_MAX || !count(w, section)) {
		w->err = w->err ? w->err : W2W_EPARSE;
		return;
	}
	rr_head(w, name, DNS_T_TXT, rclass, ttl);
	put16(w, (uint16_t)total);
	if (n == 0)
		put(w, "", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t l = (uint8_t)lens[i];

		put(w, &l, 1);
		put(w, strs[i], lens[i]);
	}
}

void dnsw_srv(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              uint16_t prio, uint16_t weight, uint16_t port, const struct dns_name *target)
{
	if (section == 0 || !count(w, section))
		return;
	rr_head(w, name, DNS_T_SRV, rclass, ttl);
	put16(w, (uint16_t)(6 + target->len));
	put16(w, prio);
	put16(w, weight);
	put16(w, port);
	put_name(w, target);
}

void dnsw_rr(struct dnsw *w, const struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_PTR:
		dnsw_ptr(w, rr->section, &rr->name, rr->rclass, rr->ttl, &rr->u.target);
		break;
	case DNS_T_SRV:
		dnsw_srv(w, rr->section, &rr->name, rr->rclass, rr->ttl, rr->u.srv.prio, rr->u.srv.weight,
		         rr->u.srv.port, &rr->u.srv.target);
		break;
	default:
		dnsw_raw(w, rr->section, &rr->name, rr->type, rr->rclass, rr->ttl, rr->rdata, rr->rdlen);
		break;
	}
}

int dnsw_finish(struct dnsw *w)
{
	if (w->err)
		return w->err;
	if (w->len < HDR_LEN)
		return W2W_ELIMIT;
	for (int i = 0; i < 4; i++) {
		w->p[4 + 2 * i] = (uint8_t)(w->counts[i] >> 8);
		w->p[5 + 2 * i] = (uint8_t)w->counts[i];
	}
	return (int)w->len;
}
