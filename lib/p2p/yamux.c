/* SPDX-License-Identifier: MIT */
/*
 * yamux session engine. Section references are to libp2p/specs
 * yamux/README.md (which points at hashicorp/yamux spec.md).
 *
 * Flow control, per stream and per direction: the peer may send us at most
 * recv_window bytes; the invariant rx_avail + recv_window + unacked == window
 * holds at all times, so a stream never buffers more than its window.
 * Consumed bytes are granted back once they reach half the window (the go
 * strategy), which keeps the number of WindowUpdate frames low.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "yamux.h"

#define YAMUX_MAX_WINDOW (16u * 1024 * 1024) /* go and js auto-tune up to 16 MiB */

/* Event bits: 1 << enum yamux_ev_type; delivered lowest first. */
#define EVB(t) (1u << (t))

struct yamux_stream {
	struct yamux *s;
	struct yamux_stream *ev_next; /* pending-event FIFO */
	void *user;
	uint32_t id;
	bool inbound;
	bool need_syn;      /* outbound: SYN not sent yet */
	bool need_ack;      /* inbound: ACK not sent yet */
	bool fin_wanted;    /* host closed its side */
	bool fin_sent;
	bool fin_recv;
	bool reset;         /* by either side; the stream is dead */
	bool rst_owed;      /* we reset it and still have to say so */
	bool detached;      /* host freed its handle */
	bool want_writable; /* a write returned -EAGAIN */
	bool ev_queued;
	unsigned ev;        /* pending event bits */
	uint64_t send_window;
	uint32_t recv_window; /* credit the peer holds */
	uint32_t unacked;     /* consumed by the host, not yet granted back */
	uint32_t wu_owed;     /* credit granted but not yet sent */
	struct buf rx;        /* received bytes; the unread ones start at rx_off */
	size_t rx_off;
	struct buf tx;
};

struct yamux {
	bool client;
	uint32_t max_inbound, max_outbound, window, sendq_max;
	uint64_t keepalive_us, ping_timeout_us;
	const struct wlog *log;

	struct yamux_stream **streams;
	size_t n_streams, cap_streams;
	size_t n_inbound, n_outbound;
	size_t rr; /* round-robin start for the next pull */
	uint32_t next_id;

	struct buf ctrl; /* whole 12-byte session frames waiting to go out */

	/* Input state: a header being assembled, then a Data body streamed out. */
	uint8_t hdr[YAMUX_HDR_LEN];
	size_t hdr_len;
	struct yamux_hdr cur;
	uint32_t body_left;
	struct yamux_stream *frame_st; /* the stream the current frame is for (or NULL) */
	struct yamux_stream *body_st;  /* where the Data body goes; NULL: drain it */

	int err;
	bool goaway_sent, goaway_recv;
	uint32_t goaway_code;
	unsigned sess_ev;

	bool ping_out;
	uint32_t ping_value, ping_counter;
	uint64_t ping_sent_at, next_ping_at, rtt_us, ev_rtt_us;

	struct yamux_stream *evq_head, *evq_tail;
};

void yamux_hdr_encode(uint8_t out[YAMUX_HDR_LEN], const struct yamux_hdr *h)
{
	out[0] = h->version;
	out[1] = h->type;
	out[2] = (uint8_t)(h->flags >> 8);
	out[3] = (uint8_t)h->flags;
	for (int i = 0; i < 4; i++) {
		out[4 + i] = (uint8_t)(h->stream_id >> (24 - 8 * i));
		out[8 + i] = (uint8_t)(h->length >> (24 - 8 * i));
	}
}

int yamux_hdr_decode(const uint8_t in[YAMUX_HDR_LEN], struct yamux_hdr *h)
{
	struct yamux_hdr t;

	t.version = in[0];
	t.type = in[1];
	t.flags = (uint16_t)(in[2] << 8 | in[3]);
	t.stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
	t.length = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 | (uint32_t)in[10] << 8 | in[11];
	/* Only version 0 exists; unknown types are a protocol error in go and js. */
	if (t.version != YAMUX_VERSION || t.type > YAMUX_GO_AWAY)
		return W2W_EPROTO;
	*h = t;
	return 0;
}

