/* SPDX-License-Identifier: MIT */
/*
 * core/wg.c, the public WireGuard sync API, against an in-process fake
 * wireguard-go UAPI socket (uapi_dir option): a sync sends only the minimal
 * set (or nothing), reads expose derived public key, peers and showconf text,
 * errors and timeouts are reported, a callback may close the handle; the
 * key setters and getters take and give base64 text.
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
		w2w_wg_free(*r->close_me); /* allowed from inside our own callback */
		*r->close_me = NULL;
	}
}

static struct w2w_wg *open_fake(struct fake *f)
{
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_BACKEND_AUTO, .uapi_dir = f->dir};
	struct w2w_wg *wg = NULL;

	/* auto picks userspace because the socket exists */
	assert_int_equal(w2w_wg_new(&wg, f->loop, "wgt0", &o), 0);
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
	struct w2w_wg_sync_stats st = {.size = sizeof(st)};

	(void)state;
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	c = parse(conf_same);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 1); /* the get only */
	assert_int_equal(w2w_wg_last_sync_stats(wg, &st), 0);
	assert_int_equal(st.size, sizeof(st));
	assert_int_equal(st.applied, 0);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.msgs_sent, 1);
	w2w_wg_config_free(c);
	w2w_wg_free(wg);
	fake_stop(&f);
}

