/* SPDX-License-Identifier: MIT */
/*
 * The host's internal binary interface (lib/core/p2phost.h), the one the mesh
 * node uses, over real loopback sockets: events carry struct peerid and
 * binary multiaddrs that equal what the other host is, a binary dial reaches
 * its peer, and a host keeps its public text events meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "err.h"
#include "multiaddr.h"
#include "p2phost.h"

struct bnode {
	struct w2w_p2p *h;
	int listening, connected, identified, messages, text_connected, disconnected;
	uint8_t adm[IDENTIFY_MAX_ADMISSION]; /* the admission field of the last identify */
	size_t adm_len;
	struct peerid peer, from;
	struct ann_ip remote, observed, listen;
	uint16_t listen_port;
	char data[64];
};

static void on_bin(void *ud, const struct p2ph_event *ev)
{
	struct bnode *n = ud;

	switch (ev->type) {
	case W2W_P2P_EV_LISTENING:
		n->listening++;
		assert_true(ann_ip_from_ma(ev->addr, ev->addr_len, &n->listen, &n->listen_port));
		break;
	case W2W_P2P_EV_CONNECTED:
		n->connected++;
		assert_non_null(ev->peer);
		n->peer = *ev->peer;
		assert_true(ann_ip_from_ma(ev->addr, ev->addr_len, &n->remote, NULL));
		break;
	case W2W_P2P_EV_IDENTIFY:
		n->identified++;
		assert_non_null(ev->info);
		n->adm_len = ev->info->admission_len;
		memcpy(n->adm, ev->info->admission, ev->info->admission_len);
		if (ev->info->observed_addr.len)
			assert_true(ann_ip_from_ma(ev->info->observed_addr.b, ev->info->observed_addr.len, &n->observed,
						   NULL));
		break;
	case W2W_P2P_EV_DISCONNECTED:
		n->disconnected++;
		break;
	case W2W_P2P_EV_MESSAGE:
		n->messages++;
		assert_non_null(ev->from);
		n->from = *ev->from;
		snprintf(n->data, sizeof(n->data), "%.*s", (int)ev->len, (const char *)ev->data);
		break;
	default:
		break;
	}
}

static void on_text(void *ud, const struct w2w_p2p_event *ev)
{
	struct bnode *n = ud;

	if (w2w_p2p_event_type(ev) == W2W_P2P_EV_CONNECTED)
		n->text_connected++;
}

static const char psk[] = "BwcHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; /* 7, 7, 7, 0... */

static void bnode_init(struct bnode *n, struct w2w_loop *loop, bool binary)
{
	memset(n, 0, sizeof(*n));
	assert_int_equal(w2w_p2p_new(&n->h, loop, NULL, psk, binary ? NULL : on_text, n), 0);
	if (binary)
		p2ph_set_event_cb(n->h, on_bin, n);
	assert_int_equal(w2w_p2p_listen(n->h, "/ip4/127.0.0.1/tcp/0"), 0);
	assert_int_equal(w2w_p2p_subscribe(n->h, "t"), 0);
}

static int run_until(struct w2w_loop *loop, const int *flag, int want, int ms)
{
	uint64_t end = w2w_now_us() + (uint64_t)ms * 1000;

	while (*flag < want && w2w_now_us() < end)
		assert_true(w2w_loop_run(loop, 20) >= 0);
	return *flag >= want;
}

