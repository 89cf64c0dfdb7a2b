/* SPDX-License-Identifier: MIT */
/*
 * libnss_w2wesher.so.2: mesh node names through the system resolver
 * (docs/operations.md "Node names"), `hosts: files w2wesher dns` in
 * /etc/nsswitch.conf. The shape follows systemd's nss-mymachines: the
 * module asks the running daemon(s) and answers from their reply; nothing is
 * written to /etc/hosts.
 *
 * Every lookup of a well-formed multi-label name connects to each daemon's
 * socket in W2W_NSS_SOCKET_DIR (at most MAX_SOCKS daemons, in name order),
 * sends "resolve NAME\n" (tools/ctlproto.h) and takes the answer of the first
 * socket, in name order, that knows the name. A daemon's socket is its lookup
 * socket X.names.sock (mode 0666: any user may resolve) when one accepts the
 * connection, else its control socket X.sock (0660: only its owner, group and
 * root get an answer; a daemon run with --private-names, or an older one). All sockets are asked at once,
 * non-blocking, under one deadline of TIMEOUT_MS: a stopped, hung or
 * overloaded daemon costs at most that, then the name is "not found" and the
 * next source in nsswitch.conf is asked.
 *
 * The module is loaded into arbitrary processes (setuid ones included), so:
 * plain libc only, no global or static state, no environment, no heap, no
 * signals (MSG_NOSIGNAL), close-on-exec descriptors closed before returning,
 * and errno left as it was unless an error is reported. The name is checked
 * to be LDH labels before it is sent, so no byte of a caller's string can
 * reach the control protocol as anything but a name.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef W2W_NSS_SOCKET_DIR
#define W2W_NSS_SOCKET_DIR "/run/w2wesher"
#endif

#define MAX_SOCKS 16     /* clusters on one host asked per lookup */
#define TIMEOUT_MS 250   /* for all of them together */
#define NAME_MAX_LEN 253 /* RFC 1035 2.3.4, without the trailing dot */
#define REPLY_MAX 512    /* "FQDN ADDRESS\n" fits easily */

#define ALIGN_PTR(l) (((l) + sizeof(void *) - 1) & ~(sizeof(void *) - 1))

#define EXPORT __attribute__((visibility("default")))

/* glibc's <nss.h> declares struct gaih_addrtuple; the entry points are not
 * declared anywhere, so declare them here (-Wmissing-prototypes). */
EXPORT enum nss_status _nss_w2wesher_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
                                                      size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp);
EXPORT enum nss_status _nss_w2wesher_gethostbyname3_r(const char *name, int af, struct hostent *result,
                                                      char *buffer, size_t buflen, int *errnop, int *h_errnop,
                                                      int32_t *ttlp, char **canonp);
EXPORT enum nss_status _nss_w2wesher_gethostbyname2_r(const char *name, int af, struct hostent *result,
                                                      char *buffer, size_t buflen, int *errnop, int *h_errnop);
EXPORT enum nss_status _nss_w2wesher_gethostbyname_r(const char *name, struct hostent *result, char *buffer,
                                                     size_t buflen, int *errnop, int *h_errnop);
EXPORT enum nss_status _nss_w2wesher_gethostbyaddr2_r(const void *addr, socklen_t len, int af,
                                                      struct hostent *result, char *buffer, size_t buflen,
                                                      int *errnop, int *h_errnop, int32_t *ttlp);
EXPORT enum nss_status _nss_w2wesher_gethostbyaddr_r(const void *addr, socklen_t len, int af,
                                                     struct hostent *result, char *buffer, size_t buflen,
                                                     int *errnop, int *h_errnop);

struct answer {
	char name[NAME_MAX_LEN + 1];
	int family;
	uint8_t addr[16];
};

/* A multi-label host name of LDH labels (RFC 1035 2.3.1), 1..63 bytes each,
 * an optional trailing dot. Copies it without the dot into out. */
static bool name_ok(const char *s, char out[NAME_MAX_LEN + 1])
{
	size_t n = strnlen(s, NAME_MAX_LEN + 2), label = 0, dots = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			dots++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if ((c == '-' && !label) || ++label > 63)
			return false;
	}
	if (!label || s[n - 1] == '-' || !dots)
		return false;
	memcpy(out, s, n);
	out[n] = 0;
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses "FQDN ADDRESS\n" answering q (its name, or with q->name "" its
 * address) into a; false for anything else. */
