/* SPDX-License-Identifier: MIT */
/*
 * The public libp2p host (include/w2wesher/p2p.h): sockets from os/sock on the
 * loop's reactor, everything else in the sans-IO swarm (p2p/swarm.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "err.h"
#include "gossipsub.h"
#include "ident.h"
#include "identify.h"
#include "iplimit.h"
#include "log.h"
#include "loop_internal.h"
#include "multiaddr.h"
#include "p2pevent.h"
#include "p2phost.h"
#include "peerid.h"
#include "secmem.h"
#include "sock.h"
#include "swarm.h"
#include "swarmkey.h"
#include "w2wesher/p2p.h"
#include "w2wesher/w2wesher.h"

#define READ_CHUNK (64u * 1024)
#define READS_PER_WAKE 8
#define ACCEPTS_PER_WAKE 32
#define MAX_LISTENERS 8
#define RESOLVE_TIMEOUT_US (10ull * 1000 * 1000)
#define CONNECT_TIMEOUT_US (10ull * 1000 * 1000)
#define MAX_OBSERVED 8

struct listener {
	int fd;
	struct sock_ip ip;
	uint8_t ma[MA_MAX_BIN];
	size_t ma_len;
};

struct hconn;

/* A dial in progress before the swarm sees it: resolving, then connecting. */
struct hdial {
	struct w2w_p2p *h;
	char text[MA_MAX_TEXT];
	struct ma_addr ma;
	struct dns_query *q; /* until resolved */
	struct rtimer timer; /* RESOLVE_TIMEOUT_US */
	uint64_t started;
	struct hdial *next;
};

struct hconn {
	struct w2w_p2p *h;
	int fd;
	bool connecting; /* TCP connect pending */
	bool ready;      /* CONNECTED was reported */
	bool watched_write;
	uint64_t connect_deadline;
	struct ma_addr ma; /* dialled address (outbound) */
	char text[MA_MAX_TEXT];
	struct swarm_conn *sc;
	struct hconn *next;
};

struct w2w_p2p {
	struct w2w_loop *loop;
	struct reactor *r;
	struct ident *id;
	char peer_id[PEERID_STR_MAX];
	/* Guarded memory (secure_alloc), or NULL: the current PSK at 0, the
	 * next one (w2w_p2p_set_psk) at 32. */
	uint8_t *psk;
	bool has_psk, has_next_psk;
	struct swarm *sw;
	struct swarm_config scfg;
	struct gs_config gcfg;
	struct wlog log;
	w2w_log_fn log_fn;
	void *log_ud;
	w2w_p2p_event_fn ev_fn;
	void *ev_ud;
	struct p2pevent_q evq; /* events raised inside an API call, delivered from t_evq */
	struct rtimer t_evq;
	p2ph_event_fn iev_fn; /* the binary form, for the node (p2phost.h) */
	void *iev_ud;
	p2ph_validate_fn val_fn; /* gossipsub validation (p2ph_set_validator) */
	void *val_ud;
	struct listener listeners[MAX_LISTENERS];
	size_t n_listeners;
	uint32_t block_gen; /* swarm_blocklist_gen the listeners' filters hold */
	struct hconn *conns;
	struct hdial *dials;
	struct dns *dns; /* made at the first /dns4 or /dns6 dial */
	struct rtimer timer;
	/* identify observedAddr values, most recent first */
	struct identify_addr observed[MAX_OBSERVED];
	size_t n_observed;
	int busy; /* inside sync: no nested sync */
	bool resync;
	bool gated; /* admission mode (p2ph_set_admission), applied to the swarm when made */
	uint8_t adm[IDENTIFY_MAX_ADMISSION];
	size_t adm_len;
};

static void sync_all(struct w2w_p2p *h, uint64_t now);

/* A log line may come from deep inside the swarm: every library call from the
 * sink returns -EBUSY (loop_enter_log). */
static void log_cb(void *ud, int level, const char *msg)
{
	struct w2w_p2p *h = ud;

	if (!h->log_fn)
		return;
	loop_enter_log(h->loop);
	h->log_fn(h->log_ud, level, msg);
	loop_leave_log(h->loop);
}

static void deliver(struct w2w_p2p *h, const struct w2w_p2p_event *ev)
{
	loop_enter_cb(h->loop);
	h->ev_fn(h->ev_ud, ev);
	loop_leave_cb(h->loop);
}

/* Delivers the queued events in order; an event callback that calls the API
 * only adds to the queue (loop_may_deliver is false inside it). */
static void flush_events(struct w2w_p2p *h)
{
	struct p2pevent_item *it;

	while (h->ev_fn && (it = p2pevent_q_pop(&h->evq))) {
		deliver(h, &it->ev);
		free(it);
	}
}

static void evq_timer(void *ud, uint64_t now)
{
	(void)now;
	flush_events(ud);
}

/* Events are never delivered from inside the API call that raised them
 * (listen, a dial that fails at once, a connection found dead while a call
 * flushes output): those are copied and delivered from the loop. */
static void emit_public(struct w2w_p2p *h, const struct w2w_p2p_event *ev)
{
	if (!h->ev_fn)
		return;
	if (!loop_may_deliver(h->loop)) {
		int r = p2pevent_q_push(&h->evq, ev);

		if (r < 0)
			log_warn(&h->log, "event dropped: %s", w2w_strerror(r));
		else
			reactor_timer_arm(h->r, &h->t_evq, 0);
		return;
	}
	flush_events(h); /* older events first */
	deliver(h, ev);
}

static void addr_text(const uint8_t *ma, size_t n, char *out, size_t cap)
{
	if (ma_format(out, cap, ma, n) < 0)
		snprintf(out, cap, "?");
}

