/* SPDX-License-Identifier: MIT */
/*
 * Connection upgrade pipeline and stream dispatch (see conn.h). Section
 * references are to libp2p/specs connections/README.md unless named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "err.h"
#include "gossipsub.h"
#include "identify.h"
#include "log.h"
#include "mss.h"
#include "noise.h"
#include "peerid.h"
#include "ping.h"
#include "pnet.h"
#include "yamux.h"

#define CONN_OUT_MAX (4u * 1024 * 1024) /* hard cap on unsent socket bytes */
#define STREAM_PEND_MAX (2u * 1024 * 1024)
#define STREAM_PEND_SOFT (64u * 1024) /* echo handlers stop consuming above this */
#define IDENTIFY_TIMEOUT_US (10ull * 1000 * 1000)
#define STREAM_NEGOTIATE_US (10ull * 1000 * 1000)

enum skind {
	SK_NEGOTIATING,
	SK_IDENTIFY_OUT, /* we asked: read the answer to EOF */
	SK_PING_OUT,
	SK_PING_IN,
	SK_GS_OUT,
	SK_GS_IN,
	SK_ECHO,
	SK_DONE, /* nothing more to do: waiting for the peer to finish */
};

/* What an outbound stream is for, decided at open. */
enum sgoal { SG_NONE, SG_IDENTIFY, SG_PING, SG_GS };

struct cstream {
	struct conn *c;
	struct yamux_stream *st;
	enum skind kind;
	enum sgoal goal;
	struct mss *mss;
	struct ping ping;
	struct identify_reader *idr;
	struct identify_info *idinfo;
	struct buf pend; /* bytes yamux did not take yet */
	bool fin_after_pend;
	bool free_after_fin; /* nothing more to do after our FIN: forget the stream */
	int gs_proto;
	struct cstream *next;
};

struct conn {
	struct conn_config cfg;
	enum conn_state st;
	int err;
	char reason[160];
	char name[64];
	uint64_t hs_deadline;
	struct pnet *pnet;
	struct mss *mss;
	struct noise *noise;
	struct yamux *mux;
	struct peerid expected;
	bool has_expected;
	struct peerid peer;
	struct buf out;   /* socket bytes to write */
	struct buf plain; /* after pnet */
	struct buf app;   /* after noise */
	struct buf tmp;   /* scratch for one stage's output */
	struct buf tmp2;
	struct cstream *streams;
	struct cstream *gs_out;
	int pings_waiting; /* conn_ping calls not yet started (no muxer yet) */
	bool gs_want;
	bool pumping, repump;
};

static const char *const stream_protos_gs[] = {
	IDENTIFY_PROTO_ID, PING_PROTO_ID, GS_PROTOCOL_V11, GS_PROTOCOL_V10, CONN_ECHO_PROTO_ID,
};

static int fail(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->st == CONN_S_FAILED)
		return c->err;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->err = err < 0 ? err : W2W_EPROTO;
	c->st = CONN_S_FAILED;
	log_info(c->cfg.log, "conn %s: closed: %s (%s)", c->name, c->reason, err_str(c->err));
	return c->err;
}

static void emit(struct conn *c, const struct conn_event *ev)
{
	if (c->cfg.cb.on_event)
		c->cfg.cb.on_event(c->cfg.cb.ud, c, ev);
}

/* ---- output path: plain bytes -> pnet -> out ---- */

static int emit_plain(struct conn *c, const uint8_t *p, size_t n)
{
	int r;

	if (!n)
		return 0;
	if (c->pnet)
		r = pnet_write(c->pnet, p, n, &c->out);
	else
		r = buf_append(&c->out, p, n);
	if (r < 0)
		return fail(c, r, "output buffer full (peer does not read)");
	return 0;
}

/* Secure-channel bytes: noise -> pnet -> out. */
static int emit_secure(struct conn *c, const uint8_t *p, size_t n)
{
	int r;

	if (!n)
		return 0;
	buf_reset(&c->tmp2);
	r = noise_write(c->noise, p, n, &c->tmp2);
	if (r < 0)
		return fail(c, r, "noise encryption failed");
	r = emit_plain(c, c->tmp2.data, c->tmp2.len);
	buf_reset(&c->tmp2);
	return r;
}

/* ---- streams ---- */

static void cs_free(struct cstream *cs)
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
	free(cs->idr);
	free(cs->idinfo);
	buf_free(&cs->pend);
	free(cs);
}

static struct cstream *cs_new(struct conn *c, struct yamux_stream *st, enum sgoal goal)
{
	struct cstream *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->c = c;
	cs->st = st;
	cs->goal = goal;
	cs->kind = SK_NEGOTIATING;
	buf_init(&cs->pend, STREAM_PEND_MAX);
	cs->next = c->streams;
	c->streams = cs;
	yamux_stream_set_user(st, cs);
	return cs;
}

/* Pushes pending bytes into yamux; FIN when asked and drained. */
static void cs_flush(struct cstream *cs)
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
		yamux_stream_close(cs->st);
		cs->c->repump = true;
		if (cs->free_after_fin)
			cs_free(cs);
	}
}

