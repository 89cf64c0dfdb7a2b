/* SPDX-License-Identifier: MIT */
/*
 * Gossipsub RPC protobuf codec. Field numbers: go-libp2p-pubsub pb/rpc.proto
 * (RPC 1 subscriptions, 2 publish, 3 control; ControlMessage 1 ihave, 2 iwant,
 * 3 graft, 4 prune; PRUNE 2 peers, 3 backoff).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "gsrpc.h"
#include "pb.h"
#include "rd.h"
#include "varint.h"

/* ---- decoding ---------------------------------------------------------- */

/*
 * One walker serves both passes: with arrays NULL it only validates and
 * counts; with arrays set it stores at the same indices. Caps are applied by
 * the same comparisons in both passes, so the two agree.
 */
struct walk {
	const struct gsrpc_limits *lim;
	size_t subs, msgs, ctrl, ids, px, truncated;
	size_t ihave, iwant, graft, prune; /* per-kind indices (fill pass) */
	struct gsrpc_sub *a_subs;
	struct gsrpc_msg *a_msgs;
	struct gsrpc_ihave *a_ihave;
	struct gsrpc_iwant *a_iwant;
	struct gsb *a_graft;
	struct gsrpc_prune *a_prune;
	struct gsb *a_ids;
	struct gsrpc_px *a_px;
	bool fill;
};

static bool under(size_t have, size_t cap)
{
	return cap == 0 || have < cap;
}

/* A cap of struct gsrpc_limits; 0 (no limits given): none. */
#define CAP(w, field) ((w)->lim ? (w)->lim->field : 0)

/* Room for one more element (have stored so far, cap)? Else it is skipped
 * and counted in truncated. */
static bool take(struct walk *w, size_t have, size_t cap)
{
	if (under(have, cap))
		return true;
	w->truncated++;
	return false;
}

static int expect(const struct pb_field *f, uint8_t wire)
{
	return f->wire == wire ? 0 : W2W_EPARSE;
}

static int walk_sub(struct walk *w, const uint8_t *p, size_t n)
{
	struct gsrpc_sub s = {0};
	struct pb_field f;
	struct rd r;
	int k;

	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num == 1) {
			if (expect(&f, PB_VARINT))
				return W2W_EPARSE;
			s.subscribe = f.v != 0;
		} else if (f.num == 2) {
			if (expect(&f, PB_LEN))
				return W2W_EPARSE;
			s.topic = (struct gsb){f.p, f.len};
		}
	}
	if (k < 0)
		return W2W_EPARSE;
	if (!take(w, w->subs, CAP(w, max_subs)))
		return 0;
	if (w->fill)
		w->a_subs[w->subs] = s;
	w->subs++;
	return 0;
}

static int parse_msg(const uint8_t *p, size_t n, struct gsrpc_msg *m)
{
	struct pb_field f;
	struct rd r;
	int k;

	memset(m, 0, sizeof(*m));
	m->raw = (struct gsb){p, n};
	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		struct gsb v = {f.p, f.len};
		unsigned bit;

		if (f.num < 1 || f.num > 6)
			continue;
		if (expect(&f, PB_LEN))
			return W2W_EPARSE;
		bit = 1u << (f.num - 1);
		m->has |= bit;
		switch (f.num) {
		case 1:
			m->from = v;
			break;
		case 2:
			m->data = v;
			break;
		case 3:
			m->seqno = v;
			break;
		case 4:
			m->topic = v;
			break;
		case 5:
			m->signature = v;
			break;
		default:
			m->key = v;
			break;
		}
	}
	return k < 0 ? W2W_EPARSE : 0;
}

static int walk_msg(struct walk *w, const uint8_t *p, size_t n)
{
	struct gsrpc_msg m;

	if (parse_msg(p, n, &m) < 0)
		return W2W_EPARSE;
	if (!take(w, w->msgs, CAP(w, max_msgs)))
		return 0;
	if (w->fill)
		w->a_msgs[w->msgs] = m;
	w->msgs++;
	return 0;
}

