/* SPDX-License-Identifier: MIT */
/* os/sock: real loopback sockets (resolution: test_dns.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "sock.h"

static void wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	assert_int_equal(poll(&p, 1, 5000), 1);
}

static void test_tcp_roundtrip(void **state)
{
	struct sock_ip any = { .family = AF_INET, .ip = { 127, 0, 0, 1 }, .port = 0 }, l, peer, loc;
	char txt[64], buf[16];
	int lfd, cfd, afd;

	(void)state;
	lfd = sock_listen(&any, 16);
	assert_true(lfd >= 0);
	assert_int_equal(sock_local(lfd, &l), 0);
	assert_true(l.port != 0);
	assert_int_equal(sock_accept(lfd, &peer), -EAGAIN);
	cfd = sock_connect(&l);
	assert_true(cfd >= 0);
	wait_fd(cfd, POLLOUT);
	assert_int_equal(sock_connect_result(cfd), 0);
	wait_fd(lfd, POLLIN);
	afd = sock_accept(lfd, &peer);
	assert_true(afd >= 0);
	assert_int_equal(sock_local(cfd, &loc), 0);
	assert_int_equal(peer.port, loc.port);
	sock_ip_format(&peer, txt, sizeof(txt));
	assert_non_null(strstr(txt, "127.0.0.1:"));
	assert_int_equal(sock_read(afd, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(sock_write(cfd, "hello", 5), 5);
	wait_fd(afd, POLLIN);
	assert_int_equal(sock_read(afd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	sock_close(cfd);
	wait_fd(afd, POLLIN);
	assert_int_equal(sock_read(afd, buf, sizeof(buf)), 0);
	sock_close(afd);
	sock_close(lfd);
}

static void test_connect_refused(void **state)
{
	struct sock_ip a = { .family = AF_INET, .ip = { 127, 0, 0, 1 }, .port = 0 }, l;
	int lfd, fd;

	(void)state;
	/* A port that was just free: bind, learn it, close. */
	lfd = sock_listen(&a, 1);
	assert_true(lfd >= 0);
	assert_int_equal(sock_local(lfd, &l), 0);
	sock_close(lfd);
	fd = sock_connect(&l);
	if (fd >= 0) {
		wait_fd(fd, POLLOUT);
		assert_int_equal(sock_connect_result(fd), -ECONNREFUSED);
		sock_close(fd);
	} else {
		assert_int_equal(fd, -ECONNREFUSED);
	}
}

static void test_ipv6(void **state)
{
	struct sock_ip a = { .family = AF_INET6, .port = 0 }, l;
	int lfd;

	(void)state;
	a.ip[15] = 1;
	lfd = sock_listen(&a, 1);
	if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT)
		skip();
	assert_true(lfd >= 0);
	assert_int_equal(sock_local(lfd, &l), 0);
	assert_int_equal(l.family, AF_INET6);
	assert_false(sock_ip_unspecified(&l));
	sock_close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_roundtrip),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