static int put_frame(struct buf *b, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
	struct yamux_hdr h = {YAMUX_VERSION, type, flags, id, length};
	uint8_t *p;

	p = buf_extend(b, YAMUX_HDR_LEN);
	if (!p)
		return buf_room(b) < YAMUX_HDR_LEN ? W2W_ELIMIT : -ENOMEM;
	yamux_hdr_encode(p, &h);
	return 0;
}

static int fail(struct yamux *s, int err, const char *why)
{
	if (s->err)
		return s->err;
	s->err = err;
	log_warn(s->log, "yamux: session failed: %s (%s)", why, err_str(err));
	/* spec "GoAway": tell the peer why before the host closes the connection.
	 * The control cap may be what failed: allow this one frame past it. */
	if (!s->goaway_sent) {
		uint32_t code = err == W2W_EPROTO ? YAMUX_GOAWAY_PROTO_ERR
			      : err == W2W_ETIMEDOUT ? YAMUX_GOAWAY_NORMAL
						     : YAMUX_GOAWAY_INTERNAL_ERR;
		s->ctrl.max += YAMUX_HDR_LEN;
		(void)put_frame(&s->ctrl, YAMUX_GO_AWAY, 0, 0, code);
		s->goaway_sent = true;
	}
	return err;
}

static int ctrl_frame(struct yamux *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
	int r = put_frame(&s->ctrl, type, flags, id, length);

	if (r == W2W_ELIMIT)
		return fail(s, W2W_ELIMIT, "peer does not read our control frames");
	if (r < 0)
		return fail(s, r, "out of memory");
	return 0;
}

int yamux_new(struct yamux **ret, const struct yamux_config *cfg)
{
	struct yamux *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->client = cfg->client;
	s->max_inbound = cfg->max_inbound ? cfg->max_inbound : YAMUX_DEFAULT_MAX_INBOUND;
	s->max_outbound = cfg->max_outbound ? cfg->max_outbound : YAMUX_DEFAULT_MAX_OUTBOUND;
	s->window = cfg->window < YAMUX_INITIAL_WINDOW ? YAMUX_INITIAL_WINDOW : cfg->window;
	if (s->window > YAMUX_MAX_WINDOW)
		s->window = YAMUX_MAX_WINDOW;
	s->sendq_max = cfg->sendq_max ? cfg->sendq_max : YAMUX_DEFAULT_SENDQ;
	if (s->sendq_max > YAMUX_MAX_WINDOW)
		s->sendq_max = YAMUX_MAX_WINDOW;
	s->keepalive_us = cfg->keepalive_us;
	s->ping_timeout_us = cfg->ping_timeout_us ? cfg->ping_timeout_us : YAMUX_DEFAULT_PING_TIMEOUT_US;
	s->log = cfg->log;
	/* spec "Stream identifiers": client odd, server even, 0 is the session. */
	s->next_id = s->client ? 1 : 2;
	buf_init(&s->ctrl, YAMUX_CTRL_MAX);
	*ret = s;
	return 0;
}

static void stream_destroy(struct yamux_stream *st)
{
	buf_free(&st->rx);
	buf_free(&st->tx);
	free(st);
}

void yamux_free(struct yamux *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_streams; i++)
		stream_destroy(s->streams[i]);
	free(s->streams);
	buf_free(&s->ctrl);
	free(s);
}

/* ---- events ---- */

static void ev_set(struct yamux_stream *st, enum yamux_ev_type t)
{
	struct yamux *s = st->s;

	if (st->detached)
		return;
	st->ev |= EVB(t);
	if (st->ev_queued)
		return;
	st->ev_queued = true;
	st->ev_next = NULL;
	if (s->evq_tail)
		s->evq_tail->ev_next = st;
	else
		s->evq_head = st;
	s->evq_tail = st;
}