static bool parse_reply(const char *r, size_t n, const struct answer *q, struct answer *a)
{
	char buf[REPLY_MAX + 1], *sp, *nl;

	if (n == 0 || n > REPLY_MAX)
		return false;
	memcpy(buf, r, n);
	buf[n] = 0;
	nl = strchr(buf, '\n');
	sp = strchr(buf, ' ');
	if (!nl || !sp || sp > nl || nl[1] || (size_t)(sp - buf) > NAME_MAX_LEN)
		return false;
	*sp = *nl = 0;
	if (!name_ok(buf, a->name) || (q->name[0] && strcasecmp(a->name, q->name) != 0))
		return false;
	if (inet_pton(AF_INET6, sp + 1, a->addr) == 1)
		a->family = AF_INET6;
	else if (inet_pton(AF_INET, sp + 1, a->addr) == 1)
		a->family = AF_INET;
	else
		return false;
	return q->name[0] || (a->family == q->family && !memcmp(a->addr, q->addr, a->family == AF_INET6 ? 16 : 4));
}

struct sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t stem; /* length of the path without ".sock" / ".names.sock" */
	int fd;
	bool done;
	size_t len;
	char reply[REPLY_MAX + 1];
};

static bool is_names(const struct sock *s)
{
	return s->path[s->stem + 1] == 'n'; /* ".names.sock", not ".sock" */
}

/* By daemon (the stem), its lookup socket first. */
static int cmp_path(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;
	size_t m = x->stem < y->stem ? x->stem : y->stem;
	int r = memcmp(x->path, y->path, m);

	if (r)
		return r;
	if (x->stem != y->stem)
		return x->stem < y->stem ? -1 : 1;
	return (int)is_names(y) - (int)is_names(x);
}

static bool same_stem(const struct sock *a, const struct sock *b)
{
	return a->stem == b->stem && !memcmp(a->path, b->path, a->stem);
}

/* Lists the daemons' sockets in the socket directory (those of the first
 * MAX_SOCKS daemons), sorted by daemon: for each stem X its X.names.sock
 * first, then X.sock. Ignores the directory when anyone may write it: a
 * planted socket could answer lies. */
static size_t list_socks(struct sock *s)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	size_t n = 0, stems = 0, i;

	if (stat(W2W_NSS_SOCKET_DIR, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IWOTH))
		return 0;
	d = opendir(W2W_NSS_SOCKET_DIR);
	if (!d)
		return 0;
	/* Up to two sockets per daemon are listed; s holds 2 * MAX_SOCKS. */
	while (n < 2 * MAX_SOCKS && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), suffix = 5;

		if (l <= 5 || strcmp(de->d_name + l - 5, ".sock") != 0 || de->d_name[0] == '.')
			continue;
		if (l > 11 && !strcmp(de->d_name + l - 11, ".names.sock"))
			suffix = 11;
		if ((size_t)snprintf(s[n].path, sizeof(s[n].path), "%s/%s", W2W_NSS_SOCKET_DIR, de->d_name) >=
		    sizeof(s[n].path))
			continue;
		s[n].stem = strlen(s[n].path) - suffix;
		n++;
	}
	closedir(d);
	qsort(s, n, sizeof(*s), cmp_path);
	for (i = 0; i < n; i++) {
		if (i && same_stem(&s[i - 1], &s[i]))
			continue;
		if (stems == MAX_SOCKS)
			break;
		stems++;
	}
	return i;
}

/* The first socket in name order that knows the name decides: true once it,
 * and every socket before it, is done (final: skip those still waiting). */
static bool pick(struct sock *s, size_t n, const struct answer *q, struct answer *a, bool final)
{
	for (size_t i = 0; i < n; i++) {
		if (!s[i].done && !final)
			return false;
		if (s[i].fd >= 0 && s[i].len && parse_reply(s[i].reply, s[i].len, q, a))
			return true;
	}
	return false;
}

/* Asks every daemon about q (a name, or with q->name "" an address); true
 * with *a filled when one knows it. */
