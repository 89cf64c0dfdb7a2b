/* SPDX-License-Identifier: MIT */
/*
 * os/wg_uapi: the UAPI parser on crafted responses (errno=, truncation, bad
 * values, limits), the set request text, and the reactor-driven engine
 * against an in-process fake wireguard-go socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_uapi.h"
#include "loop_internal.h"
#include "w2wesher/w2wesher.h"
#include "wg_uapi.h"
#include "wgdiff.h"

#define K1 "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define K2 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define K3 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define PSK "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"

static const char get_ok[] = "private_key=" K1 "\n"
			     "listen_port=12912\n"
			     "fwmark=3\n"
			     "public_key=" K2 "\n"
			     "preshared_key=" PSK "\n"
			     "protocol_version=1\n"
			     "endpoint=[abcd:23::33%2]:51820\n"
			     "last_handshake_time_sec=1700000000\n"
			     "last_handshake_time_nsec=5\n"
			     "tx_bytes=38333\n"
			     "rx_bytes=2224\n"
			     "persistent_keepalive_interval=25\n"
			     "allowed_ip=192.168.4.4/32\n"
			     "allowed_ip=fd00::/64\n"
			     "future_key=whatever\n"
			     "public_key=" K3 "\n"
			     "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
			     "endpoint=182.122.22.19:3233\n"
			     "persistent_keepalive_interval=0\n"
			     "allowed_ip=192.168.4.6/32\n"
			     "errno=0\n"
			     "\n";

static void test_parse_get(void **state)
{
	struct wgdevice *d = NULL;
	struct wgpeer *p;
	char t[WGENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(wg_uapi_response_len(get_ok, sizeof(get_ok) - 1), (long)sizeof(get_ok) - 1);
	assert_int_equal(wg_uapi_parse_get(get_ok, sizeof(get_ok) - 1, "wgt0", NULL, &d, NULL), 0);
	assert_string_equal(d->name, "wgt0");
	assert_true(d->flags & WGDEVICE_HAS_PRIVATE_KEY);
	assert_int_equal(d->private_key[0], 0xe8);
	assert_int_equal(d->listen_port, 12912);
	assert_int_equal(d->fwmark, 3);
	assert_int_equal(wgdev_peer_count(d), 2);
	p = d->first_peer;
	assert_int_equal(p->public_key[31], 0x33);
	assert_true(p->flags & WGPEER_HAS_PRESHARED_KEY);
	assert_int_equal(p->last_handshake_time.tv_sec, 1700000000);
	assert_int_equal(p->last_handshake_time.tv_nsec, 5);
	assert_int_equal(p->tx_bytes, 38333);
	assert_int_equal(p->rx_bytes, 2224);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(wgpeer_allowedip_count(p), 2);
	wgendpoint_format(t, sizeof(t), &p->endpoint);
	assert_string_equal(t, "[abcd:23::33%2]:51820");
	p = p->next_peer;
	assert_false(p->flags & WGPEER_HAS_PRESHARED_KEY); /* all-zero PSK = none */
	wgendpoint_format(t, sizeof(t), &p->endpoint);
	assert_string_equal(t, "182.122.22.19:3233");
	wgdev_free(d);
}

static void test_parse_zone_names(void **state)
{
	static const char t[] = "public_key=" K2 "\nendpoint=[fe80::1%lo]:51820\n"
				"public_key=" K3 "\nendpoint=[fe80::2%no-such-if0]:1\nerrno=0\n\n";
	struct wgdevice *d = NULL;

	(void)state;
	assert_int_equal(wg_uapi_parse_get(t, sizeof(t) - 1, "wgt0", if_nametoindex, &d, NULL), 0);
	assert_int_equal(d->first_peer->endpoint.addr6.sin6_family, AF_INET6);
	assert_int_equal(d->first_peer->endpoint.addr6.sin6_scope_id, if_nametoindex("lo"));
	assert_int_equal(ntohs(d->first_peer->endpoint.addr6.sin6_port), 51820);
	assert_int_equal(d->last_peer->endpoint.addr6.sin6_scope_id, 0);
	wgdev_free(d);
}

