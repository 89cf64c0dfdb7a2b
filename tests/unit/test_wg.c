/* SPDX-License-Identifier: MIT */
/*
 * core/wg.c, the public WireGuard sync API, against an in-process fake
 * wireguard-go UAPI socket (uapi_dir option): a sync sends only the minimal
 * set (or nothing), reads expose derived public key, peers and showconf text,
 * errors and timeouts are reported, a callback may close the handle.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "fake_uapi.h"
#include "loop_internal.h"
#include "w2wesher/w2wesher.h"

#define K1 "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define K1_PUB_B64 "wVMuGz01CPx+vDVPpnliDzPyhxSVQuaExnt7DYE2Kyk="
#define K1_B64 "6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno="
#define K2 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define K2_B64 "uFmW/sycfx/G0lcqdu2hHVm80gvo5UOxXOS9hajnWjM="
#define K3 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define K3_B64 "WEAuaVuhdyscyTCXVfBDJR6nf9zxD75jmJzrfhkyE3Y="

/* The device wireguard-go reports: key K1, port 51820, one peer K2. */
static const char get_one[] = "private_key=" K1 "\n"
			      "listen_port=51820\n"
			      "public_key=" K2 "\n"
			      "endpoint=192.0.2.2:51820\n"
			      "last_handshake_time_sec=1700000000\n"
			      "last_handshake_time_nsec=0\n"
			      "rx_bytes=100\n"
			      "tx_bytes=200\n"
			      "persistent_keepalive_interval=0\n"
			      "allowed_ip=10.0.0.2/32\n"
			      "allowed_ip=fd00::2/128\n"
			      "errno=0\n"
			      "\n";

static const char conf_same[] = "[Interface]\nPrivateKey = " K1_B64 "\nListenPort = 51820\n"
				"[Peer]\nPublicKey = " K2_B64 "\nAllowedIPs = fd00::2/128, 10.0.0.2/32\n"
				"Endpoint = 192.0.2.2:51820\n";



/* Serves get_one for get=1 and `set_reply` for set=1. */
static const char *set_reply = "errno=0\n\n";

static void fake_serve(void *ud, int fd, int revents, uint64_t now);

static void fake_accept2(void *ud, int fd, int revents, uint64_t now)
{
	struct fake *f = ud;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (f->cfd >= 0) {
		reactor_io_del(loop_reactor(f->loop), f->cfd);
		close(f->cfd);
	}
	f->cfd = c;
	buf_reset(&f->in);
	reactor_io_set(loop_reactor(f->loop), c, W2W_IO_READ, fake_serve, f);
}

static void fake_serve(void *ud, int fd, int revents, uint64_t now)
{
	struct fake *f = ud;

	if ((revents & W2W_IO_READ) && f->in.len == 0) {
		/* choose the reply from the request kind once its first bytes are in */
		char c;

		if (recv(fd, &c, 1, MSG_PEEK) == 1) {
			f->reply = c == 'g' ? get_one : set_reply;
			f->reply_len = f->reply ? strlen(f->reply) : 0;
		}
	}
	fake_conn(ud, fd, revents, now);
}

struct res {
	int calls, err;
	struct w2w_wg_device *dev;
	struct w2w_wg **close_me;
};

static void on_done(void *ud, int err)
{
	struct res *r = ud;

	r->calls++;
	r->err = err;
	if (r->close_me) {
		w2w_wg_close(*r->close_me); /* allowed from inside our own callback */
		*r->close_me = NULL;
	}
}

static struct w2w_wg *open_fake(struct fake *f)
{
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_WG_BACKEND_AUTO, .uapi_dir = f->dir};
	struct w2w_wg *wg = NULL;

	/* auto picks userspace because the socket exists */
	reactor_io_set(loop_reactor(f->loop), f->lfd, W2W_IO_READ, fake_accept2, f);
	assert_int_equal(w2w_wg_open(&wg, f->loop, "wgt0", &o), 0);
	assert_string_equal(w2w_wg_backend_name(wg), "userspace");
	assert_string_equal(w2w_wg_ifname(wg), "wgt0");
	return wg;
}

static struct w2w_wg_config *parse(const char *text)
{
	struct w2w_wg_config *c = NULL;
	char err[128];

	assert_int_equal(w2w_wg_config_parse(&c, text, strlen(text), err, sizeof(err)), 0);
	return c;
}

static void test_noop_sync_sends_nothing(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c;
	struct w2w_wg_sync_stats st;

	(void)state;
	fake_start(&f);
	wg = open_fake(&f);
	c = parse(conf_same);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 1); /* the get only */
	w2w_wg_last_sync_stats(wg, &st);
	assert_int_equal(st.applied, 0);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.msgs_sent, 1);
	w2w_wg_config_free(c);
	w2w_wg_close(wg);
	fake_stop(&f);
}

