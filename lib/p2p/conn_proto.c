/* SPDX-License-Identifier: MIT */
/*
 * The stream protocols of a connection, one `struct stream_proto` each
 * (conn_int.h): identify, ping, gossipsub (/meshsub/1.1.0 and 1.0.0) and the
 * diagnostic echo, plus the conn_* calls that start them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "err.h"
#include "gossipsub.h"
#include "identify.h"
#include "log.h"
#include "ping.h"
#include "yamux.h"

static bool inbound(const struct cstream *cs)
{
	return yamux_stream_inbound(cs->st);
}

/* Allocates the protocol's per-stream state; false (stream aborted) without memory. */
static bool state_alloc(struct cstream *cs, size_t size)
{
	cs->state = calloc(1, size);
	if (!cs->state) {
		cs_abort(cs);
		return false;
	}
	cs->state_size = size;
	return true;
}

/* ---- identify (/ipfs/id/1.0.0, libp2p specs identify/README.md) ---- */

struct identify_out {
	struct identify_reader rd;
	struct identify_info info;
};

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
	cs->done = true;
	cs->free_after_fin = true; /* yamux sends the FIN, then forgets the stream */
	cs_close_after(cs);
}

static void identify_open(struct cstream *cs, uint64_t now)
{
	struct identify_out *o;

	(void)now;
	if (inbound(cs)) {
		identify_answer(cs);
		return;
	}
	if (!state_alloc(cs, sizeof(*o)))
		return;
	o = cs->state;
	identify_reader_init(&o->rd);
	identify_info_init(&o->info);
	/* We only read: half-close our side at once (go and js do too). */
	cs_fin(cs);
}

static void identify_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	struct identify_out *o = cs->state;
	int r = identify_reader_feed(&o->rd, p, n, &o->info);

	(void)now;
	*used = n;
	if (r < 0) {
		log_info(cs->c->cfg.log, "conn %s: bad identify answer: %s", cs->c->name, err_str(r));
		cs_abort(cs);
	}
}

static void identify_eof(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;
	struct identify_out *o = cs->state;
	int r = identify_reader_finish(&o->rd);
	struct conn_event ev = { .type = CONN_EV_IDENTIFY, .info = &o->info };

	(void)now;
	if (r == 0)
		r = identify_check_peer(&o->info, &c->peer);
	if (r < 0) {
		log_info(c->cfg.log, "conn %s: identify answer rejected: %s", c->name, err_str(r));
	} else {
		cs->done = true;
		conn_emit(c, &ev);
	}
	if (cs_alive(c, cs))
		cs_free(cs);
}

/* Our half is closed from the start, so yamux reports CLOSED (not EOF) when
 * the peer's FIN ends the answer. */
static bool identify_closed(struct cstream *cs, bool reset, uint64_t now)
{
	if (reset)
		return false;
	cs_eof(cs, now);
	return true;
}

/* identify/README.md: run identify on every new connection. */
static void identify_mux_up(struct conn *c, uint64_t now);

static const struct stream_proto proto_identify = {
	.id = IDENTIFY_PROTO_ID,
	.on_mux_up = identify_mux_up,
	.on_open = identify_open,
	.on_data = identify_data,
	.on_eof = identify_eof,
	.on_closed = identify_closed,
};

static void identify_mux_up(struct conn *c, uint64_t now)
{
	const char *ids[1] = { proto_identify.id };

	cs_open(c, &proto_identify, ids, 1, now, NULL);
}

/* ---- ping (/ipfs/ping/1.0.0, libp2p specs ping/ping.md) ---- */

static void ping_failed(struct conn *c, int err)
{
	struct conn_event ev = { .type = CONN_EV_PING_FAILED, .err = err };

	conn_emit(c, &ev);
}

static void ping_open(struct cstream *cs, uint64_t now)
{
	struct ping *pg;
	uint8_t b[PING_SIZE];
	struct buf t;

	if (!state_alloc(cs, sizeof(*pg)))
		return;
	pg = cs->state;
	if (inbound(cs)) {
		ping_init(pg, false, 0);
		return;
	}
	ping_init(pg, true, 0);
	buf_init(&t, PING_SIZE);
	t.data = b;
	t.cap = sizeof(b);
	if (ping_send(pg, cs->c->cfg.rng, now, &t) == 0)
		cs_send(cs, t.data, t.len);
}

static void ping_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	struct ping *pg = cs->state;
	struct conn_event ev = { 0 };
	int r;

	if (inbound(cs)) {
		uint8_t echo[4096];
		struct buf t;

		/* Echo through pend, but only while little is pending: a peer that
		 * pings without reading stalls here (yamux WRITABLE resumes us). */
		if (cs->pend.len >= STREAM_PEND_SOFT) {
			*used = 0;
			return;
		}
		buf_init(&t, sizeof(echo));
		t.data = echo;
		t.cap = sizeof(echo);
		r = ping_feed(pg, p, n, now, &t);
		*used = r < 0 ? n : (size_t)r;
		if (t.len)
			cs_send(cs, t.data, t.len);
		return;
	}
	r = ping_feed(pg, p, n, now, NULL);
	if (r < 0) {
		ping_failed(cs->c, r);
		cs_abort(cs);
		return;
	}
	*used = (size_t)r;
	if (!ping_outstanding(pg)) {
		ev.type = CONN_EV_PING;
		ev.rtt_us = ping_rtt_us(pg);
		conn_emit(cs->c, &ev);
		cs->done = true;
		cs_fin(cs);
		cs_free(cs);
	}
}