static void test_parse_errno_and_truncation(void **state)
{
	struct wgdevice *d = (struct wgdevice *)0x1;
	unsigned line = 0;
	size_t n = sizeof(get_ok) - 1;

	(void)state;
	/* wireguard-go answers failures with only an errno line */
	assert_int_equal(wg_uapi_parse_get("errno=19\n\n", 10, "wgt0", NULL, &d, NULL), -19);
	assert_int_equal(wg_uapi_parse_get("errno=0\n\n", 9, "wgt0", NULL, &d, NULL), 0);
	assert_int_equal(wgdev_peer_count(d), 0);
	wgdev_free(d);
	d = (struct wgdevice *)0x1;
	/* every proper prefix of a valid response is rejected, never half-accepted */
	for (size_t cut = 0; cut < n; cut++) {
		int r = wg_uapi_parse_get(get_ok, cut, "wgt0", NULL, &d, NULL);

		if (r != W2W_EPROTO)
			fail_msg("prefix %zu: %d", cut, r);
		assert_ptr_equal(d, (struct wgdevice *)0x1);
		if (cut < n - 1)
			assert_int_equal(wg_uapi_response_len(get_ok, cut), 0);
	}
	/* no errno line */
	assert_int_equal(wg_uapi_parse_get("listen_port=1\n\n", 15, "wgt0", NULL, &d, &line), W2W_EPROTO);
	/* bytes after the end */
	assert_int_equal(wg_uapi_parse_get("errno=0\n\nx", 10, "wgt0", NULL, &d, NULL), W2W_EPROTO);
	/* key after errno */
	assert_int_equal(wg_uapi_parse_get("errno=0\nfwmark=1\n\n", 18, "wgt0", NULL, &d, &line), W2W_EPROTO);
	assert_int_equal(line, 2);
	/* a line longer than the limit cannot be a response */
	{
		char big[WG_UAPI_MAX_LINE + 8];

		memset(big, 'a', sizeof(big));
		assert_int_equal(wg_uapi_response_len(big, sizeof(big)), W2W_EPROTO);
	}
	assert_int_equal(wg_uapi_parse_set("errno=0\n\n", 9), 0);
	assert_int_equal(wg_uapi_parse_set("errno=22\n\n", 10), -22);
	assert_int_equal(wg_uapi_parse_set("errno=22\n", 9), W2W_EPROTO);
	assert_int_equal(wg_uapi_parse_set("errno=\n\n", 8), W2W_EPROTO);
	/* wireguard-go writes its IPC error codes negated (IpcErrorPortInUse = -EADDRINUSE) */
	assert_int_equal(wg_uapi_parse_set("errno=-98\n\n", 11), -98);
	assert_int_equal(wg_uapi_parse_get("errno=-5\n\n", 10, "wgt0", NULL, &d, NULL), -5);
	assert_int_equal(wg_uapi_parse_set("errno=-\n\n", 9), W2W_EPROTO);
	assert_int_equal(wg_uapi_parse_set("errno=--1\n\n", 11), W2W_EPROTO);
	assert_int_equal(wg_uapi_parse_set("errno=1000\n\n", 12), W2W_EPROTO);
	assert_int_equal(wg_uapi_parse_set("errno=99999999999\n\n", 19), W2W_EPROTO);
	assert_int_equal(wg_uapi_parse_set("", 0), W2W_EPROTO);
}

struct badline {
	const char *text;
	unsigned line;
};

