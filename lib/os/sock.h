/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking TCP sockets.
 *
 * Every fd made here is O_NONBLOCK|O_CLOEXEC; the caller registers it with the
 * reactor and calls these helpers when it is ready. Return values follow the
 * library convention: >= 0 success, negative errno (-EAGAIN: not ready yet).
 * Addresses cross the layer boundary as (family, ip bytes, port) so that the
 * multiaddr code (codec) and the socket code stay apart.
 *
 * Name resolution: dns.h.
 */
#ifndef W2W_OS_SOCK_H
#define W2W_OS_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct sock_ip {
	int family;      /* AF_INET or AF_INET6 */
	uint8_t ip[16];  /* network order; AF_INET uses the first 4 bytes */
	uint16_t port;   /* host order */
};

/* sock_ip <-> sockaddr. -EAFNOSUPPORT for other families. */
int sock_ip_to_sockaddr(const struct sock_ip *a, struct sockaddr_storage *ss, socklen_t *len);
int sock_ip_from_sockaddr(struct sock_ip *a, const struct sockaddr *sa, socklen_t len);
/* "127.0.0.1:4001" / "[::1]:4001" (for logs). */
void sock_ip_format(const struct sock_ip *a, char *out, size_t cap);
/* True for 0.0.0.0 / :: (an address that must not be advertised as is). */
int sock_ip_unspecified(const struct sock_ip *a);

/* Bound, listening socket (SO_REUSEADDR; IPV6_V6ONLY for AF_INET6). fd or -errno. */
int sock_listen(const struct sock_ip *a, int backlog);
/* Accepts one connection (no option set: see sock_nodelay). fd, -EAGAIN when
 * none is pending, -errno. */
int sock_accept(int lfd, struct sock_ip *peer);
/* Drops, in the kernel, every segment to listener lfd (of that family:
 * AF_INET or AF_INET6) from the n addresses in ips (IPv4: first 4 bytes;
 * IPv6: the /64 in the first 8), replacing the previous list; n == 0 removes
 * the filter. 0, -E2BIG (too many), -errno. */
int sock_set_blocklist(int lfd, int family, const uint8_t (*ips)[16], size_t n);
/* TCP_NODELAY (small protocol messages must not wait for Nagle). */
void sock_nodelay(int fd);
/* Starts a connect (TCP_NODELAY set): fd, the connection completes when it is
 * writable (then check sock_connect_result). -errno when it failed at once. */
int sock_connect(const struct sock_ip *a);
/* 0 when the pending connect succeeded, else -errno (e.g. -ECONNREFUSED). */
int sock_connect_result(int fd);
int sock_local(int fd, struct sock_ip *a);
int sock_peer(int fd, struct sock_ip *a);
/* Bytes read (> 0), 0 at EOF, -EAGAIN, -errno. */
ssize_t sock_read(int fd, void *p, size_t n);
/* Bytes written (> 0), -EAGAIN, -errno (never SIGPIPE). */
ssize_t sock_write(int fd, const void *p, size_t n);
/* Abortive close (SO_LINGER 0: RST) for connections ended for misbehaviour. */
void sock_abort(int fd);
void sock_close(int fd);

#endif