static void ping_eof_cb(struct cstream *cs, uint64_t now)
{
	(void)now;
	cs->done = true;
	if (inbound(cs)) {
		ping_eof(cs->state);
		cs_close_after(cs);
		return;
	}
	ping_failed(cs->c, W2W_ECLOSED);
	cs_free(cs);
}

static void ping_writable(struct cstream *cs, uint64_t now)
{
	if (inbound(cs))
		cs_readable(cs, now); /* resume an echo stalled on pend */
}

static bool ping_closed(struct cstream *cs, bool reset, uint64_t now)
{
	(void)reset;
	(void)now;
	if (!inbound(cs))
		ping_failed(cs->c, W2W_ECLOSED);
	return false;
}

static uint64_t ping_deadline(const struct cstream *cs)
{
	return inbound(cs) ? UINT64_MAX : ping_next_deadline(cs->state);
}

static void ping_tick_cb(struct cstream *cs, uint64_t now)
{
	if (!inbound(cs) && ping_tick(cs->state, now) < 0) {
		ping_failed(cs->c, W2W_ETIMEDOUT);
		cs_abort(cs);
	}
}

static void ping_mux_up(struct conn *c, uint64_t now)
{
	while (c->pings_waiting > 0 && c->st == CONN_S_READY) {
		c->pings_waiting--;
		conn_ping(c, now);
	}
}

static const struct stream_proto proto_ping = {
	.id = PING_PROTO_ID,
	.on_mux_up = ping_mux_up,
	.on_open = ping_open,
	.on_data = ping_data,
	.on_eof = ping_eof_cb,
	.on_writable = ping_writable,
	.on_closed = ping_closed,
	.on_open_failed = ping_failed,
	.deadline = ping_deadline,
	.tick = ping_tick_cb,
};

int conn_probe(struct conn *c, uint64_t now)
{
	int r;

	if (c->st != CONN_S_READY || !c->mux)
		return W2W_ESTATE;
	/* A yamux ping frame (12 bytes, answered by the peer's muxer): the
	 * cheapest round trip on the connection. One already outstanding (a
	 * keepalive) answers this probe too. No answer within the muxer's ping
	 * timeout fails the connection. */
	r = yamux_ping(c->mux, now);
	if (r < 0 && r != W2W_ESTATE)
		return r;
	c->probe_out = true;
	conn_pump(c, now);
	return 0;
}

int conn_ping(struct conn *c, uint64_t now)
{
	const char *ids[1] = { proto_ping.id };
	int r;

	if (c->st == CONN_S_FAILED || c->st == CONN_S_CLOSING)
		return W2W_ESTATE;
	if (c->st != CONN_S_READY) {
		c->pings_waiting++;
		return 0;
	}
	r = cs_open(c, &proto_ping, ids, 1, now, NULL);
	if (r == 0)
		conn_pump(c, now);
	return r;
}

/* ---- gossipsub (/meshsub/1.1.0, /meshsub/1.0.0, libp2p specs pubsub/) ---- */

static const struct stream_proto proto_gs11, proto_gs10;

static int gs_proto_of(const struct cstream *cs)
{
	return cs->proto == &proto_gs11 ? GS_MESHSUB_11 : GS_MESHSUB_10;
}

static bool gs_offered(const struct conn *c)
{
	return c->cfg.gossipsub;
}

static void gs_closed(struct cstream *cs)
{
	struct conn_event ev = { .type = CONN_EV_GS_CLOSED, .gs_proto = gs_proto_of(cs),
				 .peer_stream = inbound(cs), .current = cs == cs->c->gs_out };

	conn_emit(cs->c, &ev);
}

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

static void gs_open(struct cstream *cs, uint64_t now)
{
	struct conn *c = cs->c;
	struct conn_event ev = { .gs_proto = gs_proto_of(cs) };

	(void)now;
	if (inbound(cs)) {
		/* pubsub/README.md: the peer's stream is read-only for us. The
		 * newest one wins: an older one is no longer read (its bytes
		 * would interleave with the new stream's frames). */
		for (struct cstream *o = c->streams; o; o = o->next)
			if (o != cs && !o->done && (o->proto == &proto_gs11 || o->proto == &proto_gs10) && inbound(o))
				o->done = true;
		ev.type = CONN_EV_GS_IN_OPEN;
		conn_emit(c, &ev);
		return;
	}
	ev.type = CONN_EV_GS_OUT;
	conn_emit(c, &ev);
	gs_pull(cs);
}

