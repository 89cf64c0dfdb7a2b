/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mss.h"
#include "varint.h"

/*
 * Bytes held for the next layer when the peer pipelines data behind its last
 * negotiation line (go lazy select, js optimistic select). The caller is
 * expected to move them on right after completion; this only bounds memory.
 */
#define MSS_MAX_BUFFER (1u << 20)
/* Proposals a responder answers with "na"/"ls" before giving up: a peer
 * cycling through names it knows we refuse only costs us output. */
#define MSS_MAX_REJECTS 64

enum mss_state {
	ST_INIT,
	ST_WAIT_HEADER,
	ST_WAIT_ANSWER,   /* initiator: answer to protos[cur] */
	ST_WAIT_PROPOSAL, /* responder */
	ST_DONE,
	ST_FAILED,
};

struct mss {
	enum mss_role role;
	enum mss_state st;
	char **protos;
	size_t n_protos;
	size_t cur;       /* initiator: index of the outstanding proposal */
	unsigned rejects; /* responder: proposals answered without a match */
	int selected;     /* index into protos, -1 before */
	bool header_seen; /* the peer's /multistream/1.0.0 line arrived */
	struct buf in;    /* unparsed input, then the leftover */
	uint64_t timeout_us;
	uint64_t deadline;
	int err;
	const char *reason;
	const struct wlog *log;
};

int mss_put_line(struct buf *out, const char *text, size_t len)
{
	uint8_t v[UVARINT_BUF_LEN];
	size_t vn;
	int r;

	if (len + 1 > MSS_MAX_LINE)
		return W2W_ELIMIT;
	vn = uvarint_encode(v, len + 1);
	/* Reserve first so a full buffer leaves `out` unchanged. */
	r = buf_reserve(out, vn + len + 1);
	if (r < 0)
		return r;
	buf_append(out, v, vn);
	buf_append(out, text, len);
	buf_append_u8(out, '\n');
	return 0;
}

static bool valid_proto(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n + 1 <= MSS_MAX_LINE && !memchr(s, '\n', n);
}

int mss_new(struct mss **ret, const struct mss_config *cfg)
{
	struct mss *m = NULL;
	int r = 0;

	if (!cfg || cfg->n_protocols > MSS_MAX_PROTOCOLS || (cfg->n_protocols && !cfg->protocols) ||
	    (cfg->role == MSS_INITIATOR && cfg->n_protocols == 0) ||
	    (cfg->role != MSS_INITIATOR && cfg->role != MSS_RESPONDER))
		return W2W_EPARSE;
	for (size_t i = 0; i < cfg->n_protocols; i++)
		if (!cfg->protocols[i] || !valid_proto(cfg->protocols[i]))
			return W2W_EPARSE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->role = cfg->role;
	m->st = ST_INIT;
	m->selected = -1;
	m->timeout_us = cfg->timeout_us ? cfg->timeout_us : MSS_DEFAULT_TIMEOUT_US;
	m->deadline = UINT64_MAX;
	m->log = cfg->log;
	m->reason = "";
	buf_init(&m->in, MSS_MAX_BUFFER);
	if (cfg->n_protocols) {
		m->protos = calloc(cfg->n_protocols, sizeof(*m->protos));
		if (!m->protos) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < cfg->n_protocols; i++) {
			m->protos[i] = strdup(cfg->protocols[i]);
			if (!m->protos[i]) {
				r = -ENOMEM;
				goto out;
			}
			m->n_protos++;
		}
	}
	*ret = m;
	m = NULL;
out:
	mss_free(m);
	return r;
}

void mss_free(struct mss *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_protos; i++)
		free(m->protos[i]);
	free(m->protos);
	buf_free(&m->in);
	free(m);
}

static int fail(struct mss *m, int err, const char *reason)
{
	if (m->st != ST_FAILED) {
		m->st = ST_FAILED;
		m->err = err;
		m->reason = reason;
		m->deadline = UINT64_MAX;
		log_debug(m->log, "multistream: %s", reason);
	}
	return m->err;
}

static int put_proto(struct mss *m, struct buf *out, size_t i)
{
	return mss_put_line(out, m->protos[i], strlen(m->protos[i]));
}

int mss_start(struct mss *m, uint64_t now_us, struct buf *out)
{
	size_t mark = out->len;
	int r;

	if (m->st != ST_INIT)
		return W2W_ESTATE;
	/* Both roles send the header exactly once; the initiator adds its first
	 * proposal in the same write and never waits for the listener to speak
	 * first (js listeners only answer after reading ours). */
	r = mss_put_line(out, MSS_PROTO_ID, strlen(MSS_PROTO_ID));
	if (r == 0 && m->role == MSS_INITIATOR)
		r = put_proto(m, out, 0);
	if (r < 0) {
		out->len = mark;
		return r;
	}
	m->st = ST_WAIT_HEADER;
	m->deadline = now_us > UINT64_MAX - m->timeout_us ? UINT64_MAX : now_us + m->timeout_us;
	return 0;
}

static bool line_is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/*
 * js answers "ls" with one message whose body is every protocol as its own
 * LP-framed line, followed by a final '\n' (go answers "na"; both are fine).
 */
