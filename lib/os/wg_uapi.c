/* SPDX-License-Identifier: MIT */
/* The userspace WireGuard backend (UAPI text protocol, wireguard.com/xplatform). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "wg_uapi.h"

extern char **environ;

#define SPAWN_POLL_US 10000ull
#define READ_CHUNK 65536u

enum op_kind { OP_GET, OP_SET, OP_LIST, OP_SPAWN };

struct uapi_op {
	struct uapi_op *next;
	enum op_kind kind;
	char ifname[WGDEV_IFNAMSIZ];
	struct buf req; /* may hold secrets: wiped */
	size_t req_off;
	struct buf resp; /* may hold secrets (get): wiped */
	size_t scan_pos, scan_line;
	union {
		wgbackend_get_cb get;
		wgbackend_set_cb set;
		wgbackend_list_cb list;
		wg_uapi_spawn_cb spawn;
	} cb;
	void *ud;
	/* OP_SPAWN */
	char *exe;
	uint64_t spawn_timeout;
	pid_t pid;
};

struct uapi_be {
	struct wgbackend base;
	char sockdir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct uapi_op *head, *tail; /* queued, not started */
	struct uapi_op *cur;
	int fd;
	bool reading;
	struct rtimer kick, deadline, poll;
	/* Implementations we started: reaped when they exit, so a long-running
	 * host never collects zombies (they are not killed on free: a later
	 * open adopts the running interface). */
	pid_t kids[16];
	size_t nkids;
};

static void reap_kids(struct uapi_be *u)
{
	for (size_t i = 0; i < u->nkids;) {
		pid_t r = waitpid(u->kids[i], NULL, WNOHANG);

		if (r == u->kids[i] || (r < 0 && errno == ECHILD)) {
			log_info(u->base.log, "wg-uapi: userspace implementation pid %d exited", (int)u->kids[i]);
			u->kids[i] = u->kids[--u->nkids];
			continue;
		}
		i++;
	}
}

/* ------------------------------------------------------------------ */
/* Pure protocol functions                                             */

static long resp_scan(const char *d, size_t len, size_t *pos, size_t *line)
{
	for (size_t i = *pos; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i == *line)
			return (long)(i + 1);
		if (i - *line + 1 > WG_UAPI_MAX_LINE)
			return W2W_EPROTO;
		*line = i + 1;
	}
	*pos = len;
	if (len - *line > WG_UAPI_MAX_LINE)
		return W2W_EPROTO;
	return 0;
}