static void gs_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	struct conn_event ev = { .type = CONN_EV_GS_IN, .data = p, .len = n, .gs_proto = gs_proto_of(cs) };

	struct conn *c = cs->c;

	(void)now;
	*used = n;
	/* pubsub/README.md: nothing is expected on our own stream. */
	if (!inbound(cs))
		return;
	c->gs_in_reset = false;
	conn_emit(c, &ev);
	if (c->gs_in_reset) {
		/* go comm.go handleNewStream: a read error resets the stream, not the connection. */
		c->gs_in_reset = false;
		cs_abort(cs);
	}
}

void conn_gs_in_reset(struct conn *c)
{
	c->gs_in_reset = true;
}

static void gs_eof(struct cstream *cs, uint64_t now)
{
	(void)now;
	gs_closed(cs);
	if (inbound(cs)) {
		cs->done = true;
		cs_close_after(cs);
		return;
	}
	/* pubsub/README.md (go comm.go): EOF on our stream means the peer is gone. */
	cs_abort(cs);
}

static void gs_writable(struct cstream *cs, uint64_t now)
{
	(void)now;
	if (!inbound(cs))
		gs_pull(cs);
}

static bool gs_closed_cb(struct cstream *cs, bool reset, uint64_t now)
{
	(void)reset;
	(void)now;
	gs_closed(cs);
	return false;
}

static void gs_mux_up(struct conn *c, uint64_t now)
{
	if (c->gs_want)
		conn_gs_open(c, now);
}

static const struct stream_proto proto_gs11 = {
	.id = GS_PROTOCOL_V11,
	.offered = gs_offered,
	.on_mux_up = gs_mux_up,
	.on_open = gs_open,
	.on_data = gs_data,
	.on_eof = gs_eof,
	.on_writable = gs_writable,
	.on_closed = gs_closed_cb,
};

/* Same handlers; only the id (and so gs_proto_of) differs. */
static const struct stream_proto proto_gs10 = {
	.id = GS_PROTOCOL_V10,
	.offered = gs_offered,
	.on_open = gs_open,
	.on_data = gs_data,
	.on_eof = gs_eof,
	.on_writable = gs_writable,
	.on_closed = gs_closed_cb,
};

int conn_gs_open(struct conn *c, uint64_t now)
{
	const char *ids[2] = { proto_gs11.id, proto_gs10.id };
	int r;

	if (!c->cfg.gossipsub)
		return W2W_ESTATE;
	if (c->st != CONN_S_READY) {
		c->gs_want = true;
		return 0;
	}
	if (c->gs_out)
		return 0;
	r = cs_open(c, &proto_gs11, ids, 2, now, &c->gs_out);
	if (r == 0)
		conn_pump(c, now);
	return r;
}

void conn_gs_reset(struct conn *c, bool hard, uint64_t now)
{
	struct cstream *cs = c->gs_out;

	c->gs_want = false;
	if (!cs)
		return;
	c->gs_out = NULL;
	if (!cs->proto || hard) {
		cs_abort(cs); /* still negotiating, or the peer must see an error */
	} else {
		/* A FIN, not a reset: js treats a failed pubsub stream as a dead peer. */
		cs->done = true;
		cs->free_after_fin = true;
		cs_close_after(cs);
	}
	conn_pump(c, now);
}

void conn_gs_kick(struct conn *c, uint64_t now)
{
	if (c->gs_out && c->gs_out->proto) {
		gs_pull(c->gs_out);
		conn_pump(c, now);
	}
}

/* ---- echo (CONN_ECHO_PROTO_ID, diagnostics only) ---- */

static bool echo_offered(const struct conn *c)
{
	return c->cfg.echo;
}

static void echo_open(struct cstream *cs, uint64_t now)
{
	(void)cs;
	(void)now;
}

static void echo_data(struct cstream *cs, const uint8_t *p, size_t n, uint64_t now, size_t *used)
{
	(void)now;
	/* Same backpressure as ping: at most STREAM_PEND_SOFT waiting. */
	*used = n;
	if (cs->pend.len >= STREAM_PEND_SOFT) {
		*used = 0;
		return;
	}
	if (*used > STREAM_PEND_SOFT - cs->pend.len)
		*used = STREAM_PEND_SOFT - cs->pend.len;
	if (cs_send(cs, p, *used) < 0)
		*used = 0;
}

static const struct stream_proto proto_echo = {
	.id = CONN_ECHO_PROTO_ID,
	.offered = echo_offered,
	.on_open = echo_open,
	.on_data = echo_data,
	.on_writable = cs_readable,
};

/* ---- the table ---- */

const struct stream_proto *const conn_protos[] = {
	&proto_identify, &proto_ping, &proto_gs11, &proto_gs10, &proto_echo,
};
const size_t conn_n_protos = sizeof(conn_protos) / sizeof(conn_protos[0]);