/* Message IDs (field `ids_field`) of an IHAVE or IWANT; topic from field 1 when topic != NULL. */
static int walk_ids(struct walk *w, const uint8_t *p, size_t n, uint32_t ids_field, struct gsb *topic,
                    size_t *first, size_t *count)
{
	struct pb_field f;
	struct rd r;
	int k;

	*first = w->ids;
	*count = 0;
	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		if (topic && f.num == 1) {
			if (expect(&f, PB_LEN))
				return W2W_EPARSE;
			*topic = (struct gsb){f.p, f.len};
		} else if (f.num == ids_field) {
			if (expect(&f, PB_LEN))
				return W2W_EPARSE;
			if (!take(w, w->ids, CAP(w, max_ids)))
				continue;
			if (w->fill)
				w->a_ids[w->ids] = (struct gsb){f.p, f.len};
			w->ids++;
			(*count)++;
		}
	}
	return k < 0 ? W2W_EPARSE : 0;
}

static int walk_prune(struct walk *w, const uint8_t *p, size_t n, struct gsrpc_prune *pr)
{
	struct pb_field f;
	struct rd r;
	size_t first = w->px;
	int k;

	memset(pr, 0, sizeof(*pr));
	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num == 1) {
			if (expect(&f, PB_LEN))
				return W2W_EPARSE;
			pr->topic = (struct gsb){f.p, f.len};
		} else if (f.num == 2) {
			struct gsrpc_px px = {{NULL, 0}, {NULL, 0}};
			struct pb_field g;
			struct rd s;
			int j;

			if (expect(&f, PB_LEN))
				return W2W_EPARSE;
			rd_init(&s, f.p, f.len);
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.num != 1 && g.num != 2)
					continue;
				if (expect(&g, PB_LEN))
					return W2W_EPARSE;
				if (g.num == 1)
					px.peer_id = (struct gsb){g.p, g.len};
				else
					px.record = (struct gsb){g.p, g.len};
			}
			if (j < 0)
				return W2W_EPARSE;
			if (!take(w, w->px, CAP(w, max_px)))
				continue;
			if (w->fill)
				w->a_px[w->px] = px;
			w->px++;
		} else if (f.num == 3) {
			if (expect(&f, PB_VARINT))
				return W2W_EPARSE;
			pr->has_backoff = true;
			pr->backoff = f.v;
		}
	}
	if (k < 0)
		return W2W_EPARSE;
	pr->px = w->fill ? w->a_px + first : NULL;
	pr->n_px = w->px - first;
	return 0;
}

static int walk_control(struct walk *w, const uint8_t *p, size_t n)
{
	size_t max_ctrl = CAP(w, max_ctrl);
	struct pb_field f;
	struct rd r;
	int k;

	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		struct walk tmp, *t = w;
		struct gsb topic = {NULL, 0};
		struct gsrpc_prune pr;
		size_t first, count;
		bool keep;

		if (f.num < 1 || f.num > 4)
			continue; /* IDONTWANT (1.2), extensions (1.3): not spoken here */
		if (expect(&f, PB_LEN))
			return W2W_EPARSE;
		keep = under(w->ctrl, max_ctrl);
		if (!keep) {
			/* The whole entry is dropped: validate it without storing or counting its parts. */
			tmp = *w;
			tmp.fill = false;
			t = &tmp;
		}
		switch (f.num) {
		case 1:
			if (walk_ids(t, f.p, f.len, 2, &topic, &first, &count) < 0)
				return W2W_EPARSE;
			if (keep && w->fill)
				w->a_ihave[w->ihave] = (struct gsrpc_ihave){topic, w->a_ids + first, count};
			if (keep)
				w->ihave++;
			break;
		case 2:
			if (walk_ids(t, f.p, f.len, 1, NULL, &first, &count) < 0)
				return W2W_EPARSE;
			if (keep && w->fill)
				w->a_iwant[w->iwant] = (struct gsrpc_iwant){w->a_ids + first, count};
			if (keep)
				w->iwant++;
			break;
		case 3: {
			struct pb_field g;
			struct rd s;
			int j;

			rd_init(&s, f.p, f.len);
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.num != 1)
					continue;
				if (expect(&g, PB_LEN))
					return W2W_EPARSE;
				topic = (struct gsb){g.p, g.len};
			}
			if (j < 0)
				return W2W_EPARSE;
			if (keep && w->fill)
				w->a_graft[w->graft] = topic;
			if (keep)
				w->graft++;
			break;
		}
		default:
			if (walk_prune(t, f.p, f.len, &pr) < 0)
				return W2W_EPARSE;
			if (keep && w->fill)
				w->a_prune[w->prune] = pr;
			if (keep)
				w->prune++;
			break;
		}
		if (keep)
			w->ctrl++;
		else
			w->truncated++;
	}
	return k < 0 ? W2W_EPARSE : 0;
}