static int put_ls(struct mss *m, struct buf *out)
{
	struct buf body;
	int r = 0;

	buf_init(&body, MSS_MAX_LINE - 1);
	for (size_t i = 0; i < m->n_protos && r == 0; i++)
		r = put_proto(m, &body, i);
	if (r == 0)
		r = mss_put_line(out, (const char *)body.data, body.len);
	buf_free(&body);
	/* A list too long for one line degrades to "na" rather than failing. */
	if (r == W2W_ELIMIT)
		r = mss_put_line(out, "na", 2);
	return r;
}

/* Handles one complete line (text without the '\n'). */
static int on_line(struct mss *m, const uint8_t *t, size_t n, struct buf *out)
{
	int r;

	switch (m->st) {
	case ST_WAIT_HEADER:
		if (!line_is(t, n, MSS_PROTO_ID))
			return fail(m, W2W_EPROTO, "peer did not speak /multistream/1.0.0");
		m->header_seen = true;
		m->st = m->role == MSS_INITIATOR ? ST_WAIT_ANSWER : ST_WAIT_PROPOSAL;
		return 0;
	case ST_WAIT_ANSWER:
		if (line_is(t, n, m->protos[m->cur])) {
			m->selected = (int)m->cur;
			m->st = ST_DONE;
			return 0;
		}
		if (!line_is(t, n, "na"))
			return fail(m, W2W_EPROTO, "unexpected multistream answer");
		if (++m->cur == m->n_protos)
			return fail(m, W2W_EPROTO, "peer rejected every proposed protocol");
		r = put_proto(m, out, m->cur);
		return r < 0 ? fail(m, r, "no room for output") : 0;
	case ST_WAIT_PROPOSAL:
		for (size_t i = 0; i < m->n_protos; i++) {
			if (line_is(t, n, m->protos[i])) {
				r = put_proto(m, out, i);
				if (r < 0)
					return fail(m, r, "no room for output");
				m->selected = (int)i;
				m->st = ST_DONE;
				return 0;
			}
		}
		if (++m->rejects > MSS_MAX_REJECTS)
			return fail(m, W2W_ELIMIT, "too many rejected multistream proposals");
		r = line_is(t, n, "ls") ? put_ls(m, out) : mss_put_line(out, "na", 2);
		return r < 0 ? fail(m, r, "no room for output") : 0;
	default:
		return fail(m, W2W_ESTATE, "internal state error");
	}
}

int mss_tick(struct mss *m, uint64_t now_us)
{
	if (m->st == ST_FAILED)
		return m->err;
	if (m->st != ST_DONE && m->st != ST_INIT && now_us >= m->deadline)
		return fail(m, W2W_ETIMEDOUT, "multistream negotiation timed out");
	return 0;
}

int mss_feed(struct mss *m, const void *in, size_t n, uint64_t now_us, struct buf *out)
{
	size_t off = 0;
	int r;

	if (m->st == ST_INIT)
		return W2W_ESTATE;
	r = mss_tick(m, now_us);
	if (r < 0)
		return r;
	r = buf_append(&m->in, in, n);
	if (r < 0)
		return fail(m, r, "too much input buffered");
	while (m->st != ST_DONE && off < m->in.len) {
		const uint8_t *p = m->in.data + off;
		size_t avail = m->in.len - off;
		uint64_t len;
		int vn;

		vn = uvarint_decode(p, avail, &len);
		if (vn < 0)
			return fail(m, W2W_EPROTO, "malformed multistream length");
		if (vn == 0) {
			if (avail >= UVARINT_MAX_LEN)
				return fail(m, W2W_EPROTO, "malformed multistream length");
			break;
		}
		if (len == 0)
			return fail(m, W2W_EPROTO, "empty multistream message");
		if (len > MSS_MAX_LINE)
			return fail(m, W2W_ELIMIT, "multistream message longer than 1024 bytes");
		if (avail - (size_t)vn < len)
			break;
		p += vn;
		/* Every message ends in '\n' (go and js reject it otherwise). */
		if (p[len - 1] != '\n')
			return fail(m, W2W_EPROTO, "multistream message without trailing newline");
		off += (size_t)vn + (size_t)len;
		r = on_line(m, p, (size_t)len - 1, out);
		if (r < 0)
			return r;
	}
	buf_consume(&m->in, off);
	if (m->st == ST_DONE) {
		m->deadline = UINT64_MAX;
		return 1;
	}
	return 0;
}

bool mss_done(const struct mss *m)
{
	return m->st == ST_DONE;
}

const char *mss_protocol(const struct mss *m)
{
	return m->selected >= 0 ? m->protos[m->selected] : NULL;
}

int mss_protocol_index(const struct mss *m)
{
	return m->selected;
}

void mss_leftover(const struct mss *m, const uint8_t **p, size_t *len)
{
	if (m->st == ST_DONE) {
		*p = m->in.data;
		*len = m->in.len;
	} else {
		*p = NULL;
		*len = 0;
	}
}

void mss_leftover_consume(struct mss *m, size_t n)
{
	if (m->st == ST_DONE)
		buf_consume(&m->in, n);
}

uint64_t mss_next_deadline(const struct mss *m)
{
	return m->deadline;
}

bool mss_header_seen(const struct mss *m)
{
	return m->header_seen;
}

const char *mss_reason(const struct mss *m)
{
	return m->reason;
}