long wg_uapi_response_len(const char *data, size_t len)
{
	size_t pos = 0, line = 0;

	return resp_scan(data, len, &pos, &line);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_key(uint8_t out[WGDEV_KEY_LEN], const char *v, size_t n)
{
	if (n != WGDEV_KEY_LEN * 2)
		return false;
	for (size_t i = 0; i < WGDEV_KEY_LEN; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* wireguard-go prints a link-local endpoint with its zone *name* ("[fe80::1%eth0]:51820",
 * Go's netip form); the shared parser takes numeric zones only, so resolve the name here.
 * A zone that does not exist in this namespace reads as scope 0 rather than failing the
 * whole device. */
static bool parse_endpoint_os(union wgendpoint *ep, const char *v, size_t n)
{
	char buf[WGENDPOINT_STRLEN + IF_NAMESIZE], zone[IF_NAMESIZE];
	const char *pct, *rb;
	size_t zl;
	int w;

	if (wgendpoint_parse(ep, v, n))
		return true;
	if (n == 0 || v[0] != '[' || !(pct = memchr(v, '%', n)) || !(rb = memchr(pct, ']', (size_t)(v + n - pct))))
		return false;
	zl = (size_t)(rb - pct - 1);
	if (zl == 0 || zl >= sizeof(zone))
		return false;
	memcpy(zone, pct + 1, zl);
	zone[zl] = '\0';
	w = snprintf(buf, sizeof(buf), "%.*s%%%u%.*s", (int)(pct - v), v, if_nametoindex(zone), (int)(v + n - rb), rb);
	if (w < 0 || (size_t)w >= sizeof(buf))
		return false;
	return wgendpoint_parse(ep, buf, (size_t)w);
}

/* "errno=N": the xplatform text says N; wireguard-go writes its IPC error codes as
 * negative numbers (IpcErrorIO = -EIO, IpcErrorPortInUse = -EADDRINUSE, ...), and
 * wg(8) passes either through. Both signs mean errno |N|. Values past 999 are not
 * errno numbers (and would collide with the W2W_E* band): malformed. */
static bool parse_errno(uint64_t *out, const char *v, size_t n)
{
	if (n > 1 && v[0] == '-') {
		v++;
		n--;
	}
	return wgdev_parse_u64(out, v, n, 999);
}

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

int wg_uapi_parse_get(const char *data, size_t len, const char *ifname, struct wgdevice **out,
		      unsigned *errline)
{
	struct wgdevice *dev = wgdev_new();
	struct wgpeer *peer = NULL;
	size_t off = 0, npeers = 0, naips = 0;
	unsigned line = 0;
	bool have_errno = false, done = false;
	uint64_t errnum = 0, v;
	int ret = W2W_EPROTO;

	if (!dev)
		return -ENOMEM;
	if (ifname && wgdev_set_name(dev, ifname) < 0) {
		ret = -EINVAL;
		goto out;
	}
	while (off < len) {
		const char *l = data + off, *nl = memchr(l, '\n', len - off), *eq, *val;
		size_t ln, kn, vn;

		line++;
		if (!nl)
			goto out; /* truncated: a line without its end */
		ln = (size_t)(nl - l);
		off += ln + 1;
		if (ln + 1 > WG_UAPI_MAX_LINE)
			goto out;
		if (ln == 0) {
			done = true;
			break;
		}
		if (have_errno)
			goto out; /* errno is the last key */
		eq = memchr(l, '=', ln);
		if (!eq)
			goto out;
		kn = (size_t)(eq - l);
		val = eq + 1;
		vn = ln - kn - 1;
		if (key_is(l, kn, "errno")) {
			if (!parse_errno(&errnum, val, vn))
				goto out;
			have_errno = true;
		} else if (key_is(l, kn, "public_key")) {
			if (++npeers > WG_UAPI_MAX_PEERS) {
				ret = W2W_ELIMIT;
				goto out;
			}
			peer = wgdev_add_peer(dev);
			if (!peer) {
				ret = -ENOMEM;
				goto out;
			}
			if (!parse_key(peer->public_key, val, vn))
				goto out;
			peer->flags |= WGPEER_HAS_PUBLIC_KEY;
		} else if (!peer) {
			if (key_is(l, kn, "private_key")) {
				if (!parse_key(dev->private_key, val, vn))
					goto out;
				if (!wgdev_key_is_zero(dev->private_key))
					dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
			} else if (key_is(l, kn, "listen_port")) {
				if (!wgdev_parse_u64(&v, val, vn, 0xffff))
					goto out;
				dev->listen_port = (uint16_t)v;
				dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
			} else if (key_is(l, kn, "fwmark")) {
				if (!wgdev_parse_u64(&v, val, vn, 0xffffffff))
					goto out;
				dev->fwmark = (uint32_t)v;
				dev->flags |= WGDEVICE_HAS_FWMARK;
			} else if (key_is(l, kn, "preshared_key") || key_is(l, kn, "endpoint") ||
				   key_is(l, kn, "allowed_ip")) {
				goto out; /* peer keys before any public_key */
			}
		} else if (key_is(l, kn, "preshared_key")) {
			if (!parse_key(peer->preshared_key, val, vn))
				goto out;
			if (!wgdev_key_is_zero(peer->preshared_key))
				peer->flags |= WGPEER_HAS_PRESHARED_KEY;
		} else if (key_is(l, kn, "endpoint")) {
			if (!parse_endpoint_os(&peer->endpoint, val, vn))
				goto out;
		} else if (key_is(l, kn, "persistent_keepalive_interval")) {
			if (!wgdev_parse_u64(&v, val, vn, 0xffff))
				goto out;
			peer->persistent_keepalive_interval = (uint16_t)v;
			peer->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
		} else if (key_is(l, kn, "allowed_ip")) {
			struct wgallowedip *a;

			if (++naips > WG_UAPI_MAX_ALLOWEDIPS) {
				ret = W2W_ELIMIT;
				goto out;
			}
			a = wgpeer_add_allowedip(peer);
			if (!a) {
				ret = -ENOMEM;
				goto out;
			}
			if (!wgallowedip_parse(a, val, vn))
				goto out;
		} else if (key_is(l, kn, "last_handshake_time_sec")) {
			if (!wgdev_parse_u64(&v, val, vn, INT64_MAX))
				goto out;
			peer->last_handshake_time.tv_sec = (int64_t)v;
		} else if (key_is(l, kn, "last_handshake_time_nsec")) {
			if (!wgdev_parse_u64(&v, val, vn, 999999999))
				goto out;
			peer->last_handshake_time.tv_nsec = (int64_t)v;
		} else if (key_is(l, kn, "rx_bytes")) {
			if (!wgdev_parse_u64(&v, val, vn, UINT64_MAX))
				goto out;
			peer->rx_bytes = v;
		} else if (key_is(l, kn, "tx_bytes")) {
			if (!wgdev_parse_u64(&v, val, vn, UINT64_MAX))
				goto out;
			peer->tx_bytes = v;
		}
		/* other keys (protocol_version, future ones) are skipped */
	}
	if (!done || !have_errno || off != len)
		goto out; /* truncated, or bytes after the end */
	if (errnum) {
		ret = -(int)errnum;
		goto out;
	}
	*out = dev;
	dev = NULL;
	ret = 0;
out:
	if (ret < 0 && errline)
		*errline = line;
	wgdev_free(dev);
	return ret;
}

int wg_uapi_parse_set(const char *data, size_t len)
{
	static const char pfx[] = "errno=";
	uint64_t e;
	size_t n;

	if (len < sizeof(pfx) - 1 + 3 || memcmp(data, pfx, sizeof(pfx) - 1) != 0)
		return W2W_EPROTO;
	if (data[len - 1] != '\n' || data[len - 2] != '\n')
		return W2W_EPROTO;
	n = len - (sizeof(pfx) - 1) - 2;
	if (!parse_errno(&e, data + sizeof(pfx) - 1, n))
		return W2W_EPROTO;
	return e ? -(int)e : 0;
}

static int put_key(struct buf *b, const char *name, const uint8_t k[WGDEV_KEY_LEN])
{
	static const char hx[] = "0123456789abcdef";
	char line[32 + 2 * WGDEV_KEY_LEN + 2];
	size_t n = strlen(name), o;
	int ret;

	memcpy(line, name, n);
	line[n] = '=';
	o = n + 1;
	for (size_t i = 0; i < WGDEV_KEY_LEN; i++) {
		line[o++] = hx[k[i] >> 4];
		line[o++] = hx[k[i] & 15];
	}
	line[o++] = '\n';
	ret = buf_append(b, line, o);
	explicit_bzero(line, sizeof(line));
	return ret;
}

static int put_endpoint(struct buf *b, const union wgendpoint *ep)
{
	char t[WGENDPOINT_STRLEN];
	int ret = wgendpoint_format(t, sizeof(t), ep);

	return ret < 0 ? ret : buf_printf(b, "endpoint=%s\n", t);
}

int wg_uapi_build_set(const struct wgdevice *dev, struct buf *b)
{
	const struct wgpeer *p;
	const struct wgallowedip *a;
	char ip[WGALLOWEDIP_STRLEN];
	int ret;

	ret = buf_append(b, "set=1\n", 6);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_PRIVATE_KEY))
		ret = put_key(b, "private_key", dev->private_key);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_LISTEN_PORT))
		ret = buf_printf(b, "listen_port=%u\n", dev->listen_port);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_FWMARK))
		ret = buf_printf(b, "fwmark=%u\n", dev->fwmark);
	if (ret >= 0 && (dev->flags & WGDEVICE_REPLACE_PEERS))
		ret = buf_append(b, "replace_peers=true\n", 19);
	for (p = dev->first_peer; p && ret >= 0; p = p->next_peer) {
		ret = put_key(b, "public_key", p->public_key);
		if (ret >= 0 && (p->flags & WGPEER_REMOVE_ME)) {
			ret = buf_append(b, "remove=true\n", 12);
			continue;
		}
		if (ret >= 0 && (p->flags & WGPEER_UPDATE_ONLY))
			ret = buf_append(b, "update_only=true\n", 17);
		if (ret >= 0 && (p->flags & WGPEER_HAS_PRESHARED_KEY))
			ret = put_key(b, "preshared_key", p->preshared_key);
		if (ret >= 0 && (p->endpoint.addr.sa_family == AF_INET || p->endpoint.addr.sa_family == AF_INET6))
			ret = put_endpoint(b, &p->endpoint);
		if (ret >= 0 && (p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE))
			ret = buf_printf(b, "persistent_keepalive_interval=%u\n", p->persistent_keepalive_interval);
		if (ret >= 0 && (p->flags & WGPEER_REPLACE_ALLOWEDIPS))
			ret = buf_append(b, "replace_allowed_ips=true\n", 25);
		for (a = p->first_allowedip; a && ret >= 0; a = a->next_allowedip) {
			ret = wgallowedip_format(ip, sizeof(ip), a);
			if (ret >= 0)
				ret = buf_printf(b, "allowed_ip=%s\n", ip);
		}
	}
	if (ret >= 0)
		ret = buf_append(b, "\n", 1);
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------------ */
/* Engine                                                              */