static int walk_rpc(struct walk *w, const uint8_t *p, size_t n)
{
	struct pb_field f;
	struct rd r;
	int k;

	rd_init(&r, p, n);
	while ((k = pb_next(&r, &f)) == 1) {
		int e = 0;

		if (f.num < 1 || f.num > 3)
			continue;
		if (expect(&f, PB_LEN))
			return W2W_EPARSE;
		if (f.num == 1)
			e = walk_sub(w, f.p, f.len);
		else if (f.num == 2)
			e = walk_msg(w, f.p, f.len);
		else
			e = walk_control(w, f.p, f.len); /* repeated occurrences merge (protobuf) */
		if (e < 0)
			return e;
	}
	return k < 0 ? W2W_EPARSE : 0;
}

int gsrpc_decode(const uint8_t *p, size_t n, const struct gsrpc_limits *lim, struct gsrpc *out)
{
	struct walk w = {.lim = lim};
	size_t sz = 0, o_subs, o_msgs, o_ihave, o_iwant, o_graft, o_prune, o_ids, o_px;
	uint8_t *mem = NULL;
	int e;

	e = walk_rpc(&w, p, n);
	if (e < 0)
		return e;

		/* Layout: every array aligned for its element type (all hold pointers/size_t). */
#define SLOT(off, cnt, type)                                                                                 \
	do {                                                                                                 \
		sz = (sz + _Alignof(type) - 1) & ~(_Alignof(type) - 1);                                      \
		off = sz;                                                                                    \
		sz += (cnt) * sizeof(type);                                                                  \
	} while (0)
	SLOT(o_subs, w.subs, struct gsrpc_sub);
	SLOT(o_msgs, w.msgs, struct gsrpc_msg);
	SLOT(o_ihave, w.ihave, struct gsrpc_ihave);
	SLOT(o_iwant, w.iwant, struct gsrpc_iwant);
	SLOT(o_graft, w.graft, struct gsb);
	SLOT(o_prune, w.prune, struct gsrpc_prune);
	SLOT(o_ids, w.ids, struct gsb);
	SLOT(o_px, w.px, struct gsrpc_px);
#undef SLOT
	if (sz) {
		mem = malloc(sz);
		if (!mem)
			return -ENOMEM;
	}
	if (!mem) {
		/* Nothing to store: an empty RPC (or only unknown fields). Checked before the
		 * array pointers below are formed: NULL + 0 is undefined in C (clang's UBSan
		 * "applying zero offset to null pointer"). */
		memset(out, 0, sizeof(*out));
		out->truncated = w.truncated;
		return 0;
	}
	struct walk f = {
	    .lim = lim,
	    .fill = true,
	    .a_subs = (struct gsrpc_sub *)(void *)(mem + o_subs),
	    .a_msgs = (struct gsrpc_msg *)(void *)(mem + o_msgs),
	    .a_ihave = (struct gsrpc_ihave *)(void *)(mem + o_ihave),
	    .a_iwant = (struct gsrpc_iwant *)(void *)(mem + o_iwant),
	    .a_graft = (struct gsb *)(void *)(mem + o_graft),
	    .a_prune = (struct gsrpc_prune *)(void *)(mem + o_prune),
	    .a_ids = (struct gsb *)(void *)(mem + o_ids),
	    .a_px = (struct gsrpc_px *)(void *)(mem + o_px),
	};
	e = walk_rpc(&f, p, n);
	if (e < 0) { /* cannot happen: the first pass accepted the same bytes */
		free(mem);
		return e;
	}
	*out = (struct gsrpc){
	    .subs = f.a_subs,
	    .n_subs = f.subs,
	    .msgs = f.a_msgs,
	    .n_msgs = f.msgs,
	    .ihave = f.a_ihave,
	    .n_ihave = f.ihave,
	    .iwant = f.a_iwant,
	    .n_iwant = f.iwant,
	    .graft = f.a_graft,
	    .n_graft = f.graft,
	    .prune = f.a_prune,
	    .n_prune = f.prune,
	    .truncated = f.truncated,
	    .mem = mem,
	};
	return 0;
}

void gsrpc_free(struct gsrpc *r)
{
	if (!r)
		return;
	free(r->mem);
	memset(r, 0, sizeof(*r));
}

