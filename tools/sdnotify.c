/* SPDX-License-Identifier: MIT */
/* sd_notify protocol: see sdnotify.h. */
#include "sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdnotify_init(struct sdnotify *sn)
{
	const char *path = getenv("NOTIFY_SOCKET"), *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	struct sockaddr_un sa;
	size_t n;
	int r = 0;

	memset(sn, 0, sizeof(*sn));
	sn->fd = -1;
	if (usec && *usec) {
		char *end;
		unsigned long long v, p = 0;

		errno = 0;
		v = strtoull(usec, &end, 10);
		if (!errno && !*end && v > 0) {
			if (pid && *pid) {
				errno = 0;
				p = strtoull(pid, &end, 10);
				if (errno || *end)
					p = 0, v = 0;
			}
			if (!p || p == (unsigned long long)getpid())
				sn->wd_usec = v;
		}
	}
	if (!path || !*path)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = strlen(path);
	/* A path must be absolute; '@' is the abstract namespace, a NUL first byte
	 * on the wire and no terminator counted in the address length. */
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path) || n < 2) {
		r = -EINVAL;
		goto out;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
		sn->addr_len = (unsigned)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		sn->addr_len = (unsigned)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	memcpy(sn->addr, &sa, sizeof(sa));
	sn->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sn->fd < 0)
		r = -errno;
out:
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return r;
}

_Static_assert(sizeof(((struct sdnotify *)0)->addr) >= sizeof(struct sockaddr_un), "sockaddr_un storage");

int sdnotify_send(const struct sdnotify *sn, const char *msg)
{
	ssize_t w;

	if (sn->fd < 0)
		return 0;
	/* MSG_NOSIGNAL: a manager gone away must not kill us; MSG_DONTWAIT: nor block the loop. */
	w = sendto(sn->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)sn->addr,
	           (socklen_t)sn->addr_len);
	return w < 0 ? -errno : 0;
}

int sdnotify_sendf(const struct sdnotify *sn, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (sn->fd < 0)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sdnotify_send(sn, buf);
}

void sdnotify_close(struct sdnotify *sn)
{
	if (sn->fd >= 0)
		close(sn->fd);
	sn->fd = -1;
}