/* Keeps what peers saw of us: distinct, most recent first. */
static void note_observed(struct w2w_p2p *h, const struct identify_addr *a)
{
	size_t i;

	for (i = 0; i < h->n_observed; i++)
		if (h->observed[i].len == a->len && !memcmp(h->observed[i].b, a->b, a->len))
			break;
	if (i == h->n_observed && h->n_observed < MAX_OBSERVED)
		h->n_observed++;
	if (i == MAX_OBSERVED)
		i = MAX_OBSERVED - 1;
	memmove(&h->observed[1], &h->observed[0], i * sizeof(h->observed[0]));
	h->observed[0] = *a;
}

int w2w_p2p_observed_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap)
{
	int n;

	if (i >= h->n_observed)
		return -ERANGE;
	n = ma_format(out, cap, h->observed[i].b, h->observed[i].len);
	return n == W2W_ELIMIT ? -ENOSPC : n;
}

/* ---- swarm events -> p2phost.h events -> public (text) events ---- */

/* The public event: every binary field as text. */
static void emit_text(struct w2w_p2p *h, const struct p2ph_event *ie)
{
	struct w2w_p2p_event ev = { 0 };
	char pid[PEERID_STR_MAX] = "", addr[MA_MAX_TEXT + PEERID_STR_MAX] = "", from[PEERID_STR_MAX] = "";
	const char *protos[IDENTIFY_MAX_PROTOCOLS];
	const char *las[IDENTIFY_MAX_ADDRS];
	char labuf[IDENTIFY_MAX_ADDRS][MA_MAX_TEXT / 4];
	char obs[MA_MAX_TEXT / 4] = "";
	const struct identify_info *in = ie->info;
	size_t nl = 0;

	ev.type = ie->type;
	if (ie->peer) {
		peerid_to_b58(pid, sizeof(pid), ie->peer);
		ev.peer_id = pid;
	}
	if (ie->addr) {
		addr_text(ie->addr, ie->addr_len, addr, sizeof(addr));
		ev.addr = addr;
	}
	if (ie->dial_text)
		ev.addr = ie->dial_text;
	ev.inbound = ie->inbound;
	ev.err = ie->err;
	ev.reason = ie->reason;
	ev.rtt_us = ie->rtt_us;
	switch (ie->type) {
	case W2W_P2P_EV_LISTENING: {
		size_t n = strlen(addr);

		if (n + 6 + strlen(h->peer_id) >= sizeof(addr))
			return;
		snprintf(addr + n, sizeof(addr) - n, "/p2p/%s", h->peer_id);
		ev.peer_id = h->peer_id;
		break;
	}
	case W2W_P2P_EV_IDENTIFY:
		for (size_t i = 0; i < in->n_protocols; i++)
			protos[i] = in->protocols[i];
		for (size_t i = 0; i < in->n_listen_addrs; i++) {
			if (ma_format(labuf[nl], sizeof(labuf[nl]), in->listen_addrs[i].b, in->listen_addrs[i].len) >= 0) {
				las[nl] = labuf[nl];
				nl++;
			}
		}
		if (in->observed_addr.len)
			addr_text(in->observed_addr.b, in->observed_addr.len, obs, sizeof(obs));
		ev.agent_version = in->agent_version;
		ev.protocol_version = in->protocol_version;
		ev.protocols = protos;
		ev.n_protocols = in->n_protocols;
		ev.listen_addrs = las;
		ev.n_listen_addrs = nl;
		ev.observed_addr = in->observed_addr.len ? obs : NULL;
		break;
	case W2W_P2P_EV_SUBSCRIBED:
	case W2W_P2P_EV_UNSUBSCRIBED:
		ev.topic = ie->topic;
		break;
	case W2W_P2P_EV_MESSAGE:
		if (ie->from)
			peerid_to_b58(from, sizeof(from), ie->from);
		ev.from = from;
		ev.topic = ie->topic;
		ev.data = ie->data;
		ev.len = ie->len;
		ev.seqno = ie->seqno;
		break;
	default:
		break;
	}
	emit_public(h, &ev);
}

/* The node (p2phost.h) takes the binary events at once: it is library code
 * that runs inside the loop and schedules its own work. The public text events
 * follow the API rule: never from inside the call that raised them. */
static void emit(struct w2w_p2p *h, const struct p2ph_event *ev)
{
	if (h->iev_fn) {
		loop_enter_cb(h->loop);
		h->iev_fn(h->iev_ud, ev);
		loop_leave_cb(h->loop);
	} else if (h->ev_fn) {
		emit_text(h, ev);
	}
}

static enum gs_verdict host_validate(void *ud, const struct gs_message *m)
{
	struct w2w_p2p *h = ud;
	int v = h->val_fn ? h->val_fn(h->val_ud, m->topic, m->data, m->len) : GS_ACCEPT;

	return v == GS_REJECT ? GS_REJECT : v == GS_IGNORE ? GS_IGNORE : GS_ACCEPT;
}

void p2ph_set_validator(struct w2w_p2p *h, p2ph_validate_fn fn, void *ud)
{
	h->val_fn = fn;
	h->val_ud = ud;
	h->scfg.validate = host_validate;
	h->scfg.validate_ud = h;
	if (h->sw)
		swarm_set_validator(h->sw, host_validate, h);
}

void p2ph_set_event_cb(struct w2w_p2p *h, p2ph_event_fn fn, void *ud)
{
	h->iev_fn = fn;
	h->iev_ud = ud;
}