static void test_parse_bad_values(void **state)
{
	static const struct badline cases[] = {
		{"private_key=" K1 "0\nerrno=0\n\n", 1},
		{"private_key=zz" K1 "\nerrno=0\n\n", 1},
		{"listen_port=65536\nerrno=0\n\n", 1},
		{"listen_port=\nerrno=0\n\n", 1},
		{"listen_port=+1\nerrno=0\n\n", 1},
		{"fwmark=4294967296\nerrno=0\n\n", 1},
		{"allowed_ip=1.2.3.4/32\nerrno=0\n\n", 1}, /* peer key before public_key */
		{"public_key=" K2 "\nallowed_ip=1.2.3.4/33\nerrno=0\n\n", 2},
		{"public_key=" K2 "\nallowed_ip=1.2.3.4\nerrno=0\n\n", 2},
		{"public_key=" K2 "\nendpoint=host:1\nerrno=0\n\n", 2},
		{"public_key=" K2 "\nendpoint=1.2.3.4:99999\nerrno=0\n\n", 2},
		{"public_key=" K2 "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n", 2},
		{"public_key=" K2 "\nrx_bytes=18446744073709551616\nerrno=0\n\n", 2},
		{"public_key=" K2 "\npersistent_keepalive_interval=65536\nerrno=0\n\n", 2},
		{"public_key=\nerrno=0\n\n", 1},
		{"noequals\nerrno=0\n\n", 1},
		{"errno=x\n\n", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct wgdevice *d = NULL;
		unsigned line = 0;
		int r = wg_uapi_parse_get(cases[i].text, strlen(cases[i].text), "wgt0", NULL, &d, &line);

		if (r != W2W_EPROTO || line != cases[i].line)
			fail_msg("case %zu: %d at line %u", i, r, line);
		assert_null(d);
	}
}

/* A re-create (wgdiff WGDIFF_PEER_RECREATE) goes out as one set: the removal,
 * then the same key again with the whole peer. wireguard-go removes the peer
 * at `remove=true` and creates it anew at the next `public_key=` line. */
static void test_build_set_recreate(void **state)
{
	struct wgdevice *want = wgdev_new(), *have = wgdev_new(), *upd = NULL;
	struct wgpeer *p;
	struct wgallowedip *a;
	struct buf b;
	static const char expect[] = "set=1\n"
				     "public_key=0202020202020202020202020202020202020202020202020202020202020202\n"
				     "remove=true\n"
				     "public_key=0202020202020202020202020202020202020202020202020202020202020202\n"
				     "endpoint=192.0.2.7:51820\n"
				     "persistent_keepalive_interval=25\n"
				     "replace_allowed_ips=true\n"
				     "allowed_ip=10.42.0.7/32\n"
				     "\n";

	(void)state;
	assert_int_equal(wgdev_set_name(want, "wgt0"), 0);
	assert_int_equal(wgdev_set_name(have, "wgt0"), 0);
	/* actual: the peer routed, no endpoint, no handshake */
	p = wgdev_add_peer(have);
	memset(p->public_key, 2, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY;
	a = wgpeer_add_allowedip(p);
	assert_true(wgallowedip_parse(a, "10.42.0.7/32", 12));
	/* desired: the same with endpoint and keepalive, re-created */
	p = wgdev_add_peer(want);
	memset(p->public_key, 2, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGDIFF_PEER_RECREATE;
	p->persistent_keepalive_interval = 25;
	assert_true(wgendpoint_parse(&p->endpoint, "192.0.2.7:51820", 15));
	a = wgpeer_add_allowedip(p);
	assert_true(wgallowedip_parse(a, "10.42.0.7/32", 12));
	assert_int_equal(wgdiff(want, have, NULL, &upd, NULL), 0);
	buf_init(&b, 0);
	assert_int_equal(wg_uapi_build_set(upd, &b), 0);
	assert_int_equal(b.len, strlen(expect));
	assert_memory_equal(b.data, expect, b.len);
	buf_free(&b);
	wgdev_free(upd);
	wgdev_free(want);
	wgdev_free(have);
}

static void test_build_set(void **state)
{
	struct wgdevice *d = wgdev_new();
	struct wgpeer *p;
	struct wgallowedip *a;
	struct buf b;
	static const char expect[] = "set=1\n"
				     "private_key=0101010101010101010101010101010101010101010101010101010101010101\n"
				     "listen_port=51820\n"
				     "fwmark=0\n"
				     "public_key=0202020202020202020202020202020202020202020202020202020202020202\n"
				     "remove=true\n"
				     "public_key=0303030303030303030303030303030303030303030303030303030303030303\n"
				     "update_only=true\n"
				     "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
				     "endpoint=[fd00::1]:9\n"
				     "persistent_keepalive_interval=0\n"
				     "replace_allowed_ips=true\n"
				     "allowed_ip=10.0.0.0/8\n"
				     "\n";

	(void)state;
	assert_int_equal(wgdev_set_name(d, "wgt0"), 0);
	memset(d->private_key, 1, WGDEV_KEY_LEN);
	d->listen_port = 51820;
	d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
	p = wgdev_add_peer(d);
	memset(p->public_key, 2, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME | WGPEER_REPLACE_ALLOWEDIPS; /* remove wins */
	p = wgdev_add_peer(d);
	memset(p->public_key, 3, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_UPDATE_ONLY | WGPEER_HAS_PRESHARED_KEY |
		   WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_REPLACE_ALLOWEDIPS;
	assert_true(wgendpoint_parse(&p->endpoint, "[fd00::1]:9", 11));
	a = wgpeer_add_allowedip(p);
	assert_true(wgallowedip_parse(a, "10.0.0.0/8", 10));
	buf_init(&b, 0);
	assert_int_equal(wg_uapi_build_set(d, &b), 0);
	assert_int_equal(b.len, strlen(expect));
	assert_memory_equal(b.data, expect, b.len);
	/* an invalid allowed IP is refused rather than sent */
	a->cidr = 40;
	buf_reset(&b);
	assert_int_equal(wg_uapi_build_set(d, &b), -EINVAL);
	buf_free_wipe(&b);
	wgdev_free(d);
}

/* ---------------- engine against a fake UAPI server ---------------- */


struct result {
	int calls;
	int err;
	struct wgdevice *dev;
	struct w2w_loop *loop;
	int order[8];
	int norder;
};

static void on_get(void *ud, int err, struct wgdevice *dev)
{
	struct result *r = ud;

	r->calls++;
	r->err = err;
	wgdev_free(r->dev);
	r->dev = dev;
	r->order[r->norder++ % 8] = 'g';
	w2w_loop_break(r->loop);
}

static void on_set(void *ud, int err)
{
	struct result *r = ud;

	r->calls++;
	r->err = err;
	r->order[r->norder++ % 8] = 's';
	w2w_loop_break(r->loop);
}

static void run_until(struct fake *f, struct result *r, int calls)
{
	for (int i = 0; i < 200 && r->calls < calls; i++)
		w2w_loop_run(f->loop, 50);
	assert_int_equal(r->calls, calls);
}

static void test_engine_get_set(void **state)
{
	struct fake f;
	struct wgbackend *be = NULL;
	struct result r = {0};
	struct buf expect;
	struct wgdevice *d;

	(void)state;
	fake_start(&f, NULL);
	r.loop = f.loop;
	assert_int_equal(wg_uapi_new(loop_reactor(f.loop), NULL, f.dir, &be), 0);
	assert_string_equal(wgbackend_name(be), "userspace");
	f.reply = get_ok;
	f.reply_len = sizeof(get_ok) - 1;
	assert_int_equal(wgbackend_get_device(be, "wgt0", on_get, &r), 0);
	assert_int_equal(r.calls, 0); /* never called back from inside the submit */
	run_until(&f, &r, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(r.dev);
	assert_int_equal(wgdev_peer_count(r.dev), 2);
	assert_string_equal(f.last_req, "get=1\n\n");
	assert_int_equal(wgbackend_stats(be)->bytes_recv, sizeof(get_ok) - 1);
	assert_int_equal(wgbackend_stats(be)->bytes_sent, 7);
	assert_int_equal(wgbackend_stats(be)->msgs_sent, 1);

	/* set: the request on the wire is exactly the built text */
	d = r.dev;
	r.dev = NULL;
	f.reply = "errno=0\n\n";
	f.reply_len = 9;
	assert_int_equal(wgbackend_set_device(be, d, on_set, &r), 0);
	run_until(&f, &r, 2);
	assert_int_equal(r.err, 0);
	buf_init(&expect, 0);
	assert_int_equal(wg_uapi_build_set(d, &expect), 0);
	assert_int_equal(strlen(f.last_req), expect.len);
	assert_memory_equal(f.last_req, expect.data, expect.len);
	buf_free_wipe(&expect);

	/* errno=N from the implementation */
	f.reply = "errno=22\n\n";
	f.reply_len = 10;
	assert_int_equal(wgbackend_set_device(be, d, on_set, &r), 0);
	run_until(&f, &r, 3);
	assert_int_equal(r.err, -22);
	wgdev_free(d);

	/* queued operations run in order, one at a time */
	f.reply = get_ok;
	f.reply_len = sizeof(get_ok) - 1;
	r.norder = 0;
	d = wgdev_new();
	wgdev_set_name(d, "wgt0");
	assert_int_equal(wgbackend_get_device(be, "wgt0", on_get, &r), 0);
	assert_int_equal(wgbackend_get_device(be, "wgt0", on_get, &r), 0);
	run_until(&f, &r, 5);
	assert_int_equal(r.order[0], 'g');
	assert_int_equal(r.order[1], 'g');
	assert_int_equal(f.requests, 5);
	wgdev_free(d);
	wgdev_free(r.dev);
	r.dev = NULL;
	wgbackend_free(be);
	fake_stop(&f);
}

static void test_engine_truncated_and_missing(void **state)
{
	static const char partial[] = "private_key=" K1 "\npublic_key=" K2 "\n";
	struct fake f;
	struct wgbackend *be = NULL;
	struct result r = {0};

	(void)state;
	fake_start(&f, NULL);
	r.loop = f.loop;
	assert_int_equal(wg_uapi_new(loop_reactor(f.loop), NULL, f.dir, &be), 0);
	/* the implementation dies mid-response */
	f.reply = partial;
	f.reply_len = sizeof(partial) - 1;
	f.close_after = true;
	assert_int_equal(wgbackend_get_device(be, "wgt0", on_get, &r), 0);
	run_until(&f, &r, 1);
	assert_int_equal(r.err, W2W_EPROTO);
	assert_null(r.dev);
	/* no such interface */
	assert_int_equal(wgbackend_get_device(be, "wgnone", on_get, &r), 0);
	run_until(&f, &r, 2);
	assert_int_equal(r.err, -ENODEV);
	/* invalid names are refused up front */
	assert_int_equal(wgbackend_get_device(be, "../x", on_get, &r), -EINVAL);
	assert_int_equal(wgbackend_get_device(be, "", on_get, &r), -EINVAL);
	/* freeing with a queued op: no callback, nothing left in the reactor */
	f.reply = NULL;
	assert_int_equal(wgbackend_get_device(be, "wgt0", on_get, &r), 0);
	w2w_loop_run(f.loop, 30);
	wgbackend_free(be);
	assert_int_equal(r.calls, 2);
	fake_stop(&f);
}

static void on_list(void *ud, int err, char *names)
{
	struct result *r = ud;

	r->calls++;
	r->err = err;
	if (names) {
		assert_string_equal(names, "wgt0");
		assert_int_equal(names[5], '\0');
	}
	free(names);
	w2w_loop_break(r->loop);
}

static void test_engine_list(void **state)
{
	struct fake f;
	struct wgbackend *be = NULL;
	struct result r = {0};

	(void)state;
	fake_start(&f, NULL);
	r.loop = f.loop;
	assert_int_equal(wg_uapi_new(loop_reactor(f.loop), NULL, f.dir, &be), 0);
	assert_int_equal(wgbackend_list_devices(be, on_list, &r), 0);
	run_until(&f, &r, 1);
	assert_int_equal(r.err, 0);
	wgbackend_free(be);
	fake_stop(&f);
}

struct spawn_res {
	int calls, err;
	pid_t pid;
	struct w2w_loop *loop;
};

static void on_spawn(void *ud, int err)
{
	struct spawn_res *r = ud;

	r->calls++;
	r->err = err;
	w2w_loop_break(r->loop);
}

static void on_list_any(void *ud, int err, char *names)
{
	free(names);
	w2w_loop_break(((struct result *)ud)->loop);
	((struct result *)ud)->calls++;
}

/* Starting the userspace implementation, with a stand-in that only opens the socket. */
static void test_engine_spawn(void **state)
{
	struct spawn_res sr = {0};
	struct result r = {0};
	struct w2w_loop *loop;
	struct wgbackend *be = NULL;
	char dir[64], exe[128], sock[160];
	FILE *f;
	int st;

	(void)state;
	if (access("/dev/net/tun", R_OK | W_OK) != 0 || access("/usr/bin/python3", X_OK) != 0)
		skip();
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	sr.loop = r.loop = loop;
	snprintf(dir, sizeof(dir), "/tmp/w2w-spawn-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/fake-wg", dir);
	f = fopen(exe, "w");
	assert_non_null(f);
	fprintf(f, "#!/usr/bin/python3\n"
		   "import os, socket, sys, time\n"
		   "assert os.environ.get('WG_PROCESS_FOREGROUND') == '1'\n"
		   "s = socket.socket(socket.AF_UNIX)\n"
		   "s.bind('%s/' + sys.argv[1] + '.sock')\n"
		   "s.listen(4)\n"
		   "time.sleep(20)\n",
		dir);
	fclose(f);
	chmod(exe, 0755);
	assert_int_equal(wg_uapi_new(loop_reactor(loop), NULL, dir, &be), 0);

	/* create_device starts the implementation: one that exits at once */
	assert_int_equal(wg_uapi_set_exe(be, "/bin/false"), 0);
	assert_int_equal(wgbackend_create_device(be, "wgs0", on_spawn, &sr), 0);
	for (int i = 0; i < 100 && !sr.calls; i++)
		w2w_loop_run(loop, 50);
	assert_int_equal(sr.calls, 1);
	assert_int_equal(sr.err, -ECHILD);
	/* one that does not exist */
	assert_int_equal(wg_uapi_set_exe(be, "/nonexistent/wireguard-go"), 0);
	assert_int_equal(wgbackend_create_device(be, "wgs0", on_spawn, &sr), 0);
	for (int i = 0; i < 100 && sr.calls < 2; i++)
		w2w_loop_run(loop, 50);
	assert_int_equal(sr.calls, 2);
	assert_true(sr.err < 0);

	/* the stand-in: success once its socket accepts connections */
	assert_int_equal(wg_uapi_set_exe(be, exe), 0);
	assert_int_equal(be->child_pid, -1);
	assert_int_equal(wgbackend_create_device(be, "wgs0", on_spawn, &sr), 0);
	for (int i = 0; i < 200 && sr.calls < 3; i++)
		w2w_loop_run(loop, 50);
	assert_int_equal(sr.calls, 3);
	assert_int_equal(sr.err, 0);
	sr.pid = be->child_pid;
	assert_true(sr.pid > 0);
	/* a second create finds the socket answering: adopted, nothing started */
	assert_int_equal(wgbackend_create_device(be, "wgs0", on_spawn, &sr), 0);
	for (int i = 0; i < 100 && sr.calls < 4; i++)
		w2w_loop_run(loop, 20);
	assert_int_equal(sr.calls, 4);
	assert_int_equal(sr.err, 0);
	assert_int_equal(be->child_pid, sr.pid);
	assert_int_equal(kill(sr.pid, 0), 0);
	/* it exits: the backend reaps it at its next operation (no zombie) */
	kill(sr.pid, SIGKILL);
	for (int i = 0; i < 100; i++) {
		char path[64];
		FILE *sf;
		char stc = 0;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)sr.pid);
		sf = fopen(path, "r");
		if (!sf)
			break;
		if (fscanf(sf, "%*d %*s %c", &stc) == 1 && stc == 'Z') {
			fclose(sf);
			break;
		}
		fclose(sf);
		usleep(10000);
	}
	assert_int_equal(wgbackend_list_devices(be, on_list_any, &r), 0);
	for (int i = 0; i < 50 && !r.calls; i++)
		w2w_loop_run(loop, 20);
	assert_int_equal(r.calls, 1);
	assert_int_equal(waitpid(sr.pid, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	wgbackend_free(be);
	snprintf(sock, sizeof(sock), "%s/wgs0.sock", dir);
	unlink(sock);
	unlink(exe);
	rmdir(dir);
	assert_int_equal(w2w_loop_get_watches(loop, NULL, 0), 0);
	w2w_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_get),
		cmocka_unit_test(test_parse_zone_names),
		cmocka_unit_test(test_parse_errno_and_truncation),
		cmocka_unit_test(test_parse_bad_values),
		cmocka_unit_test(test_build_set),
		cmocka_unit_test(test_build_set_recreate),
		cmocka_unit_test(test_engine_get_set),
		cmocka_unit_test(test_engine_truncated_and_missing),
		cmocka_unit_test(test_engine_list),
		cmocka_unit_test(test_engine_spawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
