/* SPDX-License-Identifier: MIT */
/* Getters of struct w2w_p2p_event (include/w2wesher/p2p.h): "" for a string
 * the event does not carry, NULL past the end of a list. */
#include "p2pevent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *s(const char *p)
{
	return p ? p : "";
}

enum w2w_p2p_event_type w2w_p2p_event_type(const struct w2w_p2p_event *ev)
{
	return (enum w2w_p2p_event_type)ev->type;
}

const char *w2w_p2p_event_type_name(enum w2w_p2p_event_type t)
{
	switch (t) {
	case W2W_P2P_EV_LISTENING: return "listening";
	case W2W_P2P_EV_CONNECTED: return "connected";
	case W2W_P2P_EV_DISCONNECTED: return "disconnected";
	case W2W_P2P_EV_DIAL_FAILED: return "dial-failed";
	case W2W_P2P_EV_IDENTIFY: return "identify";
	case W2W_P2P_EV_PING: return "ping";
	case W2W_P2P_EV_PING_FAILED: return "ping-failed";
	case W2W_P2P_EV_MESSAGE: return "message";
	case W2W_P2P_EV_SUBSCRIBED: return "subscribed";
	case W2W_P2P_EV_UNSUBSCRIBED: return "unsubscribed";
	}
	return "unknown";
}

const char *w2w_p2p_event_peer_id(const struct w2w_p2p_event *ev)
{
	return s(ev->peer_id);
}

const char *w2w_p2p_event_addr(const struct w2w_p2p_event *ev)
{
	return s(ev->addr);
}

int w2w_p2p_event_inbound(const struct w2w_p2p_event *ev)
{
	return ev->inbound;
}

int w2w_p2p_event_error(const struct w2w_p2p_event *ev)
{
	return ev->err;
}

const char *w2w_p2p_event_message(const struct w2w_p2p_event *ev)
{
	return s(ev->reason);
}

uint64_t w2w_p2p_event_rtt_us(const struct w2w_p2p_event *ev)
{
	return ev->rtt_us;
}

const char *w2w_p2p_event_agent_version(const struct w2w_p2p_event *ev)
{
	return s(ev->agent_version);
}

const char *w2w_p2p_event_protocol_version(const struct w2w_p2p_event *ev)
{
	return s(ev->protocol_version);
}

size_t w2w_p2p_event_protocol_count(const struct w2w_p2p_event *ev)
{
	return ev->n_protocols;
}

const char *w2w_p2p_event_protocol(const struct w2w_p2p_event *ev, size_t i)
{
	return i < ev->n_protocols ? ev->protocols[i] : NULL;
}

size_t w2w_p2p_event_listen_addr_count(const struct w2w_p2p_event *ev)
{
	return ev->n_listen_addrs;
}

const char *w2w_p2p_event_listen_addr(const struct w2w_p2p_event *ev, size_t i)
{
	return i < ev->n_listen_addrs ? ev->listen_addrs[i] : NULL;
}

const char *w2w_p2p_event_observed_addr(const struct w2w_p2p_event *ev)
{
	return s(ev->observed_addr);
}

const char *w2w_p2p_event_from(const struct w2w_p2p_event *ev)
{
	return s(ev->from);
}

const char *w2w_p2p_event_topic(const struct w2w_p2p_event *ev)
{
	return s(ev->topic);
}

const uint8_t *w2w_p2p_event_data(const struct w2w_p2p_event *ev, size_t *len)
{
	if (len)
		*len = ev->len;
	return ev->data;
}

uint64_t w2w_p2p_event_seqno(const struct w2w_p2p_event *ev)
{
	return ev->seqno;
}

/* ---- the deferred-event queue ---- */

void p2pevent_q_init(struct p2pevent_q *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static size_t str_size(const char *p)
{
	return p ? strlen(p) + 1 : 0;
}

/* Copies p into the byte area at *at; NULL stays NULL. */
static const char *str_copy(char **at, const char *p)
{
	char *out;
	size_t n;

	if (!p)
		return NULL;
	n = strlen(p) + 1;
	out = *at;
	memcpy(out, p, n);
	*at += n;
	return out;
}

int p2pevent_q_push(struct p2pevent_q *q, const struct w2w_p2p_event *ev)
{
	const char *const *lists[2] = {ev->protocols, ev->listen_addrs};
	size_t counts[2] = {ev->n_protocols, ev->n_listen_addrs};
	size_t ptrs = counts[0] + counts[1], bytes = ev->len;
	const char **arr;
	struct p2pevent_item *it;
	char *at;

	if (q->n >= P2PEVENT_Q_MAX)
		return W2W_ELIMIT;
	bytes += str_size(ev->peer_id) + str_size(ev->addr) + str_size(ev->reason) + str_size(ev->agent_version) +
		 str_size(ev->protocol_version) + str_size(ev->observed_addr) + str_size(ev->from) +
		 str_size(ev->topic);
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < counts[l]; i++)
			bytes += str_size(lists[l][i]);
	/* item, then the two pointer arrays (aligned after the struct), then the bytes */
	it = malloc(sizeof(*it) + ptrs * sizeof(*arr) + bytes);
	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->ev = *ev;
	arr = (const char **)(void *)(it + 1);
	at = (char *)(arr + ptrs);
	it->ev.peer_id = str_copy(&at, ev->peer_id);
	it->ev.addr = str_copy(&at, ev->addr);
	it->ev.reason = str_copy(&at, ev->reason);
	it->ev.agent_version = str_copy(&at, ev->agent_version);
	it->ev.protocol_version = str_copy(&at, ev->protocol_version);
	it->ev.observed_addr = str_copy(&at, ev->observed_addr);
	it->ev.from = str_copy(&at, ev->from);
	it->ev.topic = str_copy(&at, ev->topic);
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++)
			arr[i] = str_copy(&at, lists[l][i]);
		if (l == 0)
			it->ev.protocols = counts[0] ? arr : NULL;
		else
			it->ev.listen_addrs = counts[1] ? arr : NULL;
		arr += counts[l];
	}
	if (ev->len) {
		memcpy(at, ev->data, ev->len);
		it->ev.data = (const uint8_t *)at;
	} else {
		it->ev.data = NULL;
	}
	*q->tail = it;
	q->tail = &it->next;
	q->n++;
	return 0;
}

struct p2pevent_item *p2pevent_q_pop(struct p2pevent_q *q)
{
	struct p2pevent_item *it = q->head;

	if (!it)
		return NULL;
	q->head = it->next;
	if (!q->head)
		q->tail = &q->head;
	q->n--;
	it->next = NULL;
	return it;
}

void p2pevent_q_clear(struct p2pevent_q *q)
{
	struct p2pevent_item *it;

	while ((it = p2pevent_q_pop(q)))
		free(it);
}
