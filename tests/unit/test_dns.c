/* SPDX-License-Identifier: MIT */
/*
 * os/dns: real c-ares lookups on a real reactor, driven by poll() here. The
 * machine has no outside DNS, so names come from the hosts file (localhost)
 * or from a tiny DNS server on 127.0.0.1 that this test runs itself (RFC 1035
 * 4.1 messages over UDP): real sockets on both sides, nothing mocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "osclock.h"
#include "reactor.h"
#include "w2wesher/error.h"

/* ---- a DNS server for the test's names ---- */

struct server {
	int fd;
	uint16_t port;
	unsigned queries;
};

static void server_start(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Appends one answer record (name = pointer to the question, RFC 1035 4.1.4). */
static size_t answer(uint8_t *p, unsigned type, const void *rdata, unsigned rdlen)
{
	p[0] = 0xc0;
	p[1] = 12;
	put16(p + 2, type);
	put16(p + 4, 1); /* IN */
	memcpy(p + 6, "\0\0\0\x3c", 4);
	put16(p + 10, rdlen);
	memcpy(p + 12, rdata, rdlen);
	return 12 + rdlen;
}

/*
 * peer.w2w.test: A 10.1.2.3, AAAA fd00::123; two.w2w.test: A 10.0.0.1 and
 * 10.0.0.2; v4only.w2w.test: A only (AAAA: no data); silent.w2w.test: never
 * answered; anything else: NXDOMAIN.
 */
static void server_serve(struct server *s)
{
	static const uint8_t a1[4] = { 10, 1, 2, 3 }, t1[4] = { 10, 0, 0, 1 }, t2[4] = { 10, 0, 0, 2 };
	static const uint8_t a6[16] = { 0xfd, [14] = 0x01, [15] = 0x23 };
	uint8_t m[512];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(s->fd, m, sizeof(m), 0, (struct sockaddr *)&from, &flen);
	char name[256];
	size_t off = 12, nl = 0, out;
	unsigned qtype, an = 0, rcode = 0;

	if (n < 12)
		return;
	s->queries++;
	/* One question: labels up to the root, then QTYPE and QCLASS. */
	while (off < (size_t)n && m[off] && m[off] < 64 && off + 1 + m[off] < (size_t)n && nl + m[off] + 1 < sizeof(name)) {
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, m + off + 1, m[off]);
		nl += m[off];
		off += 1u + m[off];
	}
	name[nl] = 0;
	if (off + 5 > (size_t)n || m[off])
		return;
	qtype = (unsigned)(m[off + 1] << 8 | m[off + 2]);
	out = off + 5; /* the question is echoed as is */
	if (!strcmp(name, "silent.w2w.test"))
		return;
	if (!strcmp(name, "peer.w2w.test") && qtype == 1) {
		out += answer(m + out, 1, a1, 4), an++;
	} else if (!strcmp(name, "peer.w2w.test") && qtype == 28) {
		out += answer(m + out, 28, a6, 16), an++;
	} else if (!strcmp(name, "two.w2w.test") && qtype == 1) {
		out += answer(m + out, 1, t1, 4), an++;
		out += answer(m + out, 1, t2, 4), an++;
	} else if (!strcmp(name, "v4only.w2w.test")) {
		if (qtype == 1)
			out += answer(m + out, 1, a1, 4), an++;
	} else if (strcmp(name, "two.w2w.test")) {
		rcode = 3; /* NXDOMAIN */
	}
	m[2] = (uint8_t)(0x80 | (m[2] & 0x01)); /* QR, RD copied */
	m[3] = (uint8_t)(0x80 | rcode);         /* RA */
	put16(m + 6, an);
	put16(m + 8, 0);
	put16(m + 10, 0); /* the query's EDNS OPT record is not echoed */
	(void)sendto(s->fd, m, out, 0, (struct sockaddr *)&from, flen);
}

/* ---- the loop ---- */

struct result {
	bool done;
	int err;
	size_t n;
	struct sock_ip ips[DNS_MAX_ADDRS];
};

static void on_done(void *ud, int err, const struct sock_ip *ips, size_t n, uint64_t now)
{
	struct result *res = ud;

	(void)now;
	assert_false(res->done);
	res->done = true;
	res->err = err;
	res->n = n;
	if (n)
		memcpy(res->ips, ips, n * sizeof(*ips));
}

static _Thread_local unsigned rounds; /* loop_once calls of this thread */

