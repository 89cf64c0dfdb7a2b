/* SPDX-License-Identifier: MIT */
/*
 * The opaque p2p event (lib/core/p2pevent.c): getters ("" for absent strings,
 * NULL past a list's end) and the queue of deferred events, whose deep copies
 * must survive the caller's buffers (events raised inside an API call are
 * delivered later from the loop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "p2pevent.h"

static void test_queue_deep_copy(void **state)
{
	struct p2pevent_q q;
	struct p2pevent_item *it;
	char peer[32] = "12D3KooWpeer", topic[16] = "w2w:announces", p0[16] = "/ipfs/id/1.0.0";
	char l0[32] = "/ip4/10.0.0.1/tcp/1", l1[32] = "/ip6/::1/tcp/2";
	const char *protos[1] = {p0}, *las[2] = {l0, l1};
	uint8_t data[5] = {1, 2, 3, 4, 5};
	struct w2w_p2p_event ev = {0};
	size_t len;

	(void)state;
	p2pevent_q_init(&q);
	assert_null(p2pevent_q_pop(&q));
	ev.type = W2W_P2P_EV_IDENTIFY;
	ev.peer_id = peer;
	ev.protocols = protos;
	ev.n_protocols = 1;
	ev.listen_addrs = las;
	ev.n_listen_addrs = 2;
	assert_int_equal(p2pevent_q_push(&q, &ev), 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = W2W_P2P_EV_MESSAGE;
	ev.from = peer;
	ev.topic = topic;
	ev.data = data;
	ev.len = sizeof(data);
	ev.seqno = 77;
	assert_int_equal(p2pevent_q_push(&q, &ev), 0);
	/* the caller's buffers change or die: the copies must not */
	memset(peer, 'x', sizeof(peer) - 1);
	memset(p0, 'x', sizeof(p0) - 1);
	memset(l1, 'x', sizeof(l1) - 1);
	memset(data, 0, sizeof(data));

	it = p2pevent_q_pop(&q);
	assert_non_null(it);
	assert_int_equal(w2w_p2p_event_type(&it->ev), W2W_P2P_EV_IDENTIFY);
	assert_string_equal(w2w_p2p_event_peer_id(&it->ev), "12D3KooWpeer");
	assert_int_equal(w2w_p2p_event_protocol_count(&it->ev), 1);
	assert_string_equal(w2w_p2p_event_protocol(&it->ev, 0), "/ipfs/id/1.0.0");
	assert_null(w2w_p2p_event_protocol(&it->ev, 1));
	assert_int_equal(w2w_p2p_event_listen_addr_count(&it->ev), 2);
	assert_string_equal(w2w_p2p_event_listen_addr(&it->ev, 0), "/ip4/10.0.0.1/tcp/1");
	assert_string_equal(w2w_p2p_event_listen_addr(&it->ev, 1), "/ip6/::1/tcp/2");
	assert_null(w2w_p2p_event_listen_addr(&it->ev, 2));
	assert_string_equal(w2w_p2p_event_topic(&it->ev), ""); /* absent */
	assert_string_equal(w2w_p2p_event_type_name(W2W_P2P_EV_IDENTIFY), "identify");
	free(it);

	it = p2pevent_q_pop(&q);
	assert_non_null(it);
	assert_string_equal(w2w_p2p_event_from(&it->ev), "12D3KooWpeer");
	assert_string_equal(w2w_p2p_event_topic(&it->ev), "w2w:announces");
	assert_memory_equal(w2w_p2p_event_data(&it->ev, &len), "\x01\x02\x03\x04\x05", 5);
	assert_int_equal(len, 5);
	assert_int_equal(w2w_p2p_event_seqno(&it->ev), 77);
	assert_null(w2w_p2p_event_protocol(&it->ev, 0));
	free(it);
	assert_null(p2pevent_q_pop(&q));
	assert_int_equal(q.n, 0);
}

/* Bounded: a host that never runs its loop cannot grow the queue forever. */
static void test_queue_bound(void **state)
{
	struct p2pevent_q q;
	struct w2w_p2p_event ev = {.type = W2W_P2P_EV_LISTENING, .addr = "/ip4/127.0.0.1/tcp/1"};

	(void)state;
	p2pevent_q_init(&q);
	for (size_t i = 0; i < P2PEVENT_Q_MAX; i++)
		assert_int_equal(p2pevent_q_push(&q, &ev), 0);
	assert_int_equal(p2pevent_q_push(&q, &ev), W2W_ELIMIT);
	p2pevent_q_clear(&q);
	assert_null(p2pevent_q_pop(&q));
	assert_int_equal(p2pevent_q_push(&q, &ev), 0);
	p2pevent_q_clear(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_deep_copy),
		cmocka_unit_test(test_queue_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