static void evq_remove(struct yamux *s, struct yamux_stream *st)
{
	struct yamux_stream *prev = NULL;

	if (!st->ev_queued)
		return;
	for (struct yamux_stream *it = s->evq_head; it; prev = it, it = it->ev_next) {
		if (it != st)
			continue;
		if (prev)
			prev->ev_next = it->ev_next;
		else
			s->evq_head = it->ev_next;
		if (s->evq_tail == it)
			s->evq_tail = prev;
		break;
	}
	st->ev_queued = false;
	st->ev_next = NULL;
}

bool yamux_next_event(struct yamux *s, struct yamux_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (s->sess_ev & EVB(YAMUX_EV_GOAWAY)) {
		s->sess_ev &= ~EVB(YAMUX_EV_GOAWAY);
		ev->type = YAMUX_EV_GOAWAY;
		ev->code = s->goaway_code;
		return true;
	}
	if (s->sess_ev & EVB(YAMUX_EV_PING)) {
		s->sess_ev &= ~EVB(YAMUX_EV_PING);
		ev->type = YAMUX_EV_PING;
		ev->rtt_us = s->ev_rtt_us;
		return true;
	}
	while (s->evq_head) {
		struct yamux_stream *st = s->evq_head;

		if (st->ev) {
			int t = __builtin_ctz(st->ev);

			st->ev &= ~(1u << t);
			if (!st->ev)
				evq_remove(s, st);
			ev->type = (enum yamux_ev_type)t;
			ev->stream = st;
			return true;
		}
		evq_remove(s, st);
	}
	return false;
}

/* ---- stream table ---- */

static struct yamux_stream *find(struct yamux *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_streams; i++)
		if (s->streams[i]->id == id)
			return s->streams[i];
	return NULL;
}