static int cs_send(struct cstream *cs, const uint8_t *p, size_t n)
{
	int r = buf_append(&cs->pend, p, n);

	if (r < 0)
		return r;
	cs_flush(cs);
	return 0;
}

static void cs_close_after(struct cstream *cs)
{
	cs->fin_after_pend = true;
	cs_flush(cs);
}

/* Drops the stream: reset unless finished. */
static void cs_abort(struct cstream *cs)
{
	if (cs->st && !yamux_stream_done(cs->st))
		yamux_stream_reset(cs->st);
	cs_free(cs);
}

static void gs_closed(struct cstream *cs)
{
	struct conn_event ev = { .type = CONN_EV_GS_CLOSED, .gs_proto = cs->gs_proto,
				 .peer_stream = yamux_stream_inbound(cs->st), .current = cs == cs->c->gs_out };

	emit(cs->c, &ev);
}

static void start_protocol(struct cstream *cs, const char *proto, uint64_t now);
static void stream_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used);
static void stream_eof(struct cstream *cs, uint64_t now);

static void gs_pull(struct cstream *cs)
{
	struct conn *c = cs->c;

	/* The router hands over at most what pend can hold; while yamux takes
	 * everything, keep pulling (bounded), or a queue larger than pend would
	 * wait for the next WRITABLE that an unfilled yamux never sends. */
	for (int i = 0; i < 16 && c->cfg.cb.gs_pull; i++) {
		size_t before = cs->pend.len;

		if (cs->pend.len == 0)
			c->cfg.cb.gs_pull(c->cfg.cb.ud, c, &cs->pend);
		if (cs->pend.len == 0 || cs->pend.len == before)
			break;
		cs_flush(cs);
		if (cs->pend.len)
			break; /* yamux is full: WRITABLE will call us again */
	}
	cs_flush(cs);
}

static void ping_start(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;
	uint8_t b[PING_SIZE];
	struct buf t;

	ping_init(&cs->ping, true, 0);
	buf_init(&t, PING_SIZE);
	t.data = b;
	t.cap = sizeof(b);
	if (ping_send(&cs->ping, c->cfg.rng, now, &t) == 0)
		cs_send(cs, t.data, t.len);
}

static void identify_answer(struct cstream *cs)
{
	struct conn *c = cs->c;
	struct identify_info *info = malloc(sizeof(*info));
	struct buf b;

	if (!info) {
		cs_abort(cs);
		return;
	}
	if (c->cfg.self_info)
		memcpy(info, c->cfg.self_info, sizeof(*info));
	else
		identify_info_init(info);
	/* identify/README.md: observedAddr is the peer's address as seen by us. */
	if (c->cfg.remote_ma_len)
		identify_set_observed_addr(info, c->cfg.remote_ma, c->cfg.remote_ma_len);
	buf_init(&b, IDENTIFY_MAX_MSG + 8);
	if (identify_encode(info, &b) == 0)
		cs_send(cs, b.data, b.len);
	buf_free(&b);
	free(info);
	/* identify/README.md: the responder half-closes after its message. */
	cs->kind = SK_DONE;
	cs->free_after_fin = true; /* yamux sends the FIN, then forgets the stream */
	cs_close_after(cs);
}

static void start_protocol(struct cstream *cs, const char *proto, uint64_t now)
{
	struct conn *c = cs->c;
	bool in = yamux_stream_inbound(cs->st);

	if (!strcmp(proto, IDENTIFY_PROTO_ID)) {
		if (in) {
			identify_answer(cs);
		} else {
			cs->kind = SK_IDENTIFY_OUT;
			cs->idr = malloc(sizeof(*cs->idr));
			cs->idinfo = malloc(sizeof(*cs->idinfo));
			if (!cs->idr || !cs->idinfo) {
				cs_abort(cs);
				return;
			}
			identify_reader_init(cs->idr);
			identify_info_init(cs->idinfo);
			/* We only read: half-close our side at once (go and js do too). */
			yamux_stream_close(cs->st);
		}
	} else if (!strcmp(proto, PING_PROTO_ID)) {
		if (in) {
			cs->kind = SK_PING_IN;
			ping_init(&cs->ping, false, 0);
		} else {
			cs->kind = SK_PING_OUT;
			ping_start(cs, now);
		}
	} else if (!strcmp(proto, GS_PROTOCOL_V11) || !strcmp(proto, GS_PROTOCOL_V10)) {
		struct conn_event ev = { 0 };

		cs->gs_proto = strcmp(proto, GS_PROTOCOL_V11) ? GS_MESHSUB_10 : GS_MESHSUB_11;
		if (in) {
			/* pubsub/README.md: the peer's stream is read-only for us. The
			 * newest one wins: an older one is no longer read (its bytes
			 * would interleave with the new stream's frames). */
			for (struct cstream *o = c->streams; o; o = o->next)
				if (o != cs && o->kind == SK_GS_IN)
					o->kind = SK_DONE;
			cs->kind = SK_GS_IN;
			ev.type = CONN_EV_GS_IN_OPEN;
		} else {
			cs->kind = SK_GS_OUT;
			ev.type = CONN_EV_GS_OUT;
		}
		ev.gs_proto = cs->gs_proto;
		emit(c, &ev);
		if (cs->kind == SK_GS_OUT)
			gs_pull(cs);
	} else if (!strcmp(proto, CONN_ECHO_PROTO_ID)) {
		cs->kind = SK_ECHO;
	} else {
		cs_abort(cs);
	}
}

