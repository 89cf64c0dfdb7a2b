/* SPDX-License-Identifier: MIT */
/*
 * Connection upgrade pipeline and the session pump (see conn.h, conn_int.h).
 * Streams live in conn_stream.c, the protocols on them in conn_proto.c.
 * Section references are to libp2p/specs connections/README.md unless named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn_int.h"
#include "err.h"
#include "log.h"
#include "mss.h"
#include "noise.h"
#include "peerid.h"
#include "pnet.h"
#include "yamux.h"

#define CONN_OUT_MAX (4u * 1024 * 1024) /* hard cap on unsent socket bytes */

static int conn_fail(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int conn_fail(struct conn *c, int err, const char *fmt, ...)
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

/*
 * A private network (libp2p pnet spec) has no handshake of its own: with
 * another swarm key the XSalsa20 stream decrypts to noise, and the first
 * thing that notices is the multistream header right after the nonces. So a
 * failure on a pnet connection after the nonce and before that header arrived
 * intact is reported as W2W_EPSK, one code for one cause; once the header
 * decrypted, the key is known good and other codes keep their meaning.
 */
static bool psk_suspect(const struct conn *c)
{
	return c->pnet && c->st == CONN_S_MSS_SEC && c->mss && !mss_header_seen(c->mss);
}

void conn_emit(struct conn *c, const struct conn_event *ev)
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
		return conn_fail(c, r, "output buffer full (peer does not read)");
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
		return conn_fail(c, r, "noise encryption failed");
	r = emit_plain(c, c->tmp2.data, c->tmp2.len);
	buf_reset(&c->tmp2);
	return r;
}

/* ---- session ---- */

/* yamux events to the streams (conn_stream.c). */
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
			cs_accept(c, ev.stream, now);
			cs = yamux_stream_user(ev.stream);
			if (cs && yamux_stream_readable(ev.stream))
				cs_readable(cs, now);
			break;
		case YAMUX_EV_READABLE:
			if (cs)
				cs_readable(cs, now);
			break;
		case YAMUX_EV_EOF:
			if (cs)
				cs_readable(cs, now);
			/* cs_readable runs the EOF of negotiated streams itself. */
			if (cs && cs_alive(c, cs) && !cs->proto)
				cs_eof(cs, now);
			break;
		case YAMUX_EV_WRITABLE:
			if (cs)
				cs_writable(cs, now);
			break;
		case YAMUX_EV_RESET:
		case YAMUX_EV_CLOSED:
			if (!cs) {
				yamux_stream_free(ev.stream);
				break;
			}
			cs_closed(cs, ev.type == YAMUX_EV_RESET, now);
			break;
		case YAMUX_EV_PING:
			if (c->probe_out) {
				struct conn_event pe = { .type = CONN_EV_PING, .rtt_us = ev.rtt_us };

				c->probe_out = false;
				conn_emit(c, &pe);
			}
			break;
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

