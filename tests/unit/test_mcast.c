/* SPDX-License-Identifier: MIT */
/*
 * The mDNS multicast socket over real sockets, in a network namespace of its
 * own (unshare(CLONE_NEWNET): needs root, else SKIP) where lo is set up and
 * multicast-capable, so nothing leaves this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mcast.h"
#include "reactor.h"

struct got {
	int n;
	uint8_t last[64];
	size_t len;
	struct sock_ip src;
	unsigned ifindex;
};

static void on_recv(void *ud, const uint8_t *p, size_t n, const struct sock_ip *src, unsigned ifindex,
                    uint64_t now)
{
	struct got *g = ud;

	g->n++;
	g->len = n < sizeof(g->last) ? n : sizeof(g->last);
	memcpy(g->last, p, g->len);
	g->src = *src;
	g->ifindex = ifindex;
	(void)now;
}

static int lo_setup(void **state)
{
	struct ifreq ifr = {0};
	int fd;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0; /* tests skip */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	close(fd);
	*state = (void *)1;
	return 0;
}

/* Delivers readiness of fds to the reactor until cond or ~2 s (bounded). */
static void pump(struct reactor *r, const int *fds, size_t n, const int *cond, int want)
{
	for (int round = 0; round < 200 && *cond < want; round++) {
		struct pollfd p[4];

		for (size_t i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (poll(p, n, 10) <= 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (p[i].revents)
				reactor_dispatch_io(r, p[i].fd, W2W_IO_READ, 1);
	}
}

static int plain_socket(uint32_t group)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5353)};
	struct ip_mreqn mr = {.imr_multiaddr.s_addr = htonl(group), .imr_ifindex = 1};

	/* Only SO_REUSEADDR, like avahi-daemon and node's dgram with reuseAddr. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)), 0);
	return fd;
}

static void test_two_sockets_and_a_neighbour(void **state)
{
	struct reactor *r = reactor_new();
	unsigned lo = (unsigned)mcast_ifindex("lo"), ifs[4];
	struct mcast_cfg cfg = {.version = 1, .ifindex = &lo, .nif = 1};
	struct mcast *a, *b;
	struct got ga = {0}, gb = {0};
	int plain, other, fds[2];
	uint8_t buf[64];

	if (!*state)
		skip();
	assert_non_null(r);
	plain = plain_socket(0xe00000fb);
	assert_int_equal(mcast_new(&a, r, &cfg, on_recv, &ga), 0);
	assert_int_equal(mcast_new(&b, r, &cfg, on_recv, &gb), 0);
	assert_int_equal(mcast_ifaces(a, ifs, 4), 1);
	assert_int_equal(ifs[0], lo);
	/* a sends: a itself (loop), b and the plain neighbour all get it. */
	assert_int_equal(mcast_send(a, "hello", 5), 1);
	/* reactor watches are what core/loop.c would poll; here the fds directly */
	{
		struct w2w_watch w[4];

		assert_int_equal(reactor_watches(r, w, 4), 2);
		fds[0] = w[0].fd;
		fds[1] = w[1].fd;
	}
	pump(r, fds, 2, &gb.n, 1);
	pump(r, fds, 2, &ga.n, 1);
	assert_int_equal(ga.n, 1);
	assert_int_equal(gb.n, 1);
	assert_int_equal(gb.len, 5);
	assert_memory_equal(gb.last, "hello", 5);
	assert_int_equal(gb.src.port, 5353);
	assert_int_equal(gb.ifindex, lo);
	assert_int_equal(recv(plain, buf, sizeof(buf), MSG_DONTWAIT), 5);
	/* The neighbour speaks: both of ours hear it. */
	{
		struct sockaddr_in to = {
		    .sin_family = AF_INET, .sin_port = htons(5353), .sin_addr.s_addr = htonl(0xe00000fb)};
		struct ip_mreqn mr = {.imr_ifindex = (int)lo};

		assert_int_equal(setsockopt(plain, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)), 0);
		assert_int_equal(sendto(plain, "js", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
		/* Another group on the same port: IP_MULTICAST_ALL is off, ours stay deaf to it. */
		other = plain_socket(0xe00000fc);
		to.sin_addr.s_addr = htonl(0xe00000fc);
		assert_int_equal(sendto(plain, "no", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
		assert_int_equal(recv(other, buf, sizeof(buf), MSG_DONTWAIT), 2);
	}
	pump(r, fds, 2, &gb.n, 2);
	pump(r, fds, 2, &ga.n, 2);
	usleep(50000);
	pump(r, fds, 2, &ga.n, 3);
	assert_int_equal(ga.n, 2);
	assert_int_equal(gb.n, 2);
	assert_memory_equal(gb.last, "js", 2);
	assert_null(mcast_free(a));
	assert_null(mcast_free(b));
	assert_null(mcast_free(NULL));
	assert_int_equal(reactor_free(r), 0);
	close(plain);
	close(other);
}

static void test_bad_cfg(void **state)
{
	struct reactor *r = reactor_new();
	unsigned none = 999999;
	struct mcast_cfg cfg = {.version = 1, .ifindex = &none, .nif = 1};
	struct mcast *m = NULL;
	struct got g = {0};

	if (!*state)
		skip();
	assert_int_equal(mcast_new(&m, r, &cfg, on_recv, &g), -ENODEV);
	cfg.nif = MCAST_MAX_IFACES + 1;
	assert_int_equal(mcast_new(&m, r, &cfg, on_recv, &g), -EINVAL);
	cfg.version = 0;
	assert_int_equal(mcast_new(&m, r, &cfg, on_recv, &g), -EINVAL);
	/* Only lo exists here, and "all interfaces" leaves loopback out. */
	cfg = (struct mcast_cfg){.version = 1};
	assert_int_equal(mcast_new(&m, r, &cfg, on_recv, &g), -ENODEV);
	assert_null(m);
	assert_int_equal(mcast_ifindex("no-such-if0"), -ENODEV);
	assert_int_equal(reactor_free(r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_sockets_and_a_neighbour),
	    cmocka_unit_test(test_bad_cfg),
	};

	return cmocka_run_group_tests(tests, lo_setup, NULL);
}
