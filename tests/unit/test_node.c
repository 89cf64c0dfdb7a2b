/* SPDX-License-Identifier: MIT */
/*
 * The node's public entry points without root: construction errors, the log
 * sink's re-entrancy guard (a log line from inside w2w_node_start(), every
 * library call from the sink gets -EBUSY), and that STOPPED comes from the
 * loop, never from inside w2w_node_stop(). Whole nodes in a mesh:
 * test_node_mesh.c (the in-memory WireGuard OS, needs the static libraries);
 * against real WireGuard: the netns/e2e tiers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

struct rec {
	struct w2w_loop *loop;
	struct w2w_node *node;
	int lines, saw_state_dir;
	int rc_join, rc_stop, rc_start, rc_process, rc_set_log, rc_p2p;
	int events, stopped, rc_start_in_event;
};

static void sink(void *ud, int level, const char *msg)
{
	struct rec *r = ud;
	struct w2w_p2p *h = NULL;

	assert_true(level >= W2W_LOG_ERR && level <= W2W_LOG_DEBUG);
	if (strstr(msg, "state directory"))
		r->saw_state_dir = 1;
	if (r->lines++)
		return;
	r->rc_join = w2w_node_join(r->node, "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
	r->rc_stop = w2w_node_stop(r->node);
	r->rc_start = w2w_node_start(r->node);
	r->rc_process = w2w_loop_process(r->loop, NULL, 0);
	r->rc_set_log = w2w_node_set_log(r->node, NULL, NULL, 0);
	/* another object on the same loop: also refused while a log line is delivered */
	if (w2w_p2p_new(&h, r->loop, NULL, NULL, NULL, NULL) == 0) {
		r->rc_p2p = w2w_p2p_listen(h, "/ip4/127.0.0.1/tcp/0");
		w2w_p2p_free(h);
	}
}

static void on_event(void *ud, const struct w2w_node_event *ev)
{
	struct rec *r = ud;

	r->events++;
	if (w2w_node_event_type(ev) == W2W_NODE_EV_STOPPED) {
		r->stopped++;
		assert_string_equal(w2w_node_event_address(ev), "");
		assert_int_equal(w2w_node_event_error(ev), 0);
	}
	r->rc_start_in_event = w2w_node_start(r->node);
}

static struct w2w_config *config(const char *state_dir)
{
	struct w2w_config *c = NULL;

	assert_int_equal(w2w_config_new(&c), 0);
	assert_int_equal(w2w_config_set_state_dir(c, state_dir), 0);
	assert_int_equal(w2w_config_set_listen_addr(c, "/ip4/127.0.0.1/tcp/0"), 0);
	assert_int_equal(w2w_config_check(c), 0);
	return c;
}

static void test_new_errors(void **state)
{
	struct w2w_loop *loop = NULL;
	struct w2w_config *c = config("/tmp/w2w-test-node-unused");
	struct w2w_node *n = NULL;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	assert_int_equal(w2w_node_new(NULL, loop, c, NULL, NULL), -EINVAL);
	assert_int_equal(w2w_node_new(&n, NULL, c, NULL, NULL), -EINVAL);
	/* no secrets yet */
	assert_int_equal(w2w_node_new(&n, loop, c, NULL, NULL), W2W_ESTATE);
	assert_null(n);
	assert_int_equal(w2w_node_set_log(NULL, NULL, NULL, 0), -EINVAL);
	assert_string_equal(w2w_node_event_type_name(W2W_NODE_EV_PEER_UP), "peer-up");
	assert_string_equal(w2w_node_event_type_name((enum w2w_node_event_type)99), "unknown");
	assert_null(w2w_node_free(NULL));
	w2w_config_free(c);
	w2w_loop_free(loop);
}

static void test_log_reentrancy(void **state)
{
	struct rec r = { 0 };
	/* mkdir fails here even for root: start logs the failure from inside the call */
	struct w2w_config *c = config("/proc/w2w-test-no-such-dir/state");
	uint64_t end;

	(void)state;
	assert_int_equal(w2w_config_generate_secrets(c), 0);
	assert_int_equal(w2w_loop_new(&r.loop, NULL), 0);
	assert_int_equal(w2w_node_new(&r.node, r.loop, c, on_event, &r), 0);
	w2w_config_free(c);
	assert_int_equal(w2w_node_set_log(r.node, sink, &r, W2W_LOG_DEBUG), 0);
	assert_true(w2w_node_start(r.node) < 0);
	assert_true(r.saw_state_dir);
	assert_int_equal(r.rc_join, -EBUSY);
	assert_int_equal(r.rc_stop, -EBUSY);
	assert_int_equal(r.rc_start, -EBUSY);
	assert_int_equal(r.rc_process, -EBUSY);
	assert_int_equal(r.rc_set_log, -EBUSY);
	assert_int_equal(r.rc_p2p, -EBUSY);
	assert_int_equal(r.events, 0); /* logs are not events */

	/* the sink's level filter: nothing at ERR-1 */
	r.lines = 0;
	assert_int_equal(w2w_node_set_log(r.node, sink, &r, W2W_LOG_ERR - 1), 0);
	assert_true(w2w_node_start(r.node) < 0);
	assert_int_equal(r.lines, 0);

	/* STOPPED comes from the loop, not from inside stop; calls from the event
	 * callback that change the node get -EBUSY. */
	assert_int_equal(w2w_node_stop(r.node), 0);
	assert_int_equal(r.stopped, 0);
	assert_int_equal(w2w_node_stop(r.node), W2W_ESTATE);
	end = w2w_now_us() + 5000000;
	while (!r.stopped && w2w_now_us() < end)
		assert_true(w2w_loop_run(r.loop, 20) >= 0);
	assert_int_equal(r.stopped, 1);
	assert_int_equal(r.rc_start_in_event, -EBUSY);
	assert_null(w2w_node_free(r.node));
	assert_null(w2w_loop_free(r.loop));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_log_reentrancy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