static void on_swarm_event(void *ud, const struct swarm_event *se)
{
	struct w2w_p2p *h = ud;
	struct p2ph_event ev = { 0 };
	struct hconn *hc = se->conn ? swarm_conn_user(se->conn) : NULL;
	struct peerid f;

	ev.peer = se->peer;
	if (se->conn) {
		ev.addr = swarm_conn_remote(se->conn, &ev.addr_len);
		ev.inbound = swarm_conn_inbound(se->conn);
	}
	switch (se->type) {
	case SWARM_EV_CONNECTED:
		if (hc)
			hc->ready = true;
		/* Public events are per peer: a second connection (simultaneous dial)
		 * is not news; the swarm closes one of the two. */
		if (se->peer && swarm_peer_conns(h->sw, se->peer) > 1) {
			log_debug(&h->log, "second connection to a connected peer");
			return;
		}
		ev.type = W2W_P2P_EV_CONNECTED;
		emit(h, &ev);
		return;
	case SWARM_EV_DISCONNECTED:
		ev.err = se->err;
		ev.reason = se->reason;
		if (hc && !hc->ready && !swarm_conn_inbound(se->conn)) {
			/* Never got through the upgrade: the dial failed. */
			ev.type = W2W_P2P_EV_DIAL_FAILED;
			ev.dial_text = hc->text;
		} else if (hc && !hc->ready) {
			log_info(&h->log, "inbound connection from %s failed: %s", hc->text, se->reason);
			return;
		} else if (se->peer && swarm_peer_conns(h->sw, se->peer) > 0) {
			/* Another connection to the peer stays up. */
			log_debug(&h->log, "surplus connection closed");
			return;
		} else {
			ev.type = W2W_P2P_EV_DISCONNECTED;
		}
		emit(h, &ev);
		return;
	case SWARM_EV_IDENTIFY:
		if (se->info->observed_addr.len)
			note_observed(h, &se->info->observed_addr);
		ev.type = W2W_P2P_EV_IDENTIFY;
		ev.info = se->info;
		emit(h, &ev);
		return;
	case SWARM_EV_PING:
		ev.type = W2W_P2P_EV_PING;
		ev.rtt_us = se->rtt_us;
		emit(h, &ev);
		return;
	case SWARM_EV_PING_FAILED:
		ev.type = W2W_P2P_EV_PING_FAILED;
		ev.err = se->err;
		ev.reason = w2w_strerror(se->err);
		emit(h, &ev);
		return;
	case SWARM_EV_SUBSCRIPTION:
		ev.type = se->subscribed ? W2W_P2P_EV_SUBSCRIBED : W2W_P2P_EV_UNSUBSCRIBED;
		ev.addr = NULL;
		ev.addr_len = 0;
		ev.inbound = 0;
		ev.topic = se->topic;
		emit(h, &ev);
		return;
	case SWARM_EV_MESSAGE:
		ev.type = W2W_P2P_EV_MESSAGE;
		ev.from = peerid_from_bytes(&f, se->msg->from, se->msg->from_len) == 0 ? &f : NULL;
		ev.peer = NULL;
		ev.addr = NULL;
		ev.addr_len = 0;
		ev.inbound = 0;
		ev.topic = se->msg->topic;
		ev.data = se->msg->data;
		ev.len = se->msg->len;
		ev.seqno = se->msg->seqno;
		emit(h, &ev);
		return;
	}
}

/* ---- sockets ---- */

static void hconn_io(void *ud, int fd, int revents, uint64_t now);

static void hconn_drop(struct w2w_p2p *h, struct hconn *hc, bool abortive)
{
	for (struct hconn **pp = &h->conns; *pp; pp = &(*pp)->next) {
		if (*pp == hc) {
			*pp = hc->next;
			break;
		}
	}
	reactor_io_del(h->r, hc->fd);
	if (abortive)
		sock_abort(hc->fd);
	else
		sock_close(hc->fd);
	free(hc);
}

static void dial_failed(struct w2w_p2p *h, const char *text, const struct ma_addr *ma, int err,
			const char *reason, uint64_t now)
{
	struct p2ph_event ev = { 0 };

	if (ma->has_peer) {
		swarm_dial_failed(h->sw, &ma->peer, now);
		ev.peer = &ma->peer;
	}
	log_info(&h->log, "dial %s failed: %s", text, reason);
	ev.type = W2W_P2P_EV_DIAL_FAILED;
	ev.dial_text = text;
	ev.err = err;
	ev.reason = reason;
	emit(h, &ev);
}

/* Hands a connected socket to the swarm. inbound: the address accept gave
 * and swarm_admit_inbound's result (NULL for a dial). */
static int hconn_attach(struct w2w_p2p *h, struct hconn *hc, bool initiator, const struct sock_ip *inbound,
			int admitted, uint64_t now)
{
	struct sock_ip peer;
	uint8_t rma[MA_MAX_BIN];
	char name[64];
	int n, r;

	if (inbound)
		peer = *inbound;
	else if ((r = sock_peer(hc->fd, &peer)) < 0)
		return r;
	n = ma_from_ip(rma, sizeof(rma), peer.family == AF_INET6 ? 6 : 4, peer.ip, peer.port, true, NULL);
	if (n < 0) {
		if (inbound)
			swarm_admit_cancel(h->sw, peer.family == AF_INET6 ? 6 : 4, peer.ip, admitted);
		return n;
	}
	sock_ip_format(&peer, name, sizeof(name));
	/* inbound: the swarm takes the admission over, on failure too */
	if (inbound)
		r = swarm_conn_add_admitted(h->sw, peer.family == AF_INET6 ? 6 : 4, peer.ip, admitted, rma, (size_t)n,
					    name, now, &hc->sc);
	else
		r = swarm_conn_add(h->sw, initiator, rma, (size_t)n,
				   initiator && hc->ma.has_peer ? &hc->ma.peer : NULL, name, now, &hc->sc);
	if (r < 0)
		return r;
	swarm_conn_set_user(hc->sc, hc);
	return reactor_io_set(h->r, hc->fd, W2W_IO_READ | W2W_IO_WRITE, hconn_io, hc);
}

