/* SPDX-License-Identifier: MIT */
/*
 * One yamux stream of a connection (conn_int.h): its pending output, the
 * multistream-select negotiation every libp2p stream starts with
 * (connections/README.md "Opening New Streams Over a Connection"), and the
 * dispatch of what follows to the negotiated protocol's table entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "err.h"
#include "log.h"
#include "mss.h"
#include "yamux.h"

void cs_free(struct cstream *cs)
{
	struct conn *c = cs->c;

	for (struct cstream **pp = &c->streams; *pp; pp = &(*pp)->next) {
		if (*pp == cs) {
			*pp = cs->next;
			break;
		}
	}
	if (c->gs_out == cs)
		c->gs_out = NULL;
	if (cs->st)
		yamux_stream_free(cs->st);
	mss_free(cs->mss);
	free(cs->state);
	buf_free(&cs->pend);
	free(cs);
}

void cs_drop_all(struct conn *c)
{
	/* The session is freed next and takes its streams with it: no resets. */
	while (c->streams) {
		struct cstream *cs = c->streams;

		c->streams = cs->next;
		mss_free(cs->mss);
		free(cs->state);
		buf_free(&cs->pend);
		free(cs);
	}
	c->gs_out = NULL;
}

static struct cstream *cs_new(struct conn *c, struct yamux_stream *st, const struct stream_proto *want)
{
	struct cstream *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->c = c;
	cs->st = st;
	cs->want = want;
	buf_init(&cs->pend, STREAM_PEND_MAX);
	cs->next = c->streams;
	c->streams = cs;
	yamux_stream_set_user(st, cs);
	return cs;
}

bool cs_alive(const struct conn *c, const struct cstream *cs)
{
	for (const struct cstream *x = c->streams; x; x = x->next)
		if (x == cs)
			return true;
	return false;
}

void cs_flush(struct cstream *cs)
{
	while (cs->pend.len) {
		int w = yamux_stream_write(cs->st, cs->pend.data, cs->pend.len);

		if (w <= 0)
			break;
		buf_consume(&cs->pend, (size_t)w);
	}
	/* Interop: js-yamux 7 handles the flags of a Data frame before its
	 * payload, so data sent in a Data|FIN frame is dropped by js. Close
	 * only once yamux framed everything: the FIN then travels alone. */
	if (!cs->pend.len && cs->fin_after_pend && !yamux_stream_queued(cs->st)) {
		cs->fin_after_pend = false;
		cs_fin(cs);
		if (cs->free_after_fin)
			cs_free(cs);
	}
}

int cs_send(struct cstream *cs, const uint8_t *p, size_t n)
{
	int r = buf_append(&cs->pend, p, n);

	if (r < 0)
		return r;
	cs_flush(cs);
	return 0;
}

void cs_fin(struct cstream *cs)
{
	yamux_stream_close(cs->st);
	cs->fin_sent = true;
	cs->c->repump = true;
}

void cs_close_after(struct cstream *cs)
{
	cs->fin_after_pend = true;
	cs_flush(cs);
}

void cs_abort(struct cstream *cs)
{
	if (cs->st && !yamux_stream_done(cs->st))
		yamux_stream_reset(cs->st);
	cs_free(cs);
}

/* Our stream died before its protocol was negotiated: tell its protocol. */
static void open_failed(struct cstream *cs, int err)
{
	if (cs->want && cs->want->on_open_failed)
		cs->want->on_open_failed(cs->c, err);
}

static const struct stream_proto *proto_find(const char *id)
{
	for (size_t i = 0; i < conn_n_protos; i++)
		if (!strcmp(conn_protos[i]->id, id))
			return conn_protos[i];
	return NULL;
}

/* Hands readable bytes to the stream's handler; *used = bytes consumed. */
static void cs_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	*used = n;
	if (cs->proto && !cs->done && cs->proto->on_data)
		cs->proto->on_data(cs, p, n, now, used);
}