static void test_sync_sends_minimal_set(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c;
	struct w2w_wg_peer *p;
	struct w2w_wg_sync_stats st;
	uint8_t k3[32];

	(void)state;
	fake_start(&f);
	wg = open_fake(&f);
	c = parse(conf_same);
	for (int i = 0; i < 32; i++)
		k3[i] = (uint8_t)strtoul((char[]){K3[2 * i], K3[2 * i + 1], 0}, NULL, 16);
	assert_int_equal(w2w_wg_config_add_peer(c, k3, &p), 0);
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "[2001:db8::3]:51820"), 0);
	assert_int_equal(w2w_wg_peer_add_allowed_ip(p, "10.0.0.3/32"), 0);
	assert_int_equal(w2w_wg_peer_set_keepalive(p, 25), 0);
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "example.com:1"), W2W_EPARSE);
	assert_int_equal(w2w_wg_peer_add_allowed_ip(p, "10.0.0.3/40"), W2W_EPARSE);
	assert_ptr_equal(w2w_wg_config_find_peer(c, k3), p);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 2);
	/* exactly the new peer: no private key, no port, no K2 */
	assert_string_equal(f.last_req, "set=1\n"
					"public_key=" K3 "\n"
					"endpoint=[2001:db8::3]:51820\n"
					"persistent_keepalive_interval=25\n"
					"replace_allowed_ips=true\n"
					"allowed_ip=10.0.0.3/32\n"
					"\n");
	w2w_wg_last_sync_stats(wg, &st);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.applied, 1);
	w2w_wg_config_free(c);

	/* an empty description removes K2 and only that */
	c = w2w_wg_config_new();
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_string_equal(f.last_req, "set=1\npublic_key=" K2 "\nremove=true\n\n");
	w2w_wg_config_free(c);

	/* errno from the implementation is the sync's error */
	set_reply = "errno=5\n\n";
	c = w2w_wg_config_new();
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	set_reply = "errno=0\n\n";
	w2w_wg_config_free(c);
	w2w_wg_close(wg);
	fake_stop(&f);
}

static void test_read_device(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_device *d = NULL;
	struct w2w_wg_peer_info pi;
	uint8_t pub[32];
	char b64[64], ip[64], *text = NULL;
	size_t len = 0;
	static const char expect[] = "[Interface]\nListenPort = 51820\nPrivateKey = " K1_B64 "\n\n"
				     "[Peer]\nPublicKey = " K2_B64 "\nAllowedIPs = 10.0.0.2/32, fd00::2/128\n"
				     "Endpoint = 192.0.2.2:51820\n";

	(void)state;
	fake_start(&f);
	wg = open_fake(&f);
	assert_int_equal(w2w_wg_read_run(wg, &d, 5000), 0);
	assert_string_equal(w2w_wg_device_name(d), "wgt0");
	assert_int_equal(w2w_wg_device_public_key(d, pub), 0); /* derived: UAPI does not report it */
	w2w_base64_encode(b64, sizeof(b64), pub, 32);
	assert_string_equal(b64, K1_PUB_B64);
	assert_int_equal(w2w_wg_device_listen_port(d), 51820);
	assert_int_equal(w2w_wg_device_peer_count(d), 1);
	assert_int_equal(w2w_wg_device_peer(d, 0, &pi), 0);
	assert_int_equal(w2w_wg_device_peer(d, 1, &pi), -ERANGE);
	assert_int_equal(w2w_wg_device_peer(d, 0, &pi), 0);
	assert_string_equal(pi.endpoint, "192.0.2.2:51820");
	assert_int_equal(pi.last_handshake_sec, 1700000000);
	assert_int_equal(pi.rx_bytes, 100);
	assert_int_equal(pi.tx_bytes, 200);
	assert_int_equal(pi.n_allowed_ips, 2);
	assert_int_equal(w2w_wg_device_allowed_ip(d, 0, 1, ip, sizeof(ip)), 11);
	assert_string_equal(ip, "fd00::2/128");
	assert_int_equal(w2w_wg_device_allowed_ip(d, 0, 2, ip, sizeof(ip)), -ERANGE);
	assert_int_equal(w2w_wg_device_showconf(d, &text, &len), 0);
	assert_int_equal(len, strlen(expect));
	assert_string_equal(text, expect);
	w2w_wipe(text, len);
	free(text);
	w2w_wg_device_free(d);
	w2w_wg_close(wg);
	fake_stop(&f);
}

static void test_timeout_and_close_in_callback(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c = w2w_wg_config_new();
	struct res r = {0};
	uint64_t t0;

	(void)state;
	fake_start(&f);
	wg = open_fake(&f);
	/* the implementation never answers a set: the convenience gives up */
	set_reply = NULL;
	assert_int_equal(w2w_wg_config_set_listen_port(c, 1234), 0);
	t0 = w2w_now_us();
	assert_int_equal(w2w_wg_sync_run(wg, c, 300), W2W_ETIMEDOUT);
	assert_true(w2w_now_us() - t0 < 2000000);
	set_reply = "errno=0\n\n";
	w2w_wg_close(wg); /* with the abandoned set still in flight */

	/* a callback closes its handle */
	wg = open_fake(&f);
	r.close_me = &wg;
	assert_int_equal(w2w_wg_sync(wg, c, on_done, &r), 0);
	assert_int_equal(w2w_wg_sync(wg, c, on_done, &r), 0); /* dropped by the close */
	assert_int_equal(r.calls, 0);
	for (int i = 0; i < 100 && r.calls == 0; i++)
		w2w_loop_run(f.loop, 20);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, 0);
	assert_null(wg);
	w2w_loop_run(f.loop, 30);
	assert_int_equal(r.calls, 1);
	w2w_wg_config_free(c);
	fake_stop(&f);
}

