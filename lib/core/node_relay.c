/* SPDX-License-Identifier: MIT */
/*
 * Forwarding for one relayed pair: two UDP sockets, side 0 for member a and
 * side 1 for member b. A datagram on side s is accepted only from member s's
 * public IP (locked when the pair was opened; its port is learned from the
 * datagram, NAT mappings being per destination) and sent, within the pair's
 * budget, from the other socket to the other member's last address. One
 * datagram out per datagram in: no amplification. WireGuard is end to end;
 * this sees ciphertext.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "node_relay.h"
#include "osclock.h"
#include "relay.h"
#include "udprelay.h"

#define RELAY_BURST_PER_WAKE 64 /* datagrams per readable event: others get their turn */
#define RELAY_LOG_EVERY_US (10ull * 1000 * 1000)

struct relay_side {
	struct relay_link *l;
	int idx;
	int fd;
	struct ann_ip ip; /* locked: the member's public IP */
	struct sockaddr_storage addr;
	socklen_t addrlen; /* 0: nothing received yet */
};

struct relay_link {
	struct reactor *r;
	const struct wlog *log;
	struct relay_side s[2];
	struct relay_bucket budget;
	uint64_t rate; /* [P2P] RelayRate, bytes per second */
	uint64_t foreign, over, logged_us;
};

static bool same_ip(const struct ann_ip *ip, const struct sockaddr_storage *ss)
{
	if (ip->family == 4 && ss->ss_family == AF_INET)
		return !memcmp(ip->ip, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	if (ip->family == 6 && ss->ss_family == AF_INET6)
		return !memcmp(ip->ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	return false;
}

static void maybe_log(struct relay_link *l, uint64_t now)
{
	if (now - l->logged_us < RELAY_LOG_EVERY_US || (!l->foreign && !l->over))
		return;
	l->logged_us = now;
	if (l->foreign)
		log_warn(l->log, "relay: dropped %llu datagrams from addresses that are not the pair's members",
			 (unsigned long long)l->foreign);
	if (l->over)
		log_warn(l->log, "relay: dropped %llu datagrams over the pair's budget (%llu B/s)",
			 (unsigned long long)l->over, (unsigned long long)l->rate);
	l->foreign = l->over = 0;
}

static void on_readable(void *ud, int fd, int revents, uint64_t now)
{
	struct relay_side *s = ud, *o = &s->l->s[!s->idx];
	struct relay_link *l = s->l;
	uint8_t buf[RELAY_DATAGRAM_MAX];

	(void)revents;
	for (int i = 0; i < RELAY_BURST_PER_WAKE; i++) {
		struct sockaddr_storage src;
		socklen_t slen;
		ssize_t n = udprelay_recv(fd, buf, sizeof(buf), &src, &slen);

		if (n < 0)
			break;
		if (!same_ip(&s->ip, &src)) {
			l->foreign++;
			continue;
		}
		s->addr = src;
		s->addrlen = slen;
		if (!o->addrlen)
			continue; /* the other member has not sent yet: it will (both are kicked at once) */
		if (!relay_budget_take(&l->budget, (size_t)n, now, l->rate)) {
			l->over++;
			continue;
		}
		udprelay_send(o->fd, buf, (size_t)n, &o->addr, o->addrlen);
	}
	maybe_log(l, now);
}

static void link_free(struct relay_link *l)
{
	for (int i = 0; i < 2; i++)
		if (l->s[i].fd >= 0) {
			reactor_io_del(l->r, l->s[i].fd);
			close(l->s[i].fd);
		}
	free(l);
}

int node_relay_open(struct reactor *r, const struct wlog *log, uint64_t rate, const struct ann_ip *ip_a,
		    const struct ann_ip *ip_b, uint16_t *pa, uint16_t *pb, void **handle)
{
	struct relay_link *l = calloc(1, sizeof(*l));
	const struct ann_ip *ips[2] = {ip_a, ip_b};
	uint16_t ports[2] = {0, 0};
	int ret = 0;

	if (!l)
		return -ENOMEM;
	l->r = r;
	l->log = log;
	l->rate = rate ? rate : RELAY_DEFAULT_RATE;
	l->s[0].fd = l->s[1].fd = -1;
	for (int i = 0; i < 2; i++) {
		struct relay_side *s = &l->s[i];

		s->l = l;
		s->idx = i;
		s->ip = *ips[i];
		s->fd = udprelay_open(ips[i]->family == 4 ? AF_INET : AF_INET6, &ports[i]);
		if (s->fd < 0) {
			ret = s->fd;
			goto out;
		}
		ret = reactor_io_set(r, s->fd, W2W_IO_READ, on_readable, s);
		if (ret < 0)
			goto out;
	}
	*pa = ports[0];
	*pb = ports[1];
	*handle = l;
	l = NULL;
out:
	if (l) {
		log_warn(log, "relay: cannot open the pair's UDP sockets: %s", err_str(ret));
		link_free(l);
	}
	return ret;
}

static uint16_t src_port(const struct relay_side *s)
{
	if (!s->addrlen)
		return 0;
	if (s->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&s->addr)->sin_port);
	if (s->addr.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&s->addr)->sin6_port);
	return 0;
}

void node_relay_seen(void *handle, uint16_t *src_a, uint16_t *src_b)
{
	const struct relay_link *l = handle;

	*src_a = l ? src_port(&l->s[0]) : 0;
	*src_b = l ? src_port(&l->s[1]) : 0;
}

void node_relay_close(struct reactor *r, void *handle)
{
	(void)r;
	if (handle)
		link_free(handle);
}