static void cs_negotiate(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;
	const struct stream_proto *proto;
	const uint8_t *p;
	size_t n;
	int r;

	yamux_stream_peek(cs->st, &p, &n);
	buf_reset(&c->tmp);
	r = mss_feed(cs->mss, p, n, now, &c->tmp);
	yamux_stream_consume(cs->st, n);
	if (c->tmp.len)
		cs_send(cs, c->tmp.data, c->tmp.len);
	buf_reset(&c->tmp);
	if (r < 0) {
		log_debug(c->cfg.log, "conn %s: stream %u negotiation failed: %s", c->name,
			  yamux_stream_id(cs->st), mss_reason(cs->mss));
		open_failed(cs, r);
		cs_abort(cs);
		return;
	}
	if (r == 1) {
		const uint8_t *lp;
		size_t ln, used;

		/* mss agreed only on an id we offered, so this finds it. */
		proto = proto_find(mss_protocol(cs->mss));
		if (!proto) {
			cs_abort(cs);
			return;
		}
		cs->proto = proto;
		proto->on_open(cs, now);
		/* on_open may have freed cs (no memory). */
		if (!cs_alive(c, cs))
			return;
		mss_leftover(cs->mss, &lp, &ln);
		/* Bytes pipelined after the last mss line belong to the protocol. */
		while (ln) {
			cs_data(cs, lp, ln, now, &used);
			if (!cs_alive(c, cs))
				return;
			if (!used)
				break;
			mss_leftover_consume(cs->mss, used);
			mss_leftover(cs->mss, &lp, &ln);
		}
		if (!ln) {
			mss_free(cs->mss);
			cs->mss = NULL;
		}
	}
}

void cs_readable(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;

	if (!cs->proto) {
		cs_negotiate(cs, now);
		if (!cs_alive(c, cs) || !cs->proto)
			return;
	}
	/* Leftover from negotiation that the handler could not take yet. */
	while (cs->mss) {
		const uint8_t *lp;
		size_t ln, used;

		mss_leftover(cs->mss, &lp, &ln);
		if (!ln) {
			mss_free(cs->mss);
			cs->mss = NULL;
			break;
		}
		cs_data(cs, lp, ln, now, &used);
		if (!cs_alive(c, cs))
			return;
		if (!used)
			return;
		mss_leftover_consume(cs->mss, used);
	}
	for (int guard = 0; guard < 64; guard++) {
		const uint8_t *p;
		size_t n, used;

		yamux_stream_peek(cs->st, &p, &n);
		if (!n)
			break;
		cs_data(cs, p, n, now, &used);
		if (!cs_alive(c, cs))
			return;
		if (!used)
			break;
		yamux_stream_consume(cs->st, used);
	}
	/* A done stream still answers the peer's FIN (cs_eof). */
	if (cs->proto && yamux_stream_eof(cs->st) && (!cs->done || (!cs->fin_sent && !cs->fin_after_pend)))
		cs_eof(cs, now);
}

void cs_eof(struct cstream *cs, uint64_t now)
{
	if (yamux_stream_readable(cs->st))
		return; /* handled once drained */
	if (cs->done) {
		/* e.g. a replaced pubsub stream: answer the peer's FIN, then forget it. */
		if (!cs->fin_sent && !cs->fin_after_pend) {
			cs->free_after_fin = true;
			cs_close_after(cs);
		}
		return;
	}
	if (!cs->proto) {
		open_failed(cs, W2W_ECLOSED);
		cs_abort(cs);
		return;
	}
	if (cs->proto->on_eof) {
		cs->proto->on_eof(cs, now);
	} else {
		cs->done = true;
		cs_close_after(cs);
	}
}

int cs_open(struct conn *c, const struct stream_proto *want, const char *const *ids, size_t n, uint64_t now,
	    struct cstream **ret)
{
	struct yamux_stream *st;
	struct cstream *cs;
	struct mss_config mc = { 0 };
	int r;