/* ---- encoding ---------------------------------------------------------- */

static size_t vsz(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Size of a length-delimited field with a one-byte key (all our field numbers are < 16). */
static size_t lsz(size_t len)
{
	return 1 + vsz(len) + len;
}

static int put_len(struct buf *b, uint32_t field, size_t len)
{
	int e = pb_put_tag(b, field, PB_LEN);

	return e < 0 ? e : uvarint_put(b, len);
}

static size_t msg_fields_size(const struct gsrpc_msg *m, unsigned mask)
{
	const struct gsb *v[6] = {&m->from, &m->data, &m->seqno, &m->topic, &m->signature, &m->key};
	size_t n = 0;

	for (unsigned i = 0; i < 6; i++)
		if (m->has & mask & (1u << i))
			n += lsz(v[i]->n);
	return n;
}

static int msg_fields_put(const struct gsrpc_msg *m, unsigned mask, struct buf *b)
{
	const struct gsb *v[6] = {&m->from, &m->data, &m->seqno, &m->topic, &m->signature, &m->key};

	for (unsigned i = 0; i < 6; i++) {
		int e;

		if (!(m->has & mask & (1u << i)))
			continue;
		e = pb_put_bytes(b, i + 1, v[i]->p, v[i]->n);
		if (e < 0)
			return e;
	}
	return 0;
}

size_t gsrpc_msg_size(const struct gsrpc_msg *m)
{
	return msg_fields_size(m, ~0u);
}

int gsrpc_msg_encode(const struct gsrpc_msg *m, struct buf *out)
{
	int e = buf_reserve(out, gsrpc_msg_size(m));

	return e < 0 ? e : msg_fields_put(m, ~0u, out);
}

int gsrpc_msg_sign_input(const struct gsrpc_msg *m, struct buf *out)
{
	static const char prefix[] = "libp2p-pubsub:";
	unsigned mask = GSRPC_HAS_FROM | GSRPC_HAS_DATA | GSRPC_HAS_SEQNO | GSRPC_HAS_TOPIC;
	int e = buf_reserve(out, sizeof(prefix) - 1 + msg_fields_size(m, mask));

	if (e < 0)
		return e;
	e = buf_append(out, prefix, sizeof(prefix) - 1);
	return e < 0 ? e : msg_fields_put(m, mask, out);
}

static size_t ids_size(const struct gsb *ids, size_t n)
{
	size_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += lsz(ids[i].n);
	return s;
}

static size_t px_size(const struct gsrpc_px *px)
{
	return lsz(px->peer_id.n) + (px->record.n ? lsz(px->record.n) : 0);
}

static size_t prune_size(const struct gsrpc_prune *p)
{
	size_t s = lsz(p->topic.n);

	for (size_t i = 0; i < p->n_px; i++)
		s += lsz(px_size(&p->px[i]));
	if (p->has_backoff)
		s += 1 + vsz(p->backoff);
	return s;
}

static size_t control_size(const struct gsrpc *r)
{
	size_t s = 0;

	for (size_t i = 0; i < r->n_ihave; i++)
		s += lsz(lsz(r->ihave[i].topic.n) + ids_size(r->ihave[i].ids, r->ihave[i].n_ids));
	for (size_t i = 0; i < r->n_iwant; i++)
		s += lsz(ids_size(r->iwant[i].ids, r->iwant[i].n_ids));
	for (size_t i = 0; i < r->n_graft; i++)
		s += lsz(lsz(r->graft[i].n));
	for (size_t i = 0; i < r->n_prune; i++)
		s += lsz(prune_size(&r->prune[i]));
	return s;
}

static bool has_control(const struct gsrpc *r)
{
	return r->n_ihave || r->n_iwant || r->n_graft || r->n_prune;
}

static size_t sub_size(const struct gsrpc_sub *s)
{
	return 2 + lsz(s->topic.n); /* subscribe is always written (js/go do too) */
}

size_t gsrpc_size(const struct gsrpc *r)
{
	size_t s = 0;

	for (size_t i = 0; i < r->n_subs; i++)
		s += lsz(sub_size(&r->subs[i]));
	for (size_t i = 0; i < r->n_msgs; i++)
		s += lsz(gsrpc_msg_size(&r->msgs[i]));
	if (has_control(r))
		s += lsz(control_size(r));
	return s;
}

static int put_ids(struct buf *b, uint32_t field, const struct gsb *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int e = pb_put_bytes(b, field, ids[i].p, ids[i].n);

		if (e < 0)
			return e;
	}
	return 0;
}

