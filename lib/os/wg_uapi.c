/* SPDX-License-Identifier: MIT */
/* The userspace WireGuard backend (UAPI text protocol, wireguard.com/xplatform). */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "wg_spawn.h"
#include "wg_uapi.h"

#define READ_CHUNK 65536u

enum op_kind { OP_GET, OP_SET, OP_LIST, OP_CREATE };

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
	} cb;
	void *ud;
};

struct uapi_be {
	struct wgbackend base;
	char sockdir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct uapi_op *head, *tail; /* queued, not started */
	struct uapi_op *cur;
	int fd;
	bool reading;
	struct rtimer kick, deadline;
	char *exe;              /* NULL: "wireguard-go" from PATH */
	struct wg_spawn *spawn; /* OP_CREATE waiting for its process */
	/* Implementations we started: reaped when they exit, so a long-running
	 * host never collects zombies (they are not killed on free: a later
	 * engine adopts the running interface). */
	struct {
		pid_t pid;
		char ifname[WGDEV_IFNAMSIZ];
	} kids[16];
	size_t nkids;
};

static void reap_kids(struct uapi_be *u)
{
	for (size_t i = 0; i < u->nkids;) {
		pid_t r = waitpid(u->kids[i].pid, NULL, WNOHANG);

		if (r == u->kids[i].pid || (r < 0 && errno == ECHILD)) {
			log_info(u->base.log, "wg-uapi: userspace implementation pid %d exited", (int)u->kids[i].pid);
			if (u->base.child_pid == u->kids[i].pid)
				u->base.child_pid = -1;
			u->kids[i] = u->kids[--u->nkids];
			continue;
		}
		i++;
	}
}

/* ------------------------------------------------------------------ */
/* Engine                                                              */

static void op_free(struct uapi_op *op)
{
	if (!op)
		return;
	buf_free_wipe(&op->req);
	buf_free_wipe(&op->resp);
	free(op);
}

/* <sockdir>/<ifname>.sock into out; -ENAMETOOLONG / -EINVAL. */
static int wg_uapi_sock_path(const struct wgbackend *be, const char *ifname, char *out, size_t cap)
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
	u->spawn = NULL;
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
	case OP_CREATE:
		op->cb.set(op->ud, err);
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
		ret = wg_uapi_parse_get((const char *)op->resp.data, len, op->ifname, if_nametoindex, &dev, &line);
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
		done = wg_uapi_response_scan((const char *)op->resp.data, op->resp.len, &op->scan_pos, &op->scan_line);
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
	finish(u, W2W_ETIMEDOUT, NULL, NULL);
}

static void on_spawned(void *ud, int err, pid_t pid)
{
	struct uapi_be *u = ud;
	struct uapi_op *op = u->cur;

	u->spawn = NULL;
	if (err == 0) {
		if (u->nkids < sizeof(u->kids) / sizeof(u->kids[0])) {
			u->kids[u->nkids].pid = pid;
			snprintf(u->kids[u->nkids].ifname, sizeof(u->kids[0].ifname), "%s", op->ifname);
			u->nkids++;
		}
		u->base.child_pid = (int)pid;
	}
	finish(u, err, NULL, NULL);
}

/* create_device: a socket that accepts means the interface exists (adopted);
 * otherwise the implementation is started (wg_spawn.h). */
static int start_create(struct uapi_be *u, struct uapi_op *op)
{
	char path[sizeof(u->sockdir) + WGDEV_IFNAMSIZ + 8];
	int fd, ret;

	if (uapi_connect(u, op->ifname, &fd) == 0) {
		close(fd);
		finish(u, 0, NULL, NULL);
		return 0;
	}
	ret = wg_uapi_sock_path(&u->base, op->ifname, path, sizeof(path));
	if (ret == 0)
		ret = wg_spawn_start(u->base.r, u->base.log, u->exe, op->ifname, path, on_spawned, u, &u->spawn);
	return ret;
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
	case OP_CREATE:
		ret = start_create(u, op);
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

static int uapi_create(struct wgbackend *be, const char *ifname, wgbackend_set_cb cb, void *ud)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op;

	if (!cb || !ifname_ok(ifname))
		return -EINVAL;
	op = op_new(u, OP_CREATE, ifname);
	if (!op)
		return -ENOMEM;
	op->cb.set = cb;
	op->ud = ud;
	enqueue(u, op);
	return 0;
}

/* Ending wireguard-go removes its TUN interface. One we did not start (adopted
 * after a restart) ends when the engine deletes that link. */
static void uapi_forget(struct wgbackend *be, const char *ifname)
{
	struct uapi_be *u = (struct uapi_be *)be;

	for (size_t i = 0; i < u->nkids; i++)
		if (strcmp(u->kids[i].ifname, ifname) == 0)
			kill(u->kids[i].pid, SIGTERM); /* reaped by reap_kids() */
}

int wg_uapi_set_exe(struct wgbackend *be, const char *exe)
{
	struct uapi_be *u = (struct uapi_be *)be;
	char *c = NULL;

	if (exe && *exe && !(c = strdup(exe)))
		return -ENOMEM;
	free(u->exe);
	u->exe = c;
	return 0;
}

static void uapi_free(struct wgbackend *be)
{
	struct uapi_be *u = (struct uapi_be *)be;
	struct uapi_op *op, *n;

	close_fd(u);
	reactor_timer_disarm(u->base.r, &u->kick);
	reactor_timer_disarm(u->base.r, &u->deadline);
	/* A wireguard-go being started keeps running: a later engine adopts it. */
	wg_spawn_cancel(u->spawn);
	free(u->exe);
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
	.create_device = uapi_create,
	.forget_device = uapi_forget,
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
	u->base.child_pid = -1;
	rtimer_init(&u->kick, on_kick, u);
	rtimer_init(&u->deadline, on_deadline, u);
	*out = &u->base;
	return 0;
}
