/* SPDX-License-Identifier: MIT */
/*
 * The public libp2p host (w2w_p2p_*) end to end over real loopback sockets:
 * several hosts on one w2w_loop in this process. Covers dial/listen, the
 * private network, identify, ping, wrong peer ID, wrong swarm key, refused,
 * /dns4, simultaneous dials (one connection per peer), dial backoff and
 * gossipsub publish/subscribe with the author.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

#define MAXEV 64

struct node {
	struct w2w_p2p *h;
	char addr[256];
	int connected, disconnected, dial_failed, identified, pings, ping_failed, messages, subscribed, unsubscribed;
	char sub_peer[128], sub_topic[64];
	int last_err;
	char last_reason[256];
	char observed[256];
	char msg_from[128];
	char msg_data[256];
	int saw_meshsub;
	int ping_in_cb;       /* ping the peer from inside its CONNECTED callback */
	int ping_in_cb_ret;
	int listening, listen_in_cb_ret;
	int depth; /* inside on_event: events must never nest */
};

static void on_event_body(struct node *n, const struct w2w_p2p_event *ev)
{
	size_t len;
	const uint8_t *data;

	switch (w2w_p2p_event_type(ev)) {
	case W2W_P2P_EV_LISTENING:
		n->listening++;
		/* fields an event type does not carry read as "" / 0 / NULL past the end */
		assert_string_equal(w2w_p2p_event_topic(ev), "");
		assert_string_equal(w2w_p2p_event_message(ev), "");
		assert_int_equal(w2w_p2p_event_protocol_count(ev), 0);
		assert_null(w2w_p2p_event_protocol(ev, 0));
		assert_non_null(strstr(w2w_p2p_event_addr(ev), "/p2p/"));
		break;
	case W2W_P2P_EV_CONNECTED:
		n->connected++;
		if (n->ping_in_cb) {
			n->ping_in_cb_ret = w2w_p2p_ping(n->h, w2w_p2p_event_peer_id(ev));
			/* its LISTENING must wait until this callback returned (depth check) */
			n->listen_in_cb_ret = w2w_p2p_listen(n->h, "/ip4/127.0.0.1/tcp/0");
		}
		break;
	case W2W_P2P_EV_DISCONNECTED:
		n->disconnected++;
		break;
	case W2W_P2P_EV_DIAL_FAILED:
		n->dial_failed++;
		n->last_err = w2w_p2p_event_error(ev);
		snprintf(n->last_reason, sizeof(n->last_reason), "%s", w2w_p2p_event_message(ev));
		break;
	case W2W_P2P_EV_IDENTIFY:
		n->identified++;
		snprintf(n->observed, sizeof(n->observed), "%s", w2w_p2p_event_observed_addr(ev));
		for (size_t i = 0; i < w2w_p2p_event_protocol_count(ev); i++)
			if (!strcmp(w2w_p2p_event_protocol(ev, i), "/meshsub/1.1.0"))
				n->saw_meshsub = 1;
		assert_null(w2w_p2p_event_protocol(ev, w2w_p2p_event_protocol_count(ev)));
		assert_null(w2w_p2p_event_listen_addr(ev, w2w_p2p_event_listen_addr_count(ev)));
		assert_non_null(strstr(w2w_p2p_event_agent_version(ev), "w2wesher/"));
		break;
	case W2W_P2P_EV_PING:
		n->pings++;
		break;
	case W2W_P2P_EV_PING_FAILED:
		n->ping_failed++;
		break;
	case W2W_P2P_EV_SUBSCRIBED:
	case W2W_P2P_EV_UNSUBSCRIBED:
		if (w2w_p2p_event_type(ev) == W2W_P2P_EV_SUBSCRIBED)
			n->subscribed++;
		else
			n->unsubscribed++;
		snprintf(n->sub_peer, sizeof(n->sub_peer), "%s", w2w_p2p_event_peer_id(ev));
		snprintf(n->sub_topic, sizeof(n->sub_topic), "%s", w2w_p2p_event_topic(ev));
		assert_string_equal(w2w_p2p_event_type_name(w2w_p2p_event_type(ev)),
				    w2w_p2p_event_type(ev) == W2W_P2P_EV_SUBSCRIBED ? "subscribed" : "unsubscribed");
		break;
	case W2W_P2P_EV_MESSAGE:
		n->messages++;
		data = w2w_p2p_event_data(ev, &len);
		snprintf(n->msg_from, sizeof(n->msg_from), "%s", w2w_p2p_event_from(ev));
		snprintf(n->msg_data, sizeof(n->msg_data), "%.*s", (int)len, (const char *)data);
		break;
	}
}