/* Hands readable bytes to the stream's handler; *used = bytes consumed. */
static void stream_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	struct conn *c = cs->c;
	int r;

	*used = n;
	switch (cs->kind) {
	case SK_IDENTIFY_OUT:
		r = identify_reader_feed(cs->idr, p, n, cs->idinfo);
		if (r < 0) {
			log_info(c->cfg.log, "conn %s: bad identify answer: %s", c->name, err_str(r));
			cs_abort(cs);
		}
		break;
	case SK_PING_IN: {
		uint8_t echo[4096];
		struct buf t;

		/* Echo through pend, but only while little is pending: a peer that
		 * pings without reading stalls here (yamux WRITABLE resumes us). */
		if (cs->pend.len >= STREAM_PEND_SOFT) {
			*used = 0;
			break;
		}
		buf_init(&t, sizeof(echo));
		t.data = echo;
		t.cap = sizeof(echo);
		r = ping_feed(&cs->ping, p, n, now, &t);
		*used = r < 0 ? n : (size_t)r;
		if (t.len)
			cs_send(cs, t.data, t.len);
		break;
	}
	case SK_PING_OUT: {
		struct conn_event ev = { 0 };

		r = ping_feed(&cs->ping, p, n, now, NULL);
		if (r < 0) {
			ev.type = CONN_EV_PING_FAILED;
			ev.err = r;
			emit(c, &ev);
			cs_abort(cs);
			return;
		}
		*used = (size_t)r;
		if (!ping_outstanding(&cs->ping)) {
			ev.type = CONN_EV_PING;
			ev.rtt_us = ping_rtt_us(&cs->ping);
			emit(c, &ev);
			cs->kind = SK_DONE;
			yamux_stream_close(cs->st);
			cs_free(cs);
		}
		break;
	}
	case SK_GS_IN: {
		struct conn_event ev = { .type = CONN_EV_GS_IN, .data = p, .len = n, .gs_proto = cs->gs_proto };

		emit(c, &ev);
		break;
	}
	case SK_ECHO:
		/* Same backpressure as ping: at most STREAM_PEND_SOFT waiting. */
		if (cs->pend.len >= STREAM_PEND_SOFT) {
			*used = 0;
			break;
		}
		if (*used > STREAM_PEND_SOFT - cs->pend.len)
			*used = STREAM_PEND_SOFT - cs->pend.len;
		if (cs_send(cs, p, *used) < 0)
			*used = 0;
		break;
	case SK_GS_OUT: /* pubsub/README.md: nothing is expected on our own stream */
	case SK_DONE:
	case SK_NEGOTIATING:
		break;
	}
}

static void stream_negotiate(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;
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
		if (cs->goal == SG_PING) {
			struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = r };

			emit(c, &ev);
		}
		cs_abort(cs);
		return;
	}
	if (r == 1) {
		char proto[MSS_MAX_LINE];
		const uint8_t *lp;
		size_t ln, used;

		snprintf(proto, sizeof(proto), "%s", mss_protocol(cs->mss));
		start_protocol(cs, proto, now);
		/* start_protocol may have freed cs (unknown protocol, no memory). */
		for (struct cstream *x = c->streams; x; x = x->next) {
			if (x == cs)
				goto alive;
		}
		return;
alive:
		mss_leftover(cs->mss, &lp, &ln);
		/* Bytes pipelined after the last mss line belong to the protocol. */
		while (ln) {
			struct cstream *x;

			stream_data(cs, lp, ln, now, &used);
			for (x = c->streams; x && x != cs; x = x->next)
				;
			if (!x)
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

static bool cs_alive(struct conn *c, struct cstream *cs)
{
	for (struct cstream *x = c->streams; x; x = x->next)
		if (x == cs)
			return true;
	return false;
}

static void stream_readable(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;

	if (cs->kind == SK_NEGOTIATING) {
		stream_negotiate(cs, now);
		if (!cs_alive(c, cs) || cs->kind == SK_NEGOTIATING)
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
		stream_data(cs, lp, ln, now, &used);
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
		stream_data(cs, p, n, now, &used);
		if (!cs_alive(c, cs))
			return;
		if (!used)
			break;
		yamux_stream_consume(cs->st, used);
	}
	if (cs->kind != SK_DONE && cs->kind != SK_NEGOTIATING && yamux_stream_eof(cs->st))
		stream_eof(cs, now);
}

static void stream_eof(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;

	if (yamux_stream_readable(cs->st))
		return; /* handled once drained */
	switch (cs->kind) {
	case SK_IDENTIFY_OUT: {
		int r = identify_reader_finish(cs->idr);
		struct conn_event ev = { .type = CONN_EV_IDENTIFY, .info = cs->idinfo };

		if (r == 0)
			r = identify_check_peer(cs->idinfo, &c->peer);
		if (r < 0) {
			log_info(c->cfg.log, "conn %s: identify answer rejected: %s", c->name, err_str(r));
		} else {
			cs->kind = SK_DONE;
			emit(c, &ev);
		}
		if (cs_alive(c, cs))
			cs_free(cs);
		return;
	}
	case SK_PING_IN:
		ping_eof(&cs->ping);
		cs->kind = SK_DONE;
		cs_close_after(cs);
		return;
	case SK_PING_OUT: {
		struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = W2W_ECLOSED };

		cs->kind = SK_DONE;
		emit(c, &ev);
		cs_free(cs);
		return;
	}
	case SK_ECHO:
		cs->kind = SK_DONE;
		cs_close_after(cs);
		return;
	case SK_GS_IN:
		gs_closed(cs);
		cs->kind = SK_DONE;
		cs_close_after(cs);
		return;
	case SK_NEGOTIATING:
		if (cs->goal == SG_PING) {
			struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = W2W_ECLOSED };

			emit(c, &ev);
		}
		cs_abort(cs);
		return;
	case SK_GS_OUT:
		/* pubsub/README.md (go comm.go): EOF on our stream means the peer is gone. */
		gs_closed(cs);
		cs_abort(cs);
		return;
	case SK_DONE:
		/* e.g. a replaced pubsub stream: answer the peer's FIN, then forget it. */
		if (yamux_stream_inbound(cs->st) && !cs->free_after_fin) {
			cs->free_after_fin = true;
			cs_close_after(cs);
		}
		break;
	}
	(void)now;
}