static void test_binary_events(void **state)
{
	struct w2w_loop *loop = NULL;
	struct bnode a, b;
	const uint8_t *lma;
	size_t llen;
	uint8_t dial[MA_MAX_BIN];
	struct ma_addr ma;
	int len;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	bnode_init(&a, loop, false); /* public text events */
	bnode_init(&b, loop, true);  /* binary events */
	assert_int_equal(b.listening, 1);
	assert_int_equal(b.listen.family, 4);
	assert_int_equal(b.listen.ip[0], 127);
	assert_true(b.listen_port > 0);
	/* a's listen address, binary, plus /p2p/<a>: what the node dials */
	assert_int_equal(p2ph_listen_addr(a.h, 0, &lma, &llen), 0);
	assert_int_equal(p2ph_listen_addr(a.h, 1, &lma, &llen), -ENOENT);
	assert_int_equal(ma_decompose(lma, llen, &ma), 0);
	ma.has_peer = true;
	ma.peer = *p2ph_peer(a.h);
	len = ma_compose(dial, sizeof(dial), &ma);
	assert_true(len > 0);
	assert_int_equal(p2ph_dial(b.h, dial, (size_t)len), 0);
	assert_int_equal(p2ph_dial(b.h, dial, (size_t)len), -EALREADY);
	assert_int_equal(p2ph_dial(b.h, dial, 3), W2W_EPARSE);
	assert_true(run_until(loop, &b.connected, 1, 5000));
	assert_true(run_until(loop, &a.text_connected, 1, 5000));
	assert_true(peerid_eq(&b.peer, p2ph_peer(a.h)));
	assert_int_equal(b.remote.family, 4);
	assert_int_equal(b.remote.ip[0], 127);
	assert_true(run_until(loop, &b.identified, 1, 5000));
	assert_int_equal(b.observed.ip[0], 127); /* how a saw b */
	w2w_loop_run(loop, 1500); /* a heartbeat: the topic mesh formed */
	assert_int_equal(w2w_p2p_publish(a.h, "t", "hi", 2), 0);
	assert_true(run_until(loop, &b.messages, 1, 5000));
	assert_true(peerid_eq(&b.from, p2ph_peer(a.h)));
	assert_string_equal(b.data, "hi");
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

static int dial_host(struct w2w_p2p *from, struct w2w_p2p *to)
{
	const uint8_t *lma;
	size_t llen;
	uint8_t dial[MA_MAX_BIN];
	struct ma_addr ma;
	int len;

	assert_int_equal(p2ph_listen_addr(to, 0, &lma, &llen), 0);
	assert_int_equal(ma_decompose(lma, llen, &ma), 0);
	ma.has_peer = true;
	ma.peer = *p2ph_peer(to);
	len = ma_compose(dial, sizeof(dial), &ma);
	return p2ph_dial(from, dial, (size_t)len);
}

/* Admission mode's gate (swarm.h): a gated host presents its token in
 * identify, sends a peer no pubsub bytes before p2ph_admit (what it queued
 * goes out then), and p2ph_deny closes the peer's connections and refuses
 * new ones right after the handshake. */
static void test_admission_gate(void **state)
{
	struct w2w_loop *loop = NULL;
	struct bnode a, b;
	int conns;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	bnode_init(&a, loop, true);
	bnode_init(&b, loop, true);
	assert_int_equal(p2ph_set_admission(a.h, true, (const uint8_t *)"TOKEN-A", 7), 0);
	assert_int_equal(dial_host(b.h, a.h), 0);
	assert_true(run_until(loop, &b.identified, 1, 5000));
	assert_int_equal(b.adm_len, 7);
	assert_memory_equal(b.adm, "TOKEN-A", 7);
	assert_true(run_until(loop, &a.identified, 1, 5000));
	assert_int_equal(a.adm_len, 0); /* b presents none */
	w2w_loop_run(loop, 1500); /* a heartbeat */
	assert_int_equal(w2w_p2p_publish(a.h, "t", "held", 4), 0);
	w2w_loop_run(loop, 1500);
	assert_int_equal(b.messages, 0); /* gated: nothing went out to b */
	assert_int_equal(p2ph_admit(a.h, p2ph_peer(b.h)), 0);
	assert_true(run_until(loop, &b.messages, 1, 5000));
	assert_string_equal(b.data, "held");
	/* denied: disconnected, and a redial gets no further than the handshake */
	conns = a.connected;
	assert_int_equal(p2ph_deny(a.h, p2ph_peer(b.h), 3000000), 0);
	assert_true(run_until(loop, &b.disconnected, 1, 5000));
	assert_true(run_until(loop, &a.disconnected, 1, 5000));
	w2w_loop_run(loop, 400); /* past b's dial backoff */
	assert_int_equal(dial_host(b.h, a.h), 0);
	assert_true(run_until(loop, &b.disconnected, 2, 5000));
	assert_int_equal(a.connected, conns); /* a never reported it */
	assert_int_equal(p2ph_admit(a.h, p2ph_peer(b.h)), W2W_ESTATE);
	w2w_p2p_free(a.h);
	w2w_p2p_free(b.h);
	assert_null(w2w_loop_free(loop));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_events),
		cmocka_unit_test(test_admission_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