/* Every test checks that no event is delivered from inside the API call that
 * raised it, also when that call is made from an event callback. */
static void on_event(void *ud, const struct w2w_p2p_event *ev)
{
	struct node *n = ud;

	assert_int_equal(n->depth, 0);
	n->depth++;
	on_event_body(n, ev);
	n->depth--;
}

/* PSKs as the API takes them: base64 of the 32 bytes ([P2P] PSK), or a
 * swarm.key file's text; psk_a and psk_a_file are the same key. */
static const char psk_a[] = "AQIDBAUGBwgJCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
static const char psk_a_file[] = "/key/swarm/psk/1.0.0/\n/base16/\n"
				 "0102030405060708090A00000000000000000000000000000000000000000000\n";
static const char psk_b[] = "CQkJAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static struct w2w_loop *new_loop(const struct w2w_loop_ops *ops)
{
	struct w2w_loop *l = NULL;

	assert_int_equal(w2w_loop_new(&l, ops), 0);
	return l;
}

static void node_init(struct node *n, struct w2w_loop *loop, const char *psk, int listen)
{
	memset(n, 0, sizeof(*n));
	assert_int_equal(w2w_p2p_new(&n->h, loop, NULL, psk, on_event, n), 0);
	assert_int_equal(w2w_p2p_set_option(n->h, W2W_P2P_OPT_HANDSHAKE_TIMEOUT_MS, 2000), 0);
	assert_int_equal(w2w_p2p_set_option(n->h, W2W_P2P_OPT_DIAL_BACKOFF_MS, 300), 0);
	assert_int_equal(w2w_p2p_set_option(n->h, 9999, 1), -EINVAL);
	if (listen) {
		assert_int_equal(w2w_p2p_listen(n->h, "/ip4/127.0.0.1/tcp/0"), 0);
		assert_int_equal(n->listening, 0); /* not from inside listen: from the loop */
		assert_true(w2w_p2p_listen_addr(n->h, 0, n->addr, sizeof(n->addr)) > 0);
		assert_int_equal(w2w_p2p_listen_addr(n->h, 0, n->addr + 128, 4), -ENOSPC);
		assert_int_equal(w2w_p2p_listen_addr(n->h, 1, n->addr + 128, 64), -ERANGE);
		assert_int_equal(w2w_p2p_set_option(n->h, W2W_P2P_OPT_ECHO, 1), W2W_ESTATE);
	}
}

/* Runs the loop until *flag >= want or ms pass. */
static int run_until(struct w2w_loop *loop, const int *flag, int want, int ms)
{
	uint64_t end = w2w_now_us() + (uint64_t)ms * 1000;

	while (*flag < want && w2w_now_us() < end)
		assert_true(w2w_loop_run(loop, 20) >= 0);
	return *flag >= want;
}