static void hconn_io(void *ud, int fd, int revents, uint64_t now)
{
	struct hconn *hc = ud;
	struct w2w_p2p *h = hc->h;
	uint8_t buf[READ_CHUNK];

	if (hc->connecting) {
		int r;

		if (!(revents & (W2W_IO_WRITE | W2W_IO_ERROR)))
			return;
		r = sock_connect_result(fd);
		hc->connecting = false;
		if (r == 0)
			r = hconn_attach(h, hc, true, NULL, 0, now);
		if (r < 0) {
			char reason[128];

			snprintf(reason, sizeof(reason), "%s", r == -ECONNREFUSED ? "connection refused" : w2w_strerror(r));
			if (hc->sc) {
				/* Attached but not registered (no memory): the swarm forgets it too. */
				struct swarm_conn *sc = hc->sc;

				hc->sc = NULL;
				swarm_conn_set_user(sc, NULL);
				swarm_conn_remove(h->sw, sc, now);
			}
			dial_failed(h, hc->text, &hc->ma, r, reason, now);
			hconn_drop(h, hc, false);
		}
		sync_all(h, now);
		return;
	}
	if (!hc->sc)
		return;
	if (revents & (W2W_IO_READ | W2W_IO_ERROR)) {
		for (int i = 0; i < READS_PER_WAKE; i++) {
			ssize_t n = sock_read(fd, buf, sizeof(buf));

			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				swarm_conn_eof(h->sw, hc->sc, (int)n, now);
				break;
			}
			swarm_conn_feed(h->sw, hc->sc, buf, (size_t)n, now);
			if (swarm_conn_done(hc->sc))
				break;
		}
	}
	sync_all(h, now);
}

/* The swarm blocked or unblocked an IP after a connection flood: the
 * listeners drop its SYNs in the kernel (swarm.h swarm_blocklist). */
static bool apply_blocklist(struct w2w_p2p *h)
{
	uint8_t ips[IPL_BLOCKS][16];
	uint32_t gen;

	if (!h->sw || (gen = swarm_blocklist_gen(h->sw)) == h->block_gen)
		return false;
	h->block_gen = gen;
	for (size_t i = 0; i < h->n_listeners; i++) {
		struct listener *l = &h->listeners[i];
		int fam = l->ip.family == AF_INET6 ? 6 : 4;
		size_t n = swarm_blocklist(h->sw, fam, ips, IPL_BLOCKS);
		int r = sock_set_blocklist(l->fd, l->ip.family, (const uint8_t(*)[16])ips, n);

		/* without the filter the swarm still refuses them, at a higher cost */
		if (r < 0)
			log_warn(&h->log, "cannot set the listener's block list: %s", w2w_strerror(r));
	}
	return true;
}

/*
 * Accepts what is pending, at most ACCEPTS_PER_WAKE per loop turn so that the
 * established connections get their turn too (the loop comes back at once if
 * more is pending: the listener stays readable). Admission comes first (issue
 * 15 item 2: a reconnect flood from one IP): a refused connection costs
 * accept4, one setsockopt and close (a RST, so the peer's socket is gone at
 * once and nothing lingers here): no allocation, no address formatting, no
 * timer, no poll registration, and its log line is rate-limited.
 */
static void listener_io(void *ud, int fd, int revents, uint64_t now)
{
	struct w2w_p2p *h = ud;
	bool added = false;

	(void)revents;
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		struct sock_ip peer;
		struct hconn *hc;
		int cfd = sock_accept(fd, &peer), r, family, adm;

		if (cfd == -EAGAIN)
			break;
		if (cfd < 0) {
			log_warn(&h->log, "accept failed: %s", w2w_strerror(cfd));
			break;
		}
		family = peer.family == AF_INET6 ? 6 : peer.family == AF_INET ? 4 : 0;
		adm = h->sw && family ? swarm_admit_inbound(h->sw, family, peer.ip, now) : W2W_ESTATE;
		if (adm < 0) {
			sock_abort(cfd);
			continue;
		}
		hc = calloc(1, sizeof(*hc));
		if (!hc) {
			swarm_admit_cancel(h->sw, family, peer.ip, adm);
			sock_abort(cfd);
			continue;
		}
		sock_nodelay(cfd);
		hc->h = h;
		hc->fd = cfd;
		sock_ip_format(&peer, hc->text, sizeof(hc->text));
		r = hconn_attach(h, hc, false, &peer, adm, now);
		if (r < 0) {
			log_info(&h->log, "refused connection from %s: %s", hc->text, w2w_strerror(r));
			if (hc->sc)
				swarm_conn_remove(h->sw, hc->sc, now);
			reactor_io_del(h->r, cfd);
			sock_abort(cfd);
			free(hc);
			continue;
		}
		hc->next = h->conns;
		h->conns = hc;
		added = true;
	}
	/* Nothing new (every connection refused): nothing to write, no timer
	 * to move, unless a block began (its end is a deadline). */
	if (apply_blocklist(h) || added)
		sync_all(h, now);
}