static void test_sync_sends_minimal_set(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c;
	struct w2w_wg_peer *p;
	struct w2w_wg_sync_stats st = {.size = sizeof(st)};

	(void)state;
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	c = parse(conf_same);
	assert_int_equal(w2w_wg_config_add_peer(c, "not a key", &p), W2W_EPARSE);
	assert_int_equal(w2w_wg_config_add_peer(c, K3, &p), W2W_EPARSE); /* hex is not the API's form */
	assert_int_equal(w2w_wg_config_add_peer(c, K3_B64, &p), 0);
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "[2001:db8::3]:51820"), 0);
	assert_int_equal(w2w_wg_peer_add_allowed_ip(p, "10.0.0.3/32"), 0);
	assert_int_equal(w2w_wg_peer_set_keepalive(p, 25), 0);
	assert_int_equal(w2w_wg_peer_set_endpoint(p, "example.com:1"), W2W_EPARSE);
	assert_int_equal(w2w_wg_peer_add_allowed_ip(p, "10.0.0.3/40"), W2W_EPARSE);
	assert_ptr_equal(w2w_wg_config_find_peer(c, K3_B64), p);
	assert_null(w2w_wg_config_find_peer(c, K1_B64));
	assert_null(w2w_wg_config_find_peer(c, "x"));
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
	st.size = 8; /* below the first published size */
	assert_int_equal(w2w_wg_last_sync_stats(wg, &st), -EINVAL);
	st.size = sizeof(st);
	assert_int_equal(w2w_wg_last_sync_stats(wg, &st), 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.unchanged, 1);
	assert_int_equal(st.applied, 1);
	w2w_wg_config_free(c);

	/* an empty description removes K2 and only that */
	assert_int_equal(w2w_wg_config_new(&c), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_string_equal(f.last_req, "set=1\npublic_key=" K2 "\nremove=true\n\n");
	w2w_wg_config_free(c);

	/* errno from the implementation is the sync's error */
	set_reply = "errno=5\n\n";
	assert_int_equal(w2w_wg_config_new(&c), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	set_reply = "errno=0\n\n";
	w2w_wg_config_free(c);
	w2w_wg_free(wg);
	fake_stop(&f);
}

static void test_read_device(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_device *d = NULL;
	struct w2w_wg_peer_info pi = {.size = sizeof(pi)};
	char b64[W2W_WG_KEY_TEXT_MAX], ip[64], *text = NULL;
	size_t len = 0;
	static const char expect[] = "[Interface]\nListenPort = 51820\nPrivateKey = " K1_B64 "\n\n"
				     "[Peer]\nPublicKey = " K2_B64 "\nAllowedIPs = 10.0.0.2/32, fd00::2/128\n"
				     "Endpoint = 192.0.2.2:51820\n";

	(void)state;
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	assert_int_equal(w2w_wg_read_run(wg, &d, 5000), 0);
	assert_string_equal(w2w_wg_device_name(d), "wgt0");
	/* derived: UAPI does not report it */
	assert_int_equal(w2w_wg_device_public_key(d, b64, sizeof(b64)), 44);
	assert_string_equal(b64, K1_PUB_B64);
	assert_int_equal(w2w_wg_device_public_key(d, b64, 44), -ENOSPC);
	/* the device's own secret, as `wg showconf` shows it */
	assert_int_equal(w2w_wg_device_private_key(d, b64, sizeof(b64)), 44);
	assert_string_equal(b64, K1_B64);
	w2w_wipe(b64, sizeof(b64));
	assert_int_equal(w2w_wg_device_private_key(d, b64, 10), -ENOSPC);
	assert_int_equal(w2w_wg_device_listen_port(d), 51820);
	assert_int_equal(w2w_wg_device_peer_count(d), 1);
	assert_int_equal(w2w_wg_device_peer(d, 0, &pi), 0);
	assert_int_equal(w2w_wg_device_peer(d, 1, &pi), -ERANGE);
	pi.size = 4;
	assert_int_equal(w2w_wg_device_peer(d, 0, &pi), -EINVAL);
	pi.size = sizeof(pi);
	assert_int_equal(w2w_wg_device_peer(d, 0, &pi), 0);
	assert_string_equal(pi.public_key, K2_B64);
	assert_string_equal(pi.endpoint, "192.0.2.2:51820");
	assert_int_equal(pi.last_handshake_sec, 1700000000);
	assert_int_equal(pi.rx_bytes, 100);
	assert_int_equal(pi.tx_bytes, 200);
	assert_int_equal(pi.n_allowed_ips, 2);
	assert_int_equal(w2w_wg_device_allowed_ip(d, 0, 1, ip, sizeof(ip)), 11);
	assert_string_equal(ip, "fd00::2/128");
	assert_int_equal(w2w_wg_device_allowed_ip(d, 0, 2, ip, sizeof(ip)), -ERANGE);
	assert_int_equal(w2w_wg_device_allowed_ip(d, 0, 1, ip, 5), -ENOSPC);
	assert_int_equal(w2w_wg_device_showconf(d, &text, &len), 0);
	assert_int_equal(len, strlen(expect));
	assert_string_equal(text, expect);
	w2w_wipe(text, len);
	w2w_free(text);
	assert_null(w2w_wg_device_free(d));
	w2w_wg_free(wg);
	fake_stop(&f);
}

static void test_timeout_and_close_in_callback(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c = NULL;
	struct res r = {0};
	uint64_t t0;

	(void)state;
	assert_int_equal(w2w_wg_config_new(&c), 0);
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	/* the implementation never answers a set: the convenience gives up */
	set_reply = NULL;
	assert_int_equal(w2w_wg_config_set_listen_port(c, 1234), 0);
	t0 = w2w_now_us();
	assert_int_equal(w2w_wg_sync_run(wg, c, 300), W2W_ETIMEDOUT);
	assert_true(w2w_now_us() - t0 < 2000000);
	set_reply = "errno=0\n\n";
	w2w_wg_free(wg); /* with the abandoned set still in flight */

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
	assert_int_equal(w2w_wg_new(&wg, loop, "", NULL), -EINVAL);
	assert_int_equal(w2w_wg_new(&wg, loop, "much-too-long-name", NULL), -EINVAL);
	assert_int_equal(w2w_wg_new(&wg, loop, "wg0", &o), -EINVAL);
	o.version = 0;
	assert_int_equal(w2w_wg_new(&wg, loop, "wg0", &o), -EINVAL);
	assert_int_equal(w2w_wg_new(NULL, loop, "wg0", NULL), -EINVAL);
	assert_null(wg);
	assert_int_equal(w2w_wg_config_new(NULL), -EINVAL);
	assert_int_equal(w2w_wg_config_parse(&c, "[Peer]\nEndpoint = 1.2.3.4:5\n", 27, err, sizeof(err)), W2W_EPARSE);
	assert_string_equal(err, "line 1: [Peer] without PublicKey");
	assert_null(c);
	assert_int_equal(w2w_wg_config_new(&c), 0);
	assert_int_equal(w2w_wg_config_set_mtu(c, 20), -EINVAL);
	assert_int_equal(w2w_wg_config_set_mtu(c, 1420), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "10.7.0.1/16"), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "fd00::1/64"), 0);
	assert_int_equal(w2w_wg_config_add_address(c, "10.7.0.1"), W2W_EPARSE);
	assert_int_equal(w2w_wg_config_set_private_key(c, "AAAA"), W2W_EPARSE);
	assert_int_equal(w2w_wg_config_set_private_key(c, NULL), -EINVAL);
	assert_null(w2w_wg_config_free(c));
	assert_null(w2w_wg_config_free(NULL));
	assert_null(w2w_wg_device_free(NULL));
	assert_null(w2w_wg_free(NULL));
	w2w_loop_free(loop);
}

