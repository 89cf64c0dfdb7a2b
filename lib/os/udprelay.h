/* SPDX-License-Identifier: MIT */
/* UDP sockets of a WireGuard relay (docs/nat.md "Relays"): one non-blocking
 * socket per relayed member, on a port the kernel picks. */
#ifndef W2W_OS_UDPRELAY_H
#define W2W_OS_UDPRELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* A bound UDP socket (AF_INET or AF_INET6, any address, port 0): the fd, and
 * its port in *port; negative errno on failure. */
int udprelay_open(int family, uint16_t *port);
/* One datagram (truncated ones are dropped: > cap), its source in *src.
 * -EAGAIN when none is waiting. */
ssize_t udprelay_recv(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *src, socklen_t *srclen);
ssize_t udprelay_send(int fd, const uint8_t *p, size_t n, const struct sockaddr_storage *dst, socklen_t dstlen);

#endif