/* Writes pending output, updates interest, closes finished connections, arms the timer. */
static void sync_all(struct w2w_p2p *h, uint64_t now)
{
	uint64_t d;

	if (h->busy) {
		h->resync = true;
		return;
	}
	h->busy = 1;
	do {
		h->resync = false;
		for (struct hconn *hc = h->conns, *next; hc; hc = next) {
			const uint8_t *p;
			size_t n;
			int events = W2W_IO_READ;

			next = hc->next;
			if (hc->connecting) {
				if (now >= hc->connect_deadline) {
					dial_failed(h, hc->text, &hc->ma, W2W_ETIMEDOUT, "connect timed out", now);
					hconn_drop(h, hc, true);
					h->resync = true;
					break;
				}
				continue;
			}
			if (!hc->sc)
				continue;
			for (int i = 0; i < 16; i++) {
				ssize_t w;

				swarm_conn_output(hc->sc, &p, &n);
				if (!n)
					break;
				w = sock_write(hc->fd, p, n);
				if (w <= 0) {
					if (w != -EAGAIN)
						swarm_conn_eof(h->sw, hc->sc, (int)w, now);
					break;
				}
				swarm_conn_consume(h->sw, hc->sc, (size_t)w, now);
			}
			if (swarm_conn_done(hc->sc)) {
				struct swarm_conn *sc = hc->sc;
				bool failed = true;
				/* A dial refused during a PSK rotation: once more at once with the older key. */
				bool again = swarm_conn_psk_fallback(sc);
				char text[MA_MAX_TEXT];

				snprintf(text, sizeof(text), "%s", hc->text);
				swarm_conn_output(sc, &p, &n);
				failed = n != 0;
				hc->sc = NULL;
				swarm_conn_set_user(sc, hc);
				swarm_conn_remove(h->sw, sc, now);
				hconn_drop(h, hc, failed);
				if (again && text[0])
					w2w_p2p_dial(h, text);
				h->resync = true;
				break; /* the list may have changed under the callbacks */
			}
			swarm_conn_output(hc->sc, &p, &n);
			if (n)
				events |= W2W_IO_WRITE;
			reactor_io_events(h->r, hc->fd, events);
		}
	} while (h->resync);
	d = h->sw ? swarm_next_deadline(h->sw) : UINT64_MAX;
	for (struct hconn *hc = h->conns; hc; hc = hc->next)
		if (hc->connecting && hc->connect_deadline < d)
			d = hc->connect_deadline;
	if (d != UINT64_MAX)
		reactor_timer_arm(h->r, &h->timer, d > now ? d : now);
	else
		reactor_timer_disarm(h->r, &h->timer);
	h->busy = 0;
}

static void host_timer(void *ud, uint64_t now)
{
	struct w2w_p2p *h = ud;

	if (h->sw)
		swarm_tick(h->sw, now);
	apply_blocklist(h);
	sync_all(h, now);
}

/* ---- setup ---- */

/* The swarm's key list, newest first: the next PSK (if any), then the current one. */
static int apply_psks(struct w2w_p2p *h, uint64_t now)
{
	const uint8_t *keys[2];
	size_t n = 0;

	if (h->has_next_psk)
		keys[n++] = h->psk + 32;
	keys[n++] = h->psk;
	return swarm_set_psks(h->sw, keys, n, now);
}

static int ensure_swarm(struct w2w_p2p *h)
{
	int r;

	if (h->sw)
		return 0;
	h->scfg.identity = h->id;
	h->scfg.psk = h->has_psk ? h->psk : NULL;
	h->scfg.log = &h->log;
	h->scfg.gs = &h->gcfg;
	h->scfg.agent_version = "w2wesher/" W2W_VERSION_STRING;
	h->scfg.on_event = on_swarm_event;
	h->scfg.ud = h;
	r = swarm_new(&h->sw, &h->scfg);
	if (r == 0 && h->has_next_psk)
		r = apply_psks(h, w2w_now_us());
	if (r < 0)
		return r;
	swarm_set_gated(h->sw, h->gated);
	return swarm_set_admission(h->sw, h->adm, h->adm_len);
}

int p2ph_set_admission(struct w2w_p2p *h, bool gated, const uint8_t *tok, size_t n)
{
	if (n > sizeof(h->adm))
		return W2W_ELIMIT;
	h->gated = gated;
	if (n)
		memcpy(h->adm, tok, n);
	h->adm_len = n;
	if (!h->sw)
		return 0;
	swarm_set_gated(h->sw, gated);
	return swarm_set_admission(h->sw, tok, n);
}

/* A swarm call on one peer from the node (binary peer ID), then the sockets. */
static int bin_peer_call(struct w2w_p2p *h, const struct peerid *peer,
			 int (*op)(struct swarm *, const struct peerid *, uint64_t))
{
	uint64_t now = w2w_now_us();
	int r;

	if (!h->sw)
		return W2W_ESTATE;
	r = op(h->sw, peer, now);
	sync_all(h, now);
	return r;
}

int p2ph_admit(struct w2w_p2p *h, const struct peerid *peer)
{
	return bin_peer_call(h, peer, swarm_admit);
}

int p2ph_deny(struct w2w_p2p *h, const struct peerid *peer, uint64_t for_us)
{
	uint64_t now = w2w_now_us();
	int r;

	if (!h->sw)
		return W2W_ESTATE;
	r = swarm_deny(h->sw, peer, now + for_us, now);
	sync_all(h, now);
	return r;
}