static void test_dial_ping_identify(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node a, b;
	char port[16];

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a_file, 0); /* the same PSK in swarm.key form */
	assert_true(run_until(loop, &a.listening, 1, 2000));
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), 0);
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), -EALREADY);
	assert_true(run_until(loop, &b.connected, 1, 5000));
	assert_true(run_until(loop, &a.identified, 1, 5000));
	assert_true(run_until(loop, &b.identified, 1, 5000));
	assert_true(b.saw_meshsub);
	/* b dialled a's listen address: a's view of b's connection is b's port,
	 * b's observed address (what a saw of b) is 127.0.0.1. */
	assert_non_null(strstr(b.observed, "/ip4/127.0.0.1/tcp/"));
	snprintf(port, sizeof(port), "/tcp/%s", strstr(a.addr, "/tcp/") + 5);
	*strchr(port + 5, '/') = 0;
	assert_non_null(strstr(a.observed, port));
	{
		char o[256];

		assert_true(w2w_p2p_observed_addr(a.h, 0, o, sizeof(o)) > 0);
		assert_string_equal(o, a.observed);
		assert_int_equal(w2w_p2p_observed_addr(a.h, 0, o, 4), -ENOSPC);
		assert_int_equal(w2w_p2p_observed_addr(a.h, 1, o, sizeof(o)), -ERANGE);
	}
	assert_int_equal(w2w_p2p_ping(b.h, w2w_p2p_peer_id(a.h)), 0);
	assert_true(run_until(loop, &b.pings, 1, 5000));
	assert_int_equal(w2w_p2p_ping(a.h, w2w_p2p_peer_id(b.h)), 0);
	assert_true(run_until(loop, &a.pings, 1, 5000));
	assert_int_equal(w2w_p2p_connection_count(a.h), 1);
	assert_int_equal(w2w_p2p_hangup(b.h, w2w_p2p_peer_id(a.h)), 0);
	assert_true(run_until(loop, &a.disconnected, 1, 5000));
	assert_true(run_until(loop, &b.disconnected, 1, 5000));
	assert_int_equal(w2w_p2p_ping(b.h, w2w_p2p_peer_id(a.h)), W2W_ESTATE);
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

/* p2p.h: callbacks may call w2w_p2p_* — including a ping of the peer that
 * just connected, from its CONNECTED event. */
static void test_ping_from_connected_cb(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node a, b;

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a, 0);
	b.ping_in_cb = 1;
	b.ping_in_cb_ret = -12345;
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), 0);
	assert_true(run_until(loop, &b.connected, 1, 5000));
	assert_int_equal(b.ping_in_cb_ret, 0);
	assert_int_equal(b.listen_in_cb_ret, 0);
	assert_true(run_until(loop, &b.pings, 1, 5000));
	assert_true(run_until(loop, &b.listening, 1, 5000));
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

static void test_refusals(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node a, b, other;
	char wrong[400], dns[400];
	int port;

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a, 0);
	node_init(&other, loop, psk_b, 1);
	/* /p2p/ of somebody else: the handshake must fail with W2W_EAUTH. */
	snprintf(wrong, sizeof(wrong), "%.*s/p2p/%s", (int)(strstr(a.addr, "/p2p/") - a.addr), a.addr,
		 w2w_p2p_peer_id(other.h));
	assert_int_equal(w2w_p2p_dial(b.h, wrong), 0);
	assert_true(run_until(loop, &b.dial_failed, 1, 5000));
	assert_int_equal(b.last_err, W2W_EAUTH);
	assert_non_null(strstr(b.last_reason, "wrong peer ID"));
	/* Backoff for that peer ID. */
	assert_int_equal(w2w_p2p_dial(b.h, wrong), -EAGAIN);
	/* Other swarm key (same peer ID, once its backoff passed): fails in the handshake. */
	w2w_loop_run(loop, 400);
	assert_int_equal(w2w_p2p_dial(b.h, other.addr), 0);
	assert_true(run_until(loop, &b.dial_failed, 2, 5000));
	assert_int_equal(b.connected, 0);
	assert_int_equal(b.last_err, W2W_EPSK);
	assert_string_equal(w2w_strerror(W2W_EPSK), "swarm key mismatch (private network)");
	/* Refused. */
	sscanf(strstr(other.addr, "/tcp/") + 5, "%d", &port);
	w2w_p2p_free(other.h);
	snprintf(dns, sizeof(dns), "/ip4/127.0.0.1/tcp/%d", port);
	assert_int_equal(w2w_p2p_dial(b.h, dns), 0);
	assert_true(run_until(loop, &b.dial_failed, 3, 5000));
	assert_int_equal(b.last_err, -ECONNREFUSED);
	/* Resolved (hosts file), then refused. */
	snprintf(dns, sizeof(dns), "/dns4/localhost/tcp/%d", port);
	assert_int_equal(w2w_p2p_dial(b.h, dns), 0);
	assert_true(run_until(loop, &b.dial_failed, 4, 5000));
	assert_int_equal(b.last_err, -ECONNREFUSED);
	/* RFC 6761: .invalid never resolves (NXDOMAIN, or no answer without a
	 * reachable DNS server: bounded by the resolver's tries and the 10 s cap). */
	assert_int_equal(w2w_p2p_dial(b.h, "/dns4/no-such-host.invalid/tcp/1"), 0);
	assert_true(run_until(loop, &b.dial_failed, 5, 15000));
	assert_true(b.last_err == -ENOENT || b.last_err == -EIO || b.last_err == W2W_ETIMEDOUT);
	/* /dns4/localhost reaches a. */
	sscanf(strstr(a.addr, "/tcp/") + 5, "%d", &port);
	snprintf(dns, sizeof(dns), "/dns4/localhost/tcp/%d/p2p/%s", port, w2w_p2p_peer_id(a.h));
	assert_int_equal(w2w_p2p_dial(b.h, dns), 0);
	assert_true(run_until(loop, &b.connected, 1, 5000));
	assert_int_equal(w2w_p2p_dial(b.h, "/ip4/1.2.3.4/udp/1"), W2W_EPARSE);
	assert_int_equal(w2w_p2p_dial(b.h, "not an address"), W2W_EPARSE);
	/* Freed while a lookup runs: nothing is reported, nothing leaks. */
	assert_int_equal(w2w_p2p_dial(b.h, "/dns4/no-such-host.invalid/tcp/2"), 0);
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