static int open_stream(struct conn *c, enum sgoal goal, const char *proto, uint64_t now, struct cstream **ret)
{
	struct yamux_stream *st;
	struct cstream *cs;
	struct mss_config mc = { 0 };
	const char *list[1] = { proto };
	const char *gsl[2] = { GS_PROTOCOL_V11, GS_PROTOCOL_V10 };
	int r;

	r = yamux_stream_open(c->mux, NULL, &st);
	if (r < 0)
		return r;
	cs = cs_new(c, st, goal);
	if (!cs) {
		yamux_stream_reset(st);
		yamux_stream_free(st);
		return -ENOMEM;
	}
	mc.role = MSS_INITIATOR;
	mc.protocols = goal == SG_GS ? gsl : list;
	mc.n_protocols = goal == SG_GS ? 2 : 1;
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

static void accept_stream(struct conn *c, struct yamux_stream *st, uint64_t now)
{
	struct cstream *cs = cs_new(c, st, SG_NONE);
	struct mss_config mc = { 0 };
	size_t np = sizeof(stream_protos_gs) / sizeof(stream_protos_gs[0]);
	const char *list[5];
	size_t k = 0;

	if (!cs) {
		yamux_stream_reset(st);
		yamux_stream_free(st);
		return;
	}
	for (size_t i = 0; i < np; i++) {
		const char *p = stream_protos_gs[i];

		if (!c->cfg.gossipsub && (!strcmp(p, GS_PROTOCOL_V11) || !strcmp(p, GS_PROTOCOL_V10)))
			continue;
		if (!c->cfg.echo && !strcmp(p, CONN_ECHO_PROTO_ID))
			continue;
		list[k++] = p;
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

/* ---- session ---- */

static void pump(struct conn *c, uint64_t now);
static size_t handle_events(struct conn *c, uint64_t now);

static size_t handle_events(struct conn *c, uint64_t now)
{
	struct yamux_event ev;
	size_t count = 0;

	while (c->mux && yamux_next_event(c->mux, &ev)) {
		count++;
		struct cstream *cs = ev.stream ? yamux_stream_user(ev.stream) : NULL;

		switch (ev.type) {
		case YAMUX_EV_OPENED:
			if (c->st != CONN_S_READY) {
				yamux_stream_reset(ev.stream);
				yamux_stream_free(ev.stream);
				break;
			}
			accept_stream(c, ev.stream, now);
			cs = yamux_stream_user(ev.stream);
			if (cs && yamux_stream_readable(ev.stream))
				stream_readable(cs, now);
			break;
		case YAMUX_EV_READABLE:
			if (cs)
				stream_readable(cs, now);
			break;
		case YAMUX_EV_EOF:
			if (cs)
				stream_readable(cs, now);
			if (cs && cs_alive(c, cs) && cs->kind == SK_NEGOTIATING)
				stream_eof(cs, now);
			break;
		case YAMUX_EV_WRITABLE:
			if (!cs)
				break;
			cs_flush(cs);
			if (cs->kind == SK_GS_OUT)
				gs_pull(cs);
			else if (cs->kind == SK_ECHO || cs->kind == SK_PING_IN)
				stream_readable(cs, now);
			break;
		case YAMUX_EV_RESET:
		case YAMUX_EV_CLOSED:
			if (!cs) {
				yamux_stream_free(ev.stream);
				break;
			}
			if (cs->kind == SK_GS_IN || cs->kind == SK_GS_OUT)
				gs_closed(cs);
			if (cs->goal == SG_PING && cs->kind != SK_DONE) {
				struct conn_event pe = { .type = CONN_EV_PING_FAILED, .err = W2W_ECLOSED };

				emit(c, &pe);
			}
			if (ev.type == YAMUX_EV_CLOSED && cs->kind == SK_IDENTIFY_OUT) {
				stream_eof(cs, now);
				break;
			}
			cs_free(cs);
			break;
		case YAMUX_EV_PING:
		case YAMUX_EV_GOAWAY:
		case YAMUX_EV_NONE:
			break;
		}
	}
	return count;
}

static void pull_mux(struct conn *c)
{
	int guard = 0;

	while (c->mux && c->out.len < CONN_OUT_HIGH && yamux_want_write(c->mux) && guard++ < 64) {
		int n;

		buf_reset(&c->tmp);
		n = yamux_pull(c->mux, &c->tmp, 64 * 1024);
		if (n <= 0)
			break;
		if (emit_secure(c, c->tmp.data, c->tmp.len) < 0)
			break;
	}
	buf_reset(&c->tmp);
}

static void pump(struct conn *c, uint64_t now)
{
	/* Called from inside a callback (e.g. conn_gs_open from an identify
	 * event): the outer pump runs another round instead of nesting. */
	if (c->pumping) {
		c->repump = true;
		return;
	}
	c->pumping = true;
	/* Events can make output, pulled output can make events (WRITABLE). */
	for (int i = 0; i < 64 && c->mux && c->st != CONN_S_FAILED; i++) {
		size_t n;

		c->repump = false;
		n = handle_events(c, now);
		pull_mux(c);
		for (struct cstream *cs = c->streams, *next; cs; cs = next) {
			next = cs->next;
			if (cs->fin_after_pend)
				cs_flush(cs);
		}
		if (!n && !c->repump)
			break;
	}
	c->pumping = false;
	if (c->mux && c->st != CONN_S_FAILED && yamux_error(c->mux) < 0) {
		pull_mux(c); /* flush the GoAway */
		fail(c, yamux_error(c->mux), "yamux session failed");
	}
}

static int start_mux(struct conn *c, uint64_t now)
{
	struct yamux_config yc = { 0 };
	struct conn_event ev = { .type = CONN_EV_READY };
	int r;

	yc.client = c->cfg.initiator;
	yc.max_inbound = c->cfg.max_streams;
	yc.max_outbound = c->cfg.max_streams;
	yc.keepalive_us = c->cfg.keepalive_us;
	yc.log = c->cfg.log;
	r = yamux_new(&c->mux, &yc);
	if (r < 0)
		return fail(c, r, "out of memory");
	c->st = CONN_S_READY;
	c->hs_deadline = UINT64_MAX;
	log_debug(c->cfg.log, "conn %s: upgraded (pnet, noise, yamux)", c->name);
	/* identify/README.md: run identify on every new connection. */
	open_stream(c, SG_IDENTIFY, IDENTIFY_PROTO_ID, now, NULL);
	emit(c, &ev);
	while (c->pings_waiting > 0 && c->st == CONN_S_READY) {
		c->pings_waiting--;
		conn_ping(c, now);
	}
	if (c->gs_want)
		conn_gs_open(c, now);
	return 0;
}

static int secure_in(struct conn *c, uint64_t now);

static int start_noise(struct conn *c, uint64_t now)
{
	struct noise_config nc = { 0 };
	int r;

	nc.initiator = c->cfg.initiator;
	nc.identity = c->cfg.identity;
	nc.expected_peer = c->has_expected ? &c->expected : NULL;
	nc.rng = c->cfg.rng;
	nc.log = c->cfg.log;
	nc.timeout_us = c->hs_deadline > now ? c->hs_deadline - now : 1;
	r = noise_new(&c->noise, &nc);
	if (r < 0)
		return fail(c, r, "out of memory");
	c->st = CONN_S_NOISE;
	buf_reset(&c->tmp);
	r = noise_start(c->noise, now, &c->tmp);
	if (r < 0)
		return fail(c, r, "noise start failed");
	return emit_plain(c, c->tmp.data, c->tmp.len);
}

/* Bytes after pnet (or raw without a PSK). */
static int plain_in(struct conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	int r;

	if (c->st == CONN_S_MSS_SEC) {
		const uint8_t *lp;
		size_t ln;

		buf_reset(&c->tmp);
		r = mss_feed(c->mss, p, n, now, &c->tmp);
		if (c->tmp.len && emit_plain(c, c->tmp.data, c->tmp.len) < 0)
			return c->err;
		if (r < 0)
			return fail(c, r, "security negotiation failed: %s%s", mss_reason(c->mss),
				    c->pnet ? " (wrong swarm key?)" : "");
		if (r == 0)
			return 0;
		if (strcmp(mss_protocol(c->mss), NOISE_PROTO_ID))
			return fail(c, W2W_EPROTO, "peer chose security %s", mss_protocol(c->mss));
		r = start_noise(c, now);
		if (r < 0)
			return r;
		mss_leftover(c->mss, &lp, &ln);
		/* Noise frames pipelined after the mss echo. */
		if (ln) {
			buf_reset(&c->tmp2);
			if (buf_append(&c->tmp2, lp, ln) < 0)
				return fail(c, -ENOMEM, "out of memory");
			mss_free(c->mss);
			c->mss = NULL;
			r = plain_in(c, c->tmp2.data, c->tmp2.len, now);
			buf_reset(&c->tmp2);
			return r;
		}
		mss_free(c->mss);
		c->mss = NULL;
		return 0;
	}
	if (c->st == CONN_S_PNET || c->st == CONN_S_FAILED)
		return c->st == CONN_S_FAILED ? c->err : 0;
	/* Noise and everything above it. */
	buf_reset(&c->tmp);
	r = noise_feed(c->noise, p, n, now, &c->tmp, &c->app);
	if (c->tmp.len && emit_plain(c, c->tmp.data, c->tmp.len) < 0)
		return c->err;
	if (r < 0) {
		const char *why = noise_reason(c->noise);

		if (r == W2W_EAUTH && c->has_expected && strstr(why, "peer"))
			return fail(c, r, "noise: %s (wrong peer ID)", why);
		return fail(c, r, "noise handshake failed: %s%s", why,
			    c->pnet && c->st == CONN_S_NOISE ? " (wrong swarm key?)" : "");
	}
	if (r == 1 && c->st == CONN_S_NOISE) {
		struct mss_config mc = { 0 };
		const char *list[1] = { YAMUX_PROTO_ID };

		c->peer = *noise_remote_peer(c->noise);
		mc.role = c->cfg.initiator ? MSS_INITIATOR : MSS_RESPONDER;
		mc.protocols = list;
		mc.n_protocols = 1;
		mc.log = c->cfg.log;
		mc.timeout_us = c->hs_deadline > now ? c->hs_deadline - now : 1;
		r = mss_new(&c->mss, &mc);
		if (r < 0)
			return fail(c, r, "out of memory");
		c->st = CONN_S_MSS_MUX;
		buf_reset(&c->tmp);
		r = mss_start(c->mss, now, &c->tmp);
		if (r < 0)
			return fail(c, r, "mss start failed");
		r = emit_secure(c, c->tmp.data, c->tmp.len);
		if (r < 0)
			return r;
	}
	return secure_in(c, now);
}

/* Decrypted bytes in c->app. */
static int secure_in(struct conn *c, uint64_t now)
{
	int r;

	if (!c->app.len)
		return 0;
	if (c->st == CONN_S_MSS_MUX) {
		const uint8_t *lp;
		size_t ln;

		buf_reset(&c->tmp);
		r = mss_feed(c->mss, c->app.data, c->app.len, now, &c->tmp);
		buf_reset(&c->app);
		if (c->tmp.len && emit_secure(c, c->tmp.data, c->tmp.len) < 0)
			return c->err;
		if (r < 0)
			return fail(c, r, "muxer negotiation failed: %s", mss_reason(c->mss));
		if (r == 0)
			return 0;
		r = start_mux(c, now);
		if (r < 0)
			return r;
		mss_leftover(c->mss, &lp, &ln);
		if (ln && buf_append(&c->app, lp, ln) < 0)
			return fail(c, -ENOMEM, "out of memory");
		mss_free(c->mss);
		c->mss = NULL;
	}
	if ((c->st == CONN_S_READY || c->st == CONN_S_CLOSING) && c->app.len) {
		r = yamux_feed(c->mux, c->app.data, c->app.len, now);
		buf_reset(&c->app);
		if (r < 0) {
			pull_mux(c);
			return fail(c, r, "yamux: peer broke the protocol");
		}
	}
	buf_reset(&c->app);
	return 0;
}

int conn_new(struct conn **ret, const struct conn_config *cfg, uint64_t now)
{
	struct conn *c;
	struct mss_config mc = { 0 };
	const char *list[1] = { NOISE_PROTO_ID };
	int r;

	if (!cfg->identity)
		return W2W_EPARSE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	snprintf(c->name, sizeof(c->name), "%s", cfg->name ? cfg->name : "?");
	c->cfg.name = c->name;
	if (cfg->expected_peer && cfg->expected_peer->len) {
		c->expected = *cfg->expected_peer;
		c->has_expected = true;
	}
	c->cfg.expected_peer = NULL;
	buf_init(&c->out, CONN_OUT_MAX);
	buf_init(&c->plain, CONN_IN_MAX);
	buf_init(&c->app, CONN_IN_MAX);
	buf_init(&c->tmp, CONN_IN_MAX);
	buf_init(&c->tmp2, CONN_IN_MAX);
	c->hs_deadline = now + (cfg->handshake_timeout_us ? cfg->handshake_timeout_us : CONN_DEFAULT_HANDSHAKE_US);
	mc.role = cfg->initiator ? MSS_INITIATOR : MSS_RESPONDER;
	mc.protocols = list;
	mc.n_protocols = 1;
	mc.log = cfg->log;
	mc.timeout_us = c->hs_deadline - now;
	r = mss_new(&c->mss, &mc);
	if (r < 0)
		goto fail;
	if (cfg->psk) {
		struct pnet_config pc = { .psk = cfg->psk, .rng = cfg->rng, .log = cfg->log,
					  .timeout_us = c->hs_deadline - now };

		r = pnet_new(&c->pnet, &pc);
		if (r < 0)
			goto fail;
		/* pnet spec: send our nonce at once, without waiting for the peer's. */
		r = pnet_start(c->pnet, now, &c->out);
		if (r < 0)
			goto fail;
		c->st = CONN_S_PNET;
	} else {
		c->st = CONN_S_MSS_SEC;
	}
	/* mss: the initiator sends header + /noise at once; our responder
	 * sends its header eagerly (go does; js waits, both are fine). */
	buf_reset(&c->tmp);
	r = mss_start(c->mss, now, &c->tmp);
	if (r < 0)
		goto fail;
	if (c->pnet) {
		/* Encrypted with our own nonce: valid before the peer's nonce arrived. */
		r = pnet_write(c->pnet, c->tmp.data, c->tmp.len, &c->out);
	} else {
		r = buf_append(&c->out, c->tmp.data, c->tmp.len);
	}
	buf_reset(&c->tmp);
	if (r < 0)
		goto fail;
	if (c->pnet)
		c->st = CONN_S_PNET;
	*ret = c;
	return 0;
fail:
	conn_free(c);
	return r;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	while (c->streams) {
		struct cstream *cs = c->streams;

		c->streams = cs->next;
		mss_free(cs->mss);
		free(cs->idr);
		free(cs->idinfo);
		buf_free(&cs->pend);
		free(cs);
	}
	yamux_free(c->mux);
	noise_free(c->noise);
	mss_free(c->mss);
	pnet_free(c->pnet);
	buf_free(&c->out);
	buf_free(&c->plain);
	buf_free_wipe(&c->app);
	buf_free_wipe(&c->tmp);
	buf_free_wipe(&c->tmp2);
	free(c);
}

int conn_feed(struct conn *c, const void *in, size_t n, uint64_t now)
{
	int r;

	if (c->st == CONN_S_FAILED)
		return c->err;
	r = conn_tick(c, now);
	if (r < 0)
		return r;
	buf_reset(&c->plain);
	if (c->pnet) {
		r = pnet_feed(c->pnet, in, n, now, &c->plain);
		if (r < 0)
			return fail(c, r, "pnet: %s", pnet_reason(c->pnet));
		if (r == 0)
			return 0;
		if (c->st == CONN_S_PNET)
			c->st = CONN_S_MSS_SEC;
		r = plain_in(c, c->plain.data, c->plain.len, now);
	} else {
		r = plain_in(c, in, n, now);
	}
	buf_reset(&c->plain);
	if (r < 0)
		return r;
	pump(c, now);
	return c->st == CONN_S_FAILED ? c->err : 0;
}

void conn_eof(struct conn *c, int err)
{
	if (c->st == CONN_S_FAILED)
		return;
	if (c->st == CONN_S_CLOSING) {
		c->st = CONN_S_FAILED;
		c->err = W2W_ECLOSED;
		snprintf(c->reason, sizeof(c->reason), "closed");
		return;
	}
	if (err < 0)
		fail(c, err, "socket error: %s", err_str(err));
	else if (c->st != CONN_S_READY)
		fail(c, W2W_ECLOSED, "peer closed the connection during the handshake%s",
		     c->pnet && c->st <= CONN_S_NOISE ? " (wrong swarm key?)" : "");
	else
		fail(c, W2W_ECLOSED, "peer closed the connection");
}

void conn_output(const struct conn *c, const uint8_t **p, size_t *n)
{
	*p = c->out.data;
	*n = c->out.len;
}

void conn_consume(struct conn *c, size_t n, uint64_t now)
{
	buf_consume(&c->out, n);
	if (c->st == CONN_S_READY || c->st == CONN_S_CLOSING)
		pump(c, now);
}

int conn_tick(struct conn *c, uint64_t now)
{
	int r;

	if (c->st == CONN_S_FAILED)
		return c->err;
	if (c->st < CONN_S_READY && now >= c->hs_deadline)
		return fail(c, W2W_ETIMEDOUT, "handshake timed out in %s%s",
			    c->st == CONN_S_PNET ? "pnet" : c->st == CONN_S_MSS_SEC ? "security negotiation" :
			    c->st == CONN_S_NOISE ? "noise" : "muxer negotiation",
			    c->pnet && c->st <= CONN_S_NOISE ? " (wrong swarm key?)" : "");
	if (c->mux) {
		r = yamux_tick(c->mux, now);
		if (r < 0) {
			pull_mux(c);
			return fail(c, r, "yamux keepalive failed");
		}
		for (struct cstream *cs = c->streams, *next; cs; cs = next) {
			next = cs->next;
			if (cs->kind == SK_PING_OUT && ping_tick(&cs->ping, now) < 0) {
				struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = W2W_ETIMEDOUT };

				emit(c, &ev);
				cs_abort(cs);
			} else if (cs->mss && cs->kind == SK_NEGOTIATING && mss_tick(cs->mss, now) < 0) {
				if (cs->goal == SG_PING) {
					struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = W2W_ETIMEDOUT };

					emit(c, &ev);
				}
				cs_abort(cs);
			}
		}
		pump(c, now);
	}
	return c->st == CONN_S_FAILED ? c->err : 0;
}

uint64_t conn_next_deadline(const struct conn *c)
{
	uint64_t d = UINT64_MAX, t;

	if (c->st == CONN_S_FAILED)
		return UINT64_MAX;
	if (c->st < CONN_S_READY)
		d = c->hs_deadline;
	if (c->mux) {
		t = yamux_next_deadline(c->mux);
		if (t < d)
			d = t;
		for (const struct cstream *cs = c->streams; cs; cs = cs->next) {
			if (cs->kind == SK_PING_OUT)
				t = ping_next_deadline(&cs->ping);
			else if (cs->mss && cs->kind == SK_NEGOTIATING)
				t = mss_next_deadline(cs->mss);
			else
				continue;
			if (t < d)
				d = t;
		}
	}
	return d;
}

int conn_ping(struct conn *c, uint64_t now)
{
	int r;

	if (c->st == CONN_S_FAILED || c->st == CONN_S_CLOSING)
		return W2W_ESTATE;
	if (c->st != CONN_S_READY) {
		c->pings_waiting++;
		return 0;
	}
	r = open_stream(c, SG_PING, PING_PROTO_ID, now, NULL);
	if (r == 0)
		pump(c, now);
	return r;
}

int conn_gs_open(struct conn *c, uint64_t now)
{
	int r;

	if (!c->cfg.gossipsub)
		return W2W_ESTATE;
	if (c->st != CONN_S_READY) {
		c->gs_want = true;
		return 0;
	}
	if (c->gs_out)
		return 0;
	r = open_stream(c, SG_GS, GS_PROTOCOL_V11, now, &c->gs_out);
	if (r == 0)
		pump(c, now);
	return r;
}

void conn_gs_reset(struct conn *c, bool hard, uint64_t now)
{
	struct cstream *cs = c->gs_out;

	c->gs_want = false;
	if (!cs)
		return;
	c->gs_out = NULL;
	if (cs->kind != SK_GS_OUT || hard) {
		cs_abort(cs); /* still negotiating, or the peer must see an error */
	} else {
		/* A FIN, not a reset: js treats a failed pubsub stream as a dead peer. */
		cs->kind = SK_DONE;
		cs->free_after_fin = true;
		cs_close_after(cs);
	}
	pump(c, now);
}

void conn_gs_kick(struct conn *c, uint64_t now)
{
	if (c->gs_out && c->gs_out->kind == SK_GS_OUT) {
		gs_pull(c->gs_out);
		pump(c, now);
	}
}

void conn_close(struct conn *c, uint64_t now)
{
	if (c->st == CONN_S_FAILED || c->st == CONN_S_CLOSING)
		return;
	if (c->st != CONN_S_READY) {
		c->st = CONN_S_FAILED;
		c->err = W2W_ECLOSED;
		snprintf(c->reason, sizeof(c->reason), "closed by us");
		return;
	}
	/* yamux spec: GoAway(0) on a normal close (js does; go just closes). */
	yamux_close(c->mux, YAMUX_GOAWAY_NORMAL);
	c->st = CONN_S_CLOSING;
	snprintf(c->reason, sizeof(c->reason), "closed by us");
	pull_mux(c);
	(void)now;
}

bool conn_done(const struct conn *c)
{
	if (c->st == CONN_S_FAILED)
		return true;
	return c->st == CONN_S_CLOSING && c->out.len == 0;
}

int conn_write_raw(struct conn *c, const void *p, size_t n)
{
	if (c->st != CONN_S_READY)
		return W2W_ESTATE;
	return emit_secure(c, p, n);
}

enum conn_state conn_state(const struct conn *c)
{
	return c->st;
}

const struct peerid *conn_peer(const struct conn *c)
{
	return c->peer.len ? &c->peer : NULL;
}

int conn_error(const struct conn *c)
{
	return c->st == CONN_S_FAILED ? c->err : 0;
}

const char *conn_reason(const struct conn *c)
{
	return c->reason;
}

size_t conn_stream_count(const struct conn *c)
{
	size_t n = 0;

	for (const struct cstream *cs = c->streams; cs; cs = cs->next)
		n++;
	return n;
}

size_t conn_memory(const struct conn *c)
{
	size_t m = sizeof(*c) + c->out.cap + c->plain.cap + c->app.cap + c->tmp.cap + c->tmp2.cap;

	for (const struct cstream *cs = c->streams; cs; cs = cs->next)
		m += sizeof(*cs) + cs->pend.cap + (cs->idr ? sizeof(*cs->idr) + sizeof(*cs->idinfo) : 0);
	return m;
}