int w2w_p2p_new(struct w2w_p2p **ret, struct w2w_loop *loop, const char *key, const char *swarm_key,
		w2w_p2p_event_fn fn, void *ud)
{
	struct w2w_p2p *h;
	int r;

	if (!ret || !loop)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->r = loop_reactor(loop);
	rtimer_init(&h->timer, host_timer, h);
	rtimer_init(&h->t_evq, evq_timer, h);
	p2pevent_q_init(&h->evq);
	h->log.fn = log_cb;
	h->log.ud = h;
	h->log.max_level = -1; /* no sink yet */
	h->ev_fn = fn;
	h->ev_ud = ud;
	r = key ? ident_from_privkey_b64(&h->id, key, strlen(key)) : ident_new(&h->id, NULL);
	if (r < 0)
		goto fail;
	if (swarm_key) {
		h->psk = secure_alloc(64);
		r = h->psk ? swarmkey_parse_any(h->psk, swarm_key, strlen(swarm_key)) : -ENOMEM;
		if (r < 0)
			goto fail;
		h->has_psk = true;
	}
	peerid_to_b58(h->peer_id, sizeof(h->peer_id), ident_peerid(h->id));
	gs_config_default(&h->gcfg);
	h->scfg.gossipsub = true;
	h->scfg.keepalive_us = 30ull * 1000 * 1000;
	*ret = h;
	return 0;
fail:
	w2w_p2p_free(h);
	return r;
}

struct w2w_p2p *w2w_p2p_free(struct w2w_p2p *h)
{
	if (!h)
		return NULL;
	while (h->dials) {
		struct hdial *d = h->dials;

		h->dials = d->next;
		reactor_timer_disarm(h->r, &d->timer);
		dns_cancel(d->q);
		free(d);
	}
	h->dns = dns_free(h->dns);
	while (h->conns) {
		struct hconn *hc = h->conns;

		h->conns = hc->next;
		reactor_io_del(h->r, hc->fd);
		sock_close(hc->fd);
		free(hc);
	}
	for (size_t i = 0; i < h->n_listeners; i++) {
		reactor_io_del(h->r, h->listeners[i].fd);
		sock_close(h->listeners[i].fd);
	}
	reactor_timer_disarm(h->r, &h->timer);
	reactor_timer_disarm(h->r, &h->t_evq);
	p2pevent_q_clear(&h->evq);
	h->ev_fn = NULL;
	h->iev_fn = NULL;
	swarm_free(h->sw);
	ident_free(h->id);
	secure_free(h->psk);
	free(h);
	return NULL;
}

int w2w_p2p_set_psk(struct w2w_p2p *h, const char *swarm_key, const char *next_swarm_key)
{
	uint8_t *k;
	uint64_t now;
	int r;

	if (!h || !swarm_key)
		return -EINVAL;
	if (loop_in_log(h->loop))
		return -EBUSY;
	if (!h->has_psk)
		return W2W_ESTATE; /* plain libp2p stays plain: peers could not follow */
	k = secure_alloc(64);
	if (!k)
		return -ENOMEM;
	r = swarmkey_parse_any(k, swarm_key, strlen(swarm_key));
	if (r >= 0 && next_swarm_key)
		r = swarmkey_parse_any(k + 32, next_swarm_key, strlen(next_swarm_key));
	if (r < 0) {
		secure_free(k);
		return W2W_EPARSE;
	}
	secure_free(h->psk);
	h->psk = k;
	h->has_next_psk = next_swarm_key && !ct_eq(k, k + 32, 32);
	if (!h->sw)
		return 0;
	now = w2w_now_us();
	/* The swarm copies the keys: h->scfg.psk must not point at the freed buffer. */
	h->scfg.psk = h->psk;
	r = apply_psks(h, now);
	sync_all(h, now);
	return r;
}

int w2w_p2p_set_log(struct w2w_p2p *h, w2w_log_fn fn, void *ud, int max_level)
{
	if (!h)
		return -EINVAL;
	if (loop_in_log(h->loop))
		return -EBUSY;
	h->log_fn = fn;
	h->log_ud = ud;
	h->log.max_level = fn ? max_level : -1;
	return 0;
}

int w2w_p2p_set_option(struct w2w_p2p *h, int option, int64_t v)
{
	if (loop_in_log(h->loop))
		return -EBUSY;
	if (h->sw)
		return W2W_ESTATE;
	if (v < 0)
		return -EINVAL;
	switch (option) {
	case W2W_P2P_OPT_GOSSIPSUB:
		h->scfg.gossipsub = v != 0;
		return 0;
	case W2W_P2P_OPT_ECHO:
		h->scfg.echo = v != 0;
		return 0;
	case W2W_P2P_OPT_MSGID_JS:
		h->gcfg.msgid_fn = v ? GS_MSGID_KEY_SEQNO : GS_MSGID_FROM_SEQNO;
		return 0;
	case W2W_P2P_OPT_MAX_CONNS:
		h->scfg.max_conns = (uint32_t)v;
		return 0;
	case W2W_P2P_OPT_MAX_STREAMS:
		h->scfg.max_streams = (uint32_t)v;
		return 0;
	case W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS:
		h->scfg.handshake_timeout_us = (uint64_t)v * 1000;
		return 0;
	case W2W_P2P_OPT_KEEPALIVE_MS:
		h->scfg.keepalive_us = (uint64_t)v * 1000;
		return 0;
	case W2W_P2P_OPT_DIAL_BACKOFF_MS:
		h->scfg.backoff_us = (uint64_t)v * 1000;
		return 0;
	}
	return -EINVAL;
}

const char *w2w_p2p_peer_id(const struct w2w_p2p *h)
{
	return h->peer_id;
}

static int parse_ma(const char *text, struct ma_addr *out)
{
	uint8_t bin[MA_MAX_BIN];
	int n = ma_parse(bin, sizeof(bin), text, strlen(text));

	if (n < 0)
		return n;
	n = ma_decompose(bin, (size_t)n, out);
	if (n < 0)
		return n;
	return out->tcp ? 0 : W2W_EPARSE;
}

