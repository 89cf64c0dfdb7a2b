/* SPDX-License-Identifier: MIT */
/* Getters of struct w2w_p2p_event (include/w2wesher/p2p.h): "" for a string
 * the event does not carry, NULL past the end of a list. */
#include "p2pevent.h"

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
