/* SPDX-License-Identifier: MIT */
/* Non-blocking TCP (see sock.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

int sock_ip_to_sockaddr(const struct sock_ip *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->ip, 4);
		*len = sizeof(*s4);
		return 0;
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		*len = sizeof(*s6);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int sock_ip_from_sockaddr(struct sock_ip *a, const struct sockaddr *sa, socklen_t len)
{
	struct sock_ip t;

	memset(&t, 0, sizeof(t));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		t.family = AF_INET;
		memcpy(t.ip, &s4->sin_addr, 4);
		t.port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		/* A v4-mapped peer on a dual-stack socket is reported as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			t.family = AF_INET;
			memcpy(t.ip, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			t.family = AF_INET6;
			memcpy(t.ip, &s6->sin6_addr, 16);
		}
		t.port = ntohs(s6->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	*a = t;
	return 0;
}

void sock_ip_format(const struct sock_ip *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip));
	if (a->family == AF_INET6)
		snprintf(out, cap, "[%s]:%u", ip, a->port);
	else
		snprintf(out, cap, "%s:%u", ip, a->port);
}

int sock_ip_unspecified(const struct sock_ip *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->ip, zero, a->family == AF_INET6 ? 16 : 4);
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Small protocol messages (mss lines, pings) must not wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int sock_listen(const struct sock_ip *a, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, r;

	r = sock_ip_to_sockaddr(a, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (a->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (listen(fd, backlog > 0 ? backlog : 128) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int sock_accept(int lfd, struct sock_ip *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		/* Errors of the pending connection itself: the listener is fine. */
		if (e == EWOULDBLOCK || e == ECONNABORTED || e == EPROTO || e == EINTR)
			return -EAGAIN;
		return -e;
	}
	/* No TCP_NODELAY here: a connection the host refuses at once (a flood)
	 * costs one syscall less; the host sets it on those it keeps. */
	if (peer && sock_ip_from_sockaddr(peer, (struct sockaddr *)&ss, len) < 0)
		memset(peer, 0, sizeof(*peer));
	return fd;
}

int sock_connect(const struct sock_ip *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	r = sock_ip_to_sockaddr(a, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	set_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int sock_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

int sock_local(int fd, struct sock_ip *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return sock_ip_from_sockaddr(a, (struct sockaddr *)&ss, len);
}

int sock_peer(int fd, struct sock_ip *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return sock_ip_from_sockaddr(a, (struct sockaddr *)&ss, len);
}

ssize_t sock_read(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

ssize_t sock_write(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = send(fd, p, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

void sock_abort(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * A classic BPF socket filter on a listener (socket(7) SO_ATTACH_FILTER,
 * Documentation/networking/filter.rst): TCP runs it on every segment for the
 * socket before any other work (tcp_v4_rcv/tcp_v6_rcv -> tcp_filter), the
 * listener's SYNs included, so a SYN from a blocked address is dropped there:
 * no request socket, no SYN-ACK, no accept. Accepted sockets inherit the
 * filter of the moment (harmless: a blocked address has no new ones). The
 * filter sees the segment at the TCP header; SKF_NET_OFF loads read the IP
 * header: IPv4 source at 12, IPv6 source at 8 (its /64: two words). Each entry
 * ends in its own "ret 0" so every jump is short (cBPF jumps are 8-bit).
 */
int sock_set_blocklist(int lfd, int family, const uint8_t (*ips)[16], size_t n)
{
	enum { V4_INSNS = 2, V6_INSNS = 5 };
	struct sock_filter *f;
	struct sock_fprog prog;
	size_t per = family == AF_INET ? V4_INSNS : V6_INSNS, k = 0;
	int r = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (n == 0) {
		int dummy = 0; /* the kernel wants an int-sized option even here */

		if (setsockopt(lfd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof(dummy)) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (n > (BPF_MAXINSNS - 2) / per)
		return -E2BIG;
	f = calloc(n * per + 2, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (family == AF_INET)
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = ips[i];
		uint32_t w0 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		uint32_t w1 = (uint32_t)a[4] << 24 | (uint32_t)a[5] << 16 | (uint32_t)a[6] << 8 | a[7];

		if (family == AF_INET) {
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, w0, 0, 1);
		} else {
			f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8);
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, w0, 0, 3);
			f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, w1, 0, 1);
		}
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0); /* drop */
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu); /* keep it all */
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (setsockopt(lfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		r = -errno;
	free(f);
	return r;
}

void sock_nodelay(int fd)
{
	set_nodelay(fd);
}

void sock_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