static int stream_add(struct yamux *s, uint32_t id, bool inbound, struct yamux_stream **ret)
{
	struct yamux_stream *st;

	if (s->n_streams == s->cap_streams) {
		size_t ncap = s->cap_streams ? s->cap_streams * 2 : 16;
		struct yamux_stream **n = realloc(s->streams, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->streams = n;
		s->cap_streams = ncap;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->s = s;
	st->id = id;
	st->inbound = inbound;
	st->send_window = YAMUX_INITIAL_WINDOW;
	/* Both sides start from the spec's 256 KiB; a bigger window of ours
	 * is announced with the stream's first frame. */
	st->recv_window = s->window;
	st->wu_owed = s->window - YAMUX_INITIAL_WINDOW;
	buf_init(&st->rx, s->window);
	st->rx_off = 0;
	buf_init(&st->tx, s->sendq_max);
	s->streams[s->n_streams++] = st;
	if (inbound)
		s->n_inbound++;
	else
		s->n_outbound++;
	*ret = st;
	return 0;
}

static void stream_remove(struct yamux *s, struct yamux_stream *st)
{
	for (size_t i = 0; i < s->n_streams; i++) {
		if (s->streams[i] != st)
			continue;
		s->streams[i] = s->streams[--s->n_streams];
		break;
	}
	if (st->inbound)
		s->n_inbound--;
	else
		s->n_outbound--;
	if (s->body_st == st)
		s->body_st = NULL;
	if (s->frame_st == st)
		s->frame_st = NULL;
	evq_remove(s, st);
	stream_destroy(st);
}

static bool stream_finished(const struct yamux_stream *st)
{
	return st->reset || (st->fin_sent && st->fin_recv);
}

/* A freed stream leaves once nothing of it has to go out any more. */
static bool reapable(const struct yamux_stream *st)
{
	if (!st->detached)
		return false;
	if (st->reset)
		return !st->rst_owed;
	return st->fin_sent;
}

static void reap(struct yamux *s)
{
	for (size_t i = 0; i < s->n_streams;) {
		struct yamux_stream *st = s->streams[i];

		if (reapable(st))
			stream_remove(s, st); /* moves the last entry to i */
		else
			i++;
	}
}

/* The stream just lost its last direction. */
static void check_finished(struct yamux_stream *st)
{
	if (!st->reset && st->fin_sent && st->fin_recv)
		ev_set(st, YAMUX_EV_CLOSED);
}

static size_t rx_avail(const struct yamux_stream *st)
{
	return st->rx.len - st->rx_off;
}

/* Moves unread bytes to the front. Reads advance rx_off instead of moving
 * the rest each time, so small reads of a full window stay linear. */
static void rx_compact(struct yamux_stream *st)
{
	buf_consume(&st->rx, st->rx_off);
	st->rx_off = 0;
}

static void drop_buffers(struct yamux_stream *st)
{
	st->rx_off = 0;
	buf_free(&st->rx);
	buf_free(&st->tx);
}

/* ---- input ---- */

static int accept_inbound(struct yamux *s, uint32_t id, struct yamux_stream **ret)
{
	int r;

	*ret = NULL;
	/* spec "Stream identifiers": the peer's IDs have the other parity.
	 * go: "both yamux endpoints are clients"; js: protocol error too. */
	if (((id & 1) == 1) == s->client)
		return fail(s, W2W_EPROTO, "SYN with a stream ID of our parity");
	/* spec "GoAway": after ours, refuse new streams; same when at the limit. */
	if (s->goaway_sent || s->n_inbound >= s->max_inbound) {
		if (!s->goaway_sent)
			log_debug(s->log, "yamux: refusing stream %u: %zu inbound streams open", id, s->n_inbound);
		return ctrl_frame(s, YAMUX_WINDOW_UPDATE, YAMUX_RST, id, 0);
	}
	r = stream_add(s, id, true, ret);
	if (r < 0)
		return fail(s, r, "out of memory");
	/* go acknowledges at once (WindowUpdate ACK); js on its first frame. */
	(*ret)->need_ack = true;
	ev_set(*ret, YAMUX_EV_OPENED);
	return 0;
}

static void peer_reset(struct yamux_stream *st)
{
	if (st->reset)
		return;
	st->reset = true;
	st->rst_owed = false;
	drop_buffers(st);
	st->ev &= ~(EVB(YAMUX_EV_READABLE) | EVB(YAMUX_EV_EOF) | EVB(YAMUX_EV_WRITABLE));
	ev_set(st, YAMUX_EV_RESET);
}

/* FIN/RST take effect after the frame's data (spec "Flag Field"). */
static void apply_close_flags(struct yamux_stream *st, uint16_t flags)
{
	if (!st || st->reset)
		return;
	if (flags & YAMUX_RST) {
		peer_reset(st);
		return;
	}
	if ((flags & YAMUX_FIN) && !st->fin_recv) {
		st->fin_recv = true;
		ev_set(st, YAMUX_EV_READABLE); /* readers see the EOF */
		ev_set(st, YAMUX_EV_EOF);
		check_finished(st);
	}
}

static int on_ping(struct yamux *s, const struct yamux_hdr *h, uint64_t now_us)
{
	/* spec "Ping": answer a SYN with ACK and the same opaque value. js
	 * aborts on an unsolicited or altered ACK, so never send one. */
	if (h->flags & YAMUX_SYN)
		return ctrl_frame(s, YAMUX_PING, YAMUX_ACK, 0, h->length);
	if ((h->flags & YAMUX_ACK) && s->ping_out && h->length == s->ping_value) {
		s->ping_out = false;
		s->rtt_us = now_us > s->ping_sent_at ? now_us - s->ping_sent_at : 1;
		s->ev_rtt_us = s->rtt_us;
		s->sess_ev |= EVB(YAMUX_EV_PING);
	}
	return 0;
}

static int on_header(struct yamux *s, uint64_t now_us)
{
	struct yamux_hdr *h = &s->cur;
	struct yamux_stream *st;
	int r;

	if (yamux_hdr_decode(s->hdr, h) < 0)
		return fail(s, W2W_EPROTO, "bad frame version or type");
	if (h->type == YAMUX_PING)
		return on_ping(s, h, now_us);
	if (h->type == YAMUX_GO_AWAY) {
		if (!s->goaway_recv) {
			s->goaway_recv = true;
			s->goaway_code = h->length;
			s->sess_ev |= EVB(YAMUX_EV_GOAWAY);
			log_debug(s->log, "yamux: peer sent GoAway(%u)", h->length);
		}
		return 0;
	}
	/* Data and WindowUpdate belong to a stream; 0 is the session. */
	if (h->stream_id == 0)
		return fail(s, W2W_EPROTO, "stream frame on stream 0");
	st = find(s, h->stream_id);
	if (h->flags & YAMUX_SYN) {
		if (st)
			return fail(s, W2W_EPROTO, "SYN for an open stream");
		r = accept_inbound(s, h->stream_id, &st);
		if (r < 0)
			return r;
	}
	s->frame_st = st;
	if (h->type == YAMUX_DATA) {
		bool live = st && !st->reset && !st->fin_recv && !st->detached && !(h->flags & YAMUX_RST);
		/* spec "Flow Control": a sender never exceeds the window we
		 * granted; checked before buffering a byte, so a frame that
		 * announces 4 GiB fails here. Frames for streams we dropped
		 * can be in flight, but never beyond a full window. */
		uint32_t limit = st && !st->reset && !st->fin_recv ? st->recv_window : s->window;

		if (h->length > limit)
			return fail(s, W2W_EPROTO, "Data frame exceeds the receive window");
		if (st && !st->reset && !st->fin_recv)
			st->recv_window -= h->length;
		s->body_left = h->length;
		s->body_st = live ? st : NULL;
		if (h->length == 0)
			apply_close_flags(st, h->flags);
		return 0;
	}

	/* WindowUpdate: the length is a window delta, or an error code with RST. */
	if (st && !st->reset && !(h->flags & YAMUX_RST)) {
		st->send_window += h->length;
		if (st->send_window > UINT32_MAX)
			return fail(s, W2W_EPROTO, "send window overflow");
	}
	apply_close_flags(st, h->flags);
	if (st && st->reset && st->detached)
		reap(s);
	return 0;
}

int yamux_feed(struct yamux *s, const void *in, size_t n, uint64_t now_us)
{
	const uint8_t *p = in;
	int r = 0;

	if (s->err)
		return s->err;
	while (n > 0) {
		if (s->body_left > 0) {
			size_t take = n < s->body_left ? n : s->body_left;

			if (s->body_st) {
				/* Cannot fail: rx_avail + recv_window <= window == rx.max. */
				if (s->body_st->rx.len + take > s->body_st->rx.max)
					rx_compact(s->body_st);
				r = buf_append(&s->body_st->rx, p, take);
				if (r < 0) {
					r = fail(s, r, "receive buffer");
					goto out;
				}
				ev_set(s->body_st, YAMUX_EV_READABLE);
			}
			p += take;
			n -= take;
			s->body_left -= (uint32_t)take;
			if (s->body_left == 0)
				apply_close_flags(s->frame_st, s->cur.flags);
			continue;
		}
		size_t take = YAMUX_HDR_LEN - s->hdr_len;

		if (take > n)
			take = n;
		memcpy(s->hdr + s->hdr_len, p, take);
		s->hdr_len += take;
		p += take;
		n -= take;
		if (s->hdr_len < YAMUX_HDR_LEN)
			break;
		s->hdr_len = 0;
		s->body_st = s->frame_st = NULL;
		r = on_header(s, now_us);
		if (r < 0)
			goto out;
	}
	reap(s);
out:
	return r;
}

/* ---- output ---- */

static bool stream_has_output(const struct yamux_stream *st)
{
	if (st->rst_owed)
		return true;
	if (st->reset)
		return false;
	if (st->need_syn || st->need_ack || st->wu_owed)
		return true;
	if (st->tx.len > 0 && st->send_window > 0)
		return true;
	return st->fin_wanted && !st->fin_sent && st->tx.len == 0;
}

/* Emits at most one frame of st into out, within room. Returns bytes. */
static size_t emit_stream(struct yamux_stream *st, struct buf *out, size_t room)
{
	uint16_t flags = (st->need_syn ? YAMUX_SYN : 0) | (st->need_ack ? YAMUX_ACK : 0);
	size_t data = 0;
	bool fin;

	if (room < YAMUX_HDR_LEN)
		return 0;
	if (st->rst_owed) {
		if (put_frame(out, YAMUX_WINDOW_UPDATE, flags | YAMUX_RST, st->id, 0) < 0)
			return 0;
		st->rst_owed = st->need_syn = st->need_ack = false;
		return YAMUX_HDR_LEN;
	}
	if (st->reset)
		return 0;
	if (st->tx.len > 0 && st->send_window > 0 && room > YAMUX_HDR_LEN) {
		data = st->tx.len;
		if (data > st->send_window)
			data = (size_t)st->send_window;
		if (data > YAMUX_MAX_DATA_FRAME)
			data = YAMUX_MAX_DATA_FRAME;
		if (data > room - YAMUX_HDR_LEN)
			data = room - YAMUX_HDR_LEN;
	}
	/* FIN travels alone on a WindowUpdate once every byte is framed:
	 * js-yamux 7 applies a Data frame's flags before its payload, so data
	 * on a Data|FIN frame would be dropped there. */
	fin = st->fin_wanted && !st->fin_sent && st->tx.len == 0;
	if (data > 0) {
		if (put_frame(out, YAMUX_DATA, flags, st->id, (uint32_t)data) < 0)
			return 0;
		if (buf_append(out, st->tx.data, data) < 0) {
			out->len -= YAMUX_HDR_LEN;
			return 0;
		}
		buf_consume(&st->tx, data);
		if (st->tx.len == 0 && st->tx.cap > 16 * 1024)
			buf_free(&st->tx); /* idle streams stay small */
		st->send_window -= data;
		if (st->want_writable) {
			st->want_writable = false;
			ev_set(st, YAMUX_EV_WRITABLE);
		}
	} else if (flags || st->wu_owed || fin) {
		if (put_frame(out, YAMUX_WINDOW_UPDATE, flags | (fin ? YAMUX_FIN : 0), st->id, st->wu_owed) < 0)
			return 0;
		st->wu_owed = 0;
	} else {
		return 0;
	}
	st->need_syn = st->need_ack = false;
	if (fin) {
		st->fin_sent = true;
		check_finished(st);
	}
	return YAMUX_HDR_LEN + data;
}

int yamux_pull(struct yamux *s, struct buf *out, size_t max)
{
	size_t room = buf_room(out), total = 0, n;
	bool progress;

	if (max < room)
		room = max;
	/* Session frames first: pongs must not wait behind bulk data. */
	n = s->ctrl.len < room ? s->ctrl.len : room;
	n -= n % YAMUX_HDR_LEN;
	if (n > 0) {
		if (buf_append(out, s->ctrl.data, n) < 0)
			return 0;
		buf_consume(&s->ctrl, n);
		total += n;
		room -= n;
	}
	if (s->err)
		return (int)total;
	/* Then one frame per stream per round, round-robin. */
	do {
		progress = false;
		for (size_t i = 0; i < s->n_streams && room >= YAMUX_HDR_LEN && total < INT_MAX / 2; i++) {
			struct yamux_stream *st = s->streams[(s->rr + i) % s->n_streams];

			n = emit_stream(st, out, room);
			if (n) {
				total += n;
				room -= n;
				progress = true;
			}
		}
		if (s->n_streams)
			s->rr = (s->rr + 1) % s->n_streams;
	} while (progress && room >= YAMUX_HDR_LEN && total < INT_MAX / 2);
	reap(s);
	return (int)total;
}

bool yamux_want_write(const struct yamux *s)
{
	if (s->ctrl.len >= YAMUX_HDR_LEN)
		return true;
	if (s->err)
		return false;
	for (size_t i = 0; i < s->n_streams; i++)
		if (stream_has_output(s->streams[i]))
			return true;
	return false;
}

/* ---- timers and session control ---- */

int yamux_ping(struct yamux *s, uint64_t now_us)
{
	int r;

	if (s->err)
		return s->err;
	if (s->ping_out)
		return W2W_ESTATE;
	s->ping_value = ++s->ping_counter;
	r = ctrl_frame(s, YAMUX_PING, YAMUX_SYN, 0, s->ping_value);
	if (r < 0)
		return r;
	s->ping_out = true;
	s->ping_sent_at = now_us;
	return 0;
}

uint64_t yamux_next_deadline(const struct yamux *s)
{
	if (s->err)
		return UINT64_MAX;
	if (s->ping_out)
		return s->ping_sent_at + s->ping_timeout_us;
	if (s->keepalive_us)
		return s->next_ping_at;
	return UINT64_MAX;
}

int yamux_tick(struct yamux *s, uint64_t now_us)
{
	if (s->err)
		return s->err;
	if (s->ping_out && now_us >= s->ping_sent_at + s->ping_timeout_us)
		return fail(s, W2W_ETIMEDOUT, "ping not answered");
	if (s->keepalive_us && !s->ping_out && now_us >= s->next_ping_at) {
		s->next_ping_at = now_us + s->keepalive_us;
		return yamux_ping(s, now_us);
	}
	return 0;
}

uint64_t yamux_rtt_us(const struct yamux *s)
{
	return s->rtt_us;
}

int yamux_close(struct yamux *s, uint32_t code)
{
	int r;

	if (s->goaway_sent)
		return 0;
	r = ctrl_frame(s, YAMUX_GO_AWAY, 0, 0, code);
	if (r < 0)
		return r;
	s->goaway_sent = true;
	return 0;
}

int yamux_error(const struct yamux *s)
{
	return s->err;
}

bool yamux_goaway_received(const struct yamux *s)
{
	return s->goaway_recv;
}

size_t yamux_stream_count(const struct yamux *s)
{
	return s->n_streams;
}

size_t yamux_buffered(const struct yamux *s)
{
	size_t n = s->ctrl.len;

	for (size_t i = 0; i < s->n_streams; i++)
		n += rx_avail(s->streams[i]) + s->streams[i]->tx.len;
	return n;
}

/* ---- streams ---- */

int yamux_stream_open(struct yamux *s, void *user, struct yamux_stream **ret)
{
	struct yamux_stream *st;
	int r;

	if (s->err)
		return W2W_ESTATE;
	if (s->goaway_sent || s->goaway_recv)
		return W2W_ECLOSED;
	if (s->n_outbound >= s->max_outbound || s->next_id > UINT32_MAX - 2)
		return W2W_ELIMIT;
	r = stream_add(s, s->next_id, false, &st);
	if (r < 0)
		return r;
	s->next_id += 2;
	/* spec "Opening a stream": SYN on the first frame; go and js send a
	 * WindowUpdate(SYN) at once, and data may follow before the ACK. */
	st->need_syn = true;
	st->user = user;
	*ret = st;
	return 0;
}

int yamux_stream_write(struct yamux_stream *st, const void *p, size_t n)
{
	size_t room;

	if (st->s->err)
		return W2W_ECLOSED;
	if (st->reset)
		return W2W_ECLOSED;
	if (st->fin_wanted)
		return W2W_ESTATE;
	if (n == 0)
		return 0;
	room = st->s->sendq_max - st->tx.len;
	if (room == 0) {
		st->want_writable = true;
		return -EAGAIN;
	}
	if (n > room)
		n = room;
	if (buf_append(&st->tx, p, n) < 0)
		return -ENOMEM;
	return (int)n;
}

void yamux_stream_peek(const struct yamux_stream *st, const uint8_t **p, size_t *n)
{
	*p = st->rx.data ? st->rx.data + st->rx_off : NULL;
	*n = rx_avail(st);
}

void yamux_stream_consume(struct yamux_stream *st, size_t n)
{
	struct yamux *s = st->s;

	if (n > rx_avail(st))
		n = rx_avail(st);
	if (n == 0)
		return;
	st->rx_off += n;
	if (st->rx_off == st->rx.len) {
		/* Drained: give back a grown buffer, idle streams stay small. */
		st->rx_off = 0;
		if (st->rx.cap > 16 * 1024)
			buf_free(&st->rx);
		else
			buf_reset(&st->rx);
	} else if (st->rx_off >= 64 * 1024) {
		rx_compact(st);
	}
	st->unacked += (uint32_t)n;
	/* Grant the credit back once half the window is consumed; no point
	 * once the peer has finished sending. */
	if (!st->fin_recv && !st->reset && st->unacked >= s->window / 2) {
		st->recv_window += st->unacked;
		st->wu_owed += st->unacked;
		st->unacked = 0;
	}
}

int yamux_stream_read(struct yamux_stream *st, void *p, size_t n)
{
	if (st->reset)
		return W2W_ECLOSED;
	if (rx_avail(st) == 0)
		return st->fin_recv ? 0 : -EAGAIN;
	if (n > rx_avail(st))
		n = rx_avail(st);
	if (n > INT_MAX)
		n = INT_MAX;
	memcpy(p, st->rx.data + st->rx_off, n);
	yamux_stream_consume(st, n);
	return (int)n;
}

int yamux_stream_close(struct yamux_stream *st)
{
	if (st->reset)
		return W2W_ECLOSED;
	st->fin_wanted = true;
	return 0;
}

int yamux_stream_reset(struct yamux_stream *st)
{
	if (st->reset || (st->fin_sent && st->fin_recv))
		return 0;
	st->reset = true;
	/* A stream the peer never heard of needs no RST. */
	st->rst_owed = !st->need_syn;
	drop_buffers(st);
	st->ev &= EVB(YAMUX_EV_OPENED);
	return 0;
}

void yamux_stream_free(struct yamux_stream *st)
{
	struct yamux *s;

	if (!st)
		return;
	s = st->s;
	if (!stream_finished(st) && !st->fin_wanted)
		yamux_stream_reset(st);
	st->detached = true;
	st->user = NULL;
	evq_remove(s, st);
	/* A half-closed stream stays until its data and FIN went out; the
	 * peer's later frames for it are then ignored. */
	if (reapable(st))
		stream_remove(s, st);
}

uint32_t yamux_stream_id(const struct yamux_stream *st)
{
	return st->id;
}

bool yamux_stream_inbound(const struct yamux_stream *st)
{
	return st->inbound;
}

void *yamux_stream_user(const struct yamux_stream *st)
{
	return st->user;
}

void yamux_stream_set_user(struct yamux_stream *st, void *user)
{
	st->user = user;
}

size_t yamux_stream_readable(const struct yamux_stream *st)
{
	return rx_avail(st);
}

size_t yamux_stream_writable(const struct yamux_stream *st)
{
	if (st->reset || st->fin_wanted || st->s->err)
		return 0;
	return st->s->sendq_max - st->tx.len;
}

size_t yamux_stream_queued(const struct yamux_stream *st)
{
	return st->tx.len;
}

bool yamux_stream_eof(const struct yamux_stream *st)
{
	return st->fin_recv;
}

bool yamux_stream_is_reset(const struct yamux_stream *st)
{
	return st->reset;
}

bool yamux_stream_done(const struct yamux_stream *st)
{
	return stream_finished(st);
}
