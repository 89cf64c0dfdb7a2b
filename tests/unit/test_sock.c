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
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* A connect from src (127.0.0.x) to l: whether it completes within ms
 * (a SYN the listener's filter drops leaves it in SYN_SENT). The socket is
 * closed either way; an accepted one is accepted and closed too. */
static bool connects_from(int lfd, const struct sock_ip *l, uint8_t src, int ms)
{
	struct sock_ip from = { .family = AF_INET, .ip = { 127, 0, 0, src } }, peer;
	struct sockaddr_storage ss;
	socklen_t len;
	struct pollfd p;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), r, afd;

	assert_true(fd >= 0);
	assert_int_equal(sock_ip_to_sockaddr(&from, &ss, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(sock_ip_to_sockaddr(l, &ss, &len), 0);
	r = connect(fd, (struct sockaddr *)&ss, len);
	assert_true(r == 0 || errno == EINPROGRESS);
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	r = poll(&p, 1, ms);
	if (r == 1) {
		assert_int_equal(sock_connect_result(fd), 0);
		wait_fd(lfd, POLLIN);
		afd = sock_accept(lfd, &peer);
		assert_true(afd >= 0);
		assert_int_equal(peer.ip[3], src);
		sock_close(afd);
	}
	sock_close(fd);
	return r == 1;
}

/* The kernel drops the SYNs of blocked addresses (issue 15, iplimit.h "Blocking"). */
static void test_blocklist(void **state)
{
	struct sock_ip any = { .family = AF_INET, .ip = { 127, 0, 0, 1 }, .port = 0 }, l, peer;
	const uint8_t block[2][16] = { { 127, 0, 0, 2 }, { 127, 0, 0, 4 } };
	const uint8_t v6[1][16] = { { 0x20, 0x01, 0x0d, 0xb8 } };
	int lfd;

	(void)state;
	lfd = sock_listen(&any, 16);
	assert_true(lfd >= 0);
	assert_int_equal(sock_local(lfd, &l), 0);
	assert_int_equal(sock_set_blocklist(lfd, AF_INET, block, 2), 0);
	assert_false(connects_from(lfd, &l, 2, 300));
	assert_false(connects_from(lfd, &l, 4, 300));
	assert_true(connects_from(lfd, &l, 3, 5000));
	assert_int_equal(sock_accept(lfd, &peer), -EAGAIN); /* nothing from .2 or .4 got through */
	/* a new list replaces the old one; an empty one removes the filter */
	assert_int_equal(sock_set_blocklist(lfd, AF_INET, block + 1, 1), 0);
	assert_true(connects_from(lfd, &l, 2, 5000));
	assert_false(connects_from(lfd, &l, 4, 300));
	assert_int_equal(sock_set_blocklist(lfd, AF_INET, NULL, 0), 0);
	assert_true(connects_from(lfd, &l, 4, 5000));
	assert_int_equal(sock_set_blocklist(lfd, AF_INET, NULL, 0), 0); /* no filter to remove: fine */
	/* bounded: one more than the kernel's BPF_MAXINSNS allows is refused */
	assert_int_equal(sock_set_blocklist(lfd, AF_INET, block, 5000), -E2BIG);
	assert_int_equal(sock_set_blocklist(lfd, AF_UNIX, block, 1), -EAFNOSUPPORT);
	sock_close(lfd);

	/* IPv6: a /64 (its listener only sees IPv6: IPV6_V6ONLY) */
	any = (struct sock_ip){ .family = AF_INET6, .ip = { [15] = 1 }, .port = 0 };
	lfd = sock_listen(&any, 16);
	if (lfd < 0)
		return; /* no IPv6 loopback here */
	assert_int_equal(sock_local(lfd, &l), 0);
	{
		const uint8_t lo64[1][16] = { { 0 } }; /* ::1 is in ::/64 */
		int c;

		assert_int_equal(sock_set_blocklist(lfd, AF_INET6, v6, 1), 0);
		c = sock_connect(&l);
		assert_true(c >= 0);
		wait_fd(c, POLLOUT);
		assert_int_equal(sock_connect_result(c), 0);
		sock_close(c);
		wait_fd(lfd, POLLIN);
		c = sock_accept(lfd, &peer);
		assert_true(c >= 0);
		sock_close(c);
		assert_int_equal(sock_set_blocklist(lfd, AF_INET6, lo64, 1), 0);
		c = sock_connect(&l);
		assert_true(c >= 0);
		{
			struct pollfd p = { .fd = c, .events = POLLOUT };

			assert_int_equal(poll(&p, 1, 300), 0);
		}
		sock_close(c);
	}
	sock_close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_roundtrip),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_blocklist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