static bool ask_daemons(const struct answer *q, struct answer *a)
{
	struct sock s[2 * MAX_SOCKS];
	struct pollfd pfd[2 * MAX_SOCKS];
	char req[NAME_MAX_LEN + 32], ip[INET6_ADDRSTRLEN];
	int reqlen = q->name[0] ? snprintf(req, sizeof(req), "resolve %s\n", q->name)
	                        : snprintf(req, sizeof(req), "resolve-addr %s\n",
	                                   inet_ntop(q->family, q->addr, ip, sizeof(ip)));
	int64_t deadline = now_ms() + TIMEOUT_MS;
	size_t n = list_socks(s);
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_un sa;

		s[i].done = true;
		s[i].len = 0;
		s[i].fd = -1;
		/* The control socket only when the lookup socket before it failed. */
		if (i && same_stem(&s[i - 1], &s[i]) && s[i - 1].fd >= 0)
			continue;
		s[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s[i].fd < 0)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, s[i].path, strlen(s[i].path) + 1);
		/* AF_UNIX connect completes at once or fails (EAGAIN: backlog full,
		 * ENOENT/ECONNREFUSED: no daemon, EACCES: not in the socket's group). */
		if (connect(s[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    send(s[i].fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen) {
			close(s[i].fd);
			s[i].fd = -1;
			continue;
		}
		s[i].done = false;
	}
	for (int rounds = 0; rounds < 64; rounds++) {
		size_t np = 0;
		int64_t left;
		int r;

		if ((found = pick(s, n, q, a, false)))
			break;
		for (size_t i = 0; i < n; i++)
			if (!s[i].done) {
				pfd[np].fd = s[i].fd;
				pfd[np].events = POLLIN;
				np++;
			}
		left = deadline - now_ms();
		if (np == 0 || left <= 0)
			break;
		r = poll(pfd, np, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		for (size_t i = 0, k = 0; i < n; i++) {
			ssize_t got;

			if (s[i].done)
				continue;
			if (!(pfd[k++].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = recv(s[i].fd, s[i].reply + s[i].len, sizeof(s[i].reply) - 1 - s[i].len, 0);
			if (got > 0)
				s[i].len += (size_t)got;
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) ||
			    s[i].len >= sizeof(s[i].reply) - 1)
				s[i].done = true;
		}
	}
	if (!found) /* out of time: the first of those that answered */
		found = pick(s, n, q, a, true);
	for (size_t i = 0; i < n; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	return found;
}

/* The lookup shared by every entry point (a name, or with name NULL the
 * address in q): SUCCESS with *a, or NOTFOUND. */
static enum nss_status lookup(const char *name, struct answer *q, struct answer *a, int *errnop, int *h_errnop)
{
	if (name) {
		memset(q, 0, sizeof(*q));
		if (!name_ok(name, q->name))
			q->name[0] = 0;
	}
	if ((!name || q->name[0]) && ask_daemons(q, a))
		return NSS_STATUS_SUCCESS;
	*errnop = ENOENT;
	*h_errnop = HOST_NOT_FOUND;
	return NSS_STATUS_NOTFOUND;
}

static enum nss_status erange(int *errnop, int *h_errnop)
{
	*errnop = ERANGE;
	*h_errnop = NETDB_INTERNAL;
	return NSS_STATUS_TRYAGAIN;
}

/* TTL 0: names follow the peer table, nothing may cache them. h_errno is
 * reset too, as nss-mymachines does (https://bugzilla.redhat.com/1125975). */
static void succeeded(int32_t *ttlp, int *h_errnop)
{
	if (ttlp)
		*ttlp = 0;
	*h_errnop = NETDB_SUCCESS;
	h_errno = 0;
}

/* Callers pass char buffers of any alignment; pointers stored in them must
 * be aligned (nss-mymachines relies on malloc'ed buffers; we do not). */
static char *align_buf(char *buffer, size_t *buflen)
{
	size_t skip = (size_t)(-(uintptr_t)buffer & (sizeof(void *) - 1));

	if (*buflen < skip)
		return NULL;
	*buflen -= skip;
	return buffer + skip;
}

enum nss_status _nss_w2wesher_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
                                               size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp)
{
	int saved = errno;
	struct answer q, a;
	struct gaih_addrtuple *t;
	enum nss_status st = lookup(name, &q, &a, errnop, h_errnop);
	size_t l, need;
	char *buf;

	if (st != NSS_STATUS_SUCCESS)
		goto out;
	l = strlen(a.name) + 1;
	need = ALIGN_PTR(l) + ALIGN_PTR(sizeof(struct gaih_addrtuple));
	buf = align_buf(buffer, &buflen);
	if (!buf || buflen < need) {
		st = erange(errnop, h_errnop);
		goto out;
	}
	/* Layout (as nss-mymachines): the name, then the one tuple. */
	memcpy(buf, a.name, l);
	t = (struct gaih_addrtuple *)(buf + ALIGN_PTR(l));
	memset(t, 0, sizeof(*t));
	t->name = buf;
	t->family = a.family;
	memcpy(t->addr, a.addr, a.family == AF_INET6 ? 16 : 4);
	/* A caller may hand in a tuple to fill (nscd does): copy into it. */
	if (*pat)
		**pat = *t;
	else
		*pat = t;
	succeeded(ttlp, h_errnop);
out:
	if (st != NSS_STATUS_TRYAGAIN)
		errno = saved;
	return st;
}

/* Fills a hostent with the answer (its own family): the layout of
 * nss-mymachines, name, aliases {NULL}, the address, list {addr, NULL}. */
static enum nss_status fill_hostent(const struct answer *a, struct hostent *result, char *buffer, size_t buflen,
                                    int *errnop, int *h_errnop, int32_t *ttlp, char **canonp)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4, l = strlen(a->name) + 1;
	size_t need = ALIGN_PTR(l) + sizeof(char *) + ALIGN_PTR(alen) + 2 * sizeof(char *);
	char *buf = align_buf(buffer, &buflen), *addr, **aliases, **list;

	if (!buf || buflen < need)
		return erange(errnop, h_errnop);
	memcpy(buf, a->name, l);
	aliases = (char **)(buf + ALIGN_PTR(l));
	aliases[0] = NULL;
	addr = (char *)(aliases + 1);
	memcpy(addr, a->addr, alen);
	list = (char **)(addr + ALIGN_PTR(alen));
	list[0] = addr;
	list[1] = NULL;
	result->h_name = buf;
	result->h_aliases = aliases;
	result->h_addrtype = a->family;
	result->h_length = (int)alen;
	result->h_addr_list = list;
	if (canonp)
		*canonp = buf;
	succeeded(ttlp, h_errnop);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_w2wesher_gethostbyname3_r(const char *name, int af, struct hostent *result, char *buffer,
                                               size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp,
                                               char **canonp)
{
	int saved = errno;
	struct answer q, a;
	enum nss_status st;

	if (af == AF_UNSPEC)
		af = AF_INET;
	if (af != AF_INET && af != AF_INET6) {
		*errnop = EAFNOSUPPORT;
		*h_errnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	st = lookup(name, &q, &a, errnop, h_errnop);
	if (st == NSS_STATUS_SUCCESS && a.family != af) {
		/* The name exists, without an address of this family. */
		*errnop = ENOENT;
		*h_errnop = NO_DATA;
		st = NSS_STATUS_NOTFOUND;
	} else if (st == NSS_STATUS_SUCCESS) {
		st = fill_hostent(&a, result, buffer, buflen, errnop, h_errnop, ttlp, canonp);
	}
	if (st != NSS_STATUS_TRYAGAIN)
		errno = saved;
	return st;
}

enum nss_status _nss_w2wesher_gethostbyname2_r(const char *name, int af, struct hostent *result, char *buffer,
                                               size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_w2wesher_gethostbyname3_r(name, af, result, buffer, buflen, errnop, h_errnop, NULL, NULL);
}

enum nss_status _nss_w2wesher_gethostbyname_r(const char *name, struct hostent *result, char *buffer,
                                              size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_w2wesher_gethostbyname3_r(name, AF_INET, result, buffer, buflen, errnop, h_errnop, NULL,
	                                      NULL);
}

/* Reverse: the node whose overlay address this is ("resolve-addr IP"). */
enum nss_status _nss_w2wesher_gethostbyaddr2_r(const void *addr, socklen_t len, int af, struct hostent *result,
                                               char *buffer, size_t buflen, int *errnop, int *h_errnop,
                                               int32_t *ttlp)
{
	int saved = errno;
	struct answer q, a;
	enum nss_status st;

	if (!addr || !((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16))) {
		*errnop = EAFNOSUPPORT;
		*h_errnop = NO_RECOVERY;
		return NSS_STATUS_UNAVAIL;
	}
	memset(&q, 0, sizeof(q));
	q.family = af;
	memcpy(q.addr, addr, len);
	st = lookup(NULL, &q, &a, errnop, h_errnop);
	if (st == NSS_STATUS_SUCCESS)
		st = fill_hostent(&a, result, buffer, buflen, errnop, h_errnop, ttlp, NULL);
	if (st != NSS_STATUS_TRYAGAIN)
		errno = saved;
	return st;
}

enum nss_status _nss_w2wesher_gethostbyaddr_r(const void *addr, socklen_t len, int af, struct hostent *result,
                                              char *buffer, size_t buflen, int *errnop, int *h_errnop)
{
	return _nss_w2wesher_gethostbyaddr2_r(addr, len, af, result, buffer, buflen, errnop, h_errnop, NULL);
}
