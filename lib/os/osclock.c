/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "osclock.h"

uint64_t os_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t os_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t os_wall_ms(void)
{
	return os_wall_us() / 1000u;
}

int os_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int os_poll(const struct w2w_watch *w, size_t n, int *out_revents, int timeout_ms)
{
	struct pollfd stackfds[64], *fds = stackfds;
	int r;

	if (n > 64) {
		fds = calloc(n, sizeof(*fds));
		if (!fds)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		fds[i].fd = w[i].fd;
		fds[i].events = (short)(((w[i].events & W2W_IO_READ) ? POLLIN : 0) |
					((w[i].events & W2W_IO_WRITE) ? POLLOUT : 0));
		fds[i].revents = 0;
	}
	r = poll(fds, n, timeout_ms);
	if (r < 0) {
		r = errno == EINTR ? 0 : -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		short re = fds[i].revents;

		out_revents[i] = ((re & POLLIN) ? W2W_IO_READ : 0) | ((re & POLLOUT) ? W2W_IO_WRITE : 0) |
				 ((re & (POLLERR | POLLHUP | POLLNVAL)) ? W2W_IO_ERROR : 0);
	}
out:
	if (fds != stackfds)
		free(fds);
	return r;
}