static void op_free(struct uapi_op *op)
{
	if (!op)
		return;
	buf_free_wipe(&op->req);
	buf_free_wipe(&op->resp);
	free(op->exe);
	free(op);
}

int wg_uapi_sock_path(const struct wgbackend *be, const char *ifname, char *out, size_t cap)
{
	const struct uapi_be *u = (const struct uapi_be *)be;
	int n;

	if (!ifname || !*ifname || strchr(ifname, '/') || strlen(ifname) >= WGDEV_IFNAMSIZ)
		return -EINVAL;
	n = snprintf(out, cap, "%s/%s.sock", u->sockdir, ifname);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static void close_fd(struct uapi_be *u)
{
	if (u->fd >= 0) {
		reactor_io_del(u->base.r, u->fd);
		close(u->fd);
		u->fd = -1;
	}
	u->reading = false;
}

static void schedule_next(struct uapi_be *u)
{
	if (!u->cur && u->head && !rtimer_armed(&u->kick))
		reactor_timer_arm(u->base.r, &u->kick, 0);
}

/* Completes the current op. Touches nothing of u after the callback (it may free u). */
static void finish(struct uapi_be *u, int err, struct wgdevice *dev, char *names)
{
	struct uapi_op *op = u->cur;

	close_fd(u);
	reactor_timer_disarm(u->base.r, &u->deadline);
	reactor_timer_disarm(u->base.r, &u->poll);
	u->cur = NULL;
	if (err < 0) {
		u->base.stats.ops_failed++;
		log_debug(u->base.log, "wg-uapi: %s: operation failed: %s", op->ifname, err_str(err));
	} else {
		u->base.stats.ops_done++;
	}
	schedule_next(u);
	switch (op->kind) {
	case OP_GET:
		op->cb.get(op->ud, err, err < 0 ? NULL : dev);
		break;
	case OP_SET:
		op->cb.set(op->ud, err);
		break;
	case OP_LIST:
		op->cb.list(op->ud, err, err < 0 ? NULL : names);
		break;
	case OP_SPAWN:
		op->cb.spawn(op->ud, err, err < 0 ? -1 : op->pid);
		break;
	}
	if (err < 0) {
		wgdev_free(dev);
		free(names);
	}
	op_free(op);
}

static void response_done(struct uapi_be *u, size_t len)
{
	struct uapi_op *op = u->cur;
	struct wgdevice *dev = NULL;
	unsigned line = 0;
	int ret;

	u->base.stats.msgs_recv++;
	if (op->kind == OP_GET) {
		ret = wg_uapi_parse_get((const char *)op->resp.data, len, op->ifname, &dev, &line);
		if (ret == W2W_EPROTO)
			log_warn(u->base.log, "wg-uapi: %s: malformed get response (line %u)", op->ifname, line);
	} else {
		ret = wg_uapi_parse_set((const char *)op->resp.data, len);
		if (ret == W2W_EPROTO) {
			/* A set response holds no secret: show its start, escaped. */
			char shown[64];
			size_t k = 0;

			for (size_t i = 0; i < len && k + 5 < sizeof(shown); i++) {
				unsigned char c = op->resp.data[i];

				if (c >= 0x20 && c < 0x7f && c != '\\')
					shown[k++] = (char)c;
				else
					k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\x%02x", c);
			}
			shown[k] = '\0';
			log_warn(u->base.log, "wg-uapi: %s: malformed set response (%zu bytes): \"%s\"", op->ifname, len,
				 shown);
		}
	}
	if (ret < 0 && ret != W2W_EPROTO && ret > W2W_EBASE)
		log_info(u->base.log, "wg-uapi: %s: userspace implementation returned errno=%d", op->ifname, -ret);
	finish(u, ret, dev, NULL);
}

static void on_io(void *ud, int fd, int revents, uint64_t now_us)
{
	struct uapi_be *u = ud;
	struct uapi_op *op = u->cur;

	if (!op)
		return;
	if (!u->reading) {
		while (op->req_off < op->req.len) {
			ssize_t n = send(fd, op->req.data + op->req_off, op->req.len - op->req_off, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				log_warn(u->base.log, "wg-uapi: %s: write: %s", op->ifname, strerror(errno));
				finish(u, errno == EPIPE || errno == ECONNRESET ? -ENODEV : -errno, NULL, NULL);
				return;
			}
			op->req_off += (size_t)n;
			u->base.stats.bytes_sent += (uint64_t)n;
		}
		u->base.stats.msgs_sent++;
		buf_free_wipe(&op->req);
		u->reading = true;
		reactor_io_events(u->base.r, fd, W2W_IO_READ);
		return;
	}
	for (int i = 0; i < 64; i++) {
		uint8_t *p;
		size_t room = buf_room(&op->resp);
		ssize_t n;
		long done;

		if (room == 0) {
			log_warn(u->base.log, "wg-uapi: %s: response larger than %u bytes", op->ifname,
				 WG_UAPI_MAX_RESPONSE);
			finish(u, W2W_ELIMIT, NULL, NULL);
			return;
		}
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		if (buf_reserve(&op->resp, room) < 0) {
			finish(u, -ENOMEM, NULL, NULL);
			return;
		}
		p = op->resp.data + op->resp.len;
		n = recv(fd, p, room, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(u, errno == ECONNRESET ? -ENODEV : -errno, NULL, NULL);
			return;
		}
		if (n == 0) {
			log_warn(u->base.log, "wg-uapi: %s: connection closed after %zu bytes: truncated response",
				 op->ifname, op->resp.len);
			finish(u, W2W_EPROTO, NULL, NULL);
			return;
		}
		op->resp.len += (size_t)n;
		u->base.stats.bytes_recv += (uint64_t)n;
		done = resp_scan((const char *)op->resp.data, op->resp.len, &op->scan_pos, &op->scan_line);
		if (done < 0) {
			log_warn(u->base.log, "wg-uapi: %s: response line too long", op->ifname);
			finish(u, (int)done, NULL, NULL);
			return;
		}
		if (done > 0) {
			response_done(u, (size_t)done);
			return;
		}
	}
}

static int uapi_connect(struct uapi_be *u, const char *ifname, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ret;

	ret = wg_uapi_sock_path(&u->base, ifname, sa.sun_path, sizeof(sa.sun_path));
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		ret = errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

static void on_deadline(void *ud, uint64_t now_us)
{
	struct uapi_be *u = ud;

	if (!u->cur)
		return;
	log_warn(u->base.log, "wg-uapi: %s: operation timed out", u->cur->ifname);
	if (u->cur->kind == OP_SPAWN && u->cur->pid > 0) {
		kill(u->cur->pid, SIGKILL);
		waitpid(u->cur->pid, NULL, 0); /* immediate after SIGKILL */
	}
	finish(u, W2W_ETIMEDOUT, NULL, NULL);
}

static void spawn_poll(void *ud, uint64_t now_us)
{
	struct uapi_be *u = ud;
	struct uapi_op *op = u->cur;
	int st, fd;

	if (!op)
		return;
	if (waitpid(op->pid, &st, WNOHANG) == op->pid) {
		log_warn(u->base.log, "wg-uapi: %s: %s exited (status %d) before its socket appeared", op->ifname,
			 op->exe, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		op->pid = -1;
		finish(u, -ECHILD, NULL, NULL);
		return;
	}
	if (uapi_connect(u, op->ifname, &fd) == 0) {
		close(fd);
		if (u->nkids < sizeof(u->kids) / sizeof(u->kids[0]))
			u->kids[u->nkids++] = op->pid;
		log_info(u->base.log, "wg-uapi: %s: %s running as pid %d", op->ifname, op->exe, (int)op->pid);
		finish(u, 0, NULL, NULL);
		return;
	}
	reactor_timer_arm(u->base.r, &u->poll, now_us + SPAWN_POLL_US);
}

static int start_spawn(struct uapi_be *u, struct uapi_op *op, uint64_t now)
{
	posix_spawn_file_actions_t fa;
	char *argv[3] = {op->exe, op->ifname, NULL};
	char **envp = NULL;
	size_t n = 0;
	int ret;

	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		log_warn(u->base.log, "wg-uapi: /dev/net/tun unavailable: cannot start %s", op->exe);
		return -ENODEV;
	}
	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (strncmp(environ[i], "WG_PROCESS_FOREGROUND=", 22) != 0)
				envp[k++] = environ[i];
		envp[k] = "WG_PROCESS_FOREGROUND=1";
	}
	ret = posix_spawn_file_actions_init(&fa);
	if (ret) {
		free(envp);
		return -ret;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	ret = posix_spawnp(&op->pid, op->exe, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	if (ret) {
		log_warn(u->base.log, "wg-uapi: cannot start %s: %s", op->exe, strerror(ret));
		return -ret;
	}
	reactor_timer_arm(u->base.r, &u->deadline, now + op->spawn_timeout);
	reactor_timer_arm(u->base.r, &u->poll, now + SPAWN_POLL_US);
	return 0;
}

static int list_names(struct uapi_be *u, char **out)
{
	struct buf b;
	DIR *d = opendir(u->sockdir);
	struct dirent *e;
	int ret = 0;

	buf_init(&b, 1u << 20);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
	} else {
		while ((e = readdir(d)) && ret >= 0) {
			size_t l = strlen(e->d_name);

			if (l <= 5 || l - 5 >= WGDEV_IFNAMSIZ || strcmp(e->d_name + l - 5, ".sock") != 0)
				continue;
			ret = buf_append(&b, e->d_name, l - 5);
			if (ret >= 0)
				ret = buf_append_u8(&b, 0);
		}
		closedir(d);
	}
	if (ret >= 0)
		ret = buf_append_u8(&b, 0);
	if (ret < 0) {
		buf_free(&b);
		return ret;
	}
	*out = (char *)b.data;
	return 0;
}

static void on_kick(void *ud, uint64_t now_us)
{
	struct uapi_be *u = ud;
	struct uapi_op *op;
	char *names = NULL;
	int ret;

	reap_kids(u);
	if (u->cur || !u->head)
		return;
	op = u->cur = u->head;
	u->head = op->next;
	if (!u->head)
		u->tail = NULL;
	op->next = NULL;
	switch (op->kind) {
	case OP_LIST:
		ret = list_names(u, &names);
		finish(u, ret, NULL, names);
		return;
	case OP_SPAWN:
		ret = start_spawn(u, op, now_us);
		if (ret < 0)
			finish(u, ret, NULL, NULL);
		return;
	case OP_GET:
	case OP_SET:
		break;
	}
	ret = uapi_connect(u, op->ifname, &u->fd);
	if (ret >= 0) {
		ret = reactor_io_set(u->base.r, u->fd, W2W_IO_WRITE, on_io, u);
		if (ret >= 0)
			/* wireguard-go spends ~1 us per request byte on a large set (one
			 * X25519 per new peer): the deadline grows with the request. */
			ret = reactor_timer_arm(u->base.r, &u->deadline,
						now_us + WGBACKEND_TIMEOUT_US + 4 * (uint64_t)op->req.len);
	}
	if (ret < 0)
		finish(u, ret, NULL, NULL);
}

static struct uapi_op *op_new(struct uapi_be *u, enum op_kind kind, const char *ifname)
{
	struct uapi_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	buf_init(&op->req, 0);
	buf_init(&op->resp, WG_UAPI_MAX_RESPONSE);
	if (ifname)
		snprintf(op->ifname, sizeof(op->ifname), "%s", ifname);
	return op;
}

static void enqueue(struct uapi_be *u, struct uapi_op *op)
{
	if (u->tail)
		u->tail->next = op;
	else
		u->head = op;
	u->tail = op;
	schedule_next(u);
}

static bool ifname_ok(const char *ifname)
{
	struct wgdevice d;

	return wgdev_set_name(&d, ifname) == 0;
}

static int uapi_get(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb, void *ud)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op;

	if (!cb || !ifname_ok(ifname))
		return -EINVAL;
	op = op_new(u, OP_GET, ifname);
	if (!op)
		return -ENOMEM;
	if (buf_append(&op->req, "get=1\n\n", 7) < 0) {
		op_free(op);
		return -ENOMEM;
	}
	op->cb.get = cb;
	op->ud = ud;
	enqueue(u, op);
	return 0;
}

static int uapi_set(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb, void *ud)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op;
	int ret;

	if (!cb || !ifname_ok(dev->name))
		return -EINVAL;
	op = op_new(u, OP_SET, dev->name);
	if (!op)
		return -ENOMEM;
	ret = wg_uapi_build_set(dev, &op->req);
	if (ret < 0) {
		op_free(op);
		return ret;
	}
	op->cb.set = cb;
	op->ud = ud;
	enqueue(u, op);
	return 0;
}