static void on_read_err(void *ud, int err, struct w2w_wg_device *dev)
{
	struct res *r = ud;

	r->calls++;
	r->err = err;
	w2w_wg_device_free(dev);
}

/* auto = userspace when the UAPI socket exists (covered above), else kernel when
 * the genetlink family resolves, else userspace. w2w_wg_new never blocks: the
 * kernel family is resolved by the first operation. */
static void test_backend_choice(void **state)
{
	struct w2w_loop *loop = NULL;
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_BACKEND_KERNEL,
				.uapi_dir = "/nonexistent-w2w-dir"};
	struct w2w_wg *wg = NULL;
	struct res r = {0};
	bool kernel;

	(void)state;
	assert_int_equal(w2w_loop_new(&loop, NULL), 0);
	assert_int_equal(w2w_wg_new(&wg, loop, "wgt9", &o), 0);
	assert_string_equal(w2w_wg_backend_name(wg), "kernel");
	assert_int_equal(w2w_wg_read(wg, on_read_err, &r), 0);
	for (int i = 0; i < 100 && !r.calls; i++)
		w2w_loop_run(loop, 20);
	assert_int_equal(r.calls, 1);
	/* no such interface, or no kernel WireGuard at all */
	assert_true(r.err == -ENODEV || r.err == -EPROTONOSUPPORT);
	kernel = r.err == -ENODEV;
	wg = w2w_wg_free(wg);
	o.backend = W2W_BACKEND_AUTO;
	assert_int_equal(w2w_wg_new(&wg, loop, "wgt9", &o), 0);
	r.calls = 0;
	assert_int_equal(w2w_wg_read(wg, on_read_err, &r), 0);
	for (int i = 0; i < 100 && !r.calls; i++)
		w2w_loop_run(loop, 20);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, -ENODEV);
	/* without the module the first operation switched to userspace, once */
	assert_string_equal(w2w_wg_backend_name(wg), kernel ? "kernel" : "userspace");
	w2w_wg_free(wg);
	o.backend = 7;
	assert_int_equal(w2w_wg_new(&wg, loop, "wgt9", &o), -EINVAL);
	assert_int_equal(w2w_loop_get_watches(loop, NULL, 0), 0);
	w2w_loop_free(loop);
}

/* Version 1 options (with the log sink as fields) are still accepted. */
struct opts_v1 {
	unsigned version;
	int backend;
	int create;
	const char *wireguard_go;
	const char *uapi_dir;
	unsigned keep_roamed_secs;
	int keep_unlisted_peers;
	void (*log)(void *ud, int level, const char *msg);
	void *log_ud;
	int log_level;
	int cache_device;
};

static void count_log(void *ud, int level, const char *msg)
{
	(void)level;
	(void)msg;
	(*(int *)ud)++;
}