/*
 * Network PSK rotation on the public API (issue 11): a host holding keys A and
 * next B is reached by an A-only and a B-only host, dials a B-only host at
 * once and an A-only one through the fallback; dropping A closes the A-only
 * connection and refuses its next dial. Bad keys change nothing.
 */
static void test_psk_rotation(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node r, a, b, a2, b2, plain;

	(void)state;
	node_init(&r, loop, psk_a, 1);
	assert_int_equal(w2w_p2p_set_psk(r.h, psk_a_file, psk_b), 0);
	assert_int_equal(w2w_p2p_set_psk(r.h, "not a key", psk_b), W2W_EPARSE);
	assert_int_equal(w2w_p2p_set_psk(r.h, psk_a, "AAAA"), W2W_EPARSE);
	assert_int_equal(w2w_p2p_set_psk(r.h, NULL, psk_b), -EINVAL);
	assert_int_equal(w2w_p2p_set_psk(NULL, psk_a, NULL), -EINVAL);
	node_init(&plain, loop, NULL, 0);
	assert_int_equal(w2w_p2p_set_psk(plain.h, psk_a, NULL), W2W_ESTATE);
	node_init(&a, loop, psk_a, 0);
	node_init(&b, loop, psk_b, 0);
	node_init(&a2, loop, psk_a, 1);
	node_init(&b2, loop, psk_b, 1);
	/* Inbound with either key. */
	assert_int_equal(w2w_p2p_dial(a.h, r.addr), 0);
	assert_int_equal(w2w_p2p_dial(b.h, r.addr), 0);
	assert_true(run_until(loop, &a.connected, 1, 5000));
	assert_true(run_until(loop, &b.connected, 1, 5000));
	/* Outbound: the next key at once, the current one after one refused try. */
	assert_int_equal(w2w_p2p_dial(r.h, b2.addr), 0);
	assert_true(run_until(loop, &b2.connected, 1, 5000));
	assert_int_equal(r.dial_failed, 0);
	assert_int_equal(w2w_p2p_dial(r.h, a2.addr), 0);
	assert_true(run_until(loop, &a2.connected, 1, 5000));
	assert_int_equal(r.connected, 4);
	/* Drop A: A-only connections close, B-only ones stay. */
	assert_int_equal(w2w_p2p_set_psk(r.h, psk_b, NULL), 0);
	assert_true(run_until(loop, &a.disconnected, 1, 5000));
	assert_true(run_until(loop, &a2.disconnected, 1, 5000));
	w2w_loop_run(loop, 100);
	assert_int_equal(b.disconnected + b2.disconnected, 0);
	assert_int_equal(w2w_p2p_connection_count(r.h), 2);
	/* A-only is refused now. */
	assert_int_equal(w2w_p2p_dial(a.h, r.addr), 0);
	assert_true(run_until(loop, &a.dial_failed, 1, 5000));
	assert_int_equal(a.connected, 1);
	w2w_p2p_free(r.h);
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	w2w_p2p_free(a2.h);
	w2w_p2p_free(b2.h);
	w2w_p2p_free(plain.h);
	assert_null(w2w_loop_free(loop));
}