	r = yamux_stream_open(c->mux, NULL, &st);
	if (r < 0)
		return r;
	cs = cs_new(c, st, want);
	if (!cs) {
		yamux_stream_reset(st);
		yamux_stream_free(st);
		return -ENOMEM;
	}
	mc.role = MSS_INITIATOR;
	mc.protocols = ids;
	mc.n_protocols = n;
	mc.log = c->cfg.log;
	mc.timeout_us = STREAM_NEGOTIATE_US;
	r = mss_new(&cs->mss, &mc);
	if (r < 0) {
		cs_abort(cs);
		return r;
	}
	buf_reset(&c->tmp);
	r = mss_start(cs->mss, now, &c->tmp);
	if (r == 0)
		r = cs_send(cs, c->tmp.data, c->tmp.len);
	buf_reset(&c->tmp);
	if (r < 0) {
		cs_abort(cs);
		return r;
	}
	if (ret)
		*ret = cs;
	return 0;
}

void cs_accept(struct conn *c, struct yamux_stream *st, uint64_t now)
{
	struct cstream *cs = cs_new(c, st, NULL);
	struct mss_config mc = { 0 };
	const char *list[16];
	size_t k = 0;

	if (!cs) {
		yamux_stream_reset(st);
		yamux_stream_free(st);
		return;
	}
	for (size_t i = 0; i < conn_n_protos && k < sizeof(list) / sizeof(list[0]); i++) {
		const struct stream_proto *p = conn_protos[i];

		if (!p->offered || p->offered(c))
			list[k++] = p->id;
	}
	mc.role = MSS_RESPONDER;
	mc.protocols = list;
	mc.n_protocols = k;
	mc.log = c->cfg.log;
	mc.timeout_us = STREAM_NEGOTIATE_US;
	if (mss_new(&cs->mss, &mc) < 0) {
		cs_abort(cs);
		return;
	}
	buf_reset(&c->tmp);
	if (mss_start(cs->mss, now, &c->tmp) == 0)
		cs_send(cs, c->tmp.data, c->tmp.len);
	buf_reset(&c->tmp);
}

void cs_closed(struct cstream *cs, bool reset, uint64_t now)
{
	if (!cs->done) {
		if (cs->proto && cs->proto->on_closed) {
			if (cs->proto->on_closed(cs, reset, now))
				return;
		} else if (!cs->proto) {
			open_failed(cs, W2W_ECLOSED);
		}
	}
	cs_free(cs);
}

void cs_writable(struct cstream *cs, uint64_t now)
{
	cs_flush(cs);
	if (cs_alive(cs->c, cs) && cs->proto && !cs->done && cs->proto->on_writable)
		cs->proto->on_writable(cs, now);
}

void cs_tick_all(struct conn *c, uint64_t now)
{
	for (struct cstream *cs = c->streams, *next; cs; cs = next) {
		next = cs->next;
		if (cs->proto) {
			if (!cs->done && cs->proto->tick)
				cs->proto->tick(cs, now);
		} else if (cs->mss && mss_tick(cs->mss, now) < 0) {
			open_failed(cs, W2W_ETIMEDOUT);
			cs_abort(cs);
		}
	}
}

uint64_t cs_deadline_all(const struct conn *c)
{
	uint64_t d = UINT64_MAX, t;

	for (const struct cstream *cs = c->streams; cs; cs = cs->next) {
		if (cs->proto && !cs->done && cs->proto->deadline)
			t = cs->proto->deadline(cs);
		else if (!cs->proto && cs->mss)
			t = mss_next_deadline(cs->mss);
		else
			continue;
		if (t < d)
			d = t;
	}
	return d;
}

size_t cs_memory(const struct cstream *cs)
{
	return sizeof(*cs) + cs->pend.cap + (cs->state ? cs->state_size : 0);
}