static int put_prune(struct buf *b, const struct gsrpc_prune *p)
{
	int e = pb_put_bytes(b, 1, p->topic.p, p->topic.n);

	for (size_t i = 0; e >= 0 && i < p->n_px; i++) {
		const struct gsrpc_px *px = &p->px[i];

		e = put_len(b, 2, px_size(px));
		if (e >= 0)
			e = pb_put_bytes(b, 1, px->peer_id.p, px->peer_id.n);
		if (e >= 0 && px->record.n)
			e = pb_put_bytes(b, 2, px->record.p, px->record.n);
	}
	if (e >= 0 && p->has_backoff)
		e = pb_put_varint(b, 3, p->backoff);
	return e;
}

static int put_control(struct buf *b, const struct gsrpc *r)
{
	int e = put_len(b, 3, control_size(r));

	for (size_t i = 0; e >= 0 && i < r->n_ihave; i++) {
		const struct gsrpc_ihave *h = &r->ihave[i];

		e = put_len(b, 1, lsz(h->topic.n) + ids_size(h->ids, h->n_ids));
		if (e >= 0)
			e = pb_put_bytes(b, 1, h->topic.p, h->topic.n);
		if (e >= 0)
			e = put_ids(b, 2, h->ids, h->n_ids);
	}
	for (size_t i = 0; e >= 0 && i < r->n_iwant; i++) {
		e = put_len(b, 2, ids_size(r->iwant[i].ids, r->iwant[i].n_ids));
		if (e >= 0)
			e = put_ids(b, 1, r->iwant[i].ids, r->iwant[i].n_ids);
	}
	for (size_t i = 0; e >= 0 && i < r->n_graft; i++) {
		e = put_len(b, 3, lsz(r->graft[i].n));
		if (e >= 0)
			e = pb_put_bytes(b, 1, r->graft[i].p, r->graft[i].n);
	}
	for (size_t i = 0; e >= 0 && i < r->n_prune; i++) {
		e = put_len(b, 4, prune_size(&r->prune[i]));
		if (e >= 0)
			e = put_prune(b, &r->prune[i]);
	}
	return e;
}

int gsrpc_encode(const struct gsrpc *r, struct buf *out)
{
	size_t len0 = out->len;
	int e = buf_reserve(out, gsrpc_size(r));

	for (size_t i = 0; e >= 0 && i < r->n_subs; i++) {
		e = put_len(out, 1, sub_size(&r->subs[i]));
		if (e >= 0)
			e = pb_put_varint(out, 1, r->subs[i].subscribe);
		if (e >= 0)
			e = pb_put_bytes(out, 2, r->subs[i].topic.p, r->subs[i].topic.n);
	}
	for (size_t i = 0; e >= 0 && i < r->n_msgs; i++) {
		e = put_len(out, 2, gsrpc_msg_size(&r->msgs[i]));
		if (e >= 0)
			e = msg_fields_put(&r->msgs[i], ~0u, out);
	}
	if (e >= 0 && has_control(r))
		e = put_control(out, r);
	if (e < 0)
		out->len = len0; /* outputs only on success */
	return e < 0 ? e : 0;
}

int gsrpc_encode_lp(const struct gsrpc *r, size_t max, struct buf *out)
{
	size_t len0 = out->len, sz = gsrpc_size(r);
	int e;

	if (max && sz > max)
		return W2W_ELIMIT;
	e = buf_reserve(out, vsz(sz) + sz);
	if (e >= 0)
		e = uvarint_put(out, sz);
	if (e >= 0)
		e = gsrpc_encode(r, out);
	if (e < 0)
		out->len = len0;
	return e < 0 ? e : 0;
}

int gsrpc_frame_raw_msg(const uint8_t *raw, size_t n, size_t max, struct buf *out)
{
	size_t len0 = out->len, sz = lsz(n);
	int e;

	if (max && sz > max)
		return W2W_ELIMIT;
	e = buf_reserve(out, vsz(sz) + sz);
	if (e >= 0)
		e = uvarint_put(out, sz);
	if (e >= 0)
		e = put_len(out, 2, n);
	if (e >= 0)
		e = buf_append(out, raw, n);
	if (e < 0)
		out->len = len0;
	return e < 0 ? e : 0;
}