int w2w_p2p_listen(struct w2w_p2p *h, const char *multiaddr)
{
	struct ma_addr ma;
	struct sock_ip ip = { 0 };
	struct listener *l;
	struct p2ph_event ev = { 0 };
	int fd, r;

	if (loop_in_log(h->loop))
		return -EBUSY;
	r = parse_ma(multiaddr, &ma);
	if (r < 0)
		return r;
	if (ma.kind != MA_KIND_IP4 && ma.kind != MA_KIND_IP6)
		return W2W_EPARSE;
	if (h->n_listeners >= MAX_LISTENERS)
		return W2W_ELIMIT;
	r = ensure_swarm(h);
	if (r < 0)
		return r;
	ip.family = ma.kind == MA_KIND_IP4 ? AF_INET : AF_INET6;
	memcpy(ip.ip, ma.ip, 16);
	ip.port = ma.port;
	/* A deep accept queue: under a connection flood (before its IP is
	 * blocked) a full queue would drop a legitimate SYN too (1 s retry). */
	fd = sock_listen(&ip, 1024);
	if (fd < 0)
		return fd;
	l = &h->listeners[h->n_listeners];
	l->fd = fd;
	r = sock_local(fd, &l->ip);
	if (r < 0)
		goto fail;
	r = ma_from_ip(l->ma, sizeof(l->ma), l->ip.family == AF_INET6 ? 6 : 4, l->ip.ip, l->ip.port, true, NULL);
	if (r < 0)
		goto fail;
	l->ma_len = (size_t)r;
	/* libp2p P17: never advertise 0.0.0.0/::; the wildcard still accepts. */
	if (!sock_ip_unspecified(&l->ip))
		swarm_add_listen_addr(h->sw, l->ma, l->ma_len);
	r = reactor_io_set(h->r, fd, W2W_IO_READ, listener_io, h);
	if (r < 0)
		goto fail;
	h->n_listeners++;
	h->block_gen = ~swarm_blocklist_gen(h->sw); /* the new listener gets the current blocks */
	apply_blocklist(h);
	ev.type = W2W_P2P_EV_LISTENING;
	ev.addr = l->ma;
	ev.addr_len = l->ma_len;
	emit(h, &ev);
	return 0;
fail:
	sock_close(fd);
	return r;
}

int w2w_p2p_listen_addr(const struct w2w_p2p *h, size_t i, char *out, size_t cap)
{
	int n;

	if (i >= h->n_listeners)
		return -ERANGE;
	n = ma_format(out, cap, h->listeners[i].ma, h->listeners[i].ma_len);
	if (n < 0)
		return n == W2W_ELIMIT ? -ENOSPC : n;
	if ((size_t)n + 6 + strlen(h->peer_id) >= cap)
		return -ENOSPC;
	return n + snprintf(out + n, cap - (size_t)n, "/p2p/%s", h->peer_id);
}

static int start_connect(struct w2w_p2p *h, const char *text, const struct ma_addr *ma, const struct sock_ip *ip,
			 uint64_t now)
{
	struct hconn *hc = calloc(1, sizeof(*hc));
	int fd, r;

	if (!hc)
		return -ENOMEM;
	fd = sock_connect(ip);
	if (fd < 0) {
		free(hc);
		return fd;
	}
	hc->h = h;
	hc->fd = fd;
	hc->connecting = true;
	hc->ma = *ma;
	hc->connect_deadline = now + CONNECT_TIMEOUT_US;
	snprintf(hc->text, sizeof(hc->text), "%s", text);
	r = reactor_io_set(h->r, fd, W2W_IO_WRITE, hconn_io, hc);
	if (r < 0) {
		sock_close(fd);
		free(hc);
		return r;
	}
	hc->next = h->conns;
	h->conns = hc;
	return 0;
}