static void test_ipv6(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node a, b;
	int r;

	(void)state;
	node_init(&a, loop, psk_a, 0);
	node_init(&b, loop, psk_a, 0);
	r = w2w_p2p_listen(a.h, "/ip6/::1/tcp/0");
	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
		w2w_p2p_free(a.h);
		w2w_p2p_free(b.h);
		w2w_loop_free(loop);
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(w2w_p2p_listen_addr(a.h, 0, a.addr, sizeof(a.addr)) > 0);
	assert_non_null(strstr(a.addr, "/ip6/::1/tcp/"));
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), 0);
	assert_true(run_until(loop, &b.connected, 1, 5000));
	assert_int_equal(w2w_p2p_ping(b.h, w2w_p2p_peer_id(a.h)), 0);
	assert_true(run_until(loop, &b.pings, 1, 5000));
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

static void test_simultaneous_dial(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node a, b;

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a, 1);
	assert_int_equal(w2w_p2p_dial(a.h, b.addr), 0);
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), 0);
	assert_true(run_until(loop, &a.connected, 1, 5000));
	assert_true(run_until(loop, &b.connected, 1, 5000));
	/* Both ends keep the same one of the two connections; events are per
	 * peer, so the surplus connection is neither CONNECTED nor DISCONNECTED. */
	for (int i = 0; i < 100 && (w2w_p2p_connection_count(a.h) != 1 || w2w_p2p_connection_count(b.h) != 1); i++)
		w2w_loop_run(loop, 20);
	w2w_loop_run(loop, 200);
	assert_int_equal(w2w_p2p_connection_count(a.h), 1);
	assert_int_equal(w2w_p2p_connection_count(b.h), 1);
	assert_int_equal(a.connected + b.connected, 2);
	assert_int_equal(a.disconnected + b.disconnected, 0);
	assert_int_equal(w2w_p2p_ping(a.h, w2w_p2p_peer_id(b.h)), 0);
	assert_true(run_until(loop, &a.pings, 1, 5000));
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

static void test_gossipsub(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct node n[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		node_init(&n[i], loop, psk_a, 1);
		assert_int_equal(w2w_p2p_subscribe(n[i].h, "t"), 0);
	}
	/* A line: 0 - 1 - 2; 1 relays. */
	assert_int_equal(w2w_p2p_dial(n[1].h, n[0].addr), 0);
	assert_int_equal(w2w_p2p_dial(n[2].h, n[1].addr), 0);
	assert_true(run_until(loop, &n[1].identified, 2, 5000));
	/* SUBSCRIBED (issue 14): n0 learns n1's subscription, n1 both others'
	 * (each peer once per topic) */
	assert_true(run_until(loop, &n[0].subscribed, 1, 5000));
	assert_string_equal(n[0].sub_peer, w2w_p2p_peer_id(n[1].h));
	assert_string_equal(n[0].sub_topic, "t");
	assert_true(run_until(loop, &n[1].subscribed, 2, 5000));
	w2w_loop_run(loop, 1500); /* a heartbeat: meshes formed */
	assert_int_equal(n[0].subscribed, 1);
	assert_int_equal(n[1].subscribed, 2);
	assert_int_equal(w2w_p2p_publish(n[0].h, "t", "hello", 5), 0);
	assert_true(run_until(loop, &n[2].messages, 1, 5000));
	assert_string_equal(n[2].msg_from, w2w_p2p_peer_id(n[0].h));
	assert_string_equal(n[2].msg_data, "hello");
	assert_int_equal(n[1].messages, 1);
	assert_int_equal(n[0].messages, 0); /* never delivered back to its author */
	/* n2 withdraws: n1 hears of it, topic and peer */
	assert_int_equal(w2w_p2p_unsubscribe(n[2].h, "t"), 0);
	assert_true(run_until(loop, &n[1].unsubscribed, 1, 5000));
	assert_string_equal(n[1].sub_peer, w2w_p2p_peer_id(n[2].h));
	assert_string_equal(n[1].sub_topic, "t");
	for (int i = 0; i < 3; i++)
		w2w_p2p_free(n[i].h);
	assert_null(w2w_loop_free(loop));
}

