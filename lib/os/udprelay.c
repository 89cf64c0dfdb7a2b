/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "udprelay.h"

int udprelay_open(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

ssize_t udprelay_recv(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *src, socklen_t *srclen)
{
	ssize_t n;

	for (;;) {
		*srclen = sizeof(*src);
		n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)src, srclen);
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if ((size_t)n <= cap)
			return n;
		/* larger than any WireGuard datagram: not ours, next */
	}
}

ssize_t udprelay_send(int fd, const uint8_t *p, size_t n, const struct sockaddr_storage *dst, socklen_t dstlen)
{
	ssize_t r = sendto(fd, p, n, MSG_DONTWAIT, (const struct sockaddr *)dst, dstlen);

	return r < 0 ? -errno : r;
}