/* One poll() round over the reactor's fds and the server's. */
static void loop_once(struct reactor *r, struct server *s)
{
	struct w2w_watch w[16];
	struct pollfd p[17];
	size_t n = reactor_watches(r, w, 16), k;
	int64_t dl = reactor_next_deadline(r);
	uint64_t now = os_now_us();
	int timeout = 100;

	rounds++;
	assert_true(n <= 16);
	for (k = 0; k < n; k++)
		p[k] = (struct pollfd){ .fd = w[k].fd,
					.events = (short)((w[k].events & W2W_IO_READ ? POLLIN : 0) |
							  (w[k].events & W2W_IO_WRITE ? POLLOUT : 0)) };
	if (s)
		p[k++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	if (dl >= 0)
		timeout = (uint64_t)dl <= now ? 0 : (int)(((uint64_t)dl - now) / 1000 + 1);
	if (timeout > 100)
		timeout = 100;
	assert_true(poll(p, k, timeout) >= 0);
	now = os_now_us();
	if (s && p[k - 1].revents & POLLIN)
		server_serve(s);
	for (size_t i = 0; i < n; i++) {
		int ev = (p[i].revents & POLLIN ? W2W_IO_READ : 0) | (p[i].revents & POLLOUT ? W2W_IO_WRITE : 0) |
			 (p[i].revents & (POLLERR | POLLHUP) ? W2W_IO_ERROR : 0);

		if (ev)
			reactor_dispatch_io(r, w[i].fd, ev, now);
	}
	reactor_run_timers(r, now);
}

/* Bounded: 600 rounds of at most 100 ms. */
static void run_until(struct reactor *r, struct server *s, const bool *flag)
{
	for (int i = 0; i < 600 && !*flag; i++)
		loop_once(r, s);
	assert_true(*flag);
}

static void resolve(struct reactor *r, struct server *s, struct dns *d, const char *name, int family,
		    struct result *res)
{
	struct dns_query *q = NULL;

	memset(res, 0, sizeof(*res));
	assert_int_equal(dns_resolve(d, name, family, 4001, os_now_us(), on_done, res, &q), 0);
	assert_non_null(q);
	/* Never from inside the call, even when the answer is known at once. */
	assert_false(res->done);
	run_until(r, s, &res->done);
}

static struct dns *server_dns(struct reactor *r, struct server *s, unsigned timeout_ms)
{
	char servers[64];
	struct dns_config cfg = { .servers = servers, .no_hosts_file = true, .timeout_ms = timeout_ms, .tries = 1 };
	struct dns *d = NULL;

	snprintf(servers, sizeof(servers), "127.0.0.1:%u", s->port);
	assert_int_equal(dns_new(&d, r, &cfg), 0);
	return d;
}

/* A reactor, a server and a resolver that asks only that server. */
static struct dns *setup(struct reactor **r, struct server *s, unsigned timeout_ms)
{
	*r = reactor_new();
	assert_non_null(*r);
	server_start(s);
	return server_dns(*r, s, timeout_ms);
}

/* Every socket c-ares opened is closed and off the reactor again. */
static void teardown(struct reactor *r, struct server *s, struct dns *d)
{
	assert_null(dns_free(d));
	assert_int_equal(reactor_free(r), 0);
	close(s->fd);
}

/* ---- tests ---- */

static void test_localhost(void **state)
{
	struct reactor *r = reactor_new();
	struct dns *d = NULL;
	struct result res;

	(void)state;
	/* The system's configuration: localhost comes from the hosts file. */
	assert_int_equal(dns_new(&d, r, NULL), 0);
	resolve(r, NULL, d, "localhost", AF_INET, &res);
	assert_int_equal(res.err, 0);
	assert_true(res.n >= 1);
	assert_int_equal(res.ips[0].family, AF_INET);
	assert_int_equal(res.ips[0].ip[0], 127);
	assert_int_equal(res.ips[0].port, 4001);
	d = dns_free(d);
	assert_null(d);
	assert_int_equal(reactor_free(r), 0);
}

static void test_server(void **state)
{
	static const uint8_t a6[16] = { 0xfd, [14] = 0x01, [15] = 0x23 };
	struct reactor *r;
	struct server s;
	struct dns *d = setup(&r, &s, 1000);
	struct result res;

	(void)state;
	resolve(r, &s, d, "peer.w2w.test", AF_INET, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.ips[0].family, AF_INET);
	assert_memory_equal(res.ips[0].ip, "\x0a\x01\x02\x03", 4);
	assert_int_equal(res.ips[0].port, 4001);

	resolve(r, &s, d, "peer.w2w.test", AF_INET6, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.ips[0].family, AF_INET6);
	assert_memory_equal(res.ips[0].ip, a6, 16);

	resolve(r, &s, d, "two.w2w.test", AF_INET, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.ips[0].ip[3] + res.ips[1].ip[3], 3);

	/* NXDOMAIN, and a name without an address of the family asked for. */
	resolve(r, &s, d, "nx.w2w.test", AF_INET, &res);
	assert_int_equal(res.err, -ENOENT);
	assert_int_equal(res.n, 0);
	resolve(r, &s, d, "v4only.w2w.test", AF_INET6, &res);
	assert_int_equal(res.err, -ENOENT);
	resolve(r, &s, d, "two.w2w.test", AF_INET6, &res);
	assert_int_equal(res.err, -ENOENT);

	/* Either family. */
	resolve(r, &s, d, "v4only.w2w.test", AF_UNSPEC, &res);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.ips[0].family, AF_INET);

	assert_true(s.queries >= 7);
	assert_int_equal(dns_running(d), 0);
	teardown(r, &s, d);
}