static void test_open_and_config_errors(void **state)
{
	struct w2w_loop *loop = NULL;
	struct w2w_wg *wg = NULL;
	struct w2w_wg_opts o = {.version = 99};
	struct w2w_wg_config *c = NULL;
	char err[128];

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	assert_int_equal(w2w_wg_open(&wg, loop, "", NULL), -EINVAL);
	assert_int_equal(w2w_wg_open(&wg, loop, "much-too-long-name", NULL), -EINVAL);
	assert_int_equal(w2w_wg_open(&wg, loop, "wg0", &o), -EINVAL);
	assert_null(wg);
	assert_int_equal(w2w_wg_config_parse(&c, "[Peer]\nEndpoint = 1.2.3.4:5\n", 27, err, sizeof(err)), W2W_EPARSE);
	assert_string_equal(err, "line 1: [Peer] without PublicKey");
	assert_null(c);
	c = w2w_wg_config_new();
	assert_int_equal(w2w_wg_config_set_mtu(c, 20), -EINVAL);
	assert_int_equal(w2w_wg_config_set_mtu(c, 1420), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "10.7.0.1/16"), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "fd00::1/64"), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "10.7.0.1"), W2W_EPARSE);
	w2w_wg_config_free(c);
	w2w_wg_config_free(NULL);
	w2w_wg_device_free(NULL);
	w2w_wg_close(NULL);
	w2w_loop_free(loop);
}

/* auto = userspace when the UAPI socket exists (covered above), else kernel when
 * the genetlink family resolves, else userspace. */
static void test_backend_choice(void **state)
{
	struct w2w_loop *loop = NULL;
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_WG_BACKEND_KERNEL,
				.uapi_dir = "/nonexistent-w2w-dir"};
	struct w2w_wg *wg = NULL;
	int kernel;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	kernel = w2w_wg_open(&wg, loop, "wgt9", &o);
	assert_true(kernel == 0 || kernel == -EPROTONOSUPPORT);
	if (kernel == 0)
		assert_string_equal(w2w_wg_backend_name(wg), "kernel");
	w2w_wg_close(wg);
	wg = NULL;
	o.backend = W2W_WG_BACKEND_AUTO;
	assert_int_equal(w2w_wg_open(&wg, loop, "wgt9", &o), 0);
	assert_string_equal(w2w_wg_backend_name(wg), kernel == 0 ? "kernel" : "userspace");
	w2w_wg_close(wg);
	o.backend = 7;
	assert_int_equal(w2w_wg_open(&wg, loop, "wgt9", &o), -EINVAL);
	assert_int_equal(w2w_loop_get_watches(loop, NULL, 0), 0);
	w2w_loop_free(loop);
}

static void test_cached_sync(void **state)
{
	struct fake f;
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .uapi_dir = NULL, .cache_device = 1};
	struct w2w_wg *wg = NULL;
	struct w2w_wg_config *c;
	struct w2w_wg_peer *p;
	uint8_t k2[32];

	(void)state;
	fake_start(&f);
	o.uapi_dir = f.dir;
	reactor_io_set(loop_reactor(f.loop), f.lfd, W2W_IO_READ, fake_accept2, &f);
	assert_int_equal(w2w_wg_open(&wg, f.loop, "wgt0", &o), 0);
	c = parse(conf_same);
	/* first sync: reads the device (nothing to change) */
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 1);
	/* change K2's endpoint: one set, no second read */
	for (int i = 0; i < 32; i++)
		k2[i] = (uint8_t)strtoul((char[]){K2[2 * i], K2[2 * i + 1], 0}, NULL, 16);
	p = w2w_wg_config_find_peer(c, k2);
	assert_non_null(p);
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "192.0.2.9:1"), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 2);
	assert_string_equal(f.last_req, "set=1\npublic_key=" K2 "\nendpoint=192.0.2.9:1\n\n");
	/* the cache now holds the new endpoint: the same description is a no-op, no I/O */
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 2);
	/* a failed set drops the cache: the next sync reads again */
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "192.0.2.10:1"), 0);
	set_reply = "errno=5\n\n";
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	set_reply = "errno=0\n\n";
	assert_int_equal(f.requests, 3);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 5); /* get + set */
	assert_string_equal(f.last_req, "set=1\npublic_key=" K2 "\nendpoint=192.0.2.10:1\n\n");
	w2w_wg_config_free(c);
	w2w_wg_close(wg);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noop_sync_sends_nothing),
		cmocka_unit_test(test_sync_sends_minimal_set),
		cmocka_unit_test(test_read_device),
		cmocka_unit_test(test_cached_sync),
		cmocka_unit_test(test_timeout_and_close_in_callback),
		cmocka_unit_test(test_open_and_config_errors),
		cmocka_unit_test(test_backend_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
