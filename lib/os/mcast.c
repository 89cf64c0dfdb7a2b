/* SPDX-License-Identifier: MIT */
#include "mcast.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor.h"

#define MDNS_GROUP 0xe00000fbu /* 224.0.0.251 */

struct mcast {
	struct reactor *r;
	int fd;
	uint16_t port;
	unsigned ifs[MCAST_MAX_IFACES];
	size_t nifs;
	mcast_recv_fn fn;
	void *ud;
	uint8_t rx[MCAST_RX_MAX];
};

int mcast_ifindex(const char *name)
{
	unsigned i = if_nametoindex(name);

	return i ? (int)i : -ENODEV;
}

int mcast_if_addrs(struct mcast_ifaddr *out, size_t cap)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && n < cap; i = i->ifa_next) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)i->ifa_addr;
		const struct sockaddr_in *m = (const struct sockaddr_in *)i->ifa_netmask;
		struct mcast_ifaddr *o = &out[n];
		uint32_t mask;

		if (!a || a->sin_family != AF_INET || !i->ifa_name || strlen(i->ifa_name) >= sizeof(o->name))
			continue;
		memset(o, 0, sizeof(*o));
		o->ifindex = if_nametoindex(i->ifa_name);
		if (!o->ifindex)
			continue;
		memcpy(o->name, i->ifa_name, strlen(i->ifa_name) + 1);
		memcpy(o->ip, &a->sin_addr, 4);
		mask = m && m->sin_family == AF_INET ? ntohl(m->sin_addr.s_addr) : 0xffffffffu;
		while (mask & 0x80000000u) {
			o->plen++;
			mask <<= 1;
		}
		o->up = i->ifa_flags & IFF_UP;
		o->multicast = i->ifa_flags & IFF_MULTICAST;
		o->loopback = i->ifa_flags & IFF_LOOPBACK;
		n++;
	}
	freeifaddrs(ifa);
	return (int)n;
}

/* Every up, multicast-capable, non-loopback interface with an IPv4 address. */
static size_t all_ifaces(unsigned *out)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && n < MCAST_MAX_IFACES; i = i->ifa_next) {
		unsigned idx;
		bool dup = false;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    !(i->ifa_flags & IFF_MULTICAST) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		idx = if_nametoindex(i->ifa_name);
		for (size_t k = 0; k < n; k++)
			dup |= out[k] == idx;
		if (idx && !dup)
			out[n++] = idx;
	}
	freeifaddrs(ifa);
	return n;
}

static void on_io(void *ud, int fd, int revents, uint64_t now_us)
{
	struct mcast *m = ud;

	for (int k = 0; k < MCAST_RX_BATCH; k++) {
		struct sockaddr_in sa;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} c;
		struct iovec iov = {.iov_base = m->rx, .iov_len = sizeof(m->rx)};
		struct msghdr mh = {.msg_name = &sa,
		                    .msg_namelen = sizeof(sa),
		                    .msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = c.buf,
		                    .msg_controllen = sizeof(c.buf)};
		struct cmsghdr *cm;
		struct sock_ip src;
		unsigned ifindex = 0;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			return; /* EAGAIN, or an error the next read reports again */
		if ((mh.msg_flags & MSG_TRUNC) ||
		    sock_ip_from_sockaddr(&src, (struct sockaddr *)&sa, mh.msg_namelen) < 0)
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				ifindex = (unsigned)pi.ipi_ifindex;
			}
		m->fn(m->ud, m->rx, (size_t)n, &src, ifindex, now_us);
	}
	(void)revents;
}

static int setopt(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int join(int fd, unsigned ifindex, bool add)
{
	struct ip_mreqn mr = {.imr_multiaddr.s_addr = htonl(MDNS_GROUP), .imr_ifindex = (int)ifindex};

	return setsockopt(fd, IPPROTO_IP, add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mr, sizeof(mr)) < 0
	           ? -errno
	           : 0;
}

int mcast_new(struct mcast **ret, struct reactor *r, const struct mcast_cfg *cfg, mcast_recv_fn fn, void *ud)
{
	unsigned want[MCAST_MAX_IFACES];
	size_t nwant;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct mcast *m;
	int e;

	if (!cfg || cfg->version < 1 || !fn || cfg->nif > MCAST_MAX_IFACES || (cfg->nif && !cfg->ifindex))
		return -EINVAL;
	if (cfg->nif) {
		memcpy(want, cfg->ifindex, cfg->nif * sizeof(*want));
		nwant = cfg->nif;
	} else {
		nwant = all_ifaces(want);
	}
	if (nwant == 0)
		return -ENODEV;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->r = r;
	m->fn = fn;
	m->ud = ud;
	m->port = cfg->port ? cfg->port : MCAST_MDNS_PORT;
	m->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0) {
		e = -errno;
		free(m);
		return e;
	}
	sa.sin_port = htons(m->port);
	if ((e = setopt(m->fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0 ||
	    (e = setopt(m->fd, SOL_SOCKET, SO_REUSEPORT, 1)) < 0 ||
	    (e = setopt(m->fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1)) < 0 ||
	    (e = setopt(m->fd, IPPROTO_IP, IP_MULTICAST_TTL, 255)) < 0 ||
	    (e = setopt(m->fd, IPPROTO_IP, IP_MULTICAST_ALL, 0)) < 0 ||
	    (e = setopt(m->fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
		goto fail;
	if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		goto fail;
	}
	e = -ENODEV;
	for (size_t i = 0; i < nwant; i++) {
		bool dup = false;

		for (size_t k = 0; k < m->nifs; k++)
			dup |= m->ifs[k] == want[i];
		if (dup)
			continue;
		if ((e = join(m->fd, want[i], true)) == 0)
			m->ifs[m->nifs++] = want[i];
	}
	if (m->nifs == 0)
		goto fail;
	if ((e = reactor_io_set(r, m->fd, W2W_IO_READ, on_io, m)) < 0)
		goto fail;
	*ret = m;
	return 0;
fail:
	close(m->fd);
	free(m);
	return e;
}

struct mcast *mcast_free(struct mcast *m)
{
	if (!m)
		return NULL;
	reactor_io_del(m->r, m->fd);
	for (size_t i = 0; i < m->nifs; i++)
		join(m->fd, m->ifs[i], false);
	close(m->fd);
	free(m);
	return NULL;
}

int mcast_send(struct mcast *m, const void *p, size_t n)
{
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(m->port), .sin_addr.s_addr = htonl(MDNS_GROUP)};
	int sent = 0, err = -ENODEV;

	for (size_t i = 0; i < m->nifs; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} c;
		struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
		struct msghdr mh = {.msg_name = &to,
		                    .msg_namelen = sizeof(to),
		                    .msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = c.buf,
		                    .msg_controllen = sizeof(c.buf)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		struct in_pktinfo pi = {.ipi_ifindex = (int)m->ifs[i]};

		memset(c.buf, 0, sizeof(c.buf));
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		if (sendmsg(m->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			err = -errno;
		else
			sent++;
	}
	return sent ? sent : err;
}

size_t mcast_ifaces(const struct mcast *m, unsigned *out, size_t cap)
{
	for (size_t i = 0; i < m->nifs && i < cap; i++)
		out[i] = m->ifs[i];
	return m->nifs;
}