static void dial_free(struct w2w_p2p *h, struct hdial *d)
{
	for (struct hdial **pp = &h->dials; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	reactor_timer_disarm(h->r, &d->timer);
	dns_cancel(d->q);
	free(d);
}

/* The resolver did not answer in time (it gives up on its own a little later). */
static void dial_timer(void *ud, uint64_t now)
{
	struct hdial *d = ud;
	struct w2w_p2p *h = d->h;

	dial_failed(h, d->text, &d->ma, W2W_ETIMEDOUT, "name resolution timed out", now);
	dial_free(h, d);
	sync_all(h, now);
}

static void dial_resolved(void *ud, int err, const struct sock_ip *ips, size_t n, uint64_t now)
{
	struct hdial *d = ud;
	struct w2w_p2p *h = d->h;
	int r;

	d->q = NULL; /* the resolver is done with it */
	if (err < 0 || !n) {
		dial_failed(h, d->text, &d->ma, err == -ETIMEDOUT ? W2W_ETIMEDOUT : err,
			    err == -ENOENT ? "name not found" :
			    err == -ETIMEDOUT ? "name resolution timed out" : "name resolution failed", now);
		dial_free(h, d);
		sync_all(h, now);
		return;
	}
	/* The first address of the family asked for (dns4 -> A, dns6 -> AAAA). */
	r = start_connect(h, d->text, &d->ma, &ips[0], now);
	if (r < 0)
		dial_failed(h, d->text, &d->ma, r, r == -ECONNREFUSED ? "connection refused" : w2w_strerror(r), now);
	dial_free(h, d);
	sync_all(h, now);
}

int w2w_p2p_dial(struct w2w_p2p *h, const char *multiaddr)
{
	struct ma_addr ma;
	uint64_t now = w2w_now_us(), retry = 0;
	int r;

	if (loop_in_log(h->loop))
		return -EBUSY;
	r = parse_ma(multiaddr, &ma);
	if (r < 0)
		return r;
	r = ensure_swarm(h);
	if (r < 0)
		return r;
	r = swarm_dial_begin(h->sw, ma.has_peer ? &ma.peer : NULL, now, &retry);
	if (r < 0)
		return r;
	if (ma.kind == MA_KIND_IP4 || ma.kind == MA_KIND_IP6) {
		struct sock_ip ip = { .family = ma.kind == MA_KIND_IP4 ? AF_INET : AF_INET6, .port = ma.port };

		memcpy(ip.ip, ma.ip, 16);
		r = start_connect(h, multiaddr, &ma, &ip, now);
		if (r < 0) {
			if (ma.has_peer)
				swarm_dial_failed(h->sw, &ma.peer, now);
			return r;
		}
	} else {
		struct hdial *d = calloc(1, sizeof(*d));

		if (!d)
			return -ENOMEM;
		d->h = h;
		d->ma = ma;
		d->started = now;
		snprintf(d->text, sizeof(d->text), "%s", multiaddr);
		rtimer_init(&d->timer, dial_timer, d);
		r = h->dns ? 0 : dns_new(&h->dns, h->r, NULL);
		if (r == 0)
			r = dns_resolve(h->dns, ma.host, ma.kind == MA_KIND_DNS4 ? AF_INET : AF_INET6, ma.port, now,
					dial_resolved, d, &d->q);
		if (r < 0) {
			free(d);
			if (ma.has_peer)
				swarm_dial_failed(h->sw, &ma.peer, now);
			return r;
		}
		d->next = h->dials;
		h->dials = d;
		reactor_timer_arm(h->r, &d->timer, now + RESOLVE_TIMEOUT_US);
	}
	sync_all(h, now);
	return 0;
}

static int parse_peer(const char *text, struct peerid *id)
{
	return peerid_parse(id, text, strlen(text));
}

/* Ping and hangup: the swarm's call on a connected peer, then its output
 * written; without a swarm nobody is connected (not_connected). */
static int peer_call(struct w2w_p2p *h, const char *peer_id, int not_connected,
		     int (*op)(struct swarm *, const struct peerid *, uint64_t))
{
	struct peerid id;
	uint64_t now = w2w_now_us();
	int r;

	if (loop_in_log(h->loop))
		return -EBUSY;
	r = parse_peer(peer_id, &id);
	if (r < 0)
		return r;
	if (!h->sw)
		return not_connected;
	r = op(h->sw, &id, now);
	sync_all(h, now);
	return r;
}

int w2w_p2p_ping(struct w2w_p2p *h, const char *peer_id)
{
	return peer_call(h, peer_id, W2W_ESTATE, swarm_ping);
}

int p2ph_probe(struct w2w_p2p *h, const struct peerid *peer)
{
	return bin_peer_call(h, peer, swarm_probe);
}

int p2ph_hangup(struct w2w_p2p *h, const struct peerid *peer)
{
	uint64_t now = w2w_now_us();
	int r;

	if (!h->sw)
		return -ENOENT;
	r = swarm_hangup(h->sw, peer, now);
	sync_all(h, now);
	return r;
}

int w2w_p2p_hangup(struct w2w_p2p *h, const char *peer_id)
{
	return peer_call(h, peer_id, -ENOENT, swarm_hangup);
}

size_t w2w_p2p_connection_count(const struct w2w_p2p *h)
{
	return h->sw ? swarm_conn_count(h->sw) : 0;
}

/* Subscribe and unsubscribe: the swarm's call, then its output written. */
static int topic_call(struct w2w_p2p *h, const char *topic, int (*op)(struct swarm *, const char *, uint64_t))
{
	uint64_t now = w2w_now_us();
	int r;

	if (loop_in_log(h->loop))
		return -EBUSY;
	r = ensure_swarm(h);
	if (r < 0)
		return r;
	r = op(h->sw, topic, now);
	sync_all(h, now);
	return r;
}

int w2w_p2p_subscribe(struct w2w_p2p *h, const char *topic)
{
	return topic_call(h, topic, swarm_subscribe);
}

int w2w_p2p_unsubscribe(struct w2w_p2p *h, const char *topic)
{
	return topic_call(h, topic, swarm_unsubscribe);
}

int w2w_p2p_publish(struct w2w_p2p *h, const char *topic, const void *data, size_t len)
{
	uint64_t now = w2w_now_us();
	int r;

	if (loop_in_log(h->loop))
		return -EBUSY;
	r = ensure_swarm(h);
	if (r < 0)
		return r;
	r = swarm_publish(h->sw, topic, data, len, now);
	sync_all(h, now);
	return r;
}

/* ---- the binary interface (p2phost.h) ---- */

int p2ph_dial(struct w2w_p2p *h, const uint8_t *ma, size_t len)
{
	char text[MA_MAX_TEXT];
	int r = ma_format(text, sizeof(text), ma, len);

	/* The dial path keeps the text for its events and logs. */
	return r < 0 ? r : w2w_p2p_dial(h, text);
}

int p2ph_listen_addr(const struct w2w_p2p *h, size_t i, const uint8_t **ma, size_t *len)
{
	if (i >= h->n_listeners)
		return -ENOENT;
	*ma = h->listeners[i].ma;
	*len = h->listeners[i].ma_len;
	return 0;
}

const struct peerid *p2ph_peer(const struct w2w_p2p *h)
{
	return ident_peerid(h->id);
}

void p2ph_gs_stats(const struct w2w_p2p *h, struct gs_stats *out)
{
	swarm_gs_stats(h->sw, out);
}