static int uapi_list(struct wgbackend *be, wgbackend_list_cb cb, void *ud)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op;

	if (!cb)
		return -EINVAL;
	op = op_new(u, OP_LIST, "*");
	if (!op)
		return -ENOMEM;
	op->cb.list = cb;
	op->ud = ud;
	enqueue(u, op);
	return 0;
}

int wg_uapi_spawn(struct wgbackend *be, const char *ifname, const char *exe, uint64_t timeout_us,
		  wg_uapi_spawn_cb cb, void *ud)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op;

	if (!cb || !ifname_ok(ifname))
		return -EINVAL;
	op = op_new(u, OP_SPAWN, ifname);
	if (!op)
		return -ENOMEM;
	op->exe = strdup(exe && *exe ? exe : "wireguard-go");
	if (!op->exe) {
		op_free(op);
		return -ENOMEM;
	}
	op->spawn_timeout = timeout_us ? timeout_us : WGBACKEND_TIMEOUT_US;
	op->pid = -1;
	op->cb.spawn = cb;
	op->ud = ud;
	enqueue(u, op);
	return 0;
}

int wg_uapi_stop(pid_t pid, int wait_ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	if (pid <= 0)
		return -EINVAL;
	if (kill(pid, SIGTERM) < 0)
		return -errno;
	for (int waited = 0; waited < wait_ms; waited += 10) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

static void uapi_free(struct wgbackend *be)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op, *n;

	close_fd(u);
	reactor_timer_disarm(u->base.r, &u->kick);
	reactor_timer_disarm(u->base.r, &u->deadline);
	reactor_timer_disarm(u->base.r, &u->poll);
	/* A wireguard-go being started keeps running: a later open adopts it. */
	op_free(u->cur);
	for (op = u->head; op; op = n) {
		n = op->next;
		op_free(op);
	}
	free(u);
}

static const struct wgbackend_ops uapi_ops = {
	.name = "userspace",
	.get_device = uapi_get,
	.set_device = uapi_set,
	.list_devices = uapi_list,
	.free = uapi_free,
};

int wg_uapi_new(struct reactor *r, const struct wlog *log, const char *sockdir, struct wgbackend **out)
{
	struct uapi_be *u;

	if (!sockdir)
		sockdir = WG_UAPI_SOCKDIR;
	if (strlen(sockdir) + 1 + WGDEV_IFNAMSIZ + 5 > sizeof(u->sockdir))
		return -ENAMETOOLONG;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->base.ops = &uapi_ops;
	u->base.r = r;
	u->base.log = log;
	snprintf(u->sockdir, sizeof(u->sockdir), "%s", sockdir);
	u->fd = -1;
	rtimer_init(&u->kick, on_kick, u);
	rtimer_init(&u->deadline, on_deadline, u);
	rtimer_init(&u->poll, spawn_poll, u);
	*out = &u->base;
	return 0;
}