static void test_timeout(void **state)
{
	struct reactor *r;
	struct server s;
	struct dns *d = setup(&r, &s, 50);
	struct result res;

	(void)state;
	rounds = 0;
	resolve(r, &s, d, "silent.w2w.test", AF_INET, &res);
	assert_int_equal(res.err, -ETIMEDOUT);
	/* Woken by the timeout, not spinning up to it (c-ares rounds to ms). */
	assert_true(rounds < 20);
	assert_true(s.queries >= 1);
	/* The server is still fine: the next lookup gets an answer. */
	resolve(r, &s, d, "peer.w2w.test", AF_INET, &res);
	assert_int_equal(res.err, 0);
	teardown(r, &s, d);
}

static void test_limit_and_cancel(void **state)
{
	struct reactor *r;
	struct server s;
	struct dns *d = setup(&r, &s, 50);
	struct dns_query *q[DNS_MAX_QUERIES], *extra;
	struct result res[DNS_MAX_QUERIES], one;
	bool idle = false;

	(void)state;
	memset(res, 0, sizeof(res));
	for (int i = 0; i < DNS_MAX_QUERIES; i++)
		assert_int_equal(dns_resolve(d, "silent.w2w.test", AF_INET, 1, os_now_us(), on_done, &res[i], &q[i]), 0);
	assert_int_equal(dns_resolve(d, "peer.w2w.test", AF_INET, 1, os_now_us(), on_done, &one, &extra),
			 W2W_ELIMIT);
	assert_int_equal(dns_running(d), DNS_MAX_QUERIES);
	for (int i = 0; i < DNS_MAX_QUERIES; i++)
		dns_cancel(q[i]);
	/* Cancelled lookups still count until c-ares gives up on them; their
	 * callbacks never run. */
	for (int i = 0; i < 600 && !idle; i++) {
		loop_once(r, &s);
		idle = dns_running(d) == 0;
	}
	assert_true(idle);
	for (int i = 0; i < DNS_MAX_QUERIES; i++)
		assert_false(res[i].done);
	resolve(r, &s, d, "peer.w2w.test", AF_INET, &one);
	assert_int_equal(one.err, 0);

	/* Freed with a lookup running: no callback, no leak. */
	memset(&one, 0, sizeof(one));
	assert_int_equal(dns_resolve(d, "silent.w2w.test", AF_INET, 1, os_now_us(), on_done, &one, &extra), 0);
	dns_free(d);
	assert_false(one.done);
	assert_int_equal(reactor_free(r), 0);
	close(s.fd);
}

static void test_invalid(void **state)
{
	struct reactor *r = reactor_new();
	struct dns_config bad = { .servers = "not an address" };
	struct dns *d = NULL;
	struct dns_query *q = NULL;
	struct result res;
	char longname[300];

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(dns_new(&d, r, NULL), 0);
	assert_int_equal(dns_resolve(d, "", AF_INET, 1, 0, on_done, &res, &q), -EINVAL);
	assert_int_equal(dns_resolve(d, longname, AF_INET, 1, 0, on_done, &res, &q), -EINVAL);
	assert_int_equal(dns_resolve(d, "localhost", AF_UNIX, 1, 0, on_done, &res, &q), -EINVAL);
	assert_null(q);
	dns_free(d);
	assert_int_equal(dns_new(&d, r, &bad), 0);
	assert_int_equal(dns_resolve(d, "localhost", AF_INET, 1, 0, on_done, &res, &q), -EIO);
	dns_free(d);
	dns_cancel(NULL);
	assert_null(dns_free(NULL));
	assert_int_equal(reactor_free(r), 0);
}

/* Two loops on two threads, each with its own resolver: nothing is shared
 * (the getaddrinfo_a code this replaced had a process-global list). cmocka's
 * asserts must not fail off the main thread, so results are counted here. */
static void *thread_main(void *arg)
{
	struct reactor *r;
	struct server s;
	struct dns *d = setup(&r, &s, 1000);
	int *good = arg;

	for (int i = 0; i < 20; i++) {
		struct result res = { 0 };
		struct dns_query *q;

		if (dns_resolve(d, i & 1 ? "peer.w2w.test" : "nx.w2w.test", AF_INET, 1, os_now_us(), on_done, &res,
				&q) < 0)
			break;
		for (int k = 0; k < 600 && !res.done; k++)
			loop_once(r, &s);
		if (res.done && res.err == (i & 1 ? 0 : -ENOENT))
			++*good;
	}
	dns_free(d);
	if (reactor_free(r) != 0)
		*good = -1;
	close(s.fd);
	return NULL;
}

static void test_two_threads(void **state)
{
	pthread_t t[2];
	int good[2] = { 0, 0 };

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, &good[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(good[0], 20);
	assert_int_equal(good[1], 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_limit_and_cancel),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
