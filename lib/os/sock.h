/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking TCP sockets and name resolution that never blocks the loop.
 *
 * Every fd made here is O_NONBLOCK|O_CLOEXEC; the caller registers it with the
 * reactor and calls these helpers when it is ready. Return values follow the
 * library convention: >= 0 success, negative errno (-EAGAIN: not ready yet).
 * Addresses cross the layer boundary as (family, ip bytes, port) so that the
 * multiaddr code (codec) and the socket code stay apart.
 *
 * Resolution (/dns4, /dns6): glibc getaddrinfo_a() in GAI_NOWAIT mode with
 * SIGEV_NONE, and the caller polls sock_resolve_poll() from a timer. Chosen
 * over a resolver thread of our own because glibc already runs the lookup on
 * its helper thread, there is no signal to install (the library must not touch
 * process-wide signal state) and no fd to hand over. A request that is
 * abandoned while still running cannot be freed (glibc writes into it), so it
 * is parked and reaped by a later sock_resolve_* call once it finished.
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
/* Accepts one connection (TCP_NODELAY set). fd, -EAGAIN when none is pending, -errno. */
int sock_accept(int lfd, struct sock_ip *peer);
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

/* Asynchronous resolution. */
struct sock_resolve;
#define SOCK_RESOLVE_MAX 8

/* family: AF_INET (dns4) or AF_INET6 (dns6). -ENOMEM, -EINVAL, -EAGAIN (glibc out of resources). */
int sock_resolve_start(struct sock_resolve **ret, const char *host, int family, uint16_t port);
/*
 * -EAGAIN while pending. Done: fills up to cap addresses, returns how many
 * (>= 1); -ENOENT (no such name / no address of that family), -EIO (other
 * resolver failure). The request stays valid until sock_resolve_free.
 */
int sock_resolve_poll(struct sock_resolve *r, struct sock_ip *out, size_t cap);
/* Cancels if still running (the request is parked and reaped later). Accepts NULL. */
void sock_resolve_free(struct sock_resolve *r);
/* Requests parked because they were still running when freed (tests). */
size_t sock_resolve_parked(void);

#endif