static void test_opts_v1_and_set_log(void **state)
{
	struct fake f;
	int logs = 0;
	struct opts_v1 o1 = {.version = 1, .log = count_log, .log_ud = &logs, .log_level = 7};
	struct w2w_wg *wg = NULL;
	struct w2w_wg_config *c;

	(void)state;
	fake_start(&f, fake_serve);
	o1.uapi_dir = f.dir;
	assert_int_equal(w2w_wg_new(&wg, f.loop, "wgt0", (const struct w2w_wg_opts *)&o1), 0);
	assert_string_equal(w2w_wg_backend_name(wg), "userspace");
	c = parse(conf_same);
	set_reply = "errno=5\n\n";
	assert_int_equal(w2w_wg_config_set_listen_port(c, 1), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	assert_true(logs > 0); /* the v1 sink got the failure */
	logs = 0;
	assert_int_equal(w2w_wg_set_log(wg, NULL, NULL, 0), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	assert_int_equal(logs, 0);
	assert_int_equal(w2w_wg_set_log(wg, count_log, &logs, W2W_LOG_ERR), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	assert_int_equal(logs, 0); /* a warning is above W2W_LOG_ERR: not even formatted */
	assert_int_equal(w2w_wg_set_log(wg, count_log, &logs, W2W_LOG_DEBUG), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), -5);
	assert_true(logs > 0);
	set_reply = "errno=0\n\n";
	w2w_wg_config_free(c);
	w2w_wg_free(wg);
	fake_stop(&f);
}

/* A log callback runs inside the loop's re-entrancy guard: the loop and the
 * handle answer -EBUSY; freeing the handle there frees it from the loop. */
struct log_reenter {
	struct w2w_wg **wg;
	struct w2w_wg_config *cfg;
	struct w2w_loop *loop;
	int calls, sync_ret, run_ret, free_it;
};

static void reenter_log(void *ud, int level, const char *msg)
{
	struct log_reenter *l = ud;

	(void)level;
	(void)msg;
	if (l->calls++)
		return;
	l->sync_ret = w2w_wg_sync(*l->wg, l->cfg, NULL, NULL);
	l->run_ret = w2w_loop_process(l->loop, NULL, 0);
	if (l->free_it)
		*l->wg = w2w_wg_free(*l->wg);
}

static void test_log_callback_reentry(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct log_reenter l = {0};
	struct res r = {0};

	(void)state;
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	l.wg = &wg;
	l.loop = f.loop;
	l.cfg = parse(conf_same);
	assert_int_equal(w2w_wg_config_set_listen_port(l.cfg, 1), 0);
	assert_int_equal(w2w_wg_set_log(wg, reenter_log, &l, W2W_LOG_DEBUG), 0);
	set_reply = "errno=5\n\n"; /* the failed set is logged */
	assert_int_equal(w2w_wg_sync_run(wg, l.cfg, 5000), -5);
	assert_true(l.calls > 0);
	assert_int_equal(l.sync_ret, -EBUSY);
	assert_int_equal(l.run_ret, -EBUSY);
	/* freed from inside the log callback: gone once the loop runs, the
	 * operation's callback never comes; at debug level the first line comes
	 * from the diff (mid-operation), at info level from the failed set (just
	 * before the result) */
	for (int level = W2W_LOG_DEBUG; level >= W2W_LOG_INFO; level--) {
		if (!wg)
			wg = open_fake(&f);
		assert_int_equal(w2w_wg_set_log(wg, reenter_log, &l, level), 0);
		l.calls = 0;
		l.free_it = 1;
		assert_int_equal(w2w_wg_sync(wg, l.cfg, on_done, &r), 0);
		for (int i = 0; i < 100 && wg; i++)
			w2w_loop_run(f.loop, 20);
		assert_null(wg);
		for (int i = 0; i < 5; i++)
			w2w_loop_run(f.loop, 20);
		assert_int_equal(l.calls, 1);
		assert_int_equal(r.calls, 0);
	}
	set_reply = "errno=0\n\n";
	w2w_wg_config_free(l.cfg);
	fake_stop(&f);
}

/* The setters the other tests do not reach: private key, fwmark, PSK. */
static void test_key_and_mark_setters(void **state)
{
	struct fake f;
	struct w2w_wg *wg;
	struct w2w_wg_config *c;
	struct w2w_wg_peer *p = NULL;

	(void)state;
	fake_start(&f, fake_serve);
	wg = open_fake(&f);
	c = parse(conf_same);
	/* a new private key and fwmark: only those are written */
	assert_int_equal(w2w_wg_config_set_private_key(c, K3_B64), 0);
	assert_int_equal(w2w_wg_config_set_fwmark(c, 0x51), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_string_equal(f.last_req, "set=1\nprivate_key=" K3 "\nfwmark=81\n\n");
	w2w_wg_config_free(c);
	/* a preshared key on the existing peer */
	c = parse(conf_same);
	p = w2w_wg_config_find_peer(c, K2_B64);
	assert_non_null(p);
	assert_int_equal(w2w_wg_peer_set_preshared_key(p, "short"), W2W_EPARSE);
	assert_int_equal(w2w_wg_peer_set_preshared_key(NULL, K1_B64), -EINVAL);
	assert_int_equal(w2w_wg_peer_set_preshared_key(p, K1_B64), 0);
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_string_equal(f.last_req, "set=1\npublic_key=" K2 "\npreshared_key=" K1 "\n\n");
	w2w_wg_config_free(c);
	w2w_wg_free(wg);
	fake_stop(&f);
}

static void test_cached_sync(void **state)
{
	struct fake f;
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .uapi_dir = NULL, .cache_device = 1};
	struct w2w_wg *wg = NULL;
	struct w2w_wg_config *c;
	struct w2w_wg_peer *p;

	(void)state;
	fake_start(&f, fake_serve);
	o.uapi_dir = f.dir;
	assert_int_equal(w2w_wg_new(&wg, f.loop, "wgt0", &o), 0);
	c = parse(conf_same);
	/* first sync: reads the device (nothing to change) */
	assert_int_equal(w2w_wg_sync_run(wg, c, 5000), 0);
	assert_int_equal(f.requests, 1);
	/* change K2's endpoint: one set, no second read */
	p = w2w_wg_config_find_peer(c, K2_B64);
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
	w2w_wg_free(wg);
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
		cmocka_unit_test(test_opts_v1_and_set_log),
		cmocka_unit_test(test_key_and_mark_setters),
		cmocka_unit_test(test_log_callback_reentry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