/* Push mode (what w2wesherd does with libuv): the host learns interest and
 * deadlines only through ops callbacks, polls them itself and hands readiness
 * back with w2w_loop_process. */
struct push_host {
	struct w2w_watch w[64];
	size_t n;
	int64_t deadline;
};

static void push_watch(void *ud, int fd, int events)
{
	struct push_host *p = ud;
	size_t i;

	for (i = 0; i < p->n && p->w[i].fd != fd; i++)
		;
	if (!events) {
		if (i < p->n)
			p->w[i] = p->w[--p->n];
		return;
	}
	assert_true(i < 64);
	if (i == p->n)
		p->n++;
	p->w[i].fd = fd;
	p->w[i].events = events;
}

static void push_deadline(void *ud, int64_t when)
{
	((struct push_host *)ud)->deadline = when;
}

static void push_run(struct w2w_loop *loop, struct push_host *p, const int *flag, int want)
{
	uint64_t end = w2w_now_us() + 5000000;

	while (*flag < want && w2w_now_us() < end) {
		struct pollfd pf[64];
		struct w2w_watch ready[64];
		size_t nr = 0;
		int t = 50;

		for (size_t i = 0; i < p->n; i++) {
			pf[i].fd = p->w[i].fd;
			pf[i].events = (short)((p->w[i].events & W2W_IO_READ ? POLLIN : 0) |
					       (p->w[i].events & W2W_IO_WRITE ? POLLOUT : 0));
			pf[i].revents = 0;
		}
		if (p->deadline >= 0) {
			int64_t left = (p->deadline - (int64_t)w2w_now_us() + 999) / 1000;

			t = left < 0 ? 0 : left < t ? (int)left : t;
		}
		assert_true(poll(pf, p->n, t) >= 0);
		for (size_t i = 0; i < p->n; i++) {
			if (!pf[i].revents)
				continue;
			ready[nr].fd = pf[i].fd;
			ready[nr].events = (pf[i].revents & POLLIN ? W2W_IO_READ : 0) |
					   (pf[i].revents & POLLOUT ? W2W_IO_WRITE : 0) |
					   (pf[i].revents & (POLLERR | POLLHUP) ? W2W_IO_ERROR : 0);
			nr++;
		}
		assert_int_equal(w2w_loop_process(loop, ready, nr), 0);
	}
}

/* Keys cross the API as text: a base64 identity gives the peer ID
 * w2w_identity_peer_id() computes; malformed text fails, *ret untouched. */