void conn_pump(struct conn *c, uint64_t now)
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
		conn_fail(c, yamux_error(c->mux), "yamux session failed");
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
		return conn_fail(c, r, "out of memory");
	c->st = CONN_S_READY;
	c->hs_deadline = UINT64_MAX;
	log_debug(c->cfg.log, "conn %s: upgraded (pnet, noise, yamux)", c->name);
	/* Streams every connection runs (identify) and those asked for before
	 * the muxer was up, in table order, before the owner hears of it. */
	for (size_t i = 0; i < conn_n_protos && c->st == CONN_S_READY; i++)
		if (conn_protos[i]->on_mux_up)
			conn_protos[i]->on_mux_up(c, now);
	conn_emit(c, &ev);
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
		return conn_fail(c, r, "out of memory");
	c->st = CONN_S_NOISE;
	buf_reset(&c->tmp);
	r = noise_start(c->noise, now, &c->tmp);
	if (r < 0)
		return conn_fail(c, r, "noise start failed");
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
		if (r < 0) {
			bool psk = psk_suspect(c);

			return conn_fail(c, psk ? W2W_EPSK : r, "security negotiation failed: %s%s",
					 mss_reason(c->mss), psk ? " (wrong swarm key?)" : "");
		}
		if (r == 0)
			return 0;
		if (strcmp(mss_protocol(c->mss), NOISE_PROTO_ID))
			return conn_fail(c, W2W_EPROTO, "peer chose security %s", mss_protocol(c->mss));
		r = start_noise(c, now);
		if (r < 0)
			return r;
		mss_leftover(c->mss, &lp, &ln);
		/* Noise frames pipelined after the mss echo. */
		if (ln) {
			buf_reset(&c->tmp2);
			if (buf_append(&c->tmp2, lp, ln) < 0)
				return conn_fail(c, -ENOMEM, "out of memory");
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
			return conn_fail(c, r, "noise: %s (wrong peer ID)", why);
		/* Not the swarm key: the multistream lines before Noise decrypted. */
		return conn_fail(c, r, "noise handshake failed: %s", why);
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
			return conn_fail(c, r, "out of memory");
		c->st = CONN_S_MSS_MUX;
		buf_reset(&c->tmp);
		r = mss_start(c->mss, now, &c->tmp);
		if (r < 0)
			return conn_fail(c, r, "mss start failed");
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
			return conn_fail(c, r, "muxer negotiation failed: %s", mss_reason(c->mss));
		if (r == 0)
			return 0;
		r = start_mux(c, now);
		if (r < 0)
			return r;
		mss_leftover(c->mss, &lp, &ln);
		if (ln && buf_append(&c->app, lp, ln) < 0)
			return conn_fail(c, -ENOMEM, "out of memory");
		mss_free(c->mss);
		c->mss = NULL;
	}
	if ((c->st == CONN_S_READY || c->st == CONN_S_CLOSING) && c->app.len) {
		r = yamux_feed(c->mux, c->app.data, c->app.len, now);
		buf_reset(&c->app);
		if (r < 0) {
			pull_mux(c);
			return conn_fail(c, r, "yamux: peer broke the protocol");
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
	c->cfg.psks = NULL; /* pnet copied them */
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
	if (cfg->psk || (cfg->n_psks > 1 && !cfg->initiator)) {
		struct pnet_config pc = { .psk = cfg->psk, .rng = cfg->rng, .log = cfg->log,
					  .timeout_us = c->hs_deadline - now };

		if (cfg->n_psks > 1 && !cfg->initiator) {
			pc.psks = cfg->psks;
			pc.n_psks = cfg->n_psks;
		}

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
	if (c->pnet && !pnet_selected(c->pnet)) {
		/* Several candidate keys: encrypted once the dialer's first bytes told which. */
		if (c->tmp.len > sizeof(c->held)) {
			r = W2W_ELIMIT;
		} else {
			memcpy(c->held, c->tmp.data, c->tmp.len);
			c->held_len = c->tmp.len;
			r = 0;
		}
	} else if (c->pnet) {
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

const char *conn_name(const struct conn *c)
{
	return c->name;
}

int conn_psk_index(const struct conn *c)
{
	return c->pnet ? pnet_selected_index(c->pnet) : -1;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	cs_drop_all(c);
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
			return conn_fail(c, r, "pnet: %s", pnet_reason(c->pnet));
		if (r == 0)
			return 0;
		if (c->held_len) {
			r = pnet_write(c->pnet, c->held, c->held_len, &c->out);
			c->held_len = 0;
			if (r < 0)
				return conn_fail(c, r, "output buffer full");
		}
		if (c->st == CONN_S_PNET)
			c->st = CONN_S_MSS_SEC;
		r = plain_in(c, c->plain.data, c->plain.len, now);
	} else {
		r = plain_in(c, in, n, now);
	}
	buf_reset(&c->plain);
	if (r < 0)
		return r;
	conn_pump(c, now);
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
		conn_fail(c, err, "socket error: %s", err_str(err));
	else if (c->st != CONN_S_READY)
		conn_fail(c, psk_suspect(c) ? W2W_EPSK : W2W_ECLOSED, "peer closed the connection during the handshake%s",
		     psk_suspect(c) ? " (wrong swarm key?)" : "");
	else
		conn_fail(c, W2W_ECLOSED, "peer closed the connection");
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
		conn_pump(c, now);
}

int conn_tick(struct conn *c, uint64_t now)
{
	int r;

	if (c->st == CONN_S_FAILED)
		return c->err;
	if (c->st < CONN_S_READY && now >= c->hs_deadline)
		return conn_fail(c, psk_suspect(c) ? W2W_EPSK : W2W_ETIMEDOUT, "handshake timed out in %s%s",
			    c->st == CONN_S_PNET ? "pnet" : c->st == CONN_S_MSS_SEC ? "security negotiation" :
			    c->st == CONN_S_NOISE ? "noise" : "muxer negotiation",
			    psk_suspect(c) ? " (wrong swarm key?)" : "");
	if (c->mux) {
		r = yamux_tick(c->mux, now);
		if (r < 0) {
			pull_mux(c);
			return conn_fail(c, r, "yamux keepalive failed");
		}
		cs_tick_all(c, now);
		conn_pump(c, now);
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
		t = cs_deadline_all(c);
		if (t < d)
			d = t;
	}
	return d;
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
		m += cs_memory(cs);
	return m;
}