static void test_key_text(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct w2w_p2p *h = NULL;
	char key[W2W_IDENTITY_TEXT_MAX], id[W2W_PEER_ID_TEXT_MAX];

	(void)state;
	assert_int_equal(w2w_identity_generate(key, sizeof(key)), 92);
	assert_int_equal(w2w_identity_peer_id(id, sizeof(id), key), 52); /* "12D3KooW" + 44 */
	assert_int_equal(strlen(id), 52);
	assert_int_equal(w2w_p2p_new(&h, loop, "AAAA", NULL, NULL, NULL), W2W_EPARSE);
	assert_int_equal(w2w_p2p_new(&h, loop, NULL, "not a key", NULL, NULL), W2W_EPARSE);
	/* 31 bytes, and 32 bytes with whitespace: both refused */
	assert_int_equal(w2w_p2p_new(&h, loop, NULL, "AQIDBAUGBwgJCgAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", NULL, NULL),
			 W2W_EPARSE);
	assert_int_equal(w2w_p2p_new(&h, loop, NULL, " AQIDBAUGBwgJCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL, NULL),
			 W2W_EPARSE);
	assert_int_equal(w2w_p2p_new(&h, NULL, NULL, NULL, NULL, NULL), -EINVAL);
	assert_null(h);
	assert_int_equal(w2w_p2p_new(&h, loop, key, psk_a, NULL, NULL), 0);
	assert_string_equal(w2w_p2p_peer_id(h), id);
	w2w_wipe(key, sizeof(key));
	assert_null(w2w_p2p_free(h));
	assert_null(w2w_loop_free(loop));
}

/* A log line may come from deep inside the host: every library call from
 * the sink gets -EBUSY, and the host keeps working afterwards. */
struct logrec {
	struct w2w_loop *loop;
	struct w2w_p2p *h;
	const char *addr;
	int lines, rc_dial, rc_process, rc_set_log, rc_publish;
};

static void reentering_log(void *ud, int level, const char *msg)
{
	struct logrec *r = ud;

	assert_true(level >= W2W_LOG_ERR && level <= W2W_LOG_INFO);
	assert_non_null(msg);
	if (r->lines++)
		return;
	r->rc_dial = w2w_p2p_dial(r->h, r->addr);
	r->rc_process = w2w_loop_process(r->loop, NULL, 0);
	r->rc_set_log = w2w_p2p_set_log(r->h, NULL, NULL, 0);
	r->rc_publish = w2w_p2p_publish(r->h, "t", "x", 1);
}

static void test_log_reentrancy(void **state)
{
	struct w2w_loop *loop = new_loop(NULL);
	struct logrec r = { 0 };
	struct node a, b;
	char refused[64];
	int port;

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a, 0);
	r.loop = loop;
	r.h = b.h;
	r.addr = a.addr;
	/* a refused dial logs "dial ... failed" at info level from inside the loop */
	sscanf(strstr(a.addr, "/tcp/") + 5, "%d", &port);
	w2w_p2p_free(a.h);
	snprintf(refused, sizeof(refused), "/ip4/127.0.0.1/tcp/%d", port);
	assert_int_equal(w2w_p2p_set_log(b.h, reentering_log, &r, W2W_LOG_DEBUG), 0);
	assert_int_equal(w2w_p2p_dial(b.h, refused), 0);
	assert_true(run_until(loop, &b.dial_failed, 1, 5000));
	assert_true(r.lines >= 1);
	assert_int_equal(r.rc_dial, -EBUSY);
	assert_int_equal(r.rc_process, -EBUSY);
	assert_int_equal(r.rc_set_log, -EBUSY);
	assert_int_equal(r.rc_publish, -EBUSY);
	/* max_level filters: below the info line, nothing arrives */
	r.lines = 0;
	assert_int_equal(w2w_p2p_set_log(b.h, reentering_log, &r, W2W_LOG_ERR), 0);
	w2w_loop_run(loop, 350); /* the backoff passes */
	assert_int_equal(w2w_p2p_dial(b.h, refused), 0);
	assert_true(run_until(loop, &b.dial_failed, 2, 5000));
	assert_int_equal(r.lines, 0);
	/* outside the sink the host is usable again */
	assert_int_equal(w2w_loop_process(loop, NULL, 0), 0);
	assert_int_equal(w2w_p2p_set_log(b.h, NULL, NULL, 0), 0);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

static void test_push_mode(void **state)
{
	struct push_host ph = { .deadline = -1 };
	struct w2w_loop_ops ops = { .version = W2W_LOOP_OPS_VERSION, .ud = &ph, .watch = push_watch,
				    .set_deadline = push_deadline };
	struct w2w_loop *loop = new_loop(&ops);
	struct node a, b;

	(void)state;
	node_init(&a, loop, psk_a, 1);
	node_init(&b, loop, psk_a, 0);
	assert_true(ph.n >= 1); /* the listener */
	assert_int_equal(w2w_p2p_dial(b.h, a.addr), 0);
	push_run(loop, &ph, &b.identified, 1);
	assert_int_equal(b.connected, 1);
	assert_int_equal(w2w_p2p_ping(b.h, w2w_p2p_peer_id(a.h)), 0);
	push_run(loop, &ph, &b.pings, 1);
	assert_int_equal(b.pings, 1);
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_int_equal(ph.n, 0); /* every fd unwatched */
	assert_null(w2w_loop_free(loop));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dial_ping_identify),
		cmocka_unit_test(test_ping_from_connected_cb),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_psk_rotation),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_simultaneous_dial),
		cmocka_unit_test(test_gossipsub),
		cmocka_unit_test(test_push_mode),
		cmocka_unit_test(test_key_text),
		cmocka_unit_test(test_log_reentrancy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
